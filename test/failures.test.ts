import { describe, expect, it } from '@jest/globals';
import { STSClient } from '@aws-sdk/client-sts';
import {
  envScope,
  fakeClock,
  heldPair,
  holdsWorkingKey,
  keysOf,
  repoScope,
  runRotation,
  seedPair,
} from './support/harness.js';
import { useWorld } from './support/world.js';
import { forbidden, hang, notFound, secondaryRateLimit, serverError } from './support/github-standin.js';
import { authenticates, createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;

async function setup(repoCount: number, opts: { environments?: string[] } = {}) {
  const user = fresh('deployer');
  const old = await createUserWithKey(world.moto, world.admin, user);
  const repos = Array.from({ length: repoCount }, () => `octo/${fresh('svc')}`);
  for (const r of repos) {
    world.gh.addRepository(r, { environments: opts.environments });
    if (opts.environments) for (const e of opts.environments) seedPair(world.gh, envScope(r, e), old);
    else seedPair(world.gh, repoScope(r), old);
  }
  return { user, old, repos };
}

describe('preflight failures: nothing is created', () => {
  it('a missing repository fails naming it, before any key exists', async () => {
    const { user, old, repos } = await setup(1);
    const { result } = await runRotation(world, { as: old, inputs: { repositories: `${repos[0]},octo/missing` } });
    expect(result.error?.message).toMatch(/repository octo\/missing not found, or the token cannot see it/);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
  });

  it('a missing environment fails naming it and create-environments', async () => {
    const { user, old, repos } = await setup(1, { environments: ['prod'] });
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repos[0], environments: 'prod,qa' },
    });
    expect(result.error?.message).toMatch(/environment 'qa' does not exist in .*create-environments: true/);
    expect(await keysOf(world, user)).toHaveLength(1);
  });

  it('a refused read quotes the permissions GitHub accepts, and the GITHUB_TOKEN trap', async () => {
    const { old, repos } = await setup(2);
    world.gh.addFault(forbidden({ path: new RegExp(`${repos[1]}/actions/secrets/public-key`) }, 'secrets=read'));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(result.error?.message).toMatch(
      new RegExp(`reading the public key of ${repos[1]}: 403 .*GitHub accepts the permission\\(s\\) 'secrets=read'.*GITHUB_TOKEN cannot write secrets`),
    );
    expect(result.newKeyId).toBeUndefined();
  });

  it('several failing destinations are all named in one line', async () => {
    const { old, repos } = await setup(3);
    world.gh.addFault(notFound({ path: /public-key/, skip: 1 }));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(result.error?.message).toMatch(/^preflight failed for 2 of 3 destinations, nothing was changed: /);
    expect(result.error?.message).not.toMatch(/\n/);
  });
});

describe('verification', () => {
  it('waits for a key that is not yet propagated, with backoff, then writes', async () => {
    const { old, repos } = await setup(1);
    let calls = 0;
    const clock = fakeClock(Date.now());
    const stsFor = (c: { accessKeyId: string; secretAccessKey: string }) => {
      const real = new STSClient({ region: 'us-east-1', endpoint: world.moto.endpoint, credentials: c, maxAttempts: 1 });
      const fake = new STSClient({ region: 'us-east-1', endpoint: world.moto.endpoint, credentials: { ...c, secretAccessKey: 'not-yet' }, maxAttempts: 1 });
      return { send: (cmd: never) => (++calls <= 3 ? fake.send(cmd) : real.send(cmd)) } as unknown as STSClient;
    };
    const { result, io } = await runRotation(world, { as: old, clock, stsFor, inputs: { repositories: repos[0] } });
    expect(result.error).toBeUndefined();
    expect(calls).toBe(4);
    expect(clock.slept).toEqual([188, 281, 422]); // 250 × 1.5^n, × jitter 0.75
    expect(io.text()).toMatch(/attempt 3: not yet \(SignatureDoesNotMatch/);
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
  });

  it('a key that never works is deleted, nothing is written, the old key still works', async () => {
    const { user, old, repos } = await setup(1);
    const stsFor = (c: { accessKeyId: string; secretAccessKey: string }) =>
      new STSClient({ region: 'us-east-1', endpoint: world.moto.endpoint, credentials: { ...c, secretAccessKey: 'wrong' }, maxAttempts: 1 });
    const clock = fakeClock(Date.now());
    const { result } = await runRotation(world, { as: old, clock, stsFor, inputs: { repositories: repos[0], 'verify-timeout-seconds': '10' } });
    expect(result.error?.message).toMatch(/did not authenticate within 10 s .*Deleted the new key .*no destination was changed/);
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10_000);
    expect(clock.slept.length).toBeGreaterThan(5);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
  });

  it('verify-timeout-seconds 0 skips the check', async () => {
    const { old, repos } = await setup(1);
    const stsFor = () => {
      throw new Error('must not verify');
    };
    const { result } = await runRotation(world, { as: old, stsFor, inputs: { repositories: repos[0], 'verify-timeout-seconds': '0' } });
    expect(result.error).toBeUndefined();
  });
});

