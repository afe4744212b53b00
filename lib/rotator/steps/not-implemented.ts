import type { StepContext, StepResult } from '../context.js';
import { RotationError } from '../errors.js';

/** Fails a step this release does not carry out: the Job fails, so no rotation is half-done. */
export async function notImplemented(ctx: StepContext): Promise<StepResult> {
  throw new RotationError({
    code: 'STEP_NOT_IMPLEMENTED',
    step: ctx.step,
    credential: ctx.plan.credential,
    generation: ctx.plan.generation,
    keyId: ctx.plan.accessKeyId,
    message: `step not implemented in this release: got step ${ctx.step}. Upgrade rekey: this Job fails so no rotation is half-done.`,
  });
}
