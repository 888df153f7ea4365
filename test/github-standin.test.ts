import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import sodium from 'libsodium-wrappers';
import {
  GitHubStandin,
  forbidden,
  hang,
  notFound,
  primaryRateLimit,
  secondaryRateLimit,
  serverError,
  type Scope,
} from './support/github-standin.js';

const TOKEN = 'test-token';

interface Res {
  status: number;
  body: unknown;
  headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; signal?: AbortSignal; rawBody?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json' };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `token ${token}`;
  let payload: string | undefined = opts.rawBody;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body: payload, signal: opts.signal });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function seal(value: string, publicKeyB64: string, variant = sodium.base64_variants.ORIGINAL): string {
  const pk = sodium.from_base64(publicKeyB64, sodium.base64_variants.ORIGINAL);
  return sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(value), pk), variant);
}

let gh: GitHubStandin;
const api = (method: string, path: string, body?: unknown, opts?: Parameters<typeof call>[4]): Promise<Res> =>
  call(gh.url, method, path, body, opts);

/** GET the scope's public key over HTTP, seal, PUT. */
async function putSecret(secretsPath: string, name: string, value: string, extra: Record<string, unknown> = {}): Promise<Res> {
  const pk = (await api('GET', `${secretsPath}/public-key`)).body as { key_id: string; key: string };
  return api('PUT', `${secretsPath}/${name}`, { encrypted_value: seal(value, pk.key), key_id: pk.key_id, ...extra });
}

const repoScope: Scope = { kind: 'repository', owner: 'acme', repo: 'app' };

beforeAll(async () => {
  await sodium.ready;
  gh = await GitHubStandin.start();
  gh.addOrganization('acme');
  gh.addRepository('acme/app', { id: 42, environments: ['prod env'], private: true });
  gh.addRepository('acme/lib');
});

afterAll(async () => {
  await gh.stop();
});

beforeEach(() => gh.reset());

