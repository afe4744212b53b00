/** The pods/eviction subresource under PodDisruptionBudgets, through client-node's CoreV1Api. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ApiException, CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';

import { defaultControllers } from './controllers/index.js';
import { NEVER_READY_ANNOTATION } from './controllers/kubelet.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import type { KubeObject, Obj } from './types.js';

let kube: FakeKube;
let core: CoreV1Api;
let policy: PolicyV1Api;

beforeEach(async () => {
  kube = await startFakeKube({ controllers: defaultControllers().all });
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
  policy = kc.makeApiClient(PolicyV1Api);
});

afterEach(async () => {
  await kube.close();
});

function deployment(name: string, replicas: number, podAnnotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, ...(podAnnotations ? { annotations: podAnnotations } : {}) }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    },
  };
}

function podNames(app: string): string[] {
  return kube.registry
    .list(res('pods'), 'default')
    .filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp)
    .map((p) => p.metadata.name ?? '');
}

async function evict(name: string): Promise<{ code: number; body: unknown }> {
  try {
    const out = await core.createNamespacedPodEviction({ name, namespace: 'default', body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } } });
    return { code: 201, body: out };
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    return { code: err.code, body: JSON.parse(err.body as string) };
  }
}

describe('eviction', () => {
  it('evicts (201) while the budget allows it, then answers 429 with the real message once it does not', async () => {
    // GIVEN 3 ready pods and a PDB with minAvailable 2, computed by the disruption controller
    kube.apply(deployment('web', 3));
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'web-pdb' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } } });
    await kube.settle();
    const pdb = kube.registry.get(res('poddisruptionbudgets'), 'default', 'web-pdb');
    expect(pdb.status).toMatchObject({ observedGeneration: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1 });
    const [first, second] = podNames('web');

    // WHEN two pods are evicted back to back (no tick in between)
    // (the first one as raw HTTP, to see the exact body client-node would deserialize into V1Eviction)
    const raw = await fetch(`${kube.url}/api/v1/namespaces/default/pods/${first}/eviction`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: first, namespace: 'default' } }),
    });
    const ok = { code: raw.status, body: await raw.json(), type: raw.headers.get('content-type') };
    const refused = await evict(second);

    // THEN the first went (201 Status Success, DisruptionTarget then graceful delete), the second is 429
    expect(ok).toEqual({ code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, type: 'application/json' });
    const evicted = kube.registry.get(res('pods'), 'default', first);
    expect(typeof evicted.metadata.deletionTimestamp).toBe('string');
    expect(((evicted.status as Obj).conditions as Obj[]).find((c) => c.type === 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'EvictionByEvictionAPI' });
    expect(refused).toEqual({
      code: 429,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: "Cannot evict pod as it would violate the pod's disruption budget.",
        reason: 'TooManyRequests',
        // checkAndDecrement only decrements disruptionsAllowed: currentHealthy stays 3 until the
        // disruption controller recomputes, exactly as upstream
        details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 2 healthy pods and has 3 currently' }] },
        code: 429,
      },
    });
    expect(kube.registry.get(res('poddisruptionbudgets'), 'default', 'web-pdb').status).toMatchObject({ disruptionsAllowed: 0, disruptedPods: { [first]: expect.any(String) } });
  });

  it('never allows eviction under a PDB with maxUnavailable 0', async () => {
    // GIVEN 2 ready pods and a PDB that allows no disruption
    kube.apply(deployment('db', 2));
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db-pdb', namespace: 'default' }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'db' } } } });
    await kube.settle();

    // WHEN each pod is evicted
    const results = [];
    for (const name of podNames('db')) results.push(await evict(name));

    // THEN every attempt is 429 and no pod was touched
    expect(results.map((r) => r.code)).toEqual([429, 429]);
    expect(kube.registry.get(res('poddisruptionbudgets'), 'default', 'db-pdb').status).toMatchObject({ expectedPods: 2, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0 });
    expect(kube.registry.list(res('pods'), 'default').filter((p) => p.metadata.deletionTimestamp)).toEqual([]);
  });

  it('answers 500 when two PDBs select the pod, and 429 "still being processed" for an uncomputed PDB', async () => {
    // GIVEN ready pods selected by two PDBs
    kube.apply(deployment('api', 2));
    await kube.settle();
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'one', namespace: 'default' }, spec: { minAvailable: 0, selector: { matchLabels: { app: 'api' } } } });
    const [pod] = podNames('api');

    // WHEN a pod is evicted before the controller computed the only PDB, and after a second PDB exists
    const uncomputed = await evict(pod);
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'two', namespace: 'default' }, spec: { minAvailable: 0, selector: {} } });
    const twoPdbs = await evict(pod);

    // THEN 429 with the processing cause and Retry-After 10, then 500 with the upstream message
    expect(uncomputed).toMatchObject({ code: 429, body: { reason: 'TooManyRequests', details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget one is still being processed by the server.' }], retryAfterSeconds: 10 } } });
    expect(twoPdbs).toMatchObject({ code: 500, body: { reason: 'InternalError', message: 'Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.' } });
  });

  it('evicts a not-Ready pod without a budget check when the budget is otherwise met, and a Pending pod always', async () => {
    // GIVEN a Deployment whose pods never become Ready and a PDB minAvailable 1 (so desiredHealthy 1 > currentHealthy 0)
    kube.apply(deployment('sick', 1, { [NEVER_READY_ANNOTATION]: 'true' }));
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'sick-pdb', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'sick' } } } });
    await kube.settle();
    const [running] = podNames('sick');

    // WHEN the Running-but-not-Ready pod is evicted (IfHealthyBudget: budget not met → checkAndDecrement → 429),
    // and a Pending pod (not started) is evicted
    const notReady = await evict(running);
    kube.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pending', namespace: 'default', labels: { app: 'sick' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    const pending = await evict('pending');

    // THEN the unhealthy pod is protected by the unmet budget, the Pending pod is simply deleted
    expect(notReady.code).toBe(429);
    expect(pending.code).toBe(201);
    expect(kube.registry.find(res('pods'), 'default', 'pending')).toBeUndefined();
  });
});
