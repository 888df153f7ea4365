/**
 * "Prove before you destroy": the worlds in which the action, tried as an adversarial tester would, destroyed working
 * keys. Each runs the built dist/index.js on Node 24 as the runner does, against moto (signatures enforced) and the
 * GitHub stand-in, and is judged by the END STATE, not by the words on the way:
 *  - every destination the run touched holds a pair that authenticates;
 *  - no key a holder still used was deleted or deactivated;
 *  - a run that exits 0 reports what IAM and the destinations hold (rotated, access-key-id, keys).
 * Numbered as in the issue. adversarial-flow.test.ts runs the same worlds in-process on the memory world.
 */
import { describe, expect, it } from '@jest/globals';
import { DeleteAccessKeyCommand, ListUserTagsCommand, TagUserCommand } from '@aws-sdk/client-iam';
import type { ChildProcess } from 'node:child_process';
import { isoSeconds } from '../src/shared/clock.js';
import { LEASE_TAG, parseLease } from '../src/rotation/lease.js';
import { TAG_PREFIX, parseRecord } from '../src/keys/records.js';
import type { AwsProxy } from './support/aws-proxy.js';
import type { GitHubStandin, Scope } from './support/github-standin.js';
import { heldPair, keysOf, repoScope, seedPair } from './support/harness.js';
import { type Creds, type Moto, addAccessKey, authenticates, createUserWithKey, iamClient, requireMoto } from './support/moto.js';
import { type ActionRun, SKEW_CLOCK, runAction } from './support/runner.js';
import { useDistWorld } from './support/world.js';

requireMoto();

const TOKEN_A = 'test-token';
const TOKEN_B = 'token-b';
const HOUR = 3_600_000;

let moto: Moto;
let gh: GitHubStandin;
let proxy: AwsProxy;
let admin: Creds;
useDistWorld((w) => ({ moto, gh, admin, proxy } = w), { tokens: [TOKEN_A, TOKEN_B] });

