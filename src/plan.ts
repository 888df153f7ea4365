import { ActionError } from './errors.js';
import type { KeyLimitMode, PreviousKeyMode } from './inputs.js';
import type { HeldBefore } from './journal.js';

export interface AccessKey {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
}

/** What preflight learned about one destination, as the plan needs it. */
export interface DestinationState {
  label: string;
  /** Does not exist yet and will be created. */
  create: boolean;
  held: HeldBefore;
  /** When the older of its two secrets was written (both held). */
  oldestUpdate: number | undefined;
}

export interface PlanInput {
  userName: string;
  keys: AccessKey[];
  /** The access key id the run authenticates with, when it is one of this user's keys (self-rotation). */
  callerKeyId: string | undefined;
  maxAgeDays: number;
  keyLimit: KeyLimitMode;
  previousKey: PreviousKeyMode;
  destinations: DestinationState[];
  /** Keys handed over to a successor and waiting to be retired later: not a split state. */
  pending: string[];
  now: number;
}

export type Plan =
  | { action: 'skip'; reason: string; current: AccessKey }
  | {
      action: 'rotate';
      reason: string;
      current: AccessKey | undefined;
      /**
       * Self-rotation with a second Active key: write the caller's pair to every destination first, then delete this
       * key (nobody holds it then), so the split state ends without an outage.
       */
      converge: AccessKey | undefined;
      /** Deleted before the new key is created, to stay within IAM's two keys. */
      makeRoom: AccessKey | undefined;
      /** makeRoom is an Active key that destinations may hold (explicit key-limit: delete-oldest, rotator mode). */
      makeRoomBreaks: boolean;
      /** Handled per `previousKey` once every destination holds the new key. */
      previous: AccessKey[];
      previousKey: PreviousKeyMode;
    };

export const IAM_KEY_LIMIT = 2;
const DAY_MS = 86_400_000;

export function ageDays(key: AccessKey, now: number): number {
  return Math.floor((now - key.created.getTime()) / DAY_MS);
}

const byAge = (a: AccessKey, b: AccessKey) => a.created.getTime() - b.created.getTime();

/** The key the destinations are taken to hold: the run's own key, else the newest Active key. */
export function currentKey(keys: AccessKey[], callerKeyId: string | undefined): AccessKey | undefined {
  const own = keys.find((k) => k.id === callerKeyId);
  if (own) return own;
  return keys.filter((k) => k.status === 'Active').sort(byAge).at(-1);
}

interface Room {
  converge?: AccessKey;
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
        `delete one, or set key-limit: delete-inactive or delete-oldest. Nothing was changed.`,
    );
  }
  const pending = keys.filter((k) => input.pending.includes(k.id) && k.status === 'Active');
  if (pending.length > 0) {
    throw new ActionError(
      `IAM user ${userName} has ${keys.length} access keys (${list}) and ${pending.map((k) => k.id).join(', ')} is ` +
        `pending retirement (handed over, retire-after-hours not yet passed or still in use): no room for a new key ` +
        `until it is retired. Rerun once it is due, or retire it by hand. Nothing was changed.`,
    );
  }
  const inactive = keys.filter((k) => k.status === 'Inactive').sort(byAge);
  if (inactive.length > 0) return { makeRoom: inactive[0], breaks: false };
  const other = keys.filter((k) => k.id !== current?.id).sort(byAge)[0];
  // Self-rotation: the caller's pair is known, so every destination can be given it before the other key goes.
  if (callerKeyId !== undefined && current?.id === callerKeyId && other !== undefined) return { converge: other, breaks: false };
  if (keyLimit === 'delete-inactive') {
    throw new ActionError(
      `IAM user ${userName} already has ${keys.length} Active access keys (${list}) and key-limit is 'delete-inactive': ` +
        `no Inactive key to delete, and this run does not know which destinations hold which key. Delete or deactivate ` +
        `the key no destination uses, or rerun with key-limit: delete-oldest, which deletes the oldest Active key ` +
        `first: destinations that hold it stop working until this run rewrites them. Nothing was changed.`,
    );
  }
  // delete-oldest, rotator mode: explicitly asked for; holders of that key break until rewritten.
  return { makeRoom: keys.slice().sort(byAge)[0], breaks: true };
}

