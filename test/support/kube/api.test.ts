/**
 * The fake API server through the unchanged @kubernetes/client-node 1.4.0, from a kubeconfig file.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
} from '@kubernetes/client-node';

import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';

let kube: FakeKube;
let kc: KubeConfig;

beforeEach(async () => {
  kube = await startFakeKube();
  kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
});

afterEach(async () => {
  await kube.close();
});

function apiError(err: unknown): { code: number; body: Record<string, unknown> } {
  if (!(err instanceof ApiException)) throw err;
  return { code: err.code, body: JSON.parse(err.body as string) as Record<string, unknown> };
}

async function failure(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return apiError(err);
  }
  throw new Error('expected the request to fail: got success');
}

describe('CoreV1Api CRUD', () => {
  it('creates, reads, lists by label and deletes a ConfigMap with the server-set metadata', async () => {
    // GIVEN a CoreV1Api client from the kubeconfig
    const core = kc.makeApiClient(CoreV1Api);

    // WHEN a ConfigMap is created, read back and listed by label
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a', labels: { app: 'x' } }, data: { k: 'v' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b', labels: { app: 'y' } } } });
    const read = await core.readNamespacedConfigMap({ name: 'a', namespace: 'default' });
    const listed = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=x' });

    // THEN the server assigned uid, resourceVersion and the fake clock's creationTimestamp
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(read.data).toEqual({ k: 'v' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(['a']);
    expect(Number(listed.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion));

    // AND delete answers Status Success, a second GET 404 with the exact Status body
    const deleted = await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    expect(deleted).toMatchObject({ status: 'Success', details: { name: 'a', kind: 'configmaps' } });
    const gone = await failure(core.readNamespacedConfigMap({ name: 'a', namespace: 'default' }));
    expect(gone).toEqual({
      code: 404,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "a" not found', reason: 'NotFound', details: { name: 'a', kind: 'configmaps' }, code: 404 },
    });
  });

  it('refuses a duplicate (409 AlreadyExists) and a missing namespace (404)', async () => {
    // GIVEN an existing Secret
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's' }, stringData: { a: 'b' } } });

    // WHEN the same name is created again, and a Secret is created in a namespace that does not exist
    const dup = await failure(core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's' } } }));
    const noNs = await failure(core.createNamespacedSecret({ namespace: 'nope', body: { metadata: { name: 's' } } }));

    // THEN the real reasons and messages come back
    expect(dup.code).toBe(409);
    expect(dup.body).toMatchObject({ reason: 'AlreadyExists', message: 'secrets "s" already exists' });
    expect(noNs.code).toBe(404);
    expect(noNs.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found' });
  });

  it('answers 409 Conflict with the exact message on an update with a stale resourceVersion', async () => {
    // GIVEN a ConfigMap read twice, and changed through one of the copies
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'rotator-state' }, data: { step: '1' } } });
    const first = await core.readNamespacedConfigMap({ name: 'rotator-state', namespace: 'default' });
    const second = await core.readNamespacedConfigMap({ name: 'rotator-state', namespace: 'default' });
    await core.replaceNamespacedConfigMap({ name: 'rotator-state', namespace: 'default', body: { ...first, data: { step: '2' } } });

    // WHEN the stale copy is written
    const stale = await failure(core.replaceNamespacedConfigMap({ name: 'rotator-state', namespace: 'default', body: { ...second, data: { step: '3' } } }));

    // THEN 409 Conflict, and the first write stays
    expect(stale.code).toBe(409);
    expect(stale.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on configmaps "rotator-state": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'rotator-state', kind: 'configmaps' },
      code: 409,
    });
    expect((await core.readNamespacedConfigMap({ name: 'rotator-state', namespace: 'default' })).data).toEqual({ step: '2' });
  });

  it('rejects an invalid object with 422 Invalid from the kubernetes-models schema', async () => {
    // GIVEN a Pod whose container has no name
    const core = kc.makeApiClient(CoreV1Api);

    // WHEN it is created
    const bad = await failure(core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p' }, spec: { containers: [{ image: 'x' } as never] } } }));

    // THEN 422 with the field error
    expect(bad.code).toBe(422);
    expect(bad.body).toMatchObject({ reason: 'Invalid', message: 'Pod "p" is invalid: spec.containers[0].name: Required value' });
  });
});

describe('registry rules', () => {
  it('names an object from generateName with 5 random characters', async () => {
    // GIVEN a Job-like generateName
    const core = kc.makeApiClient(CoreV1Api);

    // WHEN two ConfigMaps are created from it
    const a = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { generateName: 'rotate-' } } });
    const b = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { generateName: 'rotate-' } } });

    // THEN both got distinct names of the upstream shape, and keep generateName
    expect(a.metadata?.name).toMatch(/^rotate-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(b.metadata?.name).not.toBe(a.metadata?.name);
    expect(a.metadata?.generateName).toBe('rotate-');
  });

  it('turns Secret stringData into base64 data and never stores stringData', async () => {
    // GIVEN a Secret written with stringData
    const core = kc.makeApiClient(CoreV1Api);

    // WHEN it is created and read back
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's' }, stringData: { user: 'fake-user' } } });
    const read = await core.readNamespacedSecret({ name: 's', namespace: 'default' });

    // THEN data holds the base64 value and stringData is gone
    expect(read.data).toEqual({ user: Buffer.from('fake-user').toString('base64') });
    expect(read.stringData).toBeUndefined();
    expect(read.type).toBe('Opaque');
  });

  it('stores nothing on dryRun=All', async () => {
    // GIVEN a ConfigMap
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' }, data: { a: '1' } } });
    const rv = kube.store.revision;

    // WHEN a create and a replace are sent with dryRun=All
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'd' } }, dryRun: 'All' });
    await core.replaceNamespacedConfigMap({ name: 'c', namespace: 'default', body: { metadata: { name: 'c' }, data: { a: '2' } }, dryRun: 'All' });

    // THEN the answers look real but the store did not move
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(kube.store.revision).toBe(rv);
    expect(kube.registry.find(res('configmaps'), 'default', 'd')).toBeUndefined();
    expect((await core.readNamespacedConfigMap({ name: 'c', namespace: 'default' })).data).toEqual({ a: '1' });
  });

  it('lists across namespaces and filters pods by status.phase', async () => {
    // GIVEN pods in two namespaces, one of them marked Running through /status
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'other' } } });
    const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await core.createNamespacedPod({ namespace: 'default', body: pod('a') });
    await core.createNamespacedPod({ namespace: 'other', body: pod('b') });
    const b = await core.readNamespacedPod({ name: 'b', namespace: 'other' });
    await core.replaceNamespacedPodStatus({ name: 'b', namespace: 'other', body: { ...b, status: { phase: 'Running' } } });

    // WHEN listing all namespaces, and only Running pods
    const all = await core.listPodForAllNamespaces();
    const running = await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' });
    const bad = await failure(core.listPodForAllNamespaces({ fieldSelector: 'spec.image=x' }));

    // THEN both pods, then only b; an unsupported field is 400
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual(['default/a', 'other/b']);
    expect(running.items.map((p) => p.metadata?.name)).toEqual(['b']);
    expect(bad).toMatchObject({ code: 400, body: { message: 'field label not supported: spec.image' } });
  });

  it('ignores spec on /status, keeps the generation, and serves /scale', async () => {
    // GIVEN a Deployment
    const apps = kc.makeApiClient(AppsV1Api);
    const d = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', 2) });

    // WHEN /status is written with a changed spec, and /scale sets 5 replicas
    const st = await apps.replaceNamespacedDeploymentStatus({ name: 'web', namespace: 'default', body: { ...d, spec: { ...d.spec!, replicas: 9 }, status: { replicas: 1 } } });
    const scale = await apps.replaceNamespacedDeploymentScale({ name: 'web', namespace: 'default', body: { metadata: { name: 'web' }, spec: { replicas: 5 } } });
    const after = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });

    // THEN status changed without spec or generation, and the scale went into spec.replicas (a spec change: generation 2)
    expect(st.spec?.replicas).toBe(2);
    expect(st.status?.replicas).toBe(1);
    expect(st.metadata?.generation).toBe(1);
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 5 }, status: { replicas: 1, selector: 'app=web' } });
    expect(after.spec?.replicas).toBe(5);
    expect(after.metadata?.generation).toBe(2);
  });

  it('deletes a scheduled pod gracefully: DELETE returns the pod with deletionTimestamp, it stays until finalized', async () => {
    // GIVEN a pod bound to a node
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p' }, spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 20, containers: [{ name: 'c', image: 'x' }] } } });

    // WHEN it is deleted
    const deleted = await core.deleteNamespacedPod({ name: 'p', namespace: 'default' });

    // THEN the answer is the pod, terminating with its grace period, and it is still there
    expect(deleted.kind).toBe('Pod');
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(20);
    expect(deleted.metadata?.deletionTimestamp).toEqual(new Date('2026-01-01T00:00:20Z'));
    expect((await core.readNamespacedPod({ name: 'p', namespace: 'default' })).metadata?.deletionTimestamp).toBeDefined();
  });
});

describe('patch', () => {
  it('applies a merge patch when the client sets the merge-patch content type', async () => {
    // GIVEN a ConfigMap
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' }, data: { a: '1', b: '2' } } });

    // WHEN it is merge-patched (null deletes a key)
    const out = await core.patchNamespacedConfigMap(
      { name: 'c', namespace: 'default', body: { data: { a: '9', b: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    // THEN the merge applied, and the request carried the merge-patch type
    expect(out.data).toEqual({ a: '9' });
    expect(kube.requests.at(-1)).toMatchObject({ method: 'PATCH', status: 200, info: { verb: 'patch', resource: 'configmaps', name: 'c' } });
  });

  it('takes client-node default patches as JSON Patch: an array works, an object is 400', async () => {
    // GIVEN a ConfigMap
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' }, data: { a: '1' } } });

    // WHEN patched without options, once with an array of ops and once with an object
    const ok = await core.patchNamespacedConfigMap({ name: 'c', namespace: 'default', body: [{ op: 'replace', path: '/data/a', value: '2' }] });
    const bad = await failure(core.patchNamespacedConfigMap({ name: 'c', namespace: 'default', body: { data: { a: '3' } } }));

    // THEN the array applied and the object was refused as the real server does
    expect(ok.data).toEqual({ a: '2' });
    expect(bad.code).toBe(400);
    expect(bad.body).toMatchObject({ reason: 'BadRequest', message: 'error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch' });
  });

  it('refuses strategic merge on a custom resource with 415', async () => {
    // GIVEN a SealedSecret
    const { CustomObjectsApi } = await import('@kubernetes/client-node');
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'bitnami.com',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'sealedsecrets',
      body: { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'ss' }, spec: { encryptedData: { a: 'AAAA' } } },
    });

    // WHEN it is patched with the strategic merge content type
    const bad = await failure(
      custom.patchNamespacedCustomObject(
        { group: 'bitnami.com', version: 'v1alpha1', namespace: 'default', plural: 'sealedsecrets', name: 'ss', body: { spec: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );

    // THEN 415 with the apiextensions message
    expect(bad.code).toBe(415);
    expect(bad.body).toMatchObject({
      reason: 'UnsupportedMediaType',
      message: 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    });
  });

  it('bumps a Deployment generation on a spec change but not on a status write through the main resource', async () => {
    // GIVEN a Deployment
    const apps = kc.makeApiClient(AppsV1Api);
    const d = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web') });

    // WHEN its template changes, and then a client tries to write status through the main resource
    const patched = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const statusThroughMain = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'default', body: { status: { replicas: 7 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    // THEN generation went 1 → 2, the container list merged by name, and status was ignored
    expect(d.metadata?.generation).toBe(1);
    expect(patched.metadata?.generation).toBe(2);
    expect(patched.spec?.template.spec?.containers.map((c) => [c.name, c.image])).toEqual([['app', 'app:2']]);
    expect(statusThroughMain.status?.replicas).toBeUndefined();
    expect(statusThroughMain.metadata?.resourceVersion).toBe(patched.metadata?.resourceVersion);
  });
});

describe('Lease', () => {
  it('creates on PUT, refuses an update without resourceVersion, and answers 409 on a stale one', async () => {
    // GIVEN no Lease
    const coord = kc.makeApiClient(CoordinationV1Api);
    const spec = { holderIdentity: 'rotator-a', leaseDurationSeconds: 15, acquireTime: new V1MicroTime('2026-01-01T00:00:00.000Z'), renewTime: new V1MicroTime('2026-01-01T00:00:00.000Z'), leaseTransitions: 0 };

    // WHEN it is PUT (created), then PUT without resourceVersion, then twice from the same read
    const created = await coord.replaceNamespacedLease({ name: 'lock', namespace: 'default', body: { metadata: { name: 'lock' }, spec } });
    const noRv = await failure(coord.replaceNamespacedLease({ name: 'lock', namespace: 'default', body: { metadata: { name: 'lock' }, spec } }));
    const read = await coord.readNamespacedLease({ name: 'lock', namespace: 'default' });
    await coord.replaceNamespacedLease({ name: 'lock', namespace: 'default', body: { ...read, spec: { ...spec, holderIdentity: 'rotator-b' } } });
    const stale = await failure(coord.replaceNamespacedLease({ name: 'lock', namespace: 'default', body: { ...read, spec: { ...spec, holderIdentity: 'rotator-c' } } }));

    // THEN the first PUT created it, the second is 422, the stale one 409 with the group-qualified message
    expect(created.spec?.holderIdentity).toBe('rotator-a');
    expect(noRv.code).toBe(422);
    expect(noRv.body).toMatchObject({ reason: 'Invalid', message: 'Lease.coordination.k8s.io "lock" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update' });
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on leases.coordination.k8s.io "lock": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect((await coord.readNamespacedLease({ name: 'lock', namespace: 'default' })).spec?.holderIdentity).toBe('rotator-b');
  });
});

describe('KubernetesObjectApi (discovery-driven generic client)', () => {
  it('maps kinds to resources through discovery, and its default strategic patch is 415 on a custom resource', async () => {
    // GIVEN the generic client
    const { KubernetesObjectApi } = await import('@kubernetes/client-node');
    const objects = KubernetesObjectApi.makeApiClient(kc);

    // WHEN it creates a Deployment and a Rollout, reads them back, and patches both with its default strategy
    await objects.create({ apiVersion: 'apps/v1', kind: 'Deployment', ...deployment('web', 1) });
    await objects.create({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'ro', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'ro' } }, template: { metadata: { labels: { app: 'ro' } }, spec: { containers: [{ name: 'c', image: 'x' }] } }, strategy: { canary: {} } },
    } as never);
    const web = await objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } });
    const patched = await objects.patch({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', labels: { team: 'a' } } });
    const roPatch = await failure(objects.patch({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'ro', namespace: 'default', labels: { team: 'a' } } }));

    // THEN the built-in took the strategic merge, the Rollout refused it
    expect(web.metadata?.uid).toBeDefined();
    expect(patched.metadata?.labels).toEqual({ team: 'a' });
    expect(roPatch.code).toBe(415);
    expect(kube.requests.some((r) => r.path === '/apis/argoproj.io/v1alpha1' && r.status === 200)).toBe(true);
  });
});

describe('apply and MicroTime', () => {
  it('creates with an apply patch when missing, requires fieldManager, and merges on the next apply', async () => {
    // GIVEN no ConfigMap
    const core = kc.makeApiClient(CoreV1Api);
    const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

    // WHEN it is applied without a fieldManager, then with one twice
    const noManager = await failure(core.patchNamespacedConfigMap({ name: 'c', namespace: 'default', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } } }, apply));
    const created = await core.patchNamespacedConfigMap({ name: 'c', namespace: 'default', fieldManager: 'rekey', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } } }, apply);
    const merged = await core.patchNamespacedConfigMap({ name: 'c', namespace: 'default', fieldManager: 'rekey', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { b: '2' } } }, apply);

    // THEN 422 without a manager, then created, then merged (no field ownership is tracked)
    expect(noManager).toMatchObject({ code: 422, body: { message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' } });
    expect(created.data).toEqual({ a: '1' });
    expect(merged.data).toEqual({ a: '1', b: '2' });
  });

  it('rejects a Lease renewTime with 3 fractional digits (a plain Date) with 400', async () => {
    // GIVEN a Lease body whose renewTime was serialised from a plain Date
    const body = JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: '2026-01-01T00:00:00.123Z' } });

    // WHEN it is posted
    const out = await fetch(`${kube.url}/apis/coordination.k8s.io/v1/namespaces/default/leases`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

    // THEN 400, as the strict MicroTime parser answers
    expect(out.status).toBe(400);
    expect(await out.json()).toMatchObject({ reason: 'BadRequest' });
  });
});

describe('faults', () => {
  it('applies a change and then loses the reply: the client errors, yet a GET shows the change', async () => {
    // GIVEN a fault that drops the reply of the next Secret replace after applying it
    const core = kc.makeApiClient(CoreV1Api);
    const s = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'cred' }, stringData: { key: 'old' } } });
    kube.faults.add({ verb: 'update', resource: 'secrets', name: 'cred', action: { type: 'applyThenDrop' } });

    // WHEN the client replaces it
    let error: unknown;
    try {
      await core.replaceNamespacedSecret({ name: 'cred', namespace: 'default', body: { ...s, data: { key: Buffer.from('new').toString('base64') } } });
    } catch (err) {
      error = err;
    }

    // THEN the client saw a transport error, while the change is committed
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApiException);
    const after = await core.readNamespacedSecret({ name: 'cred', namespace: 'default' });
    expect(Buffer.from(after.data?.key ?? '', 'base64').toString()).toBe('new');
    expect(kube.requests.filter((r) => r.info?.verb === 'update').map((r) => r.status)).toEqual(['dropped']);
  });

  it('drops the connection before applying (nothing stored) and answers 504 after applying (stored)', async () => {
    // GIVEN a drop on the first ConfigMap create and an apply-then-timeout on the second
    const core = kc.makeApiClient(CoreV1Api);
    kube.faults.add({ verb: 'create', resource: 'configmaps', name: undefined, action: { type: 'drop' } });

    // WHEN two creates are sent (the second fault added after the first request)
    let dropError: unknown;
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
    } catch (err) {
      dropError = err;
    }
    const afterDrop = kube.registry.find(res('configmaps'), 'default', 'a');
    kube.faults.add({ verb: 'create', resource: 'configmaps', action: { type: 'applyThenTimeout' } });
    const timedOut = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } }));

    // THEN the dropped one is absent, the timed-out one exists, and the log counts both with their outcome
    expect(dropError).toBeInstanceOf(Error);
    expect(afterDrop).toBeUndefined();
    expect(timedOut).toMatchObject({ code: 504, body: { reason: 'Timeout' } });
    expect(kube.registry.find(res('configmaps'), 'default', 'b')?.metadata.name).toBe('b');
    expect(kube.requests.filter((r) => r.info?.resource === 'configmaps').map((r) => [r.info?.verb, r.status, r.fault])).toEqual([
      ['create', 'dropped', 'drop'],
      ['create', 504, 'applyThenTimeout'],
    ]);
  });

  it('fails a request before applying it with the injected status', async () => {
    // GIVEN a 503 fault on creating ConfigMaps
    const core = kc.makeApiClient(CoreV1Api);
    kube.faults.add({ verb: 'create', resource: 'configmaps', action: { type: 'error', code: 503 } });

    // WHEN a ConfigMap is created twice
    const first = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } }));
    const second = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });

    // THEN the first failed without effect, the second (fault used up) succeeded
    expect(first.code).toBe(503);
    expect(first.body).toMatchObject({ reason: 'ServiceUnavailable' });
    expect(second.metadata?.name).toBe('x');
  });
});

export function deployment(name: string, replicas = 2): import('@kubernetes/client-node').V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    },
  };
}
