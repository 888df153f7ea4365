/**
 * Issue 24, the key side: worlds in which the action broke a key someone holds, left a rerun that never finishes, or
 * said something false (numbered as in the issue). Each runs whole rotations on the in-memory IAM and GitHub and is
 * judged by the end state (the user's keys, what each destination really holds: every sealed value is opened) and by
 * every sentence both runs printed.
 */
import { describe, expect, it } from '@jest/globals';
import { summaryModel, outputs } from '../src/action/outputs.js';
import { readInputs } from '../src/config/inputs.js';
import { CREATE_TAG } from '../src/keys/records.js';
import { LEASE_TAG } from '../src/rotation/lease.js';
import { reader } from './support/harness.js';
import type { MemoryIam } from './support/memory-iam.js';
import { failure } from './support/scripted-github.js';
import { type MemoryGitHub, type MemoryRun, memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const OLD = 'AKIAOLD0000000000001';
const PERSON = 'AKIAPERSON0000000001';
const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret' };
const IAM_NOW = Date.parse('2026-11-27T12:00:00Z');
const LAST_WEEK = '2026-11-20T12:00:00Z';
const HOUR = 3_600_000;
const attempt = (n: number) => ({ GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: String(n) });
const never = () => new Promise<void>(() => {});
const settle = () => new Promise((r) => setTimeout(r, 30));
const undo = (id: string) => `aws iam update-access-key --user-name deployer --access-key-id ${id} --status Active`;

/** A user deployer with OLD (100 days old), held by every repository, written last week. */
async function world(repos: string[], opts: { dates?: boolean } = {}) {
  const iam = memoryIam();
  const github = await memoryGitHub(repos, opts);
  const old = userKey(iam, OLD);
  github.hold(old, ...repos);
  for (const r of repos) written(github, r, LAST_WEEK);
  return { iam, github, old };
}

/** Say when both secrets of `scope` were last written (GitHub's updated_at). */
function written(github: MemoryGitHub, scope: string, at: string): void {
  for (const n of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) github.updatedAt.set(`${scope}/${n}`, at);
}

/**
 * Let `ms` pass: every time the world holds (keys' CreateDate and last use, the times in the user's tags, the
 * destinations' updated_at) moves `ms` into the past, as if the next run started that much later.
 */
function age(iam: MemoryIam, github: MemoryGitHub, ms: number): void {
  const back = (iso: string) => new Date(Date.parse(iso) - ms).toISOString().replace('.000Z', 'Z');
  for (const k of iam.keys.values()) {
    k.created = new Date(k.created.getTime() - ms);
    if (k.lastUsed) k.lastUsed = { ...k.lastUsed, date: back(k.lastUsed.date) };
  }
  for (const [k, v] of iam.tags) iam.tags.set(k, v.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, back));
  for (const [scope, held] of github.secrets) {
    for (const name of held.keys()) github.updatedAt.set(`${scope}/${name}`, back(github.updatedAt.get(`${scope}/${name}`) ?? '2026-11-27T12:00:00Z'));
  }
}

/** Everything a run printed: info lines, warnings and the error. */
const said = (run: MemoryRun) => [...run.io.lines, ...run.io.warnings, run.result.error?.message ?? ''].join('\n');
const keyState = (iam: MemoryIam) => [...iam.keys.values()].map((k) => `${k.id} ${k.status}`).sort();

const rotatorInputs = (repos: string[], extra: Record<string, string> = {}) => ({ 'iam-user-name': 'deployer', repositories: repos.join(','), ...extra });
const selfInputs = (repos: string[], extra: Record<string, string> = {}) => ({ repositories: repos.join(','), ...extra });

/** Kill the run for good just before the first request `when` says yes to (nothing of it runs after). */
function killBefore(iam: MemoryIam, github: MemoryGitHub, when: (what: string) => boolean): void {
  let killed = false;
  const step = (what: string) => {
    if (killed || when(what)) {
      killed = true;
      return never();
    }
    return undefined;
  };
  iam.before((command) => step(`IAM ${command}`));
  github.before((method, path) => step(`GitHub ${method} ${path}`));
}

function revive(iam: MemoryIam, github: MemoryGitHub): void {
  iam.before(() => {});
  github.before(() => {});
}

// ---- 1. a marker and a time window are no proof a delete may rest on ---------------------------------------------

