/**
 * The plan line (describePlan in src/keys/verdict.ts): what a run, or a dry run, says it will do, step by step and in the
 * order it does them. A dry run's whole promise is this line, so each step is pinned here. And the warning of
 * create-user: if-missing on an existing user (settingDifferences): each difference it names.
 */
import { describe, expect, it } from '@jest/globals';
import type { DestinationRecord } from '../src/github/destination-record.js';
import { type Destination, label } from '../src/github/destinations.js';
import type { Prepared } from '../src/github/preflight.js';
import type { Inputs } from '../src/config/inputs.js';
import { type KeyState, type Plan, describePlan } from '../src/keys/verdict.js';
import { settingDifferences } from '../src/rotation/steps.js';
import type { AccessKey } from '../src/shared/types.js';
import { inputsWith } from './support/fixtures.js';

const CUR: AccessKey = { id: 'AKIACUR', status: 'Active', created: new Date('2026-01-01T00:00:00Z') };
const OTHER: AccessKey = { id: 'AKIAOTHER', status: 'Inactive', created: new Date('2025-01-01T00:00:00Z') };
const SECOND: AccessKey = { id: 'AKIASECOND', status: 'Active', created: new Date('2025-06-01T00:00:00Z') };

const prepared = (destination: Destination, visibilityChanges: string[] = []): DestinationRecord => {
  const p: Prepared = {
    destination,
    publicKey: { keyId: '', key: '' },
    create: false,
    held: 'both',
    idHeld: true,
    oldestUpdate: undefined,
    updates: [],
    sharing: undefined,
    visibilityChanges,
  };
  const ledger = { heldBefore: 'both' as const, updatedBefore: [], writtenAt: {}, id: { kind: 'before' as const }, secret: { kind: 'before' as const }, created: false, reason: undefined };
  return { index: 0, destination, label: label(destination), prepared: p, ledger };
};
const orphan = (key: AccessKey): KeyState => ({ key, record: undefined, lastUsed: null, makerEnded: undefined, verdict: { kind: 'orphan', reason: 'orphan of a finished run', holders: [] } });
const REPO = prepared({ kind: 'repository', owner: 'octo', repo: 'api' });
const ORG = prepared({ kind: 'organization', org: 'octo', visibility: undefined, selectedRepositories: [] }, ['AWS_ACCESS_KEY_ID: visibility all → private']);

function rotation(overrides: Partial<Extract<Plan, { action: 'rotate' }>> = {}): Plan {
  return {
    action: 'rotate',
    reason: 'current key AKIACUR is 91 day(s) old (max-age-days: 90)',
    current: CUR,
    orphan: undefined,
    moveOff: [],
    makeRoom: undefined,
    makeRoomBreaks: false,
    previous: [CUR],
    previousKey: 'delete',
    reasons: { previous: 'replaced by this run' },
    ...overrides,
  };
}

