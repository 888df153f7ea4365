import type { Clock } from './clock.js';
import {
  type AwsClients,
  type CreatedUser,
  type Credentials,
  awsError,
  callerIdentity,
  createAccessKey,
  createUser,
  deactivateAccessKey,
  deleteAccessKey,
  deleteCreatedUser,
  getUser,
  listAccessKeys,
  userSettings,
  verifyKey,
} from './aws.js';
import { type Destination, destinationsFrom, label } from './destinations.js';
import { ActionError, errorMessage } from './errors.js';
import type { GitHubApi } from './github-api.js';
import type { GitHubPacing, WritePacer } from './pacer.js';
import type { Inputs } from './inputs.js';
import { type Plan, plan as decide } from './plan.js';
import { type Prepared, createMissingEnvironments, preflight } from './preflight.js';
import { writeSecret } from './secrets.js';

/** What the run prints and exports through the runner (core in production, a recorder in tests). */
export interface ActionsIO {
  info(message: string): void;
  warning(message: string): void;
  setSecret(value: string): void;
  exportVariable(name: string, value: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export interface RotateContext {
  inputs: Inputs;
  aws: AwsClients;
  gh: GitHubApi;
  clock: Clock;
  io: ActionsIO;
  pacing: GitHubPacing;
  /** Paces every mutating GitHub request. */
  pacer: WritePacer;
}

/** Where a destination stands at the end of the run. */
export type Outcome =
  | 'written' // holds the new key
  | 'would write' // dry-run
  | 'unchanged' // skip, or never reached: holds what it held
  | 'restored' // the new key was written, then the previous pair put back
  | 'mismatched'; // one of the two secrets was written and could not be put back

export interface DestinationResult {
  destination: Destination;
  label: string;
  outcome: Outcome;
  /** The access key id the destination holds at the end, when known. */
  keyId: string | undefined;
  created?: boolean;
}

export type PreviousAction = 'deleted' | 'deactivated' | 'kept' | 'deleted to make room';

export interface RotationResult {
  userName: string | undefined;
  userCreated: boolean;
  dryRun: boolean;
  plan: Plan | undefined;
  rotated: boolean;
  /** The key the destinations hold at the end (new key, or current on a skip/failure). */
  accessKeyId: string | undefined;
  newKeyId: string | undefined;
  previous: { id: string; action: PreviousAction }[];
  destinations: DestinationResult[];
  error: ActionError | undefined;
}

/** Thrown inside the flow once the result already describes what happened. */
class Stop extends Error {
  constructor(readonly error: ActionError) {
    super(error.message);
  }
}

function asActionError(err: unknown): ActionError {
  return err instanceof ActionError ? err : new ActionError(errorMessage(err), { cause: err });
}

/** The run's own AWS credentials, to recognise self-rotation (the old secret is then known and can be restored). */
async function callerCredentials(aws: AwsClients): Promise<Credentials> {
  try {
    const provider = aws.iam.config.credentials as () => Promise<Credentials>;
    return await provider();
  } catch (err) {
    throw awsError('loading AWS credentials', 'this job', err);
  }
}

/**
 * Rotate (or create) the user's access key into every destination: preflight, plan, create, verify, write, then
 * retire the previous key. Never throws: the result says what happened, with `error` set on failure.
 */
export async function rotate(ctx: RotateContext): Promise<RotationResult> {
  const { inputs } = ctx;
  const result: RotationResult = {
    userName: inputs.iamUserName,
    userCreated: false,
    dryRun: inputs.dryRun,
    plan: undefined,
    rotated: false,
    accessKeyId: undefined,
    newKeyId: undefined,
    previous: [],
    destinations: destinationsFrom(inputs).map((d) => ({ destination: d, label: label(d), outcome: 'unchanged', keyId: undefined })),
    error: undefined,
  };
  try {
    await flow(ctx, result);
  } catch (err) {
    result.error = err instanceof Stop ? err.error : asActionError(err);
  }
  return result;
}

async function flow(ctx: RotateContext, result: RotationResult): Promise<void> {
  const { inputs, aws, io } = ctx;
  const { iam } = aws;

  // 1. Who rotates, and with which credentials.
  const { userName, caller, userExists } = await io.group('IAM user', async () => {
    let name = inputs.iamUserName;
    if (name === undefined) {
      const identity = await callerIdentity(aws.sts);
      if (identity.userName === undefined) {
        throw new ActionError(
          `iam-user-name is empty and the AWS credentials belong to ${identity.arn}, not an IAM user: ` +
            `set iam-user-name to the user whose key rotates`,
        );
      }
      name = identity.userName;
      io.info(`IAM user from the AWS credentials: ${name} (${identity.arn})`);
    }
    const callerCreds = await callerCredentials(aws);
    let exists = true;
    if (inputs.createUser) {
      const user = await getUser(iam, name);
      exists = user !== undefined;
      if (user) {
        const have = await userSettings(iam, user);
        const differs = settingDifferences(inputs, have);
        io.info(`IAM user ${name} exists: create-user leaves its settings as they are`);
        if (differs.length > 0) {
          io.warning(`IAM user ${name} already exists and differs from the inputs (not changed): ${differs.join('; ')}`);
        }
      } else {
        io.info(`IAM user ${name} does not exist: it will be created`);
      }
    }
    return { userName: name, caller: callerCreds, userExists: exists };
  });
  result.userName = userName;

  const keys = userExists ? await listAccessKeys(iam, userName) : [];
  io.info(
    `IAM user ${userName} has ${keys.length} access key(s)` +
      (keys.length ? `: ${keys.map((k) => `${k.id} (${k.status}, created ${k.created.toISOString()})`).join(', ')}` : ''),
  );
  const selfRotation = caller.sessionToken ? undefined : keys.find((k) => k.id === caller.accessKeyId);
  const oldPair = selfRotation ? caller : undefined;
  if (selfRotation) io.info(`Self-rotation: this run authenticates with ${selfRotation.id}, the key being replaced`);

  // 2. Preflight every destination before any key exists.
  const prepared = await io.group(`Preflight (${result.destinations.length} destinations)`, () =>
    preflight(ctx, result.destinations.map((r) => r.destination)),
  );

  // 3. Decide.
  const thePlan = decide({
    userName,
    keys,
    callerKeyId: selfRotation?.id,
    maxAgeDays: inputs.maxAgeDays,
    keyLimit: inputs.keyLimit,
    previousKey: inputs.previousKey,
    missingSecrets: prepared.filter((p) => p.missingSecrets).map((p) => label(p.destination)),
    toCreate: prepared.filter((p) => p.create).map((p) => label(p.destination)),
    now: ctx.clock.now(),
  });
  result.plan = thePlan;
  const current = thePlan.current;
  result.accessKeyId = current?.id;
  for (const r of result.destinations) r.keyId = current?.id;
  io.info(describePlan(thePlan, userName, userExists, result.destinations.length, inputs.dryRun));

  if (inputs.exportCredentials && (thePlan.action === 'skip' || inputs.dryRun)) {
    io.info('export-credentials: nothing exported, no new key was made (the job keeps the credentials it has)');
  }
  if (thePlan.action === 'skip') return;
  if (inputs.dryRun) {
    for (const r of result.destinations) r.outcome = 'would write';
    prepared.forEach((p, i) => (result.destinations[i].created = p.create));
    return;
  }

  // 4. Make ready: environments, the user, room for a key.
  await createMissingEnvironments(ctx, prepared, (i) => (result.destinations[i].created = true));
  let createdUser: CreatedUser | undefined;
  if (!userExists) {
    createdUser = await io.group(`Create IAM user ${userName}`, () =>
      createUser(iam, userName, {
        path: inputs.userPath,
        groups: inputs.userGroups,
        policyArns: inputs.userPolicyArns,
        permissionsBoundary: inputs.userPermissionsBoundary,
        tags: inputs.userTags,
      }),
    );
    result.userCreated = true;
    io.info(`Created IAM user ${userName}`);
  }
  if (thePlan.makeRoom) {
    await deleteAccessKey(iam, userName, thePlan.makeRoom.id);
    result.previous.push({ id: thePlan.makeRoom.id, action: 'deleted to make room' });
    io.info(`Deleted ${thePlan.makeRoom.id} (${thePlan.makeRoom.status}) to make room (key-limit: ${inputs.keyLimit})`);
  }

  // 5. Create and verify the new key. Masked the moment it exists.
  const known = new Set(keys.filter((k) => k !== thePlan.makeRoom).map((k) => k.id));
  let fresh: Credentials;
  try {
    const created = await createAccessKey(iam, userName);
    fresh = created.credentials;
    io.setSecret(fresh.secretAccessKey);
    if (created.attempts > 1) io.info(await removeOrphans(ctx, userName, known, fresh.accessKeyId));
  } catch (err) {
    const orphans = await removeOrphans(ctx, userName, known, undefined);
    throw new Stop(asActionError(`${errorMessage(err)}. ${orphans}${await undoUser(ctx, createdUser)}`));
  }
  result.newKeyId = fresh.accessKeyId;
  io.info(`Created access key ${fresh.accessKeyId}`);
  if (inputs.verifyTimeoutSeconds > 0) {
    try {
      await io.group('Verify the new key', async () => {
        const started = ctx.clock.now();
        const attempts = await verifyKey(aws.stsFor, fresh, userName, {
          timeoutMs: inputs.verifyTimeoutSeconds * 1000,
          clock: ctx.clock,
          onRetry: (n, reason) => io.info(`attempt ${n}: not yet (${reason})`),
        });
        io.info(`${fresh.accessKeyId} authenticates as ${userName} (attempt ${attempts}, ${ctx.clock.now() - started} ms)`);
      });
    } catch (err) {
      throw new Stop(asActionError(`${errorMessage(err)}. ${await discardNewKey(ctx, userName, fresh.accessKeyId, createdUser)}`));
    }
  }

  // 6. Write both secrets everywhere.
  await io.group(`Write secrets (${prepared.length} destinations)`, () =>
    writeAll(ctx, prepared, result, fresh, oldPair, userName, createdUser),
  );

  // 7. Only now: the previous keys.
  result.rotated = true;
  result.accessKeyId = fresh.accessKeyId;
  if (inputs.exportCredentials) exportCredentials(io, fresh);
  await io.group('Previous keys', () => retirePrevious(ctx, thePlan, userName, result));
}

function settingDifferences(inputs: Inputs, have: Awaited<ReturnType<typeof userSettings>>): string[] {
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

export function describePlan(p: Plan, user: string, userExists: boolean, count: number, dryRun: boolean): string {
  const prefix = dryRun ? 'Dry run: would ' : 'Plan: ';
  if (p.action === 'skip') return `Plan: skip (${p.reason}); nothing changes`;
  const steps = [
    userExists ? undefined : `create IAM user ${user}`,
    p.makeRoom ? `delete ${p.makeRoom.id} (${p.makeRoom.status}) to make room` : undefined,
    `create a new access key for ${user}`,
    `write it to ${count} destination(s)`,
    p.previous.length
      ? `${p.previousKey} the previous key(s) ${p.previous.map((k) => k.id).join(', ')}`
      : undefined,
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

/** Delete the new key (nothing holds it) and, for a user this run created, the user. Returns what happened. */
async function discardNewKey(
  ctx: RotateContext,
  user: string,
  keyId: string,
  createdUser: CreatedUser | undefined,
): Promise<string> {
  try {
    await deleteAccessKey(ctx.aws.iam, user, keyId);
  } catch (err) {
    return `Deleting the unused new key ${keyId} failed too (${errorMessage(err)}): delete it by hand; no destination holds it.`;
  }
  return `Deleted the new key ${keyId}; no destination was changed.${await undoUser(ctx, createdUser)}`;
}

/**
 * Delete keys that a retried CreateAccessKey left behind (created, but their answer lost): keys that were not there
 * before and are not `keep`. Nobody holds them. Returns one sentence.
 */
async function removeOrphans(ctx: RotateContext, user: string, known: Set<string>, keep: string | undefined): Promise<string> {
  try {
    const orphans = (await listAccessKeys(ctx.aws.iam, user)).filter((k) => !known.has(k.id) && k.id !== keep);
    for (const k of orphans) await deleteAccessKey(ctx.aws.iam, user, k.id);
    return orphans.length
      ? `Deleted ${orphans.map((k) => k.id).join(', ')}, created by an attempt whose answer was lost.`
      : 'No key was left behind.';
  } catch (err) {
    return `Could not check for a key left behind by a lost CreateAccessKey answer (${errorMessage(err)}): list the user's keys.`;
  }
}

async function undoUser(ctx: RotateContext, createdUser: CreatedUser | undefined): Promise<string> {
  return createdUser ? ` ${await deleteCreatedUser(ctx.aws.iam, createdUser)}` : '';
}

type WriteState = 'untouched' | 'partial' | 'written';

async function writeAll(
  ctx: RotateContext,
  prepared: Prepared[],
  result: RotationResult,
  fresh: Credentials,
  oldPair: Credentials | undefined,
  user: string,
  createdUser: CreatedUser | undefined,
): Promise<void> {
  const { inputs, gh, io } = ctx;
  const names = [inputs.accessKeyIdSecretName, inputs.secretAccessKeySecretName] as const;
  const states: WriteState[] = prepared.map(() => 'untouched');
  const n = prepared.length;
  for (let i = 0; i < n; i++) {
    const p = prepared[i];
    try {
      await ctx.pacer.take(2);
      await writeSecret(gh, p.destination, p.publicKey, names[0], fresh.accessKeyId, p.selectedRepositoryIds);
      states[i] = 'partial';
      await writeSecret(gh, p.destination, p.publicKey, names[1], fresh.secretAccessKey, p.selectedRepositoryIds);
      states[i] = 'written';
      result.destinations[i].outcome = 'written';
      result.destinations[i].keyId = fresh.accessKeyId;
      io.info(`[${i + 1}/${n}] ${label(p.destination)}: ${names.join(', ')}`);
    } catch (err) {
      io.info(`[${i + 1}/${n}] ${label(p.destination)}: failed`);
      throw new Stop(await recoverFromWriteFailure(ctx, prepared, states, result, fresh, oldPair, user, createdUser, err));
    }
  }
}

/**
 * A write failed: make sure every destination holds a working key. Returns the error to report, which says what
 * failed and where every destination stands.
 */
async function recoverFromWriteFailure(
  ctx: RotateContext,
  prepared: Prepared[],
  states: WriteState[],
  result: RotationResult,
  fresh: Credentials,
  oldPair: Credentials | undefined,
  user: string,
  createdUser: CreatedUser | undefined,
  cause: unknown,
): Promise<ActionError> {
  const { inputs, gh, io } = ctx;
  const what = errorMessage(cause);
  const touched = states.flatMap((s, i) => (s === 'untouched' ? [] : [i]));
  const previousId = result.plan?.current?.id;

  if (touched.length === 0) {
    return new ActionError(`${what}. ${await discardNewKey(ctx, user, fresh.accessKeyId, createdUser)}`, { cause });
  }

  // Put the previous key back where the new one went. A destination whose second write failed still holds the
  // previous secret, so only its key id needs putting back, and that needs no knowledge of the previous secret.
  // A destination that got both new secrets can only be restored when the previous pair is known (self-rotation).
  const unrestored: number[] = [];
  for (const i of touched) {
    const p = prepared[i];
    const restoreId = oldPair?.accessKeyId ?? (states[i] === 'partial' ? previousId : undefined);
    if (restoreId === undefined || (states[i] === 'written' && !oldPair)) {
      unrestored.push(i);
      continue;
    }
    try {
      const both = states[i] === 'written' && oldPair !== undefined;
      await ctx.pacer.take(both ? 2 : 1);
      await writeSecret(gh, p.destination, p.publicKey, inputs.accessKeyIdSecretName, restoreId, p.selectedRepositoryIds);
      if (both && oldPair) {
        await writeSecret(gh, p.destination, p.publicKey, inputs.secretAccessKeySecretName, oldPair.secretAccessKey, p.selectedRepositoryIds);
      }
      result.destinations[i].outcome = 'restored';
      result.destinations[i].keyId = restoreId;
      io.info(`restored ${restoreId} to ${label(p.destination)}`);
    } catch (err) {
      io.warning(`could not restore ${restoreId} to ${label(p.destination)}: ${errorMessage(err)}`);
      unrestored.push(i);
    }
  }
  if (unrestored.length === 0) {
    return new ActionError(
      `${what}. Restored the previous key ${oldPair?.accessKeyId ?? previousId} to ${touched.length} destination(s) already written. ` +
        (await discardNewKey(ctx, user, fresh.accessKeyId, createdUser)),
      { cause },
    );
  }
  for (const i of unrestored) markHolding(result, i, states[i], fresh.accessKeyId);
  return keptBoth(result, what, fresh.accessKeyId, oldPair?.accessKeyId ?? previousId, cause);
}

function markHolding(result: RotationResult, i: number, state: WriteState, newId: string): void {
  const r = result.destinations[i];
  if (state === 'written') {
    r.outcome = 'written';
    r.keyId = newId;
  } else {
    r.outcome = 'mismatched';
    r.keyId = undefined;
  }
}

/** Both keys stay active: say which destination holds which, and how to converge. */
function keptBoth(result: RotationResult, what: string, newId: string, previousId: string | undefined, cause: unknown): ActionError {
  const holdingNew = result.destinations.filter((r) => r.keyId === newId).map((r) => r.label);
  const holdingOld = result.destinations.filter((r) => r.outcome === 'unchanged' || r.outcome === 'restored').map((r) => r.label);
  const mismatched = result.destinations.filter((r) => r.outcome === 'mismatched').map((r) => r.label);
  const parts = [
    `Both keys stay active: ${holdingNew.length} destination(s) hold the new key ${newId} (${holdingNew.join(', ')})`,
    holdingOld.length ? `${holdingOld.length} still hold ${previousId ?? 'their previous secrets'} (${holdingOld.join(', ')})` : '',
    mismatched.length
      ? `${mismatched.join(', ')} hold(s) the new key id with the previous secret (a mismatched pair) and must be rewritten`
      : '',
  ].filter(Boolean);
  return new ActionError(
    `${what}. ${parts.join('; ')}. Fix the cause, then rerun with key-limit: delete-oldest to converge on one key.`,
    { cause },
  );
}

async function retirePrevious(ctx: RotateContext, p: Plan, user: string, result: RotationResult): Promise<void> {
  if (p.action !== 'rotate') return;
  const { iam } = ctx.aws;
  const failures: string[] = [];
  for (const key of p.previous) {
    try {
      if (p.previousKey === 'delete') {
        await deleteAccessKey(iam, user, key.id);
        result.previous.push({ id: key.id, action: 'deleted' });
        ctx.io.info(`Deleted previous key ${key.id}`);
      } else if (p.previousKey === 'deactivate' && key.status === 'Active') {
        await deactivateAccessKey(iam, user, key.id);
        result.previous.push({ id: key.id, action: 'deactivated' });
        ctx.io.info(`Deactivated previous key ${key.id} (a later run deletes it to make room)`);
      } else {
        result.previous.push({ id: key.id, action: 'kept' });
        ctx.io.info(`Kept previous key ${key.id} (${key.status})`);
      }
    } catch (err) {
      failures.push(errorMessage(err));
    }
  }
  if (failures.length > 0) {
    throw new ActionError(
      `Every destination holds the new key ${result.newKeyId}, but retiring the previous key failed: ${failures.join('; ')}. ` +
        `It still works; ${p.previousKey} it by hand (or rerun: the next rotation makes room).`,
    );
  }
}
