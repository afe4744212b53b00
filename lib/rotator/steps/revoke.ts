import type { Step } from '../context.js';
import { retireKey } from '../retire-key.js';
import { activateKey } from './activate.js';

/**
 * revoke (panic): activate the new key, then revoke the old one (the plan's, or the record's for
 * provider-drawn keys) at once — no overlap, no waiting for consumers; the record lists the
 * consumer pods that were still stale.
 */
export const revoke: Step = async (ctx) => {
  const plan = ctx.plan;
  const rec = await activateKey(ctx);
  const oldKeyId = plan.previousAccessKeyId ?? rec.previousAccessKeyId;
  const done = await retireKey(ctx, {
    generation: plan.generation,
    oldKeyId,
    newerKeyIds: new Set(rec.accessKeyId === null ? [] : [rec.accessKeyId]),
    targets: plan.targets,
    consumers: plan.consumers,
    mode: 'panic',
    deadlineMs: ctx.now().getTime(),
  });
  return { outcome: 'done', evidence: { revokedKeyId: oldKeyId, stalePods: (done.stalePodsAtRevoke ?? []).join(',') || null } };
};
