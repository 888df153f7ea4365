/**
 * The fleet action (fleet/action.yml): read the manifest, audit the account read-only, plan the rotation, report.
 * Bad input (the inputs, the manifest) fails before any network call, one `::error` line per problem.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as core from '@actions/core';
import { type AwsClientOptions, type AwsClients, type AwsTimeouts, SHIPPED_AWS_TIMEOUTS, callerIdentity, createAwsClients } from '../aws/aws.js';
import { SHIPPED_REPORT_WAIT, credentialReport } from '../aws/credential-report.js';
import { type GitHubApi, lazyGitHub } from '../github/github-api.js';
import { SHIPPED_PACING } from '../github/pacer.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import { proxySecrets, proxySettings } from '../shared/proxy.js';
import { type AuditContext, age, auditReport } from './audit-report.js';
import { auditSummary } from './audit-summary.js';
import { type FleetInputs, readFleetInputs } from './fleet-inputs.js';
import { HOSTED_RUNNER, type JobEstimate } from './fleet-pacing.js';
import { type Finding, audit, inAccount } from './findings.js';
import { readUsers } from './inventory.js';
import { type Manifest, ManifestErrors, parseManifest } from './manifest.js';
import { type FleetPlan, planFleet } from './matrix.js';
import { sarif } from './sarif.js';
import { issueMarker, keepIssue } from './tracking-issue.js';

/** Where an annotation points. */
export interface Place {
  file?: string;
  startLine?: number;
  title?: string;
}

/** What the fleet prints and sets through the runner (core in production, a recorder in tests). */
export interface FleetIO {
  info(message: string): void;
  warning(message: string, place?: Place): void;
  error(message: string, place?: Place): void;
  notice(message: string, place?: Place): void;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  summary(markdown: string): Promise<void>;
  /** Mark the step failed without printing anything more (every problem was printed already). */
  fail(): void;
}

export interface FleetDeps {
  env: Record<string, string | undefined>;
  readInput: (name: string) => string;
  io: FleetIO;
  clock: Clock;
  awsTimeouts: AwsTimeouts;
  makeAws: (region: string, timeouts: AwsTimeouts, options: AwsClientOptions) => AwsClients;
  makeGitHub: (token: string, baseUrl: string, io: FleetIO, clock: Clock, env: Record<string, string | undefined>) => GitHubApi;
  reportWait: { pollMs: number; timeoutMs: number };
  /** The planner's estimate of a rotate job's costs besides its writes. */
  estimate: JobEstimate;
  /** Users read at once. */
  readConcurrency: number;
}

export interface FleetResult {
  findings: Finding[];
  plan: FleetPlan;
  report: ReturnType<typeof auditReport>;
}

const flat = (m: string) => m.replace(/[\r\n]+/g, ' ');

export const coreFleetIO: FleetIO = {
  info: (m) => core.info(flat(m)),
  warning: (m, p) => core.warning(flat(m), p),
  error: (m, p) => core.error(flat(m), p),
  notice: (m, p) => core.notice(flat(m), p),
  setSecret: (v) => core.setSecret(v),
  setOutput: (n, v) => core.setOutput(n, v),
  summary: async (markdown) => {
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown).write();
  },
  fail: () => {
    process.exitCode = core.ExitCode.Failure;
  },
};

function defaults(): FleetDeps {
  return {
    env: process.env,
    readInput: (name) => core.getInput(name),
    io: coreFleetIO,
    clock: systemClock,
    awsTimeouts: SHIPPED_AWS_TIMEOUTS,
    makeAws: createAwsClients,
    // Octokit loads only when the tracking issue is kept.
    makeGitHub: (token, baseUrl, io, clock, env) =>
      lazyGitHub(async () => (await import('../github/github.js')).createGitHubClient(token, baseUrl, SHIPPED_PACING, io, { clock }, env)),
    reportWait: SHIPPED_REPORT_WAIT,
    estimate: HOSTED_RUNNER,
    readConcurrency: 8,
  };
}

