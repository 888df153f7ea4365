/**
 * The rotation flow (src/rotate.ts) in-process, on the in-memory IAM and GitHub of test/support/memory-world.ts:
 * each kind of run end to end — what it asks IAM and GitHub, in which order, and what it reports. Fast enough to
 * mutation-test the flow; rotation.test.ts, failures.test.ts and recovery.test.ts run the same flows against moto
 * and the GitHub stand-in.
 */
import { describe, expect, it } from '@jest/globals';
import { LEASE_TAG } from '../src/lease.js';
import { failure } from './support/scripted-github.js';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const OLD = 'AKIAOLD0000000000001';
const OTHER = 'AKIAOTHER00000000002';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' };

async function setup(repos = ['octo/api']) {
  const iam = memoryIam();
  const github = await memoryGitHub(repos);
  return { iam, github };
}

describe('a rotator rotates the key of another user', () => {
  it('creates, verifies, writes everywhere, then deletes the previous key; the lease is taken and given back', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    for (const r of ['octo/api', 'octo/web']) {
      github.secrets.get(r)?.set('AWS_ACCESS_KEY_ID', old.accessKeyId);
      github.secrets.get(r)?.set('AWS_SECRET_ACCESS_KEY', old.secretAccessKey);
    }

    const { result, io } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web' },
      env: ENV,
    });

    expect(result.error).toBeUndefined();
    const fresh = result.newKeyId as string;
    expect(fresh).toMatch(/^AKIAMEMORY/);
    expect(result).toMatchObject({ rotated: true, accessKeyId: fresh, userName: 'deployer', cancelled: false });
    expect(result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'written', fresh],
      ['octo/web', 'written', fresh],
    ]);
    for (const r of ['octo/api', 'octo/web']) expect(github.pair(r)).toEqual({ accessKeyId: fresh, secretAccessKey: 'memory-secret-1' });
    expect([...iam.keys.keys()]).toEqual([fresh]);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
    expect(iam.calls).toEqual([
      'ListUserTags', // the lease
      'TagUser',
      'ListUserTags',
      'ListAccessKeys',
      'CreateAccessKey',
      'TagUser', // where the new key comes from
      'GetCallerIdentity', // the new key verified
      'TagUser', // its handover
      'ListAccessKeys', // listed again before the previous key goes
      'GetAccessKeyLastUsed',
      'DeleteAccessKey',
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
    github.secrets.get('octo/api')?.set('AWS_ACCESS_KEY_ID', old.accessKeyId);
    github.secrets.get('octo/api')?.set('AWS_SECRET_ACCESS_KEY', old.secretAccessKey);

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
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['would write', OLD]]);
    // The lease is read, not taken; the keys are listed once and described at the end without a second listing.
    expect(iam.calls).toEqual(['ListUserTags', 'ListAccessKeys', 'ListUserTags', 'GetAccessKeyLastUsed']);
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
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' } });
    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toBe('IAM user deployer has no active access key');
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect(result.previous).toEqual([]);
  });

  it('an Inactive second key is deleted to make room first', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    userKey(iam, OTHER, 200, 'Inactive');
    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' } });
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
  });

  it('verify-timeout-seconds 0 does not verify the new key', async () => {
    const { iam, github } = await setup();
    userKey(iam, OLD);
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'verify-timeout-seconds': '0' },
    });
    expect(result.error).toBeUndefined();
    expect(iam.calls).not.toContain('GetCallerIdentity');
  });
});

describe('self-rotation', () => {
  it('replaces the key the run authenticates with, and signs its last calls with the new one', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    const { result, io } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error).toBeUndefined();
    expect(result.userName).toBe('deployer'); // from GetCallerIdentity
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

  it('with a second Active key: converges on its own key first, then rotates', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    userKey(iam, OTHER, 50);
    const { result, io } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error).toBeUndefined();
    expect(result.previous).toEqual([
      { id: OTHER, action: 'deleted to converge' },
      { id: OLD, action: 'deleted' },
    ]);
    expect(io.lines).toContain(`Deleted ${OTHER}: every destination holds ${OLD}, so nothing needed it`);
    expect(github.routes.filter((r) => r.startsWith('PUT'))).toHaveLength(4);
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
  });
});

describe('a failure after the new key exists', () => {
  it('a destination that refuses the write: the new key is deleted, the written ones get their pair back', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    for (const r of ['octo/api', 'octo/web']) {
      github.secrets.get(r)?.set('AWS_ACCESS_KEY_ID', old.accessKeyId);
      github.secrets.get(r)?.set('AWS_SECRET_ACCESS_KEY', old.secretAccessKey);
    }
    github.before((method, path) => {
      if (method === 'PUT' && path === '/repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID') throw failure(422, 'Bad request', {});
    });

    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api,octo/web' },
      env: ENV,
    });

    expect(result.error?.message).toMatch(/^writing AWS_ACCESS_KEY_ID to octo\/web: 422 Bad request/);
    expect(result.rotated).toBe(false);
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
        'repositories and give the token access to it',
    );
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });
});
