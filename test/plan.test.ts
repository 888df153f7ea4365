import { describe, it, expect } from '@jest/globals';
import { ActionError } from '../src/errors.js';
import { type AccessKey, type Plan, type PlanInput, IAM_KEY_LIMIT, ageDays, currentKey, plan } from '../src/plan.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

/** A key created `days` days (plus `extraMs`) before NOW. */
function key(id: string, days: number, status: AccessKey['status'] = 'Active', extraMs = 0): AccessKey {
  return { id, status, created: new Date(NOW - days * DAY - extraMs) };
}

/** Destinations by label: lacking the secrets, or to be created. */
type Given = Partial<PlanInput> & { missingSecrets?: string[]; toCreate?: string[] };

function input(overrides: Given = {}): PlanInput {
  const { missingSecrets = [], toCreate = [], ...rest } = overrides;
  return {
    userName: 'deployer',
    keys: [],
    callerKeyId: undefined,
    maxAgeDays: 0,
    keyLimit: 'delete-inactive',
    previousKey: 'delete',
    destinations: [
      ...missingSecrets.map((label) => ({ label, create: false, held: 'none' as const, oldestUpdate: undefined })),
      ...toCreate.map((label) => ({ label, create: true, held: 'none' as const, oldestUpdate: undefined })),
    ],
    pending: [],
    now: NOW,
    ...rest,
  };
}

function rotation(p: Plan): Extract<Plan, { action: 'rotate' }> {
  if (p.action !== 'rotate') throw new Error(`expected a rotation, got skip: ${p.reason}`);
  return p;
}

function skipped(p: Plan): Extract<Plan, { action: 'skip' }> {
  if (p.action !== 'skip') throw new Error(`expected a skip, got rotate: ${p.reason}`);
  return p;
}

