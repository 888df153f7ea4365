/**
 * World 10 (issue 20): a self-rotating job reads its key from environment `production`, the destinations are
 * `environments: staging`. GitHub does not tell a job its environment, so the run looks: every secret of the
 * configured name the job's repository can give a job must be a destination, or the run stops before any change.
 */
import { describe, expect, it } from '@jest/globals';
import type { Destination } from '../src/github/destinations.js';
import type { GitHubApi } from '../src/github/github-api.js';
import { holdersOf, missingHolders } from '../src/github/own-holders.js';
import type { Prepared } from '../src/github/preflight.js';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';
import { failure } from './support/scripted-github.js';

const OLD = 'AKIAOLD0000000000001';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' };

async function world() {
  const iam = memoryIam();
  const github = await memoryGitHub(['octo/api:production', 'octo/api:staging']);
  const old = userKey(iam, OLD);
  github.hold(old, 'octo/api:production', 'octo/api:staging');
  return { iam, github, old };
}

describe("self-rotation: every place the job's repository can give it the key is a destination", () => {
  it('an environment holding the key that is not a destination stops the run before any change, naming it', async () => {
    const { iam, github, old } = await world();
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', environments: 'staging' }, env: ENV });

    expect(result.error?.message).toBe(
      `self-rotation: this job authenticates with ${OLD}, and octo/api environment 'production' also holds a secret of ` +
        `that name, which this run does not write: the job may read its key from there, and deleting ${OLD} would leave ` +
        'it with a dead key. Add it to the destinations (repositories, environments, organization), remove the stale ' +
        'secret, or set previous-key: keep. Nothing was changed.',
    );
    expect([...iam.keys.keys()]).toEqual([OLD]);
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(github.pair('octo/api:production')).toEqual(old);
    expect(github.pair('octo/api:staging')).toEqual(old);
  });

  it('with both environments as destinations it rotates, and both hold the new key', async () => {
    const { iam, github, old } = await world();
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api', environments: 'production,staging' },
      env: ENV,
    });
    expect(result.error).toBeUndefined();
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
    for (const scope of ['octo/api:production', 'octo/api:staging']) expect(github.pair(scope)?.accessKeyId).toBe(result.newKeyId);
  });

  it('previous-key: keep needs no such look (the key the job reads keeps working)', async () => {
    const { iam, github, old } = await world();
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api', environments: 'staging', 'previous-key': 'keep' },
      env: ENV,
    });
    expect(result.error).toBeUndefined();
    expect(github.routes.filter((r) => r.includes('/environments/production/'))).toEqual([]);
    expect(iam.keys.get(OLD)?.status).toBe('Active');
  });

  it('a secret listing the token may not read stops the run, naming the permission', async () => {
    const { iam, github, old } = await world();
    github.before((method, path) => {
      if (method === 'GET' && path === '/repos/octo/api/environments/production/secrets') throw failure(403, 'Resource not accessible by integration', {});
    });
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', environments: 'staging' }, env: ENV });
    expect(result.error?.message).toMatch(
      /^listing the secrets of environment 'production' \(to find every secret this self-rotating job may read its key from\) of octo\/api: 403 .*'Secrets: read' and 'Environments: read'.*Nothing was changed\.$/,
    );
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });
});

describe('holdersOf / missingHolders', () => {
  const gh = (secrets: Record<string, string[]>): GitHubApi => ({
    request: async (route: string) => {
      const path = route.split(' ')[1];
      if (path.endsWith('/environments')) return { status: 200, headers: {}, data: { total_count: 1, environments: [{ name: 'prod' }] } };
      const names = secrets[path];
      if (names === undefined) throw failure(404, 'Not Found', {});
      return { status: 200, headers: {}, data: { total_count: names.length, secrets: names.map((name) => ({ name })) } };
    },
    paginate: { iterator: () => ({ async *[Symbol.asyncIterator]() {} }) },
  }) as unknown as GitHubApi;
  const prepared = (...destinations: Destination[]) => destinations.map((destination) => ({ destination }) as Prepared);

  it('finds the repository, environment and organization secrets of the name, case ignored', async () => {
    const holders = await holdersOf(
      gh({
        '/repos/octo/api/actions/secrets': ['aws_access_key_id'],
        '/repos/octo/api/environments/prod/secrets': ['OTHER'],
        '/repos/octo/api/actions/organization-secrets': ['AWS_ACCESS_KEY_ID'],
      }),
      'octo',
      'api',
      'AWS_ACCESS_KEY_ID',
    );
    expect(holders).toEqual([{ kind: 'repository' }, { kind: 'organization', org: 'octo' }]);
    const org: Destination = { kind: 'organization', org: 'Octo', visibility: undefined, selectedRepositories: [] };
    expect(missingHolders(holders, 'octo', 'api', prepared({ kind: 'repository', owner: 'octo', repo: 'api' }))).toEqual([
      { kind: 'organization', org: 'octo' },
    ]);
    expect(missingHolders(holders, 'octo', 'api', prepared({ kind: 'repository', owner: 'OCTO', repo: 'API' }, org))).toEqual([]);
  });

  it('reads no place that is a destination (this run writes it): only the others', async () => {
    const routes: string[] = [];
    const api = gh({
      '/repos/octo/api/actions/secrets': ['AWS_ACCESS_KEY_ID'],
      '/repos/octo/api/environments/prod/secrets': ['AWS_ACCESS_KEY_ID'],
      '/repos/octo/api/actions/organization-secrets': ['AWS_ACCESS_KEY_ID'],
    });
    const counted = { ...api, request: (route: string, params?: unknown) => (routes.push(route), api.request(route, params as never)) } as GitHubApi;
    const holders = await holdersOf(counted, 'octo', 'api', 'AWS_ACCESS_KEY_ID', undefined, prepared({ kind: 'repository', owner: 'octo', repo: 'api' }));
    expect(holders).toEqual([
      { kind: 'environment', environment: 'prod' },
      { kind: 'organization', org: 'octo' },
    ]);
    expect(routes.map((r) => r.split(' ')[1])).toEqual([
      '/repos/octo/api/environments',
      '/repos/octo/api/environments/prod/secrets',
      '/repos/octo/api/actions/organization-secrets',
    ]);
  });
});
