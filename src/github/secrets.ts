import { ActionError, errorMessage } from '../shared/errors.js';
import type { GitHubApi, TokenKind } from './github-api.js';
import { type Destination, label, secretsPath, writePermission } from './destinations.js';
import type { Visibility } from '../config/inputs.js';

export interface PublicKey {
  keyId: string;
  key: string;
}

interface HttpError {
  status?: number;
  /** Set by the client when it stopped waiting on a rate limit, saying why (see github.ts). */
  rateLimitGaveUp?: string;
  /** Set by the client when it did not retry a server error (or no answer) it would have retried, saying why. */
  notRetried?: string;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

function httpError(err: unknown): HttpError {
  return (typeof err === 'object' && err !== null ? err : {}) as HttpError;
}

/**
 * The HTTP status GitHub answered with; undefined when it did not answer. Octokit reports a network error or a
 * timeout as status 500 without a response: that request may still have reached GitHub, so it is not an answer.
 */
export function statusOf(err: unknown): number | undefined {
  const e = httpError(err);
  return e.response === undefined ? undefined : e.status;
}

/**
 * Turn a GitHub API failure into one line: what was being done, where, GitHub's answer, and what to do.
 * `permission` names the token permission the call needs; `token` is the kind of token that was sent (a PAT is never
 * told that the workflow's GITHUB_TOKEN cannot write secrets).
 */
export function gitHubError(doing: string, where: string, err: unknown, permission: string, token: TokenKind | undefined): ActionError {
  const e = httpError(err);
  const status = statusOf(err);
  const answer = `${status ?? 'network error'}${e.message ? ` ${errorMessage(e.message)}` : ''}`;
  let hint = '';
  const limit = rateLimitOf(err);
  if (limit) {
    hint =
      `GitHub ${limit.kind} rate limit, not a permission problem` +
      (limit.gaveUp ? `: ${limit.gaveUp}` : waitWords(limit)) +
      '; rerun later (spread runs out, or use a token with its own rate limit, such as a GitHub App token)';
  } else if (status === 401) {
    hint = 'github-token is invalid or expired';
  } else if (status === 403 || status === 404) {
    const accepted = e.response?.headers?.['x-accepted-github-permissions'];
    const needs = accepted ? `GitHub accepts the permission(s) '${accepted}'` : `the token needs ${permission}`;
    const missing = status === 404 ? 'it does not exist or the token cannot see it; ' : '';
    const workflowToken = workflowTokenHint(token ?? 'unknown');
    hint = `${missing}${needs}${workflowToken ? `. ${workflowToken}` : ''}`;
  } else if (status === 422) {
    hint = 'GitHub rejected the request (see its message)';
  } else if (status === undefined || status >= 500) {
    hint = e.notRetried ?? 'GitHub did not answer after retries; rerun later';
  }
  return new ActionError(`${doing} ${where}: ${answer}${hint ? `. ${hint}` : ''}`, { cause: err });
}

/** What GitHub said about the wait, as a clause: its retry-after, the primary limit's reset, or nothing (none given). */
function waitWords(limit: RateLimit): string {
  if (limit.told === 'retry-after') return `, retry-after ${limit.waitSeconds} s`;
  return limit.told === 'reset' ? `, resets in ${limit.waitSeconds} s` : '';
}

export interface RateLimit {
  kind: 'primary' | 'secondary';
  /** Seconds GitHub asks to wait (its retry-after, the primary limit's reset; else a minute, as GitHub advises). */
  waitSeconds: number;
  /** Where waitSeconds comes from: GitHub's retry-after, the primary limit's reset; undefined: GitHub said neither. */
  told: 'retry-after' | 'reset' | undefined;
  /** Why the client stopped waiting, when it did. */
  gaveUp: string | undefined;
}

/**
 * GitHub's secondary rate limit in its words: "secondary rate limit" today, "abuse detection mechanism" (documented
 * under #abuse-rate-limits) in older answers, which GitHub Enterprise Server versions still send.
 */
const SECONDARY = /secondary rate limit|abuse detection|abuse-rate-limits/i;

/**
 * GitHub's rate-limit answers (403/429 with retry-after, x-ratelimit-remaining: 0, a secondary rate limit in its
 * current or older words). Without retry-after GitHub's guidance is to wait at least a minute.
 */
export function rateLimitOf(err: unknown, nowMs = Date.now()): RateLimit | undefined {
  const e = httpError(err);
  if (e.status !== 403 && e.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  const asked = Number.isFinite(retryAfter) && retryAfter > 0;
  const data = e.response?.data as { message?: string; documentation_url?: string } | undefined;
  const message = `${e.message ?? ''} ${data?.message ?? ''} ${data?.documentation_url ?? ''}`;
  if (headers['x-ratelimit-remaining'] === '0' && !SECONDARY.test(message)) {
    const reset = Math.ceil(Number(headers['x-ratelimit-reset']) - nowMs / 1000);
    if (asked) return { kind: 'primary', waitSeconds: retryAfter, told: 'retry-after', gaveUp: e.rateLimitGaveUp };
    if (Number.isFinite(reset)) return { kind: 'primary', waitSeconds: Math.max(1, reset), told: 'reset', gaveUp: e.rateLimitGaveUp };
    return { kind: 'primary', waitSeconds: 60, told: undefined, gaveUp: e.rateLimitGaveUp };
  }
  if (Number.isFinite(retryAfter) || /rate limit/i.test(message) || SECONDARY.test(message) || e.status === 429) {
    return { kind: 'secondary', waitSeconds: asked ? retryAfter : 60, told: asked ? 'retry-after' : undefined, gaveUp: e.rateLimitGaveUp };
  }
  return undefined;
}

/** Read the destination's public key (one per scope). */
export async function getPublicKey(gh: GitHubApi, d: Destination): Promise<PublicKey> {
  const res = await gh.request(`GET ${secretsPath(d)}/public-key`);
  const data = res.data as { key_id: string; key: string };
  return { keyId: String(data.key_id), key: data.key };
}

/** One secret as GitHub lists it (never its value). */
export interface SecretInfo {
  updatedAt: number;
  /** Organization secrets only. */
  visibility?: Visibility;
}

/** The secrets the destination holds, by upper-case name (as GitHub stores them), all pages. */
export async function listSecrets(gh: GitHubApi, d: Destination): Promise<Map<string, SecretInfo>> {
  const out = new Map<string, SecretInfo>();
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${secretsPath(d)}`, { per_page: 100, page });
    const data = res.data as { total_count: number; secrets: { name: string; updated_at: string; visibility?: Visibility }[] };
    for (const s of data.secrets) {
      out.set(s.name.toUpperCase(), { updatedAt: Date.parse(s.updated_at), visibility: s.visibility });
    }
    if (data.secrets.length < 100 || out.size >= data.total_count) return out;
  }
}

/** The repositories an organization secret with visibility 'selected' is shared with. */
export async function selectedRepositories(
  gh: GitHubApi,
  d: Destination,
  name: string,
): Promise<{ id: number; fullName: string }[]> {
  const out: { id: number; fullName: string }[] = [];
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${secretsPath(d)}/${encodeURIComponent(name)}/repositories`, { per_page: 100, page });
    const data = res.data as { total_count: number; repositories: { id: number; full_name: string }[] };
    for (const r of data.repositories) out.push({ id: r.id, fullName: r.full_name });
    if (data.repositories.length < 100 || out.length >= data.total_count) return out;
  }
}

