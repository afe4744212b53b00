/**
 * A minimal Argo Rollouts controller (argoproj/argo-rollouts v1.9): a Rollout with its own
 * `spec.template` rolls like a basic canary — one ReplicaSet per template
 * (`<rollout>-<hash>`, label `rollouts-pod-template-hash`), scaled with the Deployment rolling
 * algorithm (canary maxSurge/maxUnavailable, default 25%/25%) — and writes the status a waiter
 * reads: observedGeneration (a string, as in Rollouts), replicas, updatedReplicas, readyReplicas,
 * availableReplicas, currentPodHash, stableRS (promoted to currentPodHash once fully rolled
 * out), phase Progressing/Healthy, selector.
 * `spec.restartAt` (rollout/restart.go): once every ReplicaSet is fully available, pods created
 * before restartAt are evicted through the eviction subresource rules (PDBs apply; a refusal is
 * skipped and retried next tick), max(maxUnavailable, 1) at a time, stable ReplicaSet first, waiting
 * while any pod terminates; then status.restartedAt = spec.restartAt. Healthy requires it.
 * Not modelled: canary steps (setWeight/pause/analysis) — a Rollout is promoted as if it had none;
 * blue-green; traffic routing; workloadRef; conditions; abort.
 */
import { ApiError } from '../errors.js';
import { evict } from '../eviction.js';
import { isPodAvailable, isTerminating } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { selectorMatches } from '../selectors.js';
import { res } from '../resources.js';
import { clone, isObj, type KubeObject, type LabelSelector, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { rollingUpdate } from './rolling.js';
import { computeHash, num, ownedBy, ownerRef, scaled, spec, status, writeStatus } from './util.js';

export const ROLLOUT_HASH_LABEL = 'rollouts-pod-template-hash';

export class RolloutController implements Controller {
  public readonly name = 'rollout';

  public step({ registry, clock }: ControllerContext): void {
    for (const ro of registry.list(res('rollouts'))) this.#sync(registry, ro, clock.nowMs());
  }

  /** The restart reconciler: true once every pod is newer than spec.restartAt. */
  #restart(registry: Registry, ro: KubeObject, stableHash: string | undefined, maxUnavailable: number, nowMs: number): boolean {
    const restartAt = typeof spec(ro).restartAt === 'string' ? Date.parse(spec(ro).restartAt as string) : NaN;
    if (Number.isNaN(restartAt) || restartAt > nowMs) return true;
    const restartedAt = typeof status(ro).restartedAt === 'string' ? Date.parse(status(ro).restartedAt as string) : NaN;
    if (!Number.isNaN(restartedAt) && restartedAt >= restartAt) return true;
    const rss = ownedBy(registry, res('replicasets'), ro);
    if (rss.some((rs) => num(status(rs).availableReplicas, 0) !== num(spec(rs).replicas, 0))) return false;
    // stable first, then the newest template, then older ones
    const ordered = [...rss].sort((a, b) => {
      const rank = (rs: KubeObject): number => (rs.metadata.labels?.[ROLLOUT_HASH_LABEL] === stableHash ? 0 : 1);
      return rank(a) - rank(b) || String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp));
    });
    for (const rs of ordered) {
      const pods = registry.list(res('pods'), rs.metadata.namespace).filter((p) => selectorMatches(spec(rs).selector as LabelSelector, p.metadata.labels));
      if (pods.some(isTerminating)) return false;
      const old = pods.filter((p) => Date.parse(String(p.metadata.creationTimestamp)) < restartAt);
      if (old.length === 0) continue;
      let budget = Math.max(maxUnavailable, 1) - pods.filter((p) => !isPodAvailable(p, num(spec(ro).minReadySeconds, 0), nowMs)).length;
      for (const p of old) {
        if (budget <= 0) break;
        try {
          evict(registry, p.metadata.namespace ?? '', p.metadata.name ?? '', { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: p.metadata.name, namespace: p.metadata.namespace } });
          budget -= 1;
        } catch (err) {
          if (!(err instanceof ApiError) || err.code !== 429) throw err;
        }
      }
      return false;
    }
    return true;
  }

  #sync(registry: Registry, ro: KubeObject, nowMs: number): void {
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
    const restarted = this.#restart(registry, ro, stableRS, maxUnavailable, nowMs);
    const healthy = promoted && stableRS === hash && restarted;
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
    if (restarted && typeof s.restartAt === 'string') next.restartedAt = s.restartAt;
    const current = registry.find(res('rollouts'), ro.metadata.namespace, ro.metadata.name ?? '');
    if (current) writeStatus(registry, res('rollouts'), current, next);
  }
}
