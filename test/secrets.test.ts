/**
 * src/github/secrets.ts in-process, against a scripted GitHubApi: what counts as absent (only a 404), paging of the secrets
 * and selected-repositories listings, GitHub errors in one true line, rate-limit answers.
 */
import { describe, expect, it } from '@jest/globals';
import type { Destination } from '../src/github/destinations.js';
import type { GitHubApi } from '../src/github/github-api.js';
import {
  deleteSecret,
  environmentExists,
  getPublicKey,
  gitHubError,
  listEnvironments,
  listSecrets,
  rateLimitOf,
  repositoryExists,
  resolveRepositoryIds,
  selectedRepositories,
  statusOf,
  writeSecret,
} from '../src/github/secrets.js';
import type { TokenKind } from '../src/github/github-api.js';
import { tokenKind } from '../src/github/secrets.js';
import { failure, scriptedGitHub } from './support/scripted-github.js';

const api = scriptedGitHub;

const REPO: Destination = { kind: 'repository', owner: 'octo', repo: 'api' };
const ORG: Destination = { kind: 'organization', org: 'octo', visibility: 'selected', selectedRepositories: ['api'] };

describe('repositoryExists / environmentExists: only a 404 means absent', () => {
  it('an answer means it exists, a 404 that it does not', async () => {
    const { gh, calls } = api({ 'GET /repos/octo/api': {}, 'GET /repos/octo/api/environments/prod': {} });
    await expect(repositoryExists(gh, 'octo', 'api')).resolves.toBe(true);
    await expect(repositoryExists(gh, 'octo', 'gone')).resolves.toBe(false);
    await expect(environmentExists(gh, 'octo', 'api', 'prod')).resolves.toBe(true);
    await expect(environmentExists(gh, 'octo', 'api', 'staging')).resolves.toBe(false);
    expect(calls.map((c) => c.route)).toEqual([
      'GET /repos/octo/api',
      'GET /repos/octo/gone',
      'GET /repos/octo/api/environments/prod',
      'GET /repos/octo/api/environments/staging',
    ]);
  });

  it.each([
    ['403 (no permission)', 403],
    ['401 (bad token)', 401],
    ['500', 500],
    ['502', 502],
    ['a network error (no status)', undefined],
  ])('%s is not "absent": the failure is thrown as it came', async (_, status) => {
    const err = failure(status);
    const { gh } = api({ 'GET /repos/octo/api': err, 'GET /repos/octo/api/environments/prod': err });
    await expect(repositoryExists(gh, 'octo', 'api')).rejects.toBe(err);
    await expect(environmentExists(gh, 'octo', 'api', 'prod')).rejects.toBe(err);
  });

  it('names are URL-encoded in the path, an environment name with / and spaces included', async () => {
    const { gh, calls } = api({});
    await environmentExists(gh, 'octo', 'api', 'Prod EU/1');
    await repositoryExists(gh, 'octo', 'a.b');
    expect(calls.map((c) => c.route)).toEqual(['GET /repos/octo/api/environments/Prod%20EU%2F1', 'GET /repos/octo/a.b']);
  });
});

