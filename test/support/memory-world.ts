/**
 * A whole rotation in-process without moto or the GitHub stand-in: the in-memory IAM (memory-iam.ts) for the user's
 * keys and tags, and an in-memory GitHub that holds repository secrets and really opens each sealed value. It runs
 * in milliseconds, so the flow's decisions (src/rotation/rotate.ts) can be pinned, and mutation-tested, cheaply. The
 * integration tests (rotation, failures, recovery: moto and the stand-in) remain the tests of the real protocols.
 */
import sodium from 'libsodium-wrappers';
import type { AwsClients, Credentials } from '../../src/aws/aws.js';
import { Cancellation } from '../../src/shared/cancel.js';
import type { Clock } from '../../src/shared/clock.js';
import { IamTime } from '../../src/aws/iam-time.js';
import { runIdentity } from '../../src/config/context.js';
import type { GitHubApi } from '../../src/github/github-api.js';
import { readInputs } from '../../src/config/inputs.js';
import { WritePacer } from '../../src/github/pacer.js';
import { type RotationResult, rotate } from '../../src/rotation/rotate.js';
import { FAST_LEASE, FAST_PACING, fakeClock, reader, recorder, type Recorder } from './basics.js';
import { type MemoryIam, type MemoryKey, awsFailure, memoryIam } from './memory-iam.js';
import { failure } from './scripted-github.js';

export interface MemoryGitHub {
  gh: GitHubApi;
  /** Every request, as `METHOD path`. */
  routes: string[];
  /** repository (owner/name) or environment (owner/name:environment) → secret name → value, as opened. */
  secrets: Map<string, Map<string, string>>;
  /** The same scopes → Actions variable name → value (access-key-id-as: variable). */
  variables: Map<string, Map<string, string>>;
  /** Runs before each request: throw (e.g. `failure(500)`) to fail it; return a promise to hold it until it settles. */
  before(fn: (method: string, path: string) => void | Promise<void>): void;
  /** The pair a repository holds, if both secrets are there. */
  pair(repo: string): Credentials | undefined;
  /** Give each of these repositories (or environments) `creds` as its pair, as an earlier run would have. */
  hold(creds: Credentials, ...scopes: string[]): void;
  /**
   * GitHub's updated_at of a secret, by `scope/NAME` (e.g. `octo/api/AWS_ACCESS_KEY_ID`): set one to say when it was
   * written; a secret without an entry (or written by the run) says 2026-11-27T12:00:00Z. A variable's entry is
   * `scope/variable/NAME`.
   */
  updatedAt: Map<string, string>;
  /**
   * Organization secrets and variables shared with a repository (`owner/name` → name → value), listed by
   * GET /repos/o/r/actions/organization-secrets and …/organization-variables (none unless set).
   */
  shared: { secrets: Map<string, Map<string, string>>; variables: Map<string, Map<string, string>> };
  /** As `hold`, with the id as the variable AWS_ACCESS_KEY_ID (access-key-id-as: variable). */
  holdAsVariable(creds: Credentials, ...scopes: string[]): void;
  /** The pair a scope holds as variable AWS_ACCESS_KEY_ID and secret AWS_SECRET_ACCESS_KEY, if both are there. */
  variablePair(scope: string): Credentials | undefined;
}

/** Repositories (`owner/name`) and environments (`owner/name:environment`) that exist, each with no secrets yet. */
/**
 * `dates`: answer each write with GitHub's Date header (the secret's updated_at, as GitHub would), so the run can
 * tell a later write by someone else (src/rotation/writes.ts, the read-back).
 */
