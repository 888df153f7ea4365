/**
 * The plan does not depend on the order IAM lists the keys in (ListAccessKeys promises no order): every decision that
 * picks a key by age (the current key, the key deleted to make room, the previous keys) is checked with the keys in
 * every order, newest first included.
 */
import { describe, expect, it } from '@jest/globals';
import { currentKey } from '../src/keys/verdict.js';
import type { AccessKey } from '../src/shared/types.js';
import { type PlanInput, plan } from './support/fixtures.js';
import { pendingKeys, planInput } from './support/fixtures.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

function key(id: string, days: number, status: AccessKey['status'] = 'Active'): AccessKey {
  return { id, status, created: new Date(NOW - days * DAY) };
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

function input(keys: AccessKey[], overrides: Partial<PlanInput> = {}): PlanInput {
  return planInput(NOW, { keys, ...overrides });
}

/** What a plan decides, by key id. */
function decided(keys: AccessKey[], overrides: Partial<PlanInput> = {}) {
  const p = plan(input(keys, overrides));
  if (p.action === 'skip') return { action: p.action, current: p.current.id };
  return {
    action: p.action,
    current: p.current?.id,
    orphan: p.orphan?.id,
    makeRoom: p.makeRoom?.id,
    makeRoomBreaks: p.makeRoomBreaks,
    previous: p.previous.map((k) => k.id),
  };
}

describe('keys in any order', () => {
  it('the current key is the newest Active one, newest listed first or last', () => {
    const keys = [key('NEWEST', 1), key('MIDDLE', 20), key('OLDEST', 300), key('NEWER_INACTIVE', 0, 'Inactive')];
    for (const order of permutations(keys)) expect(currentKey(order, undefined)?.id).toBe('NEWEST');
    for (const order of permutations(keys)) expect(currentKey(order, 'OLDEST')?.id).toBe('OLDEST');
  });

  it('skip or rotate is decided on the newest Active key, however listed', () => {
    const keys = [key('YOUNG', 2), key('OLD', 200)];
    for (const order of permutations(keys)) {
      expect(decided(order, { maxAgeDays: 30, others: pendingKeys('OLD') })).toEqual({ action: 'skip', current: 'YOUNG' });
    }
  });

  it('delete-oldest deletes the oldest Active key, however listed', () => {
    for (const order of permutations([key('NEW', 1), key('OLD', 100)])) {
      expect(decided(order, { keyLimit: 'delete-oldest' })).toEqual({
        action: 'rotate',
        current: 'NEW',
        orphan: undefined,
        makeRoom: 'OLD',
        makeRoomBreaks: true,
        previous: ['NEW'],
      });
    }
  });

  it('of two Inactive keys, the older one makes room, however listed', () => {
    for (const order of permutations([key('I_NEW', 1, 'Inactive'), key('I_OLD', 100, 'Inactive')])) {
      expect(decided(order)).toEqual({
        action: 'rotate',
        current: undefined,
        orphan: undefined,
        makeRoom: 'I_OLD',
        makeRoomBreaks: false,
        previous: ['I_NEW'],
      });
    }
  });

  it('the oldest Inactive key makes room and the previous keys are the rest, oldest first, however listed', () => {
    const keys = [key('NEW', 1), key('I_NEW', 10, 'Inactive'), key('I_OLD', 50, 'Inactive'), key('OLD', 100)];
    for (const order of permutations(keys)) {
      expect(decided(order, { keyLimit: 'delete-oldest' })).toEqual({
        action: 'rotate',
        current: 'NEW',
        orphan: undefined,
        makeRoom: 'I_OLD',
        makeRoomBreaks: false,
        previous: ['OLD', 'I_NEW', 'NEW'],
      });
    }
  });

  it('self-rotation deletes the oldest other key when it is a proven orphan, however listed', () => {
    const keys = [key('OTHER_NEW', 1), key('CALLER', 50), key('OTHER_OLD', 100)];
    const others = new Map([['OTHER_OLD', { kind: 'orphan' as const, heldBy: [] }], ['OTHER_NEW', { kind: 'orphan' as const, heldBy: [] }]]);
    for (const order of permutations(keys)) {
      expect(decided(order, { callerKeyId: 'CALLER', others })).toEqual({
        action: 'rotate',
        current: 'CALLER',
        orphan: 'OTHER_OLD',
        makeRoom: undefined,
        makeRoomBreaks: false,
        previous: ['CALLER', 'OTHER_NEW'],
      });
    }
  });

  it('delete-oldest in rotator mode takes the oldest of every key, however listed', () => {
    const keys = [key('A', 1), key('B', 50), key('C', 100)];
    for (const order of permutations(keys)) {
      expect(decided(order, { keyLimit: 'delete-oldest' })).toMatchObject({ current: 'A', makeRoom: 'C', previous: ['B', 'A'] });
    }
  });
});
