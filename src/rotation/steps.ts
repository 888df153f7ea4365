/**
 * A rotation, as the README's "How it behaves" tells it: a plain sequence of named steps, each a function that
 * receives what it needs and returns what the next one needs. Each starts from what IAM and the destinations say (the
 * keys, the action's records of them, what each destination holds), not from what an earlier run meant to do, so a
 * rerun after a run stopped in any step finishes that run's rotation (the pattern of AWS Secrets Manager's rotation
 * template: createSecret, setSecret, testSecret, finishSecret). A skip or a dry run ends at the plan; a failure is
 * thrown, and rotate() turns it into the one error line.
 */
import {
  type Credentials,
  KeyQuotaReached,
  TagQuotaReached,
  awsError,
  callerIdentity,
  createAccessKey,
  createUser,
  getUser,
  isAccessDenied,
  listAccessKeys,
  refuseRoot,
  userSettings,
  verifyKey,
} from '../aws/aws.js';
import type { ActionsIO } from '../config/context.js';
import type { Inputs } from '../config/inputs.js';
import { type DestinationRecord, destinationRecords, pairKey } from '../github/destination-record.js';
import { shownNames } from '../github/destinations.js';
import { holderError, holdersOf, lookFor } from '../github/own-holders.js';
import { type Prepared, coversRepository, createMissingEnvironments, preflight } from '../github/preflight.js';
import { Unproven, makerMayStillRun } from '../keys/destruction.js';
import {
  CREATE_TAG,
  type KeyRecord,
  clearCreateMarker,
  clearRewrite,
  earlierAttempt,
  lastUses,
  markCreate,
  markRewrite,
  pruneRecords,
  readUserTags,
  runEnded,
  runLabel,
  userRecords,
  writeRecords,
} from '../keys/records.js';
import {
  type KeyState,
  type Plan,
  describePlan,
  judge,
  lastUseWanted,
  makerEndWanted,
  markerEndWanted,
  plan,
} from '../keys/verdict.js';
import { isoSeconds } from '../shared/clock.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { AccessKey } from '../shared/types.js';
import { describeLease, takeLease } from './lease.js';
import { STEP_NAMES, type StepName } from './result.js';
import { type NewKey, type RunState, reversedHere } from './run-state.js';
import { Overwritten, confirmDestinations, writePair } from './writes.js';

/** A plan that rotates. */
type Rotation = Extract<Plan, { action: 'rotate' }>;

/**
 * From here on every destination holds the new key: a cancel no longer stops a step at its entry, the run goes
 * forward to its handover (turning back would rewrite every destination), and the retirement stops for it.
 */
const FORWARD_FROM = STEP_NAMES.indexOf('confirm');

/** Enter step `name` (the result names every step entered); before the fan-out ends, a cancel stops it at its entry. */
function enter(s: RunState, name: StepName): void {
  s.result.steps.push(name);
  if (STEP_NAMES.indexOf(name) < FORWARD_FROM) s.ctx.cancel.checkpoint();
}

/** The rotation, step by step. A cancel is also honoured inside the steps, at their own checkpoints. */
export async function runSteps(s: RunState): Promise<void> {
  enter(s, 'identify');
  const userExists = await identify(s);
  enter(s, 'lease');
  const lease = await leaseUser(s, userExists);
  enter(s, 'read');
  await readWhileTheLeaseSettles(s, userExists, lease);
  enter(s, 'classify');
  await classify(s);
  enter(s, 'retire due');
  const left = await retireDue(s);
  enter(s, 'plan');
  const thePlan = decide(s, userExists, left);
  if (thePlan === undefined) return;
  enter(s, 'prepare');
  await prepare(s, thePlan, userExists);
  enter(s, 'create');
  const fresh = thePlan.resume && s.self ? resumedKey(s, thePlan.resume, s.self) : await newVerifiedKey(s);
  enter(s, 'distribute');
  await distribute(s, fresh);
  enter(s, 'confirm');
  await confirm(s, fresh, thePlan);
  enter(s, 'hand over');
  await handOver(s, thePlan, fresh);
  enter(s, 'retire');
  await retire(s, thePlan, fresh);
}

// ---- identify, lease, read --------------------------------------------------------------------------------------

/** Who rotates, with which credentials; whether the user exists. Root credentials are refused before anything is read. */
async function identify(s: RunState): Promise<boolean> {
  const { ctx } = s;
  const { inputs, aws, io } = ctx;
  return io.group('IAM user', async () => {
    let name = inputs.iamUserName;
    s.self = await callerCredentials(s);
    const identity = await callerIdentity(aws.sts);
    refuseRoot(identity.arn);
    if (name === undefined) {
      if (identity.userName === undefined) {
        throw new ActionError(
          `iam-user-name is empty and the AWS credentials belong to ${identity.arn}, not an IAM user: ` +
            `set iam-user-name to the user whose key rotates`,
        );
      }
      name = identity.userName;
      io.info(`IAM user from the AWS credentials: ${name} (${identity.arn})`);
    }
    s.userName = name;
    s.result.userName = name;
    if (inputs.createUser === 'false') return true;
    const user = await getUser(aws.iam, name);
    if (user === undefined) {
      io.info(`IAM user ${name} does not exist: it will be created`);
      return false;
    }
    if (inputs.createUser === 'true') {
      throw new ActionError(
        `IAM user ${name} already exists and create-user is true: a bootstrap never takes over an existing user. ` +
          `Choose a new iam-user-name, or set create-user: if-missing to rotate the existing user's key.`,
      );
    }
    const differs = settingDifferences(inputs, await userSettings(aws.iam, user));
    io.info(`IAM user ${name} exists: create-user: if-missing leaves its settings as they are`);
    if (differs.length > 0) {
      io.warning(`IAM user ${name} already exists and differs from the inputs (not changed): ${differs.join('; ')}`);
    }
    return true;
  });
}

/** The lease, so no other run changes the keys under this one (a dry run only says who holds it). */
async function leaseUser(s: RunState, userExists: boolean): Promise<Awaited<ReturnType<typeof takeLease>> | undefined> {
  const { ctx } = s;
  if (!userExists) return undefined;
  if (ctx.inputs.dryRun) {
    const held = await describeLease(ctx, s.userName);
    if (held) ctx.io.info(held);
    return undefined;
  }
  const lease = await takeLease(ctx, s.journal, s.userName);
  s.tagsDenied = lease.outcome === 'denied';
  return lease;
}

/**
 * Read everything (the keys, their records, every destination) while the lease settles: reads only, so they need not
 * wait. Should another run's lease write have won, this run waited for it, and reads again. The self-rotation holder
 * check is among the reads.
 */
