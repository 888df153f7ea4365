/**
 * Writing pairs through the journal, checking the user's keys before anything is retired, and recovering from a
 * failure or a cancel: every function here reads what happened from the journal, so what the run reports is true.
 */
import { type Credentials, deleteAccessKey, deleteCreatedUser, listAccessKeys } from './aws.js';
import { Cancelled } from './cancel.js';
import type { RotateContext } from './context.js';
import { label } from './destinations.js';
import { ActionError, errorMessage } from './errors.js';
import type { Holding, Journal, KeyFate, WriteReason } from './journal.js';
import type { AccessKey, Plan, Use } from './plan.js';
import { forgetRecord } from './provenance.js';
import type { Prepared } from './preflight.js';
import type { Outcome, RotationResult } from './rotate.js';
import { deleteSecret, statusOf, writeSecret } from './secrets.js';

/** The state of one run, shared by its phases. */
export interface RunState {
  ctx: RotateContext;
  result: RotationResult;
  journal: Journal;
  userName: string;
  prepared: Prepared[];
  /** The caller's own pair in self-rotation (it can be written back), else undefined. */
  caller: Credentials | undefined;
  /** The key ids the user should have right now, as far as this run knows. */
  expected: Set<string>;
  /** Every destination holds the new key. */
  handedOver: boolean;
  /** The user's tags whose key is an access key id (the action's provenance records, and others'). */
  tags: Map<string, string>;
  /** The keys as listed at the start, and when each was last used. */
  initialKeys: AccessKey[];
  uses: Map<string, Use | null | undefined>;
  /** Keys handed over and waiting to be retired: id → the earliest time. */
  pending: Map<string, number>;
  /** The caller may not tag the user (the lease said so): provenance is skipped, with the lease's one warning. */
  tagsDenied: boolean;
  /** The user's keys were listed (so they can be described at the end). */
  keysListed: boolean;
}

/** Delete one of the user's keys (never the caller's lease or anyone else's tag): journaled, its record removed. */
export async function deleteKey(s: RunState, id: string, fate: KeyFate): Promise<void> {
  await deleteAccessKey(s.ctx.aws.iam, s.userName, id);
  s.expected.delete(id);
  s.journal.record({ kind: 'key retired', id, fate });
  await forgetRecord(s.ctx, s.userName, id, s.tags);
}

/** The user's keys are not what this run expects: another rotation or a person is at work. */
export class KeysChanged extends ActionError {
  constructor(
    message: string,
    readonly newKeyGone: boolean,
  ) {
    super(message);
    this.name = 'KeysChanged';
  }
}

