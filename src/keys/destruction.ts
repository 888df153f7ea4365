/**
 * The whole safety policy for destroying an access key, on one screen: the only reasons the action may delete or
 * deactivate a key, the evidence each needs, how each destroys (delete, or only the reversible deactivate) and what
 * the journal records, and what to do when the evidence is missing. Every DeleteAccessKey and every deactivating
 * UpdateAccessKey goes through the gate's `destroy(key, reason)`, which lists the keys again, proves the reason against
 * IAM's own facts (the key list, CreateDate, last use, IAM's time) and this run's journal, and refuses otherwise.
 * A tag alone proves nothing (anyone with iam:TagUser can write one); the runner's clock is never used.
 * docs/security-model.md says what each row trusts and who else can write it.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { deactivateAccessKey, deleteAccessKey, listAccessKeys } from '../aws/aws.js';
import type { ActionsIO } from '../config/context.js';
import type { PreviousKeyMode } from '../config/inputs.js';
import { type DestinationRecord, mayHold, pairKey, touchedWith, updates } from '../github/destination-record.js';
import type { Cancellation } from '../shared/cancel.js';
import { ActionError } from '../shared/errors.js';
import type { AccessKey, Use } from '../shared/types.js';
import { CREATE_TAG, CREATE_WINDOW_MS, type Creation, type KeyRecord, inWindow, lastUses } from './records.js';

/** A run ends within this long (main.ts cancels itself before): a key older than this outlived the run that made it. */
export const MAX_RUN_MS = 60 * 60_000;
/** IAM's time is read from whole-second Date headers: a record written a moment ago may look up to this far ahead. */
export const CLOCK_SLACK_MS = 60_000;
const HOUR = 3_600_000;
const second = (ms: number) => Math.floor(ms / 1000) * 1000;

/**
 * The one rule for "the run that made it may still be running": GitHub does not say that run ended after the key was
 * made (`ended`: its word, or an earlier attempt of this very workflow run, which GitHub starts only after it ended),
 * and the key is younger than a run can last, in IAM's clock.
 */
export function makerMayStillRun(created: Date, ended: number | undefined, iamNow: number): boolean {
  return !endedAfterMade(created, ended) && iamNow - created.getTime() < MAX_RUN_MS;
}

/** The run that made a key ended after (IAM's `CreateDate`, whole seconds as records are) it made the key: a run that ended before did not make it. */
const endedAfterMade = (created: Date, ended: number | undefined): boolean => (ended ?? -Infinity) >= second(created.getTime());

/** A record that says this action created the key and never handed it over. */
export const unhanded = (r: KeyRecord | undefined): r is KeyRecord =>
  r?.created !== undefined && r.handover === undefined && r.supersededBy === undefined;

/**
 * The retire-after-hours a handed-over key waits: the one its handover was made with, or this run's if longer (a
 * record from before 3.0 names none: this run's). Undefined hours (no run setting): no key is ever old enough.
 */
export function graceOf(record: KeyRecord | undefined, runHours: number | undefined): number {
  const run = runHours ?? Infinity;
  return Math.max(record?.retireAfter ?? run, run);
}

/** The facts a proof reads. `keys` is the key list IAM gave just before the change; times are IAM's. */
export interface Facts {
  key: AccessKey;
  keys: AccessKey[];
  iamNow: number;
  /** This run's destinations: what preflight saw, and what this run wrote (their ledgers). */
  destinations: DestinationRecord[];
  /** The new key this run created, if any; `verified`: STS accepted it (or verify-timeout-seconds: 0 waived it). */
  newKey?: { id: string; verified: boolean; handedOver: boolean };
  /** The job's own holder check passed (self-rotation writes where the job reads its credentials). */
  ownHolderChecked?: boolean;
  /** The keys this run expects IAM to list. */
  expected?: ReadonlySet<string>;
  /** The key's provenance record (a claim, checked against IAM's facts). */
  record?: KeyRecord;
  lastUsed?: Use | null;
  retireAfterHours?: number;
  keyLimit?: string;
  /** When the run the record names ended (GitHub's word, or an earlier attempt of this workflow run). */
  runEnded?: number;
  /**
   * The earlier run's key this run finishes handing out (a resumed rotation): its record as read before this run
   * changed anything, when the run that made it ended, and whether this run signed in with it (STS).
   */
  resumed?: { id: string; record: KeyRecord; runEnded?: number; signedIn: boolean };
  /** The key this run recorded, before deleting it, that the destinations which may hold it lose until rewritten. */
  breaking?: string;
  /** The create marker as read, with the keys without a tag made in its window. */
  creation?: Creation;
  /** Keys this run made Inactive on evidence that allows only that reversible step. */
  reversedHere?: ReadonlySet<string>;
}

