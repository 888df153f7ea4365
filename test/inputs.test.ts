import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { InputError, InputErrors, errorMessage } from '../src/shared/errors.js';
import { INPUT_NAMES, type InputReader, type Inputs, readInputs, splitList } from '../src/config/inputs.js';

interface ActionYml {
  inputs: Record<string, { required?: boolean; default?: string }>;
}

const actionYml = parse(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as ActionYml;

/** What a runner passes for every input: its action.yml default ('' when it has none). */
const DEFAULTS: Record<string, string> = Object.fromEntries(
  Object.entries(actionYml.inputs).map(([name, spec]) => [name, spec.default === undefined ? '' : String(spec.default)]),
);

const ENV = { GITHUB_REPOSITORY: 'octo/self', GITHUB_ENV: '/tmp/github-env' };

/** An input reader that answers like a runner: action.yml defaults, a token, and the overrides. */
function reader(overrides: Record<string, string> = {}): InputReader {
  const values: Record<string, string> = { ...DEFAULTS, 'github-token': 'ghp_token', ...overrides };
  return (name) => {
    if (!(name in DEFAULTS)) throw new Error(`readInputs read '${name}', which action.yml does not declare`);
    return values[name] ?? '';
  };
}

function read(overrides: Record<string, string> = {}, env: Record<string, string | undefined> = ENV): Inputs {
  return readInputs(reader(overrides), env);
}

/** The InputError readInputs throws for these overrides (fails the test when it does not throw one). */
function rejection(overrides: Record<string, string>, env: Record<string, string | undefined> = ENV): InputError {
  let caught: unknown;
  try {
    read(overrides, env);
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected readInputs to reject ${JSON.stringify(overrides)}`);
  expect(caught).toBeInstanceOf(InputError);
  const err = caught as InputError;
  expect(err.message).not.toMatch(/[\r\n]/);
  return err;
}

function expectRejected(overrides: Record<string, string>, input: string, ...mentions: string[]): InputError {
  const err = rejection(overrides);
  expect(err.message.startsWith(`${input}: `)).toBe(true);
  for (const m of mentions) expect(err.message).toContain(m);
  return err;
}

describe('action.yml defaults', () => {
  it('declares github-token as the only required input, with no default', () => {
    const required = Object.entries(actionYml.inputs)
      .filter(([, spec]) => spec.required === true)
      .map(([name]) => name);
    expect(required).toEqual(['github-token']);
    expect(actionYml.inputs['github-token'].default).toBeUndefined();
  });

  it('parse cleanly and give the documented values', () => {
    const expected: Inputs = {
      githubToken: 'ghp_token',
      iamUserName: undefined,
      repositories: [{ owner: 'octo', repo: 'self' }],
      environments: [],
      accessKeyIdSecretName: 'AWS_ACCESS_KEY_ID',
      secretAccessKeySecretName: 'AWS_SECRET_ACCESS_KEY',
      accessKeyIdAs: 'secret',
      maxAgeDays: 0,
      previousKey: 'delete',
      keyLimit: 'delete-inactive',
      verifyTimeoutSeconds: 60,
      dryRun: false,
      awsRegion: 'us-east-1',
      organization: undefined,
      organizationVisibility: undefined,
      organizationSelectedRepositories: [],
      dependabot: false,
      createEnvironments: false,
      createUser: 'false',
      userPath: '/',
      userGroups: [],
      userPolicyArns: [],
      userPermissionsBoundary: undefined,
      userTags: [],
      exportCredentials: false,
      retireAfterHours: 0,
      oidcPlan: undefined,
      writeIntervalSeconds: undefined,
      copilot: false,
    };
    expect(read()).toEqual(expected);
  });

  it('every input readInputs reads is declared in action.yml', () => {
    const seen = new Set<string>();
    readInputs((name) => {
      seen.add(name);
      return reader()(name);
    }, ENV);
    expect([...seen].filter((n) => !(n in DEFAULTS))).toEqual([]);
    // and every declared input is read
    expect(Object.keys(DEFAULTS).filter((n) => !seen.has(n))).toEqual([]);
  });

  it('a reader returning "" for everything but the token gives the same result as the defaults', () => {
    const empty = readInputs((name) => (name === 'github-token' ? 'ghp_token' : ''), ENV);
    expect(empty).toEqual(read());
  });
});

describe('github-token', () => {
  it.each(['', '   ', '\n'])('is required (%j)', (token) => {
    const err = expectRejected({ 'github-token': token }, 'github-token', 'required');
    expect(err.message).toContain('GITHUB_TOKEN');
  });

  it('is trimmed', () => {
    expect(read({ 'github-token': '  ghp_abc \n' }).githubToken).toBe('ghp_abc');
  });
});

describe('repositories', () => {
  it('defaults to GITHUB_REPOSITORY', () => {
    expect(read({}, { GITHUB_REPOSITORY: 'acme/widgets' }).repositories).toEqual([{ owner: 'acme', repo: 'widgets' }]);
  });

  it('given repositories replace GITHUB_REPOSITORY', () => {
    expect(read({ repositories: 'a/b' }, { GITHUB_REPOSITORY: 'acme/widgets' }).repositories).toEqual([
      { owner: 'a', repo: 'b' },
    ]);
  });

  it.each([{}, { GITHUB_REPOSITORY: '' }, { GITHUB_REPOSITORY: '  ' }])(
    'empty with no GITHUB_REPOSITORY is an error (env %j)',
    (env) => {
      const err = rejection({}, env);
      expect(err.message).toMatch(/^repositories: /);
      expect(err.message).toContain('GITHUB_REPOSITORY');
    },
  );

  it('a malformed GITHUB_REPOSITORY is reported against repositories', () => {
    const err = rejection({}, { GITHUB_REPOSITORY: 'nonsense' });
    expect(err.message).toMatch(/^repositories: /);
    expect(err.message).toContain("'nonsense'");
  });

  it.each([
    ['newlines', 'a/one\nb/two\nc/three'],
    ['commas', 'a/one,b/two,c/three'],
    ['mixed, padded, blank lines', '  a/one ,\n\n b/two\t,, \r\n  c/three  \n'],
    ['case-insensitive duplicates', 'a/one\nb/two\nA/ONE\nc/three\nB/Two'],
  ])('splits on newlines and commas, trims, dedupes (%s)', (_, raw) => {
    expect(read({ repositories: raw }).repositories).toEqual([
      { owner: 'a', repo: 'one' },
      { owner: 'b', repo: 'two' },
      { owner: 'c', repo: 'three' },
    ]);
  });

  it('keeps the spelling of the first of case-insensitive duplicates', () => {
    expect(read({ repositories: 'Octo/API, octo/api' }).repositories).toEqual([{ owner: 'Octo', repo: 'API' }]);
  });

  it.each(['octo/api', 'Octo-Org/my.repo_name-2', 'a/.github', 'o/..x', '0/0', 'octo_emu/api', 'ow_ner/x'])('accepts %j', (value) => {
    const [owner, repo] = value.split('/');
    expect(read({ repositories: value }).repositories).toEqual([{ owner, repo }]);
  });

  it.each(['octo', 'a/b/c', '-x/y', '_x/y', 'o/..', 'o/.', 'o/with space', '/name', 'owner/', `${'a'.repeat(40)}/x`])(
    'rejects %j naming repositories and the value',
    (value) => {
      expectRejected({ repositories: `ok/first\n${value}` }, 'repositories', `'${value}'`);
    },
  );
});

describe('list splitting', () => {
  it.each([
    ['', []],
    [' , \n ,', []],
    ['a', ['a']],
    ['a,b\nc', ['a', 'b', 'c']],
    [' a \r\n b ,c ', ['a', 'b', 'c']],
  ])('splitList(%j)', (raw, expected) => {
    expect(splitList(raw)).toEqual(expected);
  });
});

describe('secret names', () => {
  it('accepts custom names', () => {
    const inputs = read({ 'access-key-id-secret-name': 'deploy_key_id', 'secret-access-key-secret-name': '_Deploy_Secret9' });
    expect(inputs.accessKeyIdSecretName).toBe('deploy_key_id');
    expect(inputs.secretAccessKeySecretName).toBe('_Deploy_Secret9');
  });

  it('falls back to the defaults when empty', () => {
    const inputs = read({ 'access-key-id-secret-name': ' ', 'secret-access-key-secret-name': '' });
    expect(inputs.accessKeyIdSecretName).toBe('AWS_ACCESS_KEY_ID');
    expect(inputs.secretAccessKeySecretName).toBe('AWS_SECRET_ACCESS_KEY');
  });

  it.each([
    ['access-key-id-secret-name', '1KEY'],
    ['access-key-id-secret-name', 'GITHUB_X'],
    ['access-key-id-secret-name', 'github_x'],
    ['access-key-id-secret-name', 'MY-KEY'],
    ['access-key-id-secret-name', 'MY KEY'],
    ['secret-access-key-secret-name', '9SECRET'],
    ['secret-access-key-secret-name', 'GITHUB_TOKEN'],
    ['secret-access-key-secret-name', 'Github_Secret'],
    ['secret-access-key-secret-name', 'SECRET.KEY'],
  ])('%s rejects %j', (input, value) => {
    expectRejected({ [input]: value }, input, `'${value}'`);
  });

  it.each([
    ['KEY', 'key'],
    ['AWS_SECRET_ACCESS_KEY', 'AWS_SECRET_ACCESS_KEY'],
    ['Aws_Key', 'AWS_KEY'],
  ])('rejects equal names ignoring case (%j, %j)', (a, b) => {
    expectRejected(
      { 'access-key-id-secret-name': a, 'secret-access-key-secret-name': b },
      'secret-access-key-secret-name',
      'access-key-id-secret-name',
    );
  });

  it('rejects an access-key-id name equal to the default secret name', () => {
    expectRejected({ 'access-key-id-secret-name': 'aws_secret_access_key' }, 'secret-access-key-secret-name');
  });
});

describe('iam-user-name', () => {
  it('is undefined when empty', () => {
    expect(read({ 'iam-user-name': '  ' }).iamUserName).toBeUndefined();
  });

  it.each(['deployer', 'ci+bot=x,y.z@example-1', 'a', 'u_'.repeat(32)])('accepts %j', (name) => {
    expect(read({ 'iam-user-name': name }).iamUserName).toBe(name);
  });

  it.each(['a'.repeat(65), 'bad/name', 'with space', 'bad:name', 'ünï'])('rejects %j', (name) => {
    expectRejected({ 'iam-user-name': name }, 'iam-user-name', `'${name}'`);
  });
});

describe('whole numbers', () => {
  it.each([
    ['max-age-days', '0', 0],
    ['max-age-days', ' 90 ', 90],
    ['max-age-days', '36500', 36500],
    ['verify-timeout-seconds', '0', 0],
    ['verify-timeout-seconds', '3600', 3600],
  ])('%s accepts %j', (input, value, expected) => {
    const inputs = read({ [input]: value });
    expect(input === 'max-age-days' ? inputs.maxAgeDays : inputs.verifyTimeoutSeconds).toBe(expected);
  });

  it.each(
    ['max-age-days', 'verify-timeout-seconds'].flatMap((input) =>
      ['1.5', '-1', 'abc', '1e3', '0x10', '+5', '7 days', 'NaN', 'Infinity', '99999999999999999999'].map(
        (value) => [input, value] as const,
      ),
    ),
  )('%s rejects %j', (input, value) => {
    expectRejected({ [input]: value }, input, `'${value}'`);
  });

  it.each([
    ['max-age-days', '36501'],
    ['verify-timeout-seconds', '3601'],
  ])('%s rejects too large %j', (input, value) => {
    expectRejected({ [input]: value }, input, `'${value}'`);
  });
});

describe('enums', () => {
  it.each([
    ['previous-key', 'delete', 'previousKey'],
    ['previous-key', 'deactivate', 'previousKey'],
    ['previous-key', 'keep', 'previousKey'],
    ['key-limit', 'delete-inactive', 'keyLimit'],
    ['key-limit', 'delete-oldest', 'keyLimit'],
    ['key-limit', 'fail', 'keyLimit'],
  ] as const)('%s accepts %j', (input, value, field) => {
    expect(read({ [input]: value })[field]).toBe(value);
  });

  it.each(['all', 'private', 'selected'] as const)('organization-visibility accepts %j', (value) => {
    const extra: Record<string, string> = value === 'selected' ? { 'organization-selected-repositories': 'api' } : {};
    expect(read({ organization: 'octo-org', 'organization-visibility': value, ...extra }).organizationVisibility).toBe(value);
  });

  it.each([
    ['previous-key', 'Delete'],
    ['previous-key', 'remove'],
    ['key-limit', 'oldest'],
    ['key-limit', 'delete_oldest'],
    ['organization-visibility', 'public'],
    ['organization-visibility', 'Private'],
  ])('%s rejects %j, listing the allowed values', (input, value) => {
    const err = expectRejected({ organization: 'octo-org', [input]: value }, input, `'${value}'`);
    const allowed: Record<string, string[]> = {
      'previous-key': ['delete', 'deactivate', 'keep'],
      'key-limit': ['delete-inactive', 'delete-oldest', 'fail'],
      'organization-visibility': ['all', 'private', 'selected'],
    };
    for (const a of allowed[input]) expect(err.message).toContain(a);
  });
});

describe('booleans', () => {
  const BOOLS = [
    ['dry-run', 'dryRun'],
    ['dependabot', 'dependabot'],
    ['create-environments', 'createEnvironments'],
    ['export-credentials', 'exportCredentials'],
  ] as const;

  it.each(
    BOOLS.flatMap(([input, field]) =>
      (
        [
          ['true', true],
          ['True', true],
          ['TRUE', true],
          ['false', false],
          ['False', false],
          ['FALSE', false],
          [' true ', true],
        ] as const
      ).map(([value, expected]) => [input, value, expected, field] as const),
    ),
  )('%s: %j is %s', (input, value, expected, field) => {
    expect(read({ [input]: value })[field]).toBe(expected);
  });

  it.each(
    BOOLS.flatMap(([input]) => ['yes', '1', '0', 'no', 'on', 'tRUE', 'y'].map((value) => [input, value] as const)),
  )('%s rejects %j', (input, value) => {
    expectRejected({ [input]: value }, input, `'${value}'`);
  });
});

describe('aws-region', () => {
  it.each(['us-east-1', 'eu-central-1', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1', 'cn-northwest-1', 'il-central-1'])(
    'accepts %j',
    (region) => {
      expect(read({ 'aws-region': region }).awsRegion).toBe(region);
    },
  );

  it('defaults to us-east-1 when empty', () => {
    expect(read({ 'aws-region': '' }).awsRegion).toBe('us-east-1');
  });

  it.each(['US-EAST-1', 'us-east', 'useast1', 'us_east_1', 'us-east-1a', 'us-east-123', 'global'])('rejects %j', (region) => {
    expectRejected({ 'aws-region': region }, 'aws-region', `'${region}'`);
  });
});

describe('organization', () => {
  it('alone writes no repository secrets, even with GITHUB_REPOSITORY set', () => {
    const inputs = read({ organization: 'octo-org' }, { GITHUB_REPOSITORY: 'octo-org/self' });
    expect(inputs.organization).toBe('octo-org');
    expect(inputs.repositories).toEqual([]);
    expect(inputs.organizationVisibility).toBeUndefined();
  });

  it('with repositories writes both', () => {
    const inputs = read({ organization: 'octo-org', repositories: 'octo-org/api' });
    expect(inputs.repositories).toEqual([{ owner: 'octo-org', repo: 'api' }]);
    expect(inputs.organization).toBe('octo-org');
  });

  it.each(['-org', '_org', 'org/x', 'has space', 'a'.repeat(40)])('rejects the login %j', (org) => {
    expectRejected({ organization: org }, 'organization', `'${org}'`);
  });

  it('selected needs organization-selected-repositories', () => {
    expectRejected(
      { organization: 'octo-org', 'organization-visibility': 'selected' },
      'organization-selected-repositories',
      'selected',
    );
  });

  it.each(['all', 'private'])('selected repositories are rejected when visibility is %j', (visibility) => {
    expectRejected(
      { organization: 'octo-org', 'organization-visibility': visibility, 'organization-selected-repositories': 'api' },
      'organization-selected-repositories',
      `'${visibility}'`,
    );
  });

  it('selected repositories: bare names and owner/name in the organization (any case), deduped', () => {
    const inputs = read({
      organization: 'Octo-Org',
      'organization-visibility': 'selected',
      'organization-selected-repositories': 'api\nocto-org/web, OCTO-ORG/API\n docs ',
    });
    expect(inputs.organizationSelectedRepositories).toEqual(['api', 'web', 'docs']);
  });

  it('selected repositories outside the organization are rejected', () => {
    expectRejected(
      {
        organization: 'octo-org',
        'organization-visibility': 'selected',
        'organization-selected-repositories': 'api, other-org/web',
      },
      'organization-selected-repositories',
      "'other-org/web'",
      "'octo-org'",
    );
  });

  it.each(['with space', 'a/b/c', '..'])('selected repository %j is rejected', (entry) => {
    expectRejected(
      { organization: 'octo-org', 'organization-visibility': 'selected', 'organization-selected-repositories': entry },
      'organization-selected-repositories',
      `'${entry}'`,
    );
  });

  it.each(['all', 'private', 'selected'])('visibility %j without organization is rejected', (visibility) => {
    expectRejected({ 'organization-visibility': visibility }, 'organization-visibility', 'organization');
  });

  it.each(['', '  '])('an empty visibility (%j, the default) leaves it undefined, with or without organization', (visibility) => {
    expect(read({ 'organization-visibility': visibility }).organizationVisibility).toBeUndefined();
    expect(read({ organization: 'octo-org', 'organization-visibility': visibility }).organizationVisibility).toBeUndefined();
  });

  it('an empty visibility with organization-selected-repositories is rejected (they need selected)', () => {
    expectRejected({ organization: 'octo-org', 'organization-selected-repositories': 'api' }, 'organization-selected-repositories', 'selected');
  });

  it.each(['octo_emu', 'Corp_Shortcode-1'])('accepts the Enterprise Managed Users login %j', (org) => {
    expect(read({ organization: org }).organization).toBe(org);
  });

  it('selected repositories without organization are rejected', () => {
    expectRejected({ 'organization-selected-repositories': 'api' }, 'organization-selected-repositories', 'organization');
  });
});

describe('environments', () => {
  it('are split, trimmed and deduped case-insensitively; spaces inside a name are allowed', () => {
    expect(read({ environments: 'production, Staging Env\nstaging env\n PRODUCTION \n' }).environments).toEqual([
      'production',
      'Staging Env',
    ]);
  });

  it('need repositories: organization only + environments is an error', () => {
    expectRejected({ organization: 'octo-org', environments: 'prod' }, 'environments', 'repositories');
  });

  it('work with organization plus repositories', () => {
    expect(read({ organization: 'octo-org', repositories: 'octo-org/api', environments: 'prod' }).environments).toEqual([
      'prod',
    ]);
  });

  it('default repository from GITHUB_REPOSITORY is enough', () => {
    const inputs = read({ environments: 'prod' });
    expect(inputs.repositories).toEqual([{ owner: 'octo', repo: 'self' }]);
    expect(inputs.environments).toEqual(['prod']);
  });

  it.each(['a\tb', 'a\u0000b', 'x'.repeat(256)])('rejects %j', (env) => {
    expectRejected({ environments: `ok\n${env}` }, 'environments');
  });

  it.each(['prod/eu', 'team/qa/us east', '/', 'a/..', '../a'])("accepts %j: GitHub allows '/' (the REST path encodes it)", (env) => {
    expect(read({ environments: env }).environments).toEqual([env]);
  });

  it('accepts a 255-character name and other punctuation', () => {
    const long = 'x'.repeat(255);
    expect(read({ environments: `${long}\nprod #1 (eu)` }).environments).toEqual([long, 'prod #1 (eu)']);
  });
});

