/**
 * Rotation as AWS prescribes it, across runs: what earlier runs recorded about the keys (provenance tags), the
 * evidence of their last use, the retirement of handed-over keys once due, the record of this run's handover, and
 * the description of every key at the end of the run.
 */
import { TagQuotaReached, isAccessDenied, listAccessKeys, listUserTags } from '../aws/aws.js';
import { isoSeconds } from '../shared/clock.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { PreviousKeyMode, Tag } from '../config/inputs.js';
import { CLOCK_SLACK_MS, MAX_RUN_MS, RECORD_CHECKS, Unproven, destroy, factsOf, gaps, knownAbout, mayHold, unhanded } from './destruction.js';
import { type AccessKey, type OtherKey, type PendingKey, type Plan, type Use, currentKey } from './plan.js';
import { type KeyRecord, keyTags, lastUses, parseRecord, pruneRecords, runLabel, writeRecord, writeRecords } from './provenance.js';
import { REWRITE_TAG, parseRewrite } from './rewrite-marker.js';
import { CREATE_TAG, inWindow, parseCreateMarker } from './create-marker.js';
import { type KeyReport, type RotationResult, UNKNOWN_USE } from '../rotation/result.js';
import type { RunState } from '../rotation/run-state.js';
import { earlierAttempt, runEnded } from './run-status.js';


/** Read the action's records of the keys (provenance tags): a claim each, checked against IAM's facts before use. */
export async function readRecords(s: RunState, keys: AccessKey[]): Promise<void> {
  const { ctx, userName } = s;
  const { inputs, io } = ctx;
  if (s.tagsDenied && inputs.retireAfterHours > 0) {
    throw new ActionError(
      `retire-after-hours needs the user's tags (iam:ListUserTags, iam:TagUser, iam:UntagUser) to record handovers, ` +
        `and this run may not use them: grant them, or set retire-after-hours: 0.`,
    );
  }
  let all: Tag[] = [];
  try {
    if (!s.tagsDenied) {
      all = s.userTags ?? (await listUserTags(ctx.aws.iam, userName));
      s.tags = await keyTags(ctx, userName, all);
    }
  } catch (err) {
    if (inputs.retireAfterHours > 0 || !isAccessDenied(err)) throw err;
    s.tagsDenied = true;
    io.warning(`could not read the user's tags (${errorMessage(err)}): keys are not described; grant iam:ListUserTags`);
  }
  for (const k of keys) {
    const r = parseRecord(s.tags.get(k.id));
    if (r) s.records.set(k.id, r);
  }
  // The action keeps one record per existing key: its records of keys that no longer exist are removed (never a tag
  // it did not write). A dry run changes nothing.
  if (!inputs.dryRun && !s.tagsDenied) await pruneRecords(ctx, userName, keys, s.tags);
  const marker = parseRewrite(all.find((t) => t.Key === REWRITE_TAG)?.Value);
  if (marker) s.rewrite = marker;
  // The create marker an earlier run left (this run has not written its own yet), and the keys no tag names that IAM
  // made in its window: the key of a run killed before recording it is among them.
  const creating = parseCreateMarker(all.find((t) => t.Key === CREATE_TAG)?.Value);
  if (creating) {
    // A run that recorded a key made in its window was not killed before its record: its marker says nothing more.
    const recorded = keys.some((k) => s.records.get(k.id)?.by === creating.by && inWindow(creating, k.created.getTime()));
    const candidates = recorded
      ? []
      : keys.filter((k) => !s.tags.has(k.id) && !creating.keys.includes(k.id) && inWindow(creating, k.created.getTime())).map((k) => k.id);
    s.creation = { ...creating, candidates };
  }
}

/**
 * What is known of every key but the caller's, from IAM's facts (once preflight has read the destinations): keys
 * handed over by an earlier run (retired here once due, with their proof), orphans of finished runs, and keys
 * nothing proves anything about. Stops a self-rotation that authenticates with a key properly handed over.
 */
