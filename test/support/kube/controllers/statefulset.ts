/**
 * The StatefulSet controller (K8S pkg/controller/statefulset/stateful_set_control.go, release 1.32
 * semantics with the MaxUnavailableStatefulSet gate off):
 * - ControllerRevisions `<set>-<hash>` holding the template patch; updateRevision = the current
 *   template (an equal older revision is reused and renumbered), currentRevision = status.currentRevision
 *   when that revision exists, else updateRevision (getStatefulSetRevisions);
 * - pods `<set>-<ordinal>` labelled controller-revision-hash=<revision name>,
 *   statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index; a missing ordinal is created
 *   from the current or update revision (newVersionedStatefulSetPod) once the old pod object is gone;
 *   failed/succeeded pods are deleted and recreated;
 * - OrderedReady: one ordinal at a time, each Running+Ready before the next; Parallel: all at once;
 * - RollingUpdate: delete the highest ordinal ≥ partition not on updateRevision, one at a time,
 *   waiting for every lower target to be healthy; OnDelete: never delete for an update;
 * - status from the pods seen at the start of the sync (computeReplicaStatus), currentReplicas-1
 *   for a pod deleted for update, and completeRollingUpdate only for type RollingUpdate once
 *   updated == ready == replicas == spec.replicas (so an OnDelete set keeps its old currentRevision).
 * Not modelled: volumeClaimTemplates/PVCs, maxUnavailable, ordinals.start, history truncation.
 */
