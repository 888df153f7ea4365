/**
 * One record per key for the whole run, and one verdict for each, decided here and nowhere else: from IAM's facts
 * (the keys, their CreateDate and last use, IAM's time), the action's records (provenance tags, the create marker),
 * GitHub's word on the runs that made them, and what the destinations hold. Then the plan: skip or rotate, and which
 * key goes to make room. Pure: the same input always gives the same verdicts and plan, or the same ActionError.
 *
 * Verdicts:
 *  - current: the key the destinations are taken to hold (in self-rotation, the one the job signs in with);
 *  - new: made by this run;
 *  - resumed: the key a self-rotation signs in with, made by an earlier run that stopped before finishing: this run
 *    finishes that rotation;
 *  - pending: handed over, waiting to be retired (due, with its due time; or not while destinations may hold it, or
 *    while previous-key is keep) — the one shape of "pending retirement";
 *  - orphan: an earlier run's key, proven so, with the reason it may go and the destinations that may hold it;
 *  - unproven: nothing proves who holds it, and why.
 * The destruction table (destruction.ts) proves each reason again, with IAM's list as it is, just before the change.
 */
import type { KeyLimitMode, PreviousKeyMode } from '../config/inputs.js';
import { type DestinationRecord, mayHold, pairKey } from '../github/destination-record.js';
import { ActionError } from '../shared/errors.js';
import type { AccessKey, Use } from '../shared/types.js';
import {
  CLOCK_SLACK_MS,
  type Facts,
  MAX_RUN_MS,
  type Missing,
  RECORD_CHECKS,
  type Reason,
  gaps,
  graceOf,
  knownAbout,
  makerMayStillRun,
  olderThanSuccessor,
  unhanded,
} from './destruction.js';
import type { Creation, KeyRecord, Rewrite } from './records.js';

export type OrphanReason = Extract<Reason, 'orphan of a finished run' | 'unrecorded key of a finished run' | 'orphan held by destinations this run rewrites'>;
export type PendingReason = Extract<Reason, 'staged retirement' | 'handed over by a stopped run'>;

/** Handed over, waiting to be retired: the one shape of "pending retirement". */
export interface Pending {
  kind: 'pending';
  /** The row that retires it: its handover's grace passed, or (no grace) a run stopped before retiring it. */
  reason: PendingReason;
  successor: string;
  /** The recorded handover (IAM time). */
  handover: number;
  /** The retire-after-hours it waits (its handover's, or this run's if longer). */
  grace: number;
  /** The earliest time it may be retired (IAM time); undefined while something else than time stands in the way. */
  dueAt: number | undefined;
  /** Proven now (every check of its row holds): this run retires it. */
  due: boolean;
  /** Used since its handover, once that is `grace` old: somebody still holds it. */
  inUse: boolean;
  /** Destinations of this run written before its successor existed: they may hold it. */
  holders: DestinationRecord[];
  /** previous-key: keep: no run of these inputs retires it. */
  kept: boolean;
  /** What its row misses now. */
  missing: Missing[];
}

export type Verdict =
  | { kind: 'current' }
  | { kind: 'new' }
  | { kind: 'resumed'; previous: string }
  | Pending
  | { kind: 'orphan'; reason: OrphanReason; holders: DestinationRecord[] }
  | { kind: 'unproven'; why: string };

/** One record per key: IAM's facts, the action's record, its last use, when its maker ended, and the verdict. */
export interface KeyState {
  key: AccessKey;
  record: KeyRecord | undefined;
  /** undefined: not read, or unknown (iam:GetAccessKeyLastUsed refused). */
  lastUsed: Use | null | undefined;
  /** When the run that made it ended (GitHub's word, or an earlier attempt of this workflow run), when known. */
  makerEnded: number | undefined;
  verdict: Verdict;
}

/** The rotation an earlier run left unfinished, which a self-rotation signed in with its key finishes. */
export interface Resume {
  key: AccessKey;
  record: KeyRecord;
  previous: AccessKey;
}

/** A line for the log. */
export interface Note {
  level: 'info' | 'warning';
  text: string;
}

