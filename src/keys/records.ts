/**
 * What the action records on the IAM user, and reads back: user tags, each a claim anyone with iam:TagUser can also
 * write (docs/security-model.md says what bounds each).
 *  - One record per key (the tag's key is the access key id; the IAM console shows it as the key's description):
 *    this action made it (when, by which run), handed it over (when, and GitHub's time of the run's last write), or
 *    it was superseded (by which key, when, with which grace: `retire-after`).
 *  - The create marker (`rotate-aws-access-key:creating`), written just before each CreateAccessKey: which run, IAM's
 *    time, the keys listed just before. It lets a rerun know the key of a run killed before its record.
 *  - The rewrite marker (`rotate-aws-access-key:rewrite`): a run deleted an Active key to make room and may not have
 *    rewritten every destination; a later run must not skip.
 * And GitHub's own word that a workflow run has ended (it needs Actions: read). Only tags the action wrote are ever
 * changed or removed.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { type AwsClients, accessKeyLastUsed, listAccessKeys, listUserTags, tagUser, untagUser } from '../aws/aws.js';
import type { ActionsIO, RunIdentity } from '../config/context.js';
import type { Tag } from '../config/inputs.js';
import type { GitHubApi } from '../github/github-api.js';
import { isoSeconds } from '../shared/clock.js';
import { errorMessage } from '../shared/errors.js';
import type { AccessKey, Use } from '../shared/types.js';

/** What the record functions need of the run: IAM, GitHub (for a run's status), the log, and who this run is. */
export interface RecordsContext {
  aws: AwsClients;
  gh: GitHubApi;
  io: ActionsIO;
  run: RunIdentity;
}

// ---- one record per key -------------------------------------------------------------------------------------------

export const TAG_PREFIX = 'rotate-aws-access-key:';
const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

/** What the action recorded about one key (every field a claim, checked against IAM's facts before it counts). */
export interface KeyRecord {
  created?: string;
  by?: string;
  handover?: string;
  supersededBy?: string;
  /**
   * A superseded key: the retire-after-hours its handover was made with (0: the run meant to retire it at once).
   * Absent in records written before 3.0: then the reading run's own retire-after-hours stands in.
   */
  retireAfter?: number;
  /** A handed-over key: GitHub's time (Date header) of the handing run's last secret write. */
  written?: string;
}

/** The most characters an IAM tag value holds. */
export const TAG_VALUE_MAX = 256;

/**
 * Text made fit for a tag value and for the action's own parsers: IAM's characters are letters, digits, spaces and
 * `_ . : / = + - @`; anything else, and spaces (the parsers split on them), becomes `_`. ASCII only, so that
 * characters and bytes agree.
 */
export const tagText = (text: string): string => text.replace(/[^A-Za-z0-9_.:/=+@-]/g, '_');

/** This run, in the tag charset: owner/name/run id/attempt (never a URL: messages can add the server). */
export function runLabel(ctx: Pick<RecordsContext, 'run'>): string {
  const { repository, runId, attempt } = ctx.run;
  return tagText(repository && runId ? `${repository}/${runId}/${attempt}` : 'local');
}

/**
 * A run label cut to `max` characters, when it must be: the repository part is shortened (marked `..`) and the run id
 * and attempt are kept. The label is informational; no decision reads a shortened one as a match.
 */
export function shortLabel(label: string, max: number): string {
  if (label.length <= max) return label;
  const tail = /\/[^/]*\/[^/]*$/.exec(label)?.[0] ?? '';
  const head = max - tail.length - 2;
  return head > 0 ? `${label.slice(0, head)}..${tail}` : label.slice(label.length - Math.max(max, 0));
}

/** A shorter run label says too little to be worth writing. */
const MIN_LABEL = 8;

/**
 * `rotate-aws-access-key: created=<time> superseded-by=<key id> handover=<time> retire-after=<hours> written=<time>
 * by=<run>` (the fields present), at most 256 characters: every field the action reads back is kept whole; only the
 * informational run label (`by`) is shortened, or left out when there is no room for it.
 */
export function formatRecord(r: KeyRecord): string {
  const fields = Object.entries({
    created: r.created,
    'superseded-by': r.supersededBy,
    handover: r.handover,
    'retire-after': r.retireAfter === undefined ? undefined : String(r.retireAfter),
    written: r.written,
  }).filter(([, v]) => v !== undefined);
  const base = `${TAG_PREFIX} ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`;
  if (r.by === undefined) return base;
  const room = TAG_VALUE_MAX - base.length - ' by='.length;
  return room >= MIN_LABEL ? `${base} by=${shortLabel(tagText(r.by), room)}` : base;
}

