/**
 * The destruction table (src/keys/destruction.ts): every row of POLICY proven in full, then each of its checks broken
 * on its own (and at its boundaries), how each row destroys (delete, deactivate, or as previous-key says), the helpers
 * a refusal is written with; and the gate's `destroy(key, reason)` in-process against the memory IAM: it lists the keys
 * first, acts only when the reason is proven and the run was not cancelled (a rollback excepted), as its row says, and
 * otherwise sends nothing that destroys.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { Cancellation, Cancelled } from '../src/shared/cancel.js';
import type { PreviousKeyMode } from '../src/config/inputs.js';
import type { DestinationRecord, Holding } from '../src/github/destination-record.js';
import type { Prepared } from '../src/github/preflight.js';
import {
  type Facts,
  type GateRun,
  type KeyFate,
  MAX_RUN_MS,
  type Gap,
  type Missing,
  POLICY,
  RECORD_CHECKS,
  type Reason,
  Unproven,
  gaps,
  graceOf,
  holdersOf,
  keyGate,
  knownAbout,
  makerMayStillRun,
  missingEvidence,
  reversibleOnly,
  undoCommand,
} from '../src/keys/destruction.js';
import { CREATE_WINDOW_MS, type KeyRecord } from '../src/keys/records.js';
import { ActionError } from '../src/shared/errors.js';
import type { AccessKey, Use } from '../src/shared/types.js';
import { recorder } from './support/harness.js';
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

const key = (id: string, createdAgo: number, status: 'Active' | 'Inactive' = 'Active'): AccessKey => ({
  id,
  status,
  created: new Date(START - createdAgo),
});
const holding = (k: string | undefined): Holding => (!k ? { kind: 'before' } : k === '?' ? { kind: 'unknown' } : { kind: 'key', keyId: k });
/** What this run's two writes to d left there: the id's and the secret's key ('?': unknown). */
function touched(d: DestinationRecord, keys: string[]): void {
  d.ledger.id = holding(keys[0]);
  d.ledger.secret = holding(keys[1]);
}
/** This run wrote d as a pair of key `k` (undefined: it did not write d). */
const written = (d: DestinationRecord, k: string | undefined) => touched(d, k === undefined ? [] : [k, k]);
/** A destination record: what preflight saw (`updates`), and what this run wrote there. */
function dest(label: string, d: { updates?: number[]; writtenWith?: string; touchedWith?: string[] } = {}): DestinationRecord {
  const updates = d.updates ?? [];
  const record: DestinationRecord = {
    index: 0,
    label,
    destination: { kind: 'repository', owner: 'octo', repo: label.split('/')[1] ?? label },
    prepared: { updates, held: updates.length ? 'both' : 'none' } as unknown as Prepared,
    ledger: { heldBefore: 'both', updatedBefore: updates, writtenAt: {}, id: { kind: 'before' }, secret: { kind: 'before' }, created: false, reason: undefined },
  };
  if (d.touchedWith) touched(record, d.touchedWith);
  if (d.writtenWith) written(record, d.writtenWith);
  return record;
}
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
  'handed over by a stopped run': () => ({
    key: key(OLD, 100 * H),
    keys: [key(OLD, 100 * H), key(CUR, 50 * H)],
    iamNow: START,
    destinations: [dest('octo/api', { updates: [START - 10 * H] }), dest('octo/web', { updates: [START - 60 * H], writtenWith: CUR, touchedWith: [CUR, CUR] })],
    // A run that handed over at once (retire-after-hours 0) and stopped; the key was last used just before that.
    record: { supersededBy: CUR, handover: at(-30 * H), retireAfter: 0 },
    lastUsed: use(30 * H + 1),
    retireAfterHours: 0,
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
        for (const d of f.destinations) written(d, OLD);
      },
      'this run created no new key to replace it',
    ],
    ['the new key was not verified', (f) => void (f.newKey!.verified = false), 'the new key was not verified by STS'],
    ['the new key is Inactive', (f) => relist(f, key(NEW, H, 'Inactive')), `the new key ${NEW} is no longer Active in IAM`],
    ['a destination holds another key', (f) => void (written(f.destinations[1], OLD)), 'not every destination holds the new key (octo/web)'],
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
    [
      'nothing says the run that made it ended, and it is young',
      (f) => void (f.resumed!.runEnded = undefined),
      `the run that made ${NEW} may still be running (GitHub does not say it ended, it is no earlier attempt of this workflow run, and the key is younger than 60 minutes)`,
    ],
    ['the key is newer than the one being finished', (f) => relist(f, key(OLD, 0.1 * H)), `it is newer than ${NEW}`],
    ['a destination holds another key', (f) => void (written(f.destinations[1], OLD)), `not every destination holds ${NEW} (octo/web)`],
    ["the job's holder check did not pass", (f) => void (f.ownHolderChecked = false), "the job's own holder check did not pass"],
    ['IAM lists a key fewer', (f) => void (f.expected = new Set([OLD, NEW, OTHER])), unchangedFails],
  ],
  'staged retirement': [
    ['the successor is Inactive', (f) => relist(f, key(CUR, 50 * H, 'Inactive')), `its successor ${CUR} is not an Active key of the user`],
    ['the successor was created after the handover', (f) => relist(f, key(CUR, 29 * H)), 'the recorded handover (2026-11-26T06:00:00.000Z) is not after the CreateDate of its successor (2026-11-26T07:00:00.000Z) and of the key itself'],
    ['the key is younger than its successor', (f) => relist(f, key(OLD, 40 * H)), 'is not after the CreateDate of its successor'],
    [
      'a destination was written before the successor existed',
      (f) => void (f.destinations[0].prepared.updates = [START - 50 * H - 1, START - 10 * H]),
      'destination(s) octo/api were last written before its successor existed, so they may hold it',
    ],
    ['the handover is 23 h old', (f) => void (f.record!.handover = at(-23 * H)), 'the handover is not yet 24 h old (IAM time)'],
    ['its last use is unknown', (f) => void (f.lastUsed = undefined), 'its last use is unknown (iam:GetAccessKeyLastUsed)'],
    ['it was used 23 h ago', (f) => void (f.lastUsed = use(23 * H)), `it was last used ${at(-23 * H)} (s3), less than 24 h ago (IAM time)`],
    [
      'no grace: its handover was made to retire it at once, and this run waits no longer',
      (f) => {
        f.retireAfterHours = 0;
        f.record!.retireAfter = 0;
      },
      'its handover was made to retire it at once (retire-after-hours: 0), and this run waits no longer',
    ],
    ['IAM lists another key', (f) => void f.keys.push(key(OTHER, H)), unchangedFails],
  ],
  'handed over by a stopped run': [
    ['the successor is Inactive', (f) => relist(f, key(CUR, 50 * H, 'Inactive')), `its successor ${CUR} is not an Active key of the user`],
    ['the successor was created after the handover', (f) => relist(f, key(CUR, 29 * H)), 'is not after the CreateDate of its successor (2026-11-26T07:00:00.000Z)'],
    ['the handover lies in the future', (f) => void (f.record!.handover = at(60_001)), "the recorded handover lies in the future (IAM's time is 2026-11-27T12:00:00.000Z)"],
    [
      'a destination was written before the successor existed',
      (f) => void (f.destinations[0].prepared.updates = [START - 50 * H - 1]),
      'destination(s) octo/api were last written before its successor existed, so they may hold it',
    ],
    ['its handover chose a grace', (f) => void (f.record!.retireAfter = 24), 'its handover, or this run, waits 24 h before retiring it (retire-after-hours)'],
    ['its last use is unknown', (f) => void (f.lastUsed = undefined), 'its last use is unknown (iam:GetAccessKeyLastUsed)'],
    [
      'it was used a minute and a ms after its handover',
      (f) => void (f.lastUsed = use(30 * H - 60_001)),
      `it was used ${at(-30 * H + 60_001)} (s3), after its handover (${at(-30 * H)}): something still holds it`,
    ],
    ['IAM lists another key', (f) => void f.keys.push(key(OTHER, H)), unchangedFails],
  ],
  'never handed out': [
    ['this run created another key', (f) => void (f.newKey!.id = OTHER), 'this run did not create it'],
    ['it was handed over', (f) => void (f.newKey!.handedOver = true), 'it was handed over'],
    ['a destination was given it', (f) => void (touched(f.destinations[1], [OLD, NEW])), 'destination(s) octo/web were given it (or may have been)'],
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
      (f) => void (f.destinations[0].prepared.updates = [START - 3 * H, START - H]),
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
      'the run the marker names (octo/api/42/1) may still be running: it is no earlier attempt of this workflow run, GitHub does not say it ended, and the key is younger than 60 minutes',
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
      (f) => void (f.destinations[0].prepared.updates = [START - 60_000]),
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
        f.destinations[0].prepared.updates = [START];
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
    [
      'two holders, not recorded: both named',
      (f) => {
        f.breaking = undefined;
        f.destinations[1].prepared.updates = [START];
      },
      'destination(s) octo/api, octo/web may hold it, and this run did not record',
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
    [
      'this run deactivated it on evidence that allows only that',
      (f) => void (f.reversedHere = new Set([OLD])),
      'this run deactivated it on evidence that allows only that reversible step: a later run deletes it',
    ],
    ['IAM lists another key', (f) => void f.keys.push(key(OTHER, H)), unchangedFails],
  ],
};

