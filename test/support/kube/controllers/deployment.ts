/**
 * The Deployment controller (K8S pkg/controller/deployment: sync.go, rolling.go, recreate.go,
 * progress.go): one ReplicaSet per pod template (`<deploy>-<pod-template-hash>`, the hash label
 * in its selector and template), revision annotations, rolling updates bounded by maxSurge /
 * maxUnavailable (reconcileNewReplicaSet, cleanupUnhealthyReplicas, scaleDownOldReplicaSets),
 * Recreate, and the status kubectl rollout status reads: observedGeneration, replicas,
 * updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas, conditions Available
 * and Progressing (NewReplicaSetCreated → ReplicaSetUpdated → NewReplicaSetAvailable, or
 * ProgressDeadlineExceeded on the fake clock). Not modelled: paused deployments, rollbacks via
 * annotation, revisionHistoryLimit cleanup, proportional scaling of several old ReplicaSets.
 */
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { clone, type Condition, isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { newReplicas, rollingUpdate } from './rolling.js';
import { computeHash, jsonStatus, num, ownedBy, ownerRef, scaled, setWorkloadCondition, spec, status, writeStatus } from './util.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

function replicasOf(rs: KubeObject): number {
  return num(spec(rs).replicas, 0);
}

function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '0') || 0;
}

function byCreation(a: KubeObject, b: KubeObject): number {
  return String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) || String(a.metadata.name).localeCompare(String(b.metadata.name));
}

export class DeploymentController implements Controller {
  public readonly name = 'deployment';

  public step({ registry, clock }: ControllerContext): void {
    for (const d of registry.list(res('deployments'))) this.#sync(registry, d, clock.time(), clock.nowMs());
  }

