/**
 * The world around a run, with the built dist/index.js on Node 24 as the runner runs it, against moto (signatures
 * enforced) and the GitHub stand-in: a cancel (SIGINT, as the runner sends it) at every step, and two runs on one
 * user at once. After each, the end state is checked against what the action said.
 */
import { describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import type { AwsProxy } from './support/aws-proxy.js';
import { type GitHubStandin, type Scope, secondaryRateLimit } from './support/github-standin.js';
import { heldPair, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { type Creds, type Moto, authenticates, createUserWithKey, requireMoto } from './support/moto.js';
import { type ActionRun, leaks, runAction } from './support/runner.js';
import { useDistWorld } from './support/world.js';

requireMoto();

let moto: Moto;
let gh: GitHubStandin;
let proxy: AwsProxy;
let admin: Creds;
useDistWorld((w) => ({ moto, gh, admin, proxy } = w));

let n = 0;
const world = () => ({ moto, gh, admin, stop: async () => {} });

interface Fixture {
  user: string;
  old: Creds;
  repos: string[];
  scopes: Scope[];
}

/** A user whose key three repositories hold; the first is the job's own repository. */
async function fixture(prefix: string): Promise<Fixture> {
  const user = `${prefix}-${++n}`;
  const old = await createUserWithKey(moto, admin, user);
  const repos = [1, 2, 3].map((i) => `w${n}/app${i}`);
  for (const r of repos) {
    gh.addRepository(r);
    seedPair(gh, repoScope(r), old);
  }
  return { user, old, repos, scopes: repos.map(repoScope) };
}

function env(f: Fixture, creds: Creds, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    GITHUB_API_URL: gh.url,
    GITHUB_REPOSITORY: f.repos[0],
    GITHUB_RUN_ID: String(1000 + n),
    GITHUB_RUN_ATTEMPT: '1',
    ...extra,
  };
}

const inputsFor = (f: Fixture, extra: Record<string, string> = {}) => ({
  'github-token': 'test-token',
  'iam-user-name': f.user,
  repositories: f.repos.join(','),
  ...extra,
});

async function deadScopes(f: Fixture): Promise<string[]> {
  const dead: string[] = [];
  for (const [i, s] of f.scopes.entries()) {
    const pair = heldPair(gh, s);
    if (!pair || !(await authenticates(moto, pair))) dead.push(f.repos[i]);
  }
  return dead;
}

/** Everything a run said must be true of the end state. */
async function expectTruthful(run: ActionRun, f: Fixture, last = true): Promise<void> {
  const keys = await keysOf(world(), f.user);
  expect(keys.length).toBeGreaterThan(0);
  if (last && run.code === 0 && run.outputs.rotated === 'true') {
    const id = run.outputs['access-key-id'];
    expect(keys.map((k) => k.id)).toContain(id);
  }
  for (const secret of run.masked) {
    if (secret === 'test-token') continue;
    expect(leaks(run, secret)).toEqual([]);
  }
  expect(run.errors.length).toBeLessThanOrEqual(1);
}

/**
 * A rerun, as the workflow would do it with the key its own repository holds, once the stopped run has ended (GitHub
 * says so), converges to one key. With two keys that both may be held, only key-limit: delete-oldest may delete one.
 */
async function expectRerunConverges(f: Fixture): Promise<void> {
  const pair = heldPair(gh, f.scopes[0]);
  if (!pair) throw new Error('the job repository holds no pair');
  gh.completeEveryRun();
  const { result } = await runRotation(world(), {
    inputs: { 'iam-user-name': f.user, repositories: f.repos.join(','), 'key-limit': 'delete-oldest' },
    as: pair,
    env: { GITHUB_REPOSITORY: f.repos[0] },
  });
  expect(result.error?.message).toBeUndefined();
  const keys = await keysOf(world(), f.user);
  expect(keys).toHaveLength(1);
  for (const s of f.scopes) expect(heldPair(gh, s)?.accessKeyId).toBe(keys[0].id);
  expect(await deadScopes(f)).toEqual([]);
}

describe('cancel: SIGINT as the runner sends it, at every step', () => {
  async function cancelled(f: Fixture, arm: (kill: () => void) => void, extraInputs: Record<string, string> = {}) {
    let child: ChildProcess | undefined;
    let sentAt = 0;
    const kill = () => {
      if (sentAt || !child) return;
      sentAt = performance.now();
      child.kill('SIGINT');
    };
    arm(kill);
    const started = performance.now();
    const run = await runAction({
      inputs: inputsFor(f, extraInputs),
      env: env(f, f.old),
      onSpawn: (c) => (child = c),
      timeoutMs: 60_000,
    });
    gh.clearFaults();
    expect(sentAt).toBeGreaterThan(0);
    const exitMs = started + run.ms - sentAt;
    return { run, exitMs };
  }

  it('during verification: the new key is deleted, nothing was written, exit well before SIGKILL', async () => {
    const f = await fixture('cancel-verify');
    proxy.propagationDelayMs = 30_000;
    try {
      const { run, exitMs } = await cancelled(f, (kill) => {
        const off = proxy.onRequest((r) => {
          if (r.action === 'GetCallerIdentity' && r.accessKeyId !== f.old.accessKeyId) {
            off();
            setTimeout(kill, 300);
          }
        });
      });
      expect(run.signal).toBeNull();
      expect(run.code).toBe(1);
      expect(exitMs).toBeLessThan(7000);
      expect(run.errors).toHaveLength(1);
      expect(run.errors[0]).toMatch(/^::error::the run was cancelled \(SIGINT\)\. No destination was given the new key (\w+)\. Deleted the new key \1\./);
      expect(await keysOf(world(), f.user)).toEqual([{ id: f.old.accessKeyId, status: 'Active' }]);
      for (const s of f.scopes) expect(heldPair(gh, s)).toEqual(f.old);
      expect(run.summary).toContain('cancelled');
      await expectTruthful(run, f);
    } finally {
      proxy.propagationDelayMs = 0;
    }
  });

  it('after the first destination: both keys stay, every destination works, a default rerun converges', async () => {
    const f = await fixture('cancel-first');
    const { run, exitMs } = await cancelled(f, (kill) => {
      const off = gh.onRequest((r) => {
        if (r.method === 'PUT' && r.path.startsWith(`/repos/${f.repos[1]}/`)) {
          off();
          kill();
        }
      });
    });
    expect(run.code).toBe(1);
    expect(exitMs).toBeLessThan(7000);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/the run was cancelled \(SIGINT\)\. Both keys stay Active/);
    expect(await deadScopes(f)).toEqual([]);
    expect(await keysOf(world(), f.user)).toHaveLength(2);
    expect(run.summary).toContain('cancelled');
    await expectTruthful(run, f);
    await expectRerunConverges(f);
  });

  it('between the two writes of a destination: the pair is finished first, nothing is mismatched', async () => {
    const f = await fixture('cancel-pair');
    const { run, exitMs } = await cancelled(f, (kill) => {
      const off = gh.onRequest((r) => {
        if (r.method === 'PUT' && r.path === `/repos/${f.repos[0]}/actions/secrets/AWS_ACCESS_KEY_ID`) {
          off();
          kill();
        }
      });
    });
    expect(run.code).toBe(1);
    expect(exitMs).toBeLessThan(7000);
    expect(run.errors[0]).toMatch(new RegExp(`${f.repos[0]}: the new key`));
    expect(run.errors[0]).not.toMatch(/MISMATCHED/);
    expect(await deadScopes(f)).toEqual([]);
    await expectTruthful(run, f);
    await expectRerunConverges(f);
  });

  it('during a rate-limit wait: the wait ends at once, the run cleans up and exits before SIGKILL', async () => {
    const f = await fixture('cancel-ratelimit');
    gh.addFault(secondaryRateLimit({ method: 'PUT', path: `/repos/${f.repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID` }, 120));
    const { run, exitMs } = await cancelled(f, (kill) => {
      const off = gh.onRequest((r) => {
        if (r.method === 'PUT' && r.path.startsWith(`/repos/${f.repos[1]}/`)) {
          off();
          setTimeout(kill, 500);
        }
      });
    });
    if (run.code !== 1) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(1);
    expect(exitMs).toBeLessThan(7000);
    expect(run.stdout).toMatch(/GitHub secondary rate limit on PUT .*: waiting 120 s/);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/the run was cancelled \(SIGINT\)/);
    expect(await deadScopes(f)).toEqual([]);
    await expectTruthful(run, f);
    await expectRerunConverges(f);
  }, 90_000);
});