describe('listSecrets', () => {
  const secret = (i: number) => ({ name: `s_${i}`, updated_at: '2026-01-02T03:04:05Z' });

  it('reads every page: 100 per page, until a short page', async () => {
    const all = Array.from({ length: 230 }, (_, i) => secret(i));
    const { gh, calls } = api({
      'GET /repos/octo/api/actions/secrets': (p: Record<string, unknown> | undefined) => {
        const page = Number(p?.page);
        return { total_count: 230, secrets: all.slice((page - 1) * 100, page * 100) };
      },
    });
    const secrets = await listSecrets(gh, REPO);
    expect(secrets.size).toBe(230);
    expect(calls.map((c) => c.params)).toEqual([
      { per_page: 100, page: 1 },
      { per_page: 100, page: 2 },
      { per_page: 100, page: 3 },
    ]);
    // Names as GitHub stores them (upper case), with the time each was written.
    expect(secrets.get('S_229')).toEqual({ updatedAt: Date.parse('2026-01-02T03:04:05Z'), visibility: undefined });
    expect(secrets.has('s_229')).toBe(false);
  });

  it('a full last page stops at total_count, without asking for an empty page', async () => {
    const { gh, calls } = api({
      'GET /repos/octo/api/actions/secrets': (p: Record<string, unknown> | undefined) => ({
        total_count: 100,
        secrets: p?.page === 1 ? Array.from({ length: 100 }, (_, i) => secret(i)) : [],
      }),
    });
    expect((await listSecrets(gh, REPO)).size).toBe(100);
    expect(calls).toHaveLength(1);
  });

  it('a page of 100 below total_count asks for the next one', async () => {
    const { gh, calls } = api({
      'GET /repos/octo/api/actions/secrets': (p: Record<string, unknown> | undefined) => ({
        total_count: 101,
        secrets: p?.page === 1 ? Array.from({ length: 100 }, (_, i) => secret(i)) : [secret(100)],
      }),
    });
    expect((await listSecrets(gh, REPO)).size).toBe(101);
    expect(calls).toHaveLength(2);
  });

  it('keeps an organization secret visibility', async () => {
    const { gh } = api({
      'GET /orgs/octo/actions/secrets': {
        total_count: 1,
        secrets: [{ name: 'aws_access_key_id', updated_at: '2026-01-02T03:04:05Z', visibility: 'selected' }],
      },
    });
    expect([...(await listSecrets(gh, ORG))]).toEqual([
      ['AWS_ACCESS_KEY_ID', { updatedAt: Date.parse('2026-01-02T03:04:05Z'), visibility: 'selected' }],
    ]);
  });
});

describe('listEnvironments', () => {
  it('reads every page (100 per page) and gives the names, encoding the repository in the path', async () => {
    const all = Array.from({ length: 150 }, (_, i) => ({ id: i, name: `env ${i}` }));
    const { gh, calls } = api({
      'GET /repos/octo/my.api/environments': (p: Record<string, unknown> | undefined) => {
        const page = Number(p?.page);
        return { total_count: 150, environments: all.slice((page - 1) * 100, page * 100) };
      },
    });
    const names = await listEnvironments(gh, 'octo', 'my.api');
    expect(names).toHaveLength(150);
    expect(names[149]).toBe('env 149');
    expect(calls.map((c) => c.params)).toEqual([
      { per_page: 100, page: 1 },
      { per_page: 100, page: 2 },
    ]);
  });

  it('a full page at total_count stops; a repository without environments may leave the list out', async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({ name: `e${i}` }));
    const { gh, calls } = api({
      'GET /repos/octo/api/environments': { total_count: 100, environments: full },
      'GET /repos/octo/none/environments': { total_count: 0 },
    });
    expect(await listEnvironments(gh, 'octo', 'api')).toHaveLength(100);
    expect(await listEnvironments(gh, 'octo', 'none')).toEqual([]);
    expect(calls).toHaveLength(2);
  });

  it('a failure is thrown as GitHub answered', async () => {
    const { gh } = api({ 'GET /repos/octo/api/environments': failure(403, 'Forbidden') });
    await expect(listEnvironments(gh, 'octo', 'api')).rejects.toMatchObject({ status: 403 });
  });
});

describe('selectedRepositories', () => {
  const repo = (i: number) => ({ id: i, full_name: `octo/r${i}` });

  it('reads every page, and stops at a short page or at total_count', async () => {
    const all = Array.from({ length: 150 }, (_, i) => repo(i));
    const { gh, calls } = api({
      'GET /orgs/octo/actions/secrets/AWS%20KEY/repositories': (p: Record<string, unknown> | undefined) => {
        const page = Number(p?.page);
        return { total_count: 150, repositories: all.slice((page - 1) * 100, page * 100) };
      },
    });
    const out = await selectedRepositories(gh, ORG, 'AWS KEY');
    expect(out).toHaveLength(150);
    expect(out[149]).toEqual({ id: 149, fullName: 'octo/r149' });
    expect(calls.map((c) => c.params)).toEqual([
      { per_page: 100, page: 1 },
      { per_page: 100, page: 2 },
    ]);
  });

  it('a full page that reaches total_count is the last one', async () => {
    const { gh, calls } = api({
      'GET /orgs/octo/actions/secrets/S/repositories': { total_count: 100, repositories: Array.from({ length: 100 }, (_, i) => repo(i)) },
    });
    expect(await selectedRepositories(gh, ORG, 'S')).toHaveLength(100);
    expect(calls).toHaveLength(1);
  });

  it('a full page below total_count asks for the next one', async () => {
    const { gh, calls } = api({
      'GET /orgs/octo/actions/secrets/S/repositories': (p: Record<string, unknown> | undefined) => ({
        total_count: 101,
        repositories: p?.page === 1 ? Array.from({ length: 100 }, (_, i) => repo(i)) : [repo(100)],
      }),
    });
    expect(await selectedRepositories(gh, ORG, 'S')).toHaveLength(101);
    expect(calls).toHaveLength(2);
  });
});

