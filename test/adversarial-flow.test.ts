/**
 * "Prove before you destroy", in-process: the worlds of adversarial-worlds.test.ts (numbered as in the issue) on the
 * memory world, where IAM's clock and the runner's can differ (runnerSkewMs) and every step can be interleaved
 * exactly. Judged by the end state:
 *  - every destination the run touched holds a pair whose key exists and is Active;
 *  - no key a holder still used was deleted or deactivated;
 *  - a run that ends without an error reports what IAM and the destinations hold.
 * Runs use `signedUse`: as in IAM, signing with a key is its last use, and a deleted key signs nothing.
 */
import { describe, expect, it } from '@jest/globals';
import type { Credentials } from '../src/aws/aws.js';
import { Cancellation } from '../src/shared/cancel.js';
import { LEASE_TAG, parseLease } from '../src/rotation/lease.js';
import { TAG_PREFIX, parseRecord } from '../src/keys/records.js';
import { summaryModel } from '../src/action/outputs.js';
import type { RotationResult } from '../src/rotation/rotate.js';
import { type MemoryIam, awsFailure } from './support/memory-iam.js';
import { type MemoryGitHub, type MemoryRun, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const OLD = 'AKIAOLD0000000000001';
const OTHER = 'AKIAOTHER00000000002';
const REPOS = ['octo/api', 'octo/web', 'octo/ops'];
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '1' };
const HOUR = 3_600_000;
/** The memory IAM's time when a run starts. */
const IAM_NOW = Date.parse('2026-11-27T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function setup(repos = REPOS) {
  return { iam: memoryIam(), github: await memoryGitHub(repos) };
}

type Opts = Parameters<typeof memoryRotation>[2];
/** A self-rotation with `as` into `repos` (the job's repository first). */
const self = (iam: MemoryIam, github: MemoryGitHub, as: Credentials, extra: Record<string, string> = {}, more: Partial<Opts> = {}, repos = REPOS) =>
  memoryRotation(iam, github, { as, inputs: { repositories: repos.join(','), ...extra }, env: ENV, signedUse: true, ...more });
/** A rotator's run on deployer into `repos`. */
const rotator = (iam: MemoryIam, github: MemoryGitHub, extra: Record<string, string> = {}, more: Partial<Opts> = {}, repos = REPOS) =>
  memoryRotation(iam, github, {
    as: ADMIN,
    inputs: { 'iam-user-name': 'deployer', repositories: repos.join(','), ...extra },
    env: ENV,
    signedUse: true,
    ...more,
  });

/** A key a holder used `agoMs` before the run (IAM's time). */
const usedAgo = (iam: MemoryIam, id: string, agoMs: number) => {
  const k = iam.keys.get(id);
  if (!k) throw new Error(`no key ${id}`);
  k.lastUsed = { date: new Date(IAM_NOW - agoMs).toISOString(), service: 's3', region: 'eu-west-1' };
};

const record = (fields: string) => `${TAG_PREFIX} ${fields} by=x/y/1/1`;

/** Destinations whose pair names no key that exists and is Active. */
const dead = (iam: MemoryIam, github: MemoryGitHub, repos = REPOS) =>
  repos.filter((r) => {
    const id = github.pair(r)?.accessKeyId;
    return id === undefined || iam.keys.get(id)?.status !== 'Active';
  });

const keyState = (iam: MemoryIam) => [...iam.keys.values()].map((k) => [k.id, k.status]).sort();
const writes = (github: MemoryGitHub, from = 0) => github.routes.slice(from).filter((r) => !r.startsWith('GET'));
/** What a run said, in the words a user reads: the error and the warnings. */
const told = (run: MemoryRun) => [...run.io.warnings, run.result.error?.message ?? ''];

/** A run that ends without an error reports what IAM and the destinations hold. */
function expectTruthful(iam: MemoryIam, github: MemoryGitHub, result: RotationResult, repos = REPOS): void {
  if (result.error) return;
  const id = result.accessKeyId as string;
  expect(iam.keys.has(id)).toBe(true);
  for (const r of repos) expect(github.pair(r)?.accessKeyId).toBe(id);
  const reported = result.keys ?? [];
  expect(reported.filter((k) => k.status !== 'Deleted').map((k) => [k.id, k.status]).sort()).toEqual(keyState(iam));
  for (const k of reported.filter((x) => x.status === 'Deleted')) expect(iam.keys.has(k.id)).toBe(false);
  if (result.rotated) expect(reported.find((k) => k.id === id)?.fate).toBe('new');
}

