/**
 * What GitHub says about the repositories whose jobs will assume the role: ids, default branch, visibility and the
 * OIDC subject customization; for an organization destination, the repositories that can read its secret. Read-only.
 */
import { type Destination, label } from '../github/destinations.js';
import type { GitHubApi } from '../github/github-api.js';
import type { Visibility } from '../config/inputs.js';
import { gitHubError, statusOf } from '../github/secrets.js';
import type { Customization, JobContext, OrgCustomization, RepoFacts } from './subject.js';

/** One repository's job the role must admit. */
export interface RepoJob {
  repo: RepoFacts;
  customization: Customization;
  /** The organization's template and opt-in, where the subject depends on them (else `none`). */
  org: OrgCustomization;
  job: JobContext;
}

/** Why a destination, or part of it, has no subject in the plan: a code the plan branches on, and what to say. */
export interface TargetNote {
  code:
    | 'dependabot'
    | 'repository-unreadable'
    | 'organization-repositories'
    | 'organization-unreadable'
    | 'organization-secret-unreadable';
  text: string;
}

/** One destination of the run: the jobs that read its secrets, as far as GitHub tells. */
export interface OidcTarget {
  destination: Destination;
  jobs: RepoJob[];
  notes: TargetNote[];
}

const e = encodeURIComponent;

interface RepoJson {
  id: number;
  name: string;
  full_name?: string;
  default_branch?: string;
  visibility?: string;
  private?: boolean;
  owner: { login: string; id: number; type?: string };
}

const factsOf = (r: RepoJson): RepoFacts => ({
  owner: r.owner.login,
  ownerId: r.owner.id,
  ownerType: r.owner.type,
  repo: r.name,
  repoId: r.id,
  defaultBranch: r.default_branch ?? 'main',
  visibility: r.visibility ?? (r.private ? 'private' : 'public'),
});

/** 403 and 404 are answers the plan reports; anything else (5xx after retries, 401) stops it. */
const refused = (err: unknown): boolean => statusOf(err) === 403 || statusOf(err) === 404;

async function repoFacts(gh: GitHubApi, owner: string, repo: string): Promise<RepoFacts | TargetNote> {
  try {
    return factsOf((await gh.request(`GET /repos/${e(owner)}/${e(repo)}`)).data as RepoJson);
  } catch (err) {
    if (!refused(err)) throw gitHubError('reading repository', `${owner}/${repo}`, err, "repository permission 'Metadata: read'", gh.token);
    return {
      code: 'repository-unreadable',
      text: `${owner}/${repo} could not be read (${statusOf(err)}): it has no subject in the trust policy; give the token 'Metadata: read' on it and run the plan again`,
    };
  }
}

async function customization(gh: GitHubApi, r: RepoFacts): Promise<Customization> {
  try {
    const data = (await gh.request(`GET /repos/${e(r.owner)}/${e(r.repo)}/actions/oidc/customization/sub`)).data as {
      use_default?: boolean;
      include_claim_keys?: string[];
      use_immutable_subject?: boolean;
      sub_claim_prefix?: string;
    };
    return {
      readable: true,
      useDefault: data.use_default !== false,
      claimKeys: data.include_claim_keys ?? [],
      immutable: data.use_immutable_subject === true,
      ...(typeof data.sub_claim_prefix === 'string' && data.sub_claim_prefix ? { subClaimPrefix: data.sub_claim_prefix } : {}),
    };
  } catch (err) {
    if (!refused(err)) {
      throw gitHubError('reading the OIDC subject customization of', `${r.owner}/${r.repo}`, err, "repository permission 'Actions: read'", gh.token);
    }
    return { readable: false, status: statusOf(err) };
  }
}

/** Does this repository's subject depend on its organization's customization (template or immutable opt-in)? */
function needsOrg(r: RepoFacts, c: Customization): boolean {
  if (r.ownerType !== 'Organization') return false;
  if (!c.readable) return true;
  const ownTemplate = c.useDefault || c.claimKeys.length > 0;
  return !ownTemplate || !(c.subClaimPrefix || c.immutable);
}