export type Reason =
  | 'replaced by this run'
  | 'replaced by a resumed rotation'
  | 'staged retirement'
  | 'handed over by a stopped run'
  | 'never handed out'
  | 'orphan of a finished run'
  | 'unrecorded key of a finished run'
  | 'orphan held by destinations this run rewrites'
  | 'consent: key-limit delete-oldest'
  | 'consent: key-limit delete-inactive';

/** Which piece of evidence is missing: what the code branches on (the text is for people, and may be reworded). */
export type Gap =
  | 'not listed'
  | 'keys changed'
  | 'successor not active'
  | 'handover before successor'
  | 'handover in the future'
  | 'no new key'
  | 'new key unverified'
  | 'new key gone'
  | 'destinations not written'
  | 'own holder unchecked'
  | 'maker may still run'
  | 'destinations older than successor'
  | 'handover too recent'
  | 'last use unknown'
  | 'used too recently'
  | 'no grace'
  | 'grace chosen'
  | "not this run's"
  | 'handed over'
  | 'given to destinations'
  | 'no unhanded record'
  | 'record not this key'
  | 'used after its run'
  | 'destinations may hold it'
  | 'no consent'
  | 'not the oldest'
  | 'not inactive'
  | 'deactivated by this run'
  | 'newer than its successor'
  | 'recorded'
  | 'no create marker'
  | 'not the only one'
  | 'used since made';

/** One piece of missing evidence: its code, and the sentence a person reads. */
export interface Missing {
  code: Gap;
  text: string;
}

/** A check: undefined when it holds, else the evidence that is missing. */
type Check = (f: Facts) => Missing | undefined;
const need = (ok: boolean, code: Gap, text: string): Missing | undefined => (ok ? undefined : { code, text });
const listed = (f: Facts, id: string | undefined) => f.keys.find((k) => k.id === id);
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'unreadable');
const same = (a: Iterable<string>, b: Iterable<string>) => [...a].sort().join() === [...b].sort().join();
const handoverOf = (f: Facts) => Date.parse(String(f.record?.handover));

/** The labels of this run's destinations that may hold the key (written since its creation, not rewritten with another). */
export const holdersOf = (f: Pick<Facts, 'key' | 'destinations'>): string[] => f.destinations.filter((d) => mayHold(d, f.key)).map((d) => d.label);

/** The keys IAM lists are exactly the ones this run expects. */
const unchanged: Check = (f) =>
  need(f.expected !== undefined && same(f.keys.map((k) => k.id), f.expected), 'keys changed', 'the keys IAM lists are not the ones this run expects');

/** A handover record agrees with IAM's facts: its successor is an Active key made before the handover, which is past. */
export const RECORD_CHECKS: Check[] = [
  (f) => {
    const s = listed(f, f.record?.supersededBy);
    return need(s?.status === 'Active', 'successor not active', `its successor ${f.record?.supersededBy ?? '(none recorded)'} is not an Active key of the user`);
  },
  (f) => {
    const s = listed(f, f.record?.supersededBy);
    const handover = handoverOf(f);
    return need(
      s !== undefined && second(s.created.getTime()) <= handover && f.key.created <= s.created,
      'handover before successor',
      `the recorded handover (${iso(handover)}) is not after the CreateDate of its successor ` +
        `(${s ? s.created.toISOString() : 'unknown'}) and of the key itself`,
    );
  },
  (f) =>
    need(
      handoverOf(f) <= f.iamNow + CLOCK_SLACK_MS,
      'handover in the future',
      `the recorded handover lies in the future (IAM's time is ${iso(f.iamNow)})`,
    ),
];

