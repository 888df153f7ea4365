/** The previous keys, once every destination holds the new one: delete, deactivate or keep them. */
import { deactivateAccessKey } from './aws.js';
import { ActionError, errorMessage } from './errors.js';
import type { PreviousKeyMode } from './inputs.js';
import type { PendingKey, Plan } from './plan.js';
import { recordTime, runLabel, writeRecord } from './provenance.js';
import { type RunState, checkKeys, deleteKey } from './recover.js';

export async function retirePrevious(s: RunState, p: Plan): Promise<void> {
  if (p.action !== 'rotate') return;
  const { ctx, journal, userName } = s;
  const { iam } = ctx.aws;
  const newId = journal.newKeyId as string;
  const toChange = p.previous.filter((k) => p.previousKey === 'delete' || (p.previousKey === 'deactivate' && k.status === 'Active'));
  if (toChange.length > 0) await checkKeys(s, `retiring ${toChange.map((k) => k.id).join(', ')}`);
  const failures: string[] = [];
  for (const key of p.previous) {
    try {
      if (p.previousKey === 'delete') {
        await deleteKey(s, key.id, 'deleted');
        ctx.io.info(`Deleted previous key ${key.id}`);
      } else if (p.previousKey === 'deactivate' && key.status === 'Active') {
        await deactivateAccessKey(iam, userName, key.id);
        journal.record({ kind: 'key retired', id: key.id, fate: 'deactivated' });
        ctx.io.info(`Deactivated previous key ${key.id} (a later run deletes it to make room)`);
      } else {
        journal.record({ kind: 'key retired', id: key.id, fate: 'kept' });
        ctx.io.info(`Kept previous key ${key.id} (${key.status})`);
      }
    } catch (err) {
      failures.push(`${key.id}: ${errorMessage(err)}`);
    }
  }
  if (failures.length > 0) {
    const next = s.caller
      ? 'or rerun: a self-rotation that finds two Active keys gives every destination its own pair, then deletes the other key'
      : 'or rerun with key-limit: delete-oldest (it deletes the oldest key, which no destination holds any more)';
    throw new ActionError(
      `Every destination holds the new key ${newId}, but retiring the previous key failed: ${failures.join('; ')}. ` +
        `Nothing needs it any more and it still works: ${p.previousKey} it by hand, ${next}`, // failed() adds '. Destinations: …'
    );
  }
}

/**
 * Staged retirement: retire (per previous-key) the handed-over keys that are due — their handover and their last
 * use both at least retire-after-hours ago. Runs before anything else is decided, in every run.
 */
export async function retireDue(s: RunState, due: PendingKey[], previousKey: PreviousKeyMode): Promise<string[]> {
  const { ctx } = s;
  const act = due.filter((d) => previousKey === 'delete' || (previousKey === 'deactivate' && d.key.status === 'Active'));
  if (act.length === 0) return [];
  await checkKeys(s, `retiring ${act.map((d) => d.key.id).join(', ')}`);
  const gone: string[] = [];
  for (const { key, supersededBy, lastUsed } of act) {
    const evidence = lastUsed ? `last used ${lastUsed.date} (${lastUsed.service}, ${lastUsed.region})` : 'never used';
    if (previousKey === 'delete') {
      await deleteKey(s, key.id, 'deleted');
      gone.push(key.id);
      ctx.io.info(`Deleted ${key.id}: handed over to ${supersededBy} and ${evidence}, both at least retire-after-hours ago`);
    } else {
      await deactivateAccessKey(ctx.aws.iam, s.userName, key.id);
      s.journal.record({ kind: 'key retired', id: key.id, fate: 'deactivated' });
      ctx.io.info(`Deactivated ${key.id}: handed over to ${supersededBy} and ${evidence}, both at least retire-after-hours ago`);
    }
  }
  return gone;
}

/**
 * Record the handover in IAM: the new key's tag gets its handover time; with retire-after-hours > 0 each previous key
 * is tagged as superseded (a later run retires it once due) instead of being retired now.
 */
export async function recordHandover(s: RunState, p: Plan, newId: string, created: string): Promise<void> {
  const { ctx, userName } = s;
  const hours = ctx.inputs.retireAfterHours;
  const now = ctx.clock.now();
  const handover = recordTime(now);
  const staged = hours > 0 && p.action === 'rotate' && p.previousKey !== 'keep' ? p.previous : [];
  if (s.tagsDenied) return;
  try {
    s.tags.set(newId, await writeRecord(ctx, userName, newId, { created, handover, by: runLabel(ctx) }));
    for (const key of staged) {
      s.tags.set(key.id, await writeRecord(ctx, userName, key.id, { supersededBy: newId, handover, by: runLabel(ctx) }));
      s.pending.set(key.id, now + hours * 3_600_000);
      s.journal.record({ kind: 'key retired', id: key.id, fate: 'retire-pending' });
      ctx.io.info(`${key.id} is handed over to ${newId}: a later run ${ctx.inputs.previousKey === 'delete' ? 'deletes' : 'deactivates'} it once it has not been used for ${hours} h (not before ${new Date(now + hours * 3_600_000).toISOString()})`);
    }
  } catch (err) {
    if (hours === 0) {
      ctx.io.warning(`could not record the handover in the tag of ${newId} (${errorMessage(err)}): its description in IAM stays incomplete`);
      return;
    }
    throw new ActionError(
      `Every destination holds the new key ${newId}, but recording the handover in IAM failed (${errorMessage(err)}): ` +
        `the previous key(s) ${staged.map((k) => k.id).join(', ')} stay Active and no later run will retire them. Grant ` +
        `iam:TagUser on the user, then retire them by hand once they are unused for ${hours} h.`,
      { cause: err },
    );
  }
}
