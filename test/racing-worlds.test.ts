/**
 * Two writers on one destination (issue 20, worlds 7 and 8): two bootstrap runs whose leases were not yet visible to
 * each other, and two IAM users configured onto the same destination. The action is the only one that can see it:
 * the keys IAM lists after the fan-out, and GitHub's updated_at after its own write. Neither run may say it rotated.
 */
import { describe, expect, it } from '@jest/globals';
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import type { GitHubApi } from '../src/github/github-api.js';
import { awsFailure } from './support/memory-iam.js';
import { type MemoryGitHub, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const OLD = 'AKIAOLD0000000000001';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' };
const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };

describe('another writer after this run wrote a destination', () => {
  it("another IAM user's rotation writes the destination after this run: nothing is retired, the destination is named (world 8)", async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api'], { dates: true });
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    // Bob's rotation (another IAM user, same destination) writes its secret access key a few seconds after ours.
    let puts = 0;
    github.before((method, path) => {
      if (method === 'PUT' && path.includes('/secrets/')) puts++;
      if (method === 'GET' && path === '/repos/octo/api/actions/secrets' && puts === 2) {
        github.secrets.get('octo/api')?.set('AWS_SECRET_ACCESS_KEY', 'bob-secret');
        github.updatedAt.set('octo/api/AWS_SECRET_ACCESS_KEY', '2026-11-27T12:00:04Z');
      }
    });

    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });

    const fresh = result.newKeyId as string;
    expect(result.rotated).toBe(false);
    expect(result.error?.message).toMatch(
      new RegExp(`^octo/api was written \\(or emptied\\) by someone else after this run wrote ${fresh} there .*Every key stays Active \\(${fresh}, ${OLD}\\)\\. Destinations: octo/api: TORN when read back: its AWS_SECRET_ACCESS_KEY was written \\(or removed\\) by someone else after this run wrote it, its AWS_ACCESS_KEY_ID is still this run's \\(${fresh}\\)`),
    );
    // Both keys stay: the old one still works wherever it is held; octo/api holds this run's id with Bob's secret (issue 24: torn, not "not known").
    expect([...iam.keys.values()].map((k) => [k.id, k.status])).toEqual([
      [OLD, 'Active'],
      [fresh, 'Active'],
    ]);
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['torn', undefined]]);
    expect(result.previous).toEqual([]);
  });

  it('another writer rewrites both after this run: what it holds is not known (its own pair, or a tear of its own making)', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api'], { dates: true });
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    let puts = 0;
    github.before((method, path) => {
      if (method === 'PUT' && path.includes('/secrets/')) puts++;
      if (method === 'GET' && path === '/repos/octo/api/actions/secrets' && puts === 2) {
        github.hold({ accessKeyId: 'AKIABOB0000000000001', secretAccessKey: 'bob-secret' }, 'octo/api');
        github.updatedAt.set('octo/api/AWS_ACCESS_KEY_ID', '2026-11-27T12:00:04Z');
        github.updatedAt.set('octo/api/AWS_SECRET_ACCESS_KEY', '2026-11-27T12:00:05Z');
      }
    });
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api' }, env: ENV });
    expect(result.error?.message).toMatch(/Destinations: octo\/api: OVERWRITTEN by someone else after this run wrote it \(another rotation, or another IAM user rotated into it\): what it holds is not known\.$/);
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['overwritten', undefined]]);
    expect(result.previous).toEqual([]);
  });

  it('no other writer: the same run confirms every destination and rotates', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/web'], { dates: true });
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api', 'octo/web');
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api,octo/web' }, env: ENV });
    expect(result.error).toBeUndefined();
    expect(github.routes.filter((r) => r === 'GET /repos/octo/web/actions/secrets')).toHaveLength(2); // preflight, confirm
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
  });

  it("access-key-id-as: variable: another rotation writes the id's variable after this run: nothing is retired", async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api'], { dates: true });
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api');
    let patched = false;
    github.before((method, path) => {
      if (method === 'PATCH' && path === '/repos/octo/api/actions/variables/AWS_ACCESS_KEY_ID') patched = true;
      // Bob's rotation writes the variable a few seconds after ours, before the read-back.
      if (method === 'GET' && path === '/repos/octo/api/actions/variables' && patched) {
        github.variables.get('octo/api')?.set('AWS_ACCESS_KEY_ID', 'AKIABOB0000000000001');
        github.updatedAt.set('octo/api/variable/AWS_ACCESS_KEY_ID', '2026-11-27T12:00:05Z');
      }
    });
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api', 'access-key-id-as': 'variable' },
      env: ENV,
    });
    const fresh = result.newKeyId as string;
    expect(patched).toBe(true);
    expect(result.rotated).toBe(false);
    expect(result.error?.message).toMatch(new RegExp(`^octo/api was written \\(or emptied\\) by someone else after this run wrote ${fresh} there`));
    expect([...iam.keys.values()].map((k) => [k.id, k.status])).toEqual([
      [OLD, 'Active'],
      [fresh, 'Active'],
    ]);
    expect(result.destinations.map((d) => d.outcome)).toEqual(['torn']); // Bob's id variable, this run's secret
  });

  it('access-key-id-as: variable, no other writer: the variable is read back with the secrets, and the run rotates', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api'], { dates: true });
    const old = userKey(iam, OLD);
    github.holdAsVariable(old, 'octo/api');
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api', 'access-key-id-as': 'variable' }, env: ENV });
    expect(result.error).toBeUndefined();
    // Preflight and the read-back each list the variables and the secrets (the own-holders look skips the repository:
    // it is a destination).
    expect(github.routes.filter((r) => r === 'GET /repos/octo/api/actions/variables')).toHaveLength(2);
    expect(github.routes.filter((r) => r === 'GET /repos/octo/api/actions/secrets')).toHaveLength(2);
    expect(github.variablePair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect([...iam.keys.keys()]).toEqual([result.newKeyId]);
  });

  it('two bootstrap runs whose leases did not see each other: the one that sees the other key retires nothing and says so (world 7)', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    let created = 0;
    iam.before((command) => {
      // The other run's CreateAccessKey lands while this run writes the destinations.
      if (command === 'ListAccessKeys' && created === 1) {
        created++;
        userKey(iam, 'AKIARACER00000000009', 0);
      }
      if (command === 'CreateAccessKey') created++;
    });
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'create-user': 'if-missing' },
      env: ENV,
    });
    expect(result.rotated).toBe(false);
    expect(result.error?.message).toMatch(/IAM lists key\(s\) AKIARACER00000000009 that appeared during this run: another rotation/);
    expect(result.error?.message).toContain('Nothing was retired');
    expect(iam.keys.has('AKIARACER00000000009')).toBe(true);
    expect(iam.keys.has(result.newKeyId as string)).toBe(true);
  });
});

