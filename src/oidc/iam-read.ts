/**
 * What an IAM user may do today, read from IAM: its inline and attached policies, its groups' inline and attached
 * policies (with each managed policy's default version where readable), its permissions boundary and its keys.
 * Read-only. A document IAM refuses to show is recorded with the permission that would read it.
 */
import {
  GetGroupPolicyCommand,
  GetOpenIDConnectProviderCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { accessKeyLastUsed, awsError, awsErrorName, isAccessDenied, listAccessKeys } from '../aws/aws.js';
import { errorMessage } from '../shared/errors.js';
import type { Use } from '../shared/types.js';

/** A read IAM refused: what was asked, on what, and IAM's answer. */
export interface Unreadable {
  action: string;
  resource: string;
  error: string;
}

export interface InlinePolicy {
  name: string;
  document?: unknown;
  unreadable?: Unreadable;
}

export interface ManagedPolicy {
  name: string;
  arn: string;
  /** The policy's default version, when GetPolicy and GetPolicyVersion could read it. */
  document?: unknown;
  unreadable?: Unreadable;
}

export interface GroupPermissions {
  name: string;
  arn: string;
  path: string;
  inline: InlinePolicy[];
  attached: ManagedPolicy[];
  /** A listing of this group's policies IAM refused. */
  unreadable: Unreadable[];
}

export interface UserKey {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
  lastUsed: Use | null;
}

export interface UserPermissions {
  name: string;
  arn: string;
  path: string;
  partition: string;
  account: string;
  boundary: string | undefined;
  inline: InlinePolicy[];
  attached: ManagedPolicy[];
  groups: GroupPermissions[];
  /** A listing of the user's policies or groups IAM refused. */
  unreadable: Unreadable[];
  keys: UserKey[];
}

/** IAM returns policy documents URL-encoded. */
const decode = (doc: string | undefined): unknown => (doc === undefined ? undefined : JSON.parse(decodeURIComponent(doc)));

/**
 * Run one read; IAM's "access denied" becomes an Unreadable (the plan names the permission), any other failure
 * stops the plan with one message.
 */
async function read<T>(action: string, resource: string, fn: () => Promise<T>): Promise<{ value: T } | { unreadable: Unreadable }> {
  try {
    return { value: await fn() };
  } catch (err) {
    if (isAccessDenied(err)) return { unreadable: { action, resource, error: errorMessage(err) } };
    throw awsError(action, resource, err);
  }
}

/** Every page of an IAM list call. */
async function pages<T>(fetch: (marker: string | undefined) => Promise<{ items: T[]; IsTruncated?: boolean; Marker?: string }>): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetch(marker);
    out.push(...page.items);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return out;
}

async function managed(iam: IAMClient, name: string, arn: string): Promise<ManagedPolicy> {
  const policy = await read('iam:GetPolicy', arn, () => iam.send(new GetPolicyCommand({ PolicyArn: arn })));
  if ('unreadable' in policy) return { name, arn, unreadable: policy.unreadable };
  const versionId = policy.value.Policy?.DefaultVersionId ?? 'v1';
  const version = await read('iam:GetPolicyVersion', arn, () => iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: versionId })));
  if ('unreadable' in version) return { name, arn, unreadable: version.unreadable };
  return { name, arn, document: decode(version.value.PolicyVersion?.Document) };
}

