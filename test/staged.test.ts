/**
 * Staged retirement across runs (src/keys/staged.ts), the records it keeps in IAM (src/keys/provenance.ts) and the key
 * operations every phase shares (src/rotation/run-state.ts), in-process
 * against an in-memory IAM: which handed-over keys are retired and how, what is recorded when, and how every key is
 * described at the end. staged-retirement.test.ts runs the same flow end to end against moto; these pin each decision.
 */
import { describe, expect, it } from '@jest/globals';
import type { RotateContext } from '../src/config/context.js';
import type { Inputs } from '../src/config/inputs.js';
import { Journal } from '../src/rotation/journal.js';
import type { AccessKey, Plan } from '../src/keys/plan.js';
import { forgetRecord, formatRecord, keyTags, lastUses, parseRecord, runLabel } from '../src/keys/provenance.js';
import type { RotationResult } from '../src/rotation/result.js';
import { IamTime } from '../src/aws/iam-time.js';
import { currentKey } from '../src/keys/plan.js';
import { type RunState, newRunState } from '../src/rotation/run-state.js';
import { classifyKeys, describeKeys, readRecords, recordCreated, recordHandover, retireDue, retireDueKeys } from '../src/keys/staged.js';
import { fakeClock, recorder } from './support/harness.js';
import { type MemoryKey, awsFailure, memoryIam } from './support/memory-iam.js';

