/**
 * The plan as one CloudFormation template: GitHub's OIDC provider where the account lacks it (no thumbprint: IAM
 * trusts GitHub's certificate authority itself), and each role with its trust policy, path, permissions boundary,
 * maximum session and the key's permissions. Pure.
 */
import type { OidcPlan } from './role-plan.js';
import { STS_AUDIENCE } from './trust.js';

export const TEMPLATE_FILE = 'role.cfn.json';
export const PROVIDER_RESOURCE = 'GitHubOidcProvider';

/** The logical id of the i-th role. */
export const roleResource = (i: number): string => (i === 0 ? 'Role' : `Role${i + 1}`);

export function cloudFormationTemplate(plan: OidcPlan): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  const outputs: Record<string, unknown> = {};
  const withProvider = plan.provider !== 'exists';
  if (withProvider) {
    resources[PROVIDER_RESOURCE] = {
      Type: 'AWS::IAM::OIDCProvider',
      Properties: { Url: plan.providerUrl, ClientIdList: [STS_AUDIENCE] },
    };
  }
  const inline = plan.policies.filter((p) => p.kind === 'inline' && p.document !== undefined);
  const managed = plan.policies.filter((p) => p.kind === 'managed' && p.arn);
  plan.roles.forEach((role, i) => {
    const id = roleResource(i);
    resources[id] = {
      Type: 'AWS::IAM::Role',
      ...(withProvider ? { DependsOn: [PROVIDER_RESOURCE] } : {}),
      Properties: {
        RoleName: role.name,
        Path: plan.rolePath,
        Description: `Replaces the access key of IAM user ${plan.userName} for GitHub Actions jobs of ${role.repositories.join(', ')}`.slice(0, 1000),
        AssumeRolePolicyDocument: role.trust,
        MaxSessionDuration: role.maxSessionSeconds,
        ...(plan.boundary ? { PermissionsBoundary: plan.boundary } : {}),
        ...(managed.length > 0 ? { ManagedPolicyArns: managed.map((p) => p.arn) } : {}),
        ...(inline.length > 0 ? { Policies: inline.map((p) => ({ PolicyName: p.roleName, PolicyDocument: p.document })) } : {}),
      },
    };
    outputs[`${id}Arn`] = { Value: { 'Fn::GetAtt': [id, 'Arn'] } };
  });
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `Roles assumed through GitHub's OIDC provider in place of the access key of IAM user ${plan.userName} (rotate-aws-access-key oidc-plan)`,
    Resources: resources,
    Outputs: outputs,
  };
}
