/**
 * The rotation flow (src/rotation/rotate.ts) in-process, on the in-memory IAM and GitHub of test/support/memory-world.ts:
 * each kind of run end to end — what it asks IAM and GitHub, in which order, and what it reports. Fast enough to
 * mutation-test the flow; rotation.test.ts, failures.test.ts and recovery.test.ts run the same flows against moto
 * and the GitHub stand-in.
 */
import { describe, expect, it } from '@jest/globals';
import { CREATE_TAG } from '../src/keys/records.js';
import { LEASE_TAG } from '../src/rotation/lease.js';
import { Cancellation } from '../src/shared/cancel.js';
import { awsFailure } from './support/memory-iam.js';
import { failure } from './support/scripted-github.js';
import { type MemoryGitHub, handedOver, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';
import type { MemoryIam } from './support/memory-iam.js';

const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const OLD = 'AKIAOLD0000000000001';
const OTHER = 'AKIAOTHER00000000002';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' };

/** A rotator's run on IAM user deployer, into octo/api, with `extra` inputs. */
const rotator = (iam: MemoryIam, github: MemoryGitHub, extra: Record<string, string> = {}) =>
  memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', ...extra } });

async function setup(repos = ['octo/api']) {
  const iam = memoryIam();
  const github = await memoryGitHub(repos);
  return { iam, github };
}

describe('a rotator rotates the key of another user', () => {
  it('creates, verifies, writes everywhere, then deletes the previous key; the lease is taken and given back', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api', 'octo/web');

    const { result, io, signedBy } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web' },
      env: ENV,
    });

    expect(result.error).toBeUndefined();
    const fresh = result.newKeyId as string;
    // A rotator signs every request with its own key, before and after the handover.
    expect(new Set(signedBy)).toEqual(new Set([ADMIN.accessKeyId]));
    expect(io.lines.some((l) => l.startsWith('Self-rotation'))).toBe(false);
    expect(fresh).toMatch(/^AKIAMEMORY/);
    expect(result).toMatchObject({ rotated: true, accessKeyId: fresh, userName: 'deployer', cancelled: false, userCreated: false });
    expect(result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'written', fresh],
      ['octo/web', 'written', fresh],
    ]);
    for (const r of ['octo/api', 'octo/web']) expect(github.pair(r)).toEqual({ accessKeyId: fresh, secretAccessKey: 'memory-secret-1' });
    expect([...iam.keys.keys()]).toEqual([fresh]);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
    expect(iam.calls).toEqual([
      'GetCallerIdentity', // who the credentials are (root is refused)
      'ListUserTags', // the lease
      'TagUser',
      'ListAccessKeys', // read while the lease settles
      'ListUserTags', // the lease read back
      'ListAccessKeys', // the keys just before the create marker
      'TagUser', // the create marker
      'CreateAccessKey',
      'TagUser', // where the new key comes from
      'GetCallerIdentity', // the new key verified
      'ListAccessKeys', // the new key is still there after the fan-out
      'TagUser', // its handover, and the previous key superseded
      'ListAccessKeys', // listed again before the previous key goes
      'GetAccessKeyLastUsed',
      'DeleteAccessKey',
      'UntagUser', // its record (superseded at the handover) goes with it
      'ListAccessKeys', // the keys output
      'GetAccessKeyLastUsed',
      'ListUserTags', // the lease given back
      'UntagUser',
    ]);
    // Preflight reads both destinations (concurrently) before any key exists; then each pair is written back to back.
    expect(github.routes.slice(0, 4).sort()).toEqual([
      'GET /repos/octo/api/actions/secrets',
      'GET /repos/octo/api/actions/secrets/public-key',
      'GET /repos/octo/web/actions/secrets',
      'GET /repos/octo/web/actions/secrets/public-key',
    ]);
    expect(github.routes.slice(4)).toEqual([
      'PUT /repos/octo/api/actions/secrets/AWS_ACCESS_KEY_ID',
      'PUT /repos/octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY',
      'PUT /repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID',
      'PUT /repos/octo/web/actions/secrets/AWS_SECRET_ACCESS_KEY',
    ]);
    expect(io.secrets).toEqual(['admin-secret', 'memory-secret-1']);
    expect(io.text()).not.toContain('memory-secret-1');
    expect(result.keys?.map((k) => [k.id, k.status, k.fate])).toEqual([
      [fresh, 'Active', 'new'],
      [OLD, 'Deleted', 'deleted'],
    ]);
  });

  it('skips a key younger than max-age-days: nothing is created, written or deleted', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD, 3);
    github.hold(old, 'octo/api');

    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'max-age-days': '90' },
    });

    expect(result.error).toBeUndefined();
    expect(result.plan?.action).toBe('skip');
    expect(result).toMatchObject({ rotated: false, accessKeyId: OLD, newKeyId: undefined, previous: [] });
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['unchanged', OLD]]);
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(github.routes.filter((r) => !r.startsWith('GET'))).toEqual([]);
    expect(io.lines).toContain(`Plan: skip (current key ${OLD} is 3 day(s) old, younger than max-age-days (90)); nothing changes`);
  });

  it('a dry run reads and plans, and changes nothing: no lease, no key, no write', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);

    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'dry-run': 'true' },
    });

    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ dryRun: true, rotated: false, accessKeyId: OLD, newKeyId: undefined });
    // octo/api holds neither secret: it is not taken to hold the current key.
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['would write', undefined]]);
    // The lease is read, not taken; the keys are listed once and described at the end without a second listing.
    expect(iam.calls).toEqual(['GetCallerIdentity', 'ListUserTags', 'ListAccessKeys', 'ListUserTags', 'GetAccessKeyLastUsed']);
    expect(github.routes.filter((r) => !r.startsWith('GET'))).toEqual([]);
    expect(io.lines.some((l) => l.startsWith('Dry run: would create a new access key for deployer'))).toBe(true);
  });

  it.each([
    ['deactivate', 'Inactive', 'deactivated'],
    ['keep', 'Active', 'kept'],
  ])('previous-key %s leaves the previous key %s', async (mode, status, action) => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'previous-key': mode },
    });
    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([{ id: OLD, action }]);
    expect(iam.keys.get(OLD)?.status).toBe(status);
  });

  it('a user with no key gets its first one', async () => {
    const { iam, github } = await setup();
    github.secrets.get('octo/api')?.set('AWS_ACCESS_KEY_ID', 'AKIADEAD000000000009'); // a key deleted long ago
    github.secrets.get('octo/api')?.set('AWS_SECRET_ACCESS_KEY', 'dead');
    const { result } = await rotator(iam, github);
    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toBe('IAM user deployer has no active access key');
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect(result.previous).toEqual([]);
  });

  it('an Inactive second key is deleted to make room first', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    userKey(iam, OTHER, 200, 'Inactive');
    const { result, io } = await rotator(iam, github);
    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([
      { id: OTHER, action: 'deleted to make room' },
      { id: OLD, action: 'deleted' },
    ]);
    expect(io.lines).toContain(`Deleted ${OTHER} (Inactive) to make room (key-limit: delete-inactive)`);
    expect(iam.calls.indexOf('DeleteAccessKey')).toBeLessThan(iam.calls.indexOf('CreateAccessKey'));
  });

  it('export-credentials exports the new pair for later steps', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'export-credentials': 'true' },
      env: { GITHUB_ENV: '/runner/env' },
    });
    expect(result.error).toBeUndefined();
    expect(io.exported).toEqual({ AWS_ACCESS_KEY_ID: result.newKeyId, AWS_SECRET_ACCESS_KEY: 'memory-secret-1', AWS_SESSION_TOKEN: '' });
    expect(io.lines.some((l) => l.startsWith('export-credentials'))).toBe(false);
  });

  it('verify-timeout-seconds 0 does not verify the new key', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'verify-timeout-seconds': '0' },
    });
    expect(result.error).toBeUndefined();
    expect(iam.calls.filter((c) => c === 'GetCallerIdentity')).toHaveLength(1); // who the caller is, not the new key
  });
});

