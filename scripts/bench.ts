/**
 * npm run bench [-- --quick]: performance of the built action (dist/index.js), run on Node 24 exactly as the runner
 * runs it, against moto (IAM + STS, signatures enforced) behind the AWS proxy and the GitHub stand-in, both on
 * loopback with the same per-request latency. Reports medians over several runs, each figure with its target.
 *
 *   BENCH_LATENCY_MS      per-request latency at the stand-in AND the AWS proxy (default 30)
 *   BENCH_RUNS            runs per scenario (default 3; --quick: 1)
 *   BENCH_SIZES           fan-out sizes, comma-separated (default "1,10,50"; --quick: "1,10")
 *   BENCH_PROPAGATION_MS  simulated IAM propagation delay for the verification figure (default 3000)
 *   BENCH_STRICT=1        exit 1 when a target is missed (a failed run always exits 1)
 *   BENCH_FLEET_USERS     account sizes of the fleet audit figures (default "50,500,5000"; --quick: "50,500")
 *   --fleet               only the fleet's figures (scripts/bench-fleet.ts)
 *
 * Every run gets fresh state: a new IAM user (self-rotation: the run authenticates with that user's only key) and new
 * repositories seeded with that key.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { AwsProxy } from '../test/support/aws-proxy.js';
import { GitHubStandin, type Scope } from '../test/support/github-standin.js';
import { type Creds, type Moto, authenticates, createUserWithKey, motoAvailable, seedAdmin, startMoto } from '../test/support/moto.js';
import { DIST, node24, runAction } from '../test/support/runner.js';
import { fleetFigures } from './bench-fleet.js';

// ---------------------------------------------------------------- settings

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return n;
}

const LATENCY_MS = intEnv('BENCH_LATENCY_MS', 30);
const RUNS = Math.max(1, Math.round(intEnv('BENCH_RUNS', QUICK ? 1 : 3)));
const SIZES = [
  ...new Set(
    (process.env.BENCH_SIZES?.trim() || (QUICK ? '1,10' : '1,10,50'))
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0),
  ),
].sort((a, b) => a - b);
const PROPAGATION_MS = intEnv('BENCH_PROPAGATION_MS', 3000);
const STRICT = process.env.BENCH_STRICT === '1';
const FLEET_ONLY = argv.includes('--fleet');
const FLEET_USERS = (process.env.BENCH_FLEET_USERS?.trim() || (QUICK ? '50,500' : '50,500,5000'))
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n >= 50);

/** Shipped pacing (SHIPPED_PACING in src/github/pacer.ts): one write per second on average, bursts of 2. */
const WRITE_INTERVAL_MS = 1000;
/**
 * Requests a one-destination self-rotation with iam-user-name cannot do without, safety included: the lease (take,
 * read back, check and give back), the destination's secrets (held before? written before the key?), the key
 * records (provenance, handover), the key list after the fan-out and again before the delete, the last-use evidence
 * (before the delete, and for the keys output), the keys at the end, and who the job is; the job's own holders (every
 * secret of either name, and the id's variable, its repository can give a job), the keys and the create marker just before CreateAccessKey, and
 * the read-back of the destination after the fan-out.
 */
