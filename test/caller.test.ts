/** src/aws/aws.ts (classifyCaller): who the AWS credentials belong to, from STS GetCallerIdentity's ARN; root credentials refused. */
import { describe, expect, it } from '@jest/globals';
import { classifyCaller, refuseRoot } from '../src/aws/aws.js';
import { ActionError } from '../src/shared/errors.js';

describe('classifyCaller', () => {
  it.each([
    ['arn:aws:iam::123456789012:user/deployer', { kind: 'user', name: 'deployer' }],
    ['arn:aws:iam::123456789012:user/ci/deployers/svc', { kind: 'user', name: 'svc' }],
    ['arn:aws-us-gov:iam::123456789012:user/svc', { kind: 'user', name: 'svc' }],
    ['arn:aws-cn:iam::123456789012:user/svc', { kind: 'user', name: 'svc' }],
    ['arn:aws:iam::123456789012:root', { kind: 'root', account: '123456789012' }],
    ['arn:aws-us-gov:iam::210987654321:root', { kind: 'root', account: '210987654321' }],
    ['arn:aws-cn:iam::123456789012:root', { kind: 'root', account: '123456789012' }],
    ['arn:aws-iso-b:iam::123456789012:root', { kind: 'root', account: '123456789012' }],
    ['arn:aws:sts::123456789012:assumed-role/rotator/GitHubActions', { kind: 'assumed-role', role: 'rotator' }],
    ['arn:aws-us-gov:sts::123456789012:assumed-role/rotator/s', { kind: 'assumed-role', role: 'rotator' }],
    ['arn:aws-cn:sts::123456789012:assumed-role/rotator/s', { kind: 'assumed-role', role: 'rotator' }],
    ['arn:aws:sts::123456789012:federated-user/bob', { kind: 'other' }],
    // Only IAM's root is the root user; names that merely contain "root" are not.
    ['arn:aws:sts::123456789012:root', { kind: 'other' }],
    ['arn:aws:iam::123456789012:user/root', { kind: 'user', name: 'root' }],
    ['arn:aws:iam::123456789012:role/root', { kind: 'other' }],
    ['arn:aws:iam::123456789012:rootx', { kind: 'other' }],
    ['arn:azure:iam::123456789012:root', { kind: 'other' }],
    ['', { kind: 'other' }],
  ])('%j', (arn, caller) => {
    expect(classifyCaller(arn)).toEqual(caller);
  });
});

describe('refuseRoot', () => {
  it('refuses the root user in one line: why, and what to use instead', () => {
    let caught: unknown;
    try {
      refuseRoot('arn:aws-us-gov:iam::123456789012:root');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ActionError);
    expect((caught as Error).message).toBe(
      'the AWS credentials belong to the root user of AWS account 123456789012 (arn:aws-us-gov:iam::123456789012:root): ' +
        'AWS advises that the root user have no access keys, so this action neither rotates nor uses them. Give this ' +
        "step an IAM user's key (self-rotation) or a role's credentials with iam-user-name (a rotator), and delete the " +
        "root user's access keys (IAM console, root user, Security credentials).",
    );
  });

  it.each(['arn:aws:iam::123456789012:user/deployer', 'arn:aws:sts::123456789012:assumed-role/r/s', ''])('lets %j through', (arn) => {
    expect(() => refuseRoot(arn)).not.toThrow();
  });
});
