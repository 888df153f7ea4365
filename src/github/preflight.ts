import { closest } from '../config/closest.js';
import { type Destination, hasVariables, isOrganization, label, variableWritePermission, writePermission } from './destinations.js';
import { ActionError } from '../shared/errors.js';
import type { ActionsIO } from '../config/context.js';
import type { Inputs, Visibility } from '../config/inputs.js';
import type { Cancellation } from '../shared/cancel.js';
import type { GitHubApi } from './github-api.js';
import type { GitHubPacing, WritePacer } from './pacer.js';
import {
  type PublicKey,
  type SecretInfo,
  type Sharing,
  createEnvironment,
  environmentExists,
  getPublicKey,
  gitHubError,
  listEnvironments,
  listSecrets,
  repositoryExists,
  resolveRepositoryIds,
  selectedRepositories,
  statusOf,
} from './secrets.js';
import { listVariables, selectedVariableRepositories } from './variables.js';

/** What preflight needs of the run: GitHub, the inputs, the log, the cancel, and the pacing of its reads and writes. */
export interface PreflightContext {
  gh: GitHubApi;
  inputs: Inputs;
  io: ActionsIO;
  cancel: Cancellation;
  pacing: GitHubPacing;
  pacer: WritePacer;
}

/** What a destination held before the run: both secrets, one of them, or none. */
export type HeldBefore = 'both' | 'partial' | 'none';

/** How one organization secret will be shared when written, and who can read it. */
export interface OrgSharing extends Sharing {
  /** owner/name of the repositories that can read it with visibility 'selected' (lower case). */
  selectedNames: string[];
}

/** A destination ready to be written: its own public key, and what preflight learned about it. */
export interface Prepared {
  destination: Destination;
  publicKey: PublicKey;
  /** The environment does not exist yet and will be created (create-environments). */
  create: boolean;
  /** Which of the two (the id's secret or variable, and the secret access key) it held before the run. */
  held: HeldBefore;
  /** It held the access key id (as a secret, or with access-key-id-as: variable as a variable) before the run. */
  idHeld: boolean;
  /** When the older of its two secrets was last written (both held), else undefined. */
  oldestUpdate: number | undefined;
  /** When each of the two it holds was last written (GitHub's updated_at): [] when it holds neither. */
  updates: number[];
  /** Organization destinations: how each of the two secrets is written ([id, secret]). */
  sharing: [OrgSharing, OrgSharing] | undefined;
  /** Organization destinations: visibility changes an explicit organization-visibility makes, to announce. */
  visibilityChanges: string[];
}

const NO_KEY: PublicKey = { keyId: '', key: '' };

/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The environments of each repository (lower-case owner/name), listed at most once per preflight. */
type EnvironmentLists = Map<string, Promise<string[]>>;

function environmentsOf(ctx: PreflightContext, lists: EnvironmentLists, owner: string, repo: string): Promise<string[]> {
  const key = `${owner}/${repo}`.toLowerCase();
  let listed = lists.get(key);
  if (listed === undefined) {
    listed = listEnvironments(ctx.gh, owner, repo);
    lists.set(key, listed);
  }
  return listed;
}

/** An existing environment this close to a missing one (case ignored) is what the name meant to say. */
const NEAR_MISS = 2;

function nearest(environment: string, existing: string[]) {
  return closest(environment, existing, (s) => s.toLowerCase());
}

/** Some existing environment names, for an error line: at most ten. */
function some(existing: string[]): string {
  const shown = existing.slice(0, 10).join(', ');
  return existing.length > 10 ? `${shown} and ${existing.length - 10} more` : shown;
}

/**
 * create-environments would create `environment` in owner/repo: refuse a name that is most likely a mistake, before
 * anything is changed. A name holding whitespace is most likely two names; one within two edits of an existing
 * environment most likely is that environment, misspelled.
 */
