/**
 * A rerun finishes the job (issue 20): a run interrupted anywhere — cancelled (SIGINT) or killed (SIGKILL: nothing of
 * it runs after) — is finished by one plain rerun, attempt n+1 of the same workflow run with the same inputs. Each
 * world is judged by its end state: the rerun exits 0, the user has one Active key, every destination holds it, no key
 * a holder used was destroyed, and what either run said is true.
 */
import { describe, expect, it } from '@jest/globals';
import { Cancellation } from '../src/shared/cancel.js';
import { LEASE_TAG } from '../src/rotation/lease.js';
import type { MemoryIam } from './support/memory-iam.js';
import { type MemoryGitHub, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const OLD = 'AKIAOLD0000000000001';
const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const attempt = (n: number) => ({ GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: String(n) });
/** A week before the memory world's clock: when the destinations were last written, before this rotation. */
const LAST_WEEK = '2026-11-20T12:00:00Z';
const never = () => new Promise<void>(() => {});

async function world(repos: string[]) {
  const iam = memoryIam();
  const github = await memoryGitHub(repos);
  const old = userKey(iam, OLD);
  github.hold(old, ...repos);
  for (const r of repos) for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) github.updatedAt.set(`${r}/${n}`, LAST_WEEK);
  return { iam, github, old };
}

/** The end state every world must reach: one Active key, held by every destination. */
function converged(iam: MemoryIam, github: MemoryGitHub, repos: string[]): string {
  const keys = [...iam.keys.values()];
  expect(keys.map((k) => k.status)).toEqual(['Active']);
  const [only] = keys;
  for (const r of repos) expect(github.pair(r)?.accessKeyId).toBe(only.id);
  expect(iam.tags.has(LEASE_TAG)).toBe(false);
  return only.id;
}

/** Cancel the run (SIGINT) as secret write number `writes + 1` starts: the pair under way is finished, no other. */
function cancelAfterWrites(github: MemoryGitHub, writes: number): Cancellation {
  const cancel = new Cancellation();
  let puts = 0;
  github.before((method, path) => {
    if (method === 'PUT' && path.includes('/secrets/') && ++puts > writes) cancel.cancel('SIGINT');
  });
  return cancel;
}

describe('self-rotation cancelled after the job\'s own repository got the new key (world 1)', () => {
  it('the rerun signs in with the new key, gives it to every destination, retires the old one: exit 0', async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github, old } = await world(repos);
    // The cancel arrives mid-pair, as octo/api (the job's own repository) gets the new pair: octo/web is not written.
    const cancel = cancelAfterWrites(github, 0);
    const first = await memoryRotation(iam, github, { as: old, inputs: { repositories: repos.join(',') }, env: attempt(1), cancel });
    const fresh = first.result.newKeyId as string;
    expect(first.result.cancelled).toBe(true);
    expect(github.pair('octo/api')?.accessKeyId).toBe(fresh);
    expect(github.pair('octo/web')?.accessKeyId).toBe(OLD);
    // What the cancelled run promised is what the rerun does.
    expect(first.result.error?.message).toContain(
      `a self-rotation that signs in with ${fresh} (this job's own secret got it) gives it to every destination and retires ${OLD}`,
    );
    github.before(() => {});

    // "Re-run failed jobs": attempt 2, which reads the job's own secret: the new key.
    const rerun = await memoryRotation(iam, github, {
      as: github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string },
      inputs: { repositories: repos.join(',') },
      env: attempt(2),
      signedUse: true,
    });

    expect(rerun.result.error?.message).toBeUndefined();
    expect(converged(iam, github, repos)).toBe(fresh);
    expect(rerun.result).toMatchObject({ rotated: true, accessKeyId: fresh, newKeyId: fresh });
    expect(rerun.result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
    expect(rerun.result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'written', fresh],
      ['octo/web', 'written', fresh],
    ]);
    // No key was made: the rerun finished the earlier rotation.
    expect(iam.calls.filter((c) => c === 'CreateAccessKey')).toHaveLength(1);
    expect(rerun.io.lines).toContainEqual(expect.stringContaining(`this run finishes that rotation (every destination gets ${fresh}`));
    // The handover is recorded on the key the destinations hold.
    expect(iam.tags.get(fresh)).toMatch(/handover=/);
  });

  it('the same when the earlier attempt was killed (nothing of it ran after the job\'s own pair was written)', async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github, old } = await world(repos);
    let puts = 0;
    github.before((method, path) => (method === 'PUT' && path.includes('/secrets/') && ++puts > 2 ? never() : undefined));
    void memoryRotation(iam, github, { as: old, inputs: { repositories: repos.join(',') }, env: attempt(1) });
    await new Promise((r) => setTimeout(r, 50));
    const fresh = github.pair('octo/api')?.accessKeyId as string;
    expect(fresh).not.toBe(OLD);
    expect(iam.tags.has(LEASE_TAG)).toBe(true); // the killed run's lease is left behind
    github.before(() => {});

    const rerun = await memoryRotation(iam, github, {
      as: github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string },
      inputs: { repositories: repos.join(',') },
      env: attempt(2),
    });

    expect(rerun.result.error?.message).toBeUndefined();
    expect(converged(iam, github, repos)).toBe(fresh);
    expect(rerun.result.previous).toEqual([{ id: OLD, action: 'deleted' }]);
  });

  it('a run that is no later attempt of the one that made the key does not finish it while that run may still be at work', async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github, old } = await world(repos);
    const cancel = cancelAfterWrites(github, 0);
    await memoryRotation(iam, github, { as: old, inputs: { repositories: repos.join(',') }, env: attempt(1), cancel });
    github.before(() => {});
    const fresh = github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string };

    // Another workflow run (run id 43), minutes later: GitHub does not say run 42 ended, and the key is young.
    const other = await memoryRotation(iam, github, {
      as: fresh,
      inputs: { repositories: repos.join(',') },
      env: { ...attempt(1), GITHUB_RUN_ID: '43' },
    });

    expect(other.result.error?.message).toMatch(/Nothing was changed\.$/);
    expect([...iam.keys.keys()].sort()).toEqual([OLD, fresh.accessKeyId].sort());
  });
});