describe('self-rotation', () => {
  it('replaces the key the run authenticates with, and signs its last calls with the new one', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    const { result, io, signedBy } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error).toBeUndefined();
    expect(result.userName).toBe('deployer'); // from GetCallerIdentity
    // Up to the handover it signs with the key it replaces; from the handover on (record it, retire the old key,
    // describe the keys, give the lease back) with the new one.
    const handover = signedBy.indexOf(result.newKeyId as string);
    expect(handover).toBeGreaterThan(0);
    expect(new Set(signedBy.slice(0, handover))).toEqual(new Set([OLD]));
    expect(new Set(signedBy.slice(handover))).toEqual(new Set([result.newKeyId]));
    expect(iam.calls[0]).toBe('GetCallerIdentity');
    expect(result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect(io.secrets[0]).toBe(old.secretAccessKey);
    expect(io.lines).toContain(`Self-rotation: this run authenticates with ${OLD}, the key being replaced`);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });

  it('stops before any change when the job reads its key from a repository that is not a destination', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/web' },
      env: ENV,
    });
    expect(result.error?.message).toBe(
      `self-rotation: this job authenticates with ${OLD} and reads it from octo/api, which is not among the destinations ` +
        '(no repository, environment or organization secret this run writes reaches it): after the run, deleting ' +
        `${OLD} would leave this job with a dead key. Add octo/api (or the environment this job uses) to the ` +
        'destinations, or set previous-key: keep. Nothing was changed.',
    );
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });

  it('with a second Active key that is a proven orphan of an earlier run: deletes it, then rotates', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    userKey(iam, OTHER, 50);
    iam.tags.set(OTHER, 'rotate-aws-access-key: created=2026-10-08T12:00:00Z by=octo/a/1/1');
    const { result, io } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([
      { id: OTHER, action: 'deleted as an orphan' },
      { id: OLD, action: 'deleted' },
    ]);
    expect(io.lines).toContain(
      `Deleted ${OTHER}: an earlier run of this action made it and never handed it over; it was not used after that run ended, and none of this run's destinations was written after it was made`,
    );
    expect(github.routes.filter((r) => r.startsWith('PUT'))).toHaveLength(2);
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
    expect(iam.tags.has(OTHER)).toBe(false);
  });

  it('with a second Active key nothing proves anything about: stops before any change (version 1)', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    userKey(iam, OTHER, 50);
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error?.message).toContain(`nothing proves who holds ${OTHER}`);
    expect(result.error?.message).toMatch(/Nothing was changed\.$/);
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(iam.calls).not.toContain('DeleteAccessKey');
    expect(github.routes.filter((r) => r.startsWith('PUT'))).toEqual([]);
    expect([...iam.keys.keys()].sort()).toEqual([OLD, OTHER].sort());
  });
});

