/**
 * A rotation as named steps, run in this order. Each starts from what IAM and the destinations say (the keys, the
 * action's records of them, what each destination holds), not from what an earlier run meant to do, so a rerun after a
 * run stopped in any step finishes that run's rotation (the pattern of AWS Secrets Manager's rotation template:
 * createSecret, setSecret, testSecret, finishSecret). A step may end the run early ('done': a skip or a dry run); a
 * failure is thrown, and rotate() turns it into the one error line.
 */
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
} from '../aws/aws.js';
import { refuseRoot } from '../aws/caller.js';
import { isoSeconds } from '../shared/clock.js';
import { Overwritten, confirmDestinations } from './confirm.js';
import type { ActionsIO, RotateContext } from '../config/context.js';
import { describePlan } from './describe-plan.js';
import { shownNames } from '../github/destinations.js';
import { Unproven, destroy } from '../keys/destruction.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { Inputs } from '../config/inputs.js';
import { describeLease, takeLease } from './lease.js';
import { holderError, holdersOf, lookFor } from '../github/own-holders.js';
import { type AccessKey, type OtherKey, type Plan, currentKey, plan as decide } from '../keys/plan.js';
import { type Prepared, coversRepository, createMissingEnvironments, preflight } from '../github/preflight.js';
import { handoverTimes } from '../keys/provenance.js';
import { CREATE_TAG, clearCreateMarker, markCreate } from '../keys/create-marker.js';
import { retirePrevious } from '../keys/retire.js';
import { clearRewrite, markRewrite } from '../keys/rewrite-marker.js';
import type { RunState } from './run-state.js';
import { type Classified, classifyKeys, readRecords, recordCreated, recordHandover, retireDueKeys } from '../keys/staged.js';
import { STEP_NAMES, type StepName } from '../shared/types.js';
import { destinationRecords, preparedOf } from './destination-record.js';
import { writePair } from './writes.js';

/** What a step hands to the steps after it, besides the run state. */
interface Flow {
  userExists: boolean;
  lease: Awaited<ReturnType<typeof takeLease>> | undefined;
  /** The user's keys, as the steps so far left them. */
  keys: AccessKey[];
  /** The key this job signs in with (self-rotation), if it is one of the user's. */
  self: AccessKey | undefined;
  classified: Classified | undefined;
  /** What is known of each key but the current one. */
  others: Map<string, OtherKey>;
  /** The plan, once it is to rotate (a skip ends the run at the plan step). */
  plan: Rotation | undefined;
  /** The new key (or, resuming an earlier run's rotation, the key this job signs in with) and its record's time. */
  fresh: { fresh: NewKey; created: string } | undefined;
  /** The AWS clients this run signed with before the handover (self-rotation signs with the new key after it). */
  before: RotateContext['aws'] | undefined;
}

/** A plan that rotates. */
type Rotation = Extract<Plan, { action: 'rotate' }>;

/** A step: 'done' ends the run there (nothing more to do). */
type Step = (s: RunState, f: Flow) => Promise<'done' | void>;

/** A value an earlier step provides (a missing one is a defect in the order of the steps). */
function given<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`internal: the ${what} is not known at this step`);
  return v;
}