const MIN_ONE_DEST = [
  'sts:GetCallerIdentity', // who the job is: root refused, self-rotation recognised (every run)
  'iam:ListUserTags', 'iam:TagUser', 'iam:ListUserTags', // lease: look, take, read back
  'iam:ListAccessKeys',
  'GET public-key', 'GET secrets',
  // The job's own holders (self-rotation; the repository is a destination, so its secrets are not read again): its
  // variables (the id may be vars.NAME), its environments, the organization's secrets and variables shared with it.
  'GET variables', 'GET environments', 'GET organization-secrets', 'GET organization-variables',
  'iam:ListAccessKeys', 'iam:TagUser', // the keys just before the create, and the create marker
  'iam:CreateAccessKey', 'iam:TagUser', // the new key and its provenance
  'sts:GetCallerIdentity',
  'PUT', 'PUT',
  'GET secrets', // the read-back: nobody wrote the destination after this run
  'iam:ListAccessKeys', // the new key still exists and is Active after the fan-out
  'iam:TagUser', // the handover
  'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed', 'iam:DeleteAccessKey', // check, evidence, retire
  'iam:UntagUser', // the deleted key's record (superseded at the handover) goes with it
  'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed', // the keys output
  'iam:ListUserTags', 'iam:UntagUser', // give the lease back (and the create marker, in the same request)
];
/** The job's own holders, read once per self-rotation whatever the number of destinations. */
const OWN_HOLDER_READS = 4;
/** AWS requests of that run other than the new key's verification (its STS attempts are the rest). */
const AWS_NOT_VERIFYING = MIN_ONE_DEST.filter((r) => r.startsWith('iam:')).length + 1; // + the job's own GetCallerIdentity
/** The lease is written, then read back after this long (SHIPPED_LEASE.settleMs in src/config/context.ts): a fixed cost. */
const LEASE_SETTLE_MS = 1500;

const TARGET = {
  startupOverBareMs: 150,
  oneDestExcessMs: 500,
  fanoutRatio: 1.05,
  fanoutSlackMs: 1000,
  verifyLagMs: 1000,
  peakRssMb: 150,
};

// ---------------------------------------------------------------- small helpers

const now = () => performance.now();

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ms = (x: number) => `${Math.round(x)} ms`;
const sec = (x: number) => `${(x / 1000).toFixed(2)} s`;
const signedSec = (x: number) => `${x >= 0 ? '+' : '−'}${(Math.abs(x) / 1000).toFixed(2)} s`;
const log = (m: string) => console.log(m);

interface Row {
  figure: string;
  value: string;
  target: string;
  pass: boolean | undefined; // undefined: informational
}
const rows: Row[] = [];
const raw: Record<string, number | string> = {};

// ---------------------------------------------------------------- the environment

interface Harness {
  moto: Moto;
  admin: Creds;
  proxy: AwsProxy;
  gh: GitHubStandin;
  node: string;
}

let current: ChildProcess | undefined;
let cleanup: (() => Promise<void>) | undefined;

/** Requests through the proxy must still pass moto's signature check (the proxy must keep the signed Host header). */
async function checkProxy(moto: Moto, admin: Creds): Promise<void> {
  const p = await AwsProxy.start(moto.endpoint);
  try {
    if (!(await authenticates({ ...moto, endpoint: p.url }, admin))) {
      throw new Error('requests through AwsProxy fail at moto (SignatureDoesNotMatch): the proxy must forward the Host header unchanged');
    }
  } finally {
    await p.stop();
  }
}

async function startHarness(): Promise<Harness> {
  if (!motoAvailable()) throw new Error("moto_server is not installed: pip install 'moto[server]'");
  const node = node24();
  const moto = await startMoto();
  const servers: { proxy?: AwsProxy; gh?: GitHubStandin } = {};
  cleanup = async () => {
    await Promise.allSettled([servers.proxy?.stop(), servers.gh?.stop(), moto.stop()]);
  };
  const admin = await seedAdmin(moto);
  await checkProxy(moto, admin);
  const proxy = (servers.proxy = await AwsProxy.start(moto.endpoint, { latencyMs: LATENCY_MS }));
  const gh = (servers.gh = await GitHubStandin.start({ latencyMs: LATENCY_MS }));
  return { moto, admin, proxy, gh, node };
}

// ---------------------------------------------------------------- bare node

function bareNode(node: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['-e', ''], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const t0 = now(); // same point as runAction's onSpawn: right after spawn() returned
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(now() - t0) : reject(new Error(`bare node exited ${code}`))));
  });
}

// ---------------------------------------------------------------- one action run

