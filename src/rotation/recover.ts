/**
 * Recovering from a failure or a cancel after the new key exists: every function here reads what happened from the
 * journal, so what the run reports is true. A rollback never writes a key IAM no longer lists: when the key it would
 * put back is gone, the destinations get the verified new key instead.
 */
import { deleteCreatedUser, listAccessKeys } from '../aws/aws.js';
import { type DestinationRecord, pairKey } from '../github/destination-record.js';
import { MAX_RUN_MS, Unproven } from '../keys/destruction.js';
import { Cancelled } from '../shared/cancel.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { AccessKey } from '../shared/types.js';
import type { Holding } from './journal.js';
import type { RotationResult } from './result.js';
import type { RunState } from './run-state.js';
import { put, remove, standing, writePair } from './writes.js';

/** Undo a user this run created (it must have no keys left). Returns a sentence starting with a space, or ''. */
export async function undoUser(s: RunState): Promise<string> {
  const created = s.journal.createdUser;
  if (!created) return '';
  const undo = await deleteCreatedUser(s.aws.iam, created);
  if (undo.deleted) s.journal.record({ kind: 'user deleted' });
  return ` ${undo.sentence}`;
}

/** Delete the new key (nothing holds it any more) and a user this run created. Returns what happened. */
export async function discardNewKey(s: RunState): Promise<string> {
  const id = s.journal.newKeyId as string;
  try {
    await s.gate.destroy(id, 'never handed out');
  } catch (err) {
    if (err instanceof Unproven && err.gaps.every((m) => m.code === 'not listed')) {
      s.journal.record({ kind: 'key lost', id });
      return `IAM no longer lists the new key ${id}: someone else deleted it.${await undoUser(s)}`;
    }
    return `Deleting the unused new key ${id} failed too (${errorMessage(err)}): delete it by hand; no destination holds it.`;
  }
  return `Deleted the new key ${id}.${await undoUser(s)}`;
}

type Fix = 'restore pair' | 'restore id' | 'remove' | 'none';

/** How destination d can be given back what it held: the previous pair is known only in self-rotation. */
function fixFor(s: RunState, d: DestinationRecord, current: string | undefined): Fix {
  const { ledger } = d;
  const wholePair = pairKey(d) === s.journal.newKeyId;
  if (ledger.heldBefore !== 'both') return 'remove';
  // A secret write GitHub never answered may have landed: only the whole previous pair puts that right.
  const secretUnknown = ledger.secret.kind === 'unknown';
  if (s.self) return wholePair || secretUnknown ? 'restore pair' : 'restore id';
  return wholePair || secretUnknown || current === undefined ? 'none' : 'restore id';
}

async function apply(s: RunState, d: DestinationRecord, fix: Fix, current: string | undefined): Promise<boolean> {
  try {
    if (fix === 'restore pair' && s.self) {
      await writePair(s, d, s.self, 'restore');
    } else if (fix === 'restore id') {
      const id = s.self?.accessKeyId ?? (current as string);
      await s.ctx.pacer.take();
      await put(s, d, 'id', id, id, 'restore');
    } else if (fix === 'remove') {
      for (const which of ['id', 'secret'] as const) {
        if (d.ledger[which].kind !== 'before') await remove(s, d, which);
      }
    }
    return true;
  } catch (err) {
    s.ctx.io.warning(`could not put ${d.label} back (${fix}): ${errorMessage(err)}`);
    return false;
  }
}

const second = (ms: number) => Math.floor(ms / 1000) * 1000;

/**
 * The key destination i is taken to have held before the run (when it held both secrets): the current key — unless
 * the run deleted an Active key to make room (key-limit: delete-oldest in rotator mode) or finishes an earlier run's
 * rotation (which destinations that run wrote is not known), or the destination was written since a key newer than
 * the current one was made (it may hold that key).
 */
export function assumedHeld(result: Pick<RotationResult, 'plan' | 'journal' | 'keyStates'>, i: number): string | undefined {
  const { plan } = result;
  if (plan?.action === 'rotate' && (plan.makeRoomBreaks || plan.resume)) return undefined;
  const current = plan?.current;
  if (current === undefined) return undefined;
  const written = result.journal.destinations[i]?.updatedBefore ?? [];
  const newest = written.length > 0 ? Math.max(...written) : -Infinity;
  // An Inactive key is nobody's working pair: only an Active key newer than the current one may have been given out.
  const newer = (result.keyStates?.() ?? []).filter((k) => k.key.id !== current.id && k.key.status === 'Active' && k.key.created > current.created);
  return newer.some((k) => newest >= second(k.key.created.getTime())) ? undefined : current.id;
}