describe('a failure after the new key exists', () => {
  it('a destination that refuses the write: the new key is deleted, the written ones get their pair back', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api', 'octo/web');
    github.before((method, path) => {
      if (method === 'PUT' && path === '/repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID') throw failure(422, 'Bad request', {});
    });

    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api,octo/web' },
      env: ENV,
    });

    expect(result.error?.message).toMatch(/^writing AWS_ACCESS_KEY_ID to octo\/web: 422 Bad request/);
    expect(result).toMatchObject({ rotated: false, cancelled: false, accessKeyId: OLD });
    expect(result.previous).toEqual([]); // the discarded new key is not a previous key
    expect(result.keys?.map((k) => [k.id, k.status])).toEqual([[OLD, 'Active']]);
    expect([...iam.keys.keys()]).toEqual([OLD]);
    expect(github.pair('octo/api')).toEqual(old);
    expect(github.pair('octo/web')).toEqual(old);
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'restored', OLD],
      ['octo/web', 'unchanged', OLD],
    ]);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });

  it('a failure before anything was written names the failure only', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/gone' } });
    expect(result.error?.message).toBe(
      'reading the public key of octo/gone: repository octo/gone not found, or the token cannot see it: check ' +
        'repositories and give the token access to it. Nothing was changed.',
    );
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });
});

describe('create-user', () => {
  it('true: creates the user with its groups and policies, takes the lease on it, then gives it its first key', async () => {
    const iam = memoryIam({ exists: false, user: 'svc-new' });
    const github = await memoryGitHub(['octo/api']);
    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'svc-new', repositories: 'octo/api', 'create-user': 'true', 'user-groups': 'deployers', 'user-policy-arns': 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    });
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ userCreated: true, rotated: true });
    expect(iam.user).toEqual({ name: 'svc-new', path: '/', groups: ['deployers'], policies: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] });
    // No keys to list for a user that does not exist; the lease is taken once the user exists.
    expect(iam.calls.slice(0, 7)).toEqual([
      'GetCallerIdentity',
      'GetUser',
      'CreateUser',
      'AddUserToGroup',
      'AttachUserPolicy',
      'ListUserTags',
      'TagUser',
    ]);
    expect(io.lines).toContain('IAM user svc-new does not exist: it will be created');
    expect(io.lines).toContain('Created IAM user svc-new');
    expect(iam.tags.get(result.newKeyId as string)).toMatch(/^rotate-aws-access-key: created=\S+ handover=\S+ by=local$/);
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect(result.keys?.map((k) => k.id)).toEqual([result.newKeyId]);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });

  it('true on an existing user: stops, changing nothing', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await rotator(iam, github, { 'create-user': 'true' });
    expect(result.error?.message).toBe(
      'IAM user deployer already exists and create-user is true: a bootstrap never takes over an existing user. Choose a ' +
        "new iam-user-name, or set create-user: if-missing to rotate the existing user's key. Nothing was changed.",
    );
    expect(iam.calls).toEqual(['GetCallerIdentity', 'GetUser']);
    expect(result.keys).toBeUndefined();
  });

  it('if-missing on an existing user: warns how it differs, changes none of it, and rotates its key', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'create-user': 'if-missing', 'user-path': '/ci/', 'user-groups': 'ops' },
    });
    expect(result.error).toBeUndefined();
    expect(result.userCreated).toBe(false);
    expect(io.lines).toContain('IAM user deployer exists: create-user: if-missing leaves its settings as they are');
    expect(io.warnings).toEqual([
      'IAM user deployer already exists and differs from the inputs (not changed): path is /, not /ci/; not in group(s) ops',
    ]);
    expect(iam.user?.path).toBe('/');
    expect(result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
  });

  it('if-missing on an existing user with the settings asked for: no warning', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result, io } = await rotator(iam, github, { 'create-user': 'if-missing' });
    expect(result.error).toBeUndefined();
    expect(io.warnings).toEqual([]);
  });

  it('a new user whose key cannot be written anywhere is deleted again, and the error says so', async () => {
    const iam = memoryIam({ exists: false, user: 'svc-new' });
    const github = await memoryGitHub(['octo/api']);
    github.before((method) => {
      if (method === 'PUT') throw failure(422, 'Bad request', {});
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'svc-new', repositories: 'octo/api', 'create-user': 'true' } });
    expect(result.error?.message).toMatch(/^writing AWS_ACCESS_KEY_ID to octo\/api: 422 Bad request.*The created user svc-new was deleted again/);
    expect(iam.user).toBeUndefined();
    expect(result.keys).toBeUndefined(); // the user is gone: nothing to describe
    expect(result.userCreated).toBe(false); // it no longer exists
  });
});