// ---- 1. two self-rotations that both get past the lease -----------------------------------------------------------

/**
 * Run A; when A is at its first secret write (its new key exists), run B to its end, then let A go on. Each run
 * talks to the same IAM and the same destinations, through its own view of GitHub (to tell their requests apart).
 */
async function heldRace(iam: MemoryIam, github: MemoryGitHub, old: Credentials, envA: Record<string, string>, envB: Record<string, string>) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let atWrite!: () => void;
  const held = new Promise<void>((r) => (atWrite = r));
  let holding = false;
  const view = (hold: boolean): MemoryGitHub => ({
    ...github,
    gh: {
      ...github.gh,
      request: async (route, params) => {
        if (hold && !holding && route.startsWith('PUT ')) {
          holding = true;
          atWrite();
          await gate;
        }
        return github.gh.request(route, params);
      },
    },
  });
  const a = memoryRotation(iam, view(true), { as: old, inputs: { repositories: REPOS.join(',') }, env: envA, signedUse: true });
  await Promise.race([held, a]);
  const b = await memoryRotation(iam, view(false), { as: old, inputs: { repositories: REPOS.join(',') }, env: envB, signedUse: true }).finally(release);
  return { a: await a, b, held: holding };
}

function expectOneWinner(iam: MemoryIam, github: MemoryGitHub, runs: MemoryRun[]): void {
  expect(dead(iam, github)).toEqual([]);
  const winners = runs.filter((r) => r.result.rotated);
  expect(winners.length).toBeLessThanOrEqual(1);
  for (const w of winners) {
    const id = w.result.accessKeyId as string;
    expect(iam.keys.get(id)?.status).toBe('Active');
    for (const r of REPOS) expect(github.pair(r)?.accessKeyId).toBe(id);
  }
  for (const loser of runs.filter((r) => !r.result.rotated)) expect(loser.result.error).toBeDefined();
  for (const w of winners) expectTruthful(iam, github, w.result);
}

describe('1. two self-rotations that both get past the lease', () => {
  it('(a) the job may not tag the user (the lease warns and goes on): B runs while A has made its new key', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    iam.before((command) => {
      if (/^(ListUserTags|TagUser|UntagUser)$/.test(command)) throw awsFailure('AccessDenied', 403);
    });
    const { a, b, held } = await heldRace(iam, github, old, { ...ENV, GITHUB_RUN_ID: '1' }, { ...ENV, GITHUB_RUN_ID: '2' });
    expect(held).toBe(true);
    expectOneWinner(iam, github, [a, b]);
  });

  it('(b) two matrix jobs of one workflow run (same run id, attempt and repository): B runs while A has made its new key', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    const { a, b, held } = await heldRace(iam, github, old, ENV, ENV);
    expect(held).toBe(true);
    expectOneWinner(iam, github, [a, b]);
  });
});

// ---- 2. converge deletes a key in use -----------------------------------------------------------------------------

describe('2. a second Active key the action did not make', () => {
  it.each([
    ['retire-after-hours 24, the second key used a second ago by a holder outside the destinations', { 'retire-after-hours': '24' }, true],
    ['the default (retire-after-hours 0), the second key never used', {}, false],
  ])('%s: the self-rotation stops before any change, naming the key', async (_name, extra, used) => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    userKey(iam, OTHER, 50);
    if (used) usedAgo(iam, OTHER, 1000);
    github.hold(old, ...REPOS);
    const before = keyState(iam);

    const { result } = await self(iam, github, old, extra);

    expect(result.error?.message).toContain(OTHER);
    expect(keyState(iam)).toEqual(before);
    expect(writes(github)).toEqual([]);
    for (const r of REPOS) expect(github.pair(r)).toEqual(old);
  });

  it.each(['24', '0'])(
    'a key an earlier run handed over, used a second ago, is not deleted or deactivated (this run: retire-after-hours %s)',
    async (hours) => {
      const { iam, github } = await setup();
      userKey(iam, OLD, 200);
      const current = userKey(iam, OTHER, 100);
      iam.tags.set(OLD, record(`superseded-by=${OTHER} handover=2026-11-25T12:00:00Z`));
      usedAgo(iam, OLD, 1000);
      github.hold(current, ...REPOS);

      const { result } = await self(iam, github, current, { 'retire-after-hours': hours });

      expect(iam.keys.get(OLD)?.status).toBe('Active');
      expect(dead(iam, github)).toEqual([]);
      expectTruthful(iam, github, result);
    },
  );
});