const START = Date.parse('2026-11-27T12:00:00Z');
const H = 3_600_000;
const at = (offsetMs: number) => new Date(START + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
const OLD = 'AKIAOLD0000000000001';
const CUR = 'AKIACUR0000000000002';
const NEW = 'AKIANEW0000000000003';
const BY = 'by=octo/rotator/42/1';
const PREFIX = 'rotate-aws-access-key:';

const key = (id: string, status: 'Active' | 'Inactive' = 'Active', createdAgo = 100 * H, lastUsedAgo?: number): MemoryKey => ({
  id,
  status,
  created: new Date(START - createdAgo),
  ...(lastUsedAgo === undefined
    ? {}
    : { lastUsed: { date: new Date(START - lastUsedAgo).toISOString(), service: 's3', region: 'eu-west-1' } }),
});
/** The record an earlier run left on a key it handed over to `to`, `ago` ms ago. */
const superseded = (to: string, ago: number) => `${PREFIX} superseded-by=${to} handover=${at(-ago)} by=octo/rotator/41/1`;

function world(opts: {
  keys?: MemoryKey[];
  tags?: Record<string, string>;
  inputs?: Partial<Inputs>;
  tagsDenied?: boolean;
  userTags?: boolean;
  /** GitHub's answer to GET .../actions/runs/{id}/attempts/{n}, by `owner/name/id/n` (no entry: the call fails). */
  runs?: Record<string, { status: string; updated_at: string }>;
}) {
  const mem = memoryIam({ keys: opts.keys, tags: opts.tags });
  const io = recorder();
  const clock = fakeClock(START);
  const time = new IamTime(clock);
  time.observe(START);
  const ctx = {
    aws: { iam: mem.iam, time },
    clock,
    io,
    inputs: { retireAfterHours: 24, previousKey: 'delete', dryRun: false, ...opts.inputs },
    run: { repository: 'octo/rotator', runId: '42', attempt: '1', url: 'https://github.com/octo/rotator/actions/runs/42/attempts/1' },
    cancel: { checkpoint: () => {} },
    gh: {
      request: async (_route: string, p: { owner: string; repo: string; run_id: number; attempt_number: number }) => {
        const run = opts.runs?.[`${p.owner}/${p.repo}/${p.run_id}/${p.attempt_number}`];
        if (!run) throw Object.assign(new Error('Not Found'), { status: 404 });
        return { data: run };
      },
    },
  } as unknown as RotateContext;
  const journal = new Journal(0);
  const initialKeys = mem.listed();
  const result = { journal } as unknown as RotationResult;
  const s: RunState = {
    ...newRunState(ctx, result),
    userName: 'deployer',
    destinations: [],
    caller: undefined,
    expected: new Set(initialKeys.map((k) => k.id)),
    handedOver: false,
    tags: new Map(),
    initialKeys,
    uses: new Map(),
    pending: new Map(),
    tagsDenied: opts.tagsDenied ?? false,
    userTags: opts.userTags ? [...mem.tags].map(([Key, Value]) => ({ Key, Value })) : undefined,
    keysListed: true,
    records: new Map(),
    verified: false,
    ownHolderChecked: true,
    rewrite: undefined,
    runEnded: new Map(),
    startedAt: 0,
    resume: undefined,
  };
  return { ...mem, s, io, journal, initialKeys };
}

const self = (w: { initialKeys: AccessKey[] }, id: string) => w.initialKeys.find((k) => k.id === id);

/** Read the records, then classify the keys (and retire what is due): the ids of the keys still pending retirement. */
async function earlierHandovers(s: RunState, keys: AccessKey[], me: AccessKey | undefined): Promise<string[]> {
  await readRecords(s, keys);
  const { others } = await retireDueKeys(s, keys, await classifyKeys(s, keys, currentKey(keys, me?.id), me));
  return [...others].filter(([id, k]) => k.kind === 'pending' && s.pending.has(id) && !s.journal.deleted(id)).map(([id]) => id);
}

describe('provenance records', () => {
  it('are written in one order and read back field by field; other tags are not records', () => {
    const value = formatRecord({ by: 'octo/a/1/1', handover: at(0), supersededBy: NEW, created: at(-H) });
    expect(value).toBe(`${PREFIX} created=${at(-H)} superseded-by=${NEW} handover=${at(0)} by=octo/a/1/1`);
    expect(parseRecord(value)).toEqual({ created: at(-H), supersededBy: NEW, handover: at(0), by: 'octo/a/1/1' });
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

  it('are the tags whose key is an access key id; read now, or taken from tags already read', async () => {
    const w = world({
      tags: { [OLD]: 'a', ASIATEMP000000000004: 'b', 'rotate-aws-access-key:lease': 'c', AKIASHORT: 'd', akiaold0000000000001: 'e', team: 'f' },
    });
    expect(await keyTags(w.s.ctx, 'deployer')).toEqual(new Map([[OLD, 'a'], ['ASIATEMP000000000004', 'b']]));
    expect(w.calls).toEqual(['ListUserTags']);
    expect(await keyTags(w.s.ctx, 'deployer', [{ Key: CUR, Value: 'z' }])).toEqual(new Map([[CUR, 'z']]));
    expect(w.calls).toEqual(['ListUserTags']);
  });

  it("forgetting a deleted key removes the action's record only, and only warns when it cannot", async () => {
    const w = world({ tags: { [OLD]: `${PREFIX} created=${at(0)}`, [CUR]: 'written by hand' } });
    const tags = new Map(w.tags);
    await forgetRecord(w.s.ctx, 'deployer', CUR, tags);
    expect(w.calls).toEqual([]);
    await forgetRecord(w.s.ctx, 'deployer', OLD, tags);
    expect(w.inputs).toEqual([{ UserName: 'deployer', TagKeys: [OLD] }]);
    expect([...tags.keys()]).toEqual([CUR]);

    const failing = world({ tags: { [OLD]: `${PREFIX} created=${at(0)}` } });
    failing.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    const kept = new Map(failing.tags);
    await forgetRecord(failing.s.ctx, 'deployer', OLD, kept);
    expect(kept.has(OLD)).toBe(true);
    expect(failing.io.warnings).toHaveLength(1);
    expect(failing.io.warnings[0]).toMatch(
      new RegExp(`^could not remove the tag describing the deleted key ${OLD}: iam:UntagUser on IAM user deployer failed: AccessDenied`),
    );
  });

  it('last uses: null for never, the use otherwise; a refusal is unknown, with one warning for all', async () => {
    const w = world({ keys: [key(OLD, 'Active', 100 * H, 2 * H), key(CUR)] });
    expect(await lastUses(w.s.ctx, 'deployer', [OLD, CUR])).toEqual(
      new Map([
        [OLD, { date: new Date(START - 2 * H).toISOString(), service: 's3', region: 'eu-west-1' }],
        [CUR, null],
      ]),
    );
    w.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    expect(await lastUses(w.s.ctx, 'deployer', [OLD, CUR])).toEqual(new Map([[OLD, undefined], [CUR, undefined]]));
    expect(w.io.warnings).toHaveLength(1);
    expect(w.io.warnings[0]).toMatch(new RegExp(`^could not read when ${OLD} was last used: iam:GetAccessKeyLastUsed`));
  });
});

describe('earlierHandovers', () => {
  it('needs the tags for retire-after-hours: without them it stops before any request', async () => {
    const w = world({ keys: [key(CUR)], tagsDenied: true });
    await expect(earlierHandovers(w.s, w.initialKeys, undefined)).rejects.toThrow(
      "retire-after-hours needs the user's tags (iam:ListUserTags, iam:TagUser, iam:UntagUser) to record handovers, and " +
        'this run may not use them: grant them, or set retire-after-hours: 0.',
    );
    expect(w.calls).toEqual([]);
  });

  it('without the tags and retire-after-hours 0: reads nothing and finds nothing pending', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 48 * H) }, tagsDenied: true, inputs: { retireAfterHours: 0 } });
    expect(await earlierHandovers(w.s, w.initialKeys, undefined)).toEqual([]);
    // No records to read; the second key's last use is read (evidence for what is said about it).
    expect(w.calls).toEqual(['GetAccessKeyLastUsed']);
    expect(w.s.result.retirement).toEqual({ due: [], waiting: [] });
  });

  it('uses the tags the lease already read instead of reading them again', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 2 * H) }, userTags: true });
    expect(await earlierHandovers(w.s, w.initialKeys, undefined)).toEqual([OLD]);
    expect(w.calls).toEqual(['GetAccessKeyLastUsed']);
    expect(w.s.tags).toEqual(new Map([[OLD, superseded(CUR, 2 * H)]]));
  });

  it('a refused tag read: with retire-after-hours 0 a warning and no descriptions; otherwise it stops', async () => {
    const deny = (w: ReturnType<typeof world>, name = 'AccessDenied') =>
      w.before(() => {
        throw awsFailure(name, 403);
      });
    const lenient = world({ keys: [key(CUR)], inputs: { retireAfterHours: 0 } });
    deny(lenient);
    expect(await earlierHandovers(lenient.s, lenient.initialKeys, undefined)).toEqual([]);
    expect(lenient.s.tagsDenied).toBe(true);
    expect(lenient.io.warnings).toHaveLength(1);
    expect(lenient.io.warnings[0]).toMatch(
      /^could not read the user's tags \(iam:ListUserTags on IAM user deployer failed: AccessDenied.*\): keys are not described; grant iam:ListUserTags$/,
    );

    const strict = world({ keys: [key(CUR)] });
    deny(strict);
    await expect(earlierHandovers(strict.s, strict.initialKeys, undefined)).rejects.toThrow(/^iam:ListUserTags on IAM user deployer failed: AccessDenied/);

    const broken = world({ keys: [key(CUR)], inputs: { retireAfterHours: 0 } });
    deny(broken, 'ServiceFailure');
    await expect(earlierHandovers(broken.s, broken.initialKeys, undefined)).rejects.toThrow(/ServiceFailure/);
    expect(broken.s.tagsDenied).toBe(false);
  });

  it('stops a self-rotation that authenticates with a key handed over to a key that still exists', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 2 * H) } });
    await expect(earlierHandovers(w.s, w.initialKeys, self(w, OLD))).rejects.toThrow(
      `this job authenticates with ${OLD}, which an earlier run handed over to ${CUR} at ${at(-2 * H)}: the place this ` +
        'job reads its credentials from was not updated (it is not among that run\'s destinations, or its secret is ' +
        'shadowed by another level). Make it a destination, or give this job the current key.',
    );
    expect(w.calls).toEqual(['ListUserTags']);

    const noTime = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: `${PREFIX} superseded-by=${CUR}` } });
    // A record without a handover time proves nothing: it is ignored, with a warning.
    await earlierHandovers(noTime.s, noTime.initialKeys, self(noTime, OLD));
    expect(noTime.io.warnings.join('\n')).toContain('it is ignored');
  });

  it('lets a self-rotation go on when its key was handed over to a key that no longer exists, or is the successor', async () => {
    const gone = world({ keys: [key(OLD)], tags: { [OLD]: superseded(NEW, 2 * H) } });
    expect(await earlierHandovers(gone.s, gone.initialKeys, self(gone, OLD))).toEqual([]);
    const successor = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 2 * H) } });
    expect(await earlierHandovers(successor.s, successor.initialKeys, self(successor, CUR))).toEqual([OLD]);
  });

  it('a dry run that would only deactivate plans on the due key as the real run would leave it: Inactive, no longer pending', async () => {
    const w = world({
      keys: [key(OLD), key(CUR)],
      tags: { [OLD]: superseded(CUR, 48 * H) },
      inputs: { dryRun: true, previousKey: 'deactivate' },
    });
    await readRecords(w.s, w.initialKeys);
    const classified = await classifyKeys(w.s, w.initialKeys, currentKey(w.initialKeys, undefined), undefined);
    expect(classified.due.map((d) => d.key.id)).toEqual([OLD]);
    const { keys, others } = await retireDueKeys(w.s, w.initialKeys, classified);
    expect(keys.map((k) => [k.id, k.status])).toEqual([
      [OLD, 'Inactive'],
      [CUR, 'Active'],
    ]);
    expect(others.has(OLD)).toBe(false);
    expect(w.s.pending.has(OLD)).toBe(false);
    expect(w.io.lines).toEqual([`Dry run: would deactivate ${OLD} (handed over and unused for 24 h)`]);
    expect(w.keys.get(OLD)?.status).toBe('Active');
    expect(w.s.result.retirement).toEqual({ due: [OLD], waiting: [] });
  });

  it('retires what is due in a real run, and no longer counts a deleted key', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 48 * H) } });
    expect(await earlierHandovers(w.s, w.initialKeys, undefined)).toEqual([]);
    expect(w.keys.has(OLD)).toBe(false);
    expect(w.io.lines[0]).toBe('## Retire handed-over keys');
    expect(w.s.result.retirement).toEqual({ due: [OLD], waiting: [] });
  });
});