export async function memoryGitHub(
  repos: string[],
  /** `now`: GitHub's time of each write (ISO), its updated_at and Date (default 2026-11-27T12:00:00Z). */
  opts: { dates?: boolean; now?: () => string } = {},
): Promise<MemoryGitHub> {
  await sodium.ready;
  const box = sodium.crypto_box_keypair();
  const key = sodium.to_base64(box.publicKey, sodium.base64_variants.ORIGINAL);
  const secrets = new Map(repos.flatMap((r) => (r.includes(':') ? [r.split(':')[0], r] : [r])).map((r) => [r, new Map<string, string>()]));
  const variables = new Map([...secrets.keys()].map((k) => [k, new Map<string, string>()]));
  const routes: string[] = [];
  const updatedAt = new Map<string, string>();
  const shared = { secrets: new Map<string, Map<string, string>>(), variables: new Map<string, Map<string, string>>() };
  let before: (method: string, path: string) => void | Promise<void> = () => {};
  const request: GitHubApi['request'] = async (route, params) => {
    routes.push(route);
    const [method, path] = route.split(' ');
    await before(method, path);
    // GET /repos/o/r/environments: the repository's environments, one page.
    const listing = /^\/repos\/([^/]+\/[^/]+)\/environments$/.exec(path);
    if (listing && method === 'GET' && secrets.has(listing[1])) {
      const names = [...secrets.keys()].filter((k) => k.startsWith(`${listing[1]}:`)).map((k) => k.slice(listing[1].length + 1));
      return { status: 200, data: { total_count: names.length, environments: names.map((name) => ({ name })) }, headers: {} };
    }
    // What the repository's organization shares with it: GET /repos/o/r/actions/organization-(secrets|variables).
    const org = /^\/repos\/([^/]+\/[^/]+)\/actions\/organization-(secrets|variables)$/.exec(path);
    if (org && method === 'GET' && secrets.has(org[1])) {
      const held = [...(shared[org[2] as 'secrets' | 'variables'].get(org[1]) ?? new Map<string, string>()).entries()];
      const list = held.map(([name, value]) => ({ name, ...(org[2] === 'variables' ? { value } : {}), updated_at: '2026-11-27T12:00:00Z' }));
      return { status: 200, data: { total_count: list.length, [org[2]]: list }, headers: {} };
    }
    // Actions variables: /repos/o/r/actions/variables[/NAME], /repos/o/r/environments/E/variables[/NAME].
    const v = /^\/repos\/([^/]+\/[^/]+)(?:\/actions|\/environments\/([^/]+))\/variables(?:\/([^/]+))?$/.exec(path);
    if (v) {
      const vscope = v[2] === undefined ? v[1] : `${v[1]}:${decodeURIComponent(v[2])}`;
      const vars = variables.get(vscope);
      if (!vars) throw failure(404, 'Not Found', {});
      const name = v[3] === undefined ? undefined : decodeURIComponent(v[3]).toUpperCase();
      const body = params as { name: string; value: string };
      if (method === 'GET' && name === undefined) {
        const list = [...vars.entries()].map(([n, value]) => ({ name: n, value, updated_at: updatedAt.get(`${vscope}/variable/${n}`) ?? '2026-11-27T12:00:00Z' }));
        return { status: 200, data: { total_count: list.length, variables: list }, headers: {} };
      }
      if (method === 'POST' && name === undefined) {
        if (vars.has(body.name.toUpperCase())) throw failure(409, 'Already exists', {});
        vars.set(body.name.toUpperCase(), body.value);
        updatedAt.delete(`${vscope}/variable/${body.name.toUpperCase()}`);
        if (opts.now) updatedAt.set(`${vscope}/variable/${body.name.toUpperCase()}`, opts.now());
        return { status: 201, data: {}, headers: opts.dates ? { date: new Date(opts.now?.() ?? '2026-11-27T12:00:00Z').toUTCString() } : {} };
      }
      if (method === 'PATCH' && name !== undefined) {
        if (!vars.has(name)) throw failure(404, 'Not Found', {});
        vars.set(name, body.value);
        updatedAt.delete(`${vscope}/variable/${name}`);
        if (opts.now) updatedAt.set(`${vscope}/variable/${name}`, opts.now());
        return { status: 204, data: {}, headers: opts.dates ? { date: new Date(opts.now?.() ?? '2026-11-27T12:00:00Z').toUTCString() } : {} };
      }
      if (method === 'DELETE' && name !== undefined) {
        if (!vars.delete(name)) throw failure(404, 'Not Found', {});
        return { status: 204, data: {}, headers: {} };
      }
      throw failure(404, 'Not Found', {});
    }
    // /repos/o/r, /repos/o/r/environments/E, and their secrets (/actions/secrets for a repository).
    const m = /^\/repos\/([^/]+\/[^/]+)(?:\/environments\/([^/]+))?(\/actions\/secrets|\/secrets)?(?:\/([^/]+))?$/.exec(path);
    if (!m || !secrets.has(m[1])) throw failure(404, 'Not Found', {});
    const scope = m[2] === undefined ? m[1] : `${m[1]}:${decodeURIComponent(m[2])}`;
    const ok = (data: unknown) => ({ status: 200, data, headers: {} });
    if (m[3] === undefined && m[4] === undefined) {
      if (method === 'PUT' && m[2] !== undefined) {
        if (!secrets.has(scope)) secrets.set(scope, new Map());
        if (!variables.has(scope)) variables.set(scope, new Map());
        return ok({ name: m[2] });
      }
      if (method === 'GET' && secrets.has(scope)) return ok({ name: scope });
      throw failure(404, 'Not Found', {});
    }
    const held = secrets.get(scope);
    if (!held || (m[2] === undefined) !== (m[3] === '/actions/secrets')) throw failure(404, 'Not Found', {});
    const name = m[4] === undefined ? undefined : decodeURIComponent(m[4]);
    if (method === 'GET' && name === 'public-key') return ok({ key_id: 'kid-1', key });
    if (method === 'GET' && name === undefined) {
      const list = [...held.keys()].map((n) => ({ name: n, updated_at: updatedAt.get(`${scope}/${n}`) ?? '2026-11-27T12:00:00Z' }));
      return ok({ total_count: list.length, secrets: list });
    }
    if (method === 'PUT' && name !== undefined) {
      const body = params as { encrypted_value: string };
      const opened = sodium.crypto_box_seal_open(
        sodium.from_base64(body.encrypted_value, sodium.base64_variants.ORIGINAL),
        box.publicKey,
        box.privateKey,
      );
      held.set(name.toUpperCase(), sodium.to_string(opened));
      updatedAt.delete(`${scope}/${name.toUpperCase()}`);
      if (opts.now) updatedAt.set(`${scope}/${name.toUpperCase()}`, opts.now());
      const written = updatedAt.get(`${scope}/${name.toUpperCase()}`) ?? '2026-11-27T12:00:00Z';
      return { status: 201, data: {}, headers: opts.dates ? { date: new Date(written).toUTCString() } : {} };
    }
    if (method === 'DELETE' && name !== undefined) {
      if (!held.delete(name.toUpperCase())) throw failure(404, 'Not Found', {});
      return { status: 204, data: {}, headers: {} };
    }
    throw failure(404, 'Not Found', {});
  };
  return {
    gh: { request, paginate: { iterator: () => ({ async *[Symbol.asyncIterator]() {} }) } },
    routes,
    secrets,
    shared,
    updatedAt,
    variables,
    before: (fn) => void (before = fn),
    holdAsVariable: (creds, ...scopes) => {
      for (const scope of scopes) {
        variables.get(scope)?.set('AWS_ACCESS_KEY_ID', creds.accessKeyId);
        secrets.get(scope)?.set('AWS_SECRET_ACCESS_KEY', creds.secretAccessKey);
      }
    },
    variablePair: (scope) => {
      const id = variables.get(scope)?.get('AWS_ACCESS_KEY_ID');
      const secret = secrets.get(scope)?.get('AWS_SECRET_ACCESS_KEY');
      return id !== undefined && secret !== undefined ? { accessKeyId: id, secretAccessKey: secret } : undefined;
    },
    hold: (creds, ...scopes) => {
      for (const scope of scopes) {
        secrets.get(scope)?.set('AWS_ACCESS_KEY_ID', creds.accessKeyId);
        secrets.get(scope)?.set('AWS_SECRET_ACCESS_KEY', creds.secretAccessKey);
      }
    },
    pair: (repo) => {
      const s = secrets.get(repo);
      const id = s?.get('AWS_ACCESS_KEY_ID');
      const secret = s?.get('AWS_SECRET_ACCESS_KEY');
      return id !== undefined && secret !== undefined ? { accessKeyId: id, secretAccessKey: secret } : undefined;
    },
  };
}

