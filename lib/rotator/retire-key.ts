/**
 * Retiring one old key under the evidence rule (see evidence.ts), written once and used by the
 * retire step, the panic revoke, and every step that finishes an unfinished previous rotation.
 *
 * Order: target Secrets hold a newer key (first-seen moment stored) → the consumers' own
 * rollouts → stale pods replaced one at a time (OnDelete StatefulSets highest ordinal first by
 * delete, every other pod through the Eviction API; each replacement Ready before the next),
 * Job pods finish, file consumers wait out the kubelet refresh → overlap after activation →
 * a last check of every consumer pod → disable, prove rejected, delete, prove rejected. Every
 * wait has the deadline of the caller; a timeout or error before the revoke leaves the old key
 * valid and names what blocked it.
 */
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { PlanConsumer, PlanTarget } from '../core/plan.js';
import { SecretValue } from '../core/secret-value.js';
import { isProviderError, type KeyPair } from '../providers/provider.js';
import { verifyRejected } from '../providers/s3/verify.js';
import type { StepContext } from './context.js';
import { rotationError } from './errors.js';
import { backoff, iso, realSleep } from './clock.js';
import { controllerOf, isFinished, isReady, isTerminating, judge, judgeCsi, ordinal, referenceOf, unmountedCsiTarget, type Reference, type Verdict } from './evidence.js';
import { describeKubeError, isNotFound, isTooManyRequests, isTransient } from './kube/api.js';
import { readRecord, updateRecord, type GenerationRecord, type PodEvidence } from './kube/record.js';
import { heldKey, heldPair, lacksPair } from './kube/secrets.js';
import { readStaging } from './kube/staging.js';
import { waitUntil } from './kube/watch.js';
import { identityOf, providerCall, readStagedPair, verifyConnection, verifyOptions } from './provider.js';
import { session, type RolloutObject } from './session.js';

export interface RetireJob {
  /** The generation whose record this retire writes (and whose old key it revokes). */
  readonly generation: number;
  readonly oldKeyId: string | null;
  /** Keys newer than the old one: a target holding any of them has moved on. */
  readonly newerKeyIds: ReadonlySet<string>;
  readonly targets: readonly PlanTarget[];
  readonly consumers: readonly PlanConsumer[];
  /** `panic`: no waiting, no overlap; stale pods are listed, not replaced. */
  readonly mode: 'retire' | 'panic';
  /** Absolute deadline (ms, context clock) of every wait before the revoke. */
  readonly deadlineMs: number;
}

const tkey = (t: { namespace: string; secretName: string }) => `${t.namespace}/${t.secretName}`;

interface ConsumerPod {
  readonly pod: V1Pod;
  readonly ref: Reference;
  readonly target: string;
  readonly verdict: Verdict;
}

