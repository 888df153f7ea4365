/**
 * Writing and removing what a destination holds (the id's secret or variable, and the secret), journaled; where a
 * destination stands, read from the journal.
 */
import type { Credentials } from '../aws/aws.js';
import { ActionError } from '../shared/errors.js';
import { type VariableDestination, hasVariables, label } from '../github/destinations.js';
import type { DestinationRecord } from '../github/destination-record.js';
import type { Holding, Journal, WriteReason } from './journal.js';
import type { Outcome } from './result.js';
import type { RunState } from './run-state.js';
import { deleteSecret, statusOf, writeSecret } from '../github/secrets.js';
import { deleteVariable, writeVariable } from '../github/variables.js';

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
