/**
 * The evidence rule, as pure functions over observed objects.
 *
 * **When did a target Secret first hold the new key?** The API server keeps no history a
 * rotator can trust for this (managedFields is optional, strippable and whole-second; watch
 * history is short), so the rotator uses an UPPER bound: the first moment any rotator of this
 * credential observed the Secret holding the new key (or a newer one), stored in the rotation
 * record before anything is judged by it, and never moved afterwards — a restarted Job reuses it
 * (moving it later would make pods the first run replaced stale again: a replacement loop; moving
 * it earlier would be unsafe). An upper bound is safe: a pod started between the real change and
 * the observation is counted stale and replaced once more, never the other way round.
 *
 * **Current or stale?** A consumer pod is *current* when every container started strictly after
 * that moment (container `startedAt` is whole seconds, truncated: `startedAt > T` still implies
 * the real start was after T). A container not started yet resolves its env when it starts, i.e.
 * from the Secret as it is now: not stale. A pod is a consumer of a target when its spec reads the
 * Secret — env `secretKeyRef`, `envFrom.secretRef`, a secret or projected volume — whatever
 * workload owns it, so a workload the plan does not list is covered too. A pod that reads the
 * Secret only through a volume without `subPath` gets the new files from the kubelet: it is
 * current `kubeletRefreshSeconds` after T. Terminating pods are alive until gone. Succeeded and
 * Failed pods hold nothing.
 *
 * **Secrets Store CSI driver targets** (plan `targets[].csi`). The target Secret is the driver's
 * synced Secret: it exists only while some pod mounts the SecretProviderClass's CSI volume, and
 * every mounting pod's reconcile rewrites it from that pod's own mounted files, so while old and
 * new mounts coexist it can flip back to the old pair after it first held the new one. A mount is
 * refreshed at the first kubelet republish at least `rotationPollIntervalSeconds` after its
 * previous refresh, so every mount — and with them the synced Secret — holds the new pair at the
 * latest `rotationPollIntervalSeconds + kubeletRefreshSeconds` after the store did, which is before
 * the first-seen moment T: the synced Secret is *settled* at T + that bound. A pod that mounts the
 * CSI volume (no env read) is a file consumer, current at the settled moment. A pod that reads the
 * synced Secret through env may have started during a flip: it is judged against the settled
 * moment instead of T (waiting until then), so a pod started before it is stale and replaced. With
 * `secretRotationEnabled: false` mounts are never refreshed: a CSI mount is fixed at pod start like env.
 *
 * Assumption: node clocks and the rotator's clock are NTP-synchronised
 * (the comparison is between the kubelet's `startedAt` and the rotator's observation time).
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { PlanCsi, PlanTarget } from '../core/plan.js';

/** The Secrets Store CSI driver's name in `volumes[].csi.driver`. */
export const CSI_DRIVER = 'secrets-store.csi.k8s.io';

/**
 * True when target `t` is CSI-synced and its Secret is absent (`secret` undefined) while no live
 * pod mounts the volume (`mounted`, asked only then; by default not asked: the caller treats an
 * absent synced Secret as unmounted). The driver keeps a synced Secret only while some pod mounts
 * the volume: none does, so no pod can read a key from it, and a pod mounting later reads the
 * store (pushed in an earlier wave). Such a target counts as delivered (deliver) and as holding a
 * newer key (retire); retire judges the pods that mount it later.
 */
export function unmountedCsiTarget(secret: object | undefined, t: PlanTarget, mounted: (t: PlanTarget) => boolean = () => false): t is PlanTarget & { readonly csi: PlanCsi } {
  return secret === undefined && t.csi !== null && !mounted(t);
}

export type Reference = 'env' | 'file';

function containers(pod: V1Pod): V1Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/**
 * How the pod reads Secret `secretName`: `env` (env, envFrom, or a subPath mount: fixed at start),
 * `file`, or null (not at all). With `csi`, a mount of that SecretProviderClass's CSI volume is a
 * read too: `file`, or `env` when the driver never refreshes mounts (`secretRotationEnabled: false`).
 */
export function referenceOf(pod: V1Pod, secretName: string, csi: PlanCsi | null = null): Reference | null {
  const volumes = new Set<string>();
  const frozen = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.secret?.secretName === secretName) volumes.add(v.name);
    if (v.projected?.sources?.some((s) => s.secret?.name === secretName)) volumes.add(v.name);
    if (csi && v.csi?.driver === CSI_DRIVER && v.csi.volumeAttributes?.secretProviderClass === csi.secretProviderClass) {
      volumes.add(v.name);
      if (!csi.secretRotationEnabled) frozen.add(v.name);
    }
  }
  let ref: Reference | null = null;
  for (const c of containers(pod)) {
    if (c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secretName)) return 'env';
    if (c.envFrom?.some((e) => e.secretRef?.name === secretName)) return 'env';
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) continue;
      if (m.subPath || m.subPathExpr || frozen.has(m.name)) return 'env';
      ref = 'file';
    }
  }
  return ref;
}

