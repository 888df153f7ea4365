/**
 * The whole safety policy for destroying an access key, on one screen: the only reasons the action may delete or
 * deactivate a key, the evidence each needs, and what to do when that evidence is missing. Every DeleteAccessKey and
 * every deactivating UpdateAccessKey goes through `destroy`, which lists the keys again, proves the reason against
 * IAM's own facts (the key list, CreateDate, last use, IAM's time) and this run's journal, and refuses otherwise.
 * A tag alone proves nothing (anyone with iam:TagUser can write one); the runner's clock is never used.
 */
import { deactivateAccessKey, deleteAccessKey, listAccessKeys } from '../aws/aws.js';
import { ActionError } from '../shared/errors.js';
import { CREATE_TAG, CREATE_WINDOW_MS, type Creation, inWindow } from './create-marker.js';
import type { KeyFate } from '../rotation/journal.js';
import type { AccessKey, Use } from './plan.js';
import { type KeyRecord, forgetRecord, lastUses } from './provenance.js';
import type { RunState } from '../rotation/run-state.js';

/** A run ends within this long (main.ts cancels itself before): a key older than this outlived the run that made it. */
export const MAX_RUN_MS = 60 * 60_000;

/** What a destination of this run holds, as far as the decision needs it. */
export interface DestinationFacts {
  label: string;
  /** When each secret it holds was last written (GitHub's updated_at), or [] when it holds neither. */
  updates: number[];
  /** This run's own record: the key whose pair it wrote there (undefined: not written by this run). */
  writtenWith: string | undefined;
  /** The keys either of its secrets may hold by this run's writes ('?': a write whose outcome is unknown). */
  touchedWith: string[];
}

/** The facts a proof reads. `keys` is the key list IAM gave just before the change; times are IAM's. */
export interface Facts {
  key: AccessKey;
  keys: AccessKey[];
  iamNow: number;
  destinations: DestinationFacts[];
  /** The new key this run created, if any; `verified`: STS accepted it (or verify-timeout-seconds: 0 waived it). */
  newKey?: { id: string; verified: boolean; handedOver: boolean };
  /** The job's own holder check passed (self-rotation writes where the job reads its credentials). */
  ownHolderChecked?: boolean;
  /** The keys this run expects IAM to list. */
  expected?: ReadonlySet<string>;
  /** The key's provenance record (a claim, checked against IAM's facts). */
  record?: { created?: string; handover?: string; supersededBy?: string };
  lastUsed?: Use | null;
  retireAfterHours?: number;
  keyLimit?: string;
  /** GitHub's word that the run the record names has ended (its updated_at), when GitHub could say. */
  runEnded?: number;
  /**
   * The earlier run's key this run finishes handing out (a resumed rotation): its record as read before this run
   * changed anything, when the run that made it ended, and whether this run signed in with it (STS).
   */
  resumed?: { id: string; record: KeyRecord; runEnded?: number; signedIn: boolean };
  /** The key this run recorded, before deleting it, that the destinations which may hold it lose until rewritten. */
  breaking?: string;
  /** The create marker as read, with the keys without a tag made in its window (create-marker.ts). */
  creation?: Creation;
}

export type Reason =
  | 'replaced by this run'
  | 'replaced by a resumed rotation'
  | 'staged retirement'
  | 'never handed out'
  | 'orphan of a finished run'
  | 'unrecorded key of a finished run'
  | 'orphan held by destinations this run rewrites'
  | 'consent: key-limit delete-oldest'
  | 'consent: key-limit delete-inactive';

const HOUR = 3_600_000;
/** IAM's time is read from whole-second Date headers: a record written a moment ago may look up to this far ahead. */
export const CLOCK_SLACK_MS = 60_000;
const second = (ms: number) => Math.floor(ms / 1000) * 1000;
const same = (a: Iterable<string>, b: Iterable<string>) => [...a].sort().join() === [...b].sort().join();
const listed = (f: Facts, id: string | undefined) => f.keys.find((k) => k.id === id);
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'unreadable');
/** A record that says this action created the key and never handed it over. */
export const unhanded = (r: KeyRecord | undefined): r is KeyRecord =>
  r?.created !== undefined && r.handover === undefined && r.supersededBy === undefined;
