/**
 * oidc-plan's role.cfn.json, deployed: into moto's CloudFormation (moto 5 makes IAM roles and their inline policies
 * from a template), the role read back with IAM and compared to the plan. Where moto lacks a resource type or a
 * property (AWS::IAM::OIDCProvider; a role's ManagedPolicyArns), this test says so and checks that part against
 * CloudFormation's resource schema for the type (test/fixtures/cloudformation/, its source named there).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { Ajv } from 'ajv';
import { Cancellation } from '../src/shared/cancel.js';
import { createGitHubClient } from '../src/github/github.js';
import { readTargets } from '../src/oidc/github-read.js';
import { readProvider, readUserPermissions } from '../src/oidc/iam-read.js';
import { type OidcPlan, buildPlan } from '../src/oidc/role-plan.js';
import { planFiles } from '../src/oidc/render.js';
import { PROVIDER_RESOURCE, TEMPLATE_FILE, roleResource } from '../src/oidc/cloudformation.js';
import { readWorkflows } from '../src/oidc/workflow-read.js';
import { GitHubStandin } from './support/github-standin.js';
import { judge } from './support/trust-judge.js';
import { FAST_PACING, fakeClock, recorder } from './support/harness.js';
import { type Creds, type Moto, MOTO_ACCOUNT_ID, MOTO_REGION, iamClient, requireMoto, seedAdmin, startMoto } from './support/moto.js';

requireMoto();
let moto: Moto;
let gh: GitHubStandin;
let admin: Creds;
beforeAll(async () => {
  [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
}, 60_000);
afterAll(async () => {
  await Promise.all([moto?.stop(), gh?.stop()]);
});

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'cloudformation');
const schema = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, unknown>;

/** A resource's Properties against its type's registry schema (CloudFormation's own keywords set aside). */
function schemaErrors(file: string, properties: unknown): string[] {
  const s = schema(file);
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile({ type: 'object', properties: s.properties, definitions: s.definitions, additionalProperties: s.additionalProperties, required: s.required });
  const readOnly = ((s.readOnlyProperties as string[]) ?? []).map((p) => p.replace('/properties/', ''));
  const given = Object.keys(properties as object).filter((k) => readOnly.includes(k)).map((k) => `read-only property ${k} given`);
  return validate(properties) ? given : [...given, ...(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)];
}

/**
 * moto 5 stores a template's inline role policy as Python's repr of the document ({'Version': …}), not JSON: read
 * it with Python's own literal parser.
 */
function policyDocument(text: string): unknown {
  const raw = decodeURIComponent(text);
  try {
    return JSON.parse(raw);
  } catch {
    const py = spawnSync('python3', ['-c', 'import ast,json,sys; print(json.dumps(ast.literal_eval(sys.stdin.read())))'], { input: raw, encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`not JSON nor a Python literal: ${raw}`);
    return JSON.parse(py.stdout);
  }
}

const doc = (action: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });

/** A user with inline, group inline and attached policies; a boundary; a repository whose job ran 7,000 s. */
async function plannedWorld(suffix: string): Promise<{ plan: OidcPlan; template: Record<string, unknown>; boundary: string }> {
  const iam = iamClient(moto, admin);
  const user = `cfn-${suffix}`;
  await iam.send(new CreateUserCommand({ UserName: user, Path: '/ci/deployers/' }));
  await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: 'deploy', PolicyDocument: JSON.stringify(doc('s3:PutObject')) }));
  const managed = (await iam.send(new CreatePolicyCommand({ PolicyName: `ci-read-${suffix}`, Path: '/ci/', PolicyDocument: JSON.stringify(doc('ecr:Get*')) }))).Policy?.Arn ?? '';
  await iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: managed }));
  const group = `deployers-${suffix}`;
  await iam.send(new CreateGroupCommand({ GroupName: group }));
  await iam.send(new PutGroupPolicyCommand({ GroupName: group, PolicyName: 'deploy', PolicyDocument: JSON.stringify(doc('logs:PutLogEvents')) }));
  await iam.send(new AddUserToGroupCommand({ UserName: user, GroupName: group }));
  const boundary = (await iam.send(new CreatePolicyCommand({ PolicyName: `ci-boundary-${suffix}`, PolicyDocument: JSON.stringify(doc('*')) }))).Policy?.Arn ?? '';
  const repo = `octo/cfn-${suffix}`;
  gh.addRepository(repo, { environments: ['production'] });
  gh.addWorkflow(repo, 'deploy.yml', 'on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - run: aws s3 ls\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n');
  gh.addWorkflowRun(repo, 'deploy.yml', [{ name: 'deploy', seconds: 7000 }]);

  const clock = fakeClock(Date.now());
  const github = createGitHubClient('test-token', gh.url, FAST_PACING, recorder(), { clock, cancel: new Cancellation() });
  const perms = await readUserPermissions(iam, user);
  // moto 5 keeps no permissions boundary for users (only for roles): the user's, as GetUser would give it.
  perms.boundary = boundary;
  const [owner, name] = repo.split('/');
  const targets = await readTargets(github, [{ kind: 'environment', owner, repo: name, environment: 'production' }], 'AWS_ACCESS_KEY_ID');
  const workflows = [await readWorkflows(github, targets[0].jobs[0].repo, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])];
  const issuer = { issuer: 'token.actions.githubusercontent.com', source: 'token' as const };
  const provider = await readProvider(iam, `arn:aws:iam::${MOTO_ACCOUNT_ID}:oidc-provider/${issuer.issuer}`);
  const plan = buildPlan({ perms, targets, workflows, issuer, provider, region: MOTO_REGION, signingKeyId: undefined });
  const template = JSON.parse(planFiles(plan).get(TEMPLATE_FILE) ?? '{}') as Record<string, unknown>;
  return { plan, template, boundary };
}

