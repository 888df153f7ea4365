/**
 * The lease on the IAM user (src/rotation/lease.ts), in-process against an in-memory IAM that holds the user's tags: when a
 * run waits, when it takes a lease over, how it loses a race it entered at the same moment, and what it gives back.
 * The rotation tests (rotation.test.ts, worlds.test.ts) run the same code against moto; these pin each decision.
 */
import { describe, expect, it } from '@jest/globals';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { Cancellation, Cancelled } from '../src/shared/cancel.js';
import { runIdentity } from '../src/config/context.js';
import type { RotateContext } from '../src/rotation/run-state.js';
import { ActionError } from '../src/shared/errors.js';
import { Journal } from '../src/rotation/journal.js';
import { LEASE_TAG, describeLease, leaseValue, parseLease, releaseLease, takeLease } from '../src/rotation/lease.js';
import { fakeClock, recorder } from './support/harness.js';
import { awsFailure, memoryIam } from './support/memory-iam.js';
import { memoryClients } from './support/memory-world.js';

const USER = 'deployer';
const START = Date.parse('2026-11-27T12:00:00Z');
/** This run (octo/rotator run 42, attempt 1, its process's token) and another run's lease holder. */
const OURS = 'octo/rotator/42/1';
const TOKEN = '0123456789abcdef0123456789abcdef';
const OTHER = 'octo/other/7/1';
const OTHER_TOKEN = 'fedcba9876543210fedcba9876543210';
const SETTINGS = { ttlMs: 60 * 60_000, waitMs: 10_000, pollMs: 1_000, settleMs: 1_500 };