/**
 * When GitHub says the run that made the key ended, if that is proof: a run that ended before the key existed (IAM's
 * `CreateDate`, in whole seconds as records are) did not make it, whatever the record names.
 */
const endedAt = (f: Facts) => (f.runEnded !== undefined && f.runEnded >= second(f.key.created.getTime()) ? f.runEnded : undefined);
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

/** Destinations that may hold the key: written since its creation, and not rewritten by this run with another key. */
export function mayHold(f: Facts): string[] {
  const created = second(f.key.created.getTime());
  return f.destinations
    .filter((d) => (d.writtenWith === undefined ? d.updates.some((u) => u >= created) : d.writtenWith === f.key.id))
    .map((d) => d.label);
}

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
    const handover = Date.parse(f.record?.handover ?? '');
    return need(
      s !== undefined && second(s.created.getTime()) <= handover && f.key.created <= s.created, 'handover before successor',
      `the recorded handover (${iso(handover)}) is not after the CreateDate of its successor ` +
        `(${s ? s.created.toISOString() : 'unknown'}) and of the key itself`,
    );
  },
  (f) =>
    need(
      Date.parse(f.record?.handover ?? '') <= f.iamNow + CLOCK_SLACK_MS, 'handover in the future',
      `the recorded handover lies in the future (IAM's time is ${iso(f.iamNow)})`,
    ),
];

/** No destination of this run was written after the key was made (so none may hold it). */
const heldByNone: Check = (f) => {
  const holders = mayHold(f);
  return need(holders.length === 0, 'destinations may hold it', `destination(s) ${holders.join(', ')} were written after its creation and may hold it`);
};

/** What proves a key an orphan of a finished run of this action, whoever may hold it. */
const ORPHAN_CHECKS: Check[] = [
  (f) =>
    need(
      unhanded(f.record), 'no unhanded record',
      'no record says this action created it and never handed it over',
    ),
  (f) =>
    need(
      f.record?.created === undefined || Math.abs(Date.parse(f.record.created) - second(f.key.created.getTime())) <= CLOCK_SLACK_MS, 'record not this key',
      `its record says it was created ${f.record?.created}, but IAM says ${f.key.created.toISOString()}: the record is not this key's`,
    ),
  (f) =>
    need(
      endedAt(f) !== undefined || f.iamNow - f.key.created.getTime() >= MAX_RUN_MS, 'maker may still run',
      `it is younger than the action's maximum run time (${MAX_RUN_MS / 60_000} minutes; created ` +
        `${f.key.created.toISOString()}), it is no earlier attempt of this workflow run, and GitHub does not say the run that made it has ended, so that run may still be writing it`,
    ),
  (f) => need(f.lastUsed !== undefined, 'last use unknown', 'its last use is unknown (iam:GetAccessKeyLastUsed)'),
  (f) =>
    need(
      !f.lastUsed || Date.parse(f.lastUsed.date) <= (endedAt(f) ?? f.key.created.getTime() + MAX_RUN_MS), 'used after its run',
      `it was used ${f.lastUsed?.date} (${f.lastUsed?.service}), after the run that made it ended: something holds it`,
    ),
];

/**
 * The table. Each row: which key the reason covers (the README's "Which key" column, word for word), the checks that
 * prove it, and what to do when one fails.
 */
