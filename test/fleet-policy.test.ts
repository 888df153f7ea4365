/**
 * The audit role's policy (policies/fleet-audit.json), proven with the offline IAM evaluator as the others are
 * (test/policies.test.ts): the fleet audit runs for real against moto (whose callers may do anything) and every IAM
 * request it makes is evaluated with the resource real IAM authorizes (the user's ARN with its path; for
 * GetAccessKeyLastUsed, the key's owner). Proven: every request is allowed, every grant is needed by one, and the
 * policy allows nothing that changes IAM.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { validateIdentityPolicy } from '@cloud-copilot/iam-policy';
import { AwsProxy } from './support/aws-proxy.js';
import type { AwsCall } from './support/harness.js';
import { runFleetWith, workspace } from './support/fleet-world.js';
import { type Creds, MOTO_ACCOUNT_ID, type Moto, iamClient, requireMoto, seedAdmin, startMoto } from './support/moto.js';

requireMoto();

interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
}
const POLICY = JSON.parse(readFileSync(new URL('../policies/fleet-audit.json', import.meta.url), 'utf8')) as { Version: string; Statement: Statement[] };
const PRINCIPAL = `arn:aws:sts::${MOTO_ACCOUNT_ID}:assumed-role/access-key-auditor/GitHubActions`;
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Users of the world: name → path (a manifest user under /ci/deployers/, an unmanaged one at /, one under /legacy/). */
const PATHS: Record<string, string> = { 'deploy-api': '/ci/deployers/', 'old-laptop': '/', 'build-bot': '/legacy/bots/' };

let moto: Moto;
let admin: Creds;
let proxy: AwsProxy;
const owner = new Map<string, string>();

beforeAll(async () => {
  moto = await startMoto();
  admin = await seedAdmin(moto);
  proxy = await AwsProxy.start(moto.endpoint);
  const iam = iamClient(moto, admin);
  for (const [UserName, Path] of Object.entries(PATHS)) {
    await iam.send(new CreateUserCommand({ UserName, Path }));
    const key = await iam.send(new CreateAccessKeyCommand({ UserName }));
    owner.set(key.AccessKey?.AccessKeyId ?? '', UserName);
  }
  owner.set(admin.accessKeyId, 'admin');
  PATHS.admin = '/';
  iam.destroy();
}, 60_000);
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

interface AuthRequest {
  action: string;
  resource: string;
}

/** The authorization real IAM performs for each recorded IAM call. GetCallerIdentity needs no permission (STS). */
function authRequests(calls: AwsCall[]): AuthRequest[] {
  return calls
    .filter((c) => c.service === 'iam')
    .map((c) => {
      const call = c.command.replace(/Command$/, '');
      if (call === 'GenerateCredentialReport' || call === 'GetCredentialReport') return { action: `iam:${call}`, resource: '*' };
      const user = typeof c.input.UserName === 'string' ? c.input.UserName : (owner.get(String(c.input.AccessKeyId)) ?? '?');
      // A user IAM does not have is authorized as user/NAME: no path to go by.
      return { action: `iam:${call}`, resource: `arn:aws:iam::${MOTO_ACCOUNT_ID}:user${PATHS[user] ?? '/'}${user}` };
    });
}

function simulation(statements: Statement[], req: AuthRequest): Simulation {
  return {
    request: { principal: PRINCIPAL, action: req.action, resource: { resource: req.resource, accountId: MOTO_ACCOUNT_ID }, contextVariables: {} },
    identityPolicies: [{ name: 'fleet-audit', policy: { Version: '2012-10-17', Statement: statements } }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
}

async function decide(statements: Statement[], req: AuthRequest): Promise<string> {
  const r = await runSimulation(simulation(statements, req), {});
  if (r.resultType === 'error') return `invalid: ${r.errors.message}`;
  return r.overallResult;
}

describe('policies/fleet-audit.json', () => {
  let calls: AwsCall[];

  beforeAll(async () => {
    calls = [];
    const manifest = 'users:\n  deploy-api:\n    repositories: octo/api\n  ghost:\n    repositories: octo/ghost\n';
    const run = await runFleetWith({ moto, as: admin, endpoint: proxy.url, workspace: workspace(manifest), inputs: {}, onAwsCall: (c) => void calls.push(c) });
    expect(run.io.failed).toBe(false);
    // The world exercised every kind of read: the report, a managed user, unmanaged ones, a user IAM lacks.
    expect(run.result?.findings.map((f) => f.code).sort()).toEqual(['missing-user', 'unmanaged-key', 'unmanaged-key', 'unmanaged-key']);
  }, 60_000);

  it('is a valid identity policy', () => {
    expect(validateIdentityPolicy(POLICY)).toEqual([]);
  });

  it("allows every request the audit makes, each at the resource IAM authorizes", async () => {
    const requests = authRequests(calls);
    expect(new Set(requests.map((r) => r.action))).toEqual(
      new Set(['iam:GenerateCredentialReport', 'iam:GetCredentialReport', 'iam:ListAccessKeys', 'iam:ListUserTags', 'iam:GetAccessKeyLastUsed']),
    );
    expect(requests).toContainEqual({ action: 'iam:ListAccessKeys', resource: `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/legacy/bots/build-bot` });
    expect(requests).toContainEqual({ action: 'iam:ListAccessKeys', resource: `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/ghost` });
    const denied: string[] = [];
    for (const req of requests) if ((await decide(POLICY.Statement, req)) !== 'Allowed') denied.push(`${req.action} ${req.resource}`);
    expect(denied).toEqual([]);
  });

  it('grants nothing the audit does not need: each action and resource of each statement allows some request', async () => {
    const requests = authRequests(calls);
    const unused: string[] = [];
    for (const s of POLICY.Statement) {
      for (const action of s.Action) {
        for (const resource of list(s.Resource)) {
          const alone = [{ ...s, Action: [action], Resource: resource }];
          const used = await Promise.all(requests.filter((r) => r.action === action).map((r) => decide(alone, r)));
          if (!used.includes('Allowed')) unused.push(`${s.Sid} ${action} ${resource}`);
        }
      }
    }
    expect(unused).toEqual([]);
  });

  it('allows nothing that changes IAM: keys, tags, users', async () => {
    const user = `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/ci/deployers/deploy-api`;
    for (const action of ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'TagUser', 'UntagUser', 'CreateUser', 'DeleteUser', 'AttachUserPolicy', 'PutUserPolicy']) {
      expect([action, await decide(POLICY.Statement, { action: `iam:${action}`, resource: user })]).toEqual([action, 'ImplicitlyDenied']);
    }
  });
});