export interface JudgeInput {
  user: string;
  /** The keys IAM lists, as the run left them so far. */
  keys: AccessKey[];
  records: Map<string, KeyRecord>;
  uses: Map<string, Use | null | undefined>;
  /** When the run that made each key ended (key id → IAM time), when known. */
  makerEnded: Map<string, number>;
  /** The create marker as read, with its candidates and (when known) when its run ended. */
  creation: Creation | undefined;
  destinations: DestinationRecord[];
  /** The key the job signs in with, when it is one of the user's (self-rotation). */
  self: string | undefined;
  retireAfterHours: number;
  previousKey: PreviousKeyMode;
  iamNow: number;
}

export interface Judgement {
  /** Every key IAM lists, in its order, with its verdict. */
  keys: KeyState[];
  current: AccessKey | undefined;
  resume: Resume | undefined;
  notes: Note[];
}

const byAge = (a: AccessKey, b: AccessKey) => a.created.getTime() - b.created.getTime();
const second = (ms: number) => Math.floor(ms / 1000) * 1000;
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The key the destinations are taken to hold: the job's own key, else the newest Active key that is no orphan. */
export function currentKey(keys: AccessKey[], self: string | undefined, orphans: ReadonlySet<string> = new Set()): AccessKey | undefined {
  const own = keys.find((k) => k.id === self);
  if (own) return own;
  const active = keys.filter((k) => k.status === 'Active').sort(byAge);
  return active.filter((k) => !orphans.has(k.id)).at(-1) ?? active.at(-1);
}

/** The keys whose last use a verdict needs (read before judging): every key but the naive current one, unless its record matters. */
export function lastUseWanted(keys: AccessKey[], records: Map<string, KeyRecord>, creation: Creation | undefined, self: string | undefined): string[] {
  const naive = currentKey(keys, self);
  // Never the job's own key: its last use is this run's, no evidence of anyone else's.
  return keys
    .filter((k) => k.id !== self && (k.id !== naive?.id || records.get(k.id)?.supersededBy !== undefined || unhanded(records.get(k.id)) || creation?.candidates.includes(k.id)))
    .map((k) => k.id);
}

/**
 * The keys whose maker's end is worth asking GitHub about, younger than a run can last: made by this action and never
 * handed over, or (self-rotation) the key the job signs in with, made by this action (a rotation to finish).
 */
export function makerEndWanted(keys: AccessKey[], records: Map<string, KeyRecord>, iamNow: number, self: string | undefined): AccessKey[] {
  return keys.filter((k) => {
    const young = iamNow - k.created.getTime() < MAX_RUN_MS;
    return young && (unhanded(records.get(k.id)) || (k.id === self && records.get(k.id)?.created !== undefined));
  });
}

/** Is the create marker's run worth asking about: a key made in its window is young enough for it to matter? */
export const markerEndWanted = (creation: Creation | undefined, keys: AccessKey[], iamNow: number): boolean =>
  creation !== undefined && creation.candidates.some((id) => iamNow - (keys.find((k) => k.id === id)?.created.getTime() ?? 0) < MAX_RUN_MS);

/** What the judgement reads for key `k`, as the gate would (no new key yet, every listed key expected). */
function factsFor(input: JudgeInput, k: AccessKey): Facts {
  return {
    key: k,
    keys: input.keys,
    iamNow: input.iamNow,
    destinations: input.destinations,
    expected: new Set(input.keys.map((x) => x.id)),
    creation: input.creation,
    record: input.records.get(k.id),
    lastUsed: input.uses.get(k.id),
    retireAfterHours: input.retireAfterHours,
    runEnded: input.makerEnded.get(k.id),
  };
}

/** The record checks that fail for key `k`, whose record says it was superseded. */
function recordDisagrees(input: JudgeInput, k: AccessKey): string[] {
  const f = factsFor(input, k);
  return RECORD_CHECKS.flatMap((c) => c(f)?.text ?? []);
}

/**
 * Self-rotation signed in with a key an earlier run of this action made, and the user's one other key is an Active
 * key older than it, which that run was replacing: the run never handed its key over, or handed it over meaning to
 * retire the other at once and stopped first. That run has ended. This run finishes its rotation.
 */