const world = () => ({ moto, gh, admin, stop: async () => {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the world -----------------------------------------------------------------------------------------------------

let n = 0;
interface Fixture {
  user: string;
  old: Creds;
  repos: string[];
  scopes: Scope[];
  runId: string;
}

/** A user whose one key `count` repositories hold; the first is the job's own repository. */
async function fixture(prefix: string, opts: { policy?: object; count?: number } = {}): Promise<Fixture> {
  const user = `${prefix}-${++n}`;
  const old = await createUserWithKey(moto, admin, user, opts.policy ? { policy: opts.policy } : {});
  const repos = Array.from({ length: opts.count ?? 3 }, (_, i) => `adv${n}/app${i + 1}`);
  for (const r of repos) {
    gh.addRepository(r);
    seedPair(gh, repoScope(r), old);
  }
  return { user, old, repos, scopes: repos.map(repoScope), runId: String(50_000 + n) };
}

const hold = (f: Fixture, pair: Creds) => {
  for (const s of f.scopes) seedPair(gh, s, pair);
};

function env(f: Fixture, creds: Creds, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    GITHUB_API_URL: gh.url,
    GITHUB_REPOSITORY: f.repos[0],
    GITHUB_RUN_ID: f.runId,
    GITHUB_RUN_ATTEMPT: '1',
    ...extra,
  };
}

/** Inputs of a self-rotation (the user comes from the credentials) into the fixture's repositories. */
const selfInputs = (f: Fixture, extra: Record<string, string> = {}) => ({
  'github-token': TOKEN_A,
  repositories: f.repos.join(','),
  ...extra,
});

/** Inputs of a rotator's run (admin credentials) on the fixture's user. */
const rotatorInputs = (f: Fixture, extra: Record<string, string> = {}) => ({ ...selfInputs(f, extra), 'iam-user-name': f.user });

const run = (inputs: Record<string, string>, e: Record<string, string>, more: Partial<Parameters<typeof runAction>[0]> = {}) =>
  runAction({ inputs, env: e, timeoutMs: 45_000, ...more });

/** Node arguments for a runner whose clock is `skewMs` off (positive: fast). */
const skewed = (skewMs: number) => ({ nodeArgs: ['--import', SKEW_CLOCK] as string[], skew: { RAAK_CLOCK_SKEW_MS: String(skewMs) } });

async function tagsOf(user: string): Promise<Map<string, string>> {
  const out = await iamClient(moto, admin).send(new ListUserTagsCommand({ UserName: user }));
  return new Map((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

async function tag(user: string, tags: Record<string, string>): Promise<void> {
  await iamClient(moto, admin).send(
    new TagUserCommand({ UserName: user, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
  );
}

async function deleteKey(user: string, id: string): Promise<void> {
  await iamClient(moto, admin).send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: id }));
}

/** A record in the action's format, as an earlier run (or someone imitating one) would have written it. */
const record = (fields: string) => `${TAG_PREFIX} ${fields} by=x/y/1/1`;

/** Destinations whose pair does not authenticate (or that hold no pair). */
async function deadScopes(f: Fixture): Promise<string[]> {
  const dead: string[] = [];
  for (const [i, s] of f.scopes.entries()) {
    const pair = heldPair(gh, s);
    if (!pair || !(await authenticates(moto, pair))) dead.push(f.repos[i]);
  }
  return dead;
}

/** Writes (PUT/POST/PATCH/DELETE) to the fixture's repositories since request index `from`. */
const writesTo = (f: Fixture, from: number) =>
  gh.requests
    .slice(from)
    .filter((r) => r.method !== 'GET' && f.repos.some((repo) => r.path.startsWith(`/repos/${repo}/`)));

/** GitHub requests (any) to the fixture's repositories since `from`. */
const requestsTo = (f: Fixture, from: number) =>
  gh.requests.slice(from).filter((r) => f.repos.some((repo) => r.path.startsWith(`/repos/${repo}`)));

interface KeyOut {
  id: string;
  status: string;
  fate: string;
}
const keysOutput = (r: ActionRun): KeyOut[] => JSON.parse(r.outputs.keys || '[]') as KeyOut[];

/** The key statuses IAM holds, as [id, status] sorted. */
const iamState = async (f: Fixture) => (await keysOf(world(), f.user)).map((k) => [k.id, k.status]).sort();

/**
 * A run that exits 0 reports what IAM and the destinations hold: the key it names is the key every destination holds
 * and it exists; the keys output lists exactly IAM's keys (those it calls Deleted are gone).
 */
async function expectTruthful(r: ActionRun, f: Fixture): Promise<void> {
  if (r.code !== 0) return;
  const keys = await keysOf(world(), f.user);
  const id = r.outputs['access-key-id'];
  expect(keys.map((k) => k.id)).toContain(id);
  for (const s of f.scopes) expect(heldPair(gh, s)?.accessKeyId).toBe(id);
  const reported = keysOutput(r);
  expect(reported.filter((k) => k.status !== 'Deleted').map((k) => [k.id, k.status]).sort()).toEqual(
    keys.map((k) => [k.id, k.status]).sort(),
  );
  for (const k of reported.filter((x) => x.status === 'Deleted')) expect(keys.map((x) => x.id)).not.toContain(k.id);
  if (r.outputs.rotated === 'true') expect(reported.find((k) => k.id === id)?.fate).toBe('new');
}

/** Start a run, hand its child to `onSpawn`, and return the run and a way to send it SIGINT. */
function start(inputs: Record<string, string>, e: Record<string, string>, more: Partial<Parameters<typeof runAction>[0]> = {}) {
  let child: ChildProcess | undefined;
  let sent = false;
  const interrupt = () => {
    if (sent || !child) return;
    sent = true;
    child.kill('SIGINT');
  };
  const done = run(inputs, e, { ...more, onSpawn: (c) => (child = c) });
  return { done, interrupt, sent: () => sent };
}

// ---- 1. two self-rotations that both get past the lease -----------------------------------------------------------

/** Everything but the tag actions: the lease is "warn and go on". */
const NO_TAGS_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['iam:*AccessKey*', 'iam:GetUser', 'sts:GetCallerIdentity'], Resource: '*' }],
};

/**
 * Run A; once A has created its new key (it is at its first secret write, held there), run B. A goes on when B has
 * finished, or after `holdMs` (B may be waiting for A). Both self-rotate from the same key into the same destinations.
 */
async function heldRace(f: Fixture, envA: Record<string, string>, envB: Record<string, string>, holdMs = 8_000) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let markHeld!: () => void;
  const held = new Promise<void>((r) => (markHeld = r));
  let holding = false;
  const off = gh.onRequest(async (r) => {
    const auth = gh.requests[r.index]?.headers.authorization ?? '';
    if (holding || r.method !== 'PUT' || !auth.endsWith(` ${TOKEN_A}`)) return;
    if (!f.repos.some((repo) => r.path.startsWith(`/repos/${repo}/`))) return;
    holding = true;
    markHeld();
    await gate;
  });
  try {
    const a = run(selfInputs(f), envA);
    await Promise.race([held, a]);
    const b = run({ ...selfInputs(f), 'github-token': TOKEN_B }, envB);
    const timer = setTimeout(release, holdMs);
    void b.finally(release);
    const [ra, rb] = await Promise.all([a, b]);
    clearTimeout(timer);
    return { a: ra, b: rb, aHeld: holding };
  } finally {
    release();
    off();
  }
}