describe('self-rotation cancelled before the job\'s own repository got the new key (world 1, the old key)', () => {
  it('the rerun signs in with the old key, moves the destinations off the new one, deletes it and rotates: exit 0', async () => {
    const repos = ['octo/web', 'octo/api'];
    const { iam, github, old } = await world(repos);
    const cancel = cancelAfterWrites(github, 0); // octo/web got the new pair; octo/api (the job's own) did not
    const first = await memoryRotation(iam, github, { as: old, inputs: { repositories: repos.join(',') }, env: attempt(1), cancel });
    const orphan = first.result.newKeyId as string;
    expect(github.pair('octo/web')?.accessKeyId).toBe(orphan);
    expect(first.result.error?.message).toContain(`one that signs in with ${OLD} gives ${OLD} to every destination that may hold ${orphan}`);
    github.before(() => {});

    const rerun = await memoryRotation(iam, github, { as: old, inputs: { repositories: repos.join(',') }, env: attempt(2) });

    expect(rerun.result.error?.message).toBeUndefined();
    const now = converged(iam, github, repos);
    expect([OLD, orphan]).not.toContain(now);
    expect(rerun.result.previous).toEqual([
      { id: orphan, action: 'deleted as an orphan' },
      { id: OLD, action: 'deleted' },
    ]);
  });
});

describe("a rotator's rerun after a killed run (worlds 2 and 3)", () => {
  it('deletes the killed run\'s orphan (held by no destination, never used), not the key the destinations hold, and rotates', async () => {
    const repos = ['octo/api'];
    const { iam, github } = await world(repos);
    // Killed at its first secret write: its new key exists, recorded, held by nothing.
    github.before((method, path) => (method === 'PUT' && path.includes('/secrets/') ? never() : undefined));
    void memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' }, env: attempt(1) });
    await new Promise((r) => setTimeout(r, 50));
    const orphan = [...iam.keys.keys()].find((k) => k !== OLD) as string;
    expect(orphan).toBeDefined();
    github.before(() => {});

    const rerun = await memoryRotation(iam, github, { as: ADMIN, inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api' }, env: attempt(2) });

    expect(rerun.result.error?.message).toBeUndefined();
    const now = converged(iam, github, repos);
    expect([OLD, orphan]).not.toContain(now);
    expect(rerun.result.plan?.action === 'rotate' && rerun.result.plan.orphan?.key.id).toBe(orphan);
    expect(rerun.result.previous).toEqual([
      { id: orphan, action: 'deleted as an orphan' },
      { id: OLD, action: 'deleted' },
    ]);
    expect(rerun.io.lines.join('\n')).not.toContain('key-limit: delete-oldest');
  });

  it('attempt n+1 proves attempt n ended: a bootstrap killed before its handover is finished without Actions: read', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    // Attempt 1 creates the user's first key, writes it, and is killed as it records the handover.
    iam.before((command) => (command === 'TagUser' && iam.keys.size > 0 && [...github.secrets.get('octo/api')?.keys() ?? []].length === 2 ? never() : undefined));
    void memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'create-user': 'if-missing' },
      env: attempt(1),
    });
    await new Promise((r) => setTimeout(r, 50));
    const first = github.pair('octo/api')?.accessKeyId as string;
    expect([...iam.keys.keys()]).toEqual([first]);
    iam.before(() => {});
    // GitHub is not asked (no Actions: read): every run-status read fails.
    github.before((_method, path) => {
      if (path.includes('/actions/runs/')) throw Object.assign(new Error('Resource not accessible by integration'), { status: 403 });
    });

    const rerun = await memoryRotation(iam, github, {
      as: ADMIN,
      inputs: { 'iam-user-name': 'deployer', repositories: 'octo/api', 'create-user': 'if-missing' },
      env: attempt(2),
    });

    expect(rerun.result.error?.message).toBeUndefined();
    const now = converged(iam, github, ['octo/api']);
    expect(now).not.toBe(first);
    expect(rerun.result.previous).toEqual([{ id: first, action: 'deleted' }]);
  });
});

