/**
 * The IAM policies in policies/, proven by an offline IAM evaluator (@cloud-copilot/iam-simulate).
 *
 * Each world runs the action for real against moto (whose callers may do anything: moto ignores resources and
 * conditions) and records every IAM/STS request the run makes with its own credentials. Each request is then
 * evaluated against the policy a deployment would give that caller, with the resource ARN and condition keys real
 * IAM uses: the target user's ARN including its path (a user that does not exist yet: `user/NAME`, no path known),
 * `aws:username` for a self-rotating user, `iam:PermissionsBoundary` / `iam:PolicyARN` / `aws:RequestTag/*` /
 * `aws:TagKeys` where the request carries them. Proven: every request is Allowed, and every action and resource a
 * policy grants is needed by some recorded request (nothing superfluous).
 *
 * The workflows of the documentation are proven too: for every step of README.md, docs/*.md and examples/ that runs
 * this action, the IAM calls its `with:` inputs lead to are derived and evaluated against the policy the
 * documentation pairs it with (self-rotation, rotator or bootstrap).
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { describe, expect, it } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  PutGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { createValidatedPolicy, validateIdentityPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { type AwsCall, FAST_PACING, awsFor, fakeClock, reader, recorder, repoScope, runRotation, seedPair } from './support/harness.js';
import { Cancellation } from '../src/shared/cancel.js';
import { createGitHubClient } from '../src/github/github.js';
import { readInputs } from '../src/config/inputs.js';
import { runOidcPlan } from '../src/oidc/oidc-plan.js';
import { USER_KEYS } from '../src/fleet/manifest.js';
import { useWorld } from './support/world.js';
import { type Creds, MOTO_ACCOUNT_ID, createUserWithKey, iamClient, requireMoto } from './support/moto.js';

requireMoto();

const world = useWorld();
const fresh = world.fresh;

// ---------------------------------------------------------------- the policies

const POLICY_DIR = new URL('../policies/', import.meta.url);

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

type PolicyName = 'self-rotation' | 'rotator' | 'bootstrap' | 'oidc-plan';
const IDENTITY_POLICIES: PolicyName[] = ['self-rotation', 'rotator', 'bootstrap', 'oidc-plan'];

function loadPolicy(name: string): PolicyDocument {
  return JSON.parse(readFileSync(new URL(`${name}.json`, POLICY_DIR), 'utf8')) as PolicyDocument;
}
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const ACCOUNT = MOTO_ACCOUNT_ID; // the account the policies name (123456789012), and moto's
const BOUNDARY_NAME = 'ci-boundary';
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/${BOUNDARY_NAME}`;
/** Policy for every moto caller: moto checks actions only, the offline evaluator is the judge. */
const IAM_ANYTHING = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] };

// ---------------------------------------------------------------- requests as IAM authorizes them

type Context = Record<string, string | string[]>;

/** One authorization IAM performs for a recorded call (some calls need two). */
interface AuthRequest {
  /** The SDK command, e.g. CreateUser. */
  call: string;
  action: string;
  resource: string;
  context: Context;
  note?: string;
  /**
   * Evaluate without iam-simulate's input validation: the AddUserToGroup check against the user ARN, a resource
   * type AWS does not list for that action (it authorizes against the group); kept so the policy holds either way.
   */
  unchecked?: boolean;
}

/** One run's recording and what the evaluator needs to know about its world. */
interface Recording {
  world: string;
  policy: PolicyName;
  /** The caller: the IAM user itself (self-rotation), else a role session. */
  principal: string;
  /** aws:username (IAM user callers only: roles have none). */
  username?: string;
  /** Users that exist before the run: name -> path and permissions boundary. */
  users: Map<string, { path: string; boundary?: string }>;
  /** Groups that exist: name -> ARN. */
  groups: Map<string, string>;
  /** The user whose keys the run handles: GetAccessKeyLastUsed names only the key id, IAM authorizes on its owner. */
  keyOwner: string;
  calls: AwsCall[];
}

