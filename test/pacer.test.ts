import { describe, expect, it } from '@jest/globals';
import { SHIPPED_PACING, WritePacer } from '../src/github/pacer.js';
import { fakeClock } from './support/harness.js';

describe('WritePacer', () => {
  it('lets a pair through at once, then paces to one write per interval on average', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 1000);
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) {
      await pacer.take(2);
      starts.push(clock.now());
    }
    expect(starts).toEqual([0, 2000, 4000, 6000]);
  });

  it('started empty (write-interval-seconds: a fleet job), the first pair waits two intervals, then the same pace', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 7625, 2, true);
    const starts: number[] = [];
    for (let i = 0; i < 3; i++) {
      await pacer.take(2);
      starts.push(clock.now());
    }
    expect(starts).toEqual([15_250, 30_500, 45_750]);
  });

  it('single writes are one interval apart once the burst is spent', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 1000);
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) {
      await pacer.take();
      starts.push(clock.now());
    }
    expect(starts).toEqual([0, 0, 1000, 2000]);
  });

  it('idle time refills the bucket, up to the burst', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 1000);
    await pacer.take(2);
    await clock.sleep(10_000);
    const before = clock.now();
    await pacer.take(2);
    expect(clock.now()).toBe(before);
    await pacer.take(1);
    expect(clock.now()).toBe(before + 1000);
  });

  it('serves concurrent callers in order', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 500);
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((name) => pacer.take(2).then(() => order.push(`${name}@${clock.now()}`))));
    expect(order).toEqual(['a@0', 'b@1000', 'c@2000']);
  });

  it('an interval of 0 never waits', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 0);
    for (let i = 0; i < 10; i++) await pacer.take(2);
    expect(clock.slept).toEqual([]);
  });
  it('a partly refilled bucket waits only for the part that is missing', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 1000);
    await pacer.take(2); // bucket empty at 0
    await clock.sleep(500); // half a write back
    await pacer.take(2); // 1.5 writes missing: 1500 ms
    expect(clock.now()).toBe(2000);
    expect(clock.slept).toEqual([500, 1500]);
    // The wait refilled the bucket before taking: it is empty again, not in debt.
    await pacer.take(1);
    expect(clock.now()).toBe(3000);
  });

  it('a partly refilled bucket with enough for the request does not wait', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 1000);
    await pacer.take(2);
    await clock.sleep(1500);
    await pacer.take(1); // 1.5 available
    expect(clock.now()).toBe(1500);
    await pacer.take(1); // 0.5 left: waits 500 ms
    expect(clock.now()).toBe(2000);
  });

  it('a request larger than the burst takes the whole burst, never waits forever', async () => {
    const clock = fakeClock(0);
    const pacer = new WritePacer(clock, 1000);
    await pacer.take(5);
    expect(clock.now()).toBe(0);
    await pacer.take(5);
    expect(clock.now()).toBe(2000);
  });

  it('oversleeping earns no credit: the bucket is refilled after a wait, capped at the burst', async () => {
    const clock = fakeClock(0);
    const late = { ...clock, sleep: (ms: number) => clock.sleep(ms + 100) }; // wakes 100 ms late
    const pacer = new WritePacer(late, 1000);
    await pacer.take(2);
    await pacer.take(2); // waits 2000, wakes at 2100 with a full bucket (not 2.1 writes)
    expect(clock.now()).toBe(2100);
    await pacer.take(1); // a whole interval more
    expect(clock.now()).toBe(3200);
  });

  it('a failed wait does not block the callers after it', async () => {
    const clock = fakeClock(0);
    let fail = true;
    const failing = {
      ...clock,
      sleep: async (ms: number) => {
        if (fail) {
          fail = false;
          throw new Error('cancelled');
        }
        await clock.sleep(ms);
      },
    };
    const pacer = new WritePacer(failing, 1000);
    await pacer.take(2);
    await expect(pacer.take(2)).rejects.toThrow('cancelled');
    await pacer.take(2);
    expect(clock.now()).toBe(2000);
  });
});

describe('SHIPPED_PACING: GitHub guidance for REST clients', () => {
  it('about one second between mutating requests, a few bounded retries, waits that fit the budget', () => {
    expect(SHIPPED_PACING.writeIntervalMs).toBeGreaterThanOrEqual(1000);
    expect(SHIPPED_PACING.retryAfterBaseMs).toBe(1000); // retry-after is in seconds
    expect(SHIPPED_PACING.retries).toBeGreaterThan(0);
    expect(SHIPPED_PACING.retries).toBeLessThanOrEqual(5);
    expect(SHIPPED_PACING.requestTimeoutMs).toBeGreaterThanOrEqual(10_000);
    expect(SHIPPED_PACING.maxRateLimitWaitSeconds).toBeGreaterThanOrEqual(60); // GitHub's secondary-limit default wait
    expect(SHIPPED_PACING.rateLimitBudgetSeconds).toBeGreaterThanOrEqual(SHIPPED_PACING.maxRateLimitWaitSeconds);
    expect(SHIPPED_PACING.readConcurrency).toBeGreaterThan(0);
    expect(SHIPPED_PACING.readConcurrency).toBeLessThanOrEqual(10);
  });
});
