/**
 * A local stand-in for the GitHub REST API secret endpoints (Actions repository,
 * environment and organization secrets, Dependabot repository and organization
 * secrets, Actions repository, environment and organization variables, plus the few repository/environment/organization endpoints a secret
 * writer needs). It listens on 127.0.0.1 with an OS-chosen port, holds a REAL
 * libsodium key pair per secret scope, really opens every sealed box it is sent,
 * records every request, and can inject faults (errors, rate limits, hangs,
 * delays, "write happened but the response was lost").
 *
 * Test-only code: never imported from src/.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import sodium from 'libsodium-wrappers';

export type ScopeKind =
  | 'repository'
  | 'environment'
  | 'organization'
  | 'dependabot-repository'
  | 'dependabot-organization'
  | 'copilot-repository'
  | 'copilot-organization';

/**
 * A secret scope. Repository-based kinds need `owner` + `repo` (or `repo` as
 * 'owner/name'); 'environment' also needs `environment`; organization kinds need
 * `org` (or `owner`).
 */
export interface Scope {
  kind: ScopeKind;
  owner?: string;
  repo?: string;
  environment?: string;
  org?: string;
}

export interface StoredSecret {
  name: string;
  /** The opened plaintext. */
  value: string;
  /** key_id of the public key the value was sealed with ('' when seeded with setSecret). */
  keyId: string;
  createdAt: string;
  updatedAt: string;
  visibility?: 'all' | 'private' | 'selected';
  selectedRepositoryIds?: number[];
}

/** An Actions variable as stored: its plain value (variables are not sealed). */
export interface StoredVariable {
  name: string;
  value: string;
  createdAt: string;
  updatedAt: string;
  visibility?: 'all' | 'private' | 'selected';
  selectedRepositoryIds?: number[];
}

export interface RecordedRequest {
  method: string;
  /** Path without basePath and without query, each segment percent-decoded. */
  path: string;
  /** The path as received (still percent-encoded), without basePath and query. */
  rawPath: string;
  query: Record<string, string>;
  /** Parsed JSON body; the raw string if it was not JSON; undefined if empty. */
  body: unknown;
  /** Response status; 0 while in flight and for requests that were never answered (hang). */
  status: number;
  /** Date.now() when the request (headers and body) had arrived. */
  startedAt: number;
  /** Date.now() when answered, or when the client gave up on a hung request; 0 while pending. */
  finishedAt: number;
  /** Request headers, lower-case names. */
  headers: Record<string, string | undefined>;
}

export interface Fault {
  /** e.g. 'PUT'; default any. Case-insensitive. */
  method?: string;
  /** Matched against RecordedRequest.path (decoded) or rawPath: string = equality, RegExp = test. Default any. */
  path?: string | RegExp;
  match?: (req: { method: string; path: string; body: unknown; index: number }) => boolean;
  /** Let the first `skip` matching requests through (default 0). */
  skip?: number;
  /** How many matching requests to fault after the skip (default Infinity). */
  times?: number;
  /** Response status (default 500). */
  status?: number;
  /** JSON body (default {message: 'Server Error'}). */
  body?: unknown;
  /** Extra response headers (override the default ones). */
  headers?: Record<string, string>;
  /** Never answer: the socket stays open until the client gives up or stop(). */
  hang?: boolean;
  /**
   * Wait this long before answering. On its own (no status/body/hang) the normal
   * response is sent after the delay; with status/body the fault response is.
   */
  delayMs?: number;
  /** Let the request take effect first, then answer with the fault (or hang) instead of the real response. */
  afterHandling?: boolean;
}

/** The match part of a fault, accepted by the helper builders. */
export type FaultMatch = Pick<Fault, 'method' | 'path' | 'match' | 'skip' | 'times' | 'afterHandling'>;

export interface StandinOptions {
  /** Added to every response, default 0. */
  latencyMs?: number;
  /** e.g. '/api/v3' for GitHub Enterprise Server; default ''. */
  basePath?: string;
  /** Accepted tokens; default ['test-token']. */
  tokens?: string[];
}

const DOCS = 'https://docs.github.com/rest';

// ---------------------------------------------------------------- fault helpers

export function serverError(p: FaultMatch = {}): Fault {
  return { ...p, status: 500, body: { message: 'Server Error' } };
}

