/**
 * The fleet action's inputs and refusals: fleet/action.yml and the reader agree; every bad input, and every problem
 * of the manifest, fails the step before any network call, one error line each naming the file, line and rule.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FLEET_INPUT_NAMES, readFleetInputs } from '../src/fleet/fleet-inputs.js';
import { runFleet } from '../src/fleet/fleet.js';
import { readInputs } from '../src/config/inputs.js';
import { fleetRecorder, workspace } from './support/fleet-world.js';

interface ActionYml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
}
const fleetYml = parse(readFileSync(new URL('../fleet/action.yml', import.meta.url), 'utf8')) as ActionYml;

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? (fleetYml.inputs[name]?.default ?? '');

describe('fleet/action.yml', () => {
  it('declares the inputs the reader reads, in its order, each with its default and the version that added it', () => {
    expect(Object.keys(fleetYml.inputs)).toEqual([...FLEET_INPUT_NAMES]);
    for (const [name, spec] of Object.entries(fleetYml.inputs)) {
      expect([name, spec.required]).toEqual([name, false]);
      expect([name, typeof spec.default]).toEqual([name, 'string']);
      expect([name, spec.description]).toEqual([name, expect.stringContaining('Since v3.0.0.')]);
    }
    for (const [name, spec] of Object.entries(fleetYml.outputs)) expect([name, spec.description]).toEqual([name, expect.stringContaining('Since v3.0.0.')]);
  });

  it('runs the fleet bundle on Node 24, as actions/cache/restore runs its own', () => {
    expect(fleetYml.runs).toEqual({ using: 'node24', main: '../dist/fleet/index.js' });
  });

  it('its defaults read cleanly', () => {
    expect(readFleetInputs(reader({ 'github-token': 'ghs_x' }), {})).toEqual({
      manifest: '.github/aws-access-keys.yml',
      maxAgeDays: 90,
      unusedDays: 90,
      emergency: false,
      rotateNow: [],
      reportFile: 'aws-access-key-audit.json',
      sarifFile: undefined,
      trackingIssue: false,
      githubToken: 'ghs_x',
      awsRegion: 'us-east-1',
    });
  });

  it('bad values, all at once, each naming its input and the rule', () => {
    expect(() =>
      readFleetInputs(reader({ 'max-age-days': '0', emergency: 'yes', manifest: '../keys.yml', 'rotate-now': 'a b', 'aws-region': 'mars' }), {
        INPUT_MANIFST: 'x',
      }),
    ).toThrow(
      "6 inputs are invalid: manifst: is not an input of the fleet action (INPUT_MANIFST, from the step's with: or env:): did you mean manifest?; " +
        "manifest: '../keys.yml' must be a path inside the workspace (relative, without '..'); " +
        "max-age-days: '0' is not a whole number from 1 to 36500; emergency: 'yes' is not a boolean (use true or false); " +
        "rotate-now: 'a b' is not an IAM user name; aws-region: 'mars' is not an AWS region (e.g. us-east-1)",
    );
    expect(() => readFleetInputs(reader({ emergency: 'true', 'rotate-now': 'a' }), {})).toThrow(
      'rotate-now: is not used with emergency: true, which rotates every manifest user now',
    );
  });
});

describe("the rotation's one input for the fleet: write-interval-seconds", () => {
  const rotation = (value: string) => readInputs((n) => ({ 'github-token': 't', repositories: 'octo/a', 'write-interval-seconds': value })[n] ?? '', {});

  it('empty: the shipped pace; decimal seconds from 1 to 3600, at most three decimals', () => {
    expect(rotation('').writeIntervalSeconds).toBeUndefined();
    expect(rotation('7.625').writeIntervalSeconds).toBe(7.625);
    expect(rotation('1').writeIntervalSeconds).toBe(1);
  });

  it('never faster than a write a second, and nothing that is not a number', () => {
    for (const bad of ['0.5', '0', '3601', '7.6255', 'fast', '-2']) {
      expect(() => rotation(bad)).toThrow(`write-interval-seconds: '${bad}' is not a number of seconds from 1 to 3600 (at most three decimals, e.g. 7.625)`);
    }
  });
});

describe('src/fleet/', () => {
  it('imports the rotation\'s pieces; nothing imports it (it is an entry of its own, like src/index.ts)', () => {
    const src = new URL('../src/', import.meta.url).pathname;
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.startsWith('fleet'));
    const importers = files.filter((f) => /from '(?:\.\.?\/)+fleet\//.test(readFileSync(join(src, f), 'utf8')));
    expect(files.length).toBeGreaterThan(30);
    expect(importers).toEqual([]);
  });
});

describe('refused before any network call', () => {
  const noNetwork = () => {
    throw new Error('no network call may be made');
  };

  it('a manifest with three problems: three error lines, each with the file and line, then the step fails', async () => {
    const io = fleetRecorder();
    const dir = workspace('users:\n  a:\n    repositorys: octo/a\n    repositories: octo/a\n  A:\n    repositories: octo/b\n  b:\n    repositories: octo/a\n');
    const result = await runFleet({ env: { GITHUB_WORKSPACE: dir }, readInput: reader({}), io, makeAws: noNetwork, makeGitHub: noNetwork });
    expect(result).toBeUndefined();
    expect(io.failed).toBe(true);
    expect(io.annotations).toEqual([
      {
        level: 'error',
        message: ".github/aws-access-keys.yml line 3: user a: unknown key 'repositorys': did you mean repositories?",
        place: { file: '.github/aws-access-keys.yml', startLine: 3, title: 'manifest' },
      },
      {
        level: 'error',
        message: '.github/aws-access-keys.yml line 5: user A is listed twice (first at line 2): list each IAM user once',
        place: { file: '.github/aws-access-keys.yml', startLine: 5, title: 'manifest' },
      },
      {
        level: 'error',
        message:
          ".github/aws-access-keys.yml line 7: octo/a secret AWS_ACCESS_KEY_ID is listed under user a (line 2) and user b: each destination holds one user's key: give it to one user, or use other secret names",
        place: { file: '.github/aws-access-keys.yml', startLine: 7, title: 'manifest' },
      },
    ]);
    expect(io.outputs).toEqual({});
  });

  it('a manifest that is not there, a rotate-now user it does not list, tracking-issue without a repository', async () => {
    let io = fleetRecorder();
    await runFleet({ env: { GITHUB_WORKSPACE: workspace('users: {}', 'other.yml') }, readInput: reader({}), io, makeAws: noNetwork });
    expect(io.annotations.map((a) => a.message)).toEqual([
      'manifest: cannot read .github/aws-access-keys.yml in the workspace: there is no such file (check out the repository first: actions/checkout)',
    ]);
    io = fleetRecorder();
    const dir = workspace('users:\n  a:\n    repositories: octo/a\n');
    await runFleet({ env: { GITHUB_WORKSPACE: dir }, readInput: reader({ 'rotate-now': 'zed', 'tracking-issue': 'true', 'github-token': 't' }), io, makeAws: noNetwork });
    expect(io.annotations.map((a) => a.message)).toEqual([
      'rotate-now: zed is not a user of .github/aws-access-keys.yml',
      'tracking-issue: GITHUB_REPOSITORY is not set, so there is no repository to keep the issue in: run on a runner',
    ]);
    expect(io.failed).toBe(true);
  });

  it('masks the token before anything else', async () => {
    const io = fleetRecorder();
    await runFleet({ env: {}, readInput: reader({ 'github-token': 'ghs_secret', 'max-age-days': 'x' }), io, makeAws: noNetwork });
    expect(io.secrets).toEqual(['ghs_secret']);
    expect(io.annotations).toHaveLength(1);
  });
});