describe('1. a key made by a person in the create marker\'s window is never deleted', () => {
  it("a killed run's marker, then a person makes a key in the console a minute later: the rerun does not delete it", async () => {
    const repos = ['octo/api'];
    const { iam, github } = await world(repos);
    // Attempt 1 marks the user and is killed as it sends CreateAccessKey (IAM never made its key).
    killBefore(iam, github, (w) => w === 'IAM CreateAccessKey');
    void memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });
    await settle();
    const marker = iam.tags.get(CREATE_TAG) as string;
    expect(marker).toMatch(/^by=octo\/api\/42\/1 at=/);
    const markedAt = Date.parse(/at=(\S+)/.exec(marker)?.[1] ?? '');
    revive(iam, github);
    // A person makes a key in the console, no tag: IAM's CreateDate is a minute after the marker.
    iam.keys.set(PERSON, { id: PERSON, status: 'Active', created: new Date(markedAt + 60_000) });
    // The rerun, five minutes later.
    age(iam, github, 5 * 60_000);

    const rerun = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(2) });

    expect(iam.keys.has(PERSON)).toBe(true);
    expect(said(rerun)).not.toContain(`Deleted ${PERSON}`);
    // At most a reversible step, and the message gives the one command that undoes it, and how the rotation finishes.
    expect(iam.keys.get(PERSON)?.status).toBe('Inactive');
    expect(rerun.result.previous).toEqual([{ id: PERSON, action: 'deactivated' }]);
    expect(said(rerun)).toContain(`To undo: ${undo(PERSON)}`);
    expect(said(rerun)).toContain("it may be the key that run made before it was stopped, or a key someone made then");
    expect(said(rerun)).toContain('A later run deletes it to make room (key-limit: delete-inactive) and rotates, unless someone makes it Active again');
    // No room for a new key in this run: it says so and changes nothing else; the destination holds a key that works.
    expect(rerun.result.error).toBeUndefined();
    expect(rerun.result.plan?.action).toBe('skip');
    expect(rerun.result.plan?.reason).toContain(`no room for a new key in this run: ${PERSON} was deactivated by this run`);
    expect(github.pair('octo/api')?.accessKeyId).toBe(OLD);
    expect(iam.keys.get(OLD)?.status).toBe('Active');
    expect(iam.tags.has(CREATE_TAG)).toBe(false);
  });

  it('a marker anyone with iam:TagUser wrote, two hours old, and a person\'s unused key made in its window: not deleted', async () => {
    const repos = ['octo/api'];
    const { iam, github } = await world(repos);
    const at = IAM_NOW - 2 * HOUR;
    iam.tags.set(CREATE_TAG, `by=octo/other/7/1 at=${new Date(at).toISOString().replace('.000Z', 'Z')} keys=${OLD}`);
    iam.keys.set(PERSON, { id: PERSON, status: 'Active', created: new Date(at + 30_000) });

    const run = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });

    expect(iam.keys.has(PERSON)).toBe(true);
    expect(said(run)).not.toContain(`Deleted ${PERSON}`);
    expect(iam.keys.get(PERSON)?.status).toBe('Inactive');
    expect(said(run)).toContain(`To undo: ${undo(PERSON)}`);
    // The run that made it Inactive never deletes it; a person who undoes it gets a key every run then stops on.
    iam.keys.get(PERSON)!.status = 'Active';
    const after = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(2) });
    expect(iam.keys.get(PERSON)?.status).toBe('Active');
    expect(after.result.error?.message).toContain('this run deletes no key on a guess');
    expect(keyState(iam)).toEqual([`${OLD} Active`, `${PERSON} Active`]);
  });
});

// ---- 4. the old key deleted by a person during a self-rotation's fan-out ------------------------------------------

describe('4. a person deletes the old key during a self-rotation\'s fan-out', () => {
  it('the run goes forward with the verified new key: every destination holds it, nothing false is said', async () => {
    const repos = ['octo/api', 'octo/web', 'octo/ops'];
    const { iam, github, old } = await world(repos);
    let deleted = false;
    github.before((method, path) => {
      if (!deleted && method === 'PUT' && path === '/repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID') {
        deleted = iam.keys.delete(OLD);
      }
    });

    const run = await memoryRotation(iam, github, { as: old, inputs: selfInputs(repos), env: attempt(1), signedUse: true });

    expect(deleted).toBe(true);
    const keys = [...iam.keys.values()];
    expect(keys.map((k) => k.status)).toEqual(['Active']);
    const fresh = keys[0].id;
    expect(fresh).not.toBe(OLD);
    // Every destination holds the new key, which works; none was given the deleted key back.
    for (const r of repos) expect(github.pair(r)?.accessKeyId).toBe(fresh);
    const text = said(run);
    expect(text).not.toContain('given the previous key');
    expect(text).not.toContain('delete it by hand');
    expect(text).not.toContain('failed too');
    expect(run.result.rotated).toBe(true);
    expect(run.result.accessKeyId).toBe(fresh);
    // The old key went, and the run says by whom: not by this run.
    expect(run.result.previous.filter((p) => p.id === OLD && p.action !== 'kept')).toEqual([]);
    expect(text).toContain(`${OLD} was deleted by someone else`);
  });
});

