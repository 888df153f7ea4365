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
  constructor(input: string, message: string) {
    super(`${input}: ${message}`);
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
