import * as core from '@actions/core';
import { describe, heldNames } from '../github/destinations.js';
import type { Inputs } from '../config/inputs.js';
import { type DestinationResult, type KeyReport, type RotationResult, UNKNOWN_USE } from '../rotation/result.js';

/** The action's outputs. Never a secret value. */
export function outputs(result: RotationResult, inputs: Inputs): Record<string, string> {
  const written = result.destinations.filter((d) => d.outcome === 'written');
  return {
    rotated: String(result.rotated),
    'access-key-id': result.accessKeyId ?? '',
    // Each id once: a due key can be deactivated, then deleted to make room, in one run.
    'previous-access-key-ids': [
      ...new Set(result.previous.filter((p) => p.action !== 'kept' && p.action !== 'retire-pending').map((p) => p.id)),
    ].join(','),
    // null: the keys could not be listed at the end of the run (unknown), never [] (which says the user has none).
    keys: result.keysUnread !== undefined ? 'null' : JSON.stringify(result.keys ?? []),
    destinations: JSON.stringify(
      written.map((d) => ({
        ...describe(d.destination, d.visibility),
        ...(d.created ? { created: true } : {}),
        ...stored(inputs),
      })),
    ),
  };
}

/** The `destinations` output's names: `secrets`, and `variables` when the id is a variable. */
function stored(inputs: Inputs): { secrets: string[]; variables?: string[] } {
  const { secrets, variables } = heldNames(inputs);
  return variables.length === 0 ? { secrets } : { secrets, variables };
}

const OUTCOME: Record<DestinationResult['outcome'], string> = {
  written: 'written',
  'would write': 'would write (dry run)',
  unchanged: 'unchanged',
  restored: 'new key written, then the previous key restored',
  converged: "given this run's own key, so an earlier run's orphan key could go",
  broken: 'NOT WORKING: holds a key that was deleted — does not work until a run rewrites it',
  'may be broken': 'MAY NOT WORK: may hold the key deleted to make room — until a run replaces it',
  removed: 'held nothing before; what the run wrote was removed',
  mismatched: 'MISMATCHED: one secret written, the other not — does not work until rewritten',
  unknown: 'UNKNOWN: a write was in flight when the run stopped — check it',
  overwritten: 'OVERWRITTEN by someone else after this run wrote it — another rotation is at work: check it',
  torn: 'TORN: another rotation rewrote one of its two secrets after this run — not one key\'s pair, does not work until one rotation writes both',
};

function status(result: RotationResult): string {
  if (result.cancelled) return 'cancelled';
  if (result.error) return result.rotated ? 'rotated, with a failure' : 'failed';
  if (result.plan?.action === 'skip') return 'skipped';
  if (result.dryRun) return 'dry run: nothing changed';
  return 'rotated';
}

/**
 * Which key the destinations hold: one fact when every destination holds result.accessKeyId (as far as the run knows),
 * else which destinations hold which key and which hold none the run knows of.
 */
function holders(result: RotationResult): [string, string][] {
  const { accessKeyId, destinations } = result;
  // Without a plan (a run that stopped in preflight) the destinations were not all read: nothing to say who holds what.
  if (accessKeyId === undefined || result.plan === undefined) return [];
  if (destinations.every((d) => d.keyId === accessKeyId)) return [['Key the destinations hold', accessKeyId]];
  const by = new Map<string | undefined, string[]>([[accessKeyId, []]]);
  for (const d of destinations) by.set(d.keyId, [...(by.get(d.keyId) ?? []), d.label]);
  return [...by].map(([id, labels]) =>
    id === undefined
      ? ['Destinations holding no key this run knows of', labels.join(', ')]
      : [`Destinations holding ${id}`, labels.length ? labels.join(', ') : 'none'],
  );
}

function lastUse(u: KeyReport['lastUsed']): string {
  if (u === UNKNOWN_USE) return 'unknown';
  return u ? `${u.date} (${u.service}, ${u.region})` : 'never';
}

/**
 * The job summary as rows of [header, value] and a destination table: what happened, never a secret. With
 * `inputs` saying the id is a variable (access-key-id-as: variable), a row says what is stored as what.
 */
