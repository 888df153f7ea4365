/**
 * One rotation from start to end: the run state, the named steps (steps.ts), the one error line a stop ends in, and
 * the last look at the keys and the lease whatever happened. Recovering from a failure or a cancel after the new key
 * exists reads what happened from the journal, so what the run reports is true; a rollback never writes a key IAM no
 * longer lists: when the key it would put back is gone, the destinations get the verified new key instead.
 */
import { deleteCreatedUser, listAccessKeys } from '../aws/aws.js';
import type { Inputs } from '../config/inputs.js';
import { type DestinationRecord, pairKey } from '../github/destination-record.js';
import { destinationsFrom, label } from '../github/destinations.js';
import { MAX_RUN_MS, Unproven } from '../keys/destruction.js';
import { CREATE_TAG, lastUses } from '../keys/records.js';
import type { KeyState } from '../keys/verdict.js';
import { Cancelled } from '../shared/cancel.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { AccessKey, Use } from '../shared/types.js';
import { type Holding, Journal } from './journal.js';
import { releaseLease } from './lease.js';
import { type KeyReport, type PreviousAction, type RotationResult, UNKNOWN_USE } from './result.js';
import { type RotateContext, type RunState, newRunState } from './run-state.js';
import { NewKeyLost, runSteps } from './steps.js';
import { Overwritten, put, remove, standing, writePair } from './writes.js';

export type { ActionsIO } from '../config/context.js';
export type { RotateContext } from './run-state.js';
export type { DestinationResult, KeyReport, Outcome, PreviousAction, RotationResult } from './result.js';

function asActionError(err: unknown): ActionError {
  return err instanceof ActionError ? err : new ActionError(errorMessage(err), { cause: err });
}

/** A pending verdict on a key this run handed over: "retire-pending", with when it is due (the one shape, rendered). */
const handedOverNow = (k: KeyState, newId: string | undefined) => k.verdict.kind === 'pending' && k.verdict.successor === newId && !k.verdict.kept;

/** Recompute what the result says about destinations and keys from the journal and the keys' verdicts. */
export function refresh(result: RotationResult): void {
  const { journal } = result;
  result.newKeyId = journal.newKeyId ?? journal.resumedKeyId;
  result.userCreated = journal.createdUser !== undefined || result.userCreated;
  const states = result.keyStates?.() ?? [];
  result.previous = [
    ...journal.retired.filter((r) => r.fate !== 'discarded').map((r) => ({ id: r.id, action: r.fate as PreviousAction })),
    ...states.filter((k) => handedOverNow(k, journal.newKeyId)).map((k) => ({ id: k.key.id, action: 'retire-pending' as const })),
  ];
  result.destinations.forEach((r, i) => {
    const d = journal.destinations[i];
    // A dry run writes nothing: each destination holds what it held (the current key only when it held both secrets).
    const { outcome, keyId } = standing(journal, i, assumedHeld(result, i));
    r.outcome = result.dryRun && result.plan?.action === 'rotate' ? 'would write' : outcome;
    r.keyId = keyId;
    if (!result.dryRun) r.created = d.created || undefined;
  });
}

function newResult(inputs: Inputs): RotationResult {
  const destinations = destinationsFrom(inputs);
  return {
    userName: inputs.iamUserName,
    userCreated: false,
    dryRun: inputs.dryRun,
    plan: undefined,
    rotated: false,
    accessKeyId: undefined,
    newKeyId: undefined,
    previous: [],
    destinations: destinations.map((d) => ({ destination: d, label: label(d), outcome: 'unchanged', keyId: undefined })),
    error: undefined,
    cancelled: false,
    journal: new Journal(destinations.length),
    steps: [],
  };
}

/**
 * Rotate (or create) the user's access key into every destination, step by step (steps.ts): identify, lease, read,
 * classify, retire what is due, plan, prepare, create and verify, distribute, confirm, hand over, retire. Never
 * throws: the result says what happened, with `error` set on failure. `observe` receives the live result at once (the
 * cancel handler reads it if the run must stop hard).
 */
export async function rotate(ctx: RotateContext, observe?: (r: RotationResult) => void): Promise<RotationResult> {
  const result = newResult(ctx.inputs);
  observe?.(result);
  const s = newRunState(ctx, result);
  try {
    await runSteps(s);
  } catch (err) {
    result.cancelled = err instanceof Cancelled || ctx.cancel.requested;
    result.error = await failed(s, err);
  } finally {
    if (s.userName) {
      const userGone = s.journal.effects.some((e) => e.kind === 'user deleted');
      if (s.listed !== undefined && !userGone) Object.assign(result, await describeKeys(s));
      // The create marker goes with the lease unless a key appeared that no tag names: a rerun needs it for that key.
      const marker = s.createMarker.written && !s.createMarker.needed ? [CREATE_TAG] : [];
      await releaseLease({ ...ctx, aws: s.aws }, s.journal, s.userName, marker);
    }
    refresh(result);
  }
  return result;
}