  #scale(registry: Registry, rs: KubeObject, replicas: number, d: KubeObject): void {
    const next = clone(rs);
    (next.spec as Obj).replicas = replicas;
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(num(spec(d).replicas, 1)) };
    registry.update(res('replicasets'), rs.metadata.namespace, rs.metadata.name ?? '', next);
  }

  #sync(registry: Registry, d: KubeObject, now: string, nowMs: number): void {
    const dSpec = spec(d);
    const replicas = num(dSpec.replicas, 1);
    const template = clone((dSpec.template ?? {}) as Obj);
    const hash = computeHash(template, num(status(d).collisionCount, 0));
    const all = ownedBy(registry, res('replicasets'), d).sort(byCreation);
    let newRS = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const oldRSs = all.filter((rs) => rs !== newRS);
    const maxOldRevision = Math.max(0, ...oldRSs.map(revisionOf));
    let progressing: { reason: string; message: string } | undefined;

    const strategy = isObj(dSpec.strategy) ? dSpec.strategy : {};
    const ru = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
    const maxSurge = strategy.type === 'Recreate' ? 0 : scaled(ru.maxSurge ?? '25%', replicas, true);
    let maxUnavailable = strategy.type === 'Recreate' ? replicas : scaled(ru.maxUnavailable ?? '25%', replicas, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;

    if (!newRS) {
      const tm = isObj(template.metadata) ? template.metadata : {};
      const labels = { ...((tm.labels as Record<string, string> | undefined) ?? {}), 'pod-template-hash': hash };
      const selector = clone(isObj(dSpec.selector) ? dSpec.selector : {});
      selector.matchLabels = { ...((selector.matchLabels as Record<string, string> | undefined) ?? {}), 'pod-template-hash': hash };
      const rsTemplate = { ...template, metadata: { ...tm, labels } };
      const initial = strategy.type === 'Recreate' ? 0 : newReplicas(all, 0, replicas, maxSurge);
      newRS = registry.create(res('replicasets'), d.metadata.namespace, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels,
          annotations: {
            ...(d.metadata.annotations ?? {}),
            [REVISION_ANNOTATION]: String(maxOldRevision + 1),
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + maxSurge),
          },
          ownerReferences: [ownerRef(res('deployments'), d)],
        },
        spec: { replicas: initial, minReadySeconds: num(dSpec.minReadySeconds, 0), selector, template: rsTemplate },
      });
      progressing = { reason: 'NewReplicaSetCreated', message: `Created new replica set "${newRS.metadata.name}"` };
    } else if (revisionOf(newRS) <= maxOldRevision) {
      // rolling back to an older template: its ReplicaSet becomes the newest revision
      const next = clone(newRS);
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION_ANNOTATION]: String(maxOldRevision + 1) };
      newRS = registry.update(res('replicasets'), next.metadata.namespace, next.metadata.name ?? '', next);
      progressing = { reason: 'FoundNewReplicaSet', message: `Found new replica set "${newRS.metadata.name}"` };
    }

    if (strategy.type === 'Recreate') {
      const oldActive = oldRSs.some((rs) => replicasOf(rs) > 0);
      for (const rs of oldRSs) if (replicasOf(rs) > 0) this.#scale(registry, rs, 0, d);
      const oldPods = oldRSs.some((rs) => num(status(rs).replicas, 0) > 0 || ownedBy(registry, res('pods'), rs).length > 0);
      if (!oldActive && !oldPods && replicasOf(newRS) !== replicas) this.#scale(registry, newRS, replicas, d);
    } else {
      rollingUpdate(registry, d, newRS, replicas, maxSurge, maxUnavailable, (rs, n) => this.#scale(registry, rs, n, d));
    }
    this.#syncStatus(registry, d, newRS, maxUnavailable, progressing, now, nowMs);
  }

  #syncStatus(registry: Registry, d: KubeObject, newRS: KubeObject, maxUnavailable: number, created: { reason: string; message: string } | undefined, now: string, nowMs: number): void {
    const replicas = num(spec(d).replicas, 1);
    const rss = ownedBy(registry, res('replicasets'), d);
    const fresh = rss.find((rs) => rs.metadata.uid === newRS.metadata.uid) ?? newRS;
    const old = status(d);
    const sum = (f: string): number => rss.reduce((n, rs) => n + num(status(rs)[f], 0), 0);
    const availableReplicas = sum('availableReplicas');
    const next: Obj = {
      observedGeneration: d.metadata.generation ?? 0,
      replicas: sum('replicas'),
      updatedReplicas: num(status(fresh).replicas, 0),
      readyReplicas: sum('readyReplicas'),
      availableReplicas,
      unavailableReplicas: Math.max(0, replicas - availableReplicas),
    };
    let conds = (Array.isArray(old.conditions) ? old.conditions : []) as Condition[];
    conds =
      availableReplicas >= replicas - maxUnavailable
        ? setWorkloadCondition(conds, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, now)
        : setWorkloadCondition(conds, { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, now);
    const current = conds.find((c) => c.type === 'Progressing');
    const complete = next.replicas === next.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    const rsName = fresh.metadata.name;
    if (created) {
      conds = setWorkloadCondition(conds, { type: 'Progressing', status: 'True', ...created }, now);
    } else if (!complete) {
      const deadline = num(spec(d).progressDeadlineSeconds, 600);
      const done = next.updatedReplicas === replicas && next.replicas === replicas && availableReplicas === replicas && (next.observedGeneration as number) >= (d.metadata.generation ?? 0);
      const progressed =
        (next.updatedReplicas as number) > num(old.updatedReplicas, 0) ||
        (next.readyReplicas as number) > num(old.readyReplicas, 0) ||
        availableReplicas > num(old.availableReplicas, 0) ||
        (next.replicas as number) - (next.updatedReplicas as number) < num(old.replicas, 0) - num(old.updatedReplicas, 0);
      const since = current?.lastUpdateTime ? Date.parse(current.lastUpdateTime) : nowMs;
      if (done) {
        conds = setWorkloadCondition(conds, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }, now);
      } else if (progressed || !current) {
        conds = forceUpdate(setWorkloadCondition(conds, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` }, now), 'Progressing', now);
      } else if (current.status === 'True' && since + deadline * 1000 < nowMs) {
        conds = setWorkloadCondition(conds, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` }, now);
      }
    }
    next.conditions = conds;
    const annotations = { ...(d.metadata.annotations ?? {}), [REVISION_ANNOTATION]: fresh.metadata.annotations?.[REVISION_ANNOTATION] ?? '1' };
    const current2 = registry.find(res('deployments'), d.metadata.namespace, d.metadata.name ?? '');
    if (current2) writeStatus(registry, res('deployments'), current2, jsonStatus(next, ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']), annotations);
  }
}

/** Progress resets the deadline: lastUpdateTime moves even when the condition text stays. */
function forceUpdate(conds: Condition[], type: string, now: string): Condition[] {
  return conds.map((c) => (c.type === type ? { ...c, lastUpdateTime: now } : c));
}
