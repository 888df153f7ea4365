import { closest } from './closest.js';
import { InputError, InputErrors } from '../shared/errors.js';
import { folderInWorkspace, workspaceOf } from './workspace.js';

/** The inputs action.yml declares, in its order: the bundle cannot read action.yml (test/inputs.test.ts compares). */
export const INPUT_NAMES = [
  'github-token',
  'iam-user-name',
  'repositories',
  'environments',
  'access-key-id-secret-name',
  'secret-access-key-secret-name',
  'access-key-id-as',
  'max-age-days',
  'previous-key',
  'key-limit',
  'verify-timeout-seconds',
  'dry-run',
  'aws-region',
  'organization',
  'organization-visibility',
  'organization-selected-repositories',
  'dependabot',
  'create-environments',
  'create-user',
  'user-path',
  'user-groups',
  'user-policy-arns',
  'user-permissions-boundary',
  'user-tags',
  'export-credentials',
  'retire-after-hours',
  'oidc-plan',
  'write-interval-seconds',
  'copilot',
] as const;

export type PreviousKeyMode = 'delete' | 'deactivate' | 'keep';
export type KeyLimitMode = 'delete-inactive' | 'delete-oldest' | 'fail';
export type Visibility = 'all' | 'private' | 'selected';
/** Where the access key id goes: a secret, or an Actions variable (the secret access key is always a secret). */
export type AccessKeyIdAs = 'secret' | 'variable';
/** create-user: 'false' never creates; 'true' creates and refuses an existing user; 'if-missing' creates or rotates. */
export type CreateUserMode = 'false' | 'true' | 'if-missing';

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface Inputs {
  githubToken: string;
  iamUserName: string | undefined;
  repositories: RepoRef[];
  environments: string[];
  accessKeyIdSecretName: string;
  secretAccessKeySecretName: string;
  /** 'variable': the access key id is written as an Actions variable named accessKeyIdSecretName. */
  accessKeyIdAs: AccessKeyIdAs;
  maxAgeDays: number;
  previousKey: PreviousKeyMode;
  keyLimit: KeyLimitMode;
  verifyTimeoutSeconds: number;
  dryRun: boolean;
  awsRegion: string;
  organization: string | undefined;
  /** undefined: keep an existing secret's visibility (a new secret gets 'private'). */
  organizationVisibility: Visibility | undefined;
  /** Bare repository names in the organization. */
  organizationSelectedRepositories: string[];
  dependabot: boolean;
  createEnvironments: boolean;
  createUser: CreateUserMode;
  userPath: string;
  userGroups: string[];
  userPolicyArns: string[];
  userPermissionsBoundary: string | undefined;
  userTags: Tag[];
  exportCredentials: boolean;
  /** 0: retire the previous key in the same run; > 0: leave it Active and retire it in a later run once due. */
  retireAfterHours: number;
  /** A directory: write the plan to replace the key with a role there, read-only, instead of rotating. */
  oidcPlan: string | undefined;
  /**
   * The job's writes go out at most one per this many seconds on average, counted from the job's start (a fleet plan
   * sets it so that its jobs together stay under GitHub's limits); undefined: the shipped pace.
   */
  writeIntervalSeconds: number | undefined;
  /** Also write the pair as Copilot coding agent secrets (agents/secrets) of every repository and the organization. */
  copilot: boolean;
}

/** Reads one raw input by its action.yml name ('' when unset), like core.getInput. */
export type InputReader = (name: string) => string;

// Letters, digits, '-' and, for Enterprise Managed Users (octo_emu), '_'; at most 39 characters.
const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$/;
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IAM_USER = /^[\w+=,.@-]{1,64}$/;
const IAM_GROUP = /^[\w+=,.@-]{1,128}$/;
const IAM_PATH = /^\/(?:[\x21-\x7E]{1,510}\/)?$/;
const POLICY_ARN = /^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy\/[\x21-\x7E]+$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

