/**
 * src/github/preflight.ts in-process, against a scripted GitHubApi: what a destination holds, why a public-key read failed
 * (missing repository, missing environment, permission), how organization secrets are shared, and whether the job's
 * own repository is covered. No network, no emulator.
 */
import { describe, expect, it } from '@jest/globals';
import type { RotateContext } from '../src/rotation/run-state.js';
import type { Destination } from '../src/github/destinations.js';
import { ActionError } from '../src/shared/errors.js';
import type { Inputs } from '../src/config/inputs.js';
import { type Prepared, coversRepository, createMissingEnvironments, mapLimit, preflight } from '../src/github/preflight.js';
import { inputsWith } from './support/fixtures.js';
import { failure, scriptedGitHub } from './support/scripted-github.js';

const KEY = { key_id: 'kid-1', key: 'PUBLIC' };
const T1 = '2026-01-01T00:00:01Z';
const T2 = '2026-02-01T00:00:02Z';

function context(gh: ReturnType<typeof scriptedGitHub>['gh'], inputs: Partial<Inputs> = {}) {
  const info: string[] = [];
  const taken: number[] = [];
  const ctx = {
    inputs: inputsWith(inputs),
    gh,
    io: { info: (m: string) => void info.push(m) },
    pacing: { readConcurrency: 2 },
    pacer: { take: async (n = 1) => void taken.push(n) },
    cancel: { checkpoint: () => {}, requested: false },
  } as unknown as RotateContext;
  return { ctx, info, taken };
}

const REPO: Destination = { kind: 'repository', owner: 'octo', repo: 'api' };
const ENV: Destination = { kind: 'environment', owner: 'octo', repo: 'api', environment: 'prod' };
const DEP: Destination = { kind: 'dependabot-repository', owner: 'octo', repo: 'api' };
const ORG = (visibility: Inputs['organizationVisibility'] = undefined): Destination => ({
  kind: 'organization',
  org: 'octo',
  visibility,
  selectedRepositories: visibility === 'selected' ? ['api', 'web'] : [],
});

const secrets = (...list: { name: string; updated_at: string; visibility?: string }[]) => ({ total_count: list.length, secrets: list });
const environments = (...names: string[]) => ({ total_count: names.length, environments: names.map((name, id) => ({ id, name })) });

describe('preflight: what each destination holds', () => {
  it.each<[string, { name: string; updated_at: string }[], Prepared['held'], number | undefined]>([
    ['both (names ignore case), oldest update of the two', [{ name: 'aws_access_key_id', updated_at: T2 }, { name: 'AWS_SECRET_ACCESS_KEY', updated_at: T1 }], 'both', Date.parse(T1)],
    ['both, the other one older', [{ name: 'AWS_ACCESS_KEY_ID', updated_at: T1 }, { name: 'AWS_SECRET_ACCESS_KEY', updated_at: T2 }], 'both', Date.parse(T1)],
    ['only the key id', [{ name: 'AWS_ACCESS_KEY_ID', updated_at: T1 }, { name: 'OTHER', updated_at: T1 }], 'partial', undefined],
    ['only the secret', [{ name: 'AWS_SECRET_ACCESS_KEY', updated_at: T1 }], 'partial', undefined],
    ['neither', [{ name: 'OTHER', updated_at: T1 }], 'none', undefined],
  ])('%s', async (_, list, held, oldestUpdate) => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': KEY,
      'GET /repos/octo/api/actions/secrets': secrets(...list),
    });
    const { ctx, info } = context(gh);
    const [p] = await preflight(ctx, [REPO]);
    expect(p).toEqual({
      destination: REPO,
      publicKey: { keyId: 'kid-1', key: 'PUBLIC' },
      create: false,
      held,
      idHeld: list.some((x) => x.name.toUpperCase() === 'AWS_ACCESS_KEY_ID'),
      oldestUpdate,
      updates: list
        .filter((x) => /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)$/i.test(x.name))
        .sort((a, b) => (a.name.toUpperCase() < b.name.toUpperCase() ? -1 : 1))
        .map((x) => Date.parse(x.updated_at)),
      sharing: undefined,
      visibilityChanges: [],
    });
    const words = { both: 'holds both secrets', partial: 'holds only one of the two secrets', none: 'holds neither secret' };
    expect(info).toEqual([`octo/api: public key kid-1, ${words[held]}`]);
  });

  it('uses the configured secret names', async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': KEY,
      'GET /repos/octo/api/actions/secrets': secrets({ name: 'AWS_ACCESS_KEY_ID', updated_at: T1 }, { name: 'MY_SECRET', updated_at: T2 }),
    });
    const { ctx } = context(gh, { accessKeyIdSecretName: 'MY_ID', secretAccessKeySecretName: 'MY_SECRET' });
    expect((await preflight(ctx, [REPO]))[0].held).toBe('partial');
  });

  it('keeps the destinations in order', async () => {
    const routes: Record<string, unknown> = {};
    for (const r of ['a', 'b', 'c']) {
      routes[`GET /repos/octo/${r}/actions/secrets/public-key`] = { key_id: `kid-${r}`, key: 'K' };
      routes[`GET /repos/octo/${r}/actions/secrets`] = secrets();
    }
    const { gh } = scriptedGitHub(routes);
    const { ctx } = context(gh);
    const dests = ['a', 'b', 'c'].map((repo): Destination => ({ kind: 'repository', owner: 'octo', repo }));
    expect((await preflight(ctx, dests)).map((p) => p.publicKey.keyId)).toEqual(['kid-a', 'kid-b', 'kid-c']);
  });

  it('a failed listing of the secrets is a GitHub error naming the destination and the permission', async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': KEY,
      'GET /repos/octo/api/actions/secrets': failure(403, 'Forbidden'),
    });
    await expect(preflight(context(gh).ctx, [REPO])).rejects.toThrow(
      "listing the secrets of octo/api: 403 Forbidden. the token needs repository permission 'Secrets: write'",
    );
  });
});

