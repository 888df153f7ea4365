/**
 * Issue 8's contract, in-process against moto and the GitHub stand-in: races without a lease, the job's own holder,
 * no skip over a broken state, truthful rollback, organization visibility kept, rate limits reported as rate limits,
 * and the hardening (caller's secret masked, summary HTML-escaped).
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSummary } from '../src/action/outputs.js';
import { type Scope, forbidden, secondaryRateLimit } from './support/github-standin.js';
import { heldPair, holdsWorkingKey, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { type Creds, SELF_ROTATION_POLICY, authenticates, createUserWithKey, iamClient, requireMoto } from './support/moto.js';
import { useWorld } from './support/world.js';

requireMoto();
const world = useWorld();

/** A user whose key `count` repositories hold. */
async function fixture(prefix: string, count = 3, policy: object = SELF_ROTATION_POLICY) {
  const user = world.fresh(prefix);
  const old = await createUserWithKey(world.moto, world.admin, user, { policy });
  const repos = Array.from({ length: count }, (_, i) => `${user}/r${i}`);
  for (const r of repos) {
    world.gh.addRepository(r);
    seedPair(world.gh, repoScope(r), old);
  }
  return { user, old, repos, scopes: repos.map(repoScope) };
}

async function dead(scopes: Scope[]): Promise<number> {
  let n = 0;
  for (const s of scopes) if (!(await holdsWorkingKey(world, s))) n++;
  return n;
}

const NO_TAGS_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['iam:*AccessKey*', 'iam:GetUser', 'sts:GetCallerIdentity'], Resource: '*' }],
};

describe('two runs on one user without a lease (the caller may not tag the user): the key checks still hold', () => {
  it.each([
    ['self-rotation', 0],
    ['self-rotation', 15],
    ['rotator', 0],
    ['rotator', 15],
  ])('%s, B %i ms after A: no dead destination, at least one key, every success reports a key that exists or was retired by the other', async (mode, offset) => {
    const f = await fixture('nolease', 3, NO_TAGS_POLICY);
    const as: Creds = mode === 'rotator' ? world.admin : f.old;
    const inputs = { 'iam-user-name': f.user, repositories: f.repos.join(',') };
    const env: Record<string, string> = mode === 'rotator' ? {} : { GITHUB_REPOSITORY: f.repos[0] };
    const runA = runRotation(world, { inputs, as: mode === 'rotator' ? as : f.old, env });
    await new Promise((r) => setTimeout(r, offset));
    const runB = runRotation(world, { inputs, as, env });
    const [a, b] = await Promise.all([runA, runB]);
    if (mode === 'self-rotation') expect(a.io.warnings.join('\n')).toMatch(/could not take the lease/);
    expect(await dead(f.scopes)).toBe(0);
    const keys = await keysOf(world, f.user);
    expect(keys.length).toBeGreaterThan(0);
    const retired = [...a.result.previous, ...b.result.previous].map((p) => p.id);
    for (const { result } of [a, b]) {
      if (result.error === undefined && result.rotated) {
        expect([...keys.map((k) => k.id), ...retired]).toContain(result.accessKeyId);
      }
      expect(result.error?.message ?? '').not.toMatch(/[\r\n]/);
    }
  });
});

describe("the job's own holder (self-rotation)", () => {
  it('fails before any key exists when GITHUB_REPOSITORY is not among the destinations', async () => {
    const f = await fixture('holder', 1);
    const { result } = await runRotation(world, {
      inputs: { repositories: f.repos[0] },
      as: f.old,
      env: { GITHUB_REPOSITORY: 'octo/rotator' },
    });
    expect(result.error?.message).toMatch(
      /^self-rotation: this job authenticates with \w+ and reads it from octo\/rotator, which is not among the destinations .*Nothing was changed\.$/,
    );
    expect(await keysOf(world, f.user)).toEqual([{ id: f.old.accessKeyId, status: 'Active' }]);
    expect(world.gh.writes()).toEqual([]);
  });

  it('goes ahead with previous-key: keep, and the job keeps a working key', async () => {
    const f = await fixture('holder-keep', 1);
    const { result } = await runRotation(world, {
      inputs: { repositories: f.repos[0], 'previous-key': 'keep' },
      as: f.old,
      env: { GITHUB_REPOSITORY: 'octo/rotator' },
    });
    expect(result.error).toBeUndefined();
    expect(await authenticates(world.moto, f.old)).toBe(true);
    expect(await holdsWorkingKey(world, f.scopes[0])).toBe(true);
  });
});

