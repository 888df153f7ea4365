/**
 * The fleet's manifest: a YAML file in the platform team's repository naming every managed IAM user, the role its
 * rotation job assumes, and its destinations and options in the rotation's own input syntax. Parsed with line numbers
 * and validated whole before any network call: each problem names the file, the line and the rule.
 *
 *   version: 1
 *   defaults:                 # every user's options unless it sets its own
 *     role: arn:aws:iam::123456789012:role/access-key-rotator
 *   users:
 *     deploy-api:
 *       repositories: [your-org/api, your-org/api-worker]
 *       environments: production
 */
import { LineCounter, type Node, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { closest } from '../config/closest.js';
import { INPUT_NAMES, type Inputs, readInputs } from '../config/inputs.js';
import { type Destination, destinationsFrom, heldNames, label } from '../github/destinations.js';
import { InputError, InputErrors } from '../shared/errors.js';

/** One problem of the manifest: where it is and what rule it breaks (the message says both). */
export interface ManifestProblem {
  file: string;
  line: number;
  message: string;
}

/** The manifest could not be used: every problem, each one line. */
export class ManifestErrors extends Error {
  constructor(readonly problems: ManifestProblem[]) {
    super(problems.map((p) => `${p.file} line ${p.line}: ${p.message}`).join('; '));
    this.name = 'ManifestErrors';
  }
}

/** One managed IAM user, as the manifest gives it (defaults applied). */
export interface ManagedUser {
  name: string;
  /** The line of the user's entry (its name). */
  line: number;
  /** The line each option was set on (the user's own, or the defaults'). */
  lines: Record<string, number>;
  /** The role the user's rotation job assumes (configure-aws-credentials), when the manifest names one. */
  role: string | undefined;
  /** The account the role belongs to, when a role is named. */
  account: string | undefined;
  /** The rotation's inputs for this user, as strings (lists one entry per line), only those the manifest sets. */
  with: Record<string, string>;
  /** The same inputs, validated by the rotation's own reader. */
  inputs: Inputs;
  destinations: Destination[];
}

export interface Manifest {
  file: string;
  users: ManagedUser[];
  /** The line of `users:`, where findings about keys no entry names are located. */
  usersLine: number;
}

/** Rotation inputs a manifest entry may not set, and why. */
const REFUSED: Record<string, string> = {
  'github-token': 'a token is a secret and never belongs in a file: the rotate job passes it (with: github-token)',
  'iam-user-name': 'the user is the name its entry is listed under',
  'dry-run': 'the audit is the fleet\'s read-only view: run it without the rotate job',
  'oidc-plan': 'the fleet rotates keys: run oidc-plan per user in its own step',
  'export-credentials': 'a rotate job has no later step that needs the new key',
  'create-user': 'the fleet rotates existing users: create a user with the action\'s create-user first',
  'user-path': 'the fleet rotates existing users: create a user with the action\'s create-user first',
  'user-groups': 'the fleet rotates existing users: create a user with the action\'s create-user first',
  'user-policy-arns': 'the fleet rotates existing users: create a user with the action\'s create-user first',
  'user-permissions-boundary': 'the fleet rotates existing users: create a user with the action\'s create-user first',
  'user-tags': 'the fleet rotates existing users: create a user with the action\'s create-user first',
  'write-interval-seconds': "the fleet's plan sets each rotate job's pace",
};

/** The options of a user entry (and of defaults): the rotation's inputs it may set, and the role. */
export const USER_KEYS: readonly string[] = ['role', ...INPUT_NAMES.filter((n) => !(n in REFUSED))];
const TOP_KEYS = ['version', 'defaults', 'users'] as const;

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
const IAM_USER = /^[\w+=,.@-]{1,64}$/;

/** What a person would type for a key: case, '_' and spaces alike. */
const loose = (name: string) => name.toLowerCase().replace(/[\s_]/g, '-');

function didYouMean(key: string, candidates: readonly string[]): string {
  const near = closest(key, candidates, loose);
  if (near && near.distance <= Math.max(2, Math.floor(loose(key).length / 3))) return `did you mean ${near.name}?`;
  return `the keys are ${candidates.join(', ')}`;
}

const quote = (value: string) => `'${value.replace(/[\r\n]+/g, ' ')}'`;

/** A scalar or a list of scalars as the rotation reads an input: lists one entry per line. */
function inputValue(node: unknown): string | undefined {
  if (isScalar(node)) return node.value === null || node.value === undefined ? '' : String(node.value);
  if (isSeq(node) && node.items.every((i) => isScalar(i))) return node.items.map((i) => String((i as { value: unknown }).value ?? '')).join('\n');
  return undefined;
}

/**
 * Parse and validate the manifest `text` read from `file`. Throws ManifestErrors listing every problem: the YAML does
 * not parse, a key is unknown (with the nearest known one), a user is listed twice, an option breaks the rotation's
 * own input rules, or one destination (place and secret name) is listed under two users.
 */
export function parseManifest(file: string, text: string): Manifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: true });
  const problems: ManifestProblem[] = [];
  const at = (node: unknown): number => {
    const range = (node as Node | undefined)?.range;
    return range ? lines.linePos(range[0]).line : 1;
  };
  const problem = (line: number, message: string) => void problems.push({ file, line, message });

  for (const err of doc.errors) {
    problem(err.linePos?.[0].line ?? 1, `does not parse as YAML: ${err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  if (problems.length > 0) throw new ManifestErrors(problems);

  const root = doc.contents;
  if (!isMap(root)) {
    problem(at(root), 'the manifest must be a mapping with users: (and optionally version: 1 and defaults:)');
    throw new ManifestErrors(problems);
  }
  let usersNode: unknown;
  let usersLine = 1;
  let defaultsNode: unknown;
  const seenTop = new Set<string>();
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const line = at(pair.key);
    if (!(TOP_KEYS as readonly string[]).includes(key)) {
      problem(line, `unknown key ${quote(key)} at the top: ${didYouMean(key, TOP_KEYS)}`);
      continue;
    }
    if (seenTop.has(key)) {
      problem(line, `${key}: is given twice: give each key once`);
      continue;
    }
    seenTop.add(key);
    if (key === 'version') {
      const v = isScalar(pair.value) ? String(pair.value.value) : '';
      if (v !== '1') problem(at(pair.value ?? pair.key), `version: ${quote(v)} is not a manifest version this action reads (1)`);
    } else if (key === 'defaults') defaultsNode = pair.value;
    else {
      usersNode = pair.value;
      usersLine = line;
    }
  }

  /** An options mapping (a user's, or defaults): each known key's value and line; unknown keys reported. */
  const options = (node: unknown, where: string): Map<string, { value: string; line: number }> => {
    const out = new Map<string, { value: string; line: number }>();
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      problem(at(node), `${where}: must be a mapping of options (repositories:, environments:, role:, …)`);
      return out;
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const line = at(pair.key);
      if (key in REFUSED) {
        problem(line, `${where}: ${key} cannot be set in the manifest: ${REFUSED[key]}`);
        continue;
      }
      if (!USER_KEYS.includes(key)) {
        problem(line, `${where}: unknown key ${quote(key)}: ${didYouMean(key, USER_KEYS)}`);
        continue;
      }
      if (out.has(key)) {
        problem(line, `${where}: ${key} is given twice (first at line ${out.get(key)?.line}): give each option once`);
        continue;
      }
      const value = inputValue(pair.value);
      if (value === undefined) {
        problem(at(pair.value), `${where}: ${key} must be a value or a list of values`);
        continue;
      }
      out.set(key, { value, line });
    }
    return out;
  };

  const defaults = options(defaultsNode, 'defaults');
  if (usersNode === undefined) problem(1, 'users: is missing: list every managed IAM user under users:');
  else if (!isMap(usersNode) || usersNode.items.length === 0) {
    problem(usersLine, 'users: must map each IAM user name to its options (deploy-api: {repositories: …})');
  }

  const users: ManagedUser[] = [];
  const byName = new Map<string, number>();
  for (const pair of isMap(usersNode) ? usersNode.items : []) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    const line = at(pair.key);
    const where = `user ${name}`;
    if (!IAM_USER.test(name)) {
      problem(line, `${quote(name)} is not a valid IAM user name ([\\w+=,.@-], 1-64 characters)`);
      continue;
    }
    // IAM user names are unique whatever their case: Deploy and deploy are one user.
    const first = byName.get(name.toLowerCase());
    if (first !== undefined) {
      problem(line, `user ${name} is listed twice (first at line ${first}): list each IAM user once`);
      continue;
    }
    byName.set(name.toLowerCase(), line);
    const own = options(pair.value, where);
    const merged = new Map([...defaults, ...own]);
    const lineOf = (key: string) => merged.get(key)?.line ?? line;
    const role = merged.get('role')?.value.trim() || undefined;
    const account = role ? ROLE_ARN.exec(role)?.[1] : undefined;
    if (role !== undefined && account === undefined) {
      problem(lineOf('role'), `${where}: role ${quote(role)} is not an IAM role ARN (arn:aws:iam::123456789012:role/name)`);
    }
    const given = Object.fromEntries([...merged].filter(([k]) => k !== 'role').map(([k, v]) => [k, v.value]));
    if (!(given.repositories ?? '').trim() && !(given.organization ?? '').trim()) {
      problem(line, `${where}: names no destination: give repositories: or organization:`);
      continue;
    }
    let inputs: Inputs;
    try {
      // The rotation's own reader: the same rules, the same messages. No environment: nothing is implied.
      inputs = readInputs((n) => (n === 'github-token' ? 'manifest' : (given[n] ?? '')), {});
    } catch (err) {
      const errors = err instanceof InputErrors ? err.errors : err instanceof InputError ? [err] : undefined;
      if (!errors) throw err;
      for (const e of errors) problem(lineOf(e.input), `${where}: ${e.message}`);
      continue;
    }
    users.push({
      name,
      line,
      lines: Object.fromEntries([...merged].map(([k, v]) => [k, v.line])),
      role,
      account,
      with: given,
      inputs,
      destinations: destinationsFrom(inputs),
    });
  }

  // Two users onto one destination is the torn-pair world: each name at each place belongs to one user.
  const holder = new Map<string, ManagedUser>();
  for (const user of users) {
    const { secrets, variables } = heldNames(user.inputs);
    for (const d of user.destinations) {
      for (const name of [...secrets.map((s) => `secret ${s}`), ...variables.map((v) => `variable ${v}`)]) {
        const key = `${placeKey(d)}|${name.toUpperCase()}`;
        const other = holder.get(key);
        if (other && other !== user) {
          problem(
            user.line,
            `${label(d)} ${name} is listed under user ${other.name} (line ${other.line}) and user ${user.name}: ` +
              'each destination holds one user\'s key: give it to one user, or use other secret names',
          );
          break;
        }
        holder.set(key, user);
      }
    }
  }

  if (problems.length > 0) throw new ManifestErrors(problems.sort((a, b) => a.line - b.line));
  return { file, users, usersLine };
}

/** Where a destination's names live, ignoring case: a repository's secrets, an environment's, an organization's. */
function placeKey(d: Destination): string {
  switch (d.kind) {
    case 'repository':
    case 'dependabot-repository':
    case 'copilot-repository':
      return `${d.kind}:${d.owner}/${d.repo}`.toLowerCase();
    case 'environment':
      return `${d.kind}:${d.owner}/${d.repo}:${d.environment}`.toLowerCase();
    default:
      return `${d.kind}:${d.org}`.toLowerCase();
  }
}
