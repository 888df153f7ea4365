/**
 * One verdict per key (src/keys/verdict.ts judge), pure: what each key of the user is — current, resumed, pending
 * retirement (and when, or why not), an orphan (and by which row, held by which destinations), or unproven (and why)
 * — from IAM's facts, the action's records, GitHub's word on the runs that made them, and the destinations; the notes
 * the run prints about them; and which keys a verdict needs the last use or the maker's end of.
 */
import { describe, expect, it } from '@jest/globals';
import type { DestinationRecord } from '../src/github/destination-record.js';
import type { Creation, KeyRecord } from '../src/keys/records.js';
import {
  type JudgeInput,
  type KeyState,
  type Pending,
  type Plan,
  type PlanInput,
  currentKey,
  judge,
  lastUseWanted,
  makerEndWanted,
  markerEndWanted,
  plan,
} from '../src/keys/verdict.js';
import { ActionError } from '../src/shared/errors.js';
import type { AccessKey, Use } from '../src/shared/types.js';
import { destinationRecord } from './support/fixtures.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const H = 3_600_000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const OLD = 'AKIAOLD0000000000001';
const CUR = 'AKIACUR0000000000002';
const NEW = 'AKIANEW0000000000003';
const ORPH = 'AKIAORPH000000000004';

const key = (id: string, ago: number, status: 'Active' | 'Inactive' = 'Active'): AccessKey => ({ id, status, created: new Date(NOW - ago) });
const use = (ago: number): Use => ({ date: new Date(NOW - ago).toISOString(), service: 's3', region: 'eu-west-1' });
/** A destination last written `ago` ms before NOW (both secrets). */
const dest = (label: string, ago: number): DestinationRecord => destinationRecord({ label, create: false, held: 'both', oldestUpdate: NOW - ago });

function input(over: Partial<JudgeInput> = {}): JudgeInput {
  return {
    user: 'deployer',
    keys: [],
    records: new Map(),
    uses: new Map(),
    makerEnded: new Map(),
    creation: undefined,
    destinations: [],
    self: undefined,
    retireAfterHours: 0,
    previousKey: 'delete',
    iamNow: NOW,
    ...over,
  };
}
const records = (entries: Record<string, KeyRecord>) => new Map(Object.entries(entries));
const uses = (entries: Record<string, Use | null | undefined>) => new Map(Object.entries(entries));
const verdicts = (i: JudgeInput) => Object.fromEntries(judge(i).keys.map((k) => [k.key.id, k.verdict]));
const kinds = (i: JudgeInput) => Object.fromEntries(judge(i).keys.map((k) => [k.key.id, k.verdict.kind]));
const pendingOf = (i: JudgeInput, id: string) => judge(i).keys.find((k) => k.key.id === id)?.verdict as Pending;
const notes = (i: JudgeInput) => judge(i).notes;

/** OLD handed over to CUR `ago` ms ago; CUR made just before. */
function handedOver(ago: number, extra: Partial<KeyRecord> = {}, over: Partial<JudgeInput> = {}): JudgeInput {
  return input({
    keys: [key(OLD, 100 * H), key(CUR, ago + MIN)],
    records: records({ [OLD]: { supersededBy: CUR, handover: iso(NOW - ago), by: 'octo/a/1/1', ...extra } }),
    uses: uses({ [OLD]: null }),
    ...over,
  });
}

describe('currentKey', () => {
  it("the job's own key; else the newest Active key that is no orphan; else the newest Active key", () => {
    const keys = [key(OLD, 10 * H), key(CUR, 5 * H), key(NEW, H, 'Inactive')];
    expect(currentKey(keys, OLD)?.id).toBe(OLD);
    expect(currentKey(keys, undefined)?.id).toBe(CUR);
    expect(currentKey(keys, 'SOMEONE')?.id).toBe(CUR);
    expect(currentKey(keys, undefined, new Set([CUR]))?.id).toBe(OLD);
    expect(currentKey(keys, undefined, new Set([CUR, OLD]))?.id).toBe(CUR);
    expect(currentKey([key(NEW, H, 'Inactive')], undefined)).toBeUndefined();
  });
});

describe('what a verdict needs read first', () => {
  it('the last use of every key but the plain current one (and never the job\'s own); the current one when its record matters', () => {
    const keys = [key(OLD, 10 * H), key(CUR, 5 * H)];
    expect(lastUseWanted(keys, new Map(), undefined, undefined)).toEqual([OLD]);
    expect(lastUseWanted(keys, new Map(), undefined, OLD)).toEqual([CUR]);
    expect(lastUseWanted(keys, records({ [CUR]: { supersededBy: OLD } }), undefined, undefined)).toEqual([OLD, CUR]);
    expect(lastUseWanted(keys, records({ [CUR]: { created: iso(NOW - 5 * H) } }), undefined, undefined)).toEqual([OLD, CUR]);
    expect(lastUseWanted(keys, records({ [CUR]: { created: iso(NOW), handover: iso(NOW) } }), undefined, undefined)).toEqual([OLD]);
    const creation: Creation = { by: 'x/y/1/1', at: NOW, keys: [], candidates: [CUR] };
    expect(lastUseWanted(keys, new Map(), creation, undefined)).toEqual([OLD, CUR]);
  });

  it("GitHub's word is asked about young keys the action made and never handed over, and the job's own young key it made", () => {
    const keys = [key(OLD, MIN), key(CUR, 2 * MIN), key(NEW, 60 * MIN), key(ORPH, 3 * MIN)];
    const r = records({
      [OLD]: { created: iso(NOW - MIN) },
      [CUR]: { created: iso(NOW - 2 * MIN), handover: iso(NOW - MIN) },
      [NEW]: { created: iso(NOW - 60 * MIN) },
    });
    expect(makerEndWanted(keys, r, NOW, undefined).map((k) => k.id)).toEqual([OLD]);
    expect(makerEndWanted(keys, r, NOW, CUR).map((k) => k.id)).toEqual([OLD, CUR]);
    expect(makerEndWanted(keys, r, NOW, ORPH).map((k) => k.id)).toEqual([OLD]);
    expect(makerEndWanted(keys, r, NOW + 59 * MIN - 1, undefined).map((k) => k.id)).toEqual([OLD]);
    expect(makerEndWanted(keys, r, NOW + 59 * MIN, undefined).map((k) => k.id)).toEqual([]);
  });

  it("the create marker's run is asked about when a key made in its window is younger than a run can last", () => {
    const creation: Creation = { by: 'x/y/1/1', at: NOW - 10 * MIN, keys: [], candidates: [ORPH] };
    expect(markerEndWanted(undefined, [key(ORPH, MIN)], NOW)).toBe(false);
    expect(markerEndWanted(creation, [key(ORPH, 60 * MIN - 1)], NOW)).toBe(true);
    expect(markerEndWanted(creation, [key(ORPH, 60 * MIN)], NOW)).toBe(false);
    expect(markerEndWanted({ ...creation, candidates: [] }, [key(ORPH, MIN)], NOW)).toBe(false);
    // A candidate IAM no longer lists counts as made at the epoch: old.
    expect(markerEndWanted(creation, [], NOW)).toBe(false);
    // The candidate's own CreateDate counts, wherever IAM lists it.
    expect(markerEndWanted(creation, [key(OLD, 100 * H), key(ORPH, MIN)], NOW)).toBe(true);
    expect(markerEndWanted(creation, [key(NEW, MIN), key(ORPH, 100 * H)], NOW)).toBe(false);
  });
});