export async function classifyKeys(s: RunState, keys: AccessKey[], naiveCurrent: AccessKey | undefined, self: AccessKey | undefined): Promise<Classified> {
  const { ctx, userName } = s;
  const { inputs, io } = ctx;
  const iamNow = ctx.aws.time.now();
  const others = new Map<string, OtherKey>();
  let current = naiveCurrent;
  const consistent = (k: AccessKey) => {
    const facts = factsOf(s, k, keys);
    return facts.record?.supersededBy === undefined ? undefined : RECORD_CHECKS.map((c) => c(facts)).flatMap((m) => (m ? [m.text] : []));
  };
  const mine = self ? consistent(self) : undefined;
  if (self && mine?.length === 0) {
    const r = s.records.get(self.id);
    throw new ActionError(
      `this job authenticates with ${self.id}, which an earlier run handed over to ${r?.supersededBy} at ` +
        `${r?.handover}: the place this job reads its credentials from was not updated (it is ` +
        `not among that run's destinations, or its secret is shadowed by another level). Make it a destination, or ` +
        `give this job the current key.`,
    );
  }
  if (self && mine && mine.length > 0) {
    io.warning(`the action's record on ${self.id}, the key this job authenticates with, disagrees with IAM's facts (${mine.join('; ')}): it is ignored`);
  }
  const rest = keys.filter((k) => k.id !== self?.id);
  // A key an earlier run made and never handed over, younger than a run can last (the caller's own key too: this run
  // replaces it): that the run which made it has ended proves it is not still handing it out, sooner than its age.
  // An earlier attempt of this very workflow run has ended before this one started; else GitHub's own word.
  for (const k of keys) {
    const r = s.records.get(k.id);
    if (!unhanded(r) || iamNow - k.created.getTime() >= MAX_RUN_MS) continue;
    const ended = earlierAttempt(ctx, r.by) ? iamTimeAtStart(s) : await runEnded(ctx, r.by);
    if (ended !== undefined) s.runEnded.set(k.id, ended);
  }
  // The same for the run a create marker names, when a key made in its window is young enough for it to matter.
  const creation = s.creation;
  if (creation && creation.candidates.some((id) => iamNow - (keys.find((k) => k.id === id)?.created.getTime() ?? 0) < MAX_RUN_MS)) {
    creation.ended = earlierAttempt(ctx, creation.by) ? iamTimeAtStart(s) : await runEnded(ctx, creation.by);
  }
  const unrecorded = (k: AccessKey) => s.creation?.candidates.includes(k.id) === true;
  // Evidence for every key that is not the one the destinations hold, and for every key an earlier run made and never
  // handed over: its last use (kept, for the keys output too).
  const unread = rest
    .filter((k) => k.id !== current?.id || s.records.get(k.id)?.supersededBy !== undefined || unhanded(s.records.get(k.id)) || unrecorded(k))
    .filter((k) => !s.uses.has(k.id));
  for (const [id, use] of await lastUses(ctx, userName, unread.map((k) => k.id))) s.uses.set(id, use);
  // A key no tag names, proven the create marker's by IAM's facts. Destinations written since it was made are the one
  // gap a self-rotation closes: it gives them its own pair first (heldBy).
  const unrecordedProof = (k: AccessKey) => {
    const facts = factsOf(s, k, keys);
    const missing = gaps('unrecorded key of a finished run', facts);
    const held = mayHold(facts);
    const closable = self !== undefined && missing.length === 1 && held.length > 0 && missing[0].code === 'destinations may hold it';
    return { proven: missing.length === 0 || closable, heldBy: closable ? held : [], missing };
  };
  // An orphan this run can prove (held by no destination, or only by destinations a self-rotation moves off first).
  const provableOrphan = (k: AccessKey) => {
    if (unrecorded(k)) return unrecordedProof(k).proven;
    const missing = gaps('orphan of a finished run', factsOf(s, k, keys));
    return missing.length === 0 || (missing.length === 1 && missing[0].code === 'destinations may hold it');
  };
  // The key the destinations are taken to hold is never an earlier run's provable orphan: a rotator's rerun after a
  // killed run judges that orphan, not the key it was replacing.
  if (!self) current = currentKey(keys, undefined, new Map(rest.filter(provableOrphan).map((k) => [k.id, { kind: 'orphan', heldBy: [] }])));
  s.resume = self ? resumable(s, self, keys) : undefined;
  if (s.resume) {
    const { key, record, previous } = s.resume;
    io.info(
      `${key.id}, the key this job signs in with, was made by an earlier run of this action (${record.by ?? 'unnamed'}, ` +
        `created ${record.created}) that ended before every destination held it: this run finishes that rotation ` +
        `(every destination gets ${key.id}, then ${previous.id} is handled per previous-key)`,
    );
  }
  const due: PendingKey[] = [];
  const waiting: (PendingKey & { inUse: boolean })[] = [];
  for (const k of rest) {
    const r = s.records.get(k.id);
    const facts = factsOf(s, k, keys);
    const bad = consistent(k);
    if (r?.supersededBy !== undefined && bad && bad.length > 0) {
      io.warning(
        `the action's record on ${k.id} says it was handed over to ${r.supersededBy} at ${r.handover ?? 'an unknown time'}, ` +
          `but IAM's facts disagree (${bad.join('; ')}): the record is ignored and ${k.id} is treated as a key this ` +
          `action did not hand over. Remove the tag ${k.id} from IAM user ${userName} if it is wrong.`,
      );
    } else if (r?.supersededBy !== undefined) {
      const handover = Date.parse(r.handover ?? '');
      const usedAt = facts.lastUsed ? Date.parse(facts.lastUsed.date) : 0;
      const p: PendingKey = { key: k, supersededBy: r.supersededBy, handover, lastUsed: facts.lastUsed, dueAt: Math.max(handover, usedAt) + inputs.retireAfterHours * 3_600_000 };
      others.set(k.id, { kind: 'pending' });
      const missing = gaps('staged retirement', facts);
      const used = facts.lastUsed;
      // Handed over long enough ago, yet used since: somebody still holds it.
      const inUse = used !== undefined && used !== null && iamNow >= handover + inputs.retireAfterHours * 3_600_000;
      if (missing.length === 0) due.push(p);
      else waiting.push({ ...p, inUse });
      if (missing.length > 0 && inputs.retireAfterHours > 0) {
        const timing = missing.every((m) => m.code === 'handover too recent' || m.code === 'used too recently');
        if (timing && inUse) {
          io.warning(
            `${k.id} was handed over to ${r.supersededBy} at ${new Date(handover).toISOString()} but was last used ` +
              `${used.date} (${used.service}, ${used.region}): somebody still holds it, so it is not retired. Find that ` +
              `holder and make it a destination; the key is retired once it has not been used for ${inputs.retireAfterHours} h.`,
          );
        } else if (timing) {
          io.info(`${k.id} is pending retirement (handed over to ${r.supersededBy}): due at ${new Date(p.dueAt).toISOString()} (IAM time)`);
        } else {
          io.warning(
            `${k.id} was handed over to ${r.supersededBy} at ${new Date(handover).toISOString()} but is not retired: ` +
              `${missing.map((m) => m.text).join('; ')}. It stays Active until a run can prove nothing holds it.`,
          );
        }
      }
      continue;
    }
    if (k.id === current?.id || k.id === s.resume?.previous.id) continue;
    if (unrecorded(k)) {
      // No tag names it: the create marker, with IAM's facts, is what may prove it the key of a run killed before
      // recording it.
      const { proven, heldBy, missing } = unrecordedProof(k);
      if (proven) {
        others.set(k.id, { kind: 'orphan', heldBy, unrecorded: true });
        io.info(
          `${k.id} was made by a run of this action that stopped before recording it (${s.creation?.by}, marked ` +
            `${new Date(s.creation?.at ?? 0).toISOString()}; ${knownAbout(facts)}): it is an orphan` +
            (heldBy.length > 0 ? `; destination(s) ${heldBy.join(', ')} may hold it` : ', and nothing holds it'),
        );
      } else {
        others.set(k.id, { kind: 'unproven', why: `${knownAbout(facts)}; not an orphan: ${missing.map((m) => m.text).join('; ')}` });
      }
      continue;
    }
    const orphan = gaps('orphan of a finished run', facts);
    const held = mayHold(facts);
    // Held by destinations of this run is the one gap a self-rotation can close (it gives them its own pair first).
    if (orphan.length === 0 || (orphan.length === 1 && held.length > 0 && orphan[0].code === 'destinations may hold it')) {
      others.set(k.id, { kind: 'orphan', heldBy: held });
      io.info(`${k.id} is an orphan of an earlier run of this action (${knownAbout(facts)})` + (held.length ? `; destination(s) ${held.join(', ')} may hold it` : ''));
    } else {
      others.set(k.id, { kind: 'unproven', why: `${knownAbout(facts)}; not an orphan: ${orphan.map((m) => m.text).join('; ')}` });
    }
  }
  s.result.retirement = {
    due: due.map((d) => d.key.id),
    waiting: waiting.map((w) => ({ id: w.key.id, dueAt: new Date(w.dueAt).toISOString(), inUse: w.inUse })),
  };
  return { others, due, waiting };
}

