/**
 * IAM's clock. Every time the action compares with an IAM time (a key's CreateDate, its last use, a recorded
 * handover, the lease's expiry) it uses the time IAM answers with, never the runner's clock: a runner hours off must
 * change no decision. IAM's time is read from the `Date` header of its answers (and raised by the CreateDate of a key
 * IAM has just made); between answers it advances with the runner's clock, whose offset cancels out.
 */
import type { Clock } from '../shared/clock.js';
import { ActionError } from '../shared/errors.js';

export class IamTime {
  /** IAM's time minus the runner's, as a lower bound (a `Date` header has whole seconds, and came a moment ago). */
  private offset: number | undefined;

  constructor(private readonly clock: Clock) {}

  /** Has IAM answered with its time yet? */
  get known(): boolean {
    return this.offset !== undefined;
  }

  /** IAM's time was at least `iamMs` when the runner's clock read `localMs` (or now). */
  observe(iamMs: number, localMs = this.clock.now()): void {
    if (!Number.isFinite(iamMs)) return;
    const offset = iamMs - localMs;
    this.offset = this.offset === undefined ? offset : Math.max(this.offset, offset);
  }

  /** An HTTP `Date` header of an IAM or STS answer. */
  observeHeader(value: string | undefined): void {
    if (value) this.observe(Date.parse(value));
  }

  /**
   * IAM's time now, as a lower bound (at most about a second early): a key, handover or use compared with it looks
   * younger than it is, never older. Throws when IAM has not answered yet: no decision may fall back on the runner.
   */
  now(): number {
    if (this.offset === undefined) {
      throw new ActionError(
        "IAM's time is unknown (no IAM answer carried a Date header), so no age can be proven: nothing was deleted. " +
          'Check that AWS_ENDPOINT_URL points at IAM itself',
      );
    }
    return this.clock.now() + this.offset;
  }

  /** How far the runner's clock is behind IAM's (negative: ahead), when known. */
  get skewMs(): number | undefined {
    return this.offset;
  }
}

interface HeaderBearer {
  headers?: Record<string, string | undefined>;
}

/** A middleware stack of an SDK client (IAM or STS), typed loosely enough for both. */
interface Stack {
  middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<{ response?: unknown }>) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; name: string; priority?: 'high' | 'low' },
    ): void;
  };
}

/** Feed `time` from the `Date` header of every answer `client` receives, errors included. */
export function observeIamTime(client: unknown, time: IamTime): void {
  const stack = (client as Partial<Stack>).middlewareStack;
  if (!stack) return;
  stack.add(
    (next) => async (args) => {
      try {
        const out = await next(args);
        time.observeHeader((out.response as HeaderBearer | undefined)?.headers?.date);
        return out;
      } catch (err) {
        time.observeHeader((err as { $response?: HeaderBearer } | undefined)?.$response?.headers?.date);
        throw err;
      }
    },
    { step: 'deserialize', name: 'observeIamTime', priority: 'high' },
  );
}