describe('the current key, and the job\'s own', () => {
  it('a rotator: the newest Active key is current, the older one unproven; a self-rotation: the job\'s own key', () => {
    const keys = [key(OLD, 100 * H), key(CUR, 10 * H)];
    expect(kinds(input({ keys, uses: uses({ [OLD]: null }) }))).toEqual({ [OLD]: 'unproven', [CUR]: 'current' });
    expect(judge(input({ keys })).current?.id).toBe(CUR);
    expect(kinds(input({ keys, self: OLD, uses: uses({ [CUR]: null }) }))).toEqual({ [OLD]: 'current', [CUR]: 'unproven' });
    expect(judge(input({ keys, self: OLD })).current?.id).toBe(OLD);
    expect(verdicts(input({ keys: [key(OLD, H)] }))).toEqual({ [OLD]: { kind: 'current' } });
    expect(judge(input()).current).toBeUndefined();
  });

  it('an unproven key says what is known and why it is no orphan; a key nothing at all is said of, that nothing is known', () => {
    const v = verdicts(input({ keys: [key(OLD, 100 * H), key(CUR, 10 * H)], uses: uses({ [OLD]: use(H) }) }))[OLD];
    expect(v).toEqual({
      kind: 'unproven',
      why:
        `created ${new Date(NOW - 100 * H).toISOString()}, no record of this action, last used ${use(H).date} (s3); not an orphan: no record ` +
        `says this action created it and never handed it over; it was used ${use(H).date} (s3), after the run that made it ended: something holds it`,
    });
    expect(verdicts(input({ keys: [key(OLD, 100 * H), key(CUR, 10 * H)] }))[OLD]).toMatchObject({ why: expect.stringContaining('last use unknown') });
  });

  it("a rotator's current key is never a provable orphan of an earlier run: the key the destinations hold is", () => {
    const i = input({
      keys: [key(OLD, 100 * H), key(ORPH, 2 * H)],
      records: records({ [ORPH]: { created: iso(NOW - 2 * H) } }),
      uses: uses({ [ORPH]: null }),
    });
    expect(judge(i).current?.id).toBe(OLD);
    expect(verdicts(i)[ORPH]).toEqual({ kind: 'orphan', reason: 'orphan of a finished run', holders: [] });
  });

  it('stops a self-rotation that signs in with a key properly handed over, before anything else', () => {
    const i = handedOver(2 * H, {}, { self: OLD });
    expect(() => judge(i)).toThrow(ActionError);
    expect(() => judge(i)).toThrow(
      `this job authenticates with ${OLD}, which an earlier run handed over to ${CUR} at ${iso(NOW - 2 * H)}: the place this ` +
        "job reads its credentials from was not updated (it is not among that run's destinations, or its secret is " +
        'shadowed by another level). Make it a destination, or give this job the current key.',
    );
  });

  it("a self-rotation whose own key's record disagrees in two ways: both named", () => {
    const i = handedOver(2 * H, { handover: iso(NOW + 2 * H) }, { self: OLD, keys: [key(OLD, 100 * H), key(CUR, 2 * H + MIN, 'Inactive')] });
    expect(notes(i)[0].text).toContain(`disagrees with IAM's facts (its successor ${CUR} is not an Active key of the user; the recorded handover lies in the future`);
  });

  it("a self-rotation whose own key's record disagrees with IAM's facts: the record is ignored, with a warning", () => {
    const i = handedOver(2 * H, { handover: iso(NOW + 2 * H) }, { self: OLD, uses: uses({ [CUR]: null }) });
    expect(notes(i)).toContainEqual({
      level: 'warning',
      text: `the action's record on ${OLD}, the key this job authenticates with, disagrees with IAM's facts (the recorded handover lies in the future (IAM's time is ${new Date(NOW).toISOString()})): it is ignored`,
    });
    expect(verdicts(i)[OLD]).toEqual({ kind: 'current' });
  });
});