export function secondaryRateLimit(p: FaultMatch = {}, retryAfterSeconds = 60): Fault {
  return {
    ...p,
    status: 403,
    body: {
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      documentation_url:
        'https://docs.github.com/rest/overview/resources-in-the-rest-api#secondary-rate-limits',
    },
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}

/** Primary rate limit exhausted: 403 with x-ratelimit-remaining 0 and x-ratelimit-reset in `resetInSeconds`. */
export function primaryRateLimit(p: FaultMatch = {}, resetInSeconds = 60): Fault {
  return {
    ...p,
    status: 403,
    body: {
      message: 'API rate limit exceeded for user ID 1.',
      documentation_url:
        'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
    },
    headers: {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
    },
  };
}

export function forbidden(p: FaultMatch = {}, acceptedPermissions = 'secrets=write'): Fault {
  return {
    ...p,
    status: 403,
    body: {
      message: 'Resource not accessible by personal access token',
      documentation_url: `${DOCS}/actions/secrets`,
      status: '403',
    },
    headers: { 'x-accepted-github-permissions': acceptedPermissions },
  };
}

export function notFound(p: FaultMatch = {}): Fault {
  return { ...p, status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
}

export function hang(p: FaultMatch = {}): Fault {
  return { ...p, hang: true };
}

// ---------------------------------------------------------------- internals

interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  createdSeq: number;
  defaultBranch: string;
  /** The OIDC subject customization GET .../actions/oidc/customization/sub answers; 'forbidden': 403. */
  oidcSubject: OidcSubjectCustomization | 'forbidden';
  /** lower-case name -> environment */
  environments: Map<string, { id: number; name: string; createdAt: string }>;
}

interface ScopeState {
  keyId: string;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  /** upper-case name -> secret */
  secrets: Map<string, StoredSecret>;
  /** upper-case name -> Actions variable (repository, environment and organization scopes) */
  variables: Map<string, StoredVariable>;
}

interface FaultState {
  fault: Fault;
  seen: number;
  applied: number;
  removed: boolean;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ORG_KINDS: ReadonlySet<ScopeKind> = new Set(['organization', 'dependabot-organization', 'copilot-organization']);

function githubTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function notFoundErr(): HttpError {
  return new HttpError(404, 'Not Found');
}

function unprocessable(message: string): HttpError {
  return new HttpError(422, message);
}

/** An issue as stored (the fleet audit's tracking issue). */
export interface StoredIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  createdAt: string;
  updatedAt: string;
}

/** A repository's OIDC subject customization, as GitHub's REST API answers it. */
export interface OidcSubjectCustomization {
  use_default: boolean;
  include_claim_keys?: string[];
  use_immutable_subject?: boolean;
  /** GitHub's own spelling of the repository part of the default subject (repo:owner@id/name@id). */
  sub_claim_prefix?: string;
}

/** An organization's OIDC subject customization (GET /orgs/{org}/actions/oidc/customization/sub). */
export interface OrgOidcSubjectCustomization {
  include_claim_keys: string[];
  use_immutable_subject?: boolean;
}

/** A job of a workflow run, as GET .../actions/runs/{run_id}/jobs lists it. */
export interface StandinRunJob {
  name: string;
  seconds: number;
}

// ---------------------------------------------------------------- the stand-in

export class GitHubStandin {
  readonly url: string;
  latencyMs: number;
  readonly requests: RecordedRequest[] = [];

  private readonly server: http.Server;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly tokens: Set<string>;
  private readonly initialLatencyMs: number;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly repos = new Map<string, RepoRecord>();
  private readonly orgs = new Map<string, string>();
  /** Workflow run attempts GitHub reports (owner/name/runId/attempt, lower case) → status and updated_at. */
  private readonly runs = new Map<string, { status: string; updatedAt: string }>();
  private readonly scopes = new Map<string, ScopeState>();
  private readonly keyIds = new Set<string>();
  /** oidc-plan's reads (see oidcPlanRoute): organization subject templates, workflow files, runs, the job's id token. */
  private readonly oidcPlanData = {
    orgSubjects: new Map<string, OrgOidcSubjectCustomization | 'forbidden'>(),
    workflows: new Map<string, Map<string, string>>(),
    runs: new Map<string, { id: number; file: string; jobs: StandinRunJob[] }[]>(),
    nextRunId: 9_000_001,
    idTokenIssuer: 'https://token.actions.githubusercontent.com',
  };
  private faults: FaultState[] = [];
  private callbacks: Array<(req: { method: string; path: string; index: number }) => void | Promise<void>> = [];
  private requestIndex = 0;
  private nextRepoId = 1_000_001;
  private nextEnvId = 7_000_001;
  private repoSeq = 0;
  private stopped = false;

  private constructor(server: http.Server, port: number, opts: StandinOptions) {
    this.server = server;
    this.basePath = (opts.basePath ?? '').replace(/\/+$/, '');
    if (this.basePath && !this.basePath.startsWith('/')) this.basePath = `/${this.basePath}`;
    this.origin = `http://127.0.0.1:${port}`;
    this.url = this.origin + this.basePath;
    this.tokens = new Set(opts.tokens ?? ['test-token']);
    this.initialLatencyMs = opts.latencyMs ?? 0;
    this.latencyMs = this.initialLatencyMs;
  }

  static async start(opts: StandinOptions = {}): Promise<GitHubStandin> {
    await sodium.ready;
    const server = http.createServer();
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const standin = new GitHubStandin(server, port, opts);
    server.on('connection', (socket: Socket) => {
      standin.sockets.add(socket);
      socket.once('close', () => standin.sockets.delete(socket));
      if (standin.stopped) socket.destroy();
    });
    server.on('request', (req, res) => {
      standin.handle(req, res).catch((err: unknown) => {
        // Last resort: never leave a request unanswered because of a bug in the stand-in.
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ message: `standin internal error: ${String(err)}` }));
        }
      });
    });
    return standin;
  }

  // ------------------------------------------------------------ data setup

  addRepository(
    fullName: string,
    opts: {
      id?: number;
      environments?: string[];
      private?: boolean;
      defaultBranch?: string;
      oidcSubject?: OidcSubjectCustomization | 'forbidden';
    } = {},
  ): { id: number } {
    const [owner, name] = this.splitFullName(fullName);
    const key = `${owner}/${name}`.toLowerCase();
    let repo = this.repos.get(key);
    if (!repo) {
      repo = {
        id: opts.id ?? this.nextRepoId++,
        owner,
        name,
        private: opts.private ?? false,
        createdSeq: this.repoSeq++,
        defaultBranch: opts.defaultBranch ?? 'main',
        oidcSubject: opts.oidcSubject ?? { use_default: true },
        environments: new Map(),
      };
      this.repos.set(key, repo);
    } else {
      if (opts.id !== undefined) repo.id = opts.id;
      if (opts.private !== undefined) repo.private = opts.private;
      if (opts.defaultBranch !== undefined) repo.defaultBranch = opts.defaultBranch;
      if (opts.oidcSubject !== undefined) repo.oidcSubject = opts.oidcSubject;
    }
    for (const env of opts.environments ?? []) this.createEnvironment(repo, env);
    return { id: repo.id };
  }

  addEnvironment(fullName: string, environment: string): void {
    this.createEnvironment(this.requireRepo(fullName), environment);
  }

  addOrganization(org: string): void {
    if (!this.orgs.has(org.toLowerCase())) this.orgs.set(org.toLowerCase(), org);
  }

  environments(fullName: string): string[] {
    return [...this.requireRepo(fullName).environments.values()].map((e) => e.name);
  }

  // ------------------------------------------------------------ oidc-plan's reads (data setup)

  /** The organization's OIDC subject template and opt-in; 'forbidden': its GET answers 403. */
  setOrgOidcSubject(org: string, c: OrgOidcSubjectCustomization | 'forbidden'): void {
    this.addOrganization(org);
    this.oidcPlanData.orgSubjects.set(org.toLowerCase(), c);
  }

  /** A workflow file (path under .github/workflows/) in the repository's default branch. */
  addWorkflow(fullName: string, file: string, text: string): void {
    const key = this.repoKey(this.requireRepo(fullName));
    const files = this.oidcPlanData.workflows.get(key) ?? new Map<string, string>();
    files.set(file, text);
    this.oidcPlanData.workflows.set(key, files);
  }

  /** A successful run of workflow `file` with these jobs (how long each took); returns its id. */
  addWorkflowRun(fullName: string, file: string, jobs: StandinRunJob[]): number {
    const key = this.repoKey(this.requireRepo(fullName));
    const id = this.oidcPlanData.nextRunId++;
    this.oidcPlanData.runs.set(key, [{ id, file, jobs }, ...(this.oidcPlanData.runs.get(key) ?? [])]);
    return id;
  }

  /** The issuer of the id tokens GET /_actions/id-token hands out (a job's ACTIONS_ID_TOKEN_REQUEST_URL). */
  setIdTokenIssuer(issuer: string): void {
    this.oidcPlanData.idTokenIssuer = issuer;
  }

  /** ACTIONS_ID_TOKEN_REQUEST_URL for a job of this stand-in (the token is test-token). */
  get idTokenRequestUrl(): string {
    return `${this.url}/_actions/id-token?api-version=2.0`;
  }

  // ------------------------------------------------------------ faults & hooks

  addFault(f: Fault): () => void {
    const state: FaultState = { fault: f, seen: 0, applied: 0, removed: false };
    this.faults.push(state);
    return () => {
      state.removed = true;
      this.faults = this.faults.filter((s) => s !== state);
    };
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Called for each request once it has fully arrived, before auth/latency/faults/handling. Returns a remover. */
  onRequest(cb: (req: { method: string; path: string; index: number }) => void | Promise<void>): () => void {
    this.callbacks.push(cb);
    return () => {
      this.callbacks = this.callbacks.filter((c) => c !== cb);
    };
  }

  // ------------------------------------------------------------ secrets (no HTTP)

  secret(scope: Scope, name: string): StoredSecret | undefined {
    const s = this.scopeState(this.scopeKey(scope)).secrets.get(name.toUpperCase());
    return s ? { ...s, selectedRepositoryIds: s.selectedRepositoryIds && [...s.selectedRepositoryIds] } : undefined;
  }

  /** Store a secret as if written earlier; an organization secret keeps its visibility, or gets `visibility` ('all'). */
  setSecret(scope: Scope, name: string, value: string, visibility?: 'all' | 'private'): void {
    const state = this.scopeState(this.scopeKey(scope));
    const upper = name.toUpperCase();
    const now = githubTime();
    const prev = state.secrets.get(upper);
    const secret: StoredSecret = {
      name: upper,
      value,
      keyId: '',
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
    if (ORG_KINDS.has(scope.kind)) {
      secret.visibility = visibility ?? prev?.visibility ?? 'all';
      if (prev?.selectedRepositoryIds) secret.selectedRepositoryIds = [...prev.selectedRepositoryIds];
    }
    state.secrets.set(upper, secret);
  }

  variable(scope: Scope, name: string): StoredVariable | undefined {
    const v = this.scopeState(this.scopeKey(scope)).variables.get(name.toUpperCase());
    return v ? { ...v, selectedRepositoryIds: v.selectedRepositoryIds && [...v.selectedRepositoryIds] } : undefined;
  }

  /** Store an Actions variable as if written earlier; an organization variable gets `visibility` ('all'). */
  setVariable(scope: Scope, name: string, value: string, visibility?: 'all' | 'private'): void {
    if (scope.kind.startsWith('dependabot')) throw new Error('GitHubStandin: Dependabot has no variables');
    const state = this.scopeState(this.scopeKey(scope));
    const upper = name.toUpperCase();
    const now = githubTime();
    const prev = state.variables.get(upper);
    const v: StoredVariable = { name: upper, value, createdAt: prev?.createdAt ?? now, updatedAt: now };
    if (ORG_KINDS.has(scope.kind)) v.visibility = visibility ?? prev?.visibility ?? 'all';
    state.variables.set(upper, v);
  }

  variableNames(scope: Scope): string[] {
    return [...this.scopeState(this.scopeKey(scope)).variables.keys()].sort();
  }

  secretNames(scope: Scope): string[] {
    return [...this.scopeState(this.scopeKey(scope)).secrets.keys()].sort();
  }

  publicKey(scope: Scope): { keyId: string; key: string } {
    const state = this.scopeState(this.scopeKey(scope));
    return { keyId: state.keyId, key: sodium.to_base64(state.publicKey, sodium.base64_variants.ORIGINAL) };
  }

  rotatePublicKey(scope: Scope): void {
    const key = this.scopeKey(scope);
    const state = this.scopeState(key);
    const fresh = this.newKeyPair();
    state.keyId = fresh.keyId;
    state.publicKey = fresh.publicKey;
    state.privateKey = fresh.privateKey;
  }

  // ------------------------------------------------------------ inspection & lifecycle

  writes(): RecordedRequest[] {
    return this.requests.filter((r) => ['PUT', 'POST', 'PATCH', 'DELETE'].includes(r.method));
  }

  /** Forgets recorded requests (and the request index), faults and onRequest callbacks; restores latencyMs to the start option. Data is kept. */
  /** GitHub reports workflow run `runId`, attempt `attempt`, of `repo` as completed (at `at`, default now). */
  completeRun(repo: string, runId: number | string, attempt: number | string = 1, at = new Date()): void {
    this.runs.set(`${repo}/${runId}/${attempt}`.toLowerCase(), { status: 'completed', updatedAt: at.toISOString() });
  }

  /** GitHub reports every workflow run attempt as completed (a rerun after the earlier run ended). */
  completeEveryRun(at = new Date()): void {
    this.runs.set('*', { status: 'completed', updatedAt: at.toISOString() });
  }

  reset(): void {
    this.runs.clear();
    this.requests.length = 0;
    this.requestIndex = 0;
    this.faults = [];
    this.callbacks = [];
    this.latencyMs = this.initialLatencyMs;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  // ------------------------------------------------------------ request pipeline

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');

    const parsedUrl = new URL(req.url ?? '/', this.origin);
    const query: Record<string, string> = {};
    for (const [k, v] of parsedUrl.searchParams) query[k] = v;
    const fullRaw = parsedUrl.pathname;
    const underBase =
      this.basePath === '' || fullRaw === this.basePath || fullRaw.startsWith(`${this.basePath}/`);
    const rawPath = underBase ? fullRaw.slice(this.basePath.length) || '/' : fullRaw;
    let segments: string[] | undefined;
    try {
      segments = rawPath.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
    } catch {
      segments = undefined;
    }
    const path = segments ? `/${segments.join('/')}` : rawPath;

    let body: unknown;
    let bodyIsJson = true;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        bodyIsJson = false;
      }
    }
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;

    const method = (req.method ?? 'GET').toUpperCase();
    const index = this.requestIndex++;
    const record: RecordedRequest = {
      method,
      path,
      rawPath,
      query,
      body,
      status: 0,
      startedAt: Date.now(),
      finishedAt: 0,
      headers,
    };
    this.requests.push(record);
    res.once('close', () => {
      if (record.finishedAt === 0) record.finishedAt = Date.now();
    });

    const send = (reply: Reply): void => {
      if (this.stopped || res.destroyed || res.headersSent) return;
      const out: Record<string, string> = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-used': '1',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        'x-ratelimit-resource': 'core',
        'x-github-media-type': 'github.v3; format=json',
        'x-github-api-version-selected': '2022-11-28',
        'x-github-request-id': `STANDIN:${index}`,
      };
      // GitHub's Date is the time it answers. Node's own Date header is a cache refreshed by a timer, which can lag a
      // busy event loop by a second and date an answer before the updated_at of the write it answers.
      out.date = new Date().toUTCString();
      let payload: string | undefined;
      if (reply.body !== undefined && reply.status !== 204 && reply.status !== 304) {
        payload = JSON.stringify(reply.body);
        out['content-type'] = 'application/json; charset=utf-8';
      }
      Object.assign(out, reply.headers ?? {});
      record.status = reply.status;
      record.finishedAt = Date.now();
      res.writeHead(reply.status, out);
      res.end(payload);
    };

    try {
      for (const cb of [...this.callbacks]) await cb({ method, path, index });
    } catch (err) {
      send({ status: 500, body: { message: `standin onRequest callback failed: ${String(err)}` } });
      return;
    }
    if (this.stopped) return;

    await this.sleep(this.latencyMs);
    if (this.stopped) return;

    if (!this.authorized(headers.authorization)) {
      send({ status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } });
      return;
    }

    const fault = this.pickFault(method, path, rawPath, body, index);
    const execute = (): Reply => {
      if (!underBase || !segments) return { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
      try {
        if (!bodyIsJson) throw new HttpError(400, 'Problems parsing JSON');
        this.currentApiVersion = headers['x-github-api-version'];
        return this.route(method, segments, query, body, path);
      } catch (err) {
        if (err instanceof HttpError) {
          return { status: err.status, body: { message: err.message, documentation_url: DOCS, status: String(err.status) } };
        }
        throw err;
      }
    };

    if (!fault) {
      send(execute());
      return;
    }

    const replaces = fault.status !== undefined || fault.body !== undefined || fault.delayMs === undefined;
    const faultReply = (): Reply => ({
      status: fault.status ?? 500,
      body: fault.body ?? { message: 'Server Error' },
      headers: fault.headers,
    });

    let normal: Reply | undefined;
    if (fault.afterHandling) normal = execute();
    if (fault.hang) return; // keep the socket open until the client gives up or stop()
    if (fault.delayMs !== undefined) {
      await this.sleep(fault.delayMs);
      if (this.stopped) return;
    }
    if (replaces) {
      send(faultReply());
      return;
    }
    const reply = normal ?? execute();
    send({ ...reply, headers: { ...(reply.headers ?? {}), ...(fault.headers ?? {}) } });
  }

  private authorized(header: string | undefined): boolean {
    if (!header) return false;
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header);
    return m !== null && this.tokens.has(m[1]);
  }

  private pickFault(method: string, path: string, rawPath: string, body: unknown, index: number): Fault | undefined {
    for (const state of [...this.faults]) {
      if (state.removed) continue;
      const f = state.fault;
      const times = f.times ?? Infinity;
      if (state.applied >= times) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (f.path !== undefined) {
        const re = f.path;
        const test = (s: string): boolean => {
          if (typeof re === 'string') return re === s;
          re.lastIndex = 0; // tolerate /g and /y regexps
          return re.test(s);
        };
        const ok = test(path) || test(rawPath);
        if (!ok) continue;
      }
      if (f.match && !f.match({ method, path, body, index })) continue;
      state.seen++;
      if (state.seen <= (f.skip ?? 0)) continue;
      state.applied++;
      return f;
    }
    return undefined;
  }

  // ------------------------------------------------------------ routing

  private route(
    method: string,
    seg: string[],
    query: Record<string, string>,
    body: unknown,
    path: string,
  ): Reply {
    const planned = this.oidcPlanRoute(method, seg, query);
    if (planned) return planned;
    const agents = this.agentsRoute(method, seg, query, body, path);
    if (agents) return agents;
    // /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt}: a run attempt GitHub knows of (completeRun).
    if (seg[0] === 'repos' && seg.length === 8 && seg[3] === 'actions' && seg[4] === 'runs' && seg[6] === 'attempts' && method === 'GET') {
      const run = this.runs.get(`${seg[1]}/${seg[2]}/${seg[5]}/${seg[7]}`.toLowerCase()) ?? this.runs.get('*');
      if (!run) throw notFoundErr();
      return { status: 200, body: { id: Number(seg[5]), run_attempt: Number(seg[7]), status: run.status, conclusion: 'failure', updated_at: run.updatedAt } };
    }
    // /repos/{owner}/{repo}/...
    if (seg[0] === 'repos' && seg.length >= 3) {
      const repo = this.repos.get(`${seg[1]}/${seg[2]}`.toLowerCase());
      if (!repo) throw notFoundErr();
      const rest = seg.slice(3);
      if (rest.length === 0) {
        if (method === 'GET') return { status: 200, body: this.repoJson(repo) };
        throw notFoundErr();
      }
      const repoKey = this.repoKey(repo);
      if (rest[0] === 'issues') return this.issuesRoute(method, repoKey, rest.slice(1), query, body, path);
      if (rest.join('/') === 'actions/oidc/customization/sub' && method === 'GET') {
        if (repo.oidcSubject === 'forbidden') throw new HttpError(403, 'Resource not accessible by personal access token');
        return { status: 200, body: repo.oidcSubject };
      }
      if (rest[0] === 'actions' && rest[1] === 'secrets') {
        return this.secretsRoute(method, rest.slice(2), query, body, path, `repository:${repoKey}`, false);
      }
      if (rest[0] === 'actions' && rest[1] === 'variables') {
        return this.variablesRoute(method, rest.slice(2), query, body, path, `repository:${repoKey}`, false);
      }
      if (rest[0] === 'dependabot' && rest[1] === 'secrets') {
        return this.secretsRoute(method, rest.slice(2), query, body, path, `dependabot-repository:${repoKey}`, false);
      }
      // The organization secrets this repository's jobs can read (visibility all, private for a private repository,
      // selected when it is among the selected repositories).
      if (rest[0] === 'actions' && rest[1] === 'organization-secrets' && rest.length === 2 && method === 'GET') {
        const scope = this.scopes.get(`organization:${repo.owner.toLowerCase()}`);
        const visible = [...(scope?.secrets.values() ?? [])].filter(
          (x) =>
            (x.visibility ?? 'all') === 'all' ||
            (x.visibility === 'private' && repo.private) ||
            (x.visibility === 'selected' && (x.selectedRepositoryIds ?? []).includes(repo.id)),
        );
        const items = visible.map((x) => ({ name: x.name, created_at: x.createdAt, updated_at: x.updatedAt, visibility: x.visibility ?? 'all' }));
        const page = this.paginate(items, query, path);
        return { status: 200, body: { total_count: items.length, secrets: page.items }, headers: page.headers };
      }
      if (rest[0] === 'actions' && rest[1] === 'organization-variables' && rest.length === 2 && method === 'GET') {
        return this.organizationVariablesOf(repo, query, path);
      }
      if (rest[0] === 'environments') {
        if (rest.length === 1 && method === 'GET') {
          const envs = [...repo.environments.values()].map((e) => this.envJson(repo, e));
          const page = this.paginate(envs, query, path);
          return { status: 200, body: { total_count: envs.length, environments: page.items }, headers: page.headers };
        }
        if (rest.length < 2) throw notFoundErr();
        const envName = rest[1];
        if (rest.length === 2) {
          if (method === 'PUT') {
            if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
              throw unprocessable('Invalid request.\n\nThe body must be an object.');
            }
            const env = this.createEnvironment(repo, envName);
            return { status: 200, body: this.envJson(repo, env) };
          }
          const env = repo.environments.get(envName.toLowerCase());
          if (!env) throw notFoundErr();
          if (method === 'GET') return { status: 200, body: this.envJson(repo, env) };
          if (method === 'DELETE') {
            repo.environments.delete(envName.toLowerCase());
            this.scopes.delete(`environment:${repoKey}:${envName.toLowerCase()}`);
            return { status: 204 };
          }
          throw notFoundErr();
        }
        const env = repo.environments.get(envName.toLowerCase());
        if (!env) throw notFoundErr();
        if (rest[2] === 'variables') {
          return this.variablesRoute(method, rest.slice(3), query, body, path, `environment:${repoKey}:${env.name.toLowerCase()}`, false);
        }
        if (rest[2] === 'secrets') {
          return this.secretsRoute(
            method,
            rest.slice(3),
            query,
            body,
            path,
            `environment:${repoKey}:${env.name.toLowerCase()}`,
            false,
          );
        }
      }
      throw notFoundErr();
    }

    // /orgs/{org}/...
    if (seg[0] === 'orgs' && seg.length >= 3) {
      const orgKey = seg[1].toLowerCase();
      const org = this.orgs.get(orgKey);
      if (org === undefined) throw notFoundErr();
      const rest = seg.slice(2);
      if (rest.length === 1 && rest[0] === 'repos' && method === 'GET') {
        const repos = [...this.repos.values()]
          .filter((r) => r.owner.toLowerCase() === orgKey)
          .sort((a, b) => a.createdSeq - b.createdSeq)
          .map((r) => this.repoJson(r));
        const page = this.paginate(repos, query, path);
        return { status: 200, body: page.items, headers: page.headers };
      }
      if (rest[0] === 'actions' && rest[1] === 'secrets') {
        return this.secretsRoute(method, rest.slice(2), query, body, path, `organization:${orgKey}`, true);
      }
      if (rest[0] === 'actions' && rest[1] === 'variables') {
        return this.variablesRoute(method, rest.slice(2), query, body, path, `organization:${orgKey}`, true);
      }
      if (rest[0] === 'dependabot' && rest[1] === 'secrets') {
        return this.secretsRoute(method, rest.slice(2), query, body, path, `dependabot-organization:${orgKey}`, true);
      }
    }
    throw notFoundErr();
  }

  /** `rest` is what follows '.../secrets'. */
  private secretsRoute(
    method: string,
    rest: string[],
    query: Record<string, string>,
    body: unknown,
    path: string,
    scopeKey: string,
    isOrg: boolean,
  ): Reply {
    const state = this.scopeState(scopeKey);
    const isDependabot = scopeKey.startsWith('dependabot-');
    const secretJson = (s: StoredSecret): Record<string, unknown> => {
      const out: Record<string, unknown> = { name: s.name, created_at: s.createdAt, updated_at: s.updatedAt };
      if (isOrg) {
        out.visibility = s.visibility ?? 'all';
        if ((s.visibility ?? 'all') === 'selected') {
          out.selected_repositories_url = `${this.url}${path.replace(/\/secrets(?:\/.*)?$/, '/secrets')}/${s.name}/repositories`;
        }
      }
      return out;
    };

    if (rest.length === 0) {
      if (method !== 'GET') throw notFoundErr();
      const all = [...state.secrets.values()].sort((a, b) => a.name.localeCompare(b.name)).map(secretJson);
      const page = this.paginate(all, query, path);
      return { status: 200, body: { total_count: all.length, secrets: page.items }, headers: page.headers };
    }

    if (rest.length === 1 && rest[0] === 'public-key') {
      if (method !== 'GET') throw notFoundErr();
      return {
        status: 200,
        body: { key_id: state.keyId, key: sodium.to_base64(state.publicKey, sodium.base64_variants.ORIGINAL) },
      };
    }

    const name = rest[0].toUpperCase();

    if (rest.length === 2 && rest[1] === 'repositories' && isOrg && method === 'GET') {
      const s = state.secrets.get(name);
      if (!s || s.visibility !== 'selected') throw notFoundErr();
      const byId = new Map([...this.repos.values()].map((r) => [r.id, r] as const));
      const repos = (s.selectedRepositoryIds ?? []).flatMap((id) => {
        const r = byId.get(id);
        return r ? [this.repoJson(r)] : [];
      });
      return { status: 200, body: { total_count: repos.length, repositories: repos } };
    }
    if (rest.length !== 1) throw notFoundErr();

    if (method === 'GET') {
      const s = state.secrets.get(name);
      if (!s) throw notFoundErr();
      return { status: 200, body: secretJson(s) };
    }
    if (method === 'DELETE') {
      if (!state.secrets.delete(name)) throw notFoundErr();
      return { status: 204 };
    }
    if (method !== 'PUT') throw notFoundErr();

    // ---- PUT: create or update
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw unprocessable('Invalid request.\n\nThe body must be a JSON object.');
    }
    const b = body as Record<string, unknown>;
    if (!SECRET_NAME.test(rest[0])) {
      throw unprocessable(
        'Secret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_). Spaces are not allowed. Must start with a letter ([a-z], [A-Z]) or underscores (_).',
      );
    }
    if (name.startsWith('GITHUB_')) throw unprocessable('Secret names must not start with GITHUB_.');
    if (typeof b.encrypted_value !== 'string') {
      throw unprocessable('Invalid request.\n\n"encrypted_value" wasn\'t supplied or is not a string.');
    }
    if (typeof b.key_id !== 'string') throw unprocessable('Invalid request.\n\n"key_id" wasn\'t supplied or is not a string.');

    let visibility: 'all' | 'private' | 'selected' | undefined;
    let selected: number[] | undefined;
    if (isOrg) {
      if (b.visibility !== 'all' && b.visibility !== 'private' && b.visibility !== 'selected') {
        throw unprocessable('Invalid request.\n\n"visibility" must be one of: all, private, selected.');
      }
      visibility = b.visibility;
      if (b.selected_repository_ids !== undefined) {
        if (visibility !== 'selected') {
          throw unprocessable('Invalid request.\n\n"selected_repository_ids" is only allowed with visibility "selected".');
        }
        const ids = b.selected_repository_ids;
        const valid =
          Array.isArray(ids) &&
          ids.every(
            (x) =>
              (typeof x === 'number' && Number.isInteger(x)) ||
              (isDependabot && typeof x === 'string' && /^\d+$/.test(x)),
          );
        if (!valid) throw unprocessable('Invalid request.\n\n"selected_repository_ids" must be an array of integers.');
        selected = (ids as Array<number | string>).map((x) => Number(x));
      }
    } else if (b.visibility !== undefined || b.selected_repository_ids !== undefined) {
      throw unprocessable('Invalid request.\n\n"visibility" is not a permitted key.');
    }

    if (b.key_id !== state.keyId) throw unprocessable('Bad request - key_id does not match');
    if (!STANDARD_BASE64.test(b.encrypted_value) || b.encrypted_value.length === 0) {
      throw unprocessable('Bad request - encrypted_value is not valid base64');
    }
    let plaintext: string;
    try {
      const ct = sodium.from_base64(b.encrypted_value, sodium.base64_variants.ORIGINAL);
      const opened = sodium.crypto_box_seal_open(ct, state.publicKey, state.privateKey);
      plaintext = new TextDecoder().decode(opened);
    } catch {
      throw unprocessable('Bad request - unable to decrypt encrypted_value with the key for key_id');
    }

    const prev = state.secrets.get(name);
    const now = githubTime();
    const stored: StoredSecret = {
      name,
      value: plaintext,
      keyId: b.key_id,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
    if (isOrg) {
      stored.visibility = visibility;
      if (visibility === 'selected') {
        stored.selectedRepositoryIds = selected ?? (prev?.visibility === 'selected' ? prev.selectedRepositoryIds ?? [] : []);
      }
    }
    state.secrets.set(name, stored);
    return { status: prev ? 204 : 201 };
  }

  /**
   * `rest` is what follows '.../variables'. As GitHub: list (at most 30 a page), POST creates (201; 409 when the
   * name exists), PATCH updates (204; 404 when it does not), DELETE (204); organization variables need a visibility
   * on create, and list their selected repositories.
   */
  private variablesRoute(
    method: string,
    rest: string[],
    query: Record<string, string>,
    body: unknown,
    path: string,
    scopeKey: string,
    isOrg: boolean,
  ): Reply {
    const state = this.scopeState(scopeKey);
    const json = (v: StoredVariable): Record<string, unknown> => {
      const out: Record<string, unknown> = { name: v.name, value: v.value, created_at: v.createdAt, updated_at: v.updatedAt };
      if (isOrg) {
        out.visibility = v.visibility ?? 'all';
        if (v.visibility === 'selected') {
          out.selected_repositories_url = `${this.url}${path.replace(/\/variables(?:\/.*)?$/, '/variables')}/${v.name}/repositories`;
        }
      }
      return out;
    };
    const sharing = (b: Record<string, unknown>, required: boolean): Pick<StoredVariable, 'visibility' | 'selectedRepositoryIds'> => {
      if (!isOrg) {
        if (b.visibility !== undefined || b.selected_repository_ids !== undefined) {
          throw unprocessable('Invalid request.\n\n"visibility" is not a permitted key.');
        }
        return {};
      }
      if (b.visibility === undefined && !required) return {};
      if (b.visibility !== 'all' && b.visibility !== 'private' && b.visibility !== 'selected') {
        throw unprocessable('Invalid request.\n\n"visibility" must be one of: all, private, selected.');
      }
      const ids = b.selected_repository_ids;
      if (ids !== undefined && (b.visibility !== 'selected' || !Array.isArray(ids) || !ids.every((x) => Number.isInteger(x)))) {
        throw unprocessable('Invalid request.\n\n"selected_repository_ids" must be integers, with visibility "selected".');
      }
      return { visibility: b.visibility, ...(b.visibility === 'selected' ? { selectedRepositoryIds: (ids as number[] | undefined) ?? [] } : {}) };
    };
    const object = (): Record<string, unknown> => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw unprocessable('Invalid request.\n\nThe body must be a JSON object.');
      const b = body as Record<string, unknown>;
      if (typeof b.value !== 'string') throw unprocessable('Invalid request.\n\n"value" wasn\'t supplied or is not a string.');
      return b;
    };

    if (rest.length === 0) {
      if (method === 'GET') {
        const all = [...state.variables.values()].sort((a, b) => a.name.localeCompare(b.name)).map(json);
        const page = this.paginate(all, query, path, 30);
        return { status: 200, body: { total_count: all.length, variables: page.items }, headers: page.headers };
      }
      if (method !== 'POST') throw notFoundErr();
      const b = object();
      if (typeof b.name !== 'string' || !SECRET_NAME.test(b.name) || b.name.toUpperCase().startsWith('GITHUB_')) {
        throw unprocessable('Invalid request.\n\n"name" is not a valid variable name.');
      }
      const name = b.name.toUpperCase();
      if (state.variables.has(name)) throw new HttpError(409, 'Already exists - Variable already exists');
      const now = githubTime();
      state.variables.set(name, { name, value: b.value as string, createdAt: now, updatedAt: now, ...sharing(b, true) });
      return { status: 201, body: {} };
    }

    const name = rest[0].toUpperCase();
    const v = state.variables.get(name);
    if (rest.length === 2 && rest[1] === 'repositories' && isOrg && method === 'GET') {
      if (!v || v.visibility !== 'selected') throw notFoundErr();
      const byId = new Map([...this.repos.values()].map((r) => [r.id, r] as const));
      const repos = (v.selectedRepositoryIds ?? []).flatMap((id) => {
        const r = byId.get(id);
        return r ? [this.repoJson(r)] : [];
      });
      return { status: 200, body: { total_count: repos.length, repositories: repos } };
    }
    if (rest.length !== 1 || !v) throw notFoundErr();
    if (method === 'GET') return { status: 200, body: json(v) };
    if (method === 'DELETE') {
      state.variables.delete(name);
      return { status: 204 };
    }
    if (method !== 'PATCH') throw notFoundErr();
    const b = object();
    const shared = sharing(b, false);
    state.variables.set(name, {
      ...v,
      value: b.value as string,
      updatedAt: githubTime(),
      ...(shared.visibility ? { visibility: shared.visibility, selectedRepositoryIds: shared.selectedRepositoryIds } : {}),
    });
    return { status: 204 };
  }

  // ------------------------------------------------------------ the Copilot coding agent's secrets

  /** The X-GitHub-Api-Version of every request to an agents route, in order. */
  readonly agentsApiVersions: string[] = [];
  /** The X-GitHub-Api-Version of the request being routed. */
  private currentApiVersion: string | undefined;

  /**
   * As GitHub (REST API version 2026-03-10): /repos/{owner}/{repo}/agents/secrets and /orgs/{org}/agents/secrets,
   * with the public key, list, get, PUT and DELETE of the other secret scopes (organization secrets: visibility and
   * selected repositories). undefined: not an agents route.
   */
  private agentsRoute(method: string, seg: string[], query: Record<string, string>, body: unknown, path: string): Reply | undefined {
    const repoScoped = seg[0] === 'repos' && seg[3] === 'agents' && seg[4] === 'secrets';
    const orgScoped = seg[0] === 'orgs' && seg[2] === 'agents' && seg[3] === 'secrets';
    if (!repoScoped && !orgScoped) return undefined;
    this.agentsApiVersions.push(this.currentApiVersion ?? '');
    if (repoScoped) {
      const repo = this.repos.get(`${seg[1]}/${seg[2]}`.toLowerCase());
      if (!repo) throw notFoundErr();
      return this.secretsRoute(method, seg.slice(5), query, body, path, `copilot-repository:${this.repoKey(repo)}`, false);
    }
    if (!this.orgs.has(seg[1].toLowerCase())) throw notFoundErr();
    return this.secretsRoute(method, seg.slice(4), query, body, path, `copilot-organization:${seg[1].toLowerCase()}`, true);
  }

  // ------------------------------------------------------------ issues (the fleet audit's tracking issue)

  /** Issues by repository (lower case owner/name), in number order. */
  private readonly issueStore = new Map<string, StoredIssue[]>();

  /** The issues of a repository, as stored (copies). */
  issues(fullName: string): StoredIssue[] {
    return (this.issueStore.get(fullName.toLowerCase()) ?? []).map((i) => ({ ...i, labels: [...i.labels] }));
  }

  /**
   * As GitHub: GET .../issues (state open|closed|all, labels a comma list all of which an issue has; 30 a page, at most
   * 100), POST .../issues (title, body, labels: a label that does not exist is made), PATCH .../issues/{n} (title, body,
   * state, state_reason).
   */
  private issuesRoute(method: string, repoKey: string, rest: string[], query: Record<string, string>, body: unknown, path: string): Reply {
    const list = this.issueStore.get(repoKey) ?? [];
    this.issueStore.set(repoKey, list);
    const json = (i: StoredIssue) => ({
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      state_reason: i.stateReason,
      labels: i.labels.map((name) => ({ name })),
      created_at: i.createdAt,
      updated_at: i.updatedAt,
    });
    const object = (): Record<string, unknown> => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw unprocessable('Invalid request.\n\nThe body must be a JSON object.');
      return body as Record<string, unknown>;
    };
    if (rest.length === 0 && method === 'GET') {
      const state = query.state ?? 'open';
      const labels = (query.labels ?? '').split(',').map((l) => l.trim().toLowerCase()).filter(Boolean);
      const found = [...list]
        .reverse()
        .filter((i) => state === 'all' || i.state === state)
        .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
        .map(json);
      const page = this.paginate(found, query, path);
      return { status: 200, body: page.items, headers: page.headers };
    }
    if (rest.length === 0 && method === 'POST') {
      const b = object();
      if (typeof b.title !== 'string' || b.title === '') throw unprocessable('Invalid request.\n\n"title" wasn\'t supplied.');
      const now = githubTime();
      const issue: StoredIssue = {
        number: list.length + 1,
        title: b.title,
        body: typeof b.body === 'string' ? b.body : '',
        state: 'open',
        stateReason: null,
        labels: Array.isArray(b.labels) ? b.labels.map(String) : [],
        createdAt: now,
        updatedAt: now,
      };
      list.push(issue);
      return { status: 201, body: json(issue) };
    }
    const issue = rest.length === 1 ? list.find((i) => String(i.number) === rest[0]) : undefined;
    if (!issue) throw notFoundErr();
    if (method === 'GET') return { status: 200, body: json(issue) };
    if (method !== 'PATCH') throw notFoundErr();
    const b = object();
    if (typeof b.title === 'string') issue.title = b.title;
    if (typeof b.body === 'string') issue.body = b.body;
    if (b.state === 'open' || b.state === 'closed') {
      issue.state = b.state;
      issue.stateReason = b.state === 'closed' ? (typeof b.state_reason === 'string' ? b.state_reason : 'completed') : 'reopened';
    }
    issue.updatedAt = githubTime();
    return { status: 200, body: json(issue) };
  }

  /**
   * oidc-plan's reads, in one place: an organization's OIDC subject customization, a repository's workflow files
   * (the contents API, base64 as GitHub answers), a workflow's successful runs and a run's jobs, and a job's id token
   * (the runner's service, here unsigned: the plan only reads its iss). undefined: not one of these routes.
   */
  private oidcPlanRoute(method: string, seg: string[], query: Record<string, string>): Reply | undefined {
    if (method !== 'GET') return undefined;
    const d = this.oidcPlanData;
    if (seg.length === 2 && seg[0] === '_actions' && seg[1] === 'id-token') {
      const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = { iss: d.idTokenIssuer, aud: query.audience ?? '', sub: 'repo:octo/planner:ref:refs/heads/main' };
      return { status: 200, body: { value: `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.` } };
    }
    if (seg[0] === 'orgs' && seg.length === 6 && seg.slice(2).join('/') === 'actions/oidc/customization/sub') {
      const c = d.orgSubjects.get(seg[1].toLowerCase());
      if (c === 'forbidden') throw new HttpError(403, 'Resource not accessible by personal access token');
      if (!this.orgs.has(seg[1].toLowerCase())) throw notFoundErr();
      return { status: 200, body: c ?? { include_claim_keys: [] } };
    }
    if (seg[0] !== 'repos' || seg.length < 5) return undefined;
    const repo = this.repos.get(`${seg[1]}/${seg[2]}`.toLowerCase());
    if (!repo) return undefined;
    const key = this.repoKey(repo);
    const rest = seg.slice(3);
    if (rest[0] === 'contents') {
      const path = rest.slice(1).join('/');
      const files = d.workflows.get(key) ?? new Map<string, string>();
      if (path === '.github/workflows') {
        if (files.size === 0) throw notFoundErr();
        return {
          status: 200,
          body: [...files.keys()].map((f) => ({ name: f, path: `.github/workflows/${f}`, type: 'file', size: files.get(f)?.length ?? 0 })),
        };
      }
      const m = /^\.github\/workflows\/([^/]+)$/.exec(path);
      const text = m ? files.get(m[1]) : undefined;
      if (text === undefined) throw notFoundErr();
      const b64 = Buffer.from(text).toString('base64').replace(/.{60}/g, '$&\n');
      return { status: 200, body: { type: 'file', name: m?.[1], path, encoding: 'base64', content: b64, size: text.length } };
    }
    const runs = d.runs.get(key) ?? [];
    if (rest.length === 4 && rest[0] === 'actions' && rest[1] === 'workflows' && rest[3] === 'runs') {
      const mine = runs.filter((r) => r.file === rest[2]).slice(0, Number(query.per_page ?? 30));
      const at = (r: { id: number }) => new Date(Date.UTC(2026, 0, 1) + r.id).toISOString();
      const json = mine.map((r) => ({ id: r.id, path: `.github/workflows/${r.file}`, status: 'completed', conclusion: 'success', run_started_at: at(r) }));
      return { status: 200, body: { total_count: json.length, workflow_runs: json } };
    }
    if (rest.length === 4 && rest[0] === 'actions' && rest[1] === 'runs' && rest[3] === 'jobs') {
      const run = runs.find((r) => String(r.id) === rest[2]);
      if (!run) throw notFoundErr();
      const start = Date.UTC(2026, 0, 1, 12);
      const jobs = run.jobs.map((j, i) => ({
        id: run.id * 100 + i,
        run_id: run.id,
        name: j.name,
        status: 'completed',
        conclusion: 'success',
        started_at: new Date(start).toISOString(),
        completed_at: new Date(start + j.seconds * 1000).toISOString(),
      }));
      return { status: 200, body: { total_count: jobs.length, jobs } };
    }
    return undefined;
  }

  // ------------------------------------------------------------ helpers

  private paginate<T>(
    items: T[],
    query: Record<string, string>,
    path: string,
    maxPerPage = 100,
  ): { items: T[]; headers: Record<string, string> } {
    let perPage = Number.parseInt(query.per_page ?? '', 10);
    if (!Number.isFinite(perPage) || perPage < 1) perPage = 30;
    perPage = Math.min(perPage, maxPerPage);
    let page = Number.parseInt(query.page ?? '', 10);
    if (!Number.isFinite(page) || page < 1) page = 1;
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const encodedPath = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    const link = (p: number, rel: string): string => {
      const params = new URLSearchParams({ ...query, per_page: String(perPage), page: String(p) });
      return `<${this.url}${encodedPath}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(Math.min(page - 1, last), 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return { items: slice, headers: links.length ? { link: links.join(', ') } : {} };
  }

  /** A stable numeric id per owner login (GitHub's owner ids never change). */
  ownerId(login: string): number {
    let h = 0;
    for (const c of login.toLowerCase()) h = (h * 31 + c.charCodeAt(0)) % 9_000_000;
    return 100_000 + h;
  }

  private repoJson(r: RepoRecord): Record<string, unknown> {
    const isOrg = this.orgs.has(r.owner.toLowerCase());
    return {
      id: r.id,
      node_id: Buffer.from(`010:Repository${r.id}`).toString('base64'),
      name: r.name,
      full_name: `${r.owner}/${r.name}`,
      private: r.private,
      visibility: r.private ? 'private' : 'public',
      archived: false,
      owner: { login: r.owner, id: this.ownerId(r.owner), type: isOrg ? 'Organization' : 'User' },
      default_branch: r.defaultBranch,
      html_url: `https://github.com/${r.owner}/${r.name}`,
      url: `${this.url}/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.name)}`,
    };
  }

  private envJson(r: RepoRecord, e: { id: number; name: string; createdAt: string }): Record<string, unknown> {
    return {
      id: e.id,
      node_id: Buffer.from(`018:Environment${e.id}`).toString('base64'),
      name: e.name,
      url: `${this.url}/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.name)}/environments/${encodeURIComponent(e.name)}`,
      html_url: `https://github.com/${r.owner}/${r.name}/deployments/activity_log?environments_filter=${encodeURIComponent(e.name)}`,
      created_at: e.createdAt,
      updated_at: e.createdAt,
      protection_rules: [],
      deployment_branch_policy: null,
    };
  }

  private createEnvironment(repo: RepoRecord, name: string): { id: number; name: string; createdAt: string } {
    let env = repo.environments.get(name.toLowerCase());
    if (!env) {
      env = { id: this.nextEnvId++, name, createdAt: githubTime() };
      repo.environments.set(name.toLowerCase(), env);
    }
    return env;
  }

  private splitFullName(fullName: string): [string, string] {
    const parts = fullName.split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new Error(`GitHubStandin: expected 'owner/repo', got '${fullName}'`);
    }
    return [parts[0], parts[1]];
  }

  private requireRepo(fullName: string): RepoRecord {
    const [owner, name] = this.splitFullName(fullName);
    const repo = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (!repo) throw new Error(`GitHubStandin: repository '${fullName}' was not added`);
    return repo;
  }

  private repoKey(r: RepoRecord): string {
    return `${r.owner}/${r.name}`.toLowerCase();
  }

  /** Scope -> internal key; throws for scopes whose repo/environment/org was not added. */
  private scopeKey(scope: Scope): string {
    if (ORG_KINDS.has(scope.kind)) {
      const org = scope.org ?? scope.owner;
      if (!org) throw new Error(`GitHubStandin: scope ${scope.kind} needs 'org'`);
      if (!this.orgs.has(org.toLowerCase())) throw new Error(`GitHubStandin: organization '${org}' was not added`);
      return `${scope.kind}:${org.toLowerCase()}`;
    }
    if (!scope.repo) throw new Error(`GitHubStandin: scope ${scope.kind} needs 'owner' and 'repo'`);
    const fullName = scope.owner ? `${scope.owner}/${scope.repo}` : scope.repo;
    const repo = this.requireRepo(fullName);
    if (scope.kind === 'environment') {
      if (!scope.environment) throw new Error("GitHubStandin: scope environment needs 'environment'");
      const env = repo.environments.get(scope.environment.toLowerCase());
      if (!env) throw new Error(`GitHubStandin: environment '${scope.environment}' of '${fullName}' was not added`);
      return `environment:${this.repoKey(repo)}:${env.name.toLowerCase()}`;
    }
    return `${scope.kind}:${this.repoKey(repo)}`;
  }

  private scopeState(key: string): ScopeState {
    let state = this.scopes.get(key);
    if (!state) {
      state = { ...this.newKeyPair(), secrets: new Map(), variables: new Map() };
      this.scopes.set(key, state);
    }
    return state;
  }

  private newKeyPair(): { keyId: string; publicKey: Uint8Array; privateKey: Uint8Array } {
    const kp = sodium.crypto_box_keypair();
    let keyId: string;
    do {
      // 18 digits, like GitHub's key_id values, unique across this server.
      keyId = `${randomInt(100_000_000, 1_000_000_000)}${String(randomInt(0, 1_000_000_000)).padStart(9, '0')}`;
    } while (this.keyIds.has(keyId));
    this.keyIds.add(keyId);
    return { keyId, publicKey: kp.publicKey, privateKey: kp.privateKey };
  }

  /**
   * GET /repos/{owner}/{repo}/actions/organization-variables (issue 24): the organization variables this repository's
   * jobs can read (visibility all, private for a private repository, selected when it is among the selected ones), at
   * most 30 a page, with their values.
   */
  private organizationVariablesOf(repo: RepoRecord, query: Record<string, string>, path: string): Reply {
    const scope = this.scopes.get(`organization:${repo.owner.toLowerCase()}`);
    const visible = [...(scope?.variables.values() ?? [])].filter(
      (x) =>
        (x.visibility ?? 'all') === 'all' ||
        (x.visibility === 'private' && repo.private) ||
        (x.visibility === 'selected' && (x.selectedRepositoryIds ?? []).includes(repo.id)),
    );
    const items = visible.map((x) => ({ name: x.name, value: x.value, created_at: x.createdAt, updated_at: x.updatedAt, visibility: x.visibility ?? 'all' }));
    const page = this.paginate(items, query, path, 30);
    return { status: 200, body: { total_count: items.length, variables: page.items }, headers: page.headers };
  }
}