/** Split a list input on newlines and commas; trim; drop empties. */
export function splitList(raw: string): string[] {
  return raw
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The list inputs, each with what one entry is and two examples, for the message about list syntax. */
const LIST_FORMS = {
  repositories: ['owner/name', 'octo/api', 'octo/web'],
  environments: ['name', 'prod', 'staging'],
  'organization-selected-repositories': ['repository', 'api', 'web'],
  'user-groups': ['group', 'deployers', 'readers'],
  'user-policy-arns': ['ARN', 'arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'],
  'user-tags': ['key=value', 'team=platform', 'env=prod'],
} as const;
type ListInput = keyof typeof LIST_FORMS;

/**
 * A list input written as a YAML or JSON list ("- prod", "[prod, staging]") or with quoted entries: split on
 * newlines and commas, its entries would be '- prod', '[prod' or '"prod"', names nobody means. Reported once for the
 * input: list syntax quoting the value as given (`given`, not the piece of it a split left) and the list written as
 * this action reads it; quotes naming the first quoted entry.
 */
function listSyntax(input: ListInput, given: string, entries: string[]): InputError | undefined {
  const [what, a, b] = LIST_FORMS[input];
  const accepted = `give one ${what} per line or comma-separated (${a}, ${b})`;
  // A closing bracket counts only without its opening one: 'prod [eu]' can be a name, 'staging]' is not.
  const bracketed = (entry: string) =>
    /^-(?:\s|$)|^[[{]/.test(entry) || (entry.endsWith(']') && !entry.includes('[')) || (entry.endsWith('}') && !entry.includes('{'));
  if (entries.some(bracketed)) {
    // The entries as meant: without a leading '- ', an opening bracket, a closing one it left, or quotes.
    const unlisted = (entry: string) => {
      const e = entry.replace(/^-(?:\s+|$)/, '').replace(/^[[{]\s*/, '');
      return (/[[{]/.test(e) ? e : e.replace(/\s*[\]}]$/, '')).replace(/^(['"])(.*)\1$/, '$2').trim();
    };
    const items = entries.map(unlisted).filter((e) => e !== '');
    return new InputError(
      input,
      `${quote(given.trim())} looks like YAML list syntax: give one ${what} per line or comma-separated, without '- ' or ` +
        `brackets: ${(items.length > 0 ? items : [a, b]).join(', ')}`,
    );
  }
  for (const entry of entries) {
    if (/^['"]|['"]$/.test(entry)) {
      return new InputError(input, `${quote(entry)} is quoted: ${accepted}, without quotes`);
    }
  }
  return undefined;
}

/** Added to the error for a bad list entry that holds whitespace: most likely several entries separated by spaces. */
function spaced(entry: string): string {
  return /\s/.test(entry) ? ': separate entries with commas or newlines, not spaces' : '';
}

/** Quote a value for an error message, keeping the message on one line. */
function quote(value: string): string {
  return `'${value.replace(/\r?\n/g, '\\n').replace(/[\p{Cc}]/gu, '?')}'`;
}

function bool(read: InputReader, name: string, fallback: boolean): boolean {
  const raw = read(name).trim();
  if (raw === '') return fallback;
  if (TRUE.includes(raw)) return true;
  if (FALSE.includes(raw)) return false;
  throw new InputError(name, `${quote(raw)} is not a boolean (use true or false)`);
}

function integer(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const raw = read(name).trim();
  if (raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InputError(name, `${quote(raw)} is not a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

function hours(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const raw = read(name).trim();
  if (raw === '') return fallback;
  if (!/^\d+(?:\.\d+)?$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InputError(name, `${quote(raw)} is not a number of hours from ${min} to ${max} (decimals allowed, e.g. 24 or 0.5)`);
  }
  return Number(raw);
}

function createUserMode(read: InputReader): CreateUserMode {
  const raw = read('create-user').trim();
  if (raw === '' || FALSE.includes(raw)) return 'false';
  if (TRUE.includes(raw)) return 'true';
  if (raw === 'if-missing') return 'if-missing';
  throw new InputError('create-user', `${quote(raw)} is not one of false, true, if-missing`);
}

function oneOf<T extends string>(read: InputReader, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = read(name).trim();
  if (raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new InputError(name, `${quote(raw)} is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

export function parseRepository(name: string, value: string): RepoRef {
  const parts = value.split('/');
  if (parts.length !== 2 || !OWNER.test(parts[0]) || !REPO_NAME.test(parts[1]) || /^\.\.?$/.test(parts[1])) {
    throw new InputError(name, `${quote(value)} is not owner/name${spaced(value)}`);
  }
  return { owner: parts[0], repo: parts[1] };
}

function secretName(read: InputReader, name: string, fallback: string): string {
  const value = read(name).trim() || fallback;
  if (!SECRET_NAME.test(value)) {
    throw new InputError(
      name,
      `${quote(value)} is not a valid secret name (letters, digits and _ only, not starting with a digit)`,
    );
  }
  if (/^GITHUB_/i.test(value)) {
    throw new InputError(name, `${quote(value)} starts with GITHUB_, which GitHub reserves`);
  }
  return value;
}

/** One environment name: GitHub allows up to 255 characters, '/' included (the REST path encodes it). */
function environmentName(env: string): string {
  // '.' and '..' would move up the REST path even encoded; control characters cannot be sent.
  if (env.length > 255 || /\p{Cc}/u.test(env) || /^\.\.?$/.test(env)) {
    throw new InputError(
      'environments',
      `${quote(env)} is not a valid environment name (at most 255 characters, no control characters, not '.' or '..')`,
    );
  }
  return env;
}

function dedupe<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function tag(entry: string): Tag {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? '' : entry.slice(0, eq).trim();
  const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
  if (eq < 0 || key.length === 0 || key.length > 128 || value.length > 256) {
    throw new InputError(
      'user-tags',
      `${quote(entry)} is not key=value (key 1-128 characters, value at most 256)${spaced(entry)}`,
    );
  }
  if (/^aws:/i.test(key)) throw new InputError('user-tags', `${quote(key)}: tag keys starting with aws: are reserved`);
  return { Key: key, Value: value };
}

/** The variable the runner passes an input in: INPUT_ and the name in upper case, spaces as '_' (hyphens kept). */
const inputVariable = (input: string) => `INPUT_${input.replace(/ /g, '_').toUpperCase()}`;
const DECLARED = new Set<string>(INPUT_NAMES.map(inputVariable));

/** Input names compared as a person would mean them: case, '_', '-' and spaces alike. */
const loose = (name: string) => name.toLowerCase().replace(/[\s_]/g, '-');

/**
 * The inputs of aws-actions/configure-aws-credentials (v6.2.3's action.yml) this action does not declare. People who
 * come from it write them here; this action takes its AWS credentials from the environment, as the AWS SDK does.
 * The key's own inputs name the variable to set in env: instead.
 */
const CONFIGURE_AWS_CREDENTIALS_KEY: Readonly<Record<string, string>> = {
  'aws-access-key-id': 'AWS_ACCESS_KEY_ID',
  'aws-secret-access-key': 'AWS_SECRET_ACCESS_KEY',
  'aws-session-token': 'AWS_SESSION_TOKEN',
  'aws-profile': 'AWS_PROFILE',
};
const CONFIGURE_AWS_CREDENTIALS_OTHER = new Set([
  'overwrite-aws-profile',
  'role-to-assume',
  'web-identity-token-file',
  'role-chaining',
  'audience',
  'http-proxy',
  'no-proxy',
  'mask-aws-account-id',
  'role-duration-seconds',
  'role-external-id',
  'role-session-name',
  'role-skip-session-tagging',
  'transitive-tag-keys',
  'inline-session-policy',
  'managed-session-policies',
  'output-credentials',
  'output-env-credentials',
  'unset-current-credentials',
  'disable-retry',
  'retry-max-attempts',
  'special-characters-workaround',
  'use-existing-credentials',
  'allowed-account-ids',
  'force-skip-oidc',
  'action-timeout-s',
  'custom-tags',
  'sts-endpoint',
]);

/** For an input of configure-aws-credentials: where AWS credentials come from instead. Else undefined. */
function credentialsAdvice(name: string): string | undefined {
  const key = loose(name);
  const variable = CONFIGURE_AWS_CREDENTIALS_KEY[key];
  if (variable !== undefined) {
    return (
      `${key} is an input of aws-actions/configure-aws-credentials; this action reads its AWS credentials from the ` +
      `environment: set ${variable} in the step's env: (${variable}: \${{ secrets.${variable} }}), or run ` +
      'configure-aws-credentials in a step before this one'
    );
  }
  if (!CONFIGURE_AWS_CREDENTIALS_OTHER.has(key)) return undefined;
  if (key === 'http-proxy' || key === 'no-proxy') {
    return `${key} is an input of aws-actions/configure-aws-credentials; this action honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY: set them in the step's env:`;
  }
  return (
    `${key} is an input of aws-actions/configure-aws-credentials; this action reads its AWS credentials from the ` +
    'environment: give it to a configure-aws-credentials step before this one, whose credentials this step then uses' +
    (key === 'role-to-assume' ? ' (with a role, set iam-user-name here: the user whose key rotates)' : '')
  );
}

/** What to tell the author of an unknown input: the declared input it most likely meant. */
function didYouMean(name: string): string {
  const credentials = credentialsAdvice(name);
  if (credentials !== undefined) return credentials;
  const near = closest(name, INPUT_NAMES, loose);
  if (near === undefined) return 'remove it';
  if (near.distance <= Math.max(2, Math.floor(loose(name).length / 3))) return `did you mean ${near.name}?`;
  // A word of an input's name (token, region, timeout) most likely means that input.
  const part = loose(name).length >= 4 ? INPUT_NAMES.find((n) => n.includes(loose(name))) : undefined;
  if (part !== undefined) return `did you mean ${part}?`;
  return `remove it, or use one of the inputs action.yml declares (the nearest is ${near.name})`;
}

/**
 * Every INPUT_* variable of `env` that no declared input is passed in: a misspelled or unsupported `with:` key (the
 * runner only warns about those, and the action would silently use the default). Case is ignored, as
 * @github/local-action reads lower-case names too.
 */
function unknownInputs(env: Record<string, string | undefined>): InputError[] {
  return undeclaredInputs(env, DECLARED, (name, variable) => `is not an input of this action (${variable}, from the step's with: or env:): ${didYouMean(name)}`);
}

/**
 * One error per INPUT_* variable of `env` that no input in `declared` (their variables' names) is passed in, sorted:
 * a misspelled `with:` key, or an `env:` entry of that form. `message` says it, given the input's name and the variable.
 */
export function undeclaredInputs(
  env: Record<string, string | undefined>,
  declared: ReadonlySet<string>,
  message: (name: string, variable: string) => string,
): InputError[] {
  return Object.keys(env)
    .filter((k) => k.startsWith('INPUT_') && env[k] !== undefined && !declared.has(k.toUpperCase()))
    .sort()
    .map((k) => {
      const name = k.slice('INPUT_'.length).toLowerCase();
      return new InputError(name || k, message(name, k));
    });
}

/**
 * Run one check; a bad input (an InputError) is recorded in `problems` and `fallback` stands in for it, so the checks
 * after it still run and every problem is reported at once. Any other error is thrown.
 */
export function checkedInto(problems: InputError[]): <T>(fallback: T, check: () => T) => T {
  return (fallback, check) => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push(err);
      return fallback;
    }
  };
}

/**
 * Read and validate every input, making no network call. Every bad input is reported at once: one InputError
 * (`input: problem`) when there is one, an InputErrors listing each when there are more. `env` supplies
 * GITHUB_REPOSITORY, the default for `repositories`, and GITHUB_ENV, which export-credentials needs; every
 * INPUT_* variable in it must belong to a declared input.
 */
export function readInputs(read: InputReader, env: Record<string, string | undefined> = process.env): Inputs {
  const problems: InputError[] = unknownInputs(env);
  const problem = (input: string, message: string): void => void problems.push(new InputError(input, message));
  const checked = checkedInto(problems);
  /** List inputs written in list syntax (reported once): their entries are not checked one by one. */
  const listLike = new Set<string>();
  /** A list input's entries, as given (list syntax is reported here). */
  const list = (input: ListInput): string[] => {
    const given = read(input);
    const raw = splitList(given);
    const err = listSyntax(input, given, raw);
    if (err) {
      problems.push(err);
      listLike.add(input);
    }
    return raw;
  };
  /** Each entry of a list input that passes `check` (every bad entry is recorded). */
  const entries = <T>(input: ListInput, raw: string[], check: (entry: string) => T): T[] =>
    listLike.has(input) ? [] : raw.flatMap((entry) => checked<T[]>([], () => [check(entry)]));

  const githubToken = read('github-token').trim();
  if (!githubToken) {
    problem(
      'github-token',
      'is required: pass a token that can write secrets (a fine-grained PAT, classic PAT or GitHub App token; the workflow GITHUB_TOKEN cannot)',
    );
  }

  // A bad value still counts as given below, so the checks that depend on it do not report it a second time.
  const iamUserName = read('iam-user-name').trim() || undefined;
  if (iamUserName !== undefined && !IAM_USER.test(iamUserName)) {
    problem('iam-user-name', `${quote(iamUserName)} is not a valid IAM user name ([\\w+=,.@-], 1-64 characters)`);
  }

  const organization = read('organization').trim() || undefined;
  if (organization !== undefined && !OWNER.test(organization)) {
    problem('organization', `${quote(organization)} is not a valid organization login`);
  }

  const repositoryEntries = list('repositories');
  let repositories = dedupe(
    entries('repositories', repositoryEntries, (r) => parseRepository('repositories', r)),
    (r) => `${r.owner}/${r.repo}`.toLowerCase(),
  );
  if (repositoryEntries.length === 0 && organization === undefined) {
    const own = (env.GITHUB_REPOSITORY ?? '').trim();
    if (!own) {
      problem('repositories', 'is empty and GITHUB_REPOSITORY is not set: name at least one owner/name');
    } else {
      repositories = entries('repositories', [own], (r) => parseRepository('repositories', r));
    }
  }

  const environmentEntries = list('environments');
  const environments = dedupe(entries('environments', environmentEntries, environmentName), (s) => s.toLowerCase());
  if (environmentEntries.length > 0 && repositoryEntries.length === 0 && organization !== undefined) {
    problem('environments', 'needs repositories: environments belong to repositories, not to organizations');
  }

  const accessKeyIdSecretName = checked(undefined, () => secretName(read, 'access-key-id-secret-name', 'AWS_ACCESS_KEY_ID'));
  const secretAccessKeySecretName = checked(undefined, () =>
    secretName(read, 'secret-access-key-secret-name', 'AWS_SECRET_ACCESS_KEY'),
  );
  if (
    accessKeyIdSecretName !== undefined &&
    secretAccessKeySecretName !== undefined &&
    accessKeyIdSecretName.toUpperCase() === secretAccessKeySecretName.toUpperCase()
  ) {
    problem(
      'secret-access-key-secret-name',
      `${quote(secretAccessKeySecretName)} is the same secret as access-key-id-secret-name (names ignore case)`,
    );
  }

  const awsRegion = read('aws-region').trim() || 'us-east-1';
  if (!REGION.test(awsRegion)) {
    problem('aws-region', `${quote(awsRegion)} is not an AWS region (e.g. us-east-1, us-gov-west-1, cn-north-1)`);
  }

  // null: organization-visibility itself is bad (already reported), so nothing is checked against it.
  const visibilityRaw = checked<Visibility | '' | null>(null, () =>
    oneOf<Visibility | ''>(read, 'organization-visibility', '', ['all', 'private', 'selected']),
  );
  const organizationVisibility = visibilityRaw === '' || visibilityRaw === null ? undefined : visibilityRaw;
  const selectedRaw = list('organization-selected-repositories');
  if (organization === undefined) {
    if (organizationVisibility !== undefined) problem('organization-visibility', 'is set but organization is empty');
    if (selectedRaw.length > 0) problem('organization-selected-repositories', 'is set but organization is empty');
  } else if (organizationVisibility === 'selected' && selectedRaw.length === 0) {
    problem('organization-selected-repositories', "is required when organization-visibility is 'selected'");
  } else if (visibilityRaw !== null && organizationVisibility !== 'selected' && selectedRaw.length > 0) {
    problem(
      'organization-selected-repositories',
      `is only used with organization-visibility: selected (it is ${organizationVisibility === undefined ? 'not set' : quote(organizationVisibility)})`,
    );
  }
  const organizationSelectedRepositories = dedupe(
    entries('organization-selected-repositories', selectedRaw, (entry) => {
      if (entry.includes('/')) {
        const ref = parseRepository('organization-selected-repositories', entry);
        if (ref.owner.toLowerCase() !== (organization ?? '').toLowerCase()) {
          throw new InputError(
            'organization-selected-repositories',
            `${quote(entry)} is not in organization ${quote(organization ?? '')}`,
          );
        }
        return ref.repo;
      }
      if (!REPO_NAME.test(entry) || /^\.\.?$/.test(entry)) {
        throw new InputError('organization-selected-repositories', `${quote(entry)} is not a repository name${spaced(entry)}`);
      }
      return entry;
    }),
    (s) => s.toLowerCase(),
  );

  // null: create-user itself is bad (already reported).
  const createUserRaw = checked<CreateUserMode | null>(null, () => createUserMode(read));
  const createUser = createUserRaw ?? 'false';
  if (createUserRaw !== null && createUser !== 'false' && iamUserName === undefined) {
    problem('create-user', 'needs iam-user-name: name the user to create');
  }
  const userPath = read('user-path').trim() || '/';
  if (!IAM_PATH.test(userPath)) {
    problem('user-path', `${quote(userPath)} is not an IAM path (starts and ends with /, e.g. /ci/deployers/)`);
  }
  const userGroupEntries = list('user-groups');
  const userGroups = dedupe(
    entries('user-groups', userGroupEntries, (g) => {
      if (!IAM_GROUP.test(g)) throw new InputError('user-groups', `${quote(g)} is not a valid IAM group name${spaced(g)}`);
      return g;
    }),
    (s) => s,
  );
  const userPolicyArnEntries = list('user-policy-arns');
  const userPolicyArns = dedupe(
    entries('user-policy-arns', userPolicyArnEntries, (arn) => {
      if (!POLICY_ARN.test(arn)) {
        throw new InputError(
          'user-policy-arns',
          `${quote(arn)} is not a managed policy ARN (arn:aws:iam::123456789012:policy/name)${spaced(arn)}`,
        );
      }
      return arn;
    }),
    (s) => s,
  );
  const userPermissionsBoundary = read('user-permissions-boundary').trim() || undefined;
  if (userPermissionsBoundary !== undefined && !POLICY_ARN.test(userPermissionsBoundary)) {
    problem('user-permissions-boundary', `${quote(userPermissionsBoundary)} is not a managed policy ARN`);
  }
  const userTagEntries = list('user-tags');
  const userTags = entries('user-tags', userTagEntries, tag);
  if (createUserRaw === 'false') {
    const given = [
      ['user-path', userPath !== '/'],
      ['user-groups', userGroupEntries.length > 0],
      ['user-policy-arns', userPolicyArnEntries.length > 0],
      ['user-permissions-boundary', userPermissionsBoundary !== undefined],
      ['user-tags', userTagEntries.length > 0],
    ] as const;
    for (const [input, set] of given) if (set) problem(input, 'is only used with create-user: true or if-missing');
  }

  const exportCredentials = checked(false, () => bool(read, 'export-credentials', false));
  if (exportCredentials && !(env.GITHUB_ENV ?? '').trim()) {
    problem(
      'export-credentials',
      'is true but GITHUB_ENV is not set, so the new secret could only be exported by printing it: run the action ' +
        'on a runner (which sets GITHUB_ENV), or set export-credentials: false',
    );
  }

  const maxAgeDays = checked(0, () => integer(read, 'max-age-days', 0, 0, 36500));
  const previousKey = checked<PreviousKeyMode>('delete', () =>
    oneOf<PreviousKeyMode>(read, 'previous-key', 'delete', ['delete', 'deactivate', 'keep']),
  );
  const keyLimit = checked<KeyLimitMode>('delete-inactive', () =>
    oneOf<KeyLimitMode>(read, 'key-limit', 'delete-inactive', ['delete-inactive', 'delete-oldest', 'fail']),
  );
  const verifyTimeoutSeconds = checked(60, () => integer(read, 'verify-timeout-seconds', 60, 0, 3600));
  const dryRun = checked(false, () => bool(read, 'dry-run', false));
  const retireAfterHours = checked(0, () => hours(read, 'retire-after-hours', 0, 0, 8760));
  const dependabot = checked(false, () => bool(read, 'dependabot', false));
  const accessKeyIdAs = checked<AccessKeyIdAs>('secret', () =>
    oneOf<AccessKeyIdAs>(read, 'access-key-id-as', 'secret', ['secret', 'variable']),
  );
  if (accessKeyIdAs === 'variable' && dependabot) {
    problem(
      'access-key-id-as',
      "'variable' cannot be used with dependabot: true: Dependabot has no variables, only secrets. Set " +
        'access-key-id-as: secret to write the id as a secret everywhere, or dependabot: false',
    );
  }
  const createEnvironments = checked(false, () => bool(read, 'create-environments', false));
  const copilot = checked(false, () => bool(read, 'copilot', false));
  if (accessKeyIdAs === 'variable' && copilot) {
    problem(
      'access-key-id-as',
      "'variable' cannot be used with copilot: true: this action writes the Copilot coding agent's secrets, not its " +
        'variables. Set access-key-id-as: secret to write the id as a secret everywhere, or copilot: false',
    );
  }

  const oidcPlan = read('oidc-plan').trim() || undefined;
  if (oidcPlan !== undefined) {
    if (/[\r\n\0]/.test(oidcPlan)) problem('oidc-plan', 'is not one directory path (it holds a line break or NUL)');
    else if (folderInWorkspace(oidcPlan, workspaceOf(env)) === undefined) {
      problem(
        'oidc-plan',
        `${quote(oidcPlan)} is not a folder inside the workspace (${workspaceOf(env)}): the plan is written only there; ` +
          'give a path relative to the workspace, such as oidc-plan',
      );
    }
    if (createUserRaw !== null && createUser !== 'false') {
      problem('oidc-plan', `is a read-only plan for an existing user's key: it cannot be combined with create-user: ${createUser}`);
    }
    if (exportCredentials) problem('oidc-plan', 'creates no key, so there is nothing to export: set export-credentials: false');
  }

  // Never faster than GitHub's guidance for one client (a write a second): slower only, as a fleet plan sets it.
  const writeIntervalRaw = read('write-interval-seconds').trim();
  let writeIntervalSeconds: number | undefined;
  if (writeIntervalRaw !== '') {
    if (/^\d+(?:\.\d{1,3})?$/.test(writeIntervalRaw) && Number(writeIntervalRaw) >= 1 && Number(writeIntervalRaw) <= 3600) {
      writeIntervalSeconds = Number(writeIntervalRaw);
    } else {
      problem(
        'write-interval-seconds',
        `${quote(writeIntervalRaw)} is not a number of seconds from 1 to 3600 (at most three decimals, e.g. 7.625)`,
      );
    }
  }

  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new InputErrors(problems);
  return {
    githubToken,
    iamUserName,
    repositories,
    environments,
    accessKeyIdSecretName: accessKeyIdSecretName ?? '',
    secretAccessKeySecretName: secretAccessKeySecretName ?? '',
    accessKeyIdAs,
    maxAgeDays,
    previousKey,
    keyLimit,
    verifyTimeoutSeconds,
    dryRun,
    awsRegion,
    organization,
    organizationVisibility,
    organizationSelectedRepositories,
    dependabot,
    createEnvironments,
    createUser,
    userPath,
    userGroups,
    userPolicyArns,
    userPermissionsBoundary,
    userTags,
    exportCredentials,
    retireAfterHours,
    oidcPlan,
    writeIntervalSeconds,
    copilot,
  };
}
