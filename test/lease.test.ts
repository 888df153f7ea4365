/**
 * The lease on the IAM user (src/lease.ts), in-process against an in-memory IAM that holds the user's tags: when a
 * run waits, when it takes a lease over, how it loses a race it entered at the same moment, and what it gives back.
 * The rotation tests (rotation.test.ts, worlds.test.ts) run the same code against moto; these pin each decision.
 */
import { describe, expect, it } from '@jest/globals';
import { Cancellation, Cancelled } from '../src/cancel.js';
import type { RotateContext } from '../src/context.js';
import { ActionError } from '../src/errors.js';
import { Journal } from '../src/journal.js';
import { LEASE_TAG, describeLease, leaseValue, parseLease, releaseLease, takeLease } from '../src/lease.js';
import { fakeClock, recorder } from './support/harness.js';
import { awsFailure, memoryIam } from './support/memory-iam.js';

const USER = 'deployer';
const START = Date.parse('2026-11-27T12:00:00Z');
const OURS = 'https://github.com/octo/rotator/actions/runs/42/attempts/1';
const OTHER = 'https://github.com/octo/other/actions/runs/7/attempts/1';
const SETTINGS = { ttlMs: 60 * 60_000, waitMs: 10_000, pollMs: 1_000, settleMs: 1_500 };