const userArn = (name: string, path = '/'): string => `arn:aws:iam::${ACCOUNT}:user${path}${name}`;
const ROLE_SESSION = (role: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/GitHubActions`;

/** aws:TagKeys and aws:RequestTag/<key> of a request carrying Tags. */
function tagContext(input: unknown): Context {
  const tags = (input ?? []) as { Key?: string; Value?: string }[];
  if (tags.length === 0) return {};
  const ctx: Context = { 'aws:TagKeys': tags.map((t) => t.Key ?? '') };
  for (const t of tags) ctx[`aws:RequestTag/${t.Key}`] = t.Value ?? '';
  return ctx;
}

/** Map each recorded call, in order, to the authorization(s) real IAM performs for it. */
function authRequests(rec: Recording): AuthRequest[] {
  const users = new Map(rec.users);
  const out: AuthRequest[] = [];
  const base: Context = rec.username ? { 'aws:username': rec.username } : {};
  for (const { service, command, input } of rec.calls) {
    const call = command.replace(/Command$/, '');
    if (service === 'sts') {
      out.push({ call, action: `sts:${call}`, resource: '*', context: { ...base } });
      continue;
    }
    const action = `iam:${call}`;
    const name = typeof input.UserName === 'string' ? input.UserName : rec.keyOwner;
    const known = users.get(name);
    // A user IAM does not know (yet) is authorized as user/NAME: no path to go by.
    const arn = known ? userArn(name, known.path) : userArn(name);
    const ctx: Context = { ...base };
    switch (call) {
      case 'CreateUser': {
        const path = typeof input.Path === 'string' ? input.Path : '/';
        const boundary = typeof input.PermissionsBoundary === 'string' ? input.PermissionsBoundary : undefined;
        const tags = tagContext(input.Tags);
        if (boundary) ctx['iam:PermissionsBoundary'] = boundary;
        out.push({ call, action, resource: userArn(name, path), context: { ...ctx, ...tags } });
        if (Object.keys(tags).length > 0) {
          out.push({
            call,
            action: 'iam:TagUser',
            resource: userArn(name, path),
            context: { ...base, ...tags },
            note: 'CreateUser with Tags also needs iam:TagUser',
          });
        }
        users.set(name, { path, boundary });
        continue;
      }
      case 'AddUserToGroup':
      case 'RemoveUserFromGroup': {
        const group = String(input.GroupName);
        out.push({ call, action, resource: rec.groups.get(group) ?? `arn:aws:iam::${ACCOUNT}:group/${group}`, context: ctx });
        out.push({ call, action, resource: arn, context: ctx, note: 'the user ARN too; AWS decides on the group', unchecked: true });
        continue;
      }
      case 'AttachUserPolicy':
      case 'DetachUserPolicy':
        ctx['iam:PolicyARN'] = String(input.PolicyArn);
        if (known?.boundary) ctx['iam:PermissionsBoundary'] = known.boundary;
        break;
      // oidc-plan's reads: a group's policies are authorized on the group, a managed policy's on the policy.
      case 'ListGroupPolicies':
      case 'GetGroupPolicy':
      case 'ListAttachedGroupPolicies': {
        const group = String(input.GroupName);
        out.push({ call, action, resource: rec.groups.get(group) ?? `arn:aws:iam::${ACCOUNT}:group/${group}`, context: ctx });
        continue;
      }
      case 'GetPolicy':
      case 'GetPolicyVersion':
        out.push({ call, action, resource: String(input.PolicyArn), context: ctx });
        continue;
      case 'GetOpenIDConnectProvider':
        out.push({ call, action, resource: String(input.OpenIDConnectProviderArn), context: ctx });
        continue;
      case 'TagUser':
        Object.assign(ctx, tagContext(input.Tags));
        break;
      case 'UntagUser':
        ctx['aws:TagKeys'] = (input.TagKeys ?? []) as string[];
        break;
    }
    out.push({ call, action, resource: arn, context: ctx });
    if (call === 'DeleteUser') users.delete(name);
  }
  return out;
}

// ---------------------------------------------------------------- the evaluator

function simulation(policy: PolicyDocument, principal: string, req: AuthRequest, name = 'policy'): Simulation {
  return {
    request: {
      principal,
      action: req.action,
      resource: { resource: req.resource, accountId: ACCOUNT },
      contextVariables: req.context,
    },
    identityPolicies: [{ name, policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
}

/** Allowed / ImplicitlyDenied / ExplicitlyDenied, or `invalid: …` when iam-simulate rejects the input. */
async function decide(policy: PolicyDocument, principal: string, req: AuthRequest): Promise<string> {
  if (req.unchecked) return runUnsafeSimulation(simulation(policy, principal, req), {});
  const r = await runSimulation(simulation(policy, principal, req), {});
  if (r.resultType === 'error') return `invalid: ${r.errors.message}`;
  // A context key that does not apply to the action would be dropped silently: the mapping above would be wrong.
  const ignored = r.resultType === 'single' ? r.result.ignoredContextKeys ?? [] : r.results.flatMap((x) => x.ignoredContextKeys ?? []);
  if (ignored.length > 0) return `invalid: context key(s) ${ignored.join(', ')} do not apply`;
  return r.overallResult;
}

/** Does this one statement, alone, allow the request? */
const allowsAlone = (s: Statement, principal: string, req: AuthRequest): boolean =>
  runUnsafeSimulation(simulation({ Version: '2012-10-17', Statement: [s] }, principal, req), {}) === 'Allowed';

const sidOf = (s: Statement, i: number) => s.Sid ?? `#${i}`;

/** The tag keys a statement's `ForAllValues:…` condition on aws:TagKeys admits, with how each is matched. */
function tagKeyPatterns(s: Statement): { value: string; matches: (key: string) => boolean }[] {
  const out: { value: string; matches: (key: string) => boolean }[] = [];
  for (const [op, keys] of Object.entries(s.Condition ?? {})) {
    const like = /^ForAllValues:StringLike$/i.test(op);
    if (!like && !/^ForAllValues:StringEquals$/i.test(op)) continue;
    for (const value of list(keys['aws:TagKeys'])) {
      const re = new RegExp(`^${value.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      out.push({ value, matches: like ? (k) => re.test(k) : (k) => k === value });
    }
  }
  return out;
}

/** What a policy grants, as `Sid action`, `Sid resource` and `Sid aws:TagKeys pattern` items. */
function grants(policy: PolicyDocument): string[] {
  return policy.Statement.flatMap((s, i) =>
    s.Effect !== 'Allow'
      ? []
      : [
          ...list(s.Action).map((a) => `${sidOf(s, i)} ${a}`),
          ...list(s.Resource).map((r) => `${sidOf(s, i)} ${r}`),
          ...tagKeyPatterns(s).map((p) => `${sidOf(s, i)} aws:TagKeys ${p.value}`),
        ],
  );
}

/**
 * The grants this request needs: the statements that alone allow it, with the action, each resource that alone
 * does, and each admitted tag-key pattern a requested tag key matches.
 */
function used(policy: PolicyDocument, principal: string, req: AuthRequest): string[] {
  const out: string[] = [];
  const tagKeys = list(req.context['aws:TagKeys']);
  policy.Statement.forEach((s, i) => {
    if (s.Effect !== 'Allow' || !allowsAlone(s, principal, req)) return;
    out.push(...list(s.Action).filter((a) => a.toLowerCase() === req.action.toLowerCase()).map((a) => `${sidOf(s, i)} ${a}`));
    for (const r of list(s.Resource)) if (allowsAlone({ ...s, Resource: r }, principal, req)) out.push(`${sidOf(s, i)} ${r}`);
    for (const p of tagKeyPatterns(s)) if (tagKeys.some(p.matches)) out.push(`${sidOf(s, i)} aws:TagKeys ${p.value}`);
  });
  return out;
}

interface Row {
  world: string;
  policy: PolicyName;
  req: AuthRequest;
  decision: string;
  uses: string[];
}

async function evaluate(rec: Recording, policy = loadPolicy(rec.policy)): Promise<Row[]> {
  const rows: Row[] = [];
  for (const req of authRequests(rec)) {
    const decision = await decide(policy, rec.principal, req);
    rows.push({ world: rec.world, policy: rec.policy, req, decision, uses: decision === 'Allowed' ? used(policy, rec.principal, req) : [] });
  }
  return rows;
}

function table(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.decision === 'Allowed' ? '  ' : '✗ ',
    r.world,
    r.req.action + (r.req.call !== r.req.action.split(':')[1] ? ` (${r.req.call})` : ''),
    r.req.resource + (r.req.note ? ` [${r.req.note}]` : ''),
    r.decision,
    Object.entries(r.req.context)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : v}`)
      .join(' '),
  ]);
  const head = ['', 'world', 'action', 'resource', 'decision', 'context'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((c) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

// ---------------------------------------------------------------- the worlds

/** Run the action, recording its AWS calls. */
async function record(
  rec: Omit<Recording, 'calls'>,
  as: Creds,
  inputs: Record<string, string>,
): Promise<{ rec: Recording; result: Awaited<ReturnType<typeof runRotation>>['result'] }> {
  const calls: AwsCall[] = [];
  const { result } = await runRotation(world, { as, inputs, onAwsCall: (c) => void calls.push(c) });
  return { rec: { ...rec, calls }, result };
}

async function newRepo(): Promise<string> {
  const repo = `octo/${fresh('app')}`;
  world.gh.addRepository(repo);
  return repo;
}

/** A second key, Inactive: the make-room case. */
async function addInactiveKey(user: string): Promise<string> {
  const iam = iamClient(world.moto, world.admin);
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: user }));
  const id = out.AccessKey?.AccessKeyId ?? '';
  await iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: id, Status: 'Inactive' }));
  return id;
}

