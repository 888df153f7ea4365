/**
 * Creating the new key when CreateAccessKey fails without making one (src/rotation/rotate.ts createNewKey): the keys are
 * listed again, and only when no key appeared is it tried again, at most three times, with a jittered backoff; a
 * LimitExceeded is never tried again. (A key that did appear is never deleted: failures.test.ts, fault-matrix.)
 */
import { describe, expect, it } from '@jest/globals';
import { fakeClock, holdsWorkingKey, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { useWorld } from './support/world.js';
import { createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;

async function setup() {
  const user = fresh('deployer');
  const old = await createUserWithKey(world.moto, world.admin, user);
  const repo = `octo/${fresh('svc')}`;
  world.gh.addRepository(repo);
  seedPair(world.gh, repoScope(repo), old);
  return { user, old, repo };
}

/** CreateAccessKey refused before it reaches IAM (so no key is made), `times` times. */
function failCreate(times: number, name = 'ServiceFailure', message = 'We encountered an internal error') {
  const attempts: number[] = [];
  return {
    attempts,
    onAwsCall: (c: { command: string }) => {
      if (c.command !== 'CreateAccessKeyCommand') return;
      attempts.push(attempts.length + 1);
      if (attempts.length <= times) throw Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 500 } });
    },
  };
}

describe('CreateAccessKey fails and no key appeared', () => {
  it('is tried again after a jittered backoff, and the rotation completes', async () => {
    const { user, old, repo } = await setup();
    const fail = failCreate(2);
    const clock = fakeClock(Date.now());

    const { result, io } = await runRotation(world, { as: old, clock, onAwsCall: fail.onAwsCall, inputs: { repositories: repo } });

    expect(result.error).toBeUndefined();
    expect(fail.attempts).toEqual([1, 2, 3]);
    expect(io.text()).toMatch(/CreateAccessKey attempt 1 failed \(iam:CreateAccessKey .*ServiceFailure.*\); no key was made: trying again/);
    expect(io.text()).toMatch(/CreateAccessKey attempt 2 failed .*; no key was made: trying again/);
    // 500 ms × attempt × jitter (0.5 + random / 2), the fake clock's random being 0.5.
    expect(clock.slept).toEqual(expect.arrayContaining([375, 750]));
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it('gives up after three attempts: the error names the call, nothing was made or changed', async () => {
    const { user, old, repo } = await setup();
    const fail = failCreate(Infinity);

    const { result } = await runRotation(world, { as: old, onAwsCall: fail.onAwsCall, inputs: { repositories: repo } });

    expect(fail.attempts).toEqual([1, 2, 3]);
    expect(result.newKeyId).toBeUndefined();
    expect(result.error?.message).toMatch(/^iam:CreateAccessKey on IAM user \S+ failed: ServiceFailure/);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
  });

  it('for a user this run created, the user is deleted again and the error says so', async () => {
    const user = fresh('bootstrap');
    const repo = `octo/${fresh('svc')}`;
    world.gh.addRepository(repo);
    const fail = failCreate(Infinity);

    const { result } = await runRotation(world, {
      as: world.admin,
      onAwsCall: fail.onAwsCall,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true' },
    });

    expect(result.error?.message).toMatch(
      new RegExp(`^iam:CreateAccessKey on IAM user ${user} failed: ServiceFailure.*\\. The created user ${user} was deleted again: IAM is as before\\.$`),
    );
    expect(result.userCreated).toBe(false);
    expect(world.gh.writes()).toEqual([]);
  });

  it('when the keys cannot be listed again, it stops and says to check whether a key was made', async () => {
    const { user, old, repo } = await setup();
    let failed = false;
    const onAwsCall = (c: { command: string }) => {
      if (c.command === 'CreateAccessKeyCommand') {
        failed = true;
        throw Object.assign(new Error('We encountered an internal error'), { name: 'ServiceFailure', $metadata: { httpStatusCode: 500 } });
      }
      if (failed && c.command === 'ListAccessKeysCommand') {
        throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
      }
    };

    const { result } = await runRotation(world, { as: old, onAwsCall, inputs: { repositories: repo } });

    expect(result.error?.message).toMatch(
      /^iam:CreateAccessKey on IAM user \S+ failed: ServiceFailure.*\. Could not list the keys again: check whether a key was made\. Nothing was changed\.$/,
    );
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('LimitExceeded is not tried again: another rotation or a person is at work', async () => {
    const { user, old, repo } = await setup();
    const fail = failCreate(Infinity, 'LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2');

    const { result } = await runRotation(world, { as: old, onAwsCall: fail.onAwsCall, inputs: { repositories: repo } });

    expect(fail.attempts).toEqual([1]);
    expect(result.error?.message).toMatch(/failed: LimitExceeded: the user already has two access keys.*another rotation or a person is at work/);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });
});