/** At most one run says it rotated, and it is right; the other exits non-zero; every destination works. */
async function expectOneWinner(f: Fixture, runs: ActionRun[]): Promise<void> {
  expect(await deadScopes(f)).toEqual([]);
  const winners = runs.filter((r) => r.outputs.rotated === 'true');
  expect(winners.length).toBeLessThanOrEqual(1);
  const keys = (await keysOf(world(), f.user)).map((k) => k.id);
  for (const w of winners) {
    const id = w.outputs['access-key-id'];
    expect(keys).toContain(id);
    for (const s of f.scopes) expect(heldPair(gh, s)?.accessKeyId).toBe(id);
  }
  for (const loser of runs.filter((r) => r.outputs.rotated !== 'true')) expect(loser.code).not.toBe(0);
  for (const w of winners) await expectTruthful(w, f);
}

describe('1. two self-rotations that both get past the lease', () => {
  it('(a) no tag permissions (the lease warns and goes on): B runs while A has made its new key', async () => {
    const f = await fixture('w1-notags', { policy: NO_TAGS_POLICY });
    const { a, b, aHeld } = await heldRace(f, env(f, f.old, { GITHUB_RUN_ID: `${f.runId}1` }), env(f, f.old, { GITHUB_RUN_ID: `${f.runId}2` }));
    expect(aHeld).toBe(true);
    await expectOneWinner(f, [a, b]);
  }, 120_000);

  it('(b) two matrix jobs of one workflow run (same run id, attempt and repository): B runs while A has made its new key', async () => {
    const f = await fixture('w1-matrix');
    const { a, b, aHeld } = await heldRace(f, env(f, f.old), env(f, f.old));
    expect(aHeld).toBe(true);
    await expectOneWinner(f, [a, b]);
  }, 120_000);

  it.each([0, 300])('(b) two matrix jobs of one workflow run started %i ms apart', async (offset) => {
    const f = await fixture('w1-matrix-race');
    const a = run(selfInputs(f), env(f, f.old));
    await sleep(offset);
    const b = run({ ...selfInputs(f), 'github-token': TOKEN_B }, env(f, f.old));
    await expectOneWinner(f, await Promise.all([a, b]));
  }, 120_000);
});

// ---- 2. converge deletes a key in use -----------------------------------------------------------------------------

describe('2. a second Active key the action did not make', () => {
  it.each([
    ['retire-after-hours 24, the second key used a moment ago by a holder outside the destinations', { 'retire-after-hours': '24' }, true],
    ['the default (retire-after-hours 0)', {}, false],
  ])('%s: the self-rotation stops before any change, naming the key', async (_name, extra, used) => {
    const f = await fixture('w2-second');
    const second = await addAccessKey(moto, admin, f.user);
    hold(f, f.old);
    if (used) expect(await authenticates(moto, second)).toBe(true); // its holder, just before the run
    const before = await iamState(f);
    const from = gh.requests.length;

    const r = await run(selfInputs(f, extra), env(f, f.old));

    expect(r.code).not.toBe(0);
    expect(await iamState(f)).toEqual(before); // both keys exist, Active
    expect(before).toHaveLength(2);
    for (const s of f.scopes) expect(heldPair(gh, s)).toEqual(f.old);
    expect(writesTo(f, from)).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(second.accessKeyId);
  }, 60_000);

  it.each(['24', '0'])(
    'a pending key from staged retirement, handed over long ago and used a second ago, is not deleted (this run: retire-after-hours %s)',
    async (hours) => {
      const f = await fixture('w2-pending');
      const current = await addAccessKey(moto, admin, f.user);
      hold(f, current);
      await tag(f.user, { [f.old.accessKeyId]: record(`superseded-by=${current.accessKeyId} handover=${isoSeconds(Date.now() - 48 * HOUR)}`) });
      expect(await authenticates(moto, f.old)).toBe(true); // somebody still holds it

      const r = await run(selfInputs(f, { 'retire-after-hours': hours }), env(f, current));

      const keys = await keysOf(world(), f.user);
      expect(keys).toContainEqual({ id: f.old.accessKeyId, status: 'Active' });
      expect(await deadScopes(f)).toEqual([]);
      await expectTruthful(r, f);
    },
    60_000,
  );
});

