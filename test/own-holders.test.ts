/**
 * The job's own holders in a self-rotation. GitHub does not tell a job which environment it runs in, nor whether it
 * reads its key id from a secret or a variable, so the run looks: every secret of either name, and every variable of
 * the id's name holding the key, that the job's repository can give a job must be written by this run, or the run
 * stops before any change. Only an answer that lists proves a place holds nothing (issue 20 world 10; issue 24 worlds
 * 2, 3 and 14).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Destination } from '../src/github/destinations.js';
import type { GitHubApi } from '../src/github/github-api.js';
import { createGitHubClient } from '../src/github/github.js';
import { READS, holdersOf, lookFor, permissionOf } from '../src/github/own-holders.js';
import { WritePacer } from '../src/github/pacer.js';
import type { Prepared } from '../src/github/preflight.js';
import { readInputs } from '../src/config/inputs.js';
import { runIdentity } from '../src/config/context.js';
import { Cancellation } from '../src/shared/cancel.js';
import { rotate } from '../src/rotation/rotate.js';
import { FAST_LEASE, FAST_PACING, fakeClock, heldPair, reader, recorder, repoScope, seedPair } from './support/harness.js';
import { GitHubStandin, notFound } from './support/github-standin.js';
import { memoryClients, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';
import { failure } from './support/scripted-github.js';

const OLD = 'AKIAOLD0000000000001';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' };
const UNREAD = `A place that cannot be read may hold ${OLD}: a self-rotation retires it only once every read answers (previous-key: keep rotates without retiring it)`;

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
      `self-rotation: this job authenticates with ${OLD}, and octo/api environment 'production' (secrets AWS_ACCESS_KEY_ID, ` +
        'AWS_SECRET_ACCESS_KEY) holds a secret or variable the job may read it from, which this run does not write: ' +
        `deleting ${OLD} would leave it with a dead key. Add it to the destinations (repositories, environments, ` +
        'organization; access-key-id-as: variable when the job reads the id from a variable), remove the stale one, or ' +
        'set previous-key: keep. Nothing was changed.',
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
    expect(result.error?.message).toBe(
      "listing the secrets of environment 'production' (to find every secret and variable this self-rotating job may read " +
        "its key from) of octo/api: 403 Resource not accessible by integration. the token needs repository permissions " +
        "'Environments: read' and 'Secrets: read' (classic PAT: repo scope). If github-token is the workflow's GITHUB_TOKEN: it " +
        `cannot write secrets; pass a fine-grained PAT, classic PAT or GitHub App token as github-token. ${UNREAD}. Nothing was changed.`,
    );
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });
});

/** A self-rotation of the in-memory IAM's user against the GitHub stand-in (organization destinations, real HTTP). */
async function standinRotation(gh: GitHubStandin, iam: ReturnType<typeof memoryIam>, as: { accessKeyId: string; secretAccessKey: string }, inputs: Record<string, string>, env: Record<string, string>) {
  const io = recorder();
  const clock = fakeClock();
  const cancel = new Cancellation();
  const { aws } = memoryClients(iam, { as, clock });
  const parsed = readInputs(reader(inputs), env);
  const result = await rotate({
    inputs: parsed,
    aws,
    gh: createGitHubClient(parsed.githubToken, gh.url, FAST_PACING, io, { clock, cancel }),
    clock,
    io,
    pacing: FAST_PACING,
    pacer: new WritePacer(clock, 0),
    lease: FAST_LEASE,
    run: runIdentity(env),
    cancel,
  });
  return { result, io };
}

