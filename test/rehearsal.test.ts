/**
 * The offline rehearsal a newcomer runs from the README (docs/local-runs.md): `npm run rehearsal` (the emulators,
 * scripts/rehearsal.ts) and `npm run local -- .env.rehearsal` (the action's source through @github/local-action,
 * scripts/local.mjs), run here as a person would: the env file edited between runs, each run a child process.
 *
 * A local rotation, then a second rehearsal run, each judged by the end state in moto and the GitHub stand-in and by
 * what was printed: the rotation's new key works and the old one no longer does (moto enforces signatures, so the
 * new-key check proves something); the env file follows the key the job's own secrets hold, and both the rehearsal and
 * `npm run local` say so; the second run signs in with that key. A run that fails (the deleted key, a bad input) exits
 * 1, with the right advice (never "set iam-user-name" for a deleted key).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Rehearsal, envLine, setEnvLine, startRehearsal } from '../scripts/rehearsal.js';
import { authenticates, requireMoto } from './support/moto.js';

requireMoto();

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LOCAL = join(ROOT, 'scripts', 'local.mjs');

interface LocalRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the action printed (local-action's banner and its tables of action.yml and the outputs left out). */
  action: string;
  errors: string[];
}

/** The action's own lines: between local-action's "Running Action" and "Action Outputs" titles. */
const actionPart = (stdout: string) => stdout.split(/^\s*Running Action\s*$/m)[1]?.split(/^\s*Action Outputs\s*$/m)[0] ?? '';

/** `npm run local -- <envFile>`, as a person runs it: a child process with a plain environment. */
function local(envFile: string): Promise<LocalRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOCAL, envFile], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout, stderr, action: actionPart(stdout), errors: stdout.split('\n').filter((l) => l.startsWith('::error::')) }),
    );
  });
}

const edit = (file: string, name: string, value: string) => writeFileSync(file, setEnvLine(readFileSync(file, 'utf8'), name, value));
const pairIn = (file: string) => {
  const text = readFileSync(file, 'utf8');
  return { accessKeyId: envLine(text, 'AWS_ACCESS_KEY_ID') ?? '', secretAccessKey: envLine(text, 'AWS_SECRET_ACCESS_KEY') ?? '' };
};

describe('the env file helpers', () => {
  it('set a line: replace the one that sets it, else uncomment it, else append it', () => {
    const text = 'A=1\n# B=2\nGITHUB_API_URL=https://api.github.com\n# GITHUB_API_URL=http://127.0.0.1:PORT\n';
    expect(setEnvLine(text, 'A', 'x')).toBe('A=x\n# B=2\nGITHUB_API_URL=https://api.github.com\n# GITHUB_API_URL=http://127.0.0.1:PORT\n');
    expect(setEnvLine(text, 'B', 'y')).toBe('A=1\nB=y\nGITHUB_API_URL=https://api.github.com\n# GITHUB_API_URL=http://127.0.0.1:PORT\n');
    expect(setEnvLine(text, 'GITHUB_API_URL', 'http://127.0.0.1:1')).toBe('A=1\n# B=2\nGITHUB_API_URL=http://127.0.0.1:1\n# GITHUB_API_URL=http://127.0.0.1:PORT\n');
    expect(setEnvLine(text, 'INPUT_DRY-RUN', 'false')).toBe(`${text.trimEnd()}\nINPUT_DRY-RUN=false\n`);
    expect(envLine('# A=1\nA=2\n', 'A')).toBe('2');
    expect(envLine('# A=1\n', 'A')).toBeUndefined();
  });
});

