/**
 * A best-effort lease on the IAM user: a user tag naming the run, its URL and an expiry. Two runs on one user (from
 * two repositories, or without a concurrency group) take turns instead of racing. IAM is eventually consistent, so
 * the lease is defence in depth: the key checks before every delete hold even when two runs both believe they hold it.
 */
import { awsErrorName, isAccessDenied, listUserTags, tagUser, untagUser } from './aws.js';
import { isoSeconds } from './clock.js';
import type { RotateContext } from './context.js';
import { ActionError, errorMessage } from './errors.js';
import type { Tag } from './inputs.js';
import type { Journal } from './journal.js';

export const LEASE_TAG = 'rotate-aws-access-key:lease';

export interface Lease {
  /** The holder's run URL (or local label). */
  holder: string;
  until: number;
}

/** Tag value: `run <url> until <ISO time>` (IAM tag charset; at most 256 characters). */
export function leaseValue(holder: string, until: number): string {
  return `run ${holder} until ${isoSeconds(until)}`.slice(0, 256);
}

export function parseLease(value: string | undefined): Lease | undefined {
  const m = value === undefined ? null : /^run (\S+) until (\S+)$/.exec(value);
  if (!m) return undefined;
  const until = Date.parse(m[2]);
  return Number.isNaN(until) ? undefined : { holder: m[1], until };
}

/** The run without its attempt: a re-run of the same workflow run takes over its earlier attempt's lease. */
const sameRun = (a: string, b: string) => a.replace(/\/attempts\/\d+$/, '') === b.replace(/\/attempts\/\d+$/, '');

/** The user's tags and the lease among them. */
async function currentLease(ctx: RotateContext, user: string): Promise<{ lease: Lease | undefined; tags: Tag[] }> {
  const tags = await listUserTags(ctx.aws.iam, user);
  return { lease: parseLease(tags.find((t) => t.Key === LEASE_TAG)?.Value), tags };
}

/** What taking the lease found: 'denied' when the caller may not tag the user; the user's tags when it could read them. */
export interface LeaseOutcome {
  outcome: 'taken' | 'denied';
  tags: Tag[] | undefined;
}

/**
 * Take the lease, waiting (bounded) for another run's live lease to end. Throws, before anything changed, when
 * another run still holds it. When the caller may not tag the user, warns and goes on without a lease.
 */
export async function takeLease(ctx: RotateContext, journal: Journal, user: string): Promise<LeaseOutcome> {
  const { clock, io, run } = ctx;
  const deadline = clock.now() + ctx.lease.waitMs;
  let waitedFor: string | undefined;
  try {
    for (;;) {
      ctx.cancel.checkpoint();
      const { lease: held } = await currentLease(ctx, user);
      const now = clock.now();
      if (held && held.holder !== run.url && held.until > now && !sameRun(held.holder, run.url)) {
        const until = new Date(held.until).toISOString();
        if (now >= deadline) {
          throw new ActionError(
            `another rotation holds the lease on IAM user ${user}: ${held.holder} (until ${until}); waited ` +
              `${Math.round(ctx.lease.waitMs / 1000)} s and changed nothing. Let that run finish, then rerun (a crashed ` +
              `run's lease expires at ${until}). A concurrency group only serialises runs of one repository.`,
          );
        }
        io.info(`IAM user ${user} is leased by ${held.holder} until ${until}: waiting`);
        waitedFor = held.holder;
        await ctx.cancel.sleep(clock, Math.min(ctx.lease.pollMs, deadline - now));
        continue;
      }
      if (held && held.holder !== run.url && held.until <= now) io.info(`Taking over an expired lease of ${held.holder}`);
      await tagUser(ctx.aws.iam, user, [{ Key: LEASE_TAG, Value: leaseValue(run.url, now + ctx.lease.ttlMs) }]);
      journal.record({ kind: 'lease taken' });
      // Two runs that found no lease and wrote theirs at once: the last write wins; the other goes back to waiting.
      await ctx.cancel.sleep(clock, ctx.lease.settleMs);
      const { lease: after, tags } = await currentLease(ctx, user);
      if (after && after.holder !== run.url) {
        journal.record({ kind: 'lease released' });
        continue;
      }
      io.info(`Leased IAM user ${user} for this run until ${new Date(now + ctx.lease.ttlMs).toISOString()}`);
      return { outcome: 'taken', tags };
    }
  } catch (err) {
    const cause = err instanceof ActionError ? err.cause : err;
    if (waitedFor && /^(InvalidClientTokenId|SignatureDoesNotMatch)$/.test(awsErrorName(cause))) {
      throw new ActionError(
        `while this run waited for ${waitedFor}, the key this job authenticates with stopped working: that run ` +
          `rotated it (and wrote the new key to its destinations). This run changed nothing; rerun it if its ` +
          `destinations differ from that run's.`,
        { cause: err },
      );
    }
    if (!isAccessDenied(err)) throw err;
    io.warning(
      `could not take the lease on IAM user ${user} (${errorMessage(err)}): runs on this user from other repositories ` +
        'are not kept apart, and keys are not described. Grant iam:ListUserTags, iam:TagUser and iam:UntagUser on the ' +
        'user (see the IAM policies).',
    );
    return { outcome: 'denied', tags: undefined };
  }
}

/** Release the lease if this run still holds it. Never throws: a failure is a warning (the lease expires anyway). */
export async function releaseLease(ctx: RotateContext, journal: Journal, user: string): Promise<void> {
  if (!journal.leaseHeld) return;
  try {
    const { lease: held } = await currentLease(ctx, user);
    if (held?.holder === ctx.run.url) await untagUser(ctx.aws.iam, user, [LEASE_TAG]);
    journal.record({ kind: 'lease released' });
  } catch (err) {
    ctx.io.warning(`could not release the lease on IAM user ${user} (${errorMessage(err)}): it expires by itself`);
  }
}

/** For a dry run: say who holds the lease, if anyone. */
export async function describeLease(ctx: RotateContext, user: string): Promise<string | undefined> {
  try {
    const { lease: held } = await currentLease(ctx, user);
    if (!held || held.until <= ctx.clock.now()) return undefined;
    return `IAM user ${user} is leased by ${held.holder} until ${new Date(held.until).toISOString()}: a real run would wait for it`;
  } catch {
    return undefined;
  }
}