export function summaryModel(result: RotationResult, inputs?: Inputs) {
  const facts: [string, string][] = [
    ['Result', status(result)],
    ['IAM user', `${result.userName ?? '(unresolved)'}${result.userCreated ? ' (created by this run)' : ''}`],
  ];
  if (inputs?.accessKeyIdAs === 'variable') {
    facts.push([
      'Stored as',
      `access key id: variable ${inputs.accessKeyIdSecretName} (vars.${inputs.accessKeyIdSecretName}); ` +
        `secret access key: secret ${inputs.secretAccessKeySecretName}`,
    ]);
  }
  if (result.plan) facts.push(['Decision', `${result.plan.action}: ${result.plan.reason}`]);
  if (result.newKeyId) facts.push(['New key', result.newKeyId]);
  facts.push(...holders(result));
  for (const p of result.previous) facts.push(['Previous key', `${p.id}: ${p.action}`]);
  if (result.dryRun && result.plan?.action === 'rotate') {
    const p = result.plan;
    if (p.makeRoom) facts.push(['Would delete to make room', p.makeRoom.id]);
    for (const k of p.previous) facts.push(['Previous key', `${k.id}: would ${p.previousKey}`]);
  }
  // Pending retirement, from each key's verdict (the one shape of it): waiting, or (dry run) due now.
  const pending = (result.keyStates?.() ?? []).flatMap((k) => (k.verdict.kind === 'pending' && !k.verdict.kept && k.verdict.successor !== result.newKeyId ? [{ id: k.key.id, p: k.verdict }] : []));
  for (const { id, p } of pending.filter((x) => !x.p.due)) {
    const when = p.dueAt !== undefined ? `not before ${new Date(p.dueAt).toISOString()}` : p.holders.length > 0 ? `not while ${p.holders.map((d) => d.label).join(', ')} may hold it` : 'not provably unused';
    facts.push(['Pending retirement', `${id}: ${when}${p.inUse ? ' — STILL IN USE: somebody holds it' : ''}`]);
  }
  if (result.dryRun) for (const { id } of pending.filter((x) => x.p.due)) facts.push(['Due for retirement', `${id}: would retire`]);
  if (result.error) facts.push(['Error', result.error.message]);
  if (result.keysUnread !== undefined) facts.push(['Access keys', `could not be listed at the end of the run: ${result.keysUnread}`]);
  const rows = result.destinations.map((d) => [
    d.label,
    d.destination.kind,
    `${OUTCOME[d.outcome]}${d.created ? ' (created)' : ''}`,
    d.keyId ?? '—',
  ]);
  const keys = (result.keys ?? []).map((k) => [
    k.id,
    k.status,
    k.created,
    lastUse(k.lastUsed),
    k.description ?? '—',
    k.fate,
  ]);
  return { facts, rows, keys, keysListed: result.keysUnread === undefined };
}

export function setOutputs(result: RotationResult, inputs: Inputs): void {
  for (const [name, value] of Object.entries(outputs(result, inputs))) core.setOutput(name, value);
}

/** Escape text for an HTML table cell (the job summary is HTML): names and messages come from inputs and servers. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export async function writeSummary(result: RotationResult, inputs?: Inputs): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const model = summaryModel(result, inputs);
  const facts = model.facts.map((row) => row.map(escapeHtml));
  const rows = model.rows.map((row) => row.map(escapeHtml));
  const keys = model.keys.map((row) => row.map(escapeHtml));
  await core.summary
    .addHeading('Rotate AWS access key', 2)
    .addTable([[{ data: 'Item', header: true }, { data: 'Value', header: true }], ...facts])
    .addHeading(`Destinations (${rows.length})`, 3)
    .addTable([
      [
        { data: 'Destination', header: true },
        { data: 'Kind', header: true },
        { data: 'Outcome', header: true },
        { data: 'Access key id held', header: true },
      ],
      ...rows,
    ])
    .addHeading(model.keysListed ? `Access keys (${keys.length})` : 'Access keys (could not be listed: see above)', 3)
    .addTable([
      ['Key', 'Status', 'Created', 'Last used', 'Description', 'Fate'].map((data) => ({ data, header: true })),
      ...keys,
    ])
    .write();
}
