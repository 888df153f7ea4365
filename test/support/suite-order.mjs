/**
 * Jest test sequencer for `npm test`: the fast files first, then the moto ones, the dist/ ones last (suite-kinds.mjs),
 * so a plain failure shows in seconds, not after the end-to-end runs. Within a kind, jest's own order (failed last
 * time first, then the slowest first).
 */
import Sequencer from '@jest/test-sequencer';
import { KIND_ORDER, kindOfFile } from './suite-kinds.mjs';

export default class SuiteOrder extends Sequencer {
  async sort(tests) {
    const ordered = await super.sort(tests);
    const rank = new Map(ordered.map((test) => [test.path, KIND_ORDER.indexOf(kindOfFile(test.path))]));
    // Array.prototype.sort is stable: jest's order is kept within a kind.
    return [...ordered].sort((a, b) => rank.get(a.path) - rank.get(b.path));
  }
}
