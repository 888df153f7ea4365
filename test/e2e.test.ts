/**
 * End to end: the built dist/index.js on Node 24, as the runner runs it, against moto (signatures enforced) and the
 * GitHub stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { GitHubStandin } from './support/github-standin.js';
import { heldPair, keysOf, repoScope, seedPair } from './support/harness.js';
import { ListUserTagsCommand } from '@aws-sdk/client-iam';
import { type Moto, authenticates, createUserWithKey, iamClient, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import { DIST, leaks, node24, runAction } from './support/runner.js';

requireMoto();

let moto: Moto;
let gh: GitHubStandin;
let admin: { accessKeyId: string; secretAccessKey: string };
let world: { moto: Moto; gh: GitHubStandin; admin: typeof admin; stop(): Promise<void> };

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('dist/index.js is missing: run npm run package');
  node24();
  [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
  world = { moto, gh, admin, stop: async () => {} };
}, 200_000);
afterAll(async () => {
  await Promise.all([moto?.stop(), gh?.stop()]);
});

/** The user's tags (the lease is one, while a run holds it). */
async function tagsOf(user: string): Promise<Record<string, string>> {
  const out = await iamClient(moto, admin).send(new ListUserTagsCommand({ UserName: user }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

const awsEnv = (c: { accessKeyId: string; secretAccessKey: string }) => ({
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: c.accessKeyId,
  AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
});

describe('dist/index.js on Node 24', () => {
  it('self-rotates the workflow repository: outputs, summary, mask, and nothing leaks', async () => {
    const old = await createUserWithKey(moto, admin, 'e2e-self', { path: '/ci/deployers/' });
    gh.addRepository('octo/e2e-self');
    seedPair(gh, repoScope('octo/e2e-self'), old);

    const run = await runAction({
      inputs: { 'github-token': 'test-token' },
      env: { ...awsEnv(old), GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'octo/e2e-self' },
    });

    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const held = heldPair(gh, repoScope('octo/e2e-self'));
    if (!held) throw new Error('no secrets written');
    expect(await authenticates(moto, held)).toBe(true);
    expect(await authenticates(moto, old)).toBe(false);
    expect(run.outputs).toEqual({
      rotated: 'true',
      'access-key-id': held.accessKeyId,
      'previous-access-key-ids': old.accessKeyId,
      destinations: JSON.stringify([
        { kind: 'repository', repository: 'octo/e2e-self', secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
      ]),
      keys: expect.any(String),
    });
    // keys: the new key (described by its tag, with its last use) and the deleted one.
    expect(JSON.parse(run.outputs.keys)).toEqual([
      {
        id: held.accessKeyId,
        status: 'Active',
        created: expect.stringMatching(/Z$/),
        lastUsed: { date: expect.any(String), service: 'iam', region: 'us-east-1' },
        description: expect.stringMatching(/^rotate-aws-access-key: created=\S+ handover=\S+ written=\S+ by=local$/),
        fate: 'new',
      },
      {
        id: old.accessKeyId,
        status: 'Deleted',
        created: expect.any(String),
        lastUsed: expect.objectContaining({ service: expect.any(String) }),
        description: null,
        fate: 'deleted',
      },
    ]);
    expect(run.summary).toContain('Access keys (2)');
    expect(run.masked).toContain(held.secretAccessKey);
    expect(run.masked).toContain('test-token');
    // The job's own secret is masked at the start, before any AWS or GitHub request.
    expect(run.masked).toContain(old.secretAccessKey);
    expect(run.stdout.indexOf(`::add-mask::${old.secretAccessKey}`)).toBeLessThan(
      run.stdout.indexOf('IAM user from the AWS credentials: e2e-self'),
    );
    expect(run.stdout.indexOf(`::add-mask::${held.secretAccessKey}`)).toBeLessThan(run.stdout.indexOf(held.accessKeyId));
    expect(leaks(run, held.secretAccessKey)).toEqual([]);
    expect(leaks(run, old.secretAccessKey)).toEqual([]);
    expect(run.summary).toContain('e2e-self');
    expect(run.summary).toContain(held.accessKeyId);
    expect(run.summary).toContain(`${old.accessKeyId}: deleted`);
    expect(run.stdout).toContain('::group::Write secrets (1 destinations)');
    // The lease was taken and given back (with the new key, the old one being gone): no warning, no tag left.
    expect(run.stdout).toMatch(/Leased IAM user e2e-self for this run until /);
    expect(run.stdout).not.toContain('::warning::');
    // The lease is gone; what stays is the new key's description.
    expect(await tagsOf('e2e-self')).toEqual({
      [held.accessKeyId]: expect.stringMatching(/^rotate-aws-access-key: created=\S+ handover=\S+ written=\S+ by=local$/),
    });
  });

  it('rejects a bad input with one ::error:: line before any network call', async () => {
    gh.reset();
    const run = await runAction({
      inputs: { 'github-token': 'test-token', repositories: 'octo/ok,not-a-repo' },
      // Point AWS at the stand-in too: it records any request that reaches it.
      env: { AWS_ENDPOINT_URL: gh.url, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x', GITHUB_API_URL: gh.url },
    });
    expect(run.code).toBe(1);
    expect(run.errors).toEqual(["::error::repositories: 'not-a-repo' is not owner/name"]);
    expect(run.masked).toEqual(['test-token']); // masked before validation
    expect(gh.requests).toEqual([]);
  });

  it('refuses an unknown input (INPUT_DRYRUN, a misspelled dry-run) with one ::error:: line before any request', async () => {
    gh.reset();
    const run = await runAction({
      inputs: { 'github-token': 'test-token', repositories: 'octo/e2e-unknown' },
      // AWS goes to the stand-in too: it records any request that reaches it.
      env: { INPUT_DRYRUN: 'true', AWS_ENDPOINT_URL: gh.url, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x', GITHUB_API_URL: gh.url },
    });
    expect(run.code).toBe(1);
    expect(run.errors).toEqual([
      "::error::dryrun: is not an input of this action (INPUT_DRYRUN, from the step's with: or env:): did you mean dry-run?",
    ]);
    expect(run.masked).toEqual(['test-token']);
    expect(gh.requests).toEqual([]);
  });

  it('fails a preflight error with exactly one ::error:: line and changes nothing', async () => {
    const old = await createUserWithKey(moto, admin, 'e2e-pre');
    const run = await runAction({
      inputs: { 'github-token': 'test-token', repositories: 'octo/does-not-exist' },
      env: { ...awsEnv(old), GITHUB_API_URL: gh.url },
    });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/^::error::reading the public key of octo\/does-not-exist: repository octo\/does-not-exist not found/);
    expect(run.outputs.rotated).toBe('false');
    expect(await keysOf(world, 'e2e-pre')).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(await tagsOf('e2e-pre')).toEqual({}); // the lease taken before preflight was given back
    expect(run.summary).toMatch(/failed/);
  });

  it("self-rotation refuses to leave the job's own repository with a dead key: one ::error:: line, nothing changed", async () => {
    const old = await createUserWithKey(moto, admin, 'e2e-holder');
    gh.addRepository('octo/e2e-target');
    const run = await runAction({
      inputs: { 'github-token': 'test-token', repositories: 'octo/e2e-target' },
      env: { ...awsEnv(old), GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'octo/e2e-home' },
    });
    expect(run.code).toBe(1);
    expect(run.errors).toEqual([
      `::error::self-rotation: this job authenticates with ${old.accessKeyId} and reads it from octo/e2e-home, which is ` +
        'not among the destinations (no repository, environment or organization secret this run writes reaches it): after ' +
        `the run, deleting ${old.accessKeyId} would leave this job with a dead key. Add octo/e2e-home (or the environment ` +
        'this job uses) to the destinations, or set previous-key: keep. Nothing was changed.',
    ]);
    expect(run.outputs.rotated).toBe('false');
    expect(await keysOf(world, 'e2e-holder')).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(gh.secretNames(repoScope('octo/e2e-target'))).toEqual([]);
  });

  it('works against GitHub Enterprise Server (GITHUB_API_URL …/api/v3) in dry-run', async () => {
    const ghes = await GitHubStandin.start({ basePath: '/api/v3' });
    try {
      ghes.addRepository('corp/app');
      const old = await createUserWithKey(moto, admin, 'e2e-ghes');
      const run = await runAction({
        inputs: { 'github-token': 'test-token', repositories: 'corp/app', 'dry-run': 'true' },
        env: { ...awsEnv(old), GITHUB_API_URL: ghes.url },
      });
      expect(run.errors).toEqual([]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Dry run: would create a new access key for e2e-ghes/);
      expect(run.outputs['access-key-id']).toBe(old.accessKeyId);
      expect(run.outputs.rotated).toBe('false');
      // Preflight reads the public key and which secrets the repository holds; a dry run writes nothing.
      expect(ghes.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /repos/corp/app/actions/secrets/public-key',
        'GET /repos/corp/app/actions/secrets',
      ]);
      expect(await tagsOf('e2e-ghes')).toEqual({}); // a dry run never takes the lease
      expect(run.summary).toMatch(/would write/);
      // corp/app holds neither secret: the summary does not say it holds the current key.
      expect(run.summary).not.toContain('Key the destinations hold');
      expect(run.summary).toContain('Destinations holding no key this run knows of');
    } finally {
      await ghes.stop();
    }
  });
});
