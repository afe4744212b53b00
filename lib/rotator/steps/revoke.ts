import type { Step } from '../context.js';
import { retireKey } from '../retire-key.js';
import { activateKey } from './activate.js';

/**
 * revoke (panic): activate the new key, then revoke the old one at once — no overlap, no
 * waiting for consumers; the record lists the consumer pods that were still stale.
 */
export const revoke: Step = async (ctx) => {
  const plan = ctx.plan;
  const rec = await activateKey(ctx);
  const done = await retireKey(ctx, {
    generation: plan.generation,
    oldKeyId: plan.previousAccessKeyId,
    newerKeyIds: new Set([rec.accessKeyId]),
    targets: plan.targets,
    consumers: plan.consumers,
    mode: 'panic',
    deadlineMs: ctx.now().getTime(),
  });
  return { outcome: 'done', evidence: { revokedKeyId: plan.previousAccessKeyId, stalePods: (done.stalePodsAtRevoke ?? []).join(',') || null } };
};