describe('repository Actions secrets', () => {
  it('opens a value sealed with the scope public key (standard base64) and stores the plaintext', async () => {
    const pk = await api('GET', '/repos/acme/app/actions/secrets/public-key');
    expect(pk.status).toBe(200);
    expect(pk.body).toEqual({ key_id: gh.publicKey(repoScope).keyId, key: gh.publicKey(repoScope).key });
    expect(gh.publicKey(repoScope).keyId).toMatch(/^\d{18}$/);

    const created = await putSecret('/repos/acme/app/actions/secrets', 'aws_access_key_id', 'AKIA-first');
    expect(created.status).toBe(201);
    expect(created.body).toBeUndefined();
    const s1 = gh.secret(repoScope, 'AWS_ACCESS_KEY_ID');
    expect(s1).toMatchObject({ name: 'AWS_ACCESS_KEY_ID', value: 'AKIA-first', keyId: gh.publicKey(repoScope).keyId });
    expect(s1?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const updated = await putSecret('/repos/acme/app/actions/secrets', 'AWS_ACCESS_KEY_ID', 'AKIA-second ✓');
    expect(updated.status).toBe(204);
    expect(gh.secret(repoScope, 'aws_access_key_id')?.value).toBe('AKIA-second ✓');
    expect(gh.secret(repoScope, 'AWS_ACCESS_KEY_ID')?.createdAt).toBe(s1?.createdAt);

    const one = await api('GET', '/repos/acme/app/actions/secrets/AWS_ACCESS_KEY_ID');
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ name: 'AWS_ACCESS_KEY_ID', created_at: s1?.createdAt, updated_at: expect.any(String) });

    gh.setSecret(repoScope, 'OTHER', 'seeded');
    const list = await api('GET', '/repos/acme/app/actions/secrets');
    expect(list.body).toMatchObject({ total_count: 2, secrets: [{ name: 'AWS_ACCESS_KEY_ID' }, { name: 'OTHER' }] });
    expect(gh.secretNames(repoScope)).toEqual(['AWS_ACCESS_KEY_ID', 'OTHER']);

    const paged = await api('GET', '/repos/acme/app/actions/secrets?per_page=1&page=2');
    expect(paged.body).toMatchObject({ total_count: 2, secrets: [{ name: 'OTHER' }] });

    expect((await api('DELETE', '/repos/acme/app/actions/secrets/OTHER')).status).toBe(204);
    expect((await api('DELETE', '/repos/acme/app/actions/secrets/OTHER')).status).toBe(404);
    expect((await api('GET', '/repos/acme/app/actions/secrets/OTHER')).status).toBe(404);
    expect(gh.secret(repoScope, 'OTHER')).toBeUndefined();
  });

  it('rejects a wrong or stale key_id with 422', async () => {
    const { key, keyId } = gh.publicKey(repoScope);
    const wrong = await api('PUT', '/repos/acme/app/actions/secrets/K1', { encrypted_value: seal('v', key), key_id: '123' });
    expect(wrong.status).toBe(422);
    expect((wrong.body as { message: string }).message).toMatch(/key_id/);

    gh.rotatePublicKey(repoScope);
    expect(gh.publicKey(repoScope).keyId).not.toBe(keyId);
    const stale = await api('PUT', '/repos/acme/app/actions/secrets/K1', { encrypted_value: seal('v', key), key_id: keyId });
    expect(stale.status).toBe(422);
    // Right key_id but sealed for the old key: cannot be opened.
    const oldBox = await api('PUT', '/repos/acme/app/actions/secrets/K1', {
      encrypted_value: seal('v', key),
      key_id: gh.publicKey(repoScope).keyId,
    });
    expect(oldBox.status).toBe(422);
    expect(gh.secret(repoScope, 'K1')).toBeUndefined();
  });

  it("rejects URL-safe and unpadded base64 (libsodium's default) with 422", async () => {
    const { key, keyId } = gh.publicKey(repoScope);
    let urlsafe = '';
    while (!/[-_]/.test(urlsafe)) urlsafe = seal('value', key, sodium.base64_variants.URLSAFE);
    expect((await api('PUT', '/repos/acme/app/actions/secrets/B64', { encrypted_value: urlsafe, key_id: keyId })).status).toBe(422);
    // 48 + 1 bytes -> needs padding; the unpadded form must be refused.
    const unpadded = seal('x', key, sodium.base64_variants.ORIGINAL_NO_PADDING);
    expect(unpadded.length % 4).not.toBe(0);
    expect((await api('PUT', '/repos/acme/app/actions/secrets/B64', { encrypted_value: unpadded, key_id: keyId })).status).toBe(422);
    const libsodiumDefault = sodium.to_base64(
      sodium.crypto_box_seal('x', sodium.from_base64(key, sodium.base64_variants.ORIGINAL)),
    );
    expect((await api('PUT', '/repos/acme/app/actions/secrets/B64', { encrypted_value: libsodiumDefault, key_id: keyId })).status).toBe(422);
    expect(gh.secret(repoScope, 'B64')).toBeUndefined();
  });

  it('validates secret names and body', async () => {
    expect((await putSecret('/repos/acme/app/actions/secrets', 'GITHUB_TOKEN', 'v')).status).toBe(422);
    expect((await putSecret('/repos/acme/app/actions/secrets', 'github_x', 'v')).status).toBe(422);
    expect((await putSecret('/repos/acme/app/actions/secrets', '1ABC', 'v')).status).toBe(422);
    expect((await putSecret('/repos/acme/app/actions/secrets', 'A-B', 'v')).status).toBe(422);
    expect((await api('PUT', '/repos/acme/app/actions/secrets/OK', { key_id: gh.publicKey(repoScope).keyId })).status).toBe(422);
    expect((await api('PUT', '/repos/acme/app/actions/secrets/OK', undefined, { rawBody: '{not json' })).status).toBe(400);
    expect((await api('GET', '/repos/acme/nope/actions/secrets/public-key')).status).toBe(404);
    const { key, keyId } = gh.publicKey(repoScope);
    expect((await api('PUT', '/repos/acme/nope/actions/secrets/OK', { encrypted_value: seal('v', key), key_id: keyId })).status).toBe(404);
  });
});

