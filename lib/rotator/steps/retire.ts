import type { Step } from '../context.js';
import { rotationError } from '../errors.js';
import { readRecord } from '../kube/record.js';
import { retireKey } from '../retire-key.js';
import { session } from '../session.js';

/**
 * retire: the evidence rule (evidence.ts, retire-key.ts) for the plan's previous key: targets
 * hold the new key, consumers rolled, stale pods replaced one at a time, file consumers
 * refreshed, overlap over, then disable → prove rejected → delete → prove rejected.
 */
export const retire: Step = async (ctx) => {
  const plan = ctx.plan;
  const s = session(ctx);
  const rec = (await readRecord(ctx, s.kube)).generations.get(plan.generation);
  if (!rec) throw rotationError(ctx, 'EVIDENCE_MISSING', `rotation record of generation ${plan.generation} is missing: got none in ${plan.rotatorNamespace}/${plan.recordConfigMap}. Run the activate step first; the old key ${plan.previousAccessKeyId ?? '(none)'} stays valid.`, { keyId: plan.previousAccessKeyId });
  const done = await retireKey(ctx, {
    generation: plan.generation,
    oldKeyId: plan.previousAccessKeyId,
    newerKeyIds: new Set([rec.accessKeyId]),
    targets: plan.targets,
    consumers: plan.consumers,
    mode: 'retire',
    deadlineMs: ctx.now().getTime() + plan.deadlines.retireSeconds * 1000,
  });
  return {
    outcome: 'done',
    evidence: {
      revokedKeyId: plan.previousAccessKeyId,
      replacedPods: done.replacedPods.length,
      disabledAt: done.revoke?.disabledAt ?? null,
      rejectedAfterDisable: done.revoke?.rejectedAfterDisable ?? null,
      deletedAt: done.revoke?.deletedAt ?? null,
      rejectedAfterDelete: done.revoke?.rejectedAfterDelete ?? null,
    },
  };
};
