/**
 * src/action/outputs.ts in-process, beyond report.test.ts: the `keys` output and table, staged retirement in the summary,
 * which previous keys are reported as replaced, rows that must not appear, and the summary file itself.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Destination } from '../src/github/destinations.js';
import { label } from '../src/github/destinations.js';
import { ActionError } from '../src/shared/errors.js';
import { Journal } from '../src/rotation/journal.js';
import type { AccessKey } from '../src/shared/types.js';
import type { KeyState, Plan } from '../src/keys/verdict.js';
import { outputs, setOutputs, summaryModel, writeSummary } from '../src/action/outputs.js';
import type { KeyReport, RotationResult } from '../src/rotation/result.js';
import { inputsWith } from './support/fixtures.js';

const OLD: AccessKey = { id: 'AKIAOLD', status: 'Active', created: new Date('2025-01-01T00:00:00Z') };
const REPO: Destination = { kind: 'repository', owner: 'octo', repo: 'api' };
const PLAN: Plan = {
  action: 'rotate',
  reason: 'old',
  current: OLD,
  orphan: undefined,
    moveOff: [],
  makeRoom: undefined,
  makeRoomBreaks: false,
  reasons: { previous: 'replaced by this run' },
  previous: [OLD],
  previousKey: 'deactivate',
};

function result(overrides: Partial<RotationResult> = {}): RotationResult {
  return {
    userName: 'deployer',
    userCreated: false,
    dryRun: false,
    plan: PLAN,
    rotated: true,
    accessKeyId: 'AKIANEW',
    newKeyId: 'AKIANEW',
    previous: [],
    destinations: [{ destination: REPO, label: label(REPO), outcome: 'written', keyId: 'AKIANEW' }],
    error: undefined,
    cancelled: false,
    steps: [],
    journal: new Journal(1),
    ...overrides,
  };
}

const fact = (r: RotationResult, name: string) =>
  summaryModel(r)
    .facts.filter(([k]) => k === name)
    .map(([, v]) => v);

const KEYS: KeyReport[] = [
  {
    id: 'AKIANEW',
    status: 'Active',
    created: '2026-11-27T12:00:00Z',
    lastUsed: null,
    description: 'rotated by octo/api run 1',
    fate: 'current',
  },
  {
    id: 'AKIAOLD',
    status: 'Inactive',
    created: '2025-01-01T00:00:00Z',
    lastUsed: { date: '2026-11-20T08:00:00Z', service: 'sts', region: 'us-east-1' },
    description: null,
    fate: 'deactivated',
  },
];

describe('outputs', () => {
  it('keys: every key as JSON; no keys known is []', () => {
    expect(JSON.parse(outputs(result({ keys: KEYS }), inputsWith()).keys)).toEqual(KEYS);
    expect(outputs(result(), inputsWith()).keys).toBe('[]');
  });

  it('keys: null, not [], when the keys could not be listed at the end of the run', () => {
    expect(outputs(result({ keys: undefined, keysUnread: 'iam:ListAccessKeys on IAM user deployer failed: Throttling' }), inputsWith()).keys).toBe('null');
    expect(outputs(result({ keys: [], keysUnread: undefined }), inputsWith()).keys).toBe('[]');
  });

  it('keys: a last use that could not be read is "unknown"', () => {
    const keys: KeyReport[] = [{ ...KEYS[0], lastUsed: 'unknown' }];
    expect((JSON.parse(outputs(result({ keys }), inputsWith()).keys) as KeyReport[])[0].lastUsed).toBe('unknown');
  });

  it('previous-access-key-ids: keys replaced by this run, not those kept or still pending retirement', () => {
    const out = outputs(
      result({
        previous: [
          { id: 'A', action: 'deleted' },
          { id: 'B', action: 'kept' },
          { id: 'C', action: 'retire-pending' },
          { id: 'D', action: 'deactivated' },
          { id: 'E', action: 'deleted to make room' },
        ],
      }),
      inputsWith(),
    );
    expect(out['previous-access-key-ids']).toBe('A,D,E');
  });
});

describe('previous-access-key-ids', () => {
  it('names each key this run retired once, in order, without kept or pending keys', () => {
    const previous = [
      { id: 'AKIAA', action: 'deactivated' },
      { id: 'AKIAA', action: 'deleted to make room' },
      { id: 'AKIAB', action: 'retire-pending' },
      { id: 'AKIAC', action: 'kept' },
      { id: 'AKIAD', action: 'deleted' },
    ] as RotationResult['previous'];
    expect(outputs(result({ previous }), inputsWith())['previous-access-key-ids']).toBe('AKIAA,AKIAD');
  });
});

describe('summaryModel', () => {
  it('the keys table: id, status, created, last use (or never), description (or —), fate', () => {
    expect(summaryModel(result({ keys: KEYS })).keys).toEqual([
      ['AKIANEW', 'Active', '2026-11-27T12:00:00Z', 'never', 'rotated by octo/api run 1', 'current'],
      ['AKIAOLD', 'Inactive', '2025-01-01T00:00:00Z', '2026-11-20T08:00:00Z (sts, us-east-1)', '—', 'deactivated'],
    ]);
    expect(summaryModel(result()).keys).toEqual([]);
  });

  it('the keys table: a last use that could not be read is unknown, not never', () => {
    expect(summaryModel(result({ keys: [{ ...KEYS[0], lastUsed: 'unknown' }] })).keys[0][3]).toBe('unknown');
  });

  it('keys that could not be listed: a fact says why, and the table is not presented as the keys', () => {
    const r = result({ keysUnread: 'iam:ListAccessKeys on IAM user deployer failed: Throttling' });
    expect(fact(r, 'Access keys')).toEqual(['could not be listed at the end of the run: iam:ListAccessKeys on IAM user deployer failed: Throttling']);
    expect(summaryModel(r).keysListed).toBe(false);
    expect(fact(result(), 'Access keys')).toEqual([]);
    expect(summaryModel(result()).keysListed).toBe(true);
  });

  it('"Key the destinations hold" only when every destination holds it; else who holds which key, and who holds none', () => {
    const web: Destination = { kind: 'repository', owner: 'octo', repo: 'web' };
    const ops: Destination = { kind: 'repository', owner: 'octo', repo: 'ops' };
    const row = (d: Destination, keyId: string | undefined) => ({ destination: d, label: label(d), outcome: 'unchanged' as const, keyId });
    expect(fact(result(), 'Key the destinations hold')).toEqual(['AKIANEW']);
    const split = result({ accessKeyId: 'AKIAOLD', destinations: [row(REPO, 'AKIAOLD'), row(web, undefined), row(ops, 'AKIAOTHER')] });
    expect(summaryModel(split).facts.filter(([k]) => k.startsWith('Key the') || k.startsWith('Destinations holding'))).toEqual([
      ['Destinations holding AKIAOLD', 'octo/api'],
      ['Destinations holding no key this run knows of', 'octo/web'],
      ['Destinations holding AKIAOTHER', 'octo/ops'],
    ]);
    const none = result({ accessKeyId: 'AKIAOLD', destinations: [row(web, undefined)] });
    expect(fact(none, 'Destinations holding AKIAOLD')).toEqual(['none']);
    expect(fact(none, 'Key the destinations hold')).toEqual([]);
  });

  it('keys pending retirement: when, and a warning when still in use', () => {
    const pending = (id: string, dueAt: string | undefined, due: boolean, inUse: boolean): KeyState => ({
      key: { id, status: 'Active', created: new Date(0) },
      record: undefined,
      lastUsed: undefined,
      makerEnded: undefined,
      verdict: { kind: 'pending', reason: 'staged retirement', successor: 'AKIASUCCESSOR', handover: 0, grace: 24, dueAt: dueAt === undefined ? undefined : Date.parse(dueAt), due, inUse, holders: [], kept: false, missing: [] },
    });
    const states = [pending('AKIADUE', undefined, true, false), pending('AKIAW1', '2026-11-28T12:00:00Z', false, false), pending('AKIAW2', '2026-11-29T12:00:00Z', false, true)];
    const r = result({ keyStates: () => states });
    expect(fact(r, 'Pending retirement')).toEqual([
      'AKIAW1: not before 2026-11-28T12:00:00.000Z',
      'AKIAW2: not before 2026-11-29T12:00:00.000Z — STILL IN USE: somebody holds it',
    ]);
    // Due keys are retired by the run (its previous keys say so); only a dry run lists them as would-be.
    expect(fact(r, 'Due for retirement')).toEqual([]);
    expect(fact({ ...r, dryRun: true }, 'Due for retirement')).toEqual(['AKIADUE: would retire']);
  });

  it('no new key, no key held: no such rows (not "undefined")', () => {
    const r = result({ rotated: false, newKeyId: undefined, accessKeyId: undefined, error: new ActionError('x') });
    expect(fact(r, 'New key')).toStrictEqual([]);
    expect(fact(r, 'Key the destinations hold')).toStrictEqual([]);
    expect(JSON.stringify(summaryModel(r))).not.toContain('undefined');
  });

  it('a dry run with no room to make lists no key to delete', () => {
    const r = result({ dryRun: true, rotated: false, newKeyId: undefined });
    expect(fact(r, 'Would delete to make room')).toEqual([]);
    expect(fact(r, 'Previous key')).toEqual(['AKIAOLD: would deactivate']);
  });

  it('a dry run that failed before a plan: the failure, no would-be actions, and no claim of who holds the key', () => {
    // access-key-id names the current key (set once the keys were listed), but preflight did not read every
    // destination: the summary does not say they hold it.
    const r = result({ dryRun: true, plan: undefined, rotated: false, newKeyId: undefined, error: new ActionError('preflight failed') });
    expect(summaryModel(r).facts).toEqual([
      ['Result', 'failed'],
      ['IAM user', 'deployer'],
      ['Error', 'preflight failed'],
    ]);
  });

  it('a skip lists the decision and nothing else', () => {
    const r = result({
      plan: { action: 'skip', reason: 'young', current: OLD },
      rotated: false,
      newKeyId: undefined,
      accessKeyId: 'AKIAOLD',
      destinations: [],
    });
    expect(summaryModel(r).facts).toEqual([
      ['Result', 'skipped'],
      ['IAM user', 'deployer'],
      ['Decision', 'skip: young'],
      ['Key the destinations hold', 'AKIAOLD'],
    ]);
  });
});

describe('writeSummary', () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'summary-'));
    saved = process.env.GITHUB_STEP_SUMMARY;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY;
    else process.env.GITHUB_STEP_SUMMARY = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the three tables, HTML-escaped, to GITHUB_STEP_SUMMARY', async () => {
    const file = join(dir, 'summary.md');
    writeFileSync(file, '');
    process.env.GITHUB_STEP_SUMMARY = file;
    await writeSummary(result({ keys: KEYS, error: new ActionError(`<script>alert('x')</script>`) }));
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<h2>Rotate AWS access key</h2>');
    expect(html).toContain('<h3>Destinations (1)</h3>');
    expect(html).toContain('<h3>Access keys (2)</h3>');
    for (const header of ['Item', 'Value', 'Destination', 'Kind', 'Outcome', 'Access key id held', 'Key', 'Status', 'Created', 'Last used', 'Description', 'Fate']) {
      expect(html).toContain(`<th>${header}</th>`);
    }
    expect(html).toContain('<td>2026-11-20T08:00:00Z (sts, us-east-1)</td>');
    expect(html).toContain('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('writes nothing without GITHUB_STEP_SUMMARY', async () => {
    delete process.env.GITHUB_STEP_SUMMARY;
    await expect(writeSummary(result())).resolves.toBeUndefined();
  });
});

describe('setOutputs', () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outputs-'));
    saved = process.env.GITHUB_OUTPUT;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.GITHUB_OUTPUT;
    else process.env.GITHUB_OUTPUT = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every output to GITHUB_OUTPUT, as the runner reads them', async () => {
    const file = join(dir, 'output');
    writeFileSync(file, '');
    process.env.GITHUB_OUTPUT = file;
    const r = result({ keys: KEYS });
    const expected = outputs(r, inputsWith());

    setOutputs(r, inputsWith());

    // name<<delimiter, value, delimiter: one block per output, in order.
    const written: Record<string, string> = {};
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) written[m[1]] = m[3];
    expect(written).toEqual(expected);
    expect(Object.keys(written)).toEqual(['rotated', 'access-key-id', 'previous-access-key-ids', 'keys', 'destinations']);
  });
});
