import { describe, expect, it } from '@jest/globals';
import { WritePacer } from '../src/pacer.js';
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
});
