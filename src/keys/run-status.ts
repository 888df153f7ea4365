/**
 * GitHub's own word that a workflow run has ended: a key an earlier run made is proven an orphan sooner than by its
 * age when GitHub says that run (named in the key's provenance record) is completed. Needs Actions: read on that
 * repository; without it, or for a record that names no run, the key's age is the only proof.
 */
import type { RotateContext } from '../config/context.js';
import { runLabel } from './provenance.js';

/** owner/name, run id and attempt of a run label, when it has them. */
export function runParts(label: string | undefined): { repository: string; runId: string; attempt: number } | undefined {
  const m = label === undefined ? null : /^(.+)\/(\d+)\/(\d+)$/.exec(label);
  return m ? { repository: m[1], runId: m[2], attempt: Number(m[3]) } : undefined;
}

/**
 * Is `label` an earlier attempt of this very workflow run? GitHub starts attempt n+1 ("Re-run jobs") only after
 * attempt n's run completed, so such a run has ended before this one started.
 */
export function earlierAttempt(ctx: RotateContext, label: string | undefined): boolean {
  const theirs = runParts(label);
  const ours = runParts(runLabel(ctx));
  return !!theirs && !!ours && theirs.repository === ours.repository && theirs.runId === ours.runId && theirs.attempt < ours.attempt;
}

/** `owner/name/runId/attempt`, as provenance.ts's runLabel writes it. */
const RUN = /^([A-Za-z0-9][A-Za-z0-9_-]*)\/([A-Za-z0-9._-]+)\/(\d+)\/(\d+)$/;

/** When GitHub says the run `by` ended (its updated_at), or undefined when it has not, or nobody can tell. */
export async function runEnded(ctx: RotateContext, by: string | undefined): Promise<number | undefined> {
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