describe('a key no tag names: the create marker (the kill between CreateAccessKey and its record)', () => {
  const REPOS = ['octo/api', 'octo/web'];
  const PERSON = 'AKIAPERSON0000000009';

  // Issue 24 (world 1): a marker and a time window are evidence a person can produce too: such a key is deactivated
  // (reversible, the command that undoes it said), never deleted; the run after deletes it to make room, and rotates.
  it("CreateAccessKey's answer lost: the run says a rerun deactivates the key if it made it; the rerun does, and the next one rotates", async () => {
    const { iam, github, old } = await world(REPOS);
    let made: string | undefined;
    iam.before((command) => {
      if (command !== 'CreateAccessKey' || made) return;
      made = 'AKIALOST000000000007';
      iam.keys.set(made, { id: made, status: 'Active', created: new Date('2026-11-27T12:00:00Z') });
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });
    const first = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(1) });
    expect(first.result.error?.message).toContain(`Key(s) ${made} appeared during this run and were left alone`);
    expect(first.result.error?.message).toContain('if this run made it, a rerun deactivates it');
    iam.before(() => {});
    const rerun = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(2) });
    expect(rerun.result.error?.message).toBeUndefined();
    expect(rerun.result.previous).toEqual([{ id: made, action: 'deactivated' }]);
    expect(iam.keys.get(made as string)?.status).toBe('Inactive');
    expect(rerun.io.warnings.join('\n')).toContain(`To undo: aws iam update-access-key --user-name deployer --access-key-id ${made} --status Active`);
    expect(rerun.io.warnings.join('\n')).toContain('A later run deletes it to make room (key-limit: delete-inactive) and rotates');
    const next = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(3) });
    expect(next.result.error?.message).toBeUndefined();
    expect(next.result.previous).toEqual(expect.arrayContaining([{ id: made, action: 'deleted to make room' }]));
    expect(converged(iam, github, REPOS)).not.toBe(made);
  });

  it('a destination written in the same second as that key: a self-rotation gives it its own pair first, then deactivates the key', async () => {
    const { iam, github, old } = await world(REPOS);
    const lost = 'AKIALOST000000000007';
    iam.before((command) => {
      if (command !== 'CreateAccessKey' || iam.keys.has(lost)) return;
      iam.keys.set(lost, { id: lost, status: 'Active', created: new Date('2026-11-27T12:00:00Z') });
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });
    await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(1) });
    iam.before(() => {});
    // Someone wrote octo/web in that second: it may hold that key, as far as IAM's and GitHub's facts tell.
    for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) github.updatedAt.set(`octo/web/${n}`, '2026-11-27T12:00:00Z');
    const rerun = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(2) });
    expect(rerun.result.error?.message).toBeUndefined();
    expect(rerun.io.lines.join('\n')).toContain(`octo/web: now holds ${OLD} (it may have held a key this run retires)`);
    expect(rerun.result.previous).toEqual([{ id: lost, action: 'deactivated' }]);
    for (const r of REPOS) expect(github.pair(r)?.accessKeyId).toBe(OLD);
    const next = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(3) });
    expect(next.result.error?.message).toBeUndefined();
    converged(iam, github, REPOS);
  });

  it("a person's key made just before the create, which IAM then refuses (two keys): the marker goes, no rerun deletes it", async () => {
    const { iam, github, old } = await world(REPOS);
    iam.before((command) => {
      if (command !== 'CreateAccessKey') return;
      iam.keys.set(PERSON, { id: PERSON, status: 'Active', created: new Date('2026-11-27T12:00:00Z') });
      throw Object.assign(new Error('Cannot exceed quota for AccessKeysPerUser: 2'), { name: 'LimitExceeded', $metadata: { httpStatusCode: 409 } });
    });
    const first = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(1) });
    expect(first.result.error?.message).not.toContain('a rerun deletes it');
    iam.before(() => {});
    const rerun = await memoryRotation(iam, github, { as: old, inputs: { repositories: REPOS.join(',') }, env: attempt(2) });
    // The person's key is never taken for the failed run's: the rerun stops on it, changing nothing.
    expect(rerun.result.error?.message).toContain(`nothing proves who holds ${PERSON}`);
    expect(rerun.result.error?.message).toMatch(/Nothing was changed\.$/);
    expect(iam.keys.has(PERSON)).toBe(true);
  });
});
