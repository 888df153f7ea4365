import * as core from '@actions/core';
import { type AwsClients, type AwsTimeouts, SHIPPED_AWS_TIMEOUTS, createAwsClients } from './aws.js';
import { type Clock, systemClock } from './clock.js';
import { errorMessage } from './errors.js';
import { type GitHubApi, lazyGitHub } from './github-api.js';
import { type Inputs, readInputs } from './inputs.js';
import { type GitHubPacing, SHIPPED_PACING, WritePacer } from './pacer.js';
import { setOutputs, writeSummary } from './report.js';
import { type ActionsIO, type RotationResult, rotate } from './rotate.js';

/** Everything run() talks to; tests replace parts of it. */
export interface RunDeps {
  env: Record<string, string | undefined>;
  readInput: (name: string) => string;
  io: ActionsIO;
  clock: Clock;
  pacing: GitHubPacing;
  awsTimeouts: AwsTimeouts;
  makeAws: (region: string, timeouts: AwsTimeouts) => AwsClients;
  makeGitHub: (token: string, baseUrl: string, pacing: GitHubPacing, io: ActionsIO) => GitHubApi;
}

export const coreIO: ActionsIO = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  setSecret: (v) => core.setSecret(v),
  exportVariable: (n, v) => core.exportVariable(n, v),
  group: (name, fn) => core.group(name, fn),
};

function defaults(): RunDeps {
  return {
    env: process.env,
    readInput: (name) => core.getInput(name),
    io: coreIO,
    clock: systemClock,
    pacing: SHIPPED_PACING,
    awsTimeouts: SHIPPED_AWS_TIMEOUTS,
    makeAws: createAwsClients,
    // Octokit loads on the first GitHub request, not at start-up.
    makeGitHub: (token, baseUrl, pacing, io) =>
      lazyGitHub(async () => (await import('./github.js')).createGitHubClient(token, baseUrl, pacing, io)),
  };
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
  } catch (err) {
    core.setFailed(errorMessage(err));
    return undefined;
  }
  const baseUrl = deps.env.GITHUB_API_URL || 'https://api.github.com';
  const result = await rotate({
    inputs,
    aws: deps.makeAws(inputs.awsRegion, deps.awsTimeouts),
    gh: deps.makeGitHub(inputs.githubToken, baseUrl, deps.pacing, deps.io),
    clock: deps.clock,
    io: deps.io,
    pacing: deps.pacing,
    pacer: new WritePacer(deps.clock, deps.pacing.writeIntervalMs),
  });
  setOutputs(result, inputs);
  try {
    await writeSummary(result);
  } catch (err) {
    core.warning(`could not write the job summary: ${errorMessage(err)}`);
  }
  if (result.error) core.setFailed(result.error.message);
  return result;
}
