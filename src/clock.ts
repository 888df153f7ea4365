/** Time and randomness, injected so tests never wait on real time. */
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
