import { describe, it, expect } from '@jest/globals';
import type { Destination } from '../src/github/destinations.js';
import { label } from '../src/github/destinations.js';
import { Journal } from '../src/rotation/journal.js';
import { ActionError } from '../src/shared/errors.js';
import type { Inputs } from '../src/config/inputs.js';
import { inputsWith } from './support/fixtures.js';
import type { AccessKey } from '../src/shared/types.js';
import type { Plan } from '../src/keys/verdict.js';
import { escapeHtml, outputs, summaryModel } from '../src/action/outputs.js';
import type { DestinationResult, Outcome, RotationResult } from '../src/rotation/rotate.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY';
const TOKEN = 'ghp_R3aLlyS3cretT0kenValue0123456789abcd';

const OLD_ID = 'AKIAOLDOLDOLDOLD0001';
const INACTIVE_ID = 'AKIAINACTIVEKEY00002';
const NEW_ID = 'AKIANEWNEWNEWNEW0003';

const created = new Date('2025-01-01T00:00:00Z');
const OLD: AccessKey = { id: OLD_ID, status: 'Active', created };
const INACTIVE: AccessKey = { id: INACTIVE_ID, status: 'Inactive', created: new Date('2024-06-01T00:00:00Z') };

function inputs(overrides: Partial<Inputs> = {}): Inputs {
  return inputsWith({ githubToken: TOKEN, iamUserName: 'deployer', ...overrides });
}

const REPO: Destination = { kind: 'repository', owner: 'octo', repo: 'api' };
const ENV: Destination = { kind: 'environment', owner: 'octo', repo: 'web', environment: 'Prod EU' };
const DEP: Destination = { kind: 'dependabot-repository', owner: 'octo', repo: 'api' };
const ORG: Destination = { kind: 'organization', org: 'octo', visibility: 'selected', selectedRepositories: ['api'] };

function dest(destination: Destination, outcome: Outcome, keyId: string | undefined, created?: boolean): DestinationResult {
  return { destination, label: label(destination), outcome, keyId, ...(created === undefined ? {} : { created }) };
}

const ROTATE_PLAN: Plan = {
  action: 'rotate',
  reason: `current key ${OLD_ID} is 120 day(s) old (max-age-days: 90)`,
  current: OLD,
  orphan: undefined,
    moveOff: [],
  makeRoom: INACTIVE,
  makeRoomBreaks: false,
  reasons: { previous: 'replaced by this run' },
  previous: [OLD],
  previousKey: 'delete',
};

function result(overrides: Partial<RotationResult> = {}): RotationResult {
  return {
    userName: 'deployer',
    userCreated: false,
    dryRun: false,
    plan: ROTATE_PLAN,
    rotated: true,
    accessKeyId: NEW_ID,
    newKeyId: NEW_ID,
    previous: [
      { id: INACTIVE_ID, action: 'deleted to make room' },
      { id: OLD_ID, action: 'deleted' },
    ],
    destinations: [dest(REPO, 'written', NEW_ID), dest(ENV, 'written', NEW_ID, true), dest(ORG, 'written', NEW_ID)],
    error: undefined,
    cancelled: false,
    steps: [],
    journal: new Journal(3),
    ...overrides,
  };
}

const fact = (model: ReturnType<typeof summaryModel>, name: string) =>
  model.facts.filter(([k]) => k === name).map(([, v]) => v);

