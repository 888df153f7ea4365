import { ActionError } from './errors.js';
import type { KeyLimitMode, PreviousKeyMode } from './inputs.js';

export interface AccessKey {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
}

export interface PlanInput {
  userName: string;
  keys: AccessKey[];
  /** The access key id the run authenticates with, when it is one of this user's keys (self-rotation). */
  callerKeyId: string | undefined;
  maxAgeDays: number;
  keyLimit: KeyLimitMode;
  previousKey: PreviousKeyMode;
  /** Labels of destinations lacking either secret (known only when max-age-days > 0). */
  missingSecrets: string[];
  /** Labels of destinations that do not exist yet and will be created. */
  toCreate: string[];
  now: number;
}

export type Plan =
  | { action: 'skip'; reason: string; current: AccessKey }
  | {
      action: 'rotate';
      reason: string;
      current: AccessKey | undefined;
      /** Deleted before the new key is created, to stay within IAM's two keys. */
      makeRoom: AccessKey | undefined;
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

function chooseRoom(input: PlanInput): AccessKey | undefined {
  const { keys, keyLimit, userName, callerKeyId } = input;
  if (keys.length < IAM_KEY_LIMIT) return undefined;
  const list = keys.map((k) => `${k.id} (${k.status})`).join(', ');
  const inactive = keys.filter((k) => k.status === 'Inactive').sort(byAge);
  if (keyLimit === 'fail') {
    throw new ActionError(
      `IAM user ${userName} already has ${keys.length} access keys (${list}), the IAM limit, and key-limit is 'fail': ` +
        `delete one, or set key-limit: delete-inactive or delete-oldest. Nothing was changed.`,
    );
  }
  if (inactive.length > 0) return inactive[0];
  if (keyLimit === 'delete-inactive') {
    throw new ActionError(
      `IAM user ${userName} already has ${keys.length} Active access keys (${list}) and key-limit is 'delete-inactive': ` +
        `no Inactive key to delete. Deactivate or delete the key no destination uses, or set key-limit: delete-oldest. ` +
        `Nothing was changed.`,
    );
  }
  // delete-oldest: never the key this run authenticates with.
  return keys.filter((k) => k.id !== callerKeyId).sort(byAge)[0];
}

/** Decide what the run does. Pure: the same input always gives the same plan, or the same ActionError. */
export function plan(input: PlanInput): Plan {
  const current = currentKey(input.keys, input.callerKeyId);
  let reason: string;
  if (input.toCreate.length > 0) {
    reason = `new destination(s): ${input.toCreate.join(', ')}`;
  } else if (input.missingSecrets.length > 0) {
    reason = `destination(s) lack the secrets: ${input.missingSecrets.join(', ')}`;
  } else if (current === undefined) {
    reason = `IAM user ${input.userName} has no active access key`;
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
  const makeRoom = chooseRoom(input);
  return {
    action: 'rotate',
    reason,
    current,
    makeRoom,
    previous: input.keys.filter((k) => k !== makeRoom).sort(byAge),
    previousKey: input.previousKey,
  };
}