describe('never hide: max-age-days does not skip a broken state', () => {
  it('destinations whose secrets predate the current key are rewritten, however young the key', async () => {
    const f = await fixture('stale', 2);
    // A person replaced the key by hand after the secrets were written: the destinations hold a dead key.
    await new Promise((r) => setTimeout(r, 1100));
    const iam = iamClient(world.moto, world.admin);
    await iam.send(new CreateAccessKeyCommand({ UserName: f.user }));
    await iam.send(new DeleteAccessKeyCommand({ UserName: f.user, AccessKeyId: f.old.accessKeyId }));
    expect(await dead(f.scopes)).toBe(2);
    const { result } = await runRotation(world, {
      inputs: { 'iam-user-name': f.user, repositories: f.repos.join(','), 'max-age-days': '30' },
      as: world.admin,
    });
    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toMatch(new RegExp(`hold secrets written before the current key \\w+ was created: ${f.repos.join(', ')}`));
    expect(await dead(f.scopes)).toBe(0);
    expect(await keysOf(world, f.user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
  });

  it('two Active keys in self-rotation, the other an orphan of an ended run: every destination gets the caller pair, the orphan goes, then a rotation', async () => {
    const f = await fixture('split', 2);
    const other = await iamClient(world.moto, world.admin).send(new CreateAccessKeyCommand({ UserName: f.user }));
    const otherId = other.AccessKey?.AccessKeyId as string;
    seedPair(world.gh, f.scopes[1], { accessKeyId: otherId, secretAccessKey: other.AccessKey?.SecretAccessKey as string });
    // An earlier run of this action made it (its record) and has ended (GitHub says so).
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await iamClient(world.moto, world.admin).send(
      new TagUserCommand({ UserName: f.user, Tags: [{ Key: otherId, Value: `rotate-aws-access-key: created=${created} by=octo/earlier/1/1` }] }),
    );
    world.gh.completeEveryRun();
    const { result } = await runRotation(world, {
      inputs: { repositories: f.repos.join(','), 'max-age-days': '30' },
      as: f.old,
      env: { GITHUB_REPOSITORY: f.repos[0] },
    });
    expect(result.error).toBeUndefined();
    expect(result.plan?.reason).toMatch(/has a second Active key/);
    expect(result.previous).toEqual([
      { id: otherId, action: 'deleted as an orphan' },
      { id: f.old.accessKeyId, action: 'deleted' },
    ]);
    const keys = await keysOf(world, f.user);
    expect(keys).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(await dead(f.scopes)).toBe(0);
  });
});

describe('rollback tells the truth', () => {
  it('a destination that held nothing is emptied again, not "restored"; the others get their pair back', async () => {
    const f = await fixture('truth', 2);
    const empty = `${f.user}/empty`;
    world.gh.addRepository(empty);
    world.gh.addFault(forbidden({ method: 'PUT', path: `/repos/${f.repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID` }));
    const { result } = await runRotation(world, {
      inputs: { repositories: [empty, ...f.repos].join(',') },
      as: f.old,
      env: { GITHUB_REPOSITORY: f.repos[0] },
    });
    expect(result.destinations.map((d) => d.outcome)).toEqual(['removed', 'restored', 'unchanged']);
    expect(world.gh.secretNames(repoScope(empty))).toEqual([]);
    expect(result.error?.message).toMatch(
      new RegExp(`Deleted the new key \\w+\\. Destinations: ${empty}: held no secrets before; what the run wrote was removed; ${f.repos[0]}: put back to ${f.old.accessKeyId}; ${f.repos[1]}: not changed \\(${f.old.accessKeyId}\\)\\.$`),
    );
    expect(await keysOf(world, f.user)).toEqual([{ id: f.old.accessKeyId, status: 'Active' }]);
    expect(await dead(f.scopes)).toBe(0);
  });
});

describe('key-limit: delete-oldest in rotator mode', () => {
  it('a failure after the oldest Active key was deleted names the destinations that may hold it as not working', async () => {
    const user = world.fresh('oldest');
    const a = await createUserWithKey(world.moto, world.admin, user);
    await new Promise((r) => setTimeout(r, 1100));
    const b = await iamClient(world.moto, world.admin).send(new CreateAccessKeyCommand({ UserName: user }));
    const bPair = { accessKeyId: b.AccessKey?.AccessKeyId as string, secretAccessKey: b.AccessKey?.SecretAccessKey as string };
    const [d1, d2] = [`${user}/one`, `${user}/two`];
    world.gh.addRepository(d1);
    world.gh.addRepository(d2);
    seedPair(world.gh, repoScope(d1), a);
    seedPair(world.gh, repoScope(d2), bPair);
    world.gh.addFault(forbidden({ method: 'PUT', path: `/repos/${d1}/actions/secrets/AWS_ACCESS_KEY_ID` }));
    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: `${d1},${d2}`, 'key-limit': 'delete-oldest' },
    });
    expect(result.previous).toEqual([{ id: a.accessKeyId, action: 'deleted to make room' }]);
    expect(result.error?.message).toMatch(
      new RegExp(
        `No destination was given the new key (\\w+)\\. Deleted the new key \\1\\. Destinations: ${d1}, ${d2}: ` +
          `may hold the deleted key ${a.accessKeyId} \\(key-limit: delete-oldest\\), which does not work until a run rewrites it\\.`,
      ),
    );
    // True: the destination that held the deleted key does not work; the other does.
    expect(await holdsWorkingKey(world, repoScope(d1))).toBe(false);
    expect(await holdsWorkingKey(world, repoScope(d2))).toBe(true);
    // Neither was given the new key; either may hold the deleted one (a rotator cannot read a secret back).
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['may be broken', a.accessKeyId],
      ['may be broken', a.accessKeyId],
    ]);
    // A rerun without the fault repairs it.
    world.gh.clearFaults();
    const rerun = await runRotation(world, { as: world.admin, inputs: { 'iam-user-name': user, repositories: `${d1},${d2}` } });
    expect(rerun.result.error).toBeUndefined();
    expect(await dead([repoScope(d1), repoScope(d2)])).toBe(0);
  });
});

