import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DetachUserPolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
  type User,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Clock } from './clock.js';
import { ActionError, errorMessage } from './errors.js';
import type { Tag } from './inputs.js';
import type { AccessKey } from './plan.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsTimeouts {
  /** Abandon an AWS request that has not answered after this long (the SDK then retries it). */
  requestTimeoutMs: number;
  maxAttempts: number;
}

export const SHIPPED_AWS_TIMEOUTS: AwsTimeouts = { requestTimeoutMs: 30_000, maxAttempts: 5 };

/** IAM and STS clients for the run's own credentials, plus a factory for STS with other credentials. */
export interface AwsClients {
  iam: IAMClient;
  sts: STSClient;
  stsFor(credentials: Credentials): STSClient;
}

/** Clients for `region`; endpoints and credentials come from the SDK's standard settings (AWS_ENDPOINT_URL, …). */
export function createAwsClients(region: string, timeouts: AwsTimeouts = SHIPPED_AWS_TIMEOUTS): AwsClients {
  const common = {
    region,
    maxAttempts: timeouts.maxAttempts,
    // throwOnRequestTimeout: without it, smithy only logs a warning and a hung request waits for ever.
    requestHandler: {
      requestTimeout: timeouts.requestTimeoutMs,
      connectionTimeout: Math.min(timeouts.requestTimeoutMs, 10_000),
      throwOnRequestTimeout: true,
    },
  };
  return {
    iam: new IAMClient(common),
    sts: new STSClient(common),
    stsFor: (credentials) => new STSClient({ ...common, credentials, maxAttempts: 1 }),
  };
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function awsErrorName(err: unknown): string {
  return (typeof err === 'object' && err !== null ? (err as AwsErrorShape).name : undefined) ?? 'Error';
}

/** Wrap an AWS failure once: the IAM/STS action, its subject, AWS's answer, and what to do. */
export function awsError(action: string, subject: string, err: unknown): ActionError {
  const name = awsErrorName(err);
  let hint: string;
  switch (name) {
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'UnauthorizedOperation':
      hint = `the AWS credentials need ${action} on ${subject}`;
      break;
    case 'NoSuchEntity':
    case 'NoSuchEntityException':
      hint = `${subject} does not exist: check the name (or set create-user: true to create the user)`;
      break;
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'ExpiredTokenException':
    case 'UnrecognizedClientException':
      hint = 'the AWS credentials of this job are invalid or expired: check the step that configures them';
      break;
    case 'Throttling':
    case 'ThrottlingException':
      hint = 'AWS kept throttling after retries: rerun later';
      break;
    case 'LimitExceeded':
    case 'LimitExceededException':
      hint = 'an IAM quota is reached (a user has at most two access keys)';
      break;
    case 'TimeoutError':
    case 'RequestTimeout':
      hint = 'AWS did not answer in time after retries: rerun later';
      break;
    default:
      hint = 'see the AWS message';
  }
  const message = (err instanceof Error ? errorMessage(err) : String(err)).replace(/\.+$/, '');
  return new ActionError(`${action} on ${subject} failed: ${name}: ${message}. ${hint}`, { cause: err });
}

async function call<T>(action: string, subject: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw awsError(action, subject, err);
  }
}

const userSubject = (user: string) => `IAM user ${user}`;

export interface CallerIdentity {
  arn: string;
  account: string;
  /** The IAM user name when the caller is an IAM user; undefined for roles and others. */
  userName: string | undefined;
}

/** STS GetCallerIdentity; parses `arn:aws:iam::123:user/path/name` (paths allowed) into the user name. */
export async function callerIdentity(sts: STSClient): Promise<CallerIdentity> {
  const out = await call('sts:GetCallerIdentity', 'the AWS credentials of this job', () =>
    sts.send(new GetCallerIdentityCommand({})),
  );
  const arn = out.Arn ?? '';
  const match = /^arn:aws[\w-]*:iam::\d+:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  return { arn, account: out.Account ?? '', userName: match?.[1] };
}

