/**
 * access-key-id-as: variable, in-process: the inputs rule, the variables API calls (src/github/variables.ts), what
 * preflight reads from the variables, and how outputs and the summary name the variable. No network.
 */
import { describe, expect, it } from '@jest/globals';
import type { RotateContext } from '../src/rotation/run-state.js';
import { type Destination, heldNames, shownNames } from '../src/github/destinations.js';
import { ActionError, InputError } from '../src/shared/errors.js';
import { type Inputs, readInputs } from '../src/config/inputs.js';
import { Journal } from '../src/rotation/journal.js';
import { preflight } from '../src/github/preflight.js';
import { outputs, summaryModel } from '../src/action/outputs.js';
import type { RotationResult } from '../src/rotation/result.js';
import { deleteVariable, listVariables, writeVariable } from '../src/github/variables.js';
import { inputsWith } from './support/fixtures.js';
import { actionInputDefaults } from './support/runner.js';
import { failure, scriptedGitHub } from './support/scripted-github.js';

const REPO: Destination & { kind: 'repository' } = { kind: 'repository', owner: 'octo', repo: 'api' };
const ENV: Destination & { kind: 'environment' } = { kind: 'environment', owner: 'octo', repo: 'api', environment: 'prod' };
const ORG = (visibility: Inputs['organizationVisibility'] = undefined): Destination & { kind: 'organization' } => ({
  kind: 'organization',
  org: 'octo',
  visibility,
  selectedRepositories: [],
});
const T1 = '2026-01-01T00:00:01Z';
const T2 = '2026-02-01T00:00:02Z';
const KEY = { key_id: 'kid-1', key: 'PUBLIC' };

function read(overrides: Record<string, string>): Inputs {
  const values: Record<string, string> = { ...actionInputDefaults(), 'github-token': 'ghp_token', ...overrides };
  return readInputs((name) => values[name] ?? '', { GITHUB_REPOSITORY: 'octo/self' });
}

