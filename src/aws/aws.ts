import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
  type User,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type Clock, systemClock } from '../shared/clock.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import { IamTime, observeIamTime } from './iam-time.js';
import type { Tag } from '../config/inputs.js';
import type { AccessKey, CreatedUser, Use } from '../shared/types.js';

export type { CreatedUser } from '../shared/types.js';
import {
  type Env,
  LoggedRetryStrategy,
  endpointNote,
  isAwsAnswer,
  isCredentialsError,
  networkFailure,
  noCredentials,
  notFromAws,
  observeRequests,
} from './aws-requests.js';
import { awsAgents, proxySettings } from '../shared/proxy.js';

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
  /**
   * IAM without SDK retries, for CreateAccessKey only: it is not idempotent, and the SDK would retry IAM's
   * LimitExceeded (a quota, not a throttle) as throttling. createAccessKey retries only answers that prove no key
   * was made.
   */
  iamOnce: IAMClient;
  sts: STSClient;
  stsFor(credentials: Credentials): STSClient;
  /** IAM with other credentials: in self-rotation, once the new key is handed over, the run signs with it. */
  iamFor(credentials: Credentials): IAMClient;
  /** IAM's clock, read from the answers of every client above. */
  time: IamTime;
}

export interface AwsClientOptions {
  /** Receives one line per SDK retry, as it happens (production: the step log). */
  log?: (message: string) => void;
  /**
   * Where AWS_ENDPOINT_URL* are read from, to name them in errors (default process.env, which the SDK reads), and the
   * proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), which the SDK does not read: see src/shared/proxy.ts.
   */
  env?: Env;
  /** The runner's clock, which IAM's time advances with between answers (default: the system clock). */
  clock?: Clock;
}

/**
 * Clients for `region`; endpoints and credentials come from the SDK's standard settings (AWS_ENDPOINT_URL, …).
 * Every client remembers where a failed request went (for awsError); the retrying ones log each retry.
 */
export function createAwsClients(
  region: string,
  timeouts: AwsTimeouts = SHIPPED_AWS_TIMEOUTS,
  options: AwsClientOptions = {},
): AwsClients {
  const env = options.env ?? process.env;
  const common = {
    region,
    maxAttempts: timeouts.maxAttempts,
    // throwOnRequestTimeout: without it, smithy only logs a warning and a hung request waits for ever.
    requestHandler: {
      requestTimeout: timeouts.requestTimeoutMs,
      connectionTimeout: Math.min(timeouts.requestTimeoutMs, 10_000),
      throwOnRequestTimeout: true,
      // Behind a proxy, agents that go through it (every client shares them); else the SDK makes its own.
      ...awsAgents(proxySettings(env)),
    },
  };
  // Only for clients with SDK retries: a retryStrategy overrides maxAttempts, so never spread it into `common`.
  const retrying = { ...common, retryStrategy: new LoggedRetryStrategy(timeouts.maxAttempts, options.log) };
  const time = new IamTime(options.clock ?? systemClock);
  const observed = <C extends IAMClient | STSClient>(client: C): C => {
    if (client instanceof IAMClient) observeRequests(client, 'iam', env);
    else observeRequests(client as STSClient, 'sts', env);
    observeIamTime(client, time);
    return client;
  };
  // Made on first use: a run that never creates a key or resolves its user never pays for those clients.
  let iam: IAMClient | undefined;
  let iamOnce: IAMClient | undefined;
  let sts: STSClient | undefined;
  return {
    get iam() {
      return (iam ??= observed(new IAMClient(retrying)));
    },
    get iamOnce() {
      return (iamOnce ??= observed(new IAMClient({ ...common, maxAttempts: 1 })));
    },
    get sts() {
      return (sts ??= observed(new STSClient(retrying)));
    },
    stsFor: (credentials) => observed(new STSClient({ ...common, credentials, maxAttempts: 1 })),
    iamFor: (credentials) => observed(new IAMClient({ ...retrying, credentials })),
    time,
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
  const failed = `${action} on ${subject} failed`;
  if (isCredentialsError(err)) return new ActionError(`${failed}: ${noCredentials(err)}`, { cause: err });
  const network = networkFailure(err);
  if (network !== undefined) return new ActionError(`${failed}: ${network}`, { cause: err });
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
      hint = 'an IAM quota is reached (the AWS message says which)';
      break;
    case 'TimeoutError':
    case 'RequestTimeout':
      hint = 'AWS did not answer in time after retries: rerun later';
      break;
    default:
      if (!isAwsAnswer(err)) return new ActionError(`${failed}: ${notFromAws(err)}`, { cause: err });
      hint = endpointNote(err) ?? 'see the AWS message';
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
  const caller = classifyCaller(arn);
  return { arn, account: out.Account ?? '', userName: caller.kind === 'user' ? caller.name : undefined };
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

/** IAM refused CreateAccessKey because the user already has two keys: someone made a key since the run listed them. */
export class KeyQuotaReached extends ActionError {}

/**
 * CreateAccessKey, never retried by the SDK (see AwsClients.iamOnce). Only a throttling answer, which proves no key
 * was made, is retried here (jittered, bounded). Any other failure is thrown: a key may or may not exist, and the
 * caller must not assume either.
 */
export async function createAccessKey(iamOnce: IAMClient, user: string, clock: Clock, time?: IamTime): Promise<Credentials & { created: Date }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await iamOnce.send(new CreateAccessKeyCommand({ UserName: user }));
      const key = out.AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) {
        throw new ActionError(`iam:CreateAccessKey on ${userSubject(user)} returned no key`);
      }
      // IAM made the key at its CreateDate: IAM's time is at least that now.
      const created = key.CreateDate instanceof Date ? key.CreateDate : new Date(key.CreateDate ?? time?.now() ?? 0);
      time?.observe(created.getTime());
      return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey, created };
    } catch (err) {
      if (err instanceof ActionError) throw err;
      const name = awsErrorName(err);
      if (name === 'LimitExceeded' || name === 'LimitExceededException') {
        throw new KeyQuotaReached(
          `iam:CreateAccessKey on ${userSubject(user)} failed: LimitExceeded: the user already has two access keys, ` +
            'so a key was made after this run listed them: another rotation or a person is at work',
          { cause: err },
        );
      }
      if (!/^Throttling(Exception)?$/.test(name) || attempt >= 4) throw awsError('iam:CreateAccessKey', userSubject(user), err);
      await clock.sleep(Math.round(250 * 2 ** attempt * (0.5 + clock.random() / 2)));
    }
  }
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

