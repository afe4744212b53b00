/**
 * One step of a rolling update over ReplicaSets (K8S pkg/controller/deployment/rolling.go):
 * reconcileNewReplicaSet (scale the new ReplicaSet up within maxSurge), then
 * reconcileOldReplicaSets (cleanupUnhealthyReplicas, then scaleDownOldReplicaSetsForRollingUpdate
 * within maxUnavailable). Shared by the Deployment and the Argo Rollout (basic canary) controllers.
 */
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import type { KubeObject } from '../types.js';
import { num, ownedBy, spec, status } from './util.js';

function replicasOf(rs: KubeObject): number {
  return num(spec(rs).replicas, 0);
}

function byCreation(a: KubeObject, b: KubeObject): number {
  return String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) || String(a.metadata.name).localeCompare(String(b.metadata.name));
}

/** NewRSNewReplicas for RollingUpdate. */
export function newReplicas(all: readonly KubeObject[], current: number, replicas: number, maxSurge: number): number {
  const total = all.reduce((n, rs) => n + replicasOf(rs), 0);
  const maxTotal = replicas + maxSurge;
  if (total >= maxTotal) return current;
  return current + Math.min(maxTotal - total, replicas - current);
}

export function rollingUpdate(
  registry: Registry,
  owner: KubeObject,
  newRS: KubeObject,
  replicas: number,
  maxSurge: number,
  maxUnavailable: number,
  scale: (rs: KubeObject, replicas: number) => void,
): void {
  // reconcileNewReplicaSet
  const current = replicasOf(newRS);
  if (current > replicas) scale(newRS, replicas);
  else if (current < replicas) {
    const target = newReplicas(ownedBy(registry, res('replicasets'), owner), current, replicas, maxSurge);
    if (target !== current) scale(newRS, target);
  }
  // reconcileOldReplicaSets
  const fresh = ownedBy(registry, res('replicasets'), owner).sort(byCreation);
  const freshNew = fresh.find((rs) => rs.metadata.uid === newRS.metadata.uid) as KubeObject;
  const freshOld = fresh.filter((rs) => rs !== freshNew);
  if (!freshOld.some((rs) => replicasOf(rs) > 0)) return;
  const allPods = fresh.reduce((n, rs) => n + replicasOf(rs), 0);
  const minAvailable = replicas - maxUnavailable;
  const newUnavailable = replicasOf(freshNew) - num(status(freshNew).availableReplicas, 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return;
  // cleanupUnhealthyReplicas
  let cleaned = 0;
  const sizes = new Map(freshOld.map((rs) => [rs.metadata.uid, replicasOf(rs)]));
  for (const rs of freshOld) {
    if (cleaned >= maxScaledDown) break;
    const size = sizes.get(rs.metadata.uid) ?? 0;
    const unhealthy = size - num(status(rs).availableReplicas, 0);
    if (size === 0 || unhealthy <= 0) continue;
    const down = Math.min(maxScaledDown - cleaned, unhealthy);
    sizes.set(rs.metadata.uid, size - down);
    cleaned += down;
  }
  // scaleDownOldReplicaSetsForRollingUpdate
  const available = fresh.reduce((n, rs) => n + num(status(rs).availableReplicas, 0), 0);
  let budget = available - minAvailable;
  for (const rs of freshOld) {
    if (budget <= 0) break;
    const size = sizes.get(rs.metadata.uid) ?? 0;
    const healthy = Math.min(size, num(status(rs).availableReplicas, 0));
    const down = Math.min(healthy, budget);
    if (down <= 0) continue;
    sizes.set(rs.metadata.uid, size - down);
    budget -= down;
  }
  for (const rs of freshOld) {
    const size = sizes.get(rs.metadata.uid) ?? 0;
    if (size !== replicasOf(rs)) scale(rs, size);
  }
}