function rejected(overrides: Record<string, string>): InputError {
  try {
    read(overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error(`expected ${JSON.stringify(overrides)} to be rejected`);
}

describe('inputs: access-key-id-as', () => {
  it('defaults to secret; variable is read as such', () => {
    expect(read({}).accessKeyIdAs).toBe('secret');
    expect(read({ 'access-key-id-as': 'variable' }).accessKeyIdAs).toBe('variable');
    expect(read({ 'access-key-id-as': ' secret ' }).accessKeyIdAs).toBe('secret');
  });

  it('rejects another value, naming the two it accepts', () => {
    const err = rejected({ 'access-key-id-as': 'vars' });
    expect(err.input).toBe('access-key-id-as');
    expect(err.message).toBe("access-key-id-as: 'vars' is not one of secret, variable");
  });

  it('refuses variable with dependabot: true before any network call, naming both inputs and what to do', () => {
    const err = rejected({ 'access-key-id-as': 'variable', dependabot: 'true' });
    expect(err.input).toBe('access-key-id-as');
    expect(err.message).toMatch(/^access-key-id-as: 'variable' cannot be used with dependabot: true: Dependabot has no variables/);
    expect(err.message).toContain('access-key-id-as: secret');
    expect(err.message).toContain('dependabot: false');
  });

  it('accepts secret with dependabot: true, and variable with an organization', () => {
    expect(read({ dependabot: 'true' }).dependabot).toBe(true);
    expect(read({ 'access-key-id-as': 'variable', organization: 'octo', repositories: 'octo/api' }).organization).toBe('octo');
  });
});

describe('names: what each destination is given', () => {
  it('the two secrets, or the id as a variable and the secret access key as a secret', () => {
    expect(heldNames(inputsWith())).toEqual({ secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], variables: [] });
    expect(heldNames(inputsWith({ accessKeyIdAs: 'variable', accessKeyIdSecretName: 'KEY_ID' }))).toEqual({
      secrets: ['AWS_SECRET_ACCESS_KEY'],
      variables: ['KEY_ID'],
    });
    expect(shownNames(inputsWith())).toBe('AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY');
    expect(shownNames(inputsWith({ accessKeyIdAs: 'variable' }))).toBe('variable AWS_ACCESS_KEY_ID, secret AWS_SECRET_ACCESS_KEY');
  });
});

describe('variables API', () => {
  const paced: string[] = [];
  const pace = async () => void paced.push('take');

  it('lists every page of 30 (GitHub lists at most 30 variables a page), names in upper case, values dropped', async () => {
    const page1 = Array.from({ length: 30 }, (_, i) => ({ name: `v${i}`, value: 'x', updated_at: T1 }));
    const page2 = [{ name: 'aws_access_key_id', value: 'AKIA', updated_at: T2 }];
    const { gh, calls } = scriptedGitHub({
      'GET /repos/octo/api/actions/variables': (p: { page: number }) => ({ total_count: 31, variables: p.page === 1 ? page1 : page2 }),
    });
    const listed = await listVariables(gh, REPO);
    expect(listed.size).toBe(31);
    expect(listed.get('AWS_ACCESS_KEY_ID')).toEqual({ updatedAt: Date.parse(T2), visibility: undefined });
    expect(calls.map((c) => c.params)).toEqual([{ per_page: 30, page: 1 }, { per_page: 30, page: 2 }]);
  });

  it.each([
    ['repository', REPO, '/repos/octo/api/actions/variables'],
    ['environment', ENV, '/repos/octo/api/environments/prod/variables'],
    ['organization', ORG(), '/orgs/octo/actions/variables'],
  ] as const)('%s: creates with POST when it does not exist', async (_k, d, path) => {
    const { gh, calls } = scriptedGitHub({ [`POST ${path}`]: {} });
    const sharing = d.kind === 'organization' ? { visibility: 'private' as const, selectedRepositoryIds: [] } : undefined;
    await writeVariable(gh, d, 'AWS_ACCESS_KEY_ID', 'AKIANEW', sharing, false, pace);
    expect(calls).toEqual([
      {
        route: `POST ${path}`,
        params: { name: 'AWS_ACCESS_KEY_ID', value: 'AKIANEW', ...(sharing ? { visibility: 'private' } : {}) },
      },
    ]);
  });

  it('updates with PATCH when it exists; an organization variable keeps its selected repositories', async () => {
    const { gh, calls } = scriptedGitHub({ 'PATCH /orgs/octo/actions/variables/AWS_ACCESS_KEY_ID': {} });
    await writeVariable(gh, ORG(), 'AWS_ACCESS_KEY_ID', 'AKIANEW', { visibility: 'selected', selectedRepositoryIds: [7, 9] }, true, pace);
    expect(calls).toEqual([
      {
        route: 'PATCH /orgs/octo/actions/variables/AWS_ACCESS_KEY_ID',
        params: { name: 'AWS_ACCESS_KEY_ID', value: 'AKIANEW', visibility: 'selected', selected_repository_ids: [7, 9] },
      },
    ]);
  });

  it('create, then update: a POST answered 409 (it exists after all) is followed by a PATCH, paced as one more write', async () => {
    paced.length = 0;
    const { gh, calls } = scriptedGitHub({
      'POST /repos/octo/api/actions/variables': failure(409, 'Already exists'),
      'PATCH /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID': {},
    });
    await writeVariable(gh, REPO, 'AWS_ACCESS_KEY_ID', 'AKIANEW', undefined, false, pace);
    expect(calls.map((c) => c.route)).toEqual(['POST /repos/octo/api/actions/variables', 'PATCH /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID']);
    expect(paced).toEqual(['take']);
  });

  it('a PATCH answered 404 (it went meanwhile) is followed by a POST', async () => {
    const { gh, calls } = scriptedGitHub({ 'POST /repos/octo/api/actions/variables': {} });
    await writeVariable(gh, REPO, 'AWS_ACCESS_KEY_ID', 'AKIANEW', undefined, true, pace);
    expect(calls.map((c) => c.route)).toEqual(['PATCH /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID', 'POST /repos/octo/api/actions/variables']);
  });

  it.each([
    ['repository', REPO, "the token needs repository permission 'Variables: write'"],
    ['environment', ENV, "repository permissions 'Environments: write' and 'Variables: write'"],
    ['organization', ORG(), "the token needs organization permission 'Variables: write' (classic PAT: admin:org scope)"],
  ] as const)('%s: a 403 names the variable, the destination and the Variables permission', async (_k, d, permission) => {
    const { gh } = scriptedGitHub({});
    const denied = failure(403, 'Resource not accessible by personal access token');
    const g = { ...gh, request: async () => Promise.reject(denied) };
    const err = await writeVariable(g, d, 'AWS_ACCESS_KEY_ID', 'AKIANEW', undefined, false, pace).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect((err as Error).message).toMatch(/^writing variable AWS_ACCESS_KEY_ID to /);
    expect((err as Error).message).toContain(permission);
  });

  it('delete: DELETE, and a 404 counts as done', async () => {
    const { gh, calls } = scriptedGitHub({ 'DELETE /repos/octo/api/environments/prod/variables/AWS_ACCESS_KEY_ID': {} });
    await deleteVariable(gh, ENV, 'AWS_ACCESS_KEY_ID');
    await deleteVariable(gh, REPO, 'AWS_ACCESS_KEY_ID');
    expect(calls.map((c) => c.route)).toEqual([
      'DELETE /repos/octo/api/environments/prod/variables/AWS_ACCESS_KEY_ID',
      'DELETE /repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID',
    ]);
  });
});

function context(gh: ReturnType<typeof scriptedGitHub>['gh'], inputs: Partial<Inputs> = {}) {
  const info: string[] = [];
  const ctx = {
    inputs: inputsWith({ accessKeyIdAs: 'variable', ...inputs }),
    gh,
    io: { info: (m: string) => void info.push(m) },
    pacing: { readConcurrency: 2 },
    cancel: { checkpoint: () => {}, requested: false },
  } as unknown as RotateContext;
  return { ctx, info };
}

const secrets = (...list: { name: string; updated_at: string; visibility?: string }[]) => ({ total_count: list.length, secrets: list });
const variables = (...list: { name: string; updated_at: string; visibility?: string }[]) => ({
  total_count: list.length,
  variables: list.map((v) => ({ value: 'AKIAOLD', ...v })),
});

describe('preflight with access-key-id-as: variable', () => {
  it("reads the id from the variables: held, when it was written (the planner's and the proofs' timestamps)", async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': KEY,
      'GET /repos/octo/api/actions/secrets': secrets({ name: 'AWS_SECRET_ACCESS_KEY', updated_at: T2 }),
      'GET /repos/octo/api/actions/variables': variables({ name: 'AWS_ACCESS_KEY_ID', updated_at: T1 }),
    });
    const { ctx, info } = context(gh);
    const [p] = await preflight(ctx, [REPO]);
    expect(p).toMatchObject({ held: 'both', idHeld: true, oldestUpdate: Date.parse(T1), updates: [Date.parse(T1), Date.parse(T2)] });
    expect(info).toEqual(['octo/api: public key kid-1, holds variable AWS_ACCESS_KEY_ID and secret AWS_SECRET_ACCESS_KEY']);
  });

  it('an id held only as a secret does not count; the log says the run leaves that secret alone', async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/environments/prod/secrets/public-key': KEY,
      'GET /repos/octo/api/environments/prod/secrets': secrets(
        { name: 'AWS_ACCESS_KEY_ID', updated_at: T1 },
        { name: 'AWS_SECRET_ACCESS_KEY', updated_at: T1 },
      ),
      'GET /repos/octo/api/environments/prod/variables': variables(),
    });
    const { ctx, info } = context(gh);
    const [p] = await preflight(ctx, [ENV]);
    expect(p).toMatchObject({ held: 'partial', idHeld: false, oldestUpdate: undefined, updates: [Date.parse(T1)] });
    expect(info[0]).toBe(
      "octo/api environment 'prod': public key kid-1, holds only one of variable AWS_ACCESS_KEY_ID and secret AWS_SECRET_ACCESS_KEY",
    );
    expect(info[1]).toContain('also holds a secret AWS_ACCESS_KEY_ID, which this run leaves as it is');
  });

  it('a variables listing the token may not read fails preflight, naming the Variables permission, before any key exists', async () => {
    const { gh } = scriptedGitHub({
      'GET /repos/octo/api/actions/secrets/public-key': KEY,
      'GET /repos/octo/api/actions/secrets': secrets(),
      'GET /repos/octo/api/actions/variables': failure(403, 'Resource not accessible by personal access token'),
    });
    const { ctx } = context(gh);
    const err = await preflight(ctx, [REPO]).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^listing the variables of octo\/api: 403 /);
    expect((err as Error).message).toContain("repository permission 'Variables: write'");
  });

  it("organization: the variable keeps its own visibility and selected repositories (read from the variable's endpoint)", async () => {
    const { gh, calls } = scriptedGitHub({
      'GET /orgs/octo/actions/secrets/public-key': KEY,
      'GET /orgs/octo/actions/secrets': secrets({ name: 'AWS_SECRET_ACCESS_KEY', updated_at: T1, visibility: 'all' }),
      'GET /orgs/octo/actions/variables': variables({ name: 'AWS_ACCESS_KEY_ID', updated_at: T1, visibility: 'selected' }),
      'GET /orgs/octo/actions/variables/AWS_ACCESS_KEY_ID/repositories': { total_count: 1, repositories: [{ id: 7, full_name: 'octo/api' }] },
    });
    const { ctx } = context(gh);
    const [p] = await preflight(ctx, [ORG()]);
    expect(p.sharing).toEqual([
      { visibility: 'selected', selectedRepositoryIds: [7], selectedNames: ['octo/api'] },
      { visibility: 'all', selectedRepositoryIds: [], selectedNames: [] },
    ]);
    expect(calls.map((c) => c.route)).not.toContain('GET /orgs/octo/actions/secrets/AWS_ACCESS_KEY_ID/repositories');
  });

  it('organization-visibility changing the variable is announced like a secret', async () => {
    const { gh } = scriptedGitHub({
      'GET /orgs/octo/actions/secrets/public-key': KEY,
      'GET /orgs/octo/actions/secrets': secrets({ name: 'AWS_SECRET_ACCESS_KEY', updated_at: T1, visibility: 'private' }),
      'GET /orgs/octo/actions/variables': variables({ name: 'AWS_ACCESS_KEY_ID', updated_at: T1, visibility: 'all' }),
    });
    const { ctx } = context(gh, { organizationVisibility: 'private' });
    const [p] = await preflight(ctx, [ORG('private')]);
    expect(p.visibilityChanges).toEqual(['AWS_ACCESS_KEY_ID visibility changes from all to private']);
  });
});