// ---- 3. a provenance tag that lies --------------------------------------------------------------------------------

describe('3. a provenance tag that lies', () => {
  /** Destinations hold `held`; a second key exists; a tag claims `held` was superseded by it at `handover`. */
  async function lyingWorld(prefix: string, handover: string) {
    const f = await fixture(prefix);
    const other = await addAccessKey(moto, admin, f.user);
    hold(f, f.old); // after the other key exists: nothing about the destinations looks stale
    await tag(f.user, { [f.old.accessKeyId]: record(`superseded-by=${other.accessKeyId} handover=${handover}`) });
    return { f, other };
  }

  it('a handover in 1970 of the key every destination holds (never used since): the key is not deleted or deactivated', async () => {
    const { f } = await lyingWorld('w3-1970', '1970-01-01T00:00:00Z');
    const r = await run(rotatorInputs(f, { 'retire-after-hours': '24', 'max-age-days': '30' }), env(f, admin));
    const keys = await keysOf(world(), f.user);
    expect(keys).toContainEqual({ id: f.old.accessKeyId, status: 'Active' });
    expect(await deadScopes(f)).toEqual([]);
    await expectTruthful(r, f);
  }, 60_000);

  it('a handover dated 9999: the run does not block the user silently, it names the key and the inconsistent record', async () => {
    const { f } = await lyingWorld('w3-9999', '9999-01-01T00:00:00Z');
    const r = await run(rotatorInputs(f, { 'retire-after-hours': '24', 'max-age-days': '30' }), env(f, admin));
    expect(await deadScopes(f)).toEqual([]);
    expect((await keysOf(world(), f.user)).map((k) => k.id)).toContain(f.old.accessKeyId);
    const told = r.stdout.split('\n').filter((l) => /^::(error|warning)::/.test(l));
    expect(told.some((l) => l.includes(f.old.accessKeyId) && l.includes('9999-01-01'))).toBe(true);
    await expectTruthful(r, f);
  }, 60_000);
});

// ---- 4. the runner's clock ----------------------------------------------------------------------------------------

describe("4. the runner's clock", () => {
  /**
   * A rotator's earlier run (retire-after-hours 1, the real clock) handed `old` over to a new key; `old`'s holder
   * used it a moment ago. Then a run with the runner's clock `skewMs` off, which has nothing to rotate.
   */
  async function handedOverInUse(prefix: string, skewMs: number) {
    const f = await fixture(prefix);
    const first = await run(rotatorInputs(f, { 'retire-after-hours': '1' }), env(f, admin, { GITHUB_RUN_ID: `${f.runId}1` }));
    expect(first.errors).toEqual([]);
    const fresh = first.outputs['access-key-id'];
    expect(fresh).not.toBe(f.old.accessKeyId);
    expect(await authenticates(moto, f.old)).toBe(true); // the holder, one moment before the next run
    const { nodeArgs, skew } = skewed(skewMs);
    const r = await run(rotatorInputs(f, { 'retire-after-hours': '1', 'max-age-days': '30' }), env(f, admin, skew), { nodeArgs });
    return { f, fresh, r };
  }

  it('a runner two hours fast does not retire a handed-over key used a second ago', async () => {
    const { f, r } = await handedOverInUse('w4-fast', 2 * HOUR);
    expect(await keysOf(world(), f.user)).toContainEqual({ id: f.old.accessKeyId, status: 'Active' });
    expect(await deadScopes(f)).toEqual([]);
    await expectTruthful(r, f);
  }, 90_000);

  it('-2 h, 0 and +2 h give the same end state and the same fates', async () => {
    const outcomes: unknown[] = [];
    for (const skew of [-2 * HOUR, 0, 2 * HOUR]) {
      const { f, fresh, r } = await handedOverInUse(`w4-same${skew / HOUR}`, skew);
      const role = (id: string) => (id === f.old.accessKeyId ? 'old' : id === fresh ? 'fresh' : 'another');
      const keys = await keysOf(world(), f.user);
      outcomes.push({
        skew: 'any',
        code: r.code,
        rotated: r.outputs.rotated,
        keys: keys.map((k) => `${role(k.id)} ${k.status}`).sort(),
        held: f.scopes.map((s) => role(heldPair(gh, s)?.accessKeyId ?? '')),
        fates: keysOutput(r)
          .map((k) => `${role(k.id)} ${k.status} ${k.fate.replace(/ until .*$/, '')}`)
          .sort(),
      });
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[2]).toEqual(outcomes[1]);
  }, 180_000);

  it("another run's lease, written 30 minutes ago for 60 minutes, is honoured by a runner two hours fast", async () => {
    const f = await fixture('w4-lease');
    const lease = `run other/repo/7/1+0123456789abcdef0123456789abcdef until ${isoSeconds(Date.now() + 30 * 60_000)}`;
    await tag(f.user, { [LEASE_TAG]: lease });
    const before = await iamState(f);
    const from = gh.requests.length;
    const { nodeArgs, skew } = skewed(2 * HOUR);
    const s = start(selfInputs(f), env(f, f.old, skew), { nodeArgs });
    // A run that honours the lease waits (for minutes): look after a while, then cancel it as the runner would.
    const exited = await Promise.race([s.done.then(() => true), sleep(8_000).then(() => false)]);
    if (!exited) s.interrupt();
    const r = await s.done;
    expect(r.outputs.rotated).not.toBe('true');
    expect(await iamState(f)).toEqual(before);
    for (const sc of f.scopes) expect(heldPair(gh, sc)).toEqual(f.old);
    expect(writesTo(f, from)).toEqual([]);
    expect((await tagsOf(f.user)).get(LEASE_TAG)).toBe(lease);
  }, 60_000);
});