export async function listAccessKeys(iam: IAMClient, user: string): Promise<AccessKey[]> {
  const out = await call('iam:ListAccessKeys', userSubject(user), () =>
    iam.send(new ListAccessKeysCommand({ UserName: user })),
  );
  return (out.AccessKeyMetadata ?? []).map((k) => ({
    id: k.AccessKeyId ?? '',
    status: k.Status === 'Active' ? 'Active' : 'Inactive',
    created: k.CreateDate instanceof Date ? k.CreateDate : new Date(k.CreateDate ?? 0),
  }));
}

/**
 * CreateAccessKey. `attempts` > 1 means the SDK retried it: an earlier attempt may have created a key whose answer
 * was lost (CreateAccessKey is not idempotent), so the caller should look for an orphan.
 */
export async function createAccessKey(iam: IAMClient, user: string): Promise<{ credentials: Credentials; attempts: number }> {
  const out = await call('iam:CreateAccessKey', userSubject(user), () =>
    iam.send(new CreateAccessKeyCommand({ UserName: user })),
  );
  const key = out.AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) {
    throw new ActionError(`iam:CreateAccessKey on ${userSubject(user)} returned no key`);
  }
  return {
    credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
    attempts: out.$metadata.attempts ?? 1,
  };
}

export async function deleteAccessKey(iam: IAMClient, user: string, id: string): Promise<void> {
  await call('iam:DeleteAccessKey', `access key ${id} of ${userSubject(user)}`, () =>
    iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: id })),
  );
}

export async function deactivateAccessKey(iam: IAMClient, user: string, id: string): Promise<void> {
  await call('iam:UpdateAccessKey', `access key ${id} of ${userSubject(user)}`, () =>
    iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: id, Status: 'Inactive' })),
  );
}

/** GetUser, or undefined when the user does not exist. */
export async function getUser(iam: IAMClient, user: string): Promise<User | undefined> {
  try {
    return (await iam.send(new GetUserCommand({ UserName: user }))).User;
  } catch (err) {
    if (awsErrorName(err) === 'NoSuchEntity' || awsErrorName(err) === 'NoSuchEntityException') return undefined;
    throw awsError('iam:GetUser', userSubject(user), err);
  }
}

export interface UserSettings {
  path: string;
  groups: string[];
  policyArns: string[];
  permissionsBoundary: string | undefined;
  tags: Tag[];
}

/** What an existing user has, to compare with the create-user inputs. */
export async function userSettings(iam: IAMClient, user: User): Promise<UserSettings> {
  const name = user.UserName ?? '';
  const groups = await call('iam:ListGroupsForUser', userSubject(name), () =>
    iam.send(new ListGroupsForUserCommand({ UserName: name })),
  );
  const policies = await call('iam:ListAttachedUserPolicies', userSubject(name), () =>
    iam.send(new ListAttachedUserPoliciesCommand({ UserName: name })),
  );
  return {
    path: user.Path ?? '/',
    groups: (groups.Groups ?? []).map((g) => g.GroupName ?? ''),
    policyArns: (policies.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ''),
    permissionsBoundary: user.PermissionsBoundary?.PermissionsBoundaryArn,
    tags: (user.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
  };
}

/** Steps of creating a user, recorded so a failure can say exactly what exists (and undo it). */
export interface CreatedUser {
  name: string;
  groups: string[];
  policyArns: string[];
}

/**
 * Create the user with path, boundary and tags, then add groups and attach policies. On a failure part-way, undo
 * what was done and throw; if the undo fails too, the error says exactly what exists.
 */
export async function createUser(iam: IAMClient, user: string, settings: UserSettings): Promise<CreatedUser> {
  await call('iam:CreateUser', userSubject(user), () =>
    iam.send(
      new CreateUserCommand({
        UserName: user,
        Path: settings.path,
        PermissionsBoundary: settings.permissionsBoundary,
        Tags: settings.tags.length > 0 ? settings.tags : undefined,
      }),
    ),
  );
  const created: CreatedUser = { name: user, groups: [], policyArns: [] };
  try {
    for (const group of settings.groups) {
      await call('iam:AddUserToGroup', `group ${group}`, () =>
        iam.send(new AddUserToGroupCommand({ UserName: user, GroupName: group })),
      );
      created.groups.push(group);
    }
    for (const arn of settings.policyArns) {
      await call('iam:AttachUserPolicy', `policy ${arn}`, () =>
        iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: arn })),
      );
      created.policyArns.push(arn);
    }
  } catch (err) {
    const undo = await deleteCreatedUser(iam, created);
    throw new ActionError(`creating ${userSubject(user)}: ${errorMessage(err)}. ${undo}`, { cause: err });
  }
  return created;
}