describe('4. the rollback when the key it would put back is gone', () => {
  it('a write fails after the old key was deleted: nothing is put back to the dead key; the destinations keep the verified new key', async () => {
    const repos = ['octo/api', 'octo/web', 'octo/ops'];
    const { iam, github, old } = await world(repos);
    github.before((method, path) => {
      if (method !== 'PUT') return;
      if (path === '/repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID') iam.keys.delete(OLD);
      if (path.startsWith('/repos/octo/ops/')) throw failure(403, 'Resource not accessible by integration');
    });

    const run = await memoryRotation(iam, github, { as: old, inputs: selfInputs(repos), env: attempt(1), signedUse: true });

    const fresh = run.result.newKeyId as string;
    expect(keyState(iam)).toEqual([`${fresh} Active`]);
    for (const r of ['octo/api', 'octo/web']) expect(github.pair(r)?.accessKeyId).toBe(fresh);
    // octo/ops could not be written: it still holds the deleted key, and the run says it does not work.
    expect(github.pair('octo/ops')?.accessKeyId).toBe(OLD);
    const message = run.result.error?.message ?? '';
    expect(message).toContain(`${OLD} was deleted (or deactivated) by someone else during this run, so nothing was put back to it`);
    expect(message).toContain(`the new key ${fresh}, which works, instead`);
    expect(message).toMatch(new RegExp(`octo/ops: NOT WORKING: holds the key ${OLD}, which was deleted`));
    expect(message).not.toContain('Both keys stay Active');
    expect(message).not.toContain('given the previous key');
    expect(run.result.destinations.map((d) => [d.label, d.outcome])).toEqual([
      ['octo/api', 'written'],
      ['octo/web', 'written'],
      ['octo/ops', 'broken'],
    ]);
  });
});

// ---- 5. a staged handover someone chose is no interruption ---------------------------------------------------------

describe('5. a completed staged handover (retire-after-hours: 24), then a run with retire-after-hours: 0', () => {
  it.each([['delete'], ['deactivate']])('previous-key: %s: the old key, used 1.5 s after the handover, is neither deleted nor deactivated', async (mode) => {
    const repos = ['octo/api'];
    const { iam, github, old } = await world(repos);
    const first = await memoryRotation(iam, github, { as: old, inputs: selfInputs(repos, { 'retire-after-hours': '24' }), env: attempt(1) });
    expect(first.result.error).toBeUndefined();
    const fresh = first.result.newKeyId as string;
    const handover = Date.parse(/handover=(\S+)/.exec(iam.tags.get(OLD) ?? '')?.[1] ?? '');
    // A holder the handover did not reach uses the old key 1.5 s after it (inside the clock slack).
    (iam.keys.get(OLD) as { lastUsed?: unknown }).lastUsed = { date: new Date(handover + 1_500).toISOString(), service: 's3', region: 'eu-west-1' };
    age(iam, github, 60_000);

    const next = await memoryRotation(iam, github, {
      as: github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string },
      inputs: selfInputs(repos, { 'previous-key': mode }),
      env: { ...attempt(1), GITHUB_RUN_ID: '43' },
    });

    expect(iam.keys.get(OLD)?.status).toBe('Active');
    expect(iam.keys.get(fresh)?.status).toBe('Active');
    expect(github.pair('octo/api')?.accessKeyId).toBe(fresh);
    const text = said(next);
    expect(text).not.toMatch(new RegExp(`(Deleted|Deactivated) ${OLD}`));
    expect(text).not.toContain('stopped before retiring it');
  });

  it('a run stopped right after its handover (retire-after-hours: 0): the rerun takes no irreversible step on "unused since seconds ago"', async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github } = await world(repos);
    // Attempt 1 records its handover and is killed as it lists the keys to retire the old one.
    let handedOver = false;
    iam.before((command, _n, input) => {
      if (handedOver && command === 'ListAccessKeys') return never();
      if (command === 'TagUser' && JSON.stringify(input).includes('superseded-by')) handedOver = true;
      return undefined;
    });
    void memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });
    await settle();
    expect(iam.tags.get(OLD)).toMatch(/superseded-by=/);
    revive(iam, github);

    const rerun = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(2) });

    // The old key was never used since a handover seconds ago: weak evidence where IAM records last use late.
    expect(iam.keys.get(OLD)?.status).toBe('Inactive');
    expect(said(rerun)).not.toContain(`Deleted ${OLD}`);
    expect(said(rerun)).toContain(`To undo: ${undo(OLD)}`);
    expect(said(rerun)).toContain('IAM records last use late');
    expect(rerun.result.error).toBeUndefined();
    for (const r of repos) expect(iam.keys.get(github.pair(r)?.accessKeyId as string)?.status).toBe('Active');
  });
});

