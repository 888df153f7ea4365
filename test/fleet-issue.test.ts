/**
 * The tracking issue, against moto and the GitHub stand-in: opened when the audit has findings, updated in place,
 * closed when the account is clean, reopened when findings come back; found again by its label and marker (never a
 * second issue); a token that cannot write issues fails the step with one line naming the permission.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AwsProxy } from './support/aws-proxy.js';
import { AgedIam } from './support/aged-iam.js';
import { forbidden } from './support/github-standin.js';
import { GitHubStandin } from './support/github-standin.js';
import { runFleetWith, seedAccount, workspace } from './support/fleet-world.js';
import { type Creds, type Moto, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import { ISSUE_LABEL } from '../src/fleet/tracking-issue.js';

requireMoto();

let moto: Moto;
let admin: Creds;
let proxy: AwsProxy;
let gh: GitHubStandin;
const aged = new AgedIam();
let svcKey: string;

const MANIFEST = 'users:\n  admin:\n    repositories: octo/admin\n  svc:\n    repositories: octo/svc\n';

beforeAll(async () => {
  [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
  proxy = await AwsProxy.start(moto.endpoint);
  aged.attach(proxy);
  gh.addRepository('octo/platform');
  svcKey = (await seedAccount(moto, admin, aged, [{ name: 'svc', keys: [{ ageDays: 10, lastUsed: { daysAgo: 1, service: 'sts', region: 'us-east-1' }, active: true }] }])).get('svc')?.[0] ?? '';
}, 120_000);
afterAll(async () => {
  await proxy?.stop();
  await Promise.all([moto?.stop(), gh?.stop()]);
});

const audit = () =>
  runFleetWith({
    moto,
    as: admin,
    endpoint: proxy.url,
    workspace: workspace(MANIFEST),
    githubUrl: gh.url,
    env: { GITHUB_REPOSITORY: 'octo/platform' },
    inputs: { 'tracking-issue': 'true', 'github-token': 'test-token' },
  });

const writes = () => gh.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

describe('the tracking issue', () => {
  it('a clean account opens no issue', async () => {
    gh.reset();
    const run = await audit();
    expect(run.io.failed).toBe(false);
    expect(run.result?.findings).toEqual([]);
    expect(gh.issues('octo/platform')).toEqual([]);
    expect(writes()).toEqual([]);
    expect(run.io.outputs.issue).toBe('');
  });

  it('findings open one issue, labelled, with the marker and the findings', async () => {
    aged.setKeys('svc', [{ id: svcKey, age: { ageDays: 120, lastUsed: { daysAgo: 1, service: 'sts', region: 'us-east-1' } } }]);
    gh.reset();
    const run = await audit();
    expect(run.result?.findings.map((f) => f.code)).toEqual(['key-too-old']);
    const [issue] = gh.issues('octo/platform');
    expect(issue).toMatchObject({ number: 1, state: 'open', title: 'AWS access key audit: 1 finding (account 123456789012)', labels: [ISSUE_LABEL] });
    expect(issue.body).toMatch(/^<!-- rotate-aws-access-key fleet audit: account=123456789012 manifest=\.github\/aws-access-keys\.yml -->\n## AWS access key audit/);
    expect(issue.body).toContain(`access key ${svcKey} of user svc is 120 days old (max-age-days 90): due for rotation`);
    expect(writes()).toEqual(['POST /repos/octo/platform/issues']);
    expect(run.io.outputs.issue).toBe('1');
  });

  it('the next audit updates that issue: one write, no second issue', async () => {
    gh.reset();
    await audit();
    expect(gh.issues('octo/platform')).toHaveLength(1);
    expect(writes()).toEqual(['PATCH /repos/octo/platform/issues/1']);
  });

  it('a clean account closes it; findings again reopen it', async () => {
    aged.setKeys('svc', [{ id: svcKey, age: { ageDays: 5, lastUsed: { daysAgo: 1, service: 'sts', region: 'us-east-1' } } }]);
    gh.reset();
    let run = await audit();
    expect(gh.issues('octo/platform')[0]).toMatchObject({ state: 'closed', stateReason: 'completed', title: 'AWS access key audit: clean (account 123456789012)' });
    expect(run.io.lines).toContain('Tracking issue #1: closed');
    aged.setKeys('svc', [{ id: svcKey, age: { ageDays: 200, lastUsed: { daysAgo: 1, service: 'sts', region: 'us-east-1' } } }]);
    gh.reset();
    run = await audit();
    expect(gh.issues('octo/platform')).toHaveLength(1);
    expect(gh.issues('octo/platform')[0]).toMatchObject({ state: 'open', title: 'AWS access key audit: 1 finding (account 123456789012)' });
    expect(run.io.lines).toContain('Tracking issue #1: reopened');
  });

  it('a token that cannot write issues: one warning naming the permission; the audit and its plan stand', async () => {
    gh.reset();
    gh.addFault(forbidden({ method: 'PATCH', path: /\/issues\// }, 'issues=write'));
    const run = await audit();
    expect(run.io.failed).toBe(false);
    expect(run.io.annotations.filter((a) => a.level === 'warning' && a.place === undefined)).toEqual([
      {
        level: 'warning',
        message:
          "the tracking issue was not kept (the audit and its plan stand): updating issue #1 of octo/platform: 403 Resource not accessible by personal access token - https://docs.github.com/rest/actions/secrets. GitHub accepts the permission(s) 'issues=write'",
        place: undefined,
      },
    ]);
    expect(run.io.outputs).toMatchObject({ due: '1', issue: '' });
  });
});
