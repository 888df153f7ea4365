/**
 * oidc-plan: the plan to replace a key with a role. Its permissions are gathered from moto (inline, attached, groups,
 * boundary, paths), its subjects from the GitHub stand-in (ids, default branch, OIDC customization), and every
 * trust policy it writes is evaluated with @cloud-copilot/iam-simulate for sts:AssumeRoleWithWebIdentity.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { Cancellation } from '../src/shared/cancel.js';
import { createGitHubClient } from '../src/github/github.js';
import { readInputs } from '../src/config/inputs.js';
import { type OidcPlanResult, runOidcPlan } from '../src/oidc/oidc-plan.js';
import { oidcIssuer } from '../src/oidc/provider.js';
import { type RepoFacts, subjectFor } from '../src/oidc/subject.js';
import { CONFIGURE_AWS_CREDENTIALS, buildPlan, sessionSecondsFor } from '../src/oidc/role-plan.js';
import { packTrust } from '../src/oidc/trust.js';
import { accessOf, jobsUsingKey } from '../src/oidc/workflow-jobs.js';
import type { UserPermissions } from '../src/oidc/iam-read.js';
import { planFiles } from '../src/oidc/render.js';
import type { OidcSubjectCustomization } from './support/github-standin.js';
import { type Trust, assume as assumeAs, judge } from './support/trust-judge.js';
import { type AwsCall, FAST_PACING, awsFor, fakeClock, reader, recorder } from './support/harness.js';
import { MOTO_ACCOUNT_ID, createUserWithKey, iamClient, requireMoto } from './support/moto.js';
import { useWorld } from './support/world.js';

requireMoto();
const world = useWorld();
const ACCOUNT = MOTO_ACCOUNT_ID;
const GITHUB = 'token.actions.githubusercontent.com';

// ---------------------------------------------------------------- pure parts

const api: RepoFacts = { owner: 'octo', ownerId: 11, repo: 'api', repoId: 22, defaultBranch: 'main', visibility: 'private' };
const DEFAULT = { readable: true as const, useDefault: true, claimKeys: [], immutable: false };

describe('subjectFor', () => {
  it.each([
    ['default, a branch job', DEFAULT, { kind: 'branch', branch: 'main' }, 'repo:octo/api:ref:refs/heads/main'],
    ['default, an environment job', DEFAULT, { kind: 'environment', name: 'prod' }, 'repo:octo/api:environment:prod'],
    ['immutable', { ...DEFAULT, immutable: true }, { kind: 'branch', branch: 'main' }, 'repo:octo@11/api@22:ref:refs/heads/main'],
    ['a sub_claim_prefix: as GitHub spells it', { ...DEFAULT, subClaimPrefix: 'repo:octo@11/api@22' }, { kind: 'branch', branch: 'main' }, 'repo:octo@11/api@22:ref:refs/heads/main'],
    ['an environment with a colon', DEFAULT, { kind: 'environment', name: 'eu:prod' }, 'repo:octo/api:environment:eu%3Aprod'],
    ['custom repo, context', { ...DEFAULT, useDefault: false, claimKeys: ['repo', 'context'] }, { kind: 'environment', name: 'prod' }, 'repo:octo/api:environment:prod'],
    [
      'custom ids',
      { ...DEFAULT, useDefault: false, claimKeys: ['repository_owner_id', 'repository_id', 'context'] },
      { kind: 'branch', branch: 'main' },
      'repository_owner_id:11:repository_id:22:ref:refs/heads/main',
    ],
  ] as const)('%s', (_label, c, job, sub) => {
    expect(subjectFor(api, c, { none: true }, job)).toEqual({ ok: true, subs: [sub], form: 'exact' });
  });

  it('unreadable: the default template in both spellings (the repository_id condition keeps either to the repository)', () => {
    expect(subjectFor(api, { readable: false, status: 403 }, { none: true }, { kind: 'branch', branch: 'trunk' })).toEqual({
      ok: true,
      subs: ['repo:octo/api:ref:refs/heads/trunk', 'repo:octo@11/api@22:ref:refs/heads/trunk'],
      form: 'both-forms',
    });
  });

  it("the organization's template and opt-in, where the repository defers to them", () => {
    const org = { readable: true as const, claimKeys: ['repository_owner', 'context'], immutable: true };
    expect(subjectFor({ ...api, ownerType: 'Organization' }, { ...DEFAULT, useDefault: false }, org, { kind: 'branch', branch: 'main' })).toEqual({
      ok: true,
      subs: ['repository_owner:octo:ref:refs/heads/main'],
      form: 'exact',
    });
    expect(subjectFor(api, DEFAULT, { ...org, claimKeys: [] }, { kind: 'branch', branch: 'main' })).toEqual({ ok: true, subs: ['repo:octo@11/api@22:ref:refs/heads/main'], form: 'exact' });
    expect(subjectFor(api, { ...DEFAULT, useDefault: false }, { readable: false, status: 403 }, { kind: 'branch', branch: 'main' })).toEqual({
      ok: false,
      code: 'organization-template-unreadable',
      status: 403,
    });
  });

  it('a claim whose value depends on the run gives no subject, naming it', () => {
    expect(subjectFor(api, { ...DEFAULT, useDefault: false, claimKeys: ['repo', 'job_workflow_ref'] }, { none: true }, { kind: 'branch', branch: 'main' })).toEqual({
      ok: false,
      code: 'claims-unknown',
      claims: ['job_workflow_ref'],
    });
  });
});

describe('oidcIssuer', () => {
  it.each([
    [undefined, GITHUB],
    ['https://github.com', GITHUB],
    ['https://octo.ghe.com', 'token.actions.octo.ghe.com'],
    ['https://ghes.example.com', 'ghes.example.com/_services/token'],
  ])('GITHUB_SERVER_URL %s: %s', (server, issuer) => {
    expect(oidcIssuer({ GITHUB_SERVER_URL: server })).toBe(issuer);
  });
});

describe('the pure parts of the plan', () => {
  const perms = (over: Partial<UserPermissions> = {}): UserPermissions => ({
    name: 'svc',
    arn: `arn:aws:iam::${ACCOUNT}:user/ci/svc`,
    path: '/ci/',
    partition: 'aws',
    account: ACCOUNT,
    boundary: undefined,
    inline: [],
    attached: [],
    groups: [],
    unreadable: [],
    keys: [],
    ...over,
  });
  const facts = { workflows: [], targets: [], issuer: { issuer: GITHUB, source: 'token' as const }, provider: { exists: true }, region: 'us-east-1', signingKeyId: undefined };

  it('more than 10 managed policies, or inline policies over 10,240 characters: said before deploying', () => {
    const attached = Array.from({ length: 11 }, (_, i) => ({ name: `p${i}`, arn: `arn:aws:iam::${ACCOUNT}:policy/p${i}` }));
    const big = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: Array.from({ length: 400 }, (_, i) => `arn:aws:s3:::bucket-${i}/*`) }] };
    const p = buildPlan({ ...facts, perms: perms({ attached, inline: [{ name: 'big', document: big }] }) });
    expect(p.notes.map((n) => n.code)).toEqual(expect.arrayContaining(['managed-policy-quota', 'inline-size']));
    expect(buildPlan({ ...facts, perms: perms({ attached: attached.slice(0, 10) }) }).notes.map((n) => n.code)).not.toContain('managed-policy-quota');
  });

  it.each([
    [undefined, 3600],
    [60, 3600],
    [3000, 4500],
    [7000, 9000],
    [40_000, 43_200],
  ])('a job whose longest run took %s s gets a session of %s s', (longest, seconds) => {
    expect(sessionSecondsFor(longest)).toBe(seconds);
  });

  it('packTrust: a subject no policy can hold gives no policy; small ones share one', () => {
    const arn = `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB}`;
    expect(packTrust(arn, GITHUB, [{ repository: 'o/r', repositoryId: 1, subs: [`repo:o/r:environment:${'x'.repeat(2100)}`] }])).toBeUndefined();
    expect(packTrust(arn, GITHUB, [1, 2].map((i) => ({ repository: `o/r${i}`, repositoryId: i, subs: [`repo:o/r${i}:ref:refs/heads/main`] })))).toHaveLength(1);
  });

  it('jobsUsingKey: workflow-wide env reaches every job; secrets: inherit is named; a computed environment is unknown', () => {
    const text = [
      'on: [push, release]',
      'env:',
      '  AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    environment: ${{ inputs.env }}',
      '    steps: [{ run: x }]',
      '  b:',
      '    uses: octo/shared/.github/workflows/deploy.yml@main',
      '    secrets: inherit',
    ].join('\n');
    const parsed = jobsUsingKey('.github/workflows/x.yml', text, ['AWS_ACCESS_KEY_ID']);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.jobs.map((j) => [j.id, j.lines.map((l) => l.line), j.inheritsTo])).toEqual([
      ['a', [3], undefined],
      ['b', [3], 'octo/shared/.github/workflows/deploy.yml@main'],
    ]);
    const admitted = { defaultBranch: 'main', branch: true, environments: [] };
    expect(accessOf(parsed.jobs[0], parsed.on, admitted).unknown[0]).toContain('its environment is computed');
    expect(accessOf(parsed.jobs[1], parsed.on, admitted)).toEqual({
      keeps: ['pushes to main'],
      loses: ['pushes to other branches, and of tags (their token names that ref)', 'release runs (their token names a tag or another branch)'],
      unknown: [],
    });
    expect(jobsUsingKey('x.yml', 'jobs: [', ['A'])).toMatchObject({ ok: false });
  });
});

// ---------------------------------------------------------------- runs against moto and the stand-in

async function plan(inputs: Record<string, string>, env: Record<string, string> = {}, onAwsCall?: (c: AwsCall) => void): Promise<OidcPlanResult & { dir: string }> {
  const workspace = mkdtempSync(join(tmpdir(), 'oidc-ws-'));
  const io = recorder();
  const clock = fakeClock(Date.now());
  const withWorkspace = { GITHUB_WORKSPACE: workspace, ...env };
  const parsed = readInputs(reader({ 'oidc-plan': 'plan', ...inputs }), withWorkspace);
  const admin = world.admin;
  const result = await runOidcPlan({
    inputs: { ...parsed, oidcPlan: 'plan' },
    aws: awsFor(world.moto, admin, { clock, onAwsCall }),
    gh: createGitHubClient('test-token', world.gh.url, FAST_PACING, io, { clock, cancel: new Cancellation() }),
    io,
    env: withWorkspace,
  });
  return { ...result, dir: join(workspace, 'plan') };
}

const trustOf = (r: { dir: string }): Trust => JSON.parse(readFileSync(join(r.dir, 'trust-policy.json'), 'utf8')) as Trust;
/** A token of GitHub's issuer (or `issuer`) for this subject and repository id. */
const assume = (trust: Trust, sub: string, repositoryId: number, issuer = GITHUB): string =>
  assumeAs(trust, { sub, aud: 'sts.amazonaws.com', repository_id: String(repositoryId) }, issuer);

