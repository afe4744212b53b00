import type { GuardResult, StepContext } from './context.js';

/**
 * The guard, run before every step (AWS Secrets Manager's rotation template checks the
 * secret's stages the same way before dispatching).
 *
 * By the time it runs, the arguments and the plan are valid (the dispatcher refused anything
 * else with exit 1). Its duties that need the cluster — the generation is the one the
 * rotation record knows, the step is already done (→ exit 0), an unfinished previous
 * rotation is finished first — arrive with the steps; until then it lets every step run,
 * and every step fails loudly.
 */
export async function guard(_ctx: StepContext): Promise<GuardResult> {
  return { proceed: true };
}