function resumable(input: JudgeInput, self: AccessKey): Resume | undefined {
  const record = input.records.get(self.id);
  const others = input.keys.filter((k) => k.id !== self.id);
  if (record?.created === undefined || others.length !== 1) return undefined;
  const [previous] = others;
  if (previous.status !== 'Active' || previous.created > self.created) return undefined;
  if (Math.abs(Date.parse(record.created) - second(self.created.getTime())) > CLOCK_SLACK_MS) return undefined;
  const prev = input.records.get(previous.id);
  const stoppedAfterHandover =
    prev?.supersededBy === self.id && recordDisagrees(input, previous).length === 0 && graceOf(prev, input.retireAfterHours) === 0;
  if (!unhanded(record) && !stoppedAfterHandover) return undefined;
  if (makerMayStillRun(self.created, input.makerEnded.get(self.id), input.iamNow)) return undefined;
  return { key: self, record, previous };
}

/** The verdict on a key whose record says it was handed over, with the notes it earns. */
function pending(input: JudgeInput, k: AccessKey, r: KeyRecord, notes: Note[]): Pending {
  const f = factsFor(input, k);
  const grace = graceOf(r, input.retireAfterHours);
  const reason: PendingReason = grace > 0 ? 'staged retirement' : 'handed over by a stopped run';
  const handover = Date.parse(String(r.handover));
  const missing = gaps(reason, f);
  const used = f.lastUsed;
  const inUse = !!used && input.iamNow >= handover + grace * HOUR;
  const holders = olderThanSuccessor(f);
  const kept = input.previousKey === 'keep';
  // Only time stands in the way (or nothing): it is due once the handover and its last use are the grace old.
  const onlyTime = missing.every((m) => reason === 'staged retirement' && (m.code === 'handover too recent' || m.code === 'used too recently'));
  const dueAt = kept || !onlyTime ? undefined : Math.max(handover, used ? Date.parse(used.date) : 0) + grace * HOUR;
  const p: Pending = { kind: 'pending', reason, successor: r.supersededBy as string, handover, grace, dueAt, due: !kept && missing.length === 0, inUse, holders, kept, missing };
  const at = iso(handover);
  const where = holders.map((d) => d.label).join(', ');
  if (kept) {
    notes.push({ level: 'info', text: `${k.id} was handed over to ${p.successor} at ${at}; previous-key: keep: this run leaves it Active` });
  } else if (holders.length > 0 && input.self !== p.successor) {
    notes.push({
      level: 'warning',
      text:
        `${k.id} was handed over to ${p.successor} at ${at}, but ${where} may hold it (last written before ` +
        `${p.successor} existed): it is not retired while a destination may hold it (no time makes it due). ` +
        `A self-rotation that signs in with ${p.successor} gives ${where} its pair first; or, once you know ${where} no ` +
        `longer use it, delete it: aws iam delete-access-key --user-name ${input.user} --access-key-id ${k.id}`,
    });
  } else if (p.due || holders.length > 0) {
    // Due: the retirement says what it does. Held only by destinations this job gives its own pair first: likewise.
  } else if (dueAt !== undefined && inUse && used) {
    notes.push({
      level: 'warning',
      text:
        `${k.id} was handed over to ${p.successor} at ${at} but was last used ${used.date} (${used.service}, ${used.region}): ` +
        `somebody still holds it, so it is not retired. Find that holder and make it a destination; the key is retired ` +
        `once it has not been used for ${grace} h.`,
    });
  } else if (dueAt !== undefined) {
    notes.push({ level: 'info', text: `${k.id} is pending retirement (handed over to ${p.successor}): due at ${iso(dueAt)} (IAM time)` });
  } else {
    notes.push({
      level: 'warning',
      text:
        `${k.id} was handed over to ${p.successor} at ${at} but is not retired: ${missing.map((m) => m.text).join('; ')}. ` +
        'It stays Active until a run can prove nothing holds it.',
    });
  }
  return p;
}

/**
 * Judge every key. Throws (before anything changed) when a self-rotation signs in with a key an earlier run properly
 * handed over: the place the job reads its credentials from was not updated.
 */