/** No destination of this run may hold it: none was written after the key was made (or this run rewrote it). */
const heldByNone: Check = (f) => {
  const holders = holdersOf(f);
  return need(holders.length === 0, 'destinations may hold it', `destination(s) ${holders.join(', ')} were written after its creation and may hold it`);
};

/** The destinations of this run last written before the key's recorded successor existed (and not since by this run): they may hold the key. */
export function olderThanSuccessor(f: Pick<Facts, 'keys' | 'record' | 'destinations'>): DestinationRecord[] {
  const s = f.keys.find((k) => k.id === f.record?.supersededBy);
  const since = s ? second(s.created.getTime()) : Infinity;
  return f.destinations.filter((d) => pairKey(d) === undefined && updates(d).some((u) => u < since));
}

/** No destination of this run was last written before the key's successor existed (such a one may hold the key). */
const nothingOlderThanSuccessor: Check = (f) => {
  const old = olderThanSuccessor(f).map((d) => d.label);
  return need(old.length === 0, 'destinations older than successor', `destination(s) ${old.join(', ')} were last written before its successor existed, so they may hold it`);
};

const lastUseKnown: Check = (f) => need(f.lastUsed !== undefined, 'last use unknown', 'its last use is unknown (iam:GetAccessKeyLastUsed)');

/** When the run the record names ended, if that is proof: a run that ended before the key existed did not make it. */
const endedAt = (f: Facts) => (endedAfterMade(f.key.created, f.runEnded) ? f.runEnded : undefined);

/** What proves a key an orphan of a finished run of this action, whoever may hold it. */
const ORPHAN_CHECKS: Check[] = [
  (f) => need(unhanded(f.record), 'no unhanded record', 'no record says this action created it and never handed it over'),
  (f) =>
    need(
      f.record?.created === undefined || Math.abs(Date.parse(f.record.created) - second(f.key.created.getTime())) <= CLOCK_SLACK_MS,
      'record not this key',
      `its record says it was created ${f.record?.created}, but IAM says ${f.key.created.toISOString()}: the record is not this key's`,
    ),
  (f) =>
    need(
      !makerMayStillRun(f.key.created, f.runEnded, f.iamNow),
      'maker may still run',
      `it is younger than the action's maximum run time (${MAX_RUN_MS / 60_000} minutes; created ` +
        `${f.key.created.toISOString()}), it is no earlier attempt of this workflow run, and GitHub does not say the run that made it has ended, so that run may still be writing it`,
    ),
  lastUseKnown,
  (f) =>
    need(
      !f.lastUsed || Date.parse(f.lastUsed.date) <= (endedAt(f) ?? f.key.created.getTime() + MAX_RUN_MS),
      'used after its run',
      `it was used ${f.lastUsed?.date} (${f.lastUsed?.service}), after the run that made it ended: something holds it`,
    ),
];

/** How a row destroys: always delete, only the reversible deactivate, or as previous-key says (delete or deactivate). */
export type How = 'delete' | 'deactivate' | 'previous-key';

/** What the journal records of a key this run retired or left. */
export type KeyFate = 'deleted' | 'deleted to make room' | 'deleted as an orphan' | 'deactivated' | 'kept' | 'discarded';

interface Row {
  /** Which key the reason covers (the README's "Which key" column, word for word). */
  covers: string;
  checks: Check[];
  /** What to do when a check fails. */
  todo: string;
  how: How;
  /** What the journal records when the row deletes (a deactivation records 'deactivated'). */
  deleted: KeyFate;
}

/**
 * The table. Each row: which key the reason covers, the checks that prove it, what to do when one fails, how it
 * destroys and what the journal records. A row whose evidence is a time window or a tag that a person or a tag
 * writer could also produce destroys only reversibly (`how: 'deactivate'`).
 */
