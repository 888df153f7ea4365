/**
 * The fleet's figures for `npm run bench` (scripts/bench.ts): the audit (dist/fleet/index.js on Node 24, as the runner
 * runs it) against accounts of 50, 500 and 5,000 IAM users in moto behind the latency proxy, its requests and time; and
 * the planned duration of rotating 50 users over 150 destinations against the floor GitHub's limits allow, with the
 * rotate job's costs measured on this machine (a one-destination run of dist/index.js) and with a hosted runner's.
 *
 * Each account: 40 manifest users with one key each, 10 users with a key and no manifest entry, the rest without
 * keys (people who sign in to the console): the inventory (the credential report) covers them all; the audit reads
 * keys only of the 60 users the manifest or a finding names.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { AwsProxy } from '../test/support/aws-proxy.js';
import { pool, workspace } from '../test/support/fleet-world.js';
import { GitHubStandin } from '../test/support/github-standin.js';
import { createUserWithKey, iamClient, seedAdmin, startMoto } from '../test/support/moto.js';
import { FLEET_DIST, ROOT, runAction } from '../test/support/runner.js';
import { HOSTED_RUNNER, type JobEstimate, planPace } from '../src/fleet/fleet-pacing.js';

export interface FleetRow {
  figure: string;
  value: string;
  target: string;
  pass: boolean | undefined;
}

const MANAGED = 40;
const UNMANAGED = 10;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface AuditSample {
  users: number;
  wallMs: number;
  requests: Record<string, number>;
  total: number;
  inventory: number;
}

/** One audit of an account of `users` IAM users, as the runner runs it. */
async function auditOf(users: number, latencyMs: number, node: string, log: (m: string) => void): Promise<AuditSample> {
  const moto = await startMoto();
  const proxy = await AwsProxy.start(moto.endpoint, { latencyMs: 0 });
  try {
    const admin = await seedAdmin(moto);
    const iam = iamClient(moto, admin);
    const seeded = performance.now();
    await pool(
      Array.from({ length: users }, (_, i) => i),
      8,
      async (i) => {
        const UserName = i < MANAGED ? `deploy-${i}` : i < MANAGED + UNMANAGED ? `legacy-${i}` : `person-${i}`;
        await iam.send(new CreateUserCommand({ UserName }));
        if (i < MANAGED + UNMANAGED) await iam.send(new CreateAccessKeyCommand({ UserName }));
      },
    );
    iam.destroy();
    log(`  seeded ${users} users in ${sec(performance.now() - seeded)}`);
    const manifest = ['users:', 'admin: { repositories: octo/platform }', ...Array.from({ length: MANAGED }, (_, i) => `deploy-${i}: { repositories: octo/app-${i} }`)]
      .map((l, i) => (i === 0 ? l : `  ${l}`))
      .join('\n');
    proxy.latencyMs = latencyMs;
    proxy.reset();
    const run = await runAction({
      node,
      action: { script: FLEET_DIST, actionYml: join(ROOT, 'fleet', 'action.yml') },
      inputs: { 'github-token': 'test-token' },
      env: {
        AWS_ENDPOINT_URL: proxy.url,
        AWS_ACCESS_KEY_ID: admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
        GITHUB_WORKSPACE: workspace(`${manifest}\n`),
      },
      timeoutMs: 600_000,
    });
    if (run.code !== 0) throw new Error(`the audit of ${users} users failed:\n${run.stdout.split('\n').filter((l) => l.startsWith('::error')).join('\n')}`);
    const requests: Record<string, number> = {};
    for (const r of proxy.requests) requests[r.action] = (requests[r.action] ?? 0) + 1;
    const inventory = (requests.GenerateCredentialReport ?? 0) + (requests.GetCredentialReport ?? 0);
    log(`  ${users} users: wall ${sec(run.ms)}, ${proxy.requests.length} AWS requests ${JSON.stringify(requests)}`);
    return { users, wallMs: run.ms, requests, total: proxy.requests.length, inventory };
  } finally {
    await proxy.stop();
    await moto.stop();
  }
}

/**
 * A rotate job's costs besides its paced writes, measured: a one-destination rotation of dist/index.js (the rotator's
 * way, iam-user-name given) through the same latency: spawn → first write, last write → exit.
 */
