import { describe, it, expect } from '@jest/globals';
import {
  type Destination,
  describe as describeDestination,
  destinationsFrom,
  isOrganization,
  label,
  secretsPath,
  writePermission,
} from '../src/github/destinations.js';
import type { Inputs } from '../src/config/inputs.js';
import { inputsWith } from './support/fixtures.js';

function inputs(overrides: Partial<Inputs> = {}): Inputs {
  return inputsWith({ repositories: [], ...overrides });
}

const API = { owner: 'octo', repo: 'api' };
const WEB = { owner: 'octo', repo: 'web' };

const repo = (r: { owner: string; repo: string }): Destination => ({ kind: 'repository', ...r });
const env = (r: { owner: string; repo: string }, environment: string): Destination => ({
  kind: 'environment',
  ...r,
  environment,
});
const depRepo = (r: { owner: string; repo: string }): Destination => ({ kind: 'dependabot-repository', ...r });

describe('destinationsFrom', () => {
  it.each<[string, Partial<Inputs>, Destination[]]>([
    ['nothing', {}, []],
    ['one repository', { repositories: [API] }, [repo(API)]],
    ['repositories in input order', { repositories: [WEB, API] }, [repo(WEB), repo(API)]],
    [
      'environments replace repository secrets, per repository, in order',
      { repositories: [API, WEB], environments: ['prod', 'staging'] },
      [env(API, 'prod'), env(API, 'staging'), env(WEB, 'prod'), env(WEB, 'staging')],
    ],
    [
      'dependabot after each repository',
      { repositories: [API, WEB], dependabot: true },
      [repo(API), depRepo(API), repo(WEB), depRepo(WEB)],
    ],
    [
      'dependabot after each repository’s environments',
      { repositories: [API, WEB], environments: ['prod', 'staging'], dependabot: true },
      [env(API, 'prod'), env(API, 'staging'), depRepo(API), env(WEB, 'prod'), env(WEB, 'staging'), depRepo(WEB)],
    ],
    [
      'organization only (visibility empty: keep what each secret has)',
      { organization: 'octo' },
      [{ kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] }],
    ],
    [
      'organization only, with dependabot',
      { organization: 'octo', organizationVisibility: 'all', dependabot: true },
      [
        { kind: 'organization', org: 'octo', visibility: 'all', selectedRepositories: [] },
        { kind: 'dependabot-organization', org: 'octo', visibility: 'all', selectedRepositories: [] },
      ],
    ],
    [
      'repositories first, then the organization, then dependabot-organization',
      {
        repositories: [API],
        environments: ['prod'],
        dependabot: true,
        organization: 'octo',
        organizationVisibility: 'selected',
        organizationSelectedRepositories: ['api', 'web'],
      },
      [
        env(API, 'prod'),
        depRepo(API),
        { kind: 'organization', org: 'octo', visibility: 'selected', selectedRepositories: ['api', 'web'] },
        { kind: 'dependabot-organization', org: 'octo', visibility: 'selected', selectedRepositories: ['api', 'web'] },
      ],
    ],
  ])('%s', (_, overrides, expected) => {
    expect(destinationsFrom(inputs(overrides))).toEqual(expected);
  });
});

const ORG: Destination = { kind: 'organization', org: 'octo', visibility: 'selected', selectedRepositories: ['api'] };
const DEP_ORG: Destination = { kind: 'dependabot-organization', org: 'octo', visibility: 'all', selectedRepositories: [] };

