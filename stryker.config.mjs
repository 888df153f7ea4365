// Mutation testing: `npm run mutate` (docs/mutation.md). Stryker 10 needs Node 22+; the npm script runs it on Node 24.
//
// Narrow a run to some files:  npm run mutate -- --mutate src/keys/verdict.ts,src/config/inputs.ts
// More test runners:           npm run mutate -- --concurrency 2   (default 1: the machine has 2 cores, keep one free)
import { existsSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import process from 'node:process';

// The sandbox is a copy without ./.venv (ignored below): a moto_server installed there is put on PATH for the test
// runners instead, where test/support/moto.ts looks first.
const venv = resolve('.venv', 'bin');
if (existsSync(resolve(venv, 'moto_server'))) process.env.PATH = `${venv}${delimiter}${process.env.PATH ?? ''}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // The tests run as ES modules through ts-jest, like `npm test`.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    // Jest's own testMatch picks the test files. Stryker's `testFiles` option must stay unset: with it, Stryker 10
    // runs no test at all for a static mutant (one executed at import time) and counts it as survived.
    config: {
      // For a quick look at one module only (scores then understate what the whole suite kills):
      //   STRYKER_TESTS=test/inputs.test.ts,test/report.test.ts npm run mutate -- --mutate src/config/inputs.ts
      ...(process.env.STRYKER_TESTS
        ? { testMatch: process.env.STRYKER_TESTS.split(',').map((t) => `<rootDir>/${t.trim()}`) }
        : {}),
      // A mutant run loads only the test files holding a test that covers the mutant, fastest first, and stops at
      // the first failing test (see the two files).
      testSequencer: '<rootDir>/test/support/stryker-sequencer.mjs',
      testEnvironment: './test/support/stryker-environment.mjs',
      // docs.test.ts reads src/ as text to check that the README quotes real messages: in the sandbox src/ is
      // instrumented (every string doubled into mutant switches), so it would fail there, and it kills no mutant.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/docs.test.ts'],
      // Transpile only (isolatedModules): every mutant run loads its test files afresh, and ts-jest's type check of
      // each costs about a second; `npm run typecheck` checks the types once.
      transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.stryker.json' }] },
    },
    // Per-test coverage already picks the tests; --findRelatedTests would only add a dependency walk per mutant.
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  // Every module with behaviour; not the entry point (it only calls main) nor type declarations.
  mutate: ['src/**/*.ts', '!src/index.ts', '!src/types/**', '!src/**/*.d.ts'],
  // TypeScript checks happen in `npm run typecheck`; mutants that do not type-check still run (and are killed or
  // listed like the rest), which is faster here than a type-checker pass per mutant.
  checkers: [],
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  // Integration tests start moto_server and the GitHub stand-in per test file: give a slow mutant room before it is
  // called a timeout (an infinite loop still ends as one).
  timeoutMS: 60_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 30,
  // survivors: reports/mutation/survivors.txt, one line per surviving mutant as soon as it survives.
  // log-lines: no mutants inside io.info(…) calls, the log's progress lines (STRYKER_LOG_LINES=1 mutates them too).
  plugins: ['@stryker-mutator/*', './test/support/stryker-survivors.mjs', './test/support/stryker-log-lines.mjs'],
  ignorers: ['log-lines'],
  reporters: ['html', 'json', 'clear-text', 'progress', 'survivors'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // Not copied into the sandbox: reports, local tools and build output (dist/ is: the end-to-end tests run it).
  ignorePatterns: ['reports', 'coverage', '.build', '.venv', '.stryker-tmp'],
  thresholds: { high: 90, low: 80, break: null },
};