// ---- 3. a provenance tag that lies --------------------------------------------------------------------------------

describe('3. a provenance tag that lies', () => {
  async function lyingWorld(handover: string) {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD, 100);
    userKey(iam, OTHER, 1);
    github.hold(old, ...REPOS);
    iam.tags.set(OLD, record(`superseded-by=${OTHER} handover=${handover}`));
    return { iam, github, old };
  }

  it('a handover in 1970 of the key every destination holds (never used): it is not deleted or deactivated', async () => {
    const { iam, github } = await lyingWorld('1970-01-01T00:00:00Z');
    const { result } = await rotator(iam, github, { 'retire-after-hours': '24', 'max-age-days': '30' });
    expect(iam.keys.get(OLD)?.status).toBe('Active');
    expect(dead(iam, github)).toEqual([]);
    expectTruthful(iam, github, result);
  });

  it("a creation record that is not the key's (its time is not IAM's CreateDate): a hand-made key is not taken for an orphan", async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD, 100);
    userKey(iam, OTHER, 1); // made by hand a day ago, never used yet
    github.hold(old, ...REPOS);
    iam.tags.set(OTHER, record('created=2026-08-01T00:00:00Z'));
    const run = await self(iam, github, old);
    expect(iam.keys.get(OTHER)?.status).toBe('Active');
    expect(iam.keys.get(OLD)?.status).toBe('Active');
    expect(run.result.error?.message).toContain(`its record says it was created 2026-08-01T00:00:00Z, but IAM says`);
    expect(run.result.error?.message).toMatch(/Nothing was changed\.$/);
    expect(dead(iam, github)).toEqual([]);
    expectTruthful(iam, github, run.result);
  });

  it('a handover dated 9999: the run names the key and the inconsistent record instead of blocking the user silently', async () => {
    const { iam, github } = await lyingWorld('9999-01-01T00:00:00Z');
    const run = await rotator(iam, github, { 'retire-after-hours': '24', 'max-age-days': '30' });
    expect(iam.keys.has(OLD)).toBe(true);
    expect(dead(iam, github)).toEqual([]);
    expect(told(run).some((m) => m.includes(OLD) && m.includes('9999-01-01'))).toBe(true);
    expectTruthful(iam, github, run.result);
  });
});

// ---- 4. the runner's clock ----------------------------------------------------------------------------------------

describe("4. the runner's clock", () => {
  /** OLD handed over to OTHER 90 minutes ago (IAM's time), used a second ago; the destinations hold OTHER. */
  async function handedOverInUse() {
    const { iam, github } = await setup();
    userKey(iam, OLD, 200);
    const current = userKey(iam, OTHER, 2);
    iam.tags.set(OLD, record(`superseded-by=${OTHER} handover=${iso(IAM_NOW - 1.5 * HOUR)}`));
    usedAgo(iam, OLD, 1000);
    github.hold(current, ...REPOS);
    return { iam, github };
  }
  const settle = { 'retire-after-hours': '1', 'max-age-days': '30' };

  it('a runner two hours fast does not retire a handed-over key used a second ago', async () => {
    const { iam, github } = await handedOverInUse();
    const { result } = await rotator(iam, github, settle, { runnerSkewMs: 2 * HOUR });
    expect(iam.keys.get(OLD)?.status).toBe('Active');
    expect(dead(iam, github)).toEqual([]);
    expectTruthful(iam, github, result);
  });

  it('-2 h, 0 and +2 h: the same end state and the same fates in the keys output', async () => {
    const outcomes: unknown[] = [];
    for (const skew of [-2 * HOUR, 0, 2 * HOUR]) {
      const { iam, github } = await handedOverInUse();
      const { result } = await rotator(iam, github, settle, { runnerSkewMs: skew });
      outcomes.push({
        error: result.error !== undefined,
        rotated: result.rotated,
        keys: keyState(iam),
        held: REPOS.map((r) => github.pair(r)?.accessKeyId),
        fates: (result.keys ?? []).map((k) => [k.id, k.status, k.fate]).sort(),
      });
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[2]).toEqual(outcomes[1]);
  });

  it("another run's lease, written 30 minutes ago for 60 minutes, is honoured by a runner two hours fast", async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    const lease = `run octo/other/7/1+0123456789abcdef0123456789abcdef until ${iso(IAM_NOW + 30 * 60_000)}`;
    iam.tags.set(LEASE_TAG, lease);
    const { result } = await self(iam, github, old, {}, { runnerSkewMs: 2 * HOUR });
    expect(result.error).toBeDefined();
    expect(result.rotated).toBe(false);
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(keyState(iam)).toEqual([[OLD, 'Active']]);
    expect(writes(github)).toEqual([]);
    expect(iam.tags.get(LEASE_TAG)).toBe(lease);
  });
});

