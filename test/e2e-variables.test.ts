/**
 * End to end: access-key-id-as: variable with the built dist/index.js on Node 24, as the runner runs it, against
 * moto and the GitHub stand-in: the id goes to an Actions variable, the secret access key to a sealed secret.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { GitHubStandin } from './support/github-standin.js';
import { keysOf, repoScope } from './support/harness.js';
import { type Moto, authenticates, createUserWithKey, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import { DIST, leaks, node24, runAction } from './support/runner.js';

requireMoto();

let moto: Moto;
let gh: GitHubStandin;
let admin: { accessKeyId: string; secretAccessKey: string };

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('dist/index.js is missing: run npm run package');
  node24();
  [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
}, 200_000);
afterAll(async () => {
  await Promise.all([moto?.stop(), gh?.stop()]);
});

describe('dist/index.js on Node 24, access-key-id-as: variable', () => {
  it('self-rotates into the variable and the secret: outputs and summary name the variable, nothing leaks', async () => {
    const old = await createUserWithKey(moto, admin, 'e2e-vars');
    gh.addRepository('octo/e2e-vars');
    const scope = repoScope('octo/e2e-vars');
    gh.setVariable(scope, 'AWS_ACCESS_KEY_ID', old.accessKeyId);
    gh.setSecret(scope, 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey);

    const run = await runAction({
      inputs: { 'github-token': 'test-token', 'access-key-id-as': 'variable' },
      env: {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: old.accessKeyId,
        AWS_SECRET_ACCESS_KEY: old.secretAccessKey,
        GITHUB_API_URL: gh.url,
        GITHUB_REPOSITORY: 'octo/e2e-vars',
      },
    });

    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const id = gh.variable(scope, 'AWS_ACCESS_KEY_ID')?.value as string;
    const secret = gh.secret(scope, 'AWS_SECRET_ACCESS_KEY')?.value as string;
    expect(id).not.toBe(old.accessKeyId);
    expect(gh.secret(scope, 'AWS_ACCESS_KEY_ID')).toBeUndefined();
    expect(await authenticates(moto, { accessKeyId: id, secretAccessKey: secret })).toBe(true);
    expect(await authenticates(moto, old)).toBe(false);
    expect(await keysOf({ moto, gh, admin, stop: async () => {} }, 'e2e-vars')).toEqual([{ id, status: 'Active' }]);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'access-key-id': id,
      'previous-access-key-ids': old.accessKeyId,
      destinations: JSON.stringify([
        { kind: 'repository', repository: 'octo/e2e-vars', secrets: ['AWS_SECRET_ACCESS_KEY'], variables: ['AWS_ACCESS_KEY_ID'] },
      ]),
    });
    expect(run.summary).toContain('access key id: variable AWS_ACCESS_KEY_ID (vars.AWS_ACCESS_KEY_ID)');
    expect(run.stdout).toContain('octo/e2e-vars: variable AWS_ACCESS_KEY_ID, secret AWS_SECRET_ACCESS_KEY');
    expect(gh.writes().map((w) => `${w.method} ${w.path}`)).toEqual([
      'PATCH /repos/octo/e2e-vars/actions/variables/AWS_ACCESS_KEY_ID',
      'PUT /repos/octo/e2e-vars/actions/secrets/AWS_SECRET_ACCESS_KEY',
    ]);
    expect(run.masked).toContain(secret);
    expect(leaks(run, secret)).toEqual([]);
    expect(leaks(run, old.secretAccessKey)).toEqual([]);
  });

  it('refuses dependabot: true with access-key-id-as: variable before any request, naming both inputs', async () => {
    const before = gh.requests.length;
    const run = await runAction({
      inputs: { 'github-token': 'test-token', 'access-key-id-as': 'variable', dependabot: 'true' },
      env: { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey, GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'octo/e2e-vars' },
    });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/^::error::access-key-id-as: 'variable' cannot be used with dependabot: true: Dependabot has no variables/);
    expect(gh.requests.length).toBe(before);
  });
});