describe('describePlan', () => {
  it('a skip says why, and that nothing changes, dry run or not', () => {
    const skip: Plan = { action: 'skip', reason: 'current key AKIACUR is 3 day(s) old, younger than max-age-days (90)', current: CUR };
    const line = 'Plan: skip (current key AKIACUR is 3 day(s) old, younger than max-age-days (90)); nothing changes';
    expect(describePlan(skip, 'deployer', true, [REPO], false)).toBe(line);
    expect(describePlan(skip, 'deployer', true, [REPO], true)).toBe(line);
  });

  it('a plain rotation: create, write, then retire the previous key as previous-key says', () => {
    expect(describePlan(rotation(), 'deployer', true, [REPO], false)).toBe(
      'Plan: create a new access key for deployer, then write it to 1 destination(s), then delete the previous key(s) ' +
        'AKIACUR (reason: current key AKIACUR is 91 day(s) old (max-age-days: 90))',
    );
    expect(describePlan(rotation({ previousKey: 'deactivate', previous: [CUR, SECOND] }), 'deployer', true, [REPO, REPO], true)).toBe(
      'Dry run: would create a new access key for deployer, then write it to 2 destination(s), then deactivate the ' +
        'previous key(s) AKIACUR, AKIASECOND (reason: current key AKIACUR is 91 day(s) old (max-age-days: 90))',
    );
  });

  it('no previous key: nothing to retire is mentioned', () => {
    expect(describePlan(rotation({ current: undefined, previous: [], reason: 'no key' }), 'deployer', true, [REPO], false)).toBe(
      'Plan: create a new access key for deployer, then write it to 1 destination(s) (reason: no key)',
    );
  });

  it('a new user is created first', () => {
    expect(describePlan(rotation({ current: undefined, previous: [], reason: 'new' }), 'svc-new', false, [REPO], true)).toBe(
      'Dry run: would create IAM user svc-new, then create a new access key for svc-new, then write it to 1 destination(s) (reason: new)',
    );
  });

  it('an orphan is deleted before the new key; destinations that may hold it get the run’s own key first', () => {
    expect(describePlan(rotation({ orphan: orphan(SECOND), moveOff: [REPO] }), 'deployer', true, [REPO], false)).toBe(
      "Plan: give octo/api this run's key AKIACUR, then delete AKIASECOND (an orphan of an earlier run), then create a new access key " +
        'for deployer, then write it to 1 destination(s), then delete the previous key(s) AKIACUR (reason: current key ' +
        'AKIACUR is 91 day(s) old (max-age-days: 90))',
    );
  });

  it("a rotator's orphan: the destinations that may hold it are named, and that they stop working until rewritten", () => {
    expect(describePlan(rotation({ orphan: orphan(SECOND), orphanBreaks: [REPO] }), 'deployer', true, [REPO], false)).toMatch(
      /^Plan: delete AKIASECOND \(an orphan of an earlier run; octo\/api may hold it and stop working until rewritten\), then create /,
    );
    const web = prepared({ kind: 'repository', owner: 'octo', repo: 'web' });
    expect(describePlan(rotation({ orphan: orphan(SECOND), orphanBreaks: [REPO, web] }), 'deployer', true, [REPO, web], false)).toContain(
      '; octo/api, octo/web may hold it',
    );
    expect(describePlan(rotation({ orphan: orphan(SECOND), moveOff: [REPO, web] }), 'deployer', true, [REPO, web], false)).toMatch(
      /^Plan: give octo\/api, octo\/web this run's key AKIACUR, then delete AKIASECOND/,
    );
  });

  it('making room names the key and its status, and says when holders break', () => {
    expect(describePlan(rotation({ makeRoom: OTHER }), 'deployer', true, [REPO], false)).toMatch(
      /^Plan: delete AKIAOTHER \(Inactive\) to make room, then create a new access key for deployer, then /,
    );
    expect(describePlan(rotation({ makeRoom: SECOND, makeRoomBreaks: true }), 'deployer', true, [REPO], false)).toMatch(
      /^Plan: delete AKIASECOND \(Active\) to make room \(key-limit: delete-oldest: destinations holding it stop working until rewritten\), then create /,
    );
  });

  it('announces visibility changes with the write', () => {
    expect(describePlan(rotation(), 'deployer', true, [REPO, ORG], false)).toContain(
      'then write it to 2 destination(s) (organization octo: AWS_ACCESS_KEY_ID: visibility all → private), then delete',
    );
    expect(
      describePlan(rotation(), 'deployer', true, [prepared(ORG.destination, ['a']), prepared(ORG.destination, ['b'])], false),
    ).toContain('(organization octo: a; organization octo: b)');
  });

  it('with retire-after-hours: the previous keys stay Active for a later run; with keep, they are kept', () => {
    expect(describePlan(rotation({ previous: [CUR, SECOND] }), 'deployer', true, [REPO], false, 24)).toContain(
      'then leave the previous key(s) AKIACUR, AKIASECOND Active for a later run to delete once unused for 24 h (reason:',
    );
    expect(describePlan(rotation({ previousKey: 'deactivate' }), 'deployer', true, [REPO], false, 24)).toContain(
      'Active for a later run to deactivate once unused for 24 h',
    );
    expect(describePlan(rotation({ previousKey: 'keep' }), 'deployer', true, [REPO], false, 24)).toContain(
      'then keep the previous key(s) AKIACUR (reason:',
    );
  });
});

describe('settingDifferences (create-user: if-missing on an existing user)', () => {
  const have = {
    path: '/ci/',
    groups: ['deployers'],
    policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    permissionsBoundary: 'arn:aws:iam::123456789012:policy/boundary',
    tags: [{ Key: 'team', Value: 'platform' }],
  };
  const diff = (overrides: Partial<Inputs>) => settingDifferences(inputsWith(overrides), have);

  it('finds nothing when the user has everything the inputs ask for (more is fine)', () => {
    expect(diff({})).toEqual([]);
    expect(
      diff({
        userPath: '/ci/',
        userGroups: ['deployers'],
        userPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
        userPermissionsBoundary: 'arn:aws:iam::123456789012:policy/boundary',
        userTags: [{ Key: 'team', Value: 'platform' }],
      }),
    ).toEqual([]);
  });

  it('names each difference, in the order of the inputs', () => {
    expect(
      diff({
        userPath: '/other/',
        userGroups: ['deployers', 'admins', 'ops'],
        userPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'],
        userPermissionsBoundary: 'arn:aws:iam::123456789012:policy/other',
        userTags: [
          { Key: 'team', Value: 'platform' },
          { Key: 'team2', Value: 'x' },
          { Key: 'cost', Value: 'y' },
        ],
      }),
    ).toEqual([
      'path is /ci/, not /other/',
      'not in group(s) admins, ops',
      'policy(ies) not attached: arn:aws:iam::aws:policy/A, arn:aws:iam::aws:policy/B',
      'permissions boundary is arn:aws:iam::123456789012:policy/boundary',
      'tag(s) differ: team2=x, cost=y',
    ]);
  });

  it('the default path / asks for nothing; a tag with another value differs; no boundary is "none"', () => {
    expect(diff({ userPath: '/' })).toEqual([]);
    expect(diff({ userTags: [{ Key: 'team', Value: 'security' }] })).toEqual(['tag(s) differ: team=security']);
    const tagged = { ...have, tags: [{ Key: 'team', Value: 'platform' }, { Key: 'cost', Value: 'ci' }] };
    expect(settingDifferences(inputsWith({ userTags: [{ Key: 'cost', Value: 'ci' }] }), tagged)).toEqual([]);
    expect(settingDifferences(inputsWith({ userTags: [{ Key: 'owner', Value: 'platform' }] }), tagged)).toEqual(['tag(s) differ: owner=platform']);
    expect(settingDifferences(inputsWith({ userPermissionsBoundary: 'arn:aws:iam::1:policy/b' }), { ...have, permissionsBoundary: undefined })).toEqual([
      'permissions boundary is none',
    ]);
  });
});
