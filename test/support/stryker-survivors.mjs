/**
 * Stryker reporter for mutation testing only (stryker.config.mjs loads it), so a run of an hour can be read, and
 * worked on, while it goes on (the HTML and JSON reports come only at the end):
 *  - reports/mutation/survivors.txt: each surviving (and uncovered) mutant, the moment it is known;
 *  - reports/mutation/results.jsonl: every mutant's result, one JSON line each, for scores before the end (Stryker
 *    tests the files one after another, so the files done so far have their final score).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import process from 'node:process';
import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin';

const FILE = 'reports/mutation/survivors.txt';
const RESULTS = 'reports/mutation/results.jsonl';

class SurvivorsReporter {
  onDryRunCompleted() {
    mkdirSync(dirname(FILE), { recursive: true });
    writeFileSync(FILE, '');
    writeFileSync(RESULTS, '');
  }

  onMutantTested(result) {
    const file = relative(process.cwd(), result.fileName);
    const { line, column } = result.location.start;
    const { status, mutatorName } = result;
    appendFileSync(RESULTS, `${JSON.stringify({ file, line, column, status, mutatorName })}\n`);
    if (result.status !== 'Survived' && result.status !== 'NoCoverage') return;
    const where = `${file}:${line}:${column}`;
    const tests = result.status === 'NoCoverage' ? 'no test covers it' : `${result.testsCompleted ?? '?'} test(s) passed`;
    const replacement = (result.replacement ?? '').replace(/\s+/g, ' ').slice(0, 160);
    appendFileSync(FILE, `${where} ${result.mutatorName} → ${replacement} (${tests})\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'survivors', SurvivorsReporter)];
