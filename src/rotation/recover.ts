/**
 * Recovering from a failure or a cancel after the new key exists: every function here reads what happened from the
 * journal, so what the run reports is true.
 */
import { deleteCreatedUser } from '../aws/aws.js';
import { Cancelled } from '../shared/cancel.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { Holding } from './journal.js';
import type { Plan } from '../keys/plan.js';
import { MAX_RUN_MS, destroy } from '../keys/destruction.js';
import type { RunState } from './run-state.js';
import { put, remove, standing, writePair } from './writes.js';

/** Undo a user this run created (it must have no keys left). Returns a sentence starting with a space, or ''. */
export async function undoUser(s: RunState): Promise<string> {
  const created = s.journal.createdUser;
  if (!created) return '';
  const undo = await deleteCreatedUser(s.ctx.aws.iam, created);
  if (undo.deleted) s.journal.record({ kind: 'user deleted' });
  return ` ${undo.sentence}`;
}

/** Delete the new key (nothing holds it any more) and a user this run created. Returns what happened. */
export async function discardNewKey(s: RunState): Promise<string> {
  const id = s.journal.newKeyId as string;
  try {
    await destroy(s, id, 'never handed out', 'delete', 'discarded');
  } catch (err) {
    return `Deleting the unused new key ${id} failed too (${errorMessage(err)}): delete it by hand; no destination holds it.`;
  }
  return `Deleted the new key ${id}.${await undoUser(s)}`;
}

type Fix = 'restore pair' | 'restore id' | 'remove' | 'none';

/** How destination i can be given back what it held: the previous pair is known only in self-rotation. */
function fixFor(s: RunState, i: number, current: string | undefined): Fix {
  const d = s.destinations[i].ledger;
  const wholePair = s.journal.pairKey(i) === s.journal.newKeyId;
  if (d.heldBefore !== 'both') return 'remove';
  // A secret write GitHub never answered may have landed: only the whole previous pair puts that right.
  const secretUnknown = d.secret.kind === 'unknown';
  if (s.caller) return wholePair || secretUnknown ? 'restore pair' : 'restore id';
  return wholePair || secretUnknown || current === undefined ? 'none' : 'restore id';
}

async function apply(s: RunState, i: number, fix: Fix, current: string | undefined): Promise<boolean> {
  const where = s.destinations[i].label;
  try {
    if (fix === 'restore pair' && s.caller) {
      await writePair(s, i, s.caller, 'restore');
    } else if (fix === 'restore id') {
      const id = s.caller?.accessKeyId ?? (current as string);
      await s.ctx.pacer.take();
      await put(s, i, 'id', id, id, 'restore');
    } else if (fix === 'remove') {
      for (const which of ['id', 'secret'] as const) {
        if (s.destinations[i].ledger[which].kind !== 'before') await remove(s, i, which);
      }
    }
    return true;
  } catch (err) {
    s.ctx.io.warning(`could not put ${where} back (${fix}): ${errorMessage(err)}`);
    return false;
  }
}

/**
 * The key the destinations this run did not touch are taken to hold: the current key — unless the run deleted an
 * Active key to make room (key-limit: delete-oldest in rotator mode), when any of them may have held that one.
 */
export function assumedHeld(plan: Plan | undefined): string | undefined {
  // A resumed rotation: the earlier run wrote its key to some destinations; which ones is not known.
  return plan?.action === 'rotate' && (plan.makeRoomBreaks || plan.resume) ? undefined : plan?.current?.id;
}

/** A torn destination as the error line says it: which of its two someone else wrote, and whose the other is. */
function tornText(s: RunState, i: number): string {
  const { id, secret } = s.destinations[i].ledger;
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
  const plan = s.result.plan;
  const current = assumedHeld(plan);
  s.result.destinations.forEach((r, i) => {
    const { outcome, keyId } = standing(s.journal, i, current);
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
        text = tornText(s, i);
        break;
      default:
        text = 'UNKNOWN: a write was in flight when the run stopped: check it';
    }
    groups.set(text, [...(groups.get(text) ?? []), r.label]);
  });
  return `Destinations: ${[...groups.entries()].map(([text, labels]) => `${labels.join(', ')}: ${text}`).join('; ')}`;
}