/** A torn destination as the error line says it: which of its two someone else wrote, and whose the other is. */
function tornText(s: RunState, d: DestinationRecord): string {
  const { id, secret } = d.ledger;
  const names = { id: s.ctx.inputs.accessKeyIdSecretName, secret: s.ctx.inputs.secretAccessKeySecretName };
  const [theirs, ours] = id.kind === 'overwritten' ? (['id', 'secret'] as const) : (['secret', 'id'] as const);
  const mine = (ours === 'id' ? id : secret) as Extract<typeof id, { kind: 'key' }>;
  return (
    `TORN when read back: its ${names[theirs]} was written (or removed) by someone else after this run wrote it, its ` +
    `${names[ours]} is still this run's (${mine.keyId}): not one key's pair, so it does not work until one rotation ` +
    'writes both (a rotation that read it back before this run wrote may have reported success)'
  );
}

/** Sentences saying where every destination stands, grouped, for the error line. */
export function describeStanding(s: RunState): string {
  const groups = new Map<string, string[]>();
  s.result.destinations.forEach((r, i) => {
    const { outcome, keyId } = standing(s.journal, i, assumedHeld(s.result, i));
    let text: string;
    switch (outcome) {
      case 'written':
        text = `the new key ${keyId}`;
        break;
      case 'converged':
        text = `${keyId}, this run's own key`;
        break;
      case 'restored':
        text = `put back to ${keyId}`;
        break;
      case 'broken':
        text = `NOT WORKING: holds the key ${keyId}, which was deleted: does not work until a run rewrites it`;
        break;
      case 'may be broken':
        text = `may hold the deleted key ${keyId} (key-limit: delete-oldest), which does not work until a run rewrites it`;
        break;
      case 'unchanged':
        text = `not changed${keyId ? ` (${keyId})` : ''}`;
        break;
      case 'removed':
        text = 'held no secrets before; what the run wrote was removed';
        break;
      case 'mismatched':
        text = 'MISMATCHED pair (one secret written, the other not): does not work until a run rewrites it';
        break;
      case 'overwritten':
        text = 'OVERWRITTEN by someone else after this run wrote it (another rotation, or another IAM user rotated into it): what it holds is not known';
        break;
      case 'torn':
        text = tornText(s, s.destinations[i]);
        break;
      default:
        text = 'UNKNOWN: a write was in flight when the run stopped: check it';
    }
    groups.set(text, [...(groups.get(text) ?? []), r.label]);
  });
  return `Destinations: ${[...groups.entries()].map(([text, labels]) => `${labels.join(', ')}: ${text}`).join('; ')}`;
}

/**
 * The keys as IAM lists them now, signed as this run signs; in self-rotation, should the job's own key no longer work,
 * with the new key (verified by STS). Undefined: not known (unknown is never "gone").
 */
async function keysNow(s: RunState): Promise<AccessKey[] | undefined> {
  const listed = await listAccessKeys(s.aws.iam, s.userName).catch(() => undefined);
  if (listed !== undefined || !s.self || !s.fresh || !s.journal.verified(s.fresh.accessKeyId)) return listed;
  return listAccessKeys(s.aws.iamFor(s.fresh), s.userName).catch(() => undefined);
}

/**
 * The key a rollback would put back is gone (IAM lists it no more, or Inactive) and the new key is verified and
 * Active: give every destination the new key instead. Returns what happened, or undefined when that is not the case.
 */
async function forwardInstead(s: RunState, back: string): Promise<string | undefined> {
  const fresh = s.fresh;
  if (!fresh || !s.journal.verified(fresh.accessKeyId)) return undefined;
  const keys = await keysNow(s);
  if (keys === undefined || keys.some((k) => k.id === back && k.status === 'Active')) return undefined;
  if (!keys.some((k) => k.id === fresh.accessKeyId && k.status === 'Active')) return undefined;
  s.journal.record({ kind: 'key lost', id: back });
  let given = 0;
  for (const d of s.destinations) {
    if (pairKey(d) === fresh.accessKeyId) continue;
    try {
      await writePair(s, d, fresh, 'new key');
      given++;
    } catch (err) {
      s.ctx.io.warning(`could not give ${d.label} the new key ${fresh.accessKeyId}: ${errorMessage(err)}`);
    }
  }
  return (
    `${back} was deleted (or deactivated) by someone else during this run, so nothing was put back to it: ` +
    `${given > 0 ? `${given} more destination(s) were given` : 'the destinations keep'} the new key ${fresh.accessKeyId}, which works, instead.`
  );
}

