/**
 * The action's own tags on the user (src/provenance.ts): pruneRecords removes the records of keys the user no longer
 * has, so the action keeps at most three tags (the lease, plus one record per access key), and never touches a tag it
 * did not write. In-process against the in-memory IAM.
 */
import { describe, expect, it } from '@jest/globals';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { RotateContext } from '../src/context.js';
import { LEASE_TAG } from '../src/lease.js';
import { PRUNE_AFTER_MS, pruneRecords } from '../src/provenance.js';
import { fakeClock, recorder } from './support/harness.js';
import { awsFailure, memoryIam } from './support/memory-iam.js';
import { memoryClients } from './support/memory-world.js';

const START = Date.parse('2026-11-27T12:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const CUR = 'AKIACUR0000000000001';
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