async function selfRotation(label: string, path: string, inputs: Record<string, string> = {}, makeRoom = false) {
  const user = fresh('deployer');
  const key = await createUserWithKey(world.moto, world.admin, user, { path, policy: IAM_ANYTHING });
  if (makeRoom) await addInactiveKey(user);
  const repo = await newRepo();
  seedPair(world.gh, repoScope(repo), key);
  return record(
    {
      world: label,
      policy: 'self-rotation',
      principal: userArn(user, path),
      username: user,
      users: new Map([[user, { path }]]),
      groups: new Map(),
      keyOwner: user,
    },
    key,
    { repositories: repo, ...inputs },
  );
}

let rotatorCaller: Creds | undefined;
async function rotator(label: string, path: string, inputs: Record<string, string> = {}, makeRoom = false) {
  rotatorCaller ??= await createUserWithKey(world.moto, world.admin, fresh('rotator'), { policy: IAM_ANYTHING });
  const user = fresh('deployer');
  await createUserWithKey(world.moto, world.admin, user, { path, policy: null });
  if (makeRoom) await addInactiveKey(user);
  const repo = await newRepo();
  return record(
    {
      world: label,
      policy: 'rotator',
      principal: ROLE_SESSION('rotator'),
      users: new Map([[user, { path }]]),
      groups: new Map(),
      keyOwner: user,
    },
    rotatorCaller,
    { 'iam-user-name': user, repositories: repo, ...inputs },
  );
}

/** Groups and managed policies of the bootstrap worlds (moto needs them to exist). */
let bootstrapSetup: { caller: Creds; groups: Map<string, string>; policies: string[] } | undefined;
async function bootstrapWorld() {
  if (!bootstrapSetup) {
    const iam = iamClient(world.moto, world.admin);
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
    const groups = new Map<string, string>();
    for (const g of ['ci-deployers', 'ci-readers']) {
      groups.set(g, (await iam.send(new CreateGroupCommand({ GroupName: g }))).Group?.Arn ?? '');
    }
    const policies: string[] = [];
    for (const p of ['ci-deploy', 'ci-logs', BOUNDARY_NAME]) {
      policies.push((await iam.send(new CreatePolicyCommand({ PolicyName: p, PolicyDocument: doc }))).Policy?.Arn ?? '');
    }
    expect(policies[2]).toBe(BOUNDARY);
    const caller = await createUserWithKey(world.moto, world.admin, fresh('bootstrapper'), { policy: IAM_ANYTHING });
    bootstrapSetup = { caller, groups, policies };
  }
  return bootstrapSetup;
}

const CREATE_INPUTS = (groups: string[], policies: string[]) => ({
  'user-path': '/ci/',
  'user-groups': groups.join(','),
  'user-policy-arns': policies.join(','),
  'user-permissions-boundary': BOUNDARY,
  'user-tags': 'team=platform\nrepo=newapp',
});

// ---------------------------------------------------------------- the tests

describe('policies/*.json', () => {
  const files = readdirSync(POLICY_DIR).filter((f) => f.endsWith('.json')).sort();

  it('are the documented policies', () => {
    expect(files).toEqual([
      'bootstrap-trust.json',
      'bootstrap.json',
      'cross-account-hub-trust.json',
      'cross-account-hub.json',
      'cross-account-rotator-trust.json',
      'fleet-audit.json',
      'oidc-plan.json',
      'rotator-trust.json',
      'rotator.json',
      'self-rotation.json',
    ]);
  });

  it.each(files)('%s is valid JSON, Version 2012-10-17, a valid IAM policy, with no wildcard actions', (file) => {
    const text = readFileSync(new URL(file, POLICY_DIR), 'utf8');
    const doc = JSON.parse(text) as PolicyDocument;
    expect(doc.Version).toBe('2012-10-17');
    const validate = file.endsWith('-trust.json') ? validateTrustPolicy : validateIdentityPolicy;
    expect(validate(doc)).toEqual([]);
    for (const s of doc.Statement) {
      expect(s.Effect).toBe('Allow');
      for (const a of list(s.Action)) expect(a).not.toContain('*');
    }
    expect(doc.Statement.every((s) => s.Sid)).toBe(true);
  });
});

