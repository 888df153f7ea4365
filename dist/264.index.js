export const id = 264;
export const ids = [264];
export const modules = {

/***/ 8502:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   AGENTS_API_VERSION: () => (/* binding */ AGENTS_API_VERSION),
/* harmony export */   API_VERSION: () => (/* binding */ API_VERSION),
/* harmony export */   createGitHubClient: () => (/* binding */ createGitHubClient),
/* harmony export */   createOctokit: () => (/* binding */ createOctokit),
/* harmony export */   fetchWithTimeout: () => (/* binding */ fetchWithTimeout),
/* harmony export */   proxiedFetch: () => (/* binding */ proxiedFetch),
/* harmony export */   retrying: () => (/* binding */ retrying),
/* harmony export */   withRateLimits: () => (/* binding */ withRateLimits)
/* harmony export */ });
/* harmony import */ var _actions_github__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1351);
/* harmony import */ var _actions_github_lib_utils__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8665);
/* harmony import */ var undici__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6752);
/* harmony import */ var _shared_clock_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6103);
/* harmony import */ var _shared_errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8382);
/* harmony import */ var _shared_proxy_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(4475);
/* harmony import */ var _secrets_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(298);







/** The GitHub REST API version every request asks for, but the Copilot coding agent's. */
const API_VERSION = '2022-11-28';
/** The version GitHub documents the Copilot coding agent's secrets (/agents/) under. */
const AGENTS_API_VERSION = '2026-03-10';
/** A fetch that gives up on a request after `timeoutMs` (keeping any caller signal). */
function fetchWithTimeout(base, timeoutMs) {
    return ((url, init) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
        return base(url, { ...init, signal }).catch((err) => {
            if (timeout.aborted) {
                const after = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`;
                throw new Error(`no answer within ${after} (request abandoned)`, { cause: err });
            }
            throw err;
        });
    });
}
/**
 * A fetch that sends each request through the proxy the settings name for its URL (undici's ProxyAgent: a CONNECT
 * tunnel), or directly when NO_PROXY lists its host.
 */
function proxiedFetch(settings) {
    const agents = new Map();
    return ((input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        const proxy = (0,_shared_proxy_js__WEBPACK_IMPORTED_MODULE_5__/* .proxyFor */ .iJ)(settings, url);
        let dispatcher;
        if (proxy) {
            dispatcher = agents.get(proxy.url.href);
            if (!dispatcher)
                agents.set(proxy.url.href, (dispatcher = new undici__WEBPACK_IMPORTED_MODULE_2__.ProxyAgent(proxy.url.href)));
        }
        const request = (0,undici__WEBPACK_IMPORTED_MODULE_2__.fetch)(input, { ...init, dispatcher });
        if (!proxy)
            return request;
        return request.catch((err) => {
            if (init?.signal?.aborted)
                throw err; // a timeout or a cancel: told as such by the caller
            throw new Error(`${innermost(err)} (through the proxy ${(0,_shared_proxy_js__WEBPACK_IMPORTED_MODULE_5__/* .shownProxy */ .qb)(proxy.url)} set in ${proxy.name}: check that it is up and ` +
                `lets this runner reach ${url.host}, or list that host in NO_PROXY to go there directly)`, { cause: err });
        });
    });
}
/** The message of the deepest cause: undici's `fetch failed` says nothing; its causes say what failed. */
function innermost(err) {
    let e = err;
    while (typeof e === 'object' && e !== null && 'cause' in e && e.cause)
        e = e.cause;
    return (0,_shared_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .errorMessage */ .gJ)(e);
}
/**
 * Octokit for `baseUrl` (GITHUB_API_URL; GHES: https://host/api/v3), each request abandoned after
 * `pacing.requestTimeoutMs`. It retries nothing: withRetries and withRateLimits do, on the run's clock and its cancel.
 * Behind a proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY in `env`: src/shared/proxy.ts), its requests go through it.
 */
function createOctokit(token, baseUrl, pacing, env = process.env, control = { clock: _shared_clock_js__WEBPACK_IMPORTED_MODULE_3__/* .systemClock */ .m }) {
    const proxies = (0,_shared_proxy_js__WEBPACK_IMPORTED_MODULE_5__/* .proxySettings */ .EM)(env);
    const baseFetch = proxies ? proxiedFetch(proxies) : (_actions_github_lib_utils__WEBPACK_IMPORTED_MODULE_1__/* .defaults */ .NT.request?.fetch ?? fetch);
    // No retry plugin (its waits cannot be ended by a cancel: withRetries), no throttling plugin (WritePacer paces the
    // writes, readConcurrency bounds the reads, withRateLimits waits out GitHub's rate limits).
    const octokit = (0,_actions_github__WEBPACK_IMPORTED_MODULE_0__/* .getOctokit */ .Q)(token, {
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
function retriable(err) {
    const status = err?.status;
    return typeof status === 'number' && status >= 400 && !FINAL.has(status);
}
/**
 * Send a request, and retry a server error or a request that got no answer `pacing.retries` times, after
 * (n+1)² × retryAfterBaseMs on the run's clock. A cancel ends it: a failure after the cancel is not retried and a wait
 * ends at once, so what the run does after the runner's SIGINT fits before its SIGKILL (a pair being written is
 * completed or put back instead). The failure is then marked (`notRetried`), so its message says why it was not tried
 * again.
 */
async function retrying(send, pacing, control) {
    const stop = (err) => {
        if (typeof err === 'object' && err !== null)
            Object.assign(err, { notRetried: 'not retried: the run is being cancelled' });
        throw err;
    };
    for (let attempt = 0;; attempt++) {
        try {
            return await send();
        }
        catch (err) {
            if (!retriable(err) || attempt >= pacing.retries)
                throw err;
            if (control.cancel?.requested)
                stop(err);
            const ms = (attempt + 1) ** 2 * pacing.retryAfterBaseMs;
            await (control.cancel ? control.cancel.sleep(control.clock, ms) : control.clock.sleep(ms));
            if (control.cancel?.requested)
                stop(err);
        }
    }
}
/**
 * Wait out GitHub's rate-limit answers (retry-after, or the primary limit's reset), each wait at most
 * `maxRateLimitWaitSeconds` and all of them together at most `rateLimitBudgetSeconds`, so a persistently limited run
 * (restores included) stops in bounded time instead of waiting for hours. A cancel ends the wait: the request is
 * tried once more, then given up.
 */
function withRateLimits(api, pacing, log, control) {
    let spent = 0;
    const giveUp = (err, why) => {
        Object.assign(err, { rateLimitGaveUp: why });
        throw err;
    };
    return {
        paginate: api.paginate,
        request: async (route, params) => {
            for (let waited = false;;) {
                try {
                    return await api.request(route, params);
                }
                catch (err) {
                    const limit = (0,_secrets_js__WEBPACK_IMPORTED_MODULE_6__/* .rateLimitOf */ .tX)(err);
                    if (!limit)
                        throw err;
                    const left = pacing.rateLimitBudgetSeconds - spent;
                    if (waited && control.cancel?.requested)
                        giveUp(err, 'the run was cancelled during the wait');
                    if (limit.waitSeconds > pacing.maxRateLimitWaitSeconds) {
                        giveUp(err, `retry-after ${limit.waitSeconds} s is longer than the ${pacing.maxRateLimitWaitSeconds} s the run waits at most`);
                    }
                    if (limit.waitSeconds > left) {
                        giveUp(err, `the run's rate-limit budget is spent (waited ${spent} of ${pacing.rateLimitBudgetSeconds} s; ${limit.waitSeconds} s more asked)`);
                    }
                    if (control.cancel?.requested)
                        giveUp(err, 'the run is being cancelled');
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
function createGitHubClient(token, baseUrl, pacing, log, control, env = process.env) {
    const octokit = createOctokit(token, baseUrl, pacing, env, control);
    const api = {
        request: (route, params) => octokit.request(route, params),
        paginate: { iterator: (route, params) => octokit.paginate.iterator(route, params) },
    };
    return withRateLimits(api, pacing, log, control);
}


/***/ })

};