describe('preflight: why a public key could not be read', () => {
  it('a repository that does not exist (or the token cannot see)', async () => {
    const { gh } = scriptedGitHub({});
    const err = await preflight(context(gh).ctx, [REPO]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect((err as Error).message).toBe(
      'reading the public key of octo/api: repository octo/api not found, or the token cannot see it: check repositories and give the token access to it',
    );
  });

  it('the same for Dependabot secrets of a missing repository', async () => {
    const { gh } = scriptedGitHub({});
    await expect(preflight(context(gh).ctx, [DEP])).rejects.toThrow('repository octo/api not found');
  });

  it('an environment that does not exist: an error, or created with create-environments', async () => {
    const { gh } = scriptedGitHub({ 'GET /repos/octo/api': {}, 'GET /repos/octo/api/environments': environments() });
    await expect(preflight(context(gh).ctx, [ENV])).rejects.toThrow(
      "reading the public key of octo/api environment 'prod': environment 'prod' does not exist in octo/api (it has no environments): create it, or set create-environments: true",
    );
    const [p] = await preflight(context(gh, { createEnvironments: true }).ctx, [ENV]);
    expect(p).toMatchObject({ create: true, held: 'none', publicKey: { keyId: '', key: '' }, oldestUpdate: undefined });
  });

  it('an environment that exists, but whose key cannot be read: the permission, never "create it"', async () => {
    const { gh } = scriptedGitHub({ 'GET /repos/octo/api': {}, 'GET /repos/octo/api/environments/prod': {} });
    const err = (await preflight(context(gh, { createEnvironments: true }).ctx, [ENV]).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain("reading the public key of octo/api environment 'prod': 404");
    expect(err.message).toContain("repository permissions 'Environments: write' and 'Secrets: write'");
    expect(err.message).not.toContain('create it');
  });

  it('a repository that exists, whose repository secrets cannot be read: the permission', async () => {
    const { gh } = scriptedGitHub({ 'GET /repos/octo/api': {} });
    await expect(preflight(context(gh).ctx, [REPO])).rejects.toThrow(
      "reading the public key of octo/api: 404 Not Found: GET /repos/octo/api/actions/secrets/public-key. it does not exist or the token cannot see it; the token needs repository permission 'Secrets: write'",
    );
  });

  it('when the repository or environment cannot be looked up, it is not called missing', async () => {
    const { gh } = scriptedGitHub({ 'GET /repos/octo/api': failure(403), 'GET /repos/octo/api/environments/prod': failure(500) });
    const err = (await preflight(context(gh, { createEnvironments: true }).ctx, [ENV]).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain("reading the public key of octo/api environment 'prod': 404");
    expect(err.message).not.toContain('not found, or');
    expect(err.message).not.toContain('does not exist in');
  });

  it('a 403 on the public key is a permission problem, not a missing repository (no lookup)', async () => {
    const { gh, calls } = scriptedGitHub({ 'GET /repos/octo/api/environments/prod/secrets/public-key': failure(403, 'Forbidden') });
    const err = (await preflight(context(gh, { createEnvironments: true }).ctx, [ENV]).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain("reading the public key of octo/api environment 'prod': 403 Forbidden. the token needs");
    expect(calls.map((c) => c.route)).toEqual(['GET /repos/octo/api/environments/prod/secrets/public-key']);
  });

  it('an organization 404 is a GitHub error (no repository lookup)', async () => {
    const { gh, calls } = scriptedGitHub({});
    await expect(preflight(context(gh, { organization: 'octo' }).ctx, [ORG()])).rejects.toThrow(
      "reading the public key of organization octo: 404 Not Found: GET /orgs/octo/actions/secrets/public-key. it does not exist or the token cannot see it; the token needs organization permission 'Secrets: write'",
    );
    expect(calls).toHaveLength(1);
  });

  it('several failures: one error naming every one, and how many of how many', async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': KEY,
      'GET /repos/octo/api/actions/secrets': secrets(),
    });
    const dests: Destination[] = [
      REPO,
      { kind: 'repository', owner: 'octo', repo: 'gone' },
      { kind: 'repository', owner: 'octo', repo: 'lost' },
    ];
    await expect(preflight(context(gh).ctx, dests)).rejects.toThrow(
      /^preflight failed for 2 of 3 destinations: reading the public key of octo\/gone: repository octo\/gone not found.* \| reading the public key of octo\/lost: repository octo\/lost not found/,
    );
  });

  it('an unexpected failure (not a GitHub answer) is still reported as the destination failing', async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': () => ({ key_id: 'k', key: 'K' }),
      'GET /repos/octo/api/actions/secrets': () => ({ total_count: 1, secrets: null }),
    });
    const err = (await preflight(context(gh).ctx, [REPO]).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toMatch(/^listing the secrets of octo\/api: network error/);
  });
});