describe('create-user and user-* inputs', () => {
  it('create-user requires iam-user-name', () => {
    expectRejected({ 'create-user': 'true' }, 'create-user', 'iam-user-name');
  });

  it('create-user with every user-* input', () => {
    const inputs = read({
      'create-user': 'true',
      'iam-user-name': 'deployer',
      'user-path': '/ci/deployers/',
      'user-groups': 'deployers, readers\ndeployers',
      'user-policy-arns':
        'arn:aws:iam::aws:policy/ReadOnlyAccess\narn:aws-us-gov:iam::123456789012:policy/ci/Deploy, arn:aws-cn:iam::123456789012:policy/x',
      'user-permissions-boundary': 'arn:aws:iam::123456789012:policy/Boundary',
      'user-tags': 'team=platform\nowner = ci , empty=, eq=a=b',
    });
    expect(inputs.createUser).toBe('true');
    expect(inputs.userPath).toBe('/ci/deployers/');
    expect(inputs.userGroups).toEqual(['deployers', 'readers']);
    expect(inputs.userPolicyArns).toEqual([
      'arn:aws:iam::aws:policy/ReadOnlyAccess',
      'arn:aws-us-gov:iam::123456789012:policy/ci/Deploy',
      'arn:aws-cn:iam::123456789012:policy/x',
    ]);
    expect(inputs.userPermissionsBoundary).toBe('arn:aws:iam::123456789012:policy/Boundary');
    expect(inputs.userTags).toEqual([
      { Key: 'team', Value: 'platform' },
      { Key: 'owner', Value: 'ci' },
      { Key: 'empty', Value: '' },
      { Key: 'eq', Value: 'a=b' },
    ]);
  });

  it.each([
    ['user-path', '/ci/'],
    ['user-groups', 'deployers'],
    ['user-policy-arns', 'arn:aws:iam::aws:policy/ReadOnlyAccess'],
    ['user-permissions-boundary', 'arn:aws:iam::123456789012:policy/Boundary'],
    ['user-tags', 'team=platform'],
  ])('%s is rejected without create-user', (input, value) => {
    expectRejected({ 'iam-user-name': 'deployer', [input]: value }, input, 'create-user');
  });

  it("the default user-path '/' is fine without create-user", () => {
    expect(read({ 'user-path': '/' }).userPath).toBe('/');
  });

  it.each(['ci', '/ci', 'ci/', '/ci deployers/', '//'])('user-path %j is rejected', (path) => {
    expectRejected({ 'create-user': 'true', 'iam-user-name': 'u', 'user-path': path }, 'user-path', `'${path}'`);
  });

  it.each(['bad/group', 'with space', 'g'.repeat(129)])('user-groups %j is rejected', (group) => {
    expectRejected({ 'create-user': 'true', 'iam-user-name': 'u', 'user-groups': group }, 'user-groups', `'${group}'`);
  });

  it.each([
    ['=v', 'user-tags', "'=v'"],
    ['novalue', 'user-tags', "'novalue'"],
    ['ok=1\n =v', 'user-tags', "'=v'"],
    ['aws:team=x', 'user-tags', "'aws:team'"],
    ['AWS:Team=x', 'user-tags', "'AWS:Team'"],
    [`${'k'.repeat(129)}=v`, 'user-tags', 'key=value'],
    [`k=${'v'.repeat(257)}`, 'user-tags', 'key=value'],
  ])('user-tags %j is rejected', (tags, input, mention) => {
    expectRejected({ 'create-user': 'true', 'iam-user-name': 'u', 'user-tags': tags }, input, mention);
  });

  it.each([
    'arn:aws:iam::aws:policy/ReadOnlyAccess',
    'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
    'arn:aws:iam::123456789012:policy/Deploy',
    'arn:aws-us-gov:iam::123456789012:policy/Deploy',
    'arn:aws-cn:iam::123456789012:policy/Deploy',
  ])('policy ARN %j is accepted as policy and as boundary', (arn) => {
    const inputs = read({
      'create-user': 'true',
      'iam-user-name': 'u',
      'user-policy-arns': arn,
      'user-permissions-boundary': arn,
    });
    expect(inputs.userPolicyArns).toEqual([arn]);
    expect(inputs.userPermissionsBoundary).toBe(arn);
  });

  it.each([
    'ReadOnlyAccess',
    'arn:aws:iam::12345:policy/x',
    'arn:aws:iam::123456789012:role/x',
    'arn:aws:iam::123456789012:policy/',
    'arn:aws:s3:::bucket',
    'arn:azure:iam::123456789012:policy/x',
    'arn:aws:iam::123456789012:policy/has space',
  ])('policy ARN %j is rejected', (arn) => {
    expectRejected({ 'create-user': 'true', 'iam-user-name': 'u', 'user-policy-arns': arn }, 'user-policy-arns', `'${arn}'`);
    expectRejected(
      { 'create-user': 'true', 'iam-user-name': 'u', 'user-permissions-boundary': arn },
      'user-permissions-boundary',
      `'${arn}'`,
    );
  });
});