export const POLICY: Record<Reason, { covers: string; checks: Check[]; todo: string }> = {
  'replaced by this run': {
    covers: 'the previous key, with `retire-after-hours: 0`',
    checks: [
      (f) => need(f.newKey !== undefined && f.newKey.id !== f.key.id, 'no new key', 'this run created no new key to replace it'),
      (f) => need(f.newKey?.verified === true, 'new key unverified', 'the new key was not verified by STS'),
      (f) => need(listed(f, f.newKey?.id)?.status === 'Active', 'new key gone', `the new key ${f.newKey?.id} is no longer Active in IAM`),
      (f) => {
        const missing = f.destinations.filter((d) => d.writtenWith !== f.newKey?.id).map((d) => d.label);
        return need(missing.length === 0, 'destinations not written', `not every destination holds the new key (${missing.join(', ')})`);
      },
      (f) => need(f.ownHolderChecked === true, 'own holder unchecked', "the job's own holder check did not pass"),
      (f) =>
        need(
          !unhanded(f.record) ||
            endedAt(f) !== undefined ||
            f.iamNow - f.key.created.getTime() >= MAX_RUN_MS, 'maker may still run',
          'another run of this action made it less than ' + `${MAX_RUN_MS / 60_000} minutes ago and never handed it over, ` +
            'and GitHub does not say that run has ended: it may still be writing it (a rerun retires it once that run ' +
            `has ended, at the latest from ${iso(f.key.created.getTime() + MAX_RUN_MS)}, IAM time)`,
        ),
      unchanged,
    ],
    todo: 'Rerun once every destination holds the new key; nothing was retired',
  },
  'replaced by a resumed rotation': {
    covers: "the previous key, when a rerun signs in with the key an earlier run made and finishes that run's rotation",
    checks: [
      (f) => need(f.resumed !== undefined && f.resumed.id !== f.key.id, 'no new key', "this run finishes no earlier run's rotation"),
      (f) => need(f.resumed?.signedIn === true, 'new key unverified', `this run did not sign in with ${f.resumed?.id}`),
      (f) => need(listed(f, f.resumed?.id)?.status === 'Active', 'new key gone', `the new key ${f.resumed?.id} is no longer Active in IAM`),
      (f) => {
        const s = listed(f, f.resumed?.id);
        const r = f.resumed?.record;
        return need(
          s !== undefined && unhanded(r) && Math.abs(Date.parse(r.created ?? '') - second(s.created.getTime())) <= CLOCK_SLACK_MS,
          'no unhanded record',
          `no record read before this run changed anything says this action made ${f.resumed?.id} (at its CreateDate) and never handed it over`,
        );
      },
      (f) => {
        const s = listed(f, f.resumed?.id);
        const ended = f.resumed?.runEnded;
        return need(
          s !== undefined && ((ended !== undefined && ended >= second(s.created.getTime())) || f.iamNow - s.created.getTime() >= MAX_RUN_MS),
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
        const missing = f.destinations.filter((d) => d.writtenWith !== f.resumed?.id).map((d) => d.label);
        return need(missing.length === 0, 'destinations not written', `not every destination holds ${f.resumed?.id} (${missing.join(', ')})`);
      },
      (f) => need(f.ownHolderChecked === true, 'own holder unchecked', "the job's own holder check did not pass"),
      unchanged,
    ],
    todo: 'Rerun once every destination holds the key this job signs in with; nothing was retired',
  },
  'staged retirement': {
    covers: 'a handed-over key, once `retire-after-hours` have passed (with `0`: the one a stopped run handed over and did not retire)',
    checks: [
      ...RECORD_CHECKS,
      (f) => {
        const s = listed(f, f.record?.supersededBy);
        const since = s ? second(s.created.getTime()) : Infinity;
        const old = f.destinations.filter((d) => d.writtenWith === undefined && d.updates.some((u) => u < since)).map((d) => d.label);
        return need(old.length === 0, 'destinations older than successor', `destination(s) ${old.join(', ')} were last written before its successor existed, so they may hold it`);
      },
      (f) =>
        need(
          Date.parse(f.record?.handover ?? '') + (f.retireAfterHours ?? Infinity) * HOUR <= f.iamNow, 'handover too recent',
          `the handover is not yet ${f.retireAfterHours} h old (IAM time)`,
        ),
      (f) => need(f.lastUsed !== undefined, 'last use unknown', 'its last use is unknown (iam:GetAccessKeyLastUsed)'),
      (f) =>
        f.retireAfterHours === 0
          ? // At once (a stopped run's handover): only while nothing has used it since that handover.
            need(
              !f.lastUsed || Date.parse(f.lastUsed.date) <= Date.parse(f.record?.handover ?? '') + CLOCK_SLACK_MS,
              'used too recently',
              `it was used ${f.lastUsed?.date} (${f.lastUsed?.service}), after its handover (${f.record?.handover}): something still holds it`,
            )
          : need(
              !f.lastUsed || Date.parse(f.lastUsed.date) + (f.retireAfterHours ?? Infinity) * HOUR <= f.iamNow,
              'used too recently',
              `it was last used ${f.lastUsed?.date} (${f.lastUsed?.service}), less than ${f.retireAfterHours} h ago (IAM time)`,
            ),
      unchanged,
    ],
    todo: 'The key is kept: find its holder, or retire it by hand once you know nothing uses it',
  },
  'never handed out': {
    covers: "this run's own new key, on rollback",
    checks: [
      (f) => need(f.newKey?.id === f.key.id, 'not this run\'s', 'this run did not create it'),
      (f) => need(f.newKey?.handedOver === false, 'handed over', 'it was handed over'),
      (f) => {
        const holders = f.destinations.filter((d) => d.touchedWith.some((k) => k === f.key.id || k === '?')).map((d) => d.label);
        return need(holders.length === 0, 'given to destinations', `destination(s) ${holders.join(', ')} were given it (or may have been)`);
      },
    ],
    todo: 'Both keys stay Active: rerun once the cause is fixed',
  },
  'orphan of a finished run': {
    covers: 'a key an earlier run of this action created and never handed over',
    checks: [
      ...ORPHAN_CHECKS,
      heldByNone,
      unchanged,
    ],
    todo: 'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first',
  },
  'unrecorded key of a finished run': {
    covers: 'a key a run of this action created and was stopped before recording (no tag names it)',
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
          f.creation === undefined ||
            (f.creation.ended !== undefined && f.creation.ended >= second(f.key.created.getTime())) ||
            f.iamNow - f.key.created.getTime() >= MAX_RUN_MS,
          'maker may still run',
          `the run the marker names (${f.creation?.by}) may still be running: it is no earlier attempt of this workflow ` +
            `run, GitHub does not say it ended, and the key is younger than ${MAX_RUN_MS / 60_000} minutes`,
        ),
      (f) => need(f.lastUsed !== undefined, 'last use unknown', 'its last use is unknown (iam:GetAccessKeyLastUsed)'),
      (f) =>
        need(
          !f.lastUsed,
          'used since made',
          `it was used ${f.lastUsed?.date} (${f.lastUsed?.service}): a key the action never recorded was never handed to anyone, so something else holds it`,
        ),
      heldByNone,
      unchanged,
    ],
    todo: 'Delete it by hand once you know nothing holds it (no record of the action names it)',
  },
  'orphan held by destinations this run rewrites': {
    covers: "a rotator's orphan of an earlier run, held only by destinations this run rewrites at once",
    checks: [
      ...ORPHAN_CHECKS,
      (f) =>
        need(
          f.breaking === f.key.id,
          'destinations may hold it',
          `destination(s) ${mayHold(f).join(', ')} may hold it, and this run did not record that they lose it until it rewrites them`,
        ),
      unchanged,
    ],
    todo: 'Delete it by hand once you know nothing holds it, or rerun as a self-rotation, which moves those destinations to its own key first',
  },
  'consent: key-limit delete-oldest': {
    covers: 'the oldest Active key, to make room',
    checks: [
      (f) => need(f.keyLimit === 'delete-oldest', 'no consent', 'key-limit is not delete-oldest'),
      (f) => need(f.keys.every((k) => k.created >= f.key.created), 'not the oldest', 'it is not the oldest key'),
      unchanged,
    ],
    todo: 'Rerun once the keys are as expected',
  },
  'consent: key-limit delete-inactive': {
    covers: 'an Inactive key, to make room',
    checks: [(f) => need(listed(f, f.key.id)?.status === 'Inactive', 'not inactive', 'IAM does not list it as Inactive'), unchanged],
    todo: 'Rerun once the keys are as expected',
  },
};

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
    super(
      `${keyId} was not ${reason === 'staged retirement' ? 'retired' : 'deleted'} (${reason}): ${gaps.map((m) => m.text).join('; ')}` +
        `${known ? ` (known: ${known})` : ''}. ${POLICY[reason].todo}`,
    );
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