describe('preflight: a missing environment, against the environments that exist', () => {
  const missing = (name: string, existing: string[] | Error, inputs: Partial<Inputs> = {}) => {
    const d: Destination = { kind: 'environment', owner: 'octo', repo: 'api', environment: name };
    const { gh, calls } = scriptedGitHub({
      'GET /repos/octo/api': {},
      'GET /repos/octo/api/environments': existing instanceof Error ? existing : environments(...existing),
    });
    const run = preflight(context(gh, inputs).ctx, [d]);
    return { run, calls, error: () => run.then(() => '(no error)', (e: unknown) => (e as Error).message) };
  };
  const PREFIX = (name: string) => `reading the public key of octo/api environment '${name}': environment '${name}' does not exist in octo/api`;

  it.each([
    ['prodution', ['production', 'staging'], 'production'],
    ['Prod-EW', ['prod-eu', 'staging'], 'prod-eu'],
    ['STAGIGN', ['production', 'staging'], 'staging'],
  ])("%s (create-environments false): lists them, names the near one, and never suggests creating it", async (name, existing, near) => {
    expect(await missing(name, existing).error()).toBe(
      `${PREFIX(name)} (its environments: ${existing.join(', ')}): did you mean '${near}'? Fix the name in environments`,
    );
  });

  it('none within two edits: lists them, names the closest, and suggests create-environments', async () => {
    expect(await missing('prod', ['qa', 'staging']).error()).toBe(
      `${PREFIX('prod')} (its environments: qa, staging; the closest is 'qa'): create it, or set create-environments: true`,
    );
  });

  it('many environments: ten are named, and how many more', async () => {
    const many = Array.from({ length: 13 }, (_, i) => `env-${String(i).padStart(2, '0')}`);
    expect(await missing('prod', many).error()).toBe(
      `${PREFIX('prod')} (its environments: ${many.slice(0, 10).join(', ')} and 3 more; the closest is 'env-00'): create it, or set create-environments: true`,
    );
  });

  it.each<[string, string[] | Error]>([
    ['listed', ['production']],
    ['not listed', failure(403, 'Forbidden')],
  ])('a name with a space (create-environments false, environments %s): fix the list or create it by hand, never create-environments', async (_, existing) => {
    const message = await missing('prod staging', existing).error();
    expect(message).toMatch(/^reading the public key of octo\/api environment 'prod staging': environment 'prod staging' does not exist in octo\/api/);
    expect(message).toContain(
      ": its name holds a space: if it is two names (prod, staging), separate them by a comma or a newline in environments; " +
        'an environment whose name really has spaces must be created by hand (create-environments never creates one)',
    );
    expect(message).not.toContain('create-environments: true');
  });

  it('when they cannot be listed, the error says what it knows', async () => {
    expect(await missing('prod', failure(403, 'Forbidden')).error()).toBe(
      `${PREFIX('prod')}: create it, or set create-environments: true`,
    );
  });

  it.each([
    ['prodution', 'production', 'one edit'],
    ['PRODUCTOIN', 'production', 'two edits'],
    ['stagin', 'staging', 'one edit'],
  ])('create-environments: %s, near %s, is refused before anything is created', async (name, near, edits) => {
    const { error, calls } = missing(name, ['production', 'staging'], { createEnvironments: true });
    expect(await error()).toBe(
      `environments: '${name}' does not exist in octo/api and is within ${edits} of its environment '${near}': fix the ` +
        `name, or create '${name}' by hand if it really is a new environment (create-environments does not create a ` +
        'name this close to an existing one)',
    );
    expect(calls.filter((c) => !c.route.startsWith('GET'))).toEqual([]);
  });

  it('create-environments: a name three edits from every environment is created', async () => {
    const { run } = missing('prd-eu', ['production', 'staging'], { createEnvironments: true });
    expect((await run)[0].create).toBe(true);
  });

  it('create-environments: a name with a space is most likely two names, and is refused (no listing needed)', async () => {
    const { error, calls } = missing('prod staging', ['production'], { createEnvironments: true });
    expect(await error()).toBe(
      "environments: 'prod staging' does not exist in octo/api and holds a space: it most likely is two names (prod, " +
        'staging), to be separated by a comma or a newline; create-environments never creates a name with spaces: an ' +
        'environment whose name really has them must exist already',
    );
    expect(calls.map((c) => c.route)).not.toContain('GET /repos/octo/api/environments');
  });

  it('create-environments: when the environments cannot be listed, nothing is created: the error names the permission', async () => {
    expect(await missing('prod', failure(403, 'Forbidden'), { createEnvironments: true }).error()).toBe(
      "listing the environments (to check 'prod', which create-environments would create) of octo/api: 403 Forbidden. " +
        "the token needs repository permission 'Actions: read' (classic PAT: repo scope). If github-token is the " +
        "workflow's GITHUB_TOKEN: it cannot write secrets; pass a fine-grained PAT, classic PAT or GitHub App token as github-token",
    );
  });

  it('the environments of a repository are listed once, however many of its environments are missing', async () => {
    const { gh, calls } = scriptedGitHub({ 'GET /repos/octo/api': {}, 'GET /repos/octo/api/environments': environments('production') });
    const dests: Destination[] = ['qa', 'dev', 'prod-eu'].map((environment) => ({ kind: 'environment', owner: 'octo', repo: 'api', environment }));
    const prepared = await preflight(context(gh, { createEnvironments: true }).ctx, dests);
    expect(prepared.map((p) => p.create)).toEqual([true, true, true]);
    expect(calls.filter((c) => c.route === 'GET /repos/octo/api/environments')).toHaveLength(1);
  });
});

