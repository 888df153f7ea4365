/** One moto + GitHub stand-in per test file: started before its tests, stopped after, the stand-in reset per test. */
import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import { type World, startWorld } from './harness.js';

export function useWorld(): World & { fresh(prefix: string): string } {
  let current: World | undefined;
  let n = 0;
  beforeAll(async () => {
    current = await startWorld();
  });
  afterAll(async () => {
    await current?.stop();
  });
  beforeEach(() => current?.gh.reset());
  const get = (): World => {
    if (!current) throw new Error('the emulators are not started yet (use the world inside a test or hook)');
    return current;
  };
  return {
    get moto() {
      return get().moto;
    },
    get gh() {
      return get().gh;
    },
    get admin() {
      return get().admin;
    },
    stop: () => get().stop(),
    fresh: (prefix) => `${prefix}${++n}`,
  };
}
