/**
 * Writing and removing what a destination holds (the id's secret or variable, and the secret), journaled; where a
 * destination stands, read from the journal; and, after the fan-out, the read-back: does every destination still hold
 * what this run wrote? GitHub's updated_at of each secret (with access-key-id-as: variable, of the id's variable), read
 * again, must not be later than this run's own write (its Date header): a later write is someone else's (another
 * rotation of this user, or another IAM user's rotation configured onto the same destination), and the destination
 * then holds a key this run cannot name. Such a run retires nothing.
 */
import type { Credentials } from '../aws/aws.js';
import type { DestinationRecord } from '../github/destination-record.js';
import { type VariableDestination, hasVariables, label, variableWritePermission, writePermission } from '../github/destinations.js';
import { mapLimit } from '../github/preflight.js';
import { deleteSecret, gitHubError, listSecrets, statusOf, writeSecret } from '../github/secrets.js';
import { deleteVariable, listVariables, writeVariable } from '../github/variables.js';
import { ActionError } from '../shared/errors.js';
import type { Holding, Journal, WriteReason } from './journal.js';
import type { Outcome } from './result.js';
import type { RunState } from './run-state.js';

const secretName = (s: RunState, which: 'id' | 'secret') =>
  which === 'id' ? s.ctx.inputs.accessKeyIdSecretName : s.ctx.inputs.secretAccessKeySecretName;

/** With access-key-id-as: variable, the id of destination d is an Actions variable: its destination, else undefined. */
function idVariable(s: RunState, d: DestinationRecord, which: 'id' | 'secret'): VariableDestination | undefined {
  if (which !== 'id' || s.ctx.inputs.accessKeyIdAs !== 'variable') return undefined;
  if (!hasVariables(d.destination)) throw new ActionError(`access-key-id-as: variable: ${label(d.destination)} has no variables: set access-key-id-as: secret`);
  return d.destination;
}

/** Does destination d's id variable exist, as far as this run knows (its own writes, else preflight)? */
function variableExists(d: DestinationRecord, previous: Holding): boolean {
  if (previous.kind === 'key') return true;
  if (previous.kind === 'absent') return false;
  return d.prepared.idHeld;
}

/** Write one secret (or the id's variable), journaled: in flight, then written, or back to what it held when GitHub answered with an error. */
export async function put(s: RunState, d: DestinationRecord, which: 'id' | 'secret', value: string, keyId: string, reason: WriteReason) {
  const { prepared: p, ledger, index: i } = d;
  const previous: Holding = ledger[which];
  const variable = idVariable(s, d, which);
  s.journal.record({ kind: 'write in flight', index: i, which });
  let at: number | undefined;
  try {
    const sharing = p.sharing?.[which === 'id' ? 0 : 1];
    if (variable) {
      const exists = variableExists(d, previous);
      at = await writeVariable(s.ctx.gh, variable, secretName(s, which), value, sharing, exists, () => s.ctx.pacer.take());
    } else {
      at = await writeSecret(s.ctx.gh, p.destination, p.publicKey, secretName(s, which), value, sharing);
    }
  } catch (err) {
    // An HTTP answer means the write did not happen; no answer (timeout, network) leaves it unknown.
    if (statusOf((err as { cause?: unknown }).cause ?? err) !== undefined) {
      s.journal.record({ kind: 'write failed', index: i, which, previous });
    }
    throw err;
  }
  s.journal.record({ kind: 'secret written', index: i, which, keyId, reason, at });
}

/** Write a pair to destination d, the two secrets back to back. */
export async function writePair(s: RunState, d: DestinationRecord, pair: Credentials, reason: WriteReason): Promise<void> {
  await s.ctx.pacer.take(2);
  await put(s, d, 'id', pair.accessKeyId, pair.accessKeyId, reason);
  await put(s, d, 'secret', pair.secretAccessKey, pair.accessKeyId, reason);
}

export async function remove(s: RunState, d: DestinationRecord, which: 'id' | 'secret'): Promise<void> {
  await s.ctx.pacer.take();
  const variable = idVariable(s, d, which);
  if (variable) await deleteVariable(s.ctx.gh, variable, secretName(s, which));
  else await deleteSecret(s.ctx.gh, d.destination, secretName(s, which));
  s.journal.record({ kind: 'secret removed', index: d.index, which });
}

/** Where destination i stands, from the journal. `current` is the key it is taken to have held before the run. */
export function standing(journal: Journal, i: number, current: string | undefined): { outcome: Outcome; keyId: string | undefined } {
  const d = journal.destinations[i];
  const { id, secret } = d;
  const heldKey = d.heldBefore === 'both' ? current : undefined;
  if (id.kind === 'before' && secret.kind === 'before') {
    if (journal.broken !== undefined && d.heldBefore !== 'none' && (journal.brokenMaybe?.has(i) ?? true)) {
      return { outcome: journal.brokenCertain.has(i) ? 'broken' : 'may be broken', keyId: journal.broken };
    }
    if (heldKey !== undefined && journal.lost.has(heldKey)) return { outcome: 'broken', keyId: heldKey };
    return { outcome: 'unchanged', keyId: heldKey };
  }
  if (id.kind === 'overwritten' || secret.kind === 'overwritten') {
    // One of the two rewritten by someone else, the other still this run's: the two are of different keys (or one is gone).
    const torn = (id.kind === 'overwritten' && secret.kind === 'key') || (secret.kind === 'overwritten' && id.kind === 'key');
    return { outcome: torn ? 'torn' : 'overwritten', keyId: undefined };
  }
  if (id.kind === 'unknown' || secret.kind === 'unknown') return { outcome: 'unknown', keyId: undefined };
  const pair = journal.pairKey(i);
  if (pair !== undefined && journal.lost.has(pair)) return { outcome: 'broken', keyId: pair };
  if (pair !== undefined) {
    if (d.reason === 'converge') return { outcome: 'converged', keyId: pair };
    if (d.reason === 'restore') return { outcome: 'restored', keyId: pair };
    return { outcome: 'written', keyId: pair };
  }
  if (id.kind === 'key' && secret.kind === 'before' && d.reason === 'restore' && id.keyId === heldKey) {
    return { outcome: 'restored', keyId: heldKey };
  }
  const empty = (h: Holding) => h.kind === 'absent' || (h.kind === 'before' && d.heldBefore === 'none');
  if (empty(id) && empty(secret)) return { outcome: 'removed', keyId: undefined };
  return { outcome: 'mismatched', keyId: undefined };
}

// ---- the read-back ---------------------------------------------------------------------------------------------

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
