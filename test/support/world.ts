/** The emulators of a test file, started before its tests and stopped after. */
import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import { existsSync } from 'node:fs';
import { AwsProxy } from './aws-proxy.js';
import { GitHubStandin } from './github-standin.js';
import { type World, startWorld } from './harness.js';
import { type Creds, type Moto, seedAdmin, startMoto } from './moto.js';
import { DIST, node24 } from './runner.js';

/** One moto + GitHub stand-in per test file: started before its tests, stopped after, the stand-in reset per test. */
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

/** The emulators a test of the built action needs: moto, the GitHub stand-in, moto's admin, an AWS proxy before moto. */
export interface DistWorld {
  moto: Moto;
  gh: GitHubStandin;
  admin: Creds;
  proxy: AwsProxy;
}

/**
 * One DistWorld per test file, for tests that run dist/index.js on Node 24: checks that dist/ is built and Node 24
 * is at hand, starts the emulators before the file's tests (passing them to `started`), stops them after.
 */
export function useDistWorld(started: (w: DistWorld) => void, opts: { tokens?: string[] } = {}): void {
  let w: DistWorld | undefined;
  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error('dist/index.js is missing: run npm run package');
    node24();
    const [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start(opts.tokens ? { tokens: opts.tokens } : {})]);
    const admin = await seedAdmin(moto);
    w = { moto, gh, admin, proxy: await AwsProxy.start(moto.endpoint) };
    started(w);
  }, 200_000);
  afterAll(async () => {
    await w?.proxy.stop();
    await Promise.all([w?.moto.stop(), w?.gh.stop()]);
  });
}
