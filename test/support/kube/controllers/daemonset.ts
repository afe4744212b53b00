/**
 * The DaemonSet controller (K8S pkg/controller/daemon), over the fake node list: one pod per node
 * (nodeName preset, labels controller-revision-hash=<bare hash> and pod-template-generation),
 * RollingUpdate with maxUnavailable (maxSurge 0 only) replacing old pods while the number of
 * unavailable nodes stays within budget, OnDelete replacing only deleted pods, and status
 * (desiredNumberScheduled, currentNumberScheduled, numberMisscheduled, numberReady,
 * updatedNumberScheduled, numberAvailable, numberUnavailable, observedGeneration).
 * Not modelled: ControllerRevisions for DaemonSets, node selectors/taints, maxSurge > 0.
 */
import { isPodAvailable, isPodReady, isTerminating, podPhase } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { computeHash, createPod, jsonStatus, num, ownedBy, scaled, spec, status, writeStatus } from './util.js';

export class DaemonSetController implements Controller {
  public readonly name = 'daemonset';

  public constructor(private readonly nodes: readonly string[]) {}

  public step({ registry, clock }: ControllerContext): void {
    for (const ds of registry.list(res('daemonsets'))) this.#sync(registry, ds, clock.nowMs());
  }

  #sync(registry: Registry, ds: KubeObject, nowMs: number): void {
    const s = spec(ds);
    const template = (s.template ?? {}) as Obj;
    const hash = computeHash(template, num(status(ds).collisionCount, 0));
    const minReady = num(s.minReadySeconds, 0);
    const generation = String(ds.metadata.generation ?? 1);
    const podsOn = (node: string): KubeObject[] => ownedBy(registry, res('pods'), ds).filter((p) => (p.spec as Obj | undefined)?.nodeName === node);
    for (const node of this.nodes) {
      const pods = podsOn(node);
      for (const p of pods) if ((podPhase(p) === 'Failed' || podPhase(p) === 'Succeeded') && !isTerminating(p)) registry.delete(res('pods'), p.metadata.namespace, p.metadata.name ?? '');
      if (pods.filter((p) => !isTerminating(p) && podPhase(p) !== 'Failed' && podPhase(p) !== 'Succeeded').length === 0 && !pods.some(isTerminating)) {
        createPod(registry, res('daemonsets'), ds, template, { generateName: `${ds.metadata.name}-` }, {
          labels: { 'controller-revision-hash': hash, 'pod-template-generation': generation },
          spec: { nodeName: node },
        });
      }
    }
    const strategy = isObj(s.updateStrategy) ? s.updateStrategy : {};
    if (strategy.type !== 'OnDelete') {
      const ru = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
      const maxUnavailable = Math.max(1, scaled(ru.maxUnavailable ?? 1, this.nodes.length, true));
      const live = (node: string): KubeObject | undefined => podsOn(node).find((p) => !isTerminating(p));
      let unavailable = this.nodes.filter((n) => {
        const p = live(n);
        return !p || !isPodAvailable(p, minReady, nowMs);
      }).length;
      // old pods that are unavailable go first, then available ones within the budget
      const old = this.nodes.map(live).filter((p): p is KubeObject => p !== undefined && p.metadata.labels?.['controller-revision-hash'] !== hash);
      for (const p of old.filter((x) => !isPodAvailable(x, minReady, nowMs))) registry.delete(res('pods'), p.metadata.namespace, p.metadata.name ?? '');
      for (const p of old.filter((x) => isPodAvailable(x, minReady, nowMs))) {
        if (unavailable >= maxUnavailable) break;
        registry.delete(res('pods'), p.metadata.namespace, p.metadata.name ?? '');
        unavailable += 1;
      }
    }
    const scheduled = this.nodes.map((n) => podsOn(n).find((p) => !isTerminating(p))).filter((p): p is KubeObject => p !== undefined);
    const available = scheduled.filter((p) => isPodAvailable(p, minReady, nowMs)).length;
    const next = jsonStatus(
      {
        currentNumberScheduled: scheduled.length,
        numberMisscheduled: 0,
        desiredNumberScheduled: this.nodes.length,
        numberReady: scheduled.filter(isPodReady).length,
        observedGeneration: ds.metadata.generation ?? 0,
        updatedNumberScheduled: scheduled.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length,
        numberAvailable: available,
        numberUnavailable: this.nodes.length - available,
      },
      ['observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'],
    );
    const current = registry.find(res('daemonsets'), ds.metadata.namespace, ds.metadata.name ?? '');
    if (current) writeStatus(registry, res('daemonsets'), current, next);
  }
}