describe('resumed: a self-rotation finishes the rotation an earlier run left', () => {
  /** The job signs in with NEW, made `ago` by run octo/api/42/1 (ended `ended`), which replaced OLD. */
  const resume = (ago: number, ended: number | undefined, over: Partial<JudgeInput> = {}, newRecord: KeyRecord = {}) =>
    input({
      keys: [key(OLD, 100 * H), key(NEW, ago)],
      self: NEW,
      records: records({ [NEW]: { created: iso(NOW - ago), by: 'octo/api/42/1', ...newRecord } }),
      makerEnded: ended === undefined ? new Map() : new Map([[NEW, ended]]),
      uses: uses({ [OLD]: null }),
      ...over,
    });

  it('a key the earlier run never handed over, that run ended: resumed, and the previous key is current', () => {
    const j = judge(resume(10 * MIN, NOW - 5 * MIN));
    expect(j.resume).toEqual({ key: key(NEW, 10 * MIN), record: { created: iso(NOW - 10 * MIN), by: 'octo/api/42/1' }, previous: key(OLD, 100 * H) });
    expect(Object.fromEntries(j.keys.map((k) => [k.key.id, k.verdict]))).toEqual({ [OLD]: { kind: 'current' }, [NEW]: { kind: 'resumed', previous: OLD } });
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, {}, { by: undefined })).notes[0].text).toContain('(unnamed, created');
    expect(j.notes).toContainEqual({
      level: 'info',
      text:
        `${NEW}, the key this job signs in with, was made by an earlier run of this action (octo/api/42/1, created ` +
        `${iso(NOW - 10 * MIN)}) that ended before every destination held it: this run finishes that rotation (every ` +
        `destination gets ${NEW}, then ${OLD} is handled per previous-key)`,
    });
    // Ended in the key's own second counts; its age alone (60 minutes) too.
    expect(judge(resume(10 * MIN, NOW - 10 * MIN)).resume).toBeDefined();
    expect(judge(resume(60 * MIN, undefined)).resume).toBeDefined();
  });

  it('a handover made to retire the previous key at once, by a run that stopped first: resumed too', () => {
    const stopped = resume(10 * MIN, NOW - 5 * MIN, {
      records: records({
        [NEW]: { created: iso(NOW - 10 * MIN), handover: iso(NOW - 9 * MIN), by: 'octo/api/42/1' },
        [OLD]: { supersededBy: NEW, handover: iso(NOW - 9 * MIN), retireAfter: 0 },
      }),
    });
    const j = judge(stopped);
    expect(j.resume?.key.id).toBe(NEW);
    expect(j.notes[0].text).toContain(`that ended before it retired ${OLD}: this run finishes that rotation`);
    expect(verdicts(stopped)[OLD]).toEqual({ kind: 'current' });
  });

  it('no resume: the run may still be running, a grace was chosen, the record is not the key\'s, or the keys are not a rotation', () => {
    expect(judge(resume(10 * MIN, undefined)).resume).toBeUndefined();
    expect(judge(resume(10 * MIN, NOW - 10 * MIN - 1000)).resume).toBeUndefined();
    const staged = (retireAfter: number | undefined, runHours = 0) =>
      judge(
        resume(10 * MIN, NOW - 5 * MIN, {
          retireAfterHours: runHours,
          records: records({
            [NEW]: { created: iso(NOW - 10 * MIN), handover: iso(NOW - 9 * MIN) },
            [OLD]: { supersededBy: NEW, handover: iso(NOW - 9 * MIN), ...(retireAfter === undefined ? {} : { retireAfter }) },
          }),
        }),
      ).resume;
    expect(staged(24)).toBeUndefined();
    expect(staged(0, 1)).toBeUndefined();
    expect(staged(undefined)).toBeDefined();
    // Handed over, but the previous key's record names another successor, or none: no rotation of this key to finish.
    expect(
      judge(resume(10 * MIN, NOW - 5 * MIN, { records: records({ [NEW]: { created: iso(NOW - 10 * MIN), handover: iso(NOW - 9 * MIN) } }) })).resume,
    ).toBeUndefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, {}, { created: iso(NOW - 10 * MIN - 61_000) })).resume).toBeUndefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, {}, { created: iso(NOW - 10 * MIN - 60_000) })).resume).toBeDefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, { records: new Map() })).resume).toBeUndefined();
    // The previous key handed over to another key, or a record of it that IAM's facts disagree with: no resume.
    const handedTo = (to: string, handover: number) =>
      judge(
        resume(10 * MIN, NOW - 5 * MIN, {
          records: records({
            [NEW]: { created: iso(NOW - 10 * MIN), handover: iso(NOW - 9 * MIN) },
            [OLD]: { supersededBy: to, handover: iso(handover), retireAfter: 0 },
          }),
        }),
      ).resume;
    expect(handedTo(NEW, NOW - 9 * MIN)).toBeDefined();
    expect(handedTo(ORPH, NOW - 9 * MIN)).toBeUndefined();
    // A record (forged, or mistaken) that hands the previous key over to itself is no handover to this job's key.
    expect(handedTo(OLD, NOW - 9 * MIN)).toBeUndefined();
    expect(handedTo(NEW, NOW + 2 * H)).toBeUndefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, { keys: [key(OLD, 100 * H, 'Inactive'), key(NEW, 10 * MIN)] })).resume).toBeUndefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, { keys: [key(OLD, 5 * MIN), key(NEW, 10 * MIN)] })).resume).toBeUndefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, { keys: [key(OLD, 10 * MIN), key(NEW, 10 * MIN)] })).resume).toBeDefined();
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, { keys: [key(NEW, 10 * MIN)] })).resume).toBeUndefined();
    // A rotator never resumes.
    expect(judge(resume(10 * MIN, NOW - 5 * MIN, { self: undefined })).resume).toBeUndefined();
  });
});

