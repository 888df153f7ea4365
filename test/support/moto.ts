/**
 * Test fixture: a real moto_server (moto 5.x, Python) with IAM signature
 * enforcement and policy evaluation switched ON.
 *
 *   requireMoto();                          // top of the test file: fail loudly if missing
 *   const moto = await startMoto();         // enforcement ON from the very first request
 *   const admin = await seedAdmin(moto);    // opens a short unauthenticated window, seeds, closes it
 *   const ci = await createUserWithKey(moto, admin, 'deployer', { path: '/ci/' });
 *   ...
 *   await moto.stop();
 *
 * From startMoto() on (except inside seedAdmin), every IAM/STS request must be
 * SigV4-signed by an access key that exists in moto, and the caller's
 * identity policies must allow the action.
 *
 * Known moto 5.2.1 deviations from real AWS (verified, see moto-harness.test.ts):
 *  - an Inactive access key still authenticates (real AWS: InvalidClientTokenId);
 *    only a DELETED key stops working.
 *  - policy Resource is not evaluated for IAM actions: only `"Resource": "*"`
 *    grants anything; a statement scoped to a user ARN (or ${aws:username})
 *    never matches, so such a policy denies everything. Conditions are ignored.
 *  - AccessDenied messages name `user/<name>` without the user's path.
 *  - sts:GetCallerIdentity is always allowed (same as AWS).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

export const MOTO_ACCOUNT_ID = '123456789012';
export const MOTO_REGION = 'us-east-1';

export interface MotoOptions {
  /**
   * INITIAL_NO_AUTH_ACTION_COUNT: number of requests (counted globally, across
   * all services, one per request) that moto serves without checking the
   * signature or policies. Default 0: enforcement ON from the first request;
   * seedAdmin() temporarily lifts it and always turns it back ON (0).
   */
  noAuthCount?: number;
  /** MOTO_IAM_LOAD_MANAGED_POLICIES=true: make arn:aws:iam::aws:policy/* (e.g. ReadOnlyAccess) exist. Default false. */
  awsManagedPolicies?: boolean;
  /** ms to wait for the server to answer. Default 20000. */
  startTimeoutMs?: number;
}

