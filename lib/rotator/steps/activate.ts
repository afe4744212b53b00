import { isProviderError } from '../../providers/provider.js';
import { verifyAccepted } from '../../providers/s3/verify.js';
import type { Step, StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { iso } from '../clock.js';
import { readRecord, updateRecord, type GenerationRecord } from '../kube/record.js';
import { identityOf, providerCall, readStagedPair, verifyConnection, verifyOptions } from '../provider.js';
import { session } from '../session.js';

/**
 * activate: ensure the identity and its policy; add exactly the staged pair while the old key
 * stays valid (the identical pair already registered counts as done; the same ID with another
 * secret is refused by the provider with KEY_EXISTS); verify with real S3 calls signed by the new
 * key until accepted or `deadlines.activateSeconds`; write the record (phase activated).
 */
export const activate: Step = async (ctx) => {
  const rec = await activateKey(ctx);
  return { outcome: 'done', evidence: { activatedAt: rec.activatedAt, activation: rec.activationEvidence } };
};

/** The activation shared by activate and the panic revoke. */
export async function activateKey(ctx: StepContext): Promise<GenerationRecord> {
  const plan = ctx.plan;
  const s = session(ctx);
  const existing = (await readRecord(ctx, s.kube)).generations.get(plan.generation);
  if (existing?.activatedAt && existing.accessKeyId === plan.accessKeyId) return existing;
  const pair = await readStagedPair(ctx);
  const provider = await s.provider();
  if (provider !== null) {
    const identity = identityOf(ctx);
    const previous = (await readRecord(ctx, s.kube)).generations.get(plan.generation - 1);
    await ctx.boundary?.('provider:checkAdmin:before');
    await providerCall(ctx, () => provider.checkAdmin());
    ctx.lease?.assertHeld();
    await ctx.boundary?.('provider:ensureIdentity:before');
    await providerCall(ctx, () => provider.ensureIdentity(identity));
    await ctx.boundary?.('provider:ensureIdentity:after');
    ctx.lease?.assertHeld();
    await ctx.boundary?.('provider:addKey:before');
    try {
      await providerCall(ctx, () =>
        provider.addKey(identity, pair, {
          ...(plan.previousAccessKeyId ? { currentKeyId: plan.previousAccessKeyId } : {}),
          ...(previous?.previousAccessKeyId ? { previousKeyId: previous.previousAccessKeyId } : {}),
        }),
      );
    } catch (e) {
      if (isProviderError(e, 'KEY_EXISTS')) {
        throw rotationError(ctx, 'KEY_MISMATCH', `the provider holds access-key ID ${pair.accessKeyId} with another secret (or disabled): got KEY_EXISTS from ${provider.kind}. The staged pair and the provider disagree; run rekey rotate again for a fresh pair. Nothing was changed.`, { cause: e });
      }
      throw e;
    }
    await ctx.boundary?.('provider:addKey:after');
  }
  let evidence = 'external provider: the owner registered the key';
  if (provider !== null) {
    await ctx.boundary?.('provider:verifyAccepted:before');
    const v = await verifyAccepted(await verifyConnection(ctx), pair, verifyOptions(ctx, Math.min(plan.deadlines.activateSeconds, Math.max(plan.deadlines.verifySeconds, 1))));
    evidence = `verifyAccepted ${v.attempts} attempt(s) signed by ${pair.accessKeyId}`;
  }
  const now = iso(ctx.now());
  return updateRecord(ctx, s.kube, plan.generation, (r) => ({
    generation: plan.generation,
    phase: r?.phase ?? 'activated',
    accessKeyId: pair.accessKeyId,
    previousAccessKeyId: plan.previousAccessKeyId,
    activatedAt: r?.activatedAt ?? now,
    activationEvidence: r?.activationEvidence ?? evidence,
    targetsFirstSeen: r?.targetsFirstSeen ?? {},
    replacedPods: r?.replacedPods ?? [],
    ...(r?.deliveredAt ? { deliveredAt: r.deliveredAt } : {}),
  }), 'record-activated');
}
