/**
 * Issue 24, world 6 in-process: run() as the runner starts it (its cancel signals and its hard stop), the real GitHub
 * client (Octokit, its retries) against the stand-in, the in-memory IAM. SIGINT arrives while the secret's PUT is in
 * flight (the id already written) and that PUT fails: a 503 after a delay, every time. Whatever the client would have
 * retried, the work after the signal must fit before the hard stop, and the job's own repository must not be left with
 * the new id and the old secret. test/e2e-cancel.test.ts runs the same world on dist/ with real signals and timings.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Cancellation } from '../src/shared/cancel.js';
import { run } from '../src/action/main.js';
import { createGitHubClient } from '../src/github/github.js';
import { FAST_LEASE, fakeClock, reader, recorder, repoScope, seedPair, heldPair } from './support/harness.js';
import { GitHubStandin } from './support/github-standin.js';
import { memoryClients, memoryIam, userKey } from './support/memory-world.js';

const OLD = 'AKIAOLD0000000000001';
const REPO = 'octo/inflight';
const SECRET_PUT = `/repos/${REPO}/actions/secrets/AWS_SECRET_ACCESS_KEY`;

let gh: GitHubStandin;
const saved = { ...process.env };
let stdout: string[];

beforeAll(async () => {
  gh = await GitHubStandin.start();
});
afterAll(async () => {
  await gh?.stop();
});
beforeEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('GITHUB_') || k.startsWith('INPUT_') || k.startsWith('AWS_')) delete process.env[k];
  Object.assign(process.env, { GITHUB_REPOSITORY: REPO, GITHUB_RUN_ID: '606', GITHUB_RUN_ATTEMPT: '1' });
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
});

describe('world 6 in-process: SIGINT while the secret PUT is in flight, and that PUT fails', () => {
  it('the id is put back before the hard stop: the repository holds the previous pair, and the one error line says so', async () => {
    gh.reset();
    gh.addRepository(REPO);
    const iam = memoryIam();
    const old = userKey(iam, OLD);
    seedPair(gh, repoScope(REPO), old);
    // The secret's every write is answered 503 after 400 ms; the client's retry waits are 300 ms, 1.2 s, 2.7 s.
    gh.addFault({ method: 'PUT', path: SECRET_PUT, status: 503, body: { message: 'Service Unavailable' }, delayMs: 400 });
    let signal: ((name: string) => void) | undefined;
    gh.onRequest(({ method, path }) => {
      if (method === 'PUT' && path === SECRET_PUT) signal?.('SIGINT');
    });
    const { aws } = memoryClients(iam, { as: old });
    const exits: number[] = [];
    const io = recorder();
    const pacing = { writeIntervalMs: 0, retryAfterBaseMs: 300, requestTimeoutMs: 5_000, retries: 3, maxRateLimitWaitSeconds: 300, rateLimitBudgetSeconds: 900, readConcurrency: 8 };
    const started = performance.now();
    const result = await run({
      env: process.env,
      readInput: reader({}),
      io,
      clock: { ...fakeClock(), sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)) },
      pacing,
      lease: FAST_LEASE,
      awsTimeouts: { requestTimeoutMs: 2000, maxAttempts: 1 },
      makeAws: () => aws,
      makeGitHub: (token, _base, p, log, control, env) => createGitHubClient(token, gh.url, p, log, control, env),
      cancel: new Cancellation(),
      onCancelSignals: (handler) => {
        signal = handler;
        return () => {};
      },
      hardStopMs: 1_500,
      exit: (code) => void exits.push(code),
    });
    const ms = performance.now() - started;

    // The run ended on its own, well before the hard stop would have reported instead.
    expect(exits).toEqual([]);
    expect(ms).toBeLessThan(1_500);
    const fresh = result?.newKeyId as string;
    expect(heldPair(gh, repoScope(REPO))).toEqual(old);
    expect([...iam.keys.values()].map((k) => [k.id, k.status])).toEqual([
      [OLD, 'Active'],
      [fresh, 'Active'],
    ]);
    expect(result?.destinations.map((d) => [d.outcome, d.keyId])).toEqual([['restored', OLD]]);
    expect(io.warnings).toEqual([
      'SIGINT received: cancelling — no new step starts; the run makes whole any pair it is writing (or says it could not) and reports where each destination stands',
    ]);
    const errors = stdout.join('').split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toEqual([
      `::error::the run was cancelled (SIGINT) while a step was in flight, which then failed: writing AWS_SECRET_ACCESS_KEY to ${REPO}: ` +
        '503 Service Unavailable. not retried: the run is being cancelled. ' +
        `Both keys stay Active (${fresh} and ${OLD}). Destinations: ${REPO}: put back to ${OLD}. ` +
        `Rerun once this run has ended (a rerun of this workflow run's jobs is proof at once; else GitHub says so, or ${fresh} is 60 minutes old): ` +
        `no destination holds ${fresh}; a rerun that signs in with ${OLD} deletes ${fresh} as this run's orphan and rotates.`,
    ]);
    // One try of the secret (the cancel came while it was in flight), then the id put back.
    const puts = gh.requests.filter((r) => r.method === 'PUT').map((r) => r.path.split('/').pop());
    expect(puts).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID']);
  });
});