/**
 * Issue 24, world 7: two IAM users configured onto one destination, their runs interleaved so that it ends with one
 * user's id and the other's secret. Alice writes her id; Bob writes his id and his secret, reads them back (they are
 * his), hands over and retires his old key; then Alice's secret lands. Alice's run can see the tear: the id it wrote
 * was rewritten after it, its own secret is still there. It must say the destination is broken and what to do, not
 * "what it holds is not known"; Bob's run says it rotated, true of what it read back.
 */
describe('issue 24, world 7: two IAM users on one destination, interleaved', () => {
  const ALICE_OLD = 'AKIAALICEOLD00000001';
  const BOB_OLD = 'AKIABOBOLD0000000001';
  const ID_PUT = 'PUT /repos/octo/shared/actions/secrets/AWS_ACCESS_KEY_ID';
  const SECRET_PUT = 'PUT /repos/octo/shared/actions/secrets/AWS_SECRET_ACCESS_KEY';

  /** `github` as one run sees it: `gate` runs before each of its requests (and may hold it), `after` once answered. */
  const seenBy = (github: MemoryGitHub, gate: (route: string) => Promise<void> | void, after: (route: string) => void = () => {}): MemoryGitHub => {
    const gh: GitHubApi = {
      ...github.gh,
      request: async (route, params) => {
        await gate(route);
        const res = await github.gh.request(route, params);
        after(route);
        return res;
      },
    };
    return { ...github, gh };
  };

  it("the run whose id was rewritten after it and whose secret is the last write says the destination holds a torn pair, and what to do", async () => {
    let now = '2026-11-27T12:00:00Z';
    const github = await memoryGitHub(['octo/shared'], { dates: true, now: () => now });
    const alice = memoryIam({ user: 'alice' });
    const bob = memoryIam({ user: 'bob' });
    github.hold(userKey(alice, ALICE_OLD), 'octo/shared');
    // Bob's IAM makes its keys after one it threw away: his new key is not named like Alice's.
    const thrown = (await bob.iam.send(new CreateAccessKeyCommand({ UserName: 'bob' }))) as { AccessKey?: { AccessKeyId?: string } };
    bob.keys.delete(thrown.AccessKey?.AccessKeyId as string);
    userKey(bob, BOB_OLD);

    let aliceIdWritten: () => void = () => {};
    const aliceId = new Promise<void>((resolve) => (aliceIdWritten = resolve));
    let bobDone: () => void = () => {};
    const bobFinished = new Promise<void>((resolve) => (bobDone = resolve));
    let bobFirst = true;
    const forAlice = seenBy(
      github,
      async (route) => {
        if (route === SECRET_PUT) {
          await bobFinished;
          now = '2026-11-27T12:00:06Z';
        }
      },
      (route) => route === ID_PUT && aliceIdWritten(),
    );
    const forBob = seenBy(github, async (route) => {
      if (route === ID_PUT && bobFirst) {
        bobFirst = false;
        await aliceId;
        now = '2026-11-27T12:00:03Z';
      }
    });

    const inputs = (user: string) => ({ 'iam-user-name': user, repositories: 'octo/shared' });
    const aliceRun = memoryRotation(alice, forAlice, { as: ADMIN, inputs: inputs('alice'), env: { ...ENV, GITHUB_RUN_ID: '71' } });
    const bobRun = memoryRotation(bob, forBob, { as: ADMIN, inputs: inputs('bob'), env: { ...ENV, GITHUB_RUN_ID: '72' } }).finally(() => bobDone());
    const [a, b] = await Promise.all([aliceRun, bobRun]);

    const aliceNew = a.result.newKeyId as string;
    const bobNew = b.result.newKeyId as string;
    // The end state: Bob's id with Alice's secret (a pair of two keys of two users).
    expect(aliceNew).not.toBe(bobNew);
    expect(github.pair('octo/shared')).toEqual({ accessKeyId: bobNew, secretAccessKey: 'memory-secret-1' }); // Alice's new secret

    // Bob read back his own pair: he rotated, and says so (true of what he read back).
    expect(b.result.error).toBeUndefined();
    expect(b.result.rotated).toBe(true);
    expect([...bob.keys.keys()]).toEqual([bobNew]);

    // Alice sees the tear: broken, what to do, and nothing retired.
    expect(a.result.rotated).toBe(false);
    expect(a.result.error?.message).toBe(
      `octo/shared was written (or emptied) by someone else after this run wrote ${aliceNew} there (GitHub's updated_at is ` +
        'later than this run\'s write): another rotation of this user, or of another IAM user configured onto the same ' +
        'destination, is at work. Nothing was retired: make sure one rotation (one IAM user) writes each destination, then ' +
        `rerun. Every key stays Active (${aliceNew}, ${ALICE_OLD}). Destinations: octo/shared: TORN when read back: its ` +
        'AWS_ACCESS_KEY_ID was written (or removed) by someone else after this run wrote it, its AWS_SECRET_ACCESS_KEY is ' +
        `still this run's (${aliceNew}): not one key's pair, so it does not work until one rotation writes both (a rotation ` +
        'that read it back before this run wrote may have reported success).',
    );
    expect(a.result.error?.message).not.toContain('not known');
    expect(a.result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['torn', undefined]]);
    expect([...alice.keys.values()].map((k) => [k.id, k.status])).toEqual([
      [ALICE_OLD, 'Active'],
      [aliceNew, 'Active'],
    ]);
  });
});

