/**
 * A best-effort lease on the IAM user: a user tag naming the run, a token made once per process, and an expiry. Two
 * runs on one user (from two repositories, two jobs of one matrix, or without a concurrency group) take turns instead
 * of racing: a lease is this run's only when its token is this process's. IAM is eventually consistent, so
 * the lease is defence in depth: the key checks before every delete hold even when two runs both believe they hold it.
 */
import { awsErrorName, isAccessDenied, listUserTags, tagUser, untagUser } from '../aws/aws.js';
import { isoSeconds } from '../shared/clock.js';
import type { RotateContext } from './run-state.js';
import { earlierAttempt } from '../keys/records.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { Tag } from '../config/inputs.js';
import type { Journal } from './journal.js';
import { TAG_VALUE_MAX, runLabel, shortLabel, tagText } from '../keys/records.js';

export const LEASE_TAG = 'rotate-aws-access-key:lease';

export interface Lease {
  /** The run that holds it, as the tag names it: owner/name/run id/attempt, or `local` (informational). */
  run: string;
  /** The holder's per-process token (RunIdentity.token). */
  token: string;
  until: number;
}

/**
 * Tag value: `run <owner/name/run id/attempt>+<token> until <ISO time>`, at most 256 characters of IAM's set.
 */
export function leaseValue(run: string, token: string, until: number): string {
  // Everything the action reads back (the token, the expiry) is kept whole; only the run label is shortened to fit.
  const rest = `+${token} until ${isoSeconds(until)}`;
  return `run ${shortLabel(tagText(run), TAG_VALUE_MAX - 'run '.length - rest.length)}${rest}`;
}

/** The lease a tag value names: `run <label>+<token> until <ISO time>`; any other value is no lease. */
export function parseLease(value: string | undefined): Lease | undefined {
  const m = value === undefined ? null : /^run (\S+)\+([A-Za-z0-9]+) until (\S+)$/.exec(value);
  if (!m) return undefined;
  const until = Date.parse(m[3]);
  return Number.isNaN(until) ? undefined : { run: m[1], token: m[2], until };
}

/** Written by this very process: the token matches. */
const isOurs = (ctx: RotateContext, lease: Lease | undefined) => lease !== undefined && lease.token === ctx.run.token;

/** The user's tags, the lease tag's value and the lease in it. */
async function currentLease(
  ctx: RotateContext,
  user: string,
): Promise<{ lease: Lease | undefined; value: string | undefined; tags: Tag[] }> {
  const tags = await listUserTags(ctx.aws.iam, user);
  const value = tags.find((t) => t.Key === LEASE_TAG)?.Value;
  return { lease: parseLease(value), value, tags };
}

/**
 * When `held` counts as ending, in IAM's time: its `until`, but never more than the TTL after `seen`, IAM's time when
 * this run first saw that tag value. No run writes a lease longer than the TTL, so a later `until` (a lease dated
 * 9999, or one written by a runner clock hours ahead) ends a TTL after it was first seen.
 */
const ending = (ctx: RotateContext, held: Lease, seen: number) => Math.min(held.until, seen + ctx.lease.ttlMs);

/** The command that clears a stale lease (a person runs it once the holder is known to be gone). */
export const clearLeaseCommand = (user: string) => `aws iam untag-user --user-name ${user} --tag-keys ${LEASE_TAG}`;

/** The holder as messages name it: its run, and whether it is another job of this very workflow run. */
function holder(ctx: RotateContext, held: Lease): string {
  return `run ${held.run}${held.run === runLabel(ctx) ? ' (another job of this same workflow run)' : ''}`;
}

/** What the settle wait found (LeaseOutcome.settled). */
export interface Settled {
  /** The user's tags as read back after the settle wait, this run's lease among them; undefined when 'denied'. */
  tags: Tag[] | undefined;
  /**
   * Another run's write won the race: this run waited for that run's lease to end and took the lease again. Whatever
   * the caller read about the user (keys, tags) between takeLease and now is stale: read it again.
   */
  waited: boolean;
}

/**
 * What taking the lease found: 'denied' when the caller may not tag the user (the run goes on without a lease);
 * otherwise 'taken', with the user's tags as read just before the write (this run's lease written in).
 */
