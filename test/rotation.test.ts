import { describe, expect, it } from '@jest/globals';
import { DeleteAccessKeyCommand, ListUserTagsCommand, TagUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  type AwsCall,
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
import { type Creds, addAccessKey, authenticates, createUserWithKey, iamClient, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;
const LEASE_TAG = 'rotate-aws-access-key:lease';

/**
 * Wait for the next whole second. moto's CreateDate has milliseconds while GitHub's updated_at (and the stand-in's)
 * has whole seconds, so secrets seeded in the second a key was made would read as written before it (a stale
 * destination, which forces a rotation). Real runs write seconds after the key exists; so do tests that need a skip.
 */
async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)));
}

/** A second access key for `user`, made by the admin. */
const addKey = (user: string): Promise<Creds> => addAccessKey(world.moto, world.admin, user);

async function deleteKey(user: string, id: string): Promise<void> {
  await iamClient(world.moto, world.admin).send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: id }));
}

/** Just the pair (the SDK adds bookkeeping fields to a credentials object it used). */
const pairOf = (c: Creds): Creds => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });

async function tagsOf(user: string): Promise<Record<string, string>> {
  const out = await iamClient(world.moto, world.admin).send(new ListUserTagsCommand({ UserName: user }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

describe('self-rotation', () => {
  it('rotates the key the run authenticates with, writes it, and deletes the old one', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user, { path: '/ci/deployers/' });
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repo }, env: { GITHUB_REPOSITORY: repo } });

    expect(result.error).toBeUndefined();
    expect(result.rotated).toBe(true);
    expect(result.userName).toBe(user);
    // The caller's own secret is masked before anything else.
    expect(io.secrets[0]).toBe(old.secretAccessKey);
    const held = heldPair(world.gh, repoScope(repo));
    expect(held?.accessKeyId).toBe(result.newKeyId);
    expect(held?.accessKeyId).not.toBe(old.accessKeyId);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
    expect(await authenticates(world.moto, old)).toBe(false);
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'deleted' }]);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(io.secrets).toContain(held?.secretAccessKey);
    expect(io.text()).not.toContain(held?.secretAccessKey);
    expect(io.text()).toContain(`[1/1] ${repo}: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY`);
  });

  it('writes every environment of every repository, with custom secret names', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repos = [`octo/${fresh('web')}`, `octo/${fresh('web')}`];
    const envs = ['production', 'staging eu'];
    for (const r of repos) world.gh.addRepository(r, { environments: envs });
    const names: [string, string] = ['DEPLOY_KEY_ID', 'DEPLOY_SECRET'];

    const { result } = await runRotation(world, {
      as: old,
      inputs: {
        'iam-user-name': user,
        repositories: repos.join('\n'),
        environments: envs.join(','),
        'access-key-id-secret-name': names[0],
        'secret-access-key-secret-name': names[1],
      },
      // The job's own repository is reached through its environments (names compare without case).
      env: { GITHUB_REPOSITORY: repos[1].toUpperCase() },
    });

    expect(result.error).toBeUndefined();
    for (const r of repos) {
      for (const e of envs) {
        expect(heldPair(world.gh, envScope(r, e), names)?.accessKeyId).toBe(result.newKeyId);
        expect(await holdsWorkingKey(world, envScope(r, e), names)).toBe(true);
      }
      expect(world.gh.secretNames(repoScope(r))).toEqual([]);
    }
    expect(result.destinations).toHaveLength(4);
  });
});

describe("self-rotation: the job's own repository must be among the destinations", () => {
  it.each([
    ['delete', 'deleting'],
    ['deactivate', 'deactivating'],
  ])('previous-key %s: fails before any key exists when GITHUB_REPOSITORY is not written, and changes nothing', async (mode, verb) => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, 'previous-key': mode },
      env: { GITHUB_REPOSITORY: 'octo/elsewhere' },
    });

    expect(result.error?.message).toBe(
      `self-rotation: this job authenticates with ${old.accessKeyId} and reads it from octo/elsewhere, which is not ` +
        'among the destinations (no repository, environment or organization secret this run writes reaches it): after ' +
        `the run, ${verb} ${old.accessKeyId} would leave this job with a dead key. Add octo/elsewhere (or the ` +
        'environment this job uses) to the destinations, or set previous-key: keep. Nothing was changed.',
    );
    expect(result.newKeyId).toBeUndefined();
    expect(result.rotated).toBe(false);
    expect(result.destinations.map((d) => d.outcome)).toEqual(['unchanged']);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
    expect(heldPair(world.gh, repoScope(repo))).toEqual(pairOf(old));
    expect(await tagsOf(user)).toEqual({}); // the lease was given back
  });

  it('previous-key keep: the job keeps a working key, so it may write elsewhere', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);

    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, 'previous-key': 'keep' },
      env: { GITHUB_REPOSITORY: 'octo/elsewhere' },
    });

    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'kept' }]);
    expect(await authenticates(world.moto, old)).toBe(true);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it('a rotator (credentials that are not one of the user\'s keys) is not held to it', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo },
      env: { GITHUB_REPOSITORY: 'octo/elsewhere' },
    });

    expect(result.error).toBeUndefined();
    expect(await authenticates(world.moto, old)).toBe(false);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });
});

