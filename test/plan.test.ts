import { describe, it, expect } from '@jest/globals';
import { ActionError } from '../src/shared/errors.js';
import { ageDays, currentKey } from '../src/keys/verdict.js';
import type { AccessKey } from '../src/shared/types.js';
import { type LegacyPlan as Plan, type PlanInput, plan } from './support/fixtures.js';
import { pendingKeys, planInput } from './support/fixtures.js';

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
  return planInput(NOW, {
    destinations: [
      ...missingSecrets.map((label) => ({ label, create: false, held: 'none' as const, oldestUpdate: undefined })),
      ...toCreate.map((label) => ({ label, create: true, held: 'none' as const, oldestUpdate: undefined })),
    ],
    ...rest,
  });
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

  it('skip uses the newest Active key, ignoring an older Inactive key past max-age', () => {
    const p = skipped(plan(input({ maxAgeDays: 30, keys: [key('OLD', 100, 'Inactive'), key('YOUNG', 2)] })));
    expect(p.current.id).toBe('YOUNG');
    expect(p.reason).toBe('current key YOUNG is 2 day(s) old, younger than max-age-days (30)');
  });

  it('a skip with two keys does not apply key-limit (fail does not throw)', () => {
    const p = skipped(plan(input({ maxAgeDays: 30, keyLimit: 'fail', keys: [key('A', 100, 'Inactive'), key('B', 2)] })));
    expect(p.current.id).toBe('B');
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
    ['missing secrets', { missingSecrets: ['octo/api'] }, 'lack the access key id or the secret access key', 'octo/api'],
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

describe('no skip until the state is settled', () => {
  const held = (label: string, state: 'both' | 'partial' | 'none', oldestUpdate?: number) => ({
    label,
    create: false,
    held: state,
    oldestUpdate,
  });

  it('two Active keys (rotator): never skipped, however young; delete-oldest makes room with the oldest', () => {
    const p = rotation(plan(input({ maxAgeDays: 30, keyLimit: 'delete-oldest', keys: [key('OLD', 5), key('YOUNG', 2)] })));
    expect(p.reason).toBe('IAM user deployer has a second Active key (OLD)');
    expect(p.current?.id).toBe('YOUNG');
    expect(p.orphan).toBeUndefined();
    expect(p.makeRoom?.id).toBe('OLD');
    expect(p.makeRoomBreaks).toBe(true);
    expect(ids(p.previous)).toEqual(['YOUNG']);
  });

  it('two young Active keys with the default key-limit: an error naming delete-oldest, not a skip', () => {
    const err = planError(input({ maxAgeDays: 30, keys: [key('OLD', 5), key('YOUNG', 2)] }));
    expect(err.message).toBe(
      'IAM user deployer has two Active access keys (OLD (Active), YOUNG (Active)) and nothing proves who holds OLD ' +
        '(nothing is known about it): this run deletes no key on a guess. Find the holders of OLD (its last use says ' +
        'when and where it was used) and delete or deactivate the key nobody uses, or rerun with key-limit: ' +
        'delete-oldest, which deletes the oldest key first (its holders stop working until this run rewrites them).',
    );
  });

  it('a second Active key handed over and waiting to be retired (pending) is not a split state: a young key skips', () => {
    const p = skipped(plan(input({ maxAgeDays: 30, keys: [key('OLD', 5), key('YOUNG', 2)], others: pendingKeys('OLD') })));
    expect(p.current.id).toBe('YOUNG');
  });

  it('a destination holding only one of the two secrets rotates a young key', () => {
    const current = key('CUR', 2);
    const p = rotation(
      plan(
        input({
          maxAgeDays: 30,
          keys: [current],
          destinations: [held('octo/api', 'both', current.created.getTime()), held('octo/web', 'partial')],
        }),
      ),
    );
    expect(p.reason).toBe('destination(s) lack the access key id or the secret access key: octo/web');
  });

  it('a destination whose secrets were written before the current key was created rotates a young key', () => {
    const current = key('CUR', 2);
    const made = current.created.getTime();
    const p = rotation(
      plan(
        input({
          maxAgeDays: 30,
          keys: [current],
          destinations: [held('octo/api', 'both', made), held('octo/web', 'both', made - 1), held('octo/doc', 'both', made + DAY)],
        }),
      ),
    );
    expect(p.reason).toBe('destination(s) hold secrets written before the current key CUR was created: octo/web');
    expect(ids(p.previous)).toEqual(['CUR']);
  });

  it('secrets written when the key was created, or later, let a young key skip', () => {
    const current = key('CUR', 2);
    const made = current.created.getTime();
    const p = skipped(
      plan(input({ maxAgeDays: 30, keys: [current], destinations: [held('octo/api', 'both', made), held('octo/web', 'both', made + 1)] })),
    );
    expect(p.current).toBe(current);
  });

  describe("written after the current key's recorded handover", () => {
    const current = key('CUR', 2);
    const made = current.created.getTime();
    const handover = made + 5_000;
    const at = (label: string, newest: number) => ({ ...held(label, 'both', made), newestUpdate: newest });

    it('a destination written more than a minute after the handover rotates a young key, naming it', () => {
      const p = rotation(
        plan(
          input({
            maxAgeDays: 30,
            keys: [current],
            handovers: new Map([['CUR', handover]]),
            destinations: [at('octo/api', handover), at('octo/web', handover + 60_001), at('octo/doc', handover + DAY)],
          }),
        ),
      );
      expect(p.reason).toBe(
        `destination(s) were written after the current key CUR was handed over (${new Date(handover).toISOString()}, ` +
          'its record): nothing proves they hold it: octo/web, octo/doc',
      );
      expect(ids(p.previous)).toEqual(['CUR']);
    });

    it('written up to a minute after the handover (two clocks), or with no handover recorded: a young key skips', () => {
      const dests = [at('octo/api', handover + 60_000), at('octo/web', handover - 1_000)];
      expect(skipped(plan(input({ maxAgeDays: 30, keys: [current], handovers: new Map([['CUR', handover]]), destinations: dests }))).current).toBe(current);
      const late = [at('octo/api', handover + DAY)];
      expect(skipped(plan(input({ maxAgeDays: 30, keys: [current], handovers: new Map(), destinations: late }))).current).toBe(current);
      // Another key's handover says nothing about the current key.
      expect(skipped(plan(input({ maxAgeDays: 30, keys: [current], handovers: new Map([['OTHER', handover]]), destinations: late }))).current).toBe(current);
    });
  });

  it('the first reason wins, and the room is chosen all the same', () => {
    const p = rotation(
      plan(
        input({
          keys: [key('OLD', 100), key('CALLER', 2)],
          callerKeyId: 'CALLER',
          others: new Map([['OLD', { kind: 'orphan', heldBy: ['octo/web'] }]]),
          destinations: [held('octo/api', 'none'), held('octo/web', 'both', 0)],
        }),
      ),
    );
    expect(p.reason).toBe('destination(s) lack the access key id or the secret access key: octo/api');
    expect(p.orphan?.id).toBe('OLD');
    expect(p.moveOff).toEqual(['octo/web']);
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
  it("the caller's key is current even when another key is newer", () => {
    const caller = key('CALLER', 100);
    const newer = key('NEWER', 1);
    const others = new Map([['NEWER', { kind: 'orphan' as const, heldBy: [] }]]);
    const p = rotation(plan(input({ maxAgeDays: 30, keys: [caller, newer], callerKeyId: 'CALLER', others })));
    expect(p.current).toBe(caller);
    expect(p.orphan).toBe(newer);
  });

  it('a young caller key skips even when another, Inactive key is old', () => {
    const p = skipped(
      plan(input({ maxAgeDays: 30, keys: [key('OLD', 100, 'Inactive'), key('CALLER', 3)], callerKeyId: 'CALLER' })),
    );
    expect(p.current.id).toBe('CALLER');
  });

  it('a young caller key with a second Active key nothing proves anything about: stops (version 1), never a skip', () => {
    const err = planError(input({ maxAgeDays: 30, keys: [key('OLD', 100), key('CALLER', 3)], callerKeyId: 'CALLER' }));
    expect(err.message).toContain('nothing proves who holds OLD');
    // What the run changed is the run's to say (rotate.ts whatChanged), never the planner's.
    expect(err.message).not.toContain('Nothing was changed');
  });

  it('a young caller key with an older second Active key and key-limit delete-oldest: consent deletes the oldest', () => {
    const p = rotation(
      plan(input({ maxAgeDays: 30, keyLimit: 'delete-oldest', keys: [key('OLD', 100), key('CALLER', 3)], callerKeyId: 'CALLER' })),
    );
    expect(p.reason).toBe('IAM user deployer has a second Active key (OLD)');
    expect(p.current?.id).toBe('CALLER');
    expect(p.orphan).toBeUndefined();
    expect(p.makeRoom?.id).toBe('OLD');
    expect(p.makeRoomBreaks).toBe(true);
    expect(ids(p.previous)).toEqual(['CALLER']);
  });

  it('a proven orphan is deleted before the new key; in self-rotation its holders are moved off first', () => {
    const others = new Map([['OLD', { kind: 'orphan' as const, heldBy: ['octo/api'] }]]);
    const p = rotation(plan(input({ maxAgeDays: 30, keys: [key('OLD', 100), key('CALLER', 3)], callerKeyId: 'CALLER', others })));
    expect(p.orphan?.id).toBe('OLD');
    expect(p.moveOff).toEqual(['octo/api']);
    expect(p.makeRoom).toBeUndefined();
    expect(ids(p.previous)).toEqual(['CALLER']);
  });

  it('a rotator deletes an orphan that destinations may hold, saying they stop working until it rewrites them (it knows no other pair to give them first)', () => {
    const others = new Map([['NEW', { kind: 'orphan' as const, heldBy: ['octo/api'] }]]);
    const p = rotation(plan(input({ keys: [key('OLD', 100), key('NEW', 3)], others })));
    expect(p.orphan?.id).toBe('NEW');
    expect(p.moveOff).toEqual([]);
    expect(p.orphanBreaks).toEqual(['octo/api']);
    expect(p.makeRoom).toBeUndefined();
    expect(ids(p.previous)).toEqual(['OLD']);
  });

  it('converging never applies to an Inactive second key: that one is deleted to make room', () => {
    const p = rotation(plan(input({ keys: [key('CALLER', 100), key('I', 10, 'Inactive')], callerKeyId: 'CALLER' })));
    expect(p.orphan).toBeUndefined();
    expect(p.makeRoom?.id).toBe('I');
    expect(p.makeRoomBreaks).toBe(false);
    expect(ids(p.previous)).toEqual(['CALLER']);
  });

  it("key-limit fail still refuses two keys in self-rotation: it does not converge", () => {
    const err = planError(input({ keyLimit: 'fail', keys: [key('OLD', 100), key('CALLER', 3)], callerKeyId: 'CALLER' }));
    expect(err.message).toBe(
      "IAM user deployer already has 2 access keys (OLD (Active), CALLER (Active)), the IAM limit, and key-limit is 'fail': " +
        'delete one, or set key-limit: delete-inactive or delete-oldest.',
    );
  });

  it('an old caller key rotates even when a newer key is young', () => {
    const p = plan(
      input({ maxAgeDays: 30, keys: [key('CALLER', 100), key('YOUNG', 3, 'Inactive')], callerKeyId: 'CALLER' }),
    );
    expect(rotation(p).current?.id).toBe('CALLER');
  });
});

describe('key-limit with two keys', () => {
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
    expect(err.message).not.toContain('Nothing was changed');
    expect(err.message).toContain('AKIAONE');
    expect(err.message).toContain('AKIATWO');
    expect(err.message).toContain('deployer');
  });

  it.each([
    ['Inactive newer than the Active key', [key('A', 100), key('I', 10, 'Inactive')], undefined, 'I', false],
    ['Inactive even when it is the newer one and the caller holds the old', [key('C', 100), key('I', 10, 'Inactive')], 'C', 'I', false],
    ['both Active, rotator: the oldest, and holders of it break', [key('NEW', 10), key('OLD', 100)], undefined, 'OLD', true],
  ])('delete-oldest: %s', (_, keys, callerKeyId, expected, breaks) => {
    const p = rotation(plan(input({ keyLimit: 'delete-oldest', keys, callerKeyId })));
    expect(p.makeRoom?.id).toBe(expected);
    expect(p.makeRoomBreaks).toBe(breaks);
    expect(p.orphan).toBeUndefined();
    expect(p.makeRoom?.id).not.toBe(callerKeyId);
  });

  it("self-rotation, both Active (delete-oldest): the oldest other key goes, never the caller's own", () => {
    const p = rotation(plan(input({ keyLimit: 'delete-oldest', keys: [key('OLD', 100), key('CALLER', 10)], callerKeyId: 'CALLER' })));
    expect(p.makeRoom?.id).toBe('OLD');
    expect(p.makeRoomBreaks).toBe(true);
    expect(p.current?.id).toBe('CALLER');
    expect(ids(p.previous)).toEqual(['CALLER']);
    const err = planError(input({ keyLimit: 'delete-oldest', keys: [key('CALLER', 100), key('OTHER', 10)], callerKeyId: 'CALLER' }));
    expect(err.message).toContain('the one this job authenticates with');
  });

  it.each([
    [[key('A', 100), key('B', 10)]],
    [[key('A', 100), key('I', 10, 'Inactive')]],
    [[key('I1', 100, 'Inactive'), key('I2', 10, 'Inactive')]],
  ])('fail with two keys is an error (%#)', (keys) => {
    const err = planError(input({ keyLimit: 'fail', keys }));
    expect(err.message).toContain("'fail'");
    expect(err.message).not.toContain('Nothing was changed');
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
    expect(p.makeRoomBreaks).toBe(true);
    expect(ids(p.previous)).toEqual(['NEW']);
  });

  it('exclude the orphan deleted before the new key (self-rotation, two Active)', () => {
    const others = new Map([['NEW', { kind: 'orphan' as const, heldBy: [] }]]);
    const p = rotation(plan(input({ keys: [key('NEW', 1), key('CALLER', 100)], callerKeyId: 'CALLER', others })));
    expect(p.orphan?.id).toBe('NEW');
    expect(ids(p.previous)).toEqual(['CALLER']);
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