/** The user's tags (all pages). */
export async function listUserTags(iam: IAMClient, user: string): Promise<Tag[]> {
  const tags: Tag[] = [];
  let marker: string | undefined;
  do {
    const out = await call('iam:ListUserTags', userSubject(user), () =>
      iam.send(new ListUserTagsCommand({ UserName: user, Marker: marker })),
    );
    for (const t of out.Tags ?? []) tags.push({ Key: t.Key ?? '', Value: t.Value ?? '' });
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return tags;
}

/** IAM's quota of tags on one user. */
export const IAM_TAGS_PER_USER = 50;
/** The most tags this action keeps on a user: the lease, plus one record per access key (IAM allows two). */
export const ACTION_TAGS_PER_USER = 4;

/** IAM's LimitExceeded (the SDK names it LimitExceededException): a quota, never a throttle. */
export const isLimitExceeded = (err: unknown): boolean => /^LimitExceeded(Exception)?$/.test(awsErrorName(err));

/** IAM's quota of tags on the user is reached: more permissions would not help, fewer tags would. */
export class TagQuotaReached extends ActionError {}

/** TagUser. IAM's LimitExceeded here is its quota of 50 tags per user: said as such (and not retried: see aws-requests). */
export async function tagUser(iam: IAMClient, user: string, tags: Tag[]): Promise<void> {
  try {
    await iam.send(new TagUserCommand({ UserName: user, Tags: tags }));
  } catch (err) {
    if (!isLimitExceeded(err)) throw awsError('iam:TagUser', userSubject(user), err);
    const message = (err instanceof Error ? errorMessage(err) : String(err)).replace(/\.+$/, '');
    throw new TagQuotaReached(
      `iam:TagUser on ${userSubject(user)} failed: ${awsErrorName(err)}: ${message}. ` +
        `IAM user ${user} has reached IAM's limit of ${IAM_TAGS_PER_USER} tags per user: this action needs room for ` +
        `${ACTION_TAGS_PER_USER} (the lease, the create marker, and one per access key): remove tags you do not need ` +
        `(aws iam list-user-tags --user-name ${user})`,
      { cause: err },
    );
  }
}

export async function untagUser(iam: IAMClient, user: string, keys: string[]): Promise<void> {
  await call('iam:UntagUser', userSubject(user), () => iam.send(new UntagUserCommand({ UserName: user, TagKeys: keys })));
}


/** GetAccessKeyLastUsed: when, where and with which service the key was last used; null when never. */
export async function accessKeyLastUsed(iam: IAMClient, user: string, id: string): Promise<Use | null> {
  const out = await call('iam:GetAccessKeyLastUsed', `access key ${id} of ${userSubject(user)}`, () =>
    iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id })),
  );
  const u = out.AccessKeyLastUsed;
  if (!u?.LastUsedDate) return null;
  const date = u.LastUsedDate instanceof Date ? u.LastUsedDate : new Date(u.LastUsedDate);
  return { date: date.toISOString(), service: u.ServiceName ?? 'N/A', region: u.Region ?? 'N/A' };
}

