/**
 * An in-memory IAM for one user, for unit tests of the modules that read and write keys and tags (lease, provenance,
 * staged retirement): the requests they send, answered from a map, with a hook to fail a request or to change the
 * world just before it is answered. Integration tests use moto instead; this one costs nothing to start, so a test
 * that pins one decision runs in milliseconds.
 */
import type { AccessKey, Use } from '../../src/shared/types.js';

export interface MemoryKey {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
  lastUsed?: Use;
}

export interface MemoryIam {
  /** The client: pass it as `aws.iam`. */
  iam: { send: (cmd: unknown) => Promise<unknown> };
  tags: Map<string, string>;
  keys: Map<string, MemoryKey>;
  /** Each request's command name without `Command`, e.g. `ListUserTags`. */
  calls: string[];
  /** Each request's input, in order. */
  inputs: Record<string, unknown>[];
  /** Runs before each request is answered (n counts from 1): throw to fail it, change `tags`/`keys`, or return a promise to hold it. */
  before(fn: (command: string, n: number, input: Record<string, unknown>) => void | Promise<void>): void;
  /** The keys as ListAccessKeys returns them (AccessKey shape). */
  listed(): AccessKey[];
  /** The user itself: undefined when it does not exist (GetUser answers NoSuchEntity; CreateUser makes it). */
  user: { name: string; path: string; groups: string[]; policies: string[] } | undefined;
}

/** An AWS service error as the SDK throws it. */
export const awsFailure = (name: string, status = 400): Error =>
  Object.assign(new Error(`${name} for this request`), { name, $metadata: { httpStatusCode: status } });

export function memoryIam(
  opts: {
    tags?: Record<string, string>;
    keys?: MemoryKey[];
    user?: string;
    exists?: boolean;
    /** What GetCallerIdentity answers (default: the IAM user, arn:aws:iam::123456789012:user/<user>). */
    callerArn?: string;
  } = {},
): MemoryIam {
  const tags = new Map(Object.entries(opts.tags ?? {}));
  const keys = new Map((opts.keys ?? []).map((k) => [k.id, { ...k }]));
  const calls: string[] = [];
  const inputs: Record<string, unknown>[] = [];
  let before: (command: string, n: number, input: Record<string, unknown>) => void | Promise<void> = () => {};
  let created = 0;
  const world: Pick<MemoryIam, 'user'> = {
    user: opts.exists === false ? undefined : { name: opts.user ?? 'deployer', path: '/', groups: [], policies: [] },
  };
  /** The secret of each key CreateAccessKey made here. */
  const secrets = new Map<string, string>();
  const noKey = (id: unknown) => {
    throw Object.assign(awsFailure('NoSuchEntity', 404), { message: `The Access Key with id ${String(id)} cannot be found` });
  };
  const send = async (raw: unknown) => {
    const cmd = raw as { constructor: { name: string }; input: Record<string, unknown> };
    const command = cmd.constructor.name.replace(/Command$/, '');
    calls.push(command);
    inputs.push(cmd.input);
    await before(command, calls.length, cmd.input);
    const id = cmd.input.AccessKeyId as string;
    switch (command) {
      case 'ListUserTags':
        return { Tags: [...tags].map(([Key, Value]) => ({ Key, Value })), IsTruncated: false };
      case 'TagUser':
        for (const t of cmd.input.Tags as { Key: string; Value: string }[]) tags.set(t.Key, t.Value);
        return {};
      case 'UntagUser':
        for (const k of cmd.input.TagKeys as string[]) tags.delete(k);
        return {};
      case 'ListAccessKeys':
        return {
          AccessKeyMetadata: [...keys.values()].map((k) => ({ AccessKeyId: k.id, Status: k.status, CreateDate: k.created })),
        };
      case 'DeleteAccessKey':
        if (!keys.delete(id)) noKey(id);
        return {};
      case 'UpdateAccessKey': {
        const k = keys.get(id) ?? noKey(id);
        k.status = cmd.input.Status as 'Active' | 'Inactive';
        return {};
      }
      case 'GetAccessKeyLastUsed': {
        const k = keys.get(id) ?? noKey(id);
        const u = k.lastUsed;
        return {
          AccessKeyLastUsed: u
            ? { LastUsedDate: new Date(u.date), ServiceName: u.service, Region: u.region }
            : { ServiceName: 'N/A', Region: 'N/A' },
        };
      }
      case 'CreateAccessKey': {
        if (keys.size >= 2) throw awsFailure('LimitExceeded', 409);
        created++;
        const made = { id: `AKIAMEMORY${String(created).padStart(10, '0')}`, status: 'Active' as const, created: new Date(Date.parse('2026-11-27T12:00:00Z') + created) };
        keys.set(made.id, made);
        secrets.set(made.id, `memory-secret-${created}`);
        return { AccessKey: { AccessKeyId: made.id, SecretAccessKey: secrets.get(made.id), Status: 'Active' } };
      }
      case 'GetUser':
        if (!world.user) throw Object.assign(awsFailure('NoSuchEntity', 404), { message: `The user with name ${String(cmd.input.UserName)} cannot be found.` });
        return { User: { UserName: world.user.name, Path: world.user.path, Tags: [...tags].map(([Key, Value]) => ({ Key, Value })) } };
      case 'CreateUser':
        if (world.user) throw awsFailure('EntityAlreadyExists', 409);
        world.user = { name: cmd.input.UserName as string, path: (cmd.input.Path as string) ?? '/', groups: [], policies: [] };
        for (const t of (cmd.input.Tags as { Key: string; Value: string }[] | undefined) ?? []) tags.set(t.Key, t.Value);
        return {};
      case 'DeleteUser':
        world.user = undefined;
        tags.clear();
        return {};
      case 'AddUserToGroup':
        world.user?.groups.push(cmd.input.GroupName as string);
        return {};
      case 'RemoveUserFromGroup':
        if (world.user) world.user.groups = world.user.groups.filter((g) => g !== cmd.input.GroupName);
        return {};
      case 'AttachUserPolicy':
        world.user?.policies.push(cmd.input.PolicyArn as string);
        return {};
      case 'DetachUserPolicy':
        if (world.user) world.user.policies = world.user.policies.filter((g) => g !== cmd.input.PolicyArn);
        return {};
      case 'ListGroupsForUser':
        return { Groups: (world.user?.groups ?? []).map((GroupName) => ({ GroupName })) };
      case 'ListAttachedUserPolicies':
        return { AttachedPolicies: (world.user?.policies ?? []).map((PolicyArn) => ({ PolicyArn })) };
      case 'GetCallerIdentity':
        return { Arn: opts.callerArn ?? `arn:aws:iam::123456789012:user/${opts.user ?? 'deployer'}`, Account: '123456789012' };
      default:
        throw new Error(`memory IAM: unexpected ${command}`);
    }
  };
  return {
    get user() {
      return world.user;
    },
    set user(u) {
      world.user = u;
    },
    iam: { send },
    tags,
    keys,
    calls,
    inputs,
    before: (fn) => void (before = fn),
    listed: () => [...keys.values()].map((k) => ({ id: k.id, status: k.status, created: k.created })),
  };
}
