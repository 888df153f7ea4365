import { ActionError } from '../shared/errors.js';
import type { KeyLimitMode, PreviousKeyMode } from '../config/inputs.js';
import type { HeldBefore } from '../rotation/journal.js';
import type { AccessKey, Use } from '../shared/types.js';

export type { AccessKey, Use } from '../shared/types.js';


/** What preflight learned about one destination, as the plan needs it. */
export interface DestinationState {
  label: string;
  /** Does not exist yet and will be created. */
  create: boolean;
  held: HeldBefore;
  /** When the older of its two secrets was written (both held). */
  oldestUpdate: number | undefined;
  /** When the newer of its two secrets was written (both held). */
  newestUpdate?: number;
}

/** What the run knows about a second key of the user (not the current one). */
export type OtherKey =
  /** Handed over by an earlier run (its record agrees with IAM's facts) and waiting to be retired. */
  | { kind: 'pending' }
  /**
   * An earlier run's key, proven an orphan; `heldBy`: destinations written after its creation (moved off first).
   * `unrecorded`: proven by the create marker (the run was killed before the key's own record), not by a record.
   */
  | { kind: 'orphan'; heldBy: string[]; unrecorded?: true }
  /** Nothing proves who holds it; `why` says what is known and what is missing. */
  | { kind: 'unproven'; why: string };

export interface PlanInput {
  userName: string;
  keys: AccessKey[];
  /** The access key id the run authenticates with, when it is one of this user's keys (self-rotation). */
  callerKeyId: string | undefined;
  maxAgeDays: number;
  keyLimit: KeyLimitMode;
  previousKey: PreviousKeyMode;
  destinations: DestinationState[];
  /** What is known of the keys other than the caller's (by id); a key missing here is unproven. */
  others: Map<string, OtherKey>;
  /** An earlier run deleted this key to make room and did not finish: destinations may hold it. */
  rewrite: { id: string; at: string } | undefined;
  /**
   * When the action recorded handing each key to the destinations (IAM time, from its provenance record; keys with no
   * such record are absent): a destination written after it was written by someone else, or by a later failed run.
   */
  handovers?: Map<string, number>;
  /** IAM's time. */
  now: number;
  /**
   * Self-rotation signed in with the key an earlier run made and never handed over (that run has ended): this run
   * finishes that rotation (it gives the key to every destination, then handles the previous key) and makes none.
   */
  resume?: AccessKey;
}

/**
 * How long after a recorded handover a destination's secrets may still have been written by the run that handed the
 * key over: its writes come before the record, but GitHub's updated_at and IAM's time are two clocks, whole seconds.
 */
export const HANDOVER_SLACK_MS = 60_000;

export type Plan =
  | { action: 'skip'; reason: string; current: AccessKey }
  | {
      action: 'rotate';
      reason: string;
      current: AccessKey | undefined;
      /**
       * An earlier run's orphan, deleted before the new key is made (orphan of a finished run); in self-rotation the
       * destinations that may hold it are first given the caller's pair (`moveOff`).
       */
      orphan: AccessKey | undefined;
      moveOff: string[];
      /** A rotator's orphan: destinations that may hold it, which stop working until this run rewrites them. */
      orphanBreaks?: string[];
      /** Deleted before the new key is created, to stay within IAM's two keys (key-limit consent). */
      makeRoom: AccessKey | undefined;
      /** makeRoom is an Active key that destinations may hold (explicit key-limit: delete-oldest). */
      makeRoomBreaks: boolean;
      /** Handled per `previousKey` once every destination holds the new key. */
      previous: AccessKey[];
      /** The earlier run's key this run hands out instead of making a new one (finishing that run's rotation). */
      resume?: AccessKey;
      previousKey: PreviousKeyMode;
    };

export const IAM_KEY_LIMIT = 2;
const DAY_MS = 86_400_000;

export function ageDays(key: AccessKey, now: number): number {
  return Math.floor((now - key.created.getTime()) / DAY_MS);
}