/** What classifyKeys found: every key but the current one, and the handed-over keys due for retirement or waiting. */
export interface Classified {
  others: Map<string, OtherKey>;
  due: PendingKey[];
  waiting: PendingKey[];
}

/**
 * Retire the handed-over keys that are due (a dry run says it would), each proven again just before. Returns the keys
 * and the other keys as that left them: deleted keys gone, deactivated keys Inactive, and a key pending retirement
 * only while it is Active. A dry run plans as the real run would.
 */
export async function retireDueKeys(s: RunState, keys: AccessKey[], c: Classified): Promise<{ keys: AccessKey[]; others: Map<string, OtherKey> }> {
  const { inputs, io } = s.ctx;
  const { due, waiting } = c;
  if (due.length > 0) {
    if (inputs.dryRun) {
      io.info(`Dry run: would ${inputs.previousKey} ${due.map((d) => d.key.id).join(', ')} (handed over and unused for ${inputs.retireAfterHours} h)`);
    } else {
      await io.group('Retire handed-over keys', () => retireDue(s, due, inputs.previousKey));
    }
  }
  for (const p of [...waiting, ...due]) s.pending.set(p.key.id, p.dueAt);
  const planned = new Set(inputs.dryRun ? due.map((d) => d.key.id) : []);
  const gone = (id: string) => s.journal.deleted(id) || (planned.has(id) && inputs.previousKey === 'delete');
  const deactivated = (id: string) =>
    s.journal.retired.some((r) => r.id === id && r.fate === 'deactivated') || (planned.has(id) && inputs.previousKey === 'deactivate');
  const left = keys.filter((k) => !gone(k.id)).map((k) => (deactivated(k.id) ? { ...k, status: 'Inactive' as const } : k));
  for (const id of [...s.pending.keys()]) if (!left.some((k) => k.id === id && k.status === 'Active')) s.pending.delete(id);
  const others = new Map([...c.others].filter(([id, o]) => s.pending.has(id) || o.kind !== 'pending'));
  return { keys: left, others };
}