// ---- 8. a destination added after a staged handover still holds the old key --------------------------------------

describe('8. after a staged handover, a rerun adds a destination that still holds the old key', () => {
  async function handedOverTo(repos: string[], added: string) {
    const { iam, github, old } = await world([...repos, added]);
    const first = await memoryRotation(iam, github, { as: old, inputs: selfInputs(repos, { 'retire-after-hours': '24' }), env: attempt(1) });
    expect(first.result.error).toBeUndefined();
    return { iam, github, fresh: first.result.newKeyId as string };
  }

  it('a self-rotation gives the added destination its pair first; the old key is retired once due', async () => {
    const { iam, github, fresh } = await handedOverTo(['octo/api'], 'octo/web');
    age(iam, github, HOUR);
    const as = github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string };
    const inputs = selfInputs(['octo/api', 'octo/web'], { 'retire-after-hours': '24', 'max-age-days': '30' });

    const second = await memoryRotation(iam, github, { as, inputs, env: { ...attempt(1), GITHUB_RUN_ID: '43' } });
    expect(said(second)).not.toContain('Rerun once it is due');
    expect(github.pair('octo/web')?.accessKeyId).toBe(fresh);
    expect(second.result.error).toBeUndefined();

    age(iam, github, 25 * HOUR);
    const third = await memoryRotation(iam, github, { as, inputs, env: { ...attempt(1), GITHUB_RUN_ID: '44' } });
    expect(third.result.error).toBeUndefined();
    expect(keyState(iam)).toEqual([`${fresh} Active`]);
    for (const r of ['octo/api', 'octo/web']) expect(github.pair(r)?.accessKeyId).toBe(fresh);
  });

  it('a rotator says what to do instead of "rerun once it is due" (it never becomes due while the destination may hold it)', async () => {
    const { iam, github } = await handedOverTo(['octo/api'], 'octo/web');
    age(iam, github, 25 * HOUR);
    const inputs = rotatorInputs(['octo/api', 'octo/web'], { 'retire-after-hours': '24', 'max-age-days': '30' });

    const second = await memoryRotation(iam, github, { as: ADMIN, inputs, env: { ...attempt(1), GITHUB_RUN_ID: '43' } });

    expect(iam.keys.has(OLD)).toBe(true);
    const text = said(second);
    expect(text).not.toContain('Rerun once it is due');
    expect(second.result.error?.message).toContain('octo/web');
    expect(second.result.error?.message).toContain(`aws iam delete-access-key --user-name deployer --access-key-id ${OLD}`);
  });
});

// ---- 9. previous-key: keep ----------------------------------------------------------------------------------------

describe('9. previous-key: keep', () => {
  it('a handed-over key is not reported as retire-pending when no run of these inputs retires it', async () => {
    const repos = ['octo/api'];
    const { iam, github, old } = await world(repos);
    await memoryRotation(iam, github, { as: old, inputs: selfInputs(repos, { 'retire-after-hours': '24' }), env: attempt(1) });
    const as = github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string };

    const kept = await memoryRotation(iam, github, {
      as,
      inputs: selfInputs(repos, { 'retire-after-hours': '24', 'previous-key': 'keep', 'max-age-days': '30' }),
      env: { ...attempt(1), GITHUB_RUN_ID: '43' },
    });

    expect(kept.result.error).toBeUndefined();
    const fate = kept.result.keys?.find((k) => k.id === OLD)?.fate;
    expect(fate).toBeDefined();
    expect(fate).not.toMatch(/retire-pending/);
    expect(said(kept)).not.toMatch(/pending retirement|due at/);
    expect(summaryModel(kept.result).facts.filter(([k]) => k === 'Pending retirement')).toEqual([]);
  });
});