const byAge = (a: AccessKey, b: AccessKey) => a.created.getTime() - b.created.getTime();

/** The key the destinations are taken to hold: the run's own key, else the newest Active key that is no orphan. */
export function currentKey(keys: AccessKey[], callerKeyId: string | undefined, others?: Map<string, OtherKey>): AccessKey | undefined {
  const own = keys.find((k) => k.id === callerKeyId);
  if (own) return own;
  const active = keys.filter((k) => k.status === 'Active').sort(byAge);
  return active.filter((k) => others?.get(k.id)?.kind !== 'orphan').at(-1) ?? active.at(-1);
}

interface Room {
  orphan?: AccessKey;
  moveOff?: string[];
  orphanBreaks?: string[];
  makeRoom?: AccessKey;
  breaks: boolean;
}

function chooseRoom(input: PlanInput, current: AccessKey | undefined): Room {
  const { keys, keyLimit, userName, callerKeyId } = input;
  if (keys.length < IAM_KEY_LIMIT) return { breaks: false };
  const list = keys.map((k) => `${k.id} (${k.status})`).join(', ');
  if (keyLimit === 'fail') {
    throw new ActionError(
      `IAM user ${userName} already has ${keys.length} access keys (${list}), the IAM limit, and key-limit is 'fail': ` +
        `delete one, or set key-limit: delete-inactive or delete-oldest.`,
    );
  }
  const pending = keys.filter((k) => input.others.get(k.id)?.kind === 'pending' && k.status === 'Active');
  if (pending.length > 0) {
    throw new ActionError(
      `IAM user ${userName} has ${keys.length} access keys (${list}) and ${pending.map((k) => k.id).join(', ')} is ` +
        `pending retirement (handed over, retire-after-hours not yet passed or still in use): no room for a new key ` +
        `until it is retired. Rerun once it is due, or retire it by hand.`,
    );
  }
  const inactive = keys.filter((k) => k.status === 'Inactive').sort(byAge);
  if (inactive.length > 0) return { makeRoom: inactive[0], breaks: false };
  const other = keys.filter((k) => k.id !== current?.id).sort(byAge)[0];
  if (other === undefined) return { breaks: false };
  const known = input.others.get(other.id) ?? { kind: 'unproven' as const, why: 'nothing is known about it' };
  const self = callerKeyId !== undefined && current?.id === callerKeyId;
  if (known.kind === 'orphan' && (known.heldBy.length === 0 || self)) return { orphan: other, moveOff: known.heldBy, breaks: false };
  // A rotator knows no other pair to give the destinations that may hold the orphan: they stop working from its
  // delete until this run rewrites them, moments later (a marker tells a later run, should this one stop between).
  if (known.kind === 'orphan') return { orphan: other, moveOff: [], orphanBreaks: known.heldBy, breaks: false };
  const why = known.kind === 'unproven' ? known.why : 'pending';
  const oldest = keys.slice().sort(byAge)[0];
  if (keyLimit === 'delete-oldest' && oldest.id !== callerKeyId) return { makeRoom: oldest, breaks: true };
  const consent =
    self && oldest.id === callerKeyId
      ? 'or retire it by hand (key-limit: delete-oldest is no way out here: the oldest key is the one this job authenticates with)'
      : 'or rerun with key-limit: delete-oldest, which deletes the oldest key first (its holders stop working until this run rewrites them)';
  throw new ActionError(
    `IAM user ${userName} has two Active access keys (${list}) and nothing proves who holds ${other.id} (${why}): ` +
      `this run deletes no key on a guess. Find the holders of ${other.id} (its last use says when and where it was ` +
      `used) and delete or deactivate the key nobody uses, ${consent}.`,
  );
}

