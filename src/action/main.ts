import * as core from '@actions/core';
import { type AwsClientOptions, type AwsClients, type AwsTimeouts, SHIPPED_AWS_TIMEOUTS, createAwsClients } from '../aws/aws.js';
import { Cancellation } from '../shared/cancel.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { type ActionsIO, type LeaseSettings, SHIPPED_LEASE, runIdentity } from '../config/context.js';
import { MAX_RUN_MS } from '../keys/destruction.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import { type GitHubApi, lazyGitHub } from '../github/github-api.js';
import type { RateLimitControl } from '../github/github.js';
import { type Inputs, readInputs } from '../config/inputs.js';
import { leftBehind } from '../rotation/lease.js';
import { tokenKind } from '../github/secrets.js';
import { proxySecrets, proxySettings } from '../shared/proxy.js';
import { type GitHubPacing, SHIPPED_PACING, WritePacer } from '../github/pacer.js';
import { setOutputs, writeSummary } from './outputs.js';
import { type RotationResult, refresh, rotate } from '../rotation/rotate.js';
import { reportOidcPlan } from '../oidc/plan-outputs.js';

/** Everything run() talks to; tests replace parts of it. */
export interface RunDeps {
  env: Record<string, string | undefined>;
  readInput: (name: string) => string;
  io: ActionsIO;
  clock: Clock;
  pacing: GitHubPacing;
  lease: LeaseSettings;
  awsTimeouts: AwsTimeouts;
  makeAws: (region: string, timeouts: AwsTimeouts, options: AwsClientOptions) => AwsClients;
  makeGitHub: (
    token: string,
    baseUrl: string,
    pacing: GitHubPacing,
    io: ActionsIO,
    control: RateLimitControl,
    env: Record<string, string | undefined>,
  ) => GitHubApi;
  cancel: Cancellation;
  /** Install the runner's cancel signals (SIGINT, then SIGTERM); returns a function that removes them. */
  onCancelSignals: (handler: (signal: string) => void) => () => void;
  /** After a cancel signal, how long the run may take to clean up before it reports and exits on its own. */
  hardStopMs: number;
  /** The run cancels itself after this long, so that it ends (hard stop included) within MAX_RUN_MS. */
  maxRunMs: number;
  exit: (code: number) => void;
}

/** Text a server or an input supplied can hold CR/LF: one line per message, so nothing can start a workflow command. */
const flat = (m: string) => m.replace(/[\r\n]+/g, ' ');

export const coreIO: ActionsIO = {
  info: (m) => core.info(flat(m)),
  warning: (m) => core.warning(flat(m)),
  setSecret: (v) => core.setSecret(v),
  exportVariable: (n, v) => core.exportVariable(n, v),
  group: (name, fn) => core.group(flat(name), fn),
};

function processSignals(handler: (signal: string) => void): () => void {
  const on = (signal: NodeJS.Signals) => () => handler(signal);
  const int = on('SIGINT');
  const term = on('SIGTERM');
  process.on('SIGINT', int);
  process.on('SIGTERM', term);
  return () => {
    process.off('SIGINT', int);
    process.off('SIGTERM', term);
  };
}

function defaults(): RunDeps {
  return {
    env: process.env,
    readInput: (name) => core.getInput(name),
    io: coreIO,
    clock: systemClock,
    pacing: SHIPPED_PACING,
    lease: SHIPPED_LEASE,
    awsTimeouts: SHIPPED_AWS_TIMEOUTS,
    makeAws: createAwsClients,
    // Octokit loads on the first GitHub request, not at start-up.
    makeGitHub: (token, baseUrl, pacing, io, control, env) =>
      lazyGitHub(async () => (await import('../github/github.js')).createGitHubClient(token, baseUrl, pacing, io, control, env)),
    cancel: new Cancellation(),
    onCancelSignals: processSignals,
    // The runner sends SIGTERM 7.5 s after SIGINT and SIGKILL 2.5 s later: report and exit well before.
    hardStopMs: 6_000,
    maxRunMs: MAX_RUN_MS - 5 * 60_000,
    exit: (code) => process.exit(code),
  };
}

/** Outputs, summary and the error line: what the run tells the workflow. */
async function report(result: RotationResult, inputs: Inputs): Promise<void> {
  setOutputs(result, inputs);
  try {
    await writeSummary(result, inputs);
  } catch (err) {
    core.warning(`could not write the job summary: ${errorMessage(err)}`);
  }
  if (result.error) core.setFailed(result.error.message);
}

