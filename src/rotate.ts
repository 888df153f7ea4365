import {
  type Credentials,
  KeyQuotaReached,
  awsError,
  callerIdentity,
  createAccessKey,
  createUser,
  getUser,
  listAccessKeys,
  userSettings,
  verifyKey,
} from './aws.js';
import { refuseRoot } from './caller.js';
import { isoSeconds } from './clock.js';
import { Cancelled } from './cancel.js';
import type { ActionsIO, RotateContext } from './context.js';
import { destinationsFrom, label, shownNames } from './destinations.js';
import { ActionError, errorMessage } from './errors.js';
import type { Inputs } from './inputs.js';
import { Overwritten, confirmDestinations } from './confirm.js';
import { Journal } from './journal.js';
import { holderError, holdersOf, missingHolders } from './own-holders.js';
import { describeLease, releaseLease, takeLease } from './lease.js';
import { Unproven, destroy } from './destruction.js';
import { type AccessKey, type Plan, currentKey, plan as decide } from './plan.js';
import { handoverTimes } from './provenance.js';
import { type Prepared, coversRepository, createMissingEnvironments, preflight } from './preflight.js';
import { assumedHeld, describeStanding, recover, undoUser } from './recover.js';
import type { PreviousAction, RotationResult } from './result.js';
import { retirePrevious } from './retire.js';
import { clearRewrite, markRewrite } from './rewrite-marker.js';
import type { RunState } from './run-state.js';
import { classifyKeys, describeKeys, readRecords, recordCreated, recordHandover } from './staged.js';
import { standing, writePair } from './writes.js';

export type { ActionsIO, RotateContext } from './context.js';
export type { DestinationResult, KeyReport, Outcome, PreviousAction, RotationResult } from './result.js';

function asActionError(err: unknown): ActionError {
  return err instanceof ActionError ? err : new ActionError(errorMessage(err), { cause: err });
}

/** The run's own AWS credentials, to recognise self-rotation; masked at once (secret and session token). */
async function callerCredentials(ctx: RotateContext): Promise<Credentials> {
  let creds: Credentials;
  try {
    const provider = ctx.aws.iam.config.credentials as () => Promise<Credentials>;
    creds = await provider();
  } catch (err) {
    throw awsError('loading AWS credentials', 'this job', err);
  }
  ctx.io.setSecret(creds.secretAccessKey);
  if (creds.sessionToken) ctx.io.setSecret(creds.sessionToken);
  return creds;
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
  };
}

/**
 * Rotate (or create) the user's access key into every destination: lease, preflight, plan, create, verify, write,
 * then retire the previous key. Never throws: the result says what happened, with `error` set on failure.
 * `observe` receives the live result at once (the cancel handler reads it if the run must stop hard).
 */