describe("GitHub's word that the run which made a key has ended", () => {
  const made = (by: string, ago = 10 * 60_000) => `${PREFIX} created=${at(-ago)} by=${by}`;

  it("is asked for every young key a run made and never handed over, the caller's own key included", async () => {
    const w = world({
      keys: [key(OLD, 'Active', 10 * 60_000), key(CUR, 'Active', 20 * 60_000)],
      tags: { [OLD]: made('octo/rotator/41/1'), [CUR]: made('octo/rotator/40/1', 20 * 60_000) },
      runs: { 'octo/rotator/41/1': { status: 'completed', updated_at: at(-5 * 60_000) }, 'octo/rotator/40/1': { status: 'completed', updated_at: at(-15 * 60_000) } },
    });
    await earlierHandovers(w.s, w.initialKeys, self(w, CUR));
    expect(w.s.runEnded).toEqual(new Map([[OLD, START - 5 * 60_000], [CUR, START - 15 * 60_000]]));
  });

  it('is not taken from a run still in progress, from a run GitHub will not show, nor asked for a key older than a run can last', async () => {
    const w = world({
      keys: [key(OLD, 'Active', 10 * 60_000), key(CUR, 'Active', 2 * H), key(NEW, 'Active', 5 * 60_000)],
      tags: { [OLD]: made('octo/rotator/41/1'), [CUR]: made('octo/rotator/40/1', 2 * H), [NEW]: made('octo/rotator/43/1', 5 * 60_000) },
      runs: {
        'octo/rotator/41/1': { status: 'in_progress', updated_at: at(0) },
        'octo/rotator/40/1': { status: 'completed', updated_at: at(-H) },
      },
    });
    await earlierHandovers(w.s, w.initialKeys, self(w, CUR));
    expect(w.s.runEnded).toEqual(new Map());
  });
});

