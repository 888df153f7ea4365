/** Every secret destination kind, at organization scale (issue: org and Dependabot secrets, environments, fan-out). */
import { describe, expect, it } from '@jest/globals';
import { systemClock } from '../src/shared/clock.js';
import { SHIPPED_PACING } from '../src/github/pacer.js';
import { forbidden, serverError } from './support/github-standin.js';
import { type Scope } from './support/github-standin.js';
import {
  envScope,
  heldPair,
  holdsWorkingKey,
  keysOf,
  repoScope,
  runRotation,
  seedPair,
} from './support/harness.js';
import { useWorld } from './support/world.js';
import { authenticates, createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;
const orgScope = (org: string): Scope => ({ kind: 'organization', org });
const depRepo = (full: string): Scope => ({ kind: 'dependabot-repository', owner: full.split('/')[0], repo: full.split('/')[1] });
const depOrg = (org: string): Scope => ({ kind: 'dependabot-organization', org });

describe('organization secrets', () => {
  it.each(['all', 'private'])('visibility %s: only the organization is written when no repositories are given', async (visibility) => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    // The job's repository exists and the token sees it: the own-holders look lists it (it holds nothing of its own).
    world.gh.addRepository(`${org}/ignored`);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { organization: org, 'organization-visibility': visibility },
      // The job's own repository (in the organization, so the organization secret reaches it) is not written itself.
      env: { GITHUB_REPOSITORY: `${org}/ignored` },
    });
    expect(result.error).toBeUndefined();
    expect(world.gh.secret(orgScope(org), 'AWS_ACCESS_KEY_ID')).toMatchObject({ value: result.newKeyId, visibility });
    expect(await holdsWorkingKey(world, orgScope(org))).toBe(true);
    expect(world.gh.writes().map((w) => `${w.method} ${w.path}`)).toEqual([
      `PUT /orgs/${org}/actions/secrets/AWS_ACCESS_KEY_ID`,
      `PUT /orgs/${org}/actions/secrets/AWS_SECRET_ACCESS_KEY`,
    ]);
  });

  it('an empty organization-visibility writes a new secret as private and keeps an existing secret\'s visibility', async () => {
    const [fresh1, existing] = [fresh('org'), fresh('org')];
    for (const org of [fresh1, existing]) world.gh.addOrganization(org);
    seedPair(world.gh, orgScope(existing), { accessKeyId: 'AKIAOLDERKEY00000000', secretAccessKey: 'older' });
    expect(world.gh.secret(orgScope(existing), 'AWS_ACCESS_KEY_ID')?.visibility).toBe('all'); // as seeded

    for (const [org, visibility] of [
      [fresh1, 'private'],
      [existing, 'all'],
    ] as const) {
      world.gh.reset();
      const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
      const { result } = await runRotation(world, { as: old, inputs: { organization: org } });
      expect(result.error).toBeUndefined();
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        expect(world.gh.secret(orgScope(org), name)?.visibility).toBe(visibility);
      }
      expect(result.destinations[0].visibility).toBe(visibility);
      expect(await holdsWorkingKey(world, orgScope(org))).toBe(true);
      expect(world.gh.writes().map((w) => (w.body as { visibility: string }).visibility)).toEqual([visibility, visibility]);
    }
  });

  it('an empty organization-visibility keeps each secret its own visibility when the two differ', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    world.gh.setSecret(orgScope(org), 'AWS_ACCESS_KEY_ID', old.accessKeyId, 'all');
    world.gh.setSecret(orgScope(org), 'AWS_SECRET_ACCESS_KEY', old.secretAccessKey, 'private');

    const { result } = await runRotation(world, { as: old, inputs: { organization: org } });

    expect(result.error).toBeUndefined();
    expect(world.gh.secret(orgScope(org), 'AWS_ACCESS_KEY_ID')?.visibility).toBe('all');
    expect(world.gh.secret(orgScope(org), 'AWS_SECRET_ACCESS_KEY')?.visibility).toBe('private');
    expect(await holdsWorkingKey(world, orgScope(org))).toBe(true);
  });

  it('an explicit organization-visibility that changes an existing secret is announced in the plan', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    seedPair(world.gh, orgScope(org), old); // visibility all
    const { result, io } = await runRotation(world, {
      as: old,
      inputs: { organization: org, 'organization-visibility': 'private', 'previous-key': 'keep' },
    });
    expect(result.error).toBeUndefined();
    expect(io.text()).toContain(
      `write it to 1 destination(s) (organization ${org}: AWS_ACCESS_KEY_ID visibility changes from all to private; ` +
        `organization ${org}: AWS_SECRET_ACCESS_KEY visibility changes from all to private)`,
    );
    expect(world.gh.secret(orgScope(org), 'AWS_SECRET_ACCESS_KEY')?.visibility).toBe('private');
  });

  it.each([
    ['does not reach', 'other', false],
    ['reaches', 'app,other', true],
  ])(
    "self-rotation: an organization secret shared with selected repositories that %s the job's own repository",
    async (_, selected, covers) => {
      const org = fresh('org');
      world.gh.addOrganization(org);
      for (const r of ['app', 'other']) world.gh.addRepository(`${org}/${r}`);
      const user = fresh('deployer');
      const old = await createUserWithKey(world.moto, world.admin, user);
      const { result } = await runRotation(world, {
        as: old,
        inputs: { organization: org, 'organization-visibility': 'selected', 'organization-selected-repositories': selected },
        env: { GITHUB_REPOSITORY: `${org}/app` },
      });
      if (covers) {
        expect(result.error).toBeUndefined();
        expect(await holdsWorkingKey(world, orgScope(org))).toBe(true);
        expect(await authenticates(world.moto, old)).toBe(false);
      } else {
        expect(result.error?.message).toMatch(
          new RegExp(
            `^self-rotation: this job authenticates with ${old.accessKeyId} and reads it from ${org}/app, which is not among ` +
              'the destinations .*Nothing was changed\\.$',
          ),
        );
        expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
        expect(world.gh.writes()).toEqual([]);
      }
    },
  );

  it('visibility selected: repositories resolved by name (bare or owner/name) across pages of the org listing', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const ids: Record<string, number> = {};
    for (let i = 0; i < 230; i++) ids[`repo${i}`] = world.gh.addRepository(`${org}/repo${i}`).id;
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: {
        organization: org,
        'organization-visibility': 'selected',
        'organization-selected-repositories': `repo3\n${org}/repo150`,
      },
    });
    expect(result.error).toBeUndefined();
    const stored = world.gh.secret(orgScope(org), 'AWS_SECRET_ACCESS_KEY');
    expect(stored).toMatchObject({ visibility: 'selected', selectedRepositoryIds: [ids.repo3, ids.repo150] });
    const listing = world.gh.requests.filter((r) => r.path === `/orgs/${org}/repos`);
    expect(listing.map((r) => r.query.page ?? '1')).toEqual(['1', '2']); // stops once both are found
  });

  it('an unknown selected repository fails in preflight, naming it', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    world.gh.addRepository(`${org}/real`);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { organization: org, 'organization-visibility': 'selected', 'organization-selected-repositories': 'real,typo' },
    });
    expect(result.error?.message).toMatch(/organization-selected-repositories: 'typo' not found in organization/);
    expect(result.newKeyId).toBeUndefined();
  });
});