async function readWhileTheLeaseSettles(s: RunState, userExists: boolean, lease: Awaited<ReturnType<typeof takeLease>> | undefined): Promise<void> {
  let tags = lease?.tags;
  // settled() resolves once: after it said "waited", the lease is this run's and one more read is the last.
  for (let settle = lease; ; settle = undefined) {
    const settling = settle?.settled().then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const read = await readWorld(s, userExists, tags).then(
      () => ({ ok: true as const }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const settled = await settling;
    if (settled && !settled.ok) throw settled.err;
    if (!read.ok) throw read.err;
    if (!settled?.r.waited) break;
    tags = settled.r.tags;
    s.ctx.io.info('Another run held the lease meanwhile: reading the keys and the destinations again');
  }
}

/** The keys of the user (which of them is the caller's), the action's records of them, and every destination. */
async function readWorld(s: RunState, userExists: boolean, tags: { Key: string; Value: string }[] | undefined): Promise<void> {
  const { ctx, result, journal, userName } = s;
  const { io } = ctx;
  const keys = userExists ? await listAccessKeys(s.aws.iam, userName) : [];
  s.listed = userExists ? keys : undefined;
  io.info(
    `IAM user ${userName} has ${keys.length} access key(s)` +
      (keys.length ? `: ${keys.map((k) => `${k.id} (${k.status}, created ${k.created.toISOString()})`).join(', ')}` : ''),
  );
  const caller = s.self;
  const self = caller && !caller.sessionToken ? keys.find((k) => k.id === caller.accessKeyId) : undefined;
  if (self) io.info(`Self-rotation: this run authenticates with ${self.id}, the key being replaced`);
  s.self = self ? caller : undefined;
  // The current key once it is certain (the job's own, or the user's only Active key): a run that stops before its
  // plan (in preflight) still names it in access-key-id. With two Active keys, which one is current is the plan's call.
  const active = keys.filter((k) => k.status === 'Active');
  result.accessKeyId = (self ?? (active.length === 1 ? active[0] : undefined))?.id;
  s.keys = keys.map((key) => ({ key, record: undefined, lastUsed: undefined, makerEnded: undefined, verdict: { kind: 'unproven', why: 'not judged yet' } }));
  // What earlier runs recorded in IAM (provenance tags): claims, each checked against IAM's facts before it counts.
  if (userExists) await readRecords(s, keys, tags);
  ctx.cancel.checkpoint();
  const prepared = await io.group(`Preflight (${result.destinations.length} destinations)`, () =>
    preflight(ctx, result.destinations.map((r) => r.destination)),
  );
  s.destinations = destinationRecords(prepared, journal.destinations);
  s.destinations.forEach((d) => (result.destinations[d.index].visibility = d.prepared.sharing?.[0].visibility));
  // Reads only, so while the lease settles too: the job's own holders.
  await checkOwnHolder(s, prepared, self);
  s.ownHolderChecked = true;
}

/** Read the action's records of the keys (the user's tags). Without tag permissions, only a run that needs none goes on. */
export async function readRecords(s: RunState, keys: AccessKey[], known: { Key: string; Value: string }[] | undefined): Promise<void> {
  const { ctx, userName } = s;
  const { inputs, io } = ctx;
  if (s.tagsDenied && inputs.retireAfterHours > 0) {
    throw new ActionError(
      `retire-after-hours needs the user's tags (iam:ListUserTags, iam:TagUser, iam:UntagUser) to record handovers, ` +
        `and this run may not use them: grant them, or set retire-after-hours: 0.`,
    );
  }
  if (s.tagsDenied) return;
  let all: { Key: string; Value: string }[];
  try {
    all = await readUserTags({ aws: s.aws }, userName, known);
  } catch (err) {
    if (inputs.retireAfterHours > 0 || !isAccessDenied(err)) throw err;
    s.tagsDenied = true;
    io.warning(`could not read the user's tags (${errorMessage(err)}): keys are not described; grant iam:ListUserTags`);
    return;
  }
  s.recorded = userRecords(all, keys);
  // The action keeps one record per existing key: its records of keys that no longer exist are removed (never a tag
  // it did not write). A dry run changes nothing.
  if (!inputs.dryRun) await pruneRecords({ aws: s.aws, io }, userName, keys, s.recorded.tags);
}

/**
 * Self-rotation must write where this job reads its credentials, or the next run is locked out: some destination
 * reaches the job's repository, and every secret of either name and every variable of the id's name holding this key
 * that the repository can give a job (its own, each environment's, the organization's shared with it) is written by
 * this run. A place that cannot be read stops the run (own-holders.ts).
 */
async function checkOwnHolder(s: RunState, prepared: Prepared[], self: AccessKey | undefined): Promise<void> {
  const { inputs, run } = s.ctx;
  if (!self || inputs.previousKey === 'keep' || run.repository === undefined) return;
  const retiring = inputs.previousKey === 'delete' ? 'deleting' : 'deactivating';
  if (coversRepository(prepared, run.repository)) {
    const [owner, repo] = run.repository.split('/');
    // Secrets of either name, and the id's variable holding this key (vars.NAME), wherever this run does not write.
    const holders = await holdersOf(s.ctx.gh, owner, repo, lookFor(inputs, self.id), s.ctx.gh.token, prepared);
    if (holders.length > 0) throw holderError(run.repository, self.id, holders, retiring);
    return;
  }
  throw new ActionError(
    `self-rotation: this job authenticates with ${self.id} and reads it from ${run.repository}, which is not among ` +
      `the destinations (no repository, environment or organization secret this run writes reaches it): after the ` +
      `run, ${retiring} ${self.id} would leave this job with a dead ` +
      `key. Add ${run.repository} (or the environment this job uses) to the destinations, or set previous-key: keep.`,
  );
}

// ---- classify, retire due ---------------------------------------------------------------------------------------

/** IAM's time when this run started (a lower bound): an earlier attempt of this workflow run had ended by then. */
function iamTimeAtStart(s: RunState): number {
  // IAM's time is a lower bound up to a second early (whole-second Date headers): the second is given back here, so a
  // use just before this run began is not taken for a use after the earlier attempt ended.
  return s.aws.time.now() - (s.ctx.clock.now() - s.startedAt) + 1000;
}

/** When the run `by` ended: an earlier attempt of this workflow run ended before this one started; else GitHub's word. */
async function whenEnded(s: RunState, by: string | undefined): Promise<number | undefined> {
  return earlierAttempt(s.ctx, by) ? iamTimeAtStart(s) : await runEnded(s.ctx, by);
}

/** Judge every key (keys/verdict.ts) on what the run knows now; the notes go to the log once, at the first judgement. */
function rejudge(s: RunState, log = false): void {
  const states = s.keys;
  const j = judge({
    user: s.userName,
    keys: states.map((k) => k.key),
    records: s.recorded.records,
    uses: s.uses,
    makerEnded: new Map(states.flatMap((k) => (k.makerEnded === undefined ? [] : [[k.key.id, k.makerEnded] as const]))),
    creation: s.recorded.creation,
    destinations: s.destinations,
    self: s.self?.accessKeyId,
    retireAfterHours: s.ctx.inputs.retireAfterHours,
    previousKey: s.ctx.inputs.previousKey,
    iamNow: s.aws.time.now(),
  });
  s.keys = j.keys;
  if (log) for (const n of j.notes) (n.level === 'info' ? s.ctx.io.info : s.ctx.io.warning)(n.text);
}

/**
 * What is known of each key: GitHub's word on the runs that made the young ones, the last use of every key that is
 * not plainly the current one, then one verdict per key. Stops a self-rotation that signs in with a key properly
 * handed over.
 */
export async function classify(s: RunState): Promise<void> {
  if (s.listed === undefined) return;
  const { ctx, userName } = s;
  const keys = s.keys.map((k) => k.key);
  const { records, creation } = s.recorded;
  const iamNow = s.aws.time.now();
  // A self-rotation that signs in with a key an earlier run handed over stops here, before anything more is read.
  rejudge(s);
  // A key an earlier run made, younger than a run can last: that the run which made it has ended proves it is not
  // still handing it out, sooner than its age.
  for (const k of makerEndWanted(keys, records, iamNow, s.self?.accessKeyId)) {
    const state = s.keys.find((x) => x.key.id === k.id);
    if (state) state.makerEnded = await whenEnded(s, records.get(k.id)?.by);
  }
  // The same for the run a create marker names, when a key made in its window is young enough for it to matter.
  if (creation && markerEndWanted(creation, keys, iamNow)) creation.ended = await whenEnded(s, creation.by);
  const unread = lastUseWanted(keys, records, creation, s.self?.accessKeyId).filter((id) => !s.uses.has(id));
  for (const [id, use] of await lastUses(s.aws.iam, ctx.io, userName, unread)) s.uses.set(id, use);
  rejudge(s, true);
}

/** How a rotation finishes once a key this run deactivated is gone: the next run, or the one command a person runs. */
function howItFinishes(s: RunState, id: string): string {
  const { keyLimit } = s.ctx.inputs;
  return keyLimit === 'fail'
    ? `With key-limit: fail no run deletes it: once you know nobody holds it, delete it (aws iam delete-access-key --user-name ${s.userName} --access-key-id ${id}) and rerun`
    : `A later run deletes it to make room (key-limit: ${keyLimit}) and rotates, unless someone makes it Active again`;
}

/**
 * Take the steps the verdicts allow before planning: retire the handed-over keys that are due, and deactivate a key
 * only a create marker speaks for (a reversible step). In self-rotation, a destination that may hold such a key first
 * gets this job's own pair. Returns the keys as the plan should see them, and those this run made Inactive on evidence
 * that allows no more (a dry run: as the real run would leave them).
 */
export async function retireDue(s: RunState): Promise<{ keys: KeyState[]; reversed: Set<string> }> {
  const { ctx } = s;
  const { inputs, io } = ctx;
  await giveOwnPair(s);
  const pending = s.keys.filter((k) => k.verdict.kind === 'pending' && k.verdict.due && (inputs.previousKey !== 'deactivate' || k.key.status === 'Active'));
  const unrecorded = s.keys.filter((k) => k.verdict.kind === 'orphan' && k.verdict.reason === 'unrecorded key of a finished run' && k.key.status === 'Active');
  if (inputs.dryRun) {
    const planned = { keys: s.keys.slice(), reversed: new Set<string>() };
    for (const k of pending) {
      const p = k.verdict as Extract<KeyState['verdict'], { kind: 'pending' }>;
      const how = p.reason === 'staged retirement' ? inputs.previousKey : 'deactivate';
      io.info(`Dry run: would ${how} ${k.key.id} (${p.reason === 'staged retirement' ? `handed over and unused for ${p.grace} h` : 'handed over by a run that stopped before retiring it'})`);
      planned.keys = how === 'delete' ? planned.keys.filter((x) => x !== k) : planned.keys.map((x) => (x === k ? { ...x, key: { ...x.key, status: 'Inactive' } } : x));
      if (how === 'deactivate' && p.reason !== 'staged retirement') planned.reversed.add(k.key.id);
    }
    for (const k of unrecorded) {
      io.info(`Dry run: would deactivate ${k.key.id} (made in a create marker's window, no tag names it)`);
      planned.keys = planned.keys.map((x) => (x === k ? { ...x, key: { ...x.key, status: 'Inactive' } } : x));
      planned.reversed.add(k.key.id);
    }
    return planned;
  }
  if (pending.length > 0) await io.group('Retire handed-over keys', () => retirePending(s, pending));
  for (const k of unrecorded) await deactivateUnrecorded(s, k);
  await clearSpentMarker(s);
  rejudge(s);
  return { keys: s.keys, reversed: reversedHere(s.journal) };
}

/**
 * Self-rotation: a destination that may hold a key this step retires (a handed-over key whose successor this job signs
 * in with; a key only a create marker speaks for) is given this job's own pair first, so that nothing holds that key.
 */
async function giveOwnPair(s: RunState): Promise<void> {
  const self = s.self;
  if (!self || s.ctx.inputs.dryRun) return;
  const holders = new Set<DestinationRecord>();
  for (const k of s.keys) {
    const v = k.verdict;
    if (v.kind === 'pending' && v.successor === self.accessKeyId && !v.kept) for (const d of v.holders) holders.add(d);
    if (v.kind === 'orphan' && v.reason === 'unrecorded key of a finished run') for (const d of v.holders) holders.add(d);
  }
  if (holders.size === 0) return;
  await s.ctx.io.group(`Give ${holders.size} destination(s) this job's own key ${self.accessKeyId}`, async () => {
    for (const d of holders) {
      s.ctx.cancel.checkpoint();
      await writePair(s, d, self, 'converge');
      s.ctx.io.info(`${d.label}: now holds ${self.accessKeyId} (it may have held a key this run retires)`);
    }
    await recordHandedOverAgain(s, self.accessKeyId, [...holders]);
  });
  rejudge(s);
}

/**
 * The job's own key, handed over by an earlier run, now also reaches the destinations this run gave it: its record's
 * handover moves to now (IAM time), with GitHub's time of these writes, so a later run does not take them for someone
 * else's writes after the handover.
 */
async function recordHandedOverAgain(s: RunState, id: string, written: DestinationRecord[]): Promise<void> {
  const record = s.recorded.records.get(id);
  if (s.tagsDenied || record?.handover === undefined) return;
  const times = written.flatMap((d) => [d.ledger.writtenAt.id, d.ledger.writtenAt.secret]);
  const last = times.every((t) => t !== undefined) ? isoSeconds(Math.max(...(times as number[]))) : undefined;
  const again: KeyRecord = { ...record, handover: isoSeconds(s.aws.time.now()), written: last };
  try {
    const [value] = await writeRecords({ aws: s.aws }, s.userName, [[id, again]]);
    s.recorded.tags.set(id, value);
    s.recorded.records.set(id, again);
  } catch (err) {
    s.ctx.io.warning(`could not record in the tag of ${id} that ${written.map((d) => d.label).join(', ')} now hold it (${errorMessage(err)}): a later run rotates once more`);
  }
}

/** Retire the handed-over keys that are due, each proven again (the keys listed again, the record against IAM's facts). */
async function retirePending(s: RunState, due: KeyState[]): Promise<void> {
  const { ctx } = s;
  for (const { key, verdict } of due) {
    if (verdict.kind !== 'pending') continue;
    const lastUsed = s.uses.get(key.id);
    const evidence = lastUsed ? `last used ${lastUsed.date} (${lastUsed.service}, ${lastUsed.region})` : 'never used';
    try {
      const done = await s.gate.destroy(key.id, verdict.reason);
      if (done === undefined) continue;
      if (verdict.reason === 'staged retirement') {
        const why = `handed over to ${verdict.successor} and ${evidence}, both at least retire-after-hours ago (IAM time)`;
        ctx.io.info(`${done.fate === 'deactivated' ? 'Deactivated' : 'Deleted'} ${key.id}: ${why}${done.undo ? ` (to undo: ${done.undo})` : ''}`);
      } else {
        ctx.io.warning(
          `Deactivated ${key.id}: an earlier run handed it over to ${verdict.successor} at ${isoSeconds(verdict.handover)} and stopped before ` +
            `retiring it (${evidence} since); IAM records last use late, so "unused since the handover" proves too little to ` +
            `delete it. To undo: ${done.undo}. ${howItFinishes(s, key.id)}.`,
        );
      }
    } catch (err) {
      if (!(err instanceof Unproven)) throw err;
      ctx.io.warning(err.message);
    }
  }
}

/** A key only a create marker speaks for: deactivated (never deleted on a marker's word), saying how to undo it. */
async function deactivateUnrecorded(s: RunState, k: KeyState): Promise<void> {
  const { creation } = s.recorded;
  try {
    const done = await s.gate.destroy(k.key.id, 'unrecorded key of a finished run');
    if (done === undefined) return;
    s.ctx.io.warning(
      `Deactivated ${k.key.id}: IAM made it ${k.key.created.toISOString()}, within two minutes after the create marker of ` +
        `${creation?.by} (a run that has ended), and no tag names it: it may be the key that run made before it was ` +
        `stopped, or a key someone made then; it was never used, and no destination of this run holds it. A marker is ` +
        `no proof, so it is deactivated, not deleted. To undo: ${done.undo}. ${howItFinishes(s, k.key.id)}.`,
    );
  } catch (err) {
    if (!(err instanceof Unproven)) throw err;
    s.ctx.io.warning(err.message);
  }
}

/**
 * An earlier run's create marker that speaks for no key any more goes: its run has ended, and every key made in its
 * window is gone or Inactive (none, when that run recorded its key or made none).
 */
async function clearSpentMarker(s: RunState): Promise<void> {
  const { creation } = s.recorded;
  if (!creation || s.tagsDenied) return;
  const iamNow = s.aws.time.now();
  const ended = creation.ended ?? (earlierAttempt(s.ctx, creation.by) ? iamTimeAtStart(s) : undefined);
  if (makerMayStillRun(new Date(creation.at), ended, iamNow)) return;
  const open = creation.candidates.filter((id) => s.keys.some((k) => k.key.id === id && k.key.status === 'Active'));
  if (open.length > 0) return;
  await clearCreateMarker({ aws: s.aws, io: s.ctx.io }, s.userName);
  s.recorded.creation = undefined;
}

// ---- plan, prepare ------------------------------------------------------------------------------------------------

/** Decide, in IAM's time: skip, or rotate (and what goes first). A skip and a dry run end here (undefined). */
function decide(s: RunState, userExists: boolean, left: { keys: KeyState[]; reversed: Set<string> }): Rotation | undefined {
  const { ctx, result } = s;
  const { inputs, io } = ctx;
  const resumed = left.keys.find((k) => k.verdict.kind === 'resumed');
  const previous = resumed?.verdict.kind === 'resumed' ? left.keys.find((k) => k.key.id === (resumed.verdict as { previous: string }).previous) : undefined;
  const thePlan = plan({
    user: s.userName,
    keys: left.keys,
    self: s.self?.accessKeyId,
    resume: resumed && previous && resumed.record ? { key: resumed.key, record: resumed.record, previous: previous.key } : undefined,
    destinations: s.destinations,
    maxAgeDays: inputs.maxAgeDays,
    keyLimit: inputs.keyLimit,
    previousKey: inputs.previousKey,
    rewrite: s.recorded.rewrite,
    reversedHere: left.reversed,
    now: userExists ? s.aws.time.now() : 0,
  });
  result.plan = thePlan;
  result.accessKeyId = thePlan.current?.id;
  io.info(describePlan(thePlan, s.userName, userExists, s.destinations, inputs.dryRun, inputs.retireAfterHours));
  if (inputs.exportCredentials && (thePlan.action === 'skip' || inputs.dryRun)) {
    io.info('export-credentials: nothing exported, no new key was made (the job keeps the credentials it has)');
  }
  return thePlan.action === 'skip' || inputs.dryRun ? undefined : thePlan;
}

/** Make ready: environments, the user, an earlier run's orphan gone, one key fewer. */
async function prepare(s: RunState, thePlan: Rotation, userExists: boolean): Promise<void> {
  const { ctx, journal, userName } = s;
  const { inputs, io } = ctx;
  await createMissingEnvironments(ctx, s.destinations.map((d) => d.prepared), (i) => journal.record({ kind: 'environment created', index: i }));
  if (!userExists) {
    ctx.cancel.checkpoint();
    const created = await io.group(`Create IAM user ${userName}`, () =>
      createUser(s.aws.iam, userName, {
        path: inputs.userPath,
        groups: inputs.userGroups,
        policyArns: inputs.userPolicyArns,
        permissionsBoundary: inputs.userPermissionsBoundary,
        tags: inputs.userTags,
      }),
    );
    journal.record({ kind: 'user created', user: created });
    io.info(`Created IAM user ${userName}`);
    const lease = await takeLease(ctx, journal, userName);
    await lease.settled();
    s.tagsDenied = lease.outcome === 'denied';
    s.listed = [];
  }
  if (thePlan.orphan) await dropOrphan(s, thePlan.orphan, thePlan.moveOff, thePlan.orphanBreaks ?? []);
  if (thePlan.makeRoom) await makeRoom(s, thePlan, thePlan.makeRoom);
}

/**
 * An earlier run's orphan (proven: created by this action, never handed over, its run ended, not used since). In
 * self-rotation the destinations that may hold it first get this job's own pair; a rotator's are rewritten at once
 * (they lose it until then, which the journal and a marker record); then it is deleted.
 */
async function dropOrphan(s: RunState, orphan: KeyState, moveOff: DestinationRecord[], breaks: DestinationRecord[]): Promise<void> {
  const { ctx } = s;
  const id = orphan.key.id;
  if (orphan.verdict.kind !== 'orphan') throw new Error(`internal: ${id} is no orphan`);
  const { reason } = orphan.verdict;
  await ctx.io.group(`Delete ${id}, an orphan of an earlier run`, async () => {
    if (moveOff.length > 0 && s.self) {
      for (const d of moveOff) {
        ctx.cancel.checkpoint();
        await writePair(s, d, s.self, 'converge');
        ctx.io.info(`${d.label}: now holds ${s.self.accessKeyId} (was written after ${id} was made)`);
      }
    }
    ctx.cancel.checkpoint();
    if (breaks.length > 0) {
      // A rotator: the destinations that may hold the orphan lose it until this run rewrites them, moments later.
      if (!s.tagsDenied) await markRewrite({ aws: s.aws, io: ctx.io }, s.userName, id);
      s.journal.record({ kind: 'holders broken', id, certain: [], maybe: breaks.map((d) => d.index) });
      try {
        await s.gate.destroy(id, reason);
      } catch (err) {
        s.journal.broken = undefined;
        throw err;
      }
      ctx.io.info(
        `Deleted ${id}: an earlier run of this action made it and never handed it over; ${breaks.map((d) => d.label).join(', ')} may ` +
          'hold it and do not work until this run rewrites them',
      );
      return;
    }
    await s.gate.destroy(id, reason);
    ctx.io.info(
      `Deleted ${id}: an earlier run of this action made it and never handed it over; it was not used after that run ` +
        `ended, and none of this run's destinations ${moveOff.length > 0 ? 'holds it any more' : 'was written after it was made'}`,
    );
  });
}

/** Delete the key the plan makes room with (key-limit), with its consent; delete-oldest marks its holders broken. */
async function makeRoom(s: RunState, thePlan: Rotation, room: AccessKey): Promise<void> {
  const { ctx, journal, userName } = s;
  ctx.cancel.checkpoint();
  if (thePlan.makeRoomBreaks) {
    if (!s.tagsDenied) await markRewrite({ aws: s.aws, io: ctx.io }, userName, room.id);
    // A destination last written before every key that stays existed holds the deleted key (or an older, dead one).
    const kept = s.keys.filter((k) => k.key.id !== room.id).map((k) => Math.floor(k.key.created.getTime() / 1000) * 1000);
    const certain = s.destinations.flatMap(({ prepared: p, index }) => (p.held !== 'none' && p.updates.every((u) => kept.every((c) => u < c)) ? [index] : []));
    journal.record({ kind: 'holders broken', id: room.id, certain });
  }
  try {
    await s.gate.destroy(room.id, thePlan.reasons.makeRoom ?? 'consent: key-limit delete-inactive');
  } catch (err) {
    if (thePlan.makeRoomBreaks) journal.broken = undefined;
    throw err;
  }
  ctx.io.info(
    `Deleted ${room.id} (${room.status}) to make room (key-limit: ${ctx.inputs.keyLimit})` +
      (thePlan.makeRoomBreaks ? ': destinations that held it do not work until this run rewrites them' : ''),
  );
}

// ---- create, distribute, confirm --------------------------------------------------------------------------------

/** The earlier run's key this job signs in with: STS accepted it when this run began (identify), so it works. */
function resumedKey(s: RunState, key: AccessKey, caller: Credentials): NewKey {
  s.journal.record({ kind: 'key resumed', id: key.id });
  s.journal.record({ kind: 'key verified', id: key.id }); // this run signs in with it: STS answered GetCallerIdentity
  s.ctx.io.info(`Finishing the earlier run's rotation with ${key.id} (no new key is made)`);
  s.fresh = { ...caller, created: key.created };
  return s.fresh;
}

/** The new key is gone (or Inactive): someone deleted it while this run was handing it out. */
export class NewKeyLost extends ActionError {}

/** Create the new key, record where it comes from, and verify it with STS. Masked the moment it exists. */
async function newVerifiedKey(s: RunState): Promise<NewKey> {
  const { ctx, userName } = s;
  const { inputs, io } = ctx;
  ctx.cancel.checkpoint();
  const fresh = await createNewKey(s);
  s.fresh = fresh;
  io.info(`Created access key ${fresh.accessKeyId}`);
  await recordCreated(s, fresh);
  if (inputs.verifyTimeoutSeconds > 0) {
    await io.group('Verify the new key', async () => {
      const started = ctx.clock.now();
      let attempts: number;
      try {
        attempts = await verifyKey(s.aws.stsFor, fresh, userName, {
          timeoutMs: inputs.verifyTimeoutSeconds * 1000,
          clock: ctx.clock,
          onRetry: (n, reason) => io.info(`attempt ${n}: not yet (${reason})`),
          sleep: (ms) => ctx.cancel.sleep(ctx.clock, ms),
          checkpoint: () => ctx.cancel.checkpoint(),
        });
      } catch (err) {
        await unlessLost(s, fresh, err);
        throw err;
      }
      io.info(`${fresh.accessKeyId} authenticates as ${userName} (attempt ${attempts}, ${ctx.clock.now() - started} ms)`);
    });
  }
  s.journal.record({ kind: 'key verified', id: fresh.accessKeyId }); // by STS, or waived by verify-timeout-seconds: 0
  return fresh;
}

/** Verification failed: if IAM no longer lists the new key, someone deleted it, and that is what the run says. */
async function unlessLost(s: RunState, fresh: NewKey, err: unknown): Promise<void> {
  const keys = await listAccessKeys(s.aws.iam, s.userName).catch(() => undefined);
  if (keys === undefined || keys.some((k) => k.id === fresh.accessKeyId)) return;
  s.journal.record({ kind: 'key lost', id: fresh.accessKeyId });
  throw new NewKeyLost(
    `the new access key ${fresh.accessKeyId} did not authenticate (${errorMessage(err)}): IAM no longer lists it, so ` +
      `${fresh.accessKeyId} was deleted by someone else (another rotation or a person) before it was verified. No ` +
      `destination was given it and nothing was retired. Find who changed the keys of IAM user ${s.userName}, then rerun`,
    { cause: err },
  );
}

/**
 * CreateAccessKey. After a failure the keys are listed again: when no key appeared, the request made none and is
 * tried again (at most three attempts); a key that appeared cannot be proven to be this run's, so it is reported and
 * left alone, never deleted.
 */
async function createNewKey(s: RunState): Promise<NewKey> {
  const { ctx, journal, userName } = s;
  const records = { ...ctx, aws: s.aws };
  let fresh: NewKey | undefined;
  for (let attempt = 1; fresh === undefined; attempt++) {
    // The create marker, so a rerun can know the key should this run be killed before recording it.
    const marked = !s.tagsDenied && (await markCreate(records, userName));
    s.createMarker.written ||= marked;
    const expected = new Set([...(s.listed ?? []).map((k) => k.id)].filter((id) => !journal.deleted(id)));
    try {
      fresh = await createAccessKey(s.aws.iamOnce, userName, ctx.clock, s.aws.time);
    } catch (err) {
      // IAM refused the create for its quota: it made no key, so the marker must not speak for a key made now.
      if (marked && err instanceof KeyQuotaReached) await clearCreateMarker(records, userName);
      const why = err instanceof KeyQuotaReached ? 'another rotation or a person is at work' : 'its answer may have been lost';
      let appeared: string[];
      try {
        appeared = (await listAccessKeys(s.aws.iam, userName)).filter((k) => !expected.has(k.id)).map((k) => k.id);
      } catch {
        throw new ActionError(`${errorMessage(err)}. Could not list the keys again: check whether a key was made.`, { cause: err });
      }
      if (appeared.length > 0) {
        // The marker stays for the rerun (the lease's release leaves it).
        if (marked && !(err instanceof KeyQuotaReached)) s.createMarker.needed = true;
        const rerun =
          marked && appeared.length === 1 && !(err instanceof KeyQuotaReached)
            ? `if this run made it, a rerun deactivates it (this run marked IAM user ${userName} with ${CREATE_TAG} just ` +
              'before; a marker is no proof a key may be deleted on) and a later run deletes it to make room; else, if no ' +
              'other rotation is running, delete it by hand.'
            : 'if no other rotation is running, delete them by hand.';
        throw new ActionError(
          `${errorMessage(err)}. Key(s) ${appeared.join(', ')} appeared during this run and were left alone (${why}; ` +
            `this run cannot prove they are its own): ${rerun}`,
          { cause: err },
        );
      }
      if (err instanceof KeyQuotaReached || attempt >= 3) throw err;
      ctx.io.info(`CreateAccessKey attempt ${attempt} failed (${errorMessage(err)}); no key was made: trying again`);
      ctx.cancel.checkpoint();
      await ctx.cancel.sleep(ctx.clock, Math.round(500 * attempt * (0.5 + ctx.clock.random() / 2)));
      ctx.cancel.checkpoint();
    }
  }
  ctx.io.setSecret(fresh.secretAccessKey);
  journal.record({ kind: 'key created', id: fresh.accessKeyId });
  return fresh;
}

const lowerFirst = (t: string) => t.charAt(0).toLowerCase() + t.slice(1);

/** What makes a refused TagUser work: room under IAM's tag quota, or the permission. */
function tagAdvice(err: unknown): string {
  return err instanceof TagQuotaReached ? 'Remove user tags you do not need (IAM allows 50)' : 'Grant iam:TagUser on the user';
}

/** Tag the new key with where it comes from. With retire-after-hours > 0 a refusal stops the run (the key is discarded). */
export async function recordCreated(s: RunState, fresh: NewKey): Promise<void> {
  const { ctx } = s;
  const id = fresh.accessKeyId;
  if (s.tagsDenied) return;
  const record: KeyRecord = { created: isoSeconds(fresh.created.getTime()), by: runLabel(ctx) };
  try {
    const [value] = await writeRecords({ aws: s.aws }, s.userName, [[id, record]]);
    s.recorded.tags.set(id, value);
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
}

/** Write both secrets everywhere; a cancel stops between destinations, never inside a pair. */
async function distribute(s: RunState, fresh: NewKey): Promise<void> {
  const { ctx } = s;
  const names = shownNames(ctx.inputs);
  const n = s.destinations.length;
  const what = ctx.inputs.accessKeyIdAs === 'variable' ? 'variables and secrets' : 'secrets';
  await ctx.io.group(`Write ${what} (${n} destinations)`, async () => {
    for (const d of s.destinations) {
      ctx.cancel.checkpoint();
      try {
        await writePair(s, d, fresh, 'new key');
      } catch (err) {
        ctx.io.info(`[${d.index + 1}/${n}] ${d.label}: failed`);
        throw err;
      }
      ctx.io.info(`[${d.index + 1}/${n}] ${d.label}: ${names}`);
    }
  });
}

/**
 * Every destination still holds what this run wrote (no later write by someone else), and the new key is still
 * there and Active (a person may have deleted it while the destinations were written), and no other key appeared.
 */
async function confirm(s: RunState, fresh: NewKey, thePlan: Rotation): Promise<void> {
  await confirmDestinations(s, fresh.accessKeyId);
  await confirmNewKey(s, fresh, thePlan);
}

/**
 * List the keys again: the new key must exist and be Active before the handover, and no key may have appeared. In
 * self-rotation the listing is signed with the key the job signed in with; should that key no longer work (someone
 * deleted or deactivated it during the fan-out), with the new key, which STS verified: the run goes forward with it.
 */
async function confirmNewKey(s: RunState, fresh: NewKey, thePlan: Rotation): Promise<void> {
  let keys: AccessKey[];
  try {
    keys = await listAccessKeys(s.aws.iam, s.userName);
  } catch (err) {
    if (!s.self || !s.journal.verified(fresh.accessKeyId)) throw err;
    const signed = { ...s.aws, iam: s.aws.iamFor(fresh) };
    keys = await listAccessKeys(signed.iam, s.userName).catch(() => {
      throw err;
    });
    if (keys.some((k) => k.id === s.self?.accessKeyId && k.status === 'Active')) throw err;
    // The key this job signed in with no longer works: sign on with the new one (the run is past the fan-out).
    s.aws = signed;
  }
  const k = keys.find((x) => x.id === fresh.accessKeyId);
  const expected = new Set([...(s.listed ?? []).map((x) => x.id), fresh.accessKeyId]);
  const appeared = keys.filter((x) => !expected.has(x.id)).map((x) => x.id);
  if (k?.status === 'Active' && appeared.length > 0) {
    throw new Overwritten(
      [],
      `after writing the destinations, IAM lists key(s) ${appeared.join(', ')} that appeared during this run: another ` +
        'rotation (or a person) is at work on this user and may have written the destinations too. Nothing was ' +
        'retired: let that rotation finish (or find who made the key), then rerun',
    );
  }
  if (k?.status === 'Active') {
    // A previous key someone else deleted (or deactivated) while the destinations were written: nothing to put back,
    // nothing to retire; every destination holds the new key, which works.
    for (const p of thePlan.previous.filter((x) => x.status === 'Active')) {
      const now = keys.find((x) => x.id === p.id);
      if (now?.status === 'Active') continue;
      s.journal.record({ kind: 'key lost', id: p.id });
      s.ctx.io.warning(
        `${p.id} was ${now ? 'deactivated' : 'deleted'} by someone else during this run: every destination now holds ` +
          `${fresh.accessKeyId}, which works, so this run goes on with it`,
      );
    }
    s.keys = s.keys.filter((x) => keys.some((y) => y.id === x.key.id));
    return;
  }
  await newKeyLost(s, fresh, 'after writing the destinations', k ? 'deactivated' : 'deleted');
}

/**
 * The new key went away mid-run. Self-rotation: put the previous pair back wherever it was written over, while the
 * previous key still works (IAM lists it Active). Then stop, naming every destination that holds a dead key.
 */
async function newKeyLost(s: RunState, fresh: NewKey, when: string, how = 'deleted or deactivated'): Promise<never> {
  const { ctx, journal } = s;
  journal.record({ kind: 'key lost', id: fresh.accessKeyId });
  s.result.rotated = false;
  s.result.accessKeyId = undefined;
  const keys = await listAccessKeys(s.aws.iam, s.userName).catch(() => []);
  const previous = s.self ? keys.find((k) => k.id === s.self?.accessKeyId && k.status === 'Active') : undefined;
  let restored = 0;
  if (s.self && previous) {
    for (const d of s.destinations) {
      if (pairKey(d) !== fresh.accessKeyId) continue;
      try {
        await writePair(s, d, s.self, 'restore');
        restored++;
      } catch (err) {
        ctx.io.warning(`could not put ${d.label} back to ${previous.id}: ${errorMessage(err)}`);
      }
    }
  }
  throw new NewKeyLost(
    `${when}, IAM lists the new key ${fresh.accessKeyId} as ${how} by someone else (another rotation or a person): ` +
      `nothing was retired` +
      (restored > 0 ? `, and ${restored} destination(s) were given the previous key ${previous?.id} again` : '') +
      `. Find who changed the keys of IAM user ${s.userName}, then rerun`,
  );
}

// ---- hand over, retire --------------------------------------------------------------------------------------------

/**
 * Every destination holds the new key: record the handover. In self-rotation the run signs with the new key from
 * here on: the previous key's last use stays the holders', and the lease can still be released.
 */
async function handOver(s: RunState, thePlan: Rotation, fresh: NewKey): Promise<void> {
  const { ctx, result } = s;
  s.journal.record({ kind: 'handed over', id: fresh.accessKeyId });
  if (s.self) s.aws = { ...ctx.aws, iam: ctx.aws.iamFor(fresh) };
  result.rotated = true;
  result.accessKeyId = fresh.accessKeyId;
  if (ctx.inputs.exportCredentials) exportCredentials(ctx.io, fresh);
  await ctx.io.group('Hand over', () => recordHandover(s, thePlan, fresh));
}

/**
 * Record the handover in IAM: the new key's record gets its handover time and GitHub's time of this run's last write;
 * each previous key still listed is recorded as superseded, with the grace this run gives it (retire-after-hours):
 * with 0 this run retires it in a moment (a rerun finishes that should this run stop first), with more a later run
 * retires it once due.
 */
export async function recordHandover(s: RunState, p: Rotation, fresh: NewKey): Promise<void> {
  const { ctx, userName } = s;
  const hours = ctx.inputs.retireAfterHours;
  const newId = fresh.accessKeyId;
  // IAM's time, never before the new key's own CreateDate (in the whole seconds a tag holds).
  const now = Math.floor(Math.max(s.aws.time.now(), fresh.created.getTime()) / 1000) * 1000;
  const handover = isoSeconds(now);
  const superseded = p.previousKey !== 'keep' ? p.previous.filter((k) => !s.journal.lost.has(k.id)) : [];
  const staged = hours > 0 ? superseded : [];
  if (s.tagsDenied) return;
  const writes = s.destinations.flatMap((d) => [d.ledger.writtenAt.id, d.ledger.writtenAt.secret]).filter((t): t is number => t !== undefined);
  const written = writes.length === s.destinations.length * 2 && writes.length > 0 ? isoSeconds(Math.max(...writes)) : undefined;
  try {
    const by = runLabel(ctx);
    const created = s.recorded.records.get(newId)?.created ?? isoSeconds(fresh.created.getTime());
    const records: [string, KeyRecord][] = [
      [newId, { created, handover, ...(written ? { written } : {}), by }],
      ...superseded.map((k): [string, KeyRecord] => [k.id, { supersededBy: newId, handover, retireAfter: hours, by }]),
    ];
    const values = await writeRecords({ aws: s.aws }, userName, records);
    records.forEach(([id, r], i) => {
      s.recorded.tags.set(id, values[i]);
      s.recorded.records.set(id, r);
    });
    for (const key of staged) {
      const dueAt = now + hours * 3_600_000;
      const state = s.keys.find((k) => k.key.id === key.id);
      if (state) state.verdict = pendingAfterHandover(newId, now, hours, dueAt);
      ctx.io.info(
        `${key.id} is handed over to ${newId}: a later run ${ctx.inputs.previousKey === 'delete' ? 'deletes' : 'deactivates'} it once it has not been used for ${hours} h (not before ${new Date(dueAt).toISOString()})`,
      );
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

/** The verdict on a key this run has just handed over with retire-after-hours > 0. */
function pendingAfterHandover(successor: string, handover: number, grace: number, dueAt: number): KeyState['verdict'] {
  return { kind: 'pending', reason: 'staged retirement', successor, handover, grace, dueAt, due: false, inUse: false, holders: [], kept: false, missing: [] };
}

/** Only now the previous keys: retired at once (retire-after-hours: 0), each with its proof, or left to a later run. */
async function retire(s: RunState, thePlan: Rotation, fresh: NewKey): Promise<void> {
  const { ctx, userName } = s;
  await ctx.io.group('Previous keys', async () => {
    if (ctx.inputs.retireAfterHours === 0) {
      try {
        await retirePrevious(s, thePlan, fresh);
      } catch (err) {
        if (err instanceof Unproven && err.keyId !== fresh.accessKeyId && err.lacks('new key gone')) {
          // Put the previous pair back signed as before the handover: the new key no longer works.
          s.aws = ctx.aws;
          await newKeyLost(s, fresh, `before retiring ${err.keyId}`);
        }
        throw err;
      }
    }
    if (s.journal.broken !== undefined || s.recorded.rewrite) await clearRewrite({ aws: s.aws, io: ctx.io }, userName);
  });
}

/** The previous keys, once every destination holds the new one: delete, deactivate or keep them, each proven. */
async function retirePrevious(s: RunState, p: Rotation, fresh: NewKey): Promise<void> {
  const { ctx, journal } = s;
  // A resumed rotation hands out the earlier run's key; its previous key goes for that reason, with its own proof.
  const reason = p.reasons.previous;
  const newId = fresh.accessKeyId;
  const failures: string[] = [];
  const failed: string[] = [];
  let unproven = false;
  for (const key of p.previous) {
    if (journal.lost.has(key.id)) continue;
    try {
      if (p.previousKey === 'keep' || (p.previousKey === 'deactivate' && key.status !== 'Active')) {
        journal.record({ kind: 'key retired', id: key.id, fate: 'kept' });
        ctx.io.info(`Kept previous key ${key.id} (${key.status})`);
        continue;
      }
      const done = await s.gate.destroy(key.id, reason);
      if (done?.fate === 'deactivated') ctx.io.info(`Deactivated previous key ${key.id} (a later run deletes it to make room; to undo: ${done.undo})`);
      else if (done) ctx.io.info(`Deleted previous key ${key.id}`);
    } catch (err) {
      // Someone else deleted it meanwhile: nothing is left to retire.
      if (err instanceof Unproven && err.gaps.every((m) => m.code === 'not listed')) {
        journal.record({ kind: 'key lost', id: key.id });
        ctx.io.warning(`${key.id} was deleted by someone else during this run: nothing to retire`);
        continue;
      }
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
      : failed.every((id) => s.recorded.records.get(id)?.supersededBy === newId)
        ? // This run recorded the handover on it: a rerun finishes the retirement (reversibly, unless it can prove more).
          `Nothing needs it any more and it still works. Its handover is recorded in IAM, so a rerun (once the cause is ` +
          `fixed) ${finishRetirement(s, newId)}; or ${p.previousKey} it by hand once you have checked its last use`
        : `Nothing needs it any more and it still works: ${p.previousKey} it by hand once you have checked its last use`;
    throw new ActionError(
      `Every destination holds the new key ${newId}, but retiring the previous key failed: ${failures.join('; ')}. ${next}`, // failed() adds '. Destinations: …'
    );
  }
}

/**
 * What a rerun does with a previous key this run handed over and could not retire. A self-rotation's rerun signs in
 * with the new key and gives it to every destination itself, which proves the old key replaced; a rotator's has only
 * "unused since the handover", which IAM may record late: it deactivates it, and a later run deletes it to make room.
 */
function finishRetirement(s: RunState, newId: string): string {
  const verb = s.ctx.inputs.previousKey === 'deactivate' ? 'deactivates' : 'deletes';
  return s.self
    ? `${verb} it: signing in with ${newId}, it gives every destination ${newId} again first`
    : 'deactivates it if nothing has used it since (a use moments after the handover may not show yet in IAM, so it is not deleted then), and a later run deletes it to make room';
}

// ---- the caller's credentials, and what they export ---------------------------------------------------------------

/** The run's own AWS credentials, to recognise self-rotation; masked at once (secret and session token). */
async function callerCredentials(s: RunState): Promise<Credentials> {
  const { ctx } = s;
  let creds: Credentials;
  try {
    const provider = s.aws.iam.config.credentials as () => Promise<Credentials>;
    creds = await provider();
  } catch (err) {
    throw awsError('loading AWS credentials', 'this job', err);
  }
  ctx.io.setSecret(creds.secretAccessKey);
  if (creds.sessionToken) ctx.io.setSecret(creds.sessionToken);
  return creds;
}

/** How an existing user differs from the create-user inputs (create-user: if-missing warns, and changes nothing). */
export function settingDifferences(inputs: Inputs, have: Awaited<ReturnType<typeof userSettings>>): string[] {
  const out: string[] = [];
  if (inputs.userPath !== '/' && inputs.userPath !== have.path) out.push(`path is ${have.path}, not ${inputs.userPath}`);
  const missingGroups = inputs.userGroups.filter((g) => !have.groups.includes(g));
  if (missingGroups.length) out.push(`not in group(s) ${missingGroups.join(', ')}`);
  const missingPolicies = inputs.userPolicyArns.filter((p) => !have.policyArns.includes(p));
  if (missingPolicies.length) out.push(`policy(ies) not attached: ${missingPolicies.join(', ')}`);
  if (inputs.userPermissionsBoundary && inputs.userPermissionsBoundary !== have.permissionsBoundary) {
    out.push(`permissions boundary is ${have.permissionsBoundary ?? 'none'}`);
  }
  const missingTags = inputs.userTags.filter((t) => !have.tags.some((h) => h.Key === t.Key && h.Value === t.Value));
  if (missingTags.length) out.push(`tag(s) differ: ${missingTags.map((t) => `${t.Key}=${t.Value}`).join(', ')}`);
  return out;
}

function exportCredentials(io: ActionsIO, c: Credentials): void {
  io.setSecret(c.secretAccessKey);
  io.exportVariable('AWS_ACCESS_KEY_ID', c.accessKeyId);
  io.exportVariable('AWS_SECRET_ACCESS_KEY', c.secretAccessKey);
  io.exportVariable('AWS_SESSION_TOKEN', '');
  io.info('Exported the new key as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for later steps (AWS_SESSION_TOKEN cleared)');
}
