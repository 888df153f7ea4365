/** The previous keys, once every destination holds the new one: delete, deactivate or keep them. */
import { deactivateAccessKey } from './aws.js';
import { ActionError, errorMessage } from './errors.js';
import type { Plan } from './plan.js';
import { type RunState, checkKeys, deleteKey } from './run-state.js';

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