/** The action: read inputs, rotate, report. Fails the step with one line on any error. */
export async function run(overrides: Partial<RunDeps> = {}): Promise<RotationResult | undefined> {
  const deps = { ...defaults(), ...overrides };
  // Mask first: before validation, so no message can ever carry the token.
  const token = deps.readInput('github-token').trim();
  if (token) core.setSecret(token);
  let inputs: Inputs;
  try {
    inputs = readInputs(deps.readInput, deps.env);
    // A proxy variable the clients could not use fails here, before any request; a proxy's password is masked.
    for (const secret of proxySecrets(proxySettings(deps.env))) core.setSecret(secret);
  } catch (err) {
    core.setFailed(errorMessage(err));
    return undefined;
  }
  const baseUrl = deps.env.GITHUB_API_URL || 'https://api.github.com';
  if (inputs.oidcPlan !== undefined) {
    // Read-only: instead of a rotation, the plan to replace the key with a role (src/oidc/).
    const aws = deps.makeAws(inputs.awsRegion, deps.awsTimeouts, { log: (m) => deps.io.info(m), env: deps.env, clock: deps.clock });
    const gh = deps.makeGitHub(inputs.githubToken, baseUrl, deps.pacing, deps.io, { clock: deps.clock, cancel: deps.cancel }, deps.env);
    await reportOidcPlan({ inputs: { ...inputs, oidcPlan: inputs.oidcPlan }, aws, gh, io: deps.io, env: deps.env });
    return undefined;
  }
  let live: RotationResult | undefined;
  let hardStop: ReturnType<typeof setTimeout> | undefined;
  const onCancel = (signal: string) => {
    if (deps.cancel.requested) return;
    deps.io.warning(
      `${signal} ${signal.startsWith('SIG') ? 'received' : 'reached'}: cancelling — no new step starts; the run makes whole any pair it is writing (or says it could not) and reports where each destination stands`,
    );
    deps.cancel.cancel(signal);
    // If cleaning up takes too long, say what is known from the journal and exit before the runner kills us.
    hardStop = setTimeout(() => {
      void (async () => {
        if (live) {
          refresh(live);
          if (live.rotated && !live.error) {
            // The rotation is complete; only giving the lease back (or describing the keys) was left: report it done.
            const { journal, userName } = live;
            if (journal.leaseHeld && userName) {
              deps.io.warning(
                `${signal} arrived after the rotation completed, while the lease on IAM user ${userName} was being ` +
                  `given back: ${leftBehind(userName, journal, false)}`,
              );
            }
            await report(live, inputs);
            deps.exit(0);
            return;
          }
          live.cancelled = true;
          live.error ??= new ActionError(
            `the run was cancelled (${signal}) and could not finish cleaning up in time: see the summary for where each destination stands`,
          );
          await report(live, inputs);
        }
        deps.exit(1);
      })();
    }, deps.hardStopMs);
    hardStop.unref?.();
  };
  const removeSignals = deps.onCancelSignals(onCancel);
  // A run never lasts longer than MAX_RUN_MS: a key older than that was made by a run that has ended (destruction.ts).
  const deadline = setTimeout(() => onCancel(`the action's maximum run time (${Math.round(deps.maxRunMs / 60_000)} minutes)`), deps.maxRunMs);
  deadline.unref?.();
  // A fleet plan's pace (write-interval-seconds): slower than the shipped one, the bucket starting empty.
  const paced = inputs.writeIntervalSeconds;
  const pacing = paced === undefined ? deps.pacing : { ...deps.pacing, writeIntervalMs: Math.round(paced * 1000) };
  try {
    const result = await rotate(
      {
        inputs,
        // Each SDK retry is logged as it happens (in the step's current group): a slow endpoint is never silent.
        aws: deps.makeAws(inputs.awsRegion, deps.awsTimeouts, { log: (m) => deps.io.info(m), env: deps.env, clock: deps.clock }),
        // The kind of token github-token is (a PAT, or maybe the workflow's GITHUB_TOKEN) decides a 403's advice.
        gh: {
          ...deps.makeGitHub(inputs.githubToken, baseUrl, deps.pacing, deps.io, { clock: deps.clock, cancel: deps.cancel }, deps.env),
          token: tokenKind(inputs.githubToken, deps.env.GITHUB_TOKEN),
        },
        clock: deps.clock,
        io: deps.io,
        pacing,
        pacer: new WritePacer(deps.clock, pacing.writeIntervalMs, 2, paced !== undefined),
        lease: deps.lease,
        run: runIdentity(deps.env),
        cancel: deps.cancel,
      },
      (r) => (live = r),
    );
    await report(result, inputs);
    return result;
  } finally {
    clearTimeout(deadline);
    if (hardStop) clearTimeout(hardStop);
    removeSignals();
  }
}
