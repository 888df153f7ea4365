/**
 * plan.ts stagedRetirement in-process: when a handed-over key may be deleted. A key is due once its handover and its
 * last use both lie `hours` in the past; an unknown last use is never due; a key whose successor is gone is not a
 * pending key at all.
 */
import { describe, expect, it } from '@jest/globals';
import { type AccessKey, type Use, stagedRetirement } from '../src/plan.js';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-27T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const key = (id: string, status: AccessKey['status'] = 'Active'): AccessKey => ({ id, status, created: new Date(NOW - 100 * HOUR) });
const OLD = key('OLD');
const NEW = key('NEW');
const use = (at: number): Use => ({ date: iso(at), service: 'sts', region: 'us-east-1' });

type Records = Map<string, { supersededBy?: string; handover?: string }>;
const handedOver = (at: number, by = 'NEW'): Records => new Map([['OLD', { supersededBy: by, handover: iso(at) }]]);

function decide(records: Records, lastUsed: Use | null | undefined, now = NOW, hours = 24, keys = [OLD, NEW]) {
  const r = stagedRetirement(keys, records, new Map([['OLD', lastUsed]]), now, hours);
  return {
    due: r.due.map((p) => p.key.id),
    waiting: r.waiting.map((w) => `${w.key.id}${w.inUse ? ' in use' : ''}`),
    all: [...r.due, ...r.waiting],
  };
}

describe('stagedRetirement', () => {
  it('never used since a handover 24 h ago: due, exactly at the hour', () => {
    expect(decide(handedOver(NOW - 24 * HOUR), null)).toMatchObject({ due: ['OLD'], waiting: [] });
    expect(decide(handedOver(NOW - 24 * HOUR + 1), null)).toMatchObject({ due: [], waiting: ['OLD'] });
  });

  it('hours are hours', () => {
    expect(decide(handedOver(NOW - 2 * HOUR), null, NOW, 2).due).toEqual(['OLD']);
    expect(decide(handedOver(NOW - 2 * HOUR), null, NOW, 3).due).toEqual([]);
    expect(decide(handedOver(NOW), null, NOW, 0).due).toEqual(['OLD']);
  });

  it('used after the handover: due only `hours` after that use, and flagged as still in use meanwhile', () => {
    const records = handedOver(NOW - 48 * HOUR);
    expect(decide(records, use(NOW - 10 * HOUR))).toMatchObject({ due: [], waiting: ['OLD in use'] });
    expect(decide(records, use(NOW - 24 * HOUR))).toMatchObject({ due: ['OLD'], waiting: [] });
  });

  it('in use from exactly `hours` after the handover', () => {
    expect(decide(handedOver(NOW - 24 * HOUR), use(NOW - HOUR)).waiting).toEqual(['OLD in use']);
    expect(decide(handedOver(NOW - 24 * HOUR + 1), use(NOW - HOUR)).waiting).toEqual(['OLD']);
  });

  it('used before the handover: the handover decides', () => {
    expect(decide(handedOver(NOW - 30 * HOUR), use(NOW - 200 * HOUR)).due).toEqual(['OLD']);
    expect(decide(handedOver(NOW - 10 * HOUR), use(NOW - 200 * HOUR))).toMatchObject({ due: [], waiting: ['OLD'] });
  });

  it('a recent handover is waiting, not in use, whatever the last use', () => {
    expect(decide(handedOver(NOW - HOUR), use(NOW - 1000)).waiting).toEqual(['OLD']);
  });

  it('an unknown last use (not allowed to read it) is never due, and not said to be in use', () => {
    expect(decide(handedOver(NOW - 1000 * HOUR), undefined)).toMatchObject({ due: [], waiting: ['OLD'] });
  });

  it('what it reports about a pending key', () => {
    const handover = NOW - 30 * HOUR;
    const lastUse = use(NOW - 20 * HOUR);
    const [pending] = decide(handedOver(handover), lastUse).all;
    expect(pending).toEqual({ key: OLD, supersededBy: 'NEW', handover, dueAt: NOW + 4 * HOUR, lastUsed: lastUse, inUse: true });
    const [never] = decide(handedOver(handover), null).all;
    expect(never).toEqual({ key: OLD, supersededBy: 'NEW', handover, dueAt: handover + 24 * HOUR, lastUsed: null });
  });

  it.each<[string, Records, AccessKey[]]>([
    ['no record', new Map(), [OLD, NEW]],
    ['no successor named', new Map([['OLD', { handover: iso(NOW - 100 * HOUR) }]]), [OLD, NEW]],
    ['no handover time', new Map([['OLD', { supersededBy: 'NEW' }]]), [OLD, NEW]],
    ['an unreadable handover time', new Map([['OLD', { supersededBy: 'NEW', handover: 'yesterday' }]]), [OLD, NEW]],
    ['a successor that no longer exists', handedOver(NOW - 100 * HOUR, 'GONE'), [OLD, NEW]],
    ['a successor that no longer exists, alone', handedOver(NOW - 100 * HOUR), [OLD]],
  ])('%s: not pending at all', (_, records, keys) => {
    expect(decide(records, null, NOW, 24, keys).all).toEqual([]);
  });

  it('only the handed-over keys are considered; the others are left alone', () => {
    const records: Records = new Map([
      ['OLD', { supersededBy: 'NEW', handover: iso(NOW - 48 * HOUR) }],
      ['NEW', {}],
    ]);
    const r = stagedRetirement([OLD, NEW], records, new Map([['OLD', null], ['NEW', null]]), NOW, 24);
    expect(r.due.map((p) => p.key.id)).toEqual(['OLD']);
    expect(r.waiting).toEqual([]);
  });
});