export function judge(input: JudgeInput): Judgement {
  const { keys, records, self: selfId, creation } = input;
  const notes: Note[] = [];
  const self = keys.find((k) => k.id === selfId);
  const own = self ? records.get(self.id) : undefined;
  if (self && own?.supersededBy !== undefined) {
    const disagree = recordDisagrees(input, self);
    if (disagree.length === 0) {
      throw new ActionError(
        `this job authenticates with ${self.id}, which an earlier run handed over to ${own.supersededBy} at ` +
          `${own.handover}: the place this job reads its credentials from was not updated (it is ` +
          `not among that run's destinations, or its secret is shadowed by another level). Make it a destination, or ` +
          `give this job the current key.`,
      );
    }
    notes.push({ level: 'warning', text: `the action's record on ${self.id}, the key this job authenticates with, disagrees with IAM's facts (${disagree.join('; ')}): it is ignored` });
  }
  // Proven an earlier run's key by its record (orphan) or, no tag naming it, by the create marker (unrecorded): every
  // gap but "destinations may hold it" must be closed; that one a self-rotation closes (it gives them its own pair
  // first), and for an orphan a rotator too (it rewrites them at once, its own row).
  const proof = (k: AccessKey) => {
    const unrecorded = creation?.candidates.includes(k.id) === true;
    const missing = gaps(unrecorded ? 'unrecorded key of a finished run' : 'orphan of a finished run', factsFor(input, k));
    const closable = (m: Missing) => m.code === 'destinations may hold it' && (self !== undefined || !unrecorded);
    return { unrecorded, proven: missing.every(closable), holders: input.destinations.filter((d) => mayHold(d, k)), missing };
  };
  // The key the destinations are taken to hold is never an earlier run's provable orphan: a rotator's rerun after a
  // killed run judges that orphan, not the key it was replacing.
  const current = self ?? currentKey(keys, undefined, new Set(keys.filter((k) => proof(k).proven).map((k) => k.id)));
  const resume = self ? resumable(input, self) : undefined;
  if (resume) {
    const { key, record, previous } = resume;
    notes.push({
      level: 'info',
      text:
        `${key.id}, the key this job signs in with, was made by an earlier run of this action (${record.by ?? 'unnamed'}, ` +
        `created ${record.created}) that ended before ${unhanded(record) ? 'every destination held it' : `it retired ${previous.id}`}: ` +
        `this run finishes that rotation (every destination gets ${key.id}, then ${previous.id} is handled per previous-key)`,
    });
  }
  const verdictOf = (k: AccessKey): Verdict => {
    if (k === self) return resume ? { kind: 'resumed', previous: resume.previous.id } : { kind: 'current' };
    const r = records.get(k.id);
    if (r?.supersededBy !== undefined && k.id !== resume?.previous.id) {
      const bad = recordDisagrees(input, k);
      if (bad.length === 0) return pending(input, k, r, notes);
      notes.push({
        level: 'warning',
        text:
          `the action's record on ${k.id} says it was handed over to ${r.supersededBy} at ${r.handover ?? 'an unknown time'}, ` +
          `but IAM's facts disagree (${bad.join('; ')}): the record is ignored and ${k.id} is treated as a key this ` +
          `action did not hand over. Remove the tag ${k.id} from IAM user ${input.user} if it is wrong.`,
      });
    }
    if (k === current || k.id === resume?.previous.id) return { kind: 'current' };
    const f = factsFor(input, k);
    const { unrecorded, proven, holders, missing } = proof(k);
    if (!proven) return { kind: 'unproven', why: `${knownAbout(f)}; not an orphan: ${missing.map((m) => m.text).join('; ')}` };
    const held = holders.length > 0 ? `; destination(s) ${holders.map((d) => d.label).join(', ')} may hold it` : '';
    if (unrecorded && creation) {
      // No tag names it: the create marker, with IAM's facts, is what may show it the key of a run killed before
      // recording it: evidence a person or a tag writer can also produce, so it is only ever deactivated.
      notes.push({
        level: 'info',
        text:
          `${k.id} was made within two minutes after the create marker of ${creation.by} (${iso(creation.at)}), which has ended, ` +
          `and no tag names it (${knownAbout(f)}): it may be that run's key, or anyone's made then; it is only ever deactivated${held}`,
      });
      return { kind: 'orphan', reason: 'unrecorded key of a finished run', holders };
    }
    notes.push({ level: 'info', text: `${k.id} is an orphan of an earlier run of this action (${knownAbout(f)})${held}` });
    return { kind: 'orphan', reason: holders.length > 0 && !self ? 'orphan held by destinations this run rewrites' : 'orphan of a finished run', holders };
  };
  return {
    keys: keys.map((k) => ({ key: k, record: records.get(k.id), lastUsed: input.uses.get(k.id), makerEnded: input.makerEnded.get(k.id), verdict: verdictOf(k) })),
    current,
    resume,
    notes,
  };
}