/** Decide what the run does. Pure: the same input always gives the same plan, or the same ActionError. */
export function plan(input: PlanInput): Plan {
  const current = currentKey(input.keys, input.callerKeyId);
  const toCreate = input.destinations.filter((d) => d.create).map((d) => d.label);
  const missing = input.destinations.filter((d) => !d.create && d.held !== 'both').map((d) => d.label);
  // GitHub's updated_at has whole seconds: compare with the key's creation time in whole seconds too.
  const createdSecond = current ? Math.floor(current.created.getTime() / 1000) * 1000 : 0;
  const stale = current
    ? input.destinations.filter((d) => d.oldestUpdate !== undefined && d.oldestUpdate < createdSecond).map((d) => d.label)
    : [];
  const split = input.keys.filter((k) => k.status === 'Active' && k.id !== current?.id && !input.pending.includes(k.id));
  let reason: string;
  if (toCreate.length > 0) {
    reason = `new destination(s): ${toCreate.join(', ')}`;
  } else if (missing.length > 0) {
    reason = `destination(s) lack the secrets: ${missing.join(', ')}`;
  } else if (current === undefined) {
    reason = `IAM user ${input.userName} has no active access key`;
  } else if (split.length > 0) {
    reason = `IAM user ${input.userName} has two Active keys (${current.id} and ${split.map((k) => k.id).join(', ')}): converge on one`;
  } else if (stale.length > 0) {
    reason = `destination(s) hold secrets written before the current key ${current.id} was created: ${stale.join(', ')}`;
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
    converge: room.converge,
    makeRoom: room.makeRoom,
    makeRoomBreaks: room.breaks,
    previous: input.keys.filter((k) => k !== room.makeRoom && k !== room.converge).sort(byAge),
    previousKey: input.previousKey,
  };
}

/** When and where a key was last used (GetAccessKeyLastUsed); null: never; undefined: unknown (not allowed to read). */
export interface Use {
  date: string;
  service: string;
  region: string;
}

export interface PendingKey {
  key: AccessKey;
  supersededBy: string;
  handover: number;
  /** The earliest time it may be retired. */
  dueAt: number;
  lastUsed: Use | null | undefined;
}

export interface Retirement {
  /** Handed over long enough ago, and not used for as long: retire now. */
  due: PendingKey[];
  /** Handed over, waiting. `inUse`: the handover is old enough but the key was used too recently. */
  waiting: (PendingKey & { inUse: boolean })[];
}

/**
 * Staged retirement (retire-after-hours): which previous keys — handed over to a successor that still exists — are
 * due. A key is due once both its handover and its last use lie at least `hours` in the past (never used counts as
 * long ago); an unknown last use is never due. Pure.
 */
export function stagedRetirement(
  keys: AccessKey[],
  records: Map<string, { supersededBy?: string; handover?: string }>,
  lastUsed: Map<string, Use | null | undefined>,
  now: number,
  hours: number,
): Retirement {
  const out: Retirement = { due: [], waiting: [] };
  const ms = hours * 3_600_000;
  for (const key of keys) {
    const r = records.get(key.id);
    const handover = r?.handover ? Date.parse(r.handover) : NaN;
    if (!r?.supersededBy || Number.isNaN(handover) || !keys.some((k) => k.id === r.supersededBy)) continue;
    const used = lastUsed.get(key.id);
    const usedAt = used ? Date.parse(used.date) : 0;
    const dueAt = Math.max(handover, usedAt) + ms;
    const pending: PendingKey = { key, supersededBy: r.supersededBy, handover, dueAt, lastUsed: used };
    if (used !== undefined && now >= dueAt) out.due.push(pending);
    else out.waiting.push({ ...pending, inUse: used !== undefined && now >= handover + ms });
  }
  return out;
}
