/**
 * Rotation as AWS prescribes it, across runs: what earlier runs recorded about the keys (provenance tags), the
 * evidence of their last use, the retirement of handed-over keys once due, the record of this run's handover, and
 * the description of every key at the end of the run.
 */
import { deactivateAccessKey, isAccessDenied, listAccessKeys } from './aws.js';
import { isoSeconds } from './clock.js';
import { ActionError, errorMessage } from './errors.js';
import type { PreviousKeyMode } from './inputs.js';
import { type AccessKey, type PendingKey, type Plan, type Use, stagedRetirement } from './plan.js';
import { keyTags, lastUses, parseRecord, runLabel, writeRecord } from './provenance.js';
import type { KeyReport } from './result.js';
import { type RunState, checkKeys, deleteKey } from './run-state.js';


/**
 * Read the action's records of earlier handovers; stop a self-rotation that authenticates with a superseded key
 * (its holder was never updated); retire what is due; warn about handed-over keys still in use. Returns the ids of
 * the keys still waiting (not a split state; never deleted to make room).
 */
export async function earlierHandovers(s: RunState, keys: AccessKey[], self: AccessKey | undefined): Promise<string[]> {
  const { ctx, userName } = s;
  const { inputs, io } = ctx;
  if (s.tagsDenied && inputs.retireAfterHours > 0) {
    throw new ActionError(
      `retire-after-hours needs the user's tags (iam:ListUserTags, iam:TagUser, iam:UntagUser) to record handovers, ` +
        `and this run may not use them: grant them, or set retire-after-hours: 0. Nothing was changed.`,
    );
  }
  try {
    if (!s.tagsDenied) s.tags = await keyTags(ctx, userName, s.userTags);
  } catch (err) {
    if (inputs.retireAfterHours > 0 || !isAccessDenied(err)) throw err;
    s.tagsDenied = true;
    io.warning(`could not read the user's tags (${errorMessage(err)}): keys are not described; grant iam:ListUserTags`);
  }
  const records = new Map(keys.flatMap((k) => {
    const r = parseRecord(s.tags.get(k.id));
    return r ? [[k.id, r] as const] : [];
  }));
  const mine = self ? records.get(self.id) : undefined;
  if (self && mine?.supersededBy && keys.some((k) => k.id === mine.supersededBy)) {
    throw new ActionError(
      `this job authenticates with ${self.id}, which an earlier run handed over to ${mine.supersededBy} at ` +
        `${mine.handover ?? 'an unknown time'}: the place this job reads its credentials from was not updated (it is ` +
        `not among that run's destinations, or its secret is shadowed by another level). Make it a destination, or ` +
        `give this job the current key. Nothing was changed.`,
    );
  }
  // Evidence is needed now only for keys handed over earlier; the keys output reads it for every key at the end.
  const handed = keys.filter((k) => records.get(k.id)?.supersededBy !== undefined);
  s.uses = await lastUses(ctx, userName, handed.map((k) => k.id));
  const state = stagedRetirement(keys, records, s.uses, ctx.clock.now(), inputs.retireAfterHours);
  for (const w of state.waiting) {
    s.pending.set(w.key.id, w.dueAt);
    const used = w.lastUsed;
    if (w.inUse && used) {
      io.warning(
        `${w.key.id} was handed over to ${w.supersededBy} at ${new Date(w.handover).toISOString()} but was last used ` +
          `${used.date} (${used.service}, ${used.region}): somebody still holds it, so it is not retired. Find that ` +
          `holder and make it a destination; the key is retired once it has not been used for ${inputs.retireAfterHours} h.`,
      );
    } else {
      io.info(`${w.key.id} is pending retirement (handed over to ${w.supersededBy}): due at ${new Date(w.dueAt).toISOString()}`);
    }
  }
  if (state.due.length > 0) {
    if (inputs.dryRun) {
      io.info(`Dry run: would ${inputs.previousKey} ${state.due.map((d) => d.key.id).join(', ')} (handed over and unused for ${inputs.retireAfterHours} h)`);
    } else {
      await io.group('Retire handed-over keys', () => retireDue(s, state.due, inputs.previousKey));
    }
  }
  s.result.retirement = {
    due: state.due.map((d) => d.key.id),
    waiting: state.waiting.map((w) => ({ id: w.key.id, dueAt: new Date(w.dueAt).toISOString(), inUse: w.inUse })),
  };
  // Keys still handed over and not retired. A dry run plans as the real run would: after retiring what is due.
  const wouldGo = (p: PendingKey) => inputs.dryRun && inputs.previousKey === 'delete' && state.due.includes(p);
  return [...state.waiting, ...state.due]
    .filter((p) => !s.journal.deleted(p.key.id) && !wouldGo(p))
    .map((p) => p.key.id);
}

/** Tag the new key with where it comes from. With retire-after-hours > 0 a refusal stops the run (the key is discarded). */
export async function recordCreated(s: RunState, id: string): Promise<string> {
  const { ctx } = s;
  const created = isoSeconds(ctx.clock.now());
  if (s.tagsDenied) return created;
  try {
    s.tags.set(id, await writeRecord(ctx, s.userName, id, { created, by: runLabel(ctx) }));
  } catch (err) {
    if (ctx.inputs.retireAfterHours > 0) {
      throw new ActionError(
        `recording where the new key ${id} comes from failed (${errorMessage(err)}): with retire-after-hours the ` +
          `handover must be recorded in IAM. Grant iam:TagUser on the user`,
        { cause: err },
      );
    }
    ctx.io.warning(`could not tag the new key ${id} with where it comes from (${errorMessage(err)}): grant iam:TagUser`);
  }
  return created;
}

/** Every key of the user at the end of the run (and those it deleted), with its evidence, description and fate. */
export async function describeKeys(s: RunState): Promise<KeyReport[]> {
  const { ctx, journal, userName } = s;
  const changed = journal.effects.some((e) => e.kind === 'key created' || e.kind === 'key retired');
  let now: AccessKey[];
  const uses = new Map(s.uses);
  try {
    // Unchanged keys are not listed again; last uses are read for every key that has none yet, or all after a change.
    now = changed ? await listAccessKeys(ctx.aws.iam, userName) : s.initialKeys;
    const read = await lastUses(ctx, userName, now.filter((k) => changed || !uses.has(k.id)).map((k) => k.id));
    for (const [id, use] of read) uses.set(id, use);
  } catch {
    return [];
  }
  const fateOf = (id: string): string => {
    if (id === journal.newKeyId) return 'new';
    const until = s.pending.get(id);
    if (until !== undefined) return `retire-pending until ${new Date(until).toISOString()}`;
    const retired = [...journal.retired].reverse().find((r) => r.id === id);
    return retired ? retired.fate : 'current';
  };
  const report = (k: AccessKey, status: string, lastUsed: Use | null | undefined): KeyReport => ({
    id: k.id,
    status,
    created: k.created.toISOString(),
    lastUsed: lastUsed ?? null,
    description: s.tags.get(k.id) ?? null,
    fate: fateOf(k.id),
  });
  const gone = s.initialKeys.filter((k) => journal.deleted(k.id) && !now.some((n) => n.id === k.id));
  return [...now.map((k) => report(k, k.status, uses.get(k.id))), ...gone.map((k) => report(k, 'Deleted', uses.get(k.id)))];
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
  const handover = isoSeconds(now);
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
