/**
 * Issue 9, rotation as AWS prescribes it, against moto (which records a key's last use on every signed request) and
 * the GitHub stand-in: provenance tags, staged retirement over two runs, a forgotten holder, the keys output, the dry
 * run, and a missing tag permission.
 */
import { describe, expect, it } from '@jest/globals';
import { GetAccessKeyLastUsedCommand, ListAccessKeysCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { summaryModel } from '../src/action/outputs.js';
import { heldPair, keysOf, repoScope, runRotation, seedPair } from './support/harness.js';
import { type Creds, authenticates, createUserWithKey, iamClient, requireMoto } from './support/moto.js';
import { useWorld } from './support/world.js';

requireMoto();
const world = useWorld();

async function tagsOf(user: string): Promise<Record<string, string>> {
  const out = await iamClient(world.moto, world.admin).send(new ListUserTagsCommand({ UserName: user }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

async function lastUsedMs(id: string): Promise<number> {
  const out = await iamClient(world.moto, world.admin).send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id }));
  return out.AccessKeyLastUsed?.LastUsedDate?.getTime() ?? 0;
}

/** A user whose key its own repository holds, then a first run that hands over and leaves the old key pending. */
async function handedOver(hours: string) {
  const user = world.fresh('staged');
  const old = await createUserWithKey(world.moto, world.admin, user);
  const repo = `octo/${user}`;
  world.gh.addRepository(repo);
  seedPair(world.gh, repoScope(repo), old);
  const env = { GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: '7' };
  // Real time (with instant sleeps), so the recorded handover and moto's last-use times are on one clock.
  const clock = { now: () => Date.now(), sleep: async () => {}, random: () => 0.5 };
  const first = await runRotation(world, { as: old, clock, inputs: { repositories: repo, 'retire-after-hours': hours }, env });
  expect(first.result.error).toBeUndefined();
  const fresh = heldPair(world.gh, repoScope(repo)) as Creds;
  return { user, old, repo, env, first, fresh };
}

const handoverOf = (tag: string) => Date.parse(/handover=(\S+)/.exec(tag)?.[1] ?? '');

describe('staged retirement (retire-after-hours)', () => {
  it('the first run hands over and leaves the previous key Active, attributed and pending', async () => {
    const { user, old, first, fresh } = await handedOver('0.001');
    expect(await keysOf(world, user)).toEqual([
      { id: old.accessKeyId, status: 'Active' },
      { id: fresh.accessKeyId, status: 'Active' },
    ]);
    expect(await authenticates(world.moto, old)).toBe(true);
    expect(first.result.previous).toEqual([{ id: old.accessKeyId, action: 'retire-pending' }]);
    const tags = await tagsOf(user);
    // The new key: when it was made and handed over, and GitHub's time of the run's last write; the old key: which key
    // superseded it, when, and the grace that handover chose (a later run with retire-after-hours 0 respects it).
    expect(tags[fresh.accessKeyId]).toMatch(/^rotate-aws-access-key: created=\S+Z handover=\S+Z written=\S+Z by=octo\/staged\d+\/7\/1$/);
    expect(tags[old.accessKeyId]).toMatch(
      new RegExp(`^rotate-aws-access-key: superseded-by=${fresh.accessKeyId} handover=\\S+Z retire-after=0.001 by=octo/staged\\d+/7/1$`),
    );
    // The keys output matches IAM: every key, its status, its description and fate, and its last use.
    const keys = first.result.keys ?? [];
    expect(keys.map((k) => [k.id, k.status, k.description, k.fate.replace(/ until .*/, '')])).toEqual([
      [old.accessKeyId, 'Active', tags[old.accessKeyId], 'retire-pending'],
      [fresh.accessKeyId, 'Active', tags[fresh.accessKeyId], 'new'],
    ]);
    const listed = await iamClient(world.moto, world.admin).send(new ListAccessKeysCommand({ UserName: user }));
    for (const k of listed.AccessKeyMetadata ?? []) {
      const report = keys.find((r) => r.id === k.AccessKeyId);
      expect(report?.created).toBe(k.CreateDate?.toISOString());
    }
    // The run signed its last calls with the new key: the old key's last use, as the run read it at its end, lies
    // before the handover (recorded in whole seconds). (This test's own authenticates(old) above used it since.)
    expect(keys[0].lastUsed).toMatchObject({ service: expect.any(String), region: expect.any(String) });
    expect(Date.parse((keys[0].lastUsed as { date: string }).date)).toBeLessThan(handoverOf(tags[fresh.accessKeyId]) + 1000);
  });

  it('a later run retires it once the handover and its last use are old enough, even when it skips the rotation', async () => {
    const { user, old, repo, env, fresh } = await handedOver('0.001'); // 3.6 s
    const tags = await tagsOf(user);
    // IAM's time moves on (moto's clock cannot be set): the handover and the last use are 10 s past due.
    const iamAheadMs = Math.max(handoverOf(tags[old.accessKeyId]), await lastUsedMs(old.accessKeyId)) + 10_000 - Date.now();
    const second = await runRotation(world, {
      as: fresh,
      iamAheadMs,
      inputs: { repositories: repo, 'retire-after-hours': '0.001', 'max-age-days': '30' },
      env,
    });
    expect(second.result.error).toBeUndefined();
    expect(second.result.plan?.action).toBe('skip');
    expect(second.io.lines.join('\n')).toMatch(
      new RegExp(`Deleted ${old.accessKeyId}: handed over to ${fresh.accessKeyId} and last used \\S+ \\(\\w+, us-east-1\\), both at least retire-after-hours ago`),
    );
    expect(await keysOf(world, user)).toEqual([{ id: fresh.accessKeyId, status: 'Active' }]);
    expect(Object.keys(await tagsOf(user))).toEqual([fresh.accessKeyId]); // the deleted key's tag went with it
    expect(second.result.keys?.map((k) => [k.id, k.status, k.fate])).toEqual([
      [fresh.accessKeyId, 'Active', 'current'],
      [old.accessKeyId, 'Deleted', 'deleted'],
    ]);
  });

  it('a forgotten holder that used the old key after the handover blocks its retirement, with a warning', async () => {
    const { user, old, repo, env, fresh } = await handedOver('0.01'); // 36 s
    await new Promise((r) => setTimeout(r, 2200));
    // Somebody the run did not know about still uses the old key.
    await iamClient(world.moto, old).send(new ListAccessKeysCommand({ UserName: user }));
    const handover = handoverOf((await tagsOf(user))[old.accessKeyId]);
    const used = await lastUsedMs(old.accessKeyId);
    expect(used).toBeGreaterThan(handover + 1000);
    // The handover is old enough; the last use is not.
    const second = await runRotation(world, {
      as: fresh,
      iamAheadMs: handover + 36_000 + 1000 - Date.now(),
      inputs: { repositories: repo, 'retire-after-hours': '0.01', 'max-age-days': '30' },
      env,
    });
    expect(second.result.error).toBeUndefined();
    expect(second.io.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${old.accessKeyId} was handed over to ${fresh.accessKeyId} at \\S+ but was last used \\S+ \\(iam, us-east-1\\): ` +
            'somebody still holds it, so it is not retired',
        ),
      ),
    ]);
    expect(await authenticates(world.moto, old)).toBe(true);
    const facts = summaryModel(second.result).facts.filter(([k]) => k === 'Pending retirement');
    expect(facts).toEqual([['Pending retirement', expect.stringMatching(new RegExp(`^${old.accessKeyId}: not before \\S+ — STILL IN USE`))]]);
  });

  it('a self-rotation that authenticates with the superseded key stops: its holder was never updated', async () => {
    const { user, old, repo, env, fresh } = await handedOver('1');
    const stale = await runRotation(world, { as: old, inputs: { repositories: repo, 'retire-after-hours': '1' }, env });
    expect(stale.result.error?.message).toMatch(
      new RegExp(
        `^this job authenticates with ${old.accessKeyId}, which an earlier run handed over to ${fresh.accessKeyId} at \\S+: ` +
          'the place this job reads its credentials from was not updated .*Nothing was changed\\.$',
      ),
    );
    expect(await keysOf(world, user)).toHaveLength(2);
    expect(heldPair(world.gh, repoScope(repo))).toEqual(fresh);
  });

  it('a rotation that needs room never deletes a key that is still pending', async () => {
    const { user, repo, env, fresh } = await handedOver('1');
    const forced = await runRotation(world, { as: fresh, inputs: { repositories: repo, 'retire-after-hours': '1' }, env });
    expect(forced.result.error?.message).toMatch(/no room for a new key: \S+ is pending retirement .*rerun once it is due, not before \S+ \(IAM time\).*Nothing was changed\.$/);
    expect(await keysOf(world, user)).toHaveLength(2);
  });

  it('the dry run shows what is pending and what is due', async () => {
    const { repo, env, fresh, old } = await handedOver('1');
    const dry = await runRotation(world, { as: fresh, inputs: { repositories: repo, 'retire-after-hours': '1', 'dry-run': 'true' }, env });
    expect(dry.result.error?.message).toMatch(/pending retirement/); // the plan needs room: says so, changes nothing
    expect(dry.io.lines.join('\n')).toContain(`${old.accessKeyId} is pending retirement (handed over to ${fresh.accessKeyId}): due at`);
    expect(summaryModel(dry.result).facts).toContainEqual(['Pending retirement', expect.stringMatching(new RegExp(`^${old.accessKeyId}: not before`))]);
  });

  it('a dry run plans as the real run would: a due key is retired first, so there is room', async () => {
    const { user, old, repo, env, fresh } = await handedOver('0.001');
    const tags = await tagsOf(user);
    // IAM's time moves on (moto's clock cannot be set): the handover and the last use are 10 s past due.
    const iamAheadMs = Math.max(handoverOf(tags[old.accessKeyId]), await lastUsedMs(old.accessKeyId)) + 10_000 - Date.now();
    const dry = await runRotation(world, { as: fresh, iamAheadMs, inputs: { repositories: repo, 'retire-after-hours': '0.001', 'dry-run': 'true' }, env });
    expect(dry.result.error).toBeUndefined();
    expect(dry.io.lines).toContain(`Dry run: would delete ${old.accessKeyId} (handed over and unused for 0.001 h)`);
    expect(dry.result.plan).toMatchObject({ action: 'rotate', makeRoom: undefined, orphan: undefined });
    expect(summaryModel(dry.result).facts).toContainEqual(['Due for retirement', `${old.accessKeyId}: would retire`]);
    expect(await keysOf(world, user)).toHaveLength(2); // nothing changed
  });

  it('without tag permissions: retire-after-hours > 0 stops before any change; 0 rotates with one warning', async () => {
    const user = world.fresh('notags');
    const noTags = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['iam:*AccessKey*', 'iam:GetUser', 'sts:GetCallerIdentity'], Resource: '*' }],
    };
    const old = await createUserWithKey(world.moto, world.admin, user, { policy: noTags });
    const repo = `octo/${user}`;
    world.gh.addRepository(repo);
    const staged = await runRotation(world, { as: old, inputs: { repositories: repo, 'retire-after-hours': '24' }, env: { GITHUB_REPOSITORY: repo } });
    expect(staged.result.error?.message).toMatch(/^retire-after-hours needs the user's tags .*Nothing was changed\.$/);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    const now = await runRotation(world, { as: old, inputs: { repositories: repo }, env: { GITHUB_REPOSITORY: repo } });
    expect(now.result.error).toBeUndefined();
    expect(now.io.warnings).toHaveLength(1);
    expect(now.io.warnings[0]).toMatch(/^could not take the lease/);
  });
});
