/** The oidc-plan mode: read IAM and GitHub, write the plan's files inside the workspace, change nothing. */
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as core from '@actions/core';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { AwsClients } from '../aws/aws.js';
import { callerIdentity } from '../aws/aws.js';
import type { ActionsIO } from '../config/context.js';
import { folderInWorkspace, isInside, workspaceOf } from '../config/workspace.js';
import { destinationsFrom } from '../github/destinations.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { GitHubApi } from '../github/github-api.js';
import type { Inputs } from '../config/inputs.js';
import { readTargets } from './github-read.js';
import { readProvider, readUserPermissions } from './iam-read.js';
import { type OidcPlan, buildPlan } from './role-plan.js';
import { readIssuer } from './provider.js';
import { planFiles } from './render.js';
import { type RepoWorkflows, readWorkflows } from './workflow-read.js';

export interface OidcPlanResult {
  plan: OidcPlan;
  /** The files written, absolute paths. */
  files: string[];
  /** plan.md's text, for the job summary. */
  markdown: string;
}

export interface OidcPlanContext {
  inputs: Inputs & { oidcPlan: string };
  aws: AwsClients;
  gh: GitHubApi;
  io: ActionsIO;
  env: Record<string, string | undefined>;
  /**
   * This job's own OIDC token for an audience (the runner's id-token service), to read the issuer; default: the
   * toolkit's, when the job has `id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL is set).
   */
  idToken?: (audience: string) => Promise<string>;
}

/** What the plan folder's .gitignore holds: nothing in it is committed by accident. */
export const PLAN_GITIGNORE = '# Written by rotate-aws-access-key oidc-plan: the plan is reviewed and deployed, not committed.\n*\n';

/** The nearest existing folder at or above `path`, resolved through symbolic links. */
function realAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return realpathSync(p);
}

/**
 * The plan's folder, before any network call: inside the workspace, also once symbolic links are followed (a link
 * in the checkout must not carry the plan elsewhere).
 */
export function planFolder(value: string, env: Record<string, string | undefined>): string {
  const workspace = workspaceOf(env);
  const dir = folderInWorkspace(value, workspace);
  const realWorkspace = existsSync(workspace) ? realpathSync(workspace) : workspace;
  const real = dir && realAncestor(dir);
  if (!dir || !real || (real !== realWorkspace && !isInside(real, realWorkspace)) || (existsSync(dir) && realpathSync(dir) === realWorkspace)) {
    throw new ActionError(
      `oidc-plan: '${value}' is not a folder inside the workspace (${workspace})${dir ? ' once symbolic links are followed' : ''}: ` +
        'the plan is written only there; give a path relative to the workspace, such as oidc-plan. Nothing was changed.',
    );
  }
  return dir;
}

/** The access key id the run's AWS requests are signed with, when they are signed with one. */
async function signingKeyId(iam: IAMClient): Promise<string | undefined> {
  try {
    const creds = await iam.config.credentials();
    return creds.accessKeyId || undefined;
  } catch {
    return undefined;
  }
}

export async function runOidcPlan(ctx: OidcPlanContext): Promise<OidcPlanResult> {
  const { inputs, io } = ctx;
  const dir = planFolder(inputs.oidcPlan, ctx.env);
  let userName = inputs.iamUserName;
  if (userName === undefined) {
    const caller = await callerIdentity(ctx.aws.sts);
    if (caller.userName === undefined) {
      throw new ActionError(
        `oidc-plan: the AWS credentials are not an IAM user's (${caller.arn}): set iam-user-name to the user whose key the plan replaces. Nothing was changed.`,
      );
    }
    userName = caller.userName;
  }
  io.info(`oidc-plan: reading the permissions of IAM user ${userName} (read-only: nothing is changed, no key is created)`);
  const perms = await readUserPermissions(ctx.aws.iam, userName);
  const idToken =
    ctx.idToken ?? (ctx.env.ACTIONS_ID_TOKEN_REQUEST_URL && ctx.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ? (aud: string) => core.getIDToken(aud) : undefined);
  const issuer = await readIssuer(ctx.env, idToken);
  const provider = await readProvider(ctx.aws.iam, `arn:${perms.partition}:iam::${perms.account}:oidc-provider/${issuer.issuer}`);
  const targets = await readTargets(ctx.gh, destinationsFrom(inputs), inputs.accessKeyIdSecretName);
  const names = [inputs.accessKeyIdSecretName, inputs.secretAccessKeySecretName];
  const workflows: RepoWorkflows[] = [];
  const seen = new Set<string>();
  for (const j of targets.flatMap((t) => t.jobs)) {
    const key = `${j.repo.owner}/${j.repo.repo}`.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    workflows.push(await readWorkflows(ctx.gh, j.repo, names));
  }
  const plan = buildPlan({ perms, targets, workflows, issuer, provider, region: inputs.awsRegion, signingKeyId: await signingKeyId(ctx.aws.iam) });
  const files: string[] = [];
  const contents = planFiles(plan);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      // A folder the plan made holds nothing to commit: its .gitignore keeps it out of `git add .`.
      writeFileSync(join(dir, '.gitignore'), PLAN_GITIGNORE);
    }
    for (const [name, text] of contents) {
      const path = join(dir, name);
      writeFileSync(path, text);
      files.push(path);
    }
  } catch (err) {
    throw new ActionError(`oidc-plan: could not write the plan to ${dir}: ${errorMessage(err)}; give a folder the job can write. Nothing was changed.`, {
      cause: err,
    });
  }
  for (const n of plan.notes) io.info(`oidc-plan: ${n.text}`);
  io.info(`oidc-plan: wrote ${files.length} file(s) to ${dir}`);
  return { plan, files, markdown: contents.get('plan.md') ?? '' };
}
