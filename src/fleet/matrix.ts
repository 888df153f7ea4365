/**
 * The rotation plan: which manifest users are due (and why), which are not (and why), and the `matrix` the rotate
 * job runs, one entry per due user with every input its rotation step needs, in the order and at the pace that keep
 * the whole fleet under GitHub's limits. Pure.
 */
import { type Audit, type AuditedUser, inAccount } from './findings.js';
import { type FleetPace, HOSTED_RUNNER, type JobEstimate, MAX_JOB_MS, planPace } from './fleet-pacing.js';
import type { ManagedUser, Manifest } from './manifest.js';

export type DueReason = 'emergency' | 'rotate-now' | 'no-active-key' | 'two-active-keys' | 'too-old';
export type NotDueReason = 'fresh' | 'missing' | 'unknown' | 'not-audited' | 'too-many-destinations';

export interface Decision<R> {
  user: string;
  reason: R;
  why: string;
}

/** One matrix entry: `user`, the role when the manifest names one, and the rotation's inputs (input name → value). */
export type MatrixEntry = Record<string, string>;

export interface FleetPlan {
  entries: MatrixEntry[];
  due: Decision<DueReason>[];
  notDue: Decision<NotDueReason>[];
  pace: FleetPace;
  emergency: boolean;
}

export interface PlanSettings {
  emergency: boolean;
  rotateNow: string[];
  /** Content-creating requests the audit itself makes (the tracking issue), counted in the fleet's budget. */
  auditWrites: number;
  estimate?: JobEstimate;
}

const newest = (u: AuditedUser) =>
  u.keys.filter((k) => k.status === 'Active').sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];

/** Is the user due, and why; or why not. */
function decide(user: ManagedUser, seen: AuditedUser | undefined, s: PlanSettings, account: string): Decision<DueReason | NotDueReason> & { due: boolean } {
  const name = user.name;
  const due = (reason: DueReason, why: string) => ({ user: name, reason, why, due: true });
  const notDue = (reason: NotDueReason, why: string) => ({ user: name, reason, why, due: false });
  if (seen?.state === 'missing') return notDue('missing', 'IAM has no such user');
  if (s.emergency) return due('emergency', 'emergency: every manifest user now, whatever its key\'s age');
  if (s.rotateNow.some((n) => n.toLowerCase() === name.toLowerCase())) return due('rotate-now', 'named in rotate-now');
  if (!inAccount(user, account) || seen?.state === 'not-audited') return notDue('not-audited', `its role is in account ${user.account}, not the audited ${account}: audit that account in its own job`);
  if (!seen || seen.state !== 'read') return notDue('unknown', `its keys could not be read (${seen?.note ?? 'not read'}): a later audit decides`);
  const active = seen.keys.filter((k) => k.status === 'Active');
  if (active.length === 0) return due('no-active-key', 'no Active key: the rotation gives it its first');
  if (active.length >= 2) return due('two-active-keys', 'two Active keys: the rotation settles it or stops before changing anything');
  const current = newest(seen);
  if (current.ageDays >= seen.maxAgeDays) return due('too-old', `${current.id} is ${current.ageDays} days old (max-age-days ${seen.maxAgeDays})`);
  return notDue('fresh', `${current.id} is ${current.ageDays} days old: due in ${seen.maxAgeDays - current.ageDays} days (max-age-days ${seen.maxAgeDays})`);
}

export function planFleet(audit: Audit, manifest: Manifest, account: string, s: PlanSettings): FleetPlan {
  const est = s.estimate ?? HOSTED_RUNNER;
  const seen = new Map(audit.users.map((u) => [u.name.toLowerCase(), u]));
  const dueUsers: { user: ManagedUser; decision: Decision<DueReason> }[] = [];
  const notDue: Decision<NotDueReason>[] = [];
  for (const user of manifest.users) {
    const { due, ...decision } = decide(user, seen.get(user.name.toLowerCase()), s, account);
    // At the shipped pace (a pair every 2 s) a job writing this many destinations would outlast the run's limit.
    if (due && (user.destinations.length - 1) * 2_000 + est.preWriteMs + est.postWriteMs > MAX_JOB_MS) {
      notDue.push({ user: user.name, reason: 'too-many-destinations', why: `${user.destinations.length} destinations cannot be written within one rotate job's ${MAX_JOB_MS / 60_000} minutes: split its destinations between users` });
    } else if (due) dueUsers.push({ user, decision: decision as Decision<DueReason> });
    else notDue.push(decision as Decision<NotDueReason>);
  }
  const pace = planPace(
    dueUsers.map(({ user }) => ({ destinations: user.destinations.length, singles: user.inputs.createEnvironments })),
    s.auditWrites,
    est,
  );
  const entries = pace.order.map((i) => {
    const { user, decision } = dueUsers[i];
    const entry: MatrixEntry = { user: user.name, ...(user.role ? { role: user.role } : {}), ...user.with };
    const now = decision.reason === 'emergency' || decision.reason === 'rotate-now';
    entry['max-age-days'] = now ? '0' : String(seen.get(user.name.toLowerCase())?.maxAgeDays ?? user.inputs.maxAgeDays);
    if (decision.reason === 'emergency') {
      // Retire the old key as soon as the evidence allows: in the same run, right after the handover.
      const overridden = [
        user.inputs.previousKey !== 'delete' ? `previous-key: ${user.inputs.previousKey}` : '',
        user.inputs.retireAfterHours !== 0 ? `retire-after-hours: ${user.inputs.retireAfterHours}` : '',
      ].filter(Boolean);
      if (overridden.length > 0) decision.why += ` (the old key is deleted right after the handover: the manifest's ${overridden.join(' and ')} does not apply)`;
      entry['previous-key'] = 'delete';
      entry['retire-after-hours'] = '0';
    }
    if (pace.writeIntervalMs !== undefined) entry['write-interval-seconds'] = (pace.writeIntervalMs / 1000).toFixed(3);
    return entry;
  });
  return { entries, due: pace.order.map((i) => dueUsers[i].decision), notDue, pace, emergency: s.emergency };
}