describe('repositories, environments, organizations', () => {
  it('GET /repos/{owner}/{repo}', async () => {
    const r = await api('GET', '/repos/ACME/App');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 42, name: 'app', full_name: 'acme/app', private: true, owner: { login: 'acme' } });
    expect((await api('GET', '/repos/acme/missing')).status).toBe(404);
  });

  it('environment secrets with a URL-encoded environment name', async () => {
    const envScope: Scope = { kind: 'environment', owner: 'acme', repo: 'app', environment: 'prod env' };
    const env = await api('GET', '/repos/acme/app/environments/prod%20env');
    expect(env.status).toBe(200);
    expect(env.body).toMatchObject({ name: 'prod env', id: expect.any(Number) });

    const res = await putSecret('/repos/acme/app/environments/prod%20env/secrets', 'AWS_SECRET_ACCESS_KEY', 's3cr3t');
    expect(res.status).toBe(201);
    expect(gh.secret(envScope, 'AWS_SECRET_ACCESS_KEY')?.value).toBe('s3cr3t');
    expect(gh.secret(repoScope, 'AWS_SECRET_ACCESS_KEY')).toBeUndefined();
    expect(gh.requests.at(-1)?.path).toBe('/repos/acme/app/environments/prod env/secrets/AWS_SECRET_ACCESS_KEY');
    expect(gh.requests.at(-1)?.rawPath).toBe('/repos/acme/app/environments/prod%20env/secrets/AWS_SECRET_ACCESS_KEY');

    expect((await api('GET', '/repos/acme/app/environments/staging')).status).toBe(404);
    expect((await api('GET', '/repos/acme/app/environments/staging/secrets/public-key')).status).toBe(404);
    const created = await api('PUT', '/repos/acme/app/environments/qa%2Fus%20east');
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: 'qa/us east' });
    expect(gh.environments('acme/app')).toEqual(['prod env', 'qa/us east']);
    expect((await putSecret('/repos/acme/app/environments/qa%2Fus%20east/secrets', 'X', 'y')).status).toBe(201);
    expect(gh.secret({ kind: 'environment', repo: 'acme/app', environment: 'qa/us east' }, 'X')?.value).toBe('y');
  });

  it('organization secrets require visibility and store selected repository ids', async () => {
    const orgScope: Scope = { kind: 'organization', org: 'acme' };
    const noVis = await putSecret('/orgs/acme/actions/secrets', 'ORG_KEY', 'v');
    expect(noVis.status).toBe(422);
    expect((await putSecret('/orgs/acme/actions/secrets', 'ORG_KEY', 'v', { visibility: 'public' })).status).toBe(422);
    expect(
      (await putSecret('/orgs/acme/actions/secrets', 'ORG_KEY', 'v', { visibility: 'all', selected_repository_ids: [42] })).status,
    ).toBe(422);
    expect(gh.secret(orgScope, 'ORG_KEY')).toBeUndefined();

    const ok = await putSecret('/orgs/acme/actions/secrets', 'ORG_KEY', 'org-value', {
      visibility: 'selected',
      selected_repository_ids: [42],
    });
    expect(ok.status).toBe(201);
    expect(gh.secret(orgScope, 'ORG_KEY')).toMatchObject({ value: 'org-value', visibility: 'selected', selectedRepositoryIds: [42] });
    const one = await api('GET', '/orgs/acme/actions/secrets/ORG_KEY');
    expect(one.body).toMatchObject({
      name: 'ORG_KEY',
      visibility: 'selected',
      selected_repositories_url: `${gh.url}/orgs/acme/actions/secrets/ORG_KEY/repositories`,
    });
    const repos = await api('GET', '/orgs/acme/actions/secrets/ORG_KEY/repositories');
    expect(repos.body).toMatchObject({ total_count: 1, repositories: [{ id: 42 }] });

    expect((await putSecret('/orgs/acme/actions/secrets', 'ORG_KEY', 'v2', { visibility: 'private' })).status).toBe(204);
    expect(gh.secret(orgScope, 'ORG_KEY')).toMatchObject({ value: 'v2', visibility: 'private' });
    expect(gh.secret(orgScope, 'ORG_KEY')?.selectedRepositoryIds).toBeUndefined();
    expect((await api('GET', '/orgs/nobody/actions/secrets/public-key')).status).toBe(404);
  });

  it("what the action's preflight reads: updated_at in whole seconds, an organization secret's visibility and repositories", async () => {
    expect((await putSecret('/orgs/acme/actions/secrets', 'PRE_ID', 'v', { visibility: 'selected', selected_repository_ids: [42] })).status).toBe(201);
    gh.setSecret({ kind: 'organization', org: 'acme' }, 'PRE_ALL', 'seeded'); // seeded organization secrets: visibility all
    const list = (await api('GET', '/orgs/acme/actions/secrets?per_page=100&page=1')).body as {
      total_count: number;
      secrets: { name: string; updated_at: string; visibility: string }[];
    };
    const byName = new Map(list.secrets.map((x) => [x.name, x]));
    expect(byName.get('PRE_ID')).toMatchObject({ visibility: 'selected' });
    expect(byName.get('PRE_ALL')).toMatchObject({ visibility: 'all' });
    for (const x of list.secrets) {
      expect(x.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/); // GitHub: whole seconds
      expect(x.updated_at).toBe(gh.secret({ kind: 'organization', org: 'acme' }, x.name)?.updatedAt);
    }
    const repos = await api('GET', '/orgs/acme/actions/secrets/PRE_ID/repositories?per_page=100&page=1');
    expect(repos.body).toMatchObject({ total_count: 1, repositories: [{ id: 42, full_name: 'acme/app' }] });
    expect((await api('GET', '/orgs/acme/actions/secrets/PRE_ALL/repositories')).status).toBe(404);
  });

  it('Dependabot repository and organization secrets', async () => {
    expect((await putSecret('/repos/acme/app/dependabot/secrets', 'DEP', 'd1')).status).toBe(201);
    expect(gh.secret({ kind: 'dependabot-repository', owner: 'acme', repo: 'app' }, 'DEP')?.value).toBe('d1');
    expect(gh.secret(repoScope, 'DEP')).toBeUndefined();
    expect((await putSecret('/orgs/acme/dependabot/secrets', 'DEP', 'd2')).status).toBe(422);
    expect((await putSecret('/orgs/acme/dependabot/secrets', 'DEP', 'd2', { visibility: 'selected', selected_repository_ids: ['42'] })).status).toBe(201);
    expect(gh.secret({ kind: 'dependabot-organization', org: 'acme' }, 'DEP')).toMatchObject({ value: 'd2', selectedRepositoryIds: [42] });
  });

  it('each scope has its own key pair: a box sealed for one scope does not open in another', async () => {
    const scopes: Scope[] = [
      repoScope,
      { kind: 'repository', owner: 'acme', repo: 'lib' },
      { kind: 'environment', owner: 'acme', repo: 'app', environment: 'prod env' },
      { kind: 'organization', org: 'acme' },
      { kind: 'dependabot-repository', owner: 'acme', repo: 'app' },
      { kind: 'dependabot-organization', org: 'acme' },
    ];
    const keys = scopes.map((s) => gh.publicKey(s));
    expect(new Set(keys.map((k) => k.key)).size).toBe(scopes.length);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(scopes.length);

    // Sealed for the repo's Actions key, sent to Dependabot with Dependabot's key_id.
    const box = seal('cross', keys[0].key);
    const res = await api('PUT', '/repos/acme/app/dependabot/secrets/CROSS', { encrypted_value: box, key_id: keys[4].keyId });
    expect(res.status).toBe(422);
    const res2 = await api('PUT', '/repos/acme/lib/actions/secrets/CROSS', { encrypted_value: box, key_id: keys[1].keyId });
    expect(res2.status).toBe(422);
    // ...and it does open where it belongs.
    expect((await api('PUT', '/repos/acme/app/actions/secrets/CROSS', { encrypted_value: box, key_id: keys[0].keyId })).status).toBe(201);
  });

  it('paginates /orgs/{org}/repos with Link headers', async () => {
    const pag = await GitHubStandin.start();
    try {
      pag.addOrganization('big');
      for (let i = 1; i <= 7; i++) pag.addRepository(`big/r${i}`);
      pag.addRepository('someone/else');
      const seen: string[] = [];
      let url: string | undefined = `${pag.url}/orgs/big/repos?per_page=3`;
      const links: string[] = [];
      while (url) {
        const r = await call(url, 'GET', '');
        expect(r.status).toBe(200);
        seen.push(...(r.body as Array<{ full_name: string }>).map((x) => x.full_name));
        const link = r.headers.get('link') ?? '';
        links.push(link);
        url = /<([^>]+)>; rel="next"/.exec(link)?.[1];
      }
      expect(links).toHaveLength(3);
      expect(links[0]).toContain(`<${pag.url}/orgs/big/repos?per_page=3&page=3>; rel="last"`);
      expect(links[0]).toContain(`<${pag.url}/orgs/big/repos?per_page=3&page=2>; rel="next"`);
      expect(links[2]).not.toContain('rel="next"');
      expect(links[2]).toContain('rel="prev"');
      expect(seen).toEqual(['big/r1', 'big/r2', 'big/r3', 'big/r4', 'big/r5', 'big/r6', 'big/r7']);
      const all = await call(pag.url, 'GET', '/orgs/big/repos');
      expect((all.body as unknown[]).length).toBe(7);
      expect(all.headers.get('link')).toBeNull();
      expect((await call(pag.url, 'GET', '/orgs/unknown/repos')).status).toBe(404);
    } finally {
      await pag.stop();
    }
  });
});

