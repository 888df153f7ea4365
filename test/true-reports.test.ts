/**
 * What the run reports must be true (issue 20): a read that failed is never reported as "no keys" or "never used", and
 * a destination is never said to hold a key the run does not know it holds. Whole runs on the in-memory world
 * (test/support/memory-world.ts), read through the outputs and the summary model as the workflow sees them.
 */
import { describe, expect, it } from '@jest/globals';
import { readInputs } from '../src/config/inputs.js';
import { outputs, summaryModel } from '../src/action/outputs.js';
import type { RotationResult } from '../src/rotation/result.js';
import { reader } from './support/harness.js';
import { awsFailure } from './support/memory-iam.js';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const OLD = 'AKIAOLD0000000000001';

const inputsOf = (raw: Record<string, string>) => readInputs(reader(raw), {});
const facts = (r: RotationResult) => Object.fromEntries(summaryModel(r).facts);

describe('the keys at the end of the run', () => {
  it('ListAccessKeys throttled after the delete: the rotation stands, the keys output is null (unknown), the summary and a warning say why', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    github.hold(userKey(iam, OLD), 'octo/api');
    iam.before((command) => {
      if (command === 'ListAccessKeys' && iam.calls.includes('DeleteAccessKey')) throw awsFailure('Throttling', 400);
    });
    const raw = { 'iam-user-name': 'deployer', repositories: 'octo/api' };

    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw });

    expect(result.error).toBeUndefined();
    expect(result.rotated).toBe(true);
    expect(result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
    const out = outputs(result, inputsOf(raw));
    expect(out.keys).toBe('null');
    expect(JSON.parse(out.keys)).toBeNull();
    expect(out['access-key-id']).toBe(result.newKeyId);
    const model = summaryModel(result);
    expect(model.keysListed).toBe(false);
    expect(model.keys).toEqual([]);
    expect(facts(result)['Access keys']).toMatch(/^could not be listed at the end of the run: iam:ListAccessKeys on IAM user deployer failed: /);
    expect(facts(result).Result).toBe('rotated');
    expect(io.warnings.filter((w) => w.includes('could not be listed at the end of the run'))).toHaveLength(1);
  });

  it('keys listed at the end: [] only when the user really has none is never confused with unknown', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    github.hold(userKey(iam, OLD), 'octo/api');
    const raw = { 'iam-user-name': 'deployer', repositories: 'octo/api' };
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw });
    expect(result.keysUnread).toBeUndefined();
    expect(summaryModel(result).keysListed).toBe(true);
    expect((JSON.parse(outputs(result, inputsOf(raw)).keys) as { id: string }[]).map((k) => k.id)).toEqual([result.newKeyId, OLD]);
  });

  it('GetAccessKeyLastUsed denied at the end: lastUsed is "unknown" in the output and the summary, never null / never', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    github.hold(userKey(iam, OLD), 'octo/api');
    iam.before((command) => {
      if (command === 'GetAccessKeyLastUsed' && iam.calls.includes('DeleteAccessKey')) throw awsFailure('AccessDenied', 403);
    });
    const raw = { 'iam-user-name': 'deployer', repositories: 'octo/api' };

    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw });

    expect(result.error).toBeUndefined();
    const keys = JSON.parse(outputs(result, inputsOf(raw)).keys) as { id: string; lastUsed: unknown }[];
    const fresh = keys.find((k) => k.id === result.newKeyId);
    expect(fresh?.lastUsed).toBe('unknown');
    const row = summaryModel(result).keys.find((r) => r[0] === result.newKeyId);
    expect(row?.[3]).toBe('unknown');
    expect(io.warnings.some((w) => w.startsWith(`could not read when ${result.newKeyId} was last used`))).toBe(true);
  });
});

describe('a dry run says which key each destination holds', () => {
  it('only a destination holding both secrets is taken to hold the current key; the summary names who holds what', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/web', 'octo/ops']);
    const old = userKey(iam, OLD);
    github.hold(old, 'octo/api');
    github.secrets.get('octo/ops')?.set('AWS_ACCESS_KEY_ID', OLD); // one of the two secrets only
    const raw = { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web,octo/ops', 'dry-run': 'true' };

    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw });

    expect(result.error).toBeUndefined();
    expect(io.lines).toContain('octo/web: public key kid-1, holds neither secret');
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'would write', OLD],
      ['octo/web', 'would write', undefined],
      ['octo/ops', 'would write', undefined],
    ]);
    expect(summaryModel(result).rows.map((r) => r[3])).toEqual([OLD, '—', '—']);
    const f = facts(result);
    expect(f['Key the destinations hold']).toBeUndefined();
    expect(f[`Destinations holding ${OLD}`]).toBe('octo/api');
    expect(f['Destinations holding no key this run knows of']).toBe('octo/web, octo/ops');
  });

  it('every destination holding both secrets: the one fact, as before', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/web']);
    github.hold(userKey(iam, OLD), 'octo/api', 'octo/web');
    const { result } = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web', 'dry-run': 'true' },
    });
    expect(result.destinations.map((d) => d.keyId)).toEqual([OLD, OLD]);
    const f = facts(result);
    expect(f['Key the destinations hold']).toBe(OLD);
    expect(Object.keys(f).filter((k) => k.startsWith('Destinations holding'))).toEqual([]);
  });
});