describe('two runs on one user at once', () => {
  // Run B starts `offset` ms after run A; both are real processes with real clocks and the shipped lease.
  it.each([
    ['self-rotation', 0],
    ['self-rotation', 300],
    ['rotator', 0],
    ['rotator', 300],
  ])('%s, B starts %i ms after A: no dead destination, at least one key, and what each run said is true', async (mode, offset) => {
    const f = await fixture(`race-${mode === 'rotator' ? 'rot' : 'self'}`);
    const creds = mode === 'rotator' ? admin : f.old;
    const finished: string[] = [];
    const start = (name: string, runId: string) =>
      runAction({ inputs: inputsFor(f), env: env(f, creds, { GITHUB_RUN_ID: runId }), timeoutMs: 90_000 }).then((r) => {
        finished.push(name);
        return r;
      });
    const a = start('a', `${n}01`);
    await new Promise((r) => setTimeout(r, offset));
    const b = start('b', `${n}02`);
    const runs: Record<string, ActionRun> = {};
    [runs.a, runs.b] = await Promise.all([a, b]);
    const [first, last] = finished.map((x) => runs[x]);
    expect(await deadScopes(f)).toEqual([]);
    const keys = await keysOf(world(), f.user);
    expect(keys).toHaveLength(1);
    for (const s of f.scopes) expect(heldPair(gh, s)?.accessKeyId).toBe(keys[0].id);
    await expectTruthful(first, f, false);
    await expectTruthful(last, f);
    // The lease makes them take turns: the second waits for the first.
    expect(first.code).toBe(0);
    expect(last.stdout).toMatch(/is leased by run \S+\/\d+\/1 until .*: waiting/);
    if (mode === 'rotator') {
      // The second rotates again, from the first run's key: the key it reports is the one that exists.
      expect(last.code).toBe(0);
      expect(last.outputs['access-key-id']).toBe(keys[0].id);
      // …and it retired exactly the key the first run reported (which every destination held until then).
      expect(last.outputs['previous-access-key-ids']).toBe(first.outputs['access-key-id']);
    } else {
      // The second authenticated with the key the first one replaced: it says so and changed nothing.
      expect(last.code).toBe(1);
      expect(last.errors).toEqual([expect.stringMatching(/while this run waited for .*, the key this job authenticates with stopped working: that run rotated it/)]);
      expect(first.outputs['access-key-id']).toBe(keys[0].id);
    }
  }, 120_000);
});
