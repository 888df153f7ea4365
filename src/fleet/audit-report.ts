/** The audit as one JSON document (the report-file): every fact the summary, annotations, SARIF and issue show. */
import type { JobEstimate } from './fleet-pacing.js';
import type { Audit, AuditSettings } from './findings.js';
import type { FleetPlan } from './matrix.js';

export interface AuditContext {
  account: string;
  /** IAM's time of the audit (ms). */
  iamNow: number;
  /** When IAM generated the credential report (ms). */
  reportGenerated: number;
  manifest: string;
  settings: AuditSettings & { emergency: boolean };
  /** The planner's estimate of a rotate job's costs besides its writes. */
  estimate: JobEstimate;
  /** AWS requests the audit made: the inventory (credential report) and the per-user reads. */
  requests: { inventory: number; users: number; usersRead: number };
}

export const REPORT_VERSION = 1;

/** Minutes, as a person says a report's age. */
export function age(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes < 90 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${(minutes / 60).toFixed(1)} hours`;
}

export function auditReport(ctx: AuditContext, audit: Audit, plan: FleetPlan) {
  return {
    version: REPORT_VERSION,
    account: ctx.account,
    auditedAt: new Date(ctx.iamNow).toISOString(),
    credentialReport: {
      generatedAt: new Date(ctx.reportGenerated).toISOString(),
      ageMinutes: Math.max(0, Math.round((ctx.iamNow - ctx.reportGenerated) / 60_000)),
    },
    manifest: ctx.manifest,
    settings: ctx.settings,
    requests: ctx.requests,
    findings: audit.findings.map((f) => ({ ...f, file: ctx.manifest })),
    users: audit.users.map((u) => ({
      name: u.name,
      managed: u.managed,
      state: u.state,
      ...(u.line !== undefined ? { line: u.line } : {}),
      ...(u.note ? { note: u.note } : {}),
      maxAgeDays: u.maxAgeDays,
      destinations: u.destinations,
      keys: u.keys.map((k) => ({
        id: k.id ?? null,
        status: k.status,
        created: k.created,
        ageDays: k.ageDays,
        lastUsed: k.lastUsed,
        record: k.record ? { by: k.record.by ?? null, created: k.record.created ?? null, handover: k.record.handover ?? null, supersededBy: k.record.supersededBy ?? null } : null,
      })),
    })),
    usersWithoutKeys: audit.usersWithoutKeys,
    plan: {
      emergency: plan.emergency,
      due: plan.due,
      notDue: plan.notDue,
      maxParallel: plan.pace.maxParallel,
      writeIntervalSeconds: plan.pace.writeIntervalMs === undefined ? null : plan.pace.writeIntervalMs / 1000,
      writes: plan.pace.writes,
      writesPerMinute: plan.pace.writesPerMinute,
      plannedSeconds: Math.round(plan.pace.plannedMs / 1000),
      estimate: ctx.estimate,
      floorSeconds: Math.round(plan.pace.floorMs / 1000),
    },
  };
}

export type AuditReport = ReturnType<typeof auditReport>;