/** Runs the retire of one old key; returns the record as written. */
export async function retireKey(ctx: StepContext, job: RetireJob): Promise<GenerationRecord> {
  const s = session(ctx);
  const kube = s.kube;
  const log = (msg: string, fields: Record<string, string | number | boolean | null | string[]> = {}) =>
    ctx.logger.log('info', `rotator ${ctx.step} for credential ${ctx.plan.credential} generation ${job.generation}: ${msg}`, { step: ctx.step, credential: ctx.plan.credential, generation: job.generation, oldKeyId: job.oldKeyId, ...fields });

  let rec = (await readRecord(ctx, kube)).generations.get(job.generation);
  if (!rec) throw rotationError(ctx, 'EVIDENCE_MISSING', `rotation record of generation ${job.generation} is missing: got none in ${ctx.plan.rotatorNamespace}/${ctx.plan.recordConfigMap}. Run the activate step of that generation first; the old key stays valid.`, { keyId: job.oldKeyId });
  if (rec.phase === 'retired' || rec.phase === 'revoked') return rec;
  if (job.oldKeyId === null) {
    return updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, phase: job.mode === 'panic' ? 'revoked' : 'retired', retiredAt: r!.retiredAt ?? iso(ctx.now()) }), 'record-retired');
  }
  const known = new Set(job.targets.map(tkey));
  const missing = Object.keys(rec.targetsFirstSeen).filter((k) => !known.has(k));
  if (missing.length > 0) {
    throw rotationError(ctx, 'EVIDENCE_MISSING', `target ${missing[0]} of generation ${job.generation} is not a target of this plan: got targets ${[...known].join(', ') || 'none'}. rekey cannot prove its consumers moved off key ${job.oldKeyId}; revoke it by hand after checking them, or restore the target. The key stays valid.`, { keyId: job.oldKeyId });
  }

  const namespaces = [...new Set(job.targets.map((t) => t.namespace))].sort();
  const podWatches = await Promise.all(namespaces.map((ns) => s.pods(ns)));
  /** A live pod mounts the target's CSI volume (the driver keeps the synced Secret only while one does). */
  const csiMounted = (t: PlanTarget): boolean =>
    podWatches.some((w) => w.list().some((pod) => pod.metadata?.namespace === t.namespace && !isFinished(pod) && referenceOf(pod, t.secretName, t.csi) !== null));

  // ---- 1. every target Secret holds a newer key; note the first-seen moment once
  const secrets = await Promise.all(job.targets.map(async (t) => [t, await s.secret(t)] as const));
  const firstSeen = new Map<string, number>(Object.entries(rec.targetsFirstSeen).map(([k, v]) => [k, Date.parse(v)]));
  const observeTargets = async (): Promise<string | null> => {
    const fresh: Record<string, string> = {};
    let blocked: string | null = null;
    for (const [t, w] of secrets) {
      const secret = w.get(t.secretName, t.namespace);
      const held = secret ? heldKey(secret, [...job.newerKeyIds][0], t.keys) : undefined;
      const lacks = held ? lacksPair(held, (id) => job.newerKeyIds.has(id)) : 'absent';
      if (lacks === null) {
        if (!firstSeen.has(tkey(t))) fresh[tkey(t)] = iso(ctx.now());
      } else if (unmountedCsiTarget(secret, t, csiMounted)) {
        if (!firstSeen.has(tkey(t))) fresh[tkey(t)] = iso(ctx.now());
      } else {
        blocked ??= `Secret ${tkey(t)} ${lacks}`;
      }
    }
    if (Object.keys(fresh).length > 0) {
      rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, targetsFirstSeen: { ...fresh, ...r!.targetsFirstSeen } }), 'record-first-seen');
      for (const [k, v] of Object.entries(rec.targetsFirstSeen)) firstSeen.set(k, Date.parse(v));
      log('targets first seen with a newer key', { targets: Object.keys(fresh) });
    }
    return blocked;
  };
  if (job.mode === 'panic') {
    await observeTargets();
  } else {
    await waitUntil(ctx, s.changes, job.deadlineMs, `every target Secret holding a key newer than ${job.oldKeyId}`, 'Check the target\'s delivery (SealedSecret unsealed? ExternalSecret synced?); the old key stays valid.', async () => {
      const blocked = await observeTargets();
      return blocked === null ? { done: true } : { done: false, blockedBy: blocked };
    }, job.oldKeyId);
  }

  // ---- consumer pods, judged over the pod caches
  const refreshSeconds = ctx.plan.deadlines.kubeletRefreshSeconds;
  const consumerPods = (): ConsumerPod[] => {
    const out: ConsumerPod[] = [];
    for (const w of podWatches) {
      for (const pod of w.list()) {
        for (const t of job.targets) {
          if (t.namespace !== pod.metadata?.namespace) continue;
          const ref = referenceOf(pod, t.secretName, t.csi);
          if (ref === null) continue;
          const now = ctx.now().getTime();
          const seen = firstSeen.get(tkey(t)) ?? now;
          const verdict = t.csi !== null ? judgeCsi(pod, ref, t.csi, seen, refreshSeconds, now) : judge(pod, ref, seen, refreshSeconds, now);
          out.push({ pod, ref, target: tkey(t), verdict });
        }
      }
    }
    return out;
  };
  const podName = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;

  if (job.mode === 'panic') {
    const stale = [...new Set(consumerPods().filter((c) => c.verdict.state !== 'current').map((c) => podName(c.pod)))].sort();
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, stalePodsAtRevoke: r!.stalePodsAtRevoke ?? stale }), 'record-stale');
    if (stale.length > 0) ctx.logger.log('warn', `rotator ${ctx.step} for credential ${ctx.plan.credential}: revoking ${job.oldKeyId} with ${stale.length} consumer pod(s) still stale`, { step: ctx.step, credential: ctx.plan.credential, oldKeyId: job.oldKeyId, stalePods: stale });
    return revokeOld(ctx, job, rec);
  }

  // ---- 2. the consumers' own rollouts
  const rolling = job.consumers.filter((c) => c.kind === 'Deployment' || c.kind === 'DaemonSet' || c.kind === 'Rollout' || (c.kind === 'StatefulSet' && c.updateStrategy === 'RollingUpdate'));
  const workloadWatches = new Map<string, Awaited<ReturnType<typeof s.workloads>>>();
  for (const c of rolling) workloadWatches.set(`${c.kind}/${c.namespace}/${c.name}`, await s.workloads(c.kind, c.namespace, c.name));
  await waitUntil(ctx, s.changes, job.deadlineMs, 'the consumers\' rollouts', 'Check the workload (kubectl rollout status); the old key stays valid.', () => {
    for (const c of rolling) {
      const obj = workloadWatches.get(`${c.kind}/${c.namespace}/${c.name}`)!.get(c.name, c.namespace);
      const why = rolloutPending(c, obj);
      if (why) return { done: false, blockedBy: `${c.kind} ${c.namespace}/${c.name} ${why}` };
    }
    return { done: true };
  }, job.oldKeyId);
  if (rolling.length > 0) log('consumer rollouts complete', { workloads: rolling.map((c) => `${c.kind}/${c.namespace}/${c.name}`) });

  // ---- 3. stale pods: replace one at a time; Job pods finish; file consumers refresh
  const stsStrategy = new Map<string, string>();
  const strategyOf = async (ns: string, name: string): Promise<string> => {
    const k = `${ns}/${name}`;
    if (!stsStrategy.has(k)) {
      const c = job.consumers.find((x) => x.kind === 'StatefulSet' && x.namespace === ns && x.name === name);
      let strategy: string | undefined = c?.updateStrategy ?? undefined;
      if (!strategy) {
        try {
          const sts: V1StatefulSet = await kube.apps.readNamespacedStatefulSet({ name, namespace: ns });
          strategy = sts.spec?.updateStrategy?.type ?? 'RollingUpdate';
        } catch {
          strategy = 'RollingUpdate';
        }
      }
      stsStrategy.set(k, strategy ?? 'RollingUpdate');
    }
    return stsStrategy.get(k)!;
  };
  const replaced: PodEvidence[] = [...rec.replacedPods];
  // stale pods the step waited out instead of replacing: Job pods (until they finished) and file consumers (until the kubelet refresh bound)
  const waitedOut = new Map<string, { namespace: string; pod: string; how: 'finished' | 'refreshed'; at?: number }>();
  for (;;) {
    const pods = consumerPods();
    const pending = pods.filter((c) => c.verdict.state !== 'current');
    for (const c of pending) {
      const key = `${c.pod.metadata?.uid}`;
      if (c.verdict.state === 'refreshing') waitedOut.set(key, { namespace: c.pod.metadata!.namespace!, pod: c.pod.metadata!.name!, how: 'refreshed', at: c.verdict.at });
      else if (controllerOf(c.pod)?.kind === 'Job' && !isFinished(c.pod)) waitedOut.set(key, { namespace: c.pod.metadata!.namespace!, pod: c.pod.metadata!.name!, how: 'finished' });
    }
    if (pending.length === 0) break;
    // candidates: stale, alive, not terminating, not run-to-completion
    const candidates: { c: ConsumerPod; onDelete: boolean }[] = [];
    for (const c of pending) {
      if (c.verdict.state !== 'stale' || isTerminating(c.pod) || isFinished(c.pod)) continue;
      const owner = controllerOf(c.pod);
      if (owner?.kind === 'Job') continue;
      const onDelete = owner?.kind === 'StatefulSet' && (await strategyOf(c.pod.metadata!.namespace!, owner.name)) === 'OnDelete';
      candidates.push({ c, onDelete });
    }
    if (candidates.length === 0) {
      // only waits left: terminating pods, Job pods, file consumers refreshing
      const before = pods.map((c) => `${podName(c.pod)}:${c.pod.metadata?.uid}:${c.verdict.state}`).join(',');
      await waitUntil(ctx, s.changes, job.deadlineMs, 'the last stale consumer pods going away', 'A Job pod must finish, a terminating pod must go; a file consumer waits the kubelet refresh bound. The old key stays valid.', () => {
        const now = consumerPods();
        const still = now.filter((c) => c.verdict.state !== 'current');
        if (still.length === 0) return { done: true };
        const after = now.map((c) => `${podName(c.pod)}:${c.pod.metadata?.uid}:${c.verdict.state}`).join(',');
        if (after !== before) return { done: true }; // something changed: re-plan
        const first = still[0]!;
        const why = first.verdict.state === 'refreshing' ? `${first.verdict.why ?? 'file consumer waits for the kubelet refresh'} until ${new Date(first.verdict.at).toISOString()}` : controllerOf(first.pod)?.kind === 'Job' ? 'Job pod still running with the old key' : isTerminating(first.pod) ? 'still terminating' : (first.verdict as { why: string }).why;
        return { done: false, blockedBy: `pod ${podName(first.pod)} ${why}` };
      }, job.oldKeyId);
      continue;
    }
    candidates.sort((a, b) => {
      const ka = `${a.c.pod.metadata?.namespace}/${controllerOf(a.c.pod)?.name ?? ''}`;
      const kb = `${b.c.pod.metadata?.namespace}/${controllerOf(b.c.pod)?.name ?? ''}`;
      if (ka !== kb) return ka < kb ? -1 : 1;
      return ordinal(b.c.pod) - ordinal(a.c.pod); // highest ordinal first
    });
    const next = candidates[0]!;
    const how = await replacePod(ctx, job, next.c.pod, next.onDelete, podWatches, (next.c.verdict as { why: string }).why);
    const ev: PodEvidence = { namespace: next.c.pod.metadata!.namespace!, pod: next.c.pod.metadata!.name!, how, at: iso(ctx.now()) };
    replaced.push(ev);
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, replacedPods: r!.replacedPods.some((p) => p.pod === ev.pod && p.namespace === ev.namespace && p.at === ev.at) ? r!.replacedPods : [...r!.replacedPods, ev] }), 'record-replaced');
  }
  if (waitedOut.size > 0) {
    const now = iso(ctx.now());
    const evidence: PodEvidence[] = [...waitedOut.values()].map((w) => ({ namespace: w.namespace, pod: w.pod, how: w.how, at: w.at === undefined ? now : iso(new Date(w.at)) }));
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, replacedPods: [...r!.replacedPods, ...evidence.filter((e) => !r!.replacedPods.some((p) => p.pod === e.pod && p.namespace === e.namespace && p.how === e.how))] }), 'record-waited');
    log('stale consumer pods waited out', { pods: evidence.map((e) => `${e.namespace}/${e.pod} ${e.how}`) });
  }
  log('every consumer pod is current', { consumerPods: consumerPods().length, replacedPods: replaced.length });

  // ---- 4. overlap after activation (from the record: a restarted Job does not wait twice)
  const overlapEnds = Date.parse(rec.activatedAt) + ctx.plan.overlapSeconds * 1000;
  if (ctx.now().getTime() < overlapEnds) {
    log('waiting for the overlap to end', { until: iso(new Date(overlapEnds)) });
    await waitUntil(ctx, s.changes, Math.max(job.deadlineMs, overlapEnds + 60_000), 'the end of the overlap', 'The overlap is overlapSeconds after activation.', () => (ctx.now().getTime() >= overlapEnds ? { done: true } : { done: false, blockedBy: `overlap until ${iso(new Date(overlapEnds))}` }), job.oldKeyId);
  }

  // ---- 5. last check right before the revoke: no CSI-synced Secret holds an older key again (a mount
  // that never refreshed rewrites it), no stale consumer pod is alive
  const csiTargets = secrets.filter(([t]) => t.csi !== null);
  if (csiTargets.length > 0) {
    await waitUntil(ctx, s.changes, Math.max(job.deadlineMs, ctx.now().getTime() + 1000), 'every CSI-synced target Secret holding a newer key again', 'A mount that the driver never refreshed rewrites the synced Secret with the old pair: check that the driver runs with --enable-secret-rotation=true. The old key stays valid.', () => {
      for (const [t, w] of csiTargets) {
        const secret = w.get(t.secretName, t.namespace);
        if (secret === undefined) continue; // no pod mounts the volume any more
        const held = heldKey(secret, [...job.newerKeyIds][0]);
        if (held.accessKeyId === null || !job.newerKeyIds.has(held.accessKeyId)) return { done: false, blockedBy: `Secret ${tkey(t)} holds access-key ID ${held.ids.join('/') || 'none recognised'}` };
      }
      return { done: true };
    }, job.oldKeyId);
  }
  const last = consumerPods().filter((c) => c.verdict.state !== 'current');
  if (last.length > 0) {
    throw rotationError(ctx, 'STEP_FAILED', `consumer pod ${podName(last[0]!.pod)} turned stale right before the revoke: got ${last[0]!.verdict.state}. Re-run the retire step; the old key ${job.oldKeyId} stays valid.`, { keyId: job.oldKeyId });
  }
  return revokeOld(ctx, job, rec);
}

