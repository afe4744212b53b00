import type { PlanTarget } from '../../core/plan.js';
import type { Step, StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { unmountedCsiTarget } from '../evidence.js';
import { backoff, iso } from '../clock.js';
import { describeKubeError, isNotFound, MERGE_PATCH } from '../kube/api.js';
import { readRecord, updateRecord } from '../kube/record.js';
import { heldKey, lacksPair } from '../kube/secrets.js';
import { waitUntil } from '../kube/watch.js';
import { session } from '../session.js';

/** The annotation whose change makes ESO refresh an ExternalSecret (what Argo CD's "refresh" action sets). */
export const FORCE_SYNC_ANNOTATION = 'force-sync';
/** The generation annotation rekey renders into an ExternalSecret's `target.template.metadata`. */
export const GENERATION_ANNOTATION = 'rekey.dev/generation';
/** How long ESO gets to refresh a target by itself before the first force-sync. */
export const FORCE_SYNC_GRACE_MS = 10_000;

/**
 * deliver: wait (one watch per target Secret) until every target Secret in the cluster holds the
 * new access-key ID in its data — the plan's, or for provider-drawn keys the record's (the
 * `rekey.dev/access-key-id` annotation alone is not enough, see kube/secrets.ts) — then record
 * it and exit 0; the deadline fails it naming the target.
 *
 * External targets: an ExternalSecret with `refreshPolicy: OnChange` refreshes once when its
 * spec changes; if that happened before the PushSecret pushed the new pair, it synced the OLD
 * pair and will not refresh again by itself. So when a target still holds another key while its
 * ExternalSecret reports Ready for its current spec (status.syncedResourceVersion
 * `<metadata.generation>-…`, and the rendered generation annotation is this plan's), the step
 * patches the ExternalSecret's `force-sync` annotation (`<generation>-<attempt>-<n>`) — at most
 * once per backoff period per target (10 s grace, then 10, 20, 40, 80 s), logged — and keeps
 * waiting. It reads the ExternalSecret only then (GET by name; the Role grants get/patch).
 */
export const deliver: Step = async (ctx) => {
  const plan = ctx.plan;
  const s = session(ctx);
  const rec = (await readRecord(ctx, s.kube)).generations.get(plan.generation);
  const expected = plan.accessKeyId ?? (rec?.activatedAt ? rec.accessKeyId : null);
  if (expected === null) {
    throw rotationError(ctx, 'EVIDENCE_MISSING', `no new access-key ID to look for: got none in the plan and ${rec ? `phase ${rec.phase}` : 'no entry'} in the rotation record. Run the activate step of generation ${plan.generation} first.`, { keyId: null });
  }
  const started = ctx.now().getTime();
  const deadline = started + plan.deadlines.deliverSeconds * 1000;
  const watches = await Promise.all(plan.targets.map(async (t) => [t, await s.secret(t)] as const));
  const nudges = new Map<string, { next: number; count: number; note: string }>();
  const forceSynced: Record<string, string> = {};
  const unmountedCsi = new Set<string>();
  await waitUntil(ctx, s.changes, deadline, `every target Secret holding access-key ID ${expected}`, 'Check the target\'s delivery (SealedSecret unsealed by the controller? ExternalSecret synced?) and re-run deliver.', async () => {
    let first: string | undefined;
    for (const [t, w] of watches) {
      const secret = w.get(t.secretName, t.namespace);
      let blocked: string | undefined;
      if (unmountedCsiTarget(secret, t)) {
        if (!unmountedCsi.has(`${t.namespace}/${t.secretName}`)) {
          unmountedCsi.add(`${t.namespace}/${t.secretName}`);
          ctx.logger.log('info', `rotator ${ctx.step} for credential ${plan.credential} generation ${plan.generation}: CSI-synced target Secret ${t.namespace}/${t.secretName} absent (no pod mounts SecretProviderClass ${t.csi.secretProviderClass}): counts as delivered`, { step: ctx.step, credential: plan.credential, generation: plan.generation, target: `${t.namespace}/${t.secretName}`, keyId: expected });
        }
        continue;
      }
      if (secret === undefined) blocked = `target Secret ${t.namespace}/${t.secretName} absent`;
      else {
        const held = heldKey(secret, expected, t.keys);
        const lacks = lacksPair(held, (id) => id === expected);
        if (lacks !== null) {
          const ann = held.accessKeyId !== expected && held.annotation === expected ? ` (its annotation already says ${expected}: the data decides)` : '';
          blocked = `target Secret ${t.namespace}/${t.secretName} ${lacks}${ann}`;
        }
      }
      if (blocked === undefined) continue;
      if (t.delivery === 'external') {
        const k = `${t.namespace}/${t.secretName}`;
        const n = nudges.get(k) ?? { next: started + FORCE_SYNC_GRACE_MS, count: 0, note: '' };
        nudges.set(k, n);
        if (ctx.now().getTime() >= n.next) {
          n.note = await nudge(ctx, t, n.count, forceSynced);
          n.count++;
          n.next = ctx.now().getTime() + backoff(n.count - 1, 10_000, 80_000);
        }
        if (n.note) blocked += ` (${n.note})`;
      }
      first ??= blocked;
    }
    return first === undefined ? { done: true } : { done: false, blockedBy: first };
  }, expected);
  const now = iso(ctx.now());
  if (rec) {
    await updateRecord(ctx, s.kube, plan.generation, (r) => ({
      ...r!,
      phase: r!.phase === 'activated' ? 'delivered' : r!.phase,
      deliveredAt: r!.deliveredAt ?? now,
      ...(Object.keys(forceSynced).length > 0 ? { forceSynced: { ...(r!.forceSynced ?? {}), ...forceSynced } } : {}),
      // the first-seen moment is an upper bound: the deliver step saw it now at the latest
      targetsFirstSeen: { ...Object.fromEntries(plan.targets.map((t) => [`${t.namespace}/${t.secretName}`, now])), ...r!.targetsFirstSeen },
    }), 'record-delivered');
  }
  return { outcome: 'done', evidence: { targets: plan.targets.length, deliveredAt: now, forceSynced: Object.keys(forceSynced).sort().join(',') || null } };
};

interface ExternalSecretObject {
  metadata?: { generation?: number; annotations?: Record<string, string> };
  spec?: { target?: { template?: { metadata?: { annotations?: Record<string, string> } } } };
  status?: { syncedResourceVersion?: string; refreshTime?: string; conditions?: { type?: string; status?: string; reason?: string }[] };
}

/**
 * Looks at the target's ExternalSecret once and force-syncs it when it is stuck on an old
 * pair. Returns a note for the wait's message. A failed GET/patch is noted, never fatal: the
 * deadline names the target either way.
 */
async function nudge(ctx: StepContext, t: PlanTarget, count: number, forceSynced: Record<string, string>): Promise<string> {
  const s = session(ctx);
  const plan = ctx.plan;
  const ref = { group: 'external-secrets.io', version: 'v1', namespace: t.namespace, plural: 'externalsecrets', name: t.secretName };
  const what = `ExternalSecret ${t.namespace}/${t.secretName}`;
  let es: ExternalSecretObject;
  try {
    es = (await s.kube.custom.getNamespacedCustomObject(ref)) as ExternalSecretObject;
  } catch (e) {
    return isNotFound(e) ? `${what} absent` : `${what} unreadable: ${describeKubeError(e)}`;
  }
  const rendered = es.spec?.target?.template?.metadata?.annotations?.[GENERATION_ANNOTATION];
  if (rendered !== undefined && rendered !== String(plan.generation)) return `${what} renders generation ${rendered}, not ${plan.generation}: not synced by GitOps yet`;
  const ready = es.status?.conditions?.find((c) => c.type === 'Ready');
  const gen = es.metadata?.generation ?? 0;
  if (ready?.status !== 'True') return `${what} not Ready (${ready?.reason ?? 'no status'}): ESO retries by itself`;
  if (!(es.status?.syncedResourceVersion ?? '').startsWith(`${gen}-`)) return `${what} not refreshed for generation ${gen} yet`;
  // synced its current spec, yet the target holds another key: it read the store before the push
  const prefix = `${plan.generation}-${plan.attempt}-`;
  const current = es.metadata?.annotations?.[FORCE_SYNC_ANNOTATION] ?? '';
  const n = (current.startsWith(prefix) ? Number(current.slice(prefix.length)) || 0 : 0) + 1;
  const value = `${prefix}${n}`;
  ctx.logger.log('info', `rotator ${ctx.step} for credential ${plan.credential} generation ${plan.generation}: ${what} synced before the store held the new pair; force-sync ${value}`, { step: ctx.step, credential: plan.credential, generation: plan.generation, externalSecret: `${t.namespace}/${t.secretName}`, forceSync: value, syncedResourceVersion: es.status?.syncedResourceVersion ?? null, refreshTime: es.status?.refreshTime ?? null, round: count + 1 });
  ctx.lease?.assertHeld();
  await ctx.boundary?.('kube:force-sync:before');
  try {
    await s.kube.custom.patchNamespacedCustomObject({ ...ref, body: { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: value } } } }, MERGE_PATCH);
  } catch (e) {
    // a lost reply may have applied it: the next round reads the annotation again
    return `force-sync of ${what} failed: ${describeKubeError(e)}`;
  }
  await ctx.boundary?.('kube:force-sync:after');
  forceSynced[`${t.namespace}/${t.secretName}`] = value;
  return `${what} force-synced (${value})`;
}