describe('pending: handed over, waiting to be retired (the one shape of it)', () => {
  it('a chosen grace: pending until the handover and the last use are that old, then due', () => {
    const waiting = pendingOf(handedOver(2 * H, { retireAfter: 24 }), OLD);
    expect(waiting).toEqual({
      kind: 'pending',
      reason: 'staged retirement',
      successor: CUR,
      handover: NOW - 2 * H,
      grace: 24,
      dueAt: NOW + 22 * H,
      due: false,
      inUse: false,
      holders: [],
      kept: false,
      missing: [{ code: 'handover too recent', text: 'the handover is not yet 24 h old (IAM time)' }],
    });
    expect(notes(handedOver(2 * H, { retireAfter: 24 }))).toEqual([
      { level: 'info', text: `${OLD} is pending retirement (handed over to ${CUR}): due at ${new Date(NOW + 22 * H).toISOString()} (IAM time)` },
    ]);
    const due = pendingOf(handedOver(25 * H, { retireAfter: 24 }), OLD);
    expect([due.due, due.dueAt, due.missing]).toEqual([true, NOW - H, []]);
    expect(notes(handedOver(25 * H, { retireAfter: 24 }))).toEqual([]);
  });

  it('its last use moves the due time; used after the grace passed: in use, with a warning', () => {
    const used = handedOver(30 * H, { retireAfter: 24 }, { uses: uses({ [OLD]: use(2 * H) }) });
    expect(pendingOf(used, OLD)).toMatchObject({ dueAt: NOW + 22 * H, due: false, inUse: true });
    expect(notes(used)).toEqual([
      {
        level: 'warning',
        text:
          `${OLD} was handed over to ${CUR} at ${new Date(NOW - 30 * H).toISOString()} but was last used ${use(2 * H).date} (s3, eu-west-1): ` +
          'somebody still holds it, so it is not retired. Find that holder and make it a destination; the key is retired once it has not been used for 24 h.',
      },
    ]);
    // Used before the grace had passed since the handover: not "in use" yet, only later due.
    expect(pendingOf(handedOver(2 * H, { retireAfter: 24 }, { uses: uses({ [OLD]: use(H) }) }), OLD)).toMatchObject({ inUse: false, dueAt: NOW + 23 * H });
    expect(pendingOf(handedOver(24 * H, { retireAfter: 24 }, { uses: uses({ [OLD]: use(H) }) }), OLD).inUse).toBe(true);
    expect(pendingOf(handedOver(24 * H - 1, { retireAfter: 24 }, { uses: uses({ [OLD]: use(H) }) }), OLD).inUse).toBe(false);
  });

  it("the grace its handover chose stands for a run with retire-after-hours 0; this run's, when longer", () => {
    expect(pendingOf(handedOver(2 * H, { retireAfter: 24 }, { retireAfterHours: 0 }), OLD)).toMatchObject({ reason: 'staged retirement', grace: 24 });
    expect(pendingOf(handedOver(2 * H, { retireAfter: 1 }, { retireAfterHours: 24 }), OLD)).toMatchObject({ reason: 'staged retirement', grace: 24 });
    // A record from before 3.0 (no grace named): this run's.
    expect(pendingOf(handedOver(2 * H, {}, { retireAfterHours: 3 }), OLD)).toMatchObject({ reason: 'staged retirement', grace: 3 });
  });

  it('no grace (a run stopped before retiring it): due at once unless used since the handover; never "until" a time', () => {
    const stopped = pendingOf(handedOver(2 * MIN, { retireAfter: 0 }), OLD);
    expect(stopped).toMatchObject({ reason: 'handed over by a stopped run', grace: 0, due: true, dueAt: NOW - 2 * MIN, missing: [] });
    const used = handedOver(10 * MIN, { retireAfter: 0 }, { uses: uses({ [OLD]: use(MIN) }) });
    expect(pendingOf(used, OLD)).toMatchObject({ due: false, dueAt: undefined, inUse: true });
    expect(notes(used)).toEqual([
      {
        level: 'warning',
        text:
          `${OLD} was handed over to ${CUR} at ${new Date(NOW - 10 * MIN).toISOString()} but is not retired: it was used ${use(MIN).date} (s3), ` +
          `after its handover (${iso(NOW - 10 * MIN)}): something still holds it. It stays Active until a run can prove nothing holds it.`,
      },
    ]);
  });

  it('previous-key: keep: kept, never due, and said so (not "pending retirement")', () => {
    const kept = handedOver(30 * H, { retireAfter: 24 }, { previousKey: 'keep' });
    expect(pendingOf(kept, OLD)).toMatchObject({ kept: true, due: false, dueAt: undefined });
    expect(notes(kept)).toEqual([
      { level: 'info', text: `${OLD} was handed over to ${CUR} at ${new Date(NOW - 30 * H).toISOString()}; previous-key: keep: this run leaves it Active` },
    ]);
  });

  it('a destination last written before the successor existed may hold it: never due; a rotator is told what to do', () => {
    const web = dest('octo/web', 200 * H);
    const rotator = handedOver(30 * H, { retireAfter: 24 }, { destinations: [dest('octo/api', MIN), web] });
    expect(pendingOf(rotator, OLD)).toMatchObject({ holders: [web], due: false, dueAt: undefined });
    expect(notes(rotator)).toEqual([
      {
        level: 'warning',
        text:
          `${OLD} was handed over to ${CUR} at ${new Date(NOW - 30 * H).toISOString()}, but octo/web may hold it (last written before ${CUR} existed): ` +
          `it is not retired while a destination may hold it (no time makes it due). A self-rotation that signs in with ${CUR} gives octo/web its pair ` +
          `first; or, once you know octo/web no longer use it, delete it: aws iam delete-access-key --user-name deployer --access-key-id ${OLD}`,
      },
    ]);
    const two = handedOver(30 * H, { retireAfter: 24 }, { destinations: [web, dest('octo/ops', 300 * H)] });
    expect(notes(two)[0].text).toContain('but octo/web, octo/ops may hold it');
    // The job signs in with the successor: it gives them its pair first (steps.ts), and says so then.
    expect(notes(handedOver(30 * H, { retireAfter: 24 }, { destinations: [web], self: CUR }))).toEqual([]);
    // A destination this run wrote as a pair holds what it wrote, however old it was.
    const rewritten = dest('octo/web', 200 * H);
    rewritten.ledger.id = { kind: 'key', keyId: CUR };
    rewritten.ledger.secret = { kind: 'key', keyId: CUR };
    expect(pendingOf(handedOver(30 * H, { retireAfter: 24 }, { destinations: [rewritten] }), OLD)).toMatchObject({ holders: [], due: true });
  });

  it('a key not due for more than time: every missing piece is named', () => {
    const i = handedOver(2 * H, { retireAfter: 24 }, { uses: uses({ [OLD]: undefined }) });
    expect(verdicts(i)[OLD]).toMatchObject({ kind: 'pending', due: false, dueAt: undefined });
    expect(notes(i).find((n) => n.text.startsWith(`${OLD} was handed over`))?.text).toMatch(/but is not retired: [^;]+; its last use is unknown \(iam:GetAccessKeyLastUsed\)\. It stays Active/);
  });

  it("a record IAM's facts disagree with is ignored, with a warning, and the key judged as any other", () => {
    const i = handedOver(2 * H, { supersededBy: NEW });
    expect(kinds(i)).toEqual({ [OLD]: 'unproven', [CUR]: 'current' });
    expect(notes(i)[0]).toEqual({
      level: 'warning',
      text: expect.stringMatching(
        new RegExp(`^the action's record on ${OLD} says it was handed over to ${NEW} at ${iso(NOW - 2 * H)}, but IAM's facts disagree \\(its successor ${NEW} is not an Active key of the user`),
      ),
    });
    expect(notes(i)[0].text).toMatch(/the record is ignored and \S+ is treated as a key this action did not hand over\. Remove the tag \S+ from IAM user deployer if it is wrong\.$/);
    expect(notes(handedOver(2 * H, { supersededBy: NEW, handover: undefined }))[0].text).toContain(`to ${NEW} at an unknown time`);
    // Several disagreements are each named.
    expect(notes(handedOver(2 * H, { handover: iso(NOW + 2 * H) }, { keys: [key(OLD, 100 * H), key(CUR, 3 * H + MIN, 'Inactive')] }))[0].text).toContain(
      `IAM's facts disagree (its successor ${CUR} is not an Active key of the user; the recorded handover lies in the future`,
    );
  });
});