describe('Dependabot secrets', () => {
  it('writes the pair as Dependabot secrets in every repository and the organization too', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const repos = [`${org}/a`, `${org}/b`];
    for (const r of repos) world.gh.addRepository(r);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repos.join(','), organization: org, dependabot: 'true' },
    });
    expect(result.error).toBeUndefined();
    const scopes = [...repos.flatMap((r) => [repoScope(r), depRepo(r)]), orgScope(org), depOrg(org)];
    for (const s of scopes) expect(await holdsWorkingKey(world, s)).toBe(true);
    expect(world.gh.secret(depOrg(org), 'AWS_ACCESS_KEY_ID')?.visibility).toBe('private');
    expect(result.destinations.map((d) => d.label)).toEqual([
      `${org}/a`,
      `${org}/a (Dependabot)`,
      `${org}/b`,
      `${org}/b (Dependabot)`,
      `organization ${org}`,
      `organization ${org} (Dependabot)`,
    ]);
  });
});

describe('create-environments', () => {
  it('creates listed environments that do not exist, then writes them', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo, { environments: ['production'] });
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, environments: 'production,preview-1', 'create-environments': 'true', 'max-age-days': '90' },
    });
    expect(result.error).toBeUndefined();
    expect(world.gh.environments(repo).sort()).toEqual(['preview-1', 'production']);
    expect(result.destinations.map((d) => d.created ?? false)).toEqual([false, true]);
    expect(result.plan?.reason).toMatch(/new destination\(s\): .*preview-1/);
    expect(await holdsWorkingKey(world, envScope(repo, 'preview-1'))).toBe(true);
  });

  it('refuses, before any change, a name within two edits of an existing environment', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo, { environments: ['production', 'staging'] });
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    seedPair(world.gh, envScope(repo, 'staging'), old);
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, environments: 'staging,prodution', 'create-environments': 'true' },
    });
    expect(result.error?.message).toBe(
      `environments: 'prodution' does not exist in ${repo} and is within one edit of its environment 'production': fix ` +
        "the name, or create 'prodution' by hand if it really is a new environment (create-environments does not create " +
        'a name this close to an existing one). Nothing was changed.',
    );
    expect(world.gh.environments(repo).sort()).toEqual(['production', 'staging']);
    expect(world.gh.writes()).toEqual([]);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it("'prod staging' (two names separated by a space) creates nothing and deletes no key", async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    seedPair(world.gh, repoScope(repo), old);
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, environments: 'prod staging', 'create-environments': 'true' },
      env: { GITHUB_REPOSITORY: repo },
    });
    expect(result.error?.message).toMatch(
      new RegExp(`^environments: 'prod staging' does not exist in ${repo} and holds a space: it most likely is two names \\(prod, staging\\)`),
    );
    expect(world.gh.environments(repo)).toEqual([]);
    expect(world.gh.writes()).toEqual([]);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
    expect(await authenticates(world.moto, old)).toBe(true);
  });

  it('without create-environments, a missing environment lists those that exist and names the one most likely meant', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo, { environments: ['production', 'staging'] });
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, { as: old, inputs: { repositories: repo, environments: 'prodution' } });
    expect(result.error?.message).toBe(
      `reading the public key of ${repo} environment 'prodution': environment 'prodution' does not exist in ${repo} ` +
        "(its environments: production, staging): did you mean 'production'? Fix the name in environments. Nothing was changed.",
    );
  });

  it('dry-run does not create them', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, environments: 'qa', 'create-environments': 'true', 'dry-run': 'true' },
    });
    expect(result.error).toBeUndefined();
    expect(world.gh.environments(repo)).toEqual([]);
    expect(world.gh.writes()).toEqual([]);
    // The plan names the environment it would create; the result says only what happened (nothing was created).
    expect(result.plan?.reason).toBe(`new destination(s): ${repo} environment 'qa'`);
    // An environment that does not exist yet holds no key.
    expect(result.destinations[0]).toMatchObject({ outcome: 'would write', keyId: undefined });
    expect(result.destinations[0].created).toBeUndefined();
  });

  it('a refused creation names Administration: write, and no key is made', async () => {
    const repo = `octo/${fresh('app')}`;
    world.gh.addRepository(repo);
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    world.gh.addFault(forbidden({ method: 'PUT', path: /\/environments\/qa$/ }, 'administration=write'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, environments: 'qa', 'create-environments': 'true' },
    });
    expect(result.error?.message).toMatch(/creating environment 'qa' in octo\/app\d+: 403 .*'administration=write'/);
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });
});