interface Sample {
  n: number;
  wallMs: number;
  /** spawn → first request at the proxy or the stand-in. */
  firstRequestMs: number;
  awsRequests: number;
  ghGets: number;
  ghPuts: number;
  ghOther: number;
  peakRssKb: number;
  /** Time the emulators spent beyond the injected latency, summed over all requests (moto/stand-in work). */
  serverExtraMs: number;
  /** propagation runs: first PUT − (created + propagation), firstWorked − (created + propagation). */
  verifyLagMs?: number;
  detectLagMs?: number;
  timeline: string[];
}

let seq = 0;
/** Bare-node start-ups, one taken right before each action run (so both see the same machine load). */
const bareSamples: number[] = [];

function pollPeakRss(pid: number): () => number {
  let peak = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      /* gone */
    }
  };
  read();
  const timer = setInterval(read, 20);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

async function actionRun(h: Harness, n: number, propagationMs = 0): Promise<Sample> {
  const id = ++seq;
  const user = `bench-u${id}`;
  const old = await createUserWithKey(h.moto, h.admin, user); // straight to moto, not through the proxy
  const owner = 'bench';
  const repos = Array.from({ length: n }, (_, i) => `r${id}-${i + 1}`);
  const scopes: Scope[] = repos.map((repo) => ({ kind: 'repository', owner, repo }));
  for (const [i, repo] of repos.entries()) {
    h.gh.addRepository(`${owner}/${repo}`);
    h.gh.setSecret(scopes[i], 'AWS_ACCESS_KEY_ID', old.accessKeyId);
    h.gh.setSecret(scopes[i], 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey);
  }

  h.gh.reset();
  h.proxy.reset();
  h.gh.latencyMs = LATENCY_MS;
  h.proxy.latencyMs = LATENCY_MS;
  h.proxy.propagationDelayMs = propagationMs;
  let first: number | undefined;
  const mark = () => {
    first ??= now();
  };
  h.proxy.onRequest(mark);
  h.gh.onRequest(mark);

  bareSamples.push(await bareNode(h.node));
  let spawnedAt = 0;
  let spawnedWall = 0;
  let stopPoll: (() => number) | undefined;
  const run = await runAction({
    node: h.node,
    timeoutMs: 60_000 + 2 * n * WRITE_INTERVAL_MS + propagationMs,
    inputs: { 'github-token': 'test-token', 'iam-user-name': user, repositories: repos.map((r) => `${owner}/${r}`).join('\n') },
    env: {
      AWS_ENDPOINT_URL: h.proxy.url,
      AWS_ACCESS_KEY_ID: old.accessKeyId,
      AWS_SECRET_ACCESS_KEY: old.secretAccessKey,
      GITHUB_API_URL: h.gh.url,
      GITHUB_REPOSITORY: `${owner}/${repos[0]}`,
    },
    onSpawn: (child) => {
      spawnedAt = now();
      spawnedWall = Date.now();
      current = child;
      if (child.pid !== undefined) stopPoll = pollPeakRss(child.pid);
    },
  });
  current = undefined;
  const peakRssKb = stopPoll?.() ?? 0;

  // The run must have done its job, or its timings mean nothing.
  const newId = run.outputs['access-key-id'];
  const wrong = scopes.filter((s) => h.gh.secret(s, 'AWS_ACCESS_KEY_ID')?.value !== newId);
  if (run.code !== 0 || run.outputs.rotated !== 'true' || !newId || newId === old.accessKeyId || wrong.length > 0) {
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`run ${id} (n=${n}) did not rotate (exit ${run.code}, ${wrong.length} destination(s) not updated):\n${tail}`);
  }

  const awsReqs = [...h.proxy.requests];
  const ghReqs = [...h.gh.requests];
  const extra = [...awsReqs, ...ghReqs].reduce((s, r) => s + Math.max(0, r.finishedAt - r.startedAt - LATENCY_MS), 0);
  const timeline = [
    ...awsReqs.map((r) => ({ at: r.startedAt, dur: r.finishedAt - r.startedAt, what: `aws ${r.action} ${r.status}` })),
    ...ghReqs.map((r) => ({ at: r.startedAt, dur: r.finishedAt - r.startedAt, what: `gh  ${r.method} ${r.path} ${r.status}` })),
  ]
    .sort((a, b) => a.at - b.at)
    .map((e) => `${String(e.at - spawnedWall).padStart(6)} ms  +${String(e.dur).padStart(4)} ms  ${e.what}`);

  const sample: Sample = {
    n,
    wallMs: run.ms,
    firstRequestMs: first === undefined ? NaN : first - spawnedAt,
    awsRequests: awsReqs.length,
    ghGets: ghReqs.filter((r) => r.method === 'GET').length,
    ghPuts: ghReqs.filter((r) => r.method === 'PUT').length,
    ghOther: ghReqs.filter((r) => r.method !== 'GET' && r.method !== 'PUT').length,
    peakRssKb,
    serverExtraMs: extra,
    timeline,
  };
  if (propagationMs > 0) {
    const created = h.proxy.created.get(newId);
    const firstPut = ghReqs.find((r) => r.method === 'PUT');
    if (created === undefined || !firstPut) throw new Error(`run ${id}: no CreateAccessKey / PUT recorded`);
    const works = created + propagationMs;
    sample.verifyLagMs = firstPut.startedAt - works;
    const fw = h.proxy.firstWorked.get(newId);
    sample.detectLagMs = fw === undefined ? NaN : fw - works;
  }
  log(
    `  run ${id}: n=${n}${propagationMs ? ` propagation=${propagationMs} ms` : ''}  wall ${sec(sample.wallMs)}  ` +
      `first request ${ms(sample.firstRequestMs)}  aws ${sample.awsRequests} / gh ${sample.ghGets} GET ${sample.ghPuts} PUT  ` +
      `peak RSS ${(peakRssKb / 1024).toFixed(1)} MB` +
      (sample.verifyLagMs !== undefined ? `  key works → first PUT ${ms(sample.verifyLagMs)}` : ''),
  );
  return sample;
}

