import type { Step } from '../context.js';
import { rotationError } from '../errors.js';
import { readRecord } from '../kube/record.js';
import { retireKey } from '../retire-key.js';
import { session } from '../session.js';

/**
 * retire: the evidence rule (evidence.ts, retire-key.ts) for the previous key (the plan's, or —
 * provider-drawn keys — the one the record names): targets hold the new key, consumers rolled,
 * stale pods replaced one at a time, file consumers refreshed, overlap over, then disable → prove
 * rejected → delete → prove rejected.
 */
export const retire: Step = async (ctx) => {
  const plan = ctx.plan;
  const s = session(ctx);
  const rec = (await readRecord(ctx, s.kube)).generations.get(plan.generation);
  const oldKeyId = plan.previousAccessKeyId ?? rec?.previousAccessKeyId ?? null;
  if (!rec || !rec.activatedAt || rec.accessKeyId === null) {
    throw rotationError(ctx, 'EVIDENCE_MISSING', `rotation record of generation ${plan.generation} shows no activated key: got ${rec ? `phase ${rec.phase}` : 'none'} in ${plan.rotatorNamespace}/${plan.recordConfigMap}. Run the activate step first; the old key ${oldKeyId ?? '(none)'} stays valid.`, { keyId: oldKeyId });
  }
  const done = await retireKey(ctx, {
    generation: plan.generation,
    oldKeyId,
    newerKeyIds: new Set([rec.accessKeyId]),
    targets: plan.targets,
    consumers: plan.consumers,
    mode: 'retire',
    deadlineMs: ctx.now().getTime() + plan.deadlines.retireSeconds * 1000,
  });
  return {
    outcome: 'done',
    evidence: {
      revokedKeyId: oldKeyId,
      replacedPods: done.replacedPods.length,
      disabledAt: done.revoke?.disabledAt ?? null,
      rejectedAfterDisable: done.revoke?.rejectedAfterDisable ?? null,
      deletedAt: done.revoke?.deletedAt ?? null,
      rejectedAfterDelete: done.revoke?.rejectedAfterDelete ?? null,
    },
  };
};