/** Undo createUser (the user must have no access keys left). Returns one sentence saying what is left. */
export async function deleteCreatedUser(iam: IAMClient, created: CreatedUser): Promise<string> {
  const { name } = created;
  try {
    for (const arn of created.policyArns) {
      await call('iam:DetachUserPolicy', `policy ${arn}`, () =>
        iam.send(new DetachUserPolicyCommand({ UserName: name, PolicyArn: arn })),
      );
    }
    for (const group of created.groups) {
      await call('iam:RemoveUserFromGroup', `group ${group}`, () =>
        iam.send(new RemoveUserFromGroupCommand({ UserName: name, GroupName: group })),
      );
    }
    await call('iam:DeleteUser', userSubject(name), () => iam.send(new DeleteUserCommand({ UserName: name })));
    return `The created user ${name} was deleted again: IAM is as before.`;
  } catch (err) {
    const parts = [
      created.groups.length ? `in groups ${created.groups.join(', ')}` : '',
      created.policyArns.length ? `with policies ${created.policyArns.join(', ')}` : '',
    ].filter(Boolean);
    return (
      `IAM user ${name} exists (created by this run${parts.length ? `, ${parts.join(', ')}` : ''}) and could not be ` +
      `deleted (${errorMessage(err)}): delete it by hand or rerun; a rerun will not change its settings.`
    );
  }
}

export interface VerifyOptions {
  timeoutMs: number;
  clock: Clock;
  /** First gap between attempts; grows ×1.5 up to `maxDelayMs`, each with jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (attempt: number, reason: string) => void;
}

/** Error names that mean "IAM has not propagated the new key yet". */
const NOT_YET = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException']);

/** Worth another try within the verification deadline: not propagated yet, or a transient STS failure. */
function verifyRetryable(err: unknown): boolean {
  const name = awsErrorName(err);
  const status = (err as AwsErrorShape | undefined)?.$metadata?.httpStatusCode ?? 0;
  return NOT_YET.has(name) || /Throttl|Timeout|ServiceUnavailable|InternalFailure/i.test(name) || status >= 500;
}

/**
 * Poll STS GetCallerIdentity with the new key until it authenticates as `user` (IAM is eventually consistent: 5-15 s
 * is normal), with jittered backoff, until the timeout. Throws an ActionError when it never works.
 */
export async function verifyKey(
  stsFor: (c: Credentials) => STSClient,
  credentials: Credentials,
  user: string,
  opts: VerifyOptions,
): Promise<number> {
  const { clock } = opts;
  const deadline = clock.now() + opts.timeoutMs;
  const sts = stsFor(credentials);
  let delay = opts.initialDelayMs ?? 250;
  // Capped low so the first write follows within a second of the key starting to work.
  const maxDelay = opts.maxDelayMs ?? 750;
  for (let attempt = 1; ; attempt++) {
    let reason: string;
    try {
      const out = await sts.send(new GetCallerIdentityCommand({}));
      const arn = out.Arn ?? '';
      if (!arn.endsWith(`/${user}`)) {
        throw new ActionError(`the new access key ${credentials.accessKeyId} authenticates as ${arn}, not IAM user ${user}`);
      }
      return attempt;
    } catch (err) {
      if (err instanceof ActionError) throw err;
      if (!verifyRetryable(err)) throw awsError('sts:GetCallerIdentity (with the new key)', userSubject(user), err);
      reason = `${awsErrorName(err)}: ${errorMessage(err)}`;
    }
    const wait = Math.round(delay * (0.5 + clock.random() / 2));
    if (clock.now() + wait > deadline) {
      throw new ActionError(
        `the new access key ${credentials.accessKeyId} of ${userSubject(user)} did not authenticate within ` +
          `${Math.round(opts.timeoutMs / 1000)} s (last answer: ${reason}): raise verify-timeout-seconds (IAM ` +
          `usually needs 5-15 s), or check that STS is reachable in aws-region`,
      );
    }
    opts.onRetry?.(attempt, reason);
    await clock.sleep(wait);
    delay = Math.min(delay * 1.5, maxDelay);
  }
}
