/**
 * A minimal Argo Rollouts controller (argoproj/argo-rollouts v1.9): a Rollout with its own
 * `spec.template` rolls like a basic canary — one ReplicaSet per template
 * (`<rollout>-<hash>`, label `rollouts-pod-template-hash`), scaled with the Deployment rolling
 * algorithm (canary maxSurge/maxUnavailable, default 25%/25%) — and writes the status a waiter
 * reads: observedGeneration (a string, as in Rollouts), replicas, updatedReplicas, readyReplicas,
 * availableReplicas, currentPodHash, stableRS (promoted to currentPodHash once fully rolled
 * out), phase Progressing/Healthy, selector.
 * Not modelled: canary steps (setWeight/pause/analysis) — a Rollout is promoted as if it had none;
 * blue-green; traffic routing; workloadRef; spec.restartAt (the v1beta1 eviction restart);
 * conditions; abort.
 */
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { clone, isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { rollingUpdate } from './rolling.js';
import { computeHash, num, ownedBy, ownerRef, scaled, spec, status, writeStatus } from './util.js';

export const ROLLOUT_HASH_LABEL = 'rollouts-pod-template-hash';

export class RolloutController implements Controller {
  public readonly name = 'rollout';

  public step({ registry }: ControllerContext): void {
    for (const ro of registry.list(res('rollouts'))) this.#sync(registry, ro);
  }

  #sync(registry: Registry, ro: KubeObject): void {
    const s = spec(ro);
    if (!isObj(s.template)) return;
    const replicas = num(s.replicas, 1);
    const template = clone(s.template);
    const hash = computeHash(template);
    const canary = isObj(s.strategy) && isObj(s.strategy.canary) ? s.strategy.canary : {};
    const maxSurge = scaled(canary.maxSurge ?? '25%', replicas, true);
    let maxUnavailable = scaled(canary.maxUnavailable ?? '25%', replicas, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    let newRS = ownedBy(registry, res('replicasets'), ro).find((rs) => rs.metadata.labels?.[ROLLOUT_HASH_LABEL] === hash);
    if (!newRS) {
      const tm = isObj(template.metadata) ? template.metadata : {};
      const labels = { ...((tm.labels as Record<string, string> | undefined) ?? {}), [ROLLOUT_HASH_LABEL]: hash };
      const selector = clone(isObj(s.selector) ? s.selector : {});
      selector.matchLabels = { ...((selector.matchLabels as Record<string, string> | undefined) ?? {}), [ROLLOUT_HASH_LABEL]: hash };
      const existing = ownedBy(registry, res('replicasets'), ro);
      const revision = Math.max(0, ...existing.map((rs) => Number(rs.metadata.annotations?.['rollout.argoproj.io/revision'] ?? '0'))) + 1;
      newRS = registry.create(res('replicasets'), ro.metadata.namespace, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${ro.metadata.name}-${hash}`,
          namespace: ro.metadata.namespace,
          labels,
          annotations: { 'rollout.argoproj.io/revision': String(revision), 'rollout.argoproj.io/desired-replicas': String(replicas) },
          ownerReferences: [ownerRef(res('rollouts'), ro)],
        },
        spec: { replicas: 0, minReadySeconds: num(s.minReadySeconds, 0), selector, template: { ...template, metadata: { ...tm, labels } } },
      });
    }
    rollingUpdate(registry, ro, newRS, replicas, maxSurge, maxUnavailable, (rs, n) => {
      const next = clone(rs);
      (next.spec as Obj).replicas = n;
      registry.update(res('replicasets'), next.metadata.namespace, next.metadata.name ?? '', next);
    });
    const rss = ownedBy(registry, res('replicasets'), ro);
    const fresh = rss.find((rs) => rs.metadata.uid === newRS?.metadata.uid) ?? newRS;
    const sum = (f: string): number => rss.reduce((n, rs) => n + num(status(rs)[f], 0), 0);
    const updatedReplicas = num(status(fresh).replicas, 0);
    const available = sum('availableReplicas');
    const total = sum('replicas');
    const old = status(ro);
    const promoted = updatedReplicas >= replicas && available >= updatedReplicas && total <= updatedReplicas && rss.every((rs) => rs === fresh || num(spec(rs).replicas, 0) === 0);
    const stableRS = promoted ? hash : typeof old.stableRS === 'string' ? old.stableRS : hash;
    const healthy = promoted && stableRS === hash;
    const selector = isObj(s.selector) && isObj(s.selector.matchLabels) ? Object.entries(s.selector.matchLabels).map(([k, v]) => `${k}=${String(v)}`).join(',') : '';
    const next: Obj = {
      ...old,
      observedGeneration: String(ro.metadata.generation ?? 1),
      replicas: total,
      updatedReplicas,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      currentPodHash: hash,
      stableRS,
      phase: healthy ? 'Healthy' : 'Progressing',
      message: healthy ? '' : 'more replicas need to be updated',
      selector,
      canary: {},
    };
    if (healthy) delete next.message;
    const current = registry.find(res('rollouts'), ro.metadata.namespace, ro.metadata.name ?? '');
    if (current) writeStatus(registry, res('rollouts'), current, next);
  }
}