const REASONS = Object.keys(POLICY) as Reason[];

/** Per reason, the code of each of its checks, in order: what the code branches on when one is missing. */
const CODES: Record<Reason, Gap[]> = {
  'replaced by this run': ['no new key', 'new key unverified', 'new key gone', 'destinations not written', 'own holder unchecked', 'maker may still run', 'keys changed'],
  'replaced by a resumed rotation': [
    'no new key',
    'new key unverified',
    'new key gone',
    'no unhanded record',
    'maker may still run',
    'newer than its successor',
    'destinations not written',
    'own holder unchecked',
    'keys changed',
  ],
  'staged retirement': [
    'successor not active',
    'handover before successor',
    'handover in the future',
    'destinations older than successor',
    'no grace',
    'handover too recent',
    'last use unknown',
    'used too recently',
    'keys changed',
  ],
  'handed over by a stopped run': [
    'successor not active',
    'handover before successor',
    'handover in the future',
    'destinations older than successor',
    'grace chosen',
    'last use unknown',
    'used too recently',
    'keys changed',
  ],
  'never handed out': ["not this run's", 'handed over', 'given to destinations'],
  'orphan of a finished run': ['no unhanded record', 'record not this key', 'maker may still run', 'last use unknown', 'used after its run', 'destinations may hold it', 'keys changed'],
  'unrecorded key of a finished run': ['recorded', 'no create marker', 'not the only one', 'maker may still run', 'last use unknown', 'used since made', 'destinations may hold it', 'keys changed'],
  'orphan held by destinations this run rewrites': ['no unhanded record', 'record not this key', 'maker may still run', 'last use unknown', 'used after its run', 'destinations may hold it', 'keys changed'],
  'consent: key-limit delete-oldest': ['no consent', 'not the oldest', 'keys changed'],
  'consent: key-limit delete-inactive': ['not inactive', 'deactivated by this run', 'keys changed'],
};
const failing = (reason: Reason, f: Facts) => POLICY[reason].checks.flatMap((check, i) => (check(f) === undefined ? [] : [i]));