/**
 * Something failed (or the run was cancelled) after the new key was created and before every destination held it.
 * Make every destination hold a working pair: roll back where the previous pair is known (or nothing was held),
 * else keep both keys; should the key a rollback would put back be gone, go forward with the new key instead. A
 * cancel does not roll back (it must finish in seconds): it keeps both keys unless nothing was written. Returns the
 * one error line.
 */
export async function recover(s: RunState, err: unknown): Promise<ActionError> {
  const { ctx, journal } = s;
  const newId = journal.newKeyId as string;
  const cancelled = err instanceof Cancelled || ctx.cancel.requested;
  const what =
    cancelled && !(err instanceof Cancelled)
      ? `the run was cancelled (${ctx.cancel.reason}) while a step was in flight, which then failed: ${errorMessage(err)}`
      : errorMessage(err);
  const holdsNew = (h: Holding) => h.kind === 'unknown' || (h.kind === 'key' && h.keyId === newId);
  const touched = s.destinations.filter((d) => holdsNew(d.ledger.id) || holdsNew(d.ledger.secret));

  if (touched.length === 0 || journal.lost.has(newId)) {
    const tail = journal.lost.has(newId) ? '' : ` ${await discardNewKey(s)}`;
    const plan = s.result.plan;
    const standingNow = plan?.action === 'rotate' && plan.makeRoomBreaks ? ` ${describeStanding(s)}.` : '';
    const given = touched.length === 0 ? ` No destination was given the new key ${newId}.` : '';
    return new ActionError(`${what}.${given}${tail}${standingNow}${finalWords(s)}`, { cause: err });
  }

  const back = s.self?.accessKeyId ?? s.result.plan?.current?.id;
  const forward = !cancelled && back !== undefined ? await forwardInstead(s, back) : undefined;
  if (forward) return new ActionError(`${what}. ${forward} ${describeStanding(s)}.${finalWords(s)}`, { cause: err });

  const fixes = new Map(touched.map((d) => [d, fixFor(s, d, assumedHeld(s.result, d.index))] as const));
  const rollBack = !cancelled && [...fixes.values()].every((f) => f !== 'none');
  let allFixed = true;
  for (const [d, fix] of fixes) {
    const partial = pairKey(d) !== newId;
    if (fix === 'none' || (!rollBack && !partial)) continue;
    if (!(await apply(s, d, fix, assumedHeld(s.result, d.index)))) allFixed = false;
  }
  let keys: string;
  if (rollBack && allFixed) {
    keys = await discardNewKey(s);
  } else {
    // The key the destinations held, unless the run deleted it to make room or finishes an earlier run's rotation.
    const plan = s.result.plan;
    const held = s.self?.accessKeyId ?? (plan?.action === 'rotate' && (plan.makeRoomBreaks || plan.resume) ? undefined : plan?.current?.id);
    const other = held !== undefined && !journal.deleted(held) ? held : undefined;
    keys = `Both keys stay Active (${newId}${other ? ` and ${other}` : ''}).`;
  }
  return new ActionError(`${what}. ${keys} ${describeStanding(s)}.${finalWords(s)}`, { cause: err });
}

/** What to do next, true for the state the run leaves. */
function finalWords(s: RunState): string {
  const { journal } = s;
  const newId = journal.newKeyId;
  const back = s.self?.accessKeyId ?? s.result.plan?.current?.id;
  const bothKept = newId !== undefined && !journal.deleted(newId) && !journal.lost.has(newId) && !journal.handedOver && !(back && journal.lost.has(back));
  if (!bothKept) return '';
  const ended = `once this run has ended (a rerun of this workflow run's jobs is proof at once; else GitHub says so, or ${newId} is ${MAX_RUN_MS / 60_000} minutes old)`;
  const self = s.self?.accessKeyId;
  // A cancel puts back the pair it was writing: when that leaves no destination that may hold the new key, say so.
  const mayHold = (h: Holding) => h.kind === 'unknown' || h.kind === 'overwritten' || (h.kind === 'key' && h.keyId === newId);
  if (self && !journal.destinations.some((d) => mayHold(d.id) || mayHold(d.secret))) {
    return ` Rerun ${ended}: no destination holds ${newId}; a rerun that signs in with ${self} deletes ${newId} as this run's orphan and rotates.`;
  }
  return self
    ? ` Fix the cause and rerun, ${ended}: a self-rotation that signs in with ${newId} (this job's own secret got it) ` +
        `gives it to every destination and retires ${self}; one that signs in with ${self} gives ${self} to every ` +
        `destination that may hold ${newId}, deletes ${newId} as this run's orphan and rotates.`
    : ` Fix the cause, then rerun ${ended}: it deletes ${newId} as this run's orphan (the destinations that may hold it do not work from that moment until it rewrites them, moments later) and rotates.`;
}