async function checkCreatable(ctx: PreflightContext, lists: EnvironmentLists, owner: string, repo: string, environment: string) {
  if (/\s/.test(environment)) {
    throw new ActionError(
      `environments: '${environment}' does not exist in ${owner}/${repo} and holds a space: it most likely is two names ` +
        `(${environment.split(/\s+/).join(', ')}), to be separated by a comma or a newline; create-environments never ` +
        `creates a name with spaces: an environment whose name really has them must exist already`,
    );
  }
  const existing = await environmentsOf(ctx, lists, owner, repo).catch((err: unknown) => {
    throw gitHubError(
      `listing the environments (to check '${environment}', which create-environments would create) of`,
      `${owner}/${repo}`,
      err,
      "repository permission 'Actions: read' (classic PAT: repo scope)",
      ctx.gh.token,
    );
  });
  const near = nearest(environment, existing);
  if (near !== undefined && near.distance > 0 && near.distance <= NEAR_MISS) {
    throw new ActionError(
      `environments: '${environment}' does not exist in ${owner}/${repo} and is within ${near.distance === 1 ? 'one edit' : 'two edits'} ` +
        `of its environment '${near.name}': fix the name, or create '${environment}' by hand if it really is a new ` +
        `environment (create-environments does not create a name this close to an existing one)`,
    );
  }
}

/** A missing environment (create-environments false): the environments that exist, and the one most likely meant. */
async function missingEnvironment(
  ctx: PreflightContext,
  lists: EnvironmentLists,
  d: Destination & { kind: 'environment' },
  err: unknown,
): Promise<ActionError> {
  const where = `reading the public key of ${label(d)}: environment '${d.environment}' does not exist in ${d.owner}/${d.repo}`;
  // Without the list (the token may not read it), the error says what it knows.
  const existing = await environmentsOf(ctx, lists, d.owner, d.repo).catch(() => undefined);
  const near = existing === undefined ? undefined : nearest(d.environment, existing);
  if (existing !== undefined && near !== undefined && near.distance <= NEAR_MISS) {
    return new ActionError(`${where} (its environments: ${some(existing)}): did you mean '${near.name}'? Fix the name in environments`, {
      cause: err,
    });
  }
  let found = '';
  if (existing !== undefined) {
    found = near === undefined ? ' (it has no environments)' : ` (its environments: ${some(existing)}; the closest is '${near.name}')`;
  }
  // create-environments refuses a name with spaces (checkCreatable): never send the user there for one.
  const advice = /\s/.test(d.environment)
    ? `: its name holds a space: if it is two names (${d.environment.split(/\s+/).join(', ')}), separate them by a comma or ` +
      'a newline in environments; an environment whose name really has spaces must be created by hand ' +
      '(create-environments never creates one)'
    : ': create it, or set create-environments: true';
  return new ActionError(`${where}${found}${advice}`, { cause: err });
}

/** Why a public-key read failed, in the user's terms: a missing repository, environment, or permission. */
async function explainReadFailure(
  ctx: PreflightContext,
  d: Destination,
  err: unknown,
  lists: EnvironmentLists,
): Promise<ActionError | 'create'> {
  if (
    statusOf(err) === 404 &&
    (d.kind === 'environment' || d.kind === 'repository' || d.kind === 'dependabot-repository' || d.kind === 'copilot-repository')
  ) {
    const repoFound = await repositoryExists(ctx.gh, d.owner, d.repo).catch(() => true);
    if (!repoFound) {
      return new ActionError(
        `reading the public key of ${label(d)}: repository ${d.owner}/${d.repo} not found, or the token cannot see it: ` +
          `check repositories and give the token access to it`,
        { cause: err },
      );
    }
    if (d.kind === 'environment' && !(await environmentExists(ctx.gh, d.owner, d.repo, d.environment).catch(() => true))) {
      if (!ctx.inputs.createEnvironments) return missingEnvironment(ctx, lists, d, err);
      await checkCreatable(ctx, lists, d.owner, d.repo, d.environment);
      return 'create';
    }
  }
  return gitHubError('reading the public key of', label(d), err, writePermission(d), ctx.gh.token);
}

/** The visibility each secret (or variable) is written with: the input's, else the existing one's, else 'private'. */
async function sharingOf(
  ctx: PreflightContext,
  name: string,
  existing: SecretInfo | undefined,
  selected: { ids: number[]; names: string[] } | undefined,
  changes: string[],
  sharedWith: () => Promise<{ id: number; fullName: string }[]>,
): Promise<OrgSharing> {
  const wanted = ctx.inputs.organizationVisibility;
  const had = existing?.visibility;
  const visibility: Visibility = wanted ?? had ?? 'private';
  if (wanted !== undefined && had !== undefined && had !== wanted) changes.push(`${name} visibility changes from ${had} to ${wanted}`);
  if (visibility !== 'selected') return { visibility, selectedRepositoryIds: [], selectedNames: [] };
  if (wanted === 'selected' && selected) return { visibility, selectedRepositoryIds: selected.ids, selectedNames: selected.names };
  const repos = await sharedWith();
  return {
    visibility,
    selectedRepositoryIds: repos.map((r) => r.id),
    selectedNames: repos.map((r) => r.fullName.toLowerCase()),
  };
}

