/** The fleet's manifest: parsed with line numbers, refused whole before any call, each problem naming file, line and rule. */
import { describe, expect, it } from '@jest/globals';
import { ManifestErrors, USER_KEYS, parseManifest } from '../src/fleet/manifest.js';
import { INPUT_NAMES } from '../src/config/inputs.js';

const FILE = '.github/aws-access-keys.yml';

/** Every problem of a manifest, as `line: message`. */
function problems(text: string): string[] {
  try {
    parseManifest(FILE, text);
  } catch (err) {
    if (err instanceof ManifestErrors) return err.problems.map((p) => `${p.line}: ${p.message}`);
    throw err;
  }
  return [];
}

const GOOD = `version: 1
defaults:
  role: arn:aws:iam::123456789012:role/access-key-rotator
  max-age-days: 30
users:
  deploy-api:
    repositories: [octo/api, octo/api-worker]
    environments: production
  deploy-web:
    repositories: octo/web
    dependabot: true
    max-age-days: 60
  reporting:
    organization: octo
    organization-visibility: private
    access-key-id-secret-name: REPORTING_KEY_ID
    secret-access-key-secret-name: REPORTING_SECRET
`;

describe('a good manifest', () => {
  it('gives each user its line, role, account, the rotation inputs it sets and its destinations', () => {
    const m = parseManifest(FILE, GOOD);
    expect(m.usersLine).toBe(5);
    expect(m.users.map((u) => [u.name, u.line, u.account, u.destinations.length])).toEqual([
      ['deploy-api', 6, '123456789012', 2],
      ['deploy-web', 9, '123456789012', 2],
      ['reporting', 13, '123456789012', 1],
    ]);
    const api = m.users[0];
    expect(api.role).toBe('arn:aws:iam::123456789012:role/access-key-rotator');
    expect(api.with).toEqual({ 'max-age-days': '30', repositories: 'octo/api\nocto/api-worker', environments: 'production' });
    expect(api.inputs.environments).toEqual(['production']);
    expect(api.lines).toEqual({ role: 3, 'max-age-days': 4, repositories: 7, environments: 8 });
    // A user's own option wins over defaults.
    expect(m.users[1].inputs.maxAgeDays).toBe(60);
    expect(m.users[1].with.dependabot).toBe('true');
    expect(m.users[2].destinations).toEqual([{ kind: 'organization', org: 'octo', visibility: 'private', selectedRepositories: [] }]);
  });

  it("accepts every rotation input but the refused ones, and role: the keys are the rotation's own", () => {
    expect(USER_KEYS).toContain('role');
    for (const refused of ['github-token', 'iam-user-name', 'dry-run', 'oidc-plan', 'export-credentials', 'create-user', 'write-interval-seconds']) {
      expect(USER_KEYS).not.toContain(refused);
    }
    expect(USER_KEYS.filter((k) => k !== 'role').every((k) => (INPUT_NAMES as readonly string[]).includes(k))).toBe(true);
  });

  it('two users may share a place under other secret names', () => {
    const text = `users:
  a:
    repositories: octo/app
  b:
    repositories: octo/app
    access-key-id-secret-name: B_KEY_ID
    secret-access-key-secret-name: B_SECRET
`;
    expect(problems(text)).toEqual([]);
  });
});

describe('bad manifests are refused whole, naming the line and the rule', () => {
  it('YAML that does not parse', () => {
    expect(problems('users:\n  a:\n    repositories: [octo/a\n')).toEqual([
      '4: does not parse as YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('an unknown key, with the nearest known one', () => {
    expect(problems('users:\n  a:\n    repositorys: octo/a\n')).toEqual([
      "3: user a: unknown key 'repositorys': did you mean repositories?",
      '2: user a: names no destination: give repositories: or organization:',
    ].sort());
    expect(problems('vesion: 1\nusers:\n  a:\n    repositories: octo/a\n')).toEqual(["1: unknown key 'vesion' at the top: did you mean version?"]);
    expect(problems('defaults:\n  enviroments: prod\nusers:\n  a:\n    repositories: octo/a\n')).toEqual([
      "2: defaults: unknown key 'enviroments': did you mean environments?",
    ]);
  });

  it('a user listed twice, whatever its case', () => {
    expect(problems('users:\n  deploy:\n    repositories: octo/a\n  Deploy:\n    repositories: octo/b\n')).toEqual([
      '4: user Deploy is listed twice (first at line 2): list each IAM user once',
    ]);
  });

  it('a destination listed under two users: the torn-pair world', () => {
    const text = `users:
  a:
    repositories: octo/app
    environments: prod
  b:
    repositories: Octo/App
    environments: PROD
`;
    expect(problems(text)).toEqual([
      "5: Octo/App environment 'PROD' secret AWS_ACCESS_KEY_ID is listed under user a (line 2) and user b: each destination holds one user's key: give it to one user, or use other secret names",
    ]);
  });

  it("an option that breaks the rotation's own rules, at the line that set it (defaults included)", () => {
    const text = `defaults:
  previous-key: remove
users:
  a:
    repositories: octo/app, not a repo
`;
    expect(problems(text)).toEqual([
      "2: user a: previous-key: 'remove' is not one of delete, deactivate, keep",
      "5: user a: repositories: 'not a repo' is not owner/name: separate entries with commas or newlines, not spaces",
    ]);
  });

  it('refused options say why', () => {
    expect(problems('users:\n  a:\n    repositories: octo/a\n    github-token: ghp_x\n')).toEqual([
      '4: user a: github-token cannot be set in the manifest: a token is a secret and never belongs in a file: the rotate job passes it (with: github-token)',
    ]);
  });

  it('a role that is not a role ARN, a bad user name, a missing users:, a wrong version', () => {
    expect(problems('users:\n  a:\n    role: arn:aws:iam::123:user/x\n    repositories: octo/a\n')).toEqual([
      "3: user a: role 'arn:aws:iam::123:user/x' is not an IAM role ARN (arn:aws:iam::123456789012:role/name)",
    ]);
    expect(problems('users:\n  "a b":\n    repositories: octo/a\n')).toEqual([
      "2: 'a b' is not a valid IAM user name ([\\w+=,.@-], 1-64 characters)",
    ]);
    expect(problems('version: 1\n')).toEqual(['1: users: is missing: list every managed IAM user under users:']);
    expect(problems('version: 2\nusers:\n  a:\n    repositories: octo/a\n')).toEqual([
      "1: version: '2' is not a manifest version this action reads (1)",
    ]);
  });

  it('several problems: every one, in line order', () => {
    const text = `users:
  a:
    repositories: octo/a
    key-limt: fail
  a:
    repositories: octo/b
  b:
    repositories: octo/a
`;
    expect(problems(text)).toEqual([
      "4: user a: unknown key 'key-limt': did you mean key-limit?",
      '5: user a is listed twice (first at line 2): list each IAM user once',
      "7: octo/a secret AWS_ACCESS_KEY_ID is listed under user a (line 2) and user b: each destination holds one user's key: give it to one user, or use other secret names",
    ]);
  });
});
