/**
 * access-key-id-as: variable against moto and the GitHub stand-in (real key pairs, sealed boxes opened, variables
 * held as GitHub holds them): every destination kind that has variables ends holding the new id as a variable and
 * the secret access key as a sealed secret, and the pair works against IAM.
 */
import { describe, expect, it } from '@jest/globals';
import { forbidden, serverError, type Scope } from './support/github-standin.js';
import { envScope, keysOf, repoScope, runRotation } from './support/harness.js';
import { useWorld } from './support/world.js';
import { authenticates, createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;
const orgScope = (org: string): Scope => ({ kind: 'organization', org });

/** The pair a scope holds: the id from its variable, the secret access key as the stand-in opened it. */
function variablePair(scope: Scope) {
  const id = world.gh.variable(scope, 'AWS_ACCESS_KEY_ID')?.value;
  const secret = world.gh.secret(scope, 'AWS_SECRET_ACCESS_KEY');
  return id !== undefined && secret !== undefined ? { accessKeyId: id, secretAccessKey: secret.value, sealedWith: secret.keyId } : undefined;
}

describe('access-key-id-as: variable, every kind of destination', () => {
  it.each([
    ['repositories and the organization (selected repositories)', false],
    ['environments and the organization (selected repositories)', true],
  ])('%s: each holds the new id as a variable and the secret sealed; the old key is deleted', async (_, withEnvironments) => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const app = world.gh.addRepository(`${org}/app`, { environments: ['prod'] });
    world.gh.addRepository(`${org}/web`, { environments: ['prod'] });
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    // Where the job reads its key today: the variable and the secret of its own repository (or environment).
    const own = withEnvironments ? envScope(`${org}/app`, 'prod') : repoScope(`${org}/app`);
    world.gh.setVariable(own, 'AWS_ACCESS_KEY_ID', old.accessKeyId);
    world.gh.setSecret(own, 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey);

    const { result, io } = await runRotation(world, {
      as: old,
      inputs: {
        'access-key-id-as': 'variable',
        repositories: `${org}/app,${org}/web`,
        environments: withEnvironments ? 'prod' : '',
        organization: org,
        'organization-visibility': 'selected',
        'organization-selected-repositories': 'app',
      },
      env: { GITHUB_REPOSITORY: `${org}/app` },
    });

    expect(result.error).toBeUndefined();
    const fresh_ = result.newKeyId as string;
    const scopes = withEnvironments
      ? [envScope(`${org}/app`, 'prod'), envScope(`${org}/web`, 'prod'), orgScope(org)]
      : [repoScope(`${org}/app`), repoScope(`${org}/web`), orgScope(org)];
    for (const scope of scopes) {
      const pair = variablePair(scope);
      expect(pair?.accessKeyId).toBe(fresh_);
      // Sealed with that scope's own public key, and opened by the stand-in.
      expect(pair?.sealedWith).toBe(world.gh.publicKey(scope).keyId);
      expect(await authenticates(world.moto, { accessKeyId: fresh_, secretAccessKey: pair?.secretAccessKey as string })).toBe(true);
      // The id is never written as a secret.
      expect(world.gh.secret(scope, 'AWS_ACCESS_KEY_ID')).toBeUndefined();
    }
    expect(world.gh.variable(orgScope(org), 'AWS_ACCESS_KEY_ID')).toMatchObject({ visibility: 'selected', selectedRepositoryIds: [app.id] });
    expect(world.gh.secret(orgScope(org), 'AWS_SECRET_ACCESS_KEY')).toMatchObject({ visibility: 'selected', selectedRepositoryIds: [app.id] });
    expect(await keysOf(world, result.userName as string)).toEqual([{ id: fresh_, status: 'Active' }]);
    // Existing variables are updated (PATCH), new ones created (POST); the secret access key is PUT, sealed.
    const writes = world.gh.writes().map((w) => `${w.method} ${w.path}`);
    expect(writes.filter((w) => w.includes('/variables')).map((w) => w.split(' ')[0])).toEqual(['PATCH', 'POST', 'POST']);
    expect(writes.filter((w) => w.startsWith('PUT')).every((w) => w.endsWith('/secrets/AWS_SECRET_ACCESS_KEY'))).toBe(true);
    // The variable's value is the id, never a secret; no log line holds the secret access key.
    const secretValue = variablePair(orgScope(org))?.secretAccessKey as string;
    expect(io.text()).not.toContain(secretValue);
    expect(JSON.stringify(world.gh.requests.filter((r) => r.path.includes('/variables')).map((r) => r.body))).not.toContain(secretValue);
  });

  it('a token without Variables: write fails preflight naming the permission: no key is made, nothing is written', async () => {
    const repo = fresh('octo/api');
    world.gh.addRepository(repo);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    world.gh.addFault(forbidden({ method: 'GET', path: `/repos/${repo}/actions/variables` }, 'actions_variables=read'));

    const { result } = await runRotation(world, { as: old, inputs: { 'access-key-id-as': 'variable', repositories: repo }, env: { GITHUB_REPOSITORY: repo } });

    expect(result.error?.message).toMatch(new RegExp(`^listing the variables of ${repo}: 403 `));
    expect(result.error?.message).toContain("GitHub accepts the permission(s) 'actions_variables=read'");
    expect(result.newKeyId).toBeUndefined();
    expect(world.gh.writes()).toEqual([]);
    expect(await keysOf(world, result.userName as string)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('a failure mid-fan-out: the new key is deleted and every destination written gets its variable and secret back', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    world.gh.addRepository(`${org}/app`);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    for (const scope of [repoScope(`${org}/app`), orgScope(org)]) {
      world.gh.setVariable(scope, 'AWS_ACCESS_KEY_ID', old.accessKeyId);
      world.gh.setSecret(scope, 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey);
    }
    world.gh.addFault(serverError({ method: 'PUT', path: `/orgs/${org}/actions/secrets/AWS_SECRET_ACCESS_KEY`, times: 1 }));

    const { result } = await runRotation(world, {
      as: old,
      inputs: { 'access-key-id-as': 'variable', repositories: `${org}/app`, organization: org },
      env: { GITHUB_REPOSITORY: `${org}/app` },
      pacing: { retries: 0 },
    });

    expect(result.error?.message).toMatch(new RegExp(`^writing AWS_SECRET_ACCESS_KEY to organization ${org}: 500`));
    expect(result.error?.message).toContain(`Deleted the new key ${result.newKeyId}.`);
    for (const scope of [repoScope(`${org}/app`), orgScope(org)]) {
      expect(variablePair(scope)).toMatchObject({ accessKeyId: old.accessKeyId, secretAccessKey: old.secretAccessKey });
    }
    expect(world.gh.variable(orgScope(org), 'AWS_ACCESS_KEY_ID')?.visibility).toBe('all');
    expect(await keysOf(world, result.userName as string)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(result.destinations.map((d) => d.outcome)).toEqual(['restored', 'restored']);
  });
});