export const POLICY: Record<Reason, Row> = {
  'replaced by this run': {
    covers: 'the previous key, with `retire-after-hours: 0`',
    how: 'previous-key',
    deleted: 'deleted',
    checks: [
      (f) => need(f.newKey !== undefined && f.newKey.id !== f.key.id, 'no new key', 'this run created no new key to replace it'),
      (f) => need(f.newKey?.verified === true, 'new key unverified', 'the new key was not verified by STS'),
      (f) => need(listed(f, f.newKey?.id)?.status === 'Active', 'new key gone', `the new key ${f.newKey?.id} is no longer Active in IAM`),
      (f) => {
        const missing = f.destinations.filter((d) => pairKey(d) !== f.newKey?.id).map((d) => d.label);
        return need(missing.length === 0, 'destinations not written', `not every destination holds the new key (${missing.join(', ')})`);
      },
      (f) => need(f.ownHolderChecked === true, 'own holder unchecked', "the job's own holder check did not pass"),
      (f) =>
        need(
          !unhanded(f.record) || !makerMayStillRun(f.key.created, f.runEnded, f.iamNow),
          'maker may still run',
          `another run of this action made it less than ${MAX_RUN_MS / 60_000} minutes ago and never handed it over, ` +
            'and GitHub does not say that run has ended: it may still be writing it (a rerun retires it once that run ' +
            `has ended, at the latest from ${iso(f.key.created.getTime() + MAX_RUN_MS)}, IAM time)`,
        ),
      unchanged,
    ],
    todo: 'Rerun once every destination holds the new key; nothing was retired',
  },
  'replaced by a resumed rotation': {
    covers: "the previous key, when a rerun signs in with the key an earlier run made and finishes that run's rotation",
    how: 'previous-key',
    deleted: 'deleted',
    checks: [
      (f) => need(f.resumed !== undefined && f.resumed.id !== f.key.id, 'no new key', "this run finishes no earlier run's rotation"),
      (f) => need(f.resumed?.signedIn === true, 'new key unverified', `this run did not sign in with ${f.resumed?.id}`),
      (f) => need(listed(f, f.resumed?.id)?.status === 'Active', 'new key gone', `the new key ${f.resumed?.id} is no longer Active in IAM`),
      (f) => {
        const s = listed(f, f.resumed?.id);
        const r = f.resumed?.record;
        const made = s !== undefined && r?.created !== undefined && Math.abs(Date.parse(r.created) - second(s.created.getTime())) <= CLOCK_SLACK_MS;
        // Never handed over, or handed over by a run that meant to retire this key at once and stopped first.
        const stopped = unhanded(r) || (f.record?.supersededBy === f.resumed?.id && graceOf(f.record, f.retireAfterHours) === 0);
        return need(
          made && stopped,
          'no unhanded record',
          `no record read before this run changed anything says this action made ${f.resumed?.id} (at its CreateDate) and ` +
            'stopped before retiring the key it replaced',
        );
      },
      (f) => {
        const s = listed(f, f.resumed?.id);
        return need(
          s !== undefined && !makerMayStillRun(s.created, f.resumed?.runEnded, f.iamNow),
          'maker may still run',
          `the run that made ${f.resumed?.id} may still be running (GitHub does not say it ended, it is no earlier attempt of this ` +
            `workflow run, and the key is younger than ${MAX_RUN_MS / 60_000} minutes)`,
        );
      },
      (f) => {
        const s = listed(f, f.resumed?.id);
        return need(s !== undefined && f.key.created <= s.created, 'newer than its successor', `it is newer than ${f.resumed?.id}`);
      },
      (f) => {
        const missing = f.destinations.filter((d) => pairKey(d) !== f.resumed?.id).map((d) => d.label);
        return need(missing.length === 0, 'destinations not written', `not every destination holds ${f.resumed?.id} (${missing.join(', ')})`);
      },
      (f) => need(f.ownHolderChecked === true, 'own holder unchecked', "the job's own holder check did not pass"),
      unchanged,
    ],
    todo: 'Rerun once every destination holds the key this job signs in with; nothing was retired',
  },
  'staged retirement': {
    covers: 'a handed-over key, once the `retire-after-hours` of its handover (or of this run, if longer) have passed',
    how: 'previous-key',
    deleted: 'deleted',
    checks: [
      ...RECORD_CHECKS,
      nothingOlderThanSuccessor,
      (f) =>
        need(
          graceOf(f.record, f.retireAfterHours) > 0,
          'no grace',
          'its handover was made to retire it at once (retire-after-hours: 0), and this run waits no longer',
        ),
      (f) => {
        const grace = graceOf(f.record, f.retireAfterHours);
        return need(handoverOf(f) + grace * HOUR <= f.iamNow, 'handover too recent', `the handover is not yet ${grace} h old (IAM time)`);
      },
      lastUseKnown,
      (f) => {
        const grace = graceOf(f.record, f.retireAfterHours);
        return need(
          !f.lastUsed || Date.parse(f.lastUsed.date) + grace * HOUR <= f.iamNow,
          'used too recently',
          `it was last used ${f.lastUsed?.date} (${f.lastUsed?.service}), less than ${grace} h ago (IAM time)`,
        );
      },
      unchanged,
    ],
    todo: 'The key is kept: find its holder, or retire it by hand once you know nothing uses it',
  },
  'handed over by a stopped run': {
    covers: 'a handed-over key whose handover was made to retire it at once (`retire-after-hours: 0`) by a run that stopped first: deactivated, never deleted',
    how: 'deactivate',
    deleted: 'deleted',
    checks: [
      ...RECORD_CHECKS,
      nothingOlderThanSuccessor,
      (f) =>
        need(
          graceOf(f.record, f.retireAfterHours) === 0,
          'grace chosen',
          `its handover, or this run, waits ${graceOf(f.record, f.retireAfterHours)} h before retiring it (retire-after-hours)`,
        ),
      lastUseKnown,
      (f) =>
        need(
          !f.lastUsed || Date.parse(f.lastUsed.date) <= handoverOf(f) + CLOCK_SLACK_MS,
          'used too recently',
          `it was used ${f.lastUsed?.date} (${f.lastUsed?.service}), after its handover (${f.record?.handover}): something still holds it`,
        ),
      unchanged,
    ],
    todo: 'The key is kept: find its holder, or retire it by hand once you know nothing uses it',
  },
  'never handed out': {
    covers: "this run's own new key, on rollback",
    how: 'delete',
    deleted: 'discarded',
    checks: [
      (f) => need(f.newKey?.id === f.key.id, "not this run's", 'this run did not create it'),
      (f) => need(f.newKey?.handedOver === false, 'handed over', 'it was handed over'),
      (f) => {
        const holders = f.destinations.filter((d) => touchedWith(d).some((k) => k === f.key.id || k === '?')).map((d) => d.label);
        return need(holders.length === 0, 'given to destinations', `destination(s) ${holders.join(', ')} were given it (or may have been)`);
      },
    ],
    todo: 'It stays Active: rerun once the cause is fixed',
  },
  'orphan of a finished run': {
    covers: 'a key an earlier run of this action created and never handed over',
    how: 'delete',
    deleted: 'deleted as an orphan',
    checks: [...ORPHAN_CHECKS, heldByNone, unchanged],
    todo: 'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first',
  },
  'unrecorded key of a finished run': {
    covers: 'a key made in the window of a create marker whose run has ended, that no tag names: deactivated, never deleted',
    how: 'deactivate',
    deleted: 'deleted as an orphan',
    checks: [
      (f) => need(f.record === undefined, 'recorded', 'a tag names it (its record decides, not the create marker)'),
      (f) =>
        need(
          f.creation !== undefined && inWindow(f.creation, f.key.created.getTime()),
          'no create marker',
          `no create marker of the action (${CREATE_TAG}) says a run was creating a key within ${CREATE_WINDOW_MS / 60_000} minutes before IAM made it (CreateDate ${f.key.created.toISOString()})`,
        ),
      (f) =>
        need(
          // (Without a marker the check above fails alone.)
          f.creation === undefined || same(f.creation.candidates, [f.key.id]),
          'not the only one',
          `it is not the only key without a record made in that window (${f.creation?.candidates.join(', ')})`,
        ),
      (f) =>
        need(
          f.creation === undefined || !makerMayStillRun(f.key.created, f.creation.ended, f.iamNow),
          'maker may still run',
          `the run the marker names (${f.creation?.by}) may still be running: it is no earlier attempt of this workflow ` +
            `run, GitHub does not say it ended, and the key is younger than ${MAX_RUN_MS / 60_000} minutes`,
        ),
      lastUseKnown,
      (f) =>
        need(
          !f.lastUsed,
          'used since made',
          `it was used ${f.lastUsed?.date} (${f.lastUsed?.service}): a key the action never recorded was never handed to anyone, so something else holds it`,
        ),
      heldByNone,
      unchanged,
    ],
    todo: 'Deactivate or delete it by hand once you know nothing holds it (no record of the action names it)',
  },
  'orphan held by destinations this run rewrites': {
    covers: "a rotator's orphan of an earlier run, held only by destinations this run rewrites at once",
    how: 'delete',
    deleted: 'deleted as an orphan',
    checks: [
      ...ORPHAN_CHECKS,
      (f) =>
        need(
          f.breaking === f.key.id,
          'destinations may hold it',
          `destination(s) ${holdersOf(f).join(', ')} may hold it, and this run did not record that they lose it until it rewrites them`,
        ),
      unchanged,
    ],
    todo: 'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first',
  },
  'consent: key-limit delete-oldest': {
    covers: 'the oldest Active key, to make room',
    how: 'delete',
    deleted: 'deleted to make room',
    checks: [
      (f) => need(f.keyLimit === 'delete-oldest', 'no consent', 'key-limit is not delete-oldest'),
      (f) => need(f.keys.every((k) => k.created >= f.key.created), 'not the oldest', 'it is not the oldest key'),
      unchanged,
    ],
    todo: 'Rerun once the keys are as expected',
  },
  'consent: key-limit delete-inactive': {
    covers: 'an Inactive key, to make room',
    how: 'delete',
    deleted: 'deleted to make room',
    checks: [
      (f) => need(listed(f, f.key.id)?.status === 'Inactive', 'not inactive', 'IAM does not list it as Inactive'),
      (f) =>
        need(
          !f.reversedHere?.has(f.key.id),
          'deactivated by this run',
          'this run deactivated it on evidence that allows only that reversible step: a later run deletes it',
        ),
      unchanged,
    ],
    todo: 'Rerun once the keys are as expected',
  },
};

