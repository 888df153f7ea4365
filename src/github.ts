import { getOctokit } from '@actions/github';
import { defaults } from '@actions/github/lib/utils';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck/light.js';

export type GitHubClient = ReturnType<typeof getOctokit>;

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
  /** Longest rate-limit wait (retry-after or primary reset) the run accepts before failing. */
  maxRateLimitWaitSeconds: number;
  /** Concurrent reads during preflight. */
  readConcurrency: number;
}

export const SHIPPED_PACING: GitHubPacing = {
  writeIntervalMs: 1000,
  retryAfterBaseMs: 1000,
  requestTimeoutMs: 30_000,
  retries: 3,
  maxRateLimitWaitSeconds: 300,
  readConcurrency: 8,
};

export interface ClientLog {
  warning(message: string): void;
}

type Fetch = typeof fetch;

/** A fetch that gives up on a request after `timeoutMs` (keeping any caller signal). */
export function fetchWithTimeout(base: Fetch, timeoutMs: number): Fetch {
  return ((url: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return base(url, { ...init, signal }).catch((err: unknown) => {
      if (timeout.aborted) {
        throw new Error(`no answer within ${Math.round(timeoutMs / 1000)} s (request abandoned)`, { cause: err });
      }
      throw err;
    });
  }) as Fetch;
}

/** Octokit with GitHub's retry and rate-limit rules, for `baseUrl` (GITHUB_API_URL; GHES: https://host/api/v3). */
export function createGitHubClient(token: string, baseUrl: string, pacing: GitHubPacing, log: ClientLog): GitHubClient {
  const baseFetch = (defaults.request?.fetch ?? fetch) as Fetch;
  const onLimit = (kind: string) => (retryAfter: number, options: { method?: string; url?: string }, _o: unknown, retryCount: number) => {
    const what = `${options.method ?? ''} ${options.url ?? ''}`.trim();
    if (retryCount >= pacing.retries || retryAfter > pacing.maxRateLimitWaitSeconds) {
      log.warning(`GitHub ${kind} rate limit on ${what}: giving up (retry-after ${retryAfter} s, attempt ${retryCount + 1})`);
      return false;
    }
    log.warning(`GitHub ${kind} rate limit on ${what}: retrying after ${retryAfter} s`);
    return true;
  };
  return getOctokit(
    token,
    {
      baseUrl: baseUrl.replace(/\/+$/, ''),
      request: { fetch: fetchWithTimeout(baseFetch, pacing.requestTimeoutMs) },
      headers: { 'x-github-api-version': '2022-11-28' },
      retry: { retries: pacing.retries, retryAfterBaseValue: pacing.retryAfterBaseMs },
      throttle: {
        retryAfterBaseValue: pacing.retryAfterBaseMs,
        fallbackSecondaryRateRetryAfter: 60,
        // Writes are serialized here and paced by WritePacer, which keeps a destination's two secrets together.
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
        onRateLimit: onLimit('primary'),
        onSecondaryRateLimit: onLimit('secondary'),
      },
    },
    retry,
    throttling,
  );
}
