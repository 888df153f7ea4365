/**
 * The fleet's test worlds: an account of many IAM users in moto, with key ages and last uses given at the HTTP layer
 * (AgedIam behind an AwsProxy), a manifest in a workspace folder, and the fleet action run in-process.
 */
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, type IAMClient, TagUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { createGitHubClient } from '../../src/github/github.js';
import { type FleetDeps, type FleetIO, type FleetResult, type Place, runFleet } from '../../src/fleet/fleet.js';
import type { JobEstimate } from '../../src/fleet/fleet-pacing.js';
import { type AwsCallHook, FAST_PACING, awsFor } from './harness.js';
import type { AgedIam, KeyAge } from './aged-iam.js';
import type { Creds, Moto } from './moto.js';
import { iamClient } from './moto.js';

/** The test world's rotate job, measured (test/fleet-e2e.test.ts): Node's start, the lease settle and the reads. */
export const TEST_WORLD_JOB: JobEstimate = { startMs: 300, preWriteMs: 2_000, postWriteMs: 500 };

/** Run `fn` over `items`, `n` at a time. */
export async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i], i);
    }),
  );
}

export interface SeedUser {
  name: string;
  /** Its keys in the order they are made: each with its age, last use and status. */
  keys: (KeyAge & { active: boolean })[];
  /** The action's record tag values, by key index. */
  records?: Record<number, string>;
}

/** Make the users and keys in moto (as admin, straight to moto) and give the keys their ages. Returns each user's key ids. */
export async function seedAccount(moto: Moto, admin: Creds, aged: AgedIam, users: SeedUser[], pairs?: Map<string, Creds[]>): Promise<Map<string, string[]>> {
  const iam: IAMClient = iamClient(moto, admin);
  const ids = new Map<string, string[]>();
  try {
    await pool(users, 8, async (u) => {
      await iam.send(new CreateUserCommand({ UserName: u.name }));
      const made: string[] = [];
      for (const k of u.keys) {
        const out = await iam.send(new CreateAccessKeyCommand({ UserName: u.name }));
        const id = out.AccessKey?.AccessKeyId ?? '';
        made.push(id);
        pairs?.set(u.name, [...(pairs.get(u.name) ?? []), { accessKeyId: id, secretAccessKey: out.AccessKey?.SecretAccessKey ?? '' }]);
        if (!k.active) await iam.send(new UpdateAccessKeyCommand({ UserName: u.name, AccessKeyId: id, Status: 'Inactive' }));
      }
      const tags = Object.entries(u.records ?? {}).map(([i, value]) => ({ Key: made[Number(i)], Value: value }));
      if (tags.length > 0) await iam.send(new TagUserCommand({ UserName: u.name, Tags: tags }));
      aged.setKeys(u.name, u.keys.map((k, i) => ({ id: made[i], age: { ageDays: k.ageDays, lastUsed: k.lastUsed } })));
      ids.set(u.name, made);
    });
  } finally {
    iam.destroy();
  }
  return ids;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  place?: Place;
}

export interface FleetRecorder extends FleetIO {
  lines: string[];
  annotations: Annotation[];
  outputs: Record<string, string>;
  secrets: string[];
  page: string;
  failed: boolean;
}

export function fleetRecorder(): FleetRecorder {
  const r: FleetRecorder = {
    lines: [],
    annotations: [],
    outputs: {},
    secrets: [],
    page: '',
    failed: false,
    info: (m) => void r.lines.push(m),
    warning: (message, place) => void r.annotations.push({ level: 'warning', message, place }),
    error: (message, place) => void r.annotations.push({ level: 'error', message, place }),
    notice: (message, place) => void r.annotations.push({ level: 'notice', message, place }),
    setSecret: (v) => void r.secrets.push(v),
    setOutput: (n, v) => void (r.outputs[n] = v),
    summary: async (markdown) => void (r.page += markdown),
    fail: () => void (r.failed = true),
  };
  return r;
}

/** A workspace folder holding the manifest (and where the report files go). */
export function workspace(manifest: string, path = '.github/aws-access-keys.yml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-ws-'));
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), manifest);
  return dir;
}

export const readJson = (dir: string, path: string): unknown => JSON.parse(readFileSync(join(dir, path), 'utf8'));

export interface FleetRun {
  result: FleetResult | undefined;
  io: FleetRecorder;
}

/** The fleet action in-process: AWS through `endpoint` (an AwsProxy before moto) as `as`, GitHub at `githubUrl`. */
export async function runFleetWith(opts: {
  moto: Moto;
  as: Creds;
  endpoint: string;
  inputs: Record<string, string>;
  workspace: string;
  githubUrl?: string;
  env?: Record<string, string>;
  estimate?: JobEstimate;
  /** Called for every IAM/STS request the audit makes. */
  onAwsCall?: AwsCallHook;
}): Promise<FleetRun> {
  const io = fleetRecorder();
  // The real clock (moto's and the ages' too), but waits pass at once.
  const clock = { now: () => Date.now(), sleep: async () => {}, random: () => 0.5 };
  const deps: Partial<FleetDeps> = {
    env: { GITHUB_WORKSPACE: opts.workspace, GITHUB_API_URL: opts.githubUrl, ...opts.env },
    readInput: (name) => opts.inputs[name] ?? '',
    io,
    clock,
    makeAws: () => awsFor(opts.moto, opts.as, { endpoint: opts.endpoint, onAwsCall: opts.onAwsCall }),
    makeGitHub: (token, baseUrl, log, c, env) => createGitHubClient(token, baseUrl, FAST_PACING, log, { clock: c }, env),
    reportWait: { pollMs: 10, timeoutMs: 10_000 },
    ...(opts.estimate ? { estimate: opts.estimate } : {}),
  };
  const result = await runFleet(deps);
  return { result, io };
}