/** Is this an AWS "not allowed" answer? */
export function isAccessDenied(err: unknown): boolean {
  const cause = err instanceof ActionError ? err.cause : err;
  return /^(AccessDenied|AccessDeniedException|UnauthorizedOperation)$/.test(awsErrorName(cause));
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
    throw new ActionError(`creating ${userSubject(user)}: ${errorMessage(err)}. ${undo.sentence}`, { cause: err });
  }
  return created;
}

/** Undo createUser (the user must have no access keys left): whether the user is gone, and one sentence saying what is left. */
export async function deleteCreatedUser(iam: IAMClient, created: CreatedUser): Promise<{ deleted: boolean; sentence: string }> {
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
    return { deleted: true, sentence: `The created user ${name} was deleted again: IAM is as before.` };
  } catch (err) {
    const parts = [
      created.groups.length ? `in groups ${created.groups.join(', ')}` : '',
      created.policyArns.length ? `with policies ${created.policyArns.join(', ')}` : '',
    ].filter(Boolean);
    return {
      deleted: false,
      sentence:
        `IAM user ${name} exists (created by this run${parts.length ? `, ${parts.join(', ')}` : ''}) and could not be ` +
        `deleted (${errorMessage(err)}): delete it by hand or rerun; a rerun will not change its settings.`,
    };
  }
}

export interface VerifyOptions {
  timeoutMs: number;
  clock: Clock;
  /** First gap between attempts; grows ×1.5 up to `maxDelayMs`, each with jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (attempt: number, reason: string) => void;
  /** Sleep between attempts (default clock.sleep); a cancellable one ends early on cancel. */
  sleep?: (ms: number) => Promise<void>;
  /** Checked before each attempt: throws to stop (e.g. the run was cancelled). */
  checkpoint?: () => void;
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
    opts.checkpoint?.();
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
    await (opts.sleep ?? clock.sleep)(wait);
    delay = Math.min(delay * 1.5, maxDelay);
  }
}

// ---- who the credentials belong to ----------------------------------------------------------------------------

/** Who the AWS credentials belong to, as the ARN STS GetCallerIdentity answers says. */
export type Caller =
  | { kind: 'user'; name: string }
  | { kind: 'root'; account: string }
  | { kind: 'assumed-role'; role: string }
  | { kind: 'other' };

// arn:<partition>:<service>::<account>:<resource>; partitions: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, …
const ARN = /^arn:aws(?:-[a-z]+)*:(iam|sts)::(\d+):(.+)$/;

/**
 * The caller an ARN names: an IAM user (`iam::…:user/path/name`, paths allowed), the account's root user
 * (`iam::…:root`), an assumed role (`sts::…:assumed-role/role/session`), or something else (a federated user, …).
 */
export function classifyCaller(arn: string): Caller {
  const m = ARN.exec(arn);
  if (m === null) return { kind: 'other' };
  const [, service, account, resource] = m;
  if (service === 'iam' && resource === 'root') return { kind: 'root', account };
  const user = /^user\/(?:.*\/)?([^/]+)$/.exec(resource);
  if (service === 'iam' && user) return { kind: 'user', name: user[1] };
  const role = /^assumed-role\/([^/]+)\/[^/]+$/.exec(resource);
  if (service === 'sts' && role) return { kind: 'assumed-role', role: role[1] };
  return { kind: 'other' };
}

/**
 * Root credentials are refused before anything is read or changed: AWS advises that the root user have no access
 * keys at all, so the action neither rotates nor uses them.
 */
export function refuseRoot(arn: string): void {
  const caller = classifyCaller(arn);
  if (caller.kind !== 'root') return;
  throw new ActionError(
    `the AWS credentials belong to the root user of AWS account ${caller.account} (${arn}): AWS advises that the root ` +
      `user have no access keys, so this action neither rotates nor uses them. Give this step an IAM user's key ` +
      `(self-rotation) or a role's credentials with iam-user-name (a rotator), and delete the root user's access keys ` +
      `(IAM console, root user, Security credentials).`,
  );
}