describe('organization visibility', () => {
  it('an empty organization-visibility keeps an existing selected secret selected, with its repositories', async () => {
    const org = world.fresh('visorg');
    world.gh.addOrganization(org);
    world.gh.addRepository(`${org}/app`);
    world.gh.addRepository(`${org}/other`);
    const user = world.fresh('vis');
    let creds = await createUserWithKey(world.moto, world.admin, user);
    const first = await runRotation(world, {
      inputs: { organization: org, 'organization-visibility': 'selected', 'organization-selected-repositories': 'app' },
      as: creds,
      env: { GITHUB_REPOSITORY: `${org}/app` },
    });
    expect(first.result.error).toBeUndefined();
    creds = heldPair(world.gh, { kind: 'organization', org }) as Creds;
    const ids = world.gh.secret({ kind: 'organization', org }, 'AWS_ACCESS_KEY_ID')?.selectedRepositoryIds;
    const second = await runRotation(world, { inputs: { organization: org }, as: creds, env: { GITHUB_REPOSITORY: `${org}/app` } });
    expect(second.result.error).toBeUndefined();
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      expect(world.gh.secret({ kind: 'organization', org }, name)).toMatchObject({ visibility: 'selected', selectedRepositoryIds: ids });
    }
    // An explicit change is announced.
    creds = heldPair(world.gh, { kind: 'organization', org }) as Creds;
    const third = await runRotation(world, {
      inputs: { organization: org, 'organization-visibility': 'private' },
      as: creds,
      env: { GITHUB_REPOSITORY: `${org}/app` },
    });
    expect(third.io.text()).toMatch(/AWS_ACCESS_KEY_ID visibility changes from selected to private/);
  });
});

