/** The simulated StatefulSet controller: revisions, RollingUpdate order, OnDelete. */
import { afterEach, describe, expect, it } from '@jest/globals';

import { defaultControllers } from './controllers/index.js';
import { REVISION_LABEL } from './controllers/statefulset.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import { clone, type KubeObject, type Obj } from './types.js';

let kube: FakeKube;

afterEach(async () => {
  await kube?.close();
});

function statefulSet(name: string, replicas: number, updateStrategy?: Obj): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
      ...(updateStrategy ? { updateStrategy } : {}),
    },
  };
}

function changeImage(name: string, image: string): void {
  const set = clone(kube.registry.get(res('statefulsets'), 'default', name));
  (((((set.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]).image = image;
  kube.registry.update(res('statefulsets'), 'default', name, set);
}

function revisionsByPod(name: string): Record<string, string> {
  return Object.fromEntries(
    kube.registry
      .list(res('pods'), 'default')
      .filter((p) => p.metadata.labels?.app === name && !p.metadata.deletionTimestamp)
      .map((p) => [p.metadata.name ?? '', p.metadata.labels?.[REVISION_LABEL] ?? '']),
  );
}

describe('StatefulSet', () => {
  it('creates ordinals in order, each Ready before the next, with revision labels and status', async () => {
    // GIVEN a StatefulSet with 3 replicas and no update strategy (defaulted to RollingUpdate, partition 0)
    kube = await startFakeKube({ controllers: defaultControllers().all });
    kube.apply(statefulSet('db', 3));

    // WHEN the controllers tick
    const created: string[] = [];
    for (let i = 0; i < 30; i++) {
      kube.tick();
      for (const name of Object.keys(revisionsByPod('db'))) if (!created.includes(name)) created.push(name);
    }

    // THEN pods appeared as db-0, db-1, db-2, each only after the previous was Ready; status matches
    expect(created).toEqual(['db-0', 'db-1', 'db-2']);
    const set = kube.registry.get(res('statefulsets'), 'default', 'db');
    expect((set.spec as Obj).updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    const rev = (set.status as Obj).updateRevision as string;
    expect(rev).toMatch(/^db-[a-z0-9]+$/);
    expect(set.status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: rev,
      updateRevision: rev,
      collisionCount: 0,
    });
    expect(revisionsByPod('db')).toEqual({ 'db-0': rev, 'db-1': rev, 'db-2': rev });
    expect(kube.registry.get(res('controllerrevisions'), 'default', rev)).toMatchObject({ revision: 1 });
  });

  it('RollingUpdate replaces the highest ordinal first, one at a time, then promotes currentRevision', async () => {
    // GIVEN a settled StatefulSet with 3 replicas
    kube = await startFakeKube({ controllers: defaultControllers().all });
    kube.apply(statefulSet('db', 3));
    await kube.settle();
    const oldRev = (kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj).currentRevision as string;

    // WHEN the template changes and we tick, recording the order pods get the new revision
    changeImage('db', 'db:2');
    const order: string[] = [];
    let maxReplacedAtOnce = 0;
    let newRev = '';
    for (let i = 0; i < 60; i++) {
      kube.tick();
      newRev = (kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj).updateRevision as string;
      // pods not serving: terminating or not yet recreated
      const missing = 3 - Object.keys(revisionsByPod('db')).length;
      maxReplacedAtOnce = Math.max(maxReplacedAtOnce, missing);
      for (const [pod, rev] of Object.entries(revisionsByPod('db'))) if (rev === newRev && !order.includes(pod)) order.push(pod);
    }

    // THEN db-2, db-1, db-0 in that order, never two down at once, and currentRevision promoted at the end
    expect(newRev).not.toBe(oldRev);
    expect(order).toEqual(['db-2', 'db-1', 'db-0']);
    expect(maxReplacedAtOnce).toBe(1);
    expect(kube.registry.get(res('statefulsets'), 'default', 'db').status).toMatchObject({
      observedGeneration: 2,
      currentRevision: newRev,
      updateRevision: newRev,
      currentReplicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
    });
  });

  it('OnDelete keeps old pods until deleted, recreates them from the update revision, never promotes currentRevision', async () => {
    // GIVEN a settled OnDelete StatefulSet with 2 replicas whose template then changes
    kube = await startFakeKube({ controllers: defaultControllers().all });
    kube.apply(statefulSet('db', 2, { type: 'OnDelete' }));
    await kube.settle();
    const oldRev = (kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj).currentRevision as string;
    changeImage('db', 'db:2');
    await kube.settle();
    const newRev = (kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj).updateRevision as string;

    // THEN nothing was replaced yet
    expect(revisionsByPod('db')).toEqual({ 'db-0': oldRev, 'db-1': oldRev });
    const before = kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj;
    expect(before).toMatchObject({ currentReplicas: 2, currentRevision: oldRev, updateRevision: newRev });
    expect(before.updatedReplicas).toBeUndefined(); // 0, omitted like Go's omitempty

    // WHEN both pods are deleted
    const oldUids = kube.registry.list(res('pods'), 'default').map((p) => p.metadata.uid);
    kube.registry.delete(res('pods'), 'default', 'db-0');
    kube.registry.delete(res('pods'), 'default', 'db-1');
    await kube.settle();

    // THEN they came back under the same names with new UIDs and the new revision,
    // while currentRevision stays the old one and currentReplicas drops to 0 (1.32 behaviour)
    expect(revisionsByPod('db')).toEqual({ 'db-0': newRev, 'db-1': newRev });
    expect(kube.registry.list(res('pods'), 'default').filter((p) => oldUids.includes(p.metadata.uid))).toEqual([]);
    const st = kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj;
    expect(st).toMatchObject({ currentRevision: oldRev, updateRevision: newRev, updatedReplicas: 2, readyReplicas: 2 });
    expect(st.currentReplicas).toBeUndefined();
  });
});
