/**
 * End-to-end shapes of what a rotator does, through client-node only (the cluster ticking in the
 * background): change a Secret, restart its consumers, and prove from the API that every consumer
 * pod started after the change and got the new value.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';

import { defaultControllers, type ControllerSet } from './controllers/index.js';
import { processRunner } from './controllers/process-runner.js';
import { kubectlFor } from './kubectl.js';
import { REVISION_LABEL } from './controllers/statefulset.js';
import { EventLog } from './events.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import type { KubeObject } from './types.js';

let kube: FakeKube;
let ctl: ControllerSet;
let kc: KubeConfig;

beforeEach(async () => {
  ctl = defaultControllers();
  kube = await startFakeKube({ controllers: ctl.all });
  kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
});

afterEach(async () => {
  await kube.close();
});

const consumerTemplate = (app: string): KubeObject => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: 's3-cred' } }] }] },
});

function startedAt(pod: V1Pod): number {
  return new Date(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? 0).getTime();
}

describe('rotation shapes', () => {
  it('Deployment: restart by template annotation, watch pods until every Ready pod started after the Secret changed', async () => {
    // GIVEN a Secret and a settled 3-replica Deployment consuming it, and an informer on its pods
    kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-cred', namespace: 'default' }, data: { KEY: Buffer.from('old').toString('base64') } });
    kube.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: consumerTemplate('web') } });
    await kube.settle();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const pods = makeInformer<V1Pod>(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' }), 'app=web');
    const changes = new EventLog<string>();
    for (const verb of ['add', 'update', 'delete'] as const) pods.on(verb, (p) => changes.push(`${verb} ${p.metadata?.name}`));
    await pods.start();

    // WHEN the rotator writes the new value, reads back when it landed (the pods' clock is the API's),
    // and restarts the Deployment with a strategic merge patch of the template annotation
    const secret = await core.readNamespacedSecret({ name: 's3-cred', namespace: 'default' });
    await core.replaceNamespacedSecret({ name: 's3-cred', namespace: 'default', body: { ...secret, data: { KEY: Buffer.from('new').toString('base64') } } });
    const changedAt = kube.clock.nowMs();
    await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'default', body: { spec: { template: { metadata: { annotations: { 'rekey.dev/restartedAt': 'gen-2' } } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const allRestarted = (): boolean => {
      const list = pods.list();
      return list.length === 3 && list.every((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && startedAt(p) > changedAt);
    };
    await kube.tickWhile(changes.waitFor(allRestarted, 'three Ready pods started after the change'));
    await pods.stop();

    // THEN the informer's view, the kubelet's evidence and the Deployment status agree
    for (const p of pods.list()) {
      expect(ctl.kubelet.containerStart('default', p.metadata?.name ?? '', 'app')?.env).toEqual({ KEY: 'new' });
    }
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    expect(d.status).toMatchObject({ updatedReplicas: 3, readyReplicas: 3 });
  });

  it('OnDelete StatefulSet under a PDB: evict one pod at a time, retrying on 429, until every pod runs the new revision and value', async () => {
    // GIVEN a Secret, a settled 3-replica OnDelete StatefulSet consuming it, a PDB maxUnavailable 1,
    // and a template change (a new revision nobody rolls out)
    kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-cred', namespace: 'default' }, data: { KEY: Buffer.from('old').toString('base64') } });
    kube.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: { replicas: 3, serviceName: 'db', updateStrategy: { type: 'OnDelete' }, selector: { matchLabels: { app: 'db' } }, template: consumerTemplate('db') },
    });
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db', namespace: 'default' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'db' } } } });
    await kube.settle();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const secret = await core.readNamespacedSecret({ name: 's3-cred', namespace: 'default' });
    await core.replaceNamespacedSecret({ name: 's3-cred', namespace: 'default', body: { ...secret, data: { KEY: Buffer.from('new').toString('base64') } } });
    await apps.patchNamespacedStatefulSet(
      { name: 'db', namespace: 'default', body: { spec: { template: { metadata: { annotations: { 'rekey.dev/restartedAt': 'gen-2' } } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    await kube.settle();
    const updateRevision = String((kube.registry.get(res('statefulsets'), 'default', 'db').status as { updateRevision: string }).updateRevision);

    // WHEN the rotator evicts each pod whose revision is not the update revision, highest first,
    // ticking (not sleeping) between 429s
    const outcomes: string[] = [];
    for (const name of ['db-2', 'db-1', 'db-0']) {
      for (let attempt = 1; ; attempt++) {
        if (attempt > 100) throw new Error(`eviction of ${name} still refused after 100 ticks: got ${outcomes.join(', ')}`);
        try {
          await core.createNamespacedPodEviction({ name, namespace: 'default', body: { metadata: { name, namespace: 'default' } } });
          outcomes.push(`${name} 201`);
          break;
        } catch (err) {
          if (!(err instanceof ApiException) || err.code !== 429) throw err;
          outcomes.push(`${name} 429`);
          kube.tick();
        }
      }
      await kube.settle();
    }

    // THEN each eviction went through (the PDB allowed one at a time), every pod is on the new
    // revision with the new value, and currentRevision stays the old one (OnDelete in 1.32)
    expect(outcomes.filter((o) => o.endsWith('201'))).toEqual(['db-2 201', 'db-1 201', 'db-0 201']);
    const podsNow = kube.registry.list(res('pods'), 'default');
    expect(podsNow.map((p) => [p.metadata.name, p.metadata.labels?.[REVISION_LABEL]])).toEqual([
      ['db-0', updateRevision],
      ['db-1', updateRevision],
      ['db-2', updateRevision],
    ]);
    for (const p of podsNow) expect(ctl.kubelet.containerStart('default', p.metadata.name ?? '', 'app')?.env).toEqual({ KEY: 'new' });
    const st = kube.registry.get(res('statefulsets'), 'default', 'db').status as Record<string, unknown>;
    expect(st.updateRevision).toBe(updateRevision);
    expect(st.currentRevision).not.toBe(updateRevision);
  });

  it('a second eviction right after the first is refused with 429 until the replacement is Ready', async () => {
    // GIVEN a settled 2-replica OnDelete StatefulSet and a PDB maxUnavailable 1
    kube.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: { replicas: 2, serviceName: 'db', updateStrategy: { type: 'OnDelete' }, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db', namespace: 'default' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'db' } } } });
    await kube.settle();
    const core = kc.makeApiClient(CoreV1Api);
    const evict = async (name: string): Promise<number> => {
      try {
        await core.createNamespacedPodEviction({ name, namespace: 'default', body: { metadata: { name, namespace: 'default' } } });
        return 201;
      } catch (err) {
        if (err instanceof ApiException) return err.code;
        throw err;
      }
    };

    // WHEN db-1 is evicted, then db-0 once per tick until it goes
    const codes = [await evict('db-1')];
    let ticks = 0;
    for (;;) {
      if (ticks >= 100) throw new Error(`db-0 still not evictable after 100 ticks: got ${codes.join(', ')}`);
      kube.tick();
      ticks += 1;
      const code = await evict('db-0');
      codes.push(code);
      if (code === 201) break;
    }

    // THEN the first went, db-0 was refused while db-1 was being replaced, then allowed
    expect(codes[0]).toBe(201);
    expect(codes.slice(1, -1).every((c) => c === 429)).toBe(true);
    expect(codes.length).toBeGreaterThan(2);
    expect(codes.at(-1)).toBe(201);
    expect(ticks).toBeLessThan(20);
  });

  it('a real process as a Job pod restarts a Deployment through client-node and waits for it, while kubectl waits for the Job', async () => {
    // GIVEN a fresh cluster whose Job pods run a node script (client-node, KUBECONFIG from env) that
    // restarts deployment/web with the generation from its ConfigMap env and polls until rolled out
    await kube.close();
    let kubeconfigPath = '';
    const script = `
      import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
      const kc = new KubeConfig();
      kc.loadFromDefault();
      const apps = kc.makeApiClient(AppsV1Api);
      await apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'default', body: { spec: { template: { metadata: { annotations: { 'rekey.dev/restartedAt': process.env.GEN } } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      for (;;) {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
        const s = d.status ?? {};
        if (d.metadata.generation <= (s.observedGeneration ?? 0) && s.updatedReplicas === d.spec.replicas && s.availableReplicas === d.spec.replicas && s.replicas === d.spec.replicas) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log('rolled out ' + process.env.GEN);`;
    const proc = processRunner({ command: process.execPath, args: ['--input-type=module', '-e', script], env: () => ({ KUBECONFIG: kubeconfigPath }) });
    ctl = defaultControllers({ kubelet: { runner: proc.runner } });
    kube = await startFakeKube({ controllers: ctl.all });
    kubeconfigPath = kube.kubeconfig();
    kube.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } } } });
    await kube.settle();
    const before = kube.registry.list(res('pods'), 'default').map((p) => p.metadata.uid);
    kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plan', namespace: 'default' }, data: { GEN: 'gen-7' } });

    // WHEN the Job is created and kubectl waits for it while the cluster ticks
    kube.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'rotate', namespace: 'default' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'rotator', image: 'rotator:1', envFrom: [{ configMapRef: { name: 'plan' } }] }] } } },
    });
    const waited = await kube.tickWhile(kubectlFor(kubeconfigPath)('wait', '--for=condition=complete', 'job/rotate', '--timeout=90s'));

    // THEN the process saw the rollout finish, the Job completed, and every web pod is new
    expect(waited).toMatchObject({ code: 0, stdout: 'job.batch/rotate condition met\n' });
    expect(proc.runs.map((r) => [r.exitCode, r.stdout, r.stderr])).toEqual([[0, 'rolled out gen-7\n', '']]);
    const web = kube.registry.list(res('pods'), 'default').filter((p) => p.metadata.labels?.app === 'web' && !p.metadata.deletionTimestamp);
    expect(web).toHaveLength(2);
    expect(web.filter((p) => before.includes(p.metadata.uid))).toEqual([]);
  });
});
