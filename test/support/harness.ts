/**
 * Integration harness: a moto IAM/STS emulator (signatures enforced) and the GitHub stand-in, plus a rotation run
 * in-process with fast pacing, a fake clock and a recording ActionsIO.
 */
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import type { AwsClients, Credentials } from '../../src/aws/aws.js';
import { type Clock, systemClock } from '../../src/shared/clock.js';
import { IamTime, observeIamTime } from '../../src/aws/iam-time.js';
import { createGitHubClient } from '../../src/github/github.js';
import type { GitHubPacing } from '../../src/github/pacer.js';
import { readInputs } from '../../src/config/inputs.js';
import { WritePacer } from '../../src/github/pacer.js';
import { Cancellation } from '../../src/shared/cancel.js';
import { type LeaseSettings, runIdentity } from '../../src/config/context.js';
import { type RotationResult, rotate } from '../../src/rotation/rotate.js';
import { GitHubStandin, type Scope } from './github-standin.js';
import { type Creds, type Moto, authenticates, iamClient, seedAdmin, startMoto } from './moto.js';
import { FAST_LEASE, FAST_PACING, fakeClock, reader, type Recorder, recorder } from './basics.js';

export { FAST_LEASE, FAST_PACING, TOKEN, actionDefaults, fakeClock, reader, type Recorder, recorder } from './basics.js';

/** AWS clients for `creds` against moto, shaped like production's createAwsClients. */
export function awsFor(
  moto: Moto,
  creds: Credentials,
  opts: {
    stsFor?: AwsClients['stsFor'];
    endpoint?: string;
    requestTimeoutMs?: number;
    onAwsCall?: AwsCallHook;
    /** The runner's clock, which IAM's time (read from moto's Date headers) advances with. */
    clock?: Clock;
    /** IAM's clock runs this far ahead of moto's Date headers: time has passed for IAM (moto's clock is real). */
    iamAheadMs?: number;
  } = {},
): AwsClients {
  const common = {
    region: 'us-east-1',
    endpoint: opts.endpoint ?? moto.endpoint,
    maxAttempts: 3,
    requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 5000, throwOnRequestTimeout: true },
  };
  const hook = opts.onAwsCall;
  const record =
    (service: AwsCall['service']): InitializeMiddleware<object, MetadataBearer> =>
    (next, context) =>
    async (args) => {
      hook?.({ service, command: String(context.commandName ?? ''), input: args.input as Record<string, unknown> });
      return next(args);
    };
  const time = new IamTime(opts.clock ?? systemClock);
  if (opts.iamAheadMs) {
    const observe = time.observe.bind(time);
    time.observe = (ms, local) => observe(ms + (opts.iamAheadMs ?? 0), local);
  }
  const timed = <C>(client: C): C => {
    observeIamTime(client, time);
    return client;
  };
  const clients: AwsClients = {
    iam: timed(new IAMClient({ ...common, credentials: creds })),
    iamOnce: timed(new IAMClient({ ...common, credentials: creds, maxAttempts: 1 })),
    sts: timed(new STSClient({ ...common, credentials: creds })),
    stsFor: opts.stsFor ?? ((c) => timed(new STSClient({ ...common, credentials: c, maxAttempts: 1 }))),
    iamFor: (c) => {
      const iam = timed(new IAMClient({ ...common, credentials: c }));
      if (opts.onAwsCall) iam.middlewareStack.add(record('iam'), { step: 'initialize', name: 'recordAwsCall' });
      return iam;
    },
    time,
  };
  if (opts.onAwsCall) {
    clients.iam.middlewareStack.add(record('iam'), { step: 'initialize', name: 'recordAwsCall' });
    clients.iamOnce.middlewareStack.add(record('iam'), { step: 'initialize', name: 'recordAwsCall' });
    clients.sts.middlewareStack.add(record('sts'), { step: 'initialize', name: 'recordAwsCall' });
  }
  return clients;
}

