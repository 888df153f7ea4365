import { describe, expect, it } from '@jest/globals';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import {
  FAST_LEASE,
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
import { type Creds, SELF_ROTATION_POLICY, authenticates, createUserWithKey, iamClient, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;

/** Just the pair (the SDK adds bookkeeping fields to a credentials object it used). */
const pairOf = (c: Creds): Creds => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });

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
      new RegExp(`reading the public key of ${repos[1]}: 403 .*GitHub accepts the permission\\(s\\) 'secrets=read'.*GITHUB_TOKEN: it cannot write secrets`),
    );
    expect(result.newKeyId).toBeUndefined();
  });

  it('several failing destinations are all named in one line', async () => {
    const { old, repos } = await setup(3);
    world.gh.addFault(notFound({ path: /public-key/, skip: 1 }));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });
    expect(result.error?.message).toMatch(/^preflight failed for 2 of 3 destinations: .*\. Nothing was changed\.$/);
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
    // The lease settles (written, then read back), then verification backs off: 250 × 1.5^n, × jitter 0.75.
    expect(clock.slept).toEqual([FAST_LEASE.settleMs, 188, 281, 422]);
    expect(io.text()).toMatch(/attempt 3: not yet \(SignatureDoesNotMatch/);
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
  });

  it('a key that never works is deleted, nothing is written, the old key still works', async () => {
    const { user, old, repos } = await setup(1);
    const stsFor = (c: { accessKeyId: string; secretAccessKey: string }) =>
      new STSClient({ region: 'us-east-1', endpoint: world.moto.endpoint, credentials: { ...c, secretAccessKey: 'wrong' }, maxAttempts: 1 });
    const clock = fakeClock(Date.now());
    const { result } = await runRotation(world, { as: old, clock, stsFor, inputs: { repositories: repos[0], 'verify-timeout-seconds': '10' } });
    const newId = result.newKeyId as string;
    expect(newId).toMatch(/^AKIA/);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^the new access key ${newId} of IAM user ${user} did not authenticate within 10 s \\(last answer: SignatureDoesNotMatch: .*\\): ` +
          `raise verify-timeout-seconds .*\\. No destination was given the new key ${newId}\\. Deleted the new key ${newId}\\.$`,
      ),
    );
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
    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to ${repos[1]}: 500 .*\\. Deleted the new key ${newId}\\. ` +
          `Destinations: ${repos[0]}, ${repos[1]}: put back to ${old.accessKeyId}; ${repos[2]}: not changed \\(${old.accessKeyId}\\)\\.$`,
      ),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual(['restored', 'restored', 'unchanged']);
    expect(result.destinations.map((d) => d.keyId)).toEqual([old.accessKeyId, old.accessKeyId, old.accessKeyId]);
    for (const r of repos) {
      expect(heldPair(world.gh, repoScope(r))).toEqual({ accessKeyId: old.accessKeyId, secretAccessKey: old.secretAccessKey });
      expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    }
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('another user, failure between the two writes of a destination: its key id is put back', async () => {
    const { user, old, repos } = await setup(3);
    world.gh.addFault(serverError({ method: 'PUT', path: new RegExp(`${repos[1]}/actions/secrets/AWS_SECRET_ACCESS_KEY`) }));
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos.join(',') } });
    const newId = result.newKeyId as string;
    expect(result.destinations.map((d) => d.outcome)).toEqual(['written', 'restored', 'unchanged']);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to ${repos[1]}: 500 .*\\. Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)\\. ` +
          `Destinations: ${repos[0]}: the new key ${newId}; ${repos[1]}: put back to ${old.accessKeyId}; ` +
          `${repos[2]}: not changed \\(${old.accessKeyId}\\)\\. Fix the cause, then rerun once this run has ended .*: it ` +
          `deletes ${newId} as this run's orphan .* and rotates\\.$`,
      ),
    );
    expect(heldPair(world.gh, repoScope(repos[0]))?.accessKeyId).toBe(newId);
    for (const r of repos.slice(1)) expect(heldPair(world.gh, repoScope(r))).toEqual(pairOf(old));
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });

  it('a total GitHub outage mid-destination is reported as a mismatched pair, and a default rerun repairs it', async () => {
    const { user, old, repos } = await setup(2);
    world.gh.addFault(serverError({ method: 'PUT', skip: 1 }));
    const runEnv = (id: string) => ({ GITHUB_REPOSITORY: repos[0], GITHUB_RUN_ID: id, GITHUB_RUN_ATTEMPT: '1' });
    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') }, env: runEnv('7001') });
    const newId = result.newKeyId as string;
    expect(result.destinations.map((d) => d.outcome)).toEqual(['mismatched', 'unchanged']);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to ${repos[0]}: 500 .*\\. Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)\\. ` +
          `Destinations: ${repos[0]}: MISMATCHED pair \\(one secret written, the other not\\): does not work until a run ` +
          `rewrites it; ${repos[1]}: not changed \\(${old.accessKeyId}\\)\\. Fix the cause and rerun, once this run has ended .*: a ` +
          `self-rotation that signs in with ${newId} .* gives it to every destination and retires ${old.accessKeyId}; one that signs ` +
          `in with ${old.accessKeyId} gives ${old.accessKeyId} to every destination that may hold ${newId}, deletes ${newId} as this run's orphan and rotates\\.$`,
      ),
    );
    // Putting the key id back failed too (GitHub is down): said as a warning, and the truth is reported.
    expect(io.warnings.join('\n')).toMatch(new RegExp(`could not put ${repos[0]} back \\(restore id\\): writing AWS_ACCESS_KEY_ID`));
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual({ accessKeyId: newId, secretAccessKey: old.secretAccessKey });
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(false);
    expect(await holdsWorkingKey(world, repoScope(repos[1]))).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort()); // both keys kept

    world.gh.clearFaults();
    world.gh.completeEveryRun(); // the failed run has ended: GitHub says so, which proves its key an orphan
    const rerun = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') }, env: runEnv('7002') });
    expect(rerun.result.error).toBeUndefined();
    expect(rerun.result.previous).toEqual([
      { id: newId, action: 'deleted as an orphan' },
      { id: old.accessKeyId, action: 'deleted' },
    ]);
    expect(await keysOf(world, user)).toEqual([{ id: rerun.result.newKeyId, status: 'Active' }]);
    for (const r of repos) {
      expect(heldPair(world.gh, repoScope(r))?.accessKeyId).toBe(rerun.result.newKeyId);
      expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    }
  });

  it('another user: keeps both keys and says who holds which; a default rerun converges, deleting the orphan its own destinations hold first', async () => {
    const { user, old, repos } = await setup(3);
    world.gh.addFault(forbidden({ method: 'PUT', path: new RegExp(repos[2]) }));
    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos.join(',') },
      env: { GITHUB_REPOSITORY: 'octo/rotator', GITHUB_RUN_ID: '7101', GITHUB_RUN_ATTEMPT: '1' },
    });
    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_ACCESS_KEY_ID to ${repos[2]}: 403 .*\\. Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)\\. ` +
          `Destinations: ${repos[0]}, ${repos[1]}: the new key ${newId}; ${repos[2]}: not changed \\(${old.accessKeyId}\\)\\. ` +
          'Fix the cause, then rerun .*$',
      ),
    );
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['written', newId],
      ['written', newId],
      ['unchanged', old.accessKeyId],
    ]);
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());

    world.gh.clearFaults();
    world.gh.completeEveryRun(); // the failed run has ended: its key may be retired once replaced
    const rerun = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos.join(',') },
      env: { GITHUB_REPOSITORY: 'octo/rotator', GITHUB_RUN_ID: '7102', GITHUB_RUN_ATTEMPT: '1' },
    });
    expect(rerun.result.error).toBeUndefined();
    // The failed run's orphan goes first (only this run's destinations may hold it, and it rewrites them at once), the
    // old key once every destination holds the new one.
    expect(rerun.result.previous).toEqual([
      { id: newId, action: 'deleted as an orphan' },
      { id: old.accessKeyId, action: 'deleted' },
    ]);
    expect(await keysOf(world, user)).toEqual([{ id: rerun.result.newKeyId, status: 'Active' }]);
    for (const r of repos) {
      expect(heldPair(world.gh, repoScope(r))?.accessKeyId).toBe(rerun.result.newKeyId);
      expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
    }
  });

  it('self-rotation: a destination that held nothing before has what the run wrote removed again', async () => {
    const { user, old, repos } = await setup(1);
    const empty = `octo/${fresh('svc')}`; // joins now: holds neither secret
    const last = `octo/${fresh('svc')}`;
    world.gh.addRepository(empty);
    world.gh.addRepository(last);
    seedPair(world.gh, repoScope(last), old);
    world.gh.addFault(forbidden({ method: 'PUT', path: new RegExp(`${last}/actions/secrets/`) }));
    const all = [repos[0], empty, last];

    const { result } = await runRotation(world, { as: old, inputs: { repositories: all.join(',') } });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_ACCESS_KEY_ID to ${last}: 403 .*\\. Deleted the new key ${newId}\\. Destinations: ${repos[0]}: put back to ` +
          `${old.accessKeyId}; ${empty}: held no secrets before; what the run wrote was removed; ${last}: not changed ` +
          `\\(${old.accessKeyId}\\)\\.$`,
      ),
    );
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['restored', old.accessKeyId],
      ['removed', undefined],
      ['unchanged', old.accessKeyId],
    ]);
    expect(world.gh.secretNames(repoScope(empty))).toEqual([]);
    for (const r of [repos[0], last]) expect(heldPair(world.gh, repoScope(r))).toEqual(pairOf(old));
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('nothing written: the new key is deleted and the old one kept', async () => {
    const { user, old, repos } = await setup(2);
    world.gh.addFault(forbidden({ method: 'PUT' }));
    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos.join(',') } });
    const newId = result.newKeyId as string;
    expect(newId).toMatch(/^AKIA/);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_ACCESS_KEY_ID to ${repos[0]}: 403 .*\\. No destination was given the new key ${newId}\\. Deleted the new key ${newId}\\.$`,
      ),
    );
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['unchanged', old.accessKeyId],
      ['unchanged', old.accessKeyId],
    ]);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });
});

describe('someone else at work on the same user', () => {
  it('a key made between listing and CreateAccessKey: not retried, reported, never deleted', async () => {
    const { user, old, repos } = await setup(1);
    let intruder: Creds | undefined;
    world.gh.onRequest(async (req) => {
      if (intruder || !req.path.endsWith('/public-key')) return;
      const out = await iamClient(world.moto, world.admin).send(new CreateAccessKeyCommand({ UserName: user }));
      intruder = { accessKeyId: out.AccessKey?.AccessKeyId ?? '', secretAccessKey: out.AccessKey?.SecretAccessKey ?? '' };
    });
    const calls: string[] = [];

    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repos[0] },
      onAwsCall: (c) => calls.push(c.command),
    });

    const other = (intruder as Creds).accessKeyId;
    expect(result.error?.message).toBe(
      `iam:CreateAccessKey on IAM user ${user} failed: LimitExceeded: the user already has two access keys, so a key was ` +
        'made after this run listed them: another rotation or a person is at work. ' +
        `Key(s) ${other} appeared during this run and were left alone (another rotation or a person is at work; this run ` +
        'cannot prove they are its own): if no other rotation is running, delete them by hand. Nothing was changed.',
    );
    expect(calls.filter((c) => c === 'CreateAccessKeyCommand')).toHaveLength(1);
    expect(calls).not.toContain('DeleteAccessKeyCommand');
    expect(result.newKeyId).toBeUndefined();
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([old.accessKeyId, other].sort());
    expect(world.gh.writes()).toEqual([]);
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual(pairOf(old));
  });

  it('a key gone before the run deletes it to make room: nothing is retired, nothing changes', async () => {
    const { user, old, repos } = await setup(1);
    const iam = iamClient(world.moto, world.admin);
    const spare = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey?.AccessKeyId ?? '';
    await iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: spare, Status: 'Inactive' }));
    let done = false;
    world.gh.onRequest(async (req) => {
      if (done || !req.path.endsWith('/public-key')) return;
      done = true;
      await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: spare }));
    });

    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos[0] } });

    expect(result.plan).toMatchObject({ makeRoom: { id: spare } });
    expect(result.error?.message).toMatch(
      new RegExp(
        `^${spare} was not deleted \\(consent: key-limit delete-inactive\\): IAM no longer lists ${spare} .*\\. Someone else ` +
          `deleted it: rerun, which plans again on the keys as they are\\. Destinations: ${repos[0]}: not changed \\(${old.accessKeyId}\\)\\. Nothing was changed\\.$`,
      ),
    );
    expect(result.newKeyId).toBeUndefined();
    expect(result.previous).toEqual([]);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
  });

  it('a key replaced by someone else before the run makes room: both changes are named, nothing changes', async () => {
    const { user, old, repos } = await setup(1);
    const iam = iamClient(world.moto, world.admin);
    const spare = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey?.AccessKeyId ?? '';
    await iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: spare, Status: 'Inactive' }));
    let made = '';
    world.gh.onRequest(async (req) => {
      if (made || !req.path.endsWith('/public-key')) return;
      made = 'pending';
      await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: spare }));
      made = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey?.AccessKeyId ?? '';
    });

    const { result } = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: repos[0] } });

    expect(result.error?.message).toMatch(
      new RegExp(
        `^${spare} was not deleted \\(consent: key-limit delete-inactive\\): IAM no longer lists ${spare} .*\\. ` +
          `Destinations: ${repos[0]}: not changed \\(${old.accessKeyId}\\)\\. Nothing was changed\\.$`,
      ),
    );
    expect(result.newKeyId).toBeUndefined();
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([old.accessKeyId, made].sort());
  });

  it('a self-rotation with a second Active key made by someone else: stops before any change, naming the key', async () => {
    const { user, old, repos } = await setup(1);
    const iam = iamClient(world.moto, world.admin);
    const other = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey?.AccessKeyId ?? '';

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos[0] } });

    expect(result.error?.message).toContain(`nothing proves who holds ${other}`);
    expect(result.error?.message).toMatch(/Nothing was changed\.$/);
    expect(result.newKeyId).toBeUndefined();
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([old.accessKeyId, other].sort());
    expect(world.gh.writes()).toEqual([]);
  });

  // Issue 24 (world 4): the previous key deleted by someone while the destinations were written: nothing to put back or
  // to retire, and every destination holds the verified new key: the run goes on with it, and says who deleted what.
  it('the previous key deleted while the destinations were written: the new key is handed over, the run says so', async () => {
    const { user, old, repos } = await setup(2);
    world.gh.onRequest(async (req) => {
      if (req.method !== 'PUT' || req.path !== `/repos/${repos[1]}/actions/secrets/AWS_SECRET_ACCESS_KEY`) return;
      await iamClient(world.moto, world.admin).send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: old.accessKeyId }));
    });
    const calls: string[] = [];

    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos.join(','), 'previous-key': 'deactivate' },
      onAwsCall: (c) => calls.push(c.command),
    });

    const newId = result.newKeyId as string;
    expect(result.error).toBeUndefined();
    expect(io.warnings).toContainEqual(
      `${old.accessKeyId} was deleted by someone else during this run: every destination now holds ${newId}, which works, so this run goes on with it`,
    );
    expect(result.rotated).toBe(true);
    expect(result.previous).toEqual([]);
    expect(calls).not.toContain('UpdateAccessKeyCommand');
    expect(await keysOf(world, user)).toEqual([{ id: newId, status: 'Active' }]);
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
  });
});

describe('retiring the previous key fails', () => {
  it('every destination holds the new key: the error says the old key still works and what to do', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user, {
      policy: {
        Version: '2012-10-17',
        Statement: [...SELF_ROTATION_POLICY.Statement, { Effect: 'Deny', Action: 'iam:DeleteAccessKey', Resource: '*' }],
      },
    });
    const repos = [`octo/${fresh('svc')}`, `octo/${fresh('svc')}`];
    for (const r of repos) world.gh.addRepository(r);

    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos.join(',') } });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^Every destination holds the new key ${newId}, but retiring the previous key failed: ${old.accessKeyId}: ` +
          `iam:DeleteAccessKey on access key ${old.accessKeyId} of IAM user ${user} failed: AccessDenied: .*\\. Nothing ` +
          'needs it any more and it still works\\. Its handover is recorded in IAM, so a rerun \\(once the cause is fixed\\) ' +
          `deletes it: signing in with ${newId}, it gives every destination ${newId} again first; or delete it by hand once you have checked its last use\\. ` +
          `Destinations: ${repos[0]}, ${repos[1]}: ` +
          `the new key ${newId}\\.$`,
      ),
    );
    expect(result.rotated).toBe(true);
    expect(result.accessKeyId).toBe(newId);
    expect(result.destinations.map((d) => d.outcome)).toEqual(['written', 'written']);
    expect(result.previous).toEqual([]);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
    expect(await authenticates(world.moto, old)).toBe(true);
    for (const r of repos) expect(await holdsWorkingKey(world, repoScope(r))).toBe(true);
  });

  it('the keys are listed again only before a key is deleted or deactivated, not when every key is kept', async () => {
    const lists = async (previousKey: string) => {
      const { repos, user } = await setup(1);
      let n = 0;
      const { result } = await runRotation(world, {
        as: world.admin,
        inputs: { 'iam-user-name': user, repositories: repos[0], 'previous-key': previousKey },
        onAwsCall: (c) => void (c.command === 'ListAccessKeysCommand' && n++),
      });
      expect(result.error).toBeUndefined();
      return n;
    };
    const [kept, deactivated, deleted] = [await lists('keep'), await lists('deactivate'), await lists('delete')];
    expect(deactivated).toBe(kept + 1);
    expect(deleted).toBe(kept + 1);
  });

  it('rotator, deactivate: the error says to deactivate it by hand or converge with delete-oldest', async () => {
    const { user, old, repos } = await setup(1);
    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos[0], 'previous-key': 'deactivate' },
      onAwsCall: (c) => {
        if (c.command === 'UpdateAccessKeyCommand') {
          throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
        }
      },
    });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^Every destination holds the new key ${newId}, but retiring the previous key failed: ${old.accessKeyId}: ` +
          `iam:UpdateAccessKey on access key ${old.accessKeyId} of IAM user ${user} failed: .*Rate exceeded.*\\. Nothing needs it ` +
          'any more and it still works\\. Its handover is recorded in IAM, so a rerun \\(once the cause is fixed\\) ' +
          'deactivates it if nothing has used it since \\(a use moments after the handover may not show yet in IAM, so it is not deleted then\\), ' +
          'and a later run deletes it to make room; or deactivate it by hand once you have checked its last use\\. ' +
          `Destinations: ${repos[0]}: the new key ${newId}\\.$`,
      ),
    );
    expect(await keysOf(world, user)).toEqual(
      expect.arrayContaining([
        { id: old.accessKeyId, status: 'Active' },
        { id: newId, status: 'Active' },
      ]),
    );
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
    expect(io.warnings.join('\n')).toMatch(
      /GitHub secondary rate limit on PUT \/repos\/octo\/svc\d+\/actions\/secrets\/AWS_\w+: waiting 2 s \(rate-limit budget left: 900 s\)/,
    );
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

  it('a 429 is a rate limit: waited out once for its retry-after, not retried by the retry plugin', async () => {
    const { old, repos } = await setup(1);
    world.gh.addFault({
      method: 'PUT',
      path: /AWS_ACCESS_KEY_ID$/,
      times: 1,
      status: 429,
      body: { message: 'Too Many Requests' },
      headers: { 'retry-after': '1' },
    });
    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repos[0] } });
    expect(result.error).toBeUndefined();
    expect(world.gh.writes().map((w) => [w.path.split('/').at(-1), w.status])).toEqual([
      ['AWS_ACCESS_KEY_ID', 429],
      ['AWS_ACCESS_KEY_ID', 204],
      ['AWS_SECRET_ACCESS_KEY', 204],
    ]);
    expect(io.warnings.join('\n')).toContain(
      `GitHub secondary rate limit on PUT /repos/${repos[0]}/actions/secrets/AWS_ACCESS_KEY_ID: waiting 1 s (rate-limit budget left: 900 s)`,
    );
    expect(await holdsWorkingKey(world, repoScope(repos[0]))).toBe(true);
  });

  it('a retry-after longer than the run waits at most fails at once as a rate limit, not a permission problem', async () => {
    const { user, old, repos } = await setup(1);
    world.gh.addFault(secondaryRateLimit({ path: /public-key$/ }, 400));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repos[0] } });
    expect(result.error?.message).toMatch(
      new RegExp(
        `^reading the public key of ${repos[0]}: 403 .*secondary rate limit.*\\. GitHub secondary rate limit, not a permission ` +
          'problem: retry-after 400 s is longer than the 300 s the run waits at most; rerun later \\(spread runs out, or use a ' +
          'token with its own rate limit, such as a GitHub App token\\)\\. Nothing was changed\\.$',
      ),
    );
    expect(result.error?.message).not.toMatch(/token needs|GITHUB_TOKEN/);
    expect(world.gh.requests.filter((r) => r.path.endsWith('/public-key'))).toHaveLength(1);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
  });

  it("rate-limit waits stop at the run's budget: the new key is deleted, nothing changed", async () => {
    const { user, old, repos } = await setup(1);
    world.gh.addFault(secondaryRateLimit({ method: 'PUT' }, 3));
    const { result, io } = await runRotation(world, {
      as: old,
      pacing: { rateLimitBudgetSeconds: 5 },
      inputs: { repositories: repos[0] },
    });
    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_ACCESS_KEY_ID to ${repos[0]}: 403 .*\\. GitHub secondary rate limit, not a permission problem: the ` +
          "run's rate-limit budget is spent \\(waited 3 of 5 s; 3 s more asked\\); rerun later .*\\. No destination was " +
          `given the new key ${newId}\\. Deleted the new key ${newId}\\.$`,
      ),
    );
    expect(io.warnings.filter((w) => w.includes('waiting 3 s'))).toHaveLength(1);
    expect(world.gh.writes()).toHaveLength(2); // the first try and one after the only wait the budget allowed
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(heldPair(world.gh, repoScope(repos[0]))).toEqual(pairOf(old));
  });
});
