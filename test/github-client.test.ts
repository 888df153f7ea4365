/**
 * src/github/github.ts in-process: rate-limit waits bounded per wait and per run and ended by a cancel (withRateLimits), and
 * requests abandoned after the timeout (fetchWithTimeout): a scripted GitHubApi and a fake clock, no network. The
 * Octokit options (createOctokit): against a local HTTP server on a loopback port.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cancellation } from '../src/shared/cancel.js';
import type { GitHubApi } from '../src/github/github-api.js';
import { API_VERSION, createGitHubClient, createOctokit, fetchWithTimeout, retrying, withRateLimits } from '../src/github/github.js';
import { gitHubError } from '../src/github/secrets.js';
import { type GitHubPacing, SHIPPED_PACING } from '../src/github/pacer.js';
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

/**
 * Issue 24, world 6: the retries of server errors and of requests that got no answer. The runner gives a cancelled
 * run 7.5 s from SIGINT to SIGTERM: a retry wait (1, 4, 9 s) must not take them. After a cancel nothing is retried,
 * a wait ends at once, and the failure says why it was not tried again.
 */
describe('retrying (issue 24, world 6: no retry after a cancel)', () => {
  const sequence = (answers: unknown[]) => {
    let calls = 0;
    const send = async () => {
      calls++;
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next ?? 'ok';
    };
    return { send, calls: () => calls };
  };
  const P: GitHubPacing = { ...SHIPPED_PACING, retries: 3, retryAfterBaseMs: 1000 };

  it('retries a server error or no answer up to `retries` times, waiting 1, 4, 9 × retryAfterBaseMs on the run\'s clock', async () => {
    const last = failure(503, 'down', {});
    const { send, calls } = sequence([failure(500), failure(502), Object.assign(new Error('no answer within 30 s'), { status: 500 }), last]);
    const clock = fakeClock(0);
    await expect(retrying(send, P, { clock })).rejects.toBe(last);
    expect(calls()).toBe(4);
    expect(clock.slept).toEqual([1000, 4000, 9000]);
    expect(last).not.toHaveProperty('notRetried');
  });

  it('an answer that cannot change, or a rate limit, is never retried; a success ends it', async () => {
    for (const status of [400, 401, 403, 404, 410, 422, 429, 451]) {
      const { send, calls } = sequence([failure(status)]);
      await expect(retrying(send, P, { clock: fakeClock(0) })).rejects.toMatchObject({ status });
      expect(calls()).toBe(1);
    }
    const { send, calls } = sequence([failure(500), 'done']);
    await expect(retrying(send, P, { clock: fakeClock(0) })).resolves.toBe('done');
    expect(calls()).toBe(2);
  });

  it('a failure after a cancel is not retried, and says why (its message is true: it was not tried again)', async () => {
    const cancel = new Cancellation();
    const err = failure(503, 'Service Unavailable', {});
    const { send, calls } = sequence([err]);
    cancel.cancel('SIGINT');
    const clock = fakeClock(0);
    await expect(retrying(send, P, { clock, cancel })).rejects.toBe(err);
    expect(calls()).toBe(1);
    expect(clock.slept).toEqual([]);
    expect(gitHubError('writing AWS_SECRET_ACCESS_KEY to', 'octo/api', err, 'PERM', 'pat').message).toBe(
      'writing AWS_SECRET_ACCESS_KEY to octo/api: 503 Service Unavailable. not retried: the run is being cancelled',
    );
  });

  it('a cancel during a wait ends the wait (the cancellable sleep) and tries no more', async () => {
    const cancel = new Cancellation();
    const err = failure(502);
    const { send, calls } = sequence([err, 'would have worked']);
    const signals: (AbortSignal | undefined)[] = [];
    const clock = { ...fakeClock(0), sleep: async (_ms: number, signal?: AbortSignal) => void (signals.push(signal), cancel.cancel('SIGINT')) };
    await expect(retrying(send, P, { clock, cancel })).rejects.toBe(err);
    expect(calls()).toBe(1);
    expect(signals).toEqual([cancel.signal]);
    expect(err).toHaveProperty('notRetried', 'not retried: the run is being cancelled');
  });

  it('createGitHubClient: a 503 that arrives after the cancel is not retried (the request the run was sending when SIGINT came)', async () => {
    const { createServer: create } = await import('node:http');
    let hits = 0;
    const cancel = new Cancellation();
    const server = create((req, res) => {
      hits++;
      req.resume();
      cancel.cancel('SIGINT'); // while the request is in flight
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Service Unavailable' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const gh = createGitHubClient('t', url, { ...SHIPPED_PACING, retryAfterBaseMs: 1 }, { warning: () => undefined }, { clock: fakeClock(0), cancel });
      await expect(gh.request('PUT /repos/o/r/actions/secrets/S', { encrypted_value: 'x', key_id: '1' })).rejects.toMatchObject({
        status: 503,
        notRetried: 'not retried: the run is being cancelled',
      });
      expect(hits).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/**
 * Issue 24, world 15: GitHub's older wording of the secondary rate limit ("You have triggered an abuse detection
 * mechanism", documented under #abuse-rate-limits) is a rate limit: waited out like one, and never a permission hint.
 */
describe('the older "abuse detection" wording (issue 24, world 15)', () => {
  const abuse = (headers: Record<string, string> = {}) =>
    Object.assign(new Error('You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.'), {
      status: 403,
      response: {
        headers,
        data: {
          message: 'You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.',
          documentation_url: 'https://docs.github.com/v3/#abuse-rate-limits',
        },
      },
    });

  it('is waited out as a secondary rate limit: retry-after when given, else a minute', async () => {
    const { gh, routes, clock, warnings } = client([abuse({ 'retry-after': '30' }), abuse()]);
    await expect(gh.request('PUT /x')).resolves.toMatchObject({ data: 'ok' });
    expect(routes).toHaveLength(3);
    expect(clock.slept).toEqual([30_000, 60_000]);
    expect(warnings).toEqual([
      'GitHub secondary rate limit on PUT /x: waiting 30 s (rate-limit budget left: 900 s)',
      'GitHub secondary rate limit on PUT /x: waiting 60 s (rate-limit budget left: 870 s)',
    ]);
  });

  it('given up, it is said as a rate limit, not as a missing permission, and no retry-after is claimed that GitHub did not send', async () => {
    const err = abuse();
    const { gh } = client([err], { rateLimitBudgetSeconds: 30 });
    await expect(gh.request('PUT /x')).rejects.toBe(err);
    const message = gitHubError('writing AWS_ACCESS_KEY_ID to', 'octo/api', err, "repository permission 'Secrets: write'", 'installation').message;
    expect(message).toBe(
      'writing AWS_ACCESS_KEY_ID to octo/api: 403 You have triggered an abuse detection mechanism. Please wait a few minutes before you ' +
        "try again.. GitHub secondary rate limit, not a permission problem: the run's rate-limit budget is spent (waited 0 of 30 s; " +
        '60 s more asked); rerun later (spread runs out, or use a token with its own rate limit, such as a GitHub App token)',
    );
    expect(message).not.toContain('Secrets: write');
    expect(message).not.toContain('GITHUB_TOKEN');
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

/**
 * The Octokit options, against a local HTTP server: the API version, GitHub's retry rules (server errors retried,
 * answers that cannot change never), rate limits left to withRateLimits, the request timeout, and no write pacing but
 * WritePacer's.
 */
describe('createOctokit against a local server', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  let server: Server;
  let base: string;
  let handler: Handler = (_req, res) => res.end('{}');
  const seen: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  const FAST: GitHubPacing = { ...SHIPPED_PACING, retries: 2, retryAfterBaseMs: 1, requestTimeoutMs: 2_000 };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      req.resume();
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    seen.length = 0;
    server.closeAllConnections();
    // Let the client see its pooled connections close before the next test sends on them.
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const answer = (status: number, headers: Record<string, string> = {}, body: object = { message: `status ${status}` }): Handler =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };

  it('sends the token and the REST API version it was written against', async () => {
    handler = answer(200, {}, { name: 'api' });
    const octokit = createOctokit('t0ken', `${base}/`, FAST);
    expect((await octokit.request('GET /repos/{owner}/{repo}', { owner: 'octo', repo: 'api' })).data).toEqual({ name: 'api' });
    expect(seen).toHaveLength(1);
    expect(seen[0].url).toBe('/repos/octo/api');
    expect(seen[0].headers['x-github-api-version']).toBe('2022-11-28');
    expect(API_VERSION).toBe('2022-11-28'); // the version README's permission table is read from
    expect(seen[0].headers.authorization).toBe('token t0ken');
  });

  it('retries a server error `retries` times, then gives up with its status', async () => {
    handler = answer(502);
    const octokit = createOctokit('t', base, FAST);
    await expect(octokit.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' })).rejects.toMatchObject({ status: 502 });
    expect(seen).toHaveLength(3);
  });

  it.each([400, 401, 403, 404, 410, 422, 429, 451])('never retries a %i', async (status) => {
    handler = answer(status);
    const octokit = createOctokit('t', base, FAST);
    await expect(octokit.request('PUT /repos/{owner}/{repo}/actions/secrets/{name}', { owner: 'o', repo: 'r', name: 'N' })).rejects.toMatchObject({
      status,
    });
    expect(seen).toHaveLength(1);
  });

  it('leaves rate limits, primary and secondary, to withRateLimits: one request each, the answer thrown', async () => {
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    handler = answer(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, { message: 'API rate limit exceeded' });
    const octokit = createOctokit('t', base, FAST);
    await expect(octokit.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' })).rejects.toMatchObject({ status: 403 });
    expect(seen).toHaveLength(1);

    seen.length = 0;
    handler = answer(403, { 'retry-after': '1' }, { message: 'You have exceeded a secondary rate limit' });
    await expect(octokit.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' })).rejects.toMatchObject({ status: 403 });
    expect(seen).toHaveLength(1);
  });

  it('abandons a request the server never answers, after requestTimeoutMs, retried like a server error', async () => {
    handler = () => {}; // holds the connection open, never answers
    const octokit = createOctokit('t', base, { ...FAST, requestTimeoutMs: 100, retries: 1 });
    await expect(octokit.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' })).rejects.toThrow(/no answer within 100 ms/);
    expect(seen).toHaveLength(2);
  });

  it('createGitHubClient: requests, every page of a list, and rate limits waited out on the run\'s clock', async () => {
    let limited = true;
    handler = (req, res) => {
      const url = new URL(req.url ?? '', base);
      if (url.pathname === '/repos/o/r' && limited) {
        limited = false;
        return answer(429, { 'retry-after': '7' }, { message: 'slow down' })(req, res);
      }
      if (url.pathname === '/repos/o/r/actions/secrets') {
        const page = Number(url.searchParams.get('page') ?? '1');
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (page === 1) headers.link = `<${base}/repos/o/r/actions/secrets?per_page=1&page=2>; rel="next"`;
        res.writeHead(200, headers);
        return res.end(JSON.stringify({ total_count: 2, secrets: [{ name: `S${page}` }] }));
      }
      return answer(200, {}, { full_name: 'o/r' })(req, res);
    };
    const clock = fakeClock(0);
    const warnings: string[] = [];
    const gh = createGitHubClient('t', base, FAST, { warning: (m) => void warnings.push(m) }, { clock });

    expect((await gh.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' })).data).toEqual({ full_name: 'o/r' });
    expect(clock.slept).toEqual([7]); // 7 s × retryAfterBaseMs 1
    expect(warnings).toEqual(['GitHub secondary rate limit on GET /repos/{owner}/{repo}: waiting 7 s (rate-limit budget left: 900 s)']);

    const names: string[] = [];
    for await (const page of gh.paginate.iterator('GET /repos/{owner}/{repo}/actions/secrets', { owner: 'o', repo: 'r', per_page: 1 })) {
      names.push(...(page.data as unknown as { name: string }[]).map((x) => x.name));
    }
    expect(names).toEqual(['S1', 'S2']);
  });

  // WritePacer paces writes; the plugin's default (one write a second) would add its own pacing on top.
  it('adds no write pacing of its own: writes started together reach the server together', async () => {
    const arrived: number[] = [];
    handler = (_req, res) => {
      arrived.push(Date.now());
      res.writeHead(204).end();
    };
    const octokit = createOctokit('t', base, FAST);
    const put = (name: string) =>
      octokit.request('PUT /repos/{owner}/{repo}/actions/secrets/{name}', { owner: 'o', repo: 'r', name, encrypted_value: 'x', key_id: '1' });
    await Promise.all([put('A'), put('B'), put('C')]);
    expect(seen.map((s) => `${s.method} ${s.url}`).sort()).toEqual(['A', 'B', 'C'].map((n) => `PUT /repos/o/r/actions/secrets/${n}`));
    // Paced by the plugin they would arrive a second apart (2 s from first to last); unpaced, within milliseconds.
    expect(Math.max(...arrived) - Math.min(...arrived)).toBeLessThan(900);
  });

  // The run bounds its own concurrency (readConcurrency); the client adds no limiter of its own (the throttling
  // plugin's would hold the 11th request until one of the first ten is answered).
  it('holds no request back: twelve started together are all at the server before any is answered', async () => {
    const waiting: ServerResponse[] = [];
    handler = (_req, res) => {
      waiting.push(res);
      if (waiting.length === 12) for (const r of waiting) r.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    };
    const octokit = createOctokit('t', base, { ...FAST, retries: 0, requestTimeoutMs: 1_500 });
    const gets = Array.from({ length: 12 }, (_, i) => octokit.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: `r${i}` }));
    const answers = await Promise.allSettled(gets);
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill('fulfilled'));
  });
});