async function repeat(h: Harness, n: number, propagationMs = 0): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await actionRun(h, n, propagationMs));
  return out;
}

const med = (samples: Sample[], f: (s: Sample) => number) => median(samples.map(f));

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const sizes = SIZES.length ? SIZES : [1];
  log(
    `rotate-aws-access-key bench${QUICK ? ' (--quick)' : ''}: latency ${LATENCY_MS} ms at the stand-in and the AWS proxy, ` +
      `${RUNS} run(s) per figure (medians), fan-out sizes ${sizes.join(', ')}, propagation ${PROPAGATION_MS} ms`,
  );
  const h = await startHarness();
  log(`Node ${h.node}  (${readFileSync(DIST).length} bytes of dist/index.js read into the page cache)`);

  // 1. bare node start-up: warm-up now, then one sample before every action run (medianed at the end)
  for (let i = 0; i < 3; i++) await bareNode(h.node);

  if (FLEET_ONLY) {
    for (let i = 0; i < 3; i++) bareSamples.push(await bareNode(h.node));
    const fleet = await fleetFigures({ latencyMs: LATENCY_MS, node: h.node, bareMs: median(bareSamples), sizes: FLEET_USERS, log });
    rows.push(...fleet.rows);
    Object.assign(raw, fleet.raw);
    report(h);
    return;
  }

  // 2/3. one destination, then fan-out
  log('\none destination (self-rotation, iam-user-name given):');
  const bySize = new Map<number, Sample[]>();
  bySize.set(1, await repeat(h, 1));
  log(`  request timeline of the first one-destination run (ms after spawn, duration incl. ${LATENCY_MS} ms latency):`);
  for (const l of bySize.get(1)?.[0]?.timeline ?? []) log(`    ${l}`);

  // 4. verification under propagation delay
  log(`\nverification (propagation delay ${PROPAGATION_MS} ms):`);
  const verify = PROPAGATION_MS > 0 ? await repeat(h, 1, PROPAGATION_MS) : [];

  for (const n of sizes) {
    if (bySize.has(n)) continue;
    log(`\nfan-out to ${n} repositories:`);
    bySize.set(n, await repeat(h, n));
  }

  // ------------------------------------------------------------ figures
  const bare = median(bareSamples);
  log(`\nbare node -e '' (spawn → exit), before each run: ${bareSamples.map((x) => Math.round(x)).join(', ')} ms → median ${ms(bare)}`);
  const all = [...bySize.values()].flat().concat(verify);
  const firstReq = median(all.map((s) => s.firstRequestMs));
  const startup = firstReq - bare;
  const distKb = statSync(DIST).size / 1024;
  raw.bareNodeMs = bare;
  raw.firstRequestMs = firstReq;
  raw.startupOverBareMs = startup;
  raw.distKb = distKb;
  rows.push({
    figure: 'Start-up: spawn → first request, over bare `node -e ""`',
    value: `${ms(startup)} (${ms(firstReq)} − ${ms(bare)})`,
    target: `< ${TARGET.startupOverBareMs} ms`,
    pass: startup < TARGET.startupOverBareMs,
  });
  rows.push({ figure: 'dist/index.js size', value: `${Math.round(distKb)} KB`, target: '—', pass: undefined });

  const one = bySize.get(1) as Sample[];
  const oneWall = med(one, (s) => s.wallMs);
  const oneReqs = med(one, (s) => s.awsRequests + s.ghGets + s.ghPuts + s.ghOther);
  // One destination's two writes need no pacing wait; the lease's read-back waits LEASE_SETTLE_MS.
  const oneFloor = bare + oneReqs * LATENCY_MS + LEASE_SETTLE_MS;
  raw.oneDestWallMs = oneWall;
  raw.oneDestRequests = oneReqs;
  raw.oneDestMinRequests = MIN_ONE_DEST.length;
  raw.oneDestFloorMs = oneFloor;
  raw.oneDestEmulatorExtraMs = med(one, (s) => s.serverExtraMs);
  rows.push({
    figure: `One destination: wall vs floor (bare node + ${oneReqs} requests × ${LATENCY_MS} ms + lease settle ${sec(LEASE_SETTLE_MS)})`,
    value: `${sec(oneWall)} vs ${sec(oneFloor)} (×${(oneWall / oneFloor).toFixed(2)}, ${signedSec(oneWall - oneFloor)})`,
    target: `≤ floor + ${sec(TARGET.oneDestExcessMs)}`,
    pass: oneWall - oneFloor <= TARGET.oneDestExcessMs,
  });
  rows.push({
    figure: 'One destination: sequential requests',
    value: `${oneReqs} (AWS ${med(one, (s) => s.awsRequests)}, GitHub ${med(one, (s) => s.ghGets + s.ghPuts + s.ghOther)})`,
    target: `${MIN_ONE_DEST.length} (minimum)`,
    pass: oneReqs <= MIN_ONE_DEST.length,
  });

  for (const n of sizes) {
    const ss = bySize.get(n) as Sample[];
    const wall = med(ss, (s) => s.wallMs);
    const floor = (2 * n - 2) * WRITE_INTERVAL_MS + LEASE_SETTLE_MS;
    const limit = floor * TARGET.fanoutRatio + TARGET.fanoutSlackMs;
    raw[`fanout${n}WallMs`] = wall;
    raw[`fanout${n}FloorMs`] = floor;
    raw[`fanout${n}ExcessMs`] = wall - floor;
    rows.push({
      figure: `Fan-out ${n}: wall vs floor ((2n−2) s of pacing + lease settle ${sec(LEASE_SETTLE_MS)})`,
      value: `${sec(wall)} vs ${sec(floor)} (${floor > 0 ? `×${(wall / floor).toFixed(3)}, ` : ''}${signedSec(wall - floor)})`,
      target: `≤ ${TARGET.fanoutRatio}×floor + ${sec(TARGET.fanoutSlackMs)} (${sec(limit)})`,
      pass: wall <= limit,
    });
    const gets = med(ss, (s) => s.ghGets) / n;
    const puts = med(ss, (s) => s.ghPuts) / n;
    const other = med(ss, (s) => s.ghOther) / n;
    const aws = med(ss, (s) => s.awsRequests);
    raw[`fanout${n}GetsPerDest`] = gets;
    raw[`fanout${n}PutsPerDest`] = puts;
    raw[`fanout${n}AwsRequests`] = aws;
    rows.push({
      figure: `Fan-out ${n}: GitHub requests per destination`,
      value: `${gets.toFixed(2)} GET + ${puts.toFixed(2)} PUT${other ? ` + ${other.toFixed(2)} other` : ''} (AWS: ${aws} in all)`,
      target: `3 GET + 2 PUT, plus ${(OWN_HOLDER_READS / n).toFixed(2)} GET (minimum: public key, secrets list, read-back; the job's own holders, ${OWN_HOLDER_READS} in all)`,
      pass: gets <= 3 + OWN_HOLDER_READS / n + 1e-9 && puts <= 2 && other === 0,
    });
  }

  if (verify.length) {
    const lag = med(verify, (s) => s.verifyLagMs ?? NaN);
    const detect = med(verify, (s) => s.detectLagMs ?? NaN);
    raw.verifyLagMs = lag;
    raw.verifyDetectLagMs = detect;
    raw.verifyStsAttempts = med(verify, (s) => s.awsRequests) - AWS_NOT_VERIFYING;
    rows.push({
      figure: `Verification: key works → first PUT (propagation ${sec(PROPAGATION_MS)})`,
      value: `${ms(lag)} (STS success ${ms(detect)} after it works, ${raw.verifyStsAttempts} STS attempts)`,
      target: `≤ ${ms(TARGET.verifyLagMs)}`,
      pass: lag <= TARGET.verifyLagMs,
    });
  }

  const biggest = sizes[sizes.length - 1];
  const peakMb = med(bySize.get(biggest) as Sample[], (s) => s.peakRssKb) / 1024;
  raw[`peakRss${biggest}Mb`] = peakMb;
  rows.push({
    figure: `Peak RSS (VmHWM) at ${biggest} destination(s)`,
    value: `${peakMb.toFixed(1)} MB`,
    target: `< ${TARGET.peakRssMb} MB`,
    pass: peakMb < TARGET.peakRssMb,
  });

  const fleet = await fleetFigures({ latencyMs: LATENCY_MS, node: h.node, bareMs: bare, sizes: FLEET_USERS, log });
  rows.push(...fleet.rows);
  Object.assign(raw, fleet.raw);
  report(h);
}

function report(h: Harness): void {
  // ------------------------------------------------------------ report
  log(
    `\n### Benchmark (Node ${execVersion(h.node)}, ${LATENCY_MS} ms per request at GitHub and AWS, ` +
      `median of ${RUNS} run(s)${QUICK ? ', --quick' : ''})\n`,
  );
  log('| Figure | Value | Target | Result |');
  log('| --- | --- | --- | --- |');
  for (const r of rows) log(`| ${r.figure} | ${r.value} | ${r.target} | ${r.pass === undefined ? '—' : r.pass ? 'PASS' : 'MISS'} |`);
  log('\nRaw medians:');
  log(JSON.stringify(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 100) / 100 : v])), null, 2));

  const misses = rows.filter((r) => r.pass === false).length;
  log(misses ? `\n${misses} target(s) missed` : '\nAll targets met');
  if (misses && STRICT) process.exitCode = 1;
}

function execVersion(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
}

let exiting = false;
async function shutdown(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (current?.pid !== undefined) {
    try {
      current.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  await cleanup?.();
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void shutdown(130));

main()
  .then(() => shutdown(process.exitCode === undefined ? 0 : Number(process.exitCode)))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    void shutdown(1);
  });
