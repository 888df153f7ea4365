/**
 * One error type the action reports: its message is the single `::error::` line a user reads, so it names what
 * failed, why, and what to do.
 */
export class ActionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ActionError';
  }
}

/** A bad input value: raised before any network call. */
export class InputError extends ActionError {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`${input}: ${message}`);
    this.name = 'InputError';
  }
}

/** Every bad input of a run, reported at once on one line (a single one reads like its InputError). */
export class InputErrors extends ActionError {
  constructor(readonly errors: InputError[]) {
    const inputs = new Set(errors.map((e) => e.input)).size;
    super(
      errors.length === 1
        ? errors[0].message
        : `${inputs} input${inputs === 1 ? ' is' : 's are'} invalid: ${errors.map((e) => e.message).join('; ')}`,
    );
    this.name = 'InputError';
  }
}

/** Collapse whitespace so an error stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return oneLine(err.message || err.name);
  return oneLine(String(err));
}
