/**
 * One rotation from start to end: the run state, the named steps (steps.ts), the one error line a stop ends in, and
 * the last look at the keys and the lease whatever happened.
 */
import { Cancelled } from '../shared/cancel.js';
import { Overwritten } from './confirm.js';
import type { RotateContext } from '../config/context.js';
import { destinationsFrom, label } from '../github/destinations.js';
import { Unproven } from '../keys/destruction.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { Inputs } from '../config/inputs.js';
import { Journal } from './journal.js';
import { CREATE_TAG } from '../keys/create-marker.js';
import { releaseLease } from './lease.js';
import { assumedHeld, describeStanding, recover, undoUser } from './recover.js';
import type { PreviousAction, RotationResult } from './result.js';
import { type RunState, newRunState } from './run-state.js';
import { describeKeys } from '../keys/staged.js';
import { NewKeyLost, runSteps } from './steps.js';
import { standing } from './writes.js';

export type { ActionsIO, RotateContext } from '../config/context.js';
export type { DestinationResult, KeyReport, Outcome, PreviousAction, RotationResult } from './result.js';

function asActionError(err: unknown): ActionError {
  return err instanceof ActionError ? err : new ActionError(errorMessage(err), { cause: err });
}

/** Recompute what the result says about destinations and keys from the journal. */
export function refresh(result: RotationResult): void {
  const { journal } = result;
  const current = assumedHeld(result.plan);
  result.newKeyId = journal.newKeyId ?? journal.resumedKeyId;
  result.userCreated = journal.createdUser !== undefined || result.userCreated;
  result.previous = journal.retired
    .filter((r) => r.fate !== 'discarded')
    .map((r) => ({ id: r.id, action: r.fate as PreviousAction }));
  result.destinations.forEach((r, i) => {
    const d = journal.destinations[i];
    // A dry run writes nothing: each destination holds what it held (the current key only when it held both secrets).
    const { outcome, keyId } = standing(journal, i, current);
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
 * Rotate (or create) the user's access key into every destination, step by step (STEP_NAMES in steps.ts): lease,
 * read, classify, retire what is due, plan, prepare, create and verify, distribute, confirm, hand over, retire. Never throws: the result says what happened, with `error` set on failure.
 * `observe` receives the live result at once (the cancel handler reads it if the run must stop hard).
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
      if (s.keysListed && !userGone) Object.assign(result, await describeKeys(s));
      // The create marker goes with the lease unless a key appeared that no tag names: a rerun needs it for that key.
      const marker = s.createMarker.written && !s.createMarker.needed ? [CREATE_TAG] : [];
      await releaseLease(ctx, s.journal, s.userName, marker);
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
    const kept = [journal.newKeyId ?? journal.resumedKeyId, s.caller?.accessKeyId ?? s.result.plan?.current?.id].filter((k, i, a) => k && a.indexOf(k) === i);
    return new ActionError(`${err.message}. Every key stays Active (${kept.join(', ')}). ${describeStanding(s)}.`, { cause: err });
  }
  if (journal.newKeyId !== undefined && !s.handedOver) return recover(s, err);
  const cause = asActionError(err);
  if (err instanceof Unproven || s.handedOver || journal.touched().length > 0 || journal.broken !== undefined) {
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
  const retired = journal.retired.filter((r) => r.fate !== 'kept' && r.fate !== 'retire-pending');
  if (!dueOnly || retired.length === 0 || journal.newKeyId !== undefined) return '';
  return ` Nothing else was changed: this run first retired the handed-over key(s) that were due (${retired.map((r) => `${r.fate} ${r.id}`).join(', ')}).`;
}
