/**
 * access-key-id-as: variable through the whole flow (src/rotation/rotate.ts), on the in-memory IAM and GitHub of
 * test/support/memory-world.ts: a rotation, a rerun, and a failure mid-fan-out with its rollback. The id goes to an
 * Actions variable, the secret access key to a secret; what the run reports says which is which.
 */
import { describe, expect, it } from '@jest/globals';
import { readInputs } from '../src/config/inputs.js';
import { outputs } from '../src/action/outputs.js';
import { reader } from './support/harness.js';
import { failure } from './support/scripted-github.js';
import { type MemoryGitHub, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';
import type { MemoryIam } from './support/memory-iam.js';

const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const OLD = 'AKIAOLD0000000000001';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' };
const AS_VARIABLE = { 'access-key-id-as': 'variable' };

async function setup(scopes: string[]) {
  const iam = memoryIam();
  const github = await memoryGitHub(scopes);
  return { iam, github };
}

const rotator = (iam: MemoryIam, github: MemoryGitHub, inputs: Record<string, string>) =>
  memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', ...AS_VARIABLE, ...inputs }, env: ENV });

const writes = (github: MemoryGitHub) => github.routes.filter((r) => !r.startsWith('GET'));

describe('access-key-id-as: variable, a rotation', () => {
  it('writes the id as a variable and the secret access key as a secret at every destination, then deletes the previous key', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api');

    const { result, io } = await rotator(iam, github, { repositories: 'octo/api,octo/web', environments: '' });
    expect(result.error).toBeUndefined();
    const fresh = result.newKeyId as string;
    expect(github.variablePair('octo/api')).toEqual({ accessKeyId: fresh, secretAccessKey: 'memory-secret-1' });
    // octo/web held nothing: its variable is created.
    expect(github.variablePair('octo/web')).toEqual({ accessKeyId: fresh, secretAccessKey: 'memory-secret-1' });
    expect(result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
    // No secret is written for the id; octo/api's existing variable is updated (PATCH), never created again.
    expect(writes(github)).toEqual([
      'PATCH /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID',
      'PUT /repos/octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY',
      'POST /repos/octo/web/actions/variables',
      'PUT /repos/octo/web/actions/secrets/AWS_SECRET_ACCESS_KEY',
    ]);
    expect(github.secrets.get('octo/web')?.has('AWS_ACCESS_KEY_ID')).toBe(false);
    expect(github.variables.get('octo/web')?.get('AWS_ACCESS_KEY_ID')).toBe(fresh);
    // Preflight lists the variables of every destination, before any key exists.
    const created = github.routes.indexOf('PATCH /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID');
    expect(github.routes.slice(0, created)).toEqual(
      expect.arrayContaining(['GET /repos/octo/api/actions/variables', 'GET /repos/octo/web/actions/variables']),
    );
    expect(io.lines).toContain('octo/api: public key kid-1, holds variable AWS_ACCESS_KEY_ID and secret AWS_SECRET_ACCESS_KEY');
    expect(io.lines).toContain('[2/2] octo/web: variable AWS_ACCESS_KEY_ID, secret AWS_SECRET_ACCESS_KEY');
    const inputs = readInputs(reader({ 'iam-user-name': 'deployer', ...AS_VARIABLE, repositories: 'octo/api,octo/web' }), ENV);
    expect(JSON.parse(outputs(result, inputs).destinations)).toEqual([
      { kind: 'repository', repository: 'octo/api', secrets: ['AWS_SECRET_ACCESS_KEY'], variables: ['AWS_ACCESS_KEY_ID'] },
      { kind: 'repository', repository: 'octo/web', secrets: ['AWS_SECRET_ACCESS_KEY'], variables: ['AWS_ACCESS_KEY_ID'] },
    ]);
    // Never a secret value in the log.
    expect(io.lines.join('\n')).not.toContain('memory-secret-1');
  });

  it('environments: the variable goes to each environment', async () => {
    const { iam, github } = await setup(['octo/api:prod', 'octo/api:staging']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api:prod', 'octo/api:staging');
    const { result } = await rotator(iam, github, { repositories: 'octo/api', environments: 'prod,staging' });
    expect(result.error).toBeUndefined();
    for (const scope of ['octo/api:prod', 'octo/api:staging']) {
      expect(github.variablePair(scope)?.accessKeyId).toBe(result.newKeyId);
    }
    expect(writes(github)).toContain('PATCH /repos/octo/api/environments/prod/variables/AWS_ACCESS_KEY_ID');
  });

  it('a self-rotation: its own repository holds the variable; it signs its last calls with the new key', async () => {
    const { iam, github } = await setup(['octo/api']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api');
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', ...AS_VARIABLE }, env: ENV });
    expect(result.error).toBeUndefined();
    expect(github.variablePair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
  });
});

describe('access-key-id-as: variable, a rerun', () => {
  it('a rerun with max-age-days skips: the variable and the secret hold the current key', async () => {
    const { iam, github } = await setup(['octo/api']);
    const first = await rotator(iam, github, { repositories: 'octo/api' });
    expect(first.result.error).toBeUndefined();
    const routes = github.routes.length;

    const second = await rotator(iam, github, { repositories: 'octo/api', 'max-age-days': '30' });
    expect(second.result.error).toBeUndefined();
    expect(second.result.plan?.action).toBe('skip');
    expect(writes({ ...github, routes: github.routes.slice(routes) })).toEqual([]);
    expect(second.result.accessKeyId).toBe(first.result.newKeyId);
  });

  it('a rerun finding the variable gone does not skip: the destination lacks the id, so it rotates and creates it again', async () => {
    const { iam, github } = await setup(['octo/api']);
    const first = await rotator(iam, github, { repositories: 'octo/api' });
    github.variables.get('octo/api')?.delete('AWS_ACCESS_KEY_ID');
    const routes = github.routes.length;

    const second = await rotator(iam, github, { repositories: 'octo/api', 'max-age-days': '30' });
    expect(second.result.error).toBeUndefined();
    expect(second.result.plan?.action).toBe('rotate');
    // Words true in this mode: the variable is not a secret.
    expect(second.result.plan?.reason).toBe('destination(s) lack the access key id or the secret access key: octo/api');
    expect(second.io.lines).toContain('## Write variables and secrets (1 destinations)');
    expect(second.io.lines.join('\n')).not.toMatch(/lack the secrets|Write secrets/);
    expect(github.routes.slice(routes)).toContain('POST /repos/octo/api/actions/variables');
    expect(github.variablePair('octo/api')?.accessKeyId).toBe(second.result.newKeyId);
    expect(iam.keys.has(first.result.newKeyId as string)).toBe(false);
  });

  it('a variable created since preflight (409 on create): the run updates it, as one more paced write', async () => {
    const { iam, github } = await setup(['octo/api']);
    userKey(iam, OLD);
    github.before((method, path) => {
      if (method === 'POST' && path === '/repos/octo/api/actions/variables') github.variables.get('octo/api')?.set('AWS_ACCESS_KEY_ID', 'AKIASOMEONE');
    });
    const { result } = await rotator(iam, github, { repositories: 'octo/api' });
    expect(result.error).toBeUndefined();
    expect(writes(github).slice(0, 2)).toEqual(['POST /repos/octo/api/actions/variables', 'PATCH /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID']);
    expect(github.variablePair('octo/api')?.accessKeyId).toBe(result.newKeyId);
  });
});

describe('access-key-id-as: variable, a failure mid-fan-out', () => {
  it('self-rotation: the new key is deleted, the destinations written get their variable and secret back', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/web']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api', 'octo/web');
    github.before((method, path) => {
      if (method === 'PATCH' && path === '/repos/octo/web/actions/variables/AWS_ACCESS_KEY_ID') throw failure(403, 'Resource not accessible by personal access token', {});
    });

    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api,octo/web', ...AS_VARIABLE }, env: ENV });

    expect(result.error?.message).toMatch(/^writing variable AWS_ACCESS_KEY_ID to octo\/web: 403 /);
    expect(result.error?.message).toContain("the token needs repository permission 'Variables: write'");
    expect(result).toMatchObject({ rotated: false, accessKeyId: OLD });
    expect([...iam.keys.keys()]).toEqual([OLD]);
    expect(github.variablePair('octo/api')).toEqual(old);
    expect(github.variablePair('octo/web')).toEqual(old);
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'restored', OLD],
      ['octo/web', 'unchanged', OLD],
    ]);
    expect(result.error?.message).toContain(`Deleted the new key ${result.newKeyId}.`);
  });

  it('a rotator: the half-written destination gets its id variable back; the whole new pairs stay, and so do both keys', async () => {
    const { iam, github } = await setup(['octo/api', 'octo/new', 'octo/web']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api', 'octo/web');
    github.before((method, path) => {
      if (method === 'PUT' && path === '/repos/octo/web/actions/secrets/AWS_SECRET_ACCESS_KEY') throw failure(500, 'Server Error', {});
    });

    const { result } = await rotator(iam, github, { repositories: 'octo/api,octo/new,octo/web' });

    expect(result.error?.message).toMatch(/^writing AWS_SECRET_ACCESS_KEY to octo\/web: 500 /);
    // A rotator never knew the previous secret: octo/api's whole new pair cannot be rolled back, so both keys stay,
    // and only octo/web, half written, is put right (its id variable back to the key its secret still holds).
    expect(github.variablePair('octo/new')?.accessKeyId).toBe(result.newKeyId);
    const where = Object.fromEntries(result.destinations.map((d) => [d.label, d.outcome]));
    expect(where['octo/web']).toBe('restored');
    expect(github.variables.get('octo/web')?.get('AWS_ACCESS_KEY_ID')).toBe(OLD);
    expect(github.secrets.get('octo/web')?.get('AWS_SECRET_ACCESS_KEY')).toBe(old.secretAccessKey);
    expect(result.error?.message).toContain('Both keys stay Active');
    expect(where['octo/api']).toBe('written');
    expect(where['octo/new']).toBe('written');
  });

  it('a rotator whose first destination held nothing: the variable and secret it wrote are removed, the new key deleted', async () => {
    const { iam, github } = await setup(['octo/new', 'octo/web']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/web');
    github.before((method, path) => {
      if (method === 'PATCH' && path === '/repos/octo/web/actions/variables/AWS_ACCESS_KEY_ID') throw failure(422, 'Bad request', {});
    });

    const { result } = await rotator(iam, github, { repositories: 'octo/new,octo/web' });

    expect(result.error?.message).toMatch(/^writing variable AWS_ACCESS_KEY_ID to octo\/web: 422 Bad request/);
    expect(github.variables.get('octo/new')?.size).toBe(0);
    expect(github.secrets.get('octo/new')?.size).toBe(0);
    expect(github.routes).toContain('DELETE /repos/octo/new/actions/variables/AWS_ACCESS_KEY_ID');
    expect(github.variablePair('octo/web')).toEqual(old);
    expect([...iam.keys.keys()]).toEqual([OLD]);
    expect(result.destinations.map((d) => [d.label, d.outcome])).toEqual([
      ['octo/new', 'removed'],
      ['octo/web', 'unchanged'],
    ]);
  });
});
