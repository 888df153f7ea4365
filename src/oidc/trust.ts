/** The trust policy of the role that replaces a key: GitHub's OIDC provider, one exact subject per job. Pure. */

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Record<string, unknown>[];
}

/** The audience configure-aws-credentials asks for. */
export const STS_AUDIENCE = 'sts.amazonaws.com';

/**
 * Allow sts:AssumeRoleWithWebIdentity from the issuer's IAM OIDC provider in `account`, for tokens whose `aud` is
 * sts.amazonaws.com and whose `sub` is one of `subjects`, compared exactly (StringEquals: no wildcard, and no
 * ForAllValues, which a token without the key would satisfy).
 */
export function trustPolicy(partition: string, account: string, issuer: string, subjects: string[]): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'GitHubActionsOfTheKeysDestinations',
        Effect: 'Allow',
        Principal: { Federated: `arn:${partition}:iam::${account}:oidc-provider/${issuer}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${issuer}:aud`]: STS_AUDIENCE,
            [`${issuer}:sub`]: subjects.length === 1 ? subjects[0] : [...subjects],
          },
        },
      },
    ],
  };
}
