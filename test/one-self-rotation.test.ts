/**
 * Exactly one plain self-rotation into one repository, in-process (the memory world): the run the issue 24 figure
 * "files executed by one self-rotation" is measured with (jest --coverage on this file alone; see
 * /work/coord/metrics-24.md). It also pins the end state: one Active key, the repository holding it.
 */
import { describe, expect, it } from '@jest/globals';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

describe('one plain self-rotation into one repository', () => {
  it('rotates: the repository holds the new key, the old key is deleted', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api']);
    const old = userKey(iam, 'AKIAOLD0000000000001');
    github.hold(old, 'octo/api');
    const { result } = await memoryRotation(iam, github, {
      as: old,
      inputs: { repositories: 'octo/api' },
      env: { GITHUB_REPOSITORY: 'octo/api', GITHUB_RUN_ID: '42' },
    });
    expect(result.error).toBeUndefined();
    const fresh = result.newKeyId as string;
    expect([...iam.keys.keys()]).toEqual([fresh]);
    expect(github.pair('octo/api')?.accessKeyId).toBe(fresh);
  });
});
