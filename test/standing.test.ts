/**
 * Where a destination stands after a run (src/rotation/writes.ts standing), read from the journal alone: the outcome and
 * key id every summary row, output and error line reports. Each case is a journal a run can leave. And the
 * journal itself (src/rotation/journal.ts): what each effect does to it.
 */
import { describe, expect, it } from '@jest/globals';
import { type Effect, type HeldBefore, Journal } from '../src/rotation/journal.js';
import { standing } from '../src/rotation/writes.js';

const CURRENT = 'AKIACURRENT';
const NEW = 'AKIANEW';

type Step = Effect extends infer E ? (E extends { index: number } ? Omit<E, 'index'> : never) : never;

/** `current`: the key the destinations are taken to have held (none after delete-oldest broke them). */
function after(heldBefore: HeldBefore, steps: Step[], { current }: { current: string | undefined } = { current: CURRENT }) {
  const journal = new Journal(1);
  journal.destinations[0].heldBefore = heldBefore;
  for (const step of steps) journal.record({ ...step, index: 0 } as Effect);
  return standing(journal, 0, current);
}

const wrote = (which: 'id' | 'secret', keyId: string, reason: 'new key' | 'converge' | 'restore' = 'new key'): Step => ({
  kind: 'secret written',
  which,
  keyId,
  reason,
});

describe('standing', () => {
  it('untouched: unchanged, holding the current key only if it held both secrets before', () => {
    expect(after('both', [])).toEqual({ outcome: 'unchanged', keyId: CURRENT });
    expect(after('partial', [])).toEqual({ outcome: 'unchanged', keyId: undefined });
    expect(after('none', [])).toEqual({ outcome: 'unchanged', keyId: undefined });
  });

  it('a write in flight, of either secret: unknown', () => {
    expect(after('both', [{ kind: 'write in flight', which: 'id' }])).toEqual({ outcome: 'unknown', keyId: undefined });
    expect(after('both', [wrote('id', NEW), { kind: 'write in flight', which: 'secret' }])).toEqual({
      outcome: 'unknown',
      keyId: undefined,
    });
  });

  it('a whole pair: written, converged or restored, by the reason it was written', () => {
    expect(after('both', [wrote('id', NEW), wrote('secret', NEW)])).toEqual({ outcome: 'written', keyId: NEW });
    expect(after('both', [wrote('id', CURRENT, 'converge'), wrote('secret', CURRENT, 'converge')])).toEqual({
      outcome: 'converged',
      keyId: CURRENT,
    });
    expect(after('both', [wrote('id', NEW), wrote('secret', NEW), wrote('id', CURRENT, 'restore'), wrote('secret', CURRENT, 'restore')])).toEqual({
      outcome: 'restored',
      keyId: CURRENT,
    });
  });

  it('the key id put back over an untouched secret: restored, only when it is the key the destination held', () => {
    const idBack = [wrote('id', NEW), { kind: 'write failed', which: 'secret', previous: { kind: 'before' } }, wrote('id', CURRENT, 'restore')] as Step[];
    expect(after('both', idBack)).toEqual({ outcome: 'restored', keyId: CURRENT });
    expect(after('both', idBack, { current: 'AKIAOTHER' })).toEqual({ outcome: 'mismatched', keyId: undefined });
    expect(after('both', idBack, { current: undefined })).toEqual({ outcome: 'mismatched', keyId: undefined });
    expect(after('partial', idBack)).toEqual({ outcome: 'mismatched', keyId: undefined });
    // The key id put back over a secret the run had written: the two do not match.
    expect(after('both', [wrote('id', NEW), wrote('secret', NEW), wrote('id', CURRENT, 'restore')])).toEqual({
      outcome: 'mismatched',
      keyId: undefined,
    });
  });

  it('one secret new and the other as before: mismatched', () => {
    expect(after('both', [wrote('id', NEW)])).toEqual({ outcome: 'mismatched', keyId: undefined });
    expect(after('both', [wrote('secret', NEW)])).toEqual({ outcome: 'mismatched', keyId: undefined });
    expect(after('both', [wrote('id', CURRENT, 'converge')])).toEqual({ outcome: 'mismatched', keyId: undefined });
    // Two different keys, however written.
    expect(after('both', [wrote('id', NEW), wrote('secret', CURRENT, 'restore')])).toEqual({ outcome: 'mismatched', keyId: undefined });
  });

  it('what the run wrote where nothing was held, removed again: removed; anything left over: mismatched', () => {
    const removed = (which: 'id' | 'secret'): Step => ({ kind: 'secret removed', which });
    expect(after('none', [wrote('id', NEW), wrote('secret', NEW), removed('id'), removed('secret')])).toEqual({
      outcome: 'removed',
      keyId: undefined,
    });
    expect(after('none', [wrote('id', NEW), removed('id')])).toEqual({ outcome: 'removed', keyId: undefined });
    expect(after('none', [wrote('id', NEW), wrote('secret', NEW), removed('id')])).toEqual({ outcome: 'mismatched', keyId: undefined });
    // Where the destination held both before, removing one of them breaks it.
    expect(after('both', [wrote('id', NEW), removed('id')])).toEqual({ outcome: 'mismatched', keyId: undefined });
    expect(after('partial', [wrote('id', NEW), removed('id')])).toEqual({ outcome: 'mismatched', keyId: undefined });
  });
});