describe('rate limits', () => {
  it('a persistent rate limit is reported as a rate limit, bounded by the run budget, and every destination works', async () => {
    const f = await fixture('ratelimit', 2);
    world.gh.addFault(secondaryRateLimit({ method: 'PUT', path: `/repos/${f.repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID` }, 60));
    const { result, io } = await runRotation(world, {
      inputs: { repositories: f.repos.join(',') },
      as: f.old,
      env: { GITHUB_REPOSITORY: f.repos[0] },
      pacing: { rateLimitBudgetSeconds: 150 },
    });
    expect(result.error?.message).toMatch(/GitHub secondary rate limit, not a permission problem: the run's rate-limit budget is spent/);
    expect(result.error?.message).not.toMatch(/permission\(s\)|needs .*Secrets: write/);
    expect(io.warnings.filter((w) => /waiting 60 s/.test(w))).toHaveLength(2);
    expect(await dead(f.scopes)).toBe(0);
  });
});

describe('hardening', () => {
  it("masks the caller's session token too", async () => {
    const f = await fixture('session', 1);
    const { STSClient, GetSessionTokenCommand } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ region: 'us-east-1', endpoint: world.moto.endpoint, credentials: world.admin });
    const out = await sts.send(new GetSessionTokenCommand({}));
    const session = {
      accessKeyId: out.Credentials?.AccessKeyId as string,
      secretAccessKey: out.Credentials?.SecretAccessKey as string,
      sessionToken: out.Credentials?.SessionToken as string,
    };
    const { io } = await runRotation(world, { inputs: { 'iam-user-name': f.user, repositories: f.repos[0], 'dry-run': 'true' }, as: session });
    expect(io.secrets.slice(0, 2)).toEqual([session.secretAccessKey, session.sessionToken]);
  });

  it("masks the caller's own secret before anything else", async () => {
    const f = await fixture('mask', 1);
    const { io } = await runRotation(world, { inputs: { repositories: f.repos[0] }, as: f.old, env: { GITHUB_REPOSITORY: f.repos[0] } });
    expect(io.secrets[0]).toBe(f.old.secretAccessKey);
  });

  it('escapes every summary cell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raak-summary-'));
    const file = join(dir, 'summary');
    writeFileSync(file, '');
    const saved = process.env.GITHUB_STEP_SUMMARY;
    process.env.GITHUB_STEP_SUMMARY = file;
    try {
      const { Journal } = await import('../src/rotation/journal.js');
      const evil = '<img src=x onerror=alert(1)>';
      await writeSummary({
        userName: 'u',
        userCreated: false,
        dryRun: false,
        plan: undefined,
        rotated: false,
        accessKeyId: undefined,
        newKeyId: undefined,
        previous: [],
        destinations: [
          { destination: { kind: 'environment', owner: 'o', repo: 'r', environment: evil }, label: `o/r environment '${evil}'`, outcome: 'unchanged', keyId: undefined },
        ],
        error: undefined,
        cancelled: false,
        steps: [],
        journal: new Journal(1),
      });
      const html = readFileSync(file, 'utf8');
      expect(html).not.toContain('<img');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    } finally {
      process.env.GITHUB_STEP_SUMMARY = saved;
    }
  });
});
