/** A cancel request (src/shared/cancel.ts): the first signal is the one reported, and every wait ends at once. */
import { describe, expect, it } from '@jest/globals';
import { Cancellation, Cancelled } from '../src/shared/cancel.js';
import { fakeClock } from './support/harness.js';

describe('Cancellation', () => {
  it('before a cancel: nothing requested, checkpoints pass, waits wait', async () => {
    const c = new Cancellation();
    const clock = fakeClock();
    expect(c.requested).toBe(false);
    expect(c.reason).toBeUndefined();
    expect(() => c.checkpoint()).not.toThrow();
    await c.sleep(clock, 250);
    expect(clock.slept).toEqual([250]);
    expect(c.signal.aborted).toBe(false);
  });

  it('after a cancel: the next checkpoint throws, naming the first signal; later signals change nothing', () => {
    const c = new Cancellation();
    c.cancel('SIGINT');
    c.cancel('SIGTERM');
    expect(c.requested).toBe(true);
    expect(c.reason).toBe('SIGINT');
    expect(c.signal.aborted).toBe(true);
    expect(() => c.checkpoint()).toThrow(Cancelled);
    try {
      c.checkpoint();
    } catch (err) {
      expect((err as Cancelled).message).toBe('the run was cancelled (SIGINT)');
      expect((err as Cancelled).signal).toBe('SIGINT');
      expect((err as Cancelled).name).toBe('Cancelled');
    }
  });

  it('a wait asked for after a cancel does not start; one already running is ended by the abort signal', async () => {
    const c = new Cancellation();
    const clock = fakeClock();
    c.cancel('SIGINT');
    await c.sleep(clock, 5_000);
    expect(clock.slept).toEqual([]);

    const running = new Cancellation();
    let signal: AbortSignal | undefined;
    const waiting = running.sleep({ ...clock, sleep: (_ms, s) => new Promise((resolve) => (signal = s)?.addEventListener('abort', () => resolve())) }, 5_000);
    running.cancel('SIGTERM');
    await waiting;
    expect(signal?.aborted).toBe(true);
  });
});
