/** What a run reports: the result every output, the summary and the error line are made from. */
import type { Destination } from '../github/destinations.js';
import type { ActionError } from '../shared/errors.js';
import type { Visibility } from '../config/inputs.js';
import type { Journal } from './journal.js';
import type { KeyState, Plan } from '../keys/verdict.js';
import type { Use } from '../shared/types.js';

/** Where a destination stands at the end of the run. */
export type Outcome =
  | 'written' // holds the new key
  | 'would write' // dry-run
  | 'unchanged' // holds what it held before the run
  | 'restored' // the new key was written, then the previous key put back
  | 'converged' // given the pair this run authenticates with, so an orphan key could go
  | 'broken' // holds a key that no longer works: does not work until a run rewrites it
  | 'may be broken' // may hold the key deleted to make room (which one it holds is not known)
  | 'removed' // held nothing before; what the run wrote was removed again
  | 'mismatched' // one of the two secrets was written and could not be put back: does not work
  | 'unknown' // a write was in flight when the run had to stop
  | 'overwritten' // someone else wrote it after this run did: what it holds is not known
  | 'torn'; // someone else wrote one of the two after this run, the other is still this run's: a pair of two keys

export interface DestinationResult {
  destination: Destination;
  label: string;
  outcome: Outcome;
  /** The access key id the destination holds at the end, when known. */
  keyId: string | undefined;
  created?: boolean;
  /** Organization destinations: the visibility the secrets are written with. */
  visibility?: Visibility;
}

export type PreviousAction =
  | 'deleted'
  | 'deactivated'
  | 'kept'
  | 'deleted to make room'
  | 'deleted as an orphan'
  /** Handed over by this run, waiting to be retired by a later one (its verdict: pending). */
  | 'retire-pending';

export interface RotationResult {
  userName: string | undefined;
  userCreated: boolean;
  dryRun: boolean;
  plan: Plan | undefined;
  rotated: boolean;
  /** The key the destinations hold at the end (new key, or current on a skip/failure). */
  accessKeyId: string | undefined;
  newKeyId: string | undefined;
  previous: { id: string; action: PreviousAction }[];
  destinations: DestinationResult[];
  error: ActionError | undefined;
  cancelled: boolean;
  journal: Journal;
  /** The `keys` output: every key at the end of the run (and those it deleted). */
  keys?: KeyReport[];
  /**
   * Set when the keys could not be listed at the end of the run: why, for people (the `keys` output is then null and
   * the summary says the keys could not be listed). Its presence is the flag; nothing branches on its text.
   */
  keysUnread?: string;
  /** The steps this run entered, in order (STEP_NAMES): the last one is where it ended or stopped. */
  steps: StepName[];
  /** The run's one record per key, each with its verdict (keys/verdict.ts), as it stands now. */
  keyStates?: () => KeyState[];
}

/** A key's last use could not be read (GetAccessKeyLastUsed refused or failed, or the key was gone before it was read). */
export const UNKNOWN_USE = 'unknown';

/** One entry of the `keys` output. */
export interface KeyReport {
  id: string;
  status: string;
  created: string;
  /** When and where it was last used; null: never used; 'unknown': could not be read. */
  lastUsed: Use | null | typeof UNKNOWN_USE;
  description: string | null;
  fate: string;
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