describe('error messages', () => {
  // A scalar input given as a YAML block (`|`) keeps its inner newline after core.getInput trims it.
  it.each([
    ['iam-user-name', 'alice\nbob'],
    ['aws-region', 'us-east-1\neu-west-1'],
    ['max-age-days', '30\n60'],
    ['dry-run', 'true\nfalse'],
    ['previous-key', 'delete\nkeep'],
    ['access-key-id-secret-name', 'A\nB'],
    ['organization', 'a\nb'],
  ])('%s with a multi-line value gives a one-line message', (input, value) => {
    let caught: unknown;
    try {
      read({ [input]: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    const err = caught as InputError;
    expect(err.message.startsWith(`${input}: `)).toBe(true);
    expect(errorMessage(err)).not.toMatch(/[\r\n]/);
    expect(err.message).not.toMatch(/[\r\n]/);
  });
});

describe('environment names that would escape the REST path', () => {
  it.each(['.', '..'])("rejects '%s'", (name) => {
    expectRejected({ repositories: 'octo/api', environments: `prod,${name}` }, 'environments', `'${name}'`);
  });
});

describe('retire-after-hours', () => {
  it.each([
    ['', 0],
    ['0', 0],
    ['24', 24],
    [' 0.5 ', 0.5],
    ['0.001', 0.001],
    ['8760', 8760],
  ])('accepts %j as %s hours', (value, expected) => {
    expect(read({ 'retire-after-hours': value }).retireAfterHours).toBe(expected);
  });

  it.each(['-1', 'abc', '1e3', '8761', '.5', '1.', '24h', 'Infinity', 'NaN', '0x10'])('rejects %j', (value) => {
    const err = expectRejected({ 'retire-after-hours': value }, 'retire-after-hours', `'${value}'`, 'hours');
    expect(err.message).toContain('0 to 8760');
  });
});


describe('create-user modes', () => {
  it.each([
    ['', 'false'],
    ['false', 'false'],
    ['FALSE', 'false'],
    ['true', 'true'],
    ['True', 'true'],
    [' if-missing ', 'if-missing'],
  ])('%j is %j', (value, expected) => {
    expect(read({ 'iam-user-name': 'deployer', 'create-user': value }).createUser).toBe(expected);
  });

  it.each(['yes', '1', 'If-Missing', 'if_missing', 'missing'])('rejects %j, listing false, true, if-missing', (value) => {
    expectRejected({ 'iam-user-name': 'deployer', 'create-user': value }, 'create-user', `'${value}'`, 'false, true, if-missing');
  });

  it('if-missing needs iam-user-name, like true', () => {
    expectRejected({ 'create-user': 'if-missing' }, 'create-user', 'iam-user-name');
  });

  it('if-missing takes the user-* inputs', () => {
    const inputs = read({ 'create-user': 'if-missing', 'iam-user-name': 'u', 'user-groups': 'g', 'user-path': '/ci/' });
    expect([inputs.createUser, inputs.userGroups, inputs.userPath]).toEqual(['if-missing', ['g'], '/ci/']);
  });

  it('a bad create-user is reported once, not again as "user-* is only used with create-user"', () => {
    expectRejected({ 'create-user': 'yes', 'iam-user-name': 'u', 'user-groups': 'g' }, 'create-user', "'yes'");
  });
});

describe('export-credentials', () => {
  it.each([{ GITHUB_REPOSITORY: 'octo/self' }, { GITHUB_REPOSITORY: 'octo/self', GITHUB_ENV: ' ' }])(
    'true without GITHUB_ENV is rejected: the secret could only be printed (env %j)',
    (env) => {
      const err = rejection({ 'export-credentials': 'true' }, env);
      expect(err.message).toMatch(/^export-credentials: is true but GITHUB_ENV is not set/);
      expect(err.message).toContain('export-credentials: false');
    },
  );

  it('false (the default) needs no GITHUB_ENV', () => {
    expect(read({}, { GITHUB_REPOSITORY: 'octo/self' }).exportCredentials).toBe(false);
  });

  it('true with GITHUB_ENV is fine', () => {
    expect(read({ 'export-credentials': 'true' }).exportCredentials).toBe(true);
  });
});

/** The InputErrors readInputs throws for these overrides: several bad inputs at once. */
function rejections(overrides: Record<string, string>, env: Record<string, string | undefined> = ENV): InputErrors {
  let caught: unknown;
  try {
    read(overrides, env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InputErrors);
  const err = caught as InputErrors;
  expect(err.message).not.toMatch(/[\r\n]/);
  return err;
}

describe('every bad input is reported at once', () => {
  it('three bad inputs: one line naming each, in input order', () => {
    const err = rejections({ repositories: 'octo/ok, x', 'aws-region': 'moon-1', 'max-age-days': 'soon' });
    expect(err.message).toBe(
      "3 inputs are invalid: repositories: 'x' is not owner/name; " +
        "aws-region: 'moon-1' is not an AWS region (e.g. us-east-1, us-gov-west-1, cn-north-1); " +
        "max-age-days: 'soon' is not a whole number from 0 to 36500",
    );
    expect(err.errors.map((e) => e.input)).toEqual(['repositories', 'aws-region', 'max-age-days']);
    expect(err.errors.every((e) => e instanceof InputError)).toBe(true);
    expect(errorMessage(err)).toBe(err.message);
  });

  it('every bad entry of a list is named', () => {
    const err = rejections({ repositories: 'a, octo/ok, b/c/d' });
    expect(err.message).toBe("1 input is invalid: repositories: 'a' is not owner/name; repositories: 'b/c/d' is not owner/name");
  });

  it('a single bad input keeps the plain `input: problem` form', () => {
    const err = rejection({ 'dry-run': 'maybe' });
    expect(err).not.toBeInstanceOf(InputErrors);
    expect(err.message).toBe("dry-run: 'maybe' is not a boolean (use true or false)");
  });

  it('the missing token is reported with the other problems', () => {
    const err = rejections({ 'github-token': '', 'previous-key': 'shred' });
    expect(err.errors.map((e) => e.input)).toEqual(['github-token', 'previous-key']);
  });

  it('checks that depend on a bad input do not report it twice', () => {
    // A bad iam-user-name still counts as given for create-user; a bad visibility is not compared with the list.
    expectRejected({ 'create-user': 'true', 'iam-user-name': 'bad/name' }, 'iam-user-name', "'bad/name'");
    expectRejected(
      { organization: 'octo-org', 'organization-visibility': 'public', 'organization-selected-repositories': 'api' },
      'organization-visibility',
      "'public'",
    );
    // A bad repository entry is not "repositories is empty"; environments still see the repository as given.
    expectRejected({ repositories: 'nope', environments: 'prod' }, 'repositories', "'nope'");
    // A bad secret name is not compared with the other one.
    expectRejected({ 'access-key-id-secret-name': '1X', 'secret-access-key-secret-name': 'AWS_ACCESS_KEY_ID' }, 'access-key-id-secret-name');
  });

  it('every user-* input given without create-user is named', () => {
    const err = rejections({ 'iam-user-name': 'u', 'user-groups': 'g', 'user-tags': 'a=b' });
    expect(err.message).toBe(
      '2 inputs are invalid: user-groups: is only used with create-user: true or if-missing; ' +
        'user-tags: is only used with create-user: true or if-missing',
    );
  });
});

describe('space-separated lists get a hint', () => {
  const HINT = 'separate entries with commas or newlines, not spaces';
  it.each([
    [{ repositories: 'octo/api octo/web' }, 'repositories', "'octo/api octo/web' is not owner/name"],
    [
      { organization: 'octo-org', 'organization-visibility': 'selected', 'organization-selected-repositories': 'api web' },
      'organization-selected-repositories',
      "'api web' is not a repository name",
    ],
    [
      { organization: 'octo-org', 'organization-visibility': 'selected', 'organization-selected-repositories': 'octo-org/api octo-org/web' },
      'organization-selected-repositories',
      "'octo-org/api octo-org/web' is not owner/name",
    ],
    [{ 'create-user': 'true', 'iam-user-name': 'u', 'user-groups': 'deployers readers' }, 'user-groups', "'deployers readers'"],
    [
      { 'create-user': 'true', 'iam-user-name': 'u', 'user-policy-arns': 'arn:aws:iam::aws:policy/A arn:aws:iam::aws:policy/B' },
      'user-policy-arns',
      "'arn:aws:iam::aws:policy/A arn:aws:iam::aws:policy/B'",
    ],
    [{ 'create-user': 'true', 'iam-user-name': 'u', 'user-tags': 'team platform' }, 'user-tags', "'team platform'"],
  ] as const)('%j', (overrides, input, mention) => {
    const err = expectRejected(overrides, input, mention);
    expect(err.message.endsWith(`: ${HINT}`)).toBe(true);
  });

  it('a bad entry without spaces gets no such hint', () => {
    expect(expectRejected({ repositories: 'octo' }, 'repositories').message).not.toContain('spaces');
  });

  it('newline- and comma-separated entries are the documented forms', () => {
    expect(read({ repositories: 'octo/api,\nocto/web' }).repositories).toHaveLength(2);
  });
});

describe('unknown inputs: every INPUT_* variable must belong to an input action.yml declares', () => {
  /** The runner's variable for each declared input (action.yml defaults), plus `extra`. */
  const runnerEnv = (extra: Record<string, string>) => ({
    ...ENV,
    ...Object.fromEntries(Object.entries(DEFAULTS).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v])),
    ...extra,
  });

  it("INPUT_NAMES is exactly action.yml's inputs, in its order", () => {
    expect([...INPUT_NAMES]).toEqual(Object.keys(actionYml.inputs));
  });

  it('every declared input, as the runner passes it (hyphens kept) and as local-action reads it (lower case), is fine', () => {
    expect(read({}, runnerEnv({ 'INPUT_DRY-RUN': 'true', 'INPUT_GITHUB-TOKEN': 'x' })).dryRun).toBe(false);
    expect(() => read({}, { ...ENV, 'INPUT_dry-run': 'true', 'INPUT_Max-Age-Days': '3' })).not.toThrow();
  });

  it.each([
    ['INPUT_DRYRUN', 'dryrun', 'dry-run'],
    ['INPUT_DRY_RUN', 'dry_run', 'dry-run'],
    ['INPUT_MAX_AGE_DAYS', 'max_age_days', 'max-age-days'],
    ['INPUT_GITHUB_TOKEN', 'github_token', 'github-token'],
    ['INPUT_IAM-USERNAME', 'iam-username', 'iam-user-name'],
    ['INPUT_REPOSITORY', 'repository', 'repositories'],
    ['INPUT_ENVIRONMENT', 'environment', 'environments'],
    ['INPUT_CREATE_ENVIRONMENT', 'create_environment', 'create-environments'],
    ['INPUT_PREVIOUS-KEYS', 'previous-keys', 'previous-key'],
    ['INPUT_TOKEN', 'token', 'github-token'],
    ['INPUT_REGION', 'region', 'aws-region'],
    ['INPUT_TIMEOUT', 'timeout', 'verify-timeout-seconds'],
  ])('%s is refused, naming it and the input it most likely means', (variable, name, meant) => {
    const err = rejection({}, runnerEnv({ [variable]: 'true' }));
    expect(err.message).toBe(
      `${name}: is not an input of this action (${variable}, from the step's with: or env:): did you mean ${meant}?`,
    );
    expect(err.input).toBe(name);
  });

  it('a name close to no input: remove it, naming the nearest', () => {
    expect(rejection({}, runnerEnv({ INPUT_WHATEVER: 'x' })).message).toBe(
      "whatever: is not an input of this action (INPUT_WHATEVER, from the step's with: or env:): remove it, or use " +
        'one of the inputs action.yml declares (the nearest is create-user)',
    );
  });

  const CREDENTIALS = "this action reads its AWS credentials from the environment";
  it.each([
    ['INPUT_AWS-ACCESS-KEY-ID', 'aws-access-key-id', 'AWS_ACCESS_KEY_ID'],
    ['INPUT_AWS-SECRET-ACCESS-KEY', 'aws-secret-access-key', 'AWS_SECRET_ACCESS_KEY'],
    ['INPUT_AWS-SESSION-TOKEN', 'aws-session-token', 'AWS_SESSION_TOKEN'],
    ['INPUT_AWS_SECRET_ACCESS_KEY', 'aws_secret_access_key', 'AWS_SECRET_ACCESS_KEY'],
  ])("%s (configure-aws-credentials' key input): set %s's variable in env:, or configure the credentials in a step before", (variable, name, env) => {
    const err = rejection({}, runnerEnv({ [variable]: 'x' }));
    expect(err.input).toBe(name);
    expect(err.message).toBe(
      `${name}: is not an input of this action (${variable}, from the step's with: or env:): ` +
        `${name.replace(/_/g, '-')} is an input of aws-actions/configure-aws-credentials; ${CREDENTIALS}: set ${env} in ` +
        `the step's env: (${env}: \${{ secrets.${env} }}), or run configure-aws-credentials in a step before this one`,
    );
  });

  it.each([
    ['INPUT_ROLE-TO-ASSUME', 'role-to-assume', ' (with a role, set iam-user-name here: the user whose key rotates)'],
    ['INPUT_ROLE-SESSION-NAME', 'role-session-name', ''],
    ['INPUT_ROLE-DURATION-SECONDS', 'role-duration-seconds', ''],
    ['INPUT_AUDIENCE', 'audience', ''],
    ['INPUT_ROLE-CHAINING', 'role-chaining', ''],
    ['INPUT_WEB-IDENTITY-TOKEN-FILE', 'web-identity-token-file', ''],
  ])("%s (configure-aws-credentials' role input): give it to a configure-aws-credentials step before this one", (variable, name, more) => {
    const err = rejection({}, runnerEnv({ [variable]: 'x' }));
    expect(err.message).toBe(
      `${name}: is not an input of this action (${variable}, from the step's with: or env:): ${name} is an input of ` +
        `aws-actions/configure-aws-credentials; ${CREDENTIALS}: give it to a configure-aws-credentials step before this ` +
        `one, whose credentials this step then uses${more}`,
    );
    expect(err.message).not.toMatch(/did you mean/);
  });

  it("http-proxy (configure-aws-credentials' proxy input): set the proxy variables in env:", () => {
    expect(rejection({}, runnerEnv({ 'INPUT_HTTP-PROXY': 'http://proxy:3128' })).message).toBe(
      "http-proxy: is not an input of this action (INPUT_HTTP-PROXY, from the step's with: or env:): http-proxy is an " +
        "input of aws-actions/configure-aws-credentials; this action honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY: set " +
        "them in the step's env:",
    );
  });

  it('aws-region is an input of both actions: accepted', () => {
    expect(read({ 'aws-region': 'eu-west-1' }, runnerEnv({ 'INPUT_AWS-REGION': 'eu-west-1' })).awsRegion).toBe('eu-west-1');
  });

  it('an empty value is still an unknown input', () => {
    expect(rejection({}, runnerEnv({ INPUT_DRYRUN: '' })).message).toMatch(/^dryrun: .*did you mean dry-run\?$/);
  });

  it('several unknown inputs: one line naming each, with the other bad inputs', () => {
    const err = rejections({ 'max-age-days': 'soon' }, runnerEnv({ INPUT_DRYRUN: 'true', INPUT_MAX_AGE_DAYS: '30' }));
    expect(err.errors.map((e) => e.input)).toEqual(['dryrun', 'max_age_days', 'max-age-days']);
    expect(err.message).toMatch(/^3 inputs are invalid: dryrun: .*did you mean dry-run\?; max_age_days: .*did you mean max-age-days\?; max-age-days: 'soon'/);
  });

  it('variables that are not INPUT_* are not inputs', () => {
    expect(() => read({}, { ...ENV, DRYRUN: 'true', MY_INPUT_X: '1', input_x: '1' })).not.toThrow();
  });
});

describe('list inputs refuse list syntax: one name per line or comma-separated', () => {
  const USER = { 'create-user': 'true', 'iam-user-name': 'deployer' };
  const ORG = { organization: 'octo', 'organization-visibility': 'selected' };
  // Each list input: the inputs it needs, two good entries, and the words of its accepted forms.
  const LISTS = [
    ['repositories', {}, 'octo/api', 'octo/web', "give one owner/name per line or comma-separated (octo/api, octo/web)"],
    ['environments', {}, 'prod', 'staging', 'give one name per line or comma-separated (prod, staging)'],
    ['organization-selected-repositories', ORG, 'api', 'web', 'give one repository per line or comma-separated (api, web)'],
    ['user-groups', USER, 'deployers', 'readers', 'give one group per line or comma-separated (deployers, readers)'],
    [
      'user-policy-arns',
      USER,
      'arn:aws:iam::aws:policy/A',
      'arn:aws:iam::aws:policy/B',
      'give one ARN per line or comma-separated (arn:aws:iam::aws:policy/A, arn:aws:iam::aws:policy/B)',
    ],
    ['user-tags', USER, 'team=platform', 'env=prod', 'give one key=value per line or comma-separated (team=platform, env=prod)'],
  ] as const;

  const forms = (a: string, b: string) =>
    [
      // value given, as quoted back (newline as \n, a tab as ?), and the list as this action reads it
      [`- ${a}\n- ${b}`, `- ${a}\\n- ${b}`, `${a}, ${b}`],
      [`-\t${a}`, `-?${a}`, a],
      [`[${a}, ${b}]`, `[${a}, ${b}]`, `${a}, ${b}`],
      [` [${a}, '${b}'] `, `[${a}, '${b}']`, `${a}, ${b}`],
      [`[${a}]`, `[${a}]`, a],
      [`${a}, ${b}]`, `${a}, ${b}]`, `${a}, ${b}`],
      [`{${a}}`, `{${a}}`, a],
      [`${a}}`, `${a}}`, a],
      ['[]', '[]', null],
    ] as const;

  it.each(LISTS.flatMap(([input, base, a, b]) => forms(a, b).map(([value, shown, meant]) => [input, value, shown, meant ?? `${a}, ${b}`, base] as const)))(
    '%s: %j is YAML list syntax, quoted back whole, with the list written as meant',
    (input, value, shown, meant, base) => {
      const err = rejection({ ...base, [input]: value });
      expect(err).not.toBeInstanceOf(InputErrors); // one problem for the input, not one per entry
      const what = { repositories: 'owner/name', environments: 'name', 'organization-selected-repositories': 'repository', 'user-groups': 'group', 'user-policy-arns': 'ARN', 'user-tags': 'key=value' }[input];
      expect(err.message).toBe(
        `${input}: '${shown}' looks like YAML list syntax: give one ${what} per line or comma-separated, without '- ' or brackets: ${meant}`,
      );
    },
  );

  it("the issue's case: environments: [production, staging] is quoted back whole, and the list is written out", () => {
    expect(rejection({ environments: '[production, staging]' }).message).toBe(
      "environments: '[production, staging]' looks like YAML list syntax: give one name per line or comma-separated, " +
        "without '- ' or brackets: production, staging",
    );
  });

  it.each(
    LISTS.flatMap(([input, base, a, b, accepted]) =>
      [`'${a}'`, `"${a}"`, `${a}, '${b}'`, `"${a}, ${b}"`].map((value) => [input, value, base, a, accepted] as const),
    ),
  )('%s: %j has quoted entries', (input, value, base, a, accepted) => {
    const err = rejection({ ...base, [input]: value });
    expect(err).not.toBeInstanceOf(InputErrors);
    expect(err.message).toMatch(new RegExp(`^${input}: '.*' is quoted: `));
    expect(err.message.endsWith(`: ${accepted}, without quotes`)).toBe(true);
    if (value.startsWith("'")) expect(err.message).toContain(`''${a}''`);
  });

  it('the accepted forms still work', () => {
    for (const [input, base, a, b] of LISTS) {
      expect(() => read({ ...base, [input]: `${a}\n${b}` })).not.toThrow();
      expect(() => read({ ...base, [input]: `${a}, ${b}` })).not.toThrow();
    }
  });

  it("brackets, quotes and dashes inside a name are not list syntax: 'prod [eu]', 'team-a', '-prod', 'it's'", () => {
    expect(read({ environments: "prod [eu], team-a, -prod, it's" }).environments).toEqual(['prod [eu]', 'team-a', '-prod', "it's"]);
  });

  it('list syntax in one input is reported with the other bad inputs, once', () => {
    const err = rejections({ environments: '- prod\n- staging', 'dry-run': 'yes' });
    expect(err.errors.map((e) => e.input)).toEqual(['environments', 'dry-run']);
  });
});