describe('who the caller is', () => {
  it.each([
    ['a rotator', { 'iam-user-name': 'deployer', repositories: 'octo/api' }],
    ['a self-rotation', { repositories: 'octo/api' }],
    ['a bootstrap', { 'iam-user-name': 'svc-new', repositories: 'octo/api', 'create-user': 'true' }],
    ['a dry run', { 'iam-user-name': 'deployer', repositories: 'octo/api', 'dry-run': 'true' }],
  ])("the account's root user (%s) is refused before anything else is read or changed", async (_, inputs) => {
    for (const arn of ['arn:aws:iam::123456789012:root', 'arn:aws-us-gov:iam::123456789012:root', 'arn:aws-cn:iam::123456789012:root']) {
      const iam = memoryIam({ callerArn: arn });
      const github = await memoryGitHub(['octo/api']);
      const old = userKey(iam, OLD);
      github.hold(old, 'octo/api');
      const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs, env: ENV });
      expect(result.error?.message).toBe(
        `the AWS credentials belong to the root user of AWS account 123456789012 (${arn}): AWS advises that the root ` +
          "user have no access keys, so this action neither rotates nor uses them. Give this step an IAM user's key " +
          "(self-rotation) or a role's credentials with iam-user-name (a rotator), and delete the root user's access " +
          'keys (IAM console, root user, Security credentials). Nothing was changed.',
      );
      expect(iam.calls).toEqual(['GetCallerIdentity']);
      expect(github.routes).toEqual([]);
      expect([...iam.keys.keys()]).toEqual([OLD]);
      expect(iam.tags.size).toBe(0);
      expect(result).toMatchObject({ rotated: false, newKeyId: undefined, previous: [] });
      expect(result.keys).toBeUndefined();
    }
  });

  it('an IAM user or a role is asked about once per run, before anything else', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await rotator(iam, github);
    expect(result.error).toBeUndefined();
    expect(iam.calls[0]).toBe('GetCallerIdentity');
    // the other one verifies the new key
    expect(iam.calls.filter((c) => c === 'GetCallerIdentity')).toHaveLength(2);
  });

  it('a role without iam-user-name is refused before anything else', async () => {
    const { iam, github } = await setup();
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { repositories: 'octo/api' },
      callerArn: 'arn:aws:sts::123456789012:assumed-role/deployer/session',
    });
    expect(result.error?.message).toBe(
      'iam-user-name is empty and the AWS credentials belong to arn:aws:sts::123456789012:assumed-role/deployer/session, ' +
        'not an IAM user: set iam-user-name to the user whose key rotates. Nothing was changed.',
    );
    expect(result.userName).toBeUndefined();
    expect(iam.calls).toEqual([]);
  });

  it('temporary credentials are never a self-rotation, even with a matching key id; their token is masked', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    const { result, io } = await memoryRotation(iam, github, {
      as: { ...old, sessionToken: 'session-token' },
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' },
      env: ENV,
    });
    expect(result.error).toBeUndefined();
    expect(io.secrets.slice(0, 2)).toEqual([old.secretAccessKey, 'session-token']);
    expect(io.lines.some((l) => l.startsWith('Self-rotation'))).toBe(false);
  });

  it('self-rotation outside a workflow run (no GITHUB_REPOSITORY), or with previous-key keep, is not checked for its own holder', async () => {
    for (const [env, inputs] of [
      [{}, {}],
      [ENV, { 'previous-key': 'keep' }],
    ] as const) {
      const { iam, github } = await setup(['octo/web']);
      const old = userKey(iam, OLD);
      const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/web', ...inputs }, env });
      expect(result.error).toBeUndefined();
    }
  });

  it('self-rotation with previous-key deactivate names what deactivating would do', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/web', 'previous-key': 'deactivate' }, env: ENV });
    expect(result.error?.message).toContain(`after the run, deactivating ${OLD} would leave this job with a dead key`);
  });
});

