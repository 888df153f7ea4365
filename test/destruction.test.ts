/**
 * The destruction policy (src/keys/destruction.ts): every row of POLICY proven in full, then each of its checks broken on
 * its own (and at its boundaries), the helpers a refusal is written with; and `destroy` in-process against the memory
 * IAM: it lists the keys first, acts only when the reason is proven and the run was not cancelled (a rollback excepted),
 * and otherwise sends nothing that destroys.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { listAccessKeys } from '../src/aws/aws.js';
import { Cancellation, Cancelled } from '../src/shared/cancel.js';
import type { RotateContext } from '../src/config/context.js';
import { type Destination, label } from '../src/github/destinations.js';
import {
  type DestinationFacts,
  type Facts,
  MAX_RUN_MS,
  type Missing,
  POLICY,
  RECORD_CHECKS,
  type Reason,
  Unproven,
  destroy,
  factsOf,
  knownAbout,
  mayHold,
  missingEvidence,
} from '../src/keys/destruction.js';
import { CREATE_WINDOW_MS } from '../src/keys/create-marker.js';
import { ActionError } from '../src/shared/errors.js';
import type { Inputs } from '../src/config/inputs.js';
import { Journal } from '../src/rotation/journal.js';
import type { AccessKey } from '../src/keys/plan.js';
import type { Prepared } from '../src/github/preflight.js';
import type { KeyRecord } from '../src/keys/provenance.js';
import type { DestinationResult, RotationResult } from '../src/rotation/result.js';
import { type RunState, newRunState } from '../src/rotation/run-state.js';
import { fakeClock, recorder } from './support/harness.js';
import { type MemoryKey, awsFailure, memoryIam } from './support/memory-iam.js';
import { memoryClients } from './support/memory-world.js';

const START = Date.parse('2026-11-27T12:00:00Z');
const H = 3_600_000;
const at = (offsetMs: number) => new Date(START + offsetMs).toISOString();
const OLD = 'AKIAOLD0000000000001';
const CUR = 'AKIACUR0000000000002';
const NEW = 'AKIANEW0000000000003';
const ORPH = 'AKIAORPH000000000004';
const OTHER = 'AKIAOTHER00000000005';
const PREFIX = 'rotate-aws-access-key:';

const key = (id: string, createdAgo: number, status: 'Active' | 'Inactive' = 'Active'): AccessKey => ({
  id,
  status,
  created: new Date(START - createdAgo),
});
const dest = (label: string, d: Partial<DestinationFacts> = {}): DestinationFacts => ({
  label,
  updates: [],
  writtenWith: undefined,
  touchedWith: [],
  ...d,
});
const use = (ago: number) => ({ date: at(-ago), service: 's3', region: 'eu-west-1' });

/** For each reason, facts that prove it in full. Key lists and expected sets are out of alphabetical order. */
const PROVEN: Record<Reason, () => Facts> = {
  'replaced by this run': () => ({
    key: key(OLD, 100 * H),
    keys: [key(OLD, 100 * H), key(NEW, H)],
    iamNow: START,
    destinations: [
      dest('octo/api', { updates: [START], writtenWith: NEW, touchedWith: [NEW, NEW] }),
      dest('octo/web', { updates: [START], writtenWith: NEW, touchedWith: [NEW, NEW] }),
    ],
    newKey: { id: NEW, verified: true, handedOver: true },
    ownHolderChecked: true,
    expected: new Set([OLD, NEW]),
  }),
  'replaced by a resumed rotation': () => ({
    key: key(OLD, 100 * H),
    keys: [key(OLD, 100 * H), key(NEW, 0.5 * H)],
    iamNow: START,
    destinations: [
      dest('octo/api', { updates: [START], writtenWith: NEW, touchedWith: [NEW, NEW] }),
      dest('octo/web', { updates: [START], writtenWith: NEW, touchedWith: [NEW, NEW] }),
    ],
    resumed: { id: NEW, record: { created: at(-0.5 * H), by: 'octo/api/42/1' }, runEnded: START - 0.25 * H, signedIn: true },
    ownHolderChecked: true,
    expected: new Set([OLD, NEW]),
  }),
  'staged retirement': () => ({
    key: key(OLD, 100 * H),
    keys: [key(OLD, 100 * H), key(CUR, 50 * H)],
    iamNow: START,
    destinations: [
      // Written after the successor existed: it holds the successor (or something newer), not this key.
      dest('octo/api', { updates: [START - 10 * H] }),
      // Written by this run: what it holds is known, however old its secrets were.
      dest('octo/web', { updates: [START - 60 * H], writtenWith: CUR, touchedWith: [CUR, CUR] }),
    ],
    record: { supersededBy: CUR, handover: at(-30 * H) },
    lastUsed: use(30 * H),
    retireAfterHours: 24,
    expected: new Set([OLD, CUR]),
  }),
  'never handed out': () => ({
    key: key(NEW, 60_000),
    keys: [key(OLD, 100 * H), key(NEW, 60_000)],
    iamNow: START,
    destinations: [dest('octo/api', { touchedWith: [OLD] }), dest('octo/web')],
    newKey: { id: NEW, verified: false, handedOver: false },
  }),
  'orphan of a finished run': () => ({
    key: key(ORPH, 2 * H),
    keys: [key(ORPH, 2 * H), key(CUR, 100 * H)],
    iamNow: START,
    destinations: [
      dest('octo/api', { updates: [START - 3 * H] }),
      // Rewritten by this run with another key: it no longer holds the orphan.
      dest('octo/web', { updates: [START], writtenWith: CUR }),
    ],
    record: { created: at(-2 * H) },
    lastUsed: null,
    expected: new Set([ORPH, CUR]),
  }),
  'unrecorded key of a finished run': () => ({
    key: key(ORPH, 10 * 60_000),
    keys: [key(ORPH, 10 * 60_000), key(CUR, 100 * H)],
    iamNow: START,
    destinations: [
      dest('octo/api', { updates: [START - 3 * H] }),
      // Rewritten by this run with another key: it no longer holds the orphan.
      dest('octo/web', { updates: [START], writtenWith: CUR }),
    ],
    // The marker of a run killed right after its CreateAccessKey: 3 s before the key's CreateDate; that run ended.
    creation: { by: 'octo/api/42/1', at: START - 10 * 60_000 - 3000, keys: [CUR], ended: START - 5 * 60_000, candidates: [ORPH] },
    lastUsed: null,
    expected: new Set([ORPH, CUR]),
  }),
  'orphan held by destinations this run rewrites': () => ({
    key: key(ORPH, 2 * H),
    keys: [key(ORPH, 2 * H), key(CUR, 100 * H)],
    iamNow: START,
    // Written by the earlier run after the orphan's creation: it may hold it.
    destinations: [dest('octo/api', { updates: [START - H] }), dest('octo/web', { updates: [START - 3 * H] })],
    record: { created: at(-2 * H) },
    lastUsed: null,
    breaking: ORPH,
    expected: new Set([ORPH, CUR]),
  }),
  'consent: key-limit delete-oldest': () => ({
    key: key(OLD, 100 * H),
    keys: [key(OLD, 100 * H), key(CUR, 50 * H)],
    iamNow: START,
    destinations: [],
    keyLimit: 'delete-oldest',
    expected: new Set([OLD, CUR]),
  }),
  'consent: key-limit delete-inactive': () => ({
    key: key(OLD, 100 * H, 'Inactive'),
    keys: [key(OLD, 100 * H, 'Inactive'), key(CUR, 50 * H)],
    iamNow: START,
    destinations: [],
    expected: new Set([OLD, CUR]),
  }),
};

