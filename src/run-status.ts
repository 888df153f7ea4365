/**
 * GitHub's own word that a workflow run has ended: a key an earlier run made is proven an orphan sooner than by its
 * age when GitHub says that run (named in the key's provenance record) is completed. Needs Actions: read on that
 * repository; without it, or for a record that names no run, the key's age is the only proof.
 */
import type { RotateContext } from './context.js';

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