export interface LeaseOutcome {
  outcome: 'taken' | 'denied';
  tags: Tag[] | undefined;
  /**
   * Confirm the lease: wait `settleMs` (ended early by a cancel, which then throws Cancelled), read the tag back and,
   * if another run's write won (two runs wrote at once: the last write wins), wait for that run's lease (bounded, as
   * takeLease) and take it again, resolving with `waited: true`. Rejects as takeLease does (another run still holds
   * the lease at the deadline; an AWS failure). Resolves at once for 'denied'. The caller overlaps the wait with its
   * own reads, then awaits this before changing anything. Calling it again returns the same promise; a rejection the
   * caller never awaits (its own reads failed first) is not reported as unhandled.
   */
  settled: () => Promise<Settled>;
}

/** The wait shared by takeLease and settled(): one deadline, and the run last waited for (for the error). */
interface Waiting {
  deadline: number;
  waitedFor: string | undefined;
}

/**
 * Take the lease and return at once: wait (bounded) for another run's live lease to end, then write this run's. Throws,
 * before anything changed, when another run still holds it. When the caller may not tag the user, warns and goes on
 * without a lease. The write is confirmed by `settled()` (see LeaseOutcome).
 */
export async function takeLease(ctx: RotateContext, journal: Journal, user: string): Promise<LeaseOutcome> {
  // How long to wait is the runner's business (its clock); when a lease ends is IAM's (IAM's clock, read from its
  // answers): a runner clock hours off changes no lease decision.
  const waiting: Waiting = { deadline: ctx.clock.now() + ctx.lease.waitMs, waitedFor: undefined };
  let tags: Tag[];
  try {
    tags = await acquire(ctx, journal, user, waiting);
  } catch (err) {
    const stopped = explain(err, waiting);
    if (!isAccessDenied(stopped)) throw stopped;
    ctx.io.warning(
      `could not take the lease on IAM user ${user} (${errorMessage(stopped)}): runs on this user from other repositories ` +
        'are not kept apart, and keys are not described. Grant iam:ListUserTags, iam:TagUser and iam:UntagUser on the ' +
        'user (see the IAM policies).',
    );
    return { outcome: 'denied', tags: undefined, settled: async () => ({ tags: undefined, waited: false }) };
  }
  let settling: Promise<Settled> | undefined;
  const settled = () => {
    if (!settling) {
      settling = settle(ctx, journal, user, waiting);
      settling.catch(() => {});
    }
    return settling;
  };
  return { outcome: 'taken', tags, settled };
}

/** Wait for another run's live lease to end, then write this run's. Returns the tags last read, with the lease in. */
async function acquire(ctx: RotateContext, journal: Journal, user: string, waiting: Waiting): Promise<Tag[]> {
  const { clock, io, run } = ctx;
  let seen: { value: string | undefined; at: number } | undefined;
  for (;;) {
    ctx.cancel.checkpoint();
    const { lease: held, value, tags } = await currentLease(ctx, user);
    const iamNow = ctx.aws.time.now();
    // Each lease once in the log, however long the wait.
    const fresh = !seen || seen.value !== value;
    if (!seen || seen.value !== value) seen = { value, at: iamNow };
    const heldUntil = held ? ending(ctx, held, seen.at) : 0;
    const now = clock.now();
    if (held && !isOurs(ctx, held) && heldUntil > iamNow && !earlierAttempt(ctx, held.run)) {
      const until = isoSeconds(heldUntil);
      if (now >= waiting.deadline) {
        throw new ActionError(
          `another rotation holds the lease on IAM user ${user} (tag ${LEASE_TAG}): ${holder(ctx, held)}, until ` +
            `${until} (IAM time); waited ${Math.round(ctx.lease.waitMs / 1000)} s. Let that run ` +
            `finish, then rerun. If it is gone (crashed or cancelled), its lease expires at ${until}, or clear it ` +
            `now: ${clearLeaseCommand(user)}. A concurrency group only serialises runs of one repository.`,
        );
      }
      if (fresh) {
        io.info(
          `IAM user ${user} is leased by ${holder(ctx, held)} until ${until} (IAM time; tag ${LEASE_TAG}): waiting ` +
            `up to ${Math.ceil((waiting.deadline - now) / 1000)} s. If that run is gone, clear it with: ${clearLeaseCommand(user)}`,
        );
      }
      waiting.waitedFor = `run ${held.run}`;
      await ctx.cancel.sleep(clock, Math.min(ctx.lease.pollMs, waiting.deadline - now));
      continue;
    }
    if (held && !isOurs(ctx, held)) {
      const taking = `Taking over the lease on IAM user ${user} (tag ${LEASE_TAG}) of run ${held.run}`;
      if (heldUntil <= iamNow) io.info(`${taking}: it expired at ${isoSeconds(heldUntil)} (IAM time)`);
      else {
        io.info(
          `${taking}, an earlier attempt of this workflow run: GitHub starts attempt ${run.attempt} only after it ` +
            `ended (its lease ran until ${isoSeconds(heldUntil)}, IAM time)`,
        );
      }
    }
    const until = iamNow + ctx.lease.ttlMs;
    const lease = { Key: LEASE_TAG, Value: leaseValue(runLabel(ctx), run.token, until) };
    await tagUser(ctx.aws.iam, user, [lease]);
    journal.record({ kind: 'lease taken', until });
    io.info(`Leased IAM user ${user} for this run until ${isoSeconds(until)} (IAM time; tag ${LEASE_TAG})`);
    return value === undefined ? [...tags, lease] : tags.map((t) => (t.Key === LEASE_TAG ? lease : t));
  }
}

