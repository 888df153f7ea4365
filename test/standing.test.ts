/**
 * Where a destination stands after a run (src/writes.ts standing), read from the journal alone: the outcome and
 * key id every summary row, output and error line reports. Each case is a journal a run can leave.
 */
import { describe, expect, it } from '@jest/globals';
import { type Effect, type HeldBefore, Journal } from '../src/journal.js';
import { standing } from '../src/writes.js';

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