describe('fan-out', () => {
  it('fifty repositories: one key read, two secrets listings (preflight, the read-back) and two writes each, reads concurrent, progress per destination', async () => {
    const org = fresh('org');
    const repos = Array.from({ length: 50 }, (_, i) => `${org}/r${i}`);
    for (const r of repos) world.gh.addRepository(r);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    world.gh.latencyMs = 20;
    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repos.join('\n') } });
    world.gh.latencyMs = 0;

    expect(result.error).toBeUndefined();
    for (const r of repos) expect(heldPair(world.gh, repoScope(r))?.accessKeyId).toBe(result.newKeyId);
    expect(await holdsWorkingKey(world, repoScope(repos[49]))).toBe(true);
    const reqs = world.gh.requests;
    const gets = reqs.filter((r) => r.method === 'GET');
    // A public key and a secrets listing each in preflight, and the listing again after the fan-out (src/rotation/writes.ts, the read-back).
    expect(gets).toHaveLength(150);
    expect(gets.filter((r) => r.path.endsWith('/public-key')).map((r) => r.path).sort()).toEqual(
      repos.map((r) => `/repos/${r}/actions/secrets/public-key`).sort(),
    );
    // Which secrets each holds, and since when: one page each, before and after the writes.
    expect(gets.filter((r) => !r.path.endsWith('/public-key')).map((r) => `${r.path}?page=${r.query.page}`).sort()).toEqual(
      repos.flatMap((r) => [`/repos/${r}/actions/secrets?page=1`, `/repos/${r}/actions/secrets?page=1`]).sort(),
    );
    expect(reqs.filter((r) => r.method === 'PUT')).toHaveLength(100);
    expect(reqs).toHaveLength(250);
    // Reads overlap: at some moment several public-key reads are in flight.
    const reads = reqs.filter((r) => r.path.endsWith('/public-key'));
    const maxInFlight = Math.max(...reads.map((a) => reads.filter((b) => b.startedAt <= a.startedAt && b.finishedAt > a.startedAt).length));
    expect(maxInFlight).toBeGreaterThan(4);
    // Writes never overlap.
    const puts = reqs.filter((r) => r.method === 'PUT');
    for (let i = 1; i < puts.length; i++) expect(puts[i].startedAt).toBeGreaterThanOrEqual(puts[i - 1].finishedAt);
    expect(io.lines).toContain(`[12/50] ${org}/r11: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY`);
  });

  it('a failure in the middle of a mixed fan-out (environments, Dependabot, organization) leaves no dead key', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const repos = [`${org}/a`, `${org}/b`, `${org}/c`];
    for (const r of repos) world.gh.addRepository(r, { environments: ['prod'] });
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const scopes = [...repos.flatMap((r) => [envScope(r, 'prod'), depRepo(r)]), orgScope(org), depOrg(org)];
    for (const s of scopes) seedPair(world.gh, s, old);
    // The organization write is refused after preflight passed (e.g. the token lost access mid-run).
    world.gh.addFault(forbidden({ method: 'PUT', path: new RegExp(`^/orgs/${org}/actions/secrets/AWS_SECRET_ACCESS_KEY$`) }));

    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repos.join(','), environments: 'prod', organization: org, dependabot: 'true' },
    });

    const newId = result.newKeyId as string;
    const labels = [...repos.flatMap((r) => [`${r} environment 'prod'`, `${r} \\(Dependabot\\)`]), `organization ${org}`];
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_SECRET_ACCESS_KEY to organization ${org}: 403 .*\\. Deleted the new key ${newId}\\. Destinations: ` +
          `${labels.join(', ')}: put back to ${old.accessKeyId}; organization ${org} \\(Dependabot\\): not changed ` +
          `\\(${old.accessKeyId}\\)\\.$`,
      ),
    );
    expect(result.destinations.map((d) => d.outcome)).toEqual([...Array(7).fill('restored'), 'unchanged']);
    for (const s of scopes) {
      expect(heldPair(world.gh, s)?.accessKeyId).toBe(old.accessKeyId);
      expect(await holdsWorkingKey(world, s)).toBe(true);
    }
    expect(await keysOf(world, user)).toEqual([{ id: old.accessKeyId, status: 'Active' }]);
  });

  it('the same failure when rotating another user keeps both keys and every destination works', async () => {
    const org = fresh('org');
    world.gh.addOrganization(org);
    const repos = [`${org}/a`, `${org}/b`];
    for (const r of repos) world.gh.addRepository(r, { environments: ['prod'] });
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const scopes = [...repos.map((r) => envScope(r, 'prod')), orgScope(org)];
    for (const s of scopes) seedPair(world.gh, s, old);
    world.gh.addFault(serverError({ method: 'PUT', path: new RegExp(`^/orgs/${org}/actions/secrets/AWS_ACCESS_KEY_ID$`) }));

    const { result } = await runRotation(world, {
      as: world.admin,
      inputs: { 'iam-user-name': user, repositories: repos.join(','), environments: 'prod', organization: org },
    });

    const newId = result.newKeyId as string;
    expect(result.error?.message).toMatch(
      new RegExp(
        `^writing AWS_ACCESS_KEY_ID to organization ${org}: 500 .*\\. Both keys stay Active \\(${newId} and ${old.accessKeyId}\\)\\. ` +
          `Destinations: ${repos[0]} environment 'prod', ${repos[1]} environment 'prod': the new key ${newId}; ` +
          `organization ${org}: not changed \\(${old.accessKeyId}\\)\\. Fix the cause, then rerun once this run has ended .*: it ` +
          `deletes ${newId} as this run's orphan .* and rotates\\.$`,
      ),
    );
    expect(result.destinations.map((d) => [d.outcome, d.keyId])).toEqual([
      ['written', newId],
      ['written', newId],
      ['unchanged', old.accessKeyId],
    ]);
    for (const s of scopes) expect(await holdsWorkingKey(world, s)).toBe(true);
    expect(await authenticates(world.moto, old)).toBe(true);
    expect((await keysOf(world, user)).map((k) => k.id).sort()).toEqual([newId, old.accessKeyId].sort());
  });
});

describe('shipped pacing', () => {
  it('writes average one per second (GitHub guidance), each destination pair back to back', async () => {
    const repos = [`octo/${fresh('p')}`, `octo/${fresh('p')}`, `octo/${fresh('p')}`];
    for (const r of repos) world.gh.addRepository(r);
    const old = await createUserWithKey(world.moto, world.admin, fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      clock: systemClock,
      pacing: { writeIntervalMs: SHIPPED_PACING.writeIntervalMs },
      inputs: { repositories: repos.join(',') },
    });
    expect(SHIPPED_PACING.writeIntervalMs).toBe(1000);
    expect(result.error).toBeUndefined();
    const puts = world.gh.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(6);
    // Never more than two writes in any one-second window, so six writes span at least four seconds (measured where
    // the stand-in receives them: allow 50 ms of request latency jitter on a loaded machine)...
    for (let i = 2; i < puts.length; i++) expect(puts[i].startedAt - puts[i - 2].startedAt).toBeGreaterThanOrEqual(1950);
    // ...and a destination's second secret follows its first at once.
    for (let i = 1; i < puts.length; i += 2) expect(puts[i].startedAt - puts[i - 1].finishedAt).toBeLessThan(200);
  }, 20_000);
});