/** settled(): wait, read the lease back; when another run's write won, wait for it and take the lease again. */
async function settle(ctx: RotateContext, journal: Journal, user: string, waiting: Waiting): Promise<Settled> {
  let waited = false;
  try {
    for (;;) {
      await ctx.cancel.sleep(ctx.clock, ctx.lease.settleMs);
      ctx.cancel.checkpoint();
      const { lease: after, tags } = await currentLease(ctx, user);
      // Two runs that found no lease and wrote theirs at once: the last write wins; the other goes back to waiting.
      if (!after || isOurs(ctx, after)) return { tags, waited };
      journal.record({ kind: 'lease released' });
      waited = true;
      await acquire(ctx, journal, user, waiting);
    }
  } catch (err) {
    throw explain(err, waiting);
  }
}

/**
 * A key that stopped working while this run waited for another run was rotated by that run (the job's secret is a
 * copy that run wrote anew): say so instead of "invalid credentials".
 */
function explain(err: unknown, waiting: Waiting): unknown {
  const cause = err instanceof ActionError ? err.cause : err;
  if (!waiting.waitedFor || !/^(InvalidClientTokenId|SignatureDoesNotMatch)$/.test(awsErrorName(cause))) return err;
  return new ActionError(
    `while this run waited for ${waiting.waitedFor}, the key this job authenticates with stopped working: that run ` +
      `rotated it (and wrote the new key to its destinations): rerun it if its destinations differ from that run's`,
    { cause: err },
  );
}

/**
 * What a lease this run could not give back means: the tag stays until its expiry (other runs on the user wait for it
 * until then), and the command that clears it now.
 */
export function leftBehind(user: string, journal: Journal, certain = true): string {
  const until = journal.leaseUntil === undefined ? 'its expiry' : `${isoSeconds(journal.leaseUntil)} (IAM time)`;
  return (
    `the tag ${LEASE_TAG} ${certain ? 'stays' : 'may be left'} on the user until ${until}, and other runs on this ` +
    `user wait for it until then; to clear it now: ${clearLeaseCommand(user)}`
  );
}

/** Release the lease if this run still holds it. Never throws: a failure is a warning (the lease expires anyway). */
export async function releaseLease(ctx: RotateContext, journal: Journal, user: string, alsoRemove: string[] = []): Promise<void> {
  if (!journal.leaseHeld) return;
  try {
    const { lease: held } = await currentLease(ctx, user);
    // With the lease, in the same request: this run's own tags that served their purpose (the create marker).
    if (isOurs(ctx, held)) await untagUser(ctx.aws.iam, user, [LEASE_TAG, ...alsoRemove]);
    journal.record({ kind: 'lease released' });
  } catch (err) {
    ctx.io.warning(`could not release the lease on IAM user ${user} (${errorMessage(err)}): ${leftBehind(user, journal)}`);
  }
}

/** For a dry run: say who holds the lease, if anyone. */
export async function describeLease(ctx: RotateContext, user: string): Promise<string | undefined> {
  try {
    const { lease: held } = await currentLease(ctx, user);
    const iamNow = ctx.aws.time.now();
    const until = held ? ending(ctx, held, iamNow) : 0;
    if (!held || until <= iamNow) return undefined;
    return (
      `IAM user ${user} is leased by ${holder(ctx, held)} until ${isoSeconds(until)} (IAM time; tag ${LEASE_TAG}): a ` +
      `real run would wait for it. If that run is gone, clear it with: ${clearLeaseCommand(user)}`
    );
  } catch {
    return undefined;
  }
}
