import type { GuardResult, StepContext, StepName } from './context.js';
import { readRecord, updateRecord, type GenerationRecord } from './kube/record.js';
import { acquireLease } from './kube/lease.js';
import { retireKey } from './retire-key.js';
import { session } from './session.js';

/** This rotator's Lease holder identity: the pod name. */
export function holderOf(ctx: StepContext): string {
  return ctx.holder ?? ctx.env['REKEY_POD_NAME'] ?? ctx.env['POD_NAME'] ?? ctx.env['HOSTNAME'] ?? `rotator-${process.pid}`;
}

function stepDeadlineSeconds(ctx: StepContext): number {
  const d = ctx.plan.deadlines;
  return { activate: d.activateSeconds, deliver: d.deliverSeconds, retire: d.retireSeconds, revoke: d.activateSeconds }[ctx.step];
}

/** Why the step has nothing to do for this generation, from the record; null when it must run. */
export function alreadyDone(step: StepName, rec: GenerationRecord | undefined, accessKeyId: string | null): string | null {
  if (!rec || (accessKeyId !== null && rec.accessKeyId !== accessKeyId)) return null;
  switch (step) {
    case 'activate':
      return rec.activatedAt ? `key ${rec.accessKeyId} was activated at ${rec.activatedAt}` : null;
    case 'deliver':
      return rec.deliveredAt ? `every target held key ${rec.accessKeyId} at ${rec.deliveredAt}` : null;
    case 'retire':
    case 'revoke':
      return rec.phase === 'retired' || rec.phase === 'revoked' ? `the old key ${rec.previousAccessKeyId ?? '(none)'} was revoked (phase ${rec.phase}, ${rec.retiredAt ?? ''})` : null;
  }
}

/**
 * The guard, run before every step (AWS Secrets Manager's rotation template checks the secret's
 * stages the same way before dispatching). The plan is already valid (the dispatcher refused
 * anything else with exit 1). It takes the credential's Lease, reads the rotation record, exits
 * 0 when the step is already done for this generation or a newer generation exists, and —
 * before acting — finishes every unfinished previous generation: its old key is revoked under
 * the same evidence rule (no live consumer pod started before its Secret held a newer key), or
 * the step fails loudly when the evidence is missing. The Lease stays held until the
 * dispatcher closes the session.
 */
export async function guard(ctx: StepContext): Promise<GuardResult> {
  const s = session(ctx);
  const plan = ctx.plan;
  ctx.lease = await acquireLease(ctx, s.kube, holderOf(ctx), plan.lease.acquireSeconds ?? stepDeadlineSeconds(ctx));
  const record = await readRecord(ctx, s.kube);
  const newer = [...record.generations.keys()].filter((g) => g > plan.generation).sort((a, b) => a - b);
  if (newer.length > 0) return { proceed: false, reason: `generation ${newer.at(-1)} has started since: it finishes this generation's duties` };
  const done = alreadyDone(ctx.step, record.generations.get(plan.generation), plan.accessKeyId);
  if (done) return { proceed: false, reason: done };

  const unfinished = [...record.generations.values()].filter((r) => r.generation < plan.generation && (r.phase === 'activated' || r.phase === 'delivered')).sort((a, b) => a.generation - b.generation);
  for (const prev of unfinished) {
    const newerKeys = new Set<string>([...record.generations.values()].filter((r) => r.generation > prev.generation).flatMap((r) => (r.accessKeyId === null ? [] : [r.accessKeyId])));
    if (prev.accessKeyId !== null) newerKeys.add(prev.accessKeyId);
    if (plan.accessKeyId) newerKeys.add(plan.accessKeyId);
    ctx.logger.log('info', `rotator ${ctx.step} for credential ${plan.credential} generation ${plan.generation}: finishing unfinished generation ${prev.generation} first`, { step: ctx.step, credential: plan.credential, generation: plan.generation, previousGeneration: prev.generation, oldKeyId: prev.previousAccessKeyId });
    await retireKey(ctx, {
      generation: prev.generation,
      oldKeyId: prev.previousAccessKeyId,
      newerKeyIds: newerKeys,
      targets: plan.targets,
      consumers: plan.consumers,
      mode: ctx.step === 'revoke' ? 'panic' : 'retire',
      deadlineMs: ctx.now().getTime() + (ctx.step === 'revoke' ? 0 : plan.deadlines.retireSeconds * 1000),
    });
    await updateRecord(ctx, s.kube, prev.generation, (r) => ({ ...r!, finishedByGeneration: r!.finishedByGeneration ?? plan.generation }), 'record-finished-by');
  }
  return { proceed: true };
}