export interface MemoryRun {
  result: RotationResult;
  io: Recorder;
  clock: ReturnType<typeof fakeClock>;
  /** The access key id each IAM request was signed with, in order. */
  signedBy: string[];
}

/**
 * A rotation against `iam` and `github`, authenticated as `as` (a key of the user: self-rotation; another: a
 * rotator). Inputs as the runner passes them (action.yml defaults underneath).
 */
export async function memoryRotation(
  iam: MemoryIam,
  github: MemoryGitHub,
  opts: {
    as: Credentials;
    inputs: Record<string, string>;
    env?: Record<string, string>;
    cancel?: Cancellation;
    /** What STS says the caller is (default: the IAM user of the memory IAM). */
    callerArn?: string;
    /** How many times a new key fails to authenticate before it works. */
    propagation?: number;
    /** Called at each verification try of the new key. */
    onVerify?: () => void;
    /** How far the runner's clock is ahead of IAM's (IAM's time starts at the memory IAM's 2026-11-27T12:00:00Z). */
    runnerSkewMs?: number;
    /** As IAM: a request signed with a key of the user is its last use, and fails once the key is deleted or Inactive. */
    signedUse?: boolean;
    /** Receives the live result as the run begins (as the cancel handler does). */
    observe?: (r: RotationResult) => void;
  },
): Promise<MemoryRun> {
  const io = recorder();
  const env = opts.env ?? {};
  const inputs = readInputs(reader(opts.inputs), env);
  const skew = opts.runnerSkewMs ?? 0;
  const clock = fakeClock(Date.parse('2026-11-27T12:00:00Z') + skew);
  const { aws, signedBy } = memoryClients(iam, { ...opts, clock, iamSkewMs: -skew });
  const result = await rotate({
    inputs,
    aws,
    gh: github.gh,
    clock,
    io,
    pacing: FAST_PACING,
    pacer: new WritePacer(clock, 0),
    lease: FAST_LEASE,
    run: runIdentity(env),
    cancel: opts.cancel ?? new Cancellation(),
  }, opts.observe);
  return { result, io, clock, signedBy };
}