/** The user's tags in an in-memory IAM; `before` runs ahead of each request (to fail it, or to change the tags). */
function world(
  opts: {
    attempt?: string;
    token?: string;
    tags?: Record<string, string>;
    lease?: Partial<typeof SETTINGS>;
    /** How far the runner's clock is ahead of IAM's (IAM's time starts at START). */
    runnerSkewMs?: number;
  } = {},
) {
  const mem = memoryIam({ tags: opts.tags });
  const { tags, calls, before } = mem;
  const skew = opts.runnerSkewMs ?? 0;
  const clock = fakeClock(START + skew);
  const { aws } = memoryClients(mem, { as: { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin' }, clock, iamSkewMs: -skew });
  const io = recorder();
  const cancel = new Cancellation();
  const ctx = {
    aws,
    clock,
    io,
    cancel,
    lease: { ...SETTINGS, ...opts.lease },
    run: {
      repository: 'octo/rotator',
      runId: '42',
      attempt: opts.attempt ?? '1',
      url: `https://github.com/octo/rotator/actions/runs/42/attempts/${opts.attempt ?? '1'}`,
      token: opts.token ?? TOKEN,
    },
  } as unknown as RotateContext;
  const journal = new Journal(0);
  return {
    ctx,
    journal,
    tags,
    calls,
    clock,
    io,
    cancel,
    before,
    kinds: () => journal.effects.map((e) => e.kind),
  };
}

/** takeLease, then settled() at once: a caller that reads nothing in between. */
async function take(w: ReturnType<typeof world>) {
  const lease = await takeLease(w.ctx, w.journal, USER);
  return { outcome: lease.outcome, tags: lease.tags, settled: await lease.settled() };
}

/** The lease tag of run `holder` (another run's token unless given). */
const CLEAR = `aws iam untag-user --user-name ${USER} --tag-keys rotate-aws-access-key:lease`;
const leased = (until: string) => `Leased IAM user ${USER} for this run until ${until} (IAM time; tag rotate-aws-access-key:lease)`;
const expired = (run: string, at: string) =>
  `Taking over the lease on IAM user ${USER} (tag rotate-aws-access-key:lease) of run ${run}: it expired at ${at} (IAM time)`;

const held = (holder: string, until: number, token = OTHER_TOKEN) => ({ [LEASE_TAG]: leaseValue(holder, token, until) });

describe('the lease tag', () => {
  it('reads back what it writes, to the second: the run, its token and the expiry', () => {
    const value = leaseValue(OURS, TOKEN, START + 3_600_000);
    expect(value).toBe(`run ${OURS}+${TOKEN} until 2026-11-27T13:00:00Z`);
    expect(parseLease(value)).toEqual({ run: OURS, token: TOKEN, until: START + 3_600_000 });
  });

  it.each([
    undefined,
    '',
    'run x',
    `run ${OURS}+${TOKEN} until never`,
    `run ${OURS}+${TOKEN} until 2026-11-27T13:00:00Z extra`,
    `xrun ${OURS}+${TOKEN} until 2026-11-27T13:00:00Z`,
    `run ${OURS}+ until 2026-11-27T13:00:00Z`,
    // 1.0.0's form (no token; a URL or `local/…`): that version lived four days, its leases are read as none
    'run https://github.com/octo/other/actions/runs/7/attempts/2 until 2026-11-27T13:00:00Z',
    'run local/pid-12-1764244800000 until 2026-11-27T13:00:00Z',
  ])(
    'is not a lease when it reads %p',
    (value) => expect(parseLease(value)).toBeUndefined(),
  );
});

describe("the lease's holder token (runIdentity)", () => {
  const env = { GITHUB_REPOSITORY: 'octo/rotator', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '1' };

  it('is random, made once per process: two jobs of one run and attempt (a matrix) each have their own', () => {
    const a = runIdentity(env);
    const b = runIdentity(env);
    expect(a.token).toMatch(/^[0-9a-f]{32}$/);
    expect(b.token).toMatch(/^[0-9a-f]{32}$/);
    expect(a.token).not.toBe(b.token);
    expect({ ...a, token: undefined }).toEqual({ ...b, token: undefined });
  });

  it('can be given (for tests)', () => {
    expect(runIdentity(env, TOKEN).token).toBe(TOKEN);
  });
});

describe('takeLease', () => {
  it('on a free user: writes the lease and returns at once, with the tags it read and the lease written in', async () => {
    const w = world({ tags: { team: 'platform' } });

    const taken = await takeLease(w.ctx, w.journal, USER);

    expect(taken.outcome).toBe('taken');
    const ours = { Key: LEASE_TAG, Value: `run ${OURS}+${TOKEN} until 2026-11-27T13:00:00Z` };
    expect(taken.tags).toEqual([{ Key: 'team', Value: 'platform' }, ours]);
    expect(w.calls).toEqual(['ListUserTags', 'TagUser']);
    expect(w.clock.slept).toEqual([]); // the settle wait is the caller's to overlap
    expect(w.kinds()).toEqual(['lease taken']);
    expect(w.journal.leaseHeld).toBe(true);
    expect(w.journal.leaseUntil).toBe(START + 3_600_000);
    expect(w.io.lines).toEqual([leased('2026-11-27T13:00:00Z')]);

    // settled(): waits settleMs, reads the lease back, finds it this run's.
    expect(await taken.settled()).toEqual({ tags: [{ Key: 'team', Value: 'platform' }, ours], waited: false });
    expect(w.calls).toEqual(['ListUserTags', 'TagUser', 'ListUserTags']);
    expect(w.clock.slept).toEqual([1_500]);
    expect(w.kinds()).toEqual(['lease taken']);
  });

  it('a lease tag already there (this run renewing its own) is replaced in the tags returned, not added', async () => {
    const w = world({ tags: { a: '1', ...held(OURS, START - 1_000, TOKEN), b: '2' } });
    const taken = await takeLease(w.ctx, w.journal, USER);
    expect(taken.tags?.map((t) => t.Key)).toEqual(['a', LEASE_TAG, 'b']);
    expect(taken.tags?.[1].Value).toBe(leaseValue(OURS, TOKEN, START + 3_600_000));
  });

  it('the caller reads between takeLease and settled(): the settle wait is off the critical path', async () => {
    const w = world();
    const taken = await takeLease(w.ctx, w.journal, USER);
    await w.ctx.aws.iam.send(new ListAccessKeysCommand({ UserName: USER })); // the caller's preflight
    const settled = await taken.settled();
    expect(settled.waited).toBe(false);
    expect(w.calls).toEqual(['ListUserTags', 'TagUser', 'ListAccessKeys', 'ListUserTags']);
  });

  it('settled() is one promise however often it is called', async () => {
    const w = world();
    const taken = await takeLease(w.ctx, w.journal, USER);
    expect(taken.settled()).toBe(taken.settled());
    await taken.settled();
    expect(w.calls.filter((c) => c === 'ListUserTags')).toHaveLength(2);
  });

  it('a cancel during the settle wait: settled() throws Cancelled without reading the lease back', async () => {
    const w = world();
    const taken = await takeLease(w.ctx, w.journal, USER);
    w.cancel.cancel('SIGINT');
    await expect(taken.settled()).rejects.toBeInstanceOf(Cancelled);
    expect(w.calls).toEqual(['ListUserTags', 'TagUser']);
    expect(w.journal.leaseHeld).toBe(true); // released at the end of the run, as always
  });

  it('a settle the caller never awaits (its own reads failed first) is no unhandled rejection', async () => {
    const w = world();
    const taken = await takeLease(w.ctx, w.journal, USER);
    w.before(() => {
      throw awsFailure('ServiceFailure', 500);
    });
    void taken.settled();
    await new Promise((resolve) => setTimeout(resolve, 10)); // jest fails the test on an unhandled rejection
    await expect(taken.settled()).rejects.toThrow(/ServiceFailure/);
  });

  it("takes over another run's lease that has expired, without waiting", async () => {
    const w = world({ tags: held(OTHER, START - 1_000) });
    expect((await take(w)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))?.token).toBe(TOKEN);
    expect(w.io.lines[0]).toBe(expired(OTHER, '2026-11-27T11:59:59Z'));
  });

  it('takes over a lease that ends at this very moment, and waits for one that ends a second later', async () => {
    const now = world({ tags: held(OTHER, START) });
    await take(now);
    expect(now.clock.slept).toEqual([1_500]);

    const later = world({ tags: held(OTHER, START + 1_000) });
    await take(later);
    expect(later.clock.slept).toEqual([1_000, 1_500]);
    expect(later.io.lines[0]).toBe(
      `IAM user ${USER} is leased by run ${OTHER} until 2026-11-27T12:00:01Z (IAM time; tag rotate-aws-access-key:lease): ` +
        `waiting up to 10 s. If that run is gone, clear it with: ${CLEAR}`,
    );
    expect(later.io.lines[1]).toBe(expired(OTHER, '2026-11-27T12:00:01Z'));
    expect(now.io.lines[0]).toBe(expired(OTHER, '2026-11-27T12:00:00Z'));
  });

  it('polls a live lease, the last wait cut to the deadline, then stops having changed nothing', async () => {
    const w = world({ tags: held(OTHER, START + 30 * 60_000), lease: { waitMs: 2_500 } });

    const err = await take(w).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(ActionError);
    expect((err as Error).message).toBe(
      `another rotation holds the lease on IAM user ${USER} (tag rotate-aws-access-key:lease): run ${OTHER}, until ` +
        '2026-11-27T12:30:00Z (IAM time); waited 3 s. Let that run finish, then rerun. If it is gone ' +
        `(crashed or cancelled), its lease expires at 2026-11-27T12:30:00Z, or clear it now: ${CLEAR}. A concurrency ` +
        'group only serialises runs of one repository.',
    );
    // The wait is in the log once, not at every look.
    expect(w.io.lines).toEqual([
      `IAM user ${USER} is leased by run ${OTHER} until 2026-11-27T12:30:00Z (IAM time; tag rotate-aws-access-key:lease): ` +
        `waiting up to 3 s. If that run is gone, clear it with: ${CLEAR}`,
    ]);
    expect(w.clock.slept).toEqual([1_000, 1_000, 500]);
    expect(w.calls).toEqual(['ListUserTags', 'ListUserTags', 'ListUserTags', 'ListUserTags']);
    expect(w.kinds()).toEqual([]);
    expect(w.tags.get(LEASE_TAG)).toBe(leaseValue(OTHER, OTHER_TOKEN, START + 30 * 60_000));
  });

  it('takes the lease once the other run gives it back', async () => {
    const w = world({ tags: held(OTHER, START + 30 * 60_000) });
    w.before((command, n) => {
      if (command === 'ListUserTags' && n === 3) w.tags.delete(LEASE_TAG); // the other run finished
    });

    expect((await take(w)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_000, 1_000, 1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))).toEqual({ run: OURS, token: TOKEN, until: START + 2_000 + 3_600_000 });
  });

  it.each([
    ['attempt 1 of this run, as attempt 2', 'octo/rotator/42/1', '2'],
    ['attempt 12 of this run, as attempt 13', 'octo/rotator/42/12', '13'],
  ])('takes over a live lease of %s at once: GitHub starts an attempt only after the one before ended', async (_, holder, attempt) => {
    const tags = held(holder, START + 30 * 60_000);
    const w = world({ attempt, tags });
    expect((await take(w)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))).toEqual({ run: `octo/rotator/42/${attempt}`, token: TOKEN, until: START + 3_600_000 });
    expect(w.io.lines[0]).toBe(
      `Taking over the lease on IAM user ${USER} (tag rotate-aws-access-key:lease) of run ${holder}, an earlier attempt ` +
        `of this workflow run: GitHub starts attempt ${attempt} only after it ended (its lease ran until 2026-11-27T12:30:00Z, IAM time)`,
    );
  });

  it('renews a live lease of this very process (its token) without a word about taking it over', async () => {
    const w = world({ tags: held(OURS, START + 30 * 60_000, TOKEN) });
    expect((await take(w)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_500]);
    expect(w.io.lines).toEqual([leased('2026-11-27T13:00:00Z')]);
  });

  it('renews its own expired lease without calling it another run\'s', async () => {
    const w = world({ tags: held(OURS, START - 1_000, TOKEN) });
    expect((await take(w)).outcome).toBe('taken');
    expect(w.io.lines).toEqual([leased('2026-11-27T13:00:00Z')]);
  });

  it.each([
    ['another run of the same workflow', 'octo/rotator/421/1', OTHER_TOKEN, '1'],
    ['the same run id in another repository', 'octo/other/42/1', OTHER_TOKEN, '1'],
    ['another job of this very run and attempt (a matrix): same label, another token', OURS, OTHER_TOKEN, '1'],
    ['a later attempt of this run', 'octo/rotator/42/3', OTHER_TOKEN, '2'],
    ['this attempt, in another process (a re-run job)', 'octo/rotator/42/2', OTHER_TOKEN, '2'],
  ])('waits for a live lease of %s', async (_, holder, token, attempt) => {
    const tags = held(holder, START + 30 * 60_000, token);
    const w = world({ attempt, tags, lease: { waitMs: 1_000 } });
    await expect(take(w)).rejects.toThrow(/^another rotation holds the lease/);
    expect(w.calls).not.toContain('TagUser');
  });

  it('names a matrix sibling as another job of this same workflow run', async () => {
    const w = world({ tags: held(OURS, START + 30 * 60_000), lease: { waitMs: 0 } });
    await expect(take(w)).rejects.toThrow(
      `another rotation holds the lease on IAM user ${USER} (tag rotate-aws-access-key:lease): run ${OURS} (another job of this same workflow run), until 2026-11-27T12:30:00Z (IAM time)`,
    );
  });

  it('of two runs that wrote at once, the one whose lease was overwritten goes back to waiting, and settled() says so', async () => {
    const w = world();
    w.before((command, n) => {
      // Right after our write, the other run's write lands; that run gives the lease back two looks later.
      if (command === 'ListUserTags' && n === 3) w.tags.set(LEASE_TAG, leaseValue(OTHER, OTHER_TOKEN, START + 3_600_000));
      if (command === 'ListUserTags' && n === 6) w.tags.delete(LEASE_TAG);
    });

    const taken = await takeLease(w.ctx, w.journal, USER);
    expect(w.calls).toEqual(['ListUserTags', 'TagUser']);
    const settled = await taken.settled();

    expect(settled.waited).toBe(true); // what the caller read meanwhile is stale
    expect(settled.tags).toEqual([{ Key: LEASE_TAG, Value: leaseValue(OURS, TOKEN, START + 3_500 + 3_600_000) }]);
    expect(w.calls).toEqual(['ListUserTags', 'TagUser', 'ListUserTags', 'ListUserTags', 'ListUserTags', 'ListUserTags', 'TagUser', 'ListUserTags']);
    expect(w.kinds()).toEqual(['lease taken', 'lease released', 'lease taken']);
    expect(w.journal.leaseHeld).toBe(true);
    expect(w.clock.slept).toEqual([1_500, 1_000, 1_000, 1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))?.token).toBe(TOKEN);
    expect(w.io.lines[1]).toMatch(new RegExp(`^IAM user ${USER} is leased by run ${OTHER} until 2026-11-27T13:00:00Z .*: waiting up to 9 s`));
  });

  it('lost the race, and the other run keeps the lease past the deadline: settled() stops, having changed nothing', async () => {
    const w = world({ lease: { waitMs: 3_000 } });
    w.before((command, n) => {
      if (command === 'ListUserTags' && n === 3) w.tags.set(LEASE_TAG, leaseValue(OTHER, OTHER_TOKEN, START + 3_600_000));
    });
    const taken = await takeLease(w.ctx, w.journal, USER);
    await expect(taken.settled()).rejects.toThrow(/^another rotation holds the lease on IAM user deployer .*: run octo\/other\/7\/1, until/);
    expect(w.kinds()).toEqual(['lease taken', 'lease released']);
    expect(w.journal.leaseHeld).toBe(false);
  });

  it('lost the race, and the key stops working while waiting: settled() says the other run rotated it', async () => {
    const w = world();
    w.before((command, n) => {
      if (command === 'ListUserTags' && n === 3) w.tags.set(LEASE_TAG, leaseValue(OTHER, OTHER_TOKEN, START + 3_600_000));
      if (n === 5) throw awsFailure('InvalidClientTokenId', 403);
    });
    const taken = await takeLease(w.ctx, w.journal, USER);
    await expect(taken.settled()).rejects.toThrow(/^while this run waited for run octo\/other\/7\/1, the key this job authenticates with stopped working/);
  });

  it('without permission to read or write tags: warns and goes on without a lease', async () => {
    for (const denied of ['ListUserTags', 'TagUser']) {
      const w = world();
      w.before((command) => {
        if (command === denied) throw awsFailure('AccessDenied', 403);
      });

      const taken = await take(w);

      expect(taken).toEqual({ outcome: 'denied', tags: undefined, settled: { tags: undefined, waited: false } });
      expect(w.journal.leaseHeld).toBe(false);
      expect(w.io.warnings).toEqual([
        `could not take the lease on IAM user ${USER} (iam:${denied} on IAM user ${USER} failed: AccessDenied: AccessDenied ` +
          `for this request. the AWS credentials need iam:${denied} on IAM user ${USER}): runs on this user from other ` +
          'repositories are not kept apart, and keys are not described. Grant iam:ListUserTags, iam:TagUser and ' +
          'iam:UntagUser on the user (see the IAM policies).',
      ]);
    }
  });

  it("IAM's tag quota (LimitExceeded on TagUser) stops the run before anything changed, said as the tag quota", async () => {
    const w = world();
    w.before((command) => {
      if (command === 'TagUser') throw awsFailure('LimitExceeded', 409);
    });
    await expect(take(w)).rejects.toThrow(
      "iam:TagUser on IAM user deployer failed: LimitExceeded: LimitExceeded for this request. IAM user deployer has reached IAM's " +
        'limit of 50 tags per user: this action needs room for 4 (the lease, the create marker, and one per access key): remove tags you do ' +
        'not need (aws iam list-user-tags --user-name deployer)',
    );
    expect(w.kinds()).toEqual([]);
  });

  it('any other failure stops the run, as AWS said it', async () => {
    const w = world();
    w.before(() => {
      throw awsFailure('NoSuchEntity', 404);
    });
    await expect(take(w)).rejects.toThrow(/^iam:ListUserTags on IAM user deployer failed: NoSuchEntity/);
    expect(w.io.warnings).toEqual([]);
  });

  it.each(['InvalidClientTokenId', 'SignatureDoesNotMatch'])(
    'a key that stops working (%s) while waiting was rotated by the run it waited for',
    async (name) => {
      const w = world({ tags: held(OTHER, START + 30 * 60_000) });
      w.before((_command, n) => {
        if (n === 3) throw awsFailure(name, 403);
      });

      const err = (await take(w).catch((e: unknown) => e)) as ActionError;

      expect(err.message).toBe(
        `while this run waited for run ${OTHER}, the key this job authenticates with stopped working: that run rotated it ` +
          "(and wrote the new key to its destinations): rerun it if its destinations differ from that run's",
      );
      expect((err.cause as ActionError).message).toMatch(new RegExp(`^iam:ListUserTags on IAM user deployer failed: ${name}`));
    },
  );

  it('a key that does not work before any wait is the job’s own credentials problem, not another run’s rotation', async () => {
    const w = world();
    w.before(() => {
      throw awsFailure('InvalidClientTokenId', 403);
    });
    await expect(take(w)).rejects.toThrow(
      /^iam:ListUserTags on IAM user deployer failed: InvalidClientTokenId: .* the AWS credentials of this job are invalid/,
    );
  });

  it('a cancel stops the wait at the next look, before anything is written', async () => {
    const w = world({ tags: held(OTHER, START + 30 * 60_000) });
    w.before((_command, n) => {
      if (n === 2) w.cancel.cancel('SIGINT');
    });
    await expect(take(w)).rejects.toBeInstanceOf(Cancelled);
    expect(w.calls).toEqual(['ListUserTags', 'ListUserTags']);
    expect(w.kinds()).toEqual([]);
    expect(w.io.warnings).toEqual([]);
  });
});

