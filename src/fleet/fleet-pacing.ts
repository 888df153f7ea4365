/**
 * The fleet's pace: how many rotate jobs run at once (the matrix's max-parallel) and how fast each writes, so that
 * all of them together, sharing one token, stay under GitHub's documented secondary limits for content-creating
 * requests, and how long that takes. Pure.
 *
 * Each rotate job paces its writes with its own token bucket (src/github/pacer.ts: bursts of 2, so a destination's two
 * secrets go back to back). With write-interval-seconds the bucket starts empty: a job's first pair goes out no sooner
 * than two intervals after it starts, and its pairs are at least two intervals apart. A matrix slot runs one job after
 * another, each starting after the last ended, so a slot's pairs are two intervals apart too. With two intervals just
 * over 60/k seconds, any minute holds at most k pairs of one slot: at most max-parallel × 2k writes of the fleet.
 */
import { ActionError } from '../shared/errors.js';

/** GitHub's secondary limits for one token (docs.github.com, REST API "Rate limits for the REST API"). */
export const GITHUB_LIMITS = {
  /** "no more than 80 content-generating requests per minute" */
  writesPerMinute: 80,
  /** "and no more than 500 content-generating requests per hour" */
  writesPerHour: 500,
  /** "No more than 100 concurrent requests are allowed." */
  concurrentRequests: 100,
} as const;

/** A rotate job reads GitHub at most this many requests at once (SHIPPED_PACING.readConcurrency). */
export const JOB_READ_CONCURRENCY = 8;
/** The shipped pace of one job: a write per second on average (SHIPPED_PACING.writeIntervalMs). */
export const SHIPPED_WRITE_INTERVAL_MS = 1_000;
/** Added to a minute when spacing pairs: a request's time on the wire must not bring a pair into the next minute. */
const WIRE_MARGIN_MS = 1_000;
/** A rotate job must end well within the action's maximum run time (60 minutes, the run cancels itself at 55). */
export const MAX_JOB_MS = 45 * 60_000;

/** What a rotate job costs besides its paced writes: the planner's estimate, said with every duration. */
export interface JobEstimate {
  /** From the job being scheduled to the action starting (runner, checkout, configure-aws-credentials). */
  startMs: number;
  /** From the action starting to its first write (lease settle, reads, the new key's propagation). */
  preWriteMs: number;
  /** From the last write to the job's end (read-back, handover, retirement). */
  postWriteMs: number;
}

/** A GitHub-hosted runner: about 20 s to start a job, IAM's 5-15 s of propagation before the first write. */
export const HOSTED_RUNNER: JobEstimate = { startMs: 20_000, preWriteMs: 12_000, postWriteMs: 5_000 };

export interface PaceJob {
  /** The destinations it writes (two writes each). */
  destinations: number;
  /** It may make single writes besides its pairs (create-environments). */
  singles: boolean;
}

export interface FleetPace {
  maxParallel: number;
  /** Each job's write interval; undefined: the shipped one (the fleet fits in one minute's budget whatever the pace). */
  writeIntervalMs: number | undefined;
  /** Writes of one slot in any minute (0: not bounded per slot, the whole fleet fits in one minute's budget). */
  writesPerSlotMinute: number;
  /** The fleet's writes: two per destination, plus the audit's own (the tracking issue). */
  writes: number;
  /** The most the fleet can make in any minute under this plan. */
  writesPerMinute: number;
  /** Estimated time from the first rotate job's start to the last one's end (ms). */
  plannedMs: number;
  /** The least time GitHub's limits allow for the fleet's writes (ms). */
  floorMs: number;
  /** Each job's estimated duration (ms), in the order given. */
  jobMs: number[];
  /** The job indices in the order the matrix should list them (longest first). */
  order: number[];
}

/** One job's duration at write interval `intervalMs` (bucket starting empty when `paced`). */
function jobMs(job: PaceJob, intervalMs: number, paced: boolean, est: JobEstimate): number {
  const pair = 2 * intervalMs;
  const first = paced ? Math.max(est.preWriteMs, pair) : est.preWriteMs;
  return est.startMs + first + Math.max(0, job.destinations - 1) * pair + est.postWriteMs;
}

