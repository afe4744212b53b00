/**
 * The pods/eviction subresource (K8S pkg/registry/core/pod/storage/eviction.go): PodDisruptionBudget
 * checks, the DisruptionTarget condition, then a graceful delete. Answers 201 Status Success.
 */
import { ApiError, badRequest } from './errors.js';
import { isPodReady, isTerminating, podConditions, podPhase } from './pod-util.js';
import type { Registry } from './registry.js';
import { res } from './resources.js';
import { selectorMatches } from './selectors.js';
import { clone, isObj, type KubeObject, type LabelSelector, type Obj } from './types.js';

export const EVICTION_SUCCESS = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as const;

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

function tooManyRequests(cause: string, retryAfterSeconds = 0): ApiError {
  return new ApiError(429, 'TooManyRequests', VIOLATION, {
    causes: [{ reason: 'DisruptionBudget', message: cause }],
    ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
  });
}

function num(o: Obj, key: string): number {
  const v = o[key];
  return typeof v === 'number' ? v : 0;
}

/** Handles `POST …/pods/{name}/eviction`; throws ApiError for every refusal. */
export function evict(registry: Registry, namespace: string, name: string, body: unknown): typeof EVICTION_SUCCESS {
  if (!isObj(body)) throw badRequest('Eviction body must be an object');
  const bodyName = isObj(body.metadata) ? body.metadata.name : undefined;
  if (bodyName !== name) throw badRequest('name in URL does not match name in Eviction object');
  const deleteOptions = isObj(body.deleteOptions) ? body.deleteOptions : {};
  const grace = typeof deleteOptions.gracePeriodSeconds === 'number' ? deleteOptions.gracePeriodSeconds : undefined;
  const pod = registry.get(res('pods'), namespace, name);

  const phase = podPhase(pod);
  // canIgnorePDB: terminal, pending or already terminating pods go without a budget check
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || isTerminating(pod)) {
    deletePod(registry, pod, grace);
    return EVICTION_SUCCESS;
  }
  const pdbs = registry
    .list(res('poddisruptionbudgets'), namespace)
    .filter((p) => isObj(p.spec) && selectorMatches(p.spec.selector as LabelSelector | undefined, pod.metadata.labels));
  if (pdbs.length === 0) {
    deletePod(registry, pod, grace);
    return EVICTION_SUCCESS;
  }
  if (pdbs.length > 1) {
    const why = 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';
    throw new ApiError(500, 'InternalError', `Internal error occurred: ${why}`, { causes: [{ message: why }] });
  }
  const pdb = pdbs[0];
  const status: Obj = isObj(pdb.status) ? pdb.status : {};
  const spec: Obj = isObj(pdb.spec) ? pdb.spec : {};
  if (!isPodReady(pod)) {
    if (spec.unhealthyPodEvictionPolicy === 'AlwaysAllow') {
      deletePod(registry, pod, grace);
      return EVICTION_SUCCESS;
    }
    if (num(status, 'currentHealthy') >= num(status, 'desiredHealthy') && num(status, 'desiredHealthy') > 0) {
      deletePod(registry, pod, grace);
      return EVICTION_SUCCESS;
    }
  }
  // checkAndDecrement
  const pdbName = pdb.metadata.name ?? '';
  if (num(status, 'observedGeneration') < (pdb.metadata.generation ?? 0)) {
    throw tooManyRequests(`The disruption budget ${pdbName} is still being processed by the server.`, 10);
  }
  const allowed = num(status, 'disruptionsAllowed');
  if (allowed < 0) throw new ApiError(403, 'Forbidden', 'pdb disruptions allowed is negative');
  if (allowed === 0) {
    throw tooManyRequests(`The disruption budget ${pdbName} needs ${num(status, 'desiredHealthy')} healthy pods and has ${num(status, 'currentHealthy')} currently`);
  }
  const next = clone(pdb);
  const nextStatus = next.status as Obj;
  nextStatus.disruptionsAllowed = allowed - 1;
  nextStatus.disruptedPods = { ...(isObj(nextStatus.disruptedPods) ? nextStatus.disruptedPods : {}), [name]: registry.clock.time() };
  registry.update(res('poddisruptionbudgets'), namespace, pdbName, next, { subresource: 'status' });
  deletePod(registry, pod, grace);
  return EVICTION_SUCCESS;
}

/** addConditionAndDeletePod: DisruptionTarget=True (watchers see MODIFIED), then a graceful delete. */
function deletePod(registry: Registry, pod: KubeObject, gracePeriodSeconds: number | undefined): void {
  const ns = pod.metadata.namespace ?? '';
  const name = pod.metadata.name ?? '';
  if (!isTerminating(pod) && !podConditions(pod).some((c) => c.type === 'DisruptionTarget')) {
    const next = clone(pod);
    const status = isObj(next.status) ? next.status : {};
    status.conditions = [
      ...podConditions(pod),
      { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastProbeTime: null, lastTransitionTime: registry.clock.time() },
    ];
    next.status = status;
    registry.update(res('pods'), ns, name, next, { subresource: 'status' });
  }
  registry.delete(res('pods'), ns, name, gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds });
}