/** IAM's time when this run started (a lower bound): an earlier attempt of this workflow run had ended by then. */
export function iamTimeAtStart(s: RunState): number {
  // IAM's time is a lower bound up to a second early (whole-second Date headers): the second is given back here, so a
  // use just before this run began is not taken for a use after the earlier attempt ended.
  return s.ctx.aws.time.now() - (s.ctx.clock.now() - s.startedAt) + 1000;
}

/**
 * Self-rotation signed in with a key an earlier run of this action made and never handed over, that run has ended,
 * and the user's one other key is an Active key older than it: the earlier run was replacing that key and wrote its new
 * key to this job's own secret before it stopped. This run finishes that rotation. Anything else: undefined.
 */
function resumable(s: RunState, self: AccessKey, keys: AccessKey[]): RunState['resume'] {
  const record = s.records.get(self.id);
  const others = keys.filter((k) => k.id !== self.id);
  if (!unhanded(record) || others.length !== 1) return undefined;
  const [previous] = others;
  if (previous.status !== 'Active' || previous.created > self.created) return undefined;
  const created = Math.floor(self.created.getTime() / 1000) * 1000;
  if (Math.abs(Date.parse(record.created ?? '') - created) > CLOCK_SLACK_MS) return undefined;
  const ended = s.runEnded.get(self.id);
  const iamNow = s.ctx.aws.time.now();
  if (!((ended !== undefined && ended >= created) || iamNow - self.created.getTime() >= MAX_RUN_MS)) return undefined;
  return { key: self, record, previous };
}

const lowerFirst = (t: string) => t.charAt(0).toLowerCase() + t.slice(1);

/** What makes a refused TagUser work: room under IAM's tag quota, or the permission. */
function tagAdvice(err: unknown): string {
  return err instanceof TagQuotaReached ? 'Remove user tags you do not need (IAM allows 50)' : 'Grant iam:TagUser on the user';
}

/** Tag the new key with where it comes from. With retire-after-hours > 0 a refusal stops the run (the key is discarded). */
export async function recordCreated(s: RunState, id: string, createDate: Date): Promise<string> {
  const { ctx } = s;
  // IAM's own CreateDate of the key, in whole seconds (as tags hold times).
  const created = isoSeconds(createDate.getTime());
  if (s.tagsDenied) return created;
  try {
    s.tags.set(id, await writeRecord(ctx, s.userName, id, { created, by: runLabel(ctx) }));
  } catch (err) {
    if (ctx.inputs.retireAfterHours > 0) {
      throw new ActionError(
        `recording where the new key ${id} comes from failed (${errorMessage(err)}): with retire-after-hours the ` +
          `handover must be recorded in IAM. ${tagAdvice(err)}`,
        { cause: err },
      );
    }
    ctx.io.warning(`could not tag the new key ${id} with where it comes from (${errorMessage(err)}): ${lowerFirst(tagAdvice(err))}`);
  }
  return created;
}

