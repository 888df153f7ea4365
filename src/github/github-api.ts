/**
 * The part of the GitHub REST API client the action uses. Octokit (and undici under it) is loaded only when the
 * first GitHub request is made, after the first AWS request: start-up stays short.
 */
export interface GitHubResponse {
  status: number;
  data: unknown;
  headers: Record<string, string | number | undefined>;
}

/** 'workflow': the job's GITHUB_TOKEN; 'pat': a classic or fine-grained PAT; 'installation': an installation token
 * (the workflow's GITHUB_TOKEN or a GitHub App's); 'unknown': none of GitHub's prefixes (e.g. a GHES or older token). */
export type TokenKind = 'workflow' | 'pat' | 'installation' | 'unknown';

export interface GitHubApi {
  /** The kind of token the requests send (tokenKind in src/github/secrets.ts), when known: it decides the hints of a 403/404. */
  readonly token?: TokenKind;
  request(route: string, params?: Record<string, unknown>): Promise<GitHubResponse>;
  paginate: { iterator(route: string, params?: Record<string, unknown>): AsyncIterable<GitHubResponse> };
}

/** A GitHubApi whose real client is made by `load` on first use. */
export function lazyGitHub(load: () => Promise<GitHubApi>): GitHubApi {
  let client: Promise<GitHubApi> | undefined;
  const get = () => (client ??= load());
  return {
    request: async (route, params) => (await get()).request(route, params),
    paginate: {
      iterator: (route, params) => ({
        async *[Symbol.asyncIterator]() {
          yield* (await get()).paginate.iterator(route, params);
        },
      }),
    },
  };
}
