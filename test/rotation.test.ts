import { describe, expect, it } from '@jest/globals';
import {
  envScope,
  heldPair,
  holdsWorkingKey,
  keysOf,
  repoScope,
  runRotation,
  seedPair,
} from './support/harness.js';
import { useWorld } from './support/world.js';
import { authenticates, createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;

describe('self-rotation', () => {
  it('rotates the key the run authenticates with, writes it, and deletes the old one', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user, { path: '/ci/deployers/' });
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repo } });

    expect(result.error).toBeUndefined();
    expect(result.rotated).toBe(true);
    expect(result.userName).toBe(user);
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

describe('rotator managing another user', () => {
  it('bootstraps a user with no keys: gives it its first key', async () => {
    const user = fresh('newbie');
    await createUserWithKey(world.moto, world.admin, user).then(async (k) => {
      // leave the user with no keys at all
      const { DeleteAccessKeyCommand } = await import('@aws-sdk/client-iam');
      const { iamClient } = await import('./support/moto.js');
      await iamClient(world.moto, world.admin).send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: k.accessKeyId }));
    });
    const repo = `octo/${fresh('new')}`;
    world.gh.addRepository(repo);

    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repo } });

    expect(result.error).toBeUndefined();
    expect(result.plan).toMatchObject({ action: 'rotate', makeRoom: undefined, previous: [] });
    expect(result.plan?.reason).toMatch(/no active access key/);
    expect(result.previous).toEqual([]);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
    expect(await keysOf(world, user)).toHaveLength(1);
  });

  it('names the missing user and the IAM action when the user does not exist', async () => {
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': 'ghost', repositories: 'octo/none' } });
    expect(result.error?.message).toMatch(/iam:ListAccessKeys on IAM user ghost failed: NoSuchEntity/);
    expect(result.error?.message).toMatch(/create-user: true/);
    expect(world.gh.requests).toHaveLength(0);
  });

  it('refuses a role caller without iam-user-name', async () => {
    const { STSClient } = await import('@aws-sdk/client-sts');
    // A caller whose ARN is not an IAM user: fake the STS answer.
    const sts = new STSClient({ region: 'us-east-1' });
    sts.send = (async () => ({ Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/session', Account: '123456789012' })) as never;
    const { rotate } = await import('../src/rotate.js');
    const { readInputs } = await import('../src/inputs.js');
    const { reader, awsFor, recorder, fakeClock, FAST_PACING } = await import('./support/harness.js');
    const { createGitHubClient } = await import('../src/github.js');
    const io = recorder();
    const inputs = readInputs(reader({ repositories: 'octo/x' }), {});
    const result = await rotate({
      inputs,
      aws: { ...awsFor(world.moto, world.admin), sts },
      gh: createGitHubClient('test-token', world.gh.url, FAST_PACING, io),
      clock: fakeClock(),
      io,
      pacing: FAST_PACING,
      pacer: new (await import('../src/pacer.js')).WritePacer(fakeClock(), 0),
      lease: (await import('./support/harness.js')).FAST_LEASE,
      run: (await import('../src/context.js')).runIdentity({}),
      cancel: new (await import('../src/cancel.js')).Cancellation(),
    });
    expect(result.error?.message).toMatch(/assumed-role\/deployer\/session, not an IAM user: set iam-user-name/);
  });
});

describe('dry-run', () => {
  it('reads everything, reports the plan, changes nothing', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repo, 'dry-run': 'true' } });

    expect(result.error).toBeUndefined();
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
  async function twoActiveKeys() {
    const user = fresh('deployer');
    const a = await createUserWithKey(world.moto, world.admin, user);
    const { CreateAccessKeyCommand } = await import('@aws-sdk/client-iam');
    const { iamClient } = await import('./support/moto.js');
    const out = await iamClient(world.moto, world.admin).send(new CreateAccessKeyCommand({ UserName: user }));
    const b = { accessKeyId: out.AccessKey?.AccessKeyId ?? '', secretAccessKey: out.AccessKey?.SecretAccessKey ?? '' };
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), a);
    return { user, a, b, repo };
  }

  it('delete-inactive stops before changing anything when both keys are Active', async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    const { result } = await runRotation(world, { as: a, inputs: { repositories: repo } });
    expect(result.error?.message).toMatch(/already has 2 Active access keys .*key-limit: delete-oldest.*Nothing was changed/);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([a.accessKeyId, b.accessKeyId].sort());
    expect(world.gh.writes()).toEqual([]);
  });

  it('fail never deletes to make room', async () => {
    const { a, repo } = await twoActiveKeys();
    const { result } = await runRotation(world, { as: a, inputs: { repositories: repo, 'key-limit': 'fail' } });
    expect(result.error?.message).toMatch(/key-limit is 'fail'/);
    expect(world.gh.writes()).toEqual([]);
  });

  it("delete-oldest deletes the oldest key that is not the run's own", async () => {
    const { user, a, b, repo } = await twoActiveKeys();
    // The run authenticates with the NEWER key b, so the oldest (a) goes.
    seedPair(world.gh, repoScope(repo), b);
    const { result } = await runRotation(world, { as: b, inputs: { repositories: repo, 'key-limit': 'delete-oldest' } });
    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([
      { id: a.accessKeyId, action: 'deleted to make room' },
      { id: b.accessKeyId, action: 'deleted' },
    ]);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it("delete-oldest spares the run's own key even when it is the oldest", async () => {
    const { a, b, repo } = await twoActiveKeys();
    const { result } = await runRotation(world, { as: a, inputs: { repositories: repo, 'key-limit': 'delete-oldest' } });
    expect(result.error).toBeUndefined();
    expect(result.previous[0]).toEqual({ id: b.accessKeyId, action: 'deleted to make room' });
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });
});

describe('max-age-days', () => {
  it('skips a young key when every destination holds both secrets', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo, 'max-age-days': '30' } });

    expect(result.error).toBeUndefined();
    expect(result.plan?.action).toBe('skip');
    expect(result.rotated).toBe(false);
    expect(result.accessKeyId).toBe(old.accessKeyId);
    expect(world.gh.writes()).toEqual([]);
  });

  it('rotates an old key', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);
    const { fakeClock } = await import('./support/harness.js');

    const { result } = await runRotation(world, {
      as: old,
      clock: fakeClock(Date.now() + 31 * 86_400_000),
      inputs: { repositories: repo, 'max-age-days': '30' },
    });

    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toMatch(/31 day\(s\) old/);
    expect(result.rotated).toBe(true);
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
    expect(result.plan?.reason).toBe(`destination(s) lack the secrets: ${r2}`);
    expect(await holdsWorkingKey(world, repoScope(r1))).toBe(true);
    expect(await holdsWorkingKey(world, repoScope(r2))).toBe(true);
  });
});