// ---- the plan -----------------------------------------------------------------------------------------------------

/**
 * How long after a recorded handover a destination's secrets may still have been written by the run that handed the
 * key over, when its record gives no GitHub time of its last write (records from before 3.0): GitHub's updated_at and
 * IAM's time are two clocks, whole seconds.
 */
export const HANDOVER_SLACK_MS = 60_000;
/** A record's GitHub time of the handing run's last write and a secret's updated_at: one second apart is one write. */
const SAME_WRITE_MS = 1_000;

export const IAM_KEY_LIMIT = 2;
const DAY_MS = 86_400_000;

export function ageDays(key: AccessKey, now: number): number {
  return Math.floor((now - key.created.getTime()) / DAY_MS);
}

export type Plan =
  | { action: 'skip'; reason: string; current: AccessKey }
  | {
      action: 'rotate';
      reason: string;
      current: AccessKey | undefined;
      /**
       * An earlier run's orphan, deleted before the new key is made; in self-rotation the destinations that may hold
       * it are first given the caller's pair (`moveOff`).
       */
      orphan: KeyState | undefined;
      moveOff: DestinationRecord[];
      /** A rotator's orphan: destinations that may hold it, which stop working until this run rewrites them. */
      orphanBreaks?: DestinationRecord[];
      /** Deleted before the new key is created, to stay within IAM's two keys (key-limit consent). */
      makeRoom: AccessKey | undefined;
      /** makeRoom is an Active key that destinations may hold (explicit key-limit: delete-oldest). */
      makeRoomBreaks: boolean;
      /** Handled per `previousKey` once every destination holds the new key. */
      previous: AccessKey[];
      /** The row of the destruction table each key the plan retires goes by (the run passes it to the gate as it is). */
      reasons: { makeRoom?: Reason; previous: Extract<Reason, 'replaced by this run' | 'replaced by a resumed rotation'> };
      /** The earlier run's key this run hands out instead of making a new one (finishing that run's rotation). */
      resume?: AccessKey;
      previousKey: PreviousKeyMode;
    };

export interface PlanInput {
  user: string;
  /** Every key, with its verdict, as the steps so far left them. */
  keys: KeyState[];
  /** The key the job signs in with (self-rotation). */
  self: string | undefined;
  resume: Resume | undefined;
  destinations: DestinationRecord[];
  maxAgeDays: number;
  keyLimit: KeyLimitMode;
  previousKey: PreviousKeyMode;
  /** An earlier run deleted this key to make room and did not finish: destinations may hold it. */
  rewrite: Rewrite | undefined;
  /** Keys this run made Inactive on evidence that allows only that reversible step: no room is made with them. */
  reversedHere: ReadonlySet<string>;
  /** IAM's time. */
  now: number;
}

interface Room {
  orphan?: KeyState;
  moveOff?: DestinationRecord[];
  orphanBreaks?: DestinationRecord[];
  makeRoom?: AccessKey;
  breaks: boolean;
  /** No room this run: a key this run deactivated is the only one that could go. */
  deferred?: AccessKey;
}