/** GET /orgs/{org}/actions/oidc/customization/sub (Organization 'Administration: read'; classic: read:org). */
async function orgCustomization(gh: GitHubApi, org: string): Promise<OrgCustomization> {
  try {
    const data = (await gh.request(`GET /orgs/${e(org)}/actions/oidc/customization/sub`)).data as {
      include_claim_keys?: string[];
      use_immutable_subject?: boolean;
    };
    return { readable: true, claimKeys: data.include_claim_keys ?? [], immutable: data.use_immutable_subject === true };
  } catch (err) {
    if (!refused(err)) {
      throw gitHubError('reading the OIDC subject customization of organization', org, err, "organization permission 'Administration: read'", gh.token);
    }
    return { readable: false, status: statusOf(err) };
  }
}

/** Reads each repository's and organization's customization once. */
class Customizations {
  private readonly repos = new Map<string, Promise<Customization>>();
  private readonly orgs = new Map<string, Promise<OrgCustomization>>();
  constructor(private readonly gh: GitHubApi) {}

  async job(r: RepoFacts, job: JobContext | undefined): Promise<RepoJob> {
    const key = `${r.owner}/${r.repo}`.toLowerCase();
    if (!this.repos.has(key)) this.repos.set(key, customization(this.gh, r));
    const c = (await this.repos.get(key)) as Customization;
    let org: OrgCustomization = { none: true };
    if (needsOrg(r, c)) {
      const o = r.owner.toLowerCase();
      if (!this.orgs.has(o)) this.orgs.set(o, orgCustomization(this.gh, r.owner));
      org = (await this.orgs.get(o)) as OrgCustomization;
    }
    return { repo: r, customization: c, org, job: job ?? { kind: 'branch', branch: r.defaultBranch } };
  }
}

/** Every page of an organization's repositories. */
async function orgRepos(gh: GitHubApi, org: string): Promise<RepoJson[]> {
  const out: RepoJson[] = [];
  for (let page = 1; ; page++) {
    const data = (await gh.request(`GET /orgs/${e(org)}/repos`, { per_page: 100, page })).data as RepoJson[];
    out.push(...data);
    if (data.length < 100) return out;
  }
}

/**
 * The repositories that can read an organization secret: by the existing secret's visibility (all: every
 * repository; private: the private and internal ones; selected: those it is shared with), else by the inputs
 * (organization-visibility, default private; organization-selected-repositories).
 */
