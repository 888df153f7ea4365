/**
 * npm run rehearsal [-- <env file>]: the emulators for an offline `npm run local`, as `npm run demo` runs them.
 *
 * Starts moto (IAM + STS) with signatures enforced from the first request, so a request signed with a wrong or
 * deleted key is refused as AWS refuses it (plain `moto_server` answers it as a valid caller, and the new-key check
 * would pass whatever happened); seeds the IAM user ci/ci-deployer with a key and a policy that lets it rotate its own
 * keys; starts the test suite's GitHub API stand-in with the env file's repository (and its environments) whose
 * repository secrets hold that key, as a workflow's secrets would. Then writes the env file (default .env.rehearsal,
 * from .env.example the first time, keeping your inputs after that): loopback endpoints, the token the stand-in
 * accepts, the key. It runs until Ctrl-C.
 *
 * After a run writes the job's own secrets (a rotation, or a rollback), the env file is given the pair they hold, as
 * the workflow's next run would read it: the next `npm run local` signs in with the key that works, never with the
 * one the rotation deleted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitHubStandin, type Scope } from '../test/support/github-standin.js';
import { type Creds, type Moto, createUserWithKey, motoAvailable, seedAdmin, startMoto } from '../test/support/moto.js';

export const REHEARSAL_USER = 'ci-deployer';
export const REHEARSAL_PATH = '/ci/';

/**
 * `text` (an env file) with `NAME=value`: the first uncommented line that sets NAME is replaced; else the first
 * commented-out one (`# NAME=…`) is uncommented; else the line is appended.
 */
export function setEnvLine(text: string, name: string, value: string): string {
  const lines = text.split('\n');
  const sets = (l: string, commented: boolean) => new RegExp(`^\\s*${commented ? '#\\s*' : ''}${name.replace(/[-]/g, '\\-')}\\s*=`).test(l);
  let at = lines.findIndex((l) => sets(l, false));
  if (at < 0) at = lines.findIndex((l) => sets(l, true));
  if (at < 0) {
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.splice(lines.length - 1, 0, `${name}=${value}`);
    else lines.push(`${name}=${value}`);
  } else {
    lines[at] = `${name}=${value}`;
  }
  return lines.join('\n');
}

/** The value of the first uncommented `NAME=` line, or undefined. */
export function envLine(text: string, name: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=(.*)$/.exec(line);
    if (m && m[1] === name) return m[2].trim();
  }
  return undefined;
}

