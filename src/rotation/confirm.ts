/**
 * After the fan-out, before the handover: does every destination still hold what this run wrote? GitHub's updated_at
 * of each secret (with access-key-id-as: variable, of the id's variable), read again, must not be later than this
 * run's own write (its Date header): a later write is someone else's (another rotation of this user, or another IAM
 * user's rotation configured onto the same destination), and the destination then holds a key this run cannot name.
 * Such a run retires nothing.
 */
import { hasVariables, label, variableWritePermission, writePermission } from '../github/destinations.js';
import { ActionError } from '../shared/errors.js';
import { mapLimit } from '../github/preflight.js';
import type { RunState } from './run-state.js';
import { gitHubError, listSecrets } from '../github/secrets.js';
import { listVariables } from '../github/variables.js';

/** Destinations someone else wrote after this run did: nothing is retired, both keys stay. */
export class Overwritten extends ActionError {
  constructor(
    readonly indexes: number[],
    message: string,
  ) {
    super(message);
    this.name = 'Overwritten';
  }
}

const second = (ms: number) => Math.floor(ms / 1000);
/**
 * GitHub's Date header and a secret's updated_at come from different hosts, each to the second: one second apart is
 * the same write. A later writer is one that wrote at least two seconds after this run (writes are paced a second
 * apart, so two interleaved rotations are seconds apart).
 */
const SAME_WRITE_SECONDS = 1;

/** Read every destination's secrets again; throws Overwritten naming those written (or removed) since this run's write. */
export async function confirmDestinations(s: RunState, keyId: string): Promise<void> {
  const { ctx, journal } = s;
  const names = { id: ctx.inputs.accessKeyIdSecretName, secret: ctx.inputs.secretAccessKeySecretName };
  const found = await mapLimit(s.destinations, ctx.pacing.readConcurrency, async ({ destination, ledger, index: i }) => {
    const at = ledger.writtenAt;
    // GitHub gave no time for a write (a client or stand-in without Date headers): nothing to compare with.
    if (at.id === undefined || at.secret === undefined) return [];
    const secrets = await listSecrets(ctx.gh, destination).catch((err: unknown) => {
      throw gitHubError('listing the secrets (to check that they still hold the new key) of', label(destination), err, writePermission(destination), ctx.gh.token);
    });
    // access-key-id-as: variable: the id is a variable, read from the variables.
    const ids =
      ctx.inputs.accessKeyIdAs === 'variable' && hasVariables(destination)
        ? await listVariables(ctx.gh, destination).catch((err: unknown) => {
            throw gitHubError('listing the variables (to check that they still hold the new key) of', label(destination), err, variableWritePermission(destination), ctx.gh.token);
          })
        : secrets;
    return (['id', 'secret'] as const).flatMap((which) => {
      const updated = (which === 'id' ? ids : secrets).get(names[which].toUpperCase())?.updatedAt;
      return updated === undefined || second(updated) > second(at[which] as number) + SAME_WRITE_SECONDS ? [{ i, which, updated }] : [];
    });
  });
  const late = found.flat();
  if (late.length === 0) return;
  for (const { i, which } of late) journal.record({ kind: 'secret overwritten', index: i, which });
  const where = [...new Set(late.map((l) => l.i))].map((i) => s.destinations[i].label);
  throw new Overwritten(
    [...new Set(late.map((l) => l.i))],
    `${where.join(', ')} ${where.length === 1 ? 'was' : 'were'} written (or emptied) by someone else after this run wrote ` +
      `${keyId} there (GitHub's updated_at is later than this run's write): another rotation of this user, or of another ` +
      `IAM user configured onto the same destination, is at work. Nothing was retired: make sure one rotation (one IAM ` +
      `user) writes each destination, then rerun`,
  );
}
