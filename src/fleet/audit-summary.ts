/** The audit for people: a Markdown page (the job summary, and the tracking issue's body) of tables a person scans. */
import { type AuditContext, age } from './audit-report.js';
import type { Audit, AuditedKey, Severity } from './findings.js';
import type { FleetPlan } from './matrix.js';

const MARK: Record<Severity, string> = { error: '🛑 error', warning: '⚠️ warning', note: 'ℹ️ note' };

/** A Markdown table cell: one line, no column break, no HTML. */
export function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 3 min 52 s, 1 h 4 min, 12 s. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function table(head: string[], rows: string[][], limit: number, more: string): string[] {
  const shown = rows.slice(0, limit);
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- |').join('')}`, ...shown.map((r) => `| ${r.map(cell).join(' | ')} |`)];
  if (rows.length > shown.length) out.push('', `… and ${rows.length - shown.length} more ${more}.`);
  return out;
}

const made = (k: AuditedKey) => (k.record?.by ? `run ${k.record.by}` : k.record ? 'this action' : '—');
const handed = (k: AuditedKey) => (k.record?.supersededBy ? `superseded by ${k.record.supersededBy}` : (k.record?.handover ?? '—'));
const use = (k: AuditedKey) => (k.lastUsed === null ? 'never' : k.lastUsed === 'unknown' ? 'unknown' : `${k.lastUsed.date} (${k.lastUsed.service}, ${k.lastUsed.region})`);

/** The page. `limit`: rows per table (the rest is in the report file). */
export function auditSummary(ctx: AuditContext, audit: Audit, plan: FleetPlan, limit = 500): string {
  const { findings } = audit;
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const managed = audit.users.filter((u) => u.managed);
  const lines = [
    '## AWS access key audit',
    '',
    `Account ${ctx.account}, audited ${new Date(ctx.iamNow).toISOString()} (IAM's time). The credential report IAM ` +
      `gave is ${age(ctx.iamNow - ctx.reportGenerated)} old (generated ${new Date(ctx.reportGenerated).toISOString()}): a user ` +
      'or key made since then shows at the next audit; the keys of every user listed below were read now. ' +
      `Manifest \`${cell(ctx.manifest)}\`: ${managed.length} users.`,
    '',
    findings.length === 0
      ? '**No findings.**'
      : `**${findings.length} finding${findings.length === 1 ? '' : 's'}**: ${count('error')} error(s), ${count('warning')} warning(s), ${count('note')} note(s).`,
  ];
  if (findings.length > 0) {
    lines.push(
      '',
      ...table(
        ['', 'Finding', 'User', 'Key', 'What'],
        findings.map((f) => [MARK[f.severity], f.code, f.user, f.keyId ?? '—', f.message]),
        limit,
        'findings in the report file',
      ),
    );
  }
  lines.push('', `### Keys of the manifest's users (${managed.length})`, '');
  lines.push(
    ...table(
      ['User', 'Key', 'Status', 'Age (days)', 'Last used', 'Made by', 'Handed over', 'Destinations'],
      managed.flatMap((u) =>
        u.keys.length === 0
          ? [[u.name, '—', u.state === 'read' ? 'no key' : u.state, '—', '—', '—', '—', u.destinations.join(', ')]]
          : u.keys.map((k) => [u.name, k.id ?? '—', k.status, String(k.ageDays), use(k), made(k), handed(k), u.destinations.join(', ')]),
      ),
      limit,
      'rows in the report file',
    ),
  );

  const { pace } = plan;
  lines.push('', `### Rotation plan${plan.emergency ? ': EMERGENCY' : ''}`, '');
  const jobs = `${pace.maxParallel} rotate job${pace.maxParallel === 1 ? '' : 's'}`;
  lines.push(
    plan.due.length === 0
      ? 'No user is due: the rotate job has nothing to do.'
      : `${plan.due.length} user(s) due, ${pace.writes} writes to GitHub. Up to ${jobs} at once, ` +
          (pace.writeIntervalMs === undefined
            ? `each at the shipped pace (a write a second): all ${pace.writes} writes fit in one minute's 80. `
            : `each writing at most one secret every ${(pace.writeIntervalMs / 1000).toFixed(3)} s (a destination's two back to back): ` +
              `at most ${pace.writesPerMinute} writes in any minute (GitHub allows 80 a minute and 500 an hour per token). `) +
          `The rotate jobs take about ${duration(pace.plannedMs)}, the longest about ${duration(pace.jobMs.reduce((a, b) => Math.max(a, b), 0))} ` +
          `(estimated: ${duration(ctx.estimate.startMs)} for a job to start, ${duration(ctx.estimate.preWriteMs)} to its first write, ` +
          `${duration(ctx.estimate.postWriteMs)} after its last); GitHub's limits allow no less than ${duration(pace.floorMs)} for the writes.`,
  );
  if (plan.due.length > 0) lines.push('', ...table(['Due', 'Why'], plan.due.map((d) => [d.user, d.why]), limit, 'in the report file'));
  if (plan.notDue.length > 0) lines.push('', ...table(['Not due', 'Why'], plan.notDue.map((d) => [d.user, d.why]), limit, 'in the report file'));

  if (plan.emergency) {
    const dueNames = new Set(plan.due.map((d) => d.user.toLowerCase()));
    const old = audit.users.filter((u) => dueNames.has(u.name.toLowerCase())).flatMap((u) => u.keys.map((k) => ({ u, k })));
    lines.push('', `### Emergency: the last use of every key being replaced (${old.length})`, '');
    lines.push(
      ...table(
        ['User', 'Key', 'Status', 'Created', 'Last used (IAM)', 'Service', 'Region'],
        old.map(({ u, k }) => {
          const l = k.lastUsed;
          return l === null || l === 'unknown'
            ? [u.name, k.id ?? '—', k.status, k.created, l === null ? 'never' : 'unknown', '—', '—']
            : [u.name, k.id ?? '—', k.status, k.created, l.date, l.service, l.region];
        }),
        limit,
        'keys in the report file',
      ),
    );
  }
  lines.push(
    '',
    `AWS requests: ${ctx.requests.inventory} for the account's inventory (the credential report, whatever the number of users), ` +
      `${ctx.requests.users} to read the keys of ${ctx.requests.usersRead} users the manifest or a finding names; ` +
      `${audit.usersWithoutKeys} other users have no access key.`,
  );
  return `${lines.join('\n')}\n`;
}