/**
 * Every key of the user at the end of the run (and those it deleted), with its evidence, description and fate; or,
 * when they could not be listed, why (`keysUnread`: the `keys` output is then null, never a claim of no keys).
 */
export async function describeKeys(s: RunState): Promise<Pick<RotationResult, 'keys' | 'keysUnread'>> {
  const { ctx, journal, userName } = s;
  const changed = journal.effects.some((e) => e.kind === 'key created' || e.kind === 'key retired');
  let now: AccessKey[];
  const uses = new Map(s.uses);
  try {
    // Unchanged keys are not listed again; last uses are read for every key that has none yet, or all after a change.
    now = changed ? await listAccessKeys(ctx.aws.iam, userName) : s.initialKeys;
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
  for (const [id, use] of await lastUses(ctx, userName, now.filter((k) => changed || !uses.has(k.id)).map((k) => k.id))) uses.set(id, use);
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
    // undefined: not read, or the read failed (GetAccessKeyLastUsed refused, or the key was deleted before it was read).
    lastUsed: lastUsed === undefined ? UNKNOWN_USE : lastUsed,
    description: s.tags.get(k.id) ?? null,
    fate: fateOf(k.id),
  });
  const gone = s.initialKeys.filter((k) => journal.deleted(k.id) && !now.some((n) => n.id === k.id));
  return { keys: [...now.map((k) => report(k, k.status, uses.get(k.id))), ...gone.map((k) => report(k, 'Deleted', uses.get(k.id)))] };
}

/**
 * Staged retirement: retire (per previous-key) the handed-over keys that are due, each proven again (the keys listed
 * again, the record against IAM's facts) just before.
 */
export async function retireDue(s: RunState, due: PendingKey[], previousKey: PreviousKeyMode): Promise<string[]> {
  const { ctx } = s;
  const act = due.filter((d) => previousKey === 'delete' || (previousKey === 'deactivate' && d.key.status === 'Active'));
  const gone: string[] = [];
  for (const { key, supersededBy, lastUsed } of act) {
    const evidence = lastUsed ? `last used ${lastUsed.date} (${lastUsed.service}, ${lastUsed.region})` : 'never used';
    const why =
      ctx.inputs.retireAfterHours > 0
        ? `handed over to ${supersededBy} and ${evidence}, both at least retire-after-hours ago (IAM time)`
        : `an earlier run handed it over to ${supersededBy} and stopped before retiring it (${evidence})`;
    try {
      if (previousKey === 'delete') {
        await destroy(s, key.id, 'staged retirement', 'delete', 'deleted');
        gone.push(key.id);
        ctx.io.info(`Deleted ${key.id}: ${why}`);
      } else {
        await destroy(s, key.id, 'staged retirement', 'deactivate', 'deactivated');
        ctx.io.info(`Deactivated ${key.id}: ${why}`);
      }
    } catch (err) {
      if (!(err instanceof Unproven)) throw err;
      ctx.io.warning(err.message);
    }
  }
  return gone;
}

/**
 * Record the handover in IAM: the new key's tag gets its handover time; with retire-after-hours > 0 each previous key
 * is tagged as superseded (a later run retires it once due) instead of being retired now.
 */
export async function recordHandover(s: RunState, p: Plan, newId: string, created: string, createDate: Date): Promise<void> {
  const { ctx, userName } = s;
  const hours = ctx.inputs.retireAfterHours;
  // IAM's time, never before the new key's own CreateDate (in the whole seconds a tag holds).
  const now = Math.floor(Math.max(ctx.aws.time.now(), createDate.getTime()) / 1000) * 1000;
  const handover = isoSeconds(now);
  // The previous keys this handover supersedes: retired by a later run once due, or (retire-after-hours: 0) by this
  // run in a moment; a rerun finishes that retirement should this run stop before it.
  const superseded = p.action === 'rotate' && p.previousKey !== 'keep' ? p.previous : [];
  const staged = hours > 0 ? superseded : [];
  if (s.tagsDenied) return;
  try {
    const by = runLabel(ctx);
    const records: [string, KeyRecord][] = [[newId, { created, handover, by }], ...superseded.map((k): [string, KeyRecord] => [k.id, { supersededBy: newId, handover, by }])];
    const values = await writeRecords(ctx, userName, records);
    records.forEach(([id], i) => s.tags.set(id, values[i]));
    for (const key of staged) {
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
        `the previous key(s) ${staged.map((k) => k.id).join(', ')} stay Active and no later run will retire them. ` +
        `${tagAdvice(err)}, then retire them by hand once they are unused for ${hours} h.`,
      { cause: err },
    );
  }
}