describe('retireDue', () => {
  const due = (w: ReturnType<typeof world>, ids: string[]) =>
    ids.map((id) => ({ key: self(w, id) as AccessKey, supersededBy: CUR, handover: START - 48 * H, dueAt: START - 24 * H, lastUsed: w.s.uses.get(id) ?? null }));

  it('keep, or nothing Active to deactivate: no request at all', async () => {
    const w = world({ keys: [key(OLD), key('AKIAOLD0000000000009', 'Inactive'), key(CUR)] });
    expect(await retireDue(w.s, due(w, [OLD]), 'keep')).toEqual([]);
    expect(await retireDue(w.s, due(w, ['AKIAOLD0000000000009']), 'deactivate')).toEqual([]);
    expect(w.calls).toEqual([]);
  });

});

describe('recordCreated', () => {
  it('tags the new key with when and by which run it was created', async () => {
    const w = world({ keys: [key(NEW)] });
    expect(await recordCreated(w.s, NEW, new Date(START))).toBe(at(0));
    expect(w.inputs).toEqual([{ UserName: 'deployer', Tags: [{ Key: NEW, Value: `${PREFIX} created=${at(0)} ${BY}` }] }]);
    expect(w.s.tags.get(NEW)).toBe(`${PREFIX} created=${at(0)} ${BY}`);
  });

  it('does not try without the tag permissions', async () => {
    const w = world({ keys: [key(NEW)], tagsDenied: true });
    expect(await recordCreated(w.s, NEW, new Date(START))).toBe(at(0));
    expect(w.calls).toEqual([]);
  });

  it('a refusal stops a run with retire-after-hours, and is a warning without', async () => {
    const strict = world({ keys: [key(NEW)] });
    strict.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    await expect(recordCreated(strict.s, NEW, new Date(START))).rejects.toThrow(
      new RegExp(
        `^recording where the new key ${NEW} comes from failed \\(iam:TagUser on IAM user deployer failed: AccessDenied.*\\): ` +
          'with retire-after-hours the handover must be recorded in IAM. Grant iam:TagUser on the user$',
      ),
    );

    const lenient = world({ keys: [key(NEW)], inputs: { retireAfterHours: 0 } });
    lenient.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    expect(await recordCreated(lenient.s, NEW, new Date(START))).toBe(at(0));
    expect(lenient.io.warnings).toHaveLength(1);
    expect(lenient.io.warnings[0]).toMatch(
      new RegExp(`^could not tag the new key ${NEW} with where it comes from \\(iam:TagUser .*AccessDenied.*\\): grant iam:TagUser on the user$`),
    );
    expect(lenient.s.tags.has(NEW)).toBe(false);
  });
});

