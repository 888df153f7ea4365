/**
 * IAM's credential report: one CSV row per IAM user of the account (and one for the root user), with each access
 * key slot's status, creation and last use. Two or three requests whatever the number of users: the account-wide
 * inventory. It names no key ids, and IAM makes a new one at most every four hours: it may be up to that old.
 */
import { GenerateCredentialReportCommand, GetCredentialReportCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { Clock } from '../shared/clock.js';
import { ActionError } from '../shared/errors.js';
import { awsError } from './aws.js';

/** One access key slot of a row (access_key_1 or access_key_2) that holds a key. */
export interface ReportKey {
  slot: 1 | 2;
  active: boolean;
  /** When the key was created (IAM calls it last_rotated). */
  created: Date;
  /** Its last use, when the report has one; null: never used (N/A). */
  lastUsed: { date: Date; region: string; service: string } | null;
}

export interface ReportRow {
  user: string;
  arn: string;
  /** The account's root user (`<root_account>`). */
  root: boolean;
  keys: ReportKey[];
}

export interface CredentialReport {
  generated: Date;
  rows: ReportRow[];
  /** Requests made to get it (GenerateCredentialReport until COMPLETE, then GetCredentialReport). */
  requests: number;
}

export interface ReportWait {
  clock: Clock;
  /** Between GenerateCredentialReport calls while IAM makes the report. */
  pollMs: number;
  /** Give up after this long. */
  timeoutMs: number;
}

export const SHIPPED_REPORT_WAIT = { pollMs: 2_000, timeoutMs: 180_000 };

const SUBJECT = 'the credential report of the account';

/**
 * GenerateCredentialReport until IAM says COMPLETE (it answers COMPLETE at once when a report younger than four hours
 * exists), then GetCredentialReport, parsed.
 */
export async function credentialReport(iam: IAMClient, wait: ReportWait): Promise<CredentialReport> {
  const deadline = wait.clock.now() + wait.timeoutMs;
  let requests = 0;
  for (;;) {
    requests++;
    let state: string | undefined;
    try {
      state = (await iam.send(new GenerateCredentialReportCommand({}))).State;
    } catch (err) {
      throw awsError('iam:GenerateCredentialReport', SUBJECT, err);
    }
    if (state === 'COMPLETE') break;
    if (wait.clock.now() + wait.pollMs > deadline) {
      throw new ActionError(
        `IAM did not finish the credential report within ${Math.round(wait.timeoutMs / 1000)} s (state ${state ?? 'unknown'}): rerun later`,
      );
    }
    await wait.clock.sleep(wait.pollMs);
  }
  requests++;
  let out;
  try {
    out = await iam.send(new GetCredentialReportCommand({}));
  } catch (err) {
    throw awsError('iam:GetCredentialReport', SUBJECT, err);
  }
  const csv = out.Content ? new TextDecoder().decode(out.Content) : '';
  const generated = out.GeneratedTime instanceof Date ? out.GeneratedTime : new Date(out.GeneratedTime ?? Number.NaN);
  if (Number.isNaN(generated.getTime())) throw new ActionError('iam:GetCredentialReport answered without a GeneratedTime');
  return { generated, rows: parseCredentialReport(csv), requests };
}

/** A report date: ISO 8601, or N/A / no_information / not_supported (none). */
function date(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d\d-\d\dT/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The report's CSV (no field holds a comma or a quote: names, ARNs, dates, regions, services). */
export function parseCredentialReport(csv: string): ReportRow[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const header = lines[0].split(',');
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new ActionError(`the credential report has no ${name} column (columns: ${header.join(', ')})`);
    return i;
  };
  const user = col('user');
  const arn = col('arn');
  const slots = ([1, 2] as const).map((slot) => ({
    slot,
    active: col(`access_key_${slot}_active`),
    rotated: col(`access_key_${slot}_last_rotated`),
    used: col(`access_key_${slot}_last_used_date`),
    region: col(`access_key_${slot}_last_used_region`),
    service: col(`access_key_${slot}_last_used_service`),
  }));
  return lines.slice(1).map((line) => {
    const f = line.split(',');
    const keys: ReportKey[] = slots.flatMap((s) => {
      const created = date(f[s.rotated]);
      const active = f[s.active] === 'true';
      // A slot without a creation date holds no key (for the root user an active key may lack it: kept as unknown age).
      if (!created && !active) return [];
      const used = date(f[s.used]);
      return [
        {
          slot: s.slot,
          active,
          created: created ?? new Date(Number.NaN),
          lastUsed: used ? { date: used, region: f[s.region] ?? 'N/A', service: f[s.service] ?? 'N/A' } : null,
        },
      ];
    });
    return { user: f[user], arn: f[arn], root: f[user] === '<root_account>', keys };
  });
}