/** Makespan of jobs (durations, already ordered) run `slots` at a time, each next job in the first slot to free. */
export function makespan(durations: number[], slots: number): number {
  const free = new Array<number>(Math.max(1, slots)).fill(0);
  for (const d of durations) {
    const i = free.indexOf(Math.min(...free));
    free[i] += d;
  }
  return Math.max(0, ...free);
}

/** The least time GitHub's limits allow for `writes` writes: 80 a minute, and 500 an hour when there are more. */
export function floorMs(writes: number): number {
  return writes > GITHUB_LIMITS.writesPerHour ? (writes * 3_600_000) / GITHUB_LIMITS.writesPerHour : (writes * 60_000) / GITHUB_LIMITS.writesPerMinute;
}

/**
 * The pace with the shortest estimated duration whose every minute (and hour) stays under GitHub's limits.
 * `auditWrites`: content-creating requests the audit makes before the jobs start (they count against the hour).
 * Throws when a job cannot finish within MAX_JOB_MS even at the shipped pace.
 */
export function planPace(jobs: PaceJob[], auditWrites: number, est: JobEstimate = HOSTED_RUNNER): FleetPace {
  const writes = jobs.reduce((s, j) => s + 2 * j.destinations, 0);
  const total = writes + auditWrites;
  const concurrency = Math.max(1, Math.floor(GITHUB_LIMITS.concurrentRequests / JOB_READ_CONCURRENCY));
  const byLength = (d: number[]) => d.map((_, i) => i).sort((a, b) => d[b] - d[a] || a - b);
  const floor = floorMs(writes);
  if (jobs.length === 0) {
    return { maxParallel: 1, writeIntervalMs: undefined, writesPerSlotMinute: 0, writes, writesPerMinute: 0, plannedMs: 0, floorMs: 0, jobMs: [], order: [] };
  }

  // The whole fleet fits in one minute's budget: no window can hold more than all of it.
  if (total <= GITHUB_LIMITS.writesPerMinute) {
    const durations = jobs.map((j) => jobMs(j, SHIPPED_WRITE_INTERVAL_MS, false, est));
    const order = byLength(durations);
    const maxParallel = Math.min(jobs.length, concurrency);
    return {
      maxParallel,
      writeIntervalMs: undefined,
      writesPerSlotMinute: 0,
      writes,
      writesPerMinute: total,
      plannedMs: makespan(order.map((i) => durations[i]), maxParallel),
      floorMs: floor,
      jobMs: durations,
      order,
    };
  }

  const singles = jobs.some((j) => j.singles);
  let best: FleetPace | undefined;
  for (let k = 1; ; k++) {
    // Two intervals just over a minute / k: any minute holds at most k pairs of one slot.
    const intervalMs = Math.ceil((60_000 + WIRE_MARGIN_MS) / (2 * k));
    if (intervalMs < SHIPPED_WRITE_INTERVAL_MS) break;
    const perSlot = 2 * k + (singles ? 1 : 0);
    let slots = Math.min(Math.floor(GITHUB_LIMITS.writesPerMinute / perSlot), concurrency, jobs.length);
    if (total > GITHUB_LIMITS.writesPerHour) {
      // The hour too: a slot's pairs in any hour, at most.
      const perSlotHour = 2 * (Math.floor(3_600_000 / (2 * intervalMs)) + 1) + (singles ? 1 : 0);
      slots = Math.min(slots, Math.floor((GITHUB_LIMITS.writesPerHour - auditWrites) / perSlotHour));
    }
    if (slots < 1) continue;
    const durations = jobs.map((j) => jobMs(j, intervalMs, true, est));
    if (durations.some((d) => d - est.startMs > MAX_JOB_MS)) continue;
    const order = byLength(durations);
    const planned = makespan(order.map((i) => durations[i]), slots);
    if (!best || planned < best.plannedMs) {
      best = {
        maxParallel: slots,
        writeIntervalMs: intervalMs,
        writesPerSlotMinute: perSlot,
        writes,
        writesPerMinute: slots * perSlot,
        plannedMs: planned,
        floorMs: floor,
        jobMs: durations,
        order,
      };
    }
  }
  if (!best) {
    throw new ActionError(
      `no pace keeps every rotate job under ${MAX_JOB_MS / 60_000} minutes and the fleet under GitHub's limits ` +
        `(${writes} writes): split the users with the most destinations`,
    );
  }
  return best;
}