/**
 * With access-key-id-as: variable, the destination's variables: the id's is read from them (when it was written,
 * how an organization shares it). Undefined when the id is a secret.
 */
async function variablesOf(ctx: PreflightContext, d: Destination): Promise<Map<string, SecretInfo> | undefined> {
  if (ctx.inputs.accessKeyIdAs !== 'variable') return undefined;
  if (!hasVariables(d)) {
    throw new ActionError(`access-key-id-as: variable: ${label(d)} is given secrets only: set access-key-id-as: secret`);
  }
  return listVariables(ctx.gh, d).catch((err: unknown) => {
    throw gitHubError('listing the variables of', label(d), err, variableWritePermission(d), ctx.gh.token);
  });
}

async function prepare(
  ctx: PreflightContext,
  d: Destination,
  selected: Map<string, { ids: number[]; names: string[] }>,
  lists: EnvironmentLists,
): Promise<Prepared> {
  const prepared: Prepared = {
    destination: d,
    publicKey: NO_KEY,
    create: false,
    held: 'none',
    idHeld: false,
    oldestUpdate: undefined,
    updates: [],
    sharing: undefined,
    visibilityChanges: [],
  };
  try {
    prepared.publicKey = await getPublicKey(ctx.gh, d);
  } catch (err) {
    const why = await explainReadFailure(ctx, d, err, lists);
    if (why !== 'create') throw why;
    prepared.create = true;
    return prepared;
  }
  const secrets = await listSecrets(ctx.gh, d).catch((err: unknown) => {
    throw gitHubError('listing the secrets of', label(d), err, writePermission(d), ctx.gh.token);
  });
  const variables = await variablesOf(ctx, d);
  const names = [ctx.inputs.accessKeyIdSecretName, ctx.inputs.secretAccessKeySecretName];
  const found = [(variables ?? secrets).get(names[0].toUpperCase()), secrets.get(names[1].toUpperCase())];
  const count = found.filter(Boolean).length;
  prepared.held = count === 2 ? 'both' : count === 1 ? 'partial' : 'none';
  prepared.idHeld = found[0] !== undefined;
  prepared.updates = found.flatMap((f) => (f ? [f.updatedAt] : []));
  if (count === 2) prepared.oldestUpdate = Math.min(...prepared.updates);
  if (isOrganization(d)) {
    const sel = selected.get(d.org.toLowerCase());
    const idSharedWith = () =>
      (variables && hasVariables(d) ? selectedVariableRepositories(ctx.gh, d, names[0]) : selectedRepositories(ctx.gh, d, names[0])).catch(
        (err: unknown) => {
          const permission = variables && hasVariables(d) ? variableWritePermission(d) : writePermission(d);
          throw gitHubError(`listing the repositories that can read ${names[0]} in`, label(d), err, permission, ctx.gh.token);
        },
      );
    const secretSharedWith = () =>
      selectedRepositories(ctx.gh, d, names[1]).catch((err: unknown) => {
        throw gitHubError(`listing the repositories that can read ${names[1]} in`, label(d), err, writePermission(d), ctx.gh.token);
      });
    prepared.sharing = [
      await sharingOf(ctx, names[0], found[0], sel, prepared.visibilityChanges, idSharedWith),
      await sharingOf(ctx, names[1], found[1], sel, prepared.visibilityChanges, secretSharedWith),
    ];
  }
  ctx.io.info(
    `${label(d)}: public key ${prepared.publicKey.keyId}, ${holdings(prepared.held, variables ? names[0] : undefined, names[1])}` +
      (prepared.sharing ? ` (visibility ${prepared.sharing.map((x) => x.visibility).join(' / ')})` : '') +
      prepared.visibilityChanges.map((c) => `; ${c}`).join(''),
  );
  // A secret the id was kept in before access-key-id-as: variable is not this run's to change: workflows may read it.
  if (variables && secrets.has(names[0].toUpperCase())) {
    ctx.io.info(
      `${label(d)}: also holds a secret ${names[0]}, which this run leaves as it is (access-key-id-as: variable writes ` +
        `the variable): delete it once no workflow reads secrets.${names[0]}`,
    );
  }
  return prepared;
}