describe('getPublicKey / writeSecret / deleteSecret', () => {
  it('reads the public key of the destination, its id as a string', async () => {
    const { gh } = api({ 'GET /repos/octo/api/actions/secrets/public-key': { key_id: 1234, key: 'K' } });
    await expect(getPublicKey(gh, REPO)).resolves.toEqual({ keyId: '1234', key: 'K' });
  });

  it('writes a sealed value (never the value itself) with the key id; organization sharing only when given', async () => {
    const bodies: Record<string, unknown>[] = [];
    const { gh, calls } = api({
      'PUT /repos/octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY': (p: Record<string, unknown> | undefined) =>
        void bodies.push(p ?? {}),
      'PUT /orgs/octo/actions/secrets/A': (p: Record<string, unknown> | undefined) => void bodies.push(p ?? {}),
    });
    const key = { keyId: 'kid', key: Buffer.alloc(32, 7).toString('base64') };
    await writeSecret(gh, REPO, key, 'AWS_SECRET_ACCESS_KEY', 'the-value', undefined);
    await writeSecret(gh, ORG, key, 'A', 'v', { visibility: 'selected', selectedRepositoryIds: [1, 2] });
    await writeSecret(gh, ORG, key, 'A', 'v', { visibility: 'all', selectedRepositoryIds: [1, 2] });
    expect(calls).toHaveLength(3);
    expect(Object.keys(bodies[0]).sort()).toEqual(['encrypted_value', 'key_id']);
    expect(bodies[0].key_id).toBe('kid');
    expect(String(bodies[0].encrypted_value)).not.toContain('the-value');
    expect(Buffer.from(String(bodies[0].encrypted_value), 'base64').length).toBe('the-value'.length + 48);
    expect(bodies[1]).toMatchObject({ visibility: 'selected', selected_repository_ids: [1, 2] });
    expect(bodies[2].visibility).toBe('all');
    expect(bodies[2]).not.toHaveProperty('selected_repository_ids');
  });

  it('a failed write says what, where, GitHub answer and the permission', async () => {
    const { gh } = api({ 'PUT /repos/octo/api/actions/secrets/X': failure(403, 'Resource not accessible by integration') });
    await expect(writeSecret(gh, REPO, { keyId: 'k', key: Buffer.alloc(32, 7).toString('base64') }, 'X', 'v', undefined)).rejects.toThrow(
      "writing X to octo/api: 403 Resource not accessible by integration. the token needs repository permission 'Secrets: write'",
    );
  });

  it('deleting: a 404 counts as done, anything else is an error naming the secret and the destination', async () => {
    const { gh, calls } = api({ 'DELETE /repos/octo/api/actions/secrets/B': failure(500, 'Server Error') });
    await expect(deleteSecret(gh, REPO, 'A')).resolves.toBeUndefined();
    await expect(deleteSecret(gh, REPO, 'B')).rejects.toThrow(
      'deleting B from octo/api: 500 Server Error. GitHub did not answer after retries; rerun later',
    );
    expect(calls.map((c) => c.route)).toEqual([
      'DELETE /repos/octo/api/actions/secrets/A',
      'DELETE /repos/octo/api/actions/secrets/B',
    ]);
  });
});