function rolloutPending(c: PlanConsumer, obj: KubernetesObject | undefined): string | null {
  if (obj === undefined) return 'not found';
  const o = obj as KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
  const gen = o.metadata?.generation ?? 0;
  const st = o.status ?? {};
  const num = (k: string) => (typeof st[k] === 'number' ? (st[k] as number) : 0);
  const replicas = typeof o.spec?.replicas === 'number' ? (o.spec.replicas as number) : 1;
  if (c.kind === 'Rollout') {
    const r = obj as RolloutObject;
    if (String(r.status?.observedGeneration ?? '') !== String(gen)) return `observedGeneration ${String(r.status?.observedGeneration ?? 'none')} < generation ${gen}`;
    if (r.status?.phase !== 'Healthy') return `phase ${String(r.status?.phase ?? 'none')}`;
    return null;
  }
  if (num('observedGeneration') < gen) return `observedGeneration ${num('observedGeneration')} < generation ${gen}`;
  if (c.kind === 'Deployment') {
    if (num('updatedReplicas') < replicas) return `updatedReplicas ${num('updatedReplicas')} < ${replicas}`;
    if (num('replicas') > num('updatedReplicas')) return `replicas ${num('replicas')} > updatedReplicas ${num('updatedReplicas')}`;
    if (num('availableReplicas') < num('updatedReplicas')) return `availableReplicas ${num('availableReplicas')} < ${num('updatedReplicas')}`;
    return null;
  }
  if (c.kind === 'DaemonSet') {
    const desired = num('desiredNumberScheduled');
    if (num('updatedNumberScheduled') < desired) return `updatedNumberScheduled ${num('updatedNumberScheduled')} < ${desired}`;
    if (num('numberAvailable') < desired) return `numberAvailable ${num('numberAvailable')} < ${desired}`;
    return null;
  }
  // RollingUpdate StatefulSet
  if (num('readyReplicas') < replicas) return `readyReplicas ${num('readyReplicas')} < ${replicas}`;
  if (num('updatedReplicas') < replicas) return `updatedReplicas ${num('updatedReplicas')} < ${replicas}`;
  return null;
}

