/** Typed inputs for unit tests: what readInputs makes of action.yml's defaults, with overrides. */
import { type Inputs, readInputs } from '../../src/inputs.js';
import { actionInputDefaults } from './runner.js';

export function inputsWith(overrides: Partial<Inputs> = {}): Inputs {
  const defaults = actionInputDefaults();
  const parsed = readInputs((name) => (name === 'github-token' ? 'test-token' : (defaults[name] ?? '')), {
    GITHUB_REPOSITORY: 'octo/api',
  });
  return { ...parsed, ...overrides };
}
