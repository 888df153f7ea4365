/**
 * Writing a destination's secrets, journaled (src/rotation/writes.ts put, writePair, remove), in-process with a scripted
 * GitHub that opens each sealed value: what the journal says after a write that worked, that GitHub refused, and
 * that GitHub never answered; and how writes are paced.
 */
import { describe, expect, it } from '@jest/globals';
import sodium from 'libsodium-wrappers';
import { destinationRecords } from '../src/github/destination-record.js';
import type { Destination } from '../src/github/destinations.js';
import { Journal } from '../src/rotation/journal.js';
import type { Prepared } from '../src/github/preflight.js';
import type { RotateContext, RunState } from '../src/rotation/run-state.js';
import { put, remove, writePair } from '../src/rotation/writes.js';
import { inputsWith } from './support/fixtures.js';
import { failure, scriptedGitHub } from './support/scripted-github.js';

const REPO: Destination = { kind: 'repository', owner: 'octo', repo: 'api' };
const ORG: Destination = { kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] };
const PAIR = { accessKeyId: 'AKIANEW', secretAccessKey: 'new-secret' };

async function world(routes: Record<string, unknown>, destinations: Destination[] = [REPO]) {
  await sodium.ready;
  const box = sodium.crypto_box_keypair();
  const publicKey = { keyId: 'kid-1', key: sodium.to_base64(box.publicKey, sodium.base64_variants.ORIGINAL) };
  const { gh, calls } = scriptedGitHub(routes);
  const taken: number[] = [];
  const ctx = {
    gh,
    inputs: inputsWith(),
    pacer: { take: async (n = 1) => void taken.push(n) },
  } as unknown as RotateContext;
  const prepared: Prepared[] = destinations.map((destination) => ({
    destination,
    publicKey,
    create: false,
    held: 'both',
    idHeld: true,
    oldestUpdate: undefined,
    updates: [],
    sharing:
      destination.kind === 'organization'
        ? [
            { visibility: 'selected', selectedRepositoryIds: [7], selectedNames: ['octo/api'] },
            { visibility: 'private', selectedRepositoryIds: [], selectedNames: [] },
          ]
        : undefined,
    visibilityChanges: [],
  }));
  const journal = new Journal(destinations.length);
  const records = destinationRecords(prepared, journal.destinations);
  const s = { ctx, journal, destinations: records } as unknown as RunState;
  const opened = (i: number) => {
    const body = calls[i].params as { encrypted_value: string; key_id: string };
    const plain = sodium.crypto_box_seal_open(sodium.from_base64(body.encrypted_value, sodium.base64_variants.ORIGINAL), box.publicKey, box.privateKey);
    return { route: calls[i].route, value: sodium.to_string(plain), keyId: body.key_id };
  };
  return { s, journal, calls, taken, opened, d: records[0] };
}

const ID_PUT = 'PUT /repos/octo/api/actions/secrets/AWS_ACCESS_KEY_ID';
const SECRET_PUT = 'PUT /repos/octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY';

