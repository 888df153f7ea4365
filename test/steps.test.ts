/**
 * The rotation as named steps (src/rotation/steps.ts): a run enters them in STEP_NAMES order, a skip and a dry run end at the
 * plan, and a stop ends in the step that failed (the run reports which steps it entered). After a stop in any step,
 * a plain rerun enters every step again from what IAM and the destinations say, and finishes the rotation.
 */
import { describe, expect, it } from '@jest/globals';
import { Cancellation } from '../src/shared/cancel.js';
import type { RotationResult } from '../src/rotation/result.js';
import { STEP_NAMES, type StepName } from '../src/rotation/result.js';
import { awsFailure } from './support/memory-iam.js';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';
import { failure } from './support/scripted-github.js';

const OLD = 'AKIAOLD0000000000001';
const ENV = { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '1' };
const RERUN = { ...ENV, GITHUB_RUN_ATTEMPT: '2' };
const upTo = (step: StepName) => STEP_NAMES.slice(0, STEP_NAMES.indexOf(step) + 1);

async function world(ageDays = 100) {
  const iam = memoryIam();
  const github = await memoryGitHub(['octo/api', 'octo/web']);
  const old = userKey(iam, OLD, ageDays);
  github.hold(old, 'octo/api', 'octo/web');
  return { iam, github, old };
}
const INPUTS = { repositories: 'octo/api,octo/web' };

describe('a rotation is a list of named steps', () => {
  it('the steps are these, in this order', () => {
    expect(STEP_NAMES).toEqual([
      'identify',
      'lease',
      'read',
      'classify',
      'retire due',
      'plan',
      'prepare',
      'create',
      'distribute',
      'confirm',
      'hand over',
      'retire',
    ]);
  });

  it('a rotation enters every step, in order', async () => {
    const w = await world();
    const { result } = await memoryRotation(w.iam, w.github, { as: w.old, inputs: INPUTS, env: ENV });
    expect(result.error).toBeUndefined();
    expect(result.steps).toEqual([...STEP_NAMES]);
  });

  it('a skip and a dry run end at the plan', async () => {
    const young = await world(3);
    const skip = await memoryRotation(young.iam, young.github, { as: young.old, inputs: { ...INPUTS, 'max-age-days': '30' }, env: ENV });
    expect(skip.result.error).toBeUndefined();
    expect(skip.result.plan?.action).toBe('skip');
    expect(skip.result.steps).toEqual(upTo('plan'));

    const w = await world();
    const dry = await memoryRotation(w.iam, w.github, { as: w.old, inputs: { ...INPUTS, 'dry-run': 'true' }, env: ENV });
    expect(dry.result.error).toBeUndefined();
    expect(dry.result.steps).toEqual(upTo('plan'));
    expect([...w.iam.keys.keys()]).toEqual([OLD]);
  });

  it('a stop ends in the step that failed', async () => {
    const list = await world();
    list.iam.before((command) => {
      if (command === 'ListAccessKeys') throw awsFailure('ServiceUnavailable', 503);
    });
    const atRead = await memoryRotation(list.iam, list.github, { as: list.old, inputs: INPUTS, env: ENV });
    expect(atRead.result.error).toBeDefined();
    expect(atRead.result.steps).toEqual(upTo('read'));

    const write = await world();
    write.github.before((method, path) => {
      if (method === 'PUT' && path === '/repos/octo/web/actions/secrets/AWS_ACCESS_KEY_ID') throw failure(500, 'Server Error', {});
    });
    const atWrite = await memoryRotation(write.iam, write.github, { as: write.old, inputs: INPUTS, env: ENV });
    expect(atWrite.result.error?.message).toMatch(/writing AWS_ACCESS_KEY_ID to octo\/web: 500/);
    expect(atWrite.result.steps).toEqual(upTo('distribute'));
    // Rolled back: the destinations hold the old key, which still works.
    expect([...write.iam.keys.keys()]).toEqual([OLD]);
  });

  // Cancel (SIGINT) as each step begins, then one plain rerun (attempt 2): it converges whatever step was cut. Before
  // the fan-out a cancel stops the step at its entry; from confirm on, every destination holds the new key and the run
  // goes forward to its handover, and its retirement stops for the cancel.
  it.each(STEP_NAMES.filter((s) => s !== 'identify'))('cancelled as step "%s" begins: one rerun finishes the rotation', async (step) => {
    const w = await world();
    const cancel = new Cancellation();
    const observe = (r: RotationResult) => {
      const push = r.steps.push.bind(r.steps);
      r.steps.push = (...names: StepName[]) => {
        if (names.includes(step)) cancel.cancel('SIGINT');
        return push(...names);
      };
    };
    const { result } = await memoryRotation(w.iam, w.github, { as: w.old, inputs: INPUTS, env: ENV, cancel, observe });
    expect(result.cancelled).toBe(true);
    expect(result.error?.message).toMatch(/cancelled \(SIGINT\)/);
    const forward = STEP_NAMES.indexOf(step) >= STEP_NAMES.indexOf('confirm');
    expect(result.steps.at(-1)).toBe(forward ? 'retire' : step);
    if (forward) {
      expect(result.rotated).toBe(true);
      // What it says the rerun does, the rerun below does.
      expect(result.error?.message).toMatch(/Its handover is recorded in IAM, so a rerun \(once the cause is fixed\) deletes it/);
    }

    // The rerun signs in with what the job's own secret holds (a self-rotation), and finishes the job.
    const held = w.github.pair('octo/api') as { accessKeyId: string; secretAccessKey: string };
    const rerun = await memoryRotation(w.iam, w.github, { as: held, inputs: INPUTS, env: RERUN });
    expect(rerun.result.error?.message).toBeUndefined();
    expect(rerun.result.rotated).toBe(true);
    const keys = [...w.iam.keys.values()];
    expect(keys.map((k) => k.status)).toEqual(['Active']);
    expect(keys[0].id).not.toBe(OLD);
    for (const repo of ['octo/api', 'octo/web']) expect(w.github.pair(repo)?.accessKeyId).toBe(keys[0].id);
  });
});
