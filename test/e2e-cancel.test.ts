/**
 * Issue 24, world 6: a cancel as the runner sends it (SIGINT to dist/index.js on Node 24; SIGTERM 7.5 s later and
 * SIGKILL 2.5 s after that) while the secret's PUT is in flight, the id already written, and that PUT fails (503
 * after 2 s, every time). The work after the signal must fit in the runner's window and must not leave the job's own
 * repository holding the new id with the old secret: judged by what the repository holds (opened by the stand-in,
 * signed in with against moto) and by every sentence the run printed; then a plain rerun finishes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GitHubStandin } from './support/github-standin.js';
import { heldPair, keysOf, repoScope, seedPair } from './support/harness.js';
import { type Creds, type Moto, authenticates, createUserWithKey, requireMoto, seedAdmin, startMoto } from './support/moto.js';
import { DIST, leaks, node24, runAction } from './support/runner.js';

requireMoto();

let moto: Moto;
let gh: GitHubStandin;
let admin: Creds;

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('dist/index.js is missing: run npm run package');
  node24();
  [moto, gh] = await Promise.all([startMoto(), GitHubStandin.start()]);
  admin = await seedAdmin(moto);
}, 200_000);
afterAll(async () => {
  await Promise.all([moto?.stop(), gh?.stop()]);
});

const env = (c: Creds, repository: string, attempt: number) => ({
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: c.accessKeyId,
  AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
  GITHUB_API_URL: gh.url,
  GITHUB_REPOSITORY: repository,
  GITHUB_RUN_ID: '606',
  GITHUB_RUN_ATTEMPT: String(attempt),
});

describe('world 6: SIGINT while the secret PUT is in flight, and that PUT fails (503 after 2 s)', () => {
  it('the job repository never keeps a torn pair: the id is put back within the window, every sentence is true, and a rerun finishes', async () => {
    const repository = 'octo/e2e-w6';
    const scope = repoScope(repository);
    gh.addRepository(repository);
    const old = await createUserWithKey(moto, admin, 'e2e-w6');
    seedPair(gh, scope, old);
    const secretPut = `/repos/${repository}/actions/secrets/AWS_SECRET_ACCESS_KEY`;
    // Every write of the secret is answered 503, 2 s after it arrives (a GitHub incident on that endpoint).
    const removeFault = gh.addFault({ method: 'PUT', path: secretPut, status: 503, body: { message: 'Service Unavailable' }, delayMs: 2000 });

    let child: ChildProcess | undefined;
    let sentAt = 0;
    const off = gh.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === secretPut && sentAt === 0 && child) {
        sentAt = performance.now();
        child.kill('SIGINT');
      }
    });
    // The runner's own escalation: SIGTERM 7.5 s after SIGINT, SIGKILL 2.5 s after that.
    let sent = 'SIGINT';
    const escalate = setInterval(() => {
      if (!sentAt || !child || child.exitCode !== null) return;
      const since = performance.now() - sentAt;
      if (since >= 10_000 && sent !== 'SIGKILL') child.kill((sent = 'SIGKILL'));
      else if (since >= 7_500 && sent === 'SIGINT') child.kill((sent = 'SIGTERM'));
    }, 50);
    const run = await runAction({ inputs: { 'github-token': 'test-token' }, env: env(old, repository, 1), onSpawn: (c) => (child = c), timeoutMs: 60_000 });
    clearInterval(escalate);
    off();
    removeFault();
    const exitMs = performance.now() - sentAt;

    expect(sentAt).toBeGreaterThan(0);
    // A clean exit of its own, before the runner's SIGTERM.
    expect(run.signal).toBeNull();
    expect(run.code).toBe(1);
    expect(exitMs).toBeLessThan(7_500);

    // What the job's repository holds: a pair that signs in (the previous key, put back), never the new id with the old secret.
    const held = heldPair(gh, scope);
    expect(held).toEqual({ accessKeyId: old.accessKeyId, secretAccessKey: old.secretAccessKey });
    expect(await authenticates(moto, held as Creds)).toBe(true);
    const keys = await keysOf({ moto, gh, admin, stop: async () => {} }, 'e2e-w6');
    const fresh = keys.find((k) => k.id !== old.accessKeyId)?.id as string;
    expect(keys).toEqual(
      expect.arrayContaining([
        { id: old.accessKeyId, status: 'Active' },
        { id: fresh, status: 'Active' },
      ]),
    );
    expect(keys).toHaveLength(2);

    // Every sentence: the cancel warning promises nothing it may not keep, and the one error line says where the repository stands.
    const warnings = run.stdout.split('\n').filter((l) => l.startsWith('::warning::'));
    expect(warnings).toEqual([
      '::warning::SIGINT received: cancelling — no new step starts; the run makes whole any pair it is writing (or says it could not) and reports where each destination stands',
    ]);
    expect(run.errors).toEqual([
      `::error::the run was cancelled (SIGINT) while a step was in flight, which then failed: writing AWS_SECRET_ACCESS_KEY to ${repository}: ` +
        '503 Service Unavailable. not retried: the run is being cancelled. ' +
        `Both keys stay Active (${fresh} and ${old.accessKeyId}). Destinations: ${repository}: put back to ${old.accessKeyId}. ` +
        `Rerun once this run has ended (a rerun of this workflow run's jobs is proof at once; else GitHub says so, or ${fresh} is 60 minutes old): ` +
        `no destination holds ${fresh}; a rerun that signs in with ${old.accessKeyId} deletes ${fresh} as this run's orphan and rotates.`,
    ]);
    expect(run.stdout).not.toContain('could not finish cleaning up in time');
    expect(run.outputs.rotated).toBe('false');
    for (const secret of run.masked.filter((m) => m !== 'test-token')) expect(leaks(run, secret)).toEqual([]);

    // A plain rerun of the job (attempt 2), with what the repository holds: it finishes.
    const rerun = await runAction({ inputs: { 'github-token': 'test-token' }, env: env(held as Creds, repository, 2), timeoutMs: 60_000 });
    expect(rerun.errors).toEqual([]);
    expect(rerun.code).toBe(0);
    const after = heldPair(gh, scope) as Creds;
    expect(await authenticates(moto, after)).toBe(true);
    expect(await keysOf({ moto, gh, admin, stop: async () => {} }, 'e2e-w6')).toEqual([{ id: after.accessKeyId, status: 'Active' }]);
    // As the first run said: the rerun signed in with the previous key, deleted the new one as that run's orphan, rotated.
    const fates = (JSON.parse(rerun.outputs.keys) as { id: string; fate: string }[]).map((k) => [k.id, k.fate]);
    expect(fates).toEqual(
      expect.arrayContaining([
        [fresh, 'deleted as an orphan'],
        [old.accessKeyId, 'deleted'],
        [after.accessKeyId, 'new'],
      ]),
    );
  }, 120_000);
});