/** AWS clients on the memory IAM, signing as `as`, shaped like production's createAwsClients. */
export function memoryClients(
  iam: MemoryIam,
  opts: {
    as: Credentials;
    callerArn?: string;
    propagation?: number;
    onVerify?: () => void;
    /** The runner's clock (default: a fake clock at the memory IAM's 2026-11-27T12:00:00Z). */
    clock?: Clock;
    /** IAM's clock minus the runner's: every answer tells IAM's time, as a Date header would. */
    iamSkewMs?: number;
    /** As IAM: a request signed with a key of the user is its last use, and fails once the key is deleted or Inactive. */
    signedUse?: boolean;
  },
): { aws: AwsClients; signedBy: string[] } {
  const signedBy: string[] = [];
  const clock = opts.clock ?? fakeClock();
  const time = new IamTime(clock);
  const answer = async (cmd: unknown) => {
    const out = await iam.iam.send(cmd);
    time.observe(clock.now() + (opts.iamSkewMs ?? 0));
    return out;
  };
  // The user's keys this client has seen exist: one of them signing after it is gone is refused, as IAM refuses it.
  const known = new Set<string>();
  const signedWith = (id: string) => {
    if (!opts.signedUse) return;
    for (const k of iam.keys.keys()) known.add(k);
    const key = iam.keys.get(id);
    if (key === undefined ? known.has(id) : key.status !== 'Active') throw awsFailure('InvalidClientTokenId', 403);
    if (key) key.lastUsed = { date: new Date(clock.now() + (opts.iamSkewMs ?? 0)).toISOString(), service: 'iam', region: 'us-east-1' };
  };
  const withCredentials = (creds: Credentials) => ({
    send: async (cmd: unknown) => {
      signedBy.push(creds.accessKeyId);
      signedWith(creds.accessKeyId);
      const out = await answer(cmd);
      for (const k of iam.keys.keys()) known.add(k);
      return out;
    },
    config: { credentials: async () => creds },
  });
  // A new key authenticates once IAM has it (after `propagation` failed tries), as the user it belongs to.
  let propagation = opts.propagation ?? 0;
  const stsFor = (creds: Credentials) => ({
    send: async (cmd: unknown) => {
      opts.onVerify?.();
      const k = iam.keys.get(creds.accessKeyId);
      if (!k || k.status !== 'Active' || propagation-- > 0) throw awsFailure('InvalidClientTokenId', 403);
      signedWith(creds.accessKeyId);
      return answer(cmd);
    },
  });
  const aws = {
    iam: withCredentials(opts.as),
    iamOnce: withCredentials(opts.as),
    sts: {
      send: async (cmd: unknown) => (opts.callerArn ? { Arn: opts.callerArn, Account: '123456789012' } : answer(cmd)),
    },
    stsFor,
    iamFor: withCredentials,
    time,
  } as unknown as AwsClients;
  return { aws, signedBy };
}

/** The record an earlier run left on key `from`, handed over to `to` two days before the fake clock's start. */
export function handedOver(iam: MemoryIam, from: string, to: string): void {
  iam.tags.set(from, `rotate-aws-access-key: superseded-by=${to} handover=2026-11-25T12:00:00Z by=octo/a/1/1`);
}

/** A key of the user, `ageDays` old, with its secret (for a caller or a destination to hold). */
export function userKey(iam: MemoryIam, id: string, ageDays = 100, status: 'Active' | 'Inactive' = 'Active'): Credentials {
  const key: MemoryKey = { id, status, created: new Date(Date.parse('2026-11-27T12:00:00Z') - ageDays * 86_400_000) };
  iam.keys.set(id, key);
  return { accessKeyId: id, secretAccessKey: `secret-of-${id}` };
}

export { memoryIam };
