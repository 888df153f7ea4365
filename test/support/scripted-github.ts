/** A GitHubApi for in-process unit tests: each `METHOD path` answered from a table, every call recorded. */
import type { GitHubApi, GitHubResponse } from '../../src/github/github-api.js';

export type Params = Record<string, unknown> | undefined;
/** The data to answer with, a function of the request's parameters, or a failure (see `failure`) to throw. */
export type Answer = unknown;

/** A failure as Octokit throws it: an Error with a status (none: a network error) and the response headers. */
export function failure(status: number | undefined, message = 'boom', headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), { thrown: true, ...(status === undefined ? {} : { status }), response: { headers } });
}

const isFailure = (data: unknown): boolean => typeof data === 'object' && data !== null && 'thrown' in data;

/**
 * `routes`: answers to `request`, by `METHOD path`; a route not listed answers 404. `pages`: the pages
 * `paginate.iterator` yields, by `METHOD path`; a route not listed fails with 403.
 */
export function scriptedGitHub(routes: Record<string, Answer>, pages: Record<string, unknown[][]> = {}) {
  const calls: { route: string; params: Params }[] = [];
  const gh: GitHubApi = {
    request: async (route, params) => {
      calls.push({ route, params });
      if (!(route in routes)) throw failure(404, `Not Found: ${route}`);
      const answer = routes[route];
      const data = typeof answer === 'function' ? (answer as (p: Params) => unknown)(params) : answer;
      if (isFailure(data)) throw data;
      return { status: 200, data, headers: {} } satisfies GitHubResponse;
    },
    paginate: {
      iterator: (route, params) => {
        calls.push({ route, params });
        const list = pages[route];
        return {
          async *[Symbol.asyncIterator]() {
            if (!list) throw failure(403, 'Forbidden');
            for (const data of list) yield { status: 200, data, headers: {} };
          },
        };
      },
    },
  };
  return { gh, calls };
}