describe('gitHubError: one true line', () => {
  const line = (err: unknown) => gitHubError('reading the public key of', 'octo/api', err, 'PERM', undefined).message;

  it.each<[string, unknown, string]>([
    ['401', failure(401, 'Bad credentials'), 'reading the public key of octo/api: 401 Bad credentials. github-token is invalid or expired'],
    [
      '403',
      failure(403, 'Forbidden'),
      "reading the public key of octo/api: 403 Forbidden. the token needs PERM. If github-token is the workflow's GITHUB_TOKEN: it cannot write secrets",
    ],
    [
      '404',
      failure(404, 'Not Found'),
      'reading the public key of octo/api: 404 Not Found. it does not exist or the token cannot see it; the token needs PERM.',
    ],
    [
      '403 naming the permissions GitHub accepts',
      failure(403, 'Forbidden', { 'x-accepted-github-permissions': 'secrets=write' }),
      "403 Forbidden. GitHub accepts the permission(s) 'secrets=write'. If github-token is the workflow's",
    ],
    ['422', failure(422, 'Bad key'), 'octo/api: 422 Bad key. GitHub rejected the request (see its message)'],
    ['500', failure(500, 'oops'), 'octo/api: 500 oops. GitHub did not answer after retries; rerun later'],
    ['a network error', failure(undefined, 'socket hang up'), 'octo/api: network error socket hang up. GitHub did not answer after retries'],
  ])('%s', (_, err, expected) => {
    expect(line(err)).toContain(expected);
  });

  it.each<[TokenKind, string]>([
    ['pat', 'reading the public key of octo/api: 403 Forbidden. the token needs PERM'],
    [
      'workflow',
      "reading the public key of octo/api: 403 Forbidden. the token needs PERM. github-token is the workflow's GITHUB_TOKEN, " +
        'which cannot write secrets: pass a fine-grained PAT, classic PAT or GitHub App token as github-token',
    ],
    [
      'installation',
      "reading the public key of octo/api: 403 Forbidden. the token needs PERM. If github-token is the workflow's " +
        'GITHUB_TOKEN: it cannot write secrets; pass a fine-grained PAT, classic PAT or GitHub App token as github-token',
    ],
    [
      'unknown',
      "reading the public key of octo/api: 403 Forbidden. the token needs PERM. If github-token is the workflow's " +
        'GITHUB_TOKEN: it cannot write secrets; pass a fine-grained PAT, classic PAT or GitHub App token as github-token',
    ],
  ])('a 403 with a token of kind %s', (kind, expected) => {
    expect(gitHubError('reading the public key of', 'octo/api', failure(403, 'Forbidden'), 'PERM', kind).message).toBe(expected);
    const notFound = gitHubError('reading the public key of', 'octo/api', failure(404, 'Not Found'), 'PERM', kind).message;
    expect(notFound.includes('GITHUB_TOKEN')).toBe(kind !== 'pat');
  });

  it.each<[string, string | undefined, TokenKind]>([
    ['ghp_abc', undefined, 'pat'],
    ['github_pat_11abc', undefined, 'pat'],
    ['ghs_abc', undefined, 'installation'],
    ['ghs_abc', 'ghs_abc', 'workflow'],
    ['ghs_abc', 'ghs_other', 'installation'],
    ['ghp_abc', 'ghp_abc', 'pat'], // env: GITHUB_TOKEN: a PAT
    ['0123456789abcdef0123456789abcdef01234567', undefined, 'unknown'],
    ['test-token', '', 'unknown'],
  ])('tokenKind(%j, GITHUB_TOKEN=%j) is %s', (token, jobToken, kind) => {
    expect(tokenKind(token, jobToken)).toBe(kind);
  });

  it('a status GitHub does not explain gets no hint; a message-less failure is just its status', () => {
    expect(line(Object.assign(new Error(''), { status: 409, response: {} }))).toBe('reading the public key of octo/api: 409');
    expect(line({ status: 418, message: 'teapot', response: {} })).toBe('reading the public key of octo/api: 418 teapot');
  });

  it('a 403 or 404 without response headers still explains itself', () => {
    expect(line({ status: 403, message: 'Forbidden', response: {} })).toContain('403 Forbidden. the token needs PERM.');
    expect(line({ status: 404, message: 'Not Found', response: {} })).toContain('404 Not Found. it does not exist');
  });

  it('a 404 hint does not say "does not exist" for a 403', () => {
    expect(line(failure(403))).not.toContain('does not exist');
    expect(line(failure(401))).not.toContain('permission');
  });

  it('keeps the cause; a non-object failure counts as a network error', () => {
    const err = failure(500);
    expect(gitHubError('x', 'y', err, 'p', undefined).cause).toBe(err);
    expect(gitHubError('x', 'y', 'weird', 'p', undefined).message).toBe('x y: network error. GitHub did not answer after retries; rerun later');
    expect(statusOf(null)).toBeUndefined();
    expect(statusOf({ status: 409, response: {} })).toBe(409);
  });

  it('a status without a response is no answer: Octokit reports a timeout or a network error as 500', () => {
    // As @octokit/request throws it when fetch fails: the request may have reached GitHub, so nothing is known.
    const timedOut = Object.assign(new Error('no answer within 30 s (request abandoned)'), { status: 500, request: {} });
    expect(statusOf(timedOut)).toBeUndefined();
    expect(line(timedOut)).toBe(
      'reading the public key of octo/api: network error no answer within 30 s (request abandoned). GitHub did not answer after retries; rerun later',
    );
  });

  it('a rate limit is named as such, not as a permission problem', () => {
    const limited = failure(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0', 'retry-after': '30' });
    expect(line(limited)).toContain('403 API rate limit exceeded. GitHub primary rate limit, not a permission problem, retry-after 30 s; rerun later');
    expect(line(limited)).not.toContain('PERM');
    const gaveUp = Object.assign(failure(429, 'slow down', { 'retry-after': '10' }), { rateLimitGaveUp: 'budget spent' });
    expect(line(gaveUp)).toContain('GitHub secondary rate limit, not a permission problem: budget spent; rerun later');
  });
});

describe('rateLimitOf', () => {
  const NOW = 1_800_000_000_000;
  const limited = (status: number, headers: Record<string, string>, message = 'x', data?: unknown) =>
    Object.assign(new Error(message), { status, response: { headers, data } });

  it('only a 403 or 429 can be a rate limit', () => {
    expect(rateLimitOf(limited(500, { 'retry-after': '5' }), NOW)).toBeUndefined();
    expect(rateLimitOf(limited(404, { 'x-ratelimit-remaining': '0' }, 'rate limit'), NOW)).toBeUndefined();
    expect(rateLimitOf(limited(403, {}, 'Resource not accessible'), NOW)).toBeUndefined();
    expect(rateLimitOf(undefined, NOW)).toBeUndefined();
  });

  it('primary: x-ratelimit-remaining 0, waiting until the reset (at least 1 s), or retry-after when given', () => {
    const reset = String(NOW / 1000 + 120.2);
    expect(rateLimitOf(limited(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }), NOW)).toEqual({
      kind: 'primary',
      waitSeconds: 121,
      told: 'reset',
      gaveUp: undefined,
    });
    expect(rateLimitOf(limited(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 - 5) }), NOW)?.waitSeconds).toBe(1);
    expect(
      rateLimitOf(limited(429, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset, 'retry-after': '7' }), NOW)?.waitSeconds,
    ).toBe(7);
    expect(rateLimitOf(limited(403, { 'x-ratelimit-remaining': '0', 'retry-after': '0' }), NOW)?.waitSeconds).toBe(60);
    expect(rateLimitOf(limited(403, { 'x-ratelimit-remaining': '0' }), NOW)).toMatchObject({ kind: 'primary', waitSeconds: 60 });
  });

  it('secondary: "secondary" in the message wins over remaining 0; retry-after, else 60 s', () => {
    expect(
      rateLimitOf(limited(403, { 'x-ratelimit-remaining': '0', 'retry-after': '9' }, 'You have exceeded a secondary rate limit'), NOW),
    ).toEqual({ kind: 'secondary', waitSeconds: 9, told: 'retry-after', gaveUp: undefined });
    expect(rateLimitOf(limited(403, {}, 'x', { message: 'secondary rate limit' }), NOW)).toEqual({
      kind: 'secondary',
      waitSeconds: 60,
      told: undefined,
      gaveUp: undefined,
    });
    expect(rateLimitOf(limited(429, {}), NOW)).toMatchObject({ kind: 'secondary', waitSeconds: 60 });
    expect(rateLimitOf(limited(403, { 'retry-after': '0' }), NOW)).toMatchObject({ kind: 'secondary', waitSeconds: 60 });
    expect(rateLimitOf(limited(403, { 'x-ratelimit-remaining': '1' }, 'API rate limit exceeded'), NOW)?.kind).toBe('secondary');
  });

  // Issue 24, world 15: GitHub's older words for the secondary rate limit.
  it('secondary: the older "abuse detection" wording (message or documentation_url), even with remaining 0', () => {
    const words = 'You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.';
    expect(rateLimitOf(limited(403, {}, words), NOW)).toEqual({ kind: 'secondary', waitSeconds: 60, told: undefined, gaveUp: undefined });
    expect(rateLimitOf(limited(403, { 'x-ratelimit-remaining': '0' }, 'x', { message: words }), NOW)?.kind).toBe('secondary');
    expect(rateLimitOf(limited(403, {}, 'Forbidden', { documentation_url: 'https://docs.github.com/v3/#abuse-rate-limits' }), NOW)?.kind).toBe(
      'secondary',
    );
    expect(rateLimitOf(limited(403, { 'retry-after': '45' }, words), NOW)).toMatchObject({ waitSeconds: 45, told: 'retry-after' });
  });

  it('the hint says what GitHub told about the wait, and nothing it did not', () => {
    const line = (err: unknown) => gitHubError('reading', 'x', err, 'PERM', 'pat').message;
    expect(line(limited(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 30) }, 'API rate limit exceeded'))).toMatch(
      /GitHub primary rate limit, not a permission problem, resets in \d+ s; rerun later/,
    );
    expect(line(limited(403, {}, 'You have triggered an abuse detection mechanism'))).toContain(
      'GitHub secondary rate limit, not a permission problem; rerun later',
    );
  });

  it('carries why the client gave up waiting', () => {
    const err = Object.assign(limited(429, { 'retry-after': '3' }), { rateLimitGaveUp: 'cancelled' });
    expect(rateLimitOf(err, NOW)?.gaveUp).toBe('cancelled');
  });
});