/** The rows whose evidence allows only a reversible step: they deactivate, never delete. */
export const reversibleOnly = (reason: Reason): boolean => POLICY[reason].how === 'deactivate';

/** The evidence missing for `reason` (empty: proven), each with its code. Pure. */
export function gaps(reason: Reason, facts: Facts): Missing[] {
  if (!facts.keys.some((k) => k.id === facts.key.id)) return [{ code: 'not listed', text: `IAM no longer lists ${facts.key.id}` }];
  return POLICY[reason].checks.map((check) => check(facts)).filter((m): m is Missing => m !== undefined);
}

/** The evidence missing for `reason`, as people read it (empty: proven). Pure. */
export function missingEvidence(reason: Reason, facts: Facts): string[] {
  return gaps(reason, facts).map((m) => m.text);
}

/** The evidence for a reason was missing: nothing was destroyed. */
export class Unproven extends ActionError {
  readonly missing: string[];
  constructor(
    readonly keyId: string,
    readonly reason: Reason,
    readonly gaps: Missing[],
    known: string,
  ) {
    const verb = reason === 'staged retirement' || reason === 'handed over by a stopped run' ? 'retired' : reversibleOnly(reason) ? 'deactivated' : 'deleted';
    // A key IAM no longer lists was deleted by someone else: there is nothing left to do about it.
    const todo = gaps.every((m) => m.code === 'not listed') ? 'Someone else deleted it: rerun, which plans again on the keys as they are' : POLICY[reason].todo;
    super(`${keyId} was not ${verb} (${reason}): ${gaps.map((m) => m.text).join('; ')}${known ? ` (known: ${known})` : ''}. ${todo}`);
    this.name = 'Unproven';
    this.missing = gaps.map((m) => m.text);
  }

