/**
 * src/github.ts in-process: rate-limit waits bounded per wait and per run and ended by a cancel (withRateLimits), and
 * requests abandoned after the timeout (fetchWithTimeout). A scripted GitHubApi and a fake clock: no network.
 */
import { describe, expect, it } from '@jest/globals';
import { Cancellation } from '../src/cancel.js';
import type { GitHubApi } from '../src/github-api.js';
import { createOctokit, fetchWithTimeout, withRateLimits } from '../src/github.js';
import { type GitHubPacing, SHIPPED_PACING } from '../src/pacer.js';
import { fakeClock } from './support/harness.js';
import { failure } from './support/scripted-github.js';

const PACING: GitHubPacing = { ...SHIPPED_PACING, retryAfterBaseMs: 1000, maxRateLimitWaitSeconds: 300, rateLimitBudgetSeconds: 900 };

const limited = (retryAfter: number) => failure(429, 'slow down', { 'retry-after': String(retryAfter) });

/** A GitHubApi failing with `answers` in turn (an Error is thrown), then answering 'ok'. */
function flaky(answers: unknown[]) {
  const routes: string[] = [];
  const api: GitHubApi = {
    request: async (route) => {
      routes.push(route);
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return { status: 200, data: next ?? 'ok', headers: {} };
    },
    paginate: { iterator: () => ({ async *[Symbol.asyncIterator]() {} }) },
  };
  return { api, routes };
}

function client(answers: unknown[], pacing: Partial<GitHubPacing> = {}, cancel?: Cancellation) {
  const { api, routes } = flaky(answers);
  const clock = fakeClock(0);
  const warnings: string[] = [];
  const gh = withRateLimits(api, { ...PACING, ...pacing }, { warning: (m) => void warnings.push(m) }, { clock, cancel });
  return { gh, routes, clock, warnings };
}