describe('outputs()', () => {
  it('a full rotation', () => {
    const out = outputs(result(), inputs());
    expect(Object.keys(out).sort()).toEqual(['access-key-id', 'destinations', 'keys', 'previous-access-key-ids', 'rotated']);
    expect(out.rotated).toBe('true');
    expect(out['access-key-id']).toBe(NEW_ID);
    expect(out.keys).toBe('[]'); // this fixture has no key report; the integration tests check real ones
    expect(out['previous-access-key-ids']).toBe(`${INACTIVE_ID},${OLD_ID}`);
    expect(JSON.parse(out.destinations)).toEqual([
      { kind: 'repository', repository: 'octo/api', secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
      {
        kind: 'environment',
        repository: 'octo/web',
        environment: 'Prod EU',
        created: true,
        secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      },
      {
        kind: 'organization',
        organization: 'octo',
        visibility: 'selected',
        selectedRepositories: ['api'],
        secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      },
    ]);
  });

  it('every output is a string', () => {
    for (const value of Object.values(outputs(result(), inputs()))) expect(typeof value).toBe('string');
  });

  it.each([
    [[{ id: 'A', action: 'deleted' }], 'A'],
    [[{ id: 'A', action: 'deactivated' }], 'A'],
    [[{ id: 'A', action: 'kept' }], ''],
    [
      [
        { id: 'R', action: 'deleted to make room' },
        { id: 'K', action: 'kept' },
        { id: 'D', action: 'deactivated' },
      ],
      'R,D',
    ],
    [[], ''],
  ] as [RotationResult['previous'], string][])('previous-access-key-ids from %j is %j (kept excluded)', (previous, expected) => {
    expect(outputs(result({ previous }), inputs())['previous-access-key-ids']).toBe(expected);
  });

  it('lists only written destinations, using the configured secret names', () => {
    const r = result({
      destinations: [
        dest(REPO, 'written', NEW_ID, false),
        dest(DEP, 'restored', OLD_ID),
        dest(ENV, 'mismatched', undefined, true),
        dest(ORG, 'unchanged', OLD_ID),
        dest({ kind: 'repository', owner: 'octo', repo: 'docs' }, 'would write', OLD_ID),
      ],
    });
    const out = outputs(r, inputs({ accessKeyIdSecretName: 'DEPLOY_KEY_ID', secretAccessKeySecretName: 'DEPLOY_SECRET' }));
    expect(JSON.parse(out.destinations)).toEqual([
      { kind: 'repository', repository: 'octo/api', secrets: ['DEPLOY_KEY_ID', 'DEPLOY_SECRET'] },
    ]);
    // created: false is left out, not written as false
    expect(out.destinations).not.toContain('created');
  });

  it('an organization destination reports the visibility it was written with (an empty input keeps the existing one)', () => {
    const kept: Destination = { kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] };
    const out = outputs(
      result({ destinations: [{ ...dest(kept, 'written', NEW_ID), visibility: 'all' }, dest(DEP, 'written', NEW_ID)] }),
      inputs(),
    );
    expect(JSON.parse(out.destinations)).toEqual([
      { kind: 'organization', organization: 'octo', visibility: 'all', secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
      { kind: 'dependabot-repository', repository: 'octo/api', secrets: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
    ]);
  });

  it('a key deleted to converge is a previous key; converged, restored and removed destinations are not written ones', () => {
    const out = outputs(
      result({
        previous: [
          { id: INACTIVE_ID, action: 'deleted as an orphan' },
          { id: OLD_ID, action: 'deleted' },
        ],
        destinations: [
          dest(REPO, 'converged', OLD_ID),
          dest(ENV, 'restored', OLD_ID),
          dest(DEP, 'removed', undefined),
          dest(ORG, 'written', NEW_ID),
        ],
      }),
      inputs(),
    );
    expect(out['previous-access-key-ids']).toBe(`${INACTIVE_ID},${OLD_ID}`);
    expect(JSON.parse(out.destinations).map((d: { kind: string }) => d.kind)).toEqual(['organization']);
  });

  it('a skip: not rotated, the current key, no destinations written', () => {
    const skip: Plan = { action: 'skip', reason: 'current key is 3 day(s) old', current: OLD };
    const out = outputs(
      result({
        plan: skip,
        rotated: false,
        accessKeyId: OLD_ID,
        newKeyId: undefined,
        previous: [],
        destinations: [dest(REPO, 'unchanged', OLD_ID)],
      }),
      inputs(),
    );
    expect(out).toEqual({ rotated: 'false', 'access-key-id': OLD_ID, 'previous-access-key-ids': '', destinations: '[]', keys: '[]' });
  });

  it('a failure before any key is known: empty access-key-id', () => {
    const out = outputs(
      result({
        plan: undefined,
        rotated: false,
        accessKeyId: undefined,
        newKeyId: undefined,
        previous: [],
        destinations: [dest(REPO, 'unchanged', undefined)],
        error: new ActionError('boom'),
      }),
      inputs(),
    );
    expect(out['access-key-id']).toBe('');
    expect(out.rotated).toBe('false');
    expect(out.destinations).toBe('[]');
  });
});

describe('summaryModel()', () => {
  it.each<[string, Partial<RotationResult>, string]>([
    ['rotated', {}, 'rotated'],
    ['skipped', { plan: { action: 'skip', reason: 'young', current: OLD }, rotated: false }, 'skipped'],
    ['dry run', { dryRun: true, rotated: false }, 'dry run: nothing changed'],
    ['failed', { rotated: false, error: new ActionError('x') }, 'failed'],
    ['rotated, with a failure', { rotated: true, error: new ActionError('x') }, 'rotated, with a failure'],
    ['failed before a plan', { plan: undefined, rotated: false, error: new ActionError('x') }, 'failed'],
    ['cancelled', { rotated: false, cancelled: true, error: new ActionError('the run was cancelled (SIGINT)') }, 'cancelled'],
    ['cancelled after the handover', { rotated: true, cancelled: true, error: new ActionError('x') }, 'cancelled'],
  ])('Result: %s', (_, overrides, expected) => {
    expect(fact(summaryModel(result(overrides)), 'Result')).toEqual([expected]);
  });

  it('a rotation: user, decision, keys and previous keys', () => {
    const model = summaryModel(result());
    expect(model.facts[0]).toEqual(['Result', 'rotated']);
    expect(fact(model, 'IAM user')).toEqual(['deployer']);
    expect(fact(model, 'Decision')).toEqual([`rotate: ${ROTATE_PLAN.reason}`]);
    expect(fact(model, 'New key')).toEqual([NEW_ID]);
    expect(fact(model, 'Key the destinations hold')).toEqual([NEW_ID]);
    expect(fact(model, 'Previous key')).toEqual([`${INACTIVE_ID}: deleted to make room`, `${OLD_ID}: deleted`]);
    expect(fact(model, 'Error')).toEqual([]);
    expect(fact(model, 'Would delete to make room')).toEqual([]);
  });

  it.each<[string | undefined, boolean, string]>([
    ['deployer', true, 'deployer (created by this run)'],
    [undefined, false, '(unresolved)'],
  ])('IAM user %j (created %s) → %j', (userName, userCreated, expected) => {
    expect(fact(summaryModel(result({ userName, userCreated })), 'IAM user')).toEqual([expected]);
  });

  it('a dry run lists what would happen', () => {
    const model = summaryModel(
      result({
        dryRun: true,
        rotated: false,
        accessKeyId: OLD_ID,
        newKeyId: undefined,
        previous: [],
        destinations: [dest(REPO, 'would write', OLD_ID), dest(ENV, 'would write', OLD_ID, true)],
      }),
    );
    expect(fact(model, 'Result')).toEqual(['dry run: nothing changed']);
    expect(fact(model, 'Would delete to make room')).toEqual([INACTIVE_ID]);
    expect(fact(model, 'Previous key')).toEqual([`${OLD_ID}: would delete`]);
    expect(fact(model, 'New key')).toEqual([]);
    expect(model.rows).toEqual([
      ['octo/api', 'repository', 'would write (dry run)', OLD_ID],
      ["octo/web environment 'Prod EU'", 'environment', 'would write (dry run) (created)', OLD_ID],
    ]);
  });

  it('a dry-run skip lists no would-be actions', () => {
    const model = summaryModel(
      result({ dryRun: true, rotated: false, plan: { action: 'skip', reason: 'young', current: OLD }, previous: [] }),
    );
    expect(fact(model, 'Result')).toEqual(['skipped']);
    expect(fact(model, 'Would delete to make room')).toEqual([]);
    expect(fact(model, 'Previous key')).toEqual([]);
  });

  it('rows: label, kind, outcome, key id held', () => {
    const model = summaryModel(
      result({
        rotated: false,
        error: new ActionError('write failed'),
        destinations: [
          dest(REPO, 'written', NEW_ID),
          dest(ENV, 'restored', OLD_ID, true),
          dest(DEP, 'mismatched', undefined),
          dest(ORG, 'unchanged', OLD_ID),
        ],
      }),
    );
    expect(model.rows).toEqual([
      ['octo/api', 'repository', 'written', NEW_ID],
      ["octo/web environment 'Prod EU'", 'environment', 'new key written, then the previous key restored (created)', OLD_ID],
      ['octo/api (Dependabot)', 'dependabot-repository', expect.stringContaining('MISMATCHED'), '—'],
      ['organization octo', 'organization', 'unchanged', OLD_ID],
    ]);
    expect(fact(model, 'Error')).toEqual(['write failed']);
  });

  it('rows: every outcome in words', () => {
    const all: [Outcome, string][] = [
      ['written', 'written'],
      ['would write', 'would write (dry run)'],
      ['unchanged', 'unchanged'],
      ['restored', 'new key written, then the previous key restored'],
      ['converged', "given this run's own key, so an earlier run's orphan key could go"],
      ['removed', 'held nothing before; what the run wrote was removed'],
      ['mismatched', 'MISMATCHED: one secret written, the other not — does not work until rewritten'],
      ['unknown', 'UNKNOWN: a write was in flight when the run stopped — check it'],
    ];
    const model = summaryModel(result({ destinations: all.map(([outcome]) => dest(REPO, outcome, undefined)) }));
    expect(model.rows.map((r) => r[2])).toEqual(all.map(([, words]) => words));
    expect(model.rows.map((r) => r[3])).toEqual(all.map(() => '—'));
  });

  it('a key deleted to converge is listed with the previous keys', () => {
    const model = summaryModel(result({ previous: [{ id: INACTIVE_ID, action: 'deleted as an orphan' }] }));
    expect(fact(model, 'Previous key')).toEqual([`${INACTIVE_ID}: deleted as an orphan`]);
  });
});

describe('escapeHtml()', () => {
  it('escapes the five HTML metacharacters, and nothing else', () => {
    expect(escapeHtml(`<img src=x onerror="a('b')"> & co`)).toBe(
      '&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; co',
    );
    expect(escapeHtml("octo/web environment 'Prod EU' — ok")).toBe('octo/web environment &#39;Prod EU&#39; — ok');
    expect(escapeHtml('AKIANEWNEWNEWNEW0003')).toBe('AKIANEWNEWNEWNEW0003');
  });

  it('escapes an ampersand once (already-escaped text is escaped again, not trusted)', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });
});

describe('no secret reaches the summary or the outputs', () => {
  // Realistic results: the secret exists in the run (it was just created and sealed) and the token in the inputs;
  // the SDK error's cause can carry the request that held it. None of it may be reported.
  const sdkFailure = Object.assign(new Error('The security token included in the request is invalid'), {
    $metadata: { httpStatusCode: 403 },
    request: { body: `AccessKeyId=${NEW_ID}&SecretAccessKey=${SECRET}`, headers: { authorization: `token ${TOKEN}` } },
  });
  const cases: [string, RotationResult][] = [
    ['a full rotation', result()],
    [
      'a failed verification',
      result({
        rotated: false,
        accessKeyId: OLD_ID,
        previous: [],
        destinations: [dest(REPO, 'unchanged', OLD_ID)],
        error: new ActionError(
          `the new access key ${NEW_ID} of IAM user deployer did not authenticate within 60 s (last answer: ` +
            'InvalidClientTokenId: The security token included in the request is invalid): raise verify-timeout-seconds. ' +
            `No destination was given the new key ${NEW_ID}. Deleted the new key ${NEW_ID}.`,
          { cause: sdkFailure },
        ),
      }),
    ],
    [
      'a write failure after some destinations',
      result({
        rotated: false,
        accessKeyId: OLD_ID,
        previous: [],
        destinations: [dest(REPO, 'written', NEW_ID), dest(ENV, 'mismatched', undefined, true), dest(ORG, 'unchanged', OLD_ID)],
        error: new ActionError(
          `writing AWS_SECRET_ACCESS_KEY to octo/web environment 'Prod EU': 502 Bad Gateway. Both keys stay Active ` +
            `(${NEW_ID} and ${OLD_ID}). Destinations: octo/api: the new key ${NEW_ID}; octo/web environment 'Prod EU': ` +
            'MISMATCHED pair (one secret written, the other not): does not work until a run rewrites it',
          { cause: sdkFailure },
        ),
      }),
    ],
    ['a dry run', result({ dryRun: true, rotated: false, newKeyId: undefined, previous: [] })],
    ['a created user', result({ userCreated: true, plan: { ...ROTATE_PLAN, current: undefined, makeRoom: undefined, previous: [] } })],
  ];

  it.each(cases)('%s', (_, r) => {
    const everything = JSON.stringify({ summary: summaryModel(r), outputs: outputs(r, inputs()) });
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(TOKEN);
    // the fixture is realistic: the key id is reported
    expect(everything).toContain(NEW_ID);
  });
});
