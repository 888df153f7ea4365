/**
 * The audit's decisions, a pure function of what was read: every key of the users named, in IAM's time, and the
 * findings (a key too old, unused, two Active keys, keys no manifest entry names, manifest users IAM does not have,
 * root access keys, users that could not be read). Codes, never sentences, decide; the sentences are for people.
 */
import type { CredentialReport } from '../aws/credential-report.js';
import { label } from '../github/destinations.js';
import type { KeyRecord } from '../keys/records.js';
import type { Use } from '../shared/types.js';
import type { UserRead } from './inventory.js';
import type { ManagedUser, Manifest } from './manifest.js';

export type FindingCode =
  | 'root-access-key'
  | 'missing-user'
  | 'user-unreadable'
  | 'two-active-keys'
  | 'unmanaged-key'
  | 'key-too-old'
  | 'key-unused';

export type Severity = 'error' | 'warning' | 'note';

export const SEVERITY: Record<FindingCode, Severity> = {
  'root-access-key': 'error',
  'missing-user': 'error',
  'user-unreadable': 'warning',
  'two-active-keys': 'warning',
  'unmanaged-key': 'warning',
  'key-too-old': 'warning',
  'key-unused': 'note',
};

export interface Finding {
  code: FindingCode;
  severity: Severity;
  user: string;
  keyId?: string;
  message: string;
  /** The manifest line it concerns: the user's entry, else `users:`. */
  line: number;
}

export interface AuditedKey {
  /** The key id; undefined for a root key (the report names no ids). */
  id: string | undefined;
  status: 'Active' | 'Inactive';
  created: string;
  ageDays: number;
  lastUsed: Use | null | 'unknown';
  /** The action's record: which run made it, when it was handed over (or which key superseded it). */
  record: KeyRecord | undefined;
}

export interface AuditedUser {
  name: string;
  managed: boolean;
  /** The manifest line of its entry. */
  line: number | undefined;
  /** read: keys listed now; missing: IAM has no such user; unknown: the read failed; not-audited: another account. */
  state: 'read' | 'missing' | 'unknown' | 'not-audited';
  keys: AuditedKey[];
  /** The manifest's destinations of this user (for its current key). */
  destinations: string[];
  /** Why the user is unknown or not audited. */
  note?: string;
  /** max-age-days that applies to it. */
  maxAgeDays: number;
}

export interface AuditSettings {
  maxAgeDays: number;
  unusedDays: number;
}

export interface AuditFacts {
  /** IAM's time now (ms). */
  iamNow: number;
  /** The account audited (the credentials'). */
  account: string;
  report: CredentialReport;
  /** Every user read, by name. */
  reads: UserRead[];
  manifest: Manifest;
}

export interface Audit {
  users: AuditedUser[];
  findings: Finding[];
  /** Users of the account the report lists with no key and no manifest entry (counted, not listed). */
  usersWithoutKeys: number;
}

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** How a key's last use reads in a sentence. */
export function useText(u: Use | null | 'unknown' | { date: Date; region: string; service: string }): string {
  if (u === 'unknown') return 'last use unknown';
  if (u === null) return 'never used';
  const date = typeof u.date === 'string' ? u.date : u.date.toISOString();
  return `last used ${date} (${u.service}, ${u.region})`;
}

/** A manifest user's own max-age-days when it sets one above 0, else the audit's. */
export function maxAgeFor(user: ManagedUser | undefined, settings: AuditSettings): number {
  const own = user?.inputs.maxAgeDays ?? 0;
  return own > 0 ? own : settings.maxAgeDays;
}

/** Is the manifest user in the audited account? (No role named: the job's own account.) */
export const inAccount = (user: ManagedUser, account: string): boolean => user.account === undefined || user.account === account;

/** Who made a key, for a sentence: the action's record, or that it has none. */
function madeBy(r: KeyRecord | undefined): string {
  return r?.by ? `made by run ${r.by}` : r ? 'recorded by this action' : 'no record of this action';
}