describe('orphans of earlier runs', () => {
  /** ORPH made by an earlier run (ended) `ago` ms ago; OLD the key the destinations hold. */
  const orphan = (ago: number, over: Partial<JudgeInput> = {}) =>
    input({
      keys: [key(OLD, 100 * H), key(ORPH, ago)],
      records: records({ [ORPH]: { created: iso(NOW - ago), by: 'octo/api/42/1' } }),
      uses: uses({ [ORPH]: null }),
      ...over,
    });

  it('held by no destination: an orphan of a finished run, said once', () => {
    expect(verdicts(orphan(2 * H))[ORPH]).toEqual({ kind: 'orphan', reason: 'orphan of a finished run', holders: [] });
    expect(notes(orphan(2 * H))).toEqual([
      {
        level: 'info',
        text: `${ORPH} is an orphan of an earlier run of this action (created ${new Date(NOW - 2 * H).toISOString()}, the action's record: created ${iso(NOW - 2 * H)}, never used)`,
      },
    ]);
  });

  it('a destination written before it was made does not hold it: no holders, its plain row', () => {
    expect(verdicts(orphan(2 * H, { destinations: [dest('octo/api', 3 * H)] }))[ORPH]).toEqual({ kind: 'orphan', reason: 'orphan of a finished run', holders: [] });
  });

  it('an orphan by its record, while a marker names a run that recorded its key: by its record, never by the marker', () => {
    const i = orphan(2 * H, { creation: { by: 'octo/api/42/1', at: NOW - 2 * H - 3000, keys: [OLD], candidates: [] } });
    expect(verdicts(i)[ORPH]).toEqual({ kind: 'orphan', reason: 'orphan of a finished run', holders: [] });
    expect(notes(i)[0].text).toMatch(/^\S+ is an orphan of an earlier run of this action/);
  });

  it('held by destinations: a rotator rewrites them at once (its own row); a self-rotation moves them off first', () => {
    const api = dest('octo/api', MIN);
    expect(verdicts(orphan(2 * H, { destinations: [api] }))[ORPH]).toEqual({ kind: 'orphan', reason: 'orphan held by destinations this run rewrites', holders: [api] });
    expect(notes(orphan(2 * H, { destinations: [api, dest('octo/web', MIN)] }))[0].text).toMatch(/; destination\(s\) octo\/api, octo\/web may hold it$/);
    expect(verdicts(orphan(2 * H, { destinations: [api], self: OLD }))[ORPH]).toEqual({ kind: 'orphan', reason: 'orphan of a finished run', holders: [api] });
  });

  it('not proven: young with its run maybe running, used after its run, no record: unproven, saying why', () => {
    expect(verdicts(orphan(10 * MIN, { self: OLD }))[ORPH]).toMatchObject({ kind: 'unproven', why: expect.stringContaining('so that run may still be writing it') });
    // A rotator then takes the newer key for the one the destinations hold.
    expect(kinds(orphan(10 * MIN))).toEqual({ [OLD]: 'unproven', [ORPH]: 'current' });
    expect(kinds(orphan(10 * MIN, { makerEnded: new Map([[ORPH, NOW - 5 * MIN]]) }))[ORPH]).toBe('orphan');
    expect(verdicts(orphan(2 * H, { self: OLD, uses: uses({ [ORPH]: use(MIN) }) }))[ORPH]).toMatchObject({ why: expect.stringContaining('after the run that made it ended') });
    // Two gaps, one of them the holders: no self-rotation closes that.
    expect(kinds(orphan(10 * MIN, { destinations: [dest('octo/api', MIN)], self: OLD }))[ORPH]).toBe('unproven');
  });
});

describe('a key only a create marker speaks for', () => {
  /** The marker of run octo/api/42/1 (ended) 3 s before ORPH was made; no tag names ORPH. */
  const marked = (over: Partial<JudgeInput> = {}, creation: Partial<Creation> = {}) =>
    input({
      keys: [key(OLD, 100 * H), key(ORPH, 10 * MIN)],
      uses: uses({ [ORPH]: null }),
      creation: { by: 'octo/api/42/1', at: NOW - 10 * MIN - 3000, keys: [OLD], candidates: [ORPH], ended: NOW - 5 * MIN, ...creation },
      ...over,
    });

  it('proven by IAM\'s facts: an orphan by the unrecorded row (which only deactivates), said with what may be true', () => {
    expect(verdicts(marked())[ORPH]).toEqual({ kind: 'orphan', reason: 'unrecorded key of a finished run', holders: [] });
    expect(notes(marked())).toEqual([
      {
        level: 'info',
        text:
          `${ORPH} was made within two minutes after the create marker of octo/api/42/1 (${new Date(NOW - 10 * MIN - 3000).toISOString()}), which has ended, ` +
          `and no tag names it (created ${new Date(NOW - 10 * MIN).toISOString()}, no record of this action, never used): it may be that run's key, ` +
          "or anyone's made then; it is only ever deactivated",
      },
    ]);
  });

  it('held by a destination: a self-rotation gives it its own pair first; a rotator cannot, and proves nothing', () => {
    const api = dest('octo/api', MIN);
    expect(verdicts(marked({ destinations: [api], self: OLD }))[ORPH]).toEqual({ kind: 'orphan', reason: 'unrecorded key of a finished run', holders: [api] });
    expect(notes(marked({ destinations: [api, dest('octo/web', MIN)], self: OLD }))[0].text).toMatch(/; destination\(s\) octo\/api, octo\/web may hold it$/);
    // A rotator: nothing proves it the marker's key, so it is the newest Active key, the one the destinations hold.
    expect(kinds(marked({ destinations: [api] }))).toEqual({ [OLD]: 'unproven', [ORPH]: 'current' });
  });

  it('its run may still be running, or it was used: unproven', () => {
    expect(verdicts(marked({ self: OLD }, { ended: undefined }))[ORPH]).toMatchObject({ kind: 'unproven', why: expect.stringContaining('may still be running') });
    expect(verdicts(marked({ self: OLD, uses: uses({ [ORPH]: use(MIN) }) }))[ORPH]).toMatchObject({ why: expect.stringContaining('never recorded was never handed to anyone') });
    expect(kinds(marked({ self: OLD, uses: uses({ [ORPH]: use(MIN) }) }))[ORPH]).toBe('unproven');
  });

  it('the key the destinations are taken to hold is never a provable candidate of the marker', () => {
    expect(judge(marked()).current?.id).toBe(OLD);
    expect(judge(marked({}, { ended: undefined })).current?.id).toBe(ORPH);
  });
});

// ---- the plan, on the verdicts ------------------------------------------------------------------------------------

