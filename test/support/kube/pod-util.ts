/** Small pod predicates shared by the eviction subresource and the controllers. */
import { type Condition, isObj, type KubeObject } from './types.js';

export function podPhase(pod: KubeObject): string | undefined {
  return isObj(pod.status) && typeof pod.status.phase === 'string' ? pod.status.phase : undefined;
}

export function podConditions(pod: KubeObject): Condition[] {
  return isObj(pod.status) && Array.isArray(pod.status.conditions) ? (pod.status.conditions as Condition[]) : [];
}

/** Condition `Ready` is "True" (what "ready" means for eviction, PDBs and every controller). */
export function isPodReady(pod: KubeObject): boolean {
  return podConditions(pod).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isTerminating(o: KubeObject): boolean {
  return o.metadata.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null;
}

/** Running and Ready (StatefulSet's isRunningAndReady). */
export function isRunningAndReady(pod: KubeObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod);
}

/** Ready for at least minReadySeconds by `nowMs` (podutil.IsPodAvailable). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  const ready = podConditions(pod).find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return false;
  if (minReadySeconds <= 0) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= nowMs;
}

export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !isTerminating(pod);
}

/** The owner reference with controller: true, if any. */
export function controllerOf(o: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}