describe('preflight: organization secrets', () => {
  const orgRoutes = (list: { name: string; updated_at: string; visibility?: string }[], extra: Record<string, unknown> = {}) => ({
    'GET /orgs/octo/actions/secrets/public-key': KEY,
    'GET /orgs/octo/actions/secrets': secrets(...list),
    ...extra,
  });

  it('empty organization-visibility keeps each existing secret visibility; a new secret is private', async () => {
    const { gh } = scriptedGitHub(orgRoutes([{ name: 'AWS_ACCESS_KEY_ID', updated_at: T1, visibility: 'all' }]));
    const { ctx, info } = context(gh, { organization: 'octo', repositories: [] });
    const [p] = await preflight(ctx, [ORG()]);
    expect(p.sharing).toEqual([
      { visibility: 'all', selectedRepositoryIds: [], selectedNames: [] },
      { visibility: 'private', selectedRepositoryIds: [], selectedNames: [] },
    ]);
    expect(p.visibilityChanges).toEqual([]);
    expect(info).toEqual(['organization octo: public key kid-1, holds only one of the two secrets (visibility all / private)']);
  });

  it('an explicit organization-visibility is used, and every change of an existing secret is announced', async () => {
    const { gh } = scriptedGitHub(
      orgRoutes([
        { name: 'AWS_ACCESS_KEY_ID', updated_at: T1, visibility: 'all' },
        { name: 'AWS_SECRET_ACCESS_KEY', updated_at: T2, visibility: 'private' },
      ]),
    );
    const { ctx, info } = context(gh, { organization: 'octo', repositories: [], organizationVisibility: 'private' });
    const [p] = await preflight(ctx, [ORG('private')]);
    expect(p.sharing?.map((s) => s.visibility)).toEqual(['private', 'private']);
    expect(p.visibilityChanges).toEqual(['AWS_ACCESS_KEY_ID visibility changes from all to private']);
    expect(info[0]).toBe(
      'organization octo: public key kid-1, holds both secrets (visibility private / private); AWS_ACCESS_KEY_ID visibility changes from all to private',
    );
  });

  it('an explicit visibility for a secret that does not exist yet announces no change', async () => {
    const { gh } = scriptedGitHub(orgRoutes([]));
    const [p] = await preflight(context(gh, { organization: 'octo', repositories: [], organizationVisibility: 'all' }).ctx, [ORG('all')]);
    expect(p.sharing?.map((s) => s.visibility)).toEqual(['all', 'all']);
    expect(p.visibilityChanges).toEqual([]);
  });

  it("visibility 'selected' from the input: the named repositories, resolved once to ids", async () => {
    const { gh, calls } = scriptedGitHub(
      {
        'GET /orgs/Octo/actions/secrets/public-key': KEY,
        'GET /orgs/Octo/actions/secrets': secrets({ name: 'AWS_ACCESS_KEY_ID', updated_at: T1, visibility: 'selected' }),
      },
      { 'GET /orgs/Octo/repos': [[{ name: 'web', id: 22 }, { name: 'API', id: 11 }]] },
    );
    const { ctx, info } = context(gh, {
      organization: 'Octo',
      repositories: [],
      organizationVisibility: 'selected',
      organizationSelectedRepositories: ['api', 'web'],
    });
    const [p] = await preflight(ctx, [{ ...ORG('selected'), org: 'Octo' } as Destination]);
    const selected = { visibility: 'selected', selectedRepositoryIds: [11, 22], selectedNames: ['octo/api', 'octo/web'] };
    expect(p.sharing).toEqual([selected, selected]);
    expect(info[0]).toBe('organization Octo: selected repositories api, web (ids 11, 22)');
    // The existing secret's own list is not read: the input decides.
    expect(calls.some((c) => c.route.endsWith('/repositories'))).toBe(false);
  });

  it("an existing secret shared with 'selected' repositories keeps its list (read from GitHub) when the input is empty", async () => {
    const { gh } = scriptedGitHub(
      orgRoutes([{ name: 'AWS_ACCESS_KEY_ID', updated_at: T1, visibility: 'selected' }], {
        'GET /orgs/octo/actions/secrets/AWS_ACCESS_KEY_ID/repositories': {
          total_count: 2,
          repositories: [
            { id: 5, full_name: 'Octo/API' },
            { id: 6, full_name: 'octo/ops' },
          ],
        },
      }),
    );
    const [p] = await preflight(context(gh, { organization: 'octo', repositories: [] }).ctx, [ORG()]);
    expect(p.sharing?.[0]).toEqual({ visibility: 'selected', selectedRepositoryIds: [5, 6], selectedNames: ['octo/api', 'octo/ops'] });
    expect(p.sharing?.[1].visibility).toBe('private');
  });

  it('a failed read of that list names the secret and the organization', async () => {
    const { gh } = scriptedGitHub(orgRoutes([{ name: 'AWS_SECRET_ACCESS_KEY', updated_at: T1, visibility: 'selected' }]));
    await expect(preflight(context(gh, { organization: 'octo', repositories: [] }).ctx, [ORG()])).rejects.toThrow(
      'listing the repositories that can read AWS_SECRET_ACCESS_KEY in organization octo: 404',
    );
  });
});