import { isPodAvailable, isRunningAndReady, isTerminating, podPhase } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { clone, isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { computeHash, createPod, jsonStatus, num, ownedBy, ownerRef, spec, stableJson, status, writeStatus } from './util.js';

export const REVISION_LABEL = 'controller-revision-hash';

function ordinalOf(set: KubeObject, pod: KubeObject): number {
  const m = (pod.metadata.name ?? '').match(/^(.*)-(\d+)$/);
  return m && m[1] === set.metadata.name ? Number(m[2]) : -1;
}

function revisionNumber(cr: KubeObject): number {
  return typeof cr.revision === 'number' ? cr.revision : 0;
}

export class StatefulSetController implements Controller {
  public readonly name = 'statefulset';

  public step({ registry, clock }: ControllerContext): void {
    for (const set of registry.list(res('statefulsets'))) this.#sync(registry, set, clock.nowMs());
  }

  /** getStatefulSetRevisions: the current and update ControllerRevisions (creating the update one). */
  #revisions(registry: Registry, set: KubeObject): { current: KubeObject; update: KubeObject; byName: Map<string, KubeObject> } {
    const revisions = ownedBy(registry, res('controllerrevisions'), set).sort((a, b) => revisionNumber(a) - revisionNumber(b));
    const template = clone((spec(set).template ?? {}) as Obj);
    const data = { spec: { template: { ...template, $patch: 'replace' } } };
    const next = revisions.length === 0 ? 1 : revisionNumber(revisions[revisions.length - 1]) + 1;
    const equal = revisions.filter((r) => stableJson(r.data) === stableJson(data));
    let update: KubeObject;
    if (equal.length > 0 && equal[equal.length - 1] === revisions[revisions.length - 1]) {
      update = revisions[revisions.length - 1];
    } else if (equal.length > 0) {
      const renumbered = clone(equal[equal.length - 1]);
      renumbered.revision = next;
      update = registry.update(res('controllerrevisions'), set.metadata.namespace, renumbered.metadata.name ?? '', renumbered);
    } else {
      const collisionCount = num(status(set).collisionCount, 0);
      const hash = computeHash(data, collisionCount);
      const tm = isObj(template.metadata) ? template.metadata : {};
      update = registry.create(res('controllerrevisions'), set.metadata.namespace, {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: `${set.metadata.name}-${hash}`,
          namespace: set.metadata.namespace,
          labels: { ...((tm.labels as Record<string, string> | undefined) ?? {}), [REVISION_LABEL]: hash },
          ownerReferences: [ownerRef(res('statefulsets'), set)],
        },
        data,
        revision: next,
      });
    }
    const all = ownedBy(registry, res('controllerrevisions'), set);
    const byName = new Map(all.map((r) => [r.metadata.name ?? '', r]));
    const current = byName.get(String(status(set).currentRevision ?? '')) ?? update;
    return { current, update, byName };
  }

  #sync(registry: Registry, set: KubeObject, nowMs: number): void {
    const s = spec(set);
    const replicaCount = num(s.replicas, 1);
    const minReady = num(s.minReadySeconds, 0);
    const strategy = isObj(s.updateStrategy) ? s.updateStrategy : {};
    const rollingUpdate = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : undefined;
    const partition = rollingUpdate ? num(rollingUpdate.partition, 0) : 0;
    const monotonic = s.podManagementPolicy !== 'Parallel';
    const { current, update, byName } = this.#revisions(registry, set);
    const healthy = (p: KubeObject): boolean => isRunningAndReady(p) && !isTerminating(p) && isPodAvailable(p, minReady, nowMs);

    const pods = ownedBy(registry, res('pods'), set);
    const replicas: (KubeObject | undefined)[] = new Array(replicaCount).fill(undefined);
    const condemned: KubeObject[] = [];
    for (const p of pods) {
      const ord = ordinalOf(set, p);
      if (ord >= 0 && ord < replicaCount) replicas[ord] = p;
      else if (ord >= 0) condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));

    // status from the pods as seen at the start of this sync
    const counted = [...pods];
    const newStatus: Obj = {
      observedGeneration: set.metadata.generation ?? 0,
      replicas: counted.length,
      readyReplicas: counted.filter(isRunningAndReady).length,
      availableReplicas: counted.filter((p) => isRunningAndReady(p) && isPodAvailable(p, minReady, nowMs)).length,
      currentReplicas: counted.filter((p) => !isTerminating(p) && p.metadata.labels?.[REVISION_LABEL] === current.metadata.name).length,
      updatedReplicas: counted.filter((p) => !isTerminating(p) && p.metadata.labels?.[REVISION_LABEL] === update.metadata.name).length,
      currentRevision: current.metadata.name,
      updateRevision: update.metadata.name,
      collisionCount: num(status(set).collisionCount, 0),
    };

    const finish = (): void => this.#writeStatus(registry, set, newStatus);
    // newVersionedStatefulSetPod
    const createAt = (ord: number): void => {
      const fromCurrent =
        (strategy.type === 'RollingUpdate' && rollingUpdate === undefined && ord < num(status(set).currentReplicas, 0)) ||
        (rollingUpdate !== undefined && ord < partition);
      const revision = fromCurrent ? current : update;
      const template = ((((byName.get(revision.metadata.name ?? '') ?? revision).data as Obj).spec as Obj).template ?? {}) as Obj;
      const { $patch: _p, ...podTemplate } = template;
      const name = `${set.metadata.name}-${ord}`;
      createPod(registry, res('statefulsets'), set, podTemplate, name, {
        labels: { [REVISION_LABEL]: revision.metadata.name ?? '', 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(ord) },
        spec: { hostname: name, ...(typeof s.serviceName === 'string' && s.serviceName ? { subdomain: s.serviceName } : {}) },
      });
    };

    // processReplica for every ordinal
    for (let ord = 0; ord < replicaCount; ord++) {
      const pod = replicas[ord];
      if (pod && (podPhase(pod) === 'Failed' || podPhase(pod) === 'Succeeded')) {
        if (!isTerminating(pod)) registry.delete(res('pods'), pod.metadata.namespace, pod.metadata.name ?? '');
        if (monotonic) return finish();
        continue;
      }
      if (!pod) {
        createAt(ord);
        if (monotonic) return finish();
        continue;
      }
      if (monotonic && (isTerminating(pod) || !healthy(pod))) return finish();
    }
    // processCondemned: scale down, highest ordinal first
    const firstUnhealthy = [...replicas, ...[...condemned].reverse()].find((p) => p !== undefined && !healthy(p));
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return finish();
        continue;
      }
      if (monotonic && !healthy(pod) && pod !== firstUnhealthy) return finish();
      registry.delete(res('pods'), pod.metadata.namespace, pod.metadata.name ?? '');
      if (monotonic) return finish();
    }
    if (strategy.type === 'OnDelete') return finish();
    // RollingUpdate: the highest ordinal not on the update revision, one at a time
    for (let target = replicaCount - 1; target >= partition; target--) {
      const pod = replicas[target] as KubeObject;
      if (pod.metadata.labels?.[REVISION_LABEL] !== update.metadata.name && !isTerminating(pod)) {
        registry.delete(res('pods'), pod.metadata.namespace, pod.metadata.name ?? '');
        newStatus.currentReplicas = (newStatus.currentReplicas as number) - 1;
        return finish();
      }
      if (!healthy(pod)) return finish();
    }
    return finish();
  }

  #writeStatus(registry: Registry, set: KubeObject, next: Obj): void {
    const s = spec(set);
    const strategy = isObj(s.updateStrategy) ? s.updateStrategy : {};
    // completeRollingUpdate (1.29+ form): RollingUpdate only
    if (
      strategy.type === 'RollingUpdate' &&
      next.updatedReplicas === next.readyReplicas &&
      next.readyReplicas === next.replicas &&
      next.replicas === num(s.replicas, 1)
    ) {
      next.currentReplicas = next.updatedReplicas;
      next.currentRevision = next.updateRevision;
    }
    const current = registry.find(res('statefulsets'), set.metadata.namespace, set.metadata.name ?? '');
    if (!current) return;
    const conditions = status(current).conditions;
    writeStatus(
      registry,
      res('statefulsets'),
      current,
      jsonStatus({ ...next, ...(conditions ? { conditions } : {}) }, ['observedGeneration', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'currentRevision', 'updateRevision']),
    );
  }
}
