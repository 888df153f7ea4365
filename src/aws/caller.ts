import { ActionError } from '../shared/errors.js';

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