describe('outputs and summary name the variable as a variable', () => {
  const result = (): RotationResult => ({
    userName: 'deployer',
    userCreated: false,
    dryRun: false,
    plan: undefined,
    rotated: true,
    accessKeyId: 'AKIANEW',
    newKeyId: 'AKIANEW',
    previous: [],
    destinations: [{ destination: REPO, label: 'octo/api', outcome: 'written', keyId: 'AKIANEW' }],
    error: undefined,
    cancelled: false,
    steps: [],
    journal: new Journal(1),
  });

  it('destinations: secrets and variables', () => {
    const inputs = inputsWith({ accessKeyIdAs: 'variable' });
    expect(JSON.parse(outputs(result(), inputs).destinations)).toEqual([
      { kind: 'repository', repository: 'octo/api', secrets: ['AWS_SECRET_ACCESS_KEY'], variables: ['AWS_ACCESS_KEY_ID'] },
    ]);
    expect(JSON.parse(outputs(result(), inputsWith()).destinations)).toEqual([
      { kind: 'repository', repository: 'octo/api', secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
    ]);
  });

  it('the summary says what is stored as what, only when the id is a variable', () => {
    const stored = (inputs: Inputs) => summaryModel(result(), inputs).facts.filter(([k]) => k === 'Stored as');
    expect(stored(inputsWith({ accessKeyIdAs: 'variable' }))).toEqual([
      ['Stored as', 'access key id: variable AWS_ACCESS_KEY_ID (vars.AWS_ACCESS_KEY_ID); secret access key: secret AWS_SECRET_ACCESS_KEY'],
    ]);
    expect(stored(inputsWith())).toEqual([]);
  });
});