// ---- 10. a rerun that drops a destination the killed run wrote ----------------------------------------------------

describe('10. a rerun that drops a destination the killed run wrote (previous-key: keep)', () => {
  it('never says "nothing holds it" of a key the dropped destination holds', async () => {
    const { iam, github } = await world(['octo/web', 'octo/api']);
    // Attempt 1 writes octo/web, and is killed as it starts on octo/api.
    killBefore(iam, github, (w) => w.startsWith('GitHub PUT /repos/octo/api/'));
    void memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(['octo/web', 'octo/api'], { 'previous-key': 'keep' }), env: attempt(1) });
    await settle();
    const orphan = github.pair('octo/web')?.accessKeyId as string;
    expect(orphan).not.toBe(OLD);
    revive(iam, github);

    const rerun = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(['octo/api'], { 'previous-key': 'keep' }), env: attempt(2) });

    const text = said(rerun);
    expect(text).not.toContain('nothing holds it');
    expect(iam.keys.has(orphan)).toBe(false);
    expect(text).toContain(`Deleted ${orphan}: an earlier run of this action made it and never handed it over; it was not used after that run ended, and none of this run's destinations was written after it was made`);
  });
});

// ---- 11. a dry run after a kill mid fan-out -----------------------------------------------------------------------

describe('11. a dry run after a kill mid fan-out', () => {
  it('does not say a destination holds the old key when it was written after the killed run made its key', async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github } = await world(repos);
    killBefore(iam, github, (w) => w.startsWith('GitHub PUT /repos/octo/web/'));
    void memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });
    await settle();
    const k1 = github.pair('octo/api')?.accessKeyId as string;
    expect(k1).not.toBe(OLD);
    revive(iam, github);

    const dry = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos, { 'dry-run': 'true' }), env: attempt(2) });

    expect(dry.result.error).toBeUndefined();
    const api = dry.result.destinations.find((d) => d.label === 'octo/api');
    expect(api?.keyId).not.toBe(OLD);
    const facts = Object.fromEntries(summaryModel(dry.result).facts);
    expect(facts['Key the destinations hold']).toBeUndefined();
    expect(facts[`Destinations holding ${OLD}`] ?? '').not.toContain('octo/api');
  });
});

// ---- 12. a skip claims only what nothing contradicts ---------------------------------------------------------------

describe("12. a skip, while a destination holds another user's key", () => {
  it("another user's rotation wrote a destination 30 s after this user's handover: the run does not report the current key there", async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github } = await world(repos, { dates: true });
    const first = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });
    expect(first.result.error).toBeUndefined();
    const k2 = first.result.newKeyId as string;
    const handover = Date.parse(/handover=(\S+)/.exec(iam.tags.get(k2) ?? '')?.[1] ?? '');
    // Another IAM user's rotation, configured onto octo/web too, writes it 30 s after this user's handover.
    github.hold({ accessKeyId: 'AKIASOMEONEELSE00001', secretAccessKey: 'theirs' }, 'octo/web');
    written(github, 'octo/web', new Date(handover + 30_000).toISOString());
    for (const r of ['octo/api']) written(github, r, github.updatedAt.get(`${r}/AWS_ACCESS_KEY_ID`) ?? '2026-11-27T12:00:00Z');
    age(iam, github, 2 * 86_400_000);

    const raw = rotatorInputs(repos, { 'max-age-days': '30' });
    const next = await memoryRotation(iam, github, { as: ADMIN, inputs: raw, env: { ...attempt(1), GITHUB_RUN_ID: '43' } });

    expect(next.result.error).toBeUndefined();
    const out = outputs(next.result, readInputs(reader(raw), {}));
    const web = github.pair('octo/web')?.accessKeyId;
    // Whatever the run did, what it reports octo/web to hold is what octo/web holds (or it says it does not know).
    const reported = next.result.destinations.find((d) => d.label === 'octo/web')?.keyId;
    if (reported !== undefined) expect(reported).toBe(web);
    if (out['access-key-id'] !== '' && next.result.plan?.action === 'skip') expect(web).toBe(out['access-key-id']);
  });
});