/** The user's tags in an in-memory IAM; `before` runs ahead of each request (to fail it, or to change the tags). */
function world(opts: { url?: string; tags?: Record<string, string>; lease?: Partial<typeof SETTINGS> } = {}) {
  const { iam, tags, calls, before } = memoryIam({ tags: opts.tags });
  const clock = fakeClock(START);
  const io = recorder();
  const cancel = new Cancellation();
  const ctx = {
    aws: { iam },
    clock,
    io,
    cancel,
    lease: { ...SETTINGS, ...opts.lease },
    run: { repository: 'octo/rotator', runId: '42', attempt: '1', url: opts.url ?? OURS },
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

const held = (holder: string, until: number) => ({ [LEASE_TAG]: leaseValue(holder, until) });

describe('the lease tag', () => {
  it('reads back what it writes, to the second', () => {
    const value = leaseValue(OURS, START + 3_600_000);
    expect(value).toBe(`run ${OURS} until 2026-11-27T13:00:00Z`);
    expect(parseLease(value)).toEqual({ holder: OURS, until: START + 3_600_000 });
  });

  it('is cut to 256 characters, the most an IAM tag value may hold', () => {
    const long = `https://github.com/${'o'.repeat(300)}/actions/runs/1/attempts/1`;
    expect(leaseValue(long, START)).toHaveLength(256);
  });

  it.each([undefined, '', 'run x', `run ${OURS} until never`, `run ${OURS} until 2026-11-27T13:00:00Z extra`, `xrun ${OURS} until 2026-11-27T13:00:00Z`])(
    'is not a lease when it reads %p',
    (value) => expect(parseLease(value)).toBeUndefined(),
  );
});

describe('takeLease', () => {
  it('on a free user: writes the lease, waits to settle, reads it back, and returns the tags it read', async () => {
    const w = world({ tags: { team: 'platform' } });

    const taken = await takeLease(w.ctx, w.journal, USER);

    expect(taken.outcome).toBe('taken');
    expect(taken.tags).toEqual([
      { Key: 'team', Value: 'platform' },
      { Key: LEASE_TAG, Value: `run ${OURS} until 2026-11-27T13:00:00Z` },
    ]);
    expect(w.calls).toEqual(['ListUserTags', 'TagUser', 'ListUserTags']);
    expect(w.clock.slept).toEqual([1_500]);
    expect(w.kinds()).toEqual(['lease taken']);
    expect(w.journal.leaseHeld).toBe(true);
    expect(w.io.lines).toEqual([`Leased IAM user ${USER} for this run until 2026-11-27T13:00:00.000Z`]);
  });

  it("takes over another run's lease that has expired, without waiting", async () => {
    const w = world({ tags: held(OTHER, START - 1_000) });
    expect((await takeLease(w.ctx, w.journal, USER)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))?.holder).toBe(OURS);
    expect(w.io.lines[0]).toBe(`Taking over an expired lease of ${OTHER}`);
  });

  it('takes over a lease that ends at this very moment, and waits for one that ends a second later', async () => {
    const now = world({ tags: held(OTHER, START) });
    await takeLease(now.ctx, now.journal, USER);
    expect(now.clock.slept).toEqual([1_500]);

    const later = world({ tags: held(OTHER, START + 1_000) });
    await takeLease(later.ctx, later.journal, USER);
    expect(later.clock.slept).toEqual([1_000, 1_500]);
    expect(later.io.lines[0]).toBe(`IAM user ${USER} is leased by ${OTHER} until 2026-11-27T12:00:01.000Z: waiting`);
    expect(later.io.lines[1]).toBe(`Taking over an expired lease of ${OTHER}`);
  });

  it('polls a live lease, the last wait cut to the deadline, then stops having changed nothing', async () => {
    const w = world({ tags: held(OTHER, START + 30 * 60_000), lease: { waitMs: 2_500 } });

    const err = await takeLease(w.ctx, w.journal, USER).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(ActionError);
    expect((err as Error).message).toBe(
      `another rotation holds the lease on IAM user ${USER}: ${OTHER} (until 2026-11-27T12:30:00.000Z); waited 3 s ` +
        "and changed nothing. Let that run finish, then rerun (a crashed run's lease expires at 2026-11-27T12:30:00.000Z). " +
        'A concurrency group only serialises runs of one repository.',
    );
    expect(w.clock.slept).toEqual([1_000, 1_000, 500]);
    expect(w.calls).toEqual(['ListUserTags', 'ListUserTags', 'ListUserTags', 'ListUserTags']);
    expect(w.kinds()).toEqual([]);
    expect(w.tags.get(LEASE_TAG)).toBe(leaseValue(OTHER, START + 30 * 60_000));
  });

  it('takes the lease once the other run gives it back', async () => {
    const w = world({ tags: held(OTHER, START + 30 * 60_000) });
    w.before((command, n) => {
      if (command === 'ListUserTags' && n === 3) w.tags.delete(LEASE_TAG); // the other run finished
    });

    expect((await takeLease(w.ctx, w.journal, USER)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_000, 1_000, 1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))).toEqual({ holder: OURS, until: START + 2_000 + 3_600_000 });
  });

  it.each([
    ['an earlier attempt of this run', 'https://github.com/octo/rotator/actions/runs/42/attempts/1', `${OURS.replace(/1$/, '2')}`],
    ['attempt 12 of this run, as attempt 13', 'https://github.com/octo/rotator/actions/runs/42/attempts/12', OURS.replace(/1$/, '13')],
    ['this very run', OURS, OURS],
  ])('takes over a live lease of %s at once', async (_, holder, url) => {
    const w = world({ url, tags: held(holder, START + 30 * 60_000) });
    expect((await takeLease(w.ctx, w.journal, USER)).outcome).toBe('taken');
    expect(w.clock.slept).toEqual([1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))?.holder).toBe(url);
    expect(w.io.lines).toEqual([`Leased IAM user ${USER} for this run until 2026-11-27T13:00:00.000Z`]); // not "expired"
  });

  it('renews its own expired lease without calling it another run\'s', async () => {
    const w = world({ tags: held(OURS, START - 1_000) });
    expect((await takeLease(w.ctx, w.journal, USER)).outcome).toBe('taken');
    expect(w.io.lines).toEqual([`Leased IAM user ${USER} for this run until 2026-11-27T13:00:00.000Z`]);
  });

  it.each([
    ['another run of the same workflow', 'https://github.com/octo/rotator/actions/runs/421/attempts/1'],
    ['the same run id in another repository', 'https://github.com/octo/other/actions/runs/42/attempts/1'],
  ])("waits for a live lease of %s", async (_, holder) => {
    const w = world({ tags: held(holder, START + 30 * 60_000), lease: { waitMs: 1_000 } });
    await expect(takeLease(w.ctx, w.journal, USER)).rejects.toThrow(/^another rotation holds the lease/);
  });

  it('of two runs that wrote at once, the one whose lease was overwritten goes back to waiting', async () => {
    const w = world();
    w.before((command, n) => {
      // Right after our write, the other run's write lands; that run gives the lease back two looks later.
      if (command === 'ListUserTags' && n === 3) w.tags.set(LEASE_TAG, leaseValue(OTHER, START + 3_600_000));
      if (command === 'ListUserTags' && n === 6) w.tags.delete(LEASE_TAG);
    });

    const taken = await takeLease(w.ctx, w.journal, USER);

    expect(taken.outcome).toBe('taken');
    expect(w.calls).toEqual(['ListUserTags', 'TagUser', 'ListUserTags', 'ListUserTags', 'ListUserTags', 'ListUserTags', 'TagUser', 'ListUserTags']);
    expect(w.kinds()).toEqual(['lease taken', 'lease released', 'lease taken']);
    expect(w.journal.leaseHeld).toBe(true);
    expect(w.clock.slept).toEqual([1_500, 1_000, 1_000, 1_500]);
    expect(parseLease(w.tags.get(LEASE_TAG))?.holder).toBe(OURS);
  });

  it('without permission to read or write tags: warns and goes on without a lease', async () => {
    for (const denied of ['ListUserTags', 'TagUser']) {
      const w = world();
      w.before((command) => {
        if (command === denied) throw awsFailure('AccessDenied', 403);
      });

      const taken = await takeLease(w.ctx, w.journal, USER);

      expect(taken).toEqual({ outcome: 'denied', tags: undefined });
      expect(w.journal.leaseHeld).toBe(false);
      expect(w.io.warnings).toEqual([
        `could not take the lease on IAM user ${USER} (iam:${denied} on IAM user ${USER} failed: AccessDenied: AccessDenied ` +
          `for this request. the AWS credentials need iam:${denied} on IAM user ${USER}): runs on this user from other ` +
          'repositories are not kept apart, and keys are not described. Grant iam:ListUserTags, iam:TagUser and ' +
          'iam:UntagUser on the user (see the IAM policies).',
      ]);
    }
  });

  it('any other failure stops the run, as AWS said it', async () => {
    const w = world();
    w.before(() => {
      throw awsFailure('NoSuchEntity', 404);
    });
    await expect(takeLease(w.ctx, w.journal, USER)).rejects.toThrow(/^iam:ListUserTags on IAM user deployer failed: NoSuchEntity/);
    expect(w.io.warnings).toEqual([]);
  });

  it.each(['InvalidClientTokenId', 'SignatureDoesNotMatch'])(
    'a key that stops working (%s) while waiting was rotated by the run it waited for',
    async (name) => {
      const w = world({ tags: held(OTHER, START + 30 * 60_000) });
      w.before((_command, n) => {
        if (n === 3) throw awsFailure(name, 403);
      });

      const err = (await takeLease(w.ctx, w.journal, USER).catch((e: unknown) => e)) as ActionError;

      expect(err.message).toBe(
        `while this run waited for ${OTHER}, the key this job authenticates with stopped working: that run rotated it ` +
          "(and wrote the new key to its destinations). This run changed nothing; rerun it if its destinations differ from that run's.",
      );
      expect((err.cause as ActionError).message).toMatch(new RegExp(`^iam:ListUserTags on IAM user deployer failed: ${name}`));
    },
  );

  it('a key that does not work before any wait is the job’s own credentials problem, not another run’s rotation', async () => {
    const w = world();
    w.before(() => {
      throw awsFailure('InvalidClientTokenId', 403);
    });
    await expect(takeLease(w.ctx, w.journal, USER)).rejects.toThrow(
      /^iam:ListUserTags on IAM user deployer failed: InvalidClientTokenId: .* the AWS credentials of this job are invalid/,
    );
  });

  it('a cancel stops the wait at the next look, before anything is written', async () => {
    const w = world({ tags: held(OTHER, START + 30 * 60_000) });
    w.before((_command, n) => {
      if (n === 2) w.cancel.cancel('SIGINT');
    });
    await expect(takeLease(w.ctx, w.journal, USER)).rejects.toBeInstanceOf(Cancelled);
    expect(w.calls).toEqual(['ListUserTags', 'ListUserTags']);
    expect(w.kinds()).toEqual([]);
    expect(w.io.warnings).toEqual([]);
  });
});

