/** The simulated Deployment + ReplicaSet controllers and kubelet, driven by ticks. */
import { afterEach, describe, expect, it } from '@jest/globals';

import { defaultControllers, type ControllerSet } from './controllers/index.js';
import { NEVER_READY_ANNOTATION } from './controllers/kubelet.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import { clone, type KubeObject, type Obj } from './types.js';

let kube: FakeKube;
let ctl: ControllerSet;

afterEach(async () => {
  await kube?.close();
});

async function start(): Promise<void> {
  ctl = defaultControllers();
  kube = await startFakeKube({ controllers: ctl.all });
}

function deployment(name: string, replicas: number, image: string, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, ...(annotations ? { annotations } : {}) }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

function pods(app: string): KubeObject[] {
  return kube.registry.list(res('pods'), 'default').filter((p) => p.metadata.labels?.app === app);
}

function setTemplate(name: string, mutate: (template: Obj) => void): void {
  const d = clone(kube.registry.get(res('deployments'), 'default', name));
  mutate((d.spec as Obj).template as Obj);
  kube.registry.update(res('deployments'), 'default', name, d);
}

describe('Deployment', () => {
  it('rolls out a template change: every pod replaced, started after the change, status complete', async () => {
    // GIVEN a settled Deployment with 3 replicas
    await start();
    kube.apply(deployment('web', 3, 'app:1'));
    await kube.settle();
    const before = pods('web');
    const changedAt = kube.clock.time();

    // WHEN its image changes and the controllers settle
    setTemplate('web', (t) => {
      (((t.spec as Obj).containers as Obj[])[0]).image = 'app:2';
    });
    await kube.settle();

    // THEN 3 new pods (none of the old names), all started after the change, and the status says complete
    const after = pods('web');
    expect(before).toHaveLength(3);
    expect(after).toHaveLength(3);
    expect(after.filter((p) => before.some((b) => b.metadata.uid === p.metadata.uid))).toEqual([]);
    for (const p of after) {
      const startedAt = ((p.status as Obj).containerStatuses as { state: { running: { startedAt: string } } }[])[0].state.running.startedAt;
      expect(Date.parse(startedAt)).toBeGreaterThan(Date.parse(changedAt));
      expect(ctl.kubelet.containerStart('default', p.metadata.name ?? '', 'app')?.startedAt).toBe(startedAt);
    }
    const d = kube.registry.get(res('deployments'), 'default', 'web');
    expect(d.metadata.generation).toBe(2);
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect((d.status as { conditions: Obj[] }).conditions.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
      message: `ReplicaSet "web-${after[0].metadata.labels?.['pod-template-hash']}" has successfully progressed.`,
    });
    const rss = kube.registry.list(res('replicasets'), 'default');
    expect(rss.map((rs) => (rs.spec as Obj).replicas).sort()).toEqual([0, 3]);
  });

  it('never exceeds maxSurge nor drops below maxUnavailable during the rollout', async () => {
    // GIVEN a settled Deployment with 4 replicas, maxSurge 1, maxUnavailable 0
    await start();
    const d = deployment('api', 4, 'app:1');
    (d.spec as Obj).strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    kube.apply(d);
    await kube.settle();

    // WHEN the template changes and we tick one at a time
    setTemplate('api', (t) => {
      (((t.spec as Obj).containers as Obj[])[0]).image = 'app:2';
    });
    let maxPods = 0;
    let minReady = Infinity;
    for (let i = 0; i < 60; i++) {
      kube.tick();
      const active = pods('api').filter((p) => !p.metadata.deletionTimestamp);
      maxPods = Math.max(maxPods, active.length);
      minReady = Math.min(minReady, active.filter((p) => ((p.status as Obj).conditions as Obj[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length);
    }

    // THEN at most 5 pods existed at once and at least 4 were ready at every tick, and the rollout finished
    expect(maxPods).toBe(5);
    expect(minReady).toBe(4);
    expect(kube.registry.get(res('deployments'), 'default', 'api').status).toMatchObject({ updatedReplicas: 4, availableReplicas: 4, replicas: 4 });
  });

  it('does not complete a rollout while a new pod never becomes Ready', async () => {
    // GIVEN a settled Deployment with 2 replicas
    await start();
    kube.apply(deployment('stuck', 2, 'app:1'));
    await kube.settle();

    // WHEN the new template's pods never become Ready
    setTemplate('stuck', (t) => {
      t.metadata = { ...(t.metadata as Obj), annotations: { [NEVER_READY_ANNOTATION]: 'true' } };
    });
    await kube.settle();

    // THEN the old pods keep serving, the status is not complete
    const d = kube.registry.get(res('deployments'), 'default', 'stuck');
    expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 });
    expect((d.status as { conditions: Obj[] }).conditions.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    expect(pods('stuck').filter((p) => p.metadata.annotations?.[NEVER_READY_ANNOTATION] === undefined)).toHaveLength(2);
  });

  it('reports ProgressDeadlineExceeded once progressDeadlineSeconds pass without progress on the fake clock', async () => {
    // GIVEN a settled Deployment with a 10 s progress deadline, changed to never-ready pods
    await start();
    const d = deployment('late', 1, 'app:1');
    (d.spec as Obj).progressDeadlineSeconds = 10;
    kube.apply(d);
    await kube.settle();
    setTemplate('late', (t) => {
      t.metadata = { ...(t.metadata as Obj), annotations: { [NEVER_READY_ANNOTATION]: 'true' } };
    });

    // WHEN 5 ticks pass, then 20 more
    for (let i = 0; i < 5; i++) kube.tick();
    const early = kube.registry.get(res('deployments'), 'default', 'late');
    for (let i = 0; i < 20; i++) kube.tick();
    const late = kube.registry.get(res('deployments'), 'default', 'late');

    // THEN still progressing at 5 s, timed out after the deadline
    const progressing = (o: KubeObject): Obj | undefined => ((o.status as Obj).conditions as Obj[]).find((c) => c.type === 'Progressing');
    expect(progressing(early)).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    expect(progressing(late)).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${String(progressing(early)?.message).match(/"(.*)"/)?.[1]}" has timed out progressing.` });
  });

  it('Recreate stops every old pod before the first new one starts', async () => {
    // GIVEN a settled Recreate Deployment with 2 replicas
    await start();
    const d = deployment('batch', 2, 'app:1');
    (d.spec as Obj).strategy = { type: 'Recreate' };
    kube.apply(d);
    await kube.settle();

    // WHEN its image changes and we tick, recording whether old and new pods ever coexist
    setTemplate('batch', (t) => {
      (((t.spec as Obj).containers as Obj[])[0]).image = 'app:2';
    });
    let overlap = false;
    for (let i = 0; i < 30; i++) {
      kube.tick();
      const images = new Set(pods('batch').map((p) => (((p.spec as Obj).containers as Obj[])[0]).image));
      if (images.size > 1) overlap = true;
    }

    // THEN never both versions at once, and 2 new pods in the end
    expect(overlap).toBe(false);
    expect(pods('batch').map((p) => (((p.spec as Obj).containers as Obj[])[0]).image)).toEqual(['app:2', 'app:2']);
  });

  it('deletes the ReplicaSets and pods of a deleted Deployment (garbage collection)', async () => {
    // GIVEN a settled Deployment
    await start();
    kube.apply(deployment('gone', 2, 'app:1'));
    await kube.settle();

    // WHEN it is deleted
    kube.registry.delete(res('deployments'), 'default', 'gone');
    await kube.settle();

    // THEN nothing it owned is left
    expect(kube.registry.list(res('replicasets'), 'default')).toEqual([]);
    expect(pods('gone')).toEqual([]);
  });
});