/** The record in a tag value, or undefined when the tag is not the action's. */
export function parseRecord(value: string | undefined): KeyRecord | undefined {
  if (value === undefined || !value.startsWith(TAG_PREFIX)) return undefined;
  const out: KeyRecord = {};
  for (const [, k, v] of value.slice(TAG_PREFIX.length).matchAll(/([\w-]+)=(\S+)/g)) {
    if (k === 'created') out.created = v;
    else if (k === 'superseded-by') out.supersededBy = v;
    else if (k === 'handover') out.handover = v;
    else if (k === 'retire-after' && /^\d+(\.\d+)?$/.test(v)) out.retireAfter = Number(v);
    else if (k === 'written') out.written = v;
    else if (k === 'by') out.by = v;
  }
  return out;
}

/** Key id → tag value, for the tags whose key is an access key id. */
export function keyTags(tags: Tag[]): Map<string, string> {
  return new Map(tags.filter((t) => ACCESS_KEY_ID.test(t.Key)).map((t) => [t.Key, t.Value]));
}

/** Several records in one TagUser request (all or none): their values, in order. */
export async function writeRecords(ctx: Pick<RecordsContext, 'aws'>, user: string, records: [string, KeyRecord][]): Promise<string[]> {
  const tags = records.map(([keyId, record]) => ({ Key: keyId, Value: formatRecord(record) }));
  await tagUser(ctx.aws.iam, user, tags);
  return tags.map((t) => t.Value);
}

/** Remove the action's tag for a key it deleted. Never touches a tag the action did not write. */
export async function forgetRecord(ctx: Pick<RecordsContext, 'aws' | 'io'>, user: string, keyId: string, tags: Map<string, string>): Promise<void> {
  if (parseRecord(tags.get(keyId)) === undefined) return;
  try {
    await untagUser(ctx.aws.iam, user, [keyId]);
    tags.delete(keyId);
  } catch (err) {
    ctx.io.warning(`could not remove the tag describing the deleted key ${keyId}: ${errorMessage(err)}`);
  }
}

/**
 * A record younger than this (its newest time: created or handover, in IAM's time) may describe a key IAM does not
 * list yet: another run made it a moment ago, and IAM is eventually consistent. It is left for a later run to prune.
 */
export const PRUNE_AFTER_MS = 60 * 60_000;

/**
 * Remove the action's records of keys the user no longer has (deleted by hand, or by a run that stopped before it
 * removed the record), so the action keeps at most ACTION_TAGS_PER_USER tags on the user: the lease, the markers and
 * one record per existing access key. `tags` is the key id → value map (updated here); `keys` the user's keys as just
 * listed. Never touches a tag the action did not write, nor a record younger than PRUNE_AFTER_MS. Returns the ids
 * whose records were removed; a failure is a warning (the records describe keys that are gone; nothing depends on them).
 */
export async function pruneRecords(
  ctx: Pick<RecordsContext, 'aws' | 'io'>,
  user: string,
  keys: readonly { id: string }[],
  tags: Map<string, string>,
): Promise<string[]> {
  const current = new Set(keys.map((k) => k.id));
  const now = ctx.aws.time.now();
  const stale = [...tags].flatMap(([id, value]) => {
    const record = ACCESS_KEY_ID.test(id) && !current.has(id) ? parseRecord(value) : undefined;
    if (!record) return [];
    const times = [record.created, record.handover].map((t) => Date.parse(t ?? '')).filter((t) => !Number.isNaN(t));
    return times.some((t) => t > now - PRUNE_AFTER_MS) ? [] : [id];
  });
  const removed: string[] = [];
  try {
    // UntagUser takes at most 50 keys at once.
    for (let i = 0; i < stale.length; i += 50) {
      const batch = stale.slice(i, i + 50);
      await untagUser(ctx.aws.iam, user, batch);
      for (const id of batch) tags.delete(id);
      removed.push(...batch);
    }
  } catch (err) {
    const left = stale.filter((id) => !removed.includes(id));
    ctx.io.warning(
      `could not remove the action's tags describing access keys IAM user ${user} no longer has (${left.join(', ')}): ` +
        `${errorMessage(err)}`,
    );
  }
  if (removed.length > 0) {
    ctx.io.info(`Removed the action's tags describing access keys IAM user ${user} no longer has: ${removed.join(', ')}`);
  }
  return removed;
}

/** GetAccessKeyLastUsed for each key; a refusal gives undefined (unknown), with one warning. */
export async function lastUses(iam: IAMClient, io: ActionsIO, user: string, ids: string[]): Promise<Map<string, Use | null | undefined>> {
  const out = new Map<string, Use | null | undefined>();
  let warned = false;
  for (const id of ids) {
    try {
      out.set(id, await accessKeyLastUsed(iam, user, id));
    } catch (err) {
      out.set(id, undefined);
      if (!warned) io.warning(`could not read when ${id} was last used: ${errorMessage(err)}`);
      warned = true;
    }
  }
  return out;
}

