/**
 * One rotation from start to end: the run state, the named steps (steps.ts), the one error line a stop ends in, and
 * the last look at the keys and the lease whatever happened.
 */
import { listAccessKeys } from '../aws/aws.js';
import type { Inputs } from '../config/inputs.js';
import { destinationsFrom, label } from '../github/destinations.js';
import { Unproven } from '../keys/destruction.js';
import { CREATE_TAG, lastUses } from '../keys/records.js';
import type { KeyState } from '../keys/verdict.js';
import { Cancelled } from '../shared/cancel.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { AccessKey, Use } from '../shared/types.js';
import { Overwritten } from './confirm.js';
import { Journal } from './journal.js';
import { releaseLease } from './lease.js';
import { assumedHeld, describeStanding, recover, undoUser } from './recover.js';
import { type KeyReport, type PreviousAction, type RotationResult, UNKNOWN_USE } from './result.js';
import { type RotateContext, type RunState, newRunState } from './run-state.js';
import { NewKeyLost, runSteps } from './steps.js';
import { standing } from './writes.js';

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