describe('rotator managing another user', () => {
  it('bootstraps a user with no keys: gives it its first key', async () => {
    const user = fresh('newbie');
    const dead = await createUserWithKey(world.moto, world.admin, user);
    await deleteKey(user, dead.accessKeyId); // leave the user with no keys at all
    const repo = `octo/${fresh('new')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), dead); // the repository still holds the deleted key

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'max-age-days': '30' },
    });

    expect(result.error).toBeUndefined();
    expect(result.plan).toMatchObject({ action: 'rotate', orphan: undefined, makeRoom: undefined, previous: [] });
    expect(result.plan?.reason).toBe(`IAM user ${user} has no active access key`);
    expect(result.previous).toEqual([]);
    expect(heldPair(world.gh, repoScope(repo))?.accessKeyId).toBe(result.newKeyId);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
  });

  it('names the missing user and the IAM action when the user does not exist', async () => {
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': 'ghost', repositories: 'octo/none' } });
    // The lease (a user tag) is the first request about the user.
    expect(result.error?.message).toMatch(/^iam:ListUserTags on IAM user ghost failed: NoSuchEntity/);
    expect(result.error?.message).toMatch(/create-user: true/);
    expect(result.newKeyId).toBeUndefined();
    expect(world.gh.requests).toHaveLength(0);
  });

  it('refuses a role caller without iam-user-name', async () => {
    const { STSClient } = await import('@aws-sdk/client-sts');
    // A caller whose ARN is not an IAM user: fake the STS answer.
    const sts = new STSClient({ region: 'us-east-1' });
    sts.send = (async () => ({ Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/session', Account: '123456789012' })) as never;
    const { rotate } = await import('../src/rotation/rotate.js');
    const { readInputs } = await import('../src/config/inputs.js');
    const { reader, awsFor, recorder, fakeClock, FAST_PACING } = await import('./support/harness.js');
    const { createGitHubClient } = await import('../src/github/github.js');
    const io = recorder();
    const inputs = readInputs(reader({ repositories: 'octo/x' }), {});
    const result = await rotate({
      inputs,
      aws: { ...awsFor(world.moto, world.admin), sts },
      gh: createGitHubClient('test-token', world.gh.url, FAST_PACING, io, { clock: fakeClock() }),
      clock: fakeClock(),
      io,
      pacing: FAST_PACING,
      pacer: new (await import('../src/github/pacer.js')).WritePacer(fakeClock(), 0),
      lease: (await import('./support/harness.js')).FAST_LEASE,
      run: (await import('../src/config/context.js')).runIdentity({}),
      cancel: new (await import('../src/shared/cancel.js')).Cancellation(),
    });
    expect(result.error?.message).toMatch(/assumed-role\/deployer\/session, not an IAM user: set iam-user-name/);
  });
});

describe('the lease on the IAM user', () => {
  it('is taken before anything changes and given back at the end', async () => {
    const user = fresh('deployer');
    await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    const calls: AwsCall[] = [];

    const { result } = await runRotation(world, {
      as: world.admin,
      clock: fakeClock(Date.parse('2026-11-27T12:00:00Z')),
      inputs: { 'iam-user-name': user, repositories: repo },
      env: { GITHUB_REPOSITORY: 'octo/rotator', GITHUB_RUN_ID: '42' },
      onAwsCall: (c) => calls.push(c),
    });

    expect(result.error).toBeUndefined();
    expect(calls.map((c) => c.command)).toEqual([
      'GetCallerIdentityCommand', // who the credentials are (root is refused)
      'ListUserTagsCommand',
      'TagUserCommand',
      'ListAccessKeysCommand', // read while the lease settles (reads only)
      'ListUserTagsCommand', // read back: of two runs that wrote at once, only the last proceeds
      'ListAccessKeysCommand', // the keys just before the create…
      'TagUserCommand', // …in the create marker, so a rerun knows a key this run made and could not record
      'CreateAccessKeyCommand',
      'TagUserCommand', // provenance of the new key, right after it exists
      'ListAccessKeysCommand', // the new key is still there after the destinations were written
      'TagUserCommand', // …and its handover, once every destination holds it
      'ListAccessKeysCommand', // listed again before the previous key is deleted
      'GetAccessKeyLastUsedCommand', // its last use, kept as evidence: a deleted key's can no longer be read
      'DeleteAccessKeyCommand',
      'UntagUserCommand', // its record (superseded at the handover) goes with it
      'ListAccessKeysCommand', // the keys output: every key at the end, with its last use
      'GetAccessKeyLastUsedCommand',
      'ListUserTagsCommand',
      'UntagUserCommand', // the lease, and the create marker with it
    ]);
    expect(calls.at(-1)?.input.TagKeys).toEqual([LEASE_TAG, 'rotate-aws-access-key:creating']);
    // The run, this process's token, and an expiry an hour ahead in IAM's (moto's) time, not the runner's fake clock.
    const lease = (calls[2].input.Tags as { Key: string; Value: string }[])[0];
    expect(lease.Key).toBe(LEASE_TAG);
    const m = /^run octo\/rotator\/42\/1\+[0-9a-f]{32} until (\S+)$/.exec(lease.Value);
    expect(Math.abs(Date.parse(m?.[1] ?? '') - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    const newId = result.newKeyId as string;
    // Times in the records are IAM's (the key's CreateDate, moto's clock), never the runner's fake clock (2026-11-27).
    // The create marker: this run, IAM's time, and the keys IAM listed just before.
    const marker = (calls[6].input.Tags as { Key: string; Value: string }[])[0];
    expect(marker.Key).toBe('rotate-aws-access-key:creating');
    expect(marker.Value).toMatch(/^by=octo\/rotator\/42\/1 at=\S+Z keys=AKIA\w+$/);
    const recorded = (calls[8].input.Tags as { Key: string; Value: string }[])[0];
    expect(recorded.Key).toBe(newId);
    const created = /^rotate-aws-access-key: created=(\S+) by=octo\/rotator\/42\/1$/.exec(recorded.Value)?.[1] ?? '';
    expect(Math.abs(Date.parse(created) - Date.now())).toBeLessThan(60_000);

    // The lease is gone; the new key keeps its description (the IAM console shows it); the deleted key had none.
    const tags = await tagsOf(user);
    expect(Object.keys(tags)).toEqual([newId]);
    // With GitHub's time of this run's last write (the stand-in answers with a Date header).
    const handover = new RegExp(`^rotate-aws-access-key: created=${created} handover=(\\S+) written=\\S+ by=octo/rotator/42/1$`).exec(tags[newId])?.[1] ?? '';
    expect(Date.parse(handover)).toBeGreaterThanOrEqual(Date.parse(created));
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  // A self-rotation deletes the key it authenticated with: after the handover it signs with the new key, so the lease
  // is still given back (it would otherwise stay an hour and stop the next run on this user).
  it('is given back after a self-rotation that deleted the key the run authenticated with', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);

    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repo } });

    expect(result.error).toBeUndefined();
    expect(await authenticates(world.moto, old)).toBe(false);
    expect(io.warnings).toEqual([]);
    expect(Object.keys(await tagsOf(user))).toEqual([result.newKeyId]);
  });

  it('a caller that may not tag the user is warned and rotates without a lease', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user, {
      policy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['iam:*AccessKey*', 'iam:GetUser', 'sts:GetCallerIdentity'], Resource: '*' }],
      },
    });
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);

    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repo } });

    expect(result.error).toBeUndefined();
    expect(io.warnings).toHaveLength(1);
    expect(io.warnings[0]).toMatch(
      new RegExp(
        `^could not take the lease on IAM user ${user} \\(iam:ListUserTags on IAM user ${user} failed: AccessDenied.*\\): ` +
          'runs on this user from other repositories are not kept apart, and keys are not described\\. Grant iam:ListUserTags, iam:TagUser and ' +
          'iam:UntagUser on the user \\(see the IAM policies\\)\\.$',
      ),
    );
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it("waits for another run's live lease, then stops without changing anything", async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);
    // Another run's lease, live for 30 minutes in IAM's (moto's) time; the runner's clock is a fake one far from it,
    // and changes nothing.
    const holder = 'octo/other/7/1+0123456789abcdef0123456789abcdef';
    const until = new Date(Date.now() + 30 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const clock = fakeClock(Date.parse('2026-11-27T12:00:00Z'));
    await iamClient(world.moto, world.admin).send(
      new TagUserCommand({ UserName: user, Tags: [{ Key: LEASE_TAG, Value: `run ${holder} until ${until}` }] }),
    );

    const { result } = await runRotation(world, { as: old, clock, inputs: { repositories: repo } });

    expect(result.error?.message).toBe(
      `another rotation holds the lease on IAM user ${user} (tag rotate-aws-access-key:lease): run octo/other/7/1, until ` +
        `${until} (IAM time); waited 60 s. Let that run finish, then rerun. If it is gone (crashed or ` +
        `cancelled), its lease expires at ${until}, or clear it now: aws iam untag-user --user-name ${user} --tag-keys ` +
        'rotate-aws-access-key:lease. A concurrency group only serialises runs of one repository. Nothing was changed.',
    );
    expect(clock.now() - Date.parse('2026-11-27T12:00:00Z')).toBe(60_000);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.requests).toEqual([]);
    expect(await tagsOf(user)).toEqual({ [LEASE_TAG]: `run ${holder} until ${until}` }); // not ours to remove
  });
});

describe('dry-run', () => {
  it('reads everything, reports the plan, changes nothing', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const holder = 'octo/other/7/1+0123456789abcdef0123456789abcdef';
    const until = new Date(Date.now() + 30 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const clock = fakeClock(Date.parse('2026-11-27T12:00:00Z'));
    await iamClient(world.moto, world.admin).send(
      new TagUserCommand({ UserName: user, Tags: [{ Key: LEASE_TAG, Value: `run ${holder} until ${until}` }] }),
    );
    const calls: string[] = [];

    const { result, io } = await runRotation(world, {
      as: old,
      clock,
      inputs: { repositories: repo, 'dry-run': 'true' },
      onAwsCall: (c) => calls.push(c.command),
    });

    expect(result.error).toBeUndefined();
    // A dry run reads the lease, says who holds it, and neither waits for it nor takes it.
    // …and reads what earlier runs recorded about the keys, and when each was last used; it writes nothing.
    expect(calls).toEqual([
      'GetCallerIdentityCommand',
      'ListUserTagsCommand',
      'ListAccessKeysCommand',
      'ListUserTagsCommand',
      'GetAccessKeyLastUsedCommand',
    ]);
    expect(io.lines).toContain(
      `IAM user ${user} is leased by run octo/other/7/1 until ${until} (IAM time; tag rotate-aws-access-key:lease): a real ` +
        `run would wait for it. If that run is gone, clear it with: aws iam untag-user --user-name ${user} --tag-keys ` +
        'rotate-aws-access-key:lease',
    );
    expect(clock.slept).toEqual([]);
    expect(result.rotated).toBe(false);
    expect(result.plan?.action).toBe('rotate');
    expect(result.destinations.map((d) => d.outcome)).toEqual(['would write']);
    expect(result.accessKeyId).toBe(old.accessKeyId);
    expect(io.text()).toMatch(/Dry run: would create a new access key .* then delete the previous key\(s\) /);
    expect(world.gh.writes()).toEqual([]);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(heldPair(world.gh, repoScope(repo))).toEqual({ accessKeyId: old.accessKeyId, secretAccessKey: old.secretAccessKey });
  });
});

describe('previous-key', () => {
  it.each([
    ['deactivate', 'Inactive', 'deactivated'],
    ['keep', 'Active', 'kept'],
  ])('%s leaves the previous key %s', async (mode, status, action) => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo, 'previous-key': mode } });

    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([{ id: old.accessKeyId, action }]);
    const keys = await keysOf(world, user);
    expect(keys).toContainEqual({ id: old.accessKeyId, status });
    expect(keys).toContainEqual({ id: result.newKeyId, status: 'Active' });
  });

  it("the keys output keeps a deleted key's last use, read before it was deleted", async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const other = await addKey(user); // deleted to make room first: never used
    await iamClient(world.moto, world.admin).send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: other.accessKeyId, Status: 'Inactive' }));
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo } });

    expect(result.error).toBeUndefined();
    const byId = new Map((result.keys ?? []).map((k) => [k.id, k]));
    expect(byId.get(old.accessKeyId)).toMatchObject({
      status: 'Deleted',
      fate: 'deleted',
      lastUsed: { service: expect.any(String), region: expect.any(String), date: expect.any(String) },
    });
    expect(byId.get(other.accessKeyId)).toMatchObject({ status: 'Deleted', fate: 'deleted to make room', lastUsed: null });
    expect(byId.get(result.newKeyId as string)).toMatchObject({ status: 'Active', fate: 'new' });
  });

  it('deactivate: a previous key that is already Inactive is reported as kept, not deactivated', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    await iamClient(world.moto, world.admin).send(
      new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: old.accessKeyId, Status: 'Inactive' }),
    );
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    const calls: string[] = [];

    const { result } = await runRotation(world, {
      as: world.admin,
      onAwsCall: (c) => void calls.push(c.command),
      inputs: { 'iam-user-name': user, repositories: repo, 'previous-key': 'deactivate' },
    });

    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'kept' }]);
    expect(calls).not.toContain('UpdateAccessKeyCommand');
    expect(await keysOf(world, user)).toEqual(
      expect.arrayContaining([
        { id: old.accessKeyId, status: 'Inactive' },
        { id: result.newKeyId, status: 'Active' },
      ]),
    );
  });

  it('a later run deletes the deactivated key to make room', async () => {
    const user = fresh('deployer');
    const first = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    const one = await runRotation(world, { as: first, inputs: { repositories: repo, 'previous-key': 'deactivate' } });
    expect(one.result.error).toBeUndefined();
    const second = heldPair(world.gh, repoScope(repo));
    if (!second) throw new Error('nothing written');

    const two = await runRotation(world, { as: second, inputs: { repositories: repo, 'previous-key': 'deactivate' } });

    expect(two.result.error).toBeUndefined();
    expect(two.result.previous).toEqual([
      { id: first.accessKeyId, action: 'deleted to make room' },
      { id: second.accessKeyId, action: 'deactivated' },
    ]);
    expect(await keysOf(world, user)).toEqual(
      expect.arrayContaining([
        { id: second.accessKeyId, status: 'Inactive' },
        { id: two.result.newKeyId, status: 'Active' },
      ]),
    );
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });
});

describe('key-limit', () => {
  /** A user with two Active keys, a (older) and b; the repository holds a. */
  async function twoActiveKeys() {
    const user = fresh('deployer');
    const a = await createUserWithKey(world.moto, world.admin, user);
    const b = await addKey(user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), a);
    return { user, a, b, repo };
  }

  it('rotator, delete-inactive: stops before changing anything when both keys are Active, however young', async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'max-age-days': '30' },
    });
    expect(result.error?.message).toContain(
      `IAM user ${user} has two Active access keys (${a.accessKeyId} (Active), ${b.accessKeyId} (Active)) and nothing proves who holds ${a.accessKeyId}`,
    );
    expect(result.error?.message).toContain('or rerun with key-limit: delete-oldest');
    expect(result.error?.message).toMatch(/Nothing was changed\.$/);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([a.accessKeyId, b.accessKeyId].sort());
    expect(world.gh.writes()).toEqual([]);
    expect(heldPair(world.gh, repoScope(repo))).toEqual(pairOf(a));
  });

  it('fail never deletes to make room', async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    const { result } = await runRotation(world, { as: a, inputs: { repositories: repo, 'key-limit': 'fail' } });
    expect(result.error?.message).toBe(
      `IAM user ${user} already has 2 access keys (${a.accessKeyId} (Active), ${b.accessKeyId} (Active)), the IAM ` +
        "limit, and key-limit is 'fail': delete one, or set key-limit: delete-inactive or delete-oldest. Nothing was changed.",
    );
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([a.accessKeyId, b.accessKeyId].sort());
    expect(world.gh.writes()).toEqual([]);
  });

  it('rotator, delete-oldest: deletes the oldest Active key first, then every destination gets the new key', async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'key-limit': 'delete-oldest' },
    });
    expect(result.error).toBeUndefined();
    expect(result.plan).toMatchObject({ makeRoom: { id: a.accessKeyId }, makeRoomBreaks: true, orphan: undefined });
    expect(io.text()).toContain(
      `delete ${a.accessKeyId} (Active) to make room (key-limit: delete-oldest: destinations holding it stop working until rewritten)`,
    );
    expect(io.lines).toContain(
      `Deleted ${a.accessKeyId} (Active) to make room (key-limit: delete-oldest): destinations that held it do not work until this run rewrites them`,
    );
    expect(result.previous).toEqual([
      { id: a.accessKeyId, action: 'deleted to make room' },
      { id: b.accessKeyId, action: 'deleted' },
    ]);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(heldPair(world.gh, repoScope(repo))?.accessKeyId).toBe(result.newKeyId);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it('self-rotation with a second Active key nothing proves: stops before any change, whichever key it authenticates with', async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    const other = `octo/${fresh('api')}`;
    world.gh.addRepository(other);
    seedPair(world.gh, repoScope(other), b);
    for (const [as, key] of [[b, a], [a, b]] as const) {
      const { result } = await runRotation(world, {
        as,
        inputs: { repositories: `${repo},${other}`, 'max-age-days': '30' },
        env: { GITHUB_REPOSITORY: as === b ? other : repo },
      });
      expect(result.error?.message).toContain(`nothing proves who holds ${key.accessKeyId}`);
      expect(result.error?.message).toMatch(/Nothing was changed\.$/);
    }
    expect(world.gh.writes()).toEqual([]);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([a.accessKeyId, b.accessKeyId].sort());
    expect(heldPair(world.gh, repoScope(repo))).toEqual(pairOf(a));
    expect(heldPair(world.gh, repoScope(other))).toEqual(pairOf(b));
  });

  it("self-rotation with key-limit delete-oldest never deletes the run's own key when it is the oldest", async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    seedPair(world.gh, repoScope(repo), b); // the destination holds the OTHER key
    const { result } = await runRotation(world, { as: a, inputs: { repositories: repo, 'key-limit': 'delete-oldest' } });
    expect(result.error?.message).toContain('the oldest key is the one this job authenticates with');
    expect(result.newKeyId).toBeUndefined();
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([a.accessKeyId, b.accessKeyId].sort());
    expect(heldPair(world.gh, repoScope(repo))).toEqual(pairOf(b));
  });
});

describe('max-age-days', () => {
  it('skips a young key when every destination holds both secrets', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    await nextSecond();
    seedPair(world.gh, repoScope(repo), old);

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo, 'max-age-days': '30' } });

    expect(result.error).toBeUndefined();
    expect(result.plan?.action).toBe('skip');
    expect(result.plan?.reason).toBe(`current key ${old.accessKeyId} is 0 day(s) old, younger than max-age-days (30)`);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(result.rotated).toBe(false);
    expect(result.accessKeyId).toBe(old.accessKeyId);
    expect(world.gh.writes()).toEqual([]);
  });

  it("counts a key's age in IAM's time: a runner clock 31 days ahead does not make a new key old", async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    await nextSecond();
    seedPair(world.gh, repoScope(repo), old);

    const { result } = await runRotation(world, {
      as: old,
      clock: fakeClock(Date.now() + 31 * 86_400_000),
      inputs: { repositories: repo, 'max-age-days': '30' },
    });

    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toBe(`current key ${old.accessKeyId} is 0 day(s) old, younger than max-age-days (30)`);
    expect(result.rotated).toBe(false);
    expect(world.gh.writes()).toEqual([]);
  });

  it('a destination written before the current key was created is rewritten, however young the key', async () => {
    const user = fresh('deployer');
    const first = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), first);
    // Someone replaced the key by hand and never updated the repository: it holds a deleted key.
    await nextSecond();
    const current = await addKey(user);
    await deleteKey(user, first.accessKeyId);

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'max-age-days': '30' },
    });

    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toBe(
      `destination(s) hold secrets written before the current key ${current.accessKeyId} was created: ${repo}`,
    );
    expect(result.previous).toEqual([{ id: current.accessKeyId, action: 'deleted' }]);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it('a destination lacking a secret forces a rotation (a new repository joins)', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const [r1, r2] = [`octo/${fresh('api')}`, `octo/${fresh('api')}`];
    world.gh.addRepository(r1);
    world.gh.addRepository(r2);
    seedPair(world.gh, repoScope(r1), old);
    world.gh.setSecret(repoScope(r2), 'AWS_ACCESS_KEY_ID', old.accessKeyId); // only one of the two

    const { result } = await runRotation(world, { as: old, inputs: { repositories: `${r1},${r2}`, 'max-age-days': '30' } });

    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toBe(`destination(s) lack the access key id or the secret access key: ${r2}`);
    expect(await holdsWorkingKey(world, repoScope(r1))).toBe(true);
    expect(await holdsWorkingKey(world, repoScope(r2))).toBe(true);
  });
});