type Change = (f: Facts) => void;
const changed = (reason: Reason, change: Change) => {
  const f = PROVEN[reason]();
  change(f);
  return f;
};
/** Replace key `id` (in `keys`, and as the key itself when it is that one). */
const relist = (f: Facts, k: AccessKey) => {
  f.keys = f.keys.map((x) => (x.id === k.id ? k : x));
  if (f.key.id === k.id) f.key = k;
};
const unchangedFails = 'the keys IAM lists are not the ones this run expects';

/** Per reason: one change of the proven facts per check, breaking that check alone, and a stable part of its sentence. */
const BREAKS: Record<Reason, [string, Change, string][]> = {
  'replaced by this run': [
    [
      'the new key is the key itself',
      (f) => {
        f.newKey = { id: OLD, verified: true, handedOver: true };
        for (const d of f.destinations) d.writtenWith = OLD;
      },
      'this run created no new key to replace it',
    ],
    ['the new key was not verified', (f) => void (f.newKey!.verified = false), 'the new key was not verified by STS'],
    ['the new key is Inactive', (f) => relist(f, key(NEW, H, 'Inactive')), `the new key ${NEW} is no longer Active in IAM`],
    ['a destination holds another key', (f) => void (f.destinations[1].writtenWith = OLD), 'not every destination holds the new key (octo/web)'],
    ["the job's holder check did not pass", (f) => void (f.ownHolderChecked = false), "the job's own holder check did not pass"],
    [
      'it is a young key another run made and never handed over',
      (f) => {
        f.record = { created: '2026-11-27T11:30:00Z' };
        relist(f, key(OLD, 0.5 * H));
      },
      'may still be writing it',
    ],
    ['IAM lists a key fewer', (f) => void (f.expected = new Set([OLD, NEW, OTHER])), unchangedFails],
  ],
  'replaced by a resumed rotation': [
    ['the key is the one being finished', (f) => void (f.key = key(NEW, 0.5 * H)), "this run finishes no earlier run's rotation"],
    ['this run did not sign in with it', (f) => void (f.resumed!.signedIn = false), `this run did not sign in with ${NEW}`],
    ['the key being finished is Inactive', (f) => relist(f, key(NEW, 0.5 * H, 'Inactive')), `the new key ${NEW} is no longer Active in IAM`],
    [
      'its record says it was handed over',
      (f) => void (f.resumed!.record = { created: at(-0.5 * H), handover: at(-0.2 * H) }),
      `no record read before this run changed anything says this action made ${NEW}`,
    ],
    ['nothing says the run that made it ended, and it is young', (f) => void (f.resumed!.runEnded = undefined), 'may still be running'],
    ['the key is newer than the one being finished', (f) => relist(f, key(OLD, 0.1 * H)), `it is newer than ${NEW}`],
    ['a destination holds another key', (f) => void (f.destinations[1].writtenWith = OLD), `not every destination holds ${NEW} (octo/web)`],
    ["the job's holder check did not pass", (f) => void (f.ownHolderChecked = false), "the job's own holder check did not pass"],
    ['IAM lists a key fewer', (f) => void (f.expected = new Set([OLD, NEW, OTHER])), unchangedFails],
  ],
  'staged retirement': [
    ['the successor is Inactive', (f) => relist(f, key(CUR, 50 * H, 'Inactive')), `its successor ${CUR} is not an Active key of the user`],
    ['the successor was created after the handover', (f) => relist(f, key(CUR, 29 * H)), 'the recorded handover (2026-11-26T06:00:00.000Z) is not after the CreateDate of its successor (2026-11-26T07:00:00.000Z) and of the key itself'],
    ['the key is younger than its successor', (f) => relist(f, key(OLD, 40 * H)), 'is not after the CreateDate of its successor'],
    [
      'the handover lies in the future (with retire-after-hours below zero: otherwise it is not old enough either)',
      (f) => {
        f.record!.handover = at(60_001); // beyond the minute of slack a whole-second Date header needs
        f.retireAfterHours = -1;
      },
      "the recorded handover lies in the future (IAM's time is 2026-11-27T12:00:00.000Z)",
    ],
    [
      'a destination was written before the successor existed',
      (f) => void (f.destinations[0].updates = [START - 50 * H - 1, START - 10 * H]),
      'destination(s) octo/api were last written before its successor existed, so they may hold it',
    ],
    ['the handover is 23 h old', (f) => void (f.record!.handover = at(-23 * H)), 'the handover is not yet 24 h old (IAM time)'],
    ['its last use is unknown', (f) => void (f.lastUsed = undefined), 'its last use is unknown (iam:GetAccessKeyLastUsed)'],
    ['it was used 23 h ago', (f) => void (f.lastUsed = use(23 * H)), `it was last used ${at(-23 * H)} (s3), less than 24 h ago (IAM time)`],
    ['IAM lists another key', (f) => void f.keys.push(key(OTHER, H)), unchangedFails],
  ],
  'never handed out': [
    ['this run created another key', (f) => void (f.newKey!.id = OTHER), 'this run did not create it'],
    ['it was handed over', (f) => void (f.newKey!.handedOver = true), 'it was handed over'],
    ['a destination was given it', (f) => void (f.destinations[1].touchedWith = [OLD, NEW]), 'destination(s) octo/web were given it (or may have been)'],
  ],
  'orphan of a finished run': [
    ['no record', (f) => void (f.record = undefined), 'no record says this action created it and never handed it over'],
    [
      "its record's creation time is not IAM's",
      (f) => void (f.record = { created: at(-2 * H - 61_000) }),
      `its record says it was created ${at(-2 * H - 61_000)}, but IAM says ${at(-2 * H)}: the record is not this key's`,
    ],
    [
      'it is one ms younger than a run may last',
      (f) => {
        relist(f, key(ORPH, MAX_RUN_MS - 1));
        f.record = { created: at(-MAX_RUN_MS + 1) };
      },
      "it is younger than the action's maximum run time (60 minutes; created 2026-11-27T11:00:00.001Z), it is no earlier attempt of this workflow run, and GitHub does not say the run that made it has ended, so that run may still be writing it",
    ],
    ['its last use is unknown', (f) => void (f.lastUsed = undefined), 'its last use is unknown (iam:GetAccessKeyLastUsed)'],
    [
      'it was used one ms after its run could have ended',
      (f) => void (f.lastUsed = use(2 * H - MAX_RUN_MS - 1)),
      `it was used ${at(-H + 1)} (s3), after the run that made it ended: something holds it`,
    ],
    [
      'a destination was written after its creation',
      (f) => void (f.destinations[0].updates = [START - 3 * H, START - H]),
      'destination(s) octo/api were written after its creation and may hold it',
    ],
    ['IAM lists the keys differently', (f) => void (f.expected = new Set([ORPH])), unchangedFails],
  ],
  'unrecorded key of a finished run': [
    ['a tag names it', (f) => void (f.record = { created: at(-10 * 60_000) }), 'a tag names it'],
    ['no create marker', (f) => void (f.creation = undefined), 'no create marker of the action (rotate-aws-access-key:creating)'],
    [
      'made more than the window after the marker',
      (f) => void (f.creation = { ...f.creation!, at: START - 10 * 60_000 - CREATE_WINDOW_MS - 1000 }),
      `within 2 minutes before IAM made it (CreateDate ${at(-10 * 60_000)})`,
    ],
    [
      'made before the marker',
      (f) => void (f.creation = { ...f.creation!, at: START - 10 * 60_000 + 2000 }),
      'no create marker of the action',
    ],
    [
      'another key without a record was made in the window',
      (f) => void (f.creation = { ...f.creation!, candidates: [ORPH, OTHER] }),
      `it is not the only key without a record made in that window (${ORPH}, ${OTHER})`,
    ],
    [
      'the run the marker names may still run',
      (f) => void (f.creation = { ...f.creation!, ended: undefined }),
      'the run the marker names (octo/api/42/1) may still be running',
    ],
    [
      'GitHub says that run ended before the key existed',
      (f) => void (f.creation = { ...f.creation!, ended: START - 11 * 60_000 }),
      'may still be running',
    ],
    ['its last use is unknown', (f) => void (f.lastUsed = undefined), 'its last use is unknown (iam:GetAccessKeyLastUsed)'],
    ['it was used', (f) => void (f.lastUsed = use(60_000)), `it was used ${at(-60_000)} (s3): a key the action never recorded was never handed to anyone`],
    [
      'a destination was written after its creation',
      (f) => void (f.destinations[0].updates = [START - 60_000]),
      'destination(s) octo/api were written after its creation and may hold it',
    ],
    ['IAM lists the keys differently', (f) => void (f.expected = new Set([ORPH])), unchangedFails],
  ],
  'orphan held by destinations this run rewrites': [
    ['no record', (f) => void (f.record = undefined), 'no record says this action created it and never handed it over'],
    [
      "its record's creation time is not IAM's",
      (f) => void (f.record = { created: at(-2 * H - 61_000) }),
      'the record is not this key\'s',
    ],
    [
      'it is one ms younger than a run may last',
      (f) => {
        relist(f, key(ORPH, MAX_RUN_MS - 1));
        f.record = { created: at(-MAX_RUN_MS + 1) };
        f.destinations[0].updates = [START];
      },
      'so that run may still be writing it',
    ],
    ['its last use is unknown', (f) => void (f.lastUsed = undefined), 'its last use is unknown (iam:GetAccessKeyLastUsed)'],
    ['it was used after its run could have ended', (f) => void (f.lastUsed = use(2 * H - MAX_RUN_MS - 1)), 'after the run that made it ended: something holds it'],
    [
      'this run did not record that its holders lose it',
      (f) => void (f.breaking = undefined),
      'destination(s) octo/api may hold it, and this run did not record that they lose it until it rewrites them',
    ],
    ['IAM lists the keys differently', (f) => void (f.expected = new Set([ORPH])), unchangedFails],
  ],
  'consent: key-limit delete-oldest': [
    ['key-limit is not delete-oldest', (f) => void (f.keyLimit = 'delete-inactive'), 'key-limit is not delete-oldest'],
    ['another key is older', (f) => void (f.key = f.keys[1]), 'it is not the oldest key'],
    ['the expected keys are unknown', (f) => void (f.expected = undefined), unchangedFails],
  ],
  'consent: key-limit delete-inactive': [
    ['IAM lists it as Active', (f) => relist(f, key(OLD, 100 * H)), 'IAM does not list it as Inactive'],
    ['IAM lists another key', (f) => void f.keys.push(key(OTHER, H)), unchangedFails],
  ],
};

