/**
 * Recovery decisions of `recover` in src/rotation/rotate.ts that the broader failure tests pass through without pinning (each found by
 * mutation testing, docs/mutation.md): how each destination is given back what it held, what a cancel keeps, and a
 * created user that cannot be deleted again.
 */
import { describe, expect, it } from '@jest/globals';
import { ListUserTagsCommand, TagUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { Cancellation } from '../src/shared/cancel.js';
import { heldPair, holdsWorkingKey, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { useWorld } from './support/world.js';
import { forbidden, hang, serverError } from './support/github-standin.js';
import { type Creds, addAccessKey, createUserWithKey, iamClient, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;
const pairOf = (c: Creds): Creds => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });

/** A user with one key, and `count` repositories holding it. */
async function setup(count: number) {
  const user = fresh('deployer');
  const old = await createUserWithKey(world.moto, world.admin, user);
  const repos = Array.from({ length: count }, () => `octo/${fresh('svc')}`);
  for (const r of repos) {
    world.gh.addRepository(r);
    seedPair(world.gh, repoScope(r), old);
  }
  return { user, old, repos };
}

const secondKey = (user: string): Promise<Creds> => addAccessKey(world.moto, world.admin, user);

const deletes = () => world.gh.writes().filter((w) => w.method === 'DELETE').map((w) => w.path.split('/').at(-1));

describe('giving each destination back what it held', () => {
  it('a destination that held nothing and got only the key id: the key id is removed, nothing else is deleted', async () => {
    const { user, old, repos } = await setup(1);
    const [empty, spare] = [`octo/${fresh('svc')}`, `octo/${fresh('svc')}`]; // both hold nothing; spare is never reached
    world.gh.addRepository(empty);
    world.gh.addRepository(spare);
    world.gh.addFault(forbidden({ method: 'PUT', path: `/repos/${empty}/actions/secrets/AWS_SECRET_ACCESS_KEY` }));

    const { result } = await runRotation(world, { as: old, inputs: { repositories: [repos[0], empty, spare].join(',') } });

    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to ${empty}: 403 .*\\. Deleted the new key \\w+\\. Destinations: ${repos[0]}: put back to ` +
          `${old.accessKeyId}; ${empty}: held no secrets before; what the run wrote was removed; ${spare}: not changed\\.$`,
      ),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual(['restored', 'removed', 'unchanged']);
    expect(world.gh.secretNames(repoScope(empty))).toEqual([]);
    // Only what the run wrote is removed: the secret it never wrote is not deleted (GitHub would answer 404).
    expect(deletes()).toEqual(['AWS_ACCESS_KEY_ID']);
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual(pairOf(old));
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('rotator, delete-oldest: a pair left half-written is reported MISMATCHED; the key id is not guessed back', async () => {
    const { user, old, repos } = await setup(1);
    const current = await secondKey(user); // newer: the current key, which the repository now holds
    seedPair(world.gh, repoScope(repos[0]), current);
    world.gh.addFault(forbidden({ method: 'PUT', path: `/repos/${repos[0]}/actions/secrets/AWS_SECRET_ACCESS_KEY` }));

    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos[0], 'key-limit': 'delete-oldest' },
    });

    const newId = result.newKeyId as string;
    // The oldest key went to make room, so the run cannot know which key a destination held: it puts nothing back.
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'deleted to make room' }]);
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['mismatched', undefined]]);
    expect(result.error?.message).toMatch(
      new RegExp(`Both keys stay Active \\(${newId}\\)\\. Destinations: ${repos[0]}: MISMATCHED pair`),
    );
    expect(io.warnings).toEqual([]);
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual({
      accessKeyId: newId,
      secretAccessKey: current.secretAccessKey,
    });
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, current.accessKeyId].sort());
  });

  it("self-rotation after moving destinations off an orphan: the untouched destinations are named as holding this run's own key", async () => {
    const { user, old, repos } = await setup(2);
    // A second Active key, an orphan of an earlier run that GitHub says has ended, which had written both destinations:
    // the self-rotation gives them its own pair first, then deletes the orphan.
    const other = await secondKey(user);
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await iamClient(world.moto, world.admin).send(
      new TagUserCommand({ UserName: user, Tags: [{ Key: other.accessKeyId, Value: `rotate-aws-access-key: created=${created} by=octo/earlier/1/1` }] }),
    );
    for (const r of repos) seedPair(world.gh, repoScope(r), other);
    world.gh.completeEveryRun();
    world.gh.addFault(forbidden({ method: 'PUT', path: `/repos/${repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID`, skip: 1 }));

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });

    const newId = result.newKeyId as string;
    expect(result.previous).toEqual([{ id: other.accessKeyId, action: 'deleted as an orphan' }]);
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['restored', old.accessKeyId],
      ['converged', old.accessKeyId],
    ]);
    expect(result.error?.message).toMatch(
      new RegExp(
        `Deleted the new key ${newId}\\. Destinations: ${repos[0]}: put back to ${old.accessKeyId}; ` +
          `${repos[1]}: ${old.accessKeyId}, this run's own key\\.$`,
      ),
    );
    for (const r of repos) expect(heldPair(world.gh, repoScope(r))).toEqual(pairOf(old));
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });
});