// ---- 5. a person deletes the new key during fan-out ---------------------------------------------------------------

describe('5. a person deletes the new key during fan-out', () => {
  it('self-rotation into 3 destinations: not rotated, each destination holds the previous pair again, the job is not blamed', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    let deleted: string | undefined;
    github.before((method, path) => {
      if (deleted || method !== 'PUT' || path !== '/repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID') return;
      deleted = [...iam.keys.keys()].find((id) => id !== OLD);
      if (deleted) iam.keys.delete(deleted);
    });

    const { result } = await self(iam, github, old);

    expect(deleted).toBeDefined();
    expect(result.rotated).toBe(false);
    expect(result.error).toBeDefined();
    expect(result.error?.message).not.toMatch(/AWS credentials of this job/);
    expect(iam.keys.get(OLD)?.status).toBe('Active');
    for (const r of REPOS) expect(github.pair(r)).toEqual(old);
    for (const d of dead(iam, github)) expect(result.error?.message).toContain(d);
  });
});

// ---- 6. cancel while making room ----------------------------------------------------------------------------------

describe('6. cancel while making room (key-limit: delete-oldest, rotator)', () => {
  it('a cancel as the oldest key is deleted: the error and summary say its holders do not work; a later run does not skip', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD, 100);
    userKey(iam, OTHER, 10);
    github.hold(old, ...REPOS);
    const cancel = new Cancellation();
    iam.before((command, _n, input) => {
      if (command === 'DeleteAccessKey' && input.AccessKeyId === OLD) cancel.cancel('SIGINT');
    });

    const { result } = await rotator(iam, github, { 'key-limit': 'delete-oldest' }, { cancel });

    expect(iam.keys.has(OLD)).toBe(false); // the world the test is about: the key the destinations hold is gone
    expect(result.cancelled).toBe(true);
    for (const r of REPOS) expect(result.error?.message).toContain(r);
    expect(result.error?.message).toContain(OLD);
    for (const [label, , outcome] of summaryModel(result).rows) {
      expect(REPOS).toContain(label);
      expect(outcome).not.toMatch(/unchanged|written/i);
    }

    iam.before(() => {});
    const next = await rotator(iam, github, { 'max-age-days': '30' });
    const broken = dead(iam, github);
    if (next.result.error === undefined) expect(broken).toEqual([]);
    for (const d of broken) expect(next.result.error?.message).toContain(d);
    expectTruthful(iam, github, next.result);
  });
});

// ---- smaller worlds -----------------------------------------------------------------------------------------------

describe("7. IAM's 50-tags-per-user quota", () => {
  it('a user with 50 tags: what the run says is a tag quota, not that a user has at most two access keys', async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    for (let i = 1; i <= 50; i++) iam.tags.set(`team-${i}`, `value ${i}`);
    iam.before((command, _n, input) => {
      if (command !== 'TagUser') return;
      const added = (input.Tags as { Key: string }[]).filter((t) => !iam.tags.has(t.Key)).length;
      if (iam.tags.size + added > 50) {
        throw Object.assign(awsFailure('LimitExceeded', 409), { message: 'Cannot exceed quota for TagsPerUser: 50' });
      }
    });
    const run = await self(iam, github, old);
    for (const m of told(run)) expect(m).not.toMatch(/at most two access keys/);
    if (run.result.error) expect(run.result.error.message).toMatch(/tag/i);
    expect(dead(iam, github)).toEqual([]);
    expectTruthful(iam, github, run.result);
  });
});