describe('the lease and the end of the run', () => {
  it("another run's live lease: stops having changed nothing, and describes no keys", async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    iam.tags.set(LEASE_TAG, 'run octo/other/7/1+0123456789abcdef0123456789abcdef until 2026-11-27T13:00:00Z');
    const { result } = await rotator(iam, github);
    expect(result.error?.message).toMatch(/^another rotation holds the lease on IAM user deployer/);
    expect(result.keys).toBeUndefined();
    expect(result.cancelled).toBe(false);
    expect(iam.calls.filter((c) => c !== 'ListUserTags')).toEqual(['GetCallerIdentity']);
  });

  it("lost the lease race (another run's write landed on ours), waited for it: reads the world once more, then rotates", async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    // Our lease write lands; the settle read-back finds another run's lease over it; that run gives it back at the
    // next look; we take the lease again.
    let tagged = 0;
    let reads = 0;
    iam.before((command) => {
      if (command === 'TagUser') tagged++;
      if (command !== 'ListUserTags' || tagged !== 1) return;
      reads++;
      if (reads === 1) iam.tags.set(LEASE_TAG, 'run octo/other/7/1+fedcba9876543210 until 2026-11-27T13:00:00Z');
      if (reads === 2) iam.tags.delete(LEASE_TAG);
    });
    const { result, io } = await rotator(iam, github);
    expect(result.error).toBeUndefined();
    expect(result.rotated).toBe(true);
    expect(io.lines.filter((l) => l.startsWith('Another run held the lease meanwhile'))).toHaveLength(1);
    expect(iam.calls.filter((c) => c === 'ListAccessKeys').length).toBeGreaterThanOrEqual(2);
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect(iam.keys.has(OLD)).toBe(false);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });

  it('a cancel between destinations: the run stops, says so, and every destination holds a working pair', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api', 'octo/web');
    const cancel = new Cancellation();
    github.before((method, path) => {
      if (method === 'PUT' && path.endsWith('octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY')) cancel.cancel('SIGINT');
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web' }, cancel });
    expect(result.cancelled).toBe(true);
    expect(result.error?.message).toMatch(/^the run was cancelled \(SIGINT\)/);
    expect(result.rotated).toBe(false);
    const fresh = result.newKeyId as string;
    expect(github.pair('octo/api')?.accessKeyId).toBe(fresh);
    expect(github.pair('octo/web')).toEqual(old);
    expect(iam.keys.has(fresh) && iam.keys.has(OLD)).toBe(true);
  });

  it('a failure after the handover names where each destination stands', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    iam.before((command) => {
      if (command === 'DeleteAccessKey') throw awsFailure('AccessDenied', 403);
    });
    const { result } = await rotator(iam, github);
    expect(result.rotated).toBe(true);
    expect(result.error?.message).toMatch(/^Every destination holds the new key AKIAMEMORY\d+, but retiring the previous key failed/);
    expect(result.error?.message).toMatch(/\.$/);
    expect(result.destinations.map((d) => d.outcome)).toEqual(['written']);
  });
});