const STEPS: Record<StepName, Step> = {
  /** Who rotates, with which credentials; whether the user exists. */
  identify: async (s, f) => {
    f.userExists = (await identify(s)).userExists;
  },

  /** The lease, so no other run changes the keys under this one (a dry run only says who holds it). */
  lease: async (s, f) => {
    const { ctx } = s;
    if (ctx.inputs.dryRun) {
      const held = f.userExists ? await describeLease(ctx, s.userName) : undefined;
      if (held) ctx.io.info(held);
    } else if (f.userExists) {
      f.lease = await takeLease(ctx, s.journal, s.userName);
      s.tagsDenied = f.lease.outcome === 'denied';
      s.userTags = f.lease.tags;
    }
  },

  /**
   * Read everything (the keys, their records, every destination) while the lease settles: reads only, so they need
   * not wait. Should another run's lease write have won, this run waited for it, and reads again. The self-rotation
   * holder check is among the reads.
   */
  read: async (s, f) => {
    const caller = s.caller;
    // settled() resolves once: after it said "waited", the lease is this run's and one more read is the last.
    for (let settle = f.lease; ; settle = undefined) {
      const settling = settle?.settled().then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      const read = await readWorld(s, f.userExists, caller).then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      const settled = await settling;
      if (settled && !settled.ok) throw settled.err;
      if (!read.ok) throw read.err;
      ({ keys: f.keys, self: f.self } = read.r);
      if (!settled?.r.waited) break;
      s.ctx.io.info('Another run held the lease meanwhile: reading the keys and the destinations again');
    }
  },

  /** What is known of each key: handed over (pending retirement), an earlier run's orphan, or unproven. */
  classify: async (s, f) => {
    if (f.userExists) f.classified = await classifyKeys(s, f.keys, currentKey(f.keys, f.self?.id), f.self);
  },

  /** Retire the handed-over keys that are due, each with its proof; plan on the keys as that left them. */
  'retire due': async (s, f) => {
    if (f.classified) ({ keys: f.keys, others: f.others } = await retireDueKeys(s, f.keys, f.classified));
  },

  /** Decide, in IAM's time: skip, or rotate (and what goes first). A skip and a dry run end here. */
  plan: async (s, f) => {
    const { ctx, result } = s;
    const { inputs, io } = ctx;
    const thePlan = decide({
      userName: s.userName,
      keys: f.keys,
      callerKeyId: f.self?.id,
      maxAgeDays: inputs.maxAgeDays,
      keyLimit: inputs.keyLimit,
      previousKey: inputs.previousKey,
      destinations: s.destinations.map(({ prepared: p, label }) => ({
        label,
        create: p.create,
        held: p.held,
        oldestUpdate: p.oldestUpdate,
        newestUpdate: p.held === 'both' ? Math.max(...p.updates) : undefined,
      })),
      handovers: handoverTimes(s.records),
      others: f.others,
      rewrite: s.rewrite,
      resume: s.resume?.key,
      now: f.userExists ? ctx.aws.time.now() : 0,
    });
    result.plan = thePlan;
    result.accessKeyId = thePlan.current?.id;
    io.info(describePlan(thePlan, s.userName, f.userExists, preparedOf(s.destinations), inputs.dryRun, inputs.retireAfterHours));
    if (inputs.exportCredentials && (thePlan.action === 'skip' || inputs.dryRun)) {
      io.info('export-credentials: nothing exported, no new key was made (the job keeps the credentials it has)');
    }
    if (thePlan.action === 'skip' || inputs.dryRun) return 'done';
    f.plan = thePlan;
    return undefined;
  },

  /** Make ready: environments, the user, an earlier run's orphan gone, one key fewer. */
  prepare: async (s, f) => {
    const { ctx, journal, userName } = s;
    const { inputs, aws, io } = ctx;
    const thePlan = given(f.plan, 'plan');
    await createMissingEnvironments(ctx, preparedOf(s.destinations), (i) => journal.record({ kind: 'environment created', index: i }));
    if (!f.userExists) {
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
    if (thePlan.orphan) {
      const known = f.others.get(thePlan.orphan.id);
      const unrecorded = known?.kind === 'orphan' && known.unrecorded === true;
      await dropOrphan(s, thePlan.orphan, thePlan.moveOff, thePlan.orphanBreaks ?? [], unrecorded);
    }
    if (thePlan.makeRoom) await makeRoom(s, thePlan, f.keys);
  },

  /** The new key, made, recorded and verified now; or (resuming an earlier run's rotation) the one this job signs in with. */
  create: async (s, f) => {
    const thePlan = given(f.plan, 'plan');
    f.fresh = thePlan.resume && s.caller ? resumedKey(s, thePlan.resume, s.caller) : await newVerifiedKey(s);
  },

  /** Write both secrets everywhere; a cancel stops between destinations, never inside a pair. */
  distribute: async (s, f) => {
    const { ctx } = s;
    const { fresh: key } = given(f.fresh, 'new key');
    const names = shownNames(ctx.inputs);
    const n = s.destinations.length;
    const what = ctx.inputs.accessKeyIdAs === 'variable' ? 'variables and secrets' : 'secrets';
    await ctx.io.group(`Write ${what} (${n} destinations)`, async () => {
      for (const d of s.destinations) {
        ctx.cancel.checkpoint();
        try {
          await writePair(s, d.index, key, 'new key');
        } catch (err) {
          ctx.io.info(`[${d.index + 1}/${n}] ${d.label}: failed`);
          throw err;
        }
        ctx.io.info(`[${d.index + 1}/${n}] ${d.label}: ${names}`);
      }
    });
  },

  /**
   * Every destination still holds what this run wrote (no later write by someone else), and the new key is still
   * there and Active (a person may have deleted it while the destinations were written), and no other key appeared.
   */
  confirm: async (s, f) => {
    const { fresh: key } = given(f.fresh, 'new key');
    await confirmDestinations(s, key.accessKeyId);
    await confirmNewKey(s, key);
  },

  /**
   * Every destination holds the new key: record the handover. In self-rotation the run signs with the new key from
   * here on: the previous key's last use stays the holders', and the lease can still be released.
   */
  'hand over': async (s, f) => {
    const { ctx, result } = s;
    const { fresh: key, created } = given(f.fresh, 'new key');
    s.handedOver = true;
    f.before = ctx.aws;
    if (s.caller) ctx.aws = { ...ctx.aws, iam: ctx.aws.iamFor(key) };
    result.rotated = true;
    result.accessKeyId = key.accessKeyId;
    if (ctx.inputs.exportCredentials) exportCredentials(ctx.io, key);
    await ctx.io.group('Hand over', () => recordHandover(s, given(f.plan, 'plan'), key.accessKeyId, created, key.created));
  },

  /** Only now the previous keys: retired at once (retire-after-hours: 0), each with its proof, or left to a later run. */
  retire: async (s, f) => {
    const { ctx, userName } = s;
    const { fresh: key } = given(f.fresh, 'new key');
    const thePlan = given(f.plan, 'plan');
    await ctx.io.group('Previous keys', async () => {
      if (ctx.inputs.retireAfterHours === 0) {
        try {
          await retirePrevious(s, thePlan);
        } catch (err) {
          if (err instanceof Unproven && err.keyId !== key.accessKeyId && err.lacks('new key gone')) {
            ctx.aws = given(f.before, 'AWS clients before the handover');
            await newKeyLost(s, key, `before retiring ${err.keyId}`);
          }
          throw err;
        }
      }
      if (s.journal.broken !== undefined || s.rewrite) await clearRewrite(ctx, userName);
    });
  },
};

/**
 * From here on every destination holds the new key: a cancel no longer stops a step at its entry, the run goes
 * forward to its handover (turning back would rewrite every destination), and the retirement stops for it.
 */
const FORWARD_FROM = STEP_NAMES.indexOf('confirm');

/**
 * Run the steps in order (s.step names the one running), until one ends the run or throws. A cancel is honoured at
 * the entry of every step before the handover's (and inside the steps, at their own checkpoints).
 */
export async function runSteps(s: RunState): Promise<void> {
  const f: Flow = {
    userExists: false,
    lease: undefined,
    keys: [],
    self: undefined,
    classified: undefined,
    others: new Map(),
    plan: undefined,
    fresh: undefined,
    before: undefined,
  };
  for (const name of STEP_NAMES) {
    s.step = name;
    s.steps.push(name);
    if (STEP_NAMES.indexOf(name) < FORWARD_FROM) s.ctx.cancel.checkpoint();
    if ((await STEPS[name](s, f)) === 'done') return;
  }
}

/** Delete the key the plan makes room with (key-limit), with its consent; delete-oldest marks its holders broken. */
async function makeRoom(s: RunState, thePlan: Rotation, keys: AccessKey[]): Promise<void> {
  const { ctx, journal, userName } = s;
  const room = given(thePlan.makeRoom, 'key to make room with');
  ctx.cancel.checkpoint();
  if (thePlan.makeRoomBreaks) {
    if (!s.tagsDenied) await markRewrite(ctx, userName, room.id);
    // A destination last written before every key that stays existed holds the deleted key (or an older, dead one).
    const kept = keys.filter((k) => k.id !== room.id).map((k) => Math.floor(k.created.getTime() / 1000) * 1000);
    const certain = s.destinations.flatMap(({ prepared: p, index }) => (p.held !== 'none' && p.updates.every((u) => kept.every((c) => u < c)) ? [index] : []));
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
  ctx.io.info(
    `Deleted ${room.id} (${room.status}) to make room (key-limit: ${ctx.inputs.keyLimit})` +
      (thePlan.makeRoomBreaks ? ': destinations that held it do not work until this run rewrites them' : ''),
  );
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
  // The current key once it is certain (the job's own, or the user's only Active key): a run that stops before its
  // plan (in preflight) still names it in access-key-id. With two Active keys, which one is current is the plan's call.
  const active = keys.filter((k) => k.status === 'Active');
  result.accessKeyId = (self ?? (active.length === 1 ? active[0] : undefined))?.id;
  // What earlier runs recorded in IAM (provenance tags): claims, each checked against IAM's facts before it counts.
  if (userExists) await readRecords(s, keys);
  ctx.cancel.checkpoint();
  const prepared = await io.group(`Preflight (${result.destinations.length} destinations)`, () =>
    preflight(ctx, result.destinations.map((r) => r.destination)),
  );
  s.destinations = destinationRecords(prepared, journal, result);
  // Reads only, so while the lease settles too: the job's own holders.
  await checkOwnHolder(s, prepared, self);
  s.ownHolderChecked = true;
  return { keys, self };
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
export type NewKey = Credentials & { created: Date };

/** The new key is gone (or Inactive): someone deleted it while this run was handing it out. */
export class NewKeyLost extends ActionError {}

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
    for (const d of s.destinations) {
      if (journal.pairKey(d.index) !== fresh.accessKeyId) continue;
      try {
        await writePair(s, d.index, s.caller, 'restore');
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

/**
 * An earlier run's orphan (proven: created by this action, never handed over, older than a run can last, unused
 * since). In self-rotation the destinations that may hold it first get this job's own pair; then it is deleted.
 */
async function dropOrphan(s: RunState, orphan: AccessKey, moveOff: string[], breaks: string[], unrecorded: boolean): Promise<void> {
  const { ctx } = s;
  await ctx.io.group(`Delete ${orphan.id}, an orphan of an earlier run`, async () => {
    if (moveOff.length > 0 && s.caller) {
      for (const d of s.destinations) {
        if (!moveOff.includes(d.label)) continue;
        ctx.cancel.checkpoint();
        await writePair(s, d.index, s.caller, 'converge');
        ctx.io.info(`${d.label}: now holds ${s.caller.accessKeyId} (was written after ${orphan.id} was made)`);
      }
    }
    ctx.cancel.checkpoint();
    if (breaks.length > 0) {
      // A rotator: the destinations that may hold the orphan lose it until this run rewrites them, moments later.
      if (!s.tagsDenied) await markRewrite(ctx, s.userName, orphan.id);
      const maybe = s.destinations.flatMap((d) => (breaks.includes(d.label) ? [d.index] : []));
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
    if (unrecorded) {
      await destroy(s, orphan.id, 'unrecorded key of a finished run', 'delete', 'deleted as an orphan');
      ctx.io.info(`Deleted ${orphan.id}: a run of this action made it and stopped before recording it; it was never used, and no destination holds it`);
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
    // The create marker, so a rerun can know the key should this run be killed before recording it.
    const marked = !s.tagsDenied && (await markCreate(ctx, userName));
    s.createMarker.written ||= marked;
    try {
      fresh = await createAccessKey(ctx.aws.iamOnce, userName, ctx.clock, ctx.aws.time);
    } catch (err) {
      // IAM refused the create for its quota: it made no key, so the marker must not speak for a key made now.
      if (marked && err instanceof KeyQuotaReached) await clearCreateMarker(ctx, userName);
      const why = err instanceof KeyQuotaReached ? 'another rotation or a person is at work' : 'its answer may have been lost';
      let appeared: string[];
      try {
        appeared = (await listAccessKeys(ctx.aws.iam, userName)).filter((k) => !s.expected.has(k.id)).map((k) => k.id);
      } catch {
        throw new ActionError(`${errorMessage(err)}. Could not list the keys again: check whether a key was made.`, { cause: err });
      }
      if (appeared.length > 0) {
        // The marker stays for the rerun (the lease's release leaves it).
        if (marked && !(err instanceof KeyQuotaReached)) s.createMarker.needed = true;
        const rerun =
          marked && appeared.length === 1 && !(err instanceof KeyQuotaReached)
            ? `if this run made it, a rerun deletes it (this run marked IAM user ${userName} with ${CREATE_TAG} just ` +
              'before: its CreateDate, no use and no holder prove it); else, if no other rotation is running, delete it by hand.'
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
  s.expected.add(fresh.accessKeyId);
  return fresh;
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
