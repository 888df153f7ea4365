/**
 * The exact `sub` claim GitHub puts in a job's OIDC token, from what the API says: the repository's names, ids and
 * default branch, its OIDC subject customization and, when it defers to it, its organization's. Pure.
 */

/** What GitHub says about a repository (GET /repos/{owner}/{repo}). */
export interface RepoFacts {
  owner: string;
  ownerId: number;
  /** 'Organization' or 'User' (owner.type); an organization may have its own subject template. */
  ownerType?: string;
  repo: string;
  repoId: number;
  defaultBranch: string;
  /** public, private or internal. */
  visibility: string;
}

/** GET /repos/{owner}/{repo}/actions/oidc/customization/sub, or why it could not be read. */
export type Customization =
  | {
      readable: true;
      useDefault: boolean;
      claimKeys: readonly string[];
      immutable: boolean;
      /** GitHub's own spelling of the repository part of the default subject (`repo:owner@id/name@id`), when given. */
      subClaimPrefix?: string;
    }
  | { readable: false; status: number | undefined };

/**
 * GET /orgs/{org}/actions/oidc/customization/sub: the template a repository with `use_default: false` and no keys
 * of its own uses, and the organization's immutable-subject opt-in; `none` for a repository a user owns.
 */
export type OrgCustomization =
  | { readable: true; claimKeys: readonly string[]; immutable: boolean }
  | { readable: false; status: number | undefined }
  | { none: true };

/** The job that will assume the role: one on the default branch, or one that runs in an environment. */
export type JobContext = { kind: 'branch'; branch: string } | { kind: 'environment'; name: string };

export type Subject =
  /** `subs`: the one subject, or both spellings (names, immutable ids) when the plan cannot tell which GitHub uses. */
  | { ok: true; subs: string[]; form: 'exact' | 'both-forms' }
  /** The customization uses claims whose value depends on the run (workflow, actor, event, …). */
  | { ok: false; code: 'claims-unknown'; claims: string[] }
  /** The repository defers to its organization's template, which could not be read. */
  | { ok: false; code: 'organization-template-unreadable'; status: number | undefined };

/** GitHub's default template. */
const DEFAULT_KEYS = ['repo', 'context'] as const;

/**
 * An environment's name as GitHub writes it in a claim: `:` separates the claims, so a `:` in the name is
 * percent-encoded (`%3A`). Assumed from GitHub's tokens (the report); other characters are kept.
 */
export const claimEnvironment = (name: string): string => name.replace(/:/g, '%3A');

const contextOf = (job: JobContext): string =>
  job.kind === 'branch' ? `ref:refs/heads/${job.branch}` : `environment:${claimEnvironment(job.name)}`;

const byName = (r: RepoFacts): string => `repo:${r.owner}/${r.repo}`;
const byId = (r: RepoFacts): string => `repo:${r.owner}@${r.ownerId}/${r.repo}@${r.repoId}`;

/** A claim's value for this job, when the plan can know it; undefined when it depends on the run. */
function claimValue(key: string, r: RepoFacts, job: JobContext, repoPart: string): string | undefined {
  switch (key) {
    case 'repo':
      return repoPart;
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
      // An environment job is assumed to run on the default branch.
      return `ref:refs/heads/${job.kind === 'branch' ? job.branch : r.defaultBranch}`;
    case 'ref_type':
      return 'ref_type:branch';
    case 'environment':
      return job.kind === 'environment' ? `environment:${claimEnvironment(job.name)}` : undefined;
    default:
      return undefined;
  }
}

/**
 * The subject(s) of a token of `job` in repository `r`.
 * - The template: the repository's keys; with `use_default: false` and no keys, its organization's; else GitHub's
 *   default (`repo`, `context`). An unreadable repository customization: the default template.
 * - The `repo` part: GitHub's `sub_claim_prefix` when it gives one; else the immutable form when the repository or
 *   its organization opted in, the name form when neither did; when that cannot be read, both forms (the
 *   trust policy's repository_id condition keeps either to this repository).
 */
export function subjectFor(r: RepoFacts, c: Customization, org: OrgCustomization, job: JobContext): Subject {
  let keys: readonly string[] = DEFAULT_KEYS;
  if (c.readable && !c.useDefault) {
    if (c.claimKeys.length > 0) keys = c.claimKeys;
    else if ('none' in org) keys = DEFAULT_KEYS;
    else if (!org.readable) return { ok: false, code: 'organization-template-unreadable', status: org.status };
    else if (org.claimKeys.length > 0) keys = org.claimKeys;
  }
  let parts: string[];
  if (c.readable && c.subClaimPrefix && /^repo:[^:]+$/.test(c.subClaimPrefix)) parts = [c.subClaimPrefix];
  else if (c.readable && c.immutable) parts = [byId(r)];
  else if ('none' in org) parts = c.readable ? [byName(r)] : [byName(r), byId(r)];
  else if (org.readable && c.readable) parts = [org.immutable ? byId(r) : byName(r)];
  else if (org.readable && org.immutable) parts = [byId(r)];
  else parts = [byName(r), byId(r)];
  const subs: string[] = [];
  for (const repoPart of keys.includes('repo') ? parts : [parts[0]]) {
    const values = keys.map((k) => [k, claimValue(k, r, job, repoPart)] as const);
    const unknown = values.filter(([, v]) => v === undefined).map(([k]) => k);
    if (unknown.length > 0) return { ok: false, code: 'claims-unknown', claims: unknown };
    subs.push(values.map(([, v]) => v).join(':'));
  }
  return { ok: true, subs, form: subs.length > 1 ? 'both-forms' : 'exact' };
}