/**
 * Replaces one stale pod and waits until its replacement is Ready: delete (OnDelete
 * StatefulSet: the controller recreates the same name) or evict (PDBs hold; 429 is retried with
 * backoff until the deadline). A lost reply is observed: the pod gone, terminating or with
 * another UID counts as done.
 */
async function replacePod(ctx: StepContext, job: RetireJob, pod: V1Pod, onDelete: boolean, podWatches: readonly { get(name: string, ns?: string): V1Pod | undefined; list(): readonly V1Pod[] }[], why: string): Promise<'evicted' | 'deleted'> {
  const s = session(ctx);
  const sleep = ctx.sleep ?? realSleep;
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const uid = pod.metadata!.uid!;
  const owner = controllerOf(pod);
  const cache = () => podWatches.map((w) => w.get(name, ns)).find((p) => p !== undefined);
  const readyPeers = () => (owner ? podWatches.flatMap((w) => w.list()).filter((p) => p.metadata?.namespace === ns && controllerOf(p)?.uid === owner.uid && !isTerminating(p) && isReady(p) && p.metadata?.uid !== uid).length : 0);
  const peersBefore = readyPeers() + (isReady(pod) ? 1 : 0);
  const gone = (p: V1Pod | undefined) => p === undefined || p.metadata?.uid !== uid || isTerminating(p);
  const how = onDelete ? 'deleted' : 'evicted';
  ctx.logger.log('info', `rotator ${ctx.step} for credential ${ctx.plan.credential}: replacing stale pod ${ns}/${name} (${how})`, { step: ctx.step, credential: ctx.plan.credential, pod: `${ns}/${name}`, how, why, oldKeyId: job.oldKeyId });
  ctx.lease?.assertHeld();
  let lastRefusal = '';
  for (let attempt = 0; ; attempt++) {
    if (gone(cache())) break;
    if (ctx.now().getTime() >= job.deadlineMs) {
      throw rotationError(ctx, 'DEADLINE_EXCEEDED', `${how === 'evicted' ? 'eviction' : 'deletion'} of stale pod ${ns}/${name} did not succeed before the deadline: got ${lastRefusal || 'no success'}. Check its PodDisruptionBudget and the workload's health; the old key ${job.oldKeyId} stays valid.`, { keyId: job.oldKeyId });
    }
    await ctx.boundary?.(`kube:${how === 'evicted' ? 'evict' : 'delete'}:before`);
    let applied = false;
    try {
      if (onDelete) await s.kube.core.deleteNamespacedPod({ name, namespace: ns, body: { preconditions: { uid } } });
      else await s.kube.core.createNamespacedPodEviction({ name, namespace: ns, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns }, deleteOptions: { preconditions: { uid } } } });
      applied = true;
    } catch (e) {
      if (isNotFound(e) || (e as { code?: number }).code === 409) break; // gone, or another UID now: done
      lastRefusal = describeKubeError(e);
      if (!isTooManyRequests(e) && !isTransient(e)) {
        throw rotationError(ctx, 'KUBE_ERROR', `${how === 'evicted' ? 'eviction' : 'deletion'} of stale pod ${ns}/${name} failed: got ${lastRefusal}. Grant the rotator ${how === 'evicted' ? 'create on pods/eviction' : 'delete on pods'} in ${ns}; the old key stays valid.`, { keyId: job.oldKeyId, cause: e });
      }
      // observe: a lost reply may have applied it
      try {
        const now = await s.kube.core.readNamespacedPod({ name, namespace: ns });
        if (gone(now)) break;
      } catch (e2) {
        if (isNotFound(e2)) break;
      }
      await Promise.race([s.changes.next(), sleep(backoff(attempt, 1000, 10_000))]);
    }
    if (applied) {
      await ctx.boundary?.(`kube:${how === 'evicted' ? 'evict' : 'delete'}:after`);
      break;
    }
  }
  // the replacement Ready before the next
  await waitUntil(ctx, s.changes, job.deadlineMs, `the replacement of stale pod ${ns}/${name} becoming Ready`, 'Check why the new pod is not Ready (image, probes, the new key); the old key stays valid.', () => {
    const p = cache();
    if (p !== undefined && p.metadata?.uid === uid) return { done: false, blockedBy: `pod ${ns}/${name} still terminating` };
    if (onDelete) {
      if (p === undefined) return { done: false, blockedBy: `pod ${ns}/${name} not recreated yet` };
      return isReady(p) ? { done: true } : { done: false, blockedBy: `new pod ${ns}/${name} not Ready` };
    }
    if (!owner) return { done: true };
    const ready = readyPeers();
    if (ready >= peersBefore) return { done: true };
    const notReady = podWatches.flatMap((w) => w.list()).find((x) => x.metadata?.namespace === ns && controllerOf(x)?.uid === owner.uid && !isTerminating(x) && !isReady(x));
    return { done: false, blockedBy: notReady ? `replacement pod ${ns}/${notReady.metadata?.name} not Ready (${ready} of ${peersBefore} Ready)` : `${owner.kind} ${ns}/${owner.name} has ${ready} of ${peersBefore} pods Ready` };
  }, job.oldKeyId);
  return how;
}

