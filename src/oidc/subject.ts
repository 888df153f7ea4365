/**
 * The exact `sub` claim GitHub puts in a job's OIDC token, from what the repository's API says: its names, ids,
 * default branch and OIDC subject customization. Pure.
 */

/** What GitHub says about a repository (GET /repos/{owner}/{repo}). */
export interface RepoFacts {
  owner: string;
  ownerId: number;
  repo: string;
  repoId: number;
  defaultBranch: string;
  /** public, private or internal. */
  visibility: string;
}

/** GET /repos/{owner}/{repo}/actions/oidc/customization/sub, or why it could not be read. */
export type Customization =
  | { readable: true; useDefault: boolean; claimKeys: readonly string[]; immutable: boolean }
  | { readable: false; status: number | undefined };

/** The job that will assume the role: one on the default branch, or one that runs in an environment. */
export type JobContext = { kind: 'branch'; branch: string } | { kind: 'environment'; name: string };

export type Subject =
  | { ok: true; sub: string }
  /** The customization uses claims whose value depends on the run (workflow, actor, event, …). */
  | { ok: false; code: 'claims-unknown'; claims: string[] };

const contextOf = (job: JobContext): string =>
  job.kind === 'branch' ? `ref:refs/heads/${job.branch}` : `environment:${job.name}`;

/** `owner/repo`, or GitHub's immutable form `owner@ownerId/repo@repoId`. */
const repoPart = (r: RepoFacts, immutable: boolean): string =>
  immutable ? `${r.owner}@${r.ownerId}/${r.repo}@${r.repoId}` : `${r.owner}/${r.repo}`;

/**
 * A claim's value for this job, when the plan can know it; undefined when it depends on the run. An environment
 * job is assumed to run on the default branch.
 */
function claimValue(key: string, r: RepoFacts, job: JobContext, immutable: boolean): string | undefined {
  switch (key) {
    case 'repo':
      return `repo:${repoPart(r, immutable)}`;
    case 'context':
      return contextOf(job);
    case 'repository':
      return `repository:${r.owner}/${r.repo}`;
    case 'repository_owner':
      return `repository_owner:${r.owner}`;
    case 'repository_id':
      return `repository_id:${r.repoId}`;
    case 'repository_owner_id':
      return `repository_owner_id:${r.ownerId}`;
    case 'repository_visibility':
      return `repository_visibility:${r.visibility}`;
    case 'ref':
      return `ref:refs/heads/${r.defaultBranch}`;
    case 'ref_type':
      return 'ref_type:branch';
    case 'environment':
      return job.kind === 'environment' ? `environment:${job.name}` : undefined;
    default:
      return undefined;
  }
}

/**
 * The subject of a token of `job` in repository `r`. Unreadable customization: GitHub's default form (the plan
 * says it could not be read). Custom claim keys: each key as GitHub joins them, `key:value` in order.
 */
export function subjectFor(r: RepoFacts, c: Customization, job: JobContext): Subject {
  const immutable = c.readable && c.immutable;
  if (!c.readable || c.useDefault || c.claimKeys.length === 0) return { ok: true, sub: `repo:${repoPart(r, immutable)}:${contextOf(job)}` };
  const parts = c.claimKeys.map((k) => [k, claimValue(k, r, job, immutable)] as const);
  const unknown = parts.filter(([, v]) => v === undefined).map(([k]) => k);
  if (unknown.length > 0) return { ok: false, code: 'claims-unknown', claims: unknown };
  return { ok: true, sub: parts.map(([, v]) => v).join(':') };
}
