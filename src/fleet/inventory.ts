/**
 * What IAM says about the users the audit names (the manifest's users, and every user the credential report shows
 * with a key): each key's id, status, creation and last use, and the action's record of it. Read only; a user a
 * read fails for is unknown, never taken for one without keys.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { accessKeyLastUsed, awsErrorName, listAccessKeys, listUserTags } from '../aws/aws.js';
import { type KeyRecord, parseRecord } from '../keys/records.js';
import { ActionError, errorMessage } from '../shared/errors.js';
import type { Use } from '../shared/types.js';

/** One access key as IAM lists it, with its last use and the action's record. */
export interface KeyFacts {
  id: string;
  status: 'Active' | 'Inactive';
  created: Date;
  /** null: never used; 'unknown': GetAccessKeyLastUsed failed. */
  lastUsed: Use | null | 'unknown';
  /** The action's record (the tag named by the key id), when there is one. */
  record: KeyRecord | undefined;
}

export type UserRead =
  | { name: string; state: 'read'; keys: KeyFacts[]; requests: number }
  /** ListAccessKeys answered NoSuchEntity: IAM has no such user. */
  | { name: string; state: 'missing'; requests: number }
  /** A read failed (denied, throttled, unreachable): nothing is known. */
  | { name: string; state: 'unknown'; error: string; requests: number };

const isNoSuchEntity = (err: unknown) => /^NoSuchEntity(Exception)?$/.test(awsErrorName(err instanceof ActionError ? err.cause : err));

/** ListAccessKeys, ListUserTags and GetAccessKeyLastUsed for each key of one user. */
export async function readUser(iam: IAMClient, name: string): Promise<UserRead> {
  let requests = 1;
  try {
    const listed = await listAccessKeys(iam, name);
    requests++;
    const tags = new Map((await listUserTags(iam, name)).map((t) => [t.Key, t.Value]));
    const keys: KeyFacts[] = [];
    for (const k of listed) {
      requests++;
      let lastUsed: KeyFacts['lastUsed'];
      try {
        lastUsed = await accessKeyLastUsed(iam, name, k.id);
      } catch {
        lastUsed = 'unknown';
      }
      keys.push({ ...k, lastUsed, record: parseRecord(tags.get(k.id)) });
    }
    return { name, state: 'read', keys, requests };
  } catch (err) {
    if (isNoSuchEntity(err)) return { name, state: 'missing', requests };
    return { name, state: 'unknown', error: errorMessage(err), requests };
  }
}

/** readUser for each name, `concurrency` at a time, in the order given. */
export async function readUsers(iam: IAMClient, names: string[], concurrency: number): Promise<UserRead[]> {
  const out: UserRead[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) out[i] = await readUser(iam, names[i]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, names.length)) }, worker));
  return out;
}