describe('coversRepository: does a destination hold the job its own credentials?', () => {
  const prepared = (destination: Destination, sharing?: Prepared['sharing']): Prepared => ({
    destination,
    publicKey: { keyId: 'k', key: 'K' },
    create: false,
    held: 'both',
    idHeld: true,
    oldestUpdate: undefined,
    updates: [],
    sharing,
    visibilityChanges: [],
  });
  const share = (visibility: 'all' | 'private' | 'selected', names: string[] = []) => ({
    visibility,
    selectedRepositoryIds: [],
    selectedNames: names,
  });

  it.each<[string, Prepared[], boolean]>([
    ['its repository secrets (names ignore case)', [prepared({ kind: 'repository', owner: 'Octo', repo: 'API' })], true],
    ['one of its environments', [prepared(ENV)], true],
    ['another repository', [prepared({ kind: 'repository', owner: 'octo', repo: 'web' })], false],
    ['another owner', [prepared({ kind: 'repository', owner: 'other', repo: 'api' })], false],
    ['its Dependabot secrets only (not what a workflow reads)', [prepared(DEP)], false],
    ['an organization secret for all repositories', [prepared(ORG(), [share('all'), share('all')])], true],
    ['an organization secret for private repositories', [prepared(ORG(), [share('private'), share('private')])], true],
    ['selected repositories including it', [prepared(ORG(), [share('selected', ['octo/api']), share('all')])], true],
    ['only one of the two secrets shared with it', [prepared(ORG(), [share('selected', ['octo/api']), share('selected', ['octo/web'])])], false],
    ['selected repositories without it', [prepared(ORG(), [share('selected', ['octo/web']), share('selected', ['octo/web'])])], false],
    ['another organization', [prepared({ ...ORG(), org: 'other' } as Destination, [share('all'), share('all')])], false],
    ['an organization destination not read yet', [prepared(ORG())], false],
    ['Dependabot organization secrets', [prepared({ ...ORG(), kind: 'dependabot-organization' } as Destination, [share('all'), share('all')])], false],
    ['nothing', [], false],
  ])('%s → %s', (_, list, expected) => {
    expect(coversRepository(list, 'octo/Api')).toBe(expected);
  });
});