const REASONS = Object.keys(POLICY) as Reason[];
const failing = (reason: Reason, f: Facts) => POLICY[reason].checks.flatMap((check, i) => (check(f) === undefined ? [] : [i]));

describe('missingEvidence: every row of POLICY', () => {
  it('the table has these reasons, each with a description and a todo', () => {
    expect(REASONS).toEqual([
      'replaced by this run',
      'replaced by a resumed rotation',
      'staged retirement',
      'never handed out',
      'orphan of a finished run',
      'unrecorded key of a finished run',
      'orphan held by destinations this run rewrites',
      'consent: key-limit delete-oldest',
      'consent: key-limit delete-inactive',
    ]);
    expect(REASONS.map((r) => POLICY[r].checks.length)).toEqual([7, 9, 8, 3, 7, 8, 7, 3, 2]);
  });

  it("is the table \"What may delete or deactivate a key\" of docs/how-it-behaves.md: one row per reason, its key named word for word", () => {
    const text = readFileSync(new URL('../docs/how-it-behaves.md', import.meta.url), 'utf8');
    const section = text.split('## What may delete or deactivate a key\n')[1].split('\n\n')[0].trim();
    const rows = section.split('\n').slice(2).map((line) => line.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, '')));
    const name = (reason: string) => reason.replace(/`/g, '').replace('key-limit: ', 'key-limit ').toLowerCase();
    expect(rows.map((r) => name(r[0]))).toEqual(REASONS);
    expect(rows.map((r) => r[1])).toEqual(REASONS.map((r) => POLICY[r].covers));
  });

  it.each(REASONS)('%s: the proven facts miss nothing', (reason) => {
    expect(missingEvidence(reason, PROVEN[reason]())).toEqual([]);
  });

  it.each(REASONS)('%s: a key IAM no longer lists is only that', (reason) => {
    const f = PROVEN[reason]();
    f.keys = f.keys.filter((k) => k.id !== f.key.id);
    f.newKey = undefined;
    expect(missingEvidence(reason, f)).toEqual([`IAM no longer lists ${f.key.id}`]);
  });

  it.each(REASONS)('%s: each change breaks one check, and every check is broken by one', (reason) => {
    const hit = BREAKS[reason].map(([, change]) => failing(reason, changed(reason, change)));
    for (const h of hit) expect(h).toHaveLength(1);
    expect(new Set(hit.flat())).toEqual(new Set(POLICY[reason].checks.map((_, i) => i)));
  });

  const cases = REASONS.flatMap((reason) => BREAKS[reason].map(([name, change, sentence]) => [reason, name, change, sentence] as const));
  it.each(cases)('%s: %s', (reason, _name, change, sentence) => {
    const missing = missingEvidence(reason, changed(reason, change));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toContain(sentence);
  });
});

/** missingEvidence after `change`, for the boundaries. */
const after = (reason: Reason, change: Change) => missingEvidence(reason, changed(reason, change));

describe('replaced by this run', () => {
  it('without a new key, every check about it fails', () => {
    expect(after('replaced by this run', (f) => void (f.newKey = undefined))).toEqual([
      'this run created no new key to replace it',
      'the new key was not verified by STS',
      'the new key undefined is no longer Active in IAM',
      'not every destination holds the new key (octo/api, octo/web)',
    ]);
  });

  it('the new key gone from IAM; a holder check not run; no expected keys', () => {
    expect(after('replaced by this run', (f) => void (f.keys = [f.keys[0]]))).toEqual([
      `the new key ${NEW} is no longer Active in IAM`,
      unchangedFails,
    ]);
    expect(after('replaced by this run', (f) => void (f.ownHolderChecked = undefined))).toEqual(["the job's own holder check did not pass"]);
    expect(after('replaced by this run', (f) => void (f.expected = undefined))).toEqual([unchangedFails]);
    expect(after('replaced by this run', (f) => void (f.expected = new Set([OLD])))).toEqual([unchangedFails]);
  });

  it('a previous key another run made and never handed over: kept while that run may still be writing it', () => {
    const young = (createdAgo: number) =>
      'another run of this action made it less than 60 minutes ago and never handed it over, and GitHub does not say ' +
      `that run has ended: it may still be writing it (a rerun retires it once that run has ended, at the latest from ${at(MAX_RUN_MS - createdAgo)}, IAM time)`;
    const previous = (createdAgo: number, r: KeyRecord | undefined, runEnded?: number) =>
      after('replaced by this run', (f) => {
        relist(f, key(OLD, createdAgo));
        f.record = r;
        f.runEnded = runEnded;
      });
    const made = { created: at(-30 * 60_000) };
    expect(previous(30 * 60_000, made)).toEqual([young(30 * 60_000)]);
    expect(previous(MAX_RUN_MS - 1, made)).toEqual([young(MAX_RUN_MS - 1)]);
    expect(previous(MAX_RUN_MS, made)).toEqual([]);
    expect(previous(30 * 60_000, made, START - 60_000)).toEqual([]);
    // Not a key another run made and never handed over: its age does not matter.
    expect(previous(30 * 60_000, undefined)).toEqual([]);
    expect(previous(30 * 60_000, {})).toEqual([]);
    expect(previous(30 * 60_000, { ...made, handover: at(-60_000) })).toEqual([]);
    expect(previous(30 * 60_000, { ...made, supersededBy: NEW })).toEqual([]);
  });

  it('a destination whose two secrets were written with different keys holds no pair of the new key', () => {
    expect(after('replaced by this run', (f) => void (f.destinations[0].writtenWith = undefined))).toEqual([
      'not every destination holds the new key (octo/api)',
    ]);
  });

  it('with no destinations, nothing is missing about them', () => {
    expect(after('replaced by this run', (f) => void (f.destinations = []))).toEqual([]);
  });
});

describe('staged retirement', () => {
  const staged = (change: Change) => after('staged retirement', change);

  it('is due exactly retire-after-hours after the handover, and not one ms before', () => {
    expect(staged((f) => void (f.record!.handover = at(-24 * H)))).toEqual([]);
    expect(staged((f) => void (f.record!.handover = at(-24 * H + 1)))).toEqual(['the handover is not yet 24 h old (IAM time)']);
  });

  it('is due exactly retire-after-hours after the last use, and not one ms before', () => {
    expect(staged((f) => void (f.lastUsed = use(24 * H)))).toEqual([]);
    expect(staged((f) => void (f.lastUsed = use(24 * H - 1)))).toEqual([
      `it was last used ${at(-24 * H + 1)} (s3), less than 24 h ago (IAM time)`,
    ]);
    expect(staged((f) => void (f.lastUsed = null))).toEqual([]);
  });

  it('with retire-after-hours 0: a handover at IAM\'s now is past; within the minute of slack it is not yet old; beyond, in the future', () => {
    const zero = (handover: string) =>
      staged((f) => {
        f.retireAfterHours = 0;
        f.lastUsed = null;
        f.record!.handover = handover;
      });
    expect(zero(at(0))).toEqual([]);
    expect(zero(at(1))).toEqual(['the handover is not yet 0 h old (IAM time)']);
    expect(zero(at(60_000))).toEqual(['the handover is not yet 0 h old (IAM time)']);
    expect(zero(at(60_001))).toEqual([
      "the recorded handover lies in the future (IAM's time is 2026-11-27T12:00:00.000Z)",
      'the handover is not yet 0 h old (IAM time)',
    ]);
  });

  it('without retire-after-hours, nothing is old enough', () => {
    expect(staged((f) => void (f.retireAfterHours = undefined))).toEqual([
      'the handover is not yet undefined h old (IAM time)',
      `it was last used ${at(-30 * H)} (s3), less than undefined h ago (IAM time)`,
    ]);
  });

  it('a successor made in the same whole second as the handover is fine (whole seconds), a second later is not', () => {
    expect(staged((f) => relist(f, key(CUR, 30 * H - 999)))).toEqual([]);
    expect(staged((f) => relist(f, key(CUR, 30 * H - 1000)))).toEqual([
      'the recorded handover (2026-11-26T06:00:00.000Z) is not after the CreateDate of its successor ' +
        '(2026-11-26T06:00:01.000Z) and of the key itself',
    ]);
  });

  it('the key may be as old as its successor (same ms), not one ms younger', () => {
    expect(staged((f) => relist(f, key(OLD, 50 * H)))).toEqual([]);
    expect(staged((f) => relist(f, key(OLD, 50 * H - 1)))).toEqual([expect.stringContaining('is not after the CreateDate of its successor')]);
  });

  it('no successor recorded: the record checks fail, and every destination may hold it', () => {
    expect(staged((f) => void (f.record = { handover: at(-30 * H) }))).toEqual([
      'its successor (none recorded) is not an Active key of the user',
      'the recorded handover (2026-11-26T06:00:00.000Z) is not after the CreateDate of its successor (unknown) and of the key itself',
      'destination(s) octo/api were last written before its successor existed, so they may hold it',
    ]);
  });

  it('a successor IAM does not list; an unreadable or missing handover', () => {
    expect(staged((f) => void (f.record!.supersededBy = OTHER))).toEqual([
      `its successor ${OTHER} is not an Active key of the user`,
      expect.stringContaining('CreateDate of its successor (unknown)'),
      expect.stringContaining('destination(s) octo/api were last written'),
    ]);
    const unreadable = [
      'the recorded handover (unreadable) is not after the CreateDate of its successor (2026-11-25T10:00:00.000Z) and of the key itself',
      "the recorded handover lies in the future (IAM's time is 2026-11-27T12:00:00.000Z)",
      'the handover is not yet 24 h old (IAM time)',
    ];
    expect(staged((f) => void (f.record!.handover = 'soon'))).toEqual(unreadable);
    expect(staged((f) => void (f.record = { supersededBy: CUR }))).toEqual(unreadable);
    expect(staged((f) => void (f.record = undefined))).toEqual([
      'its successor (none recorded) is not an Active key of the user',
      expect.stringContaining('(unreadable)'),
      expect.stringContaining('lies in the future'),
      expect.stringContaining('destination(s) octo/api'),
      expect.stringContaining('not yet 24 h old'),
    ]);
  });

  it("destinations: written in the successor's second counts as after it; several are named; none written is fine", () => {
    expect(staged((f) => void (f.destinations[0].updates = [START - 50 * H]))).toEqual([]);
    expect(staged((f) => void (f.destinations[0].updates = []))).toEqual([]);
    expect(
      staged((f) => {
        f.destinations[0].updates = [START - 51 * H];
        f.destinations[1].writtenWith = undefined;
      }),
    ).toEqual(['destination(s) octo/api, octo/web were last written before its successor existed, so they may hold it']);
  });

  it("a successor made within a second: a destination updated in that whole second counts as after it, one ms before as before", () => {
    expect(
      staged((f) => {
        relist(f, key(CUR, 50 * H - 500));
        f.destinations[0].updates = [START - 50 * H];
      }),
    ).toEqual([]);
    expect(
      staged((f) => {
        relist(f, key(CUR, 50 * H - 500));
        f.destinations[0].updates = [START - 50 * H - 1];
      }),
    ).toEqual([expect.stringContaining('destination(s) octo/api were last written before its successor existed')]);
  });
});

describe('RECORD_CHECKS', () => {
  const facts = (handover: string): Facts => ({ ...PROVEN['staged retirement'](), record: { supersededBy: CUR, handover } });
  it('a handover up to a minute past IAM\'s now is allowed (whole-second Date headers), a ms more is in the future', () => {
    expect(RECORD_CHECKS.map((c) => c(facts(at(0))))).toEqual([undefined, undefined, undefined]);
    expect(RECORD_CHECKS.map((c) => c(facts(at(60_000))))).toEqual([undefined, undefined, undefined]);
    expect(RECORD_CHECKS.map((c) => c(facts(at(60_001))))).toEqual([
      undefined,
      undefined,
      { code: 'handover in the future', text: "the recorded handover lies in the future (IAM's time is 2026-11-27T12:00:00.000Z)" },
    ]);
  });

  it("IAM's time unreadable", () => {
    expect(RECORD_CHECKS[2]({ ...facts(at(0)), iamNow: NaN })?.text).toBe("the recorded handover lies in the future (IAM's time is unreadable)");
  });
});

describe('never handed out', () => {
  const never = (change: Change) => after('never handed out', change);
  it("a write whose outcome is unknown ('?') counts as given; several destinations are named", () => {
    expect(never((f) => void (f.destinations[0].touchedWith = ['?']))).toEqual(['destination(s) octo/api were given it (or may have been)']);
    expect(
      never((f) => {
        f.destinations[0].touchedWith = [NEW, OLD];
        f.destinations[1].touchedWith = [OLD, '?'];
      }),
    ).toEqual(['destination(s) octo/api, octo/web were given it (or may have been)']);
  });

  it('without a new key of this run', () => {
    expect(never((f) => void (f.newKey = undefined))).toEqual(['this run did not create it', 'it was handed over']);
  });

  it('does not ask whether the keys changed (rolling back its own key is always safe)', () => {
    expect(never((f) => void (f.expected = new Set([OTHER])))).toEqual([]);
  });
});

describe('orphan of a finished run', () => {
  const orphan = (change: Change) => after('orphan of a finished run', change);
  const noRecord = 'no record says this action created it and never handed it over';

  it('a record that says it was handed over, superseded, or nothing at all is no proof', () => {
    expect(orphan((f) => void (f.record = { created: at(-2 * H), handover: at(-H) }))).toEqual([noRecord]);
    expect(orphan((f) => void (f.record = { created: at(-2 * H), supersededBy: CUR }))).toEqual([noRecord]);
    expect(orphan((f) => void (f.record = {}))).toEqual([noRecord]);
  });

  it('is one exactly MAX_RUN_MS old, last used exactly when its run could have ended at the latest', () => {
    expect(MAX_RUN_MS).toBe(60 * 60_000);
    expect(
      orphan((f) => {
        relist(f, key(ORPH, MAX_RUN_MS));
        f.record = { created: at(-MAX_RUN_MS) };
      }),
    ).toEqual([]);
    expect(orphan((f) => void (f.lastUsed = use(2 * H - MAX_RUN_MS)))).toEqual([]);
    expect(orphan((f) => void (f.lastUsed = use(2 * H)))).toEqual([]);
  });

  it("GitHub's word that its run ended proves a young key's run over, and bounds its last use instead of the age", () => {
    const young = (runEnded: number | undefined, lastUsed: ReturnType<typeof use> | null) =>
      orphan((f) => {
        relist(f, key(ORPH, 10 * 60_000));
        f.destinations[0].updates = [START - 20 * 60_000];
        f.record = { created: at(-10 * 60_000) };
        f.runEnded = runEnded;
        f.lastUsed = lastUsed;
      });
    expect(young(undefined, null)).toEqual([expect.stringContaining("it is younger than the action's maximum run time")]);
    expect(young(START - 5 * 60_000, null)).toEqual([]);
    // Used up to the moment its run ended: its own run used it.
    expect(young(START - 5 * 60_000, use(5 * 60_000))).toEqual([]);
    // Used after that, though within the hour a run may last: something else holds it.
    expect(young(START - 5 * 60_000, use(5 * 60_000 - 1))).toEqual([
      `it was used ${at(-5 * 60_000 + 1)} (s3), after the run that made it ended: something holds it`,
    ]);
    expect(young(undefined, use(60_000))).toEqual([expect.stringContaining("it is younger than the action's maximum run time")]);
    // A run that ended before the key existed did not make it, whatever its record names: no proof.
    expect(young(START - 10 * 60_000, null)).toEqual([]);
    expect(young(START - 11 * 60_000, null)).toEqual([expect.stringContaining("it is younger than the action's maximum run time")]);
  });

  it("a record's creation time within a minute of IAM's CreateDate (whole seconds, either way) is this key's; further is not", () => {
    const made = (created: string) => orphan((f) => void (f.record = { created }));
    expect(made(at(-2 * H - 60_000))).toEqual([]);
    expect(made(at(-2 * H + 60_000))).toEqual([]);
    expect(made(at(-2 * H + 61_000))).toEqual([expect.stringContaining("the record is not this key's")]);
    expect(made('yesterday')).toEqual([expect.stringContaining("the record is not this key's")]);
  });

  it("a destination updated in the same second as the key's creation may hold it; one a ms before that second may not", () => {
    const made = START - 2 * H + 500;
    const holds = (update: number) =>
      orphan((f) => {
        relist(f, { id: ORPH, status: 'Active', created: new Date(made) });
        f.destinations[0].updates = [update];
      });
    expect(holds(START - 2 * H)).toEqual(['destination(s) octo/api were written after its creation and may hold it']);
    expect(holds(START - 2 * H - 1)).toEqual([]);
  });

  it('a destination this run wrote with the orphan holds it; several are named', () => {
    expect(
      orphan((f) => {
        f.destinations[0].writtenWith = ORPH;
        f.destinations[1].writtenWith = ORPH;
      }),
    ).toEqual(['destination(s) octo/api, octo/web were written after its creation and may hold it']);
  });
});

describe('consent: key-limit', () => {
  it('delete-oldest: without key-limit; a key as old as it still leaves it the oldest', () => {
    expect(after('consent: key-limit delete-oldest', (f) => void (f.keyLimit = undefined))).toEqual(['key-limit is not delete-oldest']);
    expect(after('consent: key-limit delete-oldest', (f) => relist(f, key(CUR, 100 * H)))).toEqual([]);
    expect(after('consent: key-limit delete-oldest', (f) => relist(f, key(CUR, 100 * H + 1)))).toEqual(['it is not the oldest key']);
  });

  it("delete-inactive reads IAM's status, not the key the caller passed; a key IAM does not list is not Inactive", () => {
    expect(after('consent: key-limit delete-inactive', (f) => void (f.key = key(OLD, 100 * H)))).toEqual([]);
    const [inactive] = POLICY['consent: key-limit delete-inactive'].checks;
    expect(inactive(changed('consent: key-limit delete-inactive', (f) => void (f.keys = [f.keys[1]])))).toEqual({
      code: 'not inactive',
      text: 'IAM does not list it as Inactive',
    });
  });
});

describe('mayHold', () => {
  const base = (destinations: DestinationFacts[]): Facts => ({
    key: { id: ORPH, status: 'Active', created: new Date(START - H + 700) },
    keys: [],
    iamNow: START,
    destinations,
  });

  it('destinations written since the key was made (from its whole second), unless this run rewrote them with another key', () => {
    expect(
      mayHold(
        base([
          dest('same second', { updates: [START - H] }),
          dest('before', { updates: [START - H - 1] }),
          dest('one of two after', { updates: [START - 2 * H, START] }),
          dest('holds neither', { updates: [] }),
          dest('rewritten with it', { updates: [], writtenWith: ORPH }),
          dest('rewritten with another', { updates: [START], writtenWith: CUR }),
        ]),
      ),
    ).toEqual(['same second', 'one of two after', 'rewritten with it']);
  });
});

describe('knownAbout', () => {
  const k = key(OLD, 100 * H);
  const created = `created ${k.created.toISOString()}`;

  it('no record, last use unknown', () => {
    expect(knownAbout({ key: k })).toBe(`${created}, no record of this action, last use unknown`);
  });

  it('an empty record; never used', () => {
    expect(knownAbout({ key: k, record: {}, lastUsed: null })).toBe(`${created}, the action's record: empty, never used`);
  });

  it('each field of the record, in order; a last use', () => {
    expect(knownAbout({ key: k, record: { created: 'C', supersededBy: 'S', handover: 'T' }, lastUsed: use(H) })).toBe(
      `${created}, the action's record: created C, superseded by S, handover T, last used ${at(-H)} (s3)`,
    );
    expect(knownAbout({ key: k, record: { created: 'C' } })).toBe(`${created}, the action's record: created C, last use unknown`);
    expect(knownAbout({ key: k, record: { supersededBy: 'S' } })).toBe(`${created}, the action's record: superseded by S, last use unknown`);
    expect(knownAbout({ key: k, record: { handover: 'T' } })).toBe(`${created}, the action's record: handover T, last use unknown`);
  });
});