/** List the user's keys again before a delete or deactivate; throw KeysChanged when they differ from what we expect. */
export async function checkKeys(s: RunState, before: string): Promise<void> {
  const keys = await listAccessKeys(s.ctx.aws.iam, s.userName);
  const ids = new Set(keys.map((k) => k.id));
  const gone = [...s.expected].filter((id) => !ids.has(id));
  const extra = [...ids].filter((id) => !s.expected.has(id));
  if (gone.length === 0 && extra.length === 0) return;
  const changes = [gone.length ? `gone: ${gone.join(', ')}` : '', extra.length ? `new: ${extra.join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
  throw new KeysChanged(
    `before ${before}, the keys of IAM user ${s.userName} were listed again and have changed (${changes}): another ` +
      'rotation or a person is at work, so this run retired nothing and kept every working key',
    s.journal.newKeyId !== undefined && gone.includes(s.journal.newKeyId),
  );
}

const secretName = (s: RunState, which: 'id' | 'secret') =>
  which === 'id' ? s.ctx.inputs.accessKeyIdSecretName : s.ctx.inputs.secretAccessKeySecretName;

/** Write one secret, journaled: in flight, then written, or back to what it held when GitHub answered with an error. */
async function put(s: RunState, i: number, which: 'id' | 'secret', value: string, keyId: string, reason: WriteReason) {
  const p = s.prepared[i];
  const previous: Holding = s.journal.destinations[i][which];
  s.journal.record({ kind: 'write in flight', index: i, which });
  try {
    await writeSecret(s.ctx.gh, p.destination, p.publicKey, secretName(s, which), value, p.sharing?.[which === 'id' ? 0 : 1]);
  } catch (err) {
    // An HTTP answer means the write did not happen; no answer (timeout, network) leaves it unknown.
    if (statusOf((err as { cause?: unknown }).cause ?? err) !== undefined) {
      s.journal.record({ kind: 'write failed', index: i, which, previous });
    }
    throw err;
  }
  s.journal.record({ kind: 'secret written', index: i, which, keyId, reason });
}

/** Write a pair to destination i, the two secrets back to back. */
export async function writePair(s: RunState, i: number, pair: Credentials, reason: WriteReason): Promise<void> {
  await s.ctx.pacer.take(2);
  await put(s, i, 'id', pair.accessKeyId, pair.accessKeyId, reason);
  await put(s, i, 'secret', pair.secretAccessKey, pair.accessKeyId, reason);
}

async function remove(s: RunState, i: number, which: 'id' | 'secret'): Promise<void> {
  await s.ctx.pacer.take();
  await deleteSecret(s.ctx.gh, s.prepared[i].destination, secretName(s, which));
  s.journal.record({ kind: 'secret removed', index: i, which });
}

/** Where destination i stands, from the journal. `current` is the key it is taken to have held before the run. */
export function standing(journal: Journal, i: number, current: string | undefined): { outcome: Outcome; keyId: string | undefined } {
  const d = journal.destinations[i];
  const { id, secret } = d;
  const heldKey = d.heldBefore === 'both' ? current : undefined;
  if (id.kind === 'before' && secret.kind === 'before') return { outcome: 'unchanged', keyId: heldKey };
  if (id.kind === 'unknown' || secret.kind === 'unknown') return { outcome: 'unknown', keyId: undefined };
  const pair = journal.pairKey(i);
  if (pair !== undefined) {
    if (d.reason === 'converge') return { outcome: 'converged', keyId: pair };
    if (d.reason === 'restore') return { outcome: 'restored', keyId: pair };
    return { outcome: 'written', keyId: pair };
  }
  if (id.kind === 'key' && secret.kind === 'before' && d.reason === 'restore' && id.keyId === heldKey) {
    return { outcome: 'restored', keyId: heldKey };
  }
  const empty = (h: Holding) => h.kind === 'absent' || (h.kind === 'before' && d.heldBefore === 'none');
  if (empty(id) && empty(secret)) return { outcome: 'removed', keyId: undefined };
  return { outcome: 'mismatched', keyId: undefined };
}

/** Undo a user this run created (it must have no keys left). Returns a sentence starting with a space, or ''. */
export async function undoUser(s: RunState): Promise<string> {
  const created = s.journal.createdUser;
  if (!created) return '';
  const sentence = await deleteCreatedUser(s.ctx.aws.iam, created);
  if (sentence.startsWith('The created user')) s.journal.record({ kind: 'user deleted' });
  return ` ${sentence}`;
}

/** Delete the new key (nothing holds it any more) and a user this run created. Returns what happened. */
export async function discardNewKey(s: RunState): Promise<string> {
  const id = s.journal.newKeyId as string;
  try {
    await deleteKey(s, id, 'discarded');
  } catch (err) {
    return `Deleting the unused new key ${id} failed too (${errorMessage(err)}): delete it by hand; no destination holds it.`;
  }
  return `Deleted the new key ${id}.${await undoUser(s)}`;
}

type Fix = 'restore pair' | 'restore id' | 'remove' | 'none';

/** How destination i can be given back what it held: the previous pair is known only in self-rotation. */
function fixFor(s: RunState, i: number, current: string | undefined): Fix {
  const d = s.journal.destinations[i];
  const wholePair = s.journal.pairKey(i) === s.journal.newKeyId;
  if (d.heldBefore !== 'both') return 'remove';
  if (s.caller) return wholePair ? 'restore pair' : 'restore id';
  return wholePair || current === undefined ? 'none' : 'restore id';
}

async function apply(s: RunState, i: number, fix: Fix, current: string | undefined): Promise<boolean> {
  const where = label(s.prepared[i].destination);
  try {
    if (fix === 'restore pair' && s.caller) {
      await writePair(s, i, s.caller, 'restore');
    } else if (fix === 'restore id') {
      const id = s.caller?.accessKeyId ?? (current as string);
      await s.ctx.pacer.take();
      await put(s, i, 'id', id, id, 'restore');
    } else if (fix === 'remove') {
      for (const which of ['id', 'secret'] as const) {
        if (s.journal.destinations[i][which].kind !== 'before') await remove(s, i, which);
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
  return plan?.action === 'rotate' && plan.makeRoomBreaks ? undefined : plan?.current?.id;
}

/** Sentences saying where every destination stands, grouped, for the error line. */
export function describeStanding(s: RunState): string {
  const groups = new Map<string, string[]>();
  const plan = s.result.plan;
  const current = assumedHeld(plan);
  const broken = plan?.action === 'rotate' && plan.makeRoomBreaks ? plan.makeRoom : undefined;
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
      case 'unchanged':
        text = broken
          ? `not changed: may hold the deleted key ${broken.id} (key-limit: delete-oldest), which does not work until a run rewrites it`
          : `not changed${keyId ? ` (${keyId})` : ''}`;
        break;
      case 'removed':
        text = 'held no secrets before; what the run wrote was removed';
        break;
      case 'mismatched':
        text = 'MISMATCHED pair (one secret written, the other not): does not work until a run rewrites it';
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
  const gone = err instanceof KeysChanged && err.newKeyGone;
  const what =
    cancelled && !(err instanceof Cancelled)
      ? `the run was cancelled (${ctx.cancel.reason}) while a step was in flight, which then failed: ${errorMessage(err)}`
      : errorMessage(err);
  const current = assumedHeld(s.result.plan);
  const holdsNew = (h: Holding) => h.kind === 'unknown' || (h.kind === 'key' && h.keyId === newId);
  const touched = journal.destinations.flatMap((d, i) => (holdsNew(d.id) || holdsNew(d.secret) ? [i] : []));

  if (touched.length === 0) {
    const tail = gone ? 'No destination holds it.' : await discardNewKey(s);
    const plan = s.result.plan;
    const standingNow = plan?.action === 'rotate' && plan.makeRoomBreaks ? ` ${describeStanding(s)}.` : '';
    return new ActionError(`${what}. No destination was given the new key ${newId}. ${tail}${standingNow}${finalWords(s)}`, {
      cause: err,
    });
  }

  const fixes = new Map(touched.map((i) => [i, fixFor(s, i, current)] as const));
  const rollBack = gone || (!cancelled && [...fixes.values()].every((f) => f !== 'none'));
  let allFixed = true;
  for (const [i, fix] of fixes) {
    const partial = journal.pairKey(i) !== newId;
    if (fix === 'none' || (!rollBack && !partial)) continue;
    if (!(await apply(s, i, fix, current))) allFixed = false;
  }
  let keys: string;
  if (gone) {
    keys = `The new key ${newId} was deleted by someone else.`;
  } else if (rollBack && allFixed) {
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
  return s.caller
    ? ' Fix the cause and rerun: a self-rotation that finds two Active keys first gives every destination its own pair, then deletes the other key.'
    : ' Fix the cause, then rerun with key-limit: delete-oldest to converge: it deletes the oldest key first, so the destinations still holding it stop working until that run rewrites them.';
}
