import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type World,
  envScope,
  heldPair,
  holdsWorkingKey,
  keysOf,
  repoScope,
  runRotation,
  seedPair,
  startWorld,
} from './support/harness.js';
import { authenticates, createUserWithKey, requireMoto } from './support/moto.js';

requireMoto();

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => world.gh.reset());

let n = 0;
const fresh = (prefix: string) => `${prefix}${++n}`;

describe('self-rotation', () => {
  it('rotates the key the run authenticates with, writes it, and deletes the old one', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user, { path: '/ci/deployers/' });
    const repo = `octo/${fresh('api')}`;
    world.gh.addRepository(repo);
    seedPair(world.gh, repoScope(repo), old);

    const { result, io } = await runRotation(world, { as: old, inputs: { repositories: repo } });

    expect(result.error).toBeUndefined();
    expect(result.rotated).toBe(true);
    expect(result.userName).toBe(user);
    const held = heldPair(world.gh, repoScope(repo));
    expect(held?.accessKeyId).toBe(result.newKeyId);
    expect(held?.accessKeyId).not.toBe(old.accessKeyId);
    expect(await holdsWorkingKey(world, repoScope(repo))).toBe(true);
    expect(await authenticates(world.moto, old)).toBe(false);
    expect(result.previous).toEqual([{ id: old.accessKeyId, action: 'deleted' }]);
    expect(await keysOf(world, user)).toEqual([{ id: result.newKeyId, status: 'Active' }]);
    expect(io.secrets).toContain(held?.secretAccessKey);
    expect(io.text()).not.toContain(held?.secretAccessKey);
    expect(io.text()).toContain(`[1/1] ${repo}: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY`);
  });

  it('writes every environment of every repository, with custom secret names', async () => {
    const user = fresh('deployer');
    const old = await createUserWithKey(world.moto, world.admin, user);
    const repos = [`octo/${fresh('web')}`, `octo/${fresh('web')}`];
    const envs = ['production', 'staging eu'];
    for (const r of repos) world.gh.addRepository(r, { environments: envs });
    const names: [string, string] = ['DEPLOY_KEY_ID', 'DEPLOY_SECRET'];

    const { result } = await runRotation(world, {
      as: old,
      inputs: {
        'iam-user-name': user,
        repositories: repos.join('\n'),
        environments: envs.join(','),
        'access-key-id-secret-name': names[0],
        'secret-access-key-secret-name': names[1],
      },
    });

    expect(result.error).toBeUndefined();
    for (const r of repos) {
      for (const e of envs) {
        expect(heldPair(world.gh, envScope(r, e), names)?.accessKeyId).toBe(result.newKeyId);
        expect(await holdsWorkingKey(world, envScope(r, e), names)).toBe(true);
      }
      expect(world.gh.secretNames(repoScope(r))).toEqual([]);
    }
    expect(result.destinations).toHaveLength(4);
  });
});