/** How an organization secret is shared, as written. */
export interface Sharing {
  visibility: Visibility;
  selectedRepositoryIds: number[];
}

/** Seal `value` with the destination's key and write it as secret `name` (organization secrets: with `sharing`). */
export async function writeSecret(
  gh: GitHubApi,
  d: Destination,
  key: PublicKey,
  name: string,
  value: string,
  sharing: Sharing | undefined,
): Promise<number | undefined> {
  const body: Record<string, unknown> = { encrypted_value: await seal(value, key.key), key_id: key.keyId };
  if (sharing) {
    body.visibility = sharing.visibility;
    if (sharing.visibility === 'selected') body.selected_repository_ids = sharing.selectedRepositoryIds;
  }
  let res;
  try {
    res = await gh.request(`PUT ${secretsPath(d)}/${encodeURIComponent(name)}`, body);
  } catch (err) {
    throw gitHubError(`writing ${name} to`, label(d), err, writePermission(d), gh.token);
  }
  return answeredAt(res);
}

/** GitHub's time of a write (its Date header, whole seconds), to tell a later write by someone else; undefined: none. */
export function answeredAt(res: { headers?: Record<string, unknown> } | undefined): number | undefined {
  const date = Date.parse(String(res?.headers?.date ?? ''));
  return Number.isNaN(date) ? undefined : date;
}

/** Delete secret `name` (a 404 counts as done). */
export async function deleteSecret(gh: GitHubApi, d: Destination, name: string): Promise<void> {
  try {
    await gh.request(`DELETE ${secretsPath(d)}/${encodeURIComponent(name)}`);
  } catch (err) {
    if (statusOf(err) === 404) return;
    throw gitHubError(`deleting ${name} from`, label(d), err, writePermission(d), gh.token);
  }
}

