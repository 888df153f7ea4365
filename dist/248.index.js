export const id = 248;
export const ids = [248];
export const modules = {

/***/ 9248:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   createGitHubClient: () => (/* binding */ createGitHubClient),
/* harmony export */   createOctokit: () => (/* binding */ createOctokit),
/* harmony export */   fetchWithTimeout: () => (/* binding */ fetchWithTimeout)
/* harmony export */ });
/* harmony import */ var _actions_github__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1351);
/* harmony import */ var _actions_github_lib_utils__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(5555);
/* harmony import */ var _octokit_plugin_retry__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9735);
/* harmony import */ var _octokit_plugin_throttling__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(6856);
/* harmony import */ var bottleneck_light_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3251);
/* harmony import */ var bottleneck_light_js__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(bottleneck_light_js__WEBPACK_IMPORTED_MODULE_2__);





/** A fetch that gives up on a request after `timeoutMs` (keeping any caller signal). */
function fetchWithTimeout(base, timeoutMs) {
    return ((url, init) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
        return base(url, { ...init, signal }).catch((err) => {
            if (timeout.aborted) {
                throw new Error(`no answer within ${Math.round(timeoutMs / 1000)} s (request abandoned)`, { cause: err });
            }
            throw err;
        });
    });
}
/** Octokit with GitHub's retry and rate-limit rules, for `baseUrl` (GITHUB_API_URL; GHES: https://host/api/v3). */
function createOctokit(token, baseUrl, pacing, log) {
    const baseFetch = (_actions_github_lib_utils__WEBPACK_IMPORTED_MODULE_1__/* .defaults */ .NT.request?.fetch ?? fetch);
    const onLimit = (kind) => (retryAfter, options, _o, retryCount) => {
        const what = `${options.method ?? ''} ${options.url ?? ''}`.trim();
        if (retryCount >= pacing.retries || retryAfter > pacing.maxRateLimitWaitSeconds) {
            log.warning(`GitHub ${kind} rate limit on ${what}: giving up (retry-after ${retryAfter} s, attempt ${retryCount + 1})`);
            return false;
        }
        log.warning(`GitHub ${kind} rate limit on ${what}: retrying after ${retryAfter} s`);
        return true;
    };
    return (0,_actions_github__WEBPACK_IMPORTED_MODULE_0__/* .getOctokit */ .Q)(token, {
        baseUrl: baseUrl.replace(/\/+$/, ''),
        request: { fetch: fetchWithTimeout(baseFetch, pacing.requestTimeoutMs) },
        headers: { 'x-github-api-version': '2022-11-28' },
        retry: { retries: pacing.retries, retryAfterBaseValue: pacing.retryAfterBaseMs },
        throttle: {
            retryAfterBaseValue: pacing.retryAfterBaseMs,
            fallbackSecondaryRateRetryAfter: 60,
            // Writes are serialized here and paced by WritePacer, which keeps a destination's two secrets together.
            write: new (bottleneck_light_js__WEBPACK_IMPORTED_MODULE_2___default().Group)({ maxConcurrent: 1, minTime: 0 }),
            onRateLimit: onLimit('primary'),
            onSecondaryRateLimit: onLimit('secondary'),
        },
    }, _octokit_plugin_retry__WEBPACK_IMPORTED_MODULE_3__/* .retry */ .L, _octokit_plugin_throttling__WEBPACK_IMPORTED_MODULE_4__/* .throttling */ .A);
}
/** The GitHub API as the action uses it, backed by Octokit with GitHub's retry and rate-limit rules. */
function createGitHubClient(token, baseUrl, pacing, log) {
    const octokit = createOctokit(token, baseUrl, pacing, log);
    return {
        request: (route, params) => octokit.request(route, params),
        paginate: { iterator: (route, params) => octokit.paginate.iterator(route, params) },
    };
}


/***/ })

};
