/**
 * oidc-plan, issue 25's worlds: each a plan run against moto (AWS managed policies loaded) and the GitHub stand-in,
 * judged by the files it writes, every trust policy evaluated offline (test/support/trust-judge.ts): the jobs it
 * must admit allowed, forks, other repositories and owners, other environments, pull requests, tags, wrong or
 * missing aud, other-case subjects and a recreated repository of the same name denied.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { Cancellation } from '../src/shared/cancel.js';
import { createGitHubClient } from '../src/github/github.js';
import { readInputs } from '../src/config/inputs.js';
import { type OidcPlanResult, runOidcPlan } from '../src/oidc/oidc-plan.js';
import { GitHubStandin, forbidden, notFound } from './support/github-standin.js';
import { FAST_PACING, type AwsCall, awsFor, fakeClock, reader, recorder } from './support/harness.js';
import { type Creds, type Moto, MOTO_ACCOUNT_ID, createUserWithKey, iamClient, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import { type Admit, GITHUB_ISSUER, type Trust, assume, judge } from './support/trust-judge.js';

requireMoto();
let moto: Moto;
let gh: GitHubStandin;
let admin: Creds;
let n = 0;
const fresh = (p: string) => `${p}${++n}`;
beforeAll(async () => {
  [moto, gh] = await Promise.all([startMoto({ awsManagedPolicies: true }), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
}, 120_000);
afterAll(async () => {
  await Promise.all([moto?.stop(), gh?.stop()]);
});
beforeEach(() => gh.reset());

const doc = (action: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });

interface Planned extends OidcPlanResult {
  dir: string;
  md: string;
  /** trust-policy*.json by name. */
  trusts: Map<string, Trust>;
  calls: AwsCall[];
}