const repoPath = (owner: string, repo: string) => `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
const environmentPath = (owner: string, repo: string, environment: string) =>
  `${repoPath(owner, repo)}/environments/${encodeURIComponent(environment)}`;

/** GET `path`: true when it answers, false on 404; any other failure is thrown. */
async function found(gh: GitHubApi, path: string): Promise<boolean> {
  try {
    await gh.request(`GET ${path}`);
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

export function environmentExists(gh: GitHubApi, owner: string, repo: string, environment: string): Promise<boolean> {
  return found(gh, environmentPath(owner, repo, environment));
}

export function repositoryExists(gh: GitHubApi, owner: string, repo: string): Promise<boolean> {
  return found(gh, repoPath(owner, repo));
}

/** The names of the environments of owner/repo, all pages. */
export async function listEnvironments(gh: GitHubApi, owner: string, repo: string): Promise<string[]> {
  const out: string[] = [];
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${repoPath(owner, repo)}/environments`, { per_page: 100, page });
    const data = res.data as { total_count?: number; environments?: { name: string }[] };
    const environments = data.environments ?? [];
    for (const e of environments) out.push(e.name);
    if (environments.length < 100 || out.length >= (data.total_count ?? 0)) return out;
  }
}

export async function createEnvironment(gh: GitHubApi, owner: string, repo: string, environment: string): Promise<void> {
  try {
    await gh.request(`PUT ${environmentPath(owner, repo, environment)}`);
  } catch (err) {
    throw gitHubError(
      `creating environment '${environment}' in`,
      `${owner}/${repo}`,
      err,
      "repository permission 'Administration: write' (classic PAT: repo scope)",
      gh.token,
    );
  }
}

/**
 * Resolve bare repository names in `org` to ids, listing the organization's repositories page by page and stopping
 * once every name is found.
 */
export async function resolveRepositoryIds(gh: GitHubApi, org: string, names: string[]): Promise<number[]> {
  const wanted = new Map(names.map((n) => [n.toLowerCase(), n]));
  const found = new Map<string, number>();
  try {
    for await (const res of gh.paginate.iterator(`GET /orgs/${encodeURIComponent(org)}/repos`, { per_page: 100 })) {
      for (const r of res.data as { name: string; id: number }[]) {
        if (wanted.has(r.name.toLowerCase())) found.set(r.name.toLowerCase(), r.id);
      }
      if (found.size === wanted.size) break;
    }
  } catch (err) {
    throw gitHubError(
      'listing the repositories of',
      `organization ${org}`,
      err,
      "repository permission 'Metadata: read' on those repositories (classic PAT: repo scope)",
      gh.token,
    );
  }
  const missing = [...wanted.keys()].filter((k) => !found.has(k)).map((k) => wanted.get(k));
  if (missing.length > 0) {
    throw new ActionError(
      `organization-selected-repositories: ${missing.map((m) => `'${m}'`).join(', ')} not found in organization ${org} ` +
        `(or the token cannot see it): check the names and the token's repository access`,
    );
  }
  return names.map((n) => found.get(n.toLowerCase()) as number);
}

// ---- the kind of token github-token is ------------------------------------------------------------------------

/**
 * What kind of token github-token is, told from facts: its prefix (GitHub's token formats) and whether it is the
 * job's own GITHUB_TOKEN (when the step's env has it). Decides whether a 403/404 may be the workflow's GITHUB_TOKEN,
 * which cannot write secrets.
 */

export function tokenKind(token: string, jobToken: string | undefined): TokenKind {
  // A PAT first: a job may set its env's GITHUB_TOKEN to a PAT (env: GITHUB_TOKEN: secrets.PAT), which is no
  // workflow token.
  if (token.startsWith('ghp_') || token.startsWith('github_pat_')) return 'pat';
  if (jobToken && token === jobToken.trim()) return 'workflow';
  if (token.startsWith('ghs_')) return 'installation';
  return 'unknown';
}

const TOKENS_THAT_CAN = 'pass a fine-grained PAT, classic PAT or GitHub App token as github-token';

/** The sentence a 403/404 adds about the workflow's GITHUB_TOKEN, or undefined when github-token cannot be it. */
export function workflowTokenHint(kind: TokenKind): string | undefined {
  if (kind === 'pat') return undefined;
  if (kind === 'workflow') return `github-token is the workflow's GITHUB_TOKEN, which cannot write secrets: ${TOKENS_THAT_CAN}`;
  return `If github-token is the workflow's GITHUB_TOKEN: it cannot write secrets; ${TOKENS_THAT_CAN}`;
}

// ---- sealing a value for a public key ---------------------------------------------------------------------------

type Sodium = typeof import('libsodium-wrappers').default;

let loading: Promise<Sodium> | undefined;

/** libsodium (and its WebAssembly) loads on the first seal, after the key is verified: not at start-up. */
function load(): Promise<Sodium> {
  loading ??= import('libsodium-wrappers').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return loading;
}

/**
 * Seal `value` for a GitHub public key (crypto_box_seal). GitHub sends and expects standard base64 (the ORIGINAL
 * variant); libsodium-wrappers defaults to URL-safe, which GitHub rejects.
 */
export async function seal(value: string, publicKeyBase64: string): Promise<string> {
  const sodium = await load();
  const key = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  const box = sodium.crypto_box_seal(sodium.from_string(value), key);
  return sodium.to_base64(box, sodium.base64_variants.ORIGINAL);
}