describe("the lease's expiry is IAM's time, capped at the TTL", () => {
  const H = 3_600_000;

  describe.each([-2 * H, 0, 2 * H])('with the runner clock %p ms off IAM', (skew) => {
    it("takes over a lease that ended a second ago in IAM's time, and writes IAM's now + TTL", async () => {
      const w = world({ runnerSkewMs: skew, tags: held(OTHER, START - 1_000) });
      expect((await take(w)).outcome).toBe('taken');
      expect(w.clock.slept).toEqual([1_500]);
      expect(parseLease(w.tags.get(LEASE_TAG))?.until).toBe(START + H);
    });

    it("waits for a lease that ends a second later in IAM's time", async () => {
      const w = world({ runnerSkewMs: skew, tags: held(OTHER, START + 1_000) });
      await take(w);
      expect(w.clock.slept).toEqual([1_000, 1_500]);
      expect(parseLease(w.tags.get(LEASE_TAG))?.until).toBe(START + 1_000 + H);
    });

    it('stops at the deadline (measured on the runner), naming the expiry in IAM time', async () => {
      const w = world({ runnerSkewMs: skew, tags: held(OTHER, START + 30 * 60_000), lease: { waitMs: 2_500 } });
      await expect(take(w)).rejects.toThrow(/, until 2026-11-27T12:30:00Z \(IAM time\)/);
      expect(w.clock.slept).toEqual([1_000, 1_000, 500]);
    });

    it('the dry run names a live lease and says nothing for an ended one', async () => {
      expect(await describeLease(world({ runnerSkewMs: skew, tags: held(OTHER, START + 1_000) }).ctx, USER)).toMatch(/until 2026-11-27T12:00:01/);
      expect(await describeLease(world({ runnerSkewMs: skew, tags: held(OTHER, START) }).ctx, USER)).toBeUndefined();
    });
  });

  it.each([
    ['dated 9999', Date.parse('9999-12-31T23:59:59Z')],
    ['written by a runner clock 3 h ahead (an earlier version)', START + 4 * H],
  ])('a lease %s counts as ending a TTL after this run first saw it', async (_, until) => {
    const stuck = world({ tags: held(OTHER, until), lease: { waitMs: 2_500 } });
    await expect(take(stuck)).rejects.toThrow(/, until 2026-11-27T13:00:00Z \(IAM time\)/);
    expect(await describeLease(world({ tags: held(OTHER, until) }).ctx, USER)).toMatch(/until 2026-11-27T13:00:00/);

    // With a wait longer than the TTL, the run takes it over once the TTL has passed.
    const w = world({ tags: held(OTHER, until), lease: { ttlMs: 5_000, waitMs: 20_000 } });
    expect((await take(w)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_000, 1_000, 1_000, 1_000, 1_000, 1_500]);
    expect(w.io.lines.at(-2)).toBe(expired(OTHER, '2026-11-27T12:00:05Z'));
  });

  it('a lease that changes while the run waits is seen afresh', async () => {
    const w = world({ tags: held(OTHER, START + 4 * H), lease: { ttlMs: 3_000, waitMs: 20_000 } });
    w.before((command, n) => {
      if (command === 'ListUserTags' && n === 3) w.tags.set(LEASE_TAG, leaseValue('octo/third/1/1', OTHER_TOKEN, START + 4 * H));
    });
    await take(w);
    // Seen at 0 s, replaced at 2 s (a TTL from then: 5 s), taken at 5 s.
    expect(w.clock.slept).toEqual([1_000, 1_000, 1_000, 1_000, 1_000, 1_500]);
    expect(w.io.lines.at(-2)).toBe(expired('octo/third/1/1', '2026-11-27T12:00:05Z'));
  });
});

