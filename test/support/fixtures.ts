/** Typed inputs for unit tests: what readInputs makes of action.yml's defaults, with overrides; and plan inputs. */
import { type Inputs, readInputs } from '../../src/config/inputs.js';
import type { KeyLimitMode, PreviousKeyMode } from '../../src/config/inputs.js';
import type { DestinationRecord, HeldBefore } from '../../src/github/destination-record.js';
import type { Prepared } from '../../src/github/preflight.js';
import { type KeyState, type Plan, type Verdict, plan as decide } from '../../src/keys/verdict.js';
import type { AccessKey } from '../../src/shared/types.js';
import { actionInputDefaults } from './runner.js';

export function inputsWith(overrides: Partial<Inputs> = {}): Inputs {
  const defaults = actionInputDefaults();
  const parsed = readInputs((name) => (name === 'github-token' ? 'test-token' : (defaults[name] ?? '')), {
    GITHUB_REPOSITORY: 'octo/api',
  });
  return { ...parsed, ...overrides };
}

/** What a plan test says about one destination, by label. */
export interface DestinationState {
  label: string;
  create: boolean;
  held: HeldBefore;
  oldestUpdate: number | undefined;
  newestUpdate?: number;
}

/** What a plan test says about a key other than the current one (none: nothing is known about it). */
export type OtherKey = { kind: 'pending' } | { kind: 'orphan'; heldBy: string[]; unrecorded?: true } | { kind: 'unproven'; why: string };

/**
 * A plan test's world in the words of the plan's decisions (keys, destinations by label, what is known of the other
 * keys); `plan` below turns it into the verdicts and destination records keys/verdict.ts's plan reads.
 */
export interface PlanInput {
  userName: string;
  keys: AccessKey[];
  callerKeyId: string | undefined;
  maxAgeDays: number;
  keyLimit: KeyLimitMode;
  previousKey: PreviousKeyMode;
  destinations: DestinationState[];
  others: Map<string, OtherKey>;
  rewrite: { id: string; at: string } | undefined;
  /** The current key's recorded handover (IAM time), by key id. */
  handovers?: Map<string, number>;
  now: number;
  resume?: AccessKey;
  reversedHere?: Set<string>;
}

/** A plan input: one user, no destinations, default key rules, at `now`; overrides on top. */
export function planInput(now: number, overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    userName: 'deployer',
    keys: [],
    callerKeyId: undefined,
    maxAgeDays: 0,
    keyLimit: 'delete-inactive',
    previousKey: 'delete',
    destinations: [],
    others: new Map(),
    rewrite: undefined,
    now,
    ...overrides,
  };
}

/** `others` for plan inputs: these keys are handed over and waiting to be retired. */
export function pendingKeys(...ids: string[]): PlanInput['others'] {
  return new Map(ids.map((id) => [id, { kind: 'pending' as const }]));
}

/** A destination record for a plan: what preflight saw, nothing written by this run. */
export function destinationRecord(d: DestinationState, index = 0): DestinationRecord {
  const updates = d.oldestUpdate === undefined ? [] : [d.oldestUpdate, d.newestUpdate ?? d.oldestUpdate];
  return {
    index,
    label: d.label,
    destination: { kind: 'repository', owner: 'octo', repo: d.label },
    prepared: { create: d.create, held: d.held, oldestUpdate: d.oldestUpdate, updates, visibilityChanges: [] } as unknown as Prepared,
    ledger: { heldBefore: d.held, updatedBefore: updates, writtenAt: {}, id: { kind: 'before' }, secret: { kind: 'before' }, created: false, reason: undefined },
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A plan as the tests read it: the orphan as its key, destinations by label. */
export type LegacyPlan =
  | Extract<Plan, { action: 'skip' }>
  | (Omit<Extract<Plan, { action: 'rotate' }>, 'orphan' | 'moveOff' | 'orphanBreaks'> & { orphan: AccessKey | undefined; moveOff: string[]; orphanBreaks?: string[] });

/** keys/verdict.ts's plan, on a test's world. */
export function plan(input: PlanInput): LegacyPlan {
  const records = input.destinations.map(destinationRecord);
  // A holder the test names only by label is a destination written after that key.
  const byLabel = (labels: string[]) =>
    labels.map((l) => records.find((r) => r.label === l) ?? destinationRecord({ label: l, create: false, held: 'both', oldestUpdate: input.now }));
  const successorOf = (k: AccessKey) => input.keys.filter((x) => x.id !== k.id).sort((a, b) => b.created.getTime() - a.created.getTime())[0]?.id ?? '';
  const verdict = (k: AccessKey): Verdict => {
    const o = input.others.get(k.id);
    if (o?.kind === 'pending') {
      return { kind: 'pending', reason: 'staged retirement', successor: successorOf(k), handover: 0, grace: 24, dueAt: input.now + 1, due: false, inUse: false, holders: [], kept: false, missing: [] };
    }
    if (o?.kind === 'orphan') {
      const reason = o.unrecorded ? 'unrecorded key of a finished run' : o.heldBy.length > 0 && input.callerKeyId === undefined ? 'orphan held by destinations this run rewrites' : 'orphan of a finished run';
      return { kind: 'orphan', reason, holders: byLabel(o.heldBy) };
    }
    if (o?.kind === 'unproven') return { kind: 'unproven', why: o.why };
    return { kind: 'unproven', why: 'nothing is known about it' };
  };
  const keys: KeyState[] = input.keys.map((k) => {
    const handover = input.handovers?.get(k.id);
    return { key: k, record: handover === undefined ? undefined : { handover: iso(handover) }, lastUsed: undefined, makerEnded: undefined, verdict: verdict(k) };
  });
  const previous = input.resume ? input.keys.find((k) => k.id !== input.resume?.id) : undefined;
  const p = decide({
    user: input.userName,
    keys,
    self: input.callerKeyId,
    resume: input.resume && previous ? { key: input.resume, record: { created: iso(input.resume.created.getTime()) }, previous } : undefined,
    destinations: records,
    maxAgeDays: input.maxAgeDays,
    keyLimit: input.keyLimit,
    previousKey: input.previousKey,
    rewrite: input.rewrite,
    reversedHere: input.reversedHere ?? new Set(),
    now: input.now,
  });
  if (p.action === 'skip') return p;
  const { orphan, moveOff, orphanBreaks, ...rest } = p;
  return {
    ...rest,
    orphan: orphan?.key,
    moveOff: moveOff.map((d) => d.label),
    ...(orphanBreaks ? { orphanBreaks: orphanBreaks.map((d) => d.label) } : {}),
  };
}
