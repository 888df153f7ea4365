/**
 * The shapes several layers share (IAM's keys and their last use, a user this run created, the run's environment),
 * in one module that imports nothing: the modules that use them never need to import one another for a type.
 */

/** The run's environment variables (a parameter, never process.env read deep inside). */
export type Env = Record<string, string | undefined>;

export interface AccessKey {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
}

/** When and where a key was last used (GetAccessKeyLastUsed); null: never; undefined: unknown (not allowed to read). */
export interface Use {
  date: string;
  service: string;
  region: string;
}

/** Steps of creating a user, recorded so a failure can say exactly what exists (and undo it). */
export interface CreatedUser {
  name: string;
  groups: string[];
  policyArns: string[];
}

/** The steps of a rotation, in the order they run (each is in steps.ts). */
export const STEP_NAMES = [
  'identify',
  'lease',
  'read',
  'classify',
  'retire due',
  'plan',
  'prepare',
  'create',
  'distribute',
  'confirm',
  'hand over',
  'retire',
] as const;
export type StepName = (typeof STEP_NAMES)[number];
