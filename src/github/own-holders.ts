/**
 * In a self-rotation the job reads its key from a secret its repository can give it: the repository's own, one of
 * its environments' (GitHub does not tell a job which environment it runs in), or an organization secret shared with
 * it. Every such secret of the configured name must be a destination, or retiring the key the job reads leaves that
 * holder with a dead key. Read from GitHub before any change.
 */
import type { Destination } from './destinations.js';
import { ActionError } from '../shared/errors.js';
import type { GitHubApi } from './github-api.js';
import type { Prepared } from './preflight.js';
import { gitHubError, listEnvironments, statusOf } from './secrets.js';
import type { TokenKind } from './token-kind.js';

/** A place the job's repository can read the secret from. */
export type Holder =
  | { kind: 'repository' }
  | { kind: 'environment'; environment: string }
  | { kind: 'organization'; org: string };

export function holderLabel(repository: string, h: Holder): string {
  if (h.kind === 'repository') return `${repository} (repository secret)`;
  if (h.kind === 'environment') return `${repository} environment '${h.environment}'`;
  return `organization ${h.org} (shared with ${repository})`;
}

const e = encodeURIComponent;
const READ = "repository permissions 'Secrets: read' and 'Environments: read' (classic PAT: repo scope)";

/** Does a secret named `name` (case ignored, as GitHub compares) stand at `path`? All pages. */
async function holds(gh: GitHubApi, path: string, name: string): Promise<boolean> {
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${path}`, { per_page: 100, page });
    const data = res.data as { total_count: number; secrets: { name: string }[] };
    if (data.secrets.some((s) => s.name.toUpperCase() === name.toUpperCase())) return true;
    if (data.secrets.length < 100 || page * 100 >= data.total_count) return false;
  }
}

/**
 * Every place `owner/repo`'s jobs can read secret `name` from that is not among `destinations` (those are written by
 * this run, so they need no read). A 404 (no such level) holds nothing.
 */
export async function holdersOf(
  gh: GitHubApi,
  owner: string,
  repo: string,
  name: string,
  token?: TokenKind,
  destinations: Prepared[] = [],
): Promise<Holder[]> {
  const known = (h: Holder) => isDestination(h, owner, repo, destinations);
  const base = `/repos/${e(owner)}/${e(repo)}`;
  const where = `${owner}/${repo}`;
  const read = async (doing: string, path: string) => {
    try {
      return await holds(gh, path, name);
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw gitHubError(`${doing} (to find every secret this self-rotating job may read its key from) of`, where, err, READ, token);
    }
  };
  const out: Holder[] = [];
  if (!known({ kind: 'repository' }) && (await read('listing the repository secrets', `${base}/actions/secrets`))) out.push({ kind: 'repository' });
  let environments: string[];
  try {
    environments = await listEnvironments(gh, owner, repo);
  } catch (err) {
    if (statusOf(err) !== 404) throw gitHubError('listing the environments (to find every secret this self-rotating job may read its key from) of', where, err, READ, token);
    environments = [];
  }
  for (const environment of environments) {
    if (known({ kind: 'environment', environment })) continue;
    if (await read(`listing the secrets of environment '${environment}'`, `${base}/environments/${e(environment)}/secrets`)) {
      out.push({ kind: 'environment', environment });
    }
  }
  const org: Holder = { kind: 'organization', org: owner };
  if (!known(org) && (await read('listing the organization secrets shared with', `${base}/actions/organization-secrets`))) out.push(org);
  return out;
}

/** Is holder `h` of `owner/repo` one of this run's destinations? */
function isDestination(h: Holder, owner: string, repo: string, prepared: Prepared[]): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const ofRepo = (d: Destination) => 'repo' in d && same(d.owner, owner) && same(d.repo, repo);
  return prepared.some(({ destination: d }) => {
    if (h.kind === 'repository') return d.kind === 'repository' && ofRepo(d);
    if (h.kind === 'environment') return d.kind === 'environment' && ofRepo(d) && same(d.environment, h.environment);
    return d.kind === 'organization' && same(d.org, h.org);
  });
}

/** The holders that are not destinations (empty: every place the job may read its key from is written). */
export function missingHolders(holders: Holder[], owner: string, repo: string, prepared: Prepared[]): Holder[] {
  return holders.filter((h) => !isDestination(h, owner, repo, prepared));
}

/** The stop, before any change, when a holder of the job's key is no destination. */
export function holderError(repository: string, keyId: string, missing: Holder[], retiring: string): ActionError {
  return new ActionError(
    `self-rotation: this job authenticates with ${keyId}, and ${missing.map((h) => holderLabel(repository, h)).join(', ')} ` +
      `also hold${missing.length === 1 ? 's' : ''} a secret of that name, which this run does not write: the job may read ` +
      `its key from there, and ${retiring} ${keyId} would leave it with a dead key. Add ${missing.length === 1 ? 'it' : 'them'} ` +
      `to the destinations (repositories, environments, organization), remove the stale secret, or set previous-key: keep`,
  );
}