export function audit(facts: AuditFacts, settings: AuditSettings): Audit {
  const { iamNow, manifest } = facts;
  const findings: Finding[] = [];
  const find = (code: FindingCode, user: string, line: number, message: string, keyId?: string) =>
    void findings.push({ code, severity: SEVERITY[code], user, ...(keyId ? { keyId } : {}), message, line });
  const managed = new Map(manifest.users.map((u) => [u.name.toLowerCase(), u]));
  const reads = new Map(facts.reads.map((r) => [r.name.toLowerCase(), r]));
  const users: AuditedUser[] = [];

  // The root user: the report is the only place its keys show (no ListAccessKeys for root without root's credentials).
  for (const row of facts.report.rows.filter((r) => r.root)) {
    for (const k of row.keys) {
      const made = Number.isNaN(k.created.getTime()) ? 'created at a time the report does not give' : `created ${day(k.created.getTime())}`;
      find(
        'root-access-key',
        '<root_account>',
        manifest.usersLine,
        `the account's root user has an access key (slot ${k.slot}, ${k.active ? 'Active' : 'Inactive'}, ${made}, ` +
          `${useText(k.lastUsed)}): root keys cannot be limited by any policy; delete it (signed in as root: ` +
          'Security credentials → Access keys)',
      );
    }
  }

  const names = new Map<string, string>();
  for (const r of facts.reads) names.set(r.name.toLowerCase(), r.name);
  for (const u of manifest.users) names.set(u.name.toLowerCase(), u.name);
  let usersWithoutKeys = 0;
  for (const row of facts.report.rows) if (!row.root && row.keys.length === 0 && !managed.has(row.user.toLowerCase())) usersWithoutKeys++;

  for (const [lower, name] of [...names].sort((a, b) => a[1].localeCompare(b[1]))) {
    const entry = managed.get(lower);
    const line = entry?.line ?? manifest.usersLine;
    const base = {
      name: entry?.name ?? name,
      managed: entry !== undefined,
      line: entry?.line,
      destinations: (entry?.destinations ?? []).map(label),
      maxAgeDays: maxAgeFor(entry, settings),
    };
    if (entry && !inAccount(entry, facts.account)) {
      users.push({ ...base, state: 'not-audited', keys: [], note: `its role is in account ${entry.account}, this audit reads ${facts.account}` });
      continue;
    }
    const read = reads.get(lower);
    if (!read || read.state === 'unknown') {
      const why = read?.state === 'unknown' ? read.error : 'not read';
      users.push({ ...base, state: 'unknown', keys: [], note: why });
      find('user-unreadable', base.name, line, `user ${base.name} could not be read, so its keys are unknown (not audited): ${why}`);
      continue;
    }
    if (read.state === 'missing') {
      users.push({ ...base, state: 'missing', keys: [] });
      if (entry) {
        find(
          'missing-user',
          base.name,
          line,
          `user ${base.name} is in the manifest but IAM has no such user (ListAccessKeys: NoSuchEntity): remove its entry, or create the user`,
        );
      }
      continue;
    }
    const keys: AuditedKey[] = read.keys.map((k) => ({
      id: k.id,
      status: k.status,
      created: k.created.toISOString(),
      ageDays: Math.floor((iamNow - k.created.getTime()) / DAY),
      lastUsed: k.lastUsed,
      record: k.record,
    }));
    users.push({ ...base, state: 'read', keys });
    const active = read.keys.filter((k) => k.status === 'Active');
    if (active.length >= 2) {
      find(
        'two-active-keys',
        base.name,
        line,
        `user ${base.name} has two Active access keys (${active.map((k) => `${k.id}: created ${day(k.created.getTime())}, ${madeBy(k.record)}, ${useText(k.lastUsed)}`).join('; ')}): ` +
          `a holder of one of them is most likely not rotated; deactivate the one nobody should use (aws iam update-access-key --user-name ${base.name} --access-key-id <id> --status Inactive; --status Active undoes it)`,
      );
    }
    for (const k of read.keys) {
      const age = Math.floor((iamNow - k.created.getTime()) / DAY);
      const facts = `${k.status}, ${age} days old, ${useText(k.lastUsed)}`;
      if (!entry) {
        find(
          'unmanaged-key',
          base.name,
          line,
          `access key ${k.id} of user ${base.name} (${facts}) is in no manifest entry: add the user to the manifest so a rotate job rotates it, or delete the key`,
          k.id,
        );
      }
      if (k.status !== 'Active') continue;
      if (age >= base.maxAgeDays) {
        find(
          'key-too-old',
          base.name,
          line,
          `access key ${k.id} of user ${base.name} is ${age} days old (max-age-days ${base.maxAgeDays})${entry ? ': due for rotation' : ''}`,
          k.id,
        );
      }
      const used = k.lastUsed !== null && k.lastUsed !== 'unknown' ? Date.parse(k.lastUsed.date) : undefined;
      if (k.lastUsed === null && age >= settings.unusedDays) {
        find('key-unused', base.name, line, `access key ${k.id} of user ${base.name} (Active) was never used in the ${age} days since it was made (unused-days ${settings.unusedDays})`, k.id);
      } else if (used !== undefined && iamNow - used >= settings.unusedDays * DAY) {
        const idle = Math.floor((iamNow - used) / DAY);
        find('key-unused', base.name, line, `access key ${k.id} of user ${base.name} (Active) has not been used for ${idle} days (unused-days ${settings.unusedDays}; ${useText(k.lastUsed)})`, k.id);
      }
    }
  }
  return { users, findings, usersWithoutKeys };
}