describe('releaseLease', () => {
  it('does nothing when this run holds no lease', async () => {
    const w = world({ tags: held(OURS, START + 3_600_000, TOKEN) });
    await releaseLease(w.ctx, w.journal, USER);
    expect(w.calls).toEqual([]);
    expect(w.tags.has(LEASE_TAG)).toBe(true);
  });

  it('removes its own lease tag, and only that tag', async () => {
    const w = world({ tags: { team: 'platform' } });
    await take(w);
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags', 'UntagUser']);
    expect([...w.tags]).toEqual([['team', 'platform']]);
    expect(w.journal.leaseHeld).toBe(false);
  });

  it("leaves a lease another run took over (this one's expired) in place", async () => {
    const w = world();
    await take(w);
    w.tags.set(LEASE_TAG, leaseValue(OTHER, OTHER_TOKEN, START + 7_200_000));
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags']);
    expect(parseLease(w.tags.get(LEASE_TAG))?.run).toBe(OTHER);
    expect(w.journal.leaseHeld).toBe(false);
    expect(w.io.warnings).toEqual([]);
  });

  it('leaves the lease of another job of this very run (a matrix: same run, another token) in place', async () => {
    const w = world();
    await take(w);
    w.tags.set(LEASE_TAG, leaseValue(OURS, OTHER_TOKEN, START + 3_600_000));
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags']);
    expect(parseLease(w.tags.get(LEASE_TAG))?.token).toBe(OTHER_TOKEN);
  });

  it('finds its lease already gone (removed by hand): nothing to remove, no warning', async () => {
    const w = world();
    await take(w);
    w.tags.delete(LEASE_TAG);
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags']);
    expect(w.io.warnings).toEqual([]);
    expect(w.journal.leaseHeld).toBe(false);
  });

  it('warns, and does not throw, when it cannot', async () => {
    const w = world();
    await take(w);
    w.before(() => {
      throw awsFailure('AccessDenied', 403);
    });

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.io.warnings).toHaveLength(1);
    expect(w.io.warnings[0]).toMatch(
      new RegExp(`^could not release the lease on IAM user ${USER} \\(iam:ListUserTags on IAM user ${USER} failed: AccessDenied.*\\): `),
    );
    expect(w.io.warnings[0]).toMatch(
      /\): the tag rotate-aws-access-key:lease stays on the user until 2026-11-27T13:00:00Z \(IAM time\), and other runs on this user wait for it until then; to clear it now: aws iam untag-user --user-name deployer --tag-keys rotate-aws-access-key:lease$/,
    );
  });
});

describe('describeLease (dry run)', () => {
  it('names a live lease and its holder', async () => {
    const w = world({ tags: held(OTHER, START + 1_000) });
    expect(await describeLease(w.ctx, USER)).toBe(
      `IAM user ${USER} is leased by run ${OTHER} until 2026-11-27T12:00:01Z (IAM time; tag rotate-aws-access-key:lease): ` +
        `a real run would wait for it. If that run is gone, clear it with: ${CLEAR}`,
    );
    expect(w.calls).toEqual(['ListUserTags']);
  });

  it.each([
    ['no lease', {}],
    ['a lease that ended', held(OTHER, START)],
    ['a tag that is not a lease', { [LEASE_TAG]: 'taken' }],
  ])('says nothing for %s', async (_, tags) => {
    expect(await describeLease(world({ tags }).ctx, USER)).toBeUndefined();
  });

  it('says nothing when the tags cannot be read (the dry run goes on)', async () => {
    const w = world({ tags: held(OTHER, START + 1_000) });
    w.before(() => {
      throw awsFailure('AccessDenied', 403);
    });
    expect(await describeLease(w.ctx, USER)).toBeUndefined();
  });
});