describe('a skip claims the current key only where nothing contradicts it', () => {
  const CUR = 'AKIACUR0000000000001';
  /** A current key 5 days old, handed over by an earlier run 5 s after it was made; octo/api written in between. */
  async function handedOverWorld() {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/web']);
    const cur = userKey(iam, CUR, 5);
    const made = (iam.keys.get(CUR)?.created ?? new Date(0)).getTime();
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    iam.tags.set(CUR, `rotate-aws-access-key: created=${iso(made)} handover=${iso(made + 5_000)} by=octo/a/1/1`);
    github.hold(cur, 'octo/api', 'octo/web');
    for (const r of ['octo/api', 'octo/web']) {
      for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) github.updatedAt.set(`${r}/${n}`, iso(made + 3_000));
    }
    return { iam, github, made, iso };
  }
  const raw = { 'iam-user-name': 'deployer', repositories: 'octo/api,octo/web', 'max-age-days': '30' };

  it('every destination written by the run that handed the key over: skips, and access-key-id is the current key', async () => {
    const { iam, github } = await handedOverWorld();
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw });
    expect(result.plan?.action).toBe('skip');
    expect(outputs(result, inputsOf(raw))['access-key-id']).toBe(CUR);
    expect(facts(result)['Key the destinations hold']).toBe(CUR);
  });

  it("a destination written after the current key's handover (another rotation wrote it): rotates, and no output claims it held the current key", async () => {
    const { iam, github, made, iso } = await handedOverWorld();
    // Another user's rotation wrote octo/web two days later: what it holds now is not this user's key.
    github.hold({ accessKeyId: 'AKIASOMEONEELSE00001', secretAccessKey: 'theirs' }, 'octo/web');
    for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) github.updatedAt.set(`octo/web/${n}`, iso(made + 2 * 86_400_000));

    const { result, io } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw });

    expect(result.error).toBeUndefined();
    expect(result.plan?.action).toBe('rotate');
    expect(result.plan?.reason).toBe(
      `destination(s) were written after the current key ${CUR} was handed over (${new Date(made + 5_000).toISOString()}, ` +
        'its record): nothing proves they hold it: octo/web',
    );
    const fresh = result.newKeyId as string;
    expect(outputs(result, inputsOf(raw))['access-key-id']).toBe(fresh);
    for (const r of ['octo/api', 'octo/web']) expect(github.pair(r)?.accessKeyId).toBe(fresh);
    expect(io.lines.some((l) => l.includes('nothing proves they hold it: octo/web'))).toBe(true);
  });
});

describe('a run that fails in preflight, after the keys were listed: access-key-id says the current key when it is certain', () => {
  // octo/gone is no repository of the world: its public key answers 404, and preflight fails before any change.
  const raw = (more: Record<string, string>) => ({ repositories: 'octo/api,octo/gone', ...more });

  it("self-rotation: the job's own key, which the keys listed; the summary claims no holder (the destinations were not all read)", async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    const own = userKey(iam, OLD);
    github.hold(own, 'octo/api');
    const { result } = await memoryRotation(iam, github, { as: own, inputs: raw({}), env: { GITHUB_REPOSITORY: 'octo/api' } });
    expect(result.error?.message).toContain('octo/gone');
    expect(result.error?.message).toContain('Nothing was changed.');
    expect(result.plan).toBeUndefined();
    expect(outputs(result, inputsOf(raw({})))['access-key-id']).toBe(OLD);
    expect(Object.keys(facts(result)).filter((k) => k.startsWith('Key the') || k.startsWith('Destinations holding'))).toEqual([]);
  });

  it("a rotator, the user's only Active key: that key", async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    userKey(iam, 'AKIAINACTIVE00000001', 200, 'Inactive');
    github.hold(userKey(iam, OLD), 'octo/api');
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw({ 'iam-user-name': 'deployer' }) });
    expect(result.error?.message).toContain('octo/gone');
    expect(outputs(result, inputsOf(raw({ 'iam-user-name': 'deployer' })))['access-key-id']).toBe(OLD);
  });

  it('a rotator, two Active keys: empty, since which one the destinations hold is what the plan would have judged', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    github.hold(userKey(iam, OLD), 'octo/api');
    userKey(iam, 'AKIASECOND0000000001', 1);
    const { result } = await memoryRotation(iam, github, { as: ADMIN, inputs: raw({ 'iam-user-name': 'deployer' }) });
    expect(result.error?.message).toContain('octo/gone');
    expect(outputs(result, inputsOf(raw({ 'iam-user-name': 'deployer' })))['access-key-id']).toBe('');
  });
});