/** A piece of missing evidence with the text `text`. */
const gap = (text: string, code: Missing['code'] = 'handover too recent'): Missing => ({ code, text });

describe('Unproven', () => {
  it('names the key, the reason, every missing item, what is known and the todo; staged retirement "retired"', () => {
    const e = new Unproven(OLD, 'staged retirement', [gap('a'), gap('b', 'used too recently')], 'created X');
    expect(e).toBeInstanceOf(ActionError);
    expect(e.name).toBe('Unproven');
    expect([e.keyId, e.reason, e.missing]).toEqual([OLD, 'staged retirement', ['a', 'b']]);
    expect([e.lacks('used too recently'), e.lacks('handover too recent'), e.lacks('new key gone')]).toEqual([true, true, false]);
    expect(e.message).toBe(
      `${OLD} was not retired (staged retirement): a; b (known: created X). ` +
        'The key is kept: find its holder, or retire it by hand once you know nothing uses it',
    );
  });

  it.each([
    ['replaced by this run', 'Rerun once every destination holds the new key; nothing was retired'],
    ['never handed out', 'Both keys stay Active: rerun once the cause is fixed'],
    [
      'orphan of a finished run',
      'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first',
    ],
    ['consent: key-limit delete-oldest', 'Rerun once the keys are as expected'],
    ['consent: key-limit delete-inactive', 'Rerun once the keys are as expected'],
  ] as [Reason, string][])('%s: "deleted", and its own todo', (reason, todo) => {
    expect(new Unproven(OLD, reason, [gap('a')], 'k').message).toBe(`${OLD} was not deleted (${reason}): a (known: k). ${todo}`);
  });

  it('says nothing of what is known when nothing is', () => {
    expect(new Unproven(OLD, 'never handed out', [gap('a')], '').message).toBe(
      `${OLD} was not deleted (never handed out): a. Both keys stay Active: rerun once the cause is fixed`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// destroy, against the memory IAM

const REPO = (repo: string): Destination => ({ kind: 'repository', owner: 'octo', repo });
const memKey = (id: string, createdAgo: number, status: 'Active' | 'Inactive' = 'Active', lastUsedAgo?: number): MemoryKey => ({
  id,
  status,
  created: new Date(START - createdAgo),
  ...(lastUsedAgo === undefined ? {} : { lastUsed: use(lastUsedAgo) }),
});
const record = (r: string) => `${PREFIX} ${r}`;

function world(opts: {
  keys: MemoryKey[];
  tags?: Record<string, string>;
  records?: Record<string, KeyRecord>;
  uses?: Record<string, ReturnType<typeof use> | null>;
  repos?: { repo: string; updates: number[] }[];
  inputs?: Partial<Inputs>;
}) {
  const mem = memoryIam({ keys: opts.keys, tags: opts.tags });
  const { aws } = memoryClients(mem, { as: { accessKeyId: CUR, secretAccessKey: 'secret-of-cur' } });
  const io = recorder();
  const ctx = {
    aws,
    io,
    clock: fakeClock(START),
    cancel: new Cancellation(),
    inputs: { retireAfterHours: 24, keyLimit: 'delete-inactive', previousKey: 'delete', ...opts.inputs },
  } as unknown as RotateContext;
  const prepared = (opts.repos ?? []).map(({ repo, updates }) => ({ destination: REPO(repo), updates }) as unknown as Prepared);
  const journal = new Journal(prepared.length);
  const initialKeys = mem.listed();
  const result = { journal } as unknown as RotationResult;
  const s: RunState = {
    ...newRunState(ctx, result),
    userName: 'deployer',
    // One record per destination, as the read step makes them (the ledger is the journal's own).
    destinations: prepared.map((p, index) => ({
      index,
      destination: p.destination,
      label: label(p.destination),
      prepared: p,
      ledger: journal.destinations[index],
      report: {} as DestinationResult,
    })),
    caller: undefined,
    expected: new Set(initialKeys.map((k) => k.id)),
    handedOver: false,
    tags: new Map([...mem.tags].filter(([k]) => k.startsWith('AKIA'))),
    initialKeys,
    uses: new Map(Object.entries(opts.uses ?? {})),
    pending: new Map(),
    tagsDenied: false,
    userTags: undefined,
    keysListed: true,
    records: new Map(Object.entries(opts.records ?? {})),
    verified: false,
    ownHolderChecked: false,
    rewrite: undefined,
    runEnded: new Map(),
    startedAt: 0,
    resume: undefined,
  };
  return { ...mem, s, io, journal };
}

/** A run that made NEW, wrote it to octo/api as a pair, verified it and passed the holder check. */
function replaced(extra: Partial<Parameters<typeof world>[0]> = {}) {
  const w = world({ keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)], repos: [{ repo: 'api', updates: [START - 200 * H] }], ...extra });
  w.keys.set(NEW, memKey(NEW, 0));
  w.s.expected.add(NEW);
  w.journal.record({ kind: 'key created', id: NEW });
  w.journal.record({ kind: 'secret written', index: 0, which: 'id', keyId: NEW, reason: 'new key' });
  w.journal.record({ kind: 'secret written', index: 0, which: 'secret', keyId: NEW, reason: 'new key' });
  Object.assign(w.s, { verified: true, handedOver: true, ownHolderChecked: true });
  return w;
}

const destroying = (calls: string[]) => calls.filter((c) => c === 'DeleteAccessKey' || c === 'UpdateAccessKey');

describe('destroy', () => {
  it('proven: lists the keys first, reads the last use, deletes, journals, and removes only its own record of the key', async () => {
    const w = replaced({
      tags: {
        [OLD]: record(`superseded-by=${CUR} handover=${at(-60 * H)} by=octo/a/1/1`),
        [CUR]: record(`created=${at(-50 * H)}`),
        team: 'platform',
      },
    });
    await destroy(w.s, OLD, 'replaced by this run', 'delete', 'deleted');
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey', 'UntagUser']);
    expect(w.inputs[2]).toEqual({ UserName: 'deployer', AccessKeyId: OLD });
    expect(w.inputs[3]).toEqual({ UserName: 'deployer', TagKeys: [OLD] });
    expect([...w.keys.keys()]).toEqual([CUR, NEW]);
    expect([...w.tags.keys()]).toEqual([CUR, 'team']);
    expect([...w.s.tags.keys()]).toEqual([CUR]);
    expect([...w.s.expected]).toEqual([CUR, NEW]);
    expect(w.s.uses.get(OLD)).toBeNull();
    expect(w.journal.effects.at(-1)).toEqual({ kind: 'key retired', id: OLD, fate: 'deleted' });
    expect(w.journal.retired).toEqual([{ id: OLD, fate: 'deleted' }]);
  });

  it('a tag on the key that is not the action\'s record is kept', async () => {
    const w = replaced({ tags: { [OLD]: 'deploy key, ask platform' } });
    await destroy(w.s, OLD, 'replaced by this run', 'delete', 'deleted');
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(w.tags.get(OLD)).toBe('deploy key, ask platform');
  });

  it('proven, to deactivate: UpdateAccessKey Inactive, journaled; the key stays expected and its record stays', async () => {
    const w = replaced({ tags: { [OLD]: record(`created=${at(-100 * H)}`) }, uses: { [OLD]: use(H) } });
    await destroy(w.s, OLD, 'replaced by this run', 'deactivate', 'deactivated');
    expect(w.calls).toEqual(['ListAccessKeys', 'UpdateAccessKey']);
    expect(w.inputs[1]).toEqual({ UserName: 'deployer', AccessKeyId: OLD, Status: 'Inactive' });
    expect(w.keys.get(OLD)?.status).toBe('Inactive');
    expect(w.s.expected.has(OLD)).toBe(true);
    expect(w.tags.has(OLD)).toBe(true);
    expect(w.journal.effects.at(-1)).toEqual({ kind: 'key retired', id: OLD, fate: 'deactivated' });
  });

  it('unproven: throws Unproven and sends nothing that destroys', async () => {
    const w = replaced({ tags: { [OLD]: record(`created=${at(-100 * H)}`) } });
    w.s.ownHolderChecked = false;
    const effects = w.journal.effects.length;
    const err = await destroy(w.s, OLD, 'replaced by this run', 'delete', 'deleted').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unproven);
    expect((err as Error).message).toBe(
      `${OLD} was not deleted (replaced by this run): the job's own holder check did not pass ` +
        `(known: created ${at(-100 * H)}, no record of this action, never used). ` +
        'Rerun once every destination holds the new key; nothing was retired',
    );
    expect(destroying(w.calls)).toEqual([]);
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed']);
    expect(w.keys.has(OLD)).toBe(true);
    expect(w.tags.has(OLD)).toBe(true);
    expect(w.s.expected.has(OLD)).toBe(true);
    expect(w.journal.effects).toHaveLength(effects);
  });

  it('staged retirement, proven from the record: deletes; refused while the handover is recent ("retired")', async () => {
    const staged = (handoverAgo: number) =>
      world({
        keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)],
        records: { [OLD]: { supersededBy: CUR, handover: at(-handoverAgo) } },
        uses: { [OLD]: null },
      });
    const due = staged(24 * H);
    await destroy(due.s, OLD, 'staged retirement', 'delete', 'deleted');
    expect(due.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);

    const early = staged(2 * H);
    await expect(destroy(early.s, OLD, 'staged retirement', 'deactivate', 'deactivated')).rejects.toThrow(
      `${OLD} was not retired (staged retirement): the handover is not yet 24 h old (IAM time) (known: created ${at(-100 * H)}, ` +
        `the action's record: superseded by ${CUR}, handover ${at(-2 * H)}, never used). The key is kept`,
    );
    expect(early.calls).toEqual(['ListAccessKeys']);
    expect(early.keys.get(OLD)?.status).toBe('Active');
  });

  it('reads the last use before deleting when it has none yet, and decides with it', async () => {
    const orphanWorld = (lastUsedAgo?: number) =>
      world({
        keys: [memKey(CUR, 100 * H), memKey(ORPH, 3 * H, 'Active', lastUsedAgo)],
        records: { [ORPH]: { created: at(-3 * H) } },
        repos: [{ repo: 'api', updates: [START - 4 * H] }],
      });
    const unused = orphanWorld();
    await destroy(unused.s, ORPH, 'orphan of a finished run', 'delete', 'deleted as an orphan');
    expect(unused.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(unused.inputs[1]).toEqual({ AccessKeyId: ORPH });
    expect(unused.journal.retired).toEqual([{ id: ORPH, fate: 'deleted as an orphan' }]);

    const used = orphanWorld(H);
    await expect(destroy(used.s, ORPH, 'orphan of a finished run', 'delete', 'deleted as an orphan')).rejects.toThrow(
      `it was used ${at(-H)} (s3), after the run that made it ended: something holds it (known: created ${at(-3 * H)}, ` +
        `the action's record: created ${at(-3 * H)}, last used ${at(-H)} (s3))`,
    );
    expect(used.s.uses.get(ORPH)).toEqual(use(H));
    expect(destroying(used.calls)).toEqual([]);
  });

  it('a last use IAM will not tell is unknown: refused, with one warning', async () => {
    const w = world({ keys: [memKey(CUR, 100 * H), memKey(ORPH, 3 * H)], records: { [ORPH]: { created: at(-3 * H) } } });
    w.before((command) => {
      if (command === 'GetAccessKeyLastUsed') throw awsFailure('AccessDenied', 403);
    });
    await expect(destroy(w.s, ORPH, 'orphan of a finished run', 'delete', 'deleted as an orphan')).rejects.toThrow(
      /its last use is unknown \(iam:GetAccessKeyLastUsed\) \(known: .*, last use unknown\)/,
    );
    expect(w.io.warnings).toHaveLength(1);
    expect(destroying(w.calls)).toEqual([]);
  });

  it('does not read the last use again when it has one, even an unknown one', async () => {
    const w = world({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)], uses: { [OLD]: use(H) } });
    w.s.uses.set(CUR, undefined);
    await destroy(w.s, OLD, 'consent: key-limit delete-inactive', 'delete', 'deleted to make room');
    expect(w.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);

    const unknown = world({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)] });
    unknown.s.uses.set(OLD, undefined);
    await destroy(unknown.s, OLD, 'consent: key-limit delete-inactive', 'delete', 'deleted to make room');
    expect(unknown.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);
  });

  it("decides on IAM's list as it is now, not as it was at the start", async () => {
    const w = world({ keys: [memKey(CUR, 50 * H), memKey(OLD, 100 * H)], uses: { [OLD]: null } });
    w.keys.get(OLD)!.status = 'Inactive';
    await destroy(w.s, OLD, 'consent: key-limit delete-inactive', 'delete', 'deleted to make room');
    expect(w.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);

    const active = world({ keys: [memKey(CUR, 50 * H), memKey(OLD, 100 * H, 'Inactive')], uses: { [OLD]: null } });
    active.keys.get(OLD)!.status = 'Active';
    await expect(destroy(active.s, OLD, 'consent: key-limit delete-inactive', 'delete', 'deleted to make room')).rejects.toThrow(
      `${OLD} was not deleted (consent: key-limit delete-inactive): IAM does not list it as Inactive`,
    );
    expect(destroying(active.calls)).toEqual([]);
  });

  it('a key IAM no longer lists: "IAM no longer lists", with what the run knew of it, and no last-use read', async () => {
    const w = world({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)] });
    w.keys.delete(OLD);
    await expect(destroy(w.s, OLD, 'consent: key-limit delete-inactive', 'delete', 'deleted to make room')).rejects.toThrow(
      `${OLD} was not deleted (consent: key-limit delete-inactive): IAM no longer lists ${OLD} ` +
        `(known: created ${at(-100 * H)}, no record of this action, last use unknown)`,
    );
    expect(w.calls).toEqual(['ListAccessKeys']);

    const never = world({ keys: [memKey(CUR, 50 * H)] });
    await expect(destroy(never.s, OTHER, 'never handed out', 'delete', 'discarded')).rejects.toThrow(
      `IAM no longer lists ${OTHER} (known: created 1970-01-01T00:00:00.000Z,`,
    );
    expect(never.calls).toEqual(['ListAccessKeys']);
  });

  it('keys changed by someone between the plan and the delete: a key added, or one removed, fails `unchanged`', async () => {
    const added = world({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)], uses: { [OLD]: null } });
    added.before((command, n) => {
      if (command === 'ListAccessKeys' && n === 1) added.keys.set(OTHER, memKey(OTHER, 0));
    });
    await expect(destroy(added.s, OLD, 'consent: key-limit delete-inactive', 'delete', 'deleted to make room')).rejects.toThrow(
      `${OLD} was not deleted (consent: key-limit delete-inactive): the keys IAM lists are not the ones this run expects`,
    );
    expect(destroying(added.calls)).toEqual([]);
    expect(added.keys.has(OLD)).toBe(true);

    const removed = world({ keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)], uses: { [OLD]: null }, inputs: { keyLimit: 'delete-oldest' } });
    removed.before((command) => {
      if (command === 'ListAccessKeys') removed.keys.delete(CUR);
    });
    await expect(destroy(removed.s, OLD, 'consent: key-limit delete-oldest', 'delete', 'deleted to make room')).rejects.toThrow(
      'the keys IAM lists are not the ones this run expects',
    );
    expect(destroying(removed.calls)).toEqual([]);
  });

  it('never handed out: its own key is discarded; a write in flight to a destination stops it', async () => {
    const discard = world({ keys: [memKey(CUR, 50 * H)], repos: [{ repo: 'api', updates: [] }] });
    discard.keys.set(NEW, memKey(NEW, 0));
    discard.journal.record({ kind: 'key created', id: NEW });
    await destroy(discard.s, NEW, 'never handed out', 'delete', 'discarded');
    expect(discard.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(discard.journal.retired).toEqual([{ id: NEW, fate: 'discarded' }]);

    const inFlight = world({ keys: [memKey(CUR, 50 * H)], repos: [{ repo: 'api', updates: [] }] });
    inFlight.keys.set(NEW, memKey(NEW, 0));
    inFlight.journal.record({ kind: 'key created', id: NEW });
    inFlight.journal.record({ kind: 'write in flight', index: 0, which: 'secret' });
    await expect(destroy(inFlight.s, NEW, 'never handed out', 'delete', 'discarded')).rejects.toThrow(
      `${NEW} was not deleted (never handed out): destination(s) octo/api were given it (or may have been) ` +
        `(known: created ${at(0)}, no record of this action, never used)`,
    );
    expect(destroying(inFlight.calls)).toEqual([]);
  });
});