function chooseRoom(input: PlanInput, current: AccessKey | undefined): Room {
  const { keyLimit, user, self } = input;
  const keys = input.keys.map((s) => s.key);
  if (keys.length < IAM_KEY_LIMIT) return { breaks: false };
  const list = keys.map((k) => `${k.id} (${k.status})`).join(', ');
  const others = input.keys.filter((s) => s.key.id !== current?.id).sort((a, b) => byAge(a.key, b.key));
  // An earlier run's orphan is the action's own leftover, not a key deleted to make room: key-limit does not govern it.
  // (A key only a create marker speaks for is no such orphan: the retire-due step deactivates it, and no more.)
  const orphan = others.find((s) => s.verdict.kind === 'orphan' && s.verdict.reason !== 'unrecorded key of a finished run');
  if (orphan?.verdict.kind === 'orphan') {
    const { holders, reason } = orphan.verdict;
    // A rotator knows no other pair to give the destinations that may hold the orphan: they stop working from its
    // delete until this run rewrites them, moments later (a marker tells a later run, should this one stop between).
    if (reason === 'orphan held by destinations this run rewrites') return { orphan, moveOff: [], orphanBreaks: holders, breaks: false };
    // A self-rotation gives them its own pair first (none may hold it: nothing to move).
    return { orphan, moveOff: holders, breaks: false };
  }
  if (keyLimit === 'fail') {
    throw new ActionError(
      `IAM user ${user} already has ${keys.length} access keys (${list}), the IAM limit, and key-limit is 'fail': ` +
        `delete one, or set key-limit: delete-inactive or delete-oldest.`,
    );
  }
  const waiting = input.keys.filter((s) => s.verdict.kind === 'pending' && s.key.status === 'Active');
  if (waiting.length > 0) throw pendingError(input, list, waiting);
  const inactive = keys.filter((k) => k.status === 'Inactive').sort(byAge);
  const usable = inactive.filter((k) => !input.reversedHere.has(k.id));
  if (usable.length > 0) return { makeRoom: usable[0], breaks: false };
  if (inactive.length > 0) return { breaks: false, deferred: inactive[0] };
  // Two keys or more and none Inactive: there is another Active key than the current one.
  const other = others[0];
  // Unproven, or (the only other verdict a second Active key can have here) a key only a create marker speaks for.
  const why = other.verdict.kind === 'unproven' ? other.verdict.why : 'made in the window of a create marker, which proves nothing';
  const oldest = keys.slice().sort(byAge)[0];
  if (keyLimit === 'delete-oldest' && oldest.id !== self) return { makeRoom: oldest, breaks: true };
  const consent =
    oldest.id === self
      ? 'or retire it by hand (key-limit: delete-oldest is no way out here: the oldest key is the one this job authenticates with)'
      : 'or rerun with key-limit: delete-oldest, which deletes the oldest key first (its holders stop working until this run rewrites them)';
  throw new ActionError(
    `IAM user ${user} has two Active access keys (${list}) and nothing proves who holds ${other.key.id} (${why}): ` +
      `this run deletes no key on a guess. Find the holders of ${other.key.id} (its last use says when and where it was ` +
      `used) and delete or deactivate the key nobody uses, ${consent}.`,
  );
}

/** No room while a handed-over key waits: say for each what it waits for, and what a person can do. */
function pendingError(input: PlanInput, list: string, waiting: KeyState[]): ActionError {
  const each = waiting.map((s) => {
    const p = s.verdict as Pending;
    if (p.kept) return `${s.key.id} was handed over to ${p.successor} and previous-key is keep: no run with these inputs retires it`;
    if (p.holders.length > 0) {
      const where = p.holders.map((d) => d.label).join(', ');
      return (
        `${s.key.id} was handed over to ${p.successor}, but ${where} may hold it (last written before ${p.successor} existed): ` +
        `it is not retired while a destination may hold it. A self-rotation that signs in with ${p.successor} gives ${where} its pair ` +
        `first; or, once you know ${where} no longer use${p.holders.length === 1 ? 's' : ''} it, delete it: aws iam delete-access-key ` +
        `--user-name ${input.user} --access-key-id ${s.key.id}`
      );
    }
    if (p.dueAt !== undefined) {
      return `${s.key.id} is pending retirement (handed over to ${p.successor}; ${p.inUse ? 'still in use' : 'retire-after-hours not yet passed'}): rerun once it is due, not before ${iso(p.dueAt)} (IAM time), or retire it by hand`;
    }
    return `${s.key.id} is pending retirement (handed over to ${p.successor}) but not retired: ${p.missing.map((m) => m.text).join('; ')}. Retire it by hand once you know nothing uses it`;
  });
  return new ActionError(`IAM user ${input.user} has ${input.keys.length} access keys (${list}) and no room for a new key: ${each.join('; ')}.`);
}

