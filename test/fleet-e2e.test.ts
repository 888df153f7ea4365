/**
 * The two-job fleet workflow end to end with the built bundles on Node 24, as the runner runs them: the audit
 * (dist/fleet/index.js) reads the manifest and the account, and plans; then the rotation (dist/index.js) runs once per
 * matrix entry, a few at a time, with the inputs the example workflow's rotate step maps from the entry
 * (examples/fleet-rotation.yml, read here). At the end every destination of every due user authenticates at STS with
 * that user's new key (the stand-in really opened the sealed boxes), the old keys are gone, and the user that was not
 * due is untouched. Ages: moto stamps keys "now"; AgedIam, on the AWS proxy both bundles talk through, makes the old
 * keys 120 days old.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { parse } from 'yaml';
import { AwsProxy } from './support/aws-proxy.js';
import { AgedIam } from './support/aged-iam.js';
import { GitHubStandin, type Scope } from './support/github-standin.js';
import { keysOf } from './support/harness.js';
import { pool, readJson, seedAccount, workspace } from './support/fleet-world.js';
import { type Creds, type Moto, requireMoto, seedAdmin, startMoto, stsClient } from './support/moto.js';
import { type ActionRun, DIST, FLEET_DIST, ROOT, node24, runAction } from './support/runner.js';
import { USER_KEYS } from '../src/fleet/manifest.js';
import type { AuditReport } from '../src/fleet/audit-report.js';

requireMoto();

const ROLE = 'arn:aws:iam::123456789012:role/access-key-rotator';
const MANIFEST = `version: 1
defaults:
  role: ${ROLE}
users:
  admin:
    repositories: octo/platform
  deploy-a:
    repositories: [octo/a1, octo/a2]
  deploy-b:
    repositories: octo/b
    environments: staging, production
  deploy-c:
    organization: octo-org
    organization-visibility: private
    dependabot: true
  deploy-d:
    repositories: octo/d
    access-key-id-as: variable
  deploy-e:
    repositories: octo/e
    access-key-id-secret-name: E_KEY_ID
    secret-access-key-secret-name: E_SECRET
  deploy-f:
    repositories: octo/f
`;

/** Where each user's pair lives: scope and the two names (variable: the id is an Actions variable). */
const PLACES: Record<string, { scope: Scope; names: [string, string]; variable?: boolean }[]> = {
  'deploy-a': [
    { scope: { kind: 'repository', owner: 'octo', repo: 'a1' }, names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
    { scope: { kind: 'repository', owner: 'octo', repo: 'a2' }, names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
  ],
  'deploy-b': ['staging', 'production'].map((environment) => ({
    scope: { kind: 'environment' as const, owner: 'octo', repo: 'b', environment },
    names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as [string, string],
  })),
  'deploy-c': [
    { scope: { kind: 'organization', org: 'octo-org' }, names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
    { scope: { kind: 'dependabot-organization', org: 'octo-org' }, names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
  ],
  'deploy-d': [{ scope: { kind: 'repository', owner: 'octo', repo: 'd' }, names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], variable: true }],
  'deploy-e': [{ scope: { kind: 'repository', owner: 'octo', repo: 'e' }, names: ['E_KEY_ID', 'E_SECRET'] }],
  'deploy-f': [{ scope: { kind: 'repository', owner: 'octo', repo: 'f' }, names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] }],
};
const DUE = ['deploy-a', 'deploy-b', 'deploy-c', 'deploy-d', 'deploy-e'];

let moto: Moto;
let admin: Creds;
let proxy: AwsProxy;
let gh: GitHubStandin;
const aged = new AgedIam();
const pairs = new Map<string, Creds[]>();

/** The pair a place holds, as the stand-in opened it. */
function held(place: (typeof PLACES)[string][number]): Creds | undefined {
  const id = place.variable ? gh.variable(place.scope, place.names[0])?.value : gh.secret(place.scope, place.names[0])?.value;
  const secret = gh.secret(place.scope, place.names[1])?.value;
  return id !== undefined && secret !== undefined ? { accessKeyId: id, secretAccessKey: secret } : undefined;
}

/** Who a pair authenticates as at STS (undefined: it does not). */
async function whoIs(pair: Creds): Promise<string | undefined> {
  const sts = stsClient(moto, pair);
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn;
  } catch {
    return undefined;
  } finally {
    sts.destroy();
  }
}

beforeAll(async () => {
  if (!existsSync(DIST) || !existsSync(FLEET_DIST)) throw new Error('dist/index.js or dist/fleet/index.js is missing: run npm run package');
  node24();
  [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
  proxy = await AwsProxy.start(moto.endpoint);
  aged.attach(proxy);
  const old = (ageDays: number) => ({ ageDays, lastUsed: { daysAgo: 1, service: 's3', region: 'us-east-1' }, active: true });
  await seedAccount(moto, admin, aged, Object.keys(PLACES).map((name) => ({ name, keys: [old(name === 'deploy-f' ? 10 : 120)] })), pairs);
  gh.addOrganization('octo-org');
  for (const r of ['platform', 'a1', 'a2', 'b', 'd', 'e', 'f']) gh.addRepository(`octo/${r}`, r === 'b' ? { environments: ['staging', 'production'] } : {});
  for (const [user, places] of Object.entries(PLACES)) {
    const [pair] = pairs.get(user) ?? [];
    for (const p of places) {
      if (p.variable) gh.setVariable(p.scope, p.names[0], pair.accessKeyId);
      else gh.setSecret(p.scope, p.names[0], pair.accessKeyId, 'private');
      gh.setSecret(p.scope, p.names[1], pair.secretAccessKey, 'private');
    }
  }
}, 200_000);
afterAll(async () => {
  await proxy?.stop();
  await Promise.all([moto?.stop(), gh?.stop()]);
});

const FLEET = { script: FLEET_DIST, actionYml: join(ROOT, 'fleet', 'action.yml') };
const awsEnv = () => ({ AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey });
const runnerEnv = { GITHUB_REPOSITORY: 'octo/platform', GITHUB_RUN_ID: '777', GITHUB_RUN_ATTEMPT: '1' };

/** The rotate step of the example workflow: its `with:`, each `${{ matrix.x }}` and `${{ secrets.x }}` as the runner fills it. */
function rotateStepWith(entry: Record<string, string>): Record<string, string> {
  const wf = parse(readFileSync(join(ROOT, 'examples', 'fleet-rotation.yml'), 'utf8')) as {
    jobs: { rotate: { steps: { uses: string; with: Record<string, string> }[] } };
  };
  const step = wf.jobs.rotate.steps.find((s) => s.uses.startsWith('your-org/rotate-aws-access-key@'));
  if (!step) throw new Error('the example has no rotate step');
  return Object.fromEntries(
    Object.entries(step.with).map(([k, v]) => [
      k,
      String(v)
        .replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (_, key: string) => entry[key] ?? '')
        .replace(/\$\{\{\s*secrets\.[\w-]+\s*\}\}/g, 'test-token'),
    ]),
  );
}

const errorLines = (run: ActionRun) => run.stdout.split('\n').filter((l) => l.startsWith('::error'));

describe('the two-job fleet workflow, dist/ on Node 24', () => {
  let audit: ActionRun;
  let dir: string;
  let matrix: { include: Record<string, string>[] };

  beforeAll(async () => {
    dir = workspace(MANIFEST);
    audit = await runAction({
      action: FLEET,
      inputs: { 'github-token': 'test-token' },
      env: { ...awsEnv(), ...runnerEnv, GITHUB_WORKSPACE: dir, GITHUB_API_URL: gh.url },
    });
    matrix = JSON.parse(audit.outputs.matrix ?? '{"include":[]}') as typeof matrix;
  }, 120_000);

  it('the example maps every option a manifest entry may set onto the rotation step', () => {
    const mapped = rotateStepWith(Object.fromEntries(USER_KEYS.map((k) => [k, `<${k}>`])));
    for (const key of USER_KEYS.filter((k) => k !== 'role')) expect([key, mapped[key]]).toEqual([key, `<${key}>`]);
    expect(mapped['write-interval-seconds']).toBe('');
    expect(mapped['iam-user-name']).toBe('');
  });

  it('the audit plans the five users that are due, leaves out the one that is not, and says why', () => {
    expect(errorLines(audit)).toEqual([]);
    expect(audit.code).toBe(0);
    expect(audit.outputs.due).toBe('5');
    expect(audit.outputs['max-parallel']).toBe('5');
    expect(matrix.include.map((e) => e.user).sort()).toEqual(DUE);
    for (const e of matrix.include) expect([e.user, e.role, e['max-age-days']]).toEqual([e.user, ROLE, '90']);
    expect(audit.stdout).toContain('not due: deploy-f: ');
    expect(audit.stdout).toMatch(/due: deploy-a: AKIA\w+ is 120 days old \(max-age-days 90\)/);
    expect(audit.summary).toContain('## AWS access key audit');
    // One annotation per finding: the five keys past max-age-days, each at its manifest entry.
    const warnings = audit.stdout.split('\n').filter((l) => l.startsWith('::warning'));
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toMatch(/^::warning title=key-too-old,file=\.github\/aws-access-keys\.yml,line=\d+::access key AKIA/);
  });

  it('the rotate jobs, a few at a time: every destination ends up holding its user\'s new key, which authenticates', async () => {
    const runs: ActionRun[] = [];
    await pool(matrix.include, 2, async (entry) => {
      runs.push(await runAction({ inputs: rotateStepWith(entry), env: { ...awsEnv(), ...runnerEnv, GITHUB_API_URL: gh.url } }));
    });
    for (const r of runs) expect({ errors: errorLines(r), code: r.code, rotated: r.outputs.rotated }).toEqual({ errors: [], code: 0, rotated: 'true' });
    for (const user of DUE) {
      const keys = await keysOf({ moto, gh, admin, stop: async () => {} }, user);
      expect(keys).toHaveLength(1);
      const [old] = pairs.get(user) ?? [];
      expect(keys[0].id).not.toBe(old.accessKeyId);
      for (const place of PLACES[user]) {
        const pair = held(place);
        expect([user, pair?.accessKeyId]).toEqual([user, keys[0].id]);
        expect(await whoIs(pair as Creds)).toBe(`arn:aws:iam::123456789012:user/${user}`);
      }
      expect(await whoIs(old)).toBeUndefined();
    }
    // The user that was not due keeps its key, and so do its destinations.
    const [f] = pairs.get('deploy-f') ?? [];
    expect(held(PLACES['deploy-f'][0])).toEqual(f);
    expect(await whoIs(f)).toBe('arn:aws:iam::123456789012:user/deploy-f');
  }, 300_000);

  it('the next audit finds nothing due, and shows which run made each new key and when it was handed over', async () => {
    const again = await runAction({
      action: FLEET,
      inputs: { 'github-token': 'test-token', 'report-file': 'again.json' },
      env: { ...awsEnv(), ...runnerEnv, GITHUB_WORKSPACE: dir, GITHUB_API_URL: gh.url },
    });
    expect(again.code).toBe(0);
    expect(again.outputs.due).toBe('0');
    expect(again.outputs.findings).toBe('0');
    const report = readJson(dir, 'again.json') as AuditReport;
    for (const user of DUE) {
      const u = report.users.find((x) => x.name === user);
      expect(u?.keys).toEqual([
        expect.objectContaining({ status: 'Active', ageDays: 0, record: expect.objectContaining({ by: 'octo/platform/777/1', handover: expect.stringMatching(/Z$/) }) }),
      ]);
    }
  }, 120_000);

  it('emergency: every manifest user due now, old keys deleted right after the handover, each old key\'s last use listed', async () => {
    const run = await runAction({
      action: FLEET,
      inputs: { 'github-token': 'test-token', emergency: 'true', 'report-file': 'emergency.json' },
      env: { ...awsEnv(), ...runnerEnv, GITHUB_WORKSPACE: dir, GITHUB_API_URL: gh.url },
    });
    expect(run.code).toBe(0);
    const entries = (JSON.parse(run.outputs.matrix) as typeof matrix).include;
    expect(entries.map((e) => e.user).sort()).toEqual(['admin', ...DUE, 'deploy-f']);
    for (const e of entries) expect([e.user, e['max-age-days'], e['previous-key'], e['retire-after-hours']]).toEqual([e.user, '0', 'delete', '0']);
    // deploy-f's old key, last used a day ago in us-east-1 by s3, as GetAccessKeyLastUsed says.
    const [f] = pairs.get('deploy-f') ?? [];
    expect(run.summary).toContain('### Emergency: the last use of every key being replaced (7)');
    expect(run.summary).toMatch(new RegExp(`\\| deploy-f \\| ${f.accessKeyId} \\| Active \\| \\S+ \\| \\d{4}-\\d\\d-\\d\\dT\\S+ \\| s3 \\| us-east-1 \\|`));
    const report = readJson(dir, 'emergency.json') as AuditReport;
    expect(report.plan.emergency).toBe(true);
    expect(report.users.find((u) => u.name === 'deploy-f')?.keys[0].lastUsed).toEqual({ date: expect.any(String), service: 's3', region: 'us-east-1' });
  }, 120_000);

  it('a rotate job paced by the plan (write-interval-seconds) writes no sooner than the pace allows', async () => {
    gh.reset();
    const entry = { ...matrix.include.find((e) => e.user === 'deploy-a'), 'max-age-days': '0', 'write-interval-seconds': '2.5' } as Record<string, string>;
    const started = Date.now();
    const run = await runAction({ inputs: rotateStepWith(entry), env: { ...awsEnv(), ...runnerEnv, GITHUB_API_URL: gh.url } });
    expect(run.code).toBe(0);
    const puts = gh.requests.filter((r) => r.method === 'PUT').map((r) => r.startedAt);
    expect(puts).toHaveLength(4);
    // The bucket starts empty: the first pair two intervals after the start at the earliest, the next two more. The
    // pacer spaces pairs as they leave; the first one's request is the slower (its sealing loads libsodium), so they
    // may arrive up to that much closer (the plan's second a minute of margin is for this).
    expect(puts[0] - started).toBeGreaterThanOrEqual(5000);
    expect(puts[2] - puts[0]).toBeGreaterThanOrEqual(5000 - 250);
    expect(puts[2] - puts[0]).toBeLessThan(10_000);
  }, 120_000);
});