describe('label', () => {
  it.each<[Destination, string]>([
    [repo(API), 'octo/api'],
    [env(API, 'prod'), "octo/api environment 'prod'"],
    [env(API, 'Staging EU'), "octo/api environment 'Staging EU'"],
    [depRepo(API), 'octo/api (Dependabot)'],
    [ORG, 'organization octo'],
    [DEP_ORG, 'organization octo (Dependabot)'],
  ])('%j → %s', (d, expected) => {
    expect(label(d)).toBe(expected);
  });

  it('labels are distinct for every kind of the same repository / organization', () => {
    const all = [repo(API), env(API, 'prod'), depRepo(API), ORG, DEP_ORG].map(label);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('secretsPath', () => {
  it.each<[Destination, string]>([
    [repo(API), '/repos/octo/api/actions/secrets'],
    [repo({ owner: 'Octo-Org', repo: 'my.repo_name-2' }), '/repos/Octo-Org/my.repo_name-2/actions/secrets'],
    [env(API, 'prod'), '/repos/octo/api/environments/prod/secrets'],
    [env(API, 'Staging EU'), '/repos/octo/api/environments/Staging%20EU/secrets'],
    [env(API, 'a#b?c%d&e'), '/repos/octo/api/environments/a%23b%3Fc%25d%26e/secrets'],
    [env(API, 'prod (eu) ü'), '/repos/octo/api/environments/prod%20(eu)%20%C3%BC/secrets'],
    [depRepo(API), '/repos/octo/api/dependabot/secrets'],
    [ORG, '/orgs/octo/actions/secrets'],
    [DEP_ORG, '/orgs/octo/dependabot/secrets'],
  ])('%j → %s', (d, expected) => {
    expect(secretsPath(d)).toBe(expected);
  });

  it.each(['Staging EU', 'a#b?c%d&e', 'prod (eu) ü', 'x+y=z'])(
    'the environment segment decodes back to %j and holds no raw space, #, ? or %%',
    (name) => {
      const segment = secretsPath(env(API, name)).split('/')[5];
      expect(decodeURIComponent(segment)).toBe(name);
      expect(segment).not.toMatch(/[ #?]/);
      expect(segment.replace(/%[0-9A-F]{2}/g, '')).not.toContain('%');
    },
  );
});

describe('isOrganization', () => {
  it.each<[Destination, boolean]>([
    [repo(API), false],
    [env(API, 'prod'), false],
    [depRepo(API), false],
    [ORG, true],
    [DEP_ORG, true],
  ])('%j → %s', (d, expected) => {
    expect(isOrganization(d)).toBe(expected);
  });
});

describe('writePermission', () => {
  it.each<[Destination, string[]]>([
    [repo(API), ['Secrets: write', 'repo']],
    [env(API, 'prod'), ['Environments: write', 'repo']],
    [depRepo(API), ['Dependabot secrets: write', 'repo']],
    [ORG, ['organization', 'Secrets: write', 'admin:org']],
    [DEP_ORG, ['organization', 'Dependabot secrets: write', 'admin:org']],
  ])('%j names %j', (d, parts) => {
    const hint = writePermission(d);
    for (const p of parts) expect(hint).toContain(p);
    expect(hint).not.toMatch(/\n/);
  });

  it('repository-level hints do not ask for organization scopes', () => {
    for (const d of [repo(API), env(API, 'prod'), depRepo(API)]) expect(writePermission(d)).not.toContain('admin:org');
  });
});

describe('describe()', () => {
  it.each<[Destination, Record<string, unknown>]>([
    [repo(API), { kind: 'repository', repository: 'octo/api' }],
    [depRepo(API), { kind: 'dependabot-repository', repository: 'octo/api' }],
    [env(API, 'Staging EU'), { kind: 'environment', repository: 'octo/api', environment: 'Staging EU' }],
    [
      { kind: 'organization', org: 'octo', visibility: 'private', selectedRepositories: [] },
      { kind: 'organization', organization: 'octo', visibility: 'private' },
    ],
    [
      { kind: 'organization', org: 'octo', visibility: 'all', selectedRepositories: [] },
      { kind: 'organization', organization: 'octo', visibility: 'all' },
    ],
    [ORG, { kind: 'organization', organization: 'octo', visibility: 'selected', selectedRepositories: ['api'] }],
    [
      { kind: 'dependabot-organization', org: 'octo', visibility: 'selected', selectedRepositories: ['api', 'web'] },
      { kind: 'dependabot-organization', organization: 'octo', visibility: 'selected', selectedRepositories: ['api', 'web'] },
    ],
    [DEP_ORG, { kind: 'dependabot-organization', organization: 'octo', visibility: 'all' }],
    // An empty organization-visibility and no visibility known: a new secret is private.
    [
      { kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] },
      { kind: 'organization', organization: 'octo', visibility: 'private' },
    ],
  ])('%j → %j', (d, expected) => {
    // toStrictEqual: no extra keys (e.g. selectedRepositories outside 'selected', or an undefined one).
    expect(describeDestination(d)).toStrictEqual(expected);
  });

  it('round-trips through JSON unchanged', () => {
    for (const d of [repo(API), env(API, 'a "quoted" env'), depRepo(API), ORG, DEP_ORG]) {
      const described = describeDestination(d);
      expect(JSON.parse(JSON.stringify(described))).toEqual(described);
    }
  });
});