/** What a destination holds, as the log says it: the two secrets, or with `variable` named the id's variable and the secret. */
function holdings(held: HeldBefore, variable: string | undefined, secret: string): string {
  if (variable === undefined) {
    return { both: 'holds both secrets', partial: 'holds only one of the two secrets', none: 'holds neither secret' }[held];
  }
  const v = `variable ${variable}`;
  const s = `secret ${secret}`;
  return { both: `holds ${v} and ${s}`, partial: `holds only one of ${v} and ${s}`, none: `holds neither ${v} nor ${s}` }[held];
}

/**
 * Read every destination's public key and which of the two secrets it holds (and when they were written, and for
 * organization secrets how they are shared), concurrently and bounded. Fails naming every destination that cannot
 * be written, before any key exists.
 */
export async function preflight(ctx: PreflightContext, destinations: Destination[]): Promise<Prepared[]> {
  const selectedIds = new Map<string, { ids: number[]; names: string[] }>();
  const { organization, organizationVisibility, organizationSelectedRepositories } = ctx.inputs;
  if (organization !== undefined && organizationVisibility === 'selected') {
    const ids = await resolveRepositoryIds(ctx.gh, organization, organizationSelectedRepositories);
    const names = organizationSelectedRepositories.map((r) => `${organization}/${r}`.toLowerCase());
    selectedIds.set(organization.toLowerCase(), { ids, names });
    ctx.io.info(`organization ${organization}: selected repositories ${organizationSelectedRepositories.join(', ')} (ids ${ids.join(', ')})`);
  }
  const failures: ActionError[] = [];
  const lists: EnvironmentLists = new Map();
  const prepared = await mapLimit(destinations, ctx.pacing.readConcurrency, async (d) => {
    // A cancel starts no new destination's reads (those under way finish).
    if (ctx.cancel.requested) return undefined;
    return prepare(ctx, d, selectedIds, lists).catch((err: unknown) => {
      failures.push(err instanceof ActionError ? err : gitHubError('reading the public key of', label(d), err, writePermission(d), ctx.gh.token));
      return undefined;
    });
  });
  ctx.cancel.checkpoint();
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new ActionError(
      `preflight failed for ${failures.length} of ${destinations.length} destinations: ` +
        failures.map((f) => f.message).join(' | '),
    );
  }
  return prepared as Prepared[];
}

/**
 * In self-rotation the job reads its own credentials from the secrets of GITHUB_REPOSITORY: its repository secrets,
 * one of its environments, or an organization secret shared with it. Does some destination cover it?
 */
export function coversRepository(prepared: Prepared[], repository: string): boolean {
  const [owner, repo] = repository.toLowerCase().split('/');
  return prepared.some(({ destination: d, sharing }) => {
    if (d.kind === 'repository' || d.kind === 'environment') {
      return d.owner.toLowerCase() === owner && d.repo.toLowerCase() === repo;
    }
    if (d.kind !== 'organization' || d.org.toLowerCase() !== owner || !sharing) return false;
    return sharing.every((s) => s.visibility !== 'selected' || s.selectedNames.includes(`${owner}/${repo}`));
  });
}

/** Create the environments preflight found missing (create-environments), then read their public keys. */
export async function createMissingEnvironments(
  ctx: PreflightContext,
  prepared: Prepared[],
  onCreated: (index: number) => void,
): Promise<void> {
  for (const [i, p] of prepared.entries()) {
    const d = p.destination;
    if (!p.create || d.kind !== 'environment') continue;
    ctx.cancel.checkpoint();
    await ctx.pacer.take();
    ctx.cancel.checkpoint();
    await createEnvironment(ctx.gh, d.owner, d.repo, d.environment);
    onCreated(i);
    ctx.io.info(`Created environment '${d.environment}' in ${d.owner}/${d.repo}`);
    try {
      p.publicKey = await getPublicKey(ctx.gh, d);
    } catch (err) {
      throw gitHubError('reading the public key of', label(d), err, writePermission(d), ctx.gh.token);
    }
  }
}