/** Turn a failure into the one error line, after making every destination hold a working pair. */
async function failed(s: RunState, err: unknown): Promise<ActionError> {
  const { journal } = s;
  if (err instanceof NewKeyLost) return new ActionError(`${err.message}. ${describeStanding(s)}.`, { cause: err });
  if (err instanceof Overwritten) {
    // Someone else wrote after this run: no rollback (it would overwrite their write too); every key stays.
    const kept = [journal.newKeyId ?? journal.resumedKeyId, s.self?.accessKeyId ?? s.result.plan?.current?.id].filter((k, i, a) => k && a.indexOf(k) === i);
    return new ActionError(`${err.message}. Every key stays Active (${kept.join(', ')}). ${describeStanding(s)}.`, { cause: err });
  }
  if (journal.newKeyId !== undefined && !journal.handedOver) return recover(s, err);
  const cause = asActionError(err);
  if (err instanceof Unproven || journal.handedOver || journal.touched().length > 0 || journal.broken !== undefined) {
    return new ActionError(`${sentence(cause.message)} ${describeStanding(s)}.${whatChanged(s)}`, { cause: err });
  }
  const undo = await undoUser(s);
  return new ActionError(`${sentence(cause.message)}${undo}${whatChanged(s)}`, { cause: err });
}

/** A message as a sentence: it ends with one full stop. */
const sentence = (m: string) => (/[.!?]$/.test(m) ? m : `${m}.`);

/**
 * The last words of a stop, from the journal (never from the wording of the message): "Nothing was changed." when
 * the run changed nothing; what it did when the only changes were the retirement of keys that were due.
 */
function whatChanged(s: RunState): string {
  const { journal } = s;
  if (!journal.changedAnything()) return ' Nothing was changed.';
  const dueOnly = journal.effects.every((e) => e.kind === 'lease taken' || e.kind === 'lease released' || e.kind === 'key retired');
  const retired = journal.retired.filter((r) => r.fate !== 'kept');
  if (!dueOnly || retired.length === 0 || journal.newKeyId !== undefined) return '';
  return ` Nothing else was changed: this run first retired the handed-over key(s) that were due (${retired.map((r) => `${r.fate} ${r.id}`).join(', ')}).`;
}

/** A key's fate as the `keys` output says it, from its verdict and the journal. */
function fateOf(s: RunState, id: string): string {
  const { journal } = s;
  if (id === journal.newKeyId) return 'new';
  const retired = [...journal.retired].reverse().find((r) => r.id === id);
  if (retired) return retired.fate;
  const v = s.keys.find((k) => k.key.id === id)?.verdict;
  if (v?.kind === 'pending' && !v.kept) {
    if (v.dueAt !== undefined) return `retire-pending until ${new Date(v.dueAt).toISOString()}`;
    if (v.holders.length > 0) return `retire-pending: ${v.holders.map((d) => d.label).join(', ')} may hold it`;
    return 'retire-pending: not provably unused';
  }
  if (v?.kind === 'pending') return 'kept';
  return 'current';
}

/**
 * Every key of the user at the end of the run (and those it deleted), with its evidence, description and fate; or,
 * when they could not be listed, why (`keysUnread`: the `keys` output is then null, never a claim of no keys).
 */
export async function describeKeys(s: RunState): Promise<Pick<RotationResult, 'keys' | 'keysUnread'>> {
  const { ctx, journal, userName } = s;
  const changed = journal.effects.some((e) => e.kind === 'key created' || e.kind === 'key retired' || e.kind === 'key lost');
  let now: AccessKey[];
  const uses = new Map(s.uses);
  try {
    // Unchanged keys are not listed again; last uses are read for every key that has none yet, or all after a change.
    now = changed ? await listAccessKeys(s.aws.iam, userName) : (s.listed ?? []);
  } catch (err) {
    const why = errorMessage(err);
    ctx.io.warning(
      `the keys of IAM user ${userName} could not be listed at the end of the run (${why}): the keys output is null ` +
        `(unknown, not "no keys") and the job summary does not list them; the run's own outcome above stands. Look ` +
        `the keys up in IAM, or rerun to describe them.`,
    );
    return { keys: undefined, keysUnread: why };
  }
  // A failed read is reported unknown by lastUses (one warning), never as "never used".
  const unread = now.filter((k) => changed || !uses.has(k.id)).map((k) => k.id);
  for (const [id, use] of await lastUses(s.aws.iam, ctx.io, userName, unread)) uses.set(id, use);
  const report = (k: AccessKey, status: string, lastUsed: Use | null | undefined): KeyReport => ({
    id: k.id,
    status,
    created: k.created.toISOString(),
    // undefined: not read, or the read failed (GetAccessKeyLastUsed refused, or the key was deleted before it was read).
    lastUsed: lastUsed === undefined ? UNKNOWN_USE : lastUsed,
    description: s.recorded.tags.get(k.id) ?? null,
    fate: fateOf(s, k.id),
  });
  const gone = (s.listed ?? []).filter((k) => journal.deleted(k.id) && !now.some((n) => n.id === k.id));
  return { keys: [...now.map((k) => report(k, k.status, uses.get(k.id))), ...gone.map((k) => report(k, 'Deleted', uses.get(k.id)))] };
}

// ---- recovering from a stop after the new key exists ------------------------------------------------------------

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