/** A pair that signs with the old key's ID and a random secret: only an "unknown key" answer proves rejection; a live key answers SignatureDoesNotMatch, which never counts. */
function probeFor(keyId: string): KeyPair {
  return { accessKeyId: keyId, secretAccessKey: SecretValue.fromBuffer(randomBytes(30)) };
}

/** The control key: the pair a target Secret holds now (a newer key), else the staged pair. */
async function controlKey(ctx: StepContext, job: RetireJob): Promise<KeyPair> {
  const s = session(ctx);
  for (const t of job.targets) {
    const w = await s.secret(t);
    const secret = w.get(t.secretName, t.namespace);
    const pair = secret ? heldPair(secret, t.keys) : undefined;
    if (pair && job.newerKeyIds.has(pair.accessKeyId)) return pair;
  }
  if (ctx.plan.keySource.kind !== 'providerDrawn' && (ctx.step === 'activate' || ctx.step === 'revoke' || ctx.readMounted)) {
    try {
      const staged = await readStagedPair(ctx);
      if (job.newerKeyIds.has(staged.accessKeyId)) return staged;
    } catch {
      // fall through
    }
  }
  if (ctx.plan.keySource.kind === 'providerDrawn' && job.generation === ctx.plan.generation) {
    // the pair this generation drew, from its staging Secret (read through the API)
    try {
      const staged = await readStaging(ctx, s.kube);
      if (staged && job.newerKeyIds.has(staged.accessKeyId)) return staged;
    } catch {
      // fall through: no control key
    }
  }
  throw rotationError(ctx, 'EVIDENCE_MISSING', `no control key to prove ${job.oldKeyId} rejected: got no target Secret with a preset alias pair of a newer key and no staged pair. Without a control, a rejection proves nothing; the old key stays valid.`, { keyId: job.oldKeyId });
}

