/**
 * The disruption controller (K8S pkg/controller/disruption/disruption.go): PodDisruptionBudget
 * status — expectedPods, desiredHealthy (integer minAvailable over the matching pods; percentages
 * and maxUnavailable over the scale of the pods' controllers: ReplicaSet/Deployment, StatefulSet,
 * Rollout), currentHealthy (Ready, not terminating, not recently disrupted), disruptionsAllowed,
 * observedGeneration and the DisruptionAllowed condition. An unknown controller for a percentage
 * means no status, as upstream (evictions then answer 429 "still being processed").
 */
import { isPodReady, isTerminating } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { res, resourceForKind } from '../resources.js';
import { selectorMatches } from '../selectors.js';
import { type Condition, isObj, type KubeObject, type LabelSelector, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { num, scaled, setWorkloadCondition, spec, status, writeStatus } from './util.js';

/** disruptedPods entries expire after this long (DeletionTimeout). */
const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

export class DisruptionController implements Controller {
  public readonly name = 'disruption';

  public step({ registry, clock }: ControllerContext): void {
    for (const pdb of registry.list(res('poddisruptionbudgets'))) this.#sync(registry, pdb, clock.time(), clock.nowMs());
  }

  /** The scale of the controllers owning `pods` (getExpectedScale); undefined when one is unknown. */
  #expectedScale(registry: Registry, pods: KubeObject[]): number | undefined {
    const seen = new Map<string, number>();
    for (const p of pods) {
      const ref = (p.metadata.ownerReferences ?? []).find((r) => r.controller === true);
      if (!ref) return undefined;
      let owner: KubeObject | undefined;
      try {
        owner = registry.find(resourceForKind(ref.apiVersion, ref.kind), p.metadata.namespace, ref.name);
      } catch {
        return undefined;
      }
      if (!owner || owner.metadata.uid !== ref.uid) return undefined;
      // a ReplicaSet owned by a Deployment counts as the Deployment
      const top = (owner.metadata.ownerReferences ?? []).find((r) => r.controller === true && r.kind === 'Deployment');
      if (ref.kind === 'ReplicaSet' && top) {
        const d = registry.find(res('deployments'), p.metadata.namespace, top.name);
        if (d) owner = d;
      }
      if (!['ReplicaSet', 'Deployment', 'StatefulSet', 'Rollout'].includes(owner.kind ?? '')) return undefined;
      seen.set(owner.metadata.uid ?? '', num(spec(owner).replicas, 1));
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  }

  #sync(registry: Registry, pdb: KubeObject, now: string, nowMs: number): void {
    const s = spec(pdb);
    const pods = registry.list(res('pods'), pdb.metadata.namespace).filter((p) => selectorMatches(s.selector as LabelSelector | undefined, p.metadata.labels));
    let expected: number;
    let desired: number;
    if (s.maxUnavailable !== undefined && s.maxUnavailable !== null) {
      const scale = this.#expectedScale(registry, pods);
      if (scale === undefined) return;
      expected = scale;
      desired = Math.max(0, expected - scaled(s.maxUnavailable, expected, true));
    } else if (typeof s.minAvailable === 'number') {
      expected = pods.length;
      desired = s.minAvailable;
    } else if (typeof s.minAvailable === 'string') {
      const scale = this.#expectedScale(registry, pods);
      if (scale === undefined) return;
      expected = scale;
      desired = scaled(s.minAvailable, expected, true);
    } else {
      expected = pods.length;
      desired = 0;
    }
    const old = status(pdb);
    const disrupted: Record<string, string> = {};
    for (const [name, at] of Object.entries(isObj(old.disruptedPods) ? (old.disruptedPods as Record<string, string>) : {})) {
      const pod = pods.find((p) => p.metadata.name === name);
      if (pod && !isTerminating(pod) && Date.parse(at) + DELETION_TIMEOUT_MS > nowMs) disrupted[name] = at;
    }
    const healthy = pods.filter((p) => !isTerminating(p) && !((p.metadata.name ?? '') in disrupted) && isPodReady(p)).length;
    const allowed = expected <= 0 ? 0 : Math.max(0, healthy - desired);
    let conds = (Array.isArray(old.conditions) ? old.conditions : []) as Condition[];
    conds = setWorkloadCondition(conds, allowed > 0 ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' } : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }, now, false);
    conds = conds.map((c) => ({ ...c, observedGeneration: pdb.metadata.generation ?? 0, message: c.message ?? '' }));
    const next: Obj = {
      observedGeneration: pdb.metadata.generation ?? 0,
      ...(Object.keys(disrupted).length > 0 ? { disruptedPods: disrupted } : {}),
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: conds,
    };
    writeStatus(registry, res('poddisruptionbudgets'), pdb, next);
  }
}
