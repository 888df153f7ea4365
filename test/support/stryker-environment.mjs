/**
 * Jest test environment for mutation testing only (stryker.config.mjs sets it; `npm test` never uses it): Node's
 * environment, plus two things that make a mutant run cheap:
 *  - "bail" for mutant runs. A mutant is killed by its first failing test, so once a test fails the tests after it
 *    are skipped (their beforeAll hooks, which start moto_server and the GitHub stand-in, too): the run still reports
 *    the failure, and Stryker counts the mutant as killed. Stryker jest runner itself cannot bail.
 *  - moto_servers kept by this test runner process between mutant runs and reset for each test file (startMoto in
 *    test/support/moto.ts), instead of one started per test file per mutant.
 *
 * Only mutant runs bail: stryker-sequencer.mjs switches it on when a run starts, and never for the dry run (every test
 * must run there, to record coverage and test names). Node 22.12+ loads this module with require() too, as Stryker's
 * environment wrapper does.
 */
import NodeEnvironment from 'jest-environment-node';

const Base = NodeEnvironment.TestEnvironment ?? NodeEnvironment.default ?? NodeEnvironment;

/** Shared with stryker-sequencer.mjs through the outer realm's global (one jest run at a time per process). */
export function bailState() {
  globalThis.__strykerBail ??= { active: false, failed: false };
  return globalThis.__strykerBail;
}

function skipAll(block) {
  for (const child of block.children) {
    if (child.type === 'test') child.mode = 'skip';
    else skipAll(child);
  }
}

export default class BailingEnvironment extends Base {
  constructor(config, context) {
    super(config, context);
    // moto_servers kept between mutant runs by this test runner process (see startMoto in test/support/moto.ts).
    globalThis.__strykerMotos ??= { idle: new Map() };
    this.global.__strykerMotos = globalThis.__strykerMotos;
  }

  async handleTestEvent(event, state) {
    await super.handleTestEvent?.(event, state);
    const bail = bailState();
    if (!bail.active) return;
    const failed =
      event.name === 'test_fn_failure' ||
      event.name === 'hook_failure' ||
      (event.name === 'test_done' && event.test.errors.length > 0);
    if (failed) bail.failed = true;
    // Tests not started yet are skipped: in this file once a test fails, every test of the files after it.
    if (bail.failed && (failed || event.name === 'run_start')) skipAll(state.rootDescribeBlock);
  }
}
