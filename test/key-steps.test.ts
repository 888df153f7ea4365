/**
 * The steps that read and write the action's records and act on the keys' verdicts (src/rotation/steps.ts: readRecords,
 * classify, retireDue, recordCreated, recordHandover; src/rotation/rotate.ts: describeKeys), in-process against an
 * in-memory IAM: which handed-over keys are retired and how, what is recorded when, and how every key is described at
 * the end. staged-retirement.test.ts runs the same flow end to end against moto; these pin each step.
 */
import { describe, expect, it } from '@jest/globals';
import type { Inputs } from '../src/config/inputs.js';
import { Journal } from '../src/rotation/journal.js';
import type { Plan } from '../src/keys/verdict.js';
import type { RotationResult } from '../src/rotation/result.js';
import { IamTime } from '../src/aws/iam-time.js';
import { type RotateContext, type RunState, newRunState } from '../src/rotation/run-state.js';
import { describeKeys } from '../src/rotation/rotate.js';
import { classify, readRecords, recordCreated, recordHandover, retireDue } from '../src/rotation/steps.js';
import type { AccessKey } from '../src/shared/types.js';
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
/** The record an earlier run left on a key it handed over to `to`, `ago` ms ago (a record from before 3.0: no grace named). */
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
    inputs: { iamUserName: 'deployer', retireAfterHours: 24, previousKey: 'delete', keyLimit: 'delete-inactive', dryRun: false, ...opts.inputs },
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
  const result = { journal, destinations: [], steps: [] } as unknown as RotationResult;
  const s: RunState = newRunState(ctx, result);
  s.tagsDenied = opts.tagsDenied ?? false;
  s.ownHolderChecked = true;
  s.listed = mem.listed();
  s.keys = s.listed.map((k) => ({ key: k, record: undefined, lastUsed: undefined, makerEnded: undefined, verdict: { kind: 'unproven', why: '' } }));
  const userTags = opts.userTags ? [...mem.tags].map(([Key, Value]) => ({ Key, Value })) : undefined;
  return { ...mem, s, io, journal, initialKeys: s.listed, userTags };
}

/** Sign in as `id` (a self-rotation). */
const signIn = (s: RunState, id: string) => void (s.self = { accessKeyId: id, secretAccessKey: `secret-of-${id}` });

/** Read the records, judge the keys and retire what is due: the ids of the keys still pending retirement. */
async function earlierHandovers(w: ReturnType<typeof world>, me?: string): Promise<string[]> {
  if (me) signIn(w.s, me);
  await readRecords(w.s, w.initialKeys, w.userTags);
  await classify(w.s);
  await retireDue(w.s);
  return w.s.keys.filter((k) => k.verdict.kind === 'pending' && k.key.status === 'Active').map((k) => k.key.id);
}

/** The keys whose verdict is pending retirement and due now. */
const dueNow = (s: RunState) => s.keys.flatMap((k) => (k.verdict.kind === 'pending' && k.verdict.due ? [k.key.id] : []));