/** The facts of this run about key `id`, with IAM's key list as it is now. */
export function factsOf(s: RunState, key: AccessKey, keys: AccessKey[]): Facts {
  const j = s.journal;
  return {
    key,
    keys,
    iamNow: s.ctx.aws.time.now(),
    destinations: s.destinations.map((d) => ({
      label: d.label,
      updates: d.prepared.updates,
      writtenWith: j.pairKey(d.index),
      touchedWith: [d.ledger.id, d.ledger.secret].flatMap((h) => (h.kind === 'key' ? [h.keyId] : h.kind === 'unknown' || h.kind === 'overwritten' ? ['?'] : [])),
    })),
    newKey: j.newKeyId === undefined ? undefined : { id: j.newKeyId, verified: s.verified, handedOver: s.handedOver },
    ownHolderChecked: s.ownHolderChecked,
    expected: s.expected,
    creation: s.creation,
    record: s.records.get(key.id),
    lastUsed: s.uses.get(key.id),
    retireAfterHours: s.ctx.inputs.retireAfterHours,
    keyLimit: s.ctx.inputs.keyLimit,
    runEnded: s.runEnded.get(key.id),
    breaking: s.journal.broken,
    resumed: s.resume && {
      id: s.resume.key.id,
      record: s.resume.record,
      runEnded: s.runEnded.get(s.resume.key.id),
      signedIn: s.verified,
    },
  };
}