async function organizationTarget(
  gh: GitHubApi,
  d: Extract<Destination, { kind: 'organization' }>,
  secretName: string,
  custom: Customizations,
): Promise<OidcTarget> {
  const target: OidcTarget = { destination: d, jobs: [], notes: [] };
  /** Unknown is not "everything": the plan stops for this destination and says which permission reads it. */
  const stop = (what: string, err: unknown): OidcTarget => {
    target.notes.push({
      code: 'organization-secret-unreadable',
      text:
        `${label(d)}: ${what} could not be read (${statusOf(err) ?? 'no answer'}), so the plan cannot tell which ` +
        `repositories read the secret ${secretName}: it gives them no subject; give the token the organization ` +
        `permission 'Secrets: read' (classic: admin:org) and run the plan again`,
    });
    return target;
  };
  let visibility: Visibility = d.visibility ?? 'private';
  let selected: string[] = d.selectedRepositories.map((name) => `${d.org}/${name}`);
  let source = d.visibility ? `organization-visibility: ${d.visibility}` : 'a new secret gets private';
  let data: { visibility?: Visibility } | undefined;
  try {
    data = (await gh.request(`GET /orgs/${e(d.org)}/actions/secrets/${e(secretName)}`)).data as { visibility?: Visibility };
  } catch (err) {
    if (!refused(err)) throw gitHubError('reading organization secret', `${secretName} of ${d.org}`, err, "organization permission 'Secrets: read'", gh.token);
    if (statusOf(err) === 403) return stop(`its secret ${secretName}`, err);
    // A 404 proves nothing alone: only a listing of the organization's secrets that lacks the name says "none yet".
    try {
      const names: string[] = [];
      for (let page = 1; ; page++) {
        const res = await gh.request(`GET /orgs/${e(d.org)}/actions/secrets`, { per_page: 100, page });
        const secrets = (res.data as { secrets?: { name: string }[] }).secrets ?? [];
        names.push(...secrets.map((x) => x.name.toUpperCase()));
        if (secrets.length < 100) break;
      }
      if (names.includes(secretName.toUpperCase())) return stop(`its secret ${secretName} (listed, yet not found)`, err);
    } catch (listErr) {
      if (!refused(listErr)) throw gitHubError('listing the secrets of organization', d.org, listErr, "organization permission 'Secrets: read'", gh.token);
      return stop('the list of its secrets', listErr);
    }
  }
  if (data?.visibility) {
    visibility = data.visibility;
    source = `the existing secret ${secretName} is shared with ${visibility} repositories`;
    if (visibility === 'selected') {
      selected = [];
      try {
        for (let page = 1; ; page++) {
          const res = await gh.request(`GET /orgs/${e(d.org)}/actions/secrets/${e(secretName)}/repositories`, { per_page: 100, page });
          const repos = (res.data as { repositories: RepoJson[] }).repositories;
          selected.push(...repos.map((r) => r.full_name ?? `${r.owner.login}/${r.name}`));
          if (repos.length < 100) break;
        }
      } catch (err) {
        if (!refused(err)) throw gitHubError('listing the repositories of organization secret', `${secretName} of ${d.org}`, err, "organization permission 'Secrets: read'", gh.token);
        return stop(`the repositories its secret ${secretName} is shared with`, err);
      }
    }
  }
  let facts: RepoFacts[] = [];
  if (visibility === 'selected') {
    for (const full of selected) {
      const [owner, repo] = full.split('/');
      const f = await repoFacts(gh, owner, repo);
      if ('code' in f) target.notes.push(f);
      else facts.push(f);
    }
  } else {
    try {
      facts = (await orgRepos(gh, d.org)).map(factsOf).filter((r) => visibility === 'all' || r.visibility !== 'public');
    } catch (err) {
      if (!refused(err)) throw gitHubError('listing the repositories of organization', d.org, err, "repository permission 'Metadata: read'", gh.token);
      target.notes.push({
        code: 'organization-unreadable',
        text: `the repositories of organization ${d.org} could not be listed (${statusOf(err)}): name the repositories that use its secret in repositories and run the plan again`,
      });
    }
  }
  for (const f of facts) target.jobs.push(await custom.job(f, undefined));
  target.notes.push({
    code: 'organization-repositories',
    text:
      `${label(d)}: a role per organization cannot be exact per repository, so the trust policy names each repository ` +
      `that can read the secret today (${source}: ${facts.length} repositories), for jobs on its default branch; a job ` +
      `of these repositories that runs in an environment needs its repo:OWNER/REPO:environment:NAME subject added`,
  });
  return target;
}

/** What GitHub says about each destination's repositories, in destination order. */
export async function readTargets(gh: GitHubApi, destinations: Destination[], secretName: string): Promise<OidcTarget[]> {
  const out: OidcTarget[] = [];
  const custom = new Customizations(gh);
  const facts = new Map<string, RepoFacts | TargetNote>();
  const factsFor = async (owner: string, repo: string) => {
    const key = `${owner}/${repo}`.toLowerCase();
    if (!facts.has(key)) facts.set(key, await repoFacts(gh, owner, repo));
    return facts.get(key) as RepoFacts | TargetNote;
  };
  for (const d of destinations) {
    switch (d.kind) {
      case 'repository':
      case 'environment': {
        const f = await factsFor(d.owner, d.repo);
        if ('code' in f) out.push({ destination: d, jobs: [], notes: [f] });
        else {
          const job: JobContext | undefined = d.kind === 'environment' ? { kind: 'environment', name: d.environment } : undefined;
          out.push({ destination: d, jobs: [await custom.job(f, job)], notes: [] });
        }
        break;
      }
      case 'organization':
        out.push(await organizationTarget(gh, d, secretName, custom));
        break;
      case 'dependabot-repository':
      case 'dependabot-organization':
        out.push({
          destination: d,
          jobs: [],
          notes: [
            {
              code: 'dependabot',
              text:
                `${label(d)}: Dependabot secrets are read by Dependabot itself and by workflows Dependabot triggers, ` +
                `whose tokens are those of pull requests; this plan gives them no role: keep the key there, or move them ` +
                `to a role by GitHub's Dependabot guidance`,
            },
          ],
        });
        break;
    }
  }
  return out;
}