async function plainUser(): Promise<string> {
  const user = world.fresh('planned');
  await createUserWithKey(world.moto, world.admin, user, { policy: null });
  return user;
}

describe('the trust policy, evaluated', () => {
  it('repository destinations: each default branch admitted; every refusal of test/support/trust-judge.ts denied', async () => {
    const user = await plainUser();
    const api = world.gh.addRepository('octo/api').id;
    const web = world.gh.addRepository('octo/web', { defaultBranch: 'trunk' }).id;
    const r = await plan({ 'iam-user-name': user, repositories: 'octo/api,octo/web' });
    const trust = trustOf(r);
    expect(validateTrustPolicy(trust)).toEqual([]);
    expect(r.plan.subjects.map((s) => s.sub)).toEqual(['repo:octo/api:ref:refs/heads/main', 'repo:octo/web:ref:refs/heads/trunk']);
    expect(
      judge(trust, [
        { sub: 'repo:octo/api:ref:refs/heads/main', repositoryId: api },
        { sub: 'repo:octo/web:ref:refs/heads/trunk', repositoryId: web },
      ]),
    ).toEqual([]);
    // One repository's subject with the other's id: each statement holds one repository's subjects and id.
    expect(assume(trust, 'repo:octo/api:ref:refs/heads/main', web)).toBe('ImplicitlyDenied');
    expect(assume(trust, 'repo:octo/api-fork:ref:refs/heads/main', api)).toBe('ImplicitlyDenied');
    expect(r.plan.notes.map((n) => n.code)).toEqual(['immutable-subject-off', 'workflows-unread', 'workflows-unread', 'issuer-derived']);
  });

  it('environment destinations: each environment admitted; another environment and the branch refused', async () => {
    const user = await plainUser();
    const id = world.gh.addRepository('octo/svc', { environments: ['prod', 'staging'] }).id;
    const r = await plan({ 'iam-user-name': user, repositories: 'octo/svc', environments: 'prod,staging' });
    const trust = trustOf(r);
    expect(
      judge(trust, [
        { sub: 'repo:octo/svc:environment:prod', repositoryId: id },
        { sub: 'repo:octo/svc:environment:staging', repositoryId: id },
      ]),
    ).toEqual([]);
    for (const sub of ['repo:octo/svc:environment:dev', 'repo:octo/svc:ref:refs/heads/main', 'repo:octo/svc:environment:prod-2']) {
      expect({ sub, decision: assume(trust, sub, id) }).toEqual({ sub, decision: 'ImplicitlyDenied' });
    }
  });

  it('the forms each repository uses: immutable, custom claim keys, unreadable (both forms, said so), run-dependent claims (left out, said so)', async () => {
    const user = await plainUser();
    const custom = (c: OidcSubjectCustomization | 'forbidden') => ({ oidcSubject: c });
    const imm = world.gh.addRepository('octo/imm', custom({ use_default: true, use_immutable_subject: true })).id;
    const ids = world.gh.addRepository('octo/ids', custom({ use_default: false, include_claim_keys: ['repository_owner_id', 'repository_id', 'context'] })).id;
    const hidden = world.gh.addRepository('octo/hidden', custom('forbidden')).id;
    world.gh.addRepository('octo/wf', custom({ use_default: false, include_claim_keys: ['repo', 'job_workflow_ref'] }));
    const owner = world.gh.ownerId('octo');
    const r = await plan({ 'iam-user-name': user, repositories: 'octo/imm,octo/ids,octo/hidden,octo/wf' });
    const trust = trustOf(r);
    const admitted = [
      { sub: `repo:octo@${owner}/imm@${imm}:ref:refs/heads/main`, repositoryId: imm },
      { sub: `repository_owner_id:${owner}:repository_id:${ids}:ref:refs/heads/main`, repositoryId: ids },
      { sub: 'repo:octo/hidden:ref:refs/heads/main', repositoryId: hidden },
      { sub: `repo:octo@${owner}/hidden@${hidden}:ref:refs/heads/main`, repositoryId: hidden },
    ];
    expect(r.plan.subjects.map((s) => s.sub)).toEqual(admitted.map((a) => a.sub));
    expect(judge(trust, admitted)).toEqual([]);
    // A recycled name (same names, other ids) and the name-only form of an immutable repository are refused.
    expect(assume(trust, `repo:octo@${owner}/imm@999:ref:refs/heads/main`, 999)).toBe('ImplicitlyDenied');
    expect(assume(trust, 'repo:octo/imm:ref:refs/heads/main', imm)).toBe('ImplicitlyDenied');
    expect(assume(trust, `repository_owner_id:${owner}:repository_id:${ids + 1}:ref:refs/heads/main`, ids + 1)).toBe('ImplicitlyDenied');
    const codes = r.plan.notes.map((n) => n.code);
    expect(codes).toEqual(expect.arrayContaining(['customization-unreadable', 'claims-unknown']));
    const md = readFileSync(join(r.dir, 'plan.md'), 'utf8');
    expect(md).toContain("octo/hidden could not be read (403; it needs the token's repository permission 'Actions: read')");
    expect(md).toContain('job_workflow_ref');
  });

  it('an organization destination: the repositories its secret is shared with, nothing else', async () => {
    const user = await plainUser();
    world.gh.addOrganization('acme');
    const a = world.gh.addRepository('acme/a', { private: true }).id;
    const b = world.gh.addRepository('acme/b', { private: true }).id;
    const pub = world.gh.addRepository('acme/pub', { private: false }).id;
    world.gh.setSecret({ kind: 'organization', org: 'acme' }, 'AWS_ACCESS_KEY_ID', 'x', 'private');
    const r = await plan({ 'iam-user-name': user, organization: 'acme' });
    const trust = trustOf(r);
    expect(r.plan.subjects.map((s) => s.sub)).toEqual(['repo:acme/a:ref:refs/heads/main', 'repo:acme/b:ref:refs/heads/main']);
    expect(
      judge(trust, [
        { sub: 'repo:acme/a:ref:refs/heads/main', repositoryId: a },
        { sub: 'repo:acme/b:ref:refs/heads/main', repositoryId: b },
      ]),
    ).toEqual([]);
    expect(assume(trust, 'repo:acme/pub:ref:refs/heads/main', pub)).toBe('ImplicitlyDenied');
    expect(r.plan.notes.find((n) => n.code === 'organization-repositories')?.text).toContain('shared with private repositories: 2 repositories');
  });

  it('GitHub Enterprise Server: the provider of that server', async () => {
    const user = await plainUser();
    const id = world.gh.addRepository('octo/ent').id;
    const issuer = 'ghes.example.com/_services/token';
    const r = await plan({ 'iam-user-name': user, repositories: 'octo/ent' }, { GITHUB_SERVER_URL: 'https://ghes.example.com' });
    const trust = trustOf(r);
    expect(JSON.stringify(trust)).toContain(`oidc-provider/${issuer}`);
    expect(judge(trust, [{ sub: 'repo:octo/ent:ref:refs/heads/main', repositoryId: id }], issuer)).toEqual([]);
    expect(assume(trust, 'repo:octo/ent:ref:refs/heads/main', id, GITHUB)).toBe('ImplicitlyDenied');
  });
});

