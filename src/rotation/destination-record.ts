/**
 * One record per destination for the whole run: what it is, what preflight learned about it, what this run did to it
 * (its ledger in the journal) and its row of the report. The read step makes them, once; every later step reads a
 * destination through its record, never by joining parallel lists on an index.
 */
import { type Destination, label } from '../github/destinations.js';
import type { Prepared } from '../github/preflight.js';
import type { DestinationLedger, Journal } from './journal.js';
import type { DestinationResult, RotationResult } from './result.js';

export interface DestinationRecord {
  /** Its place in the inputs' order: the index its journal effects carry. */
  index: number;
  destination: Destination;
  label: string;
  /** What preflight learned: its public key, what it held and when it was written, how it is shared. */
  prepared: Prepared;
  /** What this run did to it: each secret's holding, GitHub's time of this run's writes (the journal keeps it). */
  ledger: DestinationLedger;
  /** Its row of the report (refreshed from the ledger). */
  report: DestinationResult;
}

/** The records of a run's destinations, from preflight's answer; what they held before goes into the ledger. */
export function destinationRecords(prepared: Prepared[], journal: Journal, result: RotationResult): DestinationRecord[] {
  return prepared.map((p, index) => {
    const record: DestinationRecord = {
      index,
      destination: p.destination,
      label: label(p.destination),
      prepared: p,
      ledger: journal.destinations[index],
      report: result.destinations[index],
    };
    record.ledger.heldBefore = p.held;
    record.report.visibility = p.sharing?.[0].visibility;
    return record;
  });
}

/** What preflight learned of each destination, in order (for the modules that take preflight's own answer). */
export const preparedOf = (records: DestinationRecord[]): Prepared[] => records.map((r) => r.prepared);