describe('the action’s real calls, evaluated against the policies', () => {
  const rows: Row[] = [];
  /** Worlds per policy below: the needs check is only complete when every one of them was evaluated. */
  const WORLDS: Record<PolicyName, number> = { 'self-rotation': 4, rotator: 3, bootstrap: 3, 'oidc-plan': 1 };

  async function prove(run: Promise<{ rec: Recording; result: { error?: Error } }>, expectedError?: RegExp) {
    const { rec, result } = await run;
    if (expectedError) expect(result.error?.message).toMatch(expectedError);
    else expect(result.error?.message).toBeUndefined();
    // The recorder must see the key being made, else the harness lost a client and proves nothing.
    if (!expectedError) expect(rec.calls.map((c) => c.command)).toContain('CreateAccessKeyCommand');
    const evaluated = await evaluate(rec);
    rows.push(...evaluated);
    const denied = evaluated.filter((r) => r.decision !== 'Allowed');
    if (denied.length > 0) {
      throw new Error(`${denied.length} request(s) not allowed by policies/${rec.policy}.json (✗):\n${table(evaluated)}`);
    }
  }

  it('self-rotation, a user without a path', () => prove(selfRotation('self /', '/')));
  it('self-rotation, a user under /ci/deployers/', () => prove(selfRotation('self /ci/deployers/', '/ci/deployers/')));
  it('self-rotation, previous-key: deactivate', () =>
    prove(selfRotation('self deactivate', '/ci/deployers/', { 'previous-key': 'deactivate' })));
  it('self-rotation, making room (an Inactive second key)', () => prove(selfRotation('self make-room', '/', {}, true)));

  it('rotator, a user under /ci/', () => prove(rotator('rotator /ci/', '/ci/')));
  it('rotator, previous-key: deactivate', () =>
    prove(rotator('rotator deactivate', '/ci/deployers/', { 'previous-key': 'deactivate' })));
  it('rotator, making room (an Inactive second key)', () => prove(rotator('rotator make-room', '/ci/', {}, true)));

  it('bootstrap: create under /ci/ with groups, managed policies, boundary and tags', async () => {
    const { caller, groups, policies } = await bootstrapWorld();
    const user = fresh('newapp-deployer');
    const repo = await newRepo();
    await prove(
      record(
        { world: 'bootstrap create', policy: 'bootstrap', principal: ROLE_SESSION('bootstrap'), users: new Map(), groups, keyOwner: user },
        caller,
        { 'iam-user-name': user, repositories: repo, 'create-user': 'true', ...CREATE_INPUTS([...groups.keys()], policies.slice(0, 2)) },
      ),
    );
  });

  it('bootstrap: a failed creation is undone (detach, remove from groups, delete)', async () => {
    const { caller, groups, policies } = await bootstrapWorld();
    const user = fresh('halfmade');
    const repo = await newRepo();
    const missing = `arn:aws:iam::${ACCOUNT}:policy/ci-missing`;
    await prove(
      record(
        { world: 'bootstrap undo', policy: 'bootstrap', principal: ROLE_SESSION('bootstrap'), users: new Map(), groups, keyOwner: user },
        caller,
        { 'iam-user-name': user, repositories: repo, 'create-user': 'true', ...CREATE_INPUTS([...groups.keys()], [policies[0], missing]) },
      ),
      /ci-missing.*deleted again/,
    );
  });

  it('bootstrap: create-user if-missing on an existing /ci/ user rotates (deactivate, make room)', async () => {
    const { caller, groups, policies } = await bootstrapWorld();
    const user = fresh('existing');
    await iamClient(world.moto, world.admin).send(new CreateUserCommand({ UserName: user, Path: '/ci/', PermissionsBoundary: BOUNDARY }));
    const iam = iamClient(world.moto, world.admin);
    await iam.send(new CreateAccessKeyCommand({ UserName: user }));
    await addInactiveKey(user);
    const repo = await newRepo();
    await prove(
      record(
        {
          world: 'bootstrap if-missing',
          policy: 'bootstrap',
          principal: ROLE_SESSION('bootstrap'),
          users: new Map([[user, { path: '/ci/', boundary: BOUNDARY }]]),
          groups,
          keyOwner: user,
        },
        caller,
        {
          'iam-user-name': user,
          repositories: repo,
          'create-user': 'if-missing',
          'previous-key': 'deactivate',
          ...CREATE_INPUTS([...groups.keys()], policies.slice(0, 2)),
        },
      ),
    );
  });

  it('oidc-plan: a user under /ci/ with inline, attached and group policies (and an AWS managed one)', async () => {
    const iam = iamClient(world.moto, world.admin);
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
    const user = fresh('planned');
    await createUserWithKey(world.moto, world.admin, user, { path: '/ci/', policy: IAM_ANYTHING });
    const managed = (await iam.send(new CreatePolicyCommand({ PolicyName: fresh('ci-read'), Path: '/ci/', PolicyDocument: doc }))).Policy?.Arn ?? '';
    await iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: managed }));
    const group = fresh('ci-readers');
    const groupArn = (await iam.send(new CreateGroupCommand({ GroupName: group, Path: '/ci/groups/' }))).Group?.Arn ?? '';
    await iam.send(new PutGroupPolicyCommand({ GroupName: group, PolicyName: 'logs', PolicyDocument: doc }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: group, PolicyArn: managed }));
    await iam.send(new AddUserToGroupCommand({ UserName: user, GroupName: group }));
    const repo = await newRepo();
    const calls: AwsCall[] = [];
    const env = { GITHUB_WORKSPACE: mkdtempSync(join(tmpdir(), 'oidc-ws-')) };
    const inputs = readInputs(reader({ 'oidc-plan': 'plan', 'iam-user-name': user, repositories: repo }), env);
    const clock = fakeClock(Date.now());
    const io = recorder();
    await runOidcPlan({
      inputs: { ...inputs, oidcPlan: 'plan' },
      aws: awsFor(world.moto, world.admin, { clock, onAwsCall: (c) => void calls.push(c) }),
      gh: createGitHubClient('test-token', world.gh.url, FAST_PACING, io, { clock, cancel: new Cancellation() }),
      io,
      env,
    });
    const rec: Recording = {
      world: 'oidc-plan',
      policy: 'oidc-plan',
      principal: ROLE_SESSION('oidc-planner'),
      users: new Map([[user, { path: '/ci/' }]]),
      groups: new Map([[group, groupArn]]),
      keyOwner: user,
      // moto loads no AWS managed policies (unless MOTO_IAM_LOAD_MANAGED_POLICIES): the reads the same code makes for
      // one attached to the user are added as it would make them.
      calls: [
        ...calls,
        ...['GetPolicy', 'GetPolicyVersion'].map((c) => ({
          service: 'iam' as const,
          command: `${c}Command`,
          input: { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', VersionId: 'v1' },
        })),
      ],
    };
    expect(new Set(calls.map((c) => c.command))).toEqual(
      new Set(
        ['GetUser', 'ListUserPolicies', 'GetUserPolicy', 'ListAttachedUserPolicies', 'GetPolicy', 'GetPolicyVersion', 'ListGroupsForUser']
          .concat(['ListGroupPolicies', 'GetGroupPolicy', 'ListAttachedGroupPolicies', 'ListAccessKeys', 'GetAccessKeyLastUsed', 'GetOpenIDConnectProvider'])
          .map((c) => `${c}Command`),
      ),
    );
    const evaluated = await evaluate(rec);
    rows.push(...evaluated);
    const denied = evaluated.filter((r) => r.decision !== 'Allowed');
    if (denied.length > 0) throw new Error(`${denied.length} request(s) not allowed by policies/oidc-plan.json (✗):\n${table(evaluated)}`);
  });

  it.each(IDENTITY_POLICIES)('policies/%s.json grants nothing the recorded calls do not need', (name) => {
    const policy = loadPolicy(name);
    const mine = rows.filter((r) => r.policy === name);
    expect(new Set(mine.map((r) => r.world)).size).toBe(WORLDS[name]); // else a world failed to run: see above
    const needed = new Set(mine.flatMap((r) => r.uses));
    const unused = grants(policy).filter((g) => !needed.has(g));
    if (unused.length > 0) {
      throw new Error(
        `policies/${name}.json grants what no recorded call needs (statement, then action, resource or tag key):\n  ` +
          `${unused.join('\n  ')}\nworlds: ${[...new Set(mine.map((r) => r.world))].join(', ')}\n${table(mine)}`,
      );
    }
  });
});