describe('earlierHandovers', () => {
  it('needs the tags for retire-after-hours: without them it stops before any request', async () => {
    const w = world({ keys: [key(CUR)], tagsDenied: true });
    await expect(earlierHandovers(w)).rejects.toThrow(
      "retire-after-hours needs the user's tags (iam:ListUserTags, iam:TagUser, iam:UntagUser) to record handovers, and " +
        'this run may not use them: grant them, or set retire-after-hours: 0.',
    );
    expect(w.calls).toEqual([]);
  });

  it('without the tags and retire-after-hours 0: reads nothing and finds nothing pending', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 48 * H) }, tagsDenied: true, inputs: { retireAfterHours: 0 } });
    expect(await earlierHandovers(w)).toEqual([]);
    // No records to read; the second key's last use is read (evidence for what is said about it).
    expect(w.calls).toEqual(['GetAccessKeyLastUsed']);
    expect(w.s.keys.filter((k) => k.verdict.kind === 'pending')).toEqual([]);
  });

  it('uses the tags the lease already read instead of reading them again', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 2 * H) }, userTags: true });
    expect(await earlierHandovers(w)).toEqual([OLD]);
    expect(w.calls).toEqual(['GetAccessKeyLastUsed']);
    expect(w.s.recorded.tags).toEqual(new Map([[OLD, superseded(CUR, 2 * H)]]));
  });

  it('a refused tag read: with retire-after-hours 0 a warning and no descriptions; otherwise it stops', async () => {
    const deny = (w: ReturnType<typeof world>, name = 'AccessDenied') =>
      w.before(() => {
        throw awsFailure(name, 403);
      });
    const lenient = world({ keys: [key(CUR)], inputs: { retireAfterHours: 0 } });
    deny(lenient);
    expect(await earlierHandovers(lenient)).toEqual([]);
    expect(lenient.s.tagsDenied).toBe(true);
    expect(lenient.io.warnings).toHaveLength(1);
    expect(lenient.io.warnings[0]).toMatch(
      /^could not read the user's tags \(iam:ListUserTags on IAM user deployer failed: AccessDenied.*\): keys are not described; grant iam:ListUserTags$/,
    );

    const strict = world({ keys: [key(CUR)] });
    deny(strict);
    await expect(earlierHandovers(strict)).rejects.toThrow(/^iam:ListUserTags on IAM user deployer failed: AccessDenied/);

    const broken = world({ keys: [key(CUR)], inputs: { retireAfterHours: 0 } });
    deny(broken, 'ServiceFailure');
    await expect(earlierHandovers(broken)).rejects.toThrow(/ServiceFailure/);
    expect(broken.s.tagsDenied).toBe(false);
  });

  it('stops a self-rotation that authenticates with a key handed over to a key that still exists', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 2 * H) } });
    await expect(earlierHandovers(w, OLD)).rejects.toThrow(
      `this job authenticates with ${OLD}, which an earlier run handed over to ${CUR} at ${at(-2 * H)}: the place this ` +
        'job reads its credentials from was not updated (it is not among that run\'s destinations, or its secret is ' +
        'shadowed by another level). Make it a destination, or give this job the current key.',
    );
    expect(w.calls).toEqual(['ListUserTags']);

    const noTime = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: `${PREFIX} superseded-by=${CUR}` } });
    // A record without a handover time proves nothing: it is ignored, with a warning.
    await earlierHandovers(noTime, OLD);
    expect(noTime.io.warnings.join('\n')).toContain('it is ignored');
  });

  it('lets a self-rotation go on when its key was handed over to a key that no longer exists, or is the successor', async () => {
    const gone = world({ keys: [key(OLD)], tags: { [OLD]: superseded(NEW, 2 * H) } });
    expect(await earlierHandovers(gone, OLD)).toEqual([]);
    const successor = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 2 * H) } });
    expect(await earlierHandovers(successor, CUR)).toEqual([OLD]);
  });

  it('a dry run that would only deactivate plans on the due key as the real run would leave it: Inactive, no longer pending', async () => {
    const w = world({
      keys: [key(OLD), key(CUR)],
      tags: { [OLD]: superseded(CUR, 48 * H) },
      inputs: { dryRun: true, previousKey: 'deactivate' },
    });
    await readRecords(w.s, w.initialKeys, undefined);
    await classify(w.s);
    expect(dueNow(w.s)).toEqual([OLD]);
    const { keys, reversed } = await retireDue(w.s);
    expect(keys.map((k) => [k.key.id, k.key.status])).toEqual([
      [OLD, 'Inactive'],
      [CUR, 'Active'],
    ]);
    // Staged retirement: the key's own grace passed, so the plan may make room with it (not a reversible-only step).
    expect(reversed).toEqual(new Set());
    expect(w.io.lines).toEqual([`Dry run: would deactivate ${OLD} (handed over and unused for 24 h)`]);
    expect(w.keys.get(OLD)?.status).toBe('Active');
  });

  it('retires what is due in a real run, and no longer counts a deleted key', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 48 * H) } });
    expect(await earlierHandovers(w)).toEqual([]);
    expect(w.keys.has(OLD)).toBe(false);
    expect(w.io.lines[0]).toBe('## Retire handed-over keys');
    expect(w.journal.retired).toEqual([{ id: OLD, fate: 'deleted', reason: 'staged retirement' }]);
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
    await earlierHandovers(w, CUR);
    expect(w.s.keys.map((k) => [k.key.id, k.makerEnded])).toEqual([
      [OLD, START - 5 * 60_000],
      [CUR, START - 15 * 60_000],
    ]);
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
    await earlierHandovers(w, CUR);
    expect(w.s.keys.map((k) => k.makerEnded)).toEqual([undefined, undefined, undefined]);
  });
});

