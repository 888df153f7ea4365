/**
 * Stryker reporter for mutation testing only (stryker.config.mjs loads it): writes each surviving (and uncovered)
 * mutant to reports/mutation/survivors.txt the moment it is known, so a run of an hour can be read, and worked on,
 * while it goes on. The HTML and JSON reports come only at the end.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import process from 'node:process';
import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin';

const FILE = 'reports/mutation/survivors.txt';

class SurvivorsReporter {
  onDryRunCompleted() {
    mkdirSync(dirname(FILE), { recursive: true });
    writeFileSync(FILE, '');
  }

  onMutantTested(result) {
    if (result.status !== 'Survived' && result.status !== 'NoCoverage') return;
    const { line, column } = result.location.start;
    const where = `${relative(process.cwd(), result.fileName)}:${line}:${column + 1}`;
    const tests = result.status === 'NoCoverage' ? 'no test covers it' : `${result.testsCompleted ?? '?'} test(s) passed`;
    const replacement = (result.replacement ?? '').replace(/\s+/g, ' ').slice(0, 160);
    appendFileSync(FILE, `${where} ${result.mutatorName} → ${replacement} (${tests})\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'survivors', SurvivorsReporter)];