describe('missingEvidence: every row of POLICY', () => {
  it('the table has these reasons, each with a description and a todo', () => {
    expect(REASONS).toEqual([
      'replaced by this run',
      'replaced by a resumed rotation',
      'staged retirement',
      'handed over by a stopped run',
      'never handed out',
      'orphan of a finished run',
      'unrecorded key of a finished run',
      'orphan held by destinations this run rewrites',
      'consent: key-limit delete-oldest',
      'consent: key-limit delete-inactive',
    ]);
    expect(REASONS.map((r) => POLICY[r].checks.length)).toEqual([7, 9, 9, 8, 3, 7, 8, 7, 3, 3]);
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
    expect(gaps(reason, f)).toEqual([{ code: 'not listed', text: `IAM no longer lists ${f.key.id}` }]);
  });

  // Staged retirement's "handover in the future" cannot fail alone (a handover ahead of IAM's time is never the
  // grace old either): the stopped row's breaks cover it alone, and the boundaries below.
  const alone = (reason: Reason) => POLICY[reason].checks.map((_, i) => i).filter((i) => reason !== 'staged retirement' || i !== 2);
  it.each(REASONS)('%s: each change breaks one check, and every check is broken by one', (reason) => {
    const hit = BREAKS[reason].map(([, change]) => failing(reason, changed(reason, change)));
    for (const h of hit) expect(h).toHaveLength(1);
    expect(new Set(hit.flat())).toEqual(new Set(alone(reason)));
  });

  it('how each row destroys: delete, the reversible deactivate only, or as previous-key says; what the journal records', () => {
    expect(REASONS.map((r) => [r, POLICY[r].how, POLICY[r].deleted])).toEqual([
      ['replaced by this run', 'previous-key', 'deleted'],
      ['replaced by a resumed rotation', 'previous-key', 'deleted'],
      ['staged retirement', 'previous-key', 'deleted'],
      ['handed over by a stopped run', 'deactivate', 'deleted'],
      ['never handed out', 'delete', 'discarded'],
      ['orphan of a finished run', 'delete', 'deleted as an orphan'],
      ['unrecorded key of a finished run', 'deactivate', 'deleted as an orphan'],
      ['orphan held by destinations this run rewrites', 'delete', 'deleted as an orphan'],
      ['consent: key-limit delete-oldest', 'delete', 'deleted to make room'],
      ['consent: key-limit delete-inactive', 'delete', 'deleted to make room'],
    ]);
    // The rows a marker or a time window is the evidence of: never a delete.
    expect(REASONS.filter(reversibleOnly)).toEqual(['handed over by a stopped run', 'unrecorded key of a finished run']);
  });

  const cases = REASONS.flatMap((reason) => BREAKS[reason].map(([name, change, sentence]) => [reason, name, change, sentence] as const));
  it.each(cases)('%s: %s', (reason, _name, change, sentence) => {
    const f = changed(reason, change);
    const missing = missingEvidence(reason, f);
    expect(missing).toHaveLength(1);
    expect(missing[0]).toContain(sentence);
    // The code of what is missing is its check's own (what the code branches on).
    const [i] = failing(reason, f);
    expect(gaps(reason, f)).toEqual([{ code: CODES[reason][i], text: missing[0] }]);
  });

  it.each(REASONS)('%s: each check has its own code', (reason) => {
    expect(CODES[reason]).toHaveLength(POLICY[reason].checks.length);
    expect(new Set(CODES[reason]).size).toBe(CODES[reason].length);
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
    expect(after('replaced by this run', (f) => void (written(f.destinations[0], undefined)))).toEqual([
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

  it('a handover ahead of IAM\'s time: within the minute of slack it is only not yet old; beyond, in the future too', () => {
    expect(staged((f) => void (f.record!.handover = at(60_000)))).toEqual(['the handover is not yet 24 h old (IAM time)']);
    expect(staged((f) => void (f.record!.handover = at(60_001)))).toEqual([
      "the recorded handover lies in the future (IAM's time is 2026-11-27T12:00:00.000Z)",
      'the handover is not yet 24 h old (IAM time)',
    ]);
  });

  it('without retire-after-hours, nothing is old enough', () => {
    expect(staged((f) => void (f.retireAfterHours = undefined))).toEqual([
      'the handover is not yet Infinity h old (IAM time)',
      `it was last used ${at(-30 * H)} (s3), less than Infinity h ago (IAM time)`,
    ]);
  });

  it('waits the grace its handover was made with, or this run\'s when longer: a later run with 0 respects a chosen 24 h', () => {
    // Recorded 48 h (the run's 24 h is shorter): 30 h after the handover it is not yet due.
    expect(staged((f) => void (f.record!.retireAfter = 48))).toEqual([
      'the handover is not yet 48 h old (IAM time)',
      `it was last used ${at(-30 * H)} (s3), less than 48 h ago (IAM time)`,
    ]);
    // Recorded 24 h, this run 0 (the defaults): 24 h stands.
    expect(staged((f) => {
      f.record!.retireAfter = 24;
      f.retireAfterHours = 0;
      f.record!.handover = at(-23 * H);
      f.lastUsed = use(23 * H);
    })).toEqual(['the handover is not yet 24 h old (IAM time)', `it was last used ${at(-23 * H)} (s3), less than 24 h ago (IAM time)`]);
    // Recorded 1 h, this run 24 h: 24 h.
    expect(staged((f) => void (f.record!.retireAfter = 1))).toEqual([]);
    expect(staged((f) => {
      f.record!.retireAfter = 1;
      f.record!.handover = at(-2 * H);
      f.lastUsed = null;
    })).toEqual(['the handover is not yet 24 h old (IAM time)']);
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
    expect(staged((f) => void (f.destinations[0].prepared.updates = [START - 50 * H]))).toEqual([]);
    expect(staged((f) => void (f.destinations[0].prepared.updates = []))).toEqual([]);
    expect(
      staged((f) => {
        f.destinations[0].prepared.updates = [START - 51 * H];
        written(f.destinations[1], undefined);
      }),
    ).toEqual(['destination(s) octo/api, octo/web were last written before its successor existed, so they may hold it']);
  });

  it("a successor made within a second: a destination updated in that whole second counts as after it, one ms before as before", () => {
    expect(
      staged((f) => {
        relist(f, key(CUR, 50 * H - 500));
        f.destinations[0].prepared.updates = [START - 50 * H];
      }),
    ).toEqual([]);
    expect(
      staged((f) => {
        relist(f, key(CUR, 50 * H - 500));
        f.destinations[0].prepared.updates = [START - 50 * H - 1];
      }),
    ).toEqual([expect.stringContaining('destination(s) octo/api were last written before its successor existed')]);
  });
});

describe('replaced by a resumed rotation', () => {
  const resumed = (change: Change) => after('replaced by a resumed rotation', change);

  it('without a rotation to finish, every check about it fails, and none throws', () => {
    expect(resumed((f) => void (f.resumed = undefined))).toEqual([
      "this run finishes no earlier run's rotation",
      'this run did not sign in with undefined',
      'the new key undefined is no longer Active in IAM',
      'no record read before this run changed anything says this action made undefined (at its CreateDate) and stopped before retiring the key it replaced',
      'the run that made undefined may still be running (GitHub does not say it ended, it is no earlier attempt of this workflow run, and the key is younger than 60 minutes)',
      'it is newer than undefined',
      'not every destination holds undefined (octo/api, octo/web)',
    ]);
  });
  const stoppedAfterHandover = (retireAfter: number | undefined, runHours?: number) => (f: Facts) => {
    f.resumed!.record = { created: at(-0.5 * H), handover: at(-0.4 * H) };
    f.record = { supersededBy: NEW, handover: at(-0.4 * H), ...(retireAfter === undefined ? {} : { retireAfter }) };
    f.retireAfterHours = runHours;
  };

  it("a rotation handed over by a run that meant to retire the previous key at once (and stopped): this run finishes it", () => {
    expect(resumed(stoppedAfterHandover(0, 0))).toEqual([]);
    // A record from before 3.0 (no grace named) at this run's 0 hours: the same.
    expect(resumed(stoppedAfterHandover(undefined, 0))).toEqual([]);
  });

  it('not when a grace was chosen (by the handover, or this run), nor when the previous key names another successor', () => {
    const none = `no record read before this run changed anything says this action made ${NEW} (at its CreateDate) and stopped before retiring the key it replaced`;
    expect(resumed(stoppedAfterHandover(24, 0))).toEqual([none]);
    expect(resumed(stoppedAfterHandover(0, 1))).toEqual([none]);
    expect(resumed(stoppedAfterHandover(undefined, undefined))).toEqual([none]);
    expect(
      resumed((f) => {
        stoppedAfterHandover(0, 0)(f);
        f.record!.supersededBy = OTHER;
      }),
    ).toEqual([none]);
  });

  it("the resumed key's record: its creation within a minute of IAM's CreateDate (whole seconds), and a creation at all", () => {
    expect(resumed((f) => void (f.resumed!.record = { created: at(-0.5 * H + 60_000) }))).toEqual([]);
    expect(resumed((f) => void (f.resumed!.record = { created: at(-0.5 * H - 60_000) }))).toEqual([]);
    expect(resumed((f) => void (f.resumed!.record = { created: at(-0.5 * H + 61_000) }))).toHaveLength(1);
    expect(resumed((f) => void (f.resumed!.record = { created: at(-0.5 * H - 61_000) }))).toHaveLength(1);
    expect(resumed((f) => void (f.resumed!.record = {}))).toHaveLength(1);
    // The resumed key IAM does not list: every check about it says so, none throws.
    expect(resumed((f) => void (f.keys = [f.keys[0]]))).toEqual([
      `the new key ${NEW} is no longer Active in IAM`,
      expect.stringContaining('no record read before'),
      expect.stringContaining('may still be running'),
      `it is newer than ${NEW}`,
      unchangedFails,
    ]);
  });

  it('the run that made it ended in its own second counts; a second before, or no word and a young key, does not', () => {
    expect(resumed((f) => void (f.resumed!.runEnded = START - 0.5 * H))).toEqual([]);
    expect(resumed((f) => void (f.resumed!.runEnded = START - 0.5 * H - 1000))).toEqual([expect.stringContaining('may still be running')]);
    expect(
      resumed((f) => {
        f.resumed!.runEnded = undefined;
        relist(f, key(NEW, MAX_RUN_MS));
        f.resumed!.record = { created: at(-MAX_RUN_MS) };
      }),
    ).toEqual([]);
  });

  it('the previous key as old as the resumed one is fine; a ms younger is not', () => {
    expect(resumed((f) => relist(f, key(OLD, 0.5 * H)))).toEqual([]);
    expect(resumed((f) => relist(f, key(OLD, 0.5 * H - 1)))).toEqual([`it is newer than ${NEW}`]);
  });
});

describe('handed over by a stopped run', () => {
  const stopped = (change: Change) => after('handed over by a stopped run', change);

  it('a use up to a minute after the handover is the handing run\'s own (two clocks, whole seconds); a ms more is a holder', () => {
    expect(stopped((f) => void (f.lastUsed = use(30 * H - 60_000)))).toEqual([]);
    expect(stopped((f) => void (f.lastUsed = null))).toEqual([]);
    expect(stopped((f) => void (f.lastUsed = use(30 * H - 60_001)))).toEqual([expect.stringContaining('after its handover')]);
  });

  it('no record at all: each record check says so, and a use is named without a handover (nothing throws)', () => {
    expect(
      stopped((f) => {
        f.record = undefined;
        f.lastUsed = use(H);
      }),
    ).toEqual([
      'its successor (none recorded) is not an Active key of the user',
      expect.stringContaining('(unreadable)'),
      expect.stringContaining('lies in the future'),
      expect.stringContaining('destination(s) octo/api'),
      `it was used ${at(-H)} (s3), after its handover (undefined): something still holds it`,
    ]);
  });

  it('a record from before 3.0 (no retire-after) is taken at this run\'s retire-after-hours', () => {
    expect(stopped((f) => void (f.record!.retireAfter = undefined))).toEqual([]);
    expect(
      stopped((f) => {
        f.record!.retireAfter = undefined;
        f.retireAfterHours = 2;
      }),
    ).toEqual(['its handover, or this run, waits 2 h before retiring it (retire-after-hours)']);
  });
});

describe('the one gate', () => {
  it('only keys/destruction.ts calls DeleteAccessKey or UpdateAccessKey (through aws.ts): every path to a destroyed key goes through destroy(key, reason)', () => {
    const root = new URL('../src/', import.meta.url);
    const files = (dir: URL): URL[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(new URL(`${e.name}/`, dir)) : e.name.endsWith('.ts') ? [new URL(e.name, dir)] : []));
    const calling = files(root)
      .filter((f) => /\b(deleteAccessKey|deactivateAccessKey|DeleteAccessKeyCommand|UpdateAccessKeyCommand)\b/.test(readFileSync(f, 'utf8')))
      .map((f) => f.pathname.split('/src/')[1]);
    expect(calling.sort()).toEqual(['aws/aws.ts', 'keys/destruction.ts']);
  });
});

describe('graceOf, makerMayStillRun', () => {
  it("the handover's grace, or the run's when longer; none recorded: the run's; no run setting: never", () => {
    expect(graceOf({ retireAfter: 24 }, 0)).toBe(24);
    expect(graceOf({ retireAfter: 1 }, 24)).toBe(24);
    expect(graceOf({}, 3)).toBe(3);
    expect(graceOf(undefined, 0)).toBe(0);
    expect(graceOf({ retireAfter: 5 }, undefined)).toBe(Infinity);
  });

  it('the run that made a key may still run: until GitHub says it ended after the key was made, or the key is MAX_RUN_MS old', () => {
    const made = new Date(START - 10 * 60_000 + 500);
    expect(makerMayStillRun(made, undefined, START)).toBe(true);
    expect(makerMayStillRun(made, START - 10 * 60_000, START)).toBe(false); // ended in the key's own second
    expect(makerMayStillRun(made, START - 10 * 60_000 - 1, START)).toBe(true);
    expect(makerMayStillRun(made, undefined, made.getTime() + MAX_RUN_MS)).toBe(false);
    expect(makerMayStillRun(made, undefined, made.getTime() + MAX_RUN_MS - 1)).toBe(true);
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
    expect(never((f) => void (touched(f.destinations[0], ['?'])))).toEqual(['destination(s) octo/api were given it (or may have been)']);
    expect(
      never((f) => {
        touched(f.destinations[0], [NEW, OLD]);
        touched(f.destinations[1], [OLD, '?']);
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

  it('a run GitHub says ended before the key existed bounds nothing: its last use is bounded by its age', () => {
    const old = (lastUsedAgo: number) =>
      orphan((f) => {
        f.runEnded = START - 3 * H; // before the orphan was made (2 h ago): no proof, whatever the record names
        f.lastUsed = use(lastUsedAgo);
      });
    expect(old(2 * H - MAX_RUN_MS)).toEqual([]);
    expect(old(2 * H - MAX_RUN_MS - 1)).toEqual([expect.stringContaining('after the run that made it ended')]);
  });

  it("a run that ended in the key's own second bounds its last use: a use a second later is a holder's", () => {
    const sameSecond = (lastUsedAgo: number) =>
      orphan((f) => {
        relist(f, key(ORPH, 10 * 60_000));
        f.destinations[0].prepared.updates = [START - 20 * 60_000];
        f.record = { created: at(-10 * 60_000) };
        f.runEnded = START - 10 * 60_000;
        f.lastUsed = use(lastUsedAgo);
      });
    expect(sameSecond(10 * 60_000)).toEqual([]);
    expect(sameSecond(9 * 60_000)).toEqual([expect.stringContaining('after the run that made it ended')]);
  });

  it("GitHub's word that its run ended proves a young key's run over, and bounds its last use instead of the age", () => {
    const young = (runEnded: number | undefined, lastUsed: ReturnType<typeof use> | null) =>
      orphan((f) => {
        relist(f, key(ORPH, 10 * 60_000));
        f.destinations[0].prepared.updates = [START - 20 * 60_000];
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
        f.destinations[0].prepared.updates = [update];
      });
    expect(holds(START - 2 * H)).toEqual(['destination(s) octo/api were written after its creation and may hold it']);
    expect(holds(START - 2 * H - 1)).toEqual([]);
  });

  it('a destination this run wrote with the orphan holds it; several are named', () => {
    expect(
      orphan((f) => {
        written(f.destinations[0], ORPH);
        written(f.destinations[1], ORPH);
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

describe('holdersOf', () => {
  const base = (destinations: DestinationRecord[]) => ({
    key: { id: ORPH, status: 'Active' as const, created: new Date(START - H + 700) },
    destinations,
  });

  it('destinations written since the key was made (from its whole second), unless this run rewrote them with another key', () => {
    expect(
      holdersOf(
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
    ['never handed out', 'It stays Active: rerun once the cause is fixed'],
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
      `${OLD} was not deleted (never handed out): a. It stays Active: rerun once the cause is fixed`,
    );
  });

  it('a reversible row was "not deactivated"; a stopped handover "not retired"; a key IAM no longer lists: someone else deleted it', () => {
    expect(new Unproven(ORPH, 'unrecorded key of a finished run', [gap('a')], '').message).toBe(
      `${ORPH} was not deactivated (unrecorded key of a finished run): a. Deactivate or delete it by hand once you know nothing holds it (no record of the action names it)`,
    );
    expect(new Unproven(OLD, 'handed over by a stopped run', [gap('a')], '').message).toMatch(/^\S+ was not retired \(handed over by a stopped run\)/);
    expect(new Unproven(OLD, 'orphan of a finished run', [gap(`IAM no longer lists ${OLD}`, 'not listed')], '').message).toBe(
      `${OLD} was not deleted (orphan of a finished run): IAM no longer lists ${OLD}. Someone else deleted it: rerun, which plans again on the keys as they are`,
    );
  });
});

describe('what to do when a row is not proven', () => {
  it.each([
    ['replaced by this run', 'Rerun once every destination holds the new key; nothing was retired'],
    ['replaced by a resumed rotation', 'Rerun once every destination holds the key this job signs in with; nothing was retired'],
    ['staged retirement', 'The key is kept: find its holder, or retire it by hand once you know nothing uses it'],
    ['handed over by a stopped run', 'The key is kept: find its holder, or retire it by hand once you know nothing uses it'],
    ['never handed out', 'It stays Active: rerun once the cause is fixed'],
    ['orphan of a finished run', 'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first'],
    ['unrecorded key of a finished run', 'Deactivate or delete it by hand once you know nothing holds it (no record of the action names it)'],
    ['orphan held by destinations this run rewrites', 'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first'],
    ['consent: key-limit delete-oldest', 'Rerun once the keys are as expected'],
    ['consent: key-limit delete-inactive', 'Rerun once the keys are as expected'],
  ] as [Reason, string][])('%s: %s', (reason, todo) => {
    expect(POLICY[reason].todo).toBe(todo);
    expect(new Unproven(OLD, reason, [gap('a')], '').message.endsWith(`: a. ${todo}`)).toBe(true);
  });
});

describe('undoCommand', () => {
  it('the one command that makes a deactivated key Active again', () => {
    expect(undoCommand('deployer', OLD)).toBe(`aws iam update-access-key --user-name deployer --access-key-id ${OLD} --status Active`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// the gate, against the memory IAM

const memKey = (id: string, createdAgo: number, status: 'Active' | 'Inactive' = 'Active', lastUsedAgo?: number): MemoryKey => ({
  id,
  status,
  created: new Date(START - createdAgo),
  ...(lastUsedAgo === undefined ? {} : { lastUsed: use(lastUsedAgo) }),
});

/** A gate over the memory IAM: the run's facts are `facts` (with IAM's list and the key as the gate passes them). */
function gateWorld(opts: {
  keys: MemoryKey[];
  facts?: Partial<Facts>;
  uses?: Record<string, Use | null | undefined>;
  previousKey?: PreviousKeyMode;
  known?: AccessKey[];
}) {
  const mem = memoryIam({ keys: opts.keys });
  const { aws } = memoryClients(mem, { as: { accessKeyId: CUR, secretAccessKey: 'secret-of-cur' } });
  const io = recorder();
  const cancel = new Cancellation();
  const uses = new Map(Object.entries(opts.uses ?? {}));
  const fates: { id: string; fate: KeyFate; reason: Reason }[] = [];
  const expected = new Set(opts.keys.map((k) => k.id));
  const run: GateRun = {
    user: 'deployer',
    iam: () => aws.iam,
    io,
    cancel,
    previousKey: opts.previousKey ?? 'delete',
    uses,
    known: (id) => opts.known?.find((k) => k.id === id),
    facts: (key, keys) => ({ iamNow: START, destinations: [], expected, ...opts.facts, key, keys, lastUsed: uses.get(key.id) }),
    destroyed: async (id, fate, reason) => void fates.push({ id, fate, reason }),
  };
  return { ...mem, io, cancel, uses, fates, expected, gate: keyGate(run) };
}

/** A run that made NEW, wrote it to octo/api as a pair, verified it and passed the holder check. */
function replaced(extra: Partial<Parameters<typeof gateWorld>[0]> = {}) {
  const w = gateWorld({
    keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H), memKey(NEW, 0)],
    facts: {
      destinations: [dest('octo/api', { updates: [START - 200 * H], writtenWith: NEW })],
      newKey: { id: NEW, verified: true, handedOver: true },
      ownHolderChecked: true,
    },
    ...extra,
  });
  return w;
}

const destroying = (calls: string[]) => calls.filter((c) => c === 'DeleteAccessKey' || c === 'UpdateAccessKey');

describe('the gate: destroy(key, reason)', () => {
  it('proven: lists the keys first, reads the last use, deletes, and journals the fate and the reason', async () => {
    const w = replaced();
    expect(await w.gate.destroy(OLD, 'replaced by this run')).toEqual({ fate: 'deleted' });
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(w.inputs[2]).toEqual({ UserName: 'deployer', AccessKeyId: OLD });
    expect([...w.keys.keys()]).toEqual([CUR, NEW]);
    expect(w.uses.get(OLD)).toBeNull();
    expect(w.fates).toEqual([{ id: OLD, fate: 'deleted', reason: 'replaced by this run' }]);
  });

  it('previous-key: deactivate: UpdateAccessKey Inactive, journaled "deactivated", with the command that undoes it', async () => {
    const w = replaced({ previousKey: 'deactivate', uses: { [OLD]: use(H) } });
    expect(await w.gate.destroy(OLD, 'replaced by this run')).toEqual({ fate: 'deactivated', undo: undoCommand('deployer', OLD) });
    expect(w.calls).toEqual(['ListAccessKeys', 'UpdateAccessKey']);
    expect(w.inputs[1]).toEqual({ UserName: 'deployer', AccessKeyId: OLD, Status: 'Inactive' });
    expect(w.keys.get(OLD)?.status).toBe('Inactive');
    expect(w.fates).toEqual([{ id: OLD, fate: 'deactivated', reason: 'replaced by this run' }]);
  });

  it('previous-key: keep never reaches the gate: a row that follows it refuses', async () => {
    const w = replaced({ previousKey: 'keep', uses: { [OLD]: null } });
    await expect(w.gate.destroy(OLD, 'replaced by this run')).rejects.toThrow('internal: previous-key: keep retires nothing (replaced by this run)');
    expect(destroying(w.calls)).toEqual([]);
  });

  it('a row that allows only the reversible step deactivates whatever previous-key says; a key already Inactive is left as it is', async () => {
    const stopped = () =>
      gateWorld({
        keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)],
        facts: { record: { supersededBy: CUR, handover: at(-H), retireAfter: 0 }, retireAfterHours: 0 },
        uses: { [OLD]: null },
        previousKey: 'delete',
      });
    const w = stopped();
    expect(await w.gate.destroy(OLD, 'handed over by a stopped run')).toEqual({ fate: 'deactivated', undo: undoCommand('deployer', OLD) });
    expect(w.calls).toEqual(['ListAccessKeys', 'UpdateAccessKey']);
    expect(w.fates).toEqual([{ id: OLD, fate: 'deactivated', reason: 'handed over by a stopped run' }]);
    const again = stopped();
    again.keys.get(OLD)!.status = 'Inactive';
    expect(await again.gate.destroy(OLD, 'handed over by a stopped run')).toBeUndefined();
    expect(again.calls).toEqual(['ListAccessKeys']);
    expect(again.fates).toEqual([]);
  });

  it('unproven: throws Unproven and sends nothing that destroys', async () => {
    const w = replaced({ facts: { destinations: [], newKey: { id: NEW, verified: true, handedOver: true }, ownHolderChecked: false } });
    const err = await w.gate.destroy(OLD, 'replaced by this run').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unproven);
    expect((err as Error).message).toBe(
      `${OLD} was not deleted (replaced by this run): the job's own holder check did not pass ` +
        `(known: created ${at(-100 * H)}, no record of this action, never used). ` +
        'Rerun once every destination holds the new key; nothing was retired',
    );
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed']);
    expect(w.keys.has(OLD)).toBe(true);
    expect(w.fates).toEqual([]);
  });

  it('staged retirement, proven from the record: deletes; refused while the handover is recent ("retired")', async () => {
    const staged = (handoverAgo: number) =>
      gateWorld({
        keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)],
        facts: { record: { supersededBy: CUR, handover: at(-handoverAgo) }, retireAfterHours: 24 },
        uses: { [OLD]: null },
      });
    const due = staged(24 * H);
    await due.gate.destroy(OLD, 'staged retirement');
    expect(due.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);

    const early = staged(2 * H);
    await expect(early.gate.destroy(OLD, 'staged retirement')).rejects.toThrow(
      `${OLD} was not retired (staged retirement): the handover is not yet 24 h old (IAM time) (known: created ${at(-100 * H)}, ` +
        `the action's record: superseded by ${CUR}, handover ${at(-2 * H)}, never used). The key is kept`,
    );
    expect(early.calls).toEqual(['ListAccessKeys']);
    expect(early.keys.get(OLD)?.status).toBe('Active');
  });

  it('reads the last use before destroying when it has none yet, and decides with it', async () => {
    const orphanWorld = (lastUsedAgo?: number) =>
      gateWorld({
        keys: [memKey(CUR, 100 * H), memKey(ORPH, 3 * H, 'Active', lastUsedAgo)],
        facts: { record: { created: at(-3 * H) }, destinations: [dest('octo/api', { updates: [START - 4 * H] })] },
      });
    const unused = orphanWorld();
    await unused.gate.destroy(ORPH, 'orphan of a finished run');
    expect(unused.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(unused.inputs[1]).toEqual({ AccessKeyId: ORPH });
    expect(unused.fates).toEqual([{ id: ORPH, fate: 'deleted as an orphan', reason: 'orphan of a finished run' }]);

    const used = orphanWorld(H);
    await expect(used.gate.destroy(ORPH, 'orphan of a finished run')).rejects.toThrow(
      `it was used ${at(-H)} (s3), after the run that made it ended: something holds it (known: created ${at(-3 * H)}, ` +
        `the action's record: created ${at(-3 * H)}, last used ${at(-H)} (s3))`,
    );
    expect(used.uses.get(ORPH)).toEqual(use(H));
    expect(destroying(used.calls)).toEqual([]);
  });

  it('a last use IAM will not tell is unknown: refused, with one warning', async () => {
    const w = gateWorld({ keys: [memKey(CUR, 100 * H), memKey(ORPH, 3 * H)], facts: { record: { created: at(-3 * H) } } });
    w.before((command) => {
      if (command === 'GetAccessKeyLastUsed') throw awsFailure('AccessDenied', 403);
    });
    await expect(w.gate.destroy(ORPH, 'orphan of a finished run')).rejects.toThrow(
      /its last use is unknown \(iam:GetAccessKeyLastUsed\) \(known: .*, last use unknown\)/,
    );
    expect(w.io.warnings).toHaveLength(1);
    expect(destroying(w.calls)).toEqual([]);
  });

  it('does not read the last use again when it has one, even an unknown one', async () => {
    const w = gateWorld({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)], uses: { [OLD]: use(H), [CUR]: undefined } });
    await w.gate.destroy(OLD, 'consent: key-limit delete-inactive');
    expect(w.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);

    const unknown = gateWorld({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)], uses: { [OLD]: undefined } });
    await unknown.gate.destroy(OLD, 'consent: key-limit delete-inactive');
    expect(unknown.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);
  });

  it("decides on IAM's list as it is now, not as it was at the start", async () => {
    const w = gateWorld({ keys: [memKey(CUR, 50 * H), memKey(OLD, 100 * H)], uses: { [OLD]: null } });
    w.keys.get(OLD)!.status = 'Inactive';
    await w.gate.destroy(OLD, 'consent: key-limit delete-inactive');
    expect(w.calls).toEqual(['ListAccessKeys', 'DeleteAccessKey']);

    const active = gateWorld({ keys: [memKey(CUR, 50 * H), memKey(OLD, 100 * H, 'Inactive')], uses: { [OLD]: null } });
    active.keys.get(OLD)!.status = 'Active';
    await expect(active.gate.destroy(OLD, 'consent: key-limit delete-inactive')).rejects.toThrow(
      `${OLD} was not deleted (consent: key-limit delete-inactive): IAM does not list it as Inactive`,
    );
    expect(destroying(active.calls)).toEqual([]);
  });

  it('a key IAM no longer lists: "IAM no longer lists", with what the run knew of it, no last-use read, nothing left to do', async () => {
    const w = gateWorld({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)], known: [key(OLD, 100 * H, 'Inactive')] });
    w.keys.delete(OLD);
    await expect(w.gate.destroy(OLD, 'consent: key-limit delete-inactive')).rejects.toThrow(
      `${OLD} was not deleted (consent: key-limit delete-inactive): IAM no longer lists ${OLD} ` +
        `(known: created ${at(-100 * H)}, no record of this action, last use unknown). Someone else deleted it: rerun, which plans again on the keys as they are`,
    );
    expect(w.calls).toEqual(['ListAccessKeys']);

    // A key the run never knew: nothing is known of it.
    const never = gateWorld({ keys: [memKey(CUR, 50 * H)] });
    await expect(never.gate.destroy(OTHER, 'never handed out')).rejects.toThrow(
      `${OTHER} was not deleted (never handed out): IAM no longer lists ${OTHER}. Someone else deleted it: rerun, which plans again on the keys as they are`,
    );
    expect(never.calls).toEqual(['ListAccessKeys']);
  });

  it('keys changed by someone between the plan and the delete: a key added, or one removed, fails `unchanged`', async () => {
    const added = gateWorld({ keys: [memKey(OLD, 100 * H, 'Inactive'), memKey(CUR, 50 * H)], uses: { [OLD]: null } });
    added.before((command, n) => {
      if (command === 'ListAccessKeys' && n === 1) added.keys.set(OTHER, memKey(OTHER, 0));
    });
    await expect(added.gate.destroy(OLD, 'consent: key-limit delete-inactive')).rejects.toThrow(
      `${OLD} was not deleted (consent: key-limit delete-inactive): the keys IAM lists are not the ones this run expects`,
    );
    expect(destroying(added.calls)).toEqual([]);
    expect(added.keys.has(OLD)).toBe(true);

    const removed = gateWorld({ keys: [memKey(OLD, 100 * H), memKey(CUR, 50 * H)], uses: { [OLD]: null }, facts: { keyLimit: 'delete-oldest' } });
    removed.before((command) => {
      if (command === 'ListAccessKeys') removed.keys.delete(CUR);
    });
    await expect(removed.gate.destroy(OLD, 'consent: key-limit delete-oldest')).rejects.toThrow('the keys IAM lists are not the ones this run expects');
    expect(destroying(removed.calls)).toEqual([]);
  });

  it('never handed out: its own key is discarded; a write in flight to a destination stops it', async () => {
    const discard = gateWorld({
      keys: [memKey(CUR, 50 * H), memKey(NEW, 0)],
      facts: { newKey: { id: NEW, verified: false, handedOver: false }, destinations: [dest('octo/api')] },
    });
    expect(await discard.gate.destroy(NEW, 'never handed out')).toEqual({ fate: 'discarded' });
    expect(discard.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(discard.fates).toEqual([{ id: NEW, fate: 'discarded', reason: 'never handed out' }]);

    const inFlight = gateWorld({
      keys: [memKey(CUR, 50 * H), memKey(NEW, 0)],
      facts: { newKey: { id: NEW, verified: false, handedOver: false }, destinations: [dest('octo/api', { touchedWith: ['', '?'] })] },
    });
    await expect(inFlight.gate.destroy(NEW, 'never handed out')).rejects.toThrow(
      `${NEW} was not deleted (never handed out): destination(s) octo/api were given it (or may have been) ` +
        `(known: created ${at(0)}, no record of this action, never used)`,
    );
    expect(destroying(inFlight.calls)).toEqual([]);
  });
});

describe('the gate after a cancel', () => {
  it('destroys nothing proven once the run was asked to stop (having proven it: the evidence is read first)', async () => {
    for (const previousKey of ['delete', 'deactivate'] as const) {
      const w = replaced({ previousKey });
      w.cancel.cancel('SIGTERM');
      await expect(w.gate.destroy(OLD, 'replaced by this run')).rejects.toBeInstanceOf(Cancelled);
      expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed']);
      expect(w.keys.get(OLD)?.status).toBe('Active');
      expect(w.fates).toEqual([]);
    }
  });

  it('an unproven reason is still refused as Unproven', async () => {
    const w = replaced({ facts: { newKey: { id: NEW, verified: false, handedOver: true }, ownHolderChecked: true } });
    w.cancel.cancel('SIGTERM');
    await expect(w.gate.destroy(OLD, 'replaced by this run')).rejects.toBeInstanceOf(Unproven);
  });

  it("a rollback of the run's own key that was never handed out still runs", async () => {
    const w = gateWorld({ keys: [memKey(CUR, 50 * H), memKey(NEW, 0)], facts: { newKey: { id: NEW, verified: false, handedOver: false } } });
    w.cancel.cancel('SIGINT');
    await w.gate.destroy(NEW, 'never handed out');
    expect(w.calls).toEqual(['ListAccessKeys', 'GetAccessKeyLastUsed', 'DeleteAccessKey']);
    expect(w.fates).toEqual([{ id: NEW, fate: 'discarded', reason: 'never handed out' }]);
  });
});