// ---- 5. a person deletes the new key during fan-out ---------------------------------------------------------------

describe('5. a person deletes the new key during fan-out', () => {
  it('self-rotation into 3 destinations: rotated=false, the destinations hold the previous pair again, nobody blames the job', async () => {
    const f = await fixture('w5-deleted');
    let deleted: string | undefined;
    const off = gh.onRequest(async (r) => {
      if (deleted || r.method !== 'PUT' || r.path !== `/repos/${f.repos[1]}/actions/secrets/AWS_ACCESS_KEY_ID`) return;
      const fresh = (await keysOf(world(), f.user)).find((k) => k.id !== f.old.accessKeyId);
      if (!fresh) return;
      deleted = fresh.id;
      await deleteKey(f.user, fresh.id);
    });
    let r: ActionRun;
    try {
      r = await run(selfInputs(f), env(f, f.old));
    } finally {
      off();
    }
    expect(deleted).toBeDefined();
    expect(r.code).not.toBe(0);
    expect(r.outputs.rotated).toBe('false');
    expect(await authenticates(moto, f.old)).toBe(true);
    for (const s of f.scopes) expect(heldPair(gh, s)).toEqual(f.old);
    const dead = await deadScopes(f);
    expect(dead).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).not.toMatch(/AWS credentials of this job/);
    for (const d of dead) expect(r.errors[0]).toContain(d);
  }, 60_000);
});

// ---- 6. cancel while making room ----------------------------------------------------------------------------------

/** The summary's row for a destination (the job summary is HTML). */
function summaryRow(summary: string, labelText: string): string {
  const row = summary.split(/<tr>/).find((r) => r.includes(`<td>${labelText}</td>`));
  if (!row) throw new Error(`the summary has no row for ${labelText}`);
  return row;
}