describe('issue 24, world 2: a 404 is not "holds nothing"', () => {
  let gh: GitHubStandin;
  beforeAll(async () => {
    gh = await GitHubStandin.start();
  });
  afterAll(async () => {
    await gh?.stop();
  });

  it('an organization-only destination, with a token that cannot see the job repository (404): the run stops before any change', async () => {
    // The job reads its key from w2/app's own secrets; the run writes the organization's. The token is the organization's
    // and cannot see w2/app: every request under it answers 404.
    gh.reset();
    gh.addOrganization('w2');
    gh.addRepository('w2/app');
    const iam = memoryIam();
    const old = userKey(iam, OLD);
    seedPair(gh, repoScope('w2/app'), old);
    seedPair(gh, { kind: 'organization', org: 'w2' }, old);
    gh.addFault(notFound({ path: /^\/repos\/w2\/app(\/|$)/ }));

    const { result } = await standinRotation(gh, iam, old, { organization: 'w2' }, { GITHUB_REPOSITORY: 'w2/app', GITHUB_RUN_ID: '7' });

    expect(result.error?.message).toBe(
      'listing the repository secrets (to find every secret and variable this self-rotating job may read its key from) of ' +
        "w2/app: 404 Not Found - https://docs.github.com/rest. it does not exist or the token cannot see it; the token needs repository permission 'Secrets: " +
        "read' (classic PAT: repo scope). If github-token is the workflow's GITHUB_TOKEN: it cannot write secrets; pass a " +
        `fine-grained PAT, classic PAT or GitHub App token as github-token. ${UNREAD}. Nothing was changed.`,
    );
    // The key the job's repository holds still works: nothing was made, written or retired.
    expect([...iam.keys.values()].map((k) => [k.id, k.status])).toEqual([[OLD, 'Active']]);
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(heldPair(gh, repoScope('w2/app'))).toEqual(old);
    expect(heldPair(gh, { kind: 'organization', org: 'w2' })).toEqual(old);
    expect(gh.writes()).toEqual([]);
    expect(result.rotated).toBe(false);
  });

  it('the organization secrets shared with the job repository answer 404: the run stops before any change', async () => {
    // The job runs in no environment and reads the organization's secret; the run writes environment 'deploy' only.
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api:deploy']);
    const old = userKey(iam, OLD);
    github.shared.secrets.set('octo/api', new Map([['AWS_ACCESS_KEY_ID', OLD], ['AWS_SECRET_ACCESS_KEY', old.secretAccessKey]]));
    github.before((method, path) => {
      if (method === 'GET' && path === '/repos/octo/api/actions/organization-secrets') throw failure(404, 'Not Found', {});
    });
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', environments: 'deploy' }, env: ENV });
    expect(result.error?.message).toMatch(
      /^listing the organization secrets shared with \(to find every secret and variable this self-rotating job may read its key from\) of octo\/api: 404 Not Found\. it does not exist or the token cannot see it; the token needs repository permission 'Secrets: read' \(classic PAT: repo scope\)\. .*A place that cannot be read may hold AKIAOLD0000000000001: a self-rotation retires it only once every read answers \(previous-key: keep rotates without retiring it\)\. Nothing was changed\.$/,
    );
    expect([...iam.keys.keys()]).toEqual([OLD]);
    expect(iam.calls).not.toContain('CreateAccessKey');
  });

  it('a 5xx or no answer is not known either: it stops the run', async () => {
    const { iam, github, old } = await world();
    github.before((method, path) => {
      if (method === 'GET' && path === '/repos/octo/api/environments') throw failure(undefined, 'no answer within 30 s (request abandoned)');
    });
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', environments: 'production,staging' }, env: ENV });
    expect(result.error?.message).toMatch(/^listing the environments \(to find .*\) of octo\/api: network error .*repository permission 'Actions: read'|^listing the environments .* GitHub did not answer after retries/);
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });

  it("a 404 of the organization listings is an answer only when GitHub says a user account owns the repository", async () => {
    const routes: Record<string, unknown> = {
      'GET /repos/alice/api/actions/secrets': { total_count: 0, secrets: [] },
      'GET /repos/alice/api/actions/variables': { total_count: 0, variables: [] },
      'GET /repos/alice/api/environments': { total_count: 0, environments: [] },
      'GET /repos/alice/api': { full_name: 'alice/api', owner: { login: 'alice', type: 'User' } },
    };
    const gh = scripted(routes);
    await expect(holdersOf(gh, 'alice', 'api', lookFor(INPUTS, OLD))).resolves.toEqual([]);
    routes['GET /repos/alice/api'] = { full_name: 'alice/api', owner: { login: 'alice', type: 'Organization' } };
    await expect(holdersOf(scripted(routes), 'alice', 'api', lookFor(INPUTS, OLD))).rejects.toThrow(
      /^listing the organization secrets shared with .* of alice\/api: 404/,
    );
  });
});