async function measureJob(latencyMs: number, node: string, bareMs: number): Promise<JobEstimate> {
  const moto = await startMoto();
  const proxy = await AwsProxy.start(moto.endpoint, { latencyMs });
  const gh = await GitHubStandin.start({ latencyMs });
  try {
    const admin = await seedAdmin(moto);
    const old = await createUserWithKey(moto, admin, 'deploy-measured');
    gh.addRepository('octo/measured');
    gh.setSecret({ kind: 'repository', owner: 'octo', repo: 'measured' }, 'AWS_ACCESS_KEY_ID', old.accessKeyId);
    gh.setSecret({ kind: 'repository', owner: 'octo', repo: 'measured' }, 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey);
    let spawned = 0;
    const run = await runAction({
      node,
      inputs: { 'github-token': 'test-token', 'iam-user-name': 'deploy-measured', repositories: 'octo/measured' },
      env: { AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey, GITHUB_API_URL: gh.url },
      onSpawn: () => void (spawned = Date.now()),
    });
    if (run.code !== 0) throw new Error('the measured rotation failed');
    const puts = gh.requests.filter((r) => r.method === 'PUT');
    const first = puts[0].startedAt - spawned;
    const last = puts[puts.length - 1].finishedAt - spawned;
    return { startMs: Math.round(bareMs), preWriteMs: Math.max(0, Math.round(first - bareMs)), postWriteMs: Math.max(0, Math.round(run.ms - last)) };
  } finally {
    await proxy.stop();
    await gh.stop();
    await moto.stop();
  }
}

export async function fleetFigures(opts: { latencyMs: number; node: string; bareMs: number; sizes: number[]; log: (m: string) => void }): Promise<{ rows: FleetRow[]; raw: Record<string, number> }> {
  const { log } = opts;
  const rows: FleetRow[] = [];
  const raw: Record<string, number> = {};
  log(`\nfleet audit (${MANAGED} manifest users, ${UNMANAGED} with keys outside it, the rest without keys):`);
  const samples: AuditSample[] = [];
  for (const n of opts.sizes) samples.push(await auditOf(n, opts.latencyMs, opts.node, log));
  const base = samples[0];
  for (const s of samples) {
    raw[`fleetAudit${s.users}WallMs`] = s.wallMs;
    raw[`fleetAudit${s.users}Requests`] = s.total;
    raw[`fleetAudit${s.users}InventoryRequests`] = s.inventory;
    const perUser = s.total - s.inventory - (s.requests.GetCallerIdentity ?? 0);
    rows.push({
      figure: `Fleet audit, ${s.users} users: AWS requests and wall time`,
      value:
        `${s.total} (inventory ${s.inventory}, identity ${s.requests.GetCallerIdentity ?? 0}, keys of the ${MANAGED + UNMANAGED + 1} users named ${perUser}); ` +
        `${sec(s.wallMs)}`,
      target: s === base ? 'inventory requests constant in users' : `inventory = ${base.inventory} (as at ${base.users}); requests = ${base.total}`,
      pass: s.inventory === base.inventory && s.total === base.total,
    });
  }
  const last = samples[samples.length - 1];
  rows.push({
    figure: `Fleet audit growth, ${base.users} → ${last.users} users`,
    value: `requests ×${(last.total / base.total).toFixed(2)}, wall ×${(last.wallMs / base.wallMs).toFixed(2)} (${sec(base.wallMs)} → ${sec(last.wallMs)})`,
    target: 'requests ×1.00 (the inventory does not grow with users)',
    pass: last.total === base.total,
  });

  log('\nfleet plan, 50 users over 150 destinations:');
  const measured = await measureJob(opts.latencyMs, opts.node, opts.bareMs);
  log(`  a rotate job's costs measured here: ${JSON.stringify(measured)}`);
  const jobs = Array.from({ length: 50 }, () => ({ destinations: 3, singles: false }));
  for (const [label, est] of [
    ['measured job costs', measured],
    ['a hosted runner (estimate)', HOSTED_RUNNER],
  ] as const) {
    const pace = planPace(jobs, 1, est);
    const ratio = pace.plannedMs / pace.floorMs;
    raw[`fleetPlan${label.startsWith('measured') ? 'Measured' : 'Hosted'}Ratio`] = ratio;
    rows.push({
      figure: `Fleet plan, 50 users × 3 destinations, ${label} (start ${sec(est.startMs)}, to first write ${sec(est.preWriteMs)}, after last ${sec(est.postWriteMs)})`,
      value:
        `${sec(pace.plannedMs)} vs floor ${sec(pace.floorMs)} (×${ratio.toFixed(3)}): max-parallel ${pace.maxParallel}, ` +
        `a write every ${sec(pace.writeIntervalMs ?? 1000)} per job, ≤ ${pace.writesPerMinute} writes/min`,
      target: label.startsWith('measured') ? '≤ 1.05 × floor (300 writes at 80/min)' : '— (runner start-up dominates)',
      pass: label.startsWith('measured') ? ratio <= 1.05 : undefined,
    });
  }
  return { rows, raw };
}
