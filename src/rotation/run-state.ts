/** The state one run shares between its phases. */
import type { Credentials } from '../aws/aws.js';
import type { RotateContext } from '../config/context.js';
import type { Tag } from '../config/inputs.js';
import type { DestinationRecord } from './destination-record.js';
import type { Creation } from '../keys/create-marker.js';
import type { Journal } from './journal.js';
import type { AccessKey, Use } from '../keys/plan.js';
import type { KeyRecord } from '../keys/provenance.js';
import type { RotationResult } from './result.js';
import type { Rewrite } from '../keys/rewrite-marker.js';
import type { StepName } from '../shared/types.js';

/** The state of one run, shared by its phases. */
export interface RunState {
  ctx: RotateContext;
  result: RotationResult;
  journal: Journal;
  userName: string;
  /** One record per destination, made by the read step (empty before it). */
  destinations: DestinationRecord[];
  /** The caller's own pair in self-rotation (it can be written back), else undefined. */
  caller: Credentials | undefined;
  /** The key ids the user should have right now, as far as this run knows. */
  expected: Set<string>;
  /** Every destination holds the new key. */
  handedOver: boolean;
  /** The user's tags whose key is an access key id (the action's provenance records, and others'). */
  tags: Map<string, string>;
  /** The keys as listed at the start, and when each was last used. */
  initialKeys: AccessKey[];
  uses: Map<string, Use | null | undefined>;
  /** Keys handed over and waiting to be retired: id → the earliest time. */
  pending: Map<string, number>;
  /** The caller may not tag the user (the lease said so): provenance is skipped, with the lease's one warning. */
  tagsDenied: boolean;
  /** The user's tags as the lease last read them (saves reading them again). */
  userTags: Tag[] | undefined;
  /** The user's keys were listed (so they can be described at the end). */
  keysListed: boolean;
  /** The action's records of the keys (provenance tags), as read: claims, checked against IAM's facts before use. */
  records: Map<string, KeyRecord>;
  /** STS accepted the new key (or verify-timeout-seconds: 0 waived the check). */
  verified: boolean;
  /** The self-rotation holder check ran and passed (or does not apply). */
  ownHolderChecked: boolean;
  /** An earlier run's marker: it deleted a key to make room and did not finish. */
  rewrite: Rewrite | undefined;
  /** GitHub's word that the run which made a key has ended (key id → its updated_at). */
  runEnded: Map<string, number>;
  /** The runner's clock when this run started (IAM's time then: iamTimeAtStart). */
  startedAt: number;
  /** An earlier run's unfinished rotation this run finishes (self-rotation signed in with that run's new key). */
  resume: Resume | undefined;
  /** The create marker as read (before this run wrote its own), with what IAM says of the keys made in its window. */
  creation: Creation | undefined;
  /** This run wrote the create marker, and whether a rerun still needs it (a key appeared that no tag names). */
  createMarker: { written: boolean; needed: boolean };
  /** The step running now, and every step this run entered, in order (steps.ts). */
  step: StepName | undefined;
  steps: StepName[];
}

/** The state of a run that has not begun: the one place a RunState is made. */
export function newRunState(ctx: RotateContext, result: RotationResult): RunState {
  return {
    ctx,
    result,
    journal: result.journal,
    userName: ctx.inputs.iamUserName ?? '',
    destinations: [],
    caller: undefined,
    expected: new Set(),
    handedOver: false,
    tags: new Map(),
    initialKeys: [],
    uses: new Map(),
    pending: new Map(),
    tagsDenied: false,
    userTags: undefined,
    keysListed: false,
    records: new Map(),
    verified: false,
    ownHolderChecked: false,
    rewrite: undefined,
    runEnded: new Map(),
    startedAt: ctx.clock.now(),
    resume: undefined,
    creation: undefined,
    createMarker: { written: false, needed: false },
    step: undefined,
    steps: result.steps,
  };
}

/**
 * The rotation an earlier run left unfinished, read before this run changed anything: the key this job signs in with
 * was made by that run (its record, as read), which has ended, and never handed over; `previous` is the key it was
 * replacing.
 */
export interface Resume {
  key: AccessKey;
  record: KeyRecord;
  previous: AccessKey;
}