/** Does destination d hold both secrets of key `id`, as far as this run knows? */
const holdsPairOf = (d: DestinationRecord, id: string) => pairKey(d) === id;

/** Decide what the run does. Pure: the same input always gives the same plan, or the same ActionError. */
export function plan(input: PlanInput): Plan {
  const keys = input.keys.map((s) => s.key);
  if (input.resume) {
    const { resume } = input;
    return {
      action: 'rotate',
      reason:
        `an earlier run made ${resume.key.id}, which this job signs in with, and ended before ` +
        `${unhanded(resume.record) ? 'every destination held it' : `it retired ${resume.previous.id}`}: this run finishes that rotation`,
      current: resume.key,
      orphan: undefined,
      moveOff: [],
      makeRoom: undefined,
      makeRoomBreaks: false,
      // The one other key (a resume needs exactly two).
      previous: keys.filter((k) => k.id !== resume.key.id),
      reasons: { previous: 'replaced by a resumed rotation' },
      previousKey: input.previousKey,
      resume: resume.key,
    };
  }
  const orphans = new Set(input.keys.filter((s) => s.verdict.kind === 'orphan').map((s) => s.key.id));
  const current = currentKey(keys, input.self, orphans);
  const state = input.keys.find((s) => s.key.id === current?.id);
  const written = (d: DestinationRecord) => pairKey(d) !== undefined;
  const toCreate = input.destinations.filter((d) => d.prepared.create).map((d) => d.label);
  const missing = input.destinations.filter((d) => !d.prepared.create && d.prepared.held !== 'both' && !written(d)).map((d) => d.label);
  // GitHub's updated_at has whole seconds: compare with the key's creation time in whole seconds too.
  const createdSecond = current ? second(current.created.getTime()) : 0;
  const stale = current
    ? input.destinations
        .filter((d) => (written(d) ? !holdsPairOf(d, current.id) : d.prepared.oldestUpdate !== undefined && d.prepared.oldestUpdate < createdSecond))
        .map((d) => d.label)
    : [];
  // Written after the current key's recorded handover: nothing proves they still hold it. The record's GitHub time of
  // the handing run's last write is GitHub's own clock; without it, IAM's handover time and a minute of slack.
  const record = state?.record?.supersededBy === undefined ? state?.record : undefined;
  const handover = Date.parse(String(record?.handover));
  const lastWrite = Date.parse(String(record?.written));
  const bound = Number.isNaN(lastWrite) ? handover + HANDOVER_SLACK_MS : lastWrite + SAME_WRITE_MS;
  const late = Number.isNaN(handover)
    ? []
    : input.destinations.filter((d) => !written(d) && d.prepared.held === 'both' && Math.max(...d.prepared.updates) > bound).map((d) => d.label);
  const extra = input.keys.filter((s) => s.key.status === 'Active' && s.key !== current && s.verdict.kind !== 'pending').map((s) => s.key);
  let reason: string;
  if (toCreate.length > 0) {
    reason = `new destination(s): ${toCreate.join(', ')}`;
  } else if (missing.length > 0) {
    // Words true in both modes: with access-key-id-as: variable the id is a variable, not a secret.
    reason = `destination(s) lack the access key id or the secret access key: ${missing.join(', ')}`;
  } else if (current === undefined) {
    reason = `IAM user ${input.user} has no active access key`;
  } else if (input.rewrite) {
    reason = `an earlier run deleted ${input.rewrite.id} at ${input.rewrite.at} to make room and did not finish: destinations may hold it`;
  } else if (extra.length > 0) {
    reason = `IAM user ${input.user} has a second Active key (${extra.map((k) => k.id).join(', ')})`;
  } else if (stale.length > 0) {
    reason = `destination(s) hold secrets written before the current key ${current.id} was created: ${stale.join(', ')}`;
  } else if (late.length > 0) {
    reason =
      `destination(s) were written after the current key ${current.id} was handed over ` +
      `(${new Date(handover).toISOString()}, its record): nothing proves they hold it: ${late.join(', ')}`;
  } else if (input.maxAgeDays === 0) {
    reason = 'max-age-days is 0: always rotate';
  } else {
    const age = ageDays(current, input.now);
    if (age < input.maxAgeDays) {
      return {
        action: 'skip',
        current,
        reason: `current key ${current.id} is ${age} day(s) old, younger than max-age-days (${input.maxAgeDays})`,
      };
    }
    reason = `current key ${current.id} is ${age} day(s) old (max-age-days: ${input.maxAgeDays})`;
  }
  const room = chooseRoom(input, current);
  if (room.deferred) {
    if (current === undefined) {
      throw new ActionError(
        `IAM user ${input.user} has no Active key and no room for a new one: this run deactivated ${room.deferred.id}, which ` +
          'only a later run deletes to make room (or delete it by hand once you know nobody holds it).',
      );
    }
    return {
      action: 'skip',
      current,
      reason:
        `${reason}; but no room for a new key in this run: ${room.deferred.id} was deactivated by this run (a reversible step: ` +
        `nothing proves whose it is) and is deleted by a later run to make room (key-limit: ${input.keyLimit}), unless ` +
        'someone makes it Active again',
    };
  }
  return {
    action: 'rotate',
    reason,
    current,
    orphan: room.orphan,
    moveOff: room.moveOff ?? [],
    ...(room.orphanBreaks?.length ? { orphanBreaks: room.orphanBreaks } : {}),
    makeRoom: room.makeRoom,
    makeRoomBreaks: room.breaks,
    previous: keys.filter((k) => k !== room.makeRoom && k.id !== room.orphan?.key.id).sort(byAge),
    reasons: {
      ...(room.makeRoom ? { makeRoom: room.breaks ? ('consent: key-limit delete-oldest' as const) : ('consent: key-limit delete-inactive' as const) } : {}),
      previous: 'replaced by this run',
    },
    previousKey: input.previousKey,
  };
}