describe("IAM's 50-tag quota when the handover is recorded (issue 20, a smaller one)", () => {
  it('is said as the tag quota, with room to make as the advice, never a missing permission', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    // 47 tags of others: the lease (48), the create marker (49) and the new key's record (50) fit; the handover's
    // superseded record does not.
    for (let i = 1; i <= 47; i++) iam.tags.set(`team-${i}`, `value ${i}`);
    iam.before((command, _n, input) => {
      if (command !== 'TagUser') return;
      const added = (input.Tags as { Key: string }[]).filter((t) => !iam.tags.has(t.Key)).length;
      if (iam.tags.size + added > 50) throw Object.assign(awsFailure('LimitExceeded', 409), { message: 'Cannot exceed quota for TagsPerUser: 50' });
    });
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api', 'retire-after-hours': '24' },
      env: ENV,
    });
    expect(result.error?.message).toMatch(/recording the handover in IAM failed \(iam:TagUser .*limit of 50 tags per user/);
    expect(result.error?.message).toContain('Remove user tags you do not need (IAM allows 50), then retire them by hand');
    expect(result.error?.message).not.toMatch(/Grant iam:TagUser/);
    // Every destination holds the new key; the previous key stays Active (nothing retires it on a missing record).
    expect(github.pair('octo/api')?.accessKeyId).toBe(result.newKeyId);
    expect(iam.keys.get(OLD)?.status).toBe('Active');
  });
});
