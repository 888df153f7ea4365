/** The oidc-plan mode: read IAM and GitHub, write the plan's files, change nothing. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AwsClients } from '../aws/aws.js';
import { callerIdentity } from '../aws/aws.js';
import type { ActionsIO } from '../config/context.js';
import { destinationsFrom } from '../github/destinations.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { GitHubApi } from '../github/github-api.js';
import type { Inputs } from '../config/inputs.js';
import { readTargets } from './github-read.js';
import { readUserPermissions } from './iam-read.js';
import { type OidcPlan, buildPlan } from './role-plan.js';
import { oidcIssuer } from './provider.js';
import { planFiles } from './render.js';

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
}

export async function runOidcPlan(ctx: OidcPlanContext): Promise<OidcPlanResult> {
  const { inputs, io } = ctx;
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
  const targets = await readTargets(ctx.gh, destinationsFrom(inputs), inputs.accessKeyIdSecretName);
  const plan = buildPlan(perms, targets, oidcIssuer(ctx.env), inputs.awsRegion);
  const dir = resolve(ctx.env.GITHUB_WORKSPACE ?? process.cwd(), inputs.oidcPlan);
  const files: string[] = [];
  const contents = planFiles(plan);
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of contents) {
      const path = join(dir, name);
      writeFileSync(path, text);
      files.push(path);
    }
  } catch (err) {
    throw new ActionError(`oidc-plan: could not write the plan to ${dir}: ${errorMessage(err)}; give a directory the job can write. Nothing was changed.`, {
      cause: err,
    });
  }
  for (const n of plan.notes) io.info(`oidc-plan: ${n.text}`);
  io.info(`oidc-plan: wrote ${files.length} file(s) to ${dir}`);
  return { plan, files, markdown: contents.get('plan.md') ?? '' };
}
