/**
 * The action's own tags on the user (src/keys/records.ts): the records it writes and reads back field by field;
 * pruneRecords removes the records of keys the user no longer has, so the action keeps few tags (the lease, the
 * markers, one record per access key), and never touches a tag it did not write; the markers; every value fits IAM.
 * In-process against the in-memory IAM.
 */
import { describe, expect, it } from '@jest/globals';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { runIdentity } from '../src/config/context.js';
import type { RotateContext } from '../src/rotation/run-state.js';
import { LEASE_TAG, leaseValue, parseLease } from '../src/rotation/lease.js';
import {
  CREATE_TAG,
  type KeyRecord,
  PRUNE_AFTER_MS,
  REWRITE_TAG,
  forgetRecord,
  formatRecord,
  keyTags,
  lastUses,
  parseCreateMarker,
  parseRecord,
  parseRewrite,
  pruneRecords,
  runLabel,
  shortLabel,
  userRecords,
} from '../src/keys/records.js';
import { fakeClock, recorder } from './support/harness.js';
import { awsFailure, memoryIam } from './support/memory-iam.js';
import { memoryClients } from './support/memory-world.js';

const START = Date.parse('2026-11-27T12:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const CUR = 'AKIACUR0000000000001';
const OLD = 'AKIAOLD0000000000009';
const H = 3_600_000;
const PREFIX = 'rotate-aws-access-key:';
const at = (offsetMs: number) => iso(START + offsetMs);
const NEW = 'AKIANEW0000000000002';
const GONE = 'AKIAGONE000000000003';
const GONE2 = 'AKIAGONE000000000004';
const record = (fields: string) => `rotate-aws-access-key: ${fields} by=octo/rotator/41/1`;

/** The user's tags in a memory IAM whose time is START; the runner's clock is `runnerSkewMs` ahead of it. */
function world(tags: Record<string, string>, runnerSkewMs = 0) {
  const mem = memoryIam({ tags });
  const clock = fakeClock(START + runnerSkewMs);
  const as = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin' };
  const { aws } = memoryClients(mem, { as, clock, iamSkewMs: -runnerSkewMs });
  const io = recorder();
  const ctx = { aws, clock, io } as unknown as RotateContext;
  return { ...mem, ctx, io };
}

/** The caller has listed the keys: IAM has answered, so its time is known. */
const iamAnswered = (w: ReturnType<typeof world>) => w.ctx.aws.iam.send(new ListAccessKeysCommand({ UserName: 'deployer' }));

/** The key id → value map keyTags gives (tags whose key is an access key id). */
const keyMap = (w: ReturnType<typeof world>) => new Map([...w.tags].filter(([k]) => /^AKIA/.test(k)));

describe('pruneRecords', () => {
  it("removes the action's records of keys the user no longer has, in one request, and nothing else", async () => {
    const w = world({
      team: 'platform',
      [LEASE_TAG]: 'run octo/rotator/42/1+0123456789abcdef0123456789abcdef until 2026-11-27T13:00:00Z',
      [CUR]: record(`created=${iso(START - 30 * DAY)} handover=${iso(START - 30 * DAY)}`),
      [GONE]: record(`superseded-by=${CUR} handover=${iso(START - 30 * DAY)}`),
      [GONE2]: record(`created=${iso(START - 2 * DAY)}`),
      AKIANOTOURS000000005: 'the deploy key of team a', // a person's description: not the action's
    });
    await iamAnswered(w);
    const tags = keyMap(w);
    w.calls.length = 0;

    const removed = await pruneRecords(w.ctx, 'deployer', [{ id: CUR }, { id: NEW }], tags);

    expect(removed).toEqual([GONE, GONE2]);
    expect(w.calls).toEqual(['UntagUser']);
    expect(w.inputs.at(-1)).toEqual({ UserName: 'deployer', TagKeys: [GONE, GONE2] });
    expect([...w.tags.keys()]).toEqual(['team', LEASE_TAG, CUR, 'AKIANOTOURS000000005']);
    expect([...tags.keys()]).toEqual([CUR, 'AKIANOTOURS000000005']);
    expect(w.io.lines).toEqual([`Removed the action's tags describing access keys IAM user deployer no longer has: ${GONE}, ${GONE2}`]);
    expect(w.io.warnings).toEqual([]);
  });

  it('makes no request when every record describes a current key', async () => {
    const w = world({ [CUR]: record(`created=${iso(START - DAY)}`), team: 'x' });
    await iamAnswered(w);
    w.calls.length = 0;
    expect(await pruneRecords(w.ctx, 'deployer', [{ id: CUR }], keyMap(w))).toEqual([]);
    expect(w.calls).toEqual([]);
    expect(w.io.lines).toEqual([]);
  });

  it.each([
    ['created', (t: number) => record(`created=${iso(t)}`), 0],
    ['handed over', (t: number) => record(`superseded-by=${CUR} handover=${iso(t)}`), 0],
    ['created (the runner clock 2 h ahead)', (t: number) => record(`created=${iso(t)}`), 7_200_000],
    ['created (the runner clock 2 h behind)', (t: number) => record(`created=${iso(t)}`), -7_200_000],
  ])(
    'keeps the record of a key %s less than PRUNE_AFTER_MS ago (IAM may not list a key another run just made), in IAM time',
    async (_, value, skew) => {
      const young = START - PRUNE_AFTER_MS + 1_000;
      const old = START - PRUNE_AFTER_MS - 1_000;
      const w = world({ [GONE]: value(young), [GONE2]: value(old) }, skew);
      await iamAnswered(w);
      expect(await pruneRecords(w.ctx, 'deployer', [{ id: CUR }], keyMap(w))).toEqual([GONE2]);
      expect(w.tags.has(GONE)).toBe(true);
    },
  );

  it('a record with no time at all (not one this action writes now) is pruned', async () => {
    const w = world({ [GONE]: 'rotate-aws-access-key: by=octo/a/1/1' });
    await iamAnswered(w);
    expect(await pruneRecords(w.ctx, 'deployer', [], keyMap(w))).toEqual([GONE]);
  });

  it('never touches a tag that is not a key record, even when the caller hands it in', async () => {
    const w = world({ [LEASE_TAG]: 'rotate-aws-access-key: created=2020-01-01T00:00:00Z', akiagone000000000003: record('created=2020-01-01T00:00:00Z') });
    await iamAnswered(w);
    w.calls.length = 0;
    expect(await pruneRecords(w.ctx, 'deployer', [], new Map(w.tags))).toEqual([]);
    expect(w.calls).toEqual([]);
  });

  it('a failure is a warning; the map keeps what is still there', async () => {
    const w = world({ [GONE]: record(`created=${iso(START - DAY)}`) });
    await iamAnswered(w);
    w.before((command) => {
      if (command === 'UntagUser') throw awsFailure('AccessDenied', 403);
    });
    const tags = keyMap(w);
    expect(await pruneRecords(w.ctx, 'deployer', [], tags)).toEqual([]);
    expect(tags.has(GONE)).toBe(true);
    expect(w.io.warnings).toEqual([
      `could not remove the action's tags describing access keys IAM user deployer no longer has (${GONE}): ` +
        'iam:UntagUser on IAM user deployer failed: AccessDenied: AccessDenied for this request. the AWS credentials need ' +
        'iam:UntagUser on IAM user deployer',
    ]);
  });
});

describe('every tag value fits IAM: at most 256 characters of its set, every field the action reads back whole', () => {
  /** IAM's rule for a tag value. */
  const IAM_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
  const OWNER = 'o'.repeat(39); // GitHub's longest owner name
  const REPO = 'r'.repeat(100); // …and repository name
  const RUN_ID = '9'.repeat(20);
  const TOKEN = '0123456789abcdef0123456789abcdef';
  const GHES = `https://${'h'.repeat(63)}.${'e'.repeat(63)}.${'s'.repeat(63)}.example.com`;
  const UNTIL = Date.parse('9999-12-31T23:59:59Z');
  const LONG_ID = `AKIA${'Z'.repeat(124)}`; // the longest access key id IAM's API allows (128)

  const identity = (env: Record<string, string>) => runIdentity({ GITHUB_SERVER_URL: GHES, ...env }, TOKEN);
  const label = (env: Record<string, string>) => runLabel({ run: identity(env) } as unknown as RotateContext);

  const runs: [string, Record<string, string>][] = [
    ['an ordinary run', { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '1' }],
    ["GitHub's longest names, a 20-digit run id", { GITHUB_REPOSITORY: `${OWNER}/${REPO}`, GITHUB_RUN_ID: RUN_ID, GITHUB_RUN_ATTEMPT: '99999' }],
    ['names no GitHub allows (300 characters, spaces and #)', { GITHUB_REPOSITORY: `a b#/${'x'.repeat(300)}`, GITHUB_RUN_ID: RUN_ID, GITHUB_RUN_ATTEMPT: '7' }],
    ['a local run', {}],
  ];

  it.each(runs)('the lease, for %s on a GitHub Enterprise Server with a long host', (_, env) => {
    const value = leaseValue(label(env), TOKEN, UNTIL);
    expect(value).toMatch(IAM_VALUE);
    expect(value).not.toContain('https');
    expect(value).not.toContain('example.com');
    const lease = parseLease(value);
    expect(lease?.token).toBe(TOKEN);
    expect(lease?.until).toBe(UNTIL);
    // The label is whole when it fits, else shortened keeping the run id and attempt.
    const full = label(env);
    if (full.length + 66 <= 256) expect(lease?.run).toBe(full);
    else expect(lease?.run).toMatch(new RegExp(`\\.\\./${RUN_ID}/\\d+$`));
  });

  it("GitHub's longest names fit whole in the lease: the rule for an earlier attempt can still read them", () => {
    const env = runs[1][1];
    expect(parseLease(leaseValue(label(env), TOKEN, UNTIL))?.run).toBe(`${OWNER}/${REPO}/${RUN_ID}/99999`);
  });

  it.each(runs)('the key records, for %s, with the longest key ids', (_, env) => {
    const by = label(env);
    const records: KeyRecord[] = [
      { created: '2026-11-27T12:00:00Z', by },
      { created: '2026-11-27T12:00:00Z', handover: '2026-11-27T12:05:00Z', by },
      { supersededBy: 'AKIANEW0000000000002', handover: '2026-11-27T12:05:00Z', by },
      { supersededBy: LONG_ID, handover: '2026-11-27T12:05:00Z', by },
      { created: '2026-11-27T12:00:00.123Z', supersededBy: LONG_ID, handover: '2026-11-27T12:05:00.456Z', by },
    ];
    for (const r of records) {
      const value = formatRecord(r);
      expect(value).toMatch(IAM_VALUE);
      const back = parseRecord(value);
      expect({ ...back, by: undefined }).toEqual({ ...r, by: undefined });
      if (back?.by !== undefined && back.by !== by) expect(back.by).toMatch(/\.\.\/\d+\/\d+$|^\S+$/);
      expect(back?.by === undefined || back.by === by || back.by.length >= 8).toBe(true);
    }
  });

  it('shortLabel keeps the run id and attempt, and cuts only what it must', () => {
    expect(shortLabel('octo/api/42/1', 13)).toBe('octo/api/42/1');
    expect(shortLabel('octo/api/42/1', 12)).toBe('octo/../42/1');
    expect(shortLabel('octo/api/42/1', 12)).toHaveLength(12);
    expect(shortLabel('octo/api/42/1', 5)).toBe('/42/1'.slice(-5));
  });

  it('reads the key records as earlier versions wrote them', () => {
    expect(parseRecord('rotate-aws-access-key: superseded-by=AKIANEW0000000000002 handover=2026-11-25T12:00:00Z by=octo/a/1/1')).toEqual({
      supersededBy: 'AKIANEW0000000000002',
      handover: '2026-11-25T12:00:00Z',
      by: 'octo/a/1/1',
    });
    expect(parseRecord('rotate-aws-access-key: created=2026-11-25T12:00:00Z by=octo/a/1/1')).toEqual({ created: '2026-11-25T12:00:00Z', by: 'octo/a/1/1' });
  });
});

describe('the key records', () => {
  it('are written in one order and read back field by field; other tags are not records', () => {
    const value = formatRecord({ by: 'octo/a/1/1', written: at(-2), retireAfter: 0.5, handover: at(0), supersededBy: NEW, created: at(-H) });
    expect(value).toBe(`${PREFIX} created=${at(-H)} superseded-by=${NEW} handover=${at(0)} retire-after=0.5 written=${at(-2)} by=octo/a/1/1`);
    expect(parseRecord(value)).toEqual({ created: at(-H), supersededBy: NEW, handover: at(0), retireAfter: 0.5, written: at(-2), by: 'octo/a/1/1' });
    expect(parseRecord(`${PREFIX} retire-after=24`)).toEqual({ retireAfter: 24 });
    expect(parseRecord(`${PREFIX} retire-after=0`)).toEqual({ retireAfter: 0 });
    // A grace that is no number of hours is no grace: the reading run's own stands in.
    expect(parseRecord(`${PREFIX} retire-after=soon`)).toEqual({});
    expect(parseRecord(`${PREFIX} retire-after=-1`)).toEqual({});
    expect(formatRecord({ created: at(0) })).toBe(`${PREFIX} created=${at(0)}`);
    expect(parseRecord(`${PREFIX} note=x created=${at(0)}`)).toEqual({ created: at(0) });
    expect(parseRecord(PREFIX)).toEqual({});
    expect(parseRecord('deploy key for the api')).toBeUndefined();
    expect(parseRecord(` ${PREFIX} created=${at(0)}`)).toBeUndefined();
    expect(parseRecord(undefined)).toBeUndefined();
  });

  it('are cut to the 256 characters of an IAM tag value', () => {
    expect(formatRecord({ by: 'x'.repeat(300) })).toHaveLength(256);
  });

  it('name the run as owner/name/run/attempt, or "local" outside a workflow run', () => {
    const ctx = (run: object) => ({ run }) as unknown as RotateContext;
    expect(runLabel(ctx({ repository: 'octo/a', runId: '7', attempt: '2' }))).toBe('octo/a/7/2');
    expect(runLabel(ctx({ repository: 'octo/a', runId: undefined, attempt: '1' }))).toBe('local');
    expect(runLabel(ctx({ repository: undefined, runId: '7', attempt: '1' }))).toBe('local');
  });

  it('are the tags whose key is an access key id', () => {
    const tags = { [OLD]: 'a', ASIATEMP000000000004: 'b', 'rotate-aws-access-key:lease': 'c', AKIASHORT: 'd', akiaold0000000000001: 'e', team: 'f' };
    expect(keyTags(Object.entries(tags).map(([Key, Value]) => ({ Key, Value })))).toEqual(new Map([[OLD, 'a'], ['ASIATEMP000000000004', 'b']]));
  });

  it("forgetting a deleted key removes the action's record only, and only warns when it cannot", async () => {
    const w = world({ [OLD]: `${PREFIX} created=${at(0)}`, [CUR]: 'written by hand' });
    const tags = new Map(w.tags);
    await forgetRecord(w.ctx, 'deployer', CUR, tags);
    expect(w.calls).toEqual([]);
    await forgetRecord(w.ctx, 'deployer', OLD, tags);
    expect(w.inputs).toEqual([{ UserName: 'deployer', TagKeys: [OLD] }]);
    expect([...tags.keys()]).toEqual([CUR]);

    const failing = world({ [OLD]: `${PREFIX} created=${at(0)}` });
    failing.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    const kept = new Map(failing.tags);
    await forgetRecord(failing.ctx, 'deployer', OLD, kept);
    expect(kept.has(OLD)).toBe(true);
    expect(failing.io.warnings).toHaveLength(1);
    expect(failing.io.warnings[0]).toMatch(
      new RegExp(`^could not remove the tag describing the deleted key ${OLD}: iam:UntagUser on IAM user deployer failed: AccessDenied`),
    );
  });

  it('last uses: null for never, the use otherwise; a refusal is unknown, with one warning for all', async () => {
    const w = world({});
    w.keys.set(OLD, { id: OLD, status: 'Active', created: new Date(START - 100 * H), lastUsed: { date: new Date(START - 2 * H).toISOString(), service: 's3', region: 'eu-west-1' } });
    w.keys.set(CUR, { id: CUR, status: 'Active', created: new Date(START - 100 * H) });
    expect(await lastUses(w.ctx.aws.iam, w.io, 'deployer', [OLD, CUR])).toEqual(
      new Map([
        [OLD, { date: new Date(START - 2 * H).toISOString(), service: 's3', region: 'eu-west-1' }],
        [CUR, null],
      ]),
    );
    w.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    expect(await lastUses(w.ctx.aws.iam, w.io, 'deployer', [OLD, CUR])).toEqual(new Map([[OLD, undefined], [CUR, undefined]]));
    expect(w.io.warnings).toHaveLength(1);
    expect(w.io.warnings[0]).toMatch(new RegExp(`^could not read when ${OLD} was last used: iam:GetAccessKeyLastUsed`));
  });
});


describe('the markers, and what the tags say as a whole', () => {
  const marker = (by: string, atMs: number, keys: string[]) => ({ Key: CREATE_TAG, Value: `by=${by} at=${iso(atMs)} keys=${keys.join(',')}` });
  const k = (id: string, createdMs: number) => ({ id, status: 'Active' as const, created: new Date(createdMs) });

  it('the rewrite marker and the create marker read back; anything else is none', () => {
    expect(parseRewrite(`deleted=${CUR} at=${iso(START)}`)).toEqual({ id: CUR, at: iso(START) });
    expect(parseRewrite('deleted= at=')).toBeUndefined();
    expect(parseRewrite(undefined)).toBeUndefined();
    expect(parseCreateMarker(`by=octo/a/1/1 at=${iso(START)} keys=`)).toEqual({ by: 'octo/a/1/1', at: START, keys: [] });
    expect(parseCreateMarker(`by=octo/a/1/1 at=${iso(START)} keys=${CUR},${NEW}`)).toEqual({ by: 'octo/a/1/1', at: START, keys: [CUR, NEW] });
    expect(parseCreateMarker('by=octo/a/1/1 at=soon keys=')).toBeUndefined();
  });

  it("a marker's candidates: keys no tag names, made in its window, not listed before it; none once its run recorded a key then", () => {
    const keys = [k(CUR, START - DAY), k(NEW, START + 30_000), k(GONE, START + 3 * 60_000)];
    const all = [marker('octo/a/1/1', START, [CUR]), { Key: REWRITE_TAG, Value: `deleted=${GONE2} at=${iso(START)}` }, { Key: CUR, Value: 'by hand' }];
    const read = userRecords(all, keys);
    expect(read.creation).toEqual({ by: 'octo/a/1/1', at: START, keys: [CUR], candidates: [NEW] });
    expect(read.rewrite).toEqual({ id: GONE2, at: iso(START) });
    expect(read.records).toEqual(new Map());
    expect(read.tags).toEqual(new Map([[CUR, 'by hand']]));
    const recorded = userRecords([marker('octo/a/1/1', START, [CUR]), { Key: NEW, Value: record(`created=${iso(START + 30_000)}`).replace('octo/rotator/41/1', 'octo/a/1/1') }], keys);
    expect(recorded.creation?.candidates).toEqual([]);
    expect(recorded.records.get(NEW)).toEqual({ created: iso(START + 30_000), by: 'octo/a/1/1' });
    expect(userRecords([], keys)).toEqual({ tags: new Map(), records: new Map(), rewrite: undefined, creation: undefined });
  });
});