describe('releaseLease', () => {
  it('does nothing when this run holds no lease', async () => {
    const w = world({ tags: held(OURS, START + 3_600_000) });
    await releaseLease(w.ctx, w.journal, USER);
    expect(w.calls).toEqual([]);
    expect(w.tags.has(LEASE_TAG)).toBe(true);
  });

  it('removes its own lease tag, and only that tag', async () => {
    const w = world({ tags: { team: 'platform' } });
    await takeLease(w.ctx, w.journal, USER);
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags', 'UntagUser']);
    expect([...w.tags]).toEqual([['team', 'platform']]);
    expect(w.journal.leaseHeld).toBe(false);
  });

  it("leaves a lease another run took over (this one's expired) in place", async () => {
    const w = world();
    await takeLease(w.ctx, w.journal, USER);
    w.tags.set(LEASE_TAG, leaseValue(OTHER, START + 7_200_000));
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags']);
    expect(parseLease(w.tags.get(LEASE_TAG))?.holder).toBe(OTHER);
    expect(w.journal.leaseHeld).toBe(false);
    expect(w.io.warnings).toEqual([]);
  });

  it('finds its lease already gone (removed by hand): nothing to remove, no warning', async () => {
    const w = world();
    await takeLease(w.ctx, w.journal, USER);
    w.tags.delete(LEASE_TAG);
    w.calls.length = 0;

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.calls).toEqual(['ListUserTags']);
    expect(w.io.warnings).toEqual([]);
    expect(w.journal.leaseHeld).toBe(false);
  });

  it('warns, and does not throw, when it cannot', async () => {
    const w = world();
    await takeLease(w.ctx, w.journal, USER);
    w.before(() => {
      throw awsFailure('AccessDenied', 403);
    });

    await releaseLease(w.ctx, w.journal, USER);

    expect(w.io.warnings).toHaveLength(1);
    expect(w.io.warnings[0]).toMatch(
      new RegExp(`^could not release the lease on IAM user ${USER} \\(iam:ListUserTags on IAM user ${USER} failed: AccessDenied.*\\): it expires by itself$`),
    );
  });
});

describe('describeLease (dry run)', () => {
  it('names a live lease and its holder', async () => {
    const w = world({ tags: held(OTHER, START + 1_000) });
    expect(await describeLease(w.ctx, USER)).toBe(
      `IAM user ${USER} is leased by ${OTHER} until 2026-11-27T12:00:01.000Z: a real run would wait for it`,
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
