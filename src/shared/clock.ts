/** Time and randomness, injected so tests never wait on real time. */
/** A time as IAM tag values hold it: ISO 8601 in whole seconds (2026-11-28T06:00:00Z). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (its timer is cleared: nothing keeps the process alive). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
    }),
  random: () => Math.random(),
};