/** Inputs and manifest, checked whole; undefined when something was refused (already printed). */
function prepare(deps: FleetDeps): { inputs: FleetInputs; manifest: Manifest; workspace: string } | undefined {
  const { io, env } = deps;
  let inputs: FleetInputs;
  try {
    inputs = readFleetInputs(deps.readInput, env);
    for (const secret of proxySecrets(proxySettings(env))) io.setSecret(secret);
  } catch (err) {
    io.error(errorMessage(err));
    io.fail();
    return undefined;
  }
  const workspace = env.GITHUB_WORKSPACE?.trim() || process.cwd();
  let text: string;
  try {
    text = readFileSync(resolve(workspace, inputs.manifest), 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no such file (check out the repository first: actions/checkout)' : errorMessage(err);
    io.error(`manifest: cannot read ${inputs.manifest} in the workspace: ${why}`);
    io.fail();
    return undefined;
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(inputs.manifest, text);
  } catch (err) {
    if (!(err instanceof ManifestErrors)) throw err;
    for (const p of err.problems) io.error(`${p.file} line ${p.line}: ${p.message}`, { file: p.file, startLine: p.line, title: 'manifest' });
    io.fail();
    return undefined;
  }
  const problems: string[] = [];
  const names = new Set(manifest.users.map((u) => u.name.toLowerCase()));
  for (const n of inputs.rotateNow) if (!names.has(n.toLowerCase())) problems.push(`rotate-now: ${n} is not a user of ${inputs.manifest}`);
  if (inputs.trackingIssue && !/^[^/\s]+\/[^/\s]+$/.test(env.GITHUB_REPOSITORY?.trim() ?? '')) {
    problems.push('tracking-issue: GITHUB_REPOSITORY is not set, so there is no repository to keep the issue in: run on a runner');
  }
  if (problems.length > 0) {
    for (const p of problems) io.error(p);
    io.fail();
    return undefined;
  }
  return { inputs, manifest, workspace };
}

const ANNOTATE = { error: 'error', warning: 'warning', note: 'notice' } as const;

/** The fleet action. Fails the step with one line per problem. */
export async function runFleet(overrides: Partial<FleetDeps> = {}): Promise<FleetResult | undefined> {
  const deps = { ...defaults(), ...overrides };
  const { io, env } = deps;
  const token = deps.readInput('github-token').trim();
  if (token) io.setSecret(token);
  const ready = prepare(deps);
  if (!ready) return undefined;
  const { inputs, manifest, workspace } = ready;
  try {
    const aws = deps.makeAws(inputs.awsRegion, deps.awsTimeouts, { log: (m) => io.info(m), env, clock: deps.clock });
    const caller = await callerIdentity(aws.sts);
    io.info(`Auditing account ${caller.account} as ${caller.arn} (read-only)`);
    const report = await credentialReport(aws.iam, { clock: deps.clock, ...deps.reportWait });
    const managed = manifest.users.filter((u) => inAccount(u, caller.account));
    const named = new Map(managed.map((u) => [u.name.toLowerCase(), u.name]));
    for (const row of report.rows) if (!row.root && row.keys.length > 0 && !named.has(row.user.toLowerCase())) named.set(row.user.toLowerCase(), row.user);
    const reads = await readUsers(aws.iam, [...named.values()], deps.readConcurrency);
    const iamNow = aws.time.now();
    const settings = { maxAgeDays: inputs.maxAgeDays, unusedDays: inputs.unusedDays };
    const result = audit({ iamNow, account: caller.account, report, reads, manifest }, settings);
    io.info(
      `Credential report: ${report.rows.length} rows, generated ${report.generated.toISOString()} (${age(iamNow - report.generated.getTime())} old); ` +
        `read the keys of ${reads.length} users`,
    );
    const plan = planFleet(result, manifest, caller.account, {
      emergency: inputs.emergency,
      rotateNow: inputs.rotateNow,
      auditWrites: inputs.trackingIssue ? 1 : 0,
      estimate: deps.estimate,
    });
    const ctx: AuditContext = {
      account: caller.account,
      iamNow,
      reportGenerated: report.generated.getTime(),
      manifest: inputs.manifest,
      settings: { ...settings, emergency: inputs.emergency },
      estimate: deps.estimate,
      requests: { inventory: report.requests, users: reads.reduce((s, r) => s + r.requests, 0), usersRead: reads.length },
    };
    const json = auditReport(ctx, result, plan);
    const write = (path: string, text: string) => {
      const full = resolve(workspace, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
    };
    write(inputs.reportFile, `${JSON.stringify(json, null, 2)}\n`);
    if (inputs.sarifFile) write(inputs.sarifFile, `${JSON.stringify(sarif(result.findings, inputs.manifest), null, 2)}\n`);

    io.setOutput('matrix', JSON.stringify({ include: plan.entries }));
    io.setOutput('due', String(plan.entries.length));
    io.setOutput('max-parallel', String(plan.pace.maxParallel));
    io.setOutput('findings', String(result.findings.length));
    io.setOutput('report-file', inputs.reportFile);
    io.setOutput('sarif-file', inputs.sarifFile ?? '');

    for (const f of result.findings) io[ANNOTATE[f.severity]](f.message, { file: inputs.manifest, startLine: f.line, title: f.code });
    for (const d of plan.due) io.info(`due: ${d.user}: ${d.why}`);
    for (const d of plan.notDue) io.info(`not due: ${d.user}: ${d.why}`);
    const page = auditSummary(ctx, result, plan);
    try {
      await io.summary(page);
    } catch (err) {
      io.warning(`could not write the job summary: ${errorMessage(err)}`);
    }
    if (inputs.trackingIssue) {
      const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').trim().split('/');
      const gh = deps.makeGitHub(inputs.githubToken, env.GITHUB_API_URL || 'https://api.github.com', io, deps.clock, env);
      const n = result.findings.length;
      const title = n === 0 ? `AWS access key audit: clean (account ${caller.account})` : `AWS access key audit: ${n} finding${n === 1 ? '' : 's'} (account ${caller.account})`;
      // The issue reports; it must not hold the rotation back: a failure here is a warning, and the plan stands.
      try {
        const outcome = await keepIssue(gh, { owner, repo }, issueMarker(caller.account, inputs.manifest), title, auditSummary(ctx, result, plan, 100), n);
        io.setOutput('issue', outcome.number === undefined ? '' : String(outcome.number));
        if (outcome.action !== 'none') io.info(`Tracking issue #${outcome.number}: ${outcome.action}`);
      } catch (err) {
        io.setOutput('issue', '');
        io.warning(`the tracking issue was not kept (the audit and its plan stand): ${errorMessage(err)}`);
      }
    }
    io.info(
      `${result.findings.length} finding(s); ${plan.entries.length} user(s) due, ${plan.notDue.length} not due` +
        (plan.entries.length > 0 ? `: max-parallel ${plan.pace.maxParallel}, about ${Math.round(plan.pace.plannedMs / 1000)} s for the rotate jobs` : ''),
    );
    return { findings: result.findings, plan, report: json };
  } catch (err) {
    io.error(err instanceof ActionError ? err.message : errorMessage(err));
    io.fail();
    return undefined;
  }
}
