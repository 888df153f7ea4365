/** What an oidc-plan run tells the workflow: the oidc-plan-files output, the job summary, or one error line. */
import * as core from '@actions/core';
import { errorMessage } from '../shared/errors.js';
import { type OidcPlanContext, type OidcPlanResult, runOidcPlan } from './oidc-plan.js';

export async function reportOidcPlan(ctx: OidcPlanContext): Promise<OidcPlanResult | undefined> {
  let result: OidcPlanResult;
  try {
    result = await runOidcPlan(ctx);
  } catch (err) {
    core.setFailed(errorMessage(err));
    return undefined;
  }
  core.setOutput('oidc-plan-files', JSON.stringify(result.files));
  try {
    await core.summary.addRaw(result.markdown).write();
  } catch (err) {
    core.warning(`could not write the job summary: ${errorMessage(err)}`);
  }
  return result;
}