describe('retireDue', () => {
  const destroying = (calls: string[]) => calls.filter((c) => c === 'DeleteAccessKey' || c === 'UpdateAccessKey');

  it('keep, or nothing Active to deactivate: nothing destroyed', async () => {
    const keep = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: superseded(CUR, 48 * H) }, inputs: { previousKey: 'keep' } });
    expect(await earlierHandovers(keep)).toEqual([OLD]);
    expect(destroying(keep.calls)).toEqual([]);
    const inactive = world({ keys: [key(OLD, 'Inactive'), key(CUR)], tags: { [OLD]: superseded(CUR, 48 * H) }, inputs: { previousKey: 'deactivate' } });
    await earlierHandovers(inactive);
    expect(destroying(inactive.calls)).toEqual([]);
  });

  it('a handover made to retire at once, by a run that stopped first: deactivated, never deleted, with the command that undoes it', async () => {
    const w = world({ keys: [key(OLD), key(CUR)], tags: { [OLD]: `${PREFIX} superseded-by=${CUR} handover=${at(-60_000)} retire-after=0 by=octo/rotator/41/1` }, inputs: { retireAfterHours: 0 } });
    expect(await earlierHandovers(w)).toEqual([]);
    expect(destroying(w.calls)).toEqual(['UpdateAccessKey']);
    expect(w.keys.get(OLD)?.status).toBe('Inactive');
    expect(w.io.warnings.join('\n')).toContain(`To undo: aws iam update-access-key --user-name deployer --access-key-id ${OLD} --status Active`);
  });
});

/** A key IAM gave this run, made at `ago` ms before the start. */
const fresh = (id: string, ago = 0) => ({ accessKeyId: id, secretAccessKey: `secret-of-${id}`, created: new Date(START - ago) });
const self = (w: { initialKeys: AccessKey[] }, id: string) => w.initialKeys.find((k) => k.id === id);

describe('recordCreated', () => {
  it('tags the new key with when and by which run it was created', async () => {
    const w = world({ keys: [key(NEW)] });
    await recordCreated(w.s, fresh(NEW));
    expect(w.inputs).toEqual([{ UserName: 'deployer', Tags: [{ Key: NEW, Value: `${PREFIX} created=${at(0)} ${BY}` }] }]);
    expect(w.s.recorded.tags.get(NEW)).toBe(`${PREFIX} created=${at(0)} ${BY}`);
  });

  it('does not try without the tag permissions', async () => {
    const w = world({ keys: [key(NEW)], tagsDenied: true });
    await recordCreated(w.s, fresh(NEW));
    expect(w.calls).toEqual([]);
  });

  it('a refusal stops a run with retire-after-hours, and is a warning without', async () => {
    const strict = world({ keys: [key(NEW)] });
    strict.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    await expect(recordCreated(strict.s, fresh(NEW))).rejects.toThrow(
      new RegExp(
        `^recording where the new key ${NEW} comes from failed \\(iam:TagUser on IAM user deployer failed: AccessDenied.*\\): ` +
          'with retire-after-hours the handover must be recorded in IAM. Grant iam:TagUser on the user$',
      ),
    );

    const lenient = world({ keys: [key(NEW)], inputs: { retireAfterHours: 0 } });
    lenient.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    await recordCreated(lenient.s, fresh(NEW));
    expect(lenient.io.warnings).toHaveLength(1);
    expect(lenient.io.warnings[0]).toMatch(
      new RegExp(`^could not tag the new key ${NEW} with where it comes from \\(iam:TagUser .*AccessDenied.*\\): grant iam:TagUser on the user$`),
    );
    expect(lenient.s.recorded.tags.has(NEW)).toBe(false);
  });
});

