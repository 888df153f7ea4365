/**
 * The fleet audit against moto: an account of 500 IAM users and 800 access keys (ages and last uses given at the HTTP
 * layer by AgedIam: moto stamps every CreateDate now), a root key in the credential report, two manifest users IAM
 * does not have. Every finding is checked against the rules, one by one; the audit is read-only; its inventory costs
 * the same whatever the number of users; the outputs (JSON, summary, annotations, SARIF, matrix) say the same.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AwsProxy } from './support/aws-proxy.js';
import { AgedIam, type LastUse } from './support/aged-iam.js';
import { type SeedUser, readJson, runFleetWith, seedAccount, workspace } from './support/fleet-world.js';
import { type Creds, type Moto, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import type { AuditReport } from '../src/fleet/audit-report.js';

requireMoto();

const USERS = 500;
const MANAGED = 450; // u000..u449 are in the manifest; u450..u499 are not
const DAY = 86_400_000;

const name = (i: number) => `u${String(i).padStart(3, '0')}`;
const used = (daysAgo: number): LastUse => ({ daysAgo, service: 's3', region: 'eu-west-1' });

/**
 * The account: users 0-299 have two keys, 300-499 one (800 keys). The first key is i % 200 days old, last used
 * (i % 7) × 20 days ago, or never when i % 13 is 0. The second key is i % 50 days old, never used, Active for every
 * tenth user (two Active keys), else Inactive.
 */
function account(): SeedUser[] {
  return Array.from({ length: USERS }, (_, i) => {
    const first = { ageDays: i % 200, lastUsed: i % 13 === 0 ? null : used((i % 7) * 20), active: true };
    const second = { ageDays: i % 50, lastUsed: null, active: i % 10 === 0 };
    const records: Record<number, string> =
      i === 3 ? { 0: 'rotate-aws-access-key: created=2026-01-02T03:04:05Z handover=2026-01-02T03:05:00Z by=octo/platform/4242/1' } : {};
    return { name: name(i), keys: i < 300 ? [first, second] : [first], records };
  });
}

/** The manifest: u000..u449, each writing its own repository; two users IAM has never had. */
function manifest(): string {
  const lines = ['version: 1', 'users:'];
  for (let i = 0; i < MANAGED; i++) lines.push(`  ${name(i)}:`, `    repositories: octo/app-${i}`);
  lines.push('  ghost-1:', '    repositories: octo/ghost-1', '  ghost-2:', '    repositories: octo/ghost-2');
  return `${lines.join('\n')}\n`;
}
/** The manifest line of user i's entry (line 1 version, line 2 users:, then two lines per user). */
const lineOf = (i: number) => 3 + 2 * i;

let moto: Moto;
let admin: Creds;
let proxy: AwsProxy;
const aged = new AgedIam();
let keyIds: Map<string, string[]>;

beforeAll(async () => {
  moto = await startMoto();
  admin = await seedAdmin(moto);
  proxy = await AwsProxy.start(moto.endpoint);
  aged.attach(proxy);
  aged.root = [{ active: true, ageDays: 400, lastUsed: used(3) }];
  aged.reportAgeMinutes = 42;
  keyIds = await seedAccount(moto, admin, aged, account());
}, 300_000);
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

type Key = { code: string; user: string; keyId?: string; line: number };

/** The findings the rules call for, worked out from the account's description (not from the action). */
function expected(): Key[] {
  // admin, the audit's own caller, is a user with a key that no manifest entry names.
  const out: Key[] = [
    { code: 'root-access-key', user: '<root_account>', line: 2 },
    { code: 'unmanaged-key', user: 'admin', keyId: admin.accessKeyId, line: 2 },
  ];
  for (const g of ['ghost-1', 'ghost-2']) out.push({ code: 'missing-user', user: g, line: g === 'ghost-1' ? lineOf(MANAGED) : lineOf(MANAGED + 1) });
  for (const [i, u] of account().entries()) {
    const managed = i < MANAGED;
    const line = managed ? lineOf(i) : 2;
    const ids = keyIds.get(u.name) ?? [];
    const active = u.keys.filter((k) => k.active).length;
    if (active >= 2) out.push({ code: 'two-active-keys', user: u.name, line });
    u.keys.forEach((k, j) => {
      const keyId = ids[j];
      if (!managed) out.push({ code: 'unmanaged-key', user: u.name, keyId, line });
      if (!k.active) return;
      if (k.ageDays >= 90) out.push({ code: 'key-too-old', user: u.name, keyId, line });
      if (k.lastUsed === null ? k.ageDays >= 90 : k.lastUsed.daysAgo >= 90) out.push({ code: 'key-unused', user: u.name, keyId, line });
    });
  }
  return out;
}

