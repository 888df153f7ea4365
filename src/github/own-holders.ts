/**
 * In a self-rotation the job reads its key from what its repository can give it: a secret (the repository's own, one
 * of its environments' — GitHub does not tell a job which environment it runs in —, or an organization secret shared
 * with it) and, when the id is kept as an Actions variable (`vars.AWS_ACCESS_KEY_ID`), a variable of the same places.
 * Every such holder must be written by this run, or retiring the key the job reads leaves that holder with a dead key.
 * Read from GitHub before any change. Only an answer that lists proves that a place holds nothing: a 403, a 404, a
 * 5xx or no answer is not known, and stops the run before any change, naming the read and the permission it needs.
 */
import type { Destination } from './destinations.js';
import { ActionError } from '../shared/errors.js';
import type { GitHubApi } from './github-api.js';
import type { Inputs } from '../config/inputs.js';
import type { Prepared } from './preflight.js';
import { gitHubError, listEnvironments, statusOf } from './secrets.js';
import type { TokenKind } from './github-api.js';

/** A place the job's repository can read secrets and variables from. */
export type Place = { kind: 'repository' } | { kind: 'environment'; environment: string } | { kind: 'organization'; org: string };

/** A place that holds what the job may read its key from, under these names, and that this run does not write. */
export type Holder = Place & { holds: { as: 'secret' | 'variable'; name: string }[] };

/** What the look looks for. */
export interface Look {
  /** The key the job signs in with (the one a retirement would break). */
  keyId: string;
  /** Secrets of these names (case ignored, as GitHub compares): the id's and the secret access key's. */
  secrets: string[];
  /** The id's name: a variable of it holding keyId is a holder (vars.NAME). */
  variable: string;
  /** access-key-id-as: variable: this run writes the id's variable at each destination. */
  variablesWritten: boolean;
}

export function lookFor(inputs: Pick<Inputs, 'accessKeyIdSecretName' | 'secretAccessKeySecretName' | 'accessKeyIdAs'>, keyId: string): Look {
  return {
    keyId,
    secrets: [inputs.accessKeyIdSecretName, inputs.secretAccessKeySecretName],
    variable: inputs.accessKeyIdSecretName,
    variablesWritten: inputs.accessKeyIdAs === 'variable',
  };
}

/**
 * Each read of the look, with the permission GitHub's REST reference files its endpoint under (fine-grained token or
 * GitHub App; a classic PAT needs the repo scope). The README's token table names the same (test/own-holders.test.ts).
 */
export const READS = {
  'repository secrets': { route: 'GET /repos/{owner}/{repo}/actions/secrets', needs: ['Secrets: read'] },
  'repository variables': { route: 'GET /repos/{owner}/{repo}/actions/variables', needs: ['Variables: read'] },
  environments: { route: 'GET /repos/{owner}/{repo}/environments', needs: ['Actions: read'] },
  'environment secrets': { route: 'GET /repos/{owner}/{repo}/environments/{environment}/secrets', needs: ['Environments: read', 'Secrets: read'] },
  'environment variables': { route: 'GET /repos/{owner}/{repo}/environments/{environment}/variables', needs: ['Environments: read', 'Variables: read'] },
  'organization secrets': { route: 'GET /repos/{owner}/{repo}/actions/organization-secrets', needs: ['Secrets: read'] },
  'organization variables': { route: 'GET /repos/{owner}/{repo}/actions/organization-variables', needs: ['Variables: read'] },
} as const;
type Read = keyof typeof READS;

/** The permission a read needs, as an error says it. */
export function permissionOf(read: Read): string {
  const needs = READS[read].needs.map((p) => `'${p}'`);
  return `repository permission${needs.length > 1 ? 's' : ''} ${needs.join(' and ')} (classic PAT: repo scope)`;
}

export function placeLabel(repository: string, p: Place): string {
  if (p.kind === 'repository') return repository;
  if (p.kind === 'environment') return `${repository} environment '${p.environment}'`;
  return `organization ${p.org} (shared with ${repository})`;
}

/** A holder as the stop says it: the place, then what it holds (e.g. "octo/api environment 'prod' (secret X, variable Y)"). */
export function holderLabel(repository: string, h: Holder): string {
  const what = (as: 'secret' | 'variable') => {
    const names = h.holds.filter((x) => x.as === as).map((x) => x.name);
    return names.length === 0 ? [] : [`${as}${names.length > 1 ? 's' : ''} ${names.join(', ')}`];
  };
  return `${placeLabel(repository, h)} (${[...what('secret'), ...what('variable')].join(', ')})`;
}

const e = encodeURIComponent;