describe('an offline rehearsal: a local rotation, then a second run', () => {
  let r: Rehearsal;
  let envFile: string;
  const said: string[] = [];

  beforeAll(async () => {
    envFile = join(mkdtempSync(join(tmpdir(), 'rehearsal-')), '.env.rehearsal');
    r = await startRehearsal({ envFile, template: join(ROOT, '.env.example'), log: (l) => said.push(l) });
  }, 60_000);

  afterAll(async () => {
    await r?.stop();
  });

  it('writes the env file: a dry run of the seeded key against the loopback emulators, with the token the stand-in accepts', async () => {
    const text = readFileSync(envFile, 'utf8');
    expect(envLine(text, 'INPUT_DRY-RUN')).toBe('true');
    expect(envLine(text, 'AWS_ENDPOINT_URL')).toBe(r.moto.endpoint);
    expect(envLine(text, 'GITHUB_API_URL')).toBe(r.gh.url);
    expect(envLine(text, 'INPUT_GITHUB-TOKEN')).toBe('test-token');
    expect(pairIn(envFile)).toEqual(r.firstKey);
    expect(r.gh.secret({ kind: 'repository', repo: r.repository }, 'AWS_ACCESS_KEY_ID')?.value).toBe(r.firstKey.accessKeyId);
    // Signatures are enforced: a wrong secret is refused, as AWS refuses it.
    expect(await authenticates(r.moto, { ...r.firstKey, secretAccessKey: 'wrong' })).toBe(false);
  });

  it('rotates: the new key works, the old one does not, and the env file holds the new pair, as both processes say', async () => {
    edit(envFile, 'INPUT_DRY-RUN', 'false');
    const run = await local(envFile);
    expect({ code: run.code, errors: run.errors }).toEqual({ code: 0, errors: [] });
    const created = /::info::Created access key (AKIA[A-Z0-9]+)/.exec(run.stdout)?.[1] as string;
    expect(created).toBeDefined();
    expect(run.stdout).toContain(`Deleted previous key ${r.firstKey.accessKeyId}`);

    const held = {
      accessKeyId: r.gh.secret({ kind: 'repository', repo: r.repository }, 'AWS_ACCESS_KEY_ID')?.value,
      secretAccessKey: r.gh.secret({ kind: 'repository', repo: r.repository }, 'AWS_SECRET_ACCESS_KEY')?.value,
    };
    expect(held.accessKeyId).toBe(created);
    expect(pairIn(envFile)).toEqual(held);
    expect(await authenticates(r.moto, pairIn(envFile))).toBe(true);
    expect(await authenticates(r.moto, r.firstKey)).toBe(false);

    expect(run.stdout).toContain(`${envFile} now holds ${created} (it held ${r.firstKey.accessKeyId})`);
    expect(said).toEqual([
      `${r.repository} now holds ${created} (written by the run): ${envFile} now holds that pair, as the workflow's next run ` +
        'would read it; the next npm run local signs in with it.',
    ]);
  }, 120_000);

  it('runs again with the key the rotation handed over: a self-rotation of that key, nothing else claimed', async () => {
    const key = pairIn(envFile);
    edit(envFile, 'INPUT_DRY-RUN', 'true');
    const run = await local(envFile);
    expect({ code: run.code, errors: run.errors }).toEqual({ code: 0, errors: [] });
    expect(run.action).toContain(`Self-rotation: this run authenticates with ${key.accessKeyId}, the key being replaced`);
    expect(run.action).toContain('Dry run: would create a new access key for ci-deployer');
    expect(run.action).not.toContain('iam-user-name');
    expect(pairIn(envFile)).toEqual(key);
    expect(await authenticates(r.moto, key)).toBe(true);
  }, 120_000);

  it('fails, exit 1, on the deleted key, saying the credentials are invalid (not "set iam-user-name")', async () => {
    const current = pairIn(envFile);
    edit(envFile, 'AWS_ACCESS_KEY_ID', r.firstKey.accessKeyId);
    edit(envFile, 'AWS_SECRET_ACCESS_KEY', r.firstKey.secretAccessKey);
    try {
      const run = await local(envFile);
      expect(run.code).toBe(1);
      expect(run.errors).toHaveLength(1);
      expect(run.errors[0]).toContain('the AWS credentials of this job are invalid or expired');
      expect(run.errors[0]).toContain('Nothing was changed.');
      expect(run.action).not.toContain('iam-user-name');
      expect(run.stderr).toContain('npm run local: the action failed');
      expect(await authenticates(r.moto, current)).toBe(true);
    } finally {
      edit(envFile, 'AWS_ACCESS_KEY_ID', current.accessKeyId);
      edit(envFile, 'AWS_SECRET_ACCESS_KEY', current.secretAccessKey);
    }
  }, 120_000);

  it('fails, exit 1, on a bad input, before any request', async () => {
    edit(envFile, 'INPUT_MAX-AGE-DAYS', 'soon');
    try {
      const before = r.gh.requests.length;
      const run = await local(envFile);
      expect(run.code).toBe(1);
      expect(run.errors).toEqual(["::error::max-age-days: 'soon' is not a whole number from 0 to 36500"]);
      expect(r.gh.requests.length).toBe(before);
    } finally {
      edit(envFile, 'INPUT_MAX-AGE-DAYS', '0');
    }
  }, 120_000);
});

describe('npm run local without its env file', () => {
  it('exits 1 and says how to make one', async () => {
    const run = await local(join(mkdtempSync(join(tmpdir(), 'no-env-')), '.env.rehearsal'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('does not exist (npm run rehearsal writes .env.rehearsal)');
  });
});