describe('an Inactive key deleted to make room', () => {
  it('breaks no holder: the untouched destinations are named as holding the current key', async () => {
    const { user, old, repos } = await setup(2);
    const current = await secondKey(user);
    for (const r of repos) seedPair(world.gh, repoScope(r), current);
    await iamClient(world.moto, world.admin).send(
      new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: old.accessKeyId, Status: 'Inactive' }),
    );
    world.gh.addFault(forbidden({ method: 'PUT', path: new RegExp(`^/repos/${repos[1]}/`) }));

    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos.join(',') } });

    const newId = result.newKeyId as string;
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'deleted to make room' }]);
    expect(result.error?.message).toMatch(
      new RegExp(
        `Both keys stay Active \\(${newId} and ${current.accessKeyId}\\)\\. Destinations: ${repos[0]}: the new key ${newId}; ` +
          `${repos[1]}: not changed \\(${current.accessKeyId}\\)\\. Fix the cause`,
      ),
    );
  });
});

describe('when nothing was written', () => {
  it('rotator, delete-oldest: the untouched destinations are named as possibly holding the deleted key', async () => {
    const { user, old, repos } = await setup(1);
    const current = await secondKey(user);
    seedPair(world.gh, repoScope(repos[0]), current);
    const spare = `octo/${fresh('svc')}`; // holds nothing, never reached
    world.gh.addRepository(spare);
    world.gh.addFault(forbidden({ method: 'PUT' }));

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: [repos[0], spare].join(','), 'key-limit': 'delete-oldest' },
    });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `No destination was given the new key ${newId}\\. Deleted the new key ${newId}\\. Destinations: ${repos[0]}: ` +
          `may hold the deleted key ${old.accessKeyId} \\(key-limit: delete-oldest\\), which does not work until a ` +
          `run rewrites it; ${spare}: not changed\\.$`,
      ),
    );
    expect(await keysOf(world, user)).toEqual([{ id: current.accessKeyId, status: 'Active' }]);
  });

  it('a new key that cannot be deleted again is named, with what to do', async () => {
    const { user, old, repos } = await setup(1);
    const spare = `octo/${fresh('svc')}`;
    world.gh.addRepository(spare);
    world.gh.addFault(forbidden({ method: 'PUT' }));

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: [repos[0], spare].join(',') },
      onAwsCall: (c) => {
        if (c.command === 'DeleteAccessKeyCommand') throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      },
    });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `No destination was given the new key ${newId}\\. Deleting the unused new key ${newId} failed too \\(.*Rate exceeded.*\\): ` +
          'delete it by hand; no destination holds it\\.',
      ),
    );
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });
});