/** A comma- or newline-separated list input of the env file. */
const list = (value: string | undefined) =>
  (value ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

export interface Rehearsal {
  moto: Moto;
  gh: GitHubStandin;
  /** The repository the job runs in (GITHUB_REPOSITORY of the env file). */
  repository: string;
  /** The key ci-deployer had at the start, held by the repository's secrets. */
  firstKey: Creds;
  stop(): Promise<void>;
}

export interface RehearsalOptions {
  /** The env file to write and keep in step (created from `template` when missing). */
  envFile: string;
  /** .env.example. */
  template: string;
  log: (line: string) => void;
}

/** Start moto and the stand-in, seed the user and the repository, write the env file, and keep its key in step. */
export async function startRehearsal(opts: RehearsalOptions): Promise<Rehearsal> {
  const gh = await GitHubStandin.start();
  let moto: Moto | undefined;
  try {
    moto = await startMoto();
    const admin = await seedAdmin(moto);
    const firstKey = await createUserWithKey(moto, admin, REHEARSAL_USER, { path: REHEARSAL_PATH });
    let text = readFileSync(existsSync(opts.envFile) ? opts.envFile : opts.template, 'utf8');
    const repository = envLine(text, 'GITHUB_REPOSITORY') || 'your-org/your-repo';
    const environments = list(envLine(text, 'INPUT_ENVIRONMENTS'));
    for (const repo of new Set([repository, ...list(envLine(text, 'INPUT_REPOSITORIES'))])) gh.addRepository(repo, { environments });
    const idName = envLine(text, 'INPUT_ACCESS-KEY-ID-SECRET-NAME') || 'AWS_ACCESS_KEY_ID';
    const secretName = envLine(text, 'INPUT_SECRET-ACCESS-KEY-SECRET-NAME') || 'AWS_SECRET_ACCESS_KEY';
    const own: Scope = { kind: 'repository', repo: repository };
    gh.setSecret(own, idName, firstKey.accessKeyId);
    gh.setSecret(own, secretName, firstKey.secretAccessKey);
    const settings: [string, string][] = [
      ['GITHUB_REPOSITORY', repository],
      ['GITHUB_API_URL', gh.url],
      ['INPUT_GITHUB-TOKEN', 'test-token'],
      ['AWS_ENDPOINT_URL', moto.endpoint],
      ['AWS_ACCESS_KEY_ID', firstKey.accessKeyId],
      ['AWS_SECRET_ACCESS_KEY', firstKey.secretAccessKey],
    ];
    for (const [name, value] of settings) text = setEnvLine(text, name, value);
    // Credentials other than the key would be used instead of it, or with it.
    text = text.replace(/^(AWS_SESSION_TOKEN|AWS_PROFILE)=/gm, '# $1=');
    writeFileSync(opts.envFile, text);

    // The pair the job's own secrets hold (its repository's, or an environment's written last), as a job reads it.
    const ownScopes = (): Scope[] => [own, ...gh.environments(repository).map((environment): Scope => ({ kind: 'environment', repo: repository, environment }))];
    const heldPair = (): { scope: Scope; id: string; secret: string; at: string } | undefined => {
      let latest: { scope: Scope; id: string; secret: string; at: string } | undefined;
      for (const scope of ownScopes()) {
        const id = gh.secret(scope, idName) ?? gh.variable(scope, idName);
        const secret = gh.secret(scope, secretName);
        if (!id || !secret) continue;
        const at = id.updatedAt > secret.updatedAt ? id.updatedAt : secret.updatedAt;
        if (!latest || at > latest.at) latest = { scope, id: id.value, secret: secret.value, at };
      }
      return latest;
    };
    let last = `${firstKey.accessKeyId}:${firstKey.secretAccessKey}`;
    const follow = () => {
      const held = heldPair();
      if (!held || `${held.id}:${held.secret}` === last) return;
      last = `${held.id}:${held.secret}`;
      let env = readFileSync(opts.envFile, 'utf8');
      env = setEnvLine(setEnvLine(env, 'AWS_ACCESS_KEY_ID', held.id), 'AWS_SECRET_ACCESS_KEY', held.secret);
      writeFileSync(opts.envFile, env);
      const where = held.scope.kind === 'environment' ? `environment ${held.scope.environment} of ${repository}` : repository;
      opts.log(
        `${where} now holds ${held.id} (written by the run): ${opts.envFile} now holds that pair, as the workflow's next run ` +
          'would read it; the next npm run local signs in with it.',
      );
    };
    // A read sees every write before it (a destination's two secrets are written back to back, never with a read
    // between): the read-back after the fan-out brings the env file in step before the run ends. The timer catches a
    // run that stops right after its last write, once the pair has held still for one tick (not between two writes).
    const stopFollowing = gh.onRequest((req) => {
      if (req.method === 'GET') follow();
    });
    let seen = '';
    const timer = setInterval(() => {
      const held = heldPair();
      const now = held ? `${held.id}:${held.secret}` : '';
      if (now === seen) follow();
      seen = now;
    }, 500);
    timer.unref();
    return {
      moto,
      gh,
      repository,
      firstKey,
      stop: async () => {
        clearInterval(timer);
        stopFollowing();
        await Promise.all([gh.stop(), (moto as Moto).stop()]);
      },
    };
  } catch (err) {
    await Promise.all([gh.stop(), moto?.stop()]);
    throw err;
  }
}

async function main(): Promise<void> {
  if (!motoAvailable()) {
    throw new Error("moto_server is not installed: pip install 'moto[server]' (the rehearsal needs the IAM/STS emulator)");
  }
  const envFile = process.argv[2] ?? '.env.rehearsal';
  const r = await startRehearsal({ envFile, template: '.env.example', log: (l) => console.log(l) });
  console.log(`moto (IAM + STS, signatures enforced): ${r.moto.endpoint}; GitHub API stand-in: ${r.gh.url}`);
  console.log(
    `IAM user ${REHEARSAL_PATH.slice(1)}${REHEARSAL_USER} has access key ${r.firstKey.accessKeyId}; ${r.repository}'s repository secrets hold it.`,
  );
  console.log(`${envFile} is written: the inputs are yours to change (INPUT_DRY-RUN=false rotates). In another terminal:`);
  console.log(`  npm run local -- ${envFile}`);
  console.log('Ctrl-C stops the emulators; their state goes with them (a new rehearsal starts afresh).');
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await r.stop();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