function ms(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** The start times of the pod's running (or terminated) containers; undefined entries: not started. */
export function containerStarts(pod: V1Pod): (number | undefined)[] {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const out: (number | undefined)[] = [];
  for (const c of pod.spec?.containers ?? []) {
    const s = statuses.find((x) => x.name === c.name);
    out.push(ms(s?.state?.running?.startedAt) ?? ms(s?.state?.terminated?.startedAt));
  }
  return out;
}

export function isTerminating(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null;
}

export function isFinished(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The pod's controlling owner. */
export function controllerOf(pod: V1Pod): { kind: string; name: string; uid: string } | undefined {
  const o = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  return o ? { kind: o.kind, name: o.name, uid: o.uid } : undefined;
}

export type Verdict =
  | { readonly state: 'current' }
  | { readonly state: 'stale'; readonly why: string }
  /** file consumer (or a CSI-synced Secret settling): current once `at` (ms) has passed */
  | { readonly state: 'refreshing'; readonly at: number; readonly why?: string };

/**
 * Judges one consumer pod against `firstSeenMs`, the moment its Secret first held a newer key,
 * at `nowMs`: a file consumer that started before is current once the refresh bound has passed.
 */
export function judge(pod: V1Pod, ref: Reference, firstSeenMs: number, kubeletRefreshSeconds: number, nowMs: number): Verdict {
  if (isFinished(pod)) return { state: 'current' };
  const starts = containerStarts(pod);
  const startedBefore = starts.some((s) => s !== undefined && s <= firstSeenMs);
  if (isTerminating(pod) && startedBefore) return { state: 'stale', why: 'terminating, started before the Secret changed' };
  if (!startedBefore) return { state: 'current' };
  if (ref === 'file') {
    const at = firstSeenMs + kubeletRefreshSeconds * 1000;
    return nowMs >= at ? { state: 'current' } : { state: 'refreshing', at };
  }
  const first = Math.min(...starts.filter((s): s is number => s !== undefined));
  return { state: 'stale', why: `container started ${new Date(first).toISOString()}, Secret changed by ${new Date(firstSeenMs).toISOString()}` };
}

/**
 * Judges one consumer pod of a target delivered by the Secrets Store CSI driver (see the header):
 * `ref` as `referenceOf(pod, secretName, csi)` returned it.
 */
export function judgeCsi(pod: V1Pod, ref: Reference, csi: PlanCsi, firstSeenMs: number, kubeletRefreshSeconds: number, nowMs: number): Verdict {
  if (!csi.secretRotationEnabled) return judge(pod, 'env', firstSeenMs, kubeletRefreshSeconds, nowMs);
  const bound = csi.rotationPollIntervalSeconds + kubeletRefreshSeconds;
  if (ref === 'file') {
    const v = judge(pod, 'file', firstSeenMs, bound, nowMs);
    return v.state === 'refreshing' ? { ...v, why: `CSI mount refreshes within the driver's rotation poll interval (${csi.rotationPollIntervalSeconds} s) + the kubelet refresh bound (${kubeletRefreshSeconds} s)` } : v;
  }
  const settled = firstSeenMs + bound * 1000;
  if (isFinished(pod)) return { state: 'current' };
  if (nowMs < settled) {
    const v = judge(pod, 'env', settled, kubeletRefreshSeconds, nowMs);
    // a pod that would be stale against the settled moment is not replaced before it: its replacement could read a flipped Secret too
    return v.state === 'stale' && !isTerminating(pod) ? { state: 'refreshing', at: settled, why: `reads the CSI-synced Secret, which may flip between old and new mounts until every mount refreshed` } : v;
  }
  const v = judge(pod, 'env', settled, kubeletRefreshSeconds, nowMs);
  return v.state === 'stale' ? { state: 'stale', why: v.why.replace(/, Secret changed by /, ', CSI-synced Secret settled by ') } : v;
}

/** The ordinal of a StatefulSet pod (`<sts>-<n>`). */
export function ordinal(pod: V1Pod): number {
  const m = /-(\d+)$/.exec(pod.metadata?.name ?? '');
  return m ? Number(m[1]) : -1;
}
