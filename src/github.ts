import { getOctokit } from '@actions/github';
import { defaults } from '@actions/github/lib/utils';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck/light.js';
import type { GitHubApi } from './github-api.js';
import type { GitHubPacing } from './pacer.js';

type Octokit = ReturnType<typeof getOctokit>;

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
export function createOctokit(token: string, baseUrl: string, pacing: GitHubPacing, log: ClientLog): Octokit {
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

/** The GitHub API as the action uses it, backed by Octokit with GitHub's retry and rate-limit rules. */
export function createGitHubClient(token: string, baseUrl: string, pacing: GitHubPacing, log: ClientLog): GitHubApi {
  const octokit = createOctokit(token, baseUrl, pacing, log);
  return {
    request: (route, params) => octokit.request(route, params),
    paginate: { iterator: (route, params) => octokit.paginate.iterator(route, params) },
  };
}
