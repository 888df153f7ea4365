import { InputError } from './errors.js';

export type PreviousKeyMode = 'delete' | 'deactivate' | 'keep';
export type KeyLimitMode = 'delete-inactive' | 'delete-oldest' | 'fail';
export type Visibility = 'all' | 'private' | 'selected';

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
  maxAgeDays: number;
  previousKey: PreviousKeyMode;
  keyLimit: KeyLimitMode;
  verifyTimeoutSeconds: number;
  dryRun: boolean;
  awsRegion: string;
  organization: string | undefined;
  organizationVisibility: Visibility;
  /** Bare repository names in the organization. */
  organizationSelectedRepositories: string[];
  dependabot: boolean;
  createEnvironments: boolean;
  createUser: boolean;
  userPath: string;
  userGroups: string[];
  userPolicyArns: string[];
  userPermissionsBoundary: string | undefined;
  userTags: Tag[];
  exportCredentials: boolean;
}

/** Reads one raw input by its action.yml name ('' when unset), like core.getInput. */
export type InputReader = (name: string) => string;

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
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
    throw new InputError(name, `${quote(value)} is not owner/name`);
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

function environmentNames(read: InputReader): string[] {
  const names = splitList(read('environments'));
  for (const env of names) {
    // GitHub: up to 255 characters; a slash or control character cannot be addressed in the REST path.
    if (env.length > 255 || /[\p{Cc}/]/u.test(env) || /^\.\.?$/.test(env)) {
      throw new InputError(
        'environments',
        `${quote(env)} is not a valid environment name (at most 255 characters, no '/', not '.' or '..')`,
      );
    }
  }
  return dedupe(names, (s) => s.toLowerCase());
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

function tags(raw: string): Tag[] {
  return splitList(raw).map((entry) => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? '' : entry.slice(0, eq).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (eq < 0 || key.length === 0 || key.length > 128 || value.length > 256) {
      throw new InputError(
        'user-tags',
        `${quote(entry)} is not key=value (key 1-128 characters, value at most 256)`,
      );
    }
    if (/^aws:/i.test(key)) throw new InputError('user-tags', `${quote(key)}: tag keys starting with aws: are reserved`);
    return { Key: key, Value: value };
  });
}

/**
 * Read and validate every input. Throws an InputError naming the input, the value and the rule; makes no network
 * call. `env` supplies GITHUB_REPOSITORY, the default for `repositories`.
 */