/** One AWS request the action made: service, command (e.g. CreateAccessKeyCommand) and its input. */
export interface AwsCall {
  service: 'iam' | 'sts';
  command: string;
  input: Record<string, unknown>;
}
export type AwsCallHook = (call: AwsCall) => void;

export interface World {
  moto: Moto;
  gh: GitHubStandin;
  admin: Creds;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  const admin = await seedAdmin(moto);
  return {
    moto,
    gh,
    admin,
    stop: async () => {
      await Promise.all([moto.stop(), gh.stop()]);
    },
  };
}

export interface RunOptions {
  inputs: Record<string, string>;
  /** AWS credentials the run authenticates with. */
  as: Creds;
  clock?: Clock;
  pacing?: Partial<GitHubPacing>;
  stsFor?: AwsClients['stsFor'];
  env?: Record<string, string>;
  /** Send AWS requests here instead of straight to moto (e.g. an AwsProxy). */
  awsEndpoint?: string;
  awsRequestTimeoutMs?: number;
  /** Called for every IAM/STS request the run makes with its own credentials (not the new key's STS checks). */
  onAwsCall?: AwsCallHook;
  lease?: Partial<LeaseSettings>;
  /** Cancel requests for this run (e.g. cancel it from a stand-in callback). */
  cancel?: Cancellation;
  /** IAM's time is this far ahead of moto's clock (time has passed for IAM since moto recorded its facts). */
  iamAheadMs?: number;
}

export async function runRotation(world: World, opts: RunOptions): Promise<{ result: RotationResult; io: Recorder }> {
  const io = recorder();
  const pacing = { ...FAST_PACING, ...opts.pacing };
  const env = opts.env ?? {};
  const inputs = readInputs(reader(opts.inputs), env);
  const clock = opts.clock ?? fakeClock(Date.now());
  const cancel = opts.cancel ?? new Cancellation();
  const result = await rotate({
    inputs,
    aws: awsFor(world.moto, opts.as, {
      stsFor: opts.stsFor,
      endpoint: opts.awsEndpoint,
      requestTimeoutMs: opts.awsRequestTimeoutMs,
      onAwsCall: opts.onAwsCall,
      clock,
      iamAheadMs: opts.iamAheadMs,
    }),
    gh: createGitHubClient(inputs.githubToken, world.gh.url, pacing, io, { clock, cancel }),
    clock,
    io,
    pacing,
    pacer: new WritePacer(clock, pacing.writeIntervalMs),
    lease: { ...FAST_LEASE, ...opts.lease },
    run: runIdentity(env),
    cancel,
  });
  return { result, io };
}

/** The pair a destination holds, as the stand-in opened it. */
export function heldPair(
  gh: GitHubStandin,
  scope: Scope,
  names: [string, string] = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
): Creds | undefined {
  const id = gh.secret(scope, names[0])?.value;
  const secret = gh.secret(scope, names[1])?.value;
  return id !== undefined && secret !== undefined ? { accessKeyId: id, secretAccessKey: secret } : undefined;
}

/** Does the pair this destination holds authenticate against moto? */
export async function holdsWorkingKey(world: World, scope: Scope, names?: [string, string]): Promise<boolean> {
  const pair = heldPair(world.gh, scope, names);
  return pair !== undefined && (await authenticates(world.moto, pair));
}

export async function keysOf(world: World, user: string): Promise<{ id: string; status: string }[]> {
  const out = await iamClient(world.moto, world.admin).send(new ListAccessKeysCommand({ UserName: user }));
  return (out.AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId ?? '', status: k.Status ?? '' }));
}

export function seedPair(gh: GitHubStandin, scope: Scope, creds: Creds, names: [string, string] = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']): void {
  gh.setSecret(scope, names[0], creds.accessKeyId);
  gh.setSecret(scope, names[1], creds.secretAccessKey);
}

export const repoScope = (full: string): Scope => {
  const [owner, repo] = full.split('/');
  return { kind: 'repository', owner, repo };
};
export const envScope = (full: string, environment: string): Scope => {
  const [owner, repo] = full.split('/');
  return { kind: 'environment', owner, repo, environment };
};