describe('auth, routing, recording', () => {
  it('401 without or with a wrong token; Bearer accepted; rate-limit headers always present', async () => {
    const none = await api('GET', '/repos/acme/app', undefined, { token: null });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ message: 'Bad credentials' });
    expect((await api('GET', '/repos/acme/app', undefined, { token: 'nope' })).status).toBe(401);
    const bearer = await fetch(`${gh.url}/repos/acme/app`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('x-ratelimit-remaining')).toBe('4999');
    expect(Number(bearer.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(none.headers.get('x-ratelimit-remaining')).toBe('4999');
    const unknown = await api('GET', '/nothing/here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ message: 'Not Found' });
  });

  it('records requests with status, timestamps, query, body and headers', async () => {
    const before = Date.now();
    const indexes: number[] = [];
    gh.onRequest(({ index }) => {
      indexes.push(index);
    });
    await api('GET', '/repos/acme/app/actions/secrets?per_page=5');
    await putSecret('/repos/acme/app/actions/secrets', 'REC', 'v');
    await api('DELETE', '/repos/acme/app/actions/secrets/REC');
    expect(indexes).toEqual([0, 1, 2, 3]);
    expect(gh.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', '/repos/acme/app/actions/secrets', 200],
      ['GET', '/repos/acme/app/actions/secrets/public-key', 200],
      ['PUT', '/repos/acme/app/actions/secrets/REC', 201],
      ['DELETE', '/repos/acme/app/actions/secrets/REC', 204],
    ]);
    const [first, , put] = gh.requests;
    expect(first.query).toEqual({ per_page: '5' });
    expect(first.headers.authorization).toBe(`token ${TOKEN}`);
    expect(put.body).toMatchObject({ key_id: expect.any(String), encrypted_value: expect.any(String) });
    for (const r of gh.requests) {
      expect(r.startedAt).toBeGreaterThanOrEqual(before);
      expect(r.finishedAt).toBeGreaterThanOrEqual(r.startedAt);
    }
    expect(gh.writes().map((r) => r.method)).toEqual(['PUT', 'DELETE']);
    gh.reset();
    expect(gh.requests).toHaveLength(0);
  });

  it('serves under basePath /api/v3 (GitHub Enterprise Server)', async () => {
    const ghes = await GitHubStandin.start({ basePath: '/api/v3', tokens: ['ghes-token'] });
    try {
      ghes.addRepository('corp/svc');
      expect(ghes.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
      const pk = await call(ghes.url, 'GET', '/repos/corp/svc/actions/secrets/public-key', undefined, { token: 'ghes-token' });
      expect(pk.status).toBe(200);
      const { key, key_id } = pk.body as { key: string; key_id: string };
      const put = await call(ghes.url, 'PUT', '/repos/corp/svc/actions/secrets/S', { encrypted_value: seal('ghes', key), key_id }, { token: 'ghes-token' });
      expect(put.status).toBe(201);
      expect(ghes.secret({ kind: 'repository', owner: 'corp', repo: 'svc' }, 'S')?.value).toBe('ghes');
      expect(ghes.requests[0].path).toBe('/repos/corp/svc/actions/secrets/public-key');
      const origin = ghes.url.replace(/\/api\/v3$/, '');
      expect((await call(origin, 'GET', '/repos/corp/svc', undefined, { token: 'ghes-token' })).status).toBe(404);
      expect((await call(ghes.url, 'GET', '/repos/corp/svc', undefined, { token: TOKEN })).status).toBe(401);
    } finally {
      await ghes.stop();
    }
  });

  it('adds latencyMs to every response', async () => {
    gh.latencyMs = 80;
    const t0 = Date.now();
    expect((await api('GET', '/repos/acme/app')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
  });
});

describe('faults', () => {
  it('serverError with skip and times, filtered by method and path', async () => {
    gh.addFault(serverError({ method: 'PUT', path: /\/actions\/secrets\/FLAKY$/, skip: 1, times: 2 }));
    expect((await putSecret('/repos/acme/app/actions/secrets', 'FLAKY', 'a')).status).toBe(201); // skipped
    expect((await putSecret('/repos/acme/app/actions/secrets', 'FLAKY', 'b')).status).toBe(500);
    expect((await putSecret('/repos/acme/app/actions/secrets', 'FLAKY', 'c')).status).toBe(500);
    expect((await putSecret('/repos/acme/app/actions/secrets', 'FLAKY', 'd')).status).toBe(204); // exhausted
    expect((await putSecret('/repos/acme/app/actions/secrets', 'OTHER_NAME', 'x')).status).toBe(201); // path mismatch
    expect(gh.secret(repoScope, 'FLAKY')?.value).toBe('d');
    expect(gh.writes().map((r) => r.status)).toEqual([201, 500, 500, 204, 201]);
  });

  it('afterHandling: the write takes effect but the client sees 500', async () => {
    gh.addFault(serverError({ method: 'PUT', afterHandling: true, times: 1 }));
    const res = await putSecret('/repos/acme/app/actions/secrets', 'LOST_RESPONSE', 'stored-anyway');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: 'Server Error' });
    expect(gh.secret(repoScope, 'LOST_RESPONSE')?.value).toBe('stored-anyway');
  });

  it('secondary rate limit, forbidden, notFound, primary rate limit, custom status', async () => {
    const rm = gh.addFault(secondaryRateLimit({ path: '/repos/acme/app', times: 1 }, 7));
    const rl = await api('GET', '/repos/acme/app');
    expect(rl.status).toBe(403);
    expect(rl.headers.get('retry-after')).toBe('7');
    expect((rl.body as { message: string }).message).toMatch(/secondary rate limit/);
    expect((await api('GET', '/repos/acme/app')).status).toBe(200);
    rm();

    const removeForbidden = gh.addFault(forbidden({ method: 'PUT' }));
    const fb = await putSecret('/repos/acme/app/actions/secrets', 'NOPE', 'v');
    expect(fb.status).toBe(403);
    expect(fb.headers.get('x-accepted-github-permissions')).toBe('secrets=write');
    expect(fb.body).toMatchObject({ message: 'Resource not accessible by personal access token' });
    expect(gh.secret(repoScope, 'NOPE')).toBeUndefined();
    removeForbidden();
    expect((await putSecret('/repos/acme/app/actions/secrets', 'NOPE', 'v')).status).toBe(201);

    const next = gh.requests.length; // index of the next request
    gh.addFault(notFound({ match: ({ index }) => index === next + 1 }));
    gh.addFault(primaryRateLimit({ path: '/repos/acme/lib' }, 30));
    gh.addFault({ path: '/orgs/acme/repos', status: 502, body: { message: 'Bad Gateway' }, headers: { 'x-custom': '1' } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/repos/acme/app')).status);
    expect(statuses).toEqual([200, 404, 200]);
    const prl = await api('GET', '/repos/acme/lib');
    expect(prl.status).toBe(403);
    expect(prl.headers.get('x-ratelimit-remaining')).toBe('0');
    const bg = await api('GET', '/orgs/acme/repos');
    expect(bg.status).toBe(502);
    expect(bg.headers.get('x-custom')).toBe('1');
    gh.clearFaults();
    expect((await api('GET', '/orgs/acme/repos')).status).toBe(200);
  });

  it('delayMs answers normally after the delay', async () => {
    gh.addFault({ path: '/repos/acme/app', delayMs: 100 });
    const t0 = Date.now();
    const res = await api('GET', '/repos/acme/app');
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('hang: the client gives up; the request stays unanswered (status 0)', async () => {
    gh.addFault(hang({ method: 'PUT', afterHandling: true, times: 1 }));
    const { key, keyId } = gh.publicKey(repoScope);
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 150);
    await expect(
      api('PUT', '/repos/acme/app/actions/secrets/HUNG', { encrypted_value: seal('h', key), key_id: keyId }, { signal: ac.signal }),
    ).rejects.toThrow();
    clearTimeout(t);
    expect(gh.secret(repoScope, 'HUNG')?.value).toBe('h'); // afterHandling + hang: written, never answered
    await new Promise((r) => setTimeout(r, 20));
    const rec = gh.requests.at(-1);
    expect(rec?.status).toBe(0);
    expect(rec?.finishedAt).toBeGreaterThanOrEqual(rec?.startedAt ?? Infinity);
  });

  it('hang is released by stop()', async () => {
    const h = await GitHubStandin.start({ latencyMs: 5 });
    h.addRepository('o/r');
    h.addFault(hang());
    let arrived!: () => void;
    const arrivedP = new Promise<void>((r) => (arrived = r));
    h.onRequest(() => arrived());
    const pending = call(h.url, 'GET', '/repos/o/r');
    const outcome = pending.then(
      () => 'answered',
      () => 'failed',
    );
    await arrivedP;
    const t0 = Date.now();
    await h.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await outcome).toBe('failed');
  });
});