describe('plan: what the run does with the verdicts', () => {
  const state = (k: AccessKey, verdict: KeyState['verdict'] = { kind: 'unproven', why: 'nothing is known about it' }, record?: KeyRecord): KeyState => ({
    key: k,
    record,
    lastUsed: undefined,
    makerEnded: undefined,
    verdict,
  });
  const planOf = (over: Partial<PlanInput>): Plan =>
    plan({
      user: 'deployer',
      keys: [],
      self: undefined,
      resume: undefined,
      destinations: [],
      maxAgeDays: 0,
      keyLimit: 'delete-inactive',
      previousKey: 'delete',
      rewrite: undefined,
      reversedHere: new Set(),
      now: NOW,
      ...over,
    });
  const rotation = (p: Plan) => {
    if (p.action !== 'rotate') throw new Error(`a skip: ${p.reason}`);
    return p;
  };
  const error = (over: Partial<PlanInput>) => {
    try {
      planOf(over);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('no error');
  };
  const pendingVerdict = (over: Partial<Pending> = {}): Pending => ({
    kind: 'pending',
    reason: 'staged retirement',
    successor: CUR,
    handover: NOW - H,
    grace: 24,
    dueAt: NOW + 23 * H,
    due: false,
    inUse: false,
    holders: [],
    kept: false,
    missing: [{ code: 'handover too recent', text: 'the handover is not yet 24 h old (IAM time)' }],
    ...over,
  });
  /** A destination this run wrote as a pair of `id`. */
  const writtenWith = (label: string, id: string, ago = 200 * H) => {
    const d = dest(label, ago);
    d.ledger.id = { kind: 'key', keyId: id };
    d.ledger.secret = { kind: 'key', keyId: id };
    return d;
  };

  it('the current key\'s own record decides late writes, not another key\'s', () => {
    const made = NOW - 2 * 86_400_000;
    const other = state(key(OLD, 100 * 86_400_000), { kind: 'unproven', why: 'x' }, { created: iso(made), handover: iso(made + 5000) });
    const cur = state(key(CUR, 2 * 86_400_000), { kind: 'current' });
    const web = destinationRecord({ label: 'octo/web', create: false, held: 'both', oldestUpdate: made + 1000, newestUpdate: made + 86_400_000 });
    // With a second Active key the reason is that key; the other's handover is not the current one's.
    expect(rotation(planOf({ keys: [other, cur], keyLimit: 'delete-oldest', maxAgeDays: 30, destinations: [web] })).reason).toBe(
      `IAM user deployer has a second Active key (${OLD})`,
    );
    const inactive = state(key(OLD, 100 * 86_400_000, 'Inactive'), { kind: 'unproven', why: 'x' }, { created: iso(made), handover: iso(made + 5000) });
    expect(planOf({ keys: [inactive, cur], maxAgeDays: 30, destinations: [web] }).action).toBe('skip');
  });

  it('a resumed rotation: the key the job signs in with is current, every other key previous, retired by its own row', () => {
    const resume = { key: key(NEW, 10 * MIN), record: { created: iso(NOW - 10 * MIN) }, previous: key(OLD, 100 * H) };
    const keys = [state(key(NEW, 10 * MIN), { kind: 'resumed', previous: OLD }), state(key(OLD, 100 * H), { kind: 'current' })];
    expect(planOf({ keys, resume, self: NEW })).toEqual({
      action: 'rotate',
      reason: `an earlier run made ${NEW}, which this job signs in with, and ended before every destination held it: this run finishes that rotation`,
      current: resume.key,
      orphan: undefined,
      moveOff: [],
      makeRoom: undefined,
      makeRoomBreaks: false,
      previous: [key(OLD, 100 * H)],
      reasons: { previous: 'replaced by a resumed rotation' },
      previousKey: 'delete',
      resume: resume.key,
    });
    // (More than one previous key, a state IAM does not allow: oldest first.)
    const three = [...keys, state(key(CUR, 50 * H), { kind: 'current' })];
    expect(rotation(planOf({ keys: three, resume, self: NEW })).previous.map((k) => k.id)).toEqual([OLD, CUR]);
    const handedOver = { ...resume, record: { created: iso(NOW - 10 * MIN), handover: iso(NOW - 9 * MIN) } };
    expect(planOf({ keys, resume: handedOver, self: NEW, previousKey: 'deactivate' })).toMatchObject({
      reason: `an earlier run made ${NEW}, which this job signs in with, and ended before it retired ${OLD}: this run finishes that rotation`,
      previousKey: 'deactivate',
    });
  });

  it('a plain rotation retires the previous keys by "replaced by this run"; room made with an Inactive key by consent', () => {
    expect(planOf({ keys: [state(key(OLD, 100 * H), { kind: 'current' })] })).toEqual({
      action: 'rotate',
      reason: 'max-age-days is 0: always rotate',
      current: key(OLD, 100 * H),
      orphan: undefined,
      moveOff: [],
      makeRoom: undefined,
      makeRoomBreaks: false,
      previous: [key(OLD, 100 * H)],
      reasons: { previous: 'replaced by this run' },
      previousKey: 'delete',
    });
    const room = rotation(planOf({ keys: [state(key(OLD, 100 * H), { kind: 'current' }), state(key(CUR, 200 * H, 'Inactive'))] }));
    expect([room.makeRoom?.id, room.makeRoomBreaks, room.reasons]).toEqual([CUR, false, { makeRoom: 'consent: key-limit delete-inactive', previous: 'replaced by this run' }]);
    const oldest = rotation(planOf({ keyLimit: 'delete-oldest', keys: [state(key(CUR, 10 * H), { kind: 'current' }), state(key(OLD, 100 * H))] }));
    expect([oldest.makeRoom?.id, oldest.makeRoomBreaks, oldest.reasons]).toEqual([OLD, true, { makeRoom: 'consent: key-limit delete-oldest', previous: 'replaced by this run' }]);
    expect(oldest.previous).toEqual([key(CUR, 10 * H)]);
  });

  it('of two Inactive keys, one this run deactivated on a marker or a window: the other makes room', () => {
    const keys = [state(key(OLD, 100 * H), { kind: 'current' }), state(key(CUR, 50 * H, 'Inactive')), state(key(ORPH, 200 * H, 'Inactive'))];
    expect(rotation(planOf({ keys, reversedHere: new Set([ORPH]) })).makeRoom?.id).toBe(CUR);
    expect(rotation(planOf({ keys })).makeRoom?.id).toBe(ORPH);
  });

  it('the only room a key this run deactivated on a marker or a window: no rotation this run, said so; without a current key, an error', () => {
    const keys = [state(key(OLD, 100 * H), { kind: 'current' }), state(key(ORPH, 10 * MIN, 'Inactive'))];
    expect(planOf({ keys, reversedHere: new Set([ORPH]) })).toEqual({
      action: 'skip',
      current: key(OLD, 100 * H),
      reason:
        `max-age-days is 0: always rotate; but no room for a new key in this run: ${ORPH} was deactivated by this run (a reversible ` +
        'step: nothing proves whose it is) and is deleted by a later run to make room (key-limit: delete-inactive), unless someone makes it Active again',
    });
    expect(error({ keys: [state(key(OLD, 100 * H, 'Inactive')), state(key(ORPH, 10 * MIN, 'Inactive'))], reversedHere: new Set([ORPH, OLD]) })).toBe(
      `IAM user deployer has no Active key and no room for a new one: this run deactivated ${OLD}, which only a later run deletes to make room ` +
        '(or delete it by hand once you know nobody holds it).',
    );
  });

  it("an earlier run's orphan goes first, whatever key-limit says; a rotator's holders are rewritten, a self-rotation moves them off", () => {
    const api = dest('octo/api', MIN);
    const orphanOf = (reason: 'orphan of a finished run' | 'orphan held by destinations this run rewrites', holders: DestinationRecord[]) =>
      state(key(ORPH, 2 * H), { kind: 'orphan', reason, holders });
    const rotator = rotation(planOf({ keyLimit: 'fail', keys: [state(key(OLD, 100 * H), { kind: 'current' }), orphanOf('orphan held by destinations this run rewrites', [api])] }));
    expect([rotator.orphan?.key.id, rotator.moveOff, rotator.orphanBreaks, rotator.previous, rotator.makeRoomBreaks]).toEqual([ORPH, [], [api], [key(OLD, 100 * H)], false]);
    const self = rotation(planOf({ self: OLD, keys: [state(key(OLD, 100 * H), { kind: 'current' }), orphanOf('orphan of a finished run', [api])] }));
    expect([self.orphan?.key.id, self.moveOff, self.orphanBreaks]).toEqual([ORPH, [api], undefined]);
    // A key only a create marker speaks for is never deleted here (the retire-due step deactivates it): no room then.
    const unrecorded = state(key(ORPH, 10 * MIN), { kind: 'orphan', reason: 'unrecorded key of a finished run', holders: [] });
    expect(error({ keys: [state(key(OLD, 100 * H), { kind: 'current' }), unrecorded] })).toContain(`nothing proves who holds ${ORPH} (made in the window of a create marker, which proves nothing)`);
    // No Active key at all: the orphan still goes first, not the older Inactive key nothing is known about.
    const none = rotation(planOf({ keys: [state(key(OLD, 100 * H, 'Inactive')), state(key(ORPH, 2 * H, 'Inactive'), { kind: 'orphan', reason: 'orphan of a finished run', holders: [] })] }));
    expect([none.orphan?.key.id, none.makeRoom]).toEqual([ORPH, undefined]);
  });

  it('two Active keys nothing proves: the error names the other key, the oldest other first, and the way out', () => {
    const selfOld = error({ self: OLD, keys: [state(key(OLD, 100 * H), { kind: 'current' }), state(key(CUR, 10 * H), { kind: 'unproven', why: 'no record' })] });
    expect(selfOld).toBe(
      `IAM user deployer has two Active access keys (${OLD} (Active), ${CUR} (Active)) and nothing proves who holds ${CUR} (no record): this run deletes ` +
        `no key on a guess. Find the holders of ${CUR} (its last use says when and where it was used) and delete or deactivate the key nobody ` +
        'uses, or retire it by hand (key-limit: delete-oldest is no way out here: the oldest key is the one this job authenticates with).',
    );
    const rotator = error({ keys: [state(key(OLD, 100 * H)), state(key(CUR, 10 * H), { kind: 'current' })] });
    expect(rotator).toContain(`nothing proves who holds ${OLD} (nothing is known about it)`);
    expect(rotator).toMatch(/or rerun with key-limit: delete-oldest, which deletes the oldest key first \(its holders stop working until this run rewrites them\)\.$/);
    expect(error({ keyLimit: 'fail', keys: [state(key(OLD, 100 * H)), state(key(CUR, 10 * H))] })).toBe(
      `IAM user deployer already has 2 access keys (${OLD} (Active), ${CUR} (Active)), the IAM limit, and key-limit is 'fail': delete one, or set key-limit: delete-inactive or delete-oldest.`,
    );
  });

  it('no room while a handed-over key waits: each says what it waits for, and what a person can do', () => {
    const current = state(key(CUR, 10 * H), { kind: 'current' });
    const waiting = (p: Partial<Pending>) => error({ keys: [state(key(OLD, 100 * H), pendingVerdict(p)), current] });
    const head = `IAM user deployer has 2 access keys (${OLD} (Active), ${CUR} (Active)) and no room for a new key: `;
    expect(waiting({})).toBe(
      `${head}${OLD} is pending retirement (handed over to ${CUR}; retire-after-hours not yet passed): rerun once it is due, not before ${new Date(NOW + 23 * H).toISOString()} (IAM time), or retire it by hand.`,
    );
    expect(waiting({ inUse: true })).toContain('(handed over to AKIACUR0000000000002; still in use): rerun once it is due');
    expect(waiting({ kept: true })).toBe(`${head}${OLD} was handed over to ${CUR} and previous-key is keep: no run with these inputs retires it.`);
    expect(waiting({ holders: [dest('octo/web', 200 * H)], dueAt: undefined })).toBe(
      `${head}${OLD} was handed over to ${CUR}, but octo/web may hold it (last written before ${CUR} existed): it is not retired while a destination ` +
        `may hold it. A self-rotation that signs in with ${CUR} gives octo/web its pair first; or, once you know octo/web no longer uses it, delete it: ` +
        `aws iam delete-access-key --user-name deployer --access-key-id ${OLD}.`,
    );
    expect(waiting({ holders: [dest('octo/web', 200 * H), dest('octo/ops', 200 * H)], dueAt: undefined })).toContain('once you know octo/web, octo/ops no longer use it, delete it');
    // Two keys waiting (a state IAM does not allow, which the words still cover): each said.
    expect(error({ keys: [state(key(OLD, 100 * H), pendingVerdict({ kept: true })), state(key(NEW, 90 * H), pendingVerdict({ kept: true })), current] })).toContain(
      `previous-key is keep: no run with these inputs retires it; ${NEW} was handed over`,
    );
    expect(
      waiting({
        dueAt: undefined,
        missing: [
          { code: 'last use unknown', text: 'a' },
          { code: 'keys changed', text: 'b' },
        ],
      }),
    ).toBe(`${head}${OLD} is pending retirement (handed over to ${CUR}) but not retired: a; b. Retire it by hand once you know nothing uses it.`);
    // An Inactive key waiting is no obstacle: it makes room.
    expect(rotation(planOf({ keys: [state(key(OLD, 100 * H, 'Inactive'), pendingVerdict({})), current] })).makeRoom?.id).toBe(OLD);
  });

  it('destinations this run wrote hold what it wrote: not stale nor lacking when the current key; stale when another', () => {
    const keys = [state(key(CUR, 2 * 86_400_000), { kind: 'current' })];
    const mine = writtenWith('octo/api', CUR);
    mine.prepared.held = 'none';
    expect(planOf({ keys, maxAgeDays: 30, destinations: [mine] })).toMatchObject({ action: 'skip' });
    expect(rotation(planOf({ keys, maxAgeDays: 30, destinations: [writtenWith('octo/api', OLD)] })).reason).toBe(
      `destination(s) hold secrets written before the current key ${CUR} was created: octo/api`,
    );
  });

  it("late writes: after the record's GitHub time of the handing run's last write (a second is one write), else after the handover and a minute", () => {
    const made = NOW - 2 * 86_400_000;
    const keys = (extra: Partial<KeyRecord>) => [state(key(CUR, 2 * 86_400_000), { kind: 'current' }, { created: iso(made), handover: iso(made + 5000), ...extra })];
    const at = (ms: number) => destinationRecord({ label: 'octo/web', create: false, held: 'both', oldestUpdate: made + 1000, newestUpdate: ms });
    const decide = (extra: Partial<KeyRecord>, update: number) => planOf({ keys: keys(extra), maxAgeDays: 30, destinations: [at(update)] });
    expect(decide({ written: iso(made + 3000) }, made + 4000).action).toBe('skip');
    expect(rotation(decide({ written: iso(made + 3000) }, made + 4001)).reason).toBe(
      `destination(s) were written after the current key ${CUR} was handed over (${new Date(made + 5000).toISOString()}, its record): nothing proves they hold it: octo/web`,
    );
    expect(decide({}, made + 5000 + 60_000).action).toBe('skip');
    expect(decide({}, made + 5000 + 60_001).action).toBe('rotate');
    // Only a destination holding both of a pair is judged so; one this run wrote holds what it wrote; a superseded
    // key's handover (a previous key's record) is no handover of the current one.
    const partial = destinationRecord({ label: 'octo/web', create: false, held: 'partial', oldestUpdate: made + 1000, newestUpdate: made + 86_400_000 });
    expect(rotation(planOf({ keys: keys({}), maxAgeDays: 30, destinations: [partial] })).reason).toContain('lack the access key id or the secret access key');
    const rewritten = at(made + 86_400_000);
    rewritten.ledger.id = { kind: 'key', keyId: CUR };
    rewritten.ledger.secret = { kind: 'key', keyId: CUR };
    expect(planOf({ keys: keys({}), maxAgeDays: 30, destinations: [rewritten] }).action).toBe('skip');
    expect(planOf({ keys: keys({ supersededBy: OLD }), maxAgeDays: 30, destinations: [at(made + 86_400_000)] }).action).toBe('skip');
  });

  it('the reasons, in their order of precedence', () => {
    const cur = state(key(CUR, 86_400_000), { kind: 'current' });
    expect(rotation(planOf({ keys: [cur], destinations: [destinationRecord({ label: 'octo/new', create: true, held: 'none', oldestUpdate: undefined })] })).reason).toBe(
      'new destination(s): octo/new',
    );
    expect(rotation(planOf({ keys: [state(key(CUR, H, 'Inactive'))] })).reason).toBe('IAM user deployer has no active access key');
    expect(rotation(planOf({ keys: [cur], maxAgeDays: 30, rewrite: { id: OLD, at: iso(NOW) } })).reason).toBe(
      `an earlier run deleted ${OLD} at ${iso(NOW)} to make room and did not finish: destinations may hold it`,
    );
    expect(rotation(planOf({ keys: [cur, state(key(OLD, 100 * H))], keyLimit: 'delete-oldest', maxAgeDays: 30 })).reason).toBe(
      `IAM user deployer has a second Active key (${OLD})`,
    );
    // (Three keys: a state IAM does not allow, which the words still cover.)
    expect(error({ keys: [cur, state(key(OLD, 100 * H)), state(key(NEW, 50 * H))], keyLimit: 'fail', maxAgeDays: 30 })).toContain('already has 3 access keys');
    const many = () => planOf({ keys: [cur, state(key(OLD, 100 * H)), state(key(NEW, 50 * H))], keyLimit: 'delete-oldest', maxAgeDays: 30 });
    expect(rotation(many()).reason).toBe(`IAM user deployer has a second Active key (${OLD}, ${NEW})`);
    // A key waiting for retirement is no second key: a young current key skips.
    expect(planOf({ keys: [cur, state(key(OLD, 100 * H), pendingVerdict({}))], maxAgeDays: 30 }).action).toBe('skip');
    expect(rotation(planOf({ keys: [state(key(CUR, 40 * 86_400_000), { kind: 'current' })], maxAgeDays: 30 })).reason).toBe(
      `current key ${CUR} is 40 day(s) old (max-age-days: 30)`,
    );
  });
});

describe('what a verdict needs read first (the job\'s own key)', () => {
  it("the job's own key's last use is never read, whatever its record says", () => {
    const keys = [key(OLD, 10 * H), key(CUR, 5 * H)];
    expect(lastUseWanted(keys, records({ [OLD]: { created: iso(NOW - 10 * H) } }), undefined, OLD)).toEqual([CUR]);
    // No Active key at all: every key but the job's own.
    expect(lastUseWanted([key(OLD, 10 * H, 'Inactive'), key(CUR, 5 * H, 'Inactive')], new Map(), undefined, undefined)).toEqual([OLD, CUR]);
  });

  it('three Active keys, all orphans (a state IAM does not allow, which the rule still covers): the newest', () => {
    expect(currentKey([key(OLD, 10 * H), key(CUR, 5 * H), key(NEW, H)], undefined, new Set([OLD, CUR, NEW]))?.id).toBe(NEW);
  });
});