export async function rotate(ctx: RotateContext, observe?: (r: RotationResult) => void): Promise<RotationResult> {
  const result = newResult(ctx.inputs);
  observe?.(result);
  const s: RunState = {
    ctx,
    result,
    journal: result.journal,
    userName: ctx.inputs.iamUserName ?? '',
    prepared: [],
    caller: undefined,
    expected: new Set(),
    handedOver: false,
    tags: new Map(),
    initialKeys: [],
    uses: new Map(),
    pending: new Map(),
    tagsDenied: false,
    userTags: undefined,
    keysListed: false,
    records: new Map(),
    verified: false,
    ownHolderChecked: false,
    rewrite: undefined,
    runEnded: new Map(),
    startedAt: ctx.clock.now(),
    resume: undefined,
  };
  try {
    await flow(s);
  } catch (err) {
    result.cancelled = err instanceof Cancelled || ctx.cancel.requested;
    result.error = await failed(s, err);
  } finally {
    if (s.userName) {
      const userGone = s.journal.effects.some((e) => e.kind === 'user deleted');
      if (s.keysListed && !userGone) Object.assign(result, await describeKeys(s));
      await releaseLease(ctx, s.journal, s.userName);
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

async function identify(s: RunState): Promise<{ userExists: boolean }> {
  const { ctx } = s;
  const { inputs, aws, io } = ctx;
  return io.group('IAM user', async () => {
    let name = inputs.iamUserName;
    s.caller = await callerCredentials(ctx);
    // Every run asks who the credentials are, once: root credentials are refused before anything is read or changed.
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
    if (inputs.createUser === 'false') return { userExists: true };
    const user = await getUser(aws.iam, name);
    if (user === undefined) {
      io.info(`IAM user ${name} does not exist: it will be created`);
      return { userExists: false };
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
    return { userExists: true };
  });
}

/**
 * Self-rotation must write where this job reads its credentials, or the next run is locked out: some destination
 * reaches the job's repository, and every secret of that name the repository can give a job (its own, each
 * environment's, the organization's shared with it) is a destination.
 */
async function checkOwnHolder(s: RunState, prepared: Prepared[], self: AccessKey | undefined): Promise<void> {
  const { inputs, run } = s.ctx;
  if (!self || inputs.previousKey === 'keep' || run.repository === undefined) return;
  const retiring = inputs.previousKey === 'delete' ? 'deleting' : 'deactivating';
  if (coversRepository(prepared, run.repository)) {
    const [owner, repo] = run.repository.split('/');
    // The secret access key is a secret whichever way the id is stored (access-key-id-as): look for that name.
    const holders = await holdersOf(s.ctx.gh, owner, repo, inputs.secretAccessKeySecretName, s.ctx.gh.token);
    const missing = missingHolders(holders, owner, repo, prepared);
    if (missing.length > 0) throw holderError(run.repository, self.id, missing, retiring);
    return;
  }
  throw new ActionError(
    `self-rotation: this job authenticates with ${self.id} and reads it from ${run.repository}, which is not among ` +
      `the destinations (no repository, environment or organization secret this run writes reaches it): after the ` +
      `run, ${retiring} ${self.id} would leave this job with a dead ` +
      `key. Add ${run.repository} (or the environment this job uses) to the destinations, or set previous-key: keep.`,
  );
}

/** The keys of the user (which of them is the caller's), the action's records of them, and every destination. */
async function readWorld(
  s: RunState,
  userExists: boolean,
  caller: Credentials | undefined,
): Promise<{ keys: AccessKey[]; self: AccessKey | undefined }> {
  const { ctx, result, journal, userName } = s;
  const { aws, io } = ctx;
  const keys = userExists ? await listAccessKeys(aws.iam, userName) : [];
  s.expected = new Set(keys.map((k) => k.id));
  s.initialKeys = keys;
  s.keysListed = userExists;
  io.info(
    `IAM user ${userName} has ${keys.length} access key(s)` +
      (keys.length ? `: ${keys.map((k) => `${k.id} (${k.status}, created ${k.created.toISOString()})`).join(', ')}` : ''),
  );
  const self = caller && !caller.sessionToken ? keys.find((k) => k.id === caller.accessKeyId) : undefined;
  if (self) io.info(`Self-rotation: this run authenticates with ${self.id}, the key being replaced`);
  s.caller = self ? caller : undefined;
  // What earlier runs recorded in IAM (provenance tags): claims, each checked against IAM's facts before it counts.
  if (userExists) await readRecords(s, keys);
  ctx.cancel.checkpoint();
  s.prepared = await io.group(`Preflight (${result.destinations.length} destinations)`, () =>
    preflight(ctx, result.destinations.map((r) => r.destination)),
  );
  s.prepared.forEach((p, i) => {
    journal.destinations[i].heldBefore = p.held;
    result.destinations[i].visibility = p.sharing?.[0].visibility;
  });
  return { keys, self };
}

async function flow(s: RunState): Promise<void> {
  const { ctx, result, journal } = s;
  const { inputs, aws, io } = ctx;

  // 1. Who rotates, with which credentials; then the lease, so no other run changes the keys under us.
  const { userExists } = await identify(s);
  const userName = s.userName;
  let lease: Awaited<ReturnType<typeof takeLease>> | undefined;
  if (inputs.dryRun) {
    const held = userExists ? await describeLease(ctx, userName) : undefined;
    if (held) io.info(held);
  } else if (userExists) {
    lease = await takeLease(ctx, journal, userName);
    s.tagsDenied = lease.outcome === 'denied';
    s.userTags = lease.tags;
  }

  // 2. Read everything (the keys, their records, every destination) while the lease settles: reads only, so they
  // need not wait. Should another run's lease write have won, this run waited for it, and reads again.
  let keys: AccessKey[];
  let self: AccessKey | undefined;
  const caller = s.caller;
  // settled() resolves once: after it said "waited", the lease is this run's and one more read is the last.
  for (let settle = lease; ; settle = undefined) {
    const settling = settle?.settled().then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const read = await readWorld(s, userExists, caller).then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const settled = await settling;
    if (settled && !settled.ok) throw settled.err;
    if (!read.ok) throw read.err;
    ({ keys, self } = read.r);
    if (!settled?.r.waited) break;
    io.info('Another run held the lease meanwhile: reading the keys and the destinations again');
  }
  await checkOwnHolder(s, s.prepared, self);
  s.ownHolderChecked = true;

  // 3. What is known of each key (handed over, orphaned, or unproven); retire what is due, with its proof.
  const others = userExists ? await classifyKeys(s, keys, currentKey(keys, self?.id), self) : new Map();
  // Plan on the keys as retiring what was due left them: deleted ones gone, deactivated ones Inactive. A dry run
  // plans as the real run would.
  const due = new Set(inputs.dryRun ? (result.retirement?.due ?? []) : []);
  const deactivated = (id: string) =>
    journal.retired.some((r) => r.id === id && r.fate === 'deactivated') || (due.has(id) && inputs.previousKey === 'deactivate');
  keys = keys
    .filter((k) => !journal.deleted(k.id) && !(due.has(k.id) && inputs.previousKey === 'delete'))
    .map((k) => (deactivated(k.id) ? { ...k, status: 'Inactive' as const } : k));
  for (const id of [...s.pending.keys()]) if (!keys.some((k) => k.id === id && k.status === 'Active')) s.pending.delete(id);
  for (const id of [...others.keys()]) if (!s.pending.has(id) && others.get(id)?.kind === 'pending') others.delete(id);

  // 4. Decide, in IAM's time.
  const thePlan = decide({
    userName,
    keys,
    callerKeyId: self?.id,
    maxAgeDays: inputs.maxAgeDays,
    keyLimit: inputs.keyLimit,
    previousKey: inputs.previousKey,
    destinations: s.prepared.map((p) => ({
      label: label(p.destination),
      create: p.create,
      held: p.held,
      oldestUpdate: p.oldestUpdate,
      newestUpdate: p.held === 'both' ? Math.max(...p.updates) : undefined,
    })),
    handovers: handoverTimes(s.records),
    others,
    rewrite: s.rewrite,
    resume: s.resume?.key,
    now: userExists ? aws.time.now() : 0,
  });
  result.plan = thePlan;
  result.accessKeyId = thePlan.current?.id;
  io.info(describePlan(thePlan, userName, userExists, s.prepared, inputs.dryRun, inputs.retireAfterHours));

  if (inputs.exportCredentials && (thePlan.action === 'skip' || inputs.dryRun)) {
    io.info('export-credentials: nothing exported, no new key was made (the job keeps the credentials it has)');
  }
  if (thePlan.action === 'skip' || inputs.dryRun) return;

  // 5. Make ready: environments, the user, one key fewer.
  await createMissingEnvironments(ctx, s.prepared, (i) => journal.record({ kind: 'environment created', index: i }));
  if (!userExists) {
    ctx.cancel.checkpoint();
    const created = await io.group(`Create IAM user ${userName}`, () =>
      createUser(aws.iam, userName, {
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
    s.keysListed = true;
  }
  if (thePlan.orphan) await dropOrphan(s, thePlan.orphan, thePlan.moveOff, thePlan.orphanBreaks ?? []);
  if (thePlan.makeRoom) {
    const room = thePlan.makeRoom;
    ctx.cancel.checkpoint();
    if (thePlan.makeRoomBreaks) {
      if (!s.tagsDenied) await markRewrite(ctx, userName, room.id);
      // A destination last written before every key that stays existed holds the deleted key (or an older, dead one).
      const kept = keys.filter((k) => k.id !== room.id).map((k) => Math.floor(k.created.getTime() / 1000) * 1000);
      const certain = s.prepared.flatMap((p, i) => (p.held !== 'none' && p.updates.every((u) => kept.every((c) => u < c)) ? [i] : []));
      journal.record({ kind: 'holders broken', id: room.id, certain });
    }
    try {
      await destroy(
        s,
        room.id,
        thePlan.makeRoomBreaks ? 'consent: key-limit delete-oldest' : 'consent: key-limit delete-inactive',
        'delete',
        'deleted to make room',
      );
    } catch (err) {
      if (thePlan.makeRoomBreaks) journal.broken = undefined;
      throw err;
    }
    io.info(
      `Deleted ${room.id} (${room.status}) to make room (key-limit: ${inputs.keyLimit})` +
        (thePlan.makeRoomBreaks ? ': destinations that held it do not work until this run rewrites them' : ''),
    );
  }

  // 6. The new key: made and verified now, or (resuming an earlier run's rotation) the one this job signs in with.
  const { fresh, created } = thePlan.resume && s.caller ? resumedKey(s, thePlan.resume, s.caller) : await newVerifiedKey(s);

  // 7. Write both secrets everywhere; a cancel stops between destinations, never inside a pair.
  const names = shownNames(inputs);
  await io.group(`Write secrets (${s.prepared.length} destinations)`, async () => {
    const n = s.prepared.length;
    for (let i = 0; i < n; i++) {
      ctx.cancel.checkpoint();
      try {
        await writePair(s, i, fresh, 'new key');
      } catch (err) {
        io.info(`[${i + 1}/${n}] ${label(s.prepared[i].destination)}: failed`);
        throw err;
      }
      io.info(`[${i + 1}/${n}] ${label(s.prepared[i].destination)}: ${names}`);
    }
  });

  // 8. The new key must still be there: a person may have deleted it while the destinations were written.
  await confirmDestinations(s, fresh.accessKeyId);
  await confirmNewKey(s, fresh);

  // 9. Every destination holds the new key. Only now: the previous keys. In self-rotation the run signs with the
  // new key from here on: the previous key's last use stays the holders', and the lease can still be released.
  s.handedOver = true;
  if (s.caller) ctx.aws = { ...aws, iam: aws.iamFor(fresh) };
  result.rotated = true;
  result.accessKeyId = fresh.accessKeyId;
  if (inputs.exportCredentials) exportCredentials(io, fresh);
  await io.group('Previous keys', async () => {
    await recordHandover(s, thePlan, fresh.accessKeyId, created, fresh.created);
    if (inputs.retireAfterHours === 0) {
      try {
        await retirePrevious(s, thePlan);
      } catch (err) {
        if (err instanceof Unproven && err.keyId !== fresh.accessKeyId && err.lacks('new key gone')) {
          ctx.aws = aws;
          await newKeyLost(s, fresh, `before retiring ${err.keyId}`);
        }
        throw err;
      }
    }
    if (journal.broken !== undefined || s.rewrite) await clearRewrite(ctx, userName);
  });
}

/** The earlier run's key this job signs in with: STS accepted it when this run began (identify), so it works. */
function resumedKey(s: RunState, key: AccessKey, caller: Credentials): { fresh: NewKey; created: string } {
  s.journal.record({ kind: 'key resumed', id: key.id });
  s.expected.add(key.id);
  s.verified = true; // this run signs in with it: STS answered GetCallerIdentity with it
  s.ctx.io.info(`Finishing the earlier run's rotation with ${key.id} (no new key is made)`);
  return { fresh: { ...caller, created: key.created }, created: isoSeconds(key.created.getTime()) };
}

/** Create the new key, record where it comes from, and verify it with STS. Masked the moment it exists. */
async function newVerifiedKey(s: RunState): Promise<{ fresh: NewKey; created: string }> {
  const { ctx, userName } = s;
  const { inputs, aws, io } = ctx;
  ctx.cancel.checkpoint();
  const fresh = await createNewKey(s);
  io.info(`Created access key ${fresh.accessKeyId}`);
  const created = await recordCreated(s, fresh.accessKeyId, fresh.created);
  if (inputs.verifyTimeoutSeconds > 0) {
    await io.group('Verify the new key', async () => {
      const started = ctx.clock.now();
      const attempts = await verifyKey(aws.stsFor, fresh, userName, {
        timeoutMs: inputs.verifyTimeoutSeconds * 1000,
        clock: ctx.clock,
        onRetry: (n, reason) => io.info(`attempt ${n}: not yet (${reason})`),
        sleep: (ms) => ctx.cancel.sleep(ctx.clock, ms),
        checkpoint: () => ctx.cancel.checkpoint(),
      });
      io.info(`${fresh.accessKeyId} authenticates as ${userName} (attempt ${attempts}, ${ctx.clock.now() - started} ms)`);
    });
  }
  s.verified = true; // by STS, or waived by verify-timeout-seconds: 0
  return { fresh, created };
}

/** A key IAM gave this run: the pair and IAM's CreateDate. */
type NewKey = Credentials & { created: Date };

/** The new key is gone (or Inactive): someone deleted it while this run was handing it out. */
class NewKeyLost extends ActionError {}

/** List the keys again with this run's own credentials: the new key must exist and be Active before the handover. */
async function confirmNewKey(s: RunState, fresh: NewKey): Promise<void> {
  const keys = await listAccessKeys(s.ctx.aws.iam, s.userName);
  const k = keys.find((x) => x.id === fresh.accessKeyId);
  const appeared = keys.filter((x) => !s.expected.has(x.id)).map((x) => x.id);
  if (k?.status === 'Active' && appeared.length > 0) {
    throw new Overwritten(
      [],
      `after writing the destinations, IAM lists key(s) ${appeared.join(', ')} that appeared during this run: another ` +
        'rotation (or a person) is at work on this user and may have written the destinations too. Nothing was ' +
        'retired: let that rotation finish (or find who made the key), then rerun',
    );
  }
  if (k?.status === 'Active') return;
  await newKeyLost(s, fresh, 'after writing the destinations', k ? 'deactivated' : 'deleted');
}

/**
 * The new key went away mid-run. Self-rotation: put the previous pair back wherever it was written over, while the
 * previous key still works. Then stop, naming every destination that holds a dead key.
 */
async function newKeyLost(s: RunState, fresh: NewKey, when: string, how = 'deleted or deactivated'): Promise<never> {
  const { ctx, journal } = s;
  journal.record({ kind: 'key lost', id: fresh.accessKeyId });
  s.handedOver = false;
  s.result.rotated = false;
  s.result.accessKeyId = undefined;
  const keys = await listAccessKeys(ctx.aws.iam, s.userName).catch(() => []);
  const previous = s.caller ? keys.find((k) => k.id === s.caller?.accessKeyId && k.status === 'Active') : undefined;
  let restored = 0;
  if (s.caller && previous) {
    for (let i = 0; i < s.prepared.length; i++) {
      if (journal.pairKey(i) !== fresh.accessKeyId) continue;
      try {
        await writePair(s, i, s.caller, 'restore');
        restored++;
      } catch (err) {
        ctx.io.warning(`could not put ${label(s.prepared[i].destination)} back to ${previous.id}: ${errorMessage(err)}`);
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

/**
 * An earlier run's orphan (proven: created by this action, never handed over, older than a run can last, unused
 * since). In self-rotation the destinations that may hold it first get this job's own pair; then it is deleted.
 */
async function dropOrphan(s: RunState, orphan: AccessKey, moveOff: string[], breaks: string[]): Promise<void> {
  const { ctx } = s;
  await ctx.io.group(`Delete ${orphan.id}, an orphan of an earlier run`, async () => {
    if (moveOff.length > 0 && s.caller) {
      for (let i = 0; i < s.prepared.length; i++) {
        if (!moveOff.includes(label(s.prepared[i].destination))) continue;
        ctx.cancel.checkpoint();
        await writePair(s, i, s.caller, 'converge');
        ctx.io.info(`${label(s.prepared[i].destination)}: now holds ${s.caller.accessKeyId} (was written after ${orphan.id} was made)`);
      }
    }
    ctx.cancel.checkpoint();
    if (breaks.length > 0) {
      // A rotator: the destinations that may hold the orphan lose it until this run rewrites them, moments later.
      if (!s.tagsDenied) await markRewrite(ctx, s.userName, orphan.id);
      const maybe = s.prepared.flatMap((p, i) => (breaks.includes(label(p.destination)) ? [i] : []));
      s.journal.record({ kind: 'holders broken', id: orphan.id, certain: [], maybe });
      try {
        await destroy(s, orphan.id, 'orphan held by destinations this run rewrites', 'delete', 'deleted as an orphan');
      } catch (err) {
        s.journal.broken = undefined;
        throw err;
      }
      ctx.io.info(
        `Deleted ${orphan.id}: an earlier run of this action made it and never handed it over; ${breaks.join(', ')} may ` +
          'hold it and do not work until this run rewrites them',
      );
      return;
    }
    await destroy(s, orphan.id, 'orphan of a finished run', 'delete', 'deleted as an orphan');
    ctx.io.info(`Deleted ${orphan.id}: an earlier run of this action made it and never handed it over, and nothing holds it`);
  });
}

/**
 * CreateAccessKey. After a failure the keys are listed again: when no key appeared, the request made none and is
 * tried again (at most three attempts); a key that appeared cannot be proven to be this run's, so it is reported and
 * left alone, never deleted.
 */
async function createNewKey(s: RunState): Promise<NewKey> {
  const { ctx, journal, userName } = s;
  let fresh: NewKey | undefined;
  for (let attempt = 1; fresh === undefined; attempt++) {
    try {
      fresh = await createAccessKey(ctx.aws.iamOnce, userName, ctx.clock, ctx.aws.time);
    } catch (err) {
      const why = err instanceof KeyQuotaReached ? 'another rotation or a person is at work' : 'its answer may have been lost';
      let appeared: string[];
      try {
        appeared = (await listAccessKeys(ctx.aws.iam, userName)).filter((k) => !s.expected.has(k.id)).map((k) => k.id);
      } catch {
        throw new ActionError(`${errorMessage(err)}. Could not list the keys again: check whether a key was made.`, { cause: err });
      }
      if (appeared.length > 0) {
        throw new ActionError(
          `${errorMessage(err)}. Key(s) ${appeared.join(', ')} appeared during this run and were left alone (${why}; ` +
            'this run cannot prove they are its own): if no other rotation is running, delete them by hand.',
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
  s.expected.add(fresh.accessKeyId);
  return fresh;
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

export function describePlan(
  p: Plan,
  user: string,
  userExists: boolean,
  prepared: Prepared[],
  dryRun: boolean,
  retireAfterHours = 0,
): string {
  const prefix = dryRun ? 'Dry run: would ' : 'Plan: ';
  if (p.action === 'skip') return `Plan: skip (${p.reason}); nothing changes`;
  const changes = prepared.flatMap((x) => x.visibilityChanges.map((c) => `${label(x.destination)}: ${c}`));
  const steps = [
    userExists ? undefined : `create IAM user ${user}`,
    p.orphan
      ? (p.moveOff.length ? `give ${p.moveOff.join(', ')} this run's key ${p.current?.id}, then ` : '') +
        `delete ${p.orphan.id} (an orphan of an earlier run${p.orphanBreaks ? `; ${p.orphanBreaks.join(', ')} may hold it and stop working until rewritten` : ''})`
      : undefined,
    p.makeRoom
      ? `delete ${p.makeRoom.id} (${p.makeRoom.status}) to make room` +
        (p.makeRoomBreaks ? ' (key-limit: delete-oldest: destinations holding it stop working until rewritten)' : '')
      : undefined,
    `create a new access key for ${user}`,
    `write it to ${prepared.length} destination(s)` + (changes.length ? ` (${changes.join('; ')})` : ''),
    p.previous.length === 0
      ? undefined
      : retireAfterHours > 0 && p.previousKey !== 'keep'
        ? `leave the previous key(s) ${p.previous.map((k) => k.id).join(', ')} Active for a later run to ${p.previousKey} once unused for ${retireAfterHours} h`
        : `${p.previousKey} the previous key(s) ${p.previous.map((k) => k.id).join(', ')}`,
  ].filter(Boolean);
  return `${prefix}${steps.join(', then ')} (reason: ${p.reason})`;
}

function exportCredentials(io: ActionsIO, c: Credentials): void {
  io.setSecret(c.secretAccessKey);
  io.exportVariable('AWS_ACCESS_KEY_ID', c.accessKeyId);
  io.exportVariable('AWS_SECRET_ACCESS_KEY', c.secretAccessKey);
  io.exportVariable('AWS_SESSION_TOKEN', '');
  io.info('Exported the new key as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for later steps (AWS_SESSION_TOKEN cleared)');
}
