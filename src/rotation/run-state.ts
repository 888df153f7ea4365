/**
 * The context a rotation runs in (its clients, clock, log and settings) and the state of one run: what the steps
 * share, and what a failure, the cancel handler and the report read. One factory makes it.
 */
import type { AwsClients, Credentials } from '../aws/aws.js';
import type { ActionsIO, LeaseSettings, RunIdentity } from '../config/context.js';
import type { Inputs } from '../config/inputs.js';
import type { DestinationRecord } from '../github/destination-record.js';
import type { GitHubApi } from '../github/github-api.js';
import type { GitHubPacing, WritePacer } from '../github/pacer.js';
import { type Facts, type KeyFate, type Reason, keyGate, reversibleOnly } from '../keys/destruction.js';
import { type UserRecords, forgetRecord } from '../keys/records.js';
import type { KeyState } from '../keys/verdict.js';
import type { Cancellation } from '../shared/cancel.js';
import type { Clock } from '../shared/clock.js';
import type { AccessKey, Use } from '../shared/types.js';
import type { Journal } from './journal.js';
import type { RotationResult } from './result.js';

export interface RotateContext {
  inputs: Inputs;
  aws: AwsClients;
  gh: GitHubApi;
  clock: Clock;
  io: ActionsIO;
  pacing: GitHubPacing;
  /** Paces every mutating GitHub request. */
  pacer: WritePacer;
  lease: LeaseSettings;
  run: RunIdentity;
  cancel: Cancellation;
}

/** A key IAM gave this run (or, resuming, the one this job signs in with): the pair and IAM's CreateDate. */
export type NewKey = Credentials & { created: Date };

/** The state of one run. */
export interface RunState {
  ctx: RotateContext;
  result: RotationResult;
  journal: Journal;
  userName: string;
  /** The AWS clients this run signs with now: the caller's; in self-rotation, the new key's once it is handed over. */
  aws: AwsClients;
  /** One record per destination, made by the read step (empty before it). */
  destinations: DestinationRecord[];
  /** Self-rotation: the job's own pair (it can be written back), else undefined. */
  self: Credentials | undefined;
  /** One record per key of the user, each with its verdict (keys/verdict.ts); judged again after each change. */
  keys: KeyState[];
  /** The keys as first listed (undefined: never listed, e.g. the user did not exist or the run stopped first). */
  listed: AccessKey[] | undefined;
  /** Each key's last use as read (undefined: the read failed: unknown); a key absent was not read. */
  uses: Map<string, Use | null | undefined>;
  /** What the user's tags said before this run changed anything: the action's records and markers. */
  recorded: UserRecords;
  /** The caller may not tag the user (the lease said so): no record is read or written, with the lease's one warning. */
  tagsDenied: boolean;
  /** The self-rotation holder check ran and passed (or does not apply). */
  ownHolderChecked: boolean;
  /** The new key (made, or resumed) and its pair: what a rollback removes, or a forward path writes. */
  fresh: NewKey | undefined;
  /** This run wrote the create marker, and whether a rerun still needs it (a key appeared that no tag names). */
  createMarker: { written: boolean; needed: boolean };
  /** The runner's clock when this run started (IAM's time then: iamTimeAtStart). */
  startedAt: number;
  /** The one gate every key's destruction goes through (keys/destruction.ts). */
  gate: ReturnType<typeof keyGate>;
}

/** The keys this run expects IAM to list: as listed, plus the one it made, less the ones it deleted. */
export function expectedKeys(s: RunState): Set<string> {
  const { journal } = s;
  const ids = [...(s.listed ?? []).map((k) => k.id), journal.newKeyId, journal.resumedKeyId].filter((id): id is string => id !== undefined);
  return new Set(ids.filter((id) => !journal.deleted(id)));
}

/** Keys this run made Inactive on evidence that allows only that reversible step. */
export const reversedHere = (journal: Journal): Set<string> =>
  new Set(journal.retired.filter((r) => r.fate === 'deactivated' && r.reason !== undefined && reversibleOnly(r.reason)).map((r) => r.id));

/**
 * This run's facts about `key`, with IAM's key list as it is now: what the gate proves a reason with. Its evidence is
 * IAM's (the list, CreateDate, last use, IAM's time), this run's own journal (what it wrote where, what it made and
 * verified), and the action's records read before this run changed anything (claims, checked against IAM's facts).
 */
export function factsOf(s: RunState, key: AccessKey, keys: AccessKey[]): Facts {
  const { journal } = s;
  const state = s.keys.find((k) => k.key.id === key.id);
  const resumed = s.keys.find((k) => k.verdict.kind === 'resumed');
  return {
    key,
    keys,
    iamNow: s.aws.time.now(),
    destinations: s.destinations,
    newKey: journal.newKeyId === undefined ? undefined : { id: journal.newKeyId, verified: journal.verified(journal.newKeyId), handedOver: journal.handedOver },
    ownHolderChecked: s.ownHolderChecked,
    expected: expectedKeys(s),
    creation: s.recorded.creation,
    record: s.recorded.records.get(key.id),
    lastUsed: s.uses.get(key.id),
    retireAfterHours: s.ctx.inputs.retireAfterHours,
    keyLimit: s.ctx.inputs.keyLimit,
    runEnded: state?.makerEnded,
    breaking: journal.broken,
    reversedHere: reversedHere(journal),
    resumed: resumed && {
      id: resumed.key.id,
      record: s.recorded.records.get(resumed.key.id) ?? {},
      runEnded: resumed.makerEnded,
      signedIn: journal.verified(resumed.key.id),
    },
  };
}

const NO_RECORDS: UserRecords = { tags: new Map(), records: new Map(), rewrite: undefined, creation: undefined };

/** The state of a run that has not begun: the one place a RunState is made. */
export function newRunState(ctx: RotateContext, result: RotationResult): RunState {
  const s: RunState = {
    ctx,
    result,
    journal: result.journal,
    userName: ctx.inputs.iamUserName ?? '',
    aws: ctx.aws,
    destinations: [],
    self: undefined,
    keys: [],
    listed: undefined,
    uses: new Map(),
    recorded: { ...NO_RECORDS, tags: new Map(), records: new Map() },
    tagsDenied: false,
    ownHolderChecked: false,
    fresh: undefined,
    createMarker: { written: false, needed: false },
    startedAt: ctx.clock.now(),
    gate: undefined as unknown as RunState['gate'],
  };
  s.gate = keyGate({
    get user() {
      return s.userName;
    },
    iam: () => s.aws.iam,
    io: ctx.io,
    cancel: ctx.cancel,
    previousKey: ctx.inputs.previousKey,
    uses: s.uses,
    known: (id) => s.keys.find((k) => k.key.id === id)?.key ?? s.listed?.find((k) => k.id === id),
    facts: (key, keys) => factsOf(s, key, keys),
    destroyed: async (id: string, fate: KeyFate, reason: Reason) => {
      s.journal.record({ kind: 'key retired', id, fate, reason });
      const state = s.keys.find((k) => k.key.id === id);
      if (fate === 'deactivated') {
        if (state) state.key = { ...state.key, status: 'Inactive' };
      } else {
        s.keys = s.keys.filter((k) => k.key.id !== id);
        await forgetRecord({ aws: s.aws, io: ctx.io }, s.userName, id, s.recorded.tags);
      }
    },
  });
  result.keyStates = () => s.keys;
  return s;
}