function planError(i: PlanInput): ActionError {
  let caught: unknown;
  try {
    plan(i);
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error('expected plan() to throw');
  expect(caught).toBeInstanceOf(ActionError);
  const err = caught as ActionError;
  expect(err.message).not.toMatch(/[\r\n]/);
  return err;
}

const ids = (keys: AccessKey[]) => keys.map((k) => k.id);

describe('ageDays', () => {
  it.each([
    [0, 0, 0],
    [0, DAY - 1, 0],
    [1, 0, 1],
    [1, DAY - 1, 1],
    [29, DAY - 1, 29],
    [30, 0, 30],
    [400, 5, 400],
  ])('a key created %i days + %i ms ago is %i day(s) old (whole days, rounded down)', (days, extra, expected) => {
    expect(ageDays(key('K', days, 'Active', extra), NOW)).toBe(expected);
  });

  it('a key created just now is 0 days old', () => {
    expect(ageDays({ id: 'K', status: 'Active', created: new Date(NOW) }, NOW)).toBe(0);
  });
});

describe('currentKey', () => {
  it('is the newest Active key when the caller is not one of the keys', () => {
    const keys = [key('OLD', 50), key('NEW', 5), key('NEWEST_INACTIVE', 1, 'Inactive')];
    expect(currentKey(keys, undefined)?.id).toBe('NEW');
    expect(currentKey(keys, 'SOMEONE_ELSE')?.id).toBe('NEW');
  });

  it("is the caller's key even when another key is newer", () => {
    const keys = [key('CALLER', 50), key('NEW', 5)];
    expect(currentKey(keys, 'CALLER')?.id).toBe('CALLER');
  });

  it.each([[[]], [[key('I', 3, 'Inactive')]]])('is undefined without an Active key', (keys) => {
    expect(currentKey(keys, undefined)).toBeUndefined();
  });
});

describe('skip or rotate by age', () => {
  it.each([
    [30, 0],
    [30, 29],
    [1, 0],
    [365, 364],
  ])('max-age-days %i: a %i-day-old key is skipped', (maxAgeDays, days) => {
    const current = key('CUR', days, 'Active', DAY - 1);
    const p = skipped(plan(input({ maxAgeDays, keys: [current] })));
    expect(p.current).toBe(current);
    expect(p.reason).toContain('CUR');
    expect(p.reason).toContain(`${days} day(s)`);
  });

  it.each([
    [30, 30],
    [30, 31],
    [1, 1],
    [90, 400],
  ])('max-age-days %i: a %i-day-old key rotates (exactly max-age included)', (maxAgeDays, days) => {
    const current = key('CUR', days);
    const p = rotation(plan(input({ maxAgeDays, keys: [current] })));
    expect(p.current).toBe(current);
    expect(p.makeRoom).toBeUndefined();
    expect(ids(p.previous)).toEqual(['CUR']);
    expect(p.reason).toContain(`${days} day(s)`);
  });

  it.each([0, 1, 1000])('max-age-days 0 always rotates (key %i days old)', (days) => {
    const p = rotation(plan(input({ maxAgeDays: 0, keys: [key('CUR', days)] })));
    expect(p.reason).toContain('max-age-days is 0');
  });

  it('skip uses the newest Active key, ignoring an older key past max-age', () => {
    const p = skipped(plan(input({ maxAgeDays: 30, keys: [key('OLD', 100), key('YOUNG', 2)] })));
    expect(p.current.id).toBe('YOUNG');
  });

  it('a skip with two keys does not apply key-limit (fail does not throw)', () => {
    skipped(plan(input({ maxAgeDays: 30, keyLimit: 'fail', keys: [key('A', 100), key('B', 2)] })));
  });

  it('a young Inactive key does not count: rotate when no Active key exists', () => {
    const p = rotation(plan(input({ maxAgeDays: 30, keys: [key('I', 1, 'Inactive')] })));
    expect(p.current).toBeUndefined();
    expect(p.reason).toContain('no active access key');
    expect(ids(p.previous)).toEqual(['I']);
  });
});

describe('destinations force a rotation', () => {
  it.each([
    ['missing secrets', { missingSecrets: ['octo/api'] }, 'lack the secrets', 'octo/api'],
    ['environment to create', { toCreate: ["octo/api environment 'prod'"] }, 'new destination', "environment 'prod'"],
    [
      'both',
      { toCreate: ['octo/web'], missingSecrets: ['octo/api'] },
      'new destination',
      'octo/web',
    ],
  ])('%s: rotates although the key is young', (_, extra, reasonPart, labelPart) => {
    const p = rotation(plan(input({ maxAgeDays: 90, keys: [key('YOUNG', 1)], ...extra })));
    expect(p.reason).toContain(reasonPart);
    expect(p.reason).toContain(labelPart);
    expect(p.current?.id).toBe('YOUNG');
  });
});

describe('bootstrap', () => {
  it.each(['delete-inactive', 'delete-oldest', 'fail'] as const)(
    'no keys rotates with no room to make and no previous key (key-limit %s)',
    (keyLimit) => {
      const p = rotation(plan(input({ keys: [], keyLimit, maxAgeDays: 30 })));
      expect(p.current).toBeUndefined();
      expect(p.makeRoom).toBeUndefined();
      expect(p.previous).toEqual([]);
      expect(p.reason).toContain('deployer');
    },
  );
});

describe('self-rotation', () => {
  it("the caller's key is current even when another key is newer: its age decides", () => {
    const caller = key('CALLER', 100);
    const newer = key('NEWER', 1);
    const p = rotation(plan(input({ maxAgeDays: 30, keys: [caller, newer], callerKeyId: 'CALLER', keyLimit: 'delete-oldest' })));
    expect(p.current).toBe(caller);
    expect(p.reason).toContain('CALLER');
  });

  it("a young caller key skips even when another key is old", () => {
    const p = skipped(plan(input({ maxAgeDays: 30, keys: [key('OLD', 100), key('CALLER', 3)], callerKeyId: 'CALLER' })));
    expect(p.current.id).toBe('CALLER');
  });

  it('an old caller key rotates even when a newer key is young', () => {
    const p = plan(
      input({ maxAgeDays: 30, keys: [key('CALLER', 100), key('YOUNG', 3, 'Inactive')], callerKeyId: 'CALLER' }),
    );
    expect(rotation(p).current?.id).toBe('CALLER');
  });
});

describe('key-limit with two keys', () => {
  it('IAM allows two keys', () => {
    expect(IAM_KEY_LIMIT).toBe(2);
  });

  it.each(['delete-inactive', 'delete-oldest', 'fail'] as const)('one key never needs room (%s)', (keyLimit) => {
    const p = rotation(plan(input({ keyLimit, keys: [key('ONLY', 10)] })));
    expect(p.makeRoom).toBeUndefined();
    expect(ids(p.previous)).toEqual(['ONLY']);
  });

  it.each([
    ['Inactive is older', [key('I', 100, 'Inactive'), key('A', 10)], 'I'],
    ['Inactive is newer', [key('A', 100), key('I', 10, 'Inactive')], 'I'],
    ['both Inactive: the oldest', [key('I_NEW', 10, 'Inactive'), key('I_OLD', 100, 'Inactive')], 'I_OLD'],
  ])('delete-inactive picks the Inactive key (%s)', (_, keys, expected) => {
    const p = rotation(plan(input({ keyLimit: 'delete-inactive', keys })));
    expect(p.makeRoom?.id).toBe(expected);
    expect(ids(p.previous)).not.toContain(expected);
  });

  it('delete-inactive with two Active keys stops before changing anything', () => {
    const err = planError(input({ keyLimit: 'delete-inactive', keys: [key('AKIAONE', 100), key('AKIATWO', 10)] }));
    expect(err.message).toContain('delete-oldest');
    expect(err.message).toContain('Nothing was changed');
    expect(err.message).toContain('AKIAONE');
    expect(err.message).toContain('AKIATWO');
    expect(err.message).toContain('deployer');
  });

  it.each([
    ['Inactive newer than the Active key', [key('A', 100), key('I', 10, 'Inactive')], undefined, 'I'],
    ['Inactive even when it is the newer one and the caller holds the old', [key('C', 100), key('I', 10, 'Inactive')], 'C', 'I'],
    ['both Active: the oldest', [key('NEW', 10), key('OLD', 100)], undefined, 'OLD'],
    ["both Active, caller's is the oldest: the other one", [key('CALLER', 100), key('OTHER', 10)], 'CALLER', 'OTHER'],
    ["both Active, caller's is the newest: the oldest", [key('OLD', 100), key('CALLER', 10)], 'CALLER', 'OLD'],
  ])('delete-oldest: %s', (_, keys, callerKeyId, expected) => {
    const p = rotation(plan(input({ keyLimit: 'delete-oldest', keys, callerKeyId })));
    expect(p.makeRoom?.id).toBe(expected);
    expect(p.makeRoom?.id).not.toBe(callerKeyId);
  });

  it.each([
    [[key('A', 100), key('B', 10)]],
    [[key('A', 100), key('I', 10, 'Inactive')]],
    [[key('I1', 100, 'Inactive'), key('I2', 10, 'Inactive')]],
  ])('fail with two keys is an error (%#)', (keys) => {
    const err = planError(input({ keyLimit: 'fail', keys }));
    expect(err.message).toContain("'fail'");
    expect(err.message).toContain('Nothing was changed');
    for (const k of keys) expect(err.message).toContain(k.id);
  });

  it('the key-limit error is raised even when destinations force the rotation', () => {
    planError(input({ keyLimit: 'fail', maxAgeDays: 90, keys: [key('A', 1), key('B', 2)], missingSecrets: ['octo/api'] }));
  });
});

describe('previous keys', () => {
  it('are the keys left after making room, oldest first', () => {
    const keys = [key('NEW', 1), key('I', 50, 'Inactive'), key('OLD', 100)];
    const p = rotation(plan(input({ keyLimit: 'delete-inactive', keys })));
    expect(p.makeRoom?.id).toBe('I');
    expect(ids(p.previous)).toEqual(['OLD', 'NEW']);
  });

  it('include every key, oldest first, when no room is needed', () => {
    const p = rotation(plan(input({ keys: [key('B', 1)] })));
    expect(ids(p.previous)).toEqual(['B']);
  });

  it('include an Inactive key that stays (oldest first)', () => {
    const p = rotation(plan(input({ keyLimit: 'delete-oldest', keys: [key('A', 10), key('I', 100, 'Inactive'), key('C', 5)] })));
    expect(p.makeRoom?.id).toBe('I');
    expect(ids(p.previous)).toEqual(['A', 'C']);
  });

  it('exclude the key deleted to make room (delete-oldest, two Active)', () => {
    const p = rotation(plan(input({ keyLimit: 'delete-oldest', keys: [key('NEW', 1), key('OLD', 100)] })));
    expect(p.makeRoom?.id).toBe('OLD');
    expect(ids(p.previous)).toEqual(['NEW']);
  });

  it.each(['delete', 'deactivate', 'keep'] as const)('carry previous-key %s', (previousKey) => {
    expect(rotation(plan(input({ previousKey, keys: [key('A', 1)] }))).previousKey).toBe(previousKey);
  });
});

describe('purity', () => {
  it('does not reorder or change the input keys, and gives the same plan twice', () => {
    const keys = [key('NEW', 1), key('OLD', 100), key('I', 50, 'Inactive')];
    const snapshot = keys.map((k) => ({ ...k }));
    const i = input({ keyLimit: 'delete-oldest', keys, callerKeyId: 'NEW' });
    const first = plan(i);
    expect(keys).toEqual(snapshot);
    expect(plan(i)).toEqual(first);
  });
});
