/**
 * The order of `npm test` (fast files, then moto's, then those that run dist/: a plain failure shows in seconds) and
 * what `npm run test:fast` leaves out, as jest itself lists the files.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** The test files jest would run, in its order, with `args`. */
function listed(args: string[]): string[] {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--listTests', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' },
  });
  expect(r.status).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.endsWith('.test.ts'))
    .map((l) => basename(l));
}

/** What a file starts, from its imports. */
function kind(file: string): 'dist' | 'moto' | 'fast' {
  const source = readFileSync(join(ROOT, 'test', file), 'utf8');
  if (source.includes("from './support/runner.js'")) return 'dist';
  if (source.includes("from './support/moto.js'")) return 'moto';
  return 'fast';
}

describe('npm test and npm run test:fast', () => {
  const all = readdirSync(join(ROOT, 'test')).filter((f) => f.endsWith('.test.ts'));

  it('npm test runs every file: the fast ones first, the moto ones next, those that run dist/ last', () => {
    const order = listed([]);
    expect([...order].sort()).toEqual([...all].sort());
    const kinds = order.map(kind);
    const rank = { fast: 0, moto: 1, dist: 2 };
    expect(kinds.map((k) => rank[k])).toEqual(kinds.map((k) => rank[k]).sort((a, b) => a - b));
    for (const f of ['e2e.test.ts', 'e2e-proxy.test.ts', 'fault-matrix.test.ts', 'worlds.test.ts']) expect(kind(f)).toBe('dist');
    expect(kind('rotation.test.ts')).toBe('moto');
    expect(kind('inputs.test.ts')).toBe('fast');
  }, 60_000);

  it('npm run test:fast runs the fast files only: none that starts moto or runs dist/', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['test:fast']).toBe('NODE_OPTIONS=--experimental-vm-modules jest --config jest.fast.config.js');
    expect(listed(['--config', 'jest.fast.config.js']).sort()).toEqual(all.filter((f) => kind(f) === 'fast').sort());
  }, 60_000);
});

describe("npm test's output: the AWS SDK's Node 20 notice is off, other warnings are not", () => {
  /** stderr of a Node process (this one's Node) that makes an STS client and then emits a warning of its own. */
  function stderrOf(env: Record<string, string>): string {
    const script =
      "import { STSClient } from '@aws-sdk/client-sts'; new STSClient({ region: 'us-east-1' }); process.emitWarning('another warning');";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    expect(r.status).toBe(0);
    return r.stderr;
  }

  it('jest.config.js sets the SDK switch for the workers', () => {
    expect(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    expect(readFileSync(join(ROOT, 'jest.config.js'), 'utf8')).toContain("process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'");
  });

  it('the switch silences the notice and nothing else', () => {
    const quiet = stderrOf({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    expect(quiet).not.toContain('NodeVersionSupportWarning');
    expect(quiet).toContain('another warning');
    // Without it, a Node older than 22 prints the notice: the switch is what keeps it out.
    if (Number(process.versions.node.split('.')[0]) < 22) expect(stderrOf({})).toContain('NodeVersionSupportWarning');
  });
});