describe('issue 24, world 3: the job may read the id from a variable', () => {
  it('an environment that is no destination keeps the id as a variable (vars.AWS_ACCESS_KEY_ID): the run stops before any change', async () => {
    // The job runs in environment 'production': the id from its variable, the secret from the repository (a destination).
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/api:production']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    github.variables.get('octo/api:production')?.set('AWS_ACCESS_KEY_ID', OLD);
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error?.message).toBe(
      `self-rotation: this job authenticates with ${OLD}, and octo/api environment 'production' (variable AWS_ACCESS_KEY_ID) ` +
        'holds a secret or variable the job may read it from, which this run does not write: ' +
        `deleting ${OLD} would leave it with a dead key. Add it to the destinations (repositories, environments, ` +
        'organization; access-key-id-as: variable when the job reads the id from a variable), remove the stale one, or ' +
        'set previous-key: keep. Nothing was changed.',
    );
    expect([...iam.keys.keys()]).toEqual([OLD]);
    expect(github.pair('octo/api')).toEqual(old);
    expect(github.variables.get('octo/api:production')?.get('AWS_ACCESS_KEY_ID')).toBe(OLD);
  });

  it('the repository is a destination written as secrets, but its variable of the id name holds the key: it stops (the run does not write that variable)', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    github.variables.get('octo/api')?.set('AWS_ACCESS_KEY_ID', OLD);
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error?.message).toMatch(new RegExp(`^self-rotation: this job authenticates with ${OLD}, and octo/api \\(variable AWS_ACCESS_KEY_ID\\) holds`));
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });

  it('an organization variable shared with the repository holding the key stops it too; with access-key-id-as: variable the destinations\' variables are written, so need no look', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api');
    github.shared.variables.set('octo/api', new Map([['AWS_ACCESS_KEY_ID', OLD]]));
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', 'access-key-id-as': 'variable' }, env: ENV });
    expect(result.error?.message).toMatch(/, and organization octo \(shared with octo\/api\) \(variable AWS_ACCESS_KEY_ID\) holds a secret or variable/);
    // Preflight reads the destination's variables (the id is one); the look does not read them again.
    expect(github.routes.filter((r) => r === 'GET /repos/octo/api/actions/variables')).toHaveLength(1);
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });

  it('a variable of that name holding another key is no holder of this one: the run rotates', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/api:production']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    github.variables.get('octo/api:production')?.set('AWS_ACCESS_KEY_ID', 'AKIAOTHERUSER0000001');
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error).toBeUndefined();
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
  });

  it("variables the token may not read stop the run, naming 'Variables: read'", async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    github.before((method, path) => {
      if (method === 'GET' && path === '/repos/octo/api/actions/variables') throw failure(403, 'Resource not accessible by personal access token', {});
    });
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error?.message).toBe(
      'listing the repository variables (to find every secret and variable this self-rotating job may read its key from) of ' +
        "octo/api: 403 Resource not accessible by personal access token. the token needs repository permission 'Variables: read' " +
        "(classic PAT: repo scope). If github-token is the workflow's GITHUB_TOKEN: it cannot write secrets; pass a fine-grained " +
        `PAT, classic PAT or GitHub App token as github-token. ${UNREAD}. Nothing was changed.`,
    );
    expect([...iam.keys.keys()]).toEqual([OLD]);
  });
});

const INPUTS = { accessKeyIdSecretName: 'AWS_ACCESS_KEY_ID', secretAccessKeySecretName: 'AWS_SECRET_ACCESS_KEY', accessKeyIdAs: 'secret' as const };

/** A GitHubApi answering `routes` by `METHOD path` (a route not listed answers 404), recording each request. */
function scripted(routes: Record<string, unknown>, seen: string[] = []): GitHubApi {
  return {
    request: async (route: string) => {
      seen.push(route);
      if (!(route in routes)) throw failure(404, 'Not Found', {});
      const data = routes[route];
      if (data instanceof Error) throw data;
      return { status: 200, headers: {}, data };
    },
    paginate: { iterator: () => ({ async *[Symbol.asyncIterator]() {} }) },
  } as unknown as GitHubApi;
}