describe('mapLimit', () => {
  it('keeps the order, and never has more than `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (n, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return `${i}:${n}`;
    });
    expect(out).toEqual(['0:5', '1:1', '2:3', '3:2', '4:4']);
    expect(most).toBe(2);
  });

  it('nothing to do: no call; a limit above the count starts one worker per item', async () => {
    const seen: number[] = [];
    expect(await mapLimit([], 4, async () => seen.push(1))).toEqual([]);
    expect(await mapLimit([1, 2], 8, async (n) => n * 2)).toEqual([2, 4]);
    expect(seen).toEqual([]);
  });
});

describe('createMissingEnvironments', () => {
  const toCreate = (environment: string, create = true): Prepared => ({
    destination: { kind: 'environment', owner: 'octo', repo: 'api', environment },
    publicKey: { keyId: '', key: '' },
    create,
    held: 'none',
    idHeld: false,
    oldestUpdate: undefined,
    updates: [],
    sharing: undefined,
    visibilityChanges: [],
  });

  it('creates only the missing environments, paced, then reads their public keys', async () => {
    const { gh, calls } = scriptedGitHub({
      'PUT /repos/octo/api/environments/new%20one': {},
      'GET /repos/octo/api/environments/new%20one/secrets/public-key': { key_id: 'fresh', key: 'FK' },
    });
    const { ctx, info, taken } = context(gh);
    const list = [toCreate('old', false), toCreate('new one')];
    const created: number[] = [];
    await createMissingEnvironments(ctx, list, (i) => created.push(i));
    expect(created).toEqual([1]);
    expect(taken).toEqual([1]);
    expect(list[1].publicKey).toEqual({ keyId: 'fresh', key: 'FK' });
    expect(list[0].publicKey).toEqual({ keyId: '', key: '' });
    expect(info).toEqual(["Created environment 'new one' in octo/api"]);
    expect(calls.map((c) => c.route)).toEqual([
      'PUT /repos/octo/api/environments/new%20one',
      'GET /repos/octo/api/environments/new%20one/secrets/public-key',
    ]);
  });

  it('a failed creation names the environment and the permission; nothing is reported created', async () => {
    const { gh } = scriptedGitHub({ 'PUT /repos/octo/api/environments/x': failure(403, 'Forbidden') });
    const created: number[] = [];
    await expect(createMissingEnvironments(context(gh).ctx, [toCreate('x')], (i) => created.push(i))).rejects.toThrow(
      "creating environment 'x' in octo/api: 403 Forbidden. the token needs repository permission 'Administration: write'",
    );
    expect(created).toEqual([]);
  });

  it('a created environment whose key cannot be read: reported created, then the error', async () => {
    const { gh } = scriptedGitHub({ 'PUT /repos/octo/api/environments/x': {} });
    const created: number[] = [];
    await expect(createMissingEnvironments(context(gh).ctx, [toCreate('x')], (i) => created.push(i))).rejects.toThrow(
      "reading the public key of octo/api environment 'x': 404",
    );
    expect(created).toEqual([0]);
  });
});