type Resource = { Type: string; DependsOn?: string[]; Properties: Record<string, unknown> };

describe('role.cfn.json', () => {
  it('deploys into moto, and the role read back equals the plan: trust, path, boundary, maximum session, inline policies', async () => {
    const { plan, template, boundary } = await plannedWorld('a');
    const resources = template.Resources as Record<string, Resource>;
    expect(Object.keys(resources)).toEqual([PROVIDER_RESOURCE, 'Role']);
    const cfn = new CloudFormationClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: { ...admin }, maxAttempts: 1 });
    await cfn.send(new CreateStackCommand({ StackName: plan.stackName, TemplateBody: JSON.stringify(template), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: plan.stackName }))).Stacks?.[0];
    expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
    expect(stack?.Outputs?.find((o) => o.OutputKey === 'RoleArn')?.OutputValue).toBe(plan.roleArn);

    const iam = iamClient(moto, admin);
    for (const [i, role] of plan.roles.entries()) {
      const got = (await iam.send(new GetRoleCommand({ RoleName: role.name }))).Role;
      expect({
        arn: got?.Arn,
        path: got?.Path,
        trust: JSON.parse(decodeURIComponent(got?.AssumeRolePolicyDocument ?? '{}')) as unknown,
        maxSession: got?.MaxSessionDuration,
        boundary: got?.PermissionsBoundary?.PermissionsBoundaryArn,
      }).toEqual({ arn: role.arn, path: plan.rolePath, trust: role.trust, maxSession: role.maxSessionSeconds, boundary });
      // The trust policy deployed admits the destination's job and refuses every look-alike (test/support/trust-judge.ts).
      const mine = plan.subjects.filter((x) => x.role === role.name).map((x) => ({ sub: x.sub, repositoryId: x.repositoryId }));
      expect(mine.map((x) => x.sub)).toEqual(['repo:octo/cfn-a:environment:production']);
      expect(judge(role.trust as Parameters<typeof judge>[0], mine)).toEqual([]);
      // The session from the runs: 7,000 s plus a quarter, in 15-minute steps.
      expect(got?.MaxSessionDuration).toBe(9000);
      const names = (await iam.send(new ListRolePoliciesCommand({ RoleName: role.name }))).PolicyNames ?? [];
      const inline = plan.policies.filter((p) => p.kind === 'inline');
      expect(names.sort()).toEqual(inline.map((p) => p.roleName).sort());
      expect(new Set(names).size).toBe(2); // the user's deploy and the group's deploy, each under its own name
      for (const p of inline) {
        const text = (await iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: p.roleName }))).PolicyDocument ?? '';
        expect({ policy: p.roleName, doc: policyDocument(text) }).toEqual({ policy: p.roleName, doc: p.document });
      }
      // moto 5 ignores a role's ManagedPolicyArns (it attaches nothing): the list is checked against the plan here
      // and against CloudFormation's schema below.
      expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role.name }))).AttachedPolicies).toEqual([]);
      const props = resources[roleResource(i)].Properties;
      expect(props.ManagedPolicyArns).toEqual(plan.policies.filter((p) => p.kind === 'managed').map((p) => p.arn));
      expect(schemaErrors('aws-iam-role.json', props)).toEqual([]);
    }

    // moto 5 has no CloudFormation model for AWS::IAM::OIDCProvider: it skips the resource, so no provider exists
    // after the deploy. The resource is checked against CloudFormation's schema for the type instead.
    const summaries = (await cfn.send(new ListStackResourcesCommand({ StackName: plan.stackName }))).StackResourceSummaries ?? [];
    expect(summaries.map((s) => s.LogicalResourceId)).not.toContain(PROVIDER_RESOURCE);
    expect((await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).toEqual([]);
    const provider = resources[PROVIDER_RESOURCE];
    expect(provider.Type).toBe('AWS::IAM::OIDCProvider');
    expect(provider.Properties).toEqual({ Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
    expect(schemaErrors('aws-iam-oidcprovider.json', provider.Properties)).toEqual([]);
    expect(resources.Role.DependsOn).toEqual([PROVIDER_RESOURCE]);
    cfn.destroy();
  });

  it('the schemas can say no', () => {
    expect(schemaErrors('aws-iam-oidcprovider.json', { Url: '', ThumbprintList: ['xyz'], Arn: 'arn:aws:iam::1:oidc-provider/x' })).toEqual([
      'read-only property Arn given',
      '/ThumbprintList/0 must NOT have fewer than 40 characters',
      '/ThumbprintList/0 must match pattern "[0-9A-Fa-f]{40}"',
      '/Url must NOT have fewer than 1 characters',
    ]);
    expect(schemaErrors('aws-iam-role.json', { MaxSessionDuration: 90_000, Path: 'ci', ManagedPolicyArns: ['ReadOnlyAccess'] })).toEqual([
      " must have required property 'AssumeRolePolicyDocument'",
      '/ManagedPolicyArns/0 must match pattern "arn:(aws[a-zA-Z-]*)?:iam::(\\d{12}|aws):policy/[a-zA-Z_0-9+=,.@\\-_/]+"',
      '/MaxSessionDuration must be <= 43200',
      '/Path must match pattern "^/(.+/)*$"',
    ]);
  });
});