const sortKeys = (ks: Key[]) => [...ks].sort((a, b) => `${a.code} ${a.user} ${a.keyId}`.localeCompare(`${b.code} ${b.user} ${b.keyId}`));

describe('an account of 500 users and 800 keys', () => {
  let run: Awaited<ReturnType<typeof runFleetWith>>;
  let dir: string;

  beforeAll(async () => {
    dir = workspace(manifest());
    proxy.reset();
    run = await runFleetWith({
      moto,
      as: admin,
      endpoint: proxy.url,
      workspace: dir,
      inputs: { manifest: '.github/aws-access-keys.yml', 'sarif-file': 'audit.sarif' },
    });
  }, 300_000);

  it('the world is what the test says: 500 users, 800 keys, ages at the HTTP layer', () => {
    expect(keyIds.size).toBe(USERS);
    expect([...keyIds.values()].flat()).toHaveLength(800);
    expect(run.io.failed).toBe(false);
    expect(aged.rewritten.get('GetCredentialReport')).toBeGreaterThanOrEqual(1);
  });

  it('finds exactly what the rules call for: every finding right, none more', () => {
    const findings = run.result?.findings ?? [];
    const got = findings.map((f) => ({ code: f.code, user: f.user, ...(f.keyId ? { keyId: f.keyId } : {}), line: f.line }));
    const want = expected();
    expect(sortKeys(got)).toEqual(sortKeys(want));
    // All six kinds are present, each in numbers the description gives.
    const count = (code: string) => want.filter((f) => f.code === code).length;
    expect(count('root-access-key')).toBe(1);
    expect(count('missing-user')).toBe(2);
    expect(count('two-active-keys')).toBe(30);
    expect(count('unmanaged-key')).toBe(51);
    expect(count('key-too-old')).toBeGreaterThan(100);
    expect(count('key-unused')).toBeGreaterThan(50);
  });

  it('says what each finding is about, in IAM time', () => {
    const findings = run.result?.findings ?? [];
    const old = findings.find((f) => f.code === 'key-too-old' && f.user === 'u150');
    expect(old?.message).toBe(`access key ${keyIds.get('u150')?.[0]} of user u150 is 150 days old (max-age-days 90): due for rotation`);
    const root = findings.find((f) => f.code === 'root-access-key');
    expect(root?.message).toMatch(/^the account's root user has an access key \(slot 1, Active, created \d{4}-\d\d-\d\d, last used \S+ \(s3, eu-west-1\)\): /);
    const never = findings.find((f) => f.code === 'key-unused' && f.user === 'u130');
    expect(never?.message).toBe(`access key ${keyIds.get('u130')?.[0]} of user u130 (Active) was never used in the 130 days since it was made (unused-days 90)`);
    const two = findings.find((f) => f.code === 'two-active-keys' && f.user === 'u010');
    expect(two?.message).toContain('aws iam update-access-key --user-name u010 --access-key-id <id> --status Inactive');
  });

  it('is read-only, and reads keys only of users the manifest or a finding names', () => {
    const actions = new Set(proxy.requests.map((r) => r.action));
    expect([...actions].sort()).toEqual(['GenerateCredentialReport', 'GetAccessKeyLastUsed', 'GetCallerIdentity', 'GetCredentialReport', 'ListAccessKeys', 'ListUserTags']);
    const count = (a: string) => proxy.requests.filter((r) => r.action === a).length;
    // The inventory: moto starts the report, then has it; whatever the number of users.
    expect(count('GenerateCredentialReport') + count('GetCredentialReport')).toBe(3);
    // Every user has a key (so each is named; admin too) plus the two ghosts: one ListAccessKeys each; last use per key.
    expect(count('ListAccessKeys')).toBe(USERS + 1 + 2);
    expect(count('ListUserTags')).toBe(USERS + 1);
    expect(count('GetAccessKeyLastUsed')).toBe(800 + 1);
    expect(proxy.requests.every((r) => r.status === 200 || (r.action === 'ListAccessKeys' && r.status === 404))).toBe(true);
  });

  it('the JSON report: the report age, each key with its last use and the action record, the requests', () => {
    const report = readJson(dir, 'aws-access-key-audit.json') as AuditReport;
    expect(report.account).toBe('123456789012');
    expect(report.credentialReport.ageMinutes).toBeGreaterThanOrEqual(42);
    expect(report.credentialReport.ageMinutes).toBeLessThanOrEqual(44);
    expect(report.findings).toHaveLength(run.result?.findings.length ?? -1);
    expect(report.requests).toEqual({ inventory: 3, users: expect.any(Number), usersRead: USERS + 1 + 2 });
    const u003 = report.users.find((u) => u.name === 'u003');
    expect(u003).toMatchObject({ managed: true, state: 'read', line: lineOf(3), destinations: ['octo/app-3'] });
    expect(u003?.keys[0]).toMatchObject({
      id: keyIds.get('u003')?.[0],
      status: 'Active',
      ageDays: 3,
      lastUsed: { service: 's3', region: 'eu-west-1', date: expect.any(String) },
      record: { by: 'octo/platform/4242/1', handover: '2026-01-02T03:05:00Z' },
    });
    expect(Date.now() - Date.parse((u003?.keys[0].lastUsed as { date: string }).date)).toBeGreaterThanOrEqual(60 * DAY - 60_000);
    expect(report.users.find((u) => u.name === 'ghost-1')).toMatchObject({ managed: true, state: 'missing', keys: [] });
  });

  it('one annotation per finding, at the manifest line it concerns; SARIF says the same', () => {
    const findings = run.result?.findings ?? [];
    const annotations = run.io.annotations;
    expect(annotations).toHaveLength(findings.length);
    for (const [i, f] of findings.entries()) {
      expect(annotations[i]).toEqual({
        level: { error: 'error', warning: 'warning', note: 'notice' }[f.severity],
        message: f.message,
        place: { file: '.github/aws-access-keys.yml', startLine: f.line, title: f.code },
      });
    }
    const sarif = readJson(dir, 'audit.sarif') as { version: string; runs: { results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[]; partialFingerprints: Record<string, string> }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0].results;
    expect(results).toHaveLength(findings.length);
    expect(results.map((r) => [r.ruleId, r.locations[0].physicalLocation.artifactLocation.uri, r.locations[0].physicalLocation.region.startLine])).toEqual(
      findings.map((f) => [f.code, '.github/aws-access-keys.yml', f.line]),
    );
    expect(new Set(results.map((r) => r.partialFingerprints['rotateAwsAccessKeyFinding/v1'])).size).toBe(results.length);
  });

  it('plans the users that are due, says why the others are not, and gives each entry its inputs', () => {
    const plan = run.result?.plan;
    const due = new Set(plan?.due.map((d) => d.user));
    for (const [i, u] of account().entries()) {
      if (i >= MANAGED) continue;
      const active = u.keys.filter((k) => k.active);
      const newest = Math.min(...active.map((k) => k.ageDays));
      expect([u.name, due.has(u.name)]).toEqual([u.name, active.length >= 2 || newest >= 90]);
    }
    expect(plan?.notDue.find((d) => d.user === 'ghost-1')).toEqual({ user: 'ghost-1', reason: 'missing', why: 'IAM has no such user' });
    expect(plan?.notDue.find((d) => d.user === 'u005')?.why).toBe(`${keyIds.get('u005')?.[0]} is 5 days old: due in 85 days (max-age-days 90)`);
    const matrix = JSON.parse(run.io.outputs.matrix) as { include: Record<string, string>[] };
    expect(matrix.include).toHaveLength(due.size);
    expect(run.io.outputs.due).toBe(String(due.size));
    expect(matrix.include.find((e) => e.user === 'u150')).toEqual({
      user: 'u150',
      repositories: 'octo/app-150',
      'max-age-days': '90',
      'write-interval-seconds': expect.stringMatching(/^\d+\.\d{3}$/),
    });
    expect(run.io.page).toContain('## AWS access key audit');
    expect(run.io.page).toMatch(/The credential report IAM gave is 4[234] minutes old/);
  });
});