// ---- 13. a person deletes the new key before it is verified --------------------------------------------------------

describe('13. a person deletes the new key before it is verified', () => {
  it.each([['rotator'], ['self-rotation']])('%s: the error says the key was deleted by someone else, and no false "failed too" or "both keys stay Active"', async (mode) => {
    const repos = ['octo/api'];
    const { iam, github, old } = await world(repos);
    let gone: string | undefined;
    const run = await memoryRotation(iam, github, {
      as: mode === 'rotator' ? ADMIN : old,
      inputs: mode === 'rotator' ? rotatorInputs(repos) : selfInputs(repos),
      env: attempt(1),
      onVerify: () => {
        gone ??= [...iam.keys.keys()].find((k) => k !== OLD);
        if (gone) iam.keys.delete(gone);
      },
    });

    expect(gone).toBeDefined();
    expect(keyState(iam)).toEqual([`${OLD} Active`]);
    expect(github.pair('octo/api')?.accessKeyId).toBe(OLD);
    const message = run.result.error?.message ?? '';
    expect(message).toContain(`${gone} was deleted by someone else`);
    expect(message).not.toContain('failed too');
    expect(message).not.toContain('Both keys stay Active');
    expect(message).not.toContain('delete it by hand');
  });
});

// ---- 15. the create marker after a rerun that makes no key; an orphan is not deleted "to make room" ---------------

describe("15. a killed run's create marker, and how an orphan's deletion is described", () => {
  it('a self-rotation rerun that resumes the killed run\'s rotation leaves no create marker behind', async () => {
    const repos = ['octo/api', 'octo/web'];
    const { iam, github, old } = await world(repos);
    let puts = 0;
    github.before((method, path) => (method === 'PUT' && path.includes('/secrets/') && ++puts > 2 ? never() : undefined));
    void memoryRotation(iam, github, { as: old, inputs: selfInputs(repos), env: attempt(1) });
    await settle();
    expect(iam.tags.has(CREATE_TAG)).toBe(true);
    revive(iam, github);

    const rerun = await memoryRotation(iam, github, {
      as: github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string },
      inputs: selfInputs(repos),
      env: attempt(2),
    });

    expect(rerun.result.error).toBeUndefined();
    expect(iam.calls.filter((c) => c === 'CreateAccessKey')).toHaveLength(1);
    expect(iam.tags.has(CREATE_TAG)).toBe(false);
    expect(iam.tags.has(LEASE_TAG)).toBe(false);
  });

  it('a rerun that skips leaves no create marker of a run that made no key', async () => {
    const repos = ['octo/api'];
    const { iam, github } = await world(repos);
    (iam.keys.get(OLD) as { created: Date }).created = new Date(IAM_NOW - 3 * 86_400_000);
    written(github, 'octo/api', '2026-11-25T12:00:00Z');
    killBefore(iam, github, (w) => w === 'IAM CreateAccessKey');
    void memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });
    await settle();
    expect(iam.tags.has(CREATE_TAG)).toBe(true);
    revive(iam, github);

    const rerun = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos, { 'max-age-days': '30' }), env: attempt(2) });

    expect(rerun.result.plan?.action).toBe('skip');
    expect(iam.tags.has(CREATE_TAG)).toBe(false);
  });

  it('an orphan is no key deleted "to make room": a rerun with key-limit: fail deletes it as an orphan, and says so', async () => {
    const repos = ['octo/api'];
    const { iam, github } = await world(repos);
    killBefore(iam, github, (w) => w.startsWith('GitHub PUT'));
    void memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos), env: attempt(1) });
    await settle();
    const orphan = [...iam.keys.keys()].find((k) => k !== OLD) as string;
    revive(iam, github);

    for (const dryRun of ['true', 'false']) {
      const rerun = await memoryRotation(iam, github, { as: ADMIN, inputs: rotatorInputs(repos, { 'dry-run': dryRun, 'key-limit': 'fail' }), env: attempt(2) });
      expect(rerun.result.error).toBeUndefined();
      const lines = [...said(rerun).split('\n'), ...summaryModel(rerun.result).facts.map((f) => f.join(': '))].filter((l) => l.includes(orphan));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l).not.toMatch(/make room|key-limit/);
    }
    expect(iam.keys.has(orphan)).toBe(false);
    expect(iam.keys.size).toBe(1);
    expect(github.pair('octo/api')?.accessKeyId).toBe([...iam.keys.keys()][0]);
  });
});