export function readInputs(read: InputReader, env: Record<string, string | undefined> = process.env): Inputs {
  const githubToken = read('github-token').trim();
  if (!githubToken) {
    throw new InputError(
      'github-token',
      'is required: pass a token that can write secrets (a fine-grained PAT, classic PAT or GitHub App token; the workflow GITHUB_TOKEN cannot)',
    );
  }

  const iamUserName = read('iam-user-name').trim() || undefined;
  if (iamUserName !== undefined && !IAM_USER.test(iamUserName)) {
    throw new InputError('iam-user-name', `${quote(iamUserName)} is not a valid IAM user name ([\\w+=,.@-], 1-64 characters)`);
  }

  const organization = read('organization').trim() || undefined;
  if (organization !== undefined && !OWNER.test(organization)) {
    throw new InputError('organization', `${quote(organization)} is not a valid organization login`);
  }

  let repositories = dedupe(
    splitList(read('repositories')).map((r) => parseRepository('repositories', r)),
    (r) => `${r.owner}/${r.repo}`.toLowerCase(),
  );
  if (repositories.length === 0 && organization === undefined) {
    const own = (env.GITHUB_REPOSITORY ?? '').trim();
    if (!own) {
      throw new InputError('repositories', 'is empty and GITHUB_REPOSITORY is not set: name at least one owner/name');
    }
    repositories = [parseRepository('repositories', own)];
  }

  const environments = environmentNames(read);
  if (environments.length > 0 && repositories.length === 0) {
    throw new InputError('environments', 'needs repositories: environments belong to repositories, not to organizations');
  }

  const accessKeyIdSecretName = secretName(read, 'access-key-id-secret-name', 'AWS_ACCESS_KEY_ID');
  const secretAccessKeySecretName = secretName(read, 'secret-access-key-secret-name', 'AWS_SECRET_ACCESS_KEY');
  if (accessKeyIdSecretName.toUpperCase() === secretAccessKeySecretName.toUpperCase()) {
    throw new InputError(
      'secret-access-key-secret-name',
      `${quote(secretAccessKeySecretName)} is the same secret as access-key-id-secret-name (names ignore case)`,
    );
  }

  const awsRegion = read('aws-region').trim() || 'us-east-1';
  if (!REGION.test(awsRegion)) {
    throw new InputError('aws-region', `${quote(awsRegion)} is not an AWS region (e.g. us-east-1, us-gov-west-1, cn-north-1)`);
  }

  const organizationVisibility = oneOf<Visibility>(read, 'organization-visibility', 'private', ['all', 'private', 'selected']);
  const selectedRaw = splitList(read('organization-selected-repositories'));
  if (organization === undefined) {
    if (read('organization-visibility').trim() !== '' && organizationVisibility !== 'private') {
      throw new InputError('organization-visibility', 'is set but organization is empty');
    }
    if (selectedRaw.length > 0) throw new InputError('organization-selected-repositories', 'is set but organization is empty');
  }
  if (organizationVisibility === 'selected' && organization !== undefined && selectedRaw.length === 0) {
    throw new InputError('organization-selected-repositories', "is required when organization-visibility is 'selected'");
  }
  if (organizationVisibility !== 'selected' && selectedRaw.length > 0) {
    throw new InputError(
      'organization-selected-repositories',
      `is only used with organization-visibility: selected (it is ${quote(organizationVisibility)})`,
    );
  }
  const organizationSelectedRepositories = dedupe(
    selectedRaw.map((entry) => {
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
        throw new InputError('organization-selected-repositories', `${quote(entry)} is not a repository name`);
      }
      return entry;
    }),
    (s) => s.toLowerCase(),
  );

  const createUser = bool(read, 'create-user', false);
  if (createUser && iamUserName === undefined) {
    throw new InputError('create-user', 'needs iam-user-name: name the user to create');
  }
  const userPath = read('user-path').trim() || '/';
  if (!IAM_PATH.test(userPath)) {
    throw new InputError('user-path', `${quote(userPath)} is not an IAM path (starts and ends with /, e.g. /ci/deployers/)`);
  }
  const userGroups = dedupe(splitList(read('user-groups')), (s) => s);
  for (const g of userGroups) {
    if (!IAM_GROUP.test(g)) throw new InputError('user-groups', `${quote(g)} is not a valid IAM group name`);
  }
  const userPolicyArns = dedupe(splitList(read('user-policy-arns')), (s) => s);
  for (const arn of userPolicyArns) {
    if (!POLICY_ARN.test(arn)) throw new InputError('user-policy-arns', `${quote(arn)} is not a managed policy ARN (arn:aws:iam::123456789012:policy/name)`);
  }
  const userPermissionsBoundary = read('user-permissions-boundary').trim() || undefined;
  if (userPermissionsBoundary !== undefined && !POLICY_ARN.test(userPermissionsBoundary)) {
    throw new InputError('user-permissions-boundary', `${quote(userPermissionsBoundary)} is not a managed policy ARN`);
  }
  const userTags = tags(read('user-tags'));
  if (!createUser) {
    const given = (
      [
        ['user-path', userPath !== '/'],
        ['user-groups', userGroups.length > 0],
        ['user-policy-arns', userPolicyArns.length > 0],
        ['user-permissions-boundary', userPermissionsBoundary !== undefined],
        ['user-tags', userTags.length > 0],
      ] as const
    ).find(([, set]) => set);
    if (given) throw new InputError(given[0], 'is only used with create-user: true');
  }

  return {
    githubToken,
    iamUserName,
    repositories,
    environments,
    accessKeyIdSecretName,
    secretAccessKeySecretName,
    maxAgeDays: integer(read, 'max-age-days', 0, 0, 36500),
    previousKey: oneOf<PreviousKeyMode>(read, 'previous-key', 'delete', ['delete', 'deactivate', 'keep']),
    keyLimit: oneOf<KeyLimitMode>(read, 'key-limit', 'delete-inactive', ['delete-inactive', 'delete-oldest', 'fail']),
    verifyTimeoutSeconds: integer(read, 'verify-timeout-seconds', 60, 0, 3600),
    dryRun: bool(read, 'dry-run', false),
    awsRegion,
    organization,
    organizationVisibility,
    organizationSelectedRepositories,
    dependabot: bool(read, 'dependabot', false),
    createEnvironments: bool(read, 'create-environments', false),
    createUser,
    userPath,
    userGroups,
    userPolicyArns,
    userPermissionsBoundary,
    userTags,
    exportCredentials: bool(read, 'export-credentials', false),
  };
}
