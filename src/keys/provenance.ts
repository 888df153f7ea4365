/**
 * Which key belongs to whom, kept in IAM itself: a user tag whose key is the access key id (the IAM console shows it
 * as the key's description) and whose value names this action, the run, when the key was created and when it was
 * handed over — or, for a previous key, which key superseded it and when. Any later run, from any repository, reads
 * it to decide what is pending retirement. Only tags this action wrote are ever changed or removed.
 */
import { accessKeyLastUsed, listUserTags, tagUser, untagUser } from '../aws/aws.js';
import type { RotateContext } from '../config/context.js';
import type { Tag } from '../config/inputs.js';
import type { Use } from './plan.js';

export const TAG_PREFIX = 'rotate-aws-access-key:';
const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

/** What the action recorded about one key. */
export interface KeyRecord {
  created?: string;
  by?: string;
  handover?: string;
  supersededBy?: string;
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
export function runLabel(ctx: RotateContext): string {
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
 * `rotate-aws-access-key: created=<time> superseded-by=<key id> handover=<time> by=<run>` (the fields present), at most
 * 256 characters: every field the action reads back (times, key ids) is kept whole; only the informational run label
 * (`by`) is shortened, or left out when there is no room for it.
 */
export function formatRecord(r: KeyRecord): string {
  const fields = Object.entries({
    created: r.created,
    'superseded-by': r.supersededBy,
    handover: r.handover,
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
    else if (k === 'by') out.by = v;
  }
  return out;
}

/** Key id → tag value, for the tags whose key is an access key id (read now, or from tags already read). */
export async function keyTags(ctx: RotateContext, user: string, read?: Tag[]): Promise<Map<string, string>> {
  const tags = read ?? (await listUserTags(ctx.aws.iam, user));
  return new Map(tags.filter((t) => ACCESS_KEY_ID.test(t.Key)).map((t) => [t.Key, t.Value]));
}

export async function writeRecord(ctx: RotateContext, user: string, keyId: string, record: KeyRecord): Promise<string> {
  return (await writeRecords(ctx, user, [[keyId, record]]))[0];
}

/** Several records in one TagUser request (all or none): their values, in order. */
export async function writeRecords(ctx: RotateContext, user: string, records: [string, KeyRecord][]): Promise<string[]> {
  const tags = records.map(([keyId, record]) => ({ Key: keyId, Value: formatRecord(record) }));
  await tagUser(ctx.aws.iam, user, tags);
  return tags.map((t) => t.Value);
}

/** Remove the action's tag for a key it deleted. Never touches a tag the action did not write. */
export async function forgetRecord(ctx: RotateContext, user: string, keyId: string, tags: Map<string, string>): Promise<void> {
  if (parseRecord(tags.get(keyId)) === undefined) return;
  try {
    await untagUser(ctx.aws.iam, user, [keyId]);
    tags.delete(keyId);
  } catch (err) {
    ctx.io.warning(`could not remove the tag describing the deleted key ${keyId}: ${(err as Error).message}`);
  }
}

/**
 * A record younger than this (its newest time: created or handover, in IAM's time) may describe a key IAM does not
 * list yet: another run made it a moment ago, and IAM is eventually consistent. It is left for a later run to prune.
 */
export const PRUNE_AFTER_MS = 60 * 60_000;

/**
 * Remove the action's records of keys the user no longer has (deleted by hand, or by a run that stopped before it
 * removed the record), so the action keeps at most ACTION_TAGS_PER_USER tags on the user: the lease, the create marker,
 * and one record per existing access key. `tags` is the key id → value map keyTags read (updated here); `keys` the user's keys as just
 * listed. Never touches a tag the action did not write, nor a record younger than PRUNE_AFTER_MS. Returns the ids
 * whose records were removed; a failure is a warning (the records describe keys that are gone; nothing depends on them).
 */
export async function pruneRecords(
  ctx: RotateContext,
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
        `${(err as Error).message}`,
    );
  }
  if (removed.length > 0) {
    ctx.io.info(`Removed the action's tags describing access keys IAM user ${user} no longer has: ${removed.join(', ')}`);
  }
  return removed;
}

/**
 * Key id → when the action recorded handing that key to the destinations (IAM time, ms): its own record with a
 * handover and no superseded-by. A claim, used only to rotate sooner (a destination written after it), never to skip.
 */
export function handoverTimes(records: Map<string, KeyRecord>): Map<string, number> {
  return new Map(
    [...records].flatMap(([id, r]) => {
      const at = r.supersededBy === undefined ? Date.parse(r.handover ?? '') : Number.NaN;
      return Number.isNaN(at) ? [] : [[id, at] as const];
    }),
  );
}

/** GetAccessKeyLastUsed for each key; a refusal gives undefined (unknown), with one warning. */
export async function lastUses(ctx: RotateContext, user: string, ids: string[]): Promise<Map<string, Use | null | undefined>> {
  const out = new Map<string, Use | null | undefined>();
  let warned = false;
  for (const id of ids) {
    try {
      out.set(id, await accessKeyLastUsed(ctx.aws.iam, user, id));
    } catch (err) {
      out.set(id, undefined);
      if (!warned) ctx.io.warning(`could not read when ${id} was last used: ${(err as Error).message}`);
      warned = true;
    }
  }
  return out;
}
