/**
 * Names GitHub allows that the action used to refuse (issue 10, "too strict"): environment names holding '/' (sent
 * URL-encoded, one path segment) and owners with '_' (Enterprise Managed Users). A full rotation against moto and
 * the GitHub stand-in.
 */
import { describe, expect, it } from '@jest/globals';
import { secretsPath } from '../src/github/destinations.js';
import { envScope, holdsWorkingKey, runRotation } from './support/harness.js';
import { createUserWithKey, requireMoto } from './support/moto.js';
import { useWorld } from './support/world.js';

requireMoto();

const world = useWorld();

describe("environment names with '/' and Enterprise Managed Users owners", () => {
  it('secretsPath encodes each segment: a / in an environment name stays inside its segment', () => {
    expect(secretsPath({ kind: 'environment', owner: 'octo_emu', repo: 'app', environment: 'team/prod eu' })).toBe(
      '/repos/octo_emu/app/environments/team%2Fprod%20eu/secrets',
    );
  });

  it("rotates into environments 'team/prod' (existing) and 'qa/eu' (created) of octo_emu/app", async () => {
    const repo = `octo_emu/${world.fresh('app')}`;
    world.gh.addRepository(repo, { environments: ['team/prod'] });
    const old = await createUserWithKey(world.moto, world.admin, world.fresh('deployer'));
    const { result } = await runRotation(world, {
      as: old,
      inputs: { repositories: repo, environments: 'team/prod\nqa/eu', 'create-environments': 'true' },
    });
    expect(result.error).toBeUndefined();
    expect(world.gh.environments(repo).sort()).toEqual(['qa/eu', 'team/prod']);
    for (const env of ['team/prod', 'qa/eu']) expect(await holdsWorkingKey(world, envScope(repo, env))).toBe(true);
    // Every request addressed the environment as one encoded segment.
    const envRequests = world.gh.requests.filter((r) => r.path.includes('/environments/'));
    expect(envRequests.length).toBeGreaterThan(0);
    for (const r of envRequests) expect(r.rawPath).toMatch(/\/environments\/(?:team%2Fprod|qa%2Feu)(?:\/|$)/);
  });
});
