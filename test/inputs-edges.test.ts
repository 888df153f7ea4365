/**
 * readInputs edges that mutation testing found unpinned (docs/mutation.md): values quoted on one line in errors,
 * surrounding spaces, boundaries of tag lengths and region numbers, names that only look reserved, '.' and '..', the
 * exact words of the organization-visibility errors, one error per bad input.
 */
import { describe, expect, it } from '@jest/globals';
import { InputError, InputErrors } from '../src/shared/errors.js';
import { type Inputs, readInputs } from '../src/config/inputs.js';
import { actionInputDefaults } from './support/runner.js';

const ENV = { GITHUB_REPOSITORY: 'octo/self', GITHUB_ENV: '/tmp/github-env' };

function read(overrides: Record<string, string> = {}): Inputs {
  const values: Record<string, string> = { ...actionInputDefaults(), 'github-token': 'ghp_token', ...overrides };
  return readInputs((name) => values[name] ?? '', ENV);
}

/** Every problem readInputs reports for these inputs, as `input: message` lines. */
function problems(overrides: Record<string, string>): string[] {
  try {
    read(overrides);
  } catch (err) {
    if (err instanceof InputErrors) return err.errors.map((e) => e.message);
    if (err instanceof InputError) return [err.message];
    throw err;
  }
  throw new Error('expected readInputs to reject the inputs');
}

describe('errors quote the value on one line', () => {
  it.each([
    ['a newline', 'bad\nname', "'bad\\nname'"],
    ['a CRLF', 'bad\r\nname', "'bad\\nname'"],
    ['a tab (a control character)', 'bad\tname', "'bad?name'"],
  ])('%s', (_, value, quoted) => {
    const [message] = problems({ 'iam-user-name': value });
    expect(message).toContain(quoted);
    expect(message).not.toMatch(/[\r\n\t]/);
  });
});

describe('surrounding spaces are not part of a value', () => {
  it('organization, aws-region, user-path, user-permissions-boundary', () => {
    const inputs = read({
      organization: ' octo ',
      repositories: 'octo/api',
      'aws-region': ' eu-west-1 ',
      'create-user': 'true',
      'iam-user-name': 'deployer',
      'user-path': ' /ci/ ',
      'user-permissions-boundary': ' arn:aws:iam::123456789012:policy/boundary ',
    });
    expect(inputs.organization).toBe('octo');
    expect(inputs.awsRegion).toBe('eu-west-1');
    expect(inputs.userPath).toBe('/ci/');
    expect(inputs.userPermissionsBoundary).toBe('arn:aws:iam::123456789012:policy/boundary');
  });
});

describe('boundaries', () => {
  it('a region number has one or two digits', () => {
    expect(read({ 'aws-region': 'us-east-10' }).awsRegion).toBe('us-east-10');
    expect(problems({ 'aws-region': 'us-east-100' })[0]).toMatch(/^aws-region: 'us-east-100' is not an AWS region/);
  });

  it('a tag key of 128 characters and a value of 256 are allowed, one more is not', () => {
    const key = 'k'.repeat(128);
    const value = 'v'.repeat(256);
    const base = { 'create-user': 'true', 'iam-user-name': 'deployer' };
    expect(read({ ...base, 'user-tags': `${key}=${value}` }).userTags).toEqual([{ Key: key, Value: value }]);
    expect(problems({ ...base, 'user-tags': `${key}k=v` })[0]).toMatch(/^user-tags: 'k+=v' is not key=value/);
    expect(problems({ ...base, 'user-tags': `k=${value}v` })[0]).toMatch(/^user-tags: 'k=v+' is not key=value/);
  });
});

describe('only a prefix is reserved', () => {
  it('a secret name containing GITHUB_ later is fine', () => {
    expect(read({ 'access-key-id-secret-name': 'MY_GITHUB_KEY' }).accessKeyIdSecretName).toBe('MY_GITHUB_KEY');
  });

  it('a tag key containing aws: later is fine', () => {
    const inputs = read({ 'create-user': 'true', 'iam-user-name': 'deployer', 'user-tags': 'team-aws:x=1' });
    expect(inputs.userTags).toEqual([{ Key: 'team-aws:x', Value: '1' }]);
  });
});

