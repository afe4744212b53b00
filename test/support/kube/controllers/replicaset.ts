/**
 * The ReplicaSet controller (K8S pkg/controller/replicaset): keeps `spec.replicas` active pods
 * (named `<rs>-<5 chars>`), deletes the least useful ones first when scaling down (unscheduled,
 * pending, not ready, then the newest), and writes status (replicas, fullyLabeledReplicas,
 * readyReplicas, availableReplicas with minReadySeconds, observedGeneration). No adoption of
 * orphan pods.
 */
import { isPodActive, isPodAvailable, isPodReady, podPhase } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import type { KubeObject, Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { createPod, jsonStatus, num, ownedBy, spec, writeStatus } from './util.js';

function deletionRank(p: KubeObject): number[] {
  const s = (p.spec ?? {}) as Obj;
  return [s.nodeName ? 1 : 0, podPhase(p) === 'Pending' ? 0 : podPhase(p) === 'Unknown' ? 1 : 2, isPodReady(p) ? 1 : 0];
}

export class ReplicaSetController implements Controller {
  public readonly name = 'replicaset';

  public step({ registry, clock }: ControllerContext): void {
    for (const rs of registry.list(res('replicasets'))) this.#sync(registry, rs, clock.nowMs());
  }

  #sync(registry: Registry, rs: KubeObject, nowMs: number): void {
    const def = res('replicasets');
    const want = num(spec(rs).replicas, 1);
    const active = ownedBy(registry, res('pods'), rs).filter(isPodActive);
    const template = (spec(rs).template ?? {}) as Obj;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) createPod(registry, def, rs, template, { generateName: `${rs.metadata.name}-` });
    } else if (active.length > want) {
      const victims = [...active].sort((a, b) => {
        const ra = deletionRank(a);
        const rb = deletionRank(b);
        for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
        // newer pods go first
        return String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)) || String(b.metadata.name).localeCompare(String(a.metadata.name));
      });
      for (const p of victims.slice(0, active.length - want)) registry.delete(res('pods'), p.metadata.namespace, p.metadata.name ?? '');
    }
    const pods = ownedBy(registry, res('pods'), rs).filter(isPodActive);
    const labels = ((template.metadata ?? {}) as Obj).labels as Record<string, string> | undefined;
    const minReady = num(spec(rs).minReadySeconds, 0);
    const next = jsonStatus(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.filter((p) => Object.entries(labels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
        readyReplicas: pods.filter(isPodReady).length,
        availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, nowMs)).length,
        observedGeneration: rs.metadata.generation ?? 0,
      },
      ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'],
    );
    const current = registry.find(def, rs.metadata.namespace, rs.metadata.name ?? '');
    // the registry does not write an unchanged object: no event, no new resourceVersion
    if (current) writeStatus(registry, def, current, next);
  }
}
