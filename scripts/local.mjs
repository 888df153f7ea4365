#!/usr/bin/env node
/**
 * npm run local [-- <env file>]: run the action's source (src/action/main.ts) on this machine through GitHub's
 * @github/local-action, with the inputs and environment of an env file (default .env; `npm run rehearsal` writes
 * .env.rehearsal for the emulators), and exit the way the runner judges the step: 1 when the action failed.
 *
 * local-action itself exits 0 whatever the action did: its stand-in for core.setFailed prints the `::error::` line
 * and sets nothing the process exits with. So this watches the workflow commands the action prints, as the runner
 * reads them: an `::error::` line means the step failed. The output is passed through unchanged.
 *
 * When the env file's AWS_ACCESS_KEY_ID changed during the run (the rehearsal mirrors the key a rotation wrote to
 * the job's own secrets into it), this says so: the next run signs in with that key.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** ANSI colour codes (local-action colours its lines on a terminal), which would hide a line's start. */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Does this line of the action's output say that the step failed (the workflow command `::error::`)? */
export function isErrorCommand(line) {
  return /^::error(\s[^:]*)?::/.test(line.replace(ANSI, '').trimStart());
}

/** The value of `NAME=` in an env file's text (the last uncommented line that sets it), or undefined. */
export function envValue(text, name) {
  let value;
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=(.*)$/.exec(line);
    if (m && m[1] === name) value = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return value;
}

/** The exit code of the step: local-action's own when it failed, else 1 after an `::error::` line, else 0. */
export function stepExitCode(childCode, sawError) {
  if (childCode !== 0) return childCode ?? 1;
  return sawError ? 1 : 0;
}

function main() {
  const envFile = process.argv[2] ?? '.env';
  if (!existsSync(envFile)) {
    console.error(
      envFile === '.env'
        ? 'npm run local reads .env: cp .env.example .env and fill it in (a dry run as shipped), or rehearse offline: npm run rehearsal'
        : `npm run local: ${envFile} does not exist (npm run rehearsal writes .env.rehearsal)`,
    );
    process.exit(1);
  }
  mkdirSync(join(ROOT, '.build'), { recursive: true });
  const keyBefore = envValue(readFileSync(envFile, 'utf8'), 'AWS_ACCESS_KEY_ID');
  const bin = join(ROOT, 'node_modules', '@github', 'local-action', 'bin', 'local-action.js');
  const child = spawn(process.execPath, [bin, '.', 'src/action/main.ts', envFile], {
    cwd: ROOT,
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  let sawError = false;
  let partial = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    if (lines.some(isErrorCommand)) sawError = true;
  });
  child.on('close', (code, signal) => {
    if (isErrorCommand(partial)) sawError = true;
    const keyAfter = existsSync(envFile) ? envValue(readFileSync(envFile, 'utf8'), 'AWS_ACCESS_KEY_ID') : undefined;
    if (keyAfter !== undefined && keyAfter !== keyBefore) {
      console.log(
        `${envFile} now holds ${keyAfter} (it held ${keyBefore ?? 'no key'}): the key the job's own secrets hold after ` +
          'this run, as the workflow would read it next; the next npm run local signs in with it.',
      );
    }
    const exit = signal ? 1 : stepExitCode(code, sawError);
    if (exit !== 0) {
      console.error(
        sawError
          ? `npm run local: the action failed (the ::error:: line above says why and what to do): exit ${exit}`
          : `npm run local: local-action stopped (${signal ?? `exit ${code}`})`,
      );
    }
    process.exit(exit);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
