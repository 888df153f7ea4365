/**
 * The marker a run leaves on the user just before each CreateAccessKey: which run, at what IAM time, and the keys IAM
 * listed just before (a key made before the marker is among them, so it is never taken for the marked create's). A run killed
 * between IAM's answer and the key's own record leaves a key no record names; the marker is what lets a rerun know it
 * for that run's. The marker alone proves nothing (anyone with iam:TagUser can write it): the destruction policy's row
 * "Unrecorded key of a finished run" also needs IAM's facts: the key's CreateDate moments after the marker, the only
 * key without a record made then, never used, held by no destination, and the run named has ended.
 */
import { listAccessKeys, tagUser, untagUser } from '../aws/aws.js';
import type { RotateContext } from '../config/context.js';
import { isoSeconds } from '../shared/clock.js';
import { errorMessage } from '../shared/errors.js';
import { TAG_VALUE_MAX, runLabel, shortLabel } from './provenance.js';

export const CREATE_TAG = 'rotate-aws-access-key:creating';

/** A key IAM made this long after the marker (IAM time) is the marked create's; the create follows within seconds. */
export const CREATE_WINDOW_MS = 2 * 60_000;

export interface CreateMarker {
  /** The run that was creating a key (owner/name/run id/attempt). */
  by: string;
  /** IAM's time just before its CreateAccessKey (whole seconds; IAM's clock is a lower bound up to a second early). */
  at: number;
  /** The keys IAM listed just before the marker: none of them is the marked create's. */
  keys: string[];
}

/**
 * The create marker read before this run changed anything: the run it names, IAM's time then, when that run ended
 * (GitHub's word, or an earlier attempt of this workflow run), and the keys without any tag made in its window.
 */
export interface Creation extends CreateMarker {
  ended?: number;
  candidates: string[];
}

export function parseCreateMarker(value: string | undefined): CreateMarker | undefined {
  const m = value === undefined ? null : /^by=(\S+) at=(\S+) keys=(\S*)$/.exec(value);
  const at = m ? Date.parse(m[2]) : NaN;
  return m && Number.isFinite(at) ? { by: m[1], at, keys: m[3] === '' ? [] : m[3].split(',') } : undefined;
}

/** The marker's tag value: the run label is shortened to fit IAM's 256 characters (a shortened one matches no run). */
export function formatCreateMarker(by: string, at: number, keys: string[]): string {
  const rest = ` at=${isoSeconds(at)} keys=${keys.join(',')}`;
  return `by=${shortLabel(by, TAG_VALUE_MAX - rest.length - 3)}${rest}`;
}

/** Is a key made at `created` (IAM's CreateDate) within the marker's window? */
export function inWindow(marker: CreateMarker, created: number): boolean {
  const made = Math.floor(created / 1000) * 1000;
  return made >= marker.at - 1000 && made <= marker.at + CREATE_WINDOW_MS;
}

/**
 * Leave the marker before a CreateAccessKey; false (with a warning) when it could not be written: a run killed
 * before the key's record then leaves a key a rerun cannot know for its own.
 */
export async function markCreate(ctx: RotateContext, user: string): Promise<boolean> {
  try {
    const keys = (await listAccessKeys(ctx.aws.iam, user)).map((k) => k.id);
    await tagUser(ctx.aws.iam, user, [{ Key: CREATE_TAG, Value: formatCreateMarker(runLabel(ctx), ctx.aws.time.now(), keys) }]);
    return true;
  } catch (err) {
    ctx.io.warning(
      `could not mark IAM user ${user} with ${CREATE_TAG} before creating its key (${errorMessage(err)}): should this run ` +
        'be killed before the new key is recorded, a rerun cannot tell that key for its own and stops on it',
    );
    return false;
  }
}

/**
 * The marked create made no key (IAM refused it: LimitExceeded): remove the marker, so no rerun takes a key someone
 * else made then for this run's. A failure is a warning.
 */
export async function clearCreateMarker(ctx: RotateContext, user: string): Promise<void> {
  try {
    await untagUser(ctx.aws.iam, user, [CREATE_TAG]);
  } catch (err) {
    ctx.io.warning(
      `could not remove the tag ${CREATE_TAG} from IAM user ${user} (${errorMessage(err)}): remove it by hand ` +
        `(aws iam untag-user --user-name ${user} --tag-keys ${CREATE_TAG}) before a rerun, which would otherwise take a key made in these seconds for this run's`,
    );
  }
}
