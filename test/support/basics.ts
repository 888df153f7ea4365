/**
 * What every in-process run in the tests shares, and nothing more (so a test that runs the memory world loads no
 * more of src/ than a rotation does): fast pacing and lease timings, the action's input defaults, a fake clock, and
 * a recording ActionsIO. harness.ts (moto and the GitHub stand-in) re-exports them.
 */
import type { ActionsIO } from '../../src/config/context.js';
import type { LeaseSettings } from '../../src/config/context.js';
import type { GitHubPacing } from '../../src/github/pacer.js';
import type { Clock } from '../../src/shared/clock.js';
import { actionInputDefaults } from './runner.js';

export const FAST_PACING: GitHubPacing = {
  writeIntervalMs: 0,
  retryAfterBaseMs: 1,
  requestTimeoutMs: 2000,
  retries: 3,
  maxRateLimitWaitSeconds: 300,
  rateLimitBudgetSeconds: 900,
  readConcurrency: 8,
};

/** Lease timings for in-process runs: with a fake clock a wait passes at once. */
export const FAST_LEASE: LeaseSettings = { ttlMs: 60 * 60_000, waitMs: 60_000, pollMs: 1_000, settleMs: 100 };

export const TOKEN = 'test-token';

/** action.yml defaults, as the runner passes them for unset inputs. */
export function actionDefaults(): Record<string, string> {
  return actionInputDefaults();
}

export function reader(overrides: Record<string, string>): (name: string) => string {
  const values: Record<string, string> = { ...actionDefaults(), 'github-token': TOKEN, ...overrides };
  return (name) => values[name] ?? '';
}

/** A clock whose sleep advances time at once. */
export function fakeClock(start = Date.parse('2026-11-27T12:00:00Z')): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
}

export interface Recorder extends ActionsIO {
  lines: string[];
  warnings: string[];
  secrets: string[];
  exported: Record<string, string>;
  text(): string;
}

export function recorder(): Recorder {
  const r: Recorder = {
    lines: [],
    warnings: [],
    secrets: [],
    exported: {},
    info: (m) => void r.lines.push(m),
    warning: (m) => void r.warnings.push(m),
    setSecret: (v) => void r.secrets.push(v),
    exportVariable: (n, v) => void (r.exported[n] = v),
    group: async (name, fn) => {
      r.lines.push(`## ${name}`);
      return fn();
    },
    text: () => [...r.lines, ...r.warnings].join('\n'),
  };
  return r;
}
