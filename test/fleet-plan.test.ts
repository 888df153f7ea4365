/**
 * The fleet's plan: 50 users over 150 destinations, every entry with what its rotation step needs, the pace that
 * keeps the whole fleet under GitHub's limits (proven by replaying every job's writes through the shipped WritePacer
 * at the planned interval, jobs packed as tightly as a matrix can run them), and its duration against the floor.
 */
import { describe, expect, it } from '@jest/globals';
import { WritePacer } from '../src/github/pacer.js';
import type { Audit, AuditedUser } from '../src/fleet/findings.js';
import { GITHUB_LIMITS, HOSTED_RUNNER, type FleetPace, floorMs, makespan, planPace } from '../src/fleet/fleet-pacing.js';
import { parseManifest } from '../src/fleet/manifest.js';
import { planFleet } from '../src/fleet/matrix.js';
import { TEST_WORLD_JOB } from './support/fleet-world.js';

const ACCOUNT = '123456789012';
const NOW = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

/** 50 users, 3 destinations each (a repository's two environments and its Dependabot secrets): 150 destinations. */
function fleetManifest(users = 50): string {
  const lines = ['defaults:', `  role: arn:aws:iam::${ACCOUNT}:role/access-key-rotator`, 'users:'];
  for (let i = 0; i < users; i++) {
    lines.push(`  deploy-${i}:`, `    repositories: octo/app-${i}`, '    environments: [staging, production]', '    dependabot: true');
  }
  return `${lines.join('\n')}\n`;
}

/** An audit in which every manifest user has one Active key `ageDays` old. */
function auditOf(names: string[], ageDays: (i: number) => number): Audit {
  const users: AuditedUser[] = names.map((name, i) => ({
    name,
    managed: true,
    line: 4 + 4 * i,
    state: 'read',
    keys: [{ id: `AKIA${String(i).padStart(16, '0')}`, status: 'Active', created: new Date(NOW - ageDays(i) * DAY).toISOString(), ageDays: ageDays(i), lastUsed: null, record: undefined }],
    destinations: [],
    maxAgeDays: 90,
  }));
  return { users, findings: [], usersWithoutKeys: 0 };
}

/**
 * Every write time of a fleet run at `pace`: `jobs` (destinations each) run in the matrix's order, `maxParallel` at
 * once, each next job in the first slot to free; each job's pacer is the shipped WritePacer on a fake clock, and a job
 * makes its pairs as soon as the pacer lets it (no other cost: the tightest the jobs can be packed).
 */
async function writeTimes(jobs: number[], pace: FleetPace): Promise<number[]> {
  const free = new Array<number>(pace.maxParallel).fill(0);
  const times: number[] = [];
  for (const destinations of jobs) {
    const slot = free.indexOf(Math.min(...free));
    let now = free[slot];
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms), random: () => 0.5 };
    const pacer = new WritePacer(clock, pace.writeIntervalMs ?? 1000, 2, pace.writeIntervalMs !== undefined);
    for (let d = 0; d < destinations; d++) {
      await pacer.take(2);
      times.push(now, now + 100); // the second secret a request later
    }
    free[slot] = now + 100;
  }
  return times.sort((a, b) => a - b);
}

