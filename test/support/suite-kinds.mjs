/**
 * The kinds of test file, by what they start: 'dist' files run the bundled dist/index.js as the runner does (they
 * import support/runner.ts), 'moto' files talk to a moto_server (support/moto.ts), every other file is 'fast'
 * (in-process, no emulator). `npm test` runs them in that order (suite-order.mjs); `npm run test:fast` runs only
 * the fast ones (jest.fast.config.js).
 */
import { readFileSync } from 'node:fs';

/** @typedef {'fast' | 'moto' | 'dist'} SuiteKind */
export const KIND_ORDER = ['fast', 'moto', 'dist'];

/** @returns {SuiteKind} */
export function suiteKind(source) {
  if (/from '\.\/support\/runner\.js'/.test(source)) return 'dist';
  if (/from '\.\/support\/moto\.js'/.test(source)) return 'moto';
  return 'fast';
}

/** @returns {SuiteKind} */
export const kindOfFile = (path) => suiteKind(readFileSync(path, 'utf8'));
