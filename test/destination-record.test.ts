/**
 * One record per destination for the whole run (src/github/destination-record.ts): the read step makes one for each
 * destination, holding what preflight learned and the journal's own ledger, so what the run did to a destination is
 * one object, never two lists joined on an index; what the run decides and reports of it are functions of it.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Prepared } from '../src/github/preflight.js';
import { destinationRecords, mayHold, pairKey, touchedWith, updates } from '../src/github/destination-record.js';
import { Journal } from '../src/rotation/journal.js';
import { memoryGitHub, memoryIam, memoryRotation, userKey } from './support/memory-world.js';

const REPO = { kind: 'repository', owner: 'octo', repo: 'api' } as const;
const ORG = { kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] } as const;

describe('one record per destination', () => {
  it("holds preflight's answer and the journal's ledger, and fills in what the destination held and when it was written", () => {
    const prepared = [
      { destination: REPO, held: 'both', updates: [5000, 7000], sharing: undefined },
      { destination: ORG, held: 'partial', updates: [3000], sharing: [{ visibility: 'private' }, { visibility: 'private' }] },
    ] as unknown as Prepared[];
    const journal = new Journal(2);
    const records = destinationRecords(prepared, journal.destinations);
    expect(records.map((r) => [r.index, r.label])).toEqual([
      [0, 'octo/api'],
      [1, 'organization octo'],
    ]);
    records.forEach((r, i) => {
      expect(r.prepared).toBe(prepared[i]);
      expect(r.ledger).toBe(journal.destinations[i]);
    });
    expect(records.map((r) => r.ledger.heldBefore)).toEqual(['both', 'partial']);
    expect(records.map((r) => r.ledger.updatedBefore)).toEqual([[5000, 7000], [3000]]);
    expect(records.map(updates)).toEqual([[5000, 7000], [3000]]);
    // What the journal records is what the record says: the same ledger.
    journal.record({ kind: 'secret written', index: 1, which: 'id', keyId: 'AKIANEW', reason: 'new key' });
    expect(records[1].ledger.id).toEqual({ kind: 'key', keyId: 'AKIANEW' });
  });

  it('the projections: the pair this run wrote, what either secret may hold, whether it may hold a key', () => {
    const [d] = destinationRecords([{ destination: REPO, held: 'both', updates: [10_500] }] as unknown as Prepared[], new Journal(1).destinations);
    const made = (ms: number) => ({ id: 'AKIAK', created: new Date(ms) });
    expect([pairKey(d), touchedWith(d)]).toEqual([undefined, []]);
    // Written in the key's own second (updated_at has whole seconds) or later: it may hold it; before: not.
    expect([mayHold(d, made(10_999)), mayHold(d, made(11_000))]).toEqual([true, false]);
    d.ledger.id = { kind: 'key', keyId: 'AKIAK' };
    d.ledger.secret = { kind: 'unknown' };
    expect([pairKey(d), touchedWith(d)]).toEqual([undefined, ['AKIAK', '?']]);
    d.ledger.secret = { kind: 'key', keyId: 'AKIAK' };
    expect([pairKey(d), touchedWith(d)]).toEqual(['AKIAK', ['AKIAK', 'AKIAK']]);
    // This run wrote the pair: it holds that key, and no other, whenever they were made.
    expect([mayHold(d, made(0)), mayHold(d, { id: 'AKIAOTHER', created: new Date(0) })]).toEqual([true, false]);
    d.ledger.secret = { kind: 'overwritten' };
    expect(touchedWith(d)).toEqual(['AKIAK', '?']);
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

  it("the rotation's steps and the keys' verdicts read a destination through its record, never preflight's list by index nor by label", () => {
    const found = ['rotation', 'keys'].flatMap((folder) => {
      const dir = join(import.meta.dirname, '..', 'src', folder);
      return readdirSync(dir)
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) =>
          readFileSync(join(dir, f), 'utf8')
            .split('\n')
            .flatMap((line, i) =>
              /\bprepared\[|\bs\.prepared\b|\bs\.journal\.destinations\[|includes\(\w+\.label\)|\.label\s*===/.test(line) ? [`${folder}/${f}:${i + 1}: ${line.trim()}`] : [],
            ),
        );
    });
    expect(found).toEqual([]);
  });
});