describe('recordHandover', () => {
  const rotate = (previous: AccessKey[], previousKey: 'delete' | 'deactivate' | 'keep' = 'delete'): Extract<Plan, { action: 'rotate' }> => ({
    action: 'rotate',
    reason: 'test',
    current: previous[0],
    orphan: undefined,
    moveOff: [],
    makeRoom: undefined,
    makeRoomBreaks: false,
    previous,
    reasons: { previous: 'replaced by this run' },
    previousKey,
  });
  const handover = `${PREFIX} created=${at(-60_000)} handover=${at(0)} ${BY}`;
  const pendingOf = (s: RunState) => s.keys.flatMap((k) => (k.verdict.kind === 'pending' ? [[k.key.id, k.verdict.dueAt]] : []));

  it('retire-after-hours 0: records the handover on the new key, and the previous key as superseded (grace 0), in one request', async () => {
    const w = world({ keys: [key(CUR), key(NEW)], inputs: { retireAfterHours: 0 } });
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), fresh(NEW, 60_000));
    // The superseded record lets a rerun finish the retirement should this run stop before it (kill-matrix.test.ts);
    // its grace, 0, says that run meant to retire it at once (a later run with more hours waits those).
    expect(w.inputs).toEqual([
      {
        UserName: 'deployer',
        Tags: [
          { Key: NEW, Value: handover },
          { Key: CUR, Value: `${PREFIX} superseded-by=${NEW} handover=${at(0)} retire-after=0 ${BY}` },
        ],
      },
    ]);
    expect(pendingOf(w.s)).toEqual([]);
    expect(w.journal.retired).toEqual([]);
  });

  it.each([
    ['delete', 'deletes'],
    ['deactivate', 'deactivates'],
  ] as const)('retire-after-hours with previous-key %s: records each previous key superseded with its grace, and pending', async (mode, verb) => {
    const w = world({ keys: [key(CUR), key(NEW)], inputs: { previousKey: mode } });

    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey], mode), fresh(NEW, 60_000));

    expect(w.inputs.map((i) => i.Tags)).toEqual([
      [
        { Key: NEW, Value: handover },
        { Key: CUR, Value: `${PREFIX} superseded-by=${NEW} handover=${at(0)} retire-after=24 ${BY}` },
      ],
    ]);
    expect(pendingOf(w.s)).toEqual([[CUR, START + 24 * H]]);
    expect(w.journal.retired).toEqual([]);
    expect(w.io.lines).toEqual([
      `${CUR} is handed over to ${NEW}: a later run ${verb} it once it has not been used for 24 h (not before ${new Date(START + 24 * H).toISOString()})`,
    ]);
    expect(w.keys.get(CUR)?.status).toBe('Active');
  });

  it("GitHub's time of this run's last write goes into the new key's record, when every write was answered with one", async () => {
    const w = world({ keys: [key(CUR), key(NEW)], inputs: { retireAfterHours: 0 } });
    const ledger = (id?: number, secret?: number) => ({ writtenAt: { id, secret } });
    w.s.destinations = [{ ledger: ledger(START - 3000, START - 2000) }, { ledger: ledger(START - 1000, START - 500) }] as unknown as RunState['destinations'];
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), fresh(NEW, 60_000));
    expect(w.inputs[0].Tags).toContainEqual({ Key: NEW, Value: `${PREFIX} created=${at(-60_000)} handover=${at(0)} written=${at(-1000)} ${BY}` });
    const partly = world({ keys: [key(CUR), key(NEW)], inputs: { retireAfterHours: 0 } });
    partly.s.destinations = [{ ledger: ledger(START - 3000, undefined) }] as unknown as RunState['destinations'];
    await recordHandover(partly.s, rotate([self(partly, CUR) as AccessKey]), fresh(NEW, 60_000));
    expect(partly.inputs[0].Tags).toContainEqual({ Key: NEW, Value: handover });
  });

  it('previous-key keep: nothing is staged', async () => {
    const keep = world({ keys: [key(CUR), key(NEW)], inputs: { previousKey: 'keep' } });
    await recordHandover(keep.s, rotate([self(keep, CUR) as AccessKey], 'keep'), fresh(NEW, 60_000));
    expect(keep.calls).toEqual(['TagUser']);
    expect(keep.inputs[0].Tags).toEqual([{ Key: NEW, Value: handover }]);
    expect(pendingOf(keep.s)).toEqual([]);
  });

  it('does not try without the tag permissions', async () => {
    const w = world({ keys: [key(CUR), key(NEW)], tagsDenied: true });
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), fresh(NEW));
    expect(w.calls).toEqual([]);
    expect(pendingOf(w.s)).toEqual([]);
  });

  it('a refusal with retire-after-hours says the previous keys stay Active and must be retired by hand', async () => {
    const w = world({ keys: [key(CUR), key(OLD), key(NEW)] });
    w.before((_command, n) => {
      if (n === 1) throw awsFailure('AccessDenied', 403);
    });

    await expect(recordHandover(w.s, rotate([self(w, CUR), self(w, OLD)] as AccessKey[]), fresh(NEW))).rejects.toThrow(
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
    await recordHandover(w.s, rotate([self(w, CUR) as AccessKey]), fresh(NEW));
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
    w.s.recorded.tags.set(CUR, 'the deploy key');
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
    const pend = w.s.keys.find((k) => k.key.id === 'AKIAPEND000000000006');
    if (pend) pend.verdict = { kind: 'pending', reason: 'staged retirement', successor: CUR, handover: START, grace: 5, dueAt: START + 5 * H, due: false, inUse: false, holders: [], kept: false, missing: [] };

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