describe('6. cancel while making room (key-limit: delete-oldest, rotator)', () => {
  it('SIGINT right after the oldest key is deleted: the error and summary say the destinations holding it do not work, and a later run does not skip', async () => {
    const f = await fixture('w6-room');
    await addAccessKey(moto, admin, f.user); // the newer key
    hold(f, f.old); // the destinations hold the oldest key, written after the newer one was made
    const s = start(rotatorInputs(f, { 'key-limit': 'delete-oldest' }), env(f, admin));
    const off = proxy.onHandled(async (req) => {
      if (req.action !== 'DeleteAccessKey' || req.accessKeyId !== admin.accessKeyId || req.status !== 200) return;
      s.interrupt();
      await sleep(500); // the signal lands before the run hears that the delete is done
    });
    let r: ActionRun;
    try {
      r = await s.done;
    } finally {
      off();
    }
    expect(s.sent()).toBe(true);
    expect(await authenticates(moto, f.old)).toBe(false); // the world the test is about: the held key is gone
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    for (const repo of f.repos) expect(r.errors[0]).toContain(repo);
    expect(r.errors[0]).toContain(f.old.accessKeyId);
    for (const repo of f.repos) expect(summaryRow(r.summary, repo)).not.toMatch(/unchanged|written/i);

    // A scheduled run with max-age-days: the key left (the newer one) is young. It must not skip, saying all is well.
    const next = await run(rotatorInputs(f, { 'max-age-days': '30' }), env(f, admin, { GITHUB_RUN_ID: `${f.runId}2` }));
    const dead = await deadScopes(f);
    if (next.code === 0) expect(dead).toEqual([]);
    else for (const d of dead) expect(next.errors.join('\n')).toContain(d);
    expect(next.code === 0 && dead.length > 0).toBe(false);
    await expectTruthful(next, f);
  }, 90_000);
});

// ---- smaller worlds -----------------------------------------------------------------------------------------------

describe("7. IAM's 50-tags-per-user quota", () => {
  it('a user with 50 tags: the error says it is a tag quota, not that a user has at most two access keys', async () => {
    const f = await fixture('w7-quota');
    const tags: Record<string, string> = {};
    for (let i = 1; i <= 50; i++) tags[`team-${i}`] = `value ${i}`;
    await tag(f.user, tags);
    expect((await tagsOf(f.user)).size).toBe(50);
    // moto does not count tags per user; real IAM answers a TagUser that would pass 50 with LimitExceeded.
    const remove = proxy.addFault({
      action: 'TagUser',
      match: (req) => req.accessKeyId === f.old.accessKeyId,
      status: 409,
      code: 'LimitExceeded',
      message: 'Cannot exceed quota for TagsPerUser: 50',
    });
    let r: ActionRun;
    try {
      r = await run(selfInputs(f), env(f, f.old));
    } finally {
      remove();
    }
    expect(r.stdout).not.toMatch(/at most two access keys/);
    if (r.code !== 0) {
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(/tag/i);
    }
    expect(await deadScopes(f)).toEqual([]);
    await expectTruthful(r, f);
  }, 60_000);
});

describe('8. the tags a rotation leaves', () => {
  it("one record per existing key; a stale record of a deleted key is removed; others' tags are kept", async () => {
    const f = await fixture('w8-tags');
    const gone = await addAccessKey(moto, admin, f.user);
    await tag(f.user, { [gone.accessKeyId]: record('created=2026-01-01T00:00:00Z handover=2026-01-01T00:00:00Z') });
    await deleteKey(f.user, gone.accessKeyId);
    const foreign = { team: 'payments', AKIAFOREIGNNOTE00001: 'a note someone else keeps' };
    await tag(f.user, foreign);

    const r = await run(selfInputs(f), env(f, f.old));

    expect(r.errors).toEqual([]);
    const tags = await tagsOf(f.user);
    const keys = (await keysOf(world(), f.user)).map((k) => k.id);
    expect(tags.has(gone.accessKeyId)).toBe(false);
    expect(tags.has(LEASE_TAG)).toBe(false);
    for (const [k, v] of Object.entries(foreign)) expect(tags.get(k)).toBe(v);
    const records = [...tags].filter(([k, v]) => k !== LEASE_TAG && parseRecord(v) !== undefined).map(([k]) => k);
    for (const id of records) expect(keys).toContain(id);
    expect(records.length).toBeLessThanOrEqual(keys.length);
    await expectTruthful(r, f);
  }, 60_000);
});