describe('recordHandover', () => {
  const rotate = (previous: AccessKey[], previousKey: 'delete' | 'deactivate' | 'keep' = 'delete'): Plan => ({
    action: 'rotate',
    reason: 'test',
    current: previous[0],
    orphan: undefined,
    moveOff: [],
    makeRoom: undefined,
    makeRoomBreaks: false,
    previous,
    previousKey,
  });
  const handover = `${PREFIX} created=${at(-60_000)} handover=${at(0)} ${BY}`;

  it('retire-after-hours 0: records the handover on the new key, and the previous key as superseded, in one request', async () => {
    const w = world({ keys: [key(CUR), key(NEW)], inputs: { retireAfterHours: 0 } });
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), NEW, at(-60_000), new Date(START - 60_000));
    // The superseded record lets a rerun finish the retirement should this run stop before it (kill-matrix.test.ts).
    expect(w.inputs).toEqual([
      {
        UserName: 'deployer',
        Tags: [
          { Key: NEW, Value: handover },
          { Key: CUR, Value: `${PREFIX} superseded-by=${NEW} handover=${at(0)} ${BY}` },
        ],
      },
    ]);
    expect(w.s.pending.size).toBe(0);
    expect(w.journal.retired).toEqual([]);
  });

  it.each([
    ['delete', 'deletes'],
    ['deactivate', 'deactivates'],
  ] as const)('retire-after-hours with previous-key %s: marks each previous key superseded and pending', async (mode, verb) => {
    const w = world({ keys: [key(CUR), key(NEW)], inputs: { previousKey: mode } });

    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey], mode), NEW, at(-60_000), new Date(START - 60_000));

    expect(w.inputs.map((i) => i.Tags)).toEqual([
      [
        { Key: NEW, Value: handover },
        { Key: CUR, Value: `${PREFIX} superseded-by=${NEW} handover=${at(0)} ${BY}` },
      ],
    ]);
    expect(w.s.pending).toEqual(new Map([[CUR, START + 24 * H]]));
    expect(w.journal.retired).toEqual([{ id: CUR, fate: 'retire-pending' }]);
    expect(w.io.lines).toEqual([
      `${CUR} is handed over to ${NEW}: a later run ${verb} it once it has not been used for 24 h (not before ${new Date(START + 24 * H).toISOString()})`,
    ]);
    expect(w.keys.get(CUR)?.status).toBe('Active');
  });

  it('previous-key keep, or a plan that was not a rotation: nothing is staged', async () => {
    const keep = world({ keys: [key(CUR), key(NEW)], inputs: { previousKey: 'keep' } });
    await recordHandover(keep.s, rotate([self(keep, CUR) as AccessKey], 'keep'), NEW, at(-60_000), new Date(START - 60_000));
    expect(keep.calls).toEqual(['TagUser']);
    expect(keep.s.pending.size).toBe(0);

    const skip = world({ keys: [key(CUR)] });
    await recordHandover(skip.s, { action: 'skip', reason: 'young', current: self(skip, CUR) as AccessKey }, CUR, at(0), new Date(START));
    expect(skip.calls).toEqual(['TagUser']);
  });

  it('does not try without the tag permissions', async () => {
    const w = world({ keys: [key(CUR), key(NEW)], tagsDenied: true });
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), NEW, at(0), new Date(START));
    expect(w.calls).toEqual([]);
    expect(w.s.pending.size).toBe(0);
  });

  it('a refusal with retire-after-hours says the previous keys stay Active and must be retired by hand', async () => {
    const w = world({ keys: [key(CUR), key(OLD), key(NEW)] });
    w.before((_command, n) => {
      if (n === 1) throw awsFailure('AccessDenied', 403);
    });

    await expect(recordHandover(w.s, rotate([self(w, CUR), self(w, OLD)] as AccessKey[]), NEW, at(0), new Date(START))).rejects.toThrow(
      new RegExp(
        `^Every destination holds the new key ${NEW}, but recording the handover in IAM failed \\(iam:TagUser .*AccessDenied.*\\): ` +
          `the previous key\\(s\\) ${CUR}, ${OLD} stay Active and no later run will retire them\\. Grant iam:TagUser on the ` +
          'user, then retire them by hand once they are unused for 24 h\\.$',
      ),
    );
  });

  it('a refusal without retire-after-hours is a warning: only the description is incomplete', async () => {
    const w = world({ keys: [key(CUR), key(NEW)], inputs: { retireAfterHours: 0 } });
    w.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), NEW, at(0), new Date(START));
    expect(w.io.warnings).toHaveLength(1);
    expect(w.io.warnings[0]).toMatch(
      new RegExp(`^could not record the handover in the tag of ${NEW} \\(iam:TagUser .*\\): its description in IAM stays incomplete$`),
    );
  });
});

