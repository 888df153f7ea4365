import { randomBytes } from 'node:crypto';

/** What the run prints and exports through the runner (core in production, a recorder in tests). */
export interface ActionsIO {
  info(message: string): void;
  warning(message: string): void;
  setSecret(value: string): void;
  exportVariable(name: string, value: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** The lease on the IAM user (a user tag) that keeps two runs from rotating one user at once. */
export interface LeaseSettings {
  /** How long a lease lasts: a crashed run's lease is taken over after this. */
  ttlMs: number;
  /** How long a run waits for another run's live lease before it stops. */
  waitMs: number;
  /** Time between looks at a held lease. */
  pollMs: number;
  /** After writing the lease, wait this long and read it back: of two runs that wrote at once, only the last proceeds. */
  settleMs: number;
}

export const SHIPPED_LEASE: LeaseSettings = { ttlMs: 60 * 60_000, waitMs: 10 * 60_000, pollMs: 5_000, settleMs: 1_500 };

/** Who this run is, from the runner's environment (for the lease and the provenance tags). */
export interface RunIdentity {
  /** owner/name of the repository whose workflow runs (GITHUB_REPOSITORY), if known. */
  repository: string | undefined;
  runId: string | undefined;
  attempt: string;
  /** The run's URL, or a local label (for messages; never written to a tag). */
  url: string;
  /**
   * Random, made once per process: the lease's holder. Two jobs of one workflow run (a matrix: same run id and
   * attempt) and two attempts of it each have their own, so no job ever mistakes another's lease for its own.
   */
  token: string;
}

/** A new holder token for the lease: 128 random bits, in hex. */
export const newRunToken = (): string => randomBytes(16).toString('hex');

export function runIdentity(
  env: Record<string, string | undefined>,
  token: string = newRunToken(),
  pid = process.pid,
): RunIdentity {
  const repository = env.GITHUB_REPOSITORY?.trim() || undefined;
  const runId = env.GITHUB_RUN_ID?.trim() || undefined;
  const attempt = env.GITHUB_RUN_ATTEMPT?.trim() || '1';
  const server = (env.GITHUB_SERVER_URL?.trim() || 'https://github.com').replace(/\/+$/, '');
  const url =
    repository && runId ? `${server}/${repository}/actions/runs/${runId}/attempts/${attempt}` : `local/pid-${pid}-${Date.now()}`;
  return { repository, runId, attempt, url, token };
}