describe('write failures: no destination is left holding a dead key', () => {
  it('self-rotation: restores the previous pair where the new one went, then deletes the new key', async () => {
    const { user, old, repos } = await setup(3);
    // The 2nd repository's secret-key endpoint fails for good: its key id is already new by then.
    world.gh.addFault(serverError({ method: 'PUT', path: new RegExp(`${repos[1]}/actions/secrets/AWS_SECRET_ACCESS_KEY`) }));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(result.error?.message).toMatch(
      new RegExp(`writing AWS_SECRET_ACCESS_KEY to ${repos[1]}: 500 .*Restored the previous key ${old.accessKeyId} to 2 destination\\(s\\).*Deleted the new key`),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual(['restored', 'restored', 'unchanged']);
    for (const r of repos) {
      expect(heldPair(world.gh, repoScope(r))).toEqual({ accessKeyId: old.accessKeyId, secretAccessKey: old.secretAccessKey });
      expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    }
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('another user, failure between the two writes of a destination: its key id is put back', async () => {
    const { user, repos } = await setup(3);
    world.gh.addFault(serverError({ method: 'PUT', path: new RegExp(`${repos[1]}/actions/secrets/AWS_SECRET_ACCESS_KEY`) }));
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos.join(',') } });
    expect(result.destinations.map((d) => d.outcome)).toEqual(['written', 'restored', 'unchanged']);
    expect(result.error?.message).toMatch(/Both keys stay active: 1 destination\(s\) hold the new key .*2 still hold/);
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    expect(await keysOf(world, user)).toHaveLength(2);
  });

  it('a total GitHub outage mid-destination is reported as a mismatched pair, and a rerun repairs it', async () => {
    const { old, repos } = await setup(2);
    world.gh.addFault(serverError({ method: 'PUT', skip: 1 }));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(result.destinations.map((d) => d.outcome)).toEqual(['mismatched', 'unchanged']);
    expect(result.error?.message).toMatch(
      new RegExp(`${repos[0]} hold\\(s\\) the new key id with the previous secret \\(a mismatched pair\\) and must be rewritten`),
    );
    expect(await authenticates(world.moto, old)).toBe(true); // both keys kept
    world.gh.clearFaults();
    const rerun = await runRotation(world, { as: old, inputs: { repositories: repos.join(','), 'key-limit': 'delete-oldest' } });
    expect(rerun.result.error).toBeUndefined();
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
  });

  it('another user: keeps both keys and says who holds which; a rerun with delete-oldest converges', async () => {
    const { user, old, repos } = await setup(3);
    world.gh.addFault(forbidden({ method: 'PUT', path: new RegExp(repos[2]) }));
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos.join(',') } });
    const newId = result.newKeyId;
    expect(result.error?.message).toMatch(
      new RegExp(`writing AWS_ACCESS_KEY_ID to ${repos[2]}: 403 .*Both keys stay active: 2 destination\\(s\\) hold the new key ${newId} .*1 still hold ${old.accessKeyId} \\(${repos[2]}\\).*key-limit: delete-oldest`),
    );
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    expect(await keysOf(world, user)).toHaveLength(2);

    world.gh.clearFaults();
    const rerun = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos.join(','), 'key-limit': 'delete-oldest' },
    });
    expect(rerun.result.error).toBeUndefined();
    expect(await keysOf(world, user)).toEqual([{ id: rerun.result.newKeyId, status: 'Active' }]);
    for (const r of repos) {
      expect(heldPair(world.gh, repoScope(r))?.accessKeyId).toBe(rerun.result.newKeyId);
      expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    }
  });

  it('nothing written: the new key is deleted and the old one kept', async () => {
    const { user, old, repos } = await setup(2);
    world.gh.addFault(forbidden({ method: 'PUT' }));
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos.join(',') } });
    expect(result.error?.message).toMatch(/Deleted the new key .*no destination was changed/);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });
});

describe('transient failures are retried within bounds', () => {
  it('GitHub 5xx, a secondary rate limit with retry-after, and a hung request', async () => {
    const { old, repos } = await setup(2);
    world.gh.addFault(serverError({ method: 'PUT', times: 2 }));
    world.gh.addFault(secondaryRateLimit({ method: 'PUT', skip: 1, times: 1 }, 2));
    world.gh.addFault(hang({ path: /public-key/, times: 1 }));
    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(result.error).toBeUndefined();
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    expect(io.warnings.join('\n')).toMatch(/secondary rate limit .*retrying after 2 s/);
    expect(await authenticates(world.moto, old)).toBe(false);
  });

  it('persistent 5xx gives up after bounded retries and names the destination', async () => {
    const { user, old, repos } = await setup(1);
    world.gh.addFault(serverError({ method: 'PUT' }));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos[0] } });
    expect(result.error?.message).toMatch(new RegExp(`writing AWS_ACCESS_KEY_ID to ${repos[0]}: 500 .*rerun later`));
    expect(world.gh.writes()).toHaveLength(4); // 1 + 3 retries
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });
});
