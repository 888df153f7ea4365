/**
 * plan.ts edges that mutation testing found unpinned (docs/mutation.md): a key pending retirement leaves no room, a
 * caller that is not one of the user's keys never converges, one key needs no room, the reasons in full, the input
 * keys untouched.
 */
import { describe, expect, it } from '@jest/globals';
import type { AccessKey } from '../src/shared/types.js';
import { type PlanInput, plan } from './support/fixtures.js';
import { pendingKeys, planInput } from './support/fixtures.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const key = (id: string, days: number, status: AccessKey['status'] = 'Active'): AccessKey => ({
  id,
  status,
  created: new Date(NOW - days * DAY),
});

const input = (overrides: Partial<PlanInput>): PlanInput => planInput(NOW, overrides);

const dest = (label: string, d: Partial<PlanInput['destinations'][number]> = {}) => ({
  label,
  create: false,
  held: 'both' as const,
  oldestUpdate: undefined,
  ...d,
});

describe('room for a new key', () => {
  it('one key: nothing to delete, nothing breaks', () => {
    const p = plan(input({ keys: [key('A', 100)] }));
    expect(p).toMatchObject({ action: 'rotate', makeRoom: undefined, orphan: undefined });
    expect(p.action === 'rotate' && p.makeRoomBreaks).toBe(false);
  });

  it('an Active key pending retirement blocks a new key, whatever key-limit says, and says why', () => {
    for (const keyLimit of ['delete-inactive', 'delete-oldest'] as const) {
      expect(() => plan(input({ keyLimit, keys: [key('NEW', 1), key('OLD', 100)], others: pendingKeys('OLD'), maxAgeDays: 1 }))).toThrow(
        'IAM user deployer has 2 access keys (NEW (Active), OLD (Active)) and no room for a new key: OLD is pending ' +
          'retirement (handed over to NEW; retire-after-hours not yet passed): rerun once it is due, not before ' +
          `${new Date(NOW + 1).toISOString()} (IAM time), or retire it by hand.`,
      );
    }
  });

  it('an Inactive key pending retirement is simply deleted to make room', () => {
    const p = plan(input({ keys: [key('NEW', 1), key('OLD', 100, 'Inactive')], others: pendingKeys('OLD') }));
    expect(p).toMatchObject({ action: 'rotate', makeRoom: { id: 'OLD' } });
  });

  it('a caller that is not one of the keys (a rotator) never converges: delete-oldest makes room, and it breaks holders', () => {
    const p = plan(input({ keyLimit: 'delete-oldest', keys: [key('NEW', 1), key('OLD', 100)], callerKeyId: 'ROTATOR' }));
    expect(p).toMatchObject({ action: 'rotate', orphan: undefined, makeRoom: { id: 'OLD' }, makeRoomBreaks: true });
  });

  it('delete-oldest does not reorder the keys it was given', () => {
    const keys = [key('NEW', 1), key('OLD', 100)];
    plan(input({ keyLimit: 'delete-oldest', keys }));
    expect(keys.map((k) => k.id)).toEqual(['NEW', 'OLD']);
  });
});

describe('the reason, in full', () => {
  it.each<[string, Partial<PlanInput>, string]>([
    [
      'new destinations',
      { destinations: [dest('octo/a', { create: true }), dest('octo/b', { create: true })] },
      'new destination(s): octo/a, octo/b',
    ],
    [
      'destinations lacking the secrets',
      { destinations: [dest('octo/a', { held: 'partial' }), dest('octo/b', { held: 'none' })] },
      'destination(s) lack the access key id or the secret access key: octo/a, octo/b',
    ],
    ['no active key', { keys: [key('I', 3, 'Inactive')] }, 'IAM user deployer has no active access key'],
    [
      'two Active keys',
      { keys: [key('NEW', 1), key('OLD', 100)], keyLimit: 'delete-oldest' },
      'IAM user deployer has a second Active key (OLD)',
    ],
    [
      'secrets older than the key',
      {
        keys: [key('K', 1)],
        maxAgeDays: 30,
        destinations: [dest('octo/a', { oldestUpdate: NOW - 2 * DAY }), dest('octo/b', { oldestUpdate: NOW - 3 * DAY }), dest('octo/c', { oldestUpdate: NOW })],
      },
      'destination(s) hold secrets written before the current key K was created: octo/a, octo/b',
    ],
  ])('%s', (_, overrides, reason) => {
    expect(plan(input(overrides)).reason).toBe(reason);
  });
});
