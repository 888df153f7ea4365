/**
 * Run the built action (dist/index.js) in a child process the way the GitHub runner does: every input as INPUT_*
 * (action.yml defaults included), GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV files, on Node 24.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

/** The repository root: the nearest folder above this file that holds action.yml (also when compiled elsewhere). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'action.yml'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no action.yml above ${from}`);
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const DIST = join(ROOT, 'dist', 'index.js');
/** The fleet action's bundle (fleet/action.yml runs it). */
export const FLEET_DIST = join(ROOT, 'dist', 'fleet', 'index.js');
/**
 * A module to preload (`nodeArgs: ['--import', SKEW_CLOCK]`) that sets the runner's clock RAAK_CLOCK_SKEW_MS ahead
 * (negative: behind) of the real one, for Date.now() and new Date(); see test/support/skew-clock.mjs.
 */
export const SKEW_CLOCK = pathToFileURL(join(ROOT, 'test', 'support', 'skew-clock.mjs')).href;

let node24Path: string | undefined;

/**
 * Path of a Node 24 binary (the action's runtime), fetched from the npm registry by `npx node@24` once and cached.
 * Throws loudly when it cannot be had: e2e tests must never silently run on another Node.
 */
export function node24(): string {
  if (node24Path) return node24Path;
  if (process.env.NODE24_PATH) return (node24Path = process.env.NODE24_PATH);
  try {
    node24Path = execFileSync('npx', ['-y', 'node@24', '-p', 'process.execPath'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    }).trim();
  } catch (err) {
    throw new Error(`e2e tests need Node 24 (npx -y node@24) and could not get it: ${(err as Error).message}`);
  }
  const version = execFileSync(node24Path, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v24.')) throw new Error(`npx node@24 gave ${version}, not Node 24`);
  return node24Path;
}

export function actionInputDefaults(actionYml = join(ROOT, 'action.yml')): Record<string, string> {
  const doc = parse(readFileSync(actionYml, 'utf8')) as { inputs: Record<string, { default?: string }> };
  return Object.fromEntries(Object.entries(doc.inputs).map(([k, v]) => [k, v.default ?? '']));
}

/** Parse a GITHUB_OUTPUT / GITHUB_ENV file (`name<<delimiter` blocks, or `name=value` lines). */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]);
      out[name] = value.join('\n');
    } else if (lines[i].includes('=')) {
      const eq = lines[i].indexOf('=');
      out[lines[i].slice(0, eq)] = lines[i].slice(eq + 1);
    }
  }
  return out;
}

export interface ActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  exported: Record<string, string>;
  summary: string;
  /** `::error::` lines printed. */
  errors: string[];
  /** Values masked with `::add-mask::`. */
  masked: string[];
  ms: number;
}

export interface RunActionOptions {
  inputs: Record<string, string>;
  env: Record<string, string>;
  /** Called once the child exists (e.g. to kill it at a chosen moment). */
  onSpawn?: (child: ChildProcess) => void;
  node?: string;
  /** Arguments for node before the script, e.g. `['--import', SKEW_CLOCK]` to preload a module. */
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Another bundle and the action.yml whose defaults it gets (default: dist/index.js and action.yml). */
  action?: { script: string; actionYml: string };
}

/** Run dist/index.js as the runner would and collect what it printed and wrote. */
export async function runAction(opts: RunActionOptions): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'raak-run-'));
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary'), GITHUB_ENV: join(dir, 'env') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const inputs = { ...actionInputDefaults(opts.action?.actionYml), ...opts.inputs };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    ...files,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v])),
    ...opts.env,
  };
  const started = performance.now();
  const child = spawn(opts.node ?? node24(), [...(opts.nodeArgs ?? []), opts.action?.script ?? DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  opts.onSpawn?.(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  const ms = performance.now() - started;
  const read = (f: string) => readFileSync(f, 'utf8');
  const result: ActionRun = {
    code,
    signal,
    stdout,
    stderr,
    outputs: parseFileCommands(read(files.GITHUB_OUTPUT)),
    exported: parseFileCommands(read(files.GITHUB_ENV)),
    summary: read(files.GITHUB_STEP_SUMMARY),
    errors: stdout.split('\n').filter((l) => l.startsWith('::error::')),
    masked: stdout
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length)),
    ms,
  };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** Every place a secret value appears in what the run printed or published, other than its own ::add-mask:: line. */
export function leaks(run: ActionRun, secret: string): string[] {
  const places: string[] = [];
  const printed = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((l) => l !== `::add-mask::${secret}`)
    .join('\n');
  if (printed.includes(secret)) places.push('stdout/stderr');
  if (Object.values(run.outputs).some((v) => v.includes(secret))) places.push('outputs');
  if (run.summary.includes(secret)) places.push('summary');
  return places;
}