describe('withRateLimits', () => {
  it('waits out a rate limit (retry-after seconds × retryAfterBaseMs) and tries again', async () => {
    const { gh, routes, clock, warnings } = client([limited(30), limited(5)]);
    await expect(gh.request('GET /x')).resolves.toMatchObject({ data: 'ok' });
    expect(routes).toEqual(['GET /x', 'GET /x', 'GET /x']);
    expect(clock.slept).toEqual([30_000, 5_000]);
    expect(warnings).toEqual([
      'GitHub secondary rate limit on GET /x: waiting 30 s (rate-limit budget left: 900 s)',
      'GitHub secondary rate limit on GET /x: waiting 5 s (rate-limit budget left: 870 s)',
    ]);
  });

  it('other failures are thrown at once, untouched', async () => {
    const err = failure(500, 'oops');
    const { gh, routes, clock } = client([err]);
    await expect(gh.request('GET /x')).rejects.toBe(err);
    expect(routes).toHaveLength(1);
    expect(clock.slept).toEqual([]);
    expect(err).not.toHaveProperty('rateLimitGaveUp');
  });

  it('a wait longer than the longest allowed: given up at once, saying why', async () => {
    const err = limited(301);
    const { gh, clock } = client([err]);
    await expect(gh.request('GET /x')).rejects.toBe(err);
    expect(clock.slept).toEqual([]);
    expect((err as { rateLimitGaveUp?: string }).rateLimitGaveUp).toBe(
      'retry-after 301 s is longer than the 300 s the run waits at most',
    );
  });

  it('exactly the longest allowed wait is waited', async () => {
    const { gh, clock } = client([limited(300)]);
    await gh.request('GET /x');
    expect(clock.slept).toEqual([300_000]);
  });

  it('the budget is for the whole run, across requests: past it the run gives up', async () => {
    const third = limited(100);
    const { gh, clock } = client([limited(100), 'ok', limited(100), 'ok', third], { rateLimitBudgetSeconds: 250 });
    await gh.request('GET /a');
    await gh.request('GET /b');
    await expect(gh.request('GET /c')).rejects.toBe(third);
    expect(clock.slept).toEqual([100_000, 100_000]);
    expect((third as { rateLimitGaveUp?: string }).rateLimitGaveUp).toBe(
      "the run's rate-limit budget is spent (waited 200 of 250 s; 100 s more asked)",
    );
  });

  it('a wait that uses up the budget exactly is still waited', async () => {
    const { gh, clock } = client([limited(100), limited(150)], { rateLimitBudgetSeconds: 250 });
    await gh.request('GET /a');
    expect(clock.slept).toEqual([100_000, 150_000]);
  });

  it('a cancel before the wait: given up without waiting', async () => {
    const cancel = new Cancellation();
    cancel.cancel('SIGINT');
    const err = limited(10);
    const { gh, clock } = client([err], {}, cancel);
    await expect(gh.request('GET /x')).rejects.toBe(err);
    expect(clock.slept).toEqual([]);
    expect((err as { rateLimitGaveUp?: string }).rateLimitGaveUp).toBe('the run is being cancelled');
  });

  it('a cancel during the wait: the request is tried once more, then given up', async () => {
    const cancel = new Cancellation();
    const second = limited(10);
    const { api, routes } = flaky([limited(10), second]);
    const clock = fakeClock(0);
    const cancelling = { ...clock, sleep: async (ms: number) => (cancel.cancel('SIGTERM'), clock.sleep(ms)) };
    const gh = withRateLimits(api, PACING, { warning: () => undefined }, { clock: cancelling, cancel });
    await expect(gh.request('GET /x')).rejects.toBe(second);
    expect(routes).toHaveLength(2);
    expect((second as { rateLimitGaveUp?: string }).rateLimitGaveUp).toBe('the run was cancelled during the wait');
  });

  it('a cancel during the wait, and the retry succeeds: the answer is kept', async () => {
    const cancel = new Cancellation();
    const { api } = flaky([limited(10)]);
    const clock = fakeClock(0);
    const cancelling = { ...clock, sleep: async (ms: number) => (cancel.cancel('SIGTERM'), clock.sleep(ms)) };
    const gh = withRateLimits(api, PACING, { warning: () => undefined }, { clock: cancelling, cancel });
    await expect(gh.request('GET /x')).resolves.toMatchObject({ data: 'ok' });
  });

  it('a wait ends early on cancel (the cancellable sleep is used)', async () => {
    const cancel = new Cancellation();
    const { api } = flaky([limited(10)]);
    const signals: (AbortSignal | undefined)[] = [];
    const clock = { ...fakeClock(0), sleep: async (_ms: number, signal?: AbortSignal) => void signals.push(signal) };
    await withRateLimits(api, PACING, { warning: () => undefined }, { clock, cancel }).request('GET /x');
    expect(signals).toEqual([cancel.signal]);
  });

  it('passes route and parameters through, and the paginator untouched', async () => {
    const seen: unknown[] = [];
    const paginate = { iterator: () => ({ async *[Symbol.asyncIterator]() {} }) };
    const api: GitHubApi = {
      request: async (route, params) => (seen.push([route, params]), { status: 201, data: 'd', headers: {} }),
      paginate,
    };
    const gh = withRateLimits(api, PACING, { warning: () => undefined }, { clock: fakeClock(0) });
    expect(await gh.request('PUT /y', { a: 1 })).toEqual({ status: 201, data: 'd', headers: {} });
    expect(seen).toEqual([['PUT /y', { a: 1 }]]);
    expect(gh.paginate).toBe(paginate);
  });
});

describe('fetchWithTimeout', () => {
  it('abandons a request that does not answer in time, saying so in seconds', async () => {
    const never = ((_url: unknown, init?: RequestInit) =>
      new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))) as typeof fetch;
    await expect(fetchWithTimeout(never, 20)('http://x')).rejects.toThrow('no answer within 20 ms (request abandoned)');
    await expect(fetchWithTimeout(never, 1500)('http://x', { signal: AbortSignal.timeout(10) })).rejects.toThrow('aborted');
  });

  it("keeps the caller's signal and options, and passes other failures through", async () => {
    const inits: RequestInit[] = [];
    const ok = (async (_url: unknown, init?: RequestInit) => (inits.push(init ?? {}), new Response('fine'))) as typeof fetch;
    const caller = new AbortController();
    const res = await fetchWithTimeout(ok, 5000)('http://x', { method: 'PUT', signal: caller.signal });
    expect(await res.text()).toBe('fine');
    expect(inits[0].method).toBe('PUT');
    caller.abort();
    expect(inits[0].signal?.aborted).toBe(true);
    const broken = (async () => {
      throw new Error('ECONNRESET');
    }) as typeof fetch;
    await expect(fetchWithTimeout(broken, 5000)('http://x')).rejects.toThrow('ECONNRESET');
  });
});

describe('createOctokit', () => {
  it('uses the base URL without trailing slashes (GHES: https://host/api/v3/)', () => {
    const octokit = createOctokit('t', 'https://ghe.example.com/api/v3//', PACING);
    expect(octokit.request.endpoint.DEFAULTS.baseUrl).toBe('https://ghe.example.com/api/v3');
  });
});
