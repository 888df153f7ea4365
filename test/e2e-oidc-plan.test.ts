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
    w.gh.addRepository('octo/e2e-plan', { environments: ['prod'] });
    const workspace = mkdtempSync(join(tmpdir(), 'raak-ws-'));
    const run = await runAction({
      inputs: { 'github-token': 'test-token', 'iam-user-name': 'e2e-planned', repositories: 'octo/e2e-plan', environments: 'prod', 'oidc-plan': 'plan' },
      env: {
        AWS_ENDPOINT_URL: w.moto.endpoint,
        AWS_ACCESS_KEY_ID: w.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: w.admin.secretAccessKey,
        GITHUB_API_URL: w.gh.url,
        GITHUB_REPOSITORY: 'octo/planner',
        GITHUB_WORKSPACE: workspace,
      },
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const dir = join(workspace, 'plan');
    expect(readdirSync(dir).sort()).toEqual(['inline-user-deploy.json', 'plan.md', 'trust-policy.json']);
    expect(JSON.parse(run.outputs['oidc-plan-files']).sort()).toEqual(readdirSync(dir).sort().map((f) => join(dir, f)));
    const trust = JSON.parse(readFileSync(join(dir, 'trust-policy.json'), 'utf8'));
    expect(trust.Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub']).toBe('repo:octo/e2e-plan:environment:prod');
    expect(run.summary).toContain('Replace the access key of IAM user e2e-planned with a role');
    expect(run.summary).toContain('role/ci/e2e-planned-oidc');
    // Read-only: the user still has its one key, GitHub saw only GETs, no rotation output.
    expect((await keysOf({ moto: w.moto, gh: w.gh, admin: w.admin, stop: async () => {} }, 'e2e-planned')).map((k) => k.id)).toEqual([key.accessKeyId]);
    expect(w.gh.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(run.outputs.rotated).toBeUndefined();
  });
});
