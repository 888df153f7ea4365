/** Bootstrap: create the deploy user for a new repository, and hand fresh credentials to later steps. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateGroupCommand,
  CreatePolicyCommand,
  GetUserCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
} from '@aws-sdk/client-iam';
import { heldPair, holdsWorkingKey, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { useWorld } from './support/world.js';
import { serverError } from './support/github-standin.js';
import { authenticates, createUserWithKey, iamClient, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;
let groupName: string;
let policyArn: string;
let boundaryArn: string;
beforeAll(async () => {
  const iam = iamClient(world.moto, world.admin);
  groupName = 'deployers';
  await iam.send(new CreateGroupCommand({ GroupName: groupName }));
  const doc = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
  policyArn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'deploy', PolicyDocument: doc }))).Policy?.Arn ?? '';
  boundaryArn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'boundary', PolicyDocument: doc }))).Policy?.Arn ?? '';
});

async function userState(user: string) {
  const iam = iamClient(world.moto, world.admin);
  const u = (await iam.send(new GetUserCommand({ UserName: user }))).User;
  const groups = (await iam.send(new ListGroupsForUserCommand({ UserName: user }))).Groups ?? [];
  const policies = (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: user }))).AttachedPolicies ?? [];
  return { path: u?.Path, tags: u?.Tags, groups: groups.map((g) => g.GroupName), policies: policies.map((p) => p.PolicyArn) };
}

async function exists(user: string): Promise<boolean> {
  try {
    await iamClient(world.moto, world.admin).send(new GetUserCommand({ UserName: user }));
    return true;
  } catch {
    return false;
  }
}

describe('create-user', () => {
  it('creates the user with path, groups, policies, boundary and tags, gives it a key, and exports it', async () => {
    const user = fresh('app-deployer');
    const repo = `octo/${fresh('newapp')}`;
    world.gh.addRepository(repo);
    const calls: string[] = [];
    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: {
        'iam-user-name': user,
        repositories: repo,
        'create-user': 'true',
        'user-path': '/ci/deployers/',
        'user-groups': groupName,
        'user-policy-arns': policyArn,
        'user-permissions-boundary': boundaryArn,
        'user-tags': 'team=platform\nrepo=newapp',
        'export-credentials': 'true',
      },
      env: { GITHUB_ENV: '/runner/env' },
      onAwsCall: (c) => calls.push(c.command),
    });
    expect(result.error).toBeUndefined();
    expect(result.userCreated).toBe(true);
    // The lease is taken right after the user exists, before its first key; given back at the end (tags below).
    expect(calls).toEqual([
      'GetCallerIdentityCommand', // who the credentials are (root is refused)
      'GetUserCommand',
      'CreateUserCommand',
      'AddUserToGroupCommand',
      'AttachUserPolicyCommand',
      'ListUserTagsCommand',
      'TagUserCommand',
      'ListUserTagsCommand',
      'ListAccessKeysCommand', // the keys just before the create, in the create marker
      'TagUserCommand',
      'CreateAccessKeyCommand',
      'TagUserCommand', // the new key's provenance
      'ListAccessKeysCommand', // the new key is still there after the destinations were written
      'TagUserCommand', // and its handover
      'ListAccessKeysCommand', // the keys output
      'GetAccessKeyLastUsedCommand',
      'ListUserTagsCommand',
      'UntagUserCommand',
    ]);
    expect(await userState(user)).toEqual({
      path: '/ci/deployers/',
      tags: [
        { Key: 'team', Value: 'platform' },
        { Key: 'repo', Value: 'newapp' },
        {
          Key: result.newKeyId,
          Value: expect.stringMatching(/^rotate-aws-access-key: created=\S+Z handover=\S+Z written=\S+Z by=local$/),
        },
      ],
      groups: [groupName],
      policies: [policyArn],
    });
    const held = heldPair(world.gh, repoScope(repo));
    expect(held?.accessKeyId).toBe(result.newKeyId);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
    expect(io.exported).toEqual({
      AWS_ACCESS_KEY_ID: held?.accessKeyId,
      AWS_SECRET_ACCESS_KEY: held?.secretAccessKey,
      AWS_SESSION_TOKEN: '',
    });
    expect(io.secrets).toContain(held?.secretAccessKey);
    expect(io.text()).not.toContain(held?.secretAccessKey);
  });

  it('if-missing leaves an existing user as it is, says how it differs, and rotates its key', async () => {
    const user = fresh('existing');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'if-missing', 'user-groups': groupName, 'user-path': '/x/' },
    });
    expect(result.error).toBeUndefined();
    expect(result.userCreated).toBe(false);
    expect(io.lines).toContain(`IAM user ${user} exists: create-user: if-missing leaves its settings as they are`);
    expect(io.warnings).toEqual([
      `IAM user ${user} already exists and differs from the inputs (not changed): path is /, not /x/; not in group(s) ${groupName}`,
    ]);
    // Settings untouched; the only tag is the new key's description.
    expect(await userState(user)).toEqual({
      path: '/',
      tags: [{ Key: result.newKeyId, Value: expect.stringMatching(/^rotate-aws-access-key: created=\S+ handover=\S+ written=\S+ by=local$/) }],
      groups: [],
      policies: [],
    });
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'deleted' }]);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
  });

  it('true never takes over an existing user: it fails before any change', async () => {
    const user = fresh('taken');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const calls: string[] = [];
    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true', 'user-groups': groupName },
      onAwsCall: (c) => calls.push(c.command),
    });
    expect(result.error?.message).toBe(
      `IAM user ${user} already exists and create-user is true: a bootstrap never takes over an existing user. Choose a ` +
        "new iam-user-name, or set create-user: if-missing to rotate the existing user's key. Nothing was changed.",
    );
    expect(calls).toEqual(['GetCallerIdentityCommand', 'GetUserCommand']);
    expect(result.userCreated).toBe(false);
    expect(result.newKeyId).toBeUndefined();
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(await userState(user)).toEqual({ path: '/', tags: undefined, groups: [], policies: [] });
    expect(world.gh.requests).toEqual([]);
    expect(world.gh.secretNames(repoScope(repo))).toEqual([]);
  });

  it('a caller without iam:CreateUser fails clearly before any key exists', async () => {
    const caller = await createUserWithKey(world.moto, world.admin, fresh('weak'), {
      policy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['iam:GetUser', 'iam:ListAccessKeys', 'iam:CreateAccessKey'], Resource: '*' }],
      },
    });
    const user = fresh('never');
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const { result } = await runRotation(world, {
      as: caller,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true' },
    });
    expect(result.error?.message).toMatch(new RegExp(`iam:CreateUser on IAM user ${user} failed: AccessDenied.*the AWS credentials need iam:CreateUser`));
    expect(result.newKeyId).toBeUndefined();
    expect(await exists(user)).toBe(false);
    expect(world.gh.writes()).toEqual([]);
  });

  it('a failure part-way through creating the user undoes it and says so', async () => {
    const user = fresh('half');
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true', 'user-groups': `${groupName},no-such-group` },
    });
    expect(result.error?.message).toMatch(/iam:AddUserToGroup on group no-such-group failed: NoSuchEntity.*The created user .* was deleted again: IAM is as before/);
    expect(await exists(user)).toBe(false);
  });

  it('a failed first rotation of a created user removes the key and the user again', async () => {
    const user = fresh('firstfail');
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    world.gh.addFault(serverError({ method: 'PUT' }));
    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true', 'user-groups': groupName },
    });
    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_ACCESS_KEY_ID to ${repo}: 500 .*\\. No destination was given the new key ${newId}\\. Deleted the new ` +
          `key ${newId}\\. The created user ${user} was deleted again: IAM is as before\\.$`,
      ),
    );
    expect(result.userCreated).toBe(false);
    expect(await exists(user)).toBe(false);
    expect(world.gh.secretNames(repoScope(repo))).toEqual([]);
    // The lease tag went with the user: nothing to give back, nothing to warn about.
    expect(io.warnings).toEqual([]);
  });

  it('a failure between the two secrets of a new user: what was written is removed, then the key and the user', async () => {
    const user = fresh('halfpair');
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    world.gh.addFault(serverError({ method: 'PUT', path: `/repos/${repo}/actions/secrets/AWS_SECRET_ACCESS_KEY` }));

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true' },
    });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to ${repo}: 500 .*\\. Deleted the new key ${newId}\\. The created user ${user} was ` +
          `deleted again: IAM is as before\\. Destinations: ${repo}: held no secrets before; what the run wrote was removed\\.$`,
      ),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual(['removed']);
    expect(world.gh.secretNames(repoScope(repo))).toEqual([]);
    expect(await exists(user)).toBe(false);
  });

  it('dry-run says it would create the user and creates nothing', async () => {
    const user = fresh('dry');
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const { result, io } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repo, 'create-user': 'true', 'dry-run': 'true' },
    });
    expect(result.error).toBeUndefined();
    expect(io.text()).toMatch(new RegExp(`Dry run: would create IAM user ${user}, then create a new access key`));
    expect(await exists(user)).toBe(false);
  });
});

describe('export-credentials', () => {
  it('self-rotation exports the new pair so later steps keep working after the old key is gone', async () => {
    const user = fresh('self');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const { result, io } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, 'export-credentials': 'true' },
      env: { GITHUB_ENV: '/runner/env', GITHUB_REPOSITORY: repo },
    });
    expect(result.error).toBeUndefined();
    expect(await authenticates(world.moto, old)).toBe(false);
    const exported = { accessKeyId: io.exported.AWS_ACCESS_KEY_ID, secretAccessKey: io.exported.AWS_SECRET_ACCESS_KEY };
    expect(await authenticates(world.moto, exported)).toBe(true);
    expect(await keysOf(world, user)).toEqual([{ id: exported.accessKeyId, status: 'Active' }]);
  });

  it('exports nothing when the run fails', async () => {
    const old = await createUserWithKey(world.moto, world.admin, fresh('self'));
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    world.gh.addFault(serverError({ method: 'PUT' }));
    const { result, io } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, 'export-credentials': 'true' },
      env: { GITHUB_ENV: '/runner/env' },
    });
    expect(result.error?.message).toMatch(new RegExp(`^writing AWS_ACCESS_KEY_ID to ${repo}: 500 .*Deleted the new key`));
    expect(io.exported).toEqual({});
    expect(await authenticates(world.moto, old)).toBe(true);
  });

  it.each([
    ['a skip', { 'max-age-days': '90' }],
    ['a dry run', { 'dry-run': 'true' }],
  ])('exports nothing on %s, and says the job keeps the credentials it has', async (_, extra) => {
    const old = await createUserWithKey(world.moto, world.admin, fresh('self'));
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);
    const { result, io } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, 'export-credentials': 'true', ...extra },
      env: { GITHUB_ENV: '/runner/env', GITHUB_REPOSITORY: repo },
    });
    expect(result.error).toBeUndefined();
    expect(result.rotated).toBe(false);
    expect(io.exported).toEqual({});
    expect(io.lines).toContain('export-credentials: nothing exported, no new key was made (the job keeps the credentials it has)');
  });
});