describe('8. the tags a rotation leaves', () => {
  it("one record per existing key; a stale record of a deleted key is removed; others' tags are kept", async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    const gone = 'AKIAGONE000000000003';
    iam.tags.set(gone, record('created=2026-01-01T00:00:00Z handover=2026-01-01T00:00:00Z'));
    const foreign = { team: 'payments', AKIAFOREIGNNOTE00001: 'a note someone else keeps' };
    for (const [k, v] of Object.entries(foreign)) iam.tags.set(k, v);

    const { result } = await self(iam, github, old);

    expect(result.error).toBeUndefined();
    expect(iam.tags.has(gone)).toBe(false);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
    for (const [k, v] of Object.entries(foreign)) expect(iam.tags.get(k)).toBe(v);
    const records = [...iam.tags].filter(([, v]) => parseRecord(v) !== undefined).map(([k]) => k);
    for (const id of records) expect(iam.keys.has(id)).toBe(true);
    expect(records.length).toBeLessThanOrEqual(iam.keys.size);
  });
});

describe('9. tag values for the longest GitHub names and a GitHub Enterprise Server host', () => {
  const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

  it('the lease and every record fit IAM (at most 256 characters, its charset) and read back whole', async () => {
    const repo = `o${'-a'.repeat(19)}/r${'x'.repeat(94)}.-_9z`; // owner 39, name 100 characters
    const { iam, github } = await setup([repo]);
    const old = userKey(iam, OLD);
    github.hold(old, repo);
    let lease: string | undefined;
    github.before((method) => {
      if (method === 'PUT' && lease === undefined) lease = iam.tags.get(LEASE_TAG) ?? '';
    });
    const runId = '98765432101';
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: repo, 'retire-after-hours': '24' },
      env: {
        GITHUB_REPOSITORY: repo,
        GITHUB_RUN_ID: runId,
        GITHUB_RUN_ATTEMPT: '3',
        GITHUB_SERVER_URL: `https://${'g'.repeat(60)}.${'h'.repeat(50)}.example.com`,
      },
      signedUse: true,
    });
    expect(result.error).toBeUndefined();
    const value = lease ?? '';
    expect(value.length).toBeLessThanOrEqual(256);
    expect(value).toMatch(IAM_TAG_VALUE);
    const parsed = parseLease(value);
    expect(parsed?.run).toContain(runId);
    expect(parsed?.until).toBeGreaterThan(IAM_NOW);
    for (const v of iam.tags.values()) {
      expect(v.length).toBeLessThanOrEqual(256);
      expect(v).toMatch(IAM_TAG_VALUE);
    }
    const fresh = result.newKeyId as string;
    const mine = parseRecord(iam.tags.get(fresh));
    expect(mine).toMatchObject({ created: expect.any(String), handover: expect.any(String) });
    expect(mine?.by).toContain(runId);
    const previous = parseRecord(iam.tags.get(OLD));
    expect(previous).toMatchObject({ supersededBy: fresh, handover: expect.any(String) });
    expect(previous?.by).toContain(runId);
  });
});

describe('10. a cancel before any key exists starts nothing new', () => {
  it('during createMissingEnvironments: no environment is created after the cancel, no key is made', async () => {
    const { iam, github } = await setup(['octo/api']);
    userKey(iam, OLD);
    const cancel = new Cancellation();
    github.before((method, path) => {
      if (method === 'PUT' && path === '/repos/octo/api/environments/staging') cancel.cancel('SIGINT');
    });
    const { result } = await rotator(iam, github, { environments: 'staging,prod', 'create-environments': 'true' }, { cancel }, ['octo/api']);
    expect(result.cancelled).toBe(true);
    expect(github.routes).not.toContain('PUT /repos/octo/api/environments/prod');
    expect(iam.calls).not.toContain('CreateAccessKey');
    expect(keyState(iam)).toEqual([[OLD, 'Active']]);
  });

  it("while the lease is taken (its settle wait): no destination is read or written, no key is made, the lease is given back", async () => {
    const { iam, github } = await setup();
    const old = userKey(iam, OLD);
    github.hold(old, ...REPOS);
    const cancel = new Cancellation();
    iam.before((command, _n, input) => {
      if (command === 'TagUser' && (input.Tags as { Key: string }[]).some((t) => t.Key === LEASE_TAG)) cancel.cancel('SIGINT');
    });
    const { result } = await self(iam, github, old, {}, { cancel });
    expect(result.cancelled).toBe(true);
    expect(github.routes).toEqual([]);
    expect(iam.calls.filter((c) => /^(CreateAccessKey|DeleteAccessKey|UpdateAccessKey)$/.test(c))).toEqual([]);
    expect(keyState(iam)).toEqual([[OLD, 'Active']]);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });
});