// ---- the create marker --------------------------------------------------------------------------------------------

export const CREATE_TAG = 'rotate-aws-access-key:creating';

/** A key IAM made this long after the marker (IAM time) is in the marked create's window; the create follows within seconds. */
export const CREATE_WINDOW_MS = 2 * 60_000;

export interface CreateMarker {
  /** The run that was creating a key (owner/name/run id/attempt). */
  by: string;
  /** IAM's time just before its CreateAccessKey (whole seconds; IAM's clock is a lower bound up to a second early). */
  at: number;
  /** The keys IAM listed just before the marker: none of them is the marked create's. */
  keys: string[];
}

/**
 * The create marker read before this run changed anything: the run it names, IAM's time then, when that run ended
 * (GitHub's word, or an earlier attempt of this workflow run), and the keys without any tag made in its window.
 */
export interface Creation extends CreateMarker {
  ended?: number;
  candidates: string[];
}

export function parseCreateMarker(value: string | undefined): CreateMarker | undefined {
  const m = value === undefined ? null : /^by=(\S+) at=(\S+) keys=(\S*)$/.exec(value);
  const at = m ? Date.parse(m[2]) : NaN;
  return m && Number.isFinite(at) ? { by: m[1], at, keys: m[3] === '' ? [] : m[3].split(',') } : undefined;
}

/** The marker's tag value: the run label is shortened to fit IAM's 256 characters (a shortened one matches no run). */
export function formatCreateMarker(by: string, at: number, keys: string[]): string {
  const rest = ` at=${isoSeconds(at)} keys=${keys.join(',')}`;
  return `by=${shortLabel(by, TAG_VALUE_MAX - rest.length - 3)}${rest}`;
}

/** Is a key made at `created` (IAM's CreateDate) within the marker's window? */
export function inWindow(marker: CreateMarker, created: number): boolean {
  const made = Math.floor(created / 1000) * 1000;
  return made >= marker.at - 1000 && made <= marker.at + CREATE_WINDOW_MS;
}

/**
 * Leave the marker before a CreateAccessKey; false (with a warning) when it could not be written: a run killed
 * before the key's record then leaves a key a rerun cannot know for its own.
 */
export async function markCreate(ctx: RecordsContext, user: string): Promise<boolean> {
  try {
    const keys = (await listAccessKeys(ctx.aws.iam, user)).map((k) => k.id);
    await tagUser(ctx.aws.iam, user, [{ Key: CREATE_TAG, Value: formatCreateMarker(runLabel(ctx), ctx.aws.time.now(), keys) }]);
    return true;
  } catch (err) {
    ctx.io.warning(
      `could not mark IAM user ${user} with ${CREATE_TAG} before creating its key (${errorMessage(err)}): should this run ` +
        'be killed before the new key is recorded, a rerun cannot tell that key for its own and stops on it',
    );
    return false;
  }
}

/**
 * Remove a create marker that speaks for no key any more: one whose marked create made no key (IAM refused it), or
 * an earlier run's, once its run has ended and every key made in its window has been judged. A failure is a warning.
 */
export async function clearCreateMarker(ctx: Pick<RecordsContext, 'aws' | 'io'>, user: string): Promise<void> {
  try {
    await untagUser(ctx.aws.iam, user, [CREATE_TAG]);
  } catch (err) {
    ctx.io.warning(
      `could not remove the tag ${CREATE_TAG} from IAM user ${user} (${errorMessage(err)}): remove it by hand ` +
        `(aws iam untag-user --user-name ${user} --tag-keys ${CREATE_TAG}); a key made in its window is never deleted on its word`,
    );
  }
}

// ---- the rewrite marker -------------------------------------------------------------------------------------------

export const REWRITE_TAG = 'rotate-aws-access-key:rewrite';

export interface Rewrite {
  id: string;
  at: string;
}

export function parseRewrite(value: string | undefined): Rewrite | undefined {
  const m = value === undefined ? null : /^deleted=(\S+) at=(\S+)$/.exec(value);
  return m ? { id: m[1], at: m[2] } : undefined;
}

/**
 * Leave the marker before deleting an Active key that destinations may hold; false (with a warning) when the user's
 * tags may not be written. A tag can only force a rotation here, never a deletion: one that lies costs one rotation.
 */