describe('destroy after a cancel', () => {
  it('destroys nothing proven once the run was asked to stop (having proven it: the evidence is read first)', async () => {
    for (const how of ['delete', 'deactivate'] as const) {
      const w = replaced({ tags: { [OLD]: record(`created=${at(-100 * H)}`) } });
      w.s.ctx.cancel.cancel('SIGTERM');
      const effects = w.journal.effects.length;
      await expect(destroy(w.s, OLD, 'replaced by this run', how, 'deleted')).rejects.toBeInstanceOf(Cancelled);
      expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed']);
      expect(w.keys.get(OLD)?.status).toBe('Active');
      expect(w.s.expected.has(OLD)).toBe(true);
      expect(w.journal.effects).toHaveLength(effects);
    }
  });

  it('an unproven reason is still refused as Unproven', async () => {
    const w = replaced();
    w.s.verified = false;
    w.s.ctx.cancel.cancel('SIGTERM');
    await expect(destroy(w.s, OLD, 'replaced by this run', 'delete', 'deleted')).rejects.toBeInstanceOf(Unproven);
  });

  it("a rollback of the run's own key that was never handed out still runs", async () => {
    const w = world({ keys: [memKey(CUR, 50 * H)] });
    w.keys.set(NEW, memKey(NEW, 0));
    w.journal.record({ kind: 'key created', id: NEW });
    w.s.ctx.cancel.cancel('SIGINT');
    await destroy(w.s, NEW, 'never handed out', 'delete', 'discarded');
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(w.journal.retired).toEqual([{ id: NEW, fate: 'discarded' }]);
  });
});