  /** Is `code` among the missing evidence? */
  lacks(code: Gap): boolean {
    return this.gaps.some((m) => m.code === code);
  }
}

/** What is known about a key, for a refusal: its provenance record and its last use. */
export function knownAbout(f: Pick<Facts, 'key' | 'record' | 'lastUsed'>): string {
  const r = f.record;
  const record = r
    ? `the action's record: ${[r.created && `created ${r.created}`, r.supersededBy && `superseded by ${r.supersededBy}`, r.handover && `handover ${r.handover}`].filter(Boolean).join(', ') || 'empty'}`
    : 'no record of this action';
  const use = f.lastUsed === undefined ? 'last use unknown' : f.lastUsed ? `last used ${f.lastUsed.date} (${f.lastUsed.service})` : 'never used';
  return `created ${f.key.created.toISOString()}, ${record}, ${use}`;
}

/** The one command that makes a deactivated key Active again. */
export const undoCommand = (user: string, id: string): string => `aws iam update-access-key --user-name ${user} --access-key-id ${id} --status Active`;

/** What the gate needs of the run: IAM as the run signs now, what it knows of each key, and the journal. */
export interface GateRun {
  user: string;
  /** IAM, signed as this run signs now (self-rotation: with the new key once it is handed over). */
  iam(): IAMClient;
  io: ActionsIO;
  cancel: Cancellation;
  previousKey: PreviousKeyMode;
  /** What the run knows of each key's last use (read here, and kept, when it has none yet). */
  uses: Map<string, Use | null | undefined>;
  /** A key the run knew, should IAM no longer list it. */
  known(id: string): AccessKey | undefined;
  /** This run's facts about `key`, with IAM's key list as it is now. */
  facts(key: AccessKey, keys: AccessKey[]): Facts;
  /** Journal the key's fate the moment it happened (and, deleted, forget its record). */
  destroyed(id: string, fate: KeyFate, reason: Reason): Promise<void>;
}