describe('a write that never answered', () => {
  it('counts as possibly holding the new key: the new key is not deleted, the destination is named UNKNOWN', async () => {
    const { user, old, repos } = await setup(2);
    world.gh.addFault(hang({ method: 'PUT', path: `/repos/${repos[0]}/actions/secrets/AWS_ACCESS_KEY_ID` }));

    const { result, io } = await runRotation(world, {
      as: old,
      pacing: { requestTimeoutMs: 200 },
      inputs: { repositories: repos.join(',') },
    });

    const newId = result.newKeyId as string;
    // Putting the key id back hangs too: the run cannot know what the destination holds, so the new key stays.
    expect(io.warnings.join('\n')).toMatch(new RegExp(`could not put ${repos[0]} back \\(restore id\\)`));
    expect(result.error?.message).not.toMatch(/No destination was given the new key/);
    expect(result.error?.message).toMatch(
      new RegExp(
        `Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)\\. Destinations: ${repos[0]}: UNKNOWN: a write was in ` +
          `flight when the run stopped: check it; ${repos[1]}: not changed \\(${old.accessKeyId}\\)`,
      ),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual(['unknown', 'unchanged']);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });
});

describe('a write that took effect but never answered', () => {
  it('leaves no destination holding a dead key: the new key stays until the destination is known', async () => {
    const { user, old, repos } = await setup(1);
    // GitHub stores the new key id, then the answer never comes (each retry too): the destination may hold it.
    world.gh.addFault(hang({ method: 'PUT', path: `/repos/${repos[0]}/actions/secrets/AWS_ACCESS_KEY_ID`, afterHandling: true }));

    const { result } = await runRotation(world, { as: old, pacing: { requestTimeoutMs: 200 }, inputs: { repositories: repos[0] } });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(new RegExp(`Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)`));
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });
});

describe('an orphan of an earlier run (self-rotation), proven by GitHub saying that run has ended', () => {
  it("destinations written after its creation get this run's own pair first; a cancel then stops before the orphan goes; a rerun deletes it and rotates", async () => {
    const { user, old, repos } = await setup(2);
    const other = await secondKey(user);
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await iamClient(world.moto, world.admin).send(
      new TagUserCommand({ UserName: user, Tags: [{ Key: other.accessKeyId, Value: `rotate-aws-access-key: created=${created} by=octo/earlier/1/1` }] }),
    );
    seedPair(world.gh, repoScope(repos[0]), other); // the earlier run had written its key here
    world.gh.completeEveryRun();
    const cancel = new Cancellation();
    world.gh.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === `/repos/${repos[0]}/actions/secrets/AWS_SECRET_ACCESS_KEY`) cancel.cancel('SIGINT');
    });

    const { result } = await runRotation(world, { as: old, cancel, inputs: { repositories: repos.join(',') } });

    expect(result.cancelled).toBe(true);
    expect(result.newKeyId).toBeUndefined();
    expect(result.destinations.map((d) => d.outcome)).toEqual(['converged', 'unchanged']);
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual(pairOf(old));
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([old.accessKeyId, other.accessKeyId].sort());
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);

    world.gh.reset();
    world.gh.completeEveryRun();
    const rerun = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(rerun.result.error).toBeUndefined();
    expect(rerun.result.previous).toEqual([
      { id: other.accessKeyId, action: 'deleted as an orphan' },
      { id: old.accessKeyId, action: 'deleted' },
    ]);
    expect(await keysOf(world, user)).toEqual([{ id: rerun.result.newKeyId, status: 'Active' }]);
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
  });

  it('without GitHub\'s word (and younger than 60 minutes) the same key is not deleted: the run stops before any change', async () => {
    const { user, old, repos } = await setup(1);
    const other = await secondKey(user);
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await iamClient(world.moto, world.admin).send(
      new TagUserCommand({ UserName: user, Tags: [{ Key: other.accessKeyId, Value: `rotate-aws-access-key: created=${created} by=octo/earlier/1/1` }] }),
    );

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos[0] } });

    expect(result.error?.message).toContain(`nothing proves who holds ${other.accessKeyId}`);
    expect(result.error?.message).toContain('may still be writing it');
    expect(world.gh.writes()).toEqual([]);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([old.accessKeyId, other.accessKeyId].sort());
  });
});
describe('a secret write that took effect but never answered', () => {
  it('self-rotation: the whole previous pair is put back, so the destination works, then the new key goes', async () => {
    const { user, old, repos } = await setup(1);
    world.gh.addFault(
      hang({ method: 'PUT', path: `/repos/${repos[0]}/actions/secrets/AWS_SECRET_ACCESS_KEY`, afterHandling: true, times: 1 }),
    );

    const { result } = await runRotation(world, {
      as: old,
      pacing: { requestTimeoutMs: 200, retries: 0 },
      inputs: { repositories: repos[0] },
    });

    expect(result.error?.message).toMatch(new RegExp(`Deleted the new key \\w+\\. Destinations: ${repos[0]}: put back to ${old.accessKeyId}\\.$`));
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual(pairOf(old));
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('rotator: nothing can be put back, so both keys stay and the destination is named UNKNOWN', async () => {
    const { user, old, repos } = await setup(1);
    world.gh.addFault(
      hang({ method: 'PUT', path: `/repos/${repos[0]}/actions/secrets/AWS_SECRET_ACCESS_KEY`, afterHandling: true, times: 1 }),
    );

    const { result } = await runRotation(world, {
      as: world.admin,
      pacing: { requestTimeoutMs: 200, retries: 0 },
      inputs: { 'iam-user-name': user, repositories: repos[0] },
    });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(`Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)\\. Destinations: ${repos[0]}: UNKNOWN: a write was in flight`),
    );
    // It did land: the destination holds the new pair, and the new key was kept for it.
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });
});

describe('a cancel keeps both keys rather than roll back', () => {
  it('cancelled between destinations: the written one keeps the new key, both keys stay', async () => {
    const { user, old, repos } = await setup(2);
    const cancel = new Cancellation();
    world.gh.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === `/repos/${repos[0]}/actions/secrets/AWS_SECRET_ACCESS_KEY`) cancel.cancel('SIGINT');
    });

    const { result } = await runRotation(world, { as: old, cancel, inputs: { repositories: repos.join(',') } });

    const newId = result.newKeyId as string;
    expect(result.cancelled).toBe(true);
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['written', newId],
      ['unchanged', old.accessKeyId],
    ]);
    expect(result.error?.message).toMatch(new RegExp(`^the run was cancelled \\(SIGINT\\)\\. Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)`));
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });

  it('cancelled while a write was in flight that then failed: said so, and nothing is rolled back', async () => {
    const { user, old, repos } = await setup(2);
    const cancel = new Cancellation();
    world.gh.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === `/repos/${repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID`) cancel.cancel('SIGTERM');
    });
    world.gh.addFault(serverError({ method: 'PUT', path: `/repos/${repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID` }));

    const { result } = await runRotation(world, { as: old, cancel, inputs: { repositories: repos.join(',') } });

    const newId = result.newKeyId as string;
    expect(result.cancelled).toBe(true);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^the run was cancelled \\(SIGTERM\\) while a step was in flight, which then failed: writing AWS_ACCESS_KEY_ID to ` +
          `${repos[1]}: 500 .*\\. Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)`,
      ),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual(['written', 'unchanged']);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });
});

describe('a created user that cannot be deleted again', () => {
  it('is reported as existing, its lease is released, and the keys output still describes it', async () => {
    const user = fresh('stuck');
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    world.gh.addFault(serverError({ method: 'PUT' }));

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true' },
      onAwsCall: (c) => {
        if (c.command === 'DeleteUserCommand') {
          throw Object.assign(new Error('User is not authorized to perform: iam:DeleteUser'), {
            name: 'AccessDenied',
            $metadata: { httpStatusCode: 403 },
          });
        }
      },
    });

    expect(result.error?.message).toMatch(
      new RegExp(`Deleted the new key \\w+\\. IAM user ${user} exists \\(created by this run\\) and could not be deleted \\(.*AccessDenied`),
    );
    expect(result.userCreated).toBe(true);
    expect(result.keys).toEqual([]);
    const tags = await iamClient(world.moto, world.admin).send(new ListUserTagsCommand({ UserName: user }));
    expect((tags.Tags ?? []).map((t) => t.Key)).not.toContain('rotate-aws-access-key:lease');
    expect(await keysOf(world, user)).toEqual([]);
  });
});