describe('Journal', () => {
  it('knows which keys this run deleted: every deleting fate, and no other', () => {
    const j = new Journal(0);
    const fates = ['deleted', 'deleted to make room', 'deleted as an orphan', 'discarded', 'deactivated', 'kept'] as const;
    fates.forEach((fate, n) => j.record({ kind: 'key retired', id: `K${n}`, fate }));
    expect(fates.map((_, n) => j.deleted(`K${n}`))).toEqual([true, true, true, true, false, false]);
    expect(j.deleted('K9')).toBe(false);
    expect(j.retired).toHaveLength(6);
  });

  it('touched: the destinations where this run changed either secret, in order', () => {
    const j = new Journal(4);
    j.record({ kind: 'secret written', index: 3, which: 'secret', keyId: NEW, reason: 'new key' });
    j.record({ kind: 'write in flight', index: 1, which: 'id' });
    j.record({ kind: 'environment created', index: 2 });
    expect(j.touched()).toEqual([1, 3]);
    expect(j.destinations.map((d) => d.created)).toEqual([false, false, true, false]);
  });

  it('pairKey: only when both secrets hold the same key, written by this run', () => {
    const j = new Journal(3);
    j.record({ kind: 'secret written', index: 0, which: 'id', keyId: NEW, reason: 'new key' });
    j.record({ kind: 'secret written', index: 0, which: 'secret', keyId: NEW, reason: 'new key' });
    j.record({ kind: 'secret written', index: 1, which: 'id', keyId: NEW, reason: 'new key' });
    j.record({ kind: 'secret written', index: 1, which: 'secret', keyId: CURRENT, reason: 'restore' });
    j.record({ kind: 'secret written', index: 2, which: 'id', keyId: NEW, reason: 'new key' });
    expect([0, 1, 2].map((i) => j.pairKey(i))).toEqual([NEW, undefined, undefined]);
    expect(j.destinations[1].reason).toBe('restore');
  });

  it('a failed write puts back what the secret held; a removal leaves it absent', () => {
    const j = new Journal(1);
    j.record({ kind: 'secret written', index: 0, which: 'id', keyId: NEW, reason: 'new key' });
    j.record({ kind: 'write in flight', index: 0, which: 'id' });
    expect(j.destinations[0].id).toEqual({ kind: 'unknown' });
    j.record({ kind: 'write failed', index: 0, which: 'id', previous: { kind: 'key', keyId: NEW } });
    expect(j.destinations[0].id).toEqual({ kind: 'key', keyId: NEW });
    j.record({ kind: 'secret removed', index: 0, which: 'id' });
    expect(j.destinations[0].id).toEqual({ kind: 'absent' });
    expect(j.destinations[0].secret).toEqual({ kind: 'before' });
  });

  it('the lease, the user and the new key', () => {
    const j = new Journal(0);
    j.record({ kind: 'lease taken' });
    j.record({ kind: 'user created', user: { name: 'svc', groups: [], policyArns: [] } });
    j.record({ kind: 'key created', id: NEW });
    expect([j.leaseHeld, j.createdUser?.name, j.newKeyId]).toEqual([true, 'svc', NEW]);
    j.record({ kind: 'lease released' });
    expect(j.leaseHeld).toBe(false);
    j.record({ kind: 'lease taken' });
    j.record({ kind: 'user deleted' }); // the lease tag goes with the user
    expect([j.leaseHeld, j.createdUser]).toEqual([false, undefined]);
    expect(j.effects.map((e) => e.kind)).toEqual(['lease taken', 'user created', 'key created', 'lease released', 'lease taken', 'user deleted']);
  });
});
