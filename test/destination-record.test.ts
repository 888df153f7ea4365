/**
 * One record per destination for the whole run (src/rotation/destination-record.ts): the read step makes one for each
 * destination, holding what preflight learned, the journal's own ledger and the report's own row, so what the run did
 * to a destination and what it reports of it are one object, never two lists joined on an index.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Prepared } from '../src/github/preflight.js';
import { destinationRecords } from '../src/rotation/destination-record.js';
import { Journal } from '../src/rotation/journal.js';
import type { RotationResult } from '../src/rotation/result.js';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const REPO = { kind: 'repository', owner: 'octo', repo: 'api' } as const;
const ORG = { kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] } as const;

describe('one record per destination', () => {
  it("holds preflight's answer, the journal's ledger and the report's row, and fills in what the destination held", () => {
    const prepared = [
      { destination: REPO, held: 'both', sharing: undefined },
      { destination: ORG, held: 'partial', sharing: [{ visibility: 'private' }, { visibility: 'private' }] },
    ] as unknown as Prepared[];
    const journal = new Journal(2);
    const result = { journal, destinations: [{ destination: REPO }, { destination: ORG }] } as unknown as RotationResult;
    const records = destinationRecords(prepared, journal, result);
    expect(records.map((r) => [r.index, r.label])).toEqual([
      [0, 'octo/api'],
      [1, 'organization octo'],
    ]);
    records.forEach((r, i) => {
      expect(r.prepared).toBe(prepared[i]);
      expect(r.ledger).toBe(journal.destinations[i]);
      expect(r.report).toBe(result.destinations[i]);
    });
    expect(records.map((r) => r.ledger.heldBefore)).toEqual(['both', 'partial']);
    expect(records.map((r) => r.report.visibility)).toEqual([undefined, 'private']);
    // What the journal records is what the record says: the same ledger.
    journal.record({ kind: 'secret written', index: 1, which: 'id', keyId: 'AKIANEW', reason: 'new key' });
    expect(records[1].ledger.id).toEqual({ kind: 'key', keyId: 'AKIANEW' });
  });

  it('a run reports each destination from its record', async () => {
    const iam = memoryIam();
    const github = await memoryGitHub(['octo/api', 'octo/web']);
    const old = userKey(iam, 'AKIAOLD0000000000001');
    github.hold(old, 'octo/api');
    const { result } = await memoryRotation(iam, github, { as: old, inputs: { repositories: 'octo/api,octo/web' }, env: { GITHUB_REPOSITORY: 'octo/api' } });
    expect(result.error).toBeUndefined();
    expect(result.journal.destinations.map((d) => d.heldBefore)).toEqual(['both', 'none']);
    expect(result.destinations.map((d) => [d.label, d.outcome, d.keyId])).toEqual([
      ['octo/api', 'written', result.newKeyId],
      ['octo/web', 'written', result.newKeyId],
    ]);
  });

  it("the rotation's steps read a destination through its record, never preflight's list by index", () => {
    const dir = join(import.meta.dirname, '..', 'src', 'rotation');
    const found = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'destination-record.ts')
      .flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .flatMap((line, i) => (/\bprepared\[|\bs\.prepared\b|\bs\.journal\.destinations\[/.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(found).toEqual([]);
  });
});