describe('factsOf', () => {
  it("gathers this run's facts about a key: IAM's time, the destinations as journaled, the new key, the record and use", async () => {
    const w = world({
      keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)],
      repos: [
        { repo: 'api', updates: [START - H] },
        { repo: 'web', updates: [] },
        { repo: 'ops', updates: [START - 2 * H, START - 3 * H] },
      ],
      records: { [OLD]: { supersededBy: CUR, handover: at(-H) } },
      uses: { [OLD]: use(H) },
      inputs: { retireAfterHours: 5, keyLimit: 'delete-oldest' },
    });
    await listAccessKeys(w.s.ctx.aws.iam, 'deployer'); // IAM's time, from its answer
    w.journal.record({ kind: 'key created', id: NEW });
    w.journal.record({ kind: 'secret written', index: 0, which: 'id', keyId: NEW, reason: 'new key' });
    w.journal.record({ kind: 'secret written', index: 0, which: 'secret', keyId: NEW, reason: 'new key' });
    w.journal.record({ kind: 'write in flight', index: 1, which: 'id' });
    w.journal.record({ kind: 'secret removed', index: 1, which: 'secret' });
    w.journal.record({ kind: 'secret written', index: 2, which: 'secret', keyId: CUR, reason: 'converge' });
    Object.assign(w.s, { verified: true, handedOver: false, ownHolderChecked: true });
    w.s.runEnded.set(OLD, START - 2 * H);
    const k = key(OLD, 100 * H);
    expect(factsOf(w.s, k, [k])).toEqual({
      key: k,
      keys: [k],
      iamNow: START,
      destinations: [
        { label: 'octo/api', updates: [START - H], writtenWith: NEW, touchedWith: [NEW, NEW] },
        { label: 'octo/web', updates: [], writtenWith: undefined, touchedWith: ['?'] },
        { label: 'octo/ops', updates: [START - 2 * H, START - 3 * H], writtenWith: undefined, touchedWith: [CUR] },
      ],
      newKey: { id: NEW, verified: true, handedOver: false },
      ownHolderChecked: true,
      expected: new Set([OLD, CUR]),
      record: { supersededBy: CUR, handover: at(-H) },
      lastUsed: use(H),
      retireAfterHours: 5,
      keyLimit: 'delete-oldest',
      runEnded: START - 2 * H,
    });
    w.journal.newKeyId = undefined;
    expect(factsOf(w.s, k, [k]).newKey).toBeUndefined();
  });
});
