import type { Step } from '../context.js';
import { rotationError } from '../errors.js';
import { iso } from '../clock.js';
import { readRecord, updateRecord } from '../kube/record.js';
import { heldKey, lacksPair } from '../kube/secrets.js';
import { waitUntil } from '../kube/watch.js';
import { session } from '../session.js';

/**
 * deliver: wait (one watch per target Secret) until every target Secret in the cluster holds the
 * new access-key ID in its data — the `rekey.dev/access-key-id` annotation alone is not enough
 * (see kube/secrets.ts) — then record it and exit 0; the deadline fails it naming the target.
 */
export const deliver: Step = async (ctx) => {
  const plan = ctx.plan;
  const s = session(ctx);
  const rec = (await readRecord(ctx, s.kube)).generations.get(plan.generation);
  const expected = plan.accessKeyId ?? rec?.accessKeyId ?? null;
  if (expected === null) {
    throw rotationError(ctx, 'EVIDENCE_MISSING', `no new access-key ID to look for: got none in the plan or the rotation record. Run the activate step of generation ${plan.generation} first.`, { keyId: null });
  }
  const deadline = ctx.now().getTime() + plan.deadlines.deliverSeconds * 1000;
  const watches = await Promise.all(plan.targets.map(async (t) => [t, await s.secret(t)] as const));
  await waitUntil(ctx, s.changes, deadline, `every target Secret holding access-key ID ${expected}`, 'Check the target\'s delivery (SealedSecret unsealed by the controller? ExternalSecret synced?) and re-run deliver.', () => {
    for (const [t, w] of watches) {
      const secret = w.get(t.secretName, t.namespace);
      if (secret === undefined) return { done: false, blockedBy: `target Secret ${t.namespace}/${t.secretName} absent` };
      const held = heldKey(secret, expected, t.keys);
      const lacks = lacksPair(held, (id) => id === expected);
      if (lacks !== null) {
        const ann = held.accessKeyId !== expected && held.annotation === expected ? ` (its annotation already says ${expected}: the data decides)` : '';
        return { done: false, blockedBy: `target Secret ${t.namespace}/${t.secretName} ${lacks}${ann}` };
      }
    }
    return { done: true };
  });
  const now = iso(ctx.now());
  if (rec) {
    await updateRecord(ctx, s.kube, plan.generation, (r) => ({
      ...r!,
      phase: r!.phase === 'activated' ? 'delivered' : r!.phase,
      deliveredAt: r!.deliveredAt ?? now,
      // the first-seen moment is an upper bound: the deliver step saw it now at the latest
      targetsFirstSeen: { ...Object.fromEntries(plan.targets.map((t) => [`${t.namespace}/${t.secretName}`, now])), ...r!.targetsFirstSeen },
    }), 'record-delivered');
  }
  return { outcome: 'done', evidence: { targets: plan.targets.length, deliveredAt: now } };
};
