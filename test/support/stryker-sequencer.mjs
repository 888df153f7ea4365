/**
 * Jest test sequencer for mutation testing only (stryker.config.mjs sets it; `npm test` never uses it).
 *
 * Stryker's jest runner tests a mutant by running jest over every test file with a --testNamePattern naming the tests
 * that cover the mutant (no pattern for a static mutant, one run at import time: then every test). Jest skips the
 * tests that do not match, but it still loads every file, and loading one is not free here (the AWS SDK, the GitHub
 * stand-in, the moto_server check). So:
 *  - the dry run (the first run, no pattern) runs every file, and records which tests each file holds and how long
 *    it took;
 *  - a mutant run keeps only the files holding a test the pattern names (a file with nothing recorded is kept), the
 *    fastest first, and bails on the first failing test (stryker-environment.mjs): the mutant is killed then.
 * The record lives in this process and in a file in the working directory (Stryker's sandbox), so a test runner that
 * Stryker restarts after the dry run still has it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import Sequencer from '@jest/test-sequencer';
import { bailState } from './stryker-environment.mjs';

const RECORD = join(process.cwd(), '.stryker-test-files.json');

/** @type {Map<string, { names: string[]; ms: number }> | undefined} test file path -> its tests' full names, its run time */
let files;

function recorded() {
  if (files === undefined && existsSync(RECORD)) {
    try {
      files = new Map(Object.entries(JSON.parse(readFileSync(RECORD, 'utf8'))));
    } catch {
      files = undefined;
    }
  }
  return files;
}

export default class StrykerSequencer extends Sequencer {
  constructor(options) {
    super(options);
    const pattern = options.globalConfig.testNamePattern;
    this.pattern = pattern ? new RegExp(pattern, 'i') : undefined;
    this.mutantRun = recorded() !== undefined;
    Object.assign(bailState(), { active: this.mutantRun, failed: false });
  }

  async sort(tests) {
    const all = await super.sort(tests);
    const byFile = recorded();
    if (!this.mutantRun || !byFile) return all;
    const ms = (test) => byFile.get(test.path)?.ms ?? Number.MAX_SAFE_INTEGER;
    return all
      .filter((test) => {
        const names = byFile.get(test.path)?.names;
        return !this.pattern || names === undefined || names.some((name) => this.pattern.test(name));
      })
      .sort((a, b) => ms(a) - ms(b));
  }

  cacheResults(tests, results) {
    super.cacheResults(tests, results);
    if (this.mutantRun) return;
    files = new Map(
      results.testResults.map((file) => [
        file.testFilePath,
        { names: file.testResults.map((t) => t.fullName), ms: file.perfStats.end - file.perfStats.start },
      ]),
    );
    writeFileSync(RECORD, JSON.stringify(Object.fromEntries(files)));
  }
}