describe('the evaluator can say no', () => {
  const rec = (policy: PolicyName, principal: string, calls: AwsCall[], extra: Partial<Recording> = {}): Recording => ({
    world: 'synthetic',
    policy,
    principal,
    users: new Map([
      ['bob', { path: '/ci/deployers/' }],
      ['alice', { path: '/' }],
      ['xbob', { path: '/' }],
      ['admin', { path: '/' }],
      ['unbounded', { path: '/ci/' }],
    ]),
    groups: new Map([['admins', `arn:aws:iam::${ACCOUNT}:group/admins`]]),
    keyOwner: 'bob',
    calls,
    ...extra,
  });
  const iam = (command: string, input: Record<string, unknown>): AwsCall => ({ service: 'iam', command: `${command}Command`, input });
  const decisions = async (r: Recording, policy?: PolicyDocument) => (await evaluate(r, policy)).map((x) => x.decision);

  it('the old self-rotation policy (user/${aws:username} only) denies iam:CreateAccessKey on a user with a path', async () => {
    const old: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Old', Effect: 'Allow', Action: ['iam:CreateAccessKey'], Resource: ['arn:aws:iam::*:user/${aws:username}'] }],
    };
    const pathed = rec('self-rotation', userArn('bob', '/ci/deployers/'), [iam('CreateAccessKey', { UserName: 'bob' })], { username: 'bob' });
    expect(await decisions(pathed, old)).toEqual(['ImplicitlyDenied']);
    expect(await decisions(pathed)).toEqual(['Allowed']);
  });

  it('user/*${aws:username} would also match user/xbob; the two-resource form does not', async () => {
    const naive: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Naive', Effect: 'Allow', Action: ['iam:CreateAccessKey'], Resource: ['arn:aws:iam::*:user/*${aws:username}'] }],
    };
    const other = rec('self-rotation', userArn('bob', '/ci/deployers/'), [iam('CreateAccessKey', { UserName: 'xbob' })], { username: 'bob' });
    expect(await decisions(other, naive)).toEqual(['Allowed']);
    expect(await decisions(other)).toEqual(['ImplicitlyDenied']);
  });

  it('self-rotation: only the caller’s own keys, only the action’s own tags', async () => {
    const r = rec(
      'self-rotation',
      userArn('bob', '/ci/deployers/'),
      [
        iam('CreateAccessKey', { UserName: 'alice' }),
        iam('DeleteAccessKey', { UserName: 'xbob', AccessKeyId: 'AKIAOTHER' }),
        iam('TagUser', { UserName: 'bob', Tags: [{ Key: 'team', Value: 'x' }] }),
        iam('TagUser', { UserName: 'bob', Tags: [{ Key: 'AKIAKEY', Value: 'x' }, { Key: 'admin', Value: 'x' }] }),
        iam('UntagUser', { UserName: 'bob', TagKeys: ['ASIAKEY'] }),
        iam('GetUser', { UserName: 'bob' }),
        iam('PutUserPermissionsBoundary', { UserName: 'bob', PermissionsBoundary: BOUNDARY }),
      ],
      { username: 'bob' },
    );
    expect(await decisions(r)).toEqual(Array(7).fill('ImplicitlyDenied'));
  });

  it('rotator: only users under /ci/, only the action’s own tags', async () => {
    const r = rec('rotator', ROLE_SESSION('rotator'), [
      iam('CreateAccessKey', { UserName: 'admin' }),
      iam('UpdateAccessKey', { UserName: 'alice', AccessKeyId: 'AKIAX', Status: 'Inactive' }),
      iam('TagUser', { UserName: 'bob', Tags: [{ Key: 'team', Value: 'x' }] }),
      iam('CreateUser', { UserName: 'new', Path: '/ci/', PermissionsBoundary: BOUNDARY }),
    ]);
    expect(await decisions(r)).toEqual(Array(4).fill('ImplicitlyDenied'));
  });

  it('bootstrap: no user outside /ci/ or without the boundary, no foreign policy, group or tag, no boundary change', async () => {
    const r = rec('bootstrap', ROLE_SESSION('bootstrap'), [
      iam('CreateUser', { UserName: 'a1', Path: '/ci/' }),
      iam('CreateUser', { UserName: 'a2', Path: '/ci/', PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/ci-deploy` }),
      iam('CreateUser', { UserName: 'a3', Path: '/', PermissionsBoundary: BOUNDARY }),
      iam('AttachUserPolicy', { UserName: 'unbounded', PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/ci-deploy` }),
      iam('AttachUserPolicy', { UserName: 'a2', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }),
      iam('AddUserToGroup', { UserName: 'a2', GroupName: 'admins' }),
      iam('TagUser', { UserName: 'a2', Tags: [{ Key: 'team', Value: 'x' }, { Key: 'admin', Value: 'true' }] }),
      iam('PutUserPermissionsBoundary', { UserName: 'a2', PermissionsBoundary: BOUNDARY }),
      iam('DeleteUser', { UserName: 'alice' }),
    ]);
    // (The unchecked AddUserToGroup request against the user ARN is not how AWS decides: it authorizes on the group.)
    const out = (await evaluate(r)).filter((x) => !x.req.unchecked);
    expect(out.map((x) => `${x.req.action} ${x.req.resource} ${x.decision}`)).toEqual(
      out.map((x) => `${x.req.action} ${x.req.resource} ImplicitlyDenied`),
    );
    expect(out).toHaveLength(9);
  });
});

/**
 * The trust policies of the two roles: who may assume them. The rotator's admits one repository's main branch and its
 * `rotation` environment; the provisioner's (bootstrap) only the provisioning repository's main branch.
 */
describe.each([
  {
    file: 'rotator-trust',
    role: 'rotator',
    allowed: ['repo:octo-org/rotator:ref:refs/heads/main', 'repo:octo-org/rotator:environment:rotation'],
    refused: [
      ['another branch', 'repo:octo-org/rotator:ref:refs/heads/feature'],
      ['a pull request', 'repo:octo-org/rotator:pull_request'],
      ['another environment', 'repo:octo-org/rotator:environment:staging'],
      ['another repository', 'repo:octo-org/other:ref:refs/heads/main'],
      ['a look-alike repository', 'repo:octo-org/rotator-fork:ref:refs/heads/main'],
    ],
  },
  {
    file: 'bootstrap-trust',
    role: 'ci-user-provisioner',
    allowed: ['repo:octo-org/provisioning:ref:refs/heads/main'],
    refused: [
      ['another branch', 'repo:octo-org/provisioning:ref:refs/heads/feature'],
      ['a tag', 'repo:octo-org/provisioning:ref:refs/tags/v1'],
      ['a pull request', 'repo:octo-org/provisioning:pull_request'],
      ['an environment', 'repo:octo-org/provisioning:environment:production'],
      ['the repository being bootstrapped', 'repo:octo-org/new-service:ref:refs/heads/main'],
      ['a look-alike repository', 'repo:octo-org/provisioning-fork:ref:refs/heads/main'],
      ['another organization', 'repo:other-org/provisioning:ref:refs/heads/main'],
    ],
  },
])('policies/$file.json', ({ file, role, allowed, refused }) => {
  const trust = loadPolicy(file);
  const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
  /**
   * iam-simulate's action data (iam-data) does not list the OIDC `sub` and `aud` keys for AssumeRoleWithWebIdentity,
   * so its validating entry point would drop them; the trust policy is validated on its own and evaluated unchecked.
   */
  function assume(sub: string, aud = 'sts.amazonaws.com', provider = PROVIDER): string {
    return runUnsafeSimulation(
      {
        request: {
          principal: provider,
          action: 'sts:AssumeRoleWithWebIdentity',
          resource: { resource: `arn:aws:iam::${ACCOUNT}:role/${role}`, accountId: ACCOUNT },
          contextVariables: { 'token.actions.githubusercontent.com:sub': sub, 'token.actions.githubusercontent.com:aud': aud },
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: createValidatedPolicy(trust, validateTrustPolicy, { name: file }),
      },
      {},
    );
  }

  it.each(allowed)('lets %s assume the role', (sub) => {
    expect(assume(sub)).toBe('Allowed');
  });

  it.each(refused)('refuses %s', (_label, sub) => {
    expect(assume(sub)).toBe('ImplicitlyDenied');
  });

  it('refuses another audience and another identity provider', () => {
    expect(assume(allowed[0], 'https://github.com/octo-org')).toBe('ImplicitlyDenied');
    expect(assume(allowed[0], 'sts.amazonaws.com', `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.com`)).toBe('ImplicitlyDenied');
  });

  it('refuses a token without a sub or an aud', () => {
    const only = (vars: Record<string, string>) =>
      runUnsafeSimulation(
        {
          request: {
            principal: PROVIDER,
            action: 'sts:AssumeRoleWithWebIdentity',
            resource: { resource: `arn:aws:iam::${ACCOUNT}:role/${role}`, accountId: ACCOUNT },
            contextVariables: vars,
          },
          identityPolicies: [],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: createValidatedPolicy(trust, validateTrustPolicy, { name: file }),
        },
        {},
      );
    expect(only({ 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' })).toBe('ImplicitlyDenied');
    expect(only({ 'token.actions.githubusercontent.com:sub': allowed[0] })).toBe('ImplicitlyDenied');
  });
});

/**
 * Cross-account: GitHub's OIDC token assumes the hub role in the CI account (111111111111), which chains (sts:AssumeRole)
 * to the rotator role of the account whose users rotate (123456789012, policies/rotator.json). Each hop is evaluated.
 */
describe('cross-account: the hub role chains to the rotator role of another account', () => {
  const HUB_ACCOUNT = '111111111111';
  const HUB_ROLE = `arn:aws:iam::${HUB_ACCOUNT}:role/access-key-rotator-hub`;
  const HUB_SESSION = `arn:aws:sts::${HUB_ACCOUNT}:assumed-role/access-key-rotator-hub/GitHubActions`;
  const ROTATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/access-key-rotator`;
  const PROVIDER = `arn:aws:iam::${HUB_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
  const hubTrust = loadPolicy('cross-account-hub-trust');
  const hub = loadPolicy('cross-account-hub');
  const rotatorTrust = loadPolicy('cross-account-rotator-trust');

  function web(sub: string, provider = PROVIDER): string {
    return runUnsafeSimulation(
      {
        request: {
          principal: provider,
          action: 'sts:AssumeRoleWithWebIdentity',
          resource: { resource: HUB_ROLE, accountId: HUB_ACCOUNT },
          contextVariables: { 'token.actions.githubusercontent.com:sub': sub, 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: createValidatedPolicy(hubTrust, validateTrustPolicy, { name: 'hub-trust' }),
      },
      {},
    );
  }

  /** sts:AssumeRole of `role` by `principal` holding `identity`, judged by `trust` (the target role's trust policy). */
  async function chain(principal: string, identity: PolicyDocument, role = ROTATOR_ROLE, trust = rotatorTrust): Promise<string> {
    const r = await runSimulation(
      {
        request: { principal, action: 'sts:AssumeRole', resource: { resource: role, accountId: role.split(':')[4] }, contextVariables: {} },
        identityPolicies: [{ name: 'identity', policy: identity }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trust,
      },
      {},
    );
    if (r.resultType === 'error') return `invalid: ${r.errors.message}`;
    return r.overallResult;
  }

  it('GitHub: only the rotator repository’s rotation environment assumes the hub role', () => {
    expect(web('repo:octo-org/rotator:environment:rotation')).toBe('Allowed');
    for (const sub of [
      'repo:octo-org/rotator:ref:refs/heads/main',
      'repo:octo-org/rotator:environment:staging',
      'repo:octo-org/rotator:pull_request',
      'repo:octo-org/other:environment:rotation',
      'repo:fork/rotator:environment:rotation',
    ]) {
      expect({ sub, decision: web(sub) }).toEqual({ sub, decision: 'ImplicitlyDenied' });
    }
    expect(web('repo:octo-org/rotator:environment:rotation', `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`)).toBe(
      'ImplicitlyDenied',
    );
  });

  it('the hub session assumes the rotator role of the other account, and nothing else', async () => {
    expect(validateIdentityPolicy(hub)).toEqual([]);
    expect(validateTrustPolicy(rotatorTrust)).toEqual([]);
    expect(await chain(HUB_SESSION, hub)).toBe('Allowed');
    // Another role of the target account, the rotator role's name in a third account: the hub policy says no.
    expect(await chain(HUB_SESSION, hub, `arn:aws:iam::${ACCOUNT}:role/admin`, { ...rotatorTrust })).toBe('ImplicitlyDenied');
    expect(await chain(HUB_SESSION, hub, 'arn:aws:iam::222222222222:role/access-key-rotator')).toBe('ImplicitlyDenied');
    // Another role of the CI account, even one allowed every sts:AssumeRole: the rotator's trust says no.
    const anything: PolicyDocument = { Version: '2012-10-17', Statement: [{ Sid: 'Any', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] };
    expect(await chain(`arn:aws:sts::${HUB_ACCOUNT}:assumed-role/deployer/GitHubActions`, anything)).toBe('ImplicitlyDenied');
    expect(await chain(`arn:aws:sts::222222222222:assumed-role/access-key-rotator-hub/GitHubActions`, anything)).toBe('ImplicitlyDenied');
  });

  it('the hub role itself can touch no IAM user: the rotation runs only as the chained rotator role (policies/rotator.json)', async () => {
    const req: AuthRequest = { call: 'CreateAccessKey', action: 'iam:CreateAccessKey', resource: userArn('deployer', '/ci/'), context: {} };
    expect(await decide(hub, HUB_SESSION, req)).toBe('ImplicitlyDenied');
    expect(await decide(loadPolicy('rotator'), ROLE_SESSION('access-key-rotator'), req)).toBe('Allowed');
  });
});

// ---------------------------------------------------------------- the documentation's workflows, proven

/**
 * Stand-ins for the GitHub expressions in the documented workflows (docs/iam.md lists them): what a person would type
 * into the workflow_dispatch form. Each must satisfy the naming rule of the policy its workflow is paired with.
 * `${{ matrix.* }}` takes each `matrix.include` entry in turn; `secrets.*`, `vars.*` and `steps.*` never reach IAM.
 */
const STAND_INS: Record<string, string> = {
  'inputs.user': 'deployer-new-service',
  'inputs.repository': 'your-org/new-service',
  // A dry run makes no change; the proof is for the real run it rehearses.
  'inputs.dry-run': 'false',
  "inputs.force && '0' || '30'": '30',
};
/** The user a self-rotation signs in as (any path: the policy covers both), and where a rotator's users live. */
const SELF_USER = 'ci-deployer';
const SELF_PATHS = ['/', '/ci/deployers/'];
const ROTATED_PATH = '/ci/';
/** Key ids of the derived calls: the key the user has, and the one the run creates. */
const OLD_KEY = 'AKIAOLDKEY0000000001';
const NEW_KEY = 'AKIANEWKEY0000000002';

/** How the documentation pairs each example with a policy: a new example must be added here. */
const PAIRED: Record<string, PolicyName> = {
  'examples/bootstrap-new-repository.yml': 'bootstrap',
  'examples/create-environments.yml': 'rotator',
  'examples/dependabot-secrets.yml': 'rotator',
  'examples/github-app-token.yml': 'self-rotation',
  'examples/manual-dispatch.yml': 'self-rotation',
  'examples/many-repositories-and-environments.yml': 'rotator',
  'examples/matrix-many-users.yml': 'rotator',
  'examples/oidc-rotator-role.yml': 'rotator',
  'examples/cross-account-rotation.yml': 'rotator',
  'examples/oidc-plan.yml': 'oidc-plan',
  'examples/organization-secrets.yml': 'rotator',
  'examples/scheduled-daily-max-age.yml': 'self-rotation',
  'examples/scheduled-weekly.yml': 'self-rotation',
  'examples/staged-retirement.yml': 'self-rotation',
  'examples/fleet-rotation.yml': 'rotator',
};

/**
 * A matrix the fleet audit plans (`matrix: ${{ fromJSON(needs.audit.outputs.matrix) }}`): one entry as it makes them,
 * a user under /ci/ with its role and destinations; every other option a manifest may set is empty (the default).
 */
const FLEET_ENTRY: Record<string, string> = {
  ...Object.fromEntries(USER_KEYS.map((k) => [k, ''])),
  'write-interval-seconds': '7.625',
  user: 'ci-deployer',
  role: 'arn:aws:iam::123456789012:role/access-key-rotator',
  repositories: 'your-org/api',
  environments: 'production',
  'max-age-days': '90',
};

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

interface DocWorkflow {
  name: string;
  doc: Yaml;
}

function docWorkflows(): DocWorkflow[] {
  const root = new URL('../', import.meta.url);
  const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
  const out: DocWorkflow[] = [];
  const markdown = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const file of markdown) {
    const text = read(file);
    for (const m of text.matchAll(/^```ya?ml[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)) {
      const doc = parseDocument(m[1]).toJS() as unknown;
      if (isMap(doc) && isMap(doc.jobs)) out.push({ name: `${file}:${text.slice(0, m.index).split('\n').length}`, doc });
    }
  }
  for (const f of readdirSync(new URL('examples/', root)).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    out.push({ name: `examples/${f}`, doc: parseDocument(read(`examples/${f}`)).toJS() as Yaml });
  }
  return out;
}

/** Replace `${{ … }}` with its stand-in (matrix values from `matrix`); an expression without one fails the test. */
function substitute(value: unknown, matrix: Record<string, string>): string {
  return String(value).replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_all, expr: string) => {
    const m = /^matrix\.([\w-]+)$/.exec(expr);
    // A token or a step's output: it goes to GitHub, never to IAM.
    if (/^(secrets|vars|steps)\./.test(expr)) return `<${expr}>`;
    const v = m ? matrix[m[1]] : STAND_INS[expr];
    if (v === undefined) throw new Error(`no stand-in for \${{ ${expr} }}: add one to STAND_INS (and to docs/iam.md)`);
    return v;
  });
}

const listInput = (v: string | undefined): string[] => (v ?? '').split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

/** One use of this action in a documented workflow, with what the evaluator needs to know. */
interface DocStep {
  where: string;
  policy: PolicyName;
  rec: Recording;
}

/** The steps that run this action, each job's matrix expanded, with the policy the documentation pairs them with. */
function docSteps(wf: DocWorkflow): DocStep[] {
  const out: DocStep[] = [];
  for (const [jobName, job] of Object.entries(wf.doc.jobs as Yaml)) {
    if (!isMap(job) || !Array.isArray(job.steps)) continue;
    const strategy = isMap(job.strategy) ? job.strategy : {};
    const planned = typeof strategy.matrix === 'string' && /fromJSON\(needs\.\w+\.outputs\.matrix\)/.test(strategy.matrix);
    const include = planned
      ? [FLEET_ENTRY]
      : isMap(strategy.matrix) && Array.isArray(strategy.matrix.include)
        ? (strategy.matrix.include as Record<string, string>[])
        : [{}];
    for (const matrix of include) {
      let role: string | undefined;
      job.steps.forEach((step: unknown, i: number) => {
        if (!isMap(step) || typeof step.uses !== 'string') return;
        const w = isMap(step.with) ? step.with : {};
        if (step.uses.startsWith('aws-actions/configure-aws-credentials@') && typeof w['role-to-assume'] === 'string') {
          role = /:role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(substitute(w['role-to-assume'], matrix))?.[1];
        }
        if (!/(^|\/)rotate-aws-access-key@/.test(step.uses)) return;
        const inputs = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, substitute(v, matrix)]));
        const env = isMap(step.env) ? step.env : {};
        const where = `${wf.name} ${jobName} step ${i + 1}${Object.keys(matrix).length ? ` (${JSON.stringify(matrix)})` : ''}`;
        const createUser = inputs['create-user'] === 'true' || inputs['create-user'] === 'if-missing';
        const ownKey = 'AWS_ACCESS_KEY_ID' in env && inputs['iam-user-name'] === undefined;
        if (inputs['oidc-plan']) {
          if (role === undefined) throw new Error(`${where}: an oidc-plan without a role`);
          const user = inputs['iam-user-name'];
          if (!user) throw new Error(`${where}: an oidc-plan by a role needs iam-user-name`);
          const rec = { world: where, policy: 'oidc-plan' as const, principal: ROLE_SESSION(role), users: new Map([[user, { path: ROTATED_PATH }]]), groups: new Map(), keyOwner: user };
          out.push({ where, policy: 'oidc-plan', rec: { ...rec, calls: planCalls(user) } });
        } else if (createUser || (!ownKey && role !== undefined)) {
          if (role === undefined) throw new Error(`${where}: a ${createUser ? 'bootstrap' : 'rotator'} without a role`);
          const user = inputs['iam-user-name'];
          if (!user) throw new Error(`${where}: iam-user-name is required with role credentials`);
          const policy: PolicyName = createUser ? 'bootstrap' : 'rotator';
          const users = new Map(createUser ? [] : [[user, { path: ROTATED_PATH }]]);
          const rec = { world: where, policy, principal: ROLE_SESSION(role), users, groups: new Map(), keyOwner: user };
          out.push({ where, policy, rec: { ...rec, calls: derivedCalls(inputs, user, createUser) } });
        } else if (ownKey) {
          for (const path of SELF_PATHS) {
            const rec = {
              world: `${where} as user${path}${SELF_USER}`,
              policy: 'self-rotation' as const,
              principal: userArn(SELF_USER, path),
              username: SELF_USER,
              users: new Map([[SELF_USER, { path }]]),
              groups: new Map(),
              keyOwner: SELF_USER,
            };
            out.push({ where, policy: 'self-rotation', rec: { ...rec, calls: derivedCalls(inputs, SELF_USER, false) } });
          }
        } else {
          throw new Error(`${where}: neither the job's own key (env AWS_ACCESS_KEY_ID) nor a role: which policy?`);
        }
      });
    }
  }
  return out;
}

/** The IAM calls an oidc-plan run makes: every read of the user's permissions, its groups' and its keys. */
function planCalls(UserName: string): AwsCall[] {
  const iam = (command: string, input: Record<string, unknown>): AwsCall => ({ service: 'iam', command: `${command}Command`, input });
  const GroupName = 'ci-deployers';
  return [
    iam('GetUser', { UserName }),
    iam('ListUserPolicies', { UserName }),
    iam('GetUserPolicy', { UserName, PolicyName: 'own' }),
    iam('ListAttachedUserPolicies', { UserName }),
    ...[`arn:aws:iam::${ACCOUNT}:policy/ci/ci-deploy`, 'arn:aws:iam::aws:policy/ReadOnlyAccess'].flatMap((PolicyArn) => [
      iam('GetPolicy', { PolicyArn }),
      iam('GetPolicyVersion', { PolicyArn, VersionId: 'v1' }),
    ]),
    iam('ListGroupsForUser', { UserName }),
    iam('ListGroupPolicies', { GroupName }),
    iam('GetGroupPolicy', { GroupName, PolicyName: 'logs' }),
    iam('ListAttachedGroupPolicies', { GroupName }),
    iam('ListAccessKeys', { UserName }),
    iam('GetAccessKeyLastUsed', { AccessKeyId: OLD_KEY }),
    iam('GetOpenIDConnectProvider', { OpenIDConnectProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` }),
  ];
}

/**
 * The IAM and STS calls a run with these inputs may make, in the order it makes them: every call of a rotation
 * (whichever way the keys are found: making room, rollback, deactivate or delete, staged retirement), and with
 * create-user the creation and its undo.
 */
function derivedCalls(inputs: Record<string, string>, user: string, createUser: boolean): AwsCall[] {
  const iam = (command: string, input: Record<string, unknown>): AwsCall => ({ service: 'iam', command: `${command}Command`, input });
  const groups = listInput(inputs['user-groups']);
  const policies = listInput(inputs['user-policy-arns']);
  const tags = listInput(inputs['user-tags']).map((kv) => ({ Key: kv.slice(0, kv.indexOf('=')), Value: kv.slice(kv.indexOf('=') + 1) }));
  const UserName = user;
  const calls: AwsCall[] = [{ service: 'sts', command: 'GetCallerIdentityCommand', input: {} }];
  if (createUser) {
    calls.push(
      iam('GetUser', { UserName }),
      iam('CreateUser', {
        UserName,
        Path: inputs['user-path'] ?? '/',
        PermissionsBoundary: inputs['user-permissions-boundary'] || undefined,
        Tags: tags.length ? tags : undefined,
      }),
      ...groups.map((GroupName) => iam('AddUserToGroup', { UserName, GroupName })),
      ...policies.map((PolicyArn) => iam('AttachUserPolicy', { UserName, PolicyArn })),
      // create-user: if-missing, on a user that exists: compared with the inputs (and left as it is).
      iam('ListGroupsForUser', { UserName }),
      iam('ListAttachedUserPolicies', { UserName }),
    );
  }
  calls.push(
    iam('ListUserTags', { UserName }),
    iam('TagUser', { UserName, Tags: [{ Key: 'rotate-aws-access-key:lease', Value: 'run https://github.com/o/r/actions/runs/1 until 2026-12-02T12:00:00Z' }] }),
    iam('ListAccessKeys', { UserName }),
    iam('GetAccessKeyLastUsed', { AccessKeyId: OLD_KEY }),
    iam('CreateAccessKey', { UserName }),
    iam('TagUser', { UserName, Tags: [{ Key: NEW_KEY, Value: 'rotate-aws-access-key: created=2026-12-02T11:00:00Z by=o/r/1/1' }] }),
    iam('UpdateAccessKey', { UserName, AccessKeyId: OLD_KEY, Status: 'Inactive' }),
    iam('DeleteAccessKey', { UserName, AccessKeyId: OLD_KEY }),
    iam('UntagUser', { UserName, TagKeys: [OLD_KEY] }),
    iam('UntagUser', { UserName, TagKeys: ['rotate-aws-access-key:lease'] }),
  );
  if (createUser) {
    // Undoing a failed bootstrap.
    calls.push(
      iam('DeleteAccessKey', { UserName, AccessKeyId: NEW_KEY }),
      ...policies.map((PolicyArn) => iam('DetachUserPolicy', { UserName, PolicyArn })),
      ...groups.map((GroupName) => iam('RemoveUserFromGroup', { UserName, GroupName })),
      iam('DeleteUser', { UserName }),
    );
  }
  return calls;
}

describe("the documentation's workflows, evaluated against the policies they are paired with", () => {
  const workflows = docWorkflows();
  const steps = workflows.flatMap((wf) => docSteps(wf).map((s) => ({ wf: wf.name, ...s })));

  it('are found: every example, the README quick start, and docs/examples.md', () => {
    const examples = workflows.filter((w) => w.name.startsWith('examples/')).map((w) => w.name);
    expect(examples).toEqual(Object.keys(PAIRED).sort());
    for (const name of examples) {
      expect({ name, policies: [...new Set(steps.filter((s) => s.wf === name).map((s) => s.policy))] }).toEqual({ name, policies: [PAIRED[name]] });
    }
    expect(steps.some((s) => s.wf.startsWith('README.md:'))).toBe(true);
    expect(steps.filter((s) => s.wf.startsWith('docs/examples.md:')).length).toBeGreaterThanOrEqual(examples.length);
    // The matrix example is proven once per user.
    expect(steps.filter((s) => s.wf === 'examples/matrix-many-users.yml')).toHaveLength(3);
  });

  it.each(steps.map((s) => [s.rec.world, s] as const))('%s', async (_name, s) => {
    const rows = await evaluate(s.rec);
    expect(rows.length).toBeGreaterThan(10);
    const denied = rows.filter((r) => r.decision !== 'Allowed');
    if (denied.length > 0) {
      throw new Error(`${denied.length} request(s) not allowed by policies/${s.policy}.json (✗):\n${table(rows)}`);
    }
  });
});

describe('the documentation embeds the policy files', () => {
  /** Where each policy is shown: the quick start's in the README, the rest in docs/iam.md. */
  const SHOWN: [string, string][] = [
    ['self-rotation.json', 'README.md'],
    ['rotator.json', 'docs/iam.md'],
    ['rotator-trust.json', 'docs/iam.md'],
    ['bootstrap.json', 'docs/iam.md'],
    ['bootstrap-trust.json', 'docs/bootstrap.md'],
    ['oidc-plan.json', 'docs/iam.md'],
    ['cross-account-hub-trust.json', 'docs/iam.md'],
    ['cross-account-hub.json', 'docs/iam.md'],
    ['cross-account-rotator-trust.json', 'docs/iam.md'],
    ['fleet-audit.json', 'docs/fleet.md'],
  ];

  it('shows every policy file somewhere', () => {
    const files = readdirSync(POLICY_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(SHOWN.map(([f]) => f).sort()).toEqual(files);
  });

  it.each(SHOWN)('%s, verbatim in %s, under a heading that names the file', (name, where) => {
    const text = readFileSync(new URL(`../${where}`, import.meta.url), 'utf8');
    const file = readFileSync(new URL(`../policies/${name}`, import.meta.url), 'utf8').trimEnd();
    const at = text.indexOf('```json\n' + file + '\n```');
    expect(at).toBeGreaterThan(0);
    const heading = text.lastIndexOf('\n#', at);
    expect(text.slice(heading, at)).toContain(`policies/${name}`);
  });
});
