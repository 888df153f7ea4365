import { type Destination, isOrganization, label, writePermission } from './destinations.js';
import { ActionError } from './errors.js';
import type { RotateContext } from './rotate.js';
import {
  type PublicKey,
  createEnvironment,
  environmentExists,
  getPublicKey,
  gitHubError,
  listSecretNames,
  repositoryExists,
  resolveRepositoryIds,
  statusOf,
} from './secrets.js';

/** A destination ready to be written: its own public key, and what preflight learned about it. */
export interface Prepared {
  destination: Destination;
  publicKey: PublicKey;
  /** The environment does not exist yet and will be created (create-environments). */
  create: boolean;
  /** Lacks either secret (checked only when max-age-days > 0). */
  missingSecrets: boolean;
  selectedRepositoryIds: number[] | undefined;
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

/** Why a public-key read failed, in the user's terms: a missing repository, environment, or permission. */
async function explainReadFailure(ctx: RotateContext, d: Destination, err: unknown): Promise<ActionError | 'create'> {
  if (statusOf(err) === 404 && (d.kind === 'environment' || d.kind === 'repository' || d.kind === 'dependabot-repository')) {
    const repoFound = await repositoryExists(ctx.gh, d.owner, d.repo).catch(() => true);
    if (!repoFound) {
      return new ActionError(
        `reading the public key of ${label(d)}: repository ${d.owner}/${d.repo} not found, or the token cannot see it: ` +
          `check repositories and give the token access to it`,
        { cause: err },
      );
    }
    if (d.kind === 'environment' && !(await environmentExists(ctx.gh, d.owner, d.repo, d.environment).catch(() => true))) {
      if (ctx.inputs.createEnvironments) return 'create';
      return new ActionError(
        `reading the public key of ${label(d)}: environment '${d.environment}' does not exist in ${d.owner}/${d.repo}: ` +
          `create it, or set create-environments: true`,
        { cause: err },
      );
    }
  }
  return gitHubError('reading the public key of', label(d), err, writePermission(d));
}

async function prepare(ctx: RotateContext, d: Destination, selectedIds: Map<string, number[]>): Promise<Prepared> {
  const prepared: Prepared = {
    destination: d,
    publicKey: NO_KEY,
    create: false,
    missingSecrets: false,
    selectedRepositoryIds: isOrganization(d) ? selectedIds.get(d.org.toLowerCase()) : undefined,
  };
  try {
    prepared.publicKey = await getPublicKey(ctx.gh, d);
  } catch (err) {
    const why = await explainReadFailure(ctx, d, err);
    if (why !== 'create') throw why;
    prepared.create = true;
    prepared.missingSecrets = true;
    return prepared;
  }
  if (ctx.inputs.maxAgeDays > 0) {
    const names = await listSecretNames(ctx.gh, d).catch((err: unknown) => {
      throw gitHubError('listing the secrets of', label(d), err, writePermission(d));
    });
    prepared.missingSecrets = [ctx.inputs.accessKeyIdSecretName, ctx.inputs.secretAccessKeySecretName].some(
      (n) => !names.has(n.toUpperCase()),
    );
  }
  ctx.io.info(
    `${label(d)}: public key ${prepared.publicKey.keyId}` +
      (ctx.inputs.maxAgeDays > 0 ? (prepared.missingSecrets ? ', lacks the secrets' : ', holds both secrets') : ''),
  );
  return prepared;
}

/**
 * Read every destination's public key (concurrently, bounded) and, with max-age-days, which secrets it holds. Fails
 * naming every destination that cannot be written, before any key exists.
 */
export async function preflight(ctx: RotateContext, destinations: Destination[]): Promise<Prepared[]> {
  const selectedIds = new Map<string, number[]>();
  const { organization, organizationVisibility, organizationSelectedRepositories } = ctx.inputs;
  if (organization !== undefined && organizationVisibility === 'selected') {
    const ids = await resolveRepositoryIds(ctx.gh, organization, organizationSelectedRepositories);
    selectedIds.set(organization.toLowerCase(), ids);
    ctx.io.info(`organization ${organization}: selected repositories ${organizationSelectedRepositories.join(', ')} (ids ${ids.join(', ')})`);
  }
  const failures: ActionError[] = [];
  const prepared = await mapLimit(destinations, ctx.pacing.readConcurrency, (d) =>
    prepare(ctx, d, selectedIds).catch((err: unknown) => {
      failures.push(err instanceof ActionError ? err : gitHubError('reading the public key of', label(d), err, writePermission(d)));
      return undefined;
    }),
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new ActionError(
      `preflight failed for ${failures.length} of ${destinations.length} destinations, nothing was changed: ` +
        failures.map((f) => f.message).join(' | '),
    );
  }
  return prepared as Prepared[];
}

/** Create the environments preflight found missing (create-environments), then read their public keys. */
export async function createMissingEnvironments(
  ctx: RotateContext,
  prepared: Prepared[],
  onCreated: (index: number) => void,
): Promise<void> {
  for (const [i, p] of prepared.entries()) {
    const d = p.destination;
    if (!p.create || d.kind !== 'environment') continue;
    await ctx.pacer.take();
    await createEnvironment(ctx.gh, d.owner, d.repo, d.environment);
    onCreated(i);
    ctx.io.info(`Created environment '${d.environment}' in ${d.owner}/${d.repo}`);
    try {
      p.publicKey = await getPublicKey(ctx.gh, d);
    } catch (err) {
      throw gitHubError('reading the public key of', label(d), err, writePermission(d));
    }
  }
}