// ---------------------------------------------------------------- permissions, from moto

describe('the permissions, gathered from IAM', () => {
  it('inline, attached, groups (inline and attached) and paths; documents written; nothing changed', async () => {
    const iam = iamClient(world.moto, world.admin);
    const doc = (action: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
    const user = world.fresh('deployer');
    // moto 5 keeps no permissions boundary for users (only roles): the boundary is proven below, without moto.
    await iam.send(new CreateUserCommand({ UserName: user, Path: '/ci/deployers/' }));
    await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: 'own', PolicyDocument: doc('s3:GetObject') }));
    const deploy = (await iam.send(new CreatePolicyCommand({ PolicyName: world.fresh('deploy'), Path: '/ci/policies/', PolicyDocument: doc('ecr:*') }))).Policy?.Arn ?? '';
    await iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: deploy }));
    const group = world.fresh('deployers');
    await iam.send(new CreateGroupCommand({ GroupName: group, Path: '/ci/groups/' }));
    await iam.send(new PutGroupPolicyCommand({ GroupName: group, PolicyName: 'logs', PolicyDocument: doc('logs:PutLogEvents') }));
    const shared = (await iam.send(new CreatePolicyCommand({ PolicyName: world.fresh('shared'), PolicyDocument: doc('sqs:SendMessage') }))).Policy?.Arn ?? '';
    await iam.send(new AttachGroupPolicyCommand({ GroupName: group, PolicyArn: shared }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: group, PolicyArn: deploy })); // also the user's: attached once
    await iam.send(new AddUserToGroupCommand({ UserName: user, GroupName: group }));
    world.gh.addRepository('octo/perm');
    world.gh.reset();

    const calls: AwsCall[] = [];
    const r = await plan({ 'iam-user-name': user, repositories: 'octo/perm' }, {}, (c) => void calls.push(c));

    expect(r.plan.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/ci/deployers/${user}-oidc`);
    expect(r.plan.boundary).toBeUndefined();
    expect(r.plan.policies.map((p) => [p.kind, p.from, p.arn ?? p.name])).toEqual([
      ['inline', 'user', 'own'],
      ['managed', 'user', deploy],
      ['inline', `group ${group}`, 'logs'],
      ['managed', `group ${group}`, shared],
    ]);
    expect(deploy).toContain(':policy/ci/policies/');
    const files = readdirSync(r.dir).sort();
    expect(files).toEqual([...r.plan.policies.map((p) => p.file), '.gitignore', 'plan.md', 'role.cfn.json', 'trust-policy.json'].sort());
    expect(r.files.map((f) => f.slice(r.dir.length + 1)).sort()).toEqual(files.filter((f) => f !== '.gitignore'));
    expect(JSON.parse(readFileSync(join(r.dir, `inline-group-${group}-logs.json`), 'utf8'))).toEqual(JSON.parse(doc('logs:PutLogEvents')));
    expect(JSON.parse(readFileSync(join(r.dir, r.plan.policies[1].file ?? ''), 'utf8'))).toEqual(JSON.parse(doc('ecr:*')));
    const md = readFileSync(join(r.dir, 'plan.md'), 'utf8');
    expect(md).toContain('The user has no permissions boundary.');
    expect(md).toContain(`aws iam attach-role-policy --role-name ${user}-oidc --policy-arn ${shared}`);
    expect(md).toContain(CONFIGURE_AWS_CREDENTIALS);
    expect(md).toContain('id-token: write');
    expect(md).toContain(`role-to-assume: ${r.plan.roleArn}`);
    expect(md).toContain('retire-after-hours');
    // Read-only: every IAM call reads; GitHub saw only GETs.
    expect(calls.map((c) => c.command).filter((c) => !/^(Get|List)/.test(c))).toEqual([]);
    expect(world.gh.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it("the user's permissions boundary (GetUser) is kept for the role", () => {
    const boundary = `arn:aws:iam::${ACCOUNT}:policy/ci/ci-boundary`;
    const perms: UserPermissions = {
      name: 'svc',
      arn: `arn:aws:iam::${ACCOUNT}:user/ci/svc`,
      path: '/ci/',
      partition: 'aws',
      account: ACCOUNT,
      boundary,
      inline: [],
      attached: [],
      groups: [],
      unreadable: [],
      keys: [],
    };
    const facts = { perms, workflows: [], issuer: { issuer: GITHUB, source: 'token' as const }, provider: { exists: true }, region: 'us-east-1', signingKeyId: undefined };
    const p = buildPlan({ ...facts, targets: [] });
    expect(p.boundary).toBe(boundary);
    expect(p.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/ci/svc-oidc`);
    expect(p.notes.map((n) => n.code)).toContain('no-subjects');
    expect(planFiles(p).has('trust-policy.json')).toBe(false);
    // With a subject: the boundary is in the template and in the aws iam command.
    const repo = { owner: 'octo', ownerId: 1, repo: 'b', repoId: 2, defaultBranch: 'main', visibility: 'private' };
    const job = { repo, customization: { readable: true as const, useDefault: true, claimKeys: [], immutable: false }, org: { none: true as const }, job: { kind: 'branch' as const, branch: 'main' } };
    const q = buildPlan({ ...facts, targets: [{ destination: { kind: 'repository', owner: 'octo', repo: 'b' }, jobs: [job], notes: [] }] });
    expect(planFiles(q).get('plan.md')).toContain(`--permissions-boundary ${boundary}`);
    expect(JSON.parse(planFiles(q).get('role.cfn.json') ?? '{}').Resources.Role.Properties.PermissionsBoundary).toBe(boundary);
  });

  it('a document IAM refuses is named with the permission that reads it', async () => {
    const user = await plainUser();
    world.gh.addRepository('octo/deny');
    const iam = iamClient(world.moto, world.admin);
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: '*' }] });
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: world.fresh('hidden'), PolicyDocument: doc }))).Policy?.Arn ?? '';
    await iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: arn }));
    // A caller that may read the user and list its policies, but not read a policy's version (moto checks actions).
    const creds = await createUserWithKey(world.moto, world.admin, world.fresh('reader'), {
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['iam:GetUser', 'iam:List*', 'iam:GetAccessKeyLastUsed', 'iam:GetPolicy'], Resource: '*' }] },
    });
    const workspace = mkdtempSync(join(tmpdir(), 'oidc-ws-'));
    const dir = join(workspace, 'plan');
    const io = recorder();
    const clock = fakeClock(Date.now());
    const env = { GITHUB_WORKSPACE: workspace };
    const parsed = readInputs(reader({ 'oidc-plan': 'plan', 'iam-user-name': user, repositories: 'octo/deny' }), env);
    const r = await runOidcPlan({
      inputs: { ...parsed, oidcPlan: 'plan' },
      aws: awsFor(world.moto, creds, { clock }),
      gh: createGitHubClient('test-token', world.gh.url, FAST_PACING, io, { clock, cancel: new Cancellation() }),
      io,
      env,
    });
    const managed = r.plan.policies.find((p) => p.arn === arn);
    expect(managed?.unreadable?.action).toBe('iam:GetPolicyVersion');
    expect(managed?.document).toBeUndefined();
    expect(r.plan.notes.filter((n) => n.code === 'unreadable').map((n) => n.text)).toEqual([
      `IAM refused iam:GetPolicyVersion on ${arn}: grant iam:GetPolicyVersion on ${arn} (policies/oidc-plan.json does) and run the plan again`,
    ]);
    expect(readFileSync(join(dir, 'plan.md'), 'utf8')).toContain('not readable (IAM refused iam:GetPolicyVersion)');
  });
});
