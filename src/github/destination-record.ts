/**
 * One record per destination for the whole run, the one type every later step and decision reads a destination
 * through: what the inputs name, what preflight learned about it, and what this run did to it (its ledger: what
 * each of its two secrets holds as far as this run knows; the journal keeps it). The projections below are functions
 * of a record; nothing joins parallel lists by index or by label.
 */
import { type Destination, label } from './destinations.js';
import type { HeldBefore, Prepared } from './preflight.js';

export type { HeldBefore } from './preflight.js';

/** What one of a destination's two secrets holds, as far as this run knows. */
export type Holding =
  | { kind: 'before' } // whatever it held when the run started (see heldBefore)
  | { kind: 'key'; keyId: string } // the id or secret of this key, written by this run
  | { kind: 'absent' } // removed by this run
  | { kind: 'unknown' } // a write was in flight when the run had to stop
  | { kind: 'overwritten' }; // someone else wrote it after this run did

/** Why the run wrote a pair. */
export type WriteReason = 'new key' | 'converge' | 'restore';

/** What this run did to one destination (the journal applies its effects here). */
export interface DestinationLedger {
  heldBefore: HeldBefore;
  /** When its secrets were last written before the run (GitHub's updated_at, per preflight): [] when it held neither. */
  updatedBefore: number[];
  /** GitHub's time of this run's last write of each secret (its Date header), when it said. */
  writtenAt: { id?: number; secret?: number };
  id: Holding;
  secret: Holding;
  /** The environment was created by this run. */
  created: boolean;
  /** The last reason a pair was written here. */
  reason: WriteReason | undefined;
}

export interface DestinationRecord {
  /** Its place in the inputs' order: the index its journal effects carry. */
  index: number;
  destination: Destination;
  label: string;
  /** What preflight learned: its public key, what it held and when it was written, how it is shared. */
  prepared: Prepared;
  /** What this run did to it (the journal's own ledger for it). */
  ledger: DestinationLedger;
}

/** The records of a run's destinations, from preflight's answer and the journal's ledgers; what they held goes in. */
export function destinationRecords(prepared: Prepared[], ledgers: DestinationLedger[]): DestinationRecord[] {
  return prepared.map((p, index) => {
    const ledger = ledgers[index];
    ledger.heldBefore = p.held;
    ledger.updatedBefore = p.updates;
    return { index, destination: p.destination, label: label(p.destination), prepared: p, ledger };
  });
}

/** The key whose pair this run wrote there, both secrets of it (undefined: not written by this run as one pair). */
export function pairKey(d: Pick<DestinationRecord, 'ledger'>): string | undefined {
  const { id, secret } = d.ledger;
  return id.kind === 'key' && secret.kind === 'key' && id.keyId === secret.keyId ? id.keyId : undefined;
}

/** The keys either of its secrets may hold by this run's writes ('?': a write whose outcome is unknown). */
export function touchedWith(d: Pick<DestinationRecord, 'ledger'>): string[] {
  return [d.ledger.id, d.ledger.secret].flatMap((h) =>
    h.kind === 'key' ? [h.keyId] : h.kind === 'unknown' || h.kind === 'overwritten' ? ['?'] : [],
  );
}

/** When GitHub says its secrets were last written (updated_at), before this run: [] when it held neither. */
export const updates = (d: Pick<DestinationRecord, 'prepared'>): number[] => d.prepared.updates;

const second = (ms: number) => Math.floor(ms / 1000) * 1000;

/**
 * May the destination hold a key made at `created` (IAM's CreateDate)? When this run wrote it as a pair, only that
 * key; else when it was written since that key was made (GitHub's updated_at has whole seconds: the key's second).
 */
export function mayHold(d: Pick<DestinationRecord, 'ledger' | 'prepared'>, key: { id: string; created: Date }): boolean {
  const written = pairKey(d);
  if (written !== undefined) return written === key.id;
  const made = second(key.created.getTime());
  return d.prepared.updates.some((u) => u >= made);
}
