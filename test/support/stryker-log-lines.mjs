/**
 * Stryker ignorer for mutation testing only (stryker.config.mjs loads it): mutants inside a progress line of the log,
 * a call `io.info(…)` (or `ctx.io.info(…)`, `s.ctx.io.info(…)`), are not made. Each such mutant would change only
 * the wording of one log line, and costs every test that passes through it (for the rotation flow: hundreds) before
 * it is counted as survived; the rule lets log wording survive. Errors, warnings, outputs and the summary
 * are mutated like everything else, and the contract tests still check that the log lines are true.
 * STRYKER_LOG_LINES=1 mutates the log lines too.
 */
import process from 'node:process';
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

const isIo = (node) =>
  (node.type === 'Identifier' && node.name === 'io') ||
  (node.type === 'MemberExpression' && !node.computed && node.property.name === 'io');

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'log-lines', {
    shouldIgnore(path) {
      if (process.env.STRYKER_LOG_LINES === '1') return undefined;
      // The call, or the statement that is only the call (whose removal Stryker also tries).
      const call = path.isExpressionStatement() ? path.node.expression : path.node;
      if (call.type !== 'CallExpression') return undefined;
      const callee = call.callee;
      if (callee.type === 'MemberExpression' && !callee.computed && callee.property.name === 'info' && isIo(callee.object)) {
        return 'a progress line of the log (io.info): wording only';
      }
      return undefined;
    },
  }),
];
