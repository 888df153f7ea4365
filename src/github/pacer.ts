import type { Clock } from '../shared/clock.js';

/** How the client paces and bounds requests. The shipped values follow GitHub's guidance for REST API clients. */
export interface GitHubPacing {
  /**
   * Mutating requests go out one per this interval on average (GitHub: about one second between mutating
   * requests), a destination's two secrets back to back (see WritePacer).
   */
  writeIntervalMs: number;
  /** Unit of retry-after and of the retry plugin's backoff (1, 4, 9 × this). */
  retryAfterBaseMs: number;
  /** Abandon a request that has not answered after this long (then it is retried like a 5xx). */
  requestTimeoutMs: number;
  /** Retries of a 5xx / timed-out request, and of a secondary rate limit. */
  retries: number;
  /** Longest single rate-limit wait (retry-after or primary reset) the run accepts before failing. */
  maxRateLimitWaitSeconds: number;
  /** All rate-limit waits of one run together, restores included: past this the run stops safely. */
  rateLimitBudgetSeconds: number;
  /** Concurrent reads during preflight. */
  readConcurrency: number;
}

export const SHIPPED_PACING: GitHubPacing = {
  writeIntervalMs: 1000,
  retryAfterBaseMs: 1000,
  requestTimeoutMs: 30_000,
  retries: 3,
  maxRateLimitWaitSeconds: 300,
  rateLimitBudgetSeconds: 900,
  readConcurrency: 8,
};

/**
 * Paces mutating requests to GitHub: one write per `intervalMs` on average (GitHub's guidance for REST clients is
 * about a second between mutating requests), with bursts of up to `burst` writes, so the two secrets of one
 * destination go out back to back and a destination never holds a new key id with an old secret for longer than
 * one request. A token bucket on the injected clock.
 */
export class WritePacer {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  /**
   * `startEmpty`: the bucket starts with no token, so the first writes wait `burst` intervals from now. A fleet's rotate
   * jobs start so (write-interval-seconds): a job starting after another ended in the same matrix slot never writes
   * sooner after the other's last writes than the pace allows.
   */
  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly burst = 2,
    startEmpty = false,
  ) {
    this.tokens = startEmpty ? 0 : burst;
    this.last = clock.now();
  }

  /** Wait until `count` writes may go out, and take them. Calls are served in order. */
  take(count = 1): Promise<void> {
    const turn = this.queue.then(() => this.wait(Math.min(count, this.burst)));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    if (this.intervalMs <= 0) {
      this.tokens = this.burst;
      return;
    }
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.intervalMs);
    this.last = now;
  }

  private async wait(count: number): Promise<void> {
    this.refill();
    if (this.tokens < count) {
      await this.clock.sleep(Math.ceil((count - this.tokens) * this.intervalMs));
      this.refill();
    }
    this.tokens -= count;
  }
}