export interface Moto {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

const MISSING = [
  'moto_server is not installed: the integration tests and the demo need it (IAM/STS emulator).',
  "Install it with:  pip install 'moto[server]'",
  "or, where pip refuses (\"externally-managed-environment\": Debian 12, Ubuntu 23.04+, Homebrew), in this repository:",
  "  python3 -m venv .venv && .venv/bin/pip install 'moto[server]'   (found in ./.venv/bin without activating it)",
  "or:  pipx install 'moto[server]'",
].join('\n');

/** The repository root: the nearest folder above this file with a package.json (also from .build/test/support). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Does `command --help` run? */
function runs(command: string): boolean {
  const r = spawnSync(command, ['--help'], { stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0;
}

let executable: string | null | undefined;

/**
 * The moto_server to run, resolved once: `moto_server` on PATH, else the repository's `.venv/bin/moto_server`
 * (a virtualenv that need not be activated), else pipx's `~/.local/bin/moto_server`. null when none runs.
 */
export function motoServerPath(): string | null {
  if (executable === undefined && shared?.path !== undefined) executable = shared.path;
  if (executable === undefined) {
    const root = repositoryRoot();
    const candidates = [
      'moto_server',
      ...new Set([join(root, '.venv', 'bin', 'moto_server'), resolve('.venv', 'bin', 'moto_server')]),
      join(homedir(), '.local', 'bin', 'moto_server'),
    ];
    executable = candidates.find((c) => (c === 'moto_server' || existsSync(c)) && runs(c)) ?? null;
    if (shared) shared.path = executable;
  }
  return executable;
}

/** Is moto_server runnable (on PATH, in ./.venv/bin or in ~/.local/bin)? (cached) */
export function motoAvailable(): boolean {
  return motoServerPath() !== null;
}

/** Throws (never skips) when moto_server is missing: tests must not pass silently without it. */
export function requireMoto(): void {
  if (!motoAvailable()) throw new Error(MISSING);
}

// ---------------------------------------------------------------- process management

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // whole process group: sh wrapper + moto_server + watchdog
  } catch {
    /* already gone */
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/*
 * moto_server runs under a tiny sh wrapper in its own process group. The
 * wrapper's stdin is a pipe from this Node process: when Node dies for ANY
 * reason (even SIGKILL of a jest worker) the pipe hits EOF and the watchdog
 * kills moto_server. The wrapper exits with moto_server's status.
 */
const WRAPPER = [
  'exec 3<&0',
  '"$2" -H 127.0.0.1 -p "$1" </dev/null &',
  'm=$!',
  '( cat <&3 >/dev/null; kill "$m" 2>/dev/null ) &',
  'wait "$m"',
].join('\n');

async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('moto_server exited');
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`moto_server did not answer within ${timeoutMs} ms`);
}

async function startOnce(opts: MotoOptions): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    INITIAL_NO_AUTH_ACTION_COUNT: String(opts.noAuthCount ?? 0),
  };
  if (opts.awsManagedPolicies) env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';

  const command = motoServerPath();
  if (command === null) throw new Error(MISSING);
  const child = spawn('sh', ['-c', WRAPPER, 'moto-wrapper', String(port), command], {
    detached: true, // own process group, so stop() can kill all of it
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  live.add(child);
  installExitHook();

  const tail: string[] = [];
  const keep = (b: Buffer) => {
    tail.push(...b.toString().split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  // must drain the pipes or werkzeug's request log would eventually block moto
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.stdin?.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => live.delete(child));
  // don't keep the event loop (jest) alive just because of moto; the exit hook / watchdog clean up
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      killGroup(child, 'SIGKILL'); // stray watchdog subshell, if any
      child.stdin?.destroy();
      live.delete(child);
    })();
    return stopped;
  };

  try {
    await waitUntilUp(endpoint, child, opts.startTimeoutMs ?? 20_000);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message} (port ${port}):\n${tail.join('\n')}`);
  }
  return { endpoint, port, stop };
}

/**
 * Under mutation testing only (test/support/stryker-environment.mjs sets it): moto_servers kept by the Stryker test
 * runner process between mutant runs, which load every module afresh. Starting moto_server (and checking that it
 * runs) costs seconds per test file, a mutant run often less: a kept server is reset instead (all state, and the
 * signature check), so a test file sees the same fresh server either way.
 */
interface SharedMotos {
  path?: string | null;
  idle: Map<string, Moto[]>;
}
const shared = (globalThis as { __strykerMotos?: SharedMotos }).__strykerMotos;

async function startShared(pool: SharedMotos, opts: MotoOptions): Promise<Moto> {
  const key = opts.awsManagedPolicies ? 'managed' : 'plain';
  const idle = pool.idle.get(key) ?? [];
  pool.idle.set(key, idle);
  let moto = idle.pop();
  if (moto) {
    const res = await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' }).catch(() => undefined);
    await res?.arrayBuffer();
    if (!res?.ok) {
      await moto.stop();
      moto = undefined;
    }
  }
  moto ??= await startFresh({ ...opts, noAuthCount: 0 });
  await setNoAuthCount(moto, opts.noAuthCount ?? 0);
  const kept = moto;
  let given = false;
  return {
    endpoint: kept.endpoint,
    port: kept.port,
    stop: async () => {
      if (!given) idle.push(kept);
      given = true;
    },
  };
}

/** A fresh moto_server that answers: spawned (see startFresh), or under mutation testing a kept one, reset. */
export async function startMoto(opts: MotoOptions = {}): Promise<Moto> {
  requireMoto();
  return shared ? startShared(shared, opts) : startFresh(opts);
}

/** Spawn `moto_server -H 127.0.0.1 -p <free port>` (see motoServerPath) and wait until it answers. */
async function startFresh(opts: MotoOptions): Promise<Moto> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts); // retried: another worker may grab the "free" port first
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

// ---------------------------------------------------------------- auth switch & clients

/**
 * POST /moto-api/reset-auth: set INITIAL_NO_AUTH_ACTION_COUNT to `count` and
 * reset moto's request counter to 0. 0 = enforce from now on; Infinity = off.
 */
export async function setNoAuthCount(moto: Moto, count: number): Promise<void> {
  const res = await fetch(`${moto.endpoint}/moto-api/reset-auth`, {
    method: 'POST',
    body: count === Infinity ? 'inf' : String(count),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`moto reset-auth failed: ${res.status} ${body}`);
}

export function iamClient(moto: Moto, creds: Creds): IAMClient {
  return new IAMClient({ region: MOTO_REGION, endpoint: moto.endpoint, maxAttempts: 1, credentials: { ...creds } });
}

export function stsClient(moto: Moto, creds: Creds): STSClient {
  return new STSClient({ region: MOTO_REGION, endpoint: moto.endpoint, maxAttempts: 1, credentials: { ...creds } });
}

export const ALLOW_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
} as const;

/**
 * What a user needs to rotate its own key. Resource must be "*": moto does not
 * evaluate resource ARNs for IAM actions (a user-scoped ARN would deny all).
 */
export const SELF_ROTATION_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['iam:*AccessKey*', 'iam:GetUser', 'iam:ListUserTags', 'iam:TagUser', 'iam:UntagUser', 'sts:GetCallerIdentity'],
      Resource: '*',
    },
  ],
} as const;

/**
 * Create IAM user 'admin' (inline policy Allow * on *) and its access key while
 * auth is briefly lifted, then switch enforcement ON for good. Call once per server.
 */
export async function seedAdmin(moto: Moto): Promise<Creds> {
  const seeder = iamClient(moto, { accessKeyId: 'AKIASEEDINGNOTAKEY00', secretAccessKey: 'seeding' });
  await setNoAuthCount(moto, Infinity);
  try {
    await seeder.send(new CreateUserCommand({ UserName: 'admin' }));
    await seeder.send(
      new PutUserPolicyCommand({ UserName: 'admin', PolicyName: 'AllowAll', PolicyDocument: JSON.stringify(ALLOW_ALL) }),
    );
    const { AccessKey } = await seeder.send(new CreateAccessKeyCommand({ UserName: 'admin' }));
    if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('moto returned no access key');
    return { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
  } finally {
    await setNoAuthCount(moto, 0);
    seeder.destroy();
  }
}

/**
 * Create `userName` (as admin, signed) with an inline policy (default
 * SELF_ROTATION_POLICY; `null` = no policy at all) and one access key.
 */
export async function createUserWithKey(
  moto: Moto,
  admin: Creds,
  userName: string,
  opts: { path?: string; policy?: object | null } = {},
): Promise<Creds> {
  const iam = iamClient(moto, admin);
  try {
    await iam.send(new CreateUserCommand({ UserName: userName, Path: opts.path }));
    const policy = opts.policy === undefined ? SELF_ROTATION_POLICY : opts.policy;
    if (policy !== null) {
      await iam.send(
        new PutUserPolicyCommand({ UserName: userName, PolicyName: 'harness', PolicyDocument: JSON.stringify(policy) }),
      );
    }
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('moto returned no access key');
    return { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
  } finally {
    iam.destroy();
  }
}

/** Another access key for an existing user (as admin): the pair. */
export async function addAccessKey(moto: Moto, admin: Creds, userName: string): Promise<Creds> {
  const iam = iamClient(moto, admin);
  try {
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('moto returned no access key');
    return { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
  } finally {
    iam.destroy();
  }
}

const AUTH_FAILURES = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch']);

/**
 * Does STS GetCallerIdentity succeed with these creds? false on
 * InvalidClientTokenId / SignatureDoesNotMatch; any other error is rethrown.
 */
export async function authenticates(moto: Moto, creds: Creds): Promise<boolean> {
  const sts = stsClient(moto, creds);
  try {
    await sts.send(new GetCallerIdentityCommand({}));
    return true;
  } catch (e) {
    if (e instanceof Error && AUTH_FAILURES.has(e.name)) return false;
    throw e;
  } finally {
    sts.destroy();
  }
}
