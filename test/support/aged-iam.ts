/**
 * Age at the HTTP layer: moto stamps every CreateDate "now" and records no last use the tests need, and its
 * credential report has no root row and a fixed GeneratedTime. AgedIam rewrites moto's answers on their way back
 * through an AwsProxy, so one world holds keys of every age:
 *
 *  - ListAccessKeys: the CreateDate of each key given an age;
 *  - GetAccessKeyLastUsed: the last use given (date, service, region), or none;
 *  - GetCredentialReport: each aged key's slot (created, last use), a `<root_account>` row, GeneratedTime.
 *
 * Keys without an age (e.g. the keys a rotation makes during the test) pass as moto made them. Times are relative to
 * the real clock, which is moto's and the proxy's.
 */
import type { AwsProxy } from './aws-proxy.js';

const DAY = 86_400_000;
/**
 * A key "120 days old" is made 120 days and a minute before the answer: IAM's time, read from whole-second Date
 * headers, is a lower bound up to a second early, and ages are whole days rounded down.
 */
const SLACK = 60_000;

export interface LastUse {
  daysAgo: number;
  service: string;
  region: string;
}

export interface KeyAge {
  ageDays: number;
  /** null: never used. */
  lastUsed: LastUse | null;
}

export interface RootKey {
  active: boolean;
  ageDays: number;
  lastUsed: LastUse | null;
}

/** moto's report date format. */
const reportDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const isoDate = (ms: number) => new Date(ms).toISOString();

export class AgedIam {
  /** Key id → its age and last use. */
  readonly ages = new Map<string, KeyAge>();
  /** User (lower case) → its keys in creation order: the report's slots 1 and 2. */
  readonly slots = new Map<string, string[]>();
  /** The root user's access keys, as the report shows them (slot 1, 2). */
  root: RootKey[] = [];
  /** How old the credential report IAM answers with is. */
  reportAgeMinutes = 30;
  /** The account of the root row. */
  account = '123456789012';
  /** The answers rewritten, by action. */
  readonly rewritten = new Map<string, number>();

  /** Give a user's keys (in the order they were made) their ages. */
  setKeys(user: string, keys: { id: string; age: KeyAge }[]): void {
    this.slots.set(user.toLowerCase(), keys.map((k) => k.id));
    for (const k of keys) this.ages.set(k.id, k.age);
  }

  attach(proxy: AwsProxy): void {
    proxy.rewrite = (req, text) => this.rewrite(req.action, req.params, text);
  }

  private count(action: string): void {
    this.rewritten.set(action, (this.rewritten.get(action) ?? 0) + 1);
  }

  rewrite(action: string, params: URLSearchParams, text: string): string {
    const now = Date.now();
    if (action === 'ListAccessKeys') {
      this.count(action);
      return text.replace(/<member>([\s\S]*?)<\/member>/g, (member, inner: string) => {
        const id = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(inner)?.[1];
        const age = id === undefined ? undefined : this.ages.get(id);
        if (!age) return member;
        return member.replace(/<CreateDate>[^<]*<\/CreateDate>/, `<CreateDate>${isoDate(now - age.ageDays * DAY - SLACK)}</CreateDate>`);
      });
    }
    if (action === 'GetAccessKeyLastUsed') {
      const age = this.ages.get(params.get('AccessKeyId') ?? '');
      if (!age) return text;
      this.count(action);
      const u = age.lastUsed;
      const body = u
        ? `<LastUsedDate>${isoDate(now - u.daysAgo * DAY - SLACK)}</LastUsedDate><ServiceName>${u.service}</ServiceName><Region>${u.region}</Region>`
        : '<ServiceName>N/A</ServiceName><Region>N/A</Region>';
      return text.replace(/<AccessKeyLastUsed>[\s\S]*?<\/AccessKeyLastUsed>|<AccessKeyLastUsed\/>/, `<AccessKeyLastUsed>${body}</AccessKeyLastUsed>`);
    }
    if (action === 'GetCredentialReport') {
      this.count(action);
      const content = /<Content>([^<]*)<\/Content>/.exec(text)?.[1] ?? '';
      const csv = this.report(Buffer.from(content, 'base64').toString('utf8'), now);
      return text
        .replace(/<Content>[^<]*<\/Content>/, `<Content>${Buffer.from(csv, 'utf8').toString('base64')}</Content>`)
        .replace(/<GeneratedTime>[^<]*<\/GeneratedTime>/, `<GeneratedTime>${isoDate(now - this.reportAgeMinutes * 60_000).replace(/\.\d{3}Z$/, 'Z')}</GeneratedTime>`);
    }
    return text;
  }

  private report(csv: string, now: number): string {
    const lines = csv.split('\n').filter((l) => l !== '');
    const header = lines[0].split(',');
    const col = (name: string) => header.indexOf(name);
    const setSlot = (f: string[], slot: 1 | 2, key: { active: boolean; ageDays: number; lastUsed: LastUse | null } | undefined) => {
      f[col(`access_key_${slot}_active`)] = key?.active ? 'true' : 'false';
      f[col(`access_key_${slot}_last_rotated`)] = key ? reportDate(now - key.ageDays * DAY - SLACK) : 'N/A';
      f[col(`access_key_${slot}_last_used_date`)] = key?.lastUsed ? reportDate(now - key.lastUsed.daysAgo * DAY - SLACK) : 'N/A';
      f[col(`access_key_${slot}_last_used_region`)] = key?.lastUsed ? key.lastUsed.region : 'N/A';
      f[col(`access_key_${slot}_last_used_service`)] = key?.lastUsed ? key.lastUsed.service : 'N/A';
    };
    const rows = lines.slice(1).map((line) => {
      const f = line.split(',');
      const ids = this.slots.get(f[col('user')].toLowerCase());
      if (!ids) return line;
      ([1, 2] as const).forEach((slot) => {
        const age = ids[slot - 1] === undefined ? undefined : this.ages.get(ids[slot - 1]);
        // Only an aged key's slot changes (status as moto has it).
        if (age) setSlot(f, slot, { active: f[col(`access_key_${slot}_active`)] === 'true', ...age });
      });
      return f.join(',');
    });
    // IAM's report starts with the root user's row; moto has none.
    const root = header.map(() => 'not_supported');
    root[col('user')] = '<root_account>';
    root[col('arn')] = `arn:aws:iam::${this.account}:root`;
    root[col('user_creation_time')] = reportDate(now - 1000 * DAY);
    root[col('mfa_active')] = 'true';
    setSlot(root, 1, this.root[0]);
    setSlot(root, 2, this.root[1]);
    root[col('cert_1_active')] = 'false';
    root[col('cert_2_active')] = 'false';
    return `${[lines[0], root.join(','), ...rows].join('\n')}\n`;
  }
}
