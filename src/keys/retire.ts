/** The previous keys, once every destination holds the new one: delete, deactivate or keep them, each proven. */
import { Unproven, destroy } from './destruction.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { Plan } from './plan.js';
import { parseRecord } from './provenance.js';
import type { RunState } from '../rotation/run-state.js';

export async function retirePrevious(s: RunState, p: Plan): Promise<void> {
  if (p.action !== 'rotate') return;
  const { ctx, journal } = s;
  // A resumed rotation hands out the earlier run's key; its previous key goes for that reason, with its own proof.
  const reason = p.resume ? 'replaced by a resumed rotation' : 'replaced by this run';
  const newId = (journal.newKeyId ?? journal.resumedKeyId) as string;
  const failures: string[] = [];
  const failed: string[] = [];
  let unproven = false;
  for (const key of p.previous) {
    try {
      if (p.previousKey === 'delete') {
        await destroy(s, key.id, reason, 'delete', 'deleted');
        ctx.io.info(`Deleted previous key ${key.id}`);
      } else if (p.previousKey === 'deactivate' && key.status === 'Active') {
        await destroy(s, key.id, reason, 'deactivate', 'deactivated');
        ctx.io.info(`Deactivated previous key ${key.id} (a later run deletes it to make room)`);
      } else {
        journal.record({ kind: 'key retired', id: key.id, fate: 'kept' });
        ctx.io.info(`Kept previous key ${key.id} (${key.status})`);
      }
    } catch (err) {
      // The new key itself went away: the flow puts the previous pair back (never retire on a dead successor).
      if (err instanceof Unproven && err.lacks('new key gone')) throw err;
      unproven ||= err instanceof Unproven;
      failures.push(`${key.id}: ${errorMessage(err)}`);
      failed.push(key.id);
    }
  }
  if (failures.length > 0) {
    const next = unproven
      ? 'The keys changed during the run (another rotation or a person is at work): check them, then retire what nobody uses by hand'
      : failed.every((id) => parseRecord(s.tags.get(id))?.supersededBy === newId)
        ? // This run recorded the handover on it: a rerun retires it at once if nothing has used it since.
          `Nothing needs it any more and it still works. Its handover is recorded in IAM, so a rerun (once the cause is ` +
          `fixed) ${p.previousKey === 'delete' ? 'deletes' : 'deactivates'} it if nothing has used it since; or ` +
          `${p.previousKey} it by hand once you have checked its last use`
        : `Nothing needs it any more and it still works: ${p.previousKey} it by hand once you have checked its last use`;
    throw new ActionError(
      `Every destination holds the new key ${newId}, but retiring the previous key failed: ${failures.join('; ')}. ${next}`, // failed() adds '. Destinations: …'
    );
  }
}
