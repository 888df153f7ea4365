/** End to end: the built dist/index.js on Node 24 writes one oidc-plan, read-only, against moto and the stand-in. */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { keysOf } from './support/harness.js';
import { type DistWorld, useDistWorld } from './support/world.js';
import { createUserWithKey, iamClient, requireMoto } from './support/moto.js';
import { runAction } from './support/runner.js';
import { judge } from './support/trust-judge.js';

requireMoto();
let w: DistWorld;
useDistWorld((world) => (w = world));

describe('dist/index.js on Node 24: oidc-plan', () => {
  it('writes the plan files, the output and the summary; creates no key and writes no secret', async () => {
    const key = await createUserWithKey(w.moto, w.admin, 'e2e-planned', { path: '/ci/', policy: null });
    await iamClient(w.moto, w.admin).send(
      new PutUserPolicyCommand({
        UserName: 'e2e-planned',
        PolicyName: 'deploy',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: '*' }] }),
      }),
    );
    const { id } = w.gh.addRepository('octo/e2e-plan', { environments: ['prod'] });
    w.gh.addWorkflow(
      'octo/e2e-plan',
      'deploy.yml',
      'on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    environment: prod\n    steps:\n      - run: aws s3 ls\n        env:\n          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n',
    );
    w.gh.addWorkflowRun('octo/e2e-plan', 'deploy.yml', [{ name: 'deploy', seconds: 4000 }]);
    // GitHub Enterprise Cloud with a custom issuer: the job's own token (id-token: write) says so.
    const issuer = 'token.actions.githubusercontent.com/acme-enterprise';
    w.gh.setIdTokenIssuer(`https://${issuer}`);
    const workspace = mkdtempSync(join(tmpdir(), 'raak-ws-'));
    const env = {
      AWS_ENDPOINT_URL: w.moto.endpoint,
      AWS_ACCESS_KEY_ID: w.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: w.admin.secretAccessKey,
      GITHUB_API_URL: w.gh.url,
      GITHUB_REPOSITORY: 'octo/planner',
      GITHUB_WORKSPACE: workspace,
      ACTIONS_ID_TOKEN_REQUEST_URL: w.gh.idTokenRequestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'test-token',
    };
    const inputs = { 'github-token': 'test-token', 'iam-user-name': 'e2e-planned', repositories: 'octo/e2e-plan', environments: 'prod', 'oidc-plan': 'plan' };
    const run = await runAction({ inputs, env });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const dir = join(workspace, 'plan');
    expect(readdirSync(dir).sort()).toEqual(['.gitignore', 'inline-user-deploy.json', 'plan.md', 'role.cfn.json', 'trust-policy.json']);
    expect(JSON.parse(run.outputs['oidc-plan-files']).sort()).toEqual(readdirSync(dir).filter((f) => f !== '.gitignore').sort().map((f) => join(dir, f)));
    const trust = JSON.parse(readFileSync(join(dir, 'trust-policy.json'), 'utf8'));
    expect(trust.Statement[0].Principal.Federated).toBe(`arn:aws:iam::123456789012:oidc-provider/${issuer}`);
    expect(trust.Statement[0].Condition.StringEquals).toEqual({
      [`${issuer}:aud`]: 'sts.amazonaws.com',
      [`${issuer}:sub`]: 'repo:octo/e2e-plan:environment:prod',
      [`${issuer}:repository_id`]: String(id),
    });
    expect(judge(trust, [{ sub: 'repo:octo/e2e-plan:environment:prod', repositoryId: id }], issuer)).toEqual([]);
    const template = JSON.parse(readFileSync(join(dir, 'role.cfn.json'), 'utf8'));
    expect(template.Resources.Role.Properties.MaxSessionDuration).toBe(5400);
    expect(run.summary).toContain('Replace the access key of IAM user e2e-planned with a role');
    expect(run.summary).toContain('role/ci/e2e-planned-oidc');
    expect(run.summary).toContain('#### octo/e2e-plan: .github/workflows/deploy.yml, job `deploy`');
    expect(run.summary).toContain('role-duration-seconds: 5400');
    // The id token the plan asked for is masked like every token (the toolkit's getIDToken does it).
    expect(run.masked.some((m) => /^[\w-]+\.[\w-]+\.$/.test(m))).toBe(true);
    // Read-only: the user still has its one key, GitHub saw only GETs, no rotation output.
    expect((await keysOf({ moto: w.moto, gh: w.gh, admin: w.admin, stop: async () => {} }, 'e2e-planned')).map((k) => k.id)).toEqual([key.accessKeyId]);
    expect(w.gh.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(run.outputs.rotated).toBeUndefined();

    // A folder outside the workspace fails before any request, in one line naming the input, the value and the rule.
    const before = w.gh.requests.length;
    const escape = await runAction({ inputs: { ...inputs, 'oidc-plan': '../escape' }, env });
    expect(escape.code).toBe(1);
    expect(escape.errors).toEqual([
      `::error::oidc-plan: '../escape' is not a folder inside the workspace (${workspace}): the plan is written only there; give a path relative to the workspace, such as oidc-plan`,
    ]);
    expect(w.gh.requests.length).toBe(before);
  });
});
