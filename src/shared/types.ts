/**
 * The shapes several layers share (IAM's keys and their last use, a user this run created, the run's environment),
 * in one module that imports nothing and runs nothing (types only): the modules that use them never need to import one
 * another for a type.
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