describe("repository names: only '.' and '..' are refused among dotted names", () => {
  it.each(['app.', '.github', 'a..b'])('%s is a repository name', (name) => {
    expect(read({ repositories: `octo/${name}` }).repositories).toEqual([{ owner: 'octo', repo: name }]);
    const org = { organization: 'octo', 'organization-visibility': 'selected' };
    expect(read({ ...org, 'organization-selected-repositories': name }).organizationSelectedRepositories).toEqual([name]);
  });

  it.each(['.', '..'])('%s is refused as a selected repository', (name) => {
    const org = { organization: 'octo', 'organization-visibility': 'selected' };
    expect(problems({ ...org, 'organization-selected-repositories': name })).toEqual([
      `organization-selected-repositories: '${name}' is not a repository name`,
    ]);
  });
});

describe('organization-selected-repositories as owner/name', () => {
  it('of the organization (any case): the bare name', () => {
    const inputs = read({
      organization: 'Octo',
      'organization-visibility': 'selected',
      'organization-selected-repositories': 'octo/api, OCTO/web',
    });
    expect(inputs.organizationSelectedRepositories).toEqual(['api', 'web']);
  });

  it('of another owner: refused, naming the organization', () => {
    expect(
      problems({ organization: 'octo', 'organization-visibility': 'selected', 'organization-selected-repositories': 'other/api' }),
    ).toEqual(["organization-selected-repositories: 'other/api' is not in organization 'octo'"]);
  });
});

describe('organization-visibility errors, in words, once each', () => {
  it('set without organization', () => {
    expect(problems({ 'organization-visibility': 'all' })).toEqual(['organization-visibility: is set but organization is empty']);
    expect(problems({ 'organization-selected-repositories': 'api' })).toEqual([
      'organization-selected-repositories: is set but organization is empty',
    ]);
  });

  it("'selected' without repositories", () => {
    expect(problems({ organization: 'octo', 'organization-visibility': 'selected' })).toEqual([
      "organization-selected-repositories: is required when organization-visibility is 'selected'",
    ]);
  });

  it('repositories without selected', () => {
    expect(
      problems({ organization: 'octo', 'organization-visibility': 'all', 'organization-selected-repositories': 'api' }),
    ).toEqual(["organization-selected-repositories: is only used with organization-visibility: selected (it is 'all')"]);
  });

  it('repositories without a visibility', () => {
    expect(problems({ organization: 'octo', 'organization-selected-repositories': 'api' })).toEqual([
      'organization-selected-repositories: is only used with organization-visibility: selected (it is not set)',
    ]);
  });

  it('a bad visibility is one error, even without organization', () => {
    expect(problems({ 'organization-visibility': 'public' })).toEqual([
      "organization-visibility: 'public' is not one of all, private, selected",
    ]);
  });
});

describe('a bad choice names the allowed values', () => {
  it.each([
    ['previous-key', 'remove', 'delete, deactivate, keep'],
    ['key-limit', 'oldest', 'delete-inactive, delete-oldest, fail'],
  ])('%s', (input, value, allowed) => {
    expect(problems({ [input]: value })).toEqual([`${input}: '${value}' is not one of ${allowed}`]);
  });
});

describe('a bad boolean is one error, not a second one about what it would have meant', () => {
  it('export-credentials', () => {
    const values: Record<string, string> = { ...actionInputDefaults(), 'github-token': 't', 'export-credentials': 'yes' };
    let caught: unknown;
    try {
      readInputs((name) => values[name] ?? '', { GITHUB_REPOSITORY: 'octo/self' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toBe("export-credentials: 'yes' is not a boolean (use true or false)");
  });
});