async function plan(
  inputs: Record<string, string>,
  opts: { env?: Record<string, string>; creds?: Creds; idToken?: (aud: string) => Promise<string>; workspace?: string; folder?: string } = {},
): Promise<Planned> {
  const workspace = opts.workspace ?? mkdtempSync(join(tmpdir(), 'oidc-ws-'));
  const folder = opts.folder ?? 'plan';
  const env = { GITHUB_WORKSPACE: workspace, ...opts.env };
  const clock = fakeClock(Date.now());
  const io = recorder();
  const calls: AwsCall[] = [];
  const parsed = readInputs(reader({ 'oidc-plan': folder, ...inputs }), env);
  const result = await runOidcPlan({
    inputs: { ...parsed, oidcPlan: folder },
    aws: awsFor(moto, opts.creds ?? admin, { clock, onAwsCall: (c) => void calls.push(c) }),
    gh: createGitHubClient('test-token', gh.url, FAST_PACING, io, { clock, cancel: new Cancellation() }),
    io,
    env,
    ...(opts.idToken ? { idToken: opts.idToken } : {}),
  });
  const dir = join(workspace, folder);
  const trusts = new Map<string, Trust>();
  for (const f of readdirSync(dir).filter((x) => /^trust-policy(-\d+)?\.json$/.test(x)).sort()) {
    trusts.set(f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Trust);
  }
  const md = readFileSync(join(dir, 'plan.md'), 'utf8');
  // Every file a command in plan.md names was written (issue 25, item 6).
  for (const m of md.matchAll(/file:\/\/([^\s`]+)/g)) expect({ named: m[1], written: existsSync(join(dir, m[1])) }).toEqual({ named: m[1], written: true });
  return { ...result, dir, md, trusts, calls };
}

async function user(prefix = 'planned', path = '/ci/'): Promise<string> {
  const name = fresh(prefix);
  await createUserWithKey(moto, admin, name, { path, policy: null });
  return name;
}

const only = (r: Planned): Trust => {
  expect([...r.trusts.keys()]).toEqual(['trust-policy.json']);
  return r.trusts.get('trust-policy.json') as Trust;
};

describe('issue 25: the trust policy is never wider than the destinations', () => {
  it('1. an organization secret the token may not read (403): no subject for it, and the plan names the permission', async () => {
    const u = await user();
    gh.addOrganization('acme1');
    gh.addRepository('acme1/a', { private: true });
    gh.addRepository('acme1/b', { private: true });
    gh.setSecret({ kind: 'organization', org: 'acme1' }, 'AWS_ACCESS_KEY_ID', 'x', 'private');
    gh.addFault(forbidden({ method: 'GET', path: '/orgs/acme1/actions/secrets/AWS_ACCESS_KEY_ID' }, 'secrets=read'));
    const r = await plan({ 'iam-user-name': u, organization: 'acme1' });
    expect(r.trusts.size).toBe(0);
    expect(r.md).toContain("organization acme1: its secret AWS_ACCESS_KEY_ID could not be read (403)");
    expect(r.md).toContain("organization permission 'Secrets: read'");
    expect(r.md).not.toContain('repo:acme1/a');
  });

  it('1. a 404 proves no absence alone: a listing without the name does (a new secret: private), a refused listing stops', async () => {
    const u = await user();
    gh.addOrganization('acme2');
    const a = gh.addRepository('acme2/a', { private: true }).id;
    gh.addRepository('acme2/pub', { private: false });
    const r = await plan({ 'iam-user-name': u, organization: 'acme2' });
    expect(gh.requests.map((q) => q.path)).toContain('/orgs/acme2/actions/secrets');
    expect(judge(only(r), [{ sub: 'repo:acme2/a:ref:refs/heads/main', repositoryId: a }])).toEqual([]);
    expect(assume(only(r), { sub: 'repo:acme2/pub:ref:refs/heads/main', aud: 'sts.amazonaws.com', repository_id: '1' })).toBe('ImplicitlyDenied');

    gh.reset();
    gh.addFault(notFound({ method: 'GET', path: '/orgs/acme2/actions/secrets' }));
    const stopped = await plan({ 'iam-user-name': u, organization: 'acme2' });
    expect(stopped.trusts.size).toBe(0);
    expect(stopped.md).toContain('organization acme2: the list of its secrets could not be read (404)');
  });

  it("2. the organization's template and immutable opt-in, and GitHub's sub_claim_prefix, decide the subject", async () => {
    const u = await user();
    gh.setOrgOidcSubject('tmpl', { include_claim_keys: ['repository_owner_id', 'repo', 'context'], use_immutable_subject: true });
    const oid = gh.ownerId('tmpl');
    const svc = gh.addRepository('tmpl/svc', { oidcSubject: { use_default: false } }).id;
    const pre = gh.addRepository('tmpl/pre').id;
    gh.addRepository('tmpl/pre', { oidcSubject: { use_default: true, sub_claim_prefix: `repo:tmpl@${oid}/pre@${pre}` } });
    const plain = gh.addRepository('tmpl/plain').id;
    const r = await plan({ 'iam-user-name': u, repositories: 'tmpl/svc,tmpl/pre,tmpl/plain' });
    const admitted: Admit[] = [
      { sub: `repository_owner_id:${oid}:repo:tmpl@${oid}/svc@${svc}:ref:refs/heads/main`, repositoryId: svc },
      { sub: `repo:tmpl@${oid}/pre@${pre}:ref:refs/heads/main`, repositoryId: pre },
      { sub: `repo:tmpl@${oid}/plain@${plain}:ref:refs/heads/main`, repositoryId: plain },
    ];
    expect(r.plan.subjects.map((s) => s.sub)).toEqual(admitted.map((a) => a.sub));
    expect(judge(only(r), admitted)).toEqual([]);
    // The name form of an immutable repository (a recycled name) is refused even with the right id.
    expect(assume(only(r), { sub: 'repo:tmpl/plain:ref:refs/heads/main', aud: 'sts.amazonaws.com', repository_id: String(plain) })).toBe('ImplicitlyDenied');
  });

  it('2. a template without the repository in it (context only): one sub for two repositories, kept apart by repository_id', async () => {
    const u = await user();
    gh.setOrgOidcSubject('ctxorg', { include_claim_keys: ['context'] });
    const a = gh.addRepository('ctxorg/a', { oidcSubject: { use_default: false } }).id;
    const b = gh.addRepository('ctxorg/b', { oidcSubject: { use_default: false } }).id;
    const r = await plan({ 'iam-user-name': u, repositories: 'ctxorg/a,ctxorg/b' });
    const admitted = [a, b].map((repositoryId) => ({ sub: 'ref:refs/heads/main', repositoryId }));
    expect(r.plan.subjects.map((s) => [s.sub, s.repositoryId])).toEqual(admitted.map((x) => [x.sub, x.repositoryId]));
    expect(judge(only(r), admitted)).toEqual([]);
    // Any other repository of any owner with the same subject is refused: its id is neither.
    expect(assume(only(r), { sub: 'ref:refs/heads/main', aud: 'sts.amazonaws.com', repository_id: String(b + 1) })).toBe('ImplicitlyDenied');
  });

  it("2. an organization template that cannot be read: no subject for the repositories that use it, and the permission named", async () => {
    const u = await user();
    gh.setOrgOidcSubject('hidden', 'forbidden');
    gh.addRepository('hidden/svc', { oidcSubject: { use_default: false } });
    const r = await plan({ 'iam-user-name': u, repositories: 'hidden/svc' });
    expect(r.trusts.size).toBe(0);
    expect(r.md).toContain("hidden/svc uses its organization's subject template, which could not be read (403)");
    expect(r.md).toContain("'Administration: read'");
  });

  it('3. a `:` in an environment name is %3A in the subject, as in GitHub\'s token', async () => {
    const u = await user();
    const id = gh.addRepository('octo/colon', { environments: ['deploy:prod'] }).id;
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/colon', environments: 'deploy:prod' });
    expect(judge(only(r), [{ sub: 'repo:octo/colon:environment:deploy%3Aprod', repositoryId: id }])).toEqual([]);
    expect(assume(only(r), { sub: 'repo:octo/colon:environment:deploy:prod', aud: 'sts.amazonaws.com', repository_id: String(id) })).toBe('ImplicitlyDenied');
  });

  it('7. repository_id beside sub: a repository deleted and recreated under the same name is refused; no false note', async () => {
    const u = await user();
    const id = gh.addRepository('octo/recreated').id;
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/recreated' });
    const trust = only(r);
    expect(judge(trust, [{ sub: 'repo:octo/recreated:ref:refs/heads/main', repositoryId: id }])).toEqual([]);
    expect(JSON.stringify(trust)).toContain(`"${GITHUB_ISSUER}:repository_id":"${id}"`);
    expect(r.md).not.toMatch(/cannot be a second condition|not repository_id/);
  });

  it('8. over the 2,048-character quota: several roles, each trust policy within it, each job admitted by one', async () => {
    const u = await user();
    const admitted: Admit[] = [];
    const repos: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const name = `octo/size-${String(i).padStart(2, '0')}`;
      const id = gh.addRepository(name, { environments: ['production', 'staging'] }).id;
      repos.push(name);
      for (const env of ['production', 'staging']) admitted.push({ sub: `repo:${name}:environment:${env}`, repositoryId: id });
    }
    const r = await plan({ 'iam-user-name': u, repositories: repos.join(','), environments: 'production,staging' });
    expect(r.trusts.size).toBeGreaterThan(1);
    const seen: string[] = [];
    for (const [file, trust] of r.trusts) {
      expect({ file, size: JSON.stringify(trust).length <= 2048 }).toEqual({ file, size: true });
      const subs = JSON.stringify(trust);
      const mine = admitted.filter((a) => subs.includes(`"${a.sub}"`));
      expect(judge(trust, mine)).toEqual([]);
      seen.push(...mine.map((a) => a.sub));
    }
    expect(seen.sort()).toEqual(admitted.map((a) => a.sub).sort());
    expect(r.md).toContain(`${u}-oidc2`);
  });

  it('9. GitHub Enterprise Cloud with a custom issuer: read from the job\'s own token, provider and condition keys follow it', async () => {
    const u = await user();
    const id = gh.addRepository('ent/app').id;
    const issuer = `${GITHUB_ISSUER}/acme-enterprise`;
    const audiences: string[] = [];
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const idToken = async (aud: string) => {
      audiences.push(aud);
      return `${part({ alg: 'RS256' })}.${part({ iss: `https://${issuer}`, aud })}.sig`;
    };
    const r = await plan({ 'iam-user-name': u, repositories: 'ent/app' }, { idToken });
    const trust = only(r);
    expect(JSON.stringify(trust)).toContain(`oidc-provider/${issuer}"`);
    expect(judge(trust, [{ sub: 'repo:ent/app:ref:refs/heads/main', repositoryId: id }], issuer)).toEqual([]);
    // The default issuer's tokens are not this provider's.
    expect(assume(trust, { sub: 'repo:ent/app:ref:refs/heads/main', aud: 'sts.amazonaws.com', repository_id: String(id) })).toBe('ImplicitlyDenied');
    expect(audiences).toEqual(['rotate-aws-access-key-oidc-plan']);
    expect(r.md).toContain(`aws iam create-open-id-connect-provider --url https://${issuer} --client-id-list sts.amazonaws.com`);
  });
});

describe('issue 25: the permissions, each exactly once and under its own name', () => {
  it('4. policies whose names collide in a file name get files of their own, each with its own document', async () => {
    const iam = iamClient(moto, admin);
    const u = fresh('collide');
    await iam.send(new CreateUserCommand({ UserName: u, Path: '/ci/' }));
    await iam.send(new PutUserPolicyCommand({ UserName: u, PolicyName: 'deploy+logs', PolicyDocument: JSON.stringify(doc('s3:PutObject')) }));
    await iam.send(new PutUserPolicyCommand({ UserName: u, PolicyName: 'deploy=logs', PolicyDocument: JSON.stringify(doc('logs:PutLogEvents')) }));
    const mine = (await iam.send(new CreatePolicyCommand({ PolicyName: 'ReadOnlyAccess', Path: '/ci/', PolicyDocument: JSON.stringify(doc('ecr:Get*')) }))).Policy?.Arn ?? '';
    const aws = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
    await iam.send(new AttachUserPolicyCommand({ UserName: u, PolicyArn: mine }));
    await iam.send(new AttachUserPolicyCommand({ UserName: u, PolicyArn: aws }));
    gh.addRepository('octo/collide');
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/collide' });
    const version = (await iam.send(new GetPolicyCommand({ PolicyArn: aws }))).Policy?.DefaultVersionId;
    const awsDoc = JSON.parse(decodeURIComponent((await iam.send(new GetPolicyVersionCommand({ PolicyArn: aws, VersionId: version }))).PolicyVersion?.Document ?? '')) as unknown;
    const expected: [string, unknown][] = [
      ['deploy+logs', doc('s3:PutObject')],
      ['deploy=logs', doc('logs:PutLogEvents')],
      [mine, doc('ecr:Get*')],
      [aws, awsDoc],
    ];
    const files = new Set<string>();
    for (const [name, want] of expected) {
      // The file plan.md gives for this policy holds this policy's document.
      const line = r.md.split('\n').find((l) => l.includes(`**${name}**`) || l.includes(`\`${name}\``)) ?? '';
      const file = /document: (\S+\.json)/.exec(line)?.[1] ?? '';
      expect({ name, doc: existsSync(join(r.dir, file)) && JSON.parse(readFileSync(join(r.dir, file), 'utf8')) }).toEqual({ name, doc: want });
      files.add(file);
    }
    expect(files.size).toBe(4);
    for (const arn of [mine, aws]) expect(r.md).toContain(`--policy-arn ${arn}`);
  });

  it('5. a user inline policy and a group inline policy of the same name become two role policies', async () => {
    const iam = iamClient(moto, admin);
    const u = fresh('clash');
    await iam.send(new CreateUserCommand({ UserName: u, Path: '/ci/' }));
    await iam.send(new PutUserPolicyCommand({ UserName: u, PolicyName: 's3', PolicyDocument: JSON.stringify(doc('s3:GetObject')) }));
    const g = fresh('clashers');
    await iam.send(new CreateGroupCommand({ GroupName: g }));
    await iam.send(new PutGroupPolicyCommand({ GroupName: g, PolicyName: 's3', PolicyDocument: JSON.stringify(doc('s3:PutObject')) }));
    await iam.send(new AddUserToGroupCommand({ UserName: u, GroupName: g }));
    gh.addRepository('octo/clash');
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/clash' });
    const puts = [...r.md.matchAll(/put-role-policy --role-name \S+ --policy-name (\S+) --policy-document file:\/\/(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(puts).toHaveLength(2);
    expect(new Set(puts.map(([name]) => name.toLowerCase())).size).toBe(2);
    const docs = puts.map(([, file]) => JSON.parse(readFileSync(join(r.dir, file), 'utf8')) as unknown);
    expect(docs).toEqual(expect.arrayContaining([doc('s3:GetObject'), doc('s3:PutObject')]));
    const template = JSON.parse(readFileSync(join(r.dir, 'role.cfn.json'), 'utf8')) as { Resources: { Role: { Properties: { Policies: { PolicyName: string }[] } } } };
    expect(new Set(template.Resources.Role.Properties.Policies.map((p) => p.PolicyName)).size).toBe(2);
  });

  it('6. an inline policy IAM refused to show: no file, no command for it, and the plan says the role lacks it', async () => {
    const u = await user();
    const iam = iamClient(moto, admin);
    await iam.send(new PutUserPolicyCommand({ UserName: u, PolicyName: 'secretive', PolicyDocument: JSON.stringify(doc('sns:Publish')) }));
    gh.addRepository('octo/secretive');
    // May list the user's policies, not read one (moto checks actions).
    const reader_ = await createUserWithKey(moto, admin, fresh('lister'), {
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['iam:GetUser', 'iam:List*', 'iam:GetAccessKeyLastUsed', 'iam:GetOpenIDConnectProvider'], Resource: '*' }] },
    });
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/secretive' }, { creds: reader_ });
    expect(r.md).not.toMatch(/--policy-name secretive/);
    expect(readdirSync(r.dir).filter((f) => f.includes('secretive'))).toEqual([]);
    expect(r.md).toContain('inline policy **secretive** (from the user): **not put on the role**: IAM refused iam:GetUserPolicy');
    const template = JSON.parse(readFileSync(join(r.dir, 'role.cfn.json'), 'utf8')) as { Resources: { Role: { Properties: Record<string, unknown> } } };
    expect(template.Resources.Role.Properties.Policies).toBeUndefined();
  });
});

const DEPLOY_YML = `name: deploy
on:
  push:
    branches: [main]
    tags: ['v*']
  pull_request:
  schedule:
    - cron: '0 3 * * *'
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: npm test
  deploy:
    name: Deploy to AWS
    runs-on: ubuntu-latest
    env:
      AWS_ACCESS_KEY_ID: \${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: \${{ secrets.AWS_SECRET_ACCESS_KEY }}
    steps:
      - run: aws s3 sync site s3://bucket
  prod:
    runs-on: ubuntu-latest
    environment: production
    permissions:
      id-token: write
    steps:
      - run: aws sts get-caller-identity
        env:
          AWS_ACCESS_KEY_ID: \${{ vars.aws_access_key_id }}
          AWS_SECRET_ACCESS_KEY: \${{ secrets.AWS_SECRET_ACCESS_KEY }}
`;

describe('issue 25: what a platform team needs to switch the jobs', () => {
  it('names each job that uses the key, the lines to replace, id-token: write, who loses access, and the session from its runs', async () => {
    const u = await user();
    gh.addRepository('octo/site');
    gh.addWorkflow('octo/site', 'deploy.yml', DEPLOY_YML);
    gh.addWorkflow('octo/site', 'lint.yml', 'on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run lint\n');
    gh.addWorkflowRun('octo/site', 'deploy.yml', [{ name: 'test', seconds: 600 }, { name: 'Deploy to AWS', seconds: 5000 }]);
    gh.addWorkflowRun('octo/site', 'deploy.yml', [{ name: 'Deploy to AWS', seconds: 7000 }, { name: 'prod', seconds: 100 }]);
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/site' });
    expect(r.md).toContain('#### octo/site: .github/workflows/deploy.yml, job `deploy` (Deploy to AWS)');
    expect(r.md).toContain('  - line 20: `AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}`');
    expect(r.md).toContain('  - line 21: `AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}`');
    expect(r.md).toContain('  - line 32: `AWS_ACCESS_KEY_ID: ${{ vars.aws_access_key_id }}`');
    expect(r.md).not.toContain('job `test`');
    expect(r.md).not.toContain('lint.yml');
    expect(r.md).toContain("add to the job's `permissions:`");
    // 7,000 s longest: a quarter more, in 15-minute steps: 9,000 s for the job and the role's maximum.
    expect(r.md).toContain('role-duration-seconds: 9000');
    const template = JSON.parse(readFileSync(join(r.dir, 'role.cfn.json'), 'utf8')) as { Resources: { Role: { Properties: { MaxSessionDuration: number } } } };
    expect(template.Resources.Role.Properties.MaxSessionDuration).toBe(9000);
    const deploy = r.plan.jobs.find((j) => j.id === 'deploy');
    expect(deploy?.access.keeps).toEqual(['pushes to main', 'schedule runs (on main)']);
    expect(deploy?.access.loses).toEqual(['pushes of tags', 'pull requests (their token carries repo:…:pull_request)']);
    const prod = r.plan.jobs.find((j) => j.id === 'prod');
    expect(prod?.access.loses).toEqual(['every run: it runs in environment production, which is not a destination of this plan']);
    expect(r.md).toContain('**loses access** (the trust policy does not admit its token): pushes of tags; pull requests');
    // A job none of whose runs is admitted is not told to drop the key.
    expect(r.md).toContain('- the lines that read the key (keep them while the job has no role):\n  - line 32:');
    expect(r.md).toContain('- the trust policy admits none of its runs: leave it on the key');
    expect(r.md).toContain('retire-after-hours: 168');
  });

  it('says when the workflows or the runs cannot be read, and keeps the default hour', async () => {
    const u = await user();
    gh.addRepository('octo/closed');
    gh.addWorkflow('octo/closed', 'deploy.yml', DEPLOY_YML);
    gh.addRepository('octo/nowf');
    gh.addFault(forbidden({ method: 'GET', path: /\/actions\/workflows\/deploy\.yml\/runs$/ }, 'actions=read'));
    gh.addFault(forbidden({ method: 'GET', path: '/repos/octo/nowf/contents/.github/workflows' }, 'contents=read'));
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/closed,octo/nowf' });
    expect(r.md).toContain("the runs of deploy.yml in octo/closed could not be read (403): give the token 'Actions: read'");
    expect(r.md).toContain(".github/workflows of octo/nowf could not be listed (403: it has no workflows, or the token lacks 'Contents: read' on it)");
    expect(r.md).not.toMatch(/^ +role-duration-seconds:/m);
    expect(r.md).toContain('maximum session 1 h (3600 s)');
  });

  it("never reports its own run as the key's last use", async () => {
    const u = fresh('self');
    const own = await createUserWithKey(moto, admin, u, {
      path: '/ci/',
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['iam:Get*', 'iam:List*'], Resource: '*' }] },
    });
    gh.addRepository('octo/self');
    const r = await plan({ repositories: 'octo/self' }, { creds: own });
    expect(r.plan.userName).toBe(u);
    expect(r.md).toContain(`- ${own.accessKeyId} (Active, created`);
    expect(r.md).toContain("last used not known: this plan signs with this key, so its last use may be the plan's own");
    expect(r.md).not.toMatch(new RegExp(`${own.accessKeyId} \\(Active, created [^)]*\\): last used \\d`));
  });

  it('the provider is created only where the account lacks it', async () => {
    const u = await user();
    gh.addRepository('octo/has-provider');
    const r1 = await plan({ 'iam-user-name': u, repositories: 'octo/has-provider' });
    expect(r1.md).toContain('aws iam create-open-id-connect-provider');
    const iam = iamClient(moto, admin);
    await iam.send(new CreateOpenIDConnectProviderCommand({ Url: `https://${GITHUB_ISSUER}`, ClientIDList: ['sts.amazonaws.com'] }));
    const r2 = await plan({ 'iam-user-name': u, repositories: 'octo/has-provider' });
    expect(r2.md).not.toContain('aws iam create-open-id-connect-provider');
    expect(readFileSync(join(r2.dir, 'role.cfn.json'), 'utf8')).not.toContain('AWS::IAM::OIDCProvider');
    expect(r2.plan.providerArn).toBe(`arn:aws:iam::${MOTO_ACCOUNT_ID}:oidc-provider/${GITHUB_ISSUER}`);
  });
});