describe('CreateAccessKey fails', () => {
  it('with no key made: tried again after a backoff, and the rotation completes', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    let failures = 0;
    iam.before((command) => {
      if (command === 'CreateAccessKey' && failures++ < 2) throw awsFailure('ServiceFailure', 500);
    });
    const { result, io, clock } = await rotator(iam, github);
    expect(result.error).toBeUndefined();
    expect(io.lines.filter((l) => l.startsWith('CreateAccessKey attempt'))).toEqual([
      expect.stringMatching(/^CreateAccessKey attempt 1 failed \(iam:CreateAccessKey .*ServiceFailure.*\); no key was made: trying again$/),
      expect.stringMatching(/^CreateAccessKey attempt 2 failed /),
    ]);
    // 500 × attempt × (0.5 + random/2), random 0.5: 375 ms, then 750 ms (after the lease's settle of 100 ms).
    expect(clock.slept).toEqual([100, 375, 750]);
  });

  it('three times: gives up, and nothing was made or changed', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    iam.before((command) => {
      if (command === 'CreateAccessKey') throw awsFailure('ServiceFailure', 500);
    });
    const { result } = await rotator(iam, github);
    expect(result.error?.message).toMatch(/^iam:CreateAccessKey on IAM user deployer failed: ServiceFailure/);
    expect(iam.calls.filter((c) => c === 'CreateAccessKey')).toHaveLength(3);
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });

  it('and a key appeared meanwhile: it is named and left alone, never deleted', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    iam.before((command) => {
      if (command === 'CreateAccessKey') {
        iam.keys.set(OTHER, { id: OTHER, status: 'Active', created: new Date() });
        throw awsFailure('ServiceFailure', 500);
      }
    });
    const { result } = await rotator(iam, github);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^iam:CreateAccessKey .*ServiceFailure.*\\. Key\\(s\\) ${OTHER} appeared during this run and were left alone \\(its answer may have been lost; this run cannot prove they are its own\\): ` +
          'if this run made it, a rerun deactivates it \\(this run marked IAM user deployer with rotate-aws-access-key:creating just before; a marker is no proof a key may be deleted on\\) and a later run deletes it to make room; ' +
          'else, if no other rotation is running, delete it by hand\\.',
      ),
    );
    expect(iam.keys.has(OTHER)).toBe(true);
    // The marker stays for the rerun: it names this run, and the keys IAM listed just before (OLD, not OTHER).
    expect(iam.tags.get(CREATE_TAG)).toMatch(new RegExp(`^by=local at=\\S+ keys=${OLD}$`));
  });

  it('LimitExceeded is never tried again: someone made a key; when the keys cannot be listed again it says to check', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    iam.before((command) => {
      if (command === 'CreateAccessKey') {
        iam.keys.set(OTHER, { id: OTHER, status: 'Active', created: new Date() });
        throw awsFailure('LimitExceeded', 409);
      }
    });
    const { result } = await rotator(iam, github);
    expect(result.error?.message).toContain(`Key(s) ${OTHER} appeared during this run and were left alone (another rotation or a person is at work;`);
    expect(result.error?.message).toContain('if no other rotation is running, delete them by hand.');
    expect(iam.calls.filter((c) => c === 'CreateAccessKey')).toHaveLength(1);
    // IAM refused the create: it made no key, and the marker goes, so no rerun takes OTHER for this run's.
    expect(iam.tags.has(CREATE_TAG)).toBe(false);
    expect(iam.calls).toContain('UntagUser');

    const blind = await setup();
    userKey(blind.iam, OLD);
    let listings = 0;
    blind.iam.before((command) => {
      if (command === 'CreateAccessKey') throw awsFailure('ServiceFailure', 500);
      // The third listing: the one after the failed create (the second comes just before the create marker).
      if (command === 'ListAccessKeys' && ++listings === 3) throw awsFailure('AccessDenied', 403);
    });
    const { result: r2 } = await memoryRotation(blind.iam, blind.github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' } });
    expect(r2.error?.message).toMatch(/ServiceFailure.*\. Could not list the keys again: check whether a key was made\. Nothing was changed\.$/);
  });
});

describe('more of the flow', () => {
  it('a dry run names the live lease of another run, and reports destinations as unchanged when it fails before a plan', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    iam.tags.set(LEASE_TAG, 'run octo/other/7/1+0123456789abcdef0123456789abcdef until 2026-11-27T13:00:00Z');
    const { io } = await rotator(iam, github, { 'dry-run': 'true' });
    expect(io.lines).toContainEqual(
      expect.stringMatching(/^IAM user deployer is leased by run octo\/other\/7\/1 until 2026-11-27T13:00:00Z .*a real run would wait for it/),
    );

    const failing = await setup();
    userKey(failing.iam, OLD);
    const { result } = await memoryRotation(failing.iam, failing.github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/gone', 'dry-run': 'true' },
    });
    expect(result.error?.message).toMatch(/^reading the public key of octo\/gone/);
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['unchanged', undefined]]);
  });

  it('a dry run for a user without a key: would write, holding no key yet', async () => {
    const { iam, github } = await setup();
    const { result } = await rotator(iam, github, { 'dry-run': 'true' });
    expect(result.error).toBeUndefined();
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['would write', undefined]]);
  });

  it('export-credentials on a skip or a dry run exports nothing, and says so', async () => {
    for (const extra of [{ 'max-age-days': '90' }, { 'dry-run': 'true' }] as Record<string, string>[]) {
      const { iam, github } = await setup();
      const old = userKey(iam, OLD, 3);
      github.hold(old, 'octo/api');
      const { result, io } = await memoryRotation(iam, github, {
        as: ADMIN,
        inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'export-credentials': 'true', ...extra },
        env: { GITHUB_ENV: '/runner/env' },
      });
      expect(result.error).toBeUndefined();
      expect(io.exported).toEqual({});
      expect(io.lines).toContain('export-credentials: nothing exported, no new key was made (the job keeps the credentials it has)');
    }
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { io } = await rotator(iam, github, { 'dry-run': 'true' });
    expect(io.lines.some((l) => l.startsWith('export-credentials'))).toBe(false);
  });

  it('verifies the new key again until it authenticates, waiting between tries', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result, io, clock } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' },
      propagation: 2,
    });
    expect(result.error).toBeUndefined();
    expect(clock.slept).toEqual([100, 188, 281]); // the lease's settle, then two verification waits
    expect(io.lines).toContain('attempt 1: not yet (InvalidClientTokenId: InvalidClientTokenId for this request)');
    expect(io.lines.some((l) => /^AKIAMEMORY\d+ authenticates as deployer \(attempt 3, 469 ms\)$/.test(l))).toBe(true);
  });

  it('a cancel while the new key is verified: nothing is written, the new key is deleted again', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const cancel = new Cancellation();
    let tries = 0;
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' },
      cancel,
      propagation: 2,
      onVerify: () => {
        tries++;
        cancel.cancel('SIGTERM');
      },
    });
    expect(tries).toBe(1); // not tried again after the cancel
    expect(result.cancelled).toBe(true);
    expect(result.error?.message).toMatch(/^the run was cancelled \(SIGTERM\)/);
    expect(github.routes.filter((r) => r.startsWith('PUT'))).toEqual([]);
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });

  it('a write that fails while the run is being cancelled counts as cancelled', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const cancel = new Cancellation();
    github.before((method) => {
      if (method === 'PUT') {
        cancel.cancel('SIGINT');
        throw failure(500, 'Server Error', {});
      }
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' }, cancel });
    expect(result.cancelled).toBe(true);
    expect(result.error?.message).toMatch(/^the run was cancelled \(SIGINT\) while a step was in flight, which then failed: writing AWS_ACCESS_KEY_ID to octo\/api: 500/);
  });

  it('retire-after-hours: the previous key stays Active and pending; nothing is retired in this run', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await rotator(iam, github, { 'retire-after-hours': '24' });
    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([{ id: OLD, action: 'retire-pending' }]);
    expect(iam.keys.get(OLD)?.status).toBe('Active');
    expect(iam.calls).not.toContain('DeleteAccessKey');
  });

  it('a dry run plans as the real run would: a due handed-over key does not count against the key limit', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD, 200);
    const cur = userKey(iam, OTHER, 100);
    handedOver(iam, OLD, OTHER);
    github.hold(cur, 'octo/api');
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'retire-after-hours': '24', 'dry-run': 'true', 'max-age-days': '30' },
    });
    expect(result.error).toBeUndefined();
    expect(result.keyStates?.().flatMap((k) => (k.verdict.kind === 'pending' && k.verdict.due ? [k.key.id] : []))).toEqual([OLD]);
    expect(result.plan).toMatchObject({ action: 'rotate', makeRoom: undefined, current: { id: OTHER } });
    expect(result.plan?.action === 'rotate' && result.plan.previous.map((k) => k.id)).toEqual([OTHER]);

    const keep = await setup();
    userKey(keep.iam, OLD, 200);
    userKey(keep.iam, OTHER, 100);
    handedOver(keep.iam, OLD, OTHER);
    const { result: deactivating } = await memoryRotation(keep.iam, keep.github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'retire-after-hours': '24', 'dry-run': 'true', 'previous-key': 'deactivate', 'key-limit': 'delete-oldest', 'max-age-days': '30' },
    });
    // Deactivated, the due key still takes a place: the dry run plans room for the new key, as the real run does.
    expect(deactivating.error?.message).toBeUndefined();
    expect(deactivating.plan).toMatchObject({ action: 'rotate', makeRoom: { id: OLD, status: 'Inactive' } });
    expect(keep.iam.keys.get(OLD)?.status).toBe('Active');
  });

  // Found while writing these tests: the run deactivated the due key, then planned on the keys as first listed (the
  // key still Active and pending), refused to rotate for want of room, and said "Nothing was changed".
  it('previous-key deactivate: a due key is deactivated, then deleted to make room for the new key', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD, 200);
    const cur = userKey(iam, OTHER, 100);
    handedOver(iam, OLD, OTHER);
    github.hold(cur, 'octo/api');
    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'retire-after-hours': '24', 'previous-key': 'deactivate', 'max-age-days': '30' },
    });
    expect(result.error).toBeUndefined();
    expect(result.plan).toMatchObject({ current: { id: OTHER, status: 'Active' }, makeRoom: { id: OLD, status: 'Inactive' } });
    expect(result.previous).toEqual([
      { id: OLD, action: 'deactivated' },
      { id: OLD, action: 'deleted to make room' },
      { id: OTHER, action: 'retire-pending' },
    ]);
    expect(io.lines).toContain(`Deleted ${OLD} (Inactive) to make room (key-limit: delete-inactive)`);
    expect([...iam.keys.keys()].sort()).toEqual([OTHER, result.newKeyId].sort());
  });

  it('a stop after retiring due keys does not claim that nothing was changed', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD, 200);
    userKey(iam, OTHER, 100);
    handedOver(iam, OLD, OTHER);
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'retire-after-hours': '24', 'previous-key': 'deactivate', 'key-limit': 'fail', 'max-age-days': '30' },
    });
    expect(result.error?.message).toMatch(
      new RegExp(`, the IAM limit, and key-limit is 'fail'.* Nothing else was changed: this run first retired the handed-over key\\(s\\) that were due \\(deactivated ${OLD}\\)\\.$`),
    );
    expect(result.error?.message).not.toContain('Nothing was changed');
    expect(iam.keys.get(OLD)?.status).toBe('Inactive');
  });

  it('keys that change before a key is deleted to make room: nothing is deleted, and the error says where things stand', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    userKey(iam, OTHER, 200, 'Inactive');
    let listings = 0;
    iam.before((command) => {
      if (command === 'ListAccessKeys' && ++listings === 2) iam.keys.delete(OTHER); // someone deleted it meanwhile
    });
    const { result } = await rotator(iam, github);
    expect(result.error?.message).toMatch(new RegExp(`^${OTHER} was not deleted \\(consent: key-limit delete-inactive\\): IAM no longer lists ${OTHER}`));
    expect(iam.calls).not.toContain('CreateAccessKey');
  });

  it('a created user whose key cannot be made is deleted again, and the error says so', async () => {
    const iam = memoryIam({ exists: false, user: 'svc-new' });
    const github = await memoryGitHub(['octo/api']);
    iam.before((command) => {
      if (command === 'CreateAccessKey') throw awsFailure('ServiceFailure', 500);
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'svc-new', repositories: 'octo/api', 'create-user': 'true' } });
    expect(result.error?.message).toMatch(/^iam:CreateAccessKey on IAM user svc-new failed: ServiceFailure.*\. The created user svc-new was deleted again: IAM is as before\.$/);
    expect(iam.user).toBeUndefined();
  });
});

describe('cancels and changes at each step', () => {
  it('a destination that held nothing, left untouched by a failed run, is reported as holding no key', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    github.before((method, path) => {
      if (method === 'PUT' && path.startsWith('/repos/octo/api/')) throw failure(422, 'Bad request', {});
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web' } });
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'unchanged', OLD],
      ['octo/web', 'unchanged', undefined],
    ]);
  });

  it('a cancel while the keys are listed before making room: nothing is deleted or made', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    userKey(iam, OTHER, 200, 'Inactive');
    const cancel = new Cancellation();
    let listings = 0;
    iam.before((command) => {
      if (command === 'ListAccessKeys' && ++listings === 2) cancel.cancel('SIGINT');
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' }, cancel });
    expect(result.cancelled).toBe(true);
    expect(iam.keys.has(OTHER)).toBe(true);
    expect(iam.calls).not.toContain('CreateAccessKey');
  });

  it('a cancel while a key is deleted to make room: no new key is made', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    userKey(iam, OTHER, 200, 'Inactive');
    const cancel = new Cancellation();
    iam.before((command) => {
      if (command === 'DeleteAccessKey') cancel.cancel('SIGINT');
    });
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' }, cancel });
    expect(result.cancelled).toBe(true);
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });

  it('a new user the caller may not tag: one warning (the lease), and the key is still made and written', async () => {
    const iam = memoryIam({ exists: false, user: 'svc-new' });
    const github = await memoryGitHub(['octo/api']);
    iam.before((command) => {
      if (command === 'ListUserTags' || command === 'TagUser' || command === 'UntagUser') throw awsFailure('AccessDenied', 403);
    });
    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'svc-new', repositories: 'octo/api', 'create-user': 'true' } });
    expect(result.error).toBeUndefined();
    expect(io.warnings).toHaveLength(1);
    expect(io.warnings[0]).toMatch(/^could not take the lease on IAM user svc-new/);
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
  });

  it('a dry run of a bootstrap: the user would be created; nothing is', async () => {
    const iam = memoryIam({ exists: false, user: 'svc-new' });
    const github = await memoryGitHub(['octo/api']);
    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'svc-new', repositories: 'octo/api', 'create-user': 'true', 'dry-run': 'true' } });
    expect(result.error).toBeUndefined();
    expect(io.lines.some((l) => l.startsWith('Dry run: would create IAM user svc-new, then create a new access key'))).toBe(true);
    expect(iam.user).toBeUndefined();
  });
});

describe('environments and the last edges', () => {
  it('create-environments: a missing environment is created, reported as created, and given the new key', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/api:staging']);
    userKey(iam, OLD);
    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', environments: 'staging,prod', 'create-environments': 'true' },
    });
    expect(result.error).toBeUndefined();
    expect(result.destinations.map((d) => [d.label, d.outcome, d.created])).toEqual([
      ["octo/api environment 'staging'", 'written', undefined],
      ["octo/api environment 'prod'", 'written', true],
    ]);
    expect(github.routes).toContain('PUT /repos/octo/api/environments/prod');
    expect(github.secrets.get('octo/api:prod')?.get('AWS_ACCESS_KEY_ID')).toBe(result.newKeyId);
    expect(io.lines.some((l) => /prod/.test(l) && /created/i.test(l))).toBe(true);
  });

  it('a dry run with previous-key keep plans as the real run would: a due key is not retired, so there is no room', async () => {
    for (const dryRun of ['false', 'true']) {
      const { iam, github } = await setup();
      userKey(iam, OLD, 200);
      userKey(iam, OTHER, 100);
      handedOver(iam, OLD, OTHER);
      const { result } = await memoryRotation(iam, github, {
        as: ADMIN,
        inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'retire-after-hours': '24', 'previous-key': 'keep', 'dry-run': dryRun, 'max-age-days': '30' },
      });
      expect(result.error?.message).toContain(`no room for a new key: ${OLD} was handed over to ${OTHER} and previous-key is keep: no run with these inputs retires it`);
    }
  });
});