describe('holdersOf', () => {
  const prepared = (...destinations: Destination[]) => destinations.map((destination) => ({ destination }) as Prepared);
  const all = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    'GET /repos/octo/api/actions/secrets': { total_count: 1, secrets: [{ name: 'aws_secret_access_key' }] },
    // A value pasted with a trailing newline is still the key (the workflow reads it so).
    'GET /repos/octo/api/actions/variables': { total_count: 1, variables: [{ name: 'AWS_ACCESS_KEY_ID', value: `${OLD}\n` }] },
    'GET /repos/octo/api/environments': { total_count: 1, environments: [{ name: 'prod' }] },
    'GET /repos/octo/api/environments/prod/secrets': { total_count: 1, secrets: [{ name: 'OTHER' }] },
    'GET /repos/octo/api/environments/prod/variables': { total_count: 1, variables: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAANOTHER' }] },
    'GET /repos/octo/api/actions/organization-secrets': { total_count: 1, secrets: [{ name: 'AWS_ACCESS_KEY_ID' }] },
    'GET /repos/octo/api/actions/organization-variables': { total_count: 0, variables: [] },
    ...overrides,
  });

  it('finds secrets of either name (case ignored) and the id variable holding this key, at the repository, each environment and the organization', async () => {
    expect(await holdersOf(scripted(all()), 'octo', 'api', lookFor(INPUTS, OLD))).toEqual([
      {
        kind: 'repository',
        holds: [
          { as: 'secret', name: 'AWS_SECRET_ACCESS_KEY' },
          { as: 'variable', name: 'AWS_ACCESS_KEY_ID' },
        ],
      },
      { kind: 'organization', org: 'octo', holds: [{ as: 'secret', name: 'AWS_ACCESS_KEY_ID' }] },
    ]);
  });

  it("reads no place's secrets that is a destination (this run writes it), and its variables only when the run writes no variables", async () => {
    const seen: string[] = [];
    const org: Destination = { kind: 'organization', org: 'Octo', visibility: undefined, selectedRepositories: [] };
    const holders = await holdersOf(scripted(all(), seen), 'octo', 'api', lookFor(INPUTS, OLD), undefined, prepared({ kind: 'repository', owner: 'OCTO', repo: 'API' }, org));
    expect(holders).toEqual([{ kind: 'repository', holds: [{ as: 'variable', name: 'AWS_ACCESS_KEY_ID' }] }]);
    expect(seen.map((r) => r.split(' ')[1])).toEqual([
      '/repos/octo/api/actions/variables',
      '/repos/octo/api/environments',
      '/repos/octo/api/environments/prod/secrets',
      '/repos/octo/api/environments/prod/variables',
      '/repos/octo/api/actions/organization-variables',
    ]);
    seen.length = 0;
    const asVariable = await holdersOf(
      scripted(all(), seen),
      'octo',
      'api',
      lookFor({ ...INPUTS, accessKeyIdAs: 'variable' }, OLD),
      undefined,
      prepared({ kind: 'repository', owner: 'octo', repo: 'api' }, org),
    );
    expect(asVariable).toEqual([]);
    expect(seen.map((r) => r.split(' ')[1])).toEqual([
      '/repos/octo/api/environments',
      '/repos/octo/api/environments/prod/secrets',
      '/repos/octo/api/environments/prod/variables',
    ]);
  });

  it.each(Object.keys(READS) as (keyof typeof READS)[])('a 403 on the %s stops the look, naming the permission GitHub files it under', async (read) => {
    const route = READS[read].route.replace('{owner}', 'octo').replace('{repo}', 'api').replace('{environment}', 'prod');
    const err = await holdersOf(scripted(all({ [route]: failure(403, 'Resource not accessible by integration', {}) })), 'octo', 'api', lookFor(INPUTS, OLD), 'installation').catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`403 Resource not accessible by integration. the token needs ${permissionOf(read)}`);
    expect((err as Error).message).toContain(UNREAD);
  });
});

/**
 * Issue 24, world 14: GitHub files the environments listing under Actions: read, the variables under Variables: read.
 * What the look reads, what its errors name, what the README's token table and the GitHub App example ask for agree.
 */
describe('issue 24, world 14: the permissions the look needs are the ones the docs ask for', () => {
  const needed = [...new Set(Object.values(READS).flatMap((r) => r.needs))].sort();

  it('the look needs Secrets, Variables, Actions and Environments: read (Actions: read for the environments, as preflight says)', () => {
    expect(needed).toEqual(['Actions: read', 'Environments: read', 'Secrets: read', 'Variables: read']);
    expect(READS.environments.needs).toEqual(['Actions: read']);
    expect(readFileSync('src/github/preflight.ts', 'utf8')).toContain("\"repository permission 'Actions: read' (classic PAT: repo scope)\"");
  });

  it("the README's token table names each of them in the self-rotation row, and the classic PAT scope", () => {
    const readme = readFileSync('README.md', 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| Self-rotation'));
    expect(row).toBeDefined();
    const cells = (row as string).split('|').map((c) => c.trim());
    for (const p of needed) {
      const [name, level] = p.split(': ');
      expect(cells[2]).toContain(`**${name}**: ${level}`);
    }
    expect(cells[3]).toBe('`repo`');
  });

  it('the GitHub App example of a self-rotation lets its token have them: no permission-* input narrows it to fewer', () => {
    const wf = parse(readFileSync('examples/github-app-token.yml', 'utf8')) as { jobs: Record<string, { steps: { uses?: string; with?: Record<string, string>; env?: Record<string, string> }[] }> };
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    const token = steps.find((s) => s.uses?.startsWith('actions/create-github-app-token@'));
    const rotation = steps.find((s) => s.uses?.includes('rotate-aws-access-key'));
    // A self-rotation: the job signs in with the key it rotates.
    expect(rotation?.env?.AWS_ACCESS_KEY_ID).toContain('secrets.AWS_ACCESS_KEY_ID');
    // create-github-app-token v3.1.1 declares no input for Variables: the token inherits the App's permissions.
    expect(Object.keys(token?.with ?? {}).filter((k) => k.startsWith('permission-'))).toEqual([]);
    const text = readFileSync('examples/github-app-token.yml', 'utf8');
    for (const p of ['Secrets: write', ...needed.filter((n) => n !== 'Secrets: read')]) expect(text).toContain(p);
  });
});