describe('describeKeys (the keys output)', () => {
  it('without a change: the keys as listed at the start, last uses read only where none is known yet', async () => {
    const w = world({ keys: [key(CUR, 'Active', 10 * H, H), key(OLD, 'Inactive', 100 * H)] });
    w.s.uses.set(OLD, null);
    w.s.tags.set(CUR, 'the deploy key');
    w.keys.delete(OLD); // not listed again: the start's list is reported
    w.journal.record({ kind: 'lease taken' }); // not a change to the keys

    const { keys = [] } = await describeKeys(w.s);

    expect(w.calls).toEqual(['GetAccessKeyLastUsed']);
    expect(keys).toEqual([
      {
        id: CUR,
        status: 'Active',
        created: new Date(START - 10 * H).toISOString(),
        lastUsed: { date: new Date(START - H).toISOString(), service: 's3', region: 'eu-west-1' },
        description: 'the deploy key',
        fate: 'current',
      },
      { id: OLD, status: 'Inactive', created: new Date(START - 100 * H).toISOString(), lastUsed: null, description: null, fate: 'current' },
    ]);
  });

  it('after a change: lists again, reads every last use, and adds the keys this run deleted with their fate', async () => {
    const w = world({ keys: [key(OLD), key(CUR), key('AKIAPEND000000000006')] });
    w.s.uses.set(OLD, { date: '2026-11-20T00:00:00.000Z', service: 'iam', region: 'us-east-1' });
    w.keys.delete(OLD);
    w.journal.record({ kind: 'key retired', id: OLD, fate: 'deactivated' });
    w.journal.record({ kind: 'key retired', id: OLD, fate: 'deleted' });
    w.keys.set(NEW, key(NEW, 'Active', 0));
    w.journal.record({ kind: 'key created', id: NEW });
    w.s.pending.set('AKIAPEND000000000006', START + 5 * H);

    const { keys = [] } = await describeKeys(w.s);

    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'GetAccessKeyLastUsed', 'GetAccessKeyLastUsed']);
    expect(keys.map((k) => [k.id, k.status, k.fate, k.lastUsed])).toEqual([
      [CUR, 'Active', 'current', null],
      ['AKIAPEND000000000006', 'Active', `retire-pending until ${new Date(START + 5 * H).toISOString()}`, null],
      [NEW, 'Active', 'new', null],
      [OLD, 'Deleted', 'deleted', { date: '2026-11-20T00:00:00.000Z', service: 'iam', region: 'us-east-1' }],
    ]);
  });

  it('a key someone else deleted during the run is not reported as deleted by it', async () => {
    const w = world({ keys: [key(OLD), key(CUR)] });
    w.keys.delete(OLD);
    w.keys.set(NEW, key(NEW, 'Active', 0));
    w.journal.record({ kind: 'key created', id: NEW });
    const { keys = [] } = await describeKeys(w.s);
    expect(keys.map((k) => [k.id, k.status, k.fate])).toEqual([
      [CUR, 'Active', 'current'],
      [NEW, 'Active', 'new'],
    ]);
  });

  it('a deleted key IAM still lists (eventual consistency) is reported once, as listed', async () => {
    const w = world({ keys: [key(OLD), key(CUR)] });
    w.journal.record({ kind: 'key retired', id: OLD, fate: 'deleted' });
    const { keys = [] } = await describeKeys(w.s);
    expect(keys.map((k) => [k.id, k.status, k.fate])).toEqual([
      [OLD, 'Active', 'deleted'],
      [CUR, 'Active', 'current'],
    ]);
  });

  it('a key this run only deactivated is listed once, as it is now', async () => {
    const w = world({ keys: [key(OLD), key(CUR)] });
    w.keys.get(OLD)!.status = 'Inactive';
    w.journal.record({ kind: 'key retired', id: OLD, fate: 'deactivated' });
    const { keys = [] } = await describeKeys(w.s);
    expect(keys.map((k) => [k.id, k.status, k.fate])).toEqual([
      [OLD, 'Inactive', 'deactivated'],
      [CUR, 'Active', 'current'],
    ]);
  });

  it('keys that cannot be listed again are unknown, never "no keys": why is kept, and one warning says so (the run goes on)', async () => {
    const w = world({ keys: [key(CUR)] });
    w.journal.record({ kind: 'key created', id: NEW });
    w.before(() => {
      throw awsFailure('Throttling', 400);
    });
    const described = await describeKeys(w.s);
    expect(described.keys).toBeUndefined();
    expect(described.keysUnread).toMatch(/^iam:ListAccessKeys on IAM user deployer failed: /);
    expect(w.io.warnings).toEqual([expect.stringContaining('could not be listed at the end of the run')]);
    expect(w.io.warnings[0]).toContain('the keys output is null');
  });

  it('a last use that cannot be read is unknown, never "never used"', async () => {
    const w = world({ keys: [key(CUR)] });
    w.before((command) => {
      if (command === 'GetAccessKeyLastUsed') throw awsFailure('AccessDenied', 403);
    });
    const { keys = [] } = await describeKeys(w.s);
    expect(keys.map((k) => [k.id, k.lastUsed])).toEqual([[CUR, 'unknown']]);
  });

  it('a key deleted before its last use was read is unknown, not never used', async () => {
    const w = world({ keys: [key(OLD), key(CUR)] });
    w.keys.delete(OLD);
    w.journal.record({ kind: 'key retired', id: OLD, fate: 'deleted' });
    const { keys = [] } = await describeKeys(w.s);
    expect(keys.map((k) => [k.id, k.lastUsed])).toEqual([
      [CUR, null],
      [OLD, 'unknown'],
    ]);
  });
});
