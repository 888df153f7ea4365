/** Typed inputs for unit tests: what readInputs makes of action.yml's defaults, with overrides. */
import { type Inputs, readInputs } from '../../src/config/inputs.js';
import type { PlanInput } from '../../src/keys/plan.js';
import { actionInputDefaults } from './runner.js';

export function inputsWith(overrides: Partial<Inputs> = {}): Inputs {
  const defaults = actionInputDefaults();
  const parsed = readInputs((name) => (name === 'github-token' ? 'test-token' : (defaults[name] ?? '')), {
    GITHUB_REPOSITORY: 'octo/api',
  });
  return { ...parsed, ...overrides };
}

/** A plan input: one user, no destinations, default key rules, at `now`; overrides on top. */
export function planInput(now: number, overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    userName: 'deployer',
    keys: [],
    callerKeyId: undefined,
    maxAgeDays: 0,
    keyLimit: 'delete-inactive',
    previousKey: 'delete',
    destinations: [],
    others: new Map(),
    rewrite: undefined,
    now,
    ...overrides,
  };
}

/** `others` for plan inputs: these keys are handed over and waiting to be retired. */
export function pendingKeys(...ids: string[]): PlanInput['others'] {
  return new Map(ids.map((id) => [id, { kind: 'pending' as const }]));
}
