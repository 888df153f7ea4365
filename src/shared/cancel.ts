import type { Clock } from './clock.js';
import { ActionError } from './errors.js';

/** The run was asked to stop (the runner's SIGINT/SIGTERM on cancel): thrown at the next safe point. */
export class Cancelled extends ActionError {
  constructor(readonly signal: string) {
    super(`the run was cancelled (${signal})`);
    this.name = 'Cancelled';
  }
}

/**
 * A cancel request. The run checks it between steps (never inside a destination's pair of writes) and its waits end
 * early when it is set, so a cancelled run stops starting new work within moments and then cleans up.
 */
export class Cancellation {
  private signalName: string | undefined;
  private readonly controller = new AbortController();

  get requested(): boolean {
    return this.signalName !== undefined;
  }

  /** The signal that cancelled the run, if any. */
  get reason(): string | undefined {
    return this.signalName;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cancel(signal: string): void {
    if (this.signalName !== undefined) return;
    this.signalName = signal;
    this.controller.abort();
  }

  /** Throw Cancelled when a cancel was requested: call it before starting anything new. */
  checkpoint(): void {
    if (this.signalName !== undefined) throw new Cancelled(this.signalName);
  }

  /** clock.sleep that ends as soon as the run is cancelled. */
  sleep(clock: Clock, ms: number): Promise<void> {
    if (this.requested) return Promise.resolve();
    return clock.sleep(ms, this.signal);
  }
}