/**
 * Something failed (or the run was cancelled) after the new key was created and before every destination held it.
 * Make every destination hold a working pair: roll back where the previous pair is known (or nothing was held),
 * else keep both keys. A cancel does not roll back (it must finish in seconds): it keeps both keys unless nothing
 * was written. Returns the one error line.
 */
export async function recover(s: RunState, err: unknown): Promise<ActionError> {
  const { ctx, journal } = s;
  const newId = journal.newKeyId as string;
  const cancelled = err instanceof Cancelled || ctx.cancel.requested;
  const what =
    cancelled && !(err instanceof Cancelled)
      ? `the run was cancelled (${ctx.cancel.reason}) while a step was in flight, which then failed: ${errorMessage(err)}`
      : errorMessage(err);
  const current = assumedHeld(s.result.plan);
  const holdsNew = (h: Holding) => h.kind === 'unknown' || (h.kind === 'key' && h.keyId === newId);
  const touched = journal.destinations.flatMap((d, i) => (holdsNew(d.id) || holdsNew(d.secret) ? [i] : []));

  if (touched.length === 0) {
    const tail = await discardNewKey(s);
    const plan = s.result.plan;
    const standingNow = plan?.action === 'rotate' && plan.makeRoomBreaks ? ` ${describeStanding(s)}.` : '';
    return new ActionError(`${what}. No destination was given the new key ${newId}. ${tail}${standingNow}${finalWords(s)}`, {
      cause: err,
    });
  }

  const fixes = new Map(touched.map((i) => [i, fixFor(s, i, current)] as const));
  const rollBack = !cancelled && [...fixes.values()].every((f) => f !== 'none');
  let allFixed = true;
  for (const [i, fix] of fixes) {
    const partial = journal.pairKey(i) !== newId;
    if (fix === 'none' || (!rollBack && !partial)) continue;
    if (!(await apply(s, i, fix, current))) allFixed = false;
  }
  let keys: string;
  if (rollBack && allFixed) {
    keys = await discardNewKey(s);
  } else {
    const other = s.caller?.accessKeyId ?? current;
    keys = `Both keys stay Active (${newId}${other ? ` and ${other}` : ''}).`;
  }
  return new ActionError(`${what}. ${keys} ${describeStanding(s)}.${finalWords(s)}`, { cause: err });
}

/** What to do next, true for the state the run leaves. */
function finalWords(s: RunState): string {
  const newId = s.journal.newKeyId;
  const bothKept = newId !== undefined && !s.journal.deleted(newId) && !s.handedOver;
  if (!bothKept) return '';
  const ended = `once this run has ended (a rerun of this workflow run's jobs is proof at once; else GitHub says so, or ${newId} is ${MAX_RUN_MS / 60_000} minutes old)`;
  const self = s.caller?.accessKeyId;
  // A cancel puts back the pair it was writing: when that leaves no destination that may hold the new key, say so.
  const mayHold = (h: Holding) => h.kind === 'unknown' || h.kind === 'overwritten' || (h.kind === 'key' && h.keyId === newId);
  if (self && !s.journal.destinations.some((d) => mayHold(d.id) || mayHold(d.secret))) {
    return ` Rerun ${ended}: no destination holds ${newId}; a rerun that signs in with ${self} deletes ${newId} as this run's orphan and rotates.`;
  }
  return self
    ? ` Fix the cause and rerun, ${ended}: a self-rotation that signs in with ${newId} (this job's own secret got it) ` +
        `gives it to every destination and retires ${self}; one that signs in with ${self} gives ${self} to every ` +
        `destination that may hold ${newId}, deletes ${newId} as this run's orphan and rotates.`
    : ` Fix the cause, then rerun ${ended}: it deletes ${newId} as this run's orphan (the destinations that may hold it do not work from that moment until it rewrites them, moments later) and rotates.`;
}