/** The plan as one line for the log: what a run does (or, dry run, would do), in order, and why. */
export function describePlan(
  p: Plan,
  user: string,
  userExists: boolean,
  destinations: DestinationRecord[],
  dryRun: boolean,
  retireAfterHours = 0,
): string {
  const prefix = dryRun ? 'Dry run: would ' : 'Plan: ';
  if (p.action === 'skip') return `Plan: skip (${p.reason}); nothing changes`;
  const changes = destinations.flatMap((d) => d.prepared.visibilityChanges.map((c) => `${d.label}: ${c}`));
  const labels = (ds: DestinationRecord[]) => ds.map((d) => d.label).join(', ');
  const steps = [
    userExists ? undefined : `create IAM user ${user}`,
    p.orphan
      ? (p.moveOff.length ? `give ${labels(p.moveOff)} this run's key ${p.current?.id}, then ` : '') +
        `delete ${p.orphan.key.id} (an orphan of an earlier run${p.orphanBreaks ? `; ${labels(p.orphanBreaks)} may hold it and stop working until rewritten` : ''})`
      : undefined,
    p.makeRoom
      ? `delete ${p.makeRoom.id} (${p.makeRoom.status}) to make room` +
        (p.makeRoomBreaks ? ' (key-limit: delete-oldest: destinations holding it stop working until rewritten)' : '')
      : undefined,
    `create a new access key for ${user}`,
    `write it to ${destinations.length} destination(s)` + (changes.length ? ` (${changes.join('; ')})` : ''),
    p.previous.length === 0
      ? undefined
      : retireAfterHours > 0 && p.previousKey !== 'keep'
        ? `leave the previous key(s) ${p.previous.map((k) => k.id).join(', ')} Active for a later run to ${p.previousKey} once unused for ${retireAfterHours} h`
        : `${p.previousKey} the previous key(s) ${p.previous.map((k) => k.id).join(', ')}`,
  ].filter(Boolean);
  return `${prefix}${steps.join(', then ')} (reason: ${p.reason})`;
}
