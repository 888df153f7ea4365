/**
 * The marker a run leaves before it deletes an Active key to make room (key-limit: delete-oldest): until a later run
 * has rewritten every destination, destinations may hold the deleted key, so no run may skip. A tag can only force
 * a rotation here, never a deletion: one that lies costs one rotation.
 */
import { tagUser, untagUser } from '../aws/aws.js';
import { isoSeconds } from '../shared/clock.js';
import type { RotateContext } from '../config/context.js';
import { errorMessage } from '../shared/errors.js';

export const REWRITE_TAG = 'rotate-aws-access-key:rewrite';

export interface Rewrite {
  id: string;
  at: string;
}

export function parseRewrite(value: string | undefined): Rewrite | undefined {
  const m = value === undefined ? null : /^deleted=(\S+) at=(\S+)$/.exec(value);
  return m ? { id: m[1], at: m[2] } : undefined;
}

/** Leave the marker before the delete; false (with a warning) when the user's tags may not be written. */
export async function markRewrite(ctx: RotateContext, user: string, id: string): Promise<boolean> {
  try {
    await tagUser(ctx.aws.iam, user, [{ Key: REWRITE_TAG, Value: `deleted=${id} at=${isoSeconds(ctx.aws.time.now())}` }]);
    return true;
  } catch (err) {
    ctx.io.warning(
      `could not tag IAM user ${user} with ${REWRITE_TAG} before deleting ${id} (${errorMessage(err)}): if this run ` +
        'stops before every destination holds the new key, a later run with max-age-days may skip them',
    );
    return false;
  }
}

/** Every destination holds a working key again: remove the marker (a failure is a warning). */
export async function clearRewrite(ctx: RotateContext, user: string): Promise<void> {
  try {
    await untagUser(ctx.aws.iam, user, [REWRITE_TAG]);
  } catch (err) {
    ctx.io.warning(`could not remove the tag ${REWRITE_TAG} from IAM user ${user} (${errorMessage(err)}): the next run rotates once more`);
  }
}