/** Decide what the run does. Pure: the same input always gives the same plan, or the same ActionError. */
export function plan(input: PlanInput): Plan {
  if (input.resume) {
    const { resume } = input;
    return {
      action: 'rotate',
      reason: `an earlier run made ${resume.id}, which this job signs in with, and ended before every destination held it: this run finishes that rotation`,
      current: resume,
      orphan: undefined,
      moveOff: [],
      makeRoom: undefined,
      makeRoomBreaks: false,
      previous: input.keys.filter((k) => k.id !== resume.id).sort(byAge),
      previousKey: input.previousKey,
      resume,
    };
  }
  const current = currentKey(input.keys, input.callerKeyId, input.others);
  const toCreate = input.destinations.filter((d) => d.create).map((d) => d.label);
  const missing = input.destinations.filter((d) => !d.create && d.held !== 'both').map((d) => d.label);
  // GitHub's updated_at has whole seconds: compare with the key's creation time in whole seconds too.
  const createdSecond = current ? Math.floor(current.created.getTime() / 1000) * 1000 : 0;
  const stale = current
    ? input.destinations.filter((d) => d.oldestUpdate !== undefined && d.oldestUpdate < createdSecond).map((d) => d.label)
    : [];
  // Written after the current key's recorded handover (and the slack): nothing proves they still hold it.
  const handover = current ? input.handovers?.get(current.id) : undefined;
  const late =
    handover === undefined
      ? []
      : input.destinations.filter((d) => d.newestUpdate !== undefined && d.newestUpdate > handover + HANDOVER_SLACK_MS).map((d) => d.label);
  const second = input.keys.filter((k) => k.status === 'Active' && k.id !== current?.id && input.others.get(k.id)?.kind !== 'pending');
  let reason: string;
  if (toCreate.length > 0) {
    reason = `new destination(s): ${toCreate.join(', ')}`;
  } else if (missing.length > 0) {
    // Words true in both modes: with access-key-id-as: variable the id is a variable, not a secret.
    reason = `destination(s) lack the access key id or the secret access key: ${missing.join(', ')}`;
  } else if (current === undefined) {
    reason = `IAM user ${input.userName} has no active access key`;
  } else if (input.rewrite) {
    reason = `an earlier run deleted ${input.rewrite.id} at ${input.rewrite.at} to make room and did not finish: destinations may hold it`;
  } else if (second.length > 0) {
    reason = `IAM user ${input.userName} has a second Active key (${second.map((k) => k.id).join(', ')})`;
  } else if (stale.length > 0) {
    reason = `destination(s) hold secrets written before the current key ${current.id} was created: ${stale.join(', ')}`;
  } else if (late.length > 0 && handover !== undefined) {
    reason =
      `destination(s) were written after the current key ${current.id} was handed over ` +
      `(${new Date(handover).toISOString()}, its record): nothing proves they hold it: ${late.join(', ')}`;
  } else if (input.maxAgeDays === 0) {
    reason = 'max-age-days is 0: always rotate';
  } else {
    const age = ageDays(current, input.now);
    if (age < input.maxAgeDays) {
      return {
        action: 'skip',
        current,
        reason: `current key ${current.id} is ${age} day(s) old, younger than max-age-days (${input.maxAgeDays})`,
      };
    }
    reason = `current key ${current.id} is ${age} day(s) old (max-age-days: ${input.maxAgeDays})`;
  }
  const room = chooseRoom(input, current);
  return {
    action: 'rotate',
    reason,
    current,
    orphan: room.orphan,
    moveOff: room.moveOff ?? [],
    ...(room.orphanBreaks?.length ? { orphanBreaks: room.orphanBreaks } : {}),
    makeRoom: room.makeRoom,
    makeRoomBreaks: room.breaks,
    previous: input.keys.filter((k) => k !== room.makeRoom && k !== room.orphan).sort(byAge),
    previousKey: input.previousKey,
  };
}


/** A handed-over key waiting to be retired: the earliest time it may be (IAM time), and whether it is in use. */
export interface PendingKey {
  key: AccessKey;
  supersededBy: string;
  handover: number;
  dueAt: number;
  lastUsed: Use | null | undefined;
}