export async function markRewrite(ctx: Pick<RecordsContext, 'aws' | 'io'>, user: string, id: string): Promise<boolean> {
  try {
    await tagUser(ctx.aws.iam, user, [{ Key: REWRITE_TAG, Value: `deleted=${id} at=${isoSeconds(ctx.aws.time.now())}` }]);
    return true;
  } catch (err) {
    ctx.io.warning(
      `could not tag IAM user ${user} with ${REWRITE_TAG} before deleting ${id} (${errorMessage(err)}): if this run ` +
        'stops before every destination holds the new key, a later run with max-age-days may skip them',
    );
    return false;
  }
}

/** Every destination holds a working key again: remove the marker (a failure is a warning). */
export async function clearRewrite(ctx: Pick<RecordsContext, 'aws' | 'io'>, user: string): Promise<void> {
  try {
    await untagUser(ctx.aws.iam, user, [REWRITE_TAG]);
  } catch (err) {
    ctx.io.warning(`could not remove the tag ${REWRITE_TAG} from IAM user ${user} (${errorMessage(err)}): the next run rotates once more`);
  }
}

// ---- everything recorded on the user, read at once ----------------------------------------------------------------

/** What the user's tags say, as read before this run changed anything. */
export interface UserRecords {
  /** Key id → tag value, for every tag whose key is an access key id (the action's records, and others'). */
  tags: Map<string, string>;
  /** The action's record of each listed key that has one. */
  records: Map<string, KeyRecord>;
  rewrite: Rewrite | undefined;
  /** The create marker, with the keys no tag names that IAM made in its window. */
  creation: Creation | undefined;
}

/** Parse the user's tags against the keys IAM lists (pure). */
export function userRecords(all: Tag[], keys: AccessKey[]): UserRecords {
  const tags = keyTags(all);
  const records = new Map(keys.flatMap((k) => {
    const r = parseRecord(tags.get(k.id));
    return r ? [[k.id, r] as const] : [];
  }));
  const rewrite = parseRewrite(all.find((t) => t.Key === REWRITE_TAG)?.Value);
  const marker = parseCreateMarker(all.find((t) => t.Key === CREATE_TAG)?.Value);
  let creation: Creation | undefined;
  if (marker) {
    // A run that recorded a key made in its window was not killed before its record: its marker says nothing more.
    const recorded = keys.some((k) => records.get(k.id)?.by === marker.by && inWindow(marker, k.created.getTime()));
    const candidates = recorded
      ? []
      : keys.filter((k) => !tags.has(k.id) && !marker.keys.includes(k.id) && inWindow(marker, k.created.getTime())).map((k) => k.id);
    creation = { ...marker, candidates };
  }
  return { tags, records, rewrite, creation };
}

/** The user's tags, or read them now. */
export async function readUserTags(ctx: Pick<RecordsContext, 'aws'>, user: string, known?: Tag[]): Promise<Tag[]> {
  return known ?? (await listUserTags(ctx.aws.iam, user));
}

// ---- GitHub's word that a run has ended ---------------------------------------------------------------------------

/** owner/name, run id and attempt of a run label, when it has them. */
export function runParts(label: string | undefined): { repository: string; runId: string; attempt: number } | undefined {
  const m = label === undefined ? null : /^(.+)\/(\d+)\/(\d+)$/.exec(label);
  return m ? { repository: m[1], runId: m[2], attempt: Number(m[3]) } : undefined;
}

/**
 * Is `label` an earlier attempt of this very workflow run? GitHub starts attempt n+1 ("Re-run jobs") only after
 * attempt n's run completed, so such a run has ended before this one started.
 */
export function earlierAttempt(ctx: Pick<RecordsContext, 'run'>, label: string | undefined): boolean {
  const theirs = runParts(label);
  const ours = runParts(runLabel(ctx));
  return !!theirs && !!ours && theirs.repository === ours.repository && theirs.runId === ours.runId && theirs.attempt < ours.attempt;
}

/** `owner/name/runId/attempt`, as runLabel writes it. */
const RUN = /^([A-Za-z0-9][A-Za-z0-9_-]*)\/([A-Za-z0-9._-]+)\/(\d+)\/(\d+)$/;

/** When GitHub says the run `by` ended (its updated_at), or undefined when it has not, or nobody can tell. */
export async function runEnded(ctx: Pick<RecordsContext, 'gh'>, by: string | undefined): Promise<number | undefined> {
  const m = by === undefined ? null : RUN.exec(by);
  if (!m) return undefined;
  const [, owner, repo, runId, attempt] = m;
  try {
    const { data } = await ctx.gh.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}', {
      owner,
      repo,
      run_id: Number(runId),
      attempt_number: Number(attempt),
    });
    const run = data as { status?: string; updated_at?: string };
    if (run.status !== 'completed') return undefined;
    const at = Date.parse(run.updated_at ?? '');
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}