/** The names of the secrets at `path`, upper case (as GitHub stores them), all pages. */
async function secretNames(gh: GitHubApi, path: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${path}`, { per_page: 100, page });
    const data = res.data as { total_count: number; secrets: { name: string }[] };
    for (const s of data.secrets) out.add(s.name.toUpperCase());
    if (data.secrets.length < 100 || out.size >= data.total_count) return out;
  }
}

/** The variables at `path`, by upper-case name, with their values (GitHub lists at most 30 a page), all pages. */
async function variableValues(gh: GitHubApi, path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let page = 1; ; page++) {
    const res = await gh.request(`GET ${path}`, { per_page: 30, page });
    const data = res.data as { total_count: number; variables: { name: string; value: string }[] };
    for (const v of data.variables) out.set(v.name.toUpperCase(), v.value);
    if (data.variables.length < 30 || out.size >= data.total_count) return out;
  }
}

/**
 * Does GitHub say `owner/repo` belongs to a user account (which has no organization secrets or variables)? Only its
 * answer proves it; anything else is false.
 */
async function ownedByUser(gh: GitHubApi, owner: string, repo: string): Promise<boolean> {
  try {
    const res = await gh.request(`GET /repos/${e(owner)}/${e(repo)}`);
    return (res.data as { owner?: { type?: string } }).owner?.type === 'User';
  } catch {
    return false;
  }
}

/**
 * Every place `owner/repo`'s jobs can read the key from that this run does not write: its secrets of either name, and
 * its variables of the id's name that hold the key. A place this run writes needs no read (its secrets; its variables
 * too with access-key-id-as: variable). Each read must answer with a list: anything else throws, naming the read and
 * the permission it needs, and the run stops before any change. The one 404 that is an answer: the organization
 * listings of a repository GitHub says a user account owns.
 */
export async function holdersOf(
  gh: GitHubApi,
  owner: string,
  repo: string,
  look: Look,
  token?: TokenKind,
  destinations: Prepared[] = [],
): Promise<Holder[]> {
  const written = (p: Place) => isDestination(p, owner, repo, destinations);
  const base = `/repos/${e(owner)}/${e(repo)}`;
  const where = `${owner}/${repo}`;
  const fail = (read: Read, doing: string, err: unknown): never => {
    const cause = gitHubError(`${doing} (to find every secret and variable this self-rotating job may read its key from) of`, where, err, permissionOf(read), token);
    throw new ActionError(
      `${cause.message}. A place that cannot be read may hold ${look.keyId}: a self-rotation retires it only once every read ` +
        'answers (previous-key: keep rotates without retiring it)',
      { cause: err },
    );
  };
  const orgLevel = (read: Read) => read === 'organization secrets' || read === 'organization variables';
  const read = async <T>(what: Read, doing: string, list: () => Promise<T>, none: T): Promise<T> => {
    try {
      return await list();
    } catch (err) {
      if (orgLevel(what) && statusOf(err) === 404 && (await ownedByUser(gh, owner, repo))) return none;
      return fail(what, doing, err);
    }
  };
  const variable = look.variable.toUpperCase();
  const out: Holder[] = [];
  const visit = async (place: Place, secrets: [Read, string, string] | undefined, variables: [Read, string, string]) => {
    const holds: Holder['holds'] = [];
    if (secrets && !written(place)) {
      const [what, doing, path] = secrets;
      const found = await read(what, doing, () => secretNames(gh, path), new Set<string>());
      for (const name of look.secrets) if (found.has(name.toUpperCase())) holds.push({ as: 'secret', name });
    }
    if (!(look.variablesWritten && written(place))) {
      const [what, doing, path] = variables;
      const found = await read(what, doing, () => variableValues(gh, path), new Map<string, string>());
      if (found.get(variable)?.trim() === look.keyId) holds.push({ as: 'variable', name: look.variable });
    }
    if (holds.length > 0) out.push({ ...place, holds });
  };

  await visit(
    { kind: 'repository' },
    ['repository secrets', 'listing the repository secrets', `${base}/actions/secrets`],
    ['repository variables', 'listing the repository variables', `${base}/actions/variables`],
  );
  const environments = await read('environments', 'listing the environments', () => listEnvironments(gh, owner, repo), []);
  for (const environment of environments) {
    const path = `${base}/environments/${e(environment)}`;
    await visit(
      { kind: 'environment', environment },
      ['environment secrets', `listing the secrets of environment '${environment}'`, `${path}/secrets`],
      ['environment variables', `listing the variables of environment '${environment}'`, `${path}/variables`],
    );
  }
  await visit(
    { kind: 'organization', org: owner },
    ['organization secrets', 'listing the organization secrets shared with', `${base}/actions/organization-secrets`],
    ['organization variables', 'listing the organization variables shared with', `${base}/actions/organization-variables`],
  );
  return out;
}

/** Is place `p` of `owner/repo` one of this run's destinations? */
function isDestination(p: Place, owner: string, repo: string, prepared: Prepared[]): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const ofRepo = (d: Destination) => 'repo' in d && same(d.owner, owner) && same(d.repo, repo);
  return prepared.some(({ destination: d }) => {
    if (p.kind === 'repository') return d.kind === 'repository' && ofRepo(d);
    if (p.kind === 'environment') return d.kind === 'environment' && ofRepo(d) && same(d.environment, p.environment);
    return d.kind === 'organization' && same(d.org, p.org);
  });
}

/** The stop, before any change, when a place holds what the job may read its key from and this run does not write it. */
export function holderError(repository: string, keyId: string, holders: Holder[], retiring: string): ActionError {
  const one = holders.length === 1;
  return new ActionError(
    `self-rotation: this job authenticates with ${keyId}, and ${holders.map((h) => holderLabel(repository, h)).join(', ')} ` +
      `${one ? 'holds' : 'hold'} a secret or variable the job may read it from, which this run does not write: ` +
      `${retiring} ${keyId} would leave ${one ? 'it' : 'them'} with a dead key. Add ${one ? 'it' : 'them'} to the ` +
      `destinations (repositories, environments, organization; access-key-id-as: variable when the job reads the id from ` +
      `a variable), remove the stale ${one ? 'one' : 'ones'}, or set previous-key: keep`,
  );
}
