import { getOctokit } from '@actions/github';
import { defaults } from '@actions/github/lib/utils';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import type { Env } from '../shared/types.js';
import type { Cancellation } from '../shared/cancel.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { errorMessage } from '../shared/errors.js';
import type { GitHubApi } from './github-api.js';
import type { GitHubPacing } from './pacer.js';
import { type ProxySettings, proxyFor, proxySettings, shownProxy } from '../shared/proxy.js';
import { rateLimitOf } from './secrets.js';

type Octokit = ReturnType<typeof getOctokit>;

/** The GitHub REST API version every request asks for, but the Copilot coding agent's. */
export const API_VERSION = '2022-11-28';
/** The version GitHub documents the Copilot coding agent's secrets (/agents/) under. */
export const AGENTS_API_VERSION = '2026-03-10';

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
        const after = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`;
        throw new Error(`no answer within ${after} (request abandoned)`, { cause: err });
      }
      throw err;
    });
  }) as Fetch;
}

/**
 * A fetch that sends each request through the proxy the settings name for its URL (undici's ProxyAgent: a CONNECT
 * tunnel), or directly when NO_PROXY lists its host.
 */
export function proxiedFetch(settings: ProxySettings): Fetch {
  const agents = new Map<string, ProxyAgent>();
  return ((input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const proxy = proxyFor(settings, url);
    let dispatcher: ProxyAgent | undefined;
    if (proxy) {
      dispatcher = agents.get(proxy.url.href);
      if (!dispatcher) agents.set(proxy.url.href, (dispatcher = new ProxyAgent(proxy.url.href)));
    }
    const request = undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher });
    if (!proxy) return request;
    return request.catch((err: unknown) => {
      if (init?.signal?.aborted) throw err; // a timeout or a cancel: told as such by the caller
      throw new Error(
        `${innermost(err)} (through the proxy ${shownProxy(proxy.url)} set in ${proxy.name}: check that it is up and ` +
          `lets this runner reach ${url.host}, or list that host in NO_PROXY to go there directly)`,
        { cause: err },
      );
    });
  }) as Fetch;
}

/** The message of the deepest cause: undici's `fetch failed` says nothing; its causes say what failed. */
function innermost(err: unknown): string {
  let e = err;
  while (typeof e === 'object' && e !== null && 'cause' in e && e.cause) e = e.cause;
  return errorMessage(e);
}

/**
 * Octokit for `baseUrl` (GITHUB_API_URL; GHES: https://host/api/v3), each request abandoned after
 * `pacing.requestTimeoutMs`. It retries nothing: withRetries and withRateLimits do, on the run's clock and its cancel.
 * Behind a proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY in `env`: src/shared/proxy.ts), its requests go through it.
 */
export function createOctokit(
  token: string,
  baseUrl: string,
  pacing: GitHubPacing,
  env: Env = process.env,
  control: RateLimitControl = { clock: systemClock },
): Octokit {
  const proxies = proxySettings(env);
  const baseFetch = proxies ? proxiedFetch(proxies) : ((defaults.request?.fetch ?? fetch) as Fetch);
  // No retry plugin (its waits cannot be ended by a cancel: withRetries), no throttling plugin (WritePacer paces the
  // writes, readConcurrency bounds the reads, withRateLimits waits out GitHub's rate limits).
  const octokit = getOctokit(token, {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    request: { fetch: fetchWithTimeout(baseFetch, pacing.requestTimeoutMs) },
  });
  // The REST API version the requests are written against (Octokit has no option for default headers).
  octokit.hook.before('request', (options) => {
    options.headers['x-github-api-version'] = /\/agents\//.test(String(options.url)) ? AGENTS_API_VERSION : API_VERSION;
  });
  octokit.hook.wrap('request', (request, options) => retrying(async () => request(options), pacing, control));
  return octokit;
}

/**
 * GitHub's answers that asking again cannot change (as @octokit/plugin-retry's doNotRetry), and its rate limits (403,
 * 429: withRateLimits waits those out).
 */
const FINAL = new Set([400, 401, 403, 404, 410, 422, 429, 451]);

/** A failure worth one more try: a server error, or no answer (Octokit reports a network error or a timeout as 500). */
function retriable(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && !FINAL.has(status);
}

/**
 * Send a request, and retry a server error or a request that got no answer `pacing.retries` times, after
 * (n+1)² × retryAfterBaseMs on the run's clock. A cancel ends it: a failure after the cancel is not retried and a wait
 * ends at once, so what the run does after the runner's SIGINT fits before its SIGKILL (a pair being written is
 * completed or put back instead). The failure is then marked (`notRetried`), so its message says why it was not tried
 * again.
 */
export async function retrying<T>(send: () => Promise<T>, pacing: GitHubPacing, control: RateLimitControl): Promise<T> {
  const stop = (err: unknown): never => {
    if (typeof err === 'object' && err !== null) Object.assign(err, { notRetried: 'not retried: the run is being cancelled' });
    throw err;
  };
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (!retriable(err) || attempt >= pacing.retries) throw err;
      if (control.cancel?.requested) stop(err);
      const ms = (attempt + 1) ** 2 * pacing.retryAfterBaseMs;
      await (control.cancel ? control.cancel.sleep(control.clock, ms) : control.clock.sleep(ms));
      if (control.cancel?.requested) stop(err);
    }
  }
}

/** What the rate-limit waits need: the clock to sleep on, and the run's cancel request (a wait ends on cancel). */
export interface RateLimitControl {
  clock: Clock;
  cancel?: Cancellation;
}

/**
 * Wait out GitHub's rate-limit answers (retry-after, or the primary limit's reset), each wait at most
 * `maxRateLimitWaitSeconds` and all of them together at most `rateLimitBudgetSeconds`, so a persistently limited run
 * (restores included) stops in bounded time instead of waiting for hours. A cancel ends the wait: the request is
 * tried once more, then given up.
 */
export function withRateLimits(api: GitHubApi, pacing: GitHubPacing, log: ClientLog, control: RateLimitControl): GitHubApi {
  let spent = 0;
  const giveUp = (err: unknown, why: string): never => {
    Object.assign(err as object, { rateLimitGaveUp: why });
    throw err;
  };
  return {
    paginate: api.paginate,
    request: async (route, params) => {
      for (let waited = false; ; ) {
        try {
          return await api.request(route, params);
        } catch (err) {
          const limit = rateLimitOf(err);
          if (!limit) throw err;
          const left = pacing.rateLimitBudgetSeconds - spent;
          if (waited && control.cancel?.requested) giveUp(err, 'the run was cancelled during the wait');
          if (limit.waitSeconds > pacing.maxRateLimitWaitSeconds) {
            giveUp(err, `retry-after ${limit.waitSeconds} s is longer than the ${pacing.maxRateLimitWaitSeconds} s the run waits at most`);
          }
          if (limit.waitSeconds > left) {
            giveUp(err, `the run's rate-limit budget is spent (waited ${spent} of ${pacing.rateLimitBudgetSeconds} s; ${limit.waitSeconds} s more asked)`);
          }
          if (control.cancel?.requested) giveUp(err, 'the run is being cancelled');
          log.warning(`GitHub ${limit.kind} rate limit on ${route}: waiting ${limit.waitSeconds} s (rate-limit budget left: ${left} s)`);
          spent += limit.waitSeconds;
          const ms = limit.waitSeconds * pacing.retryAfterBaseMs;
          await (control.cancel ? control.cancel.sleep(control.clock, ms) : control.clock.sleep(ms));
          waited = true;
        }
      }
    },
  };
}

/** The GitHub API as the action uses it, backed by Octokit with GitHub's retry and rate-limit rules. */
export function createGitHubClient(
  token: string,
  baseUrl: string,
  pacing: GitHubPacing,
  log: ClientLog,
  control: RateLimitControl,
  env: Env = process.env,
): GitHubApi {
  const octokit = createOctokit(token, baseUrl, pacing, env, control);
  const api: GitHubApi = {
    request: (route, params) => octokit.request(route, params),
    paginate: { iterator: (route, params) => octokit.paginate.iterator(route, params) },
  };
  return withRateLimits(api, pacing, log, control);
}