describe('writePair', () => {
  it('takes two write slots, then writes the key id and the secret, sealed, and journals each', async () => {
    const w = await world({ [ID_PUT]: {}, [SECRET_PUT]: {} });

    await writePair(w.s, w.d, PAIR, 'new key');

    expect(w.taken).toEqual([2]);
    expect([w.opened(0), w.opened(1)]).toEqual([
      { route: ID_PUT, value: 'AKIANEW', keyId: 'kid-1' },
      { route: SECRET_PUT, value: 'new-secret', keyId: 'kid-1' },
    ]);
    expect(w.journal.effects).toEqual([
      { kind: 'write in flight', index: 0, which: 'id' },
      { kind: 'secret written', index: 0, which: 'id', keyId: 'AKIANEW', reason: 'new key' },
      { kind: 'write in flight', index: 0, which: 'secret' },
      { kind: 'secret written', index: 0, which: 'secret', keyId: 'AKIANEW', reason: 'new key' },
    ]);
    expect(w.journal.pairKey(0)).toBe('AKIANEW');
    expect(w.journal.destinations[0].reason).toBe('new key');
  });

  it('an organization: each secret is written with its own sharing', async () => {
    const w = await world({ 'PUT /orgs/octo/actions/secrets/AWS_ACCESS_KEY_ID': {}, 'PUT /orgs/octo/actions/secrets/AWS_SECRET_ACCESS_KEY': {} }, [ORG]);
    await writePair(w.s, w.d, PAIR, 'converge');
    expect(w.calls.map((c) => [c.route, (c.params as { visibility: string }).visibility, (c.params as { selected_repository_ids?: number[] }).selected_repository_ids])).toEqual([
      ['PUT /orgs/octo/actions/secrets/AWS_ACCESS_KEY_ID', 'selected', [7]],
      ['PUT /orgs/octo/actions/secrets/AWS_SECRET_ACCESS_KEY', 'private', undefined],
    ]);
  });

  it('a refused second write: the key id is journaled as written, the secret as it was', async () => {
    const w = await world({ [ID_PUT]: {}, [SECRET_PUT]: failure(422, 'Bad key') });
    await expect(writePair(w.s, w.d, PAIR, 'new key')).rejects.toThrow(/^writing AWS_SECRET_ACCESS_KEY to octo\/api: 422 Bad key/);
    expect(w.journal.destinations[0].id).toEqual({ kind: 'key', keyId: 'AKIANEW' });
    expect(w.journal.destinations[0].secret).toEqual({ kind: 'before' });
  });
});

describe('put', () => {
  it('GitHub answered with an error: the write did not happen, the secret holds what it held', async () => {
    const w = await world({ [ID_PUT]: {}, [SECRET_PUT]: failure(500, 'Server Error') });
    w.journal.record({ kind: 'secret written', index: 0, which: 'secret', keyId: 'AKIAOLD', reason: 'restore' });
    await expect(put(w.s, w.d, 'secret', 'x', 'AKIANEW', 'new key')).rejects.toThrow(/500 Server Error/);
    expect(w.journal.destinations[0].secret).toEqual({ kind: 'key', keyId: 'AKIAOLD' });
    expect(w.journal.effects.at(-1)).toEqual({ kind: 'write failed', index: 0, which: 'secret', previous: { kind: 'key', keyId: 'AKIAOLD' } });
  });

  it('GitHub never answered (a timeout): the write may have happened, so the secret is unknown', async () => {
    const noAnswer = Object.assign(new Error('no answer within 30 s (request abandoned)'), { thrown: true, status: 500 });
    const w = await world({ [ID_PUT]: noAnswer });
    await expect(put(w.s, w.d, 'id', 'AKIANEW', 'AKIANEW', 'new key')).rejects.toThrow(/network error/);
    expect(w.journal.destinations[0].id).toEqual({ kind: 'unknown' });
    expect(w.journal.effects.map((e) => e.kind)).toEqual(['write in flight']);
  });
});

describe('remove', () => {
  it('takes one write slot, deletes the secret and journals it absent; a 404 counts as done', async () => {
    const w = await world({ 'DELETE /repos/octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY': {} });
    await remove(w.s, w.d, 'secret');
    expect(w.taken).toEqual([1]);
    expect(w.calls.map((c) => c.route)).toEqual(['DELETE /repos/octo/api/actions/secrets/AWS_SECRET_ACCESS_KEY']);
    expect(w.journal.destinations[0].secret).toEqual({ kind: 'absent' });

    const gone = await world({});
    await remove(gone.s, gone.d, 'id');
    expect(gone.calls.map((c) => c.route)).toEqual(['DELETE /repos/octo/api/actions/secrets/AWS_ACCESS_KEY_ID']);
    expect(gone.journal.destinations[0].id).toEqual({ kind: 'absent' });
  });

  it('a failed removal is thrown and not journaled', async () => {
    const w = await world({ 'DELETE /repos/octo/api/actions/secrets/AWS_ACCESS_KEY_ID': failure(403, 'Forbidden') });
    await expect(remove(w.s, w.d, 'id')).rejects.toThrow(/^deleting AWS_ACCESS_KEY_ID from octo\/api: 403/);
    expect(w.journal.effects).toEqual([]);
  });
});