/**
 * Delete (or deactivate) key `id` for `reason`: list the keys again, prove the reason from IAM's facts and this run's
 * journal, and only then act. Throws Unproven, having changed nothing, when the evidence is missing.
 */
export async function destroy(s: RunState, id: string, reason: Reason, how: 'delete' | 'deactivate', fate: KeyFate): Promise<void> {
  const { ctx, userName } = s;
  const keys = await listAccessKeys(ctx.aws.iam, userName);
  const key = keys.find((k) => k.id === id) ?? s.initialKeys.find((k) => k.id === id) ?? { id, status: 'Active', created: new Date(0) };
  // Keep the evidence: once deleted, a key's last use can no longer be read.
  if (!s.uses.has(id) && keys.some((k) => k.id === id)) {
    for (const [k, use] of await lastUses(ctx, userName, [id])) s.uses.set(k, use);
  }
  const facts = factsOf(s, key, keys);
  const missing = gaps(reason, facts);
  if (missing.length > 0) throw new Unproven(id, reason, missing, knownAbout(facts));
  // A rollback still runs after a cancel; nothing else is destroyed once the run was asked to stop.
  if (reason !== 'never handed out') ctx.cancel.checkpoint();
  if (how === 'delete') {
    await deleteAccessKey(ctx.aws.iam, userName, id);
    s.expected.delete(id);
    s.journal.record({ kind: 'key retired', id, fate });
    await forgetRecord(ctx, userName, id, s.tags);
  } else {
    await deactivateAccessKey(ctx.aws.iam, userName, id);
    s.journal.record({ kind: 'key retired', id, fate });
  }
}