/** GetUser, its policies, its groups' policies, its boundary and its keys. */
export async function readUserPermissions(iam: IAMClient, userName: string): Promise<UserPermissions> {
  let user;
  try {
    user = (await iam.send(new GetUserCommand({ UserName: userName }))).User;
  } catch (err) {
    throw awsError('iam:GetUser', `IAM user ${userName}`, err);
  }
  const arn = user?.Arn ?? '';
  const [, partition = 'aws', , , account = ''] = arn.split(':');
  const unreadable: Unreadable[] = [];

  const inlineNames = await read('iam:ListUserPolicies', arn, () =>
    pages(async (Marker) => {
      const o = await iam.send(new ListUserPoliciesCommand({ UserName: userName, Marker }));
      return { ...o, items: o.PolicyNames ?? [] };
    }),
  );
  const inline: InlinePolicy[] = [];
  if ('unreadable' in inlineNames) unreadable.push(inlineNames.unreadable);
  else {
    for (const name of inlineNames.value) {
      const doc = await read('iam:GetUserPolicy', arn, () => iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: name })));
      inline.push('unreadable' in doc ? { name, unreadable: doc.unreadable } : { name, document: decode(doc.value.PolicyDocument) });
    }
  }

  const attachedRefs = await read('iam:ListAttachedUserPolicies', arn, () =>
    pages(async (Marker) => {
      const o = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName, Marker }));
      return { ...o, items: o.AttachedPolicies ?? [] };
    }),
  );
  const attached: ManagedPolicy[] = [];
  if ('unreadable' in attachedRefs) unreadable.push(attachedRefs.unreadable);
  else for (const p of attachedRefs.value) attached.push(await managed(iam, p.PolicyName ?? '', p.PolicyArn ?? ''));

  const groupRefs = await read('iam:ListGroupsForUser', arn, () =>
    pages(async (Marker) => {
      const o = await iam.send(new ListGroupsForUserCommand({ UserName: userName, Marker }));
      return { ...o, items: o.Groups ?? [] };
    }),
  );
  const groups: GroupPermissions[] = [];
  if ('unreadable' in groupRefs) unreadable.push(groupRefs.unreadable);
  else {
    for (const g of groupRefs.value) {
      const GroupName = g.GroupName ?? '';
      const group: GroupPermissions = { name: GroupName, arn: g.Arn ?? '', path: g.Path ?? '/', inline: [], attached: [], unreadable: [] };
      const names = await read('iam:ListGroupPolicies', group.arn, () =>
        pages(async (Marker) => {
          const o = await iam.send(new ListGroupPoliciesCommand({ GroupName, Marker }));
          return { ...o, items: o.PolicyNames ?? [] };
        }),
      );
      if ('unreadable' in names) group.unreadable.push(names.unreadable);
      else {
        for (const name of names.value) {
          const doc = await read('iam:GetGroupPolicy', group.arn, () => iam.send(new GetGroupPolicyCommand({ GroupName, PolicyName: name })));
          group.inline.push('unreadable' in doc ? { name, unreadable: doc.unreadable } : { name, document: decode(doc.value.PolicyDocument) });
        }
      }
      const refs = await read('iam:ListAttachedGroupPolicies', group.arn, () =>
        pages(async (Marker) => {
          const o = await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName, Marker }));
          return { ...o, items: o.AttachedPolicies ?? [] };
        }),
      );
      if ('unreadable' in refs) group.unreadable.push(refs.unreadable);
      else for (const p of refs.value) group.attached.push(await managed(iam, p.PolicyName ?? '', p.PolicyArn ?? ''));
      groups.push(group);
    }
  }

  const keys: UserKey[] = [];
  for (const k of await listAccessKeys(iam, userName)) keys.push({ ...k, lastUsed: await accessKeyLastUsed(iam, userName, k.id) });

  return {
    name: userName,
    arn,
    path: user?.Path ?? '/',
    partition,
    account,
    boundary: user?.PermissionsBoundary?.PermissionsBoundaryArn,
    inline,
    attached,
    groups,
    unreadable,
    keys,
  };
}

/** Whether the account has the IAM OIDC provider: IAM's answer, or the read it refused (unknown, never "none"). */
export type ProviderState = { exists: boolean } | { unreadable: Unreadable };

/** iam:GetOpenIDConnectProvider on `arn`: found, NoSuchEntity (IAM's own word that there is none), or refused. */
export async function readProvider(iam: IAMClient, arn: string): Promise<ProviderState> {
  try {
    await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    return { exists: true };
  } catch (err) {
    if (awsErrorName(err) === 'NoSuchEntityException' || awsErrorName(err) === 'NoSuchEntity') return { exists: false };
    if (isAccessDenied(err)) return { unreadable: { action: 'iam:GetOpenIDConnectProvider', resource: arn, error: errorMessage(err) } };
    throw awsError('iam:GetOpenIDConnectProvider', arn, err);
  }
}