describe('resolveRepositoryIds', () => {
  it('finds names case-insensitively, page by page, stopping once all are found; ids in the order asked', async () => {
    const { gh } = api(
      {},
      {
        'GET /orgs/octo/repos': [
          [
            { name: 'Web', id: 2 },
            { name: 'other', id: 9 },
          ],
          [{ name: 'api', id: 1 }],
          [{ name: 'never-read', id: 3 }],
        ],
      },
    );
    await expect(resolveRepositoryIds(gh, 'octo', ['API', 'web'])).resolves.toEqual([1, 2]);
  });

  it('stops reading pages once every name is found', async () => {
    let pagesRead = 0;
    const gh: GitHubApi = {
      request: async () => ({ status: 200, data: {}, headers: {} }),
      paginate: {
        iterator: () => ({
          async *[Symbol.asyncIterator]() {
            for (const page of [[{ name: 'api', id: 1 }], [{ name: 'web', id: 2 }]]) {
              pagesRead++;
              yield { status: 200, data: page, headers: {} };
            }
          },
        }),
      },
    };
    await resolveRepositoryIds(gh, 'octo', ['api']);
    expect(pagesRead).toBe(1);
  });

  it('asks for 100 repositories per page', async () => {
    const { gh, calls } = api({}, { 'GET /orgs/octo/repos': [[{ name: 'api', id: 1 }]] });
    await resolveRepositoryIds(gh, 'octo', ['api']);
    expect(calls).toEqual([{ route: 'GET /orgs/octo/repos', params: { per_page: 100 } }]);
  });

  it('names every repository it did not find', async () => {
    const { gh } = api({}, { 'GET /orgs/octo/repos': [[{ name: 'api', id: 1 }]] });
    await expect(resolveRepositoryIds(gh, 'octo', ['api', 'Missing', 'gone'])).rejects.toThrow(
      "organization-selected-repositories: 'Missing', 'gone' not found in organization octo (or the token cannot see it)",
    );
  });

  it('a listing failure is a GitHub error naming the organization', async () => {
    const { gh } = api({}, {});
    await expect(resolveRepositoryIds(gh, 'octo', ['api'])).rejects.toThrow(
      "listing the repositories of organization octo: 403 Forbidden. the token needs repository permission 'Metadata: read'",
    );
  });
});