/** Two-phase revoke with proof; each phase recorded, so a re-run resumes where it stopped. */
async function revokeOld(ctx: StepContext, job: RetireJob, rec: GenerationRecord): Promise<GenerationRecord> {
  const s = session(ctx);
  const kube = s.kube;
  const old = job.oldKeyId!;
  const finalPhase = job.mode === 'panic' ? 'revoked' : 'retired';
  const provider = await s.provider();
  if (provider === null) {
    // external: the owner revokes the key; rekey proved the consumers moved
    return updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, phase: finalPhase, retiredAt: r!.retiredAt ?? iso(ctx.now()), revoke: r!.revoke ?? { keyId: old, disabledAt: 'external: revoked by the key owner' } }), 'record-retired');
  }
  const identity = identityOf(ctx);
  const conn = await verifyConnection(ctx);
  const control = await controlKey(ctx, job);
  const vopts = { ...verifyOptions(ctx, ctx.plan.deadlines.verifySeconds), control };
  const probe = probeFor(old);
  const stamp = () => iso(ctx.now());
  if (!rec.revoke?.disabledAt) {
    ctx.lease?.assertHeld();
    await ctx.boundary?.('provider:disableKey:before');
    let note: string;
    try {
      await providerCall(ctx, () => provider.disableKey(identity, old));
      note = stamp();
    } catch (e) {
      if (!isProviderError(e, 'PROVIDER_UNSUPPORTED')) throw e;
      note = `unsupported by ${provider.kind}: deleted directly`;
    }
    await ctx.boundary?.('provider:disableKey:after');
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, revoke: { ...(r!.revoke ?? { keyId: old }), disabledAt: r!.revoke?.disabledAt ?? note } }), 'record-disabled');
  }
  // RGW disables an alternating user's only key by suspending the user: a suspended user answers a
  // probe signed with a random secret SignatureDoesNotMatch, like a live key, and the rotator does
  // not hold the old secret — so that disable cannot be proven; the proof after delete still holds.
  if (!rec.revoke?.rejectedAfterDisable && provider.kind === 'ceph-rgw' && identity.kind === 'alternatingUsers' && !rec.revoke?.disabledAt?.startsWith('unsupported')) {
    const note = `not provable: ${provider.kind} suspends the user of an alternating key, and a probe without the old secret cannot tell it from a live key (proven after the delete)`;
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, revoke: { ...r!.revoke!, rejectedAfterDisable: r!.revoke?.rejectedAfterDisable ?? note } }), 'record-rejected1');
  }
  if (!rec.revoke?.rejectedAfterDisable && !rec.revoke?.disabledAt?.startsWith('unsupported')) {
    await ctx.boundary?.('provider:verifyRejected1:before');
    const v = await verifyRejected(conn, probe, vopts);
    const text = `verifyRejected ${v.attempts} attempt(s), ${v.last.outcome === 'rejected' ? v.last.code : v.last.outcome}, control ${control.accessKeyId} accepted`;
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, revoke: { ...r!.revoke!, rejectedAfterDisable: r!.revoke?.rejectedAfterDisable ?? text } }), 'record-rejected1');
  }
  if (!rec.revoke?.deletedAt) {
    ctx.lease?.assertHeld();
    await ctx.boundary?.('provider:deleteKey:before');
    await providerCall(ctx, () => provider.deleteKey(identity, old));
    await ctx.boundary?.('provider:deleteKey:after');
    rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, revoke: { ...r!.revoke!, deletedAt: r!.revoke?.deletedAt ?? stamp() } }), 'record-deleted');
  }
  await ctx.boundary?.('provider:verifyRejected2:before');
  const v2 = await verifyRejected(conn, probe, vopts);
  const text2 = `verifyRejected ${v2.attempts} attempt(s), ${v2.last.outcome === 'rejected' ? v2.last.code : v2.last.outcome}, control ${control.accessKeyId} accepted`;
  rec = await updateRecord(ctx, kube, job.generation, (r) => ({ ...r!, phase: finalPhase, retiredAt: r!.retiredAt ?? stamp(), revoke: { ...r!.revoke!, rejectedAfterDelete: r!.revoke?.rejectedAfterDelete ?? text2 } }), 'record-retired');
  ctx.logger.log('info', `rotator ${ctx.step} for credential ${ctx.plan.credential} generation ${job.generation}: old key revoked and proven rejected`, { step: ctx.step, credential: ctx.plan.credential, generation: job.generation, oldKeyId: old, controlKeyId: control.accessKeyId });
  return rec;
}

export { isReady };