/** The most writes in any window of `ms` (closed at both ends). */
function busiest(times: number[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] > ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the plan for 50 users over 150 destinations', () => {
  const manifest = parseManifest('.github/aws-access-keys.yml', fleetManifest());
  const names = manifest.users.map((u) => u.name);

  it('the manifest holds 50 users and 150 destinations', () => {
    expect(manifest.users).toHaveLength(50);
    expect(manifest.users.reduce((s, u) => s + u.destinations.length, 0)).toBe(150);
  });

  it('every due user gets one entry with everything its rotation step needs; users not due are left out and said why', () => {
    // Every user but the last ten is past 90 days.
    const plan = planFleet(auditOf(names, (i) => (i < 40 ? 100 + i : 10)), manifest, ACCOUNT, { emergency: false, rotateNow: [], auditWrites: 1 });
    expect(plan.entries).toHaveLength(40);
    expect(plan.notDue.map((d) => d.user)).toEqual(names.slice(40));
    expect(plan.notDue[0]).toEqual({ user: 'deploy-40', reason: 'fresh', why: `AKIA0000000000000040 is 10 days old: due in 80 days (max-age-days 90)` });
    expect(plan.entries[0]).toEqual({
      user: expect.stringMatching(/^deploy-\d+$/),
      role: `arn:aws:iam::${ACCOUNT}:role/access-key-rotator`,
      repositories: expect.stringMatching(/^octo\/app-\d+$/),
      environments: 'staging\nproduction',
      dependabot: 'true',
      'max-age-days': '90',
      'write-interval-seconds': expect.stringMatching(/^\d+\.\d{3}$/),
    });
    expect(plan.due.map((d) => d.reason)).toEqual(new Array(40).fill('too-old'));
  });

  it("stays under GitHub's 80 writes a minute and 500 an hour for the whole fleet, however the jobs are packed", async () => {
    const plan = planFleet(auditOf(names, () => 120), manifest, ACCOUNT, { emergency: false, rotateNow: [], auditWrites: 1, estimate: TEST_WORLD_JOB });
    const { pace } = plan;
    expect(pace.writes).toBe(300);
    expect(pace.writeIntervalMs).toBeGreaterThanOrEqual(1000);
    expect(pace.maxParallel * pace.writesPerSlotMinute).toBeLessThanOrEqual(GITHUB_LIMITS.writesPerMinute);
    const times = await writeTimes(plan.entries.map(() => 3), pace);
    expect(times).toHaveLength(300);
    // The audit's one write (the tracking issue) comes before every job: it counts in the first minute.
    expect(busiest([-1, ...times], 60_000)).toBeLessThanOrEqual(GITHUB_LIMITS.writesPerMinute);
    expect(busiest(times, 3_600_000)).toBeLessThanOrEqual(GITHUB_LIMITS.writesPerHour);
  });

  it('takes no more than 1.05 × the floor GitHub allows, with the test world\'s job costs; says how long with a hosted runner\'s', () => {
    const plan = planFleet(auditOf(names, () => 120), manifest, ACCOUNT, { emergency: false, rotateNow: [], auditWrites: 1, estimate: TEST_WORLD_JOB });
    expect(plan.pace.floorMs).toBe(floorMs(300));
    expect(plan.pace.floorMs).toBe(225_000); // 300 writes at 80 a minute
    expect(plan.pace.plannedMs / plan.pace.floorMs).toBeLessThanOrEqual(1.05);
    const hosted = planFleet(auditOf(names, () => 120), manifest, ACCOUNT, { emergency: false, rotateNow: [], auditWrites: 1, estimate: HOSTED_RUNNER });
    expect(hosted.pace.plannedMs).toBeGreaterThan(plan.pace.plannedMs);
  });

  it('a fleet whose writes fit in one minute goes at the shipped pace, all jobs at once (up to 12)', () => {
    const small = parseManifest('m.yml', fleetManifest(5));
    const plan = planFleet(auditOf(small.users.map((u) => u.name), () => 120), small, ACCOUNT, { emergency: false, rotateNow: [], auditWrites: 1 });
    expect(plan.pace).toMatchObject({ maxParallel: 5, writeIntervalMs: undefined, writes: 30 });
    for (const e of plan.entries) expect(e['write-interval-seconds']).toBeUndefined();
  });

  it('emergency: every user now, the old key deleted right after the handover, whatever the manifest says', () => {
    const m = parseManifest('m.yml', `users:\n  a:\n    repositories: octo/a\n    previous-key: keep\n  b:\n    repositories: octo/b\n    retire-after-hours: 24\n`);
    const plan = planFleet(auditOf(['a', 'b'], () => 1), m, ACCOUNT, { emergency: true, rotateNow: [], auditWrites: 0 });
    expect(plan.entries.map((e) => [e.user, e['max-age-days'], e['previous-key'], e['retire-after-hours']])).toEqual([
      ['a', '0', 'delete', '0'],
      ['b', '0', 'delete', '0'],
    ]);
    expect(plan.due[0].why).toBe(
      "emergency: every manifest user now, whatever its key's age (the old key is deleted right after the handover: the manifest's previous-key: keep does not apply)",
    );
  });

  it('rotate-now, no Active key, two Active keys: due; a missing or unreadable user or another account: not, and why', () => {
    const m = parseManifest(
      'm.yml',
      `users:\n  now:\n    repositories: octo/a\n  none:\n    repositories: octo/b\n  two:\n    repositories: octo/c\n  gone:\n    repositories: octo/d\n  hidden:\n    repositories: octo/e\n  elsewhere:\n    role: arn:aws:iam::222222222222:role/r\n    repositories: octo/f\n`,
    );
    const audit = auditOf(['now', 'none', 'two', 'gone', 'hidden', 'elsewhere'], () => 1);
    audit.users[1].keys = [];
    audit.users[2].keys.push({ ...audit.users[2].keys[0], id: 'AKIA2' });
    audit.users[3] = { ...audit.users[3], state: 'missing', keys: [] };
    audit.users[4] = { ...audit.users[4], state: 'unknown', keys: [], note: 'AccessDenied' };
    const plan = planFleet(audit, m, ACCOUNT, { emergency: false, rotateNow: ['NOW'], auditWrites: 0 });
    expect(plan.due.map((d) => [d.user, d.reason])).toEqual(
      expect.arrayContaining([
        ['now', 'rotate-now'],
        ['none', 'no-active-key'],
        ['two', 'two-active-keys'],
      ]),
    );
    expect(plan.notDue.map((d) => [d.user, d.reason])).toEqual([
      ['gone', 'missing'],
      ['hidden', 'unknown'],
      ['elsewhere', 'not-audited'],
    ]);
    expect(plan.entries.find((e) => e.user === 'now')?.['max-age-days']).toBe('0');
  });
});

describe('pacing', () => {
  it('a slot runs its jobs one after the other: makespan is the busiest slot', () => {
    expect(makespan([5, 4, 3, 3], 2)).toBe(8);
    expect(makespan([], 3)).toBe(0);
  });

  it('more than 500 writes: the hour bounds the fleet too', async () => {
    const jobs = Array.from({ length: 100 }, () => ({ destinations: 3, singles: false }));
    const pace = planPace(jobs, 1, TEST_WORLD_JOB);
    expect(pace.writes).toBe(600);
    expect(pace.floorMs).toBe(600 * 7_200);
    const times = await writeTimes(jobs.map(() => 3), pace);
    expect(busiest([-1, ...times], 3_600_000)).toBeLessThanOrEqual(GITHUB_LIMITS.writesPerHour);
    expect(busiest(times, 60_000)).toBeLessThanOrEqual(GITHUB_LIMITS.writesPerMinute);
  });

  it('create-environments may add single writes: a slot is budgeted one more a minute', () => {
    const pace = planPace(Array.from({ length: 50 }, () => ({ destinations: 3, singles: true })), 0, TEST_WORLD_JOB);
    expect(pace.maxParallel * pace.writesPerSlotMinute).toBeLessThanOrEqual(80);
    expect(pace.writesPerSlotMinute % 2).toBe(1);
  });
});