describe('issue 27 item 4: the plan is written inside the workspace only, in a folder git ignores', () => {
  it.each([['../escape'], ['/tmp/elsewhere'], ['.'], ['plan/../../x']])('oidc-plan: %s is refused before any request', (value) => {
    const workspace = mkdtempSync(join(tmpdir(), 'oidc-ws-'));
    expect(() => readInputs(reader({ 'oidc-plan': value, 'iam-user-name': 'x', repositories: 'octo/x' }), { GITHUB_WORKSPACE: workspace })).toThrow(
      `oidc-plan: '${value}' is not a folder inside the workspace (${workspace}): the plan is written only there; give a path relative to the workspace, such as oidc-plan`,
    );
  });

  it('a symbolic link that leads out of the workspace is refused before any request', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'oidc-ws-'));
    symlinkSync(mkdtempSync(join(tmpdir(), 'outside-')), join(workspace, 'link'));
    const calls: AwsCall[] = [];
    const env = { GITHUB_WORKSPACE: workspace };
    const parsed = readInputs(reader({ 'oidc-plan': 'link/plan', 'iam-user-name': 'x', repositories: 'octo/x' }), env);
    const io = recorder();
    await expect(
      runOidcPlan({
        inputs: { ...parsed, oidcPlan: 'link/plan' },
        aws: awsFor(moto, admin, { onAwsCall: (c) => void calls.push(c) }),
        gh: createGitHubClient('test-token', gh.url, FAST_PACING, io, { clock: fakeClock(Date.now()), cancel: new Cancellation() }),
        io,
        env,
      }),
    ).rejects.toThrow(`oidc-plan: 'link/plan' is not a folder inside the workspace (${workspace}) once symbolic links are followed`);
    expect(calls).toEqual([]);
    expect(gh.requests).toEqual([]);
  });

  it('a folder the plan makes gets a .gitignore of *; a folder that exists is left as it is', async () => {
    const u = await user();
    gh.addRepository('octo/ignored');
    const r = await plan({ 'iam-user-name': u, repositories: 'octo/ignored' }, { folder: 'deep/oidc-plan' });
    expect(readFileSync(join(r.dir, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const workspace = mkdtempSync(join(tmpdir(), 'oidc-ws-'));
    mkdirSync(join(workspace, 'docs'));
    const r2 = await plan({ 'iam-user-name': u, repositories: 'octo/ignored' }, { workspace, folder: 'docs' });
    expect(existsSync(join(r2.dir, '.gitignore'))).toBe(false);
  });
});