/** What destroy did: the fate it journaled, and (deactivated) the command that undoes it. */
export interface Destroyed {
  fate: KeyFate;
  undo?: string;
}

/**
 * The gate: destroy(key, reason) lists the keys again, proves the reason from IAM's facts and this run's journal, and
 * only then acts as the row says (delete, or deactivate: previous-key chooses for the rows that follow it). Throws
 * Unproven, having changed nothing, when the evidence is missing. A key already Inactive is not deactivated again.
 */
export function keyGate(run: GateRun): { destroy(id: string, reason: Reason): Promise<Destroyed | undefined> } {
  return {
    async destroy(id, reason) {
      const iam = run.iam();
      const keys = await listAccessKeys(iam, run.user);
      const listedNow = keys.find((k) => k.id === id);
      if (listedNow === undefined) {
        // Gone already (someone else deleted it): there is nothing to prove, and nothing to destroy.
        const was = run.known(id);
        throw new Unproven(id, reason, [{ code: 'not listed', text: `IAM no longer lists ${id}` }], was ? knownAbout(run.facts(was, keys)) : '');
      }
      const key = listedNow;
      // Keep the evidence: once deleted, a key's last use can no longer be read.
      if (!run.uses.has(id)) {
        for (const [k, use] of await lastUses(iam, run.io, run.user, [id])) run.uses.set(k, use);
      }
      const facts = run.facts(key, keys);
      const missing = gaps(reason, facts);
      if (missing.length > 0) throw new Unproven(id, reason, missing, knownAbout(facts));
      // A rollback still runs after a cancel; nothing else is destroyed once the run was asked to stop.
      if (reason !== 'never handed out') run.cancel.checkpoint();
      const row = POLICY[reason];
      const how = row.how === 'previous-key' ? run.previousKey : row.how;
      if (how === 'keep') throw new Error(`internal: previous-key: keep retires nothing (${reason})`);
      if (how === 'delete') {
        await deleteAccessKey(iam, run.user, id);
        await run.destroyed(id, row.deleted, reason);
        return { fate: row.deleted };
      }
      if (key.status === 'Inactive') return undefined;
      await deactivateAccessKey(iam, run.user, id);
      await run.destroyed(id, 'deactivated', reason);
      return { fate: 'deactivated', undo: undoCommand(run.user, id) };
    },
  };
}