describe('9. tag values for the longest GitHub names and a GitHub Enterprise Server host', () => {
  const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

  it('the lease and every record fit IAM (at most 256 characters, its charset) and read back whole', async () => {
    const owner = `o${'-a'.repeat(19)}`; // 39 characters
    const name = `r${'x'.repeat(94)}.-_9z`; // 100 characters
    const repo = `${owner}/${name}`;
    expect([owner.length, name.length]).toEqual([39, 100]);
    const server = `https://${'g'.repeat(60)}.${'h'.repeat(50)}.example.com`;
    const f = await fixture('w9-long', { count: 1 });
    gh.addRepository(repo);
    seedPair(gh, repoScope(repo), f.old);
    const long: Fixture = { ...f, repos: [repo], scopes: [repoScope(repo)], runId: '98765432101' };
    let lease: string | undefined;
    const off = gh.onRequest(async (r) => {
      if (lease === undefined && r.method === 'PUT' && r.path.startsWith(`/repos/${repo}/`)) lease = (await tagsOf(f.user)).get(LEASE_TAG) ?? '';
    });
    let r: ActionRun;
    try {
      r = await run(selfInputs(long, { 'retire-after-hours': '24' }), env(long, f.old, { GITHUB_SERVER_URL: server, GITHUB_RUN_ATTEMPT: '3' }));
    } finally {
      off();
    }
    expect(r.errors).toEqual([]);
    expect(lease).toBeDefined();
    const leaseValue = lease as string;
    expect(leaseValue.length).toBeLessThanOrEqual(256);
    expect(leaseValue).toMatch(IAM_TAG_VALUE);
    const parsed = parseLease(leaseValue);
    expect(parsed).toBeDefined();
    expect(parsed?.run).toContain(long.runId);
    expect(parsed?.until).toBeGreaterThan(Date.now());

    const tags = await tagsOf(f.user);
    const fresh = r.outputs['access-key-id'];
    for (const v of tags.values()) {
      expect(v.length).toBeLessThanOrEqual(256);
      expect(v).toMatch(IAM_TAG_VALUE);
    }
    const mine = parseRecord(tags.get(fresh));
    expect(mine).toMatchObject({ created: expect.any(String), handover: expect.any(String) });
    expect(mine?.by).toContain(long.runId);
    const previous = parseRecord(tags.get(f.old.accessKeyId));
    expect(previous).toMatchObject({ supersededBy: fresh, handover: expect.any(String) });
    expect(previous?.by).toContain(long.runId);
    for (const when of [mine?.created, mine?.handover, previous?.handover]) expect(Number.isNaN(Date.parse(when ?? ''))).toBe(false);
  }, 60_000);
});

describe('10. a SIGINT before any key exists starts nothing new', () => {
  it('during createMissingEnvironments: no environment is created after the signal, no key is made', async () => {
    const f = await fixture('w10-envs', { count: 1 });
    const from = gh.requests.length;
    const proxyFrom = proxy.requests.length;
    const s = start(rotatorInputs(f, { environments: 'staging,prod', 'create-environments': 'true' }), env(f, admin));
    const off = gh.onRequest(async (r) => {
      if (r.method === 'PUT' && r.path === `/repos/${f.repos[0]}/environments/staging`) {
        s.interrupt();
        await sleep(500); // held: the signal lands while this environment is being created
      }
    });
    let r: ActionRun;
    try {
      r = await s.done;
    } finally {
      off();
    }
    expect(s.sent()).toBe(true);
    expect(r.code).not.toBe(0);
    expect(gh.requests.slice(from).filter((x) => x.method === 'PUT' && x.path === `/repos/${f.repos[0]}/environments/prod`)).toEqual([]);
    expect(proxy.requests.slice(proxyFrom).filter((x) => x.action === 'CreateAccessKey')).toEqual([]);
    expect(await keysOf(world(), f.user)).toEqual([{ id: f.old.accessKeyId, status: 'Active' }]);
  }, 60_000);

  // Preflight only reads, so it overlaps the settle wait (the cost rule): reads may happen, nothing else.
  it("during the lease's settle wait: no destination is written, no key is made, the lease is given back", async () => {
    const f = await fixture('w10-settle');
    const from = gh.requests.length;
    const proxyFrom = proxy.requests.length;
    const s = start(selfInputs(f), env(f, f.old));
    const off = proxy.onRequest((req) => {
      if (req.action === 'TagUser' && req.accessKeyId === f.old.accessKeyId) setTimeout(s.interrupt, 300); // settle: 1.5 s
    });
    let r: ActionRun;
    try {
      r = await s.done;
    } finally {
      off();
    }
    expect(s.sent()).toBe(true);
    expect(r.code).not.toBe(0);
    expect(requestsTo(f, from).filter((x) => x.method !== 'GET')).toEqual([]);
    expect(proxy.requests.slice(proxyFrom).filter((x) => /^(CreateAccessKey|DeleteAccessKey|UpdateAccessKey)$/.test(x.action))).toEqual([]);
    expect(await keysOf(world(), f.user)).toEqual([{ id: f.old.accessKeyId, status: 'Active' }]);
    expect((await tagsOf(f.user)).has(LEASE_TAG)).toBe(false);
  }, 60_000);
});
