/** The plan as one line for the log: what a run does (or, dry run, would do), in order, and why. */
import { label } from '../github/destinations.js';
import type { Plan } from '../keys/plan.js';
import type { Prepared } from '../github/preflight.js';

export function describePlan(
  p: Plan,
  user: string,
  userExists: boolean,
  prepared: Prepared[],
  dryRun: boolean,
  retireAfterHours = 0,
): string {
  const prefix = dryRun ? 'Dry run: would ' : 'Plan: ';
  if (p.action === 'skip') return `Plan: skip (${p.reason}); nothing changes`;
  const changes = prepared.flatMap((x) => x.visibilityChanges.map((c) => `${label(x.destination)}: ${c}`));
  const steps = [
    userExists ? undefined : `create IAM user ${user}`,
    p.orphan
      ? (p.moveOff.length ? `give ${p.moveOff.join(', ')} this run's key ${p.current?.id}, then ` : '') +
        `delete ${p.orphan.id} (an orphan of an earlier run${p.orphanBreaks ? `; ${p.orphanBreaks.join(', ')} may hold it and stop working until rewritten` : ''})`
      : undefined,
    p.makeRoom
      ? `delete ${p.makeRoom.id} (${p.makeRoom.status}) to make room` +
        (p.makeRoomBreaks ? ' (key-limit: delete-oldest: destinations holding it stop working until rewritten)' : '')
      : undefined,
    `create a new access key for ${user}`,
    `write it to ${prepared.length} destination(s)` + (changes.length ? ` (${changes.join('; ')})` : ''),
    p.previous.length === 0
      ? undefined
      : retireAfterHours > 0 && p.previousKey !== 'keep'
        ? `leave the previous key(s) ${p.previous.map((k) => k.id).join(', ')} Active for a later run to ${p.previousKey} once unused for ${retireAfterHours} h`
        : `${p.previousKey} the previous key(s) ${p.previous.map((k) => k.id).join(', ')}`,
  ].filter(Boolean);
  return `${prefix}${steps.join(', then ')} (reason: ${p.reason})`;
}
