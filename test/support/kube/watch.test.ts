/** Watch semantics through client-node's Watch and makeInformer (the unchanged package). */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, makeInformer, Watch, type V1ConfigMap } from '@kubernetes/client-node';

import { EventLog } from './events.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import { clone } from './types.js';

let kube: FakeKube;
let kc: KubeConfig;
let core: CoreV1Api;
const stops: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  kube = await startFakeKube();
  kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
});

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await kube.close();
});

const PATH = '/api/v1/namespaces/default/configmaps';

async function informer(): Promise<EventLog<string>> {
  const log = new EventLog<string>();
  const inf = makeInformer<V1ConfigMap>(kc, PATH, () => core.listNamespacedConfigMap({ namespace: 'default' }));
  inf.on('add', (o) => log.push(`add ${o.metadata?.name} ${o.data?.v ?? ''}`));
  inf.on('update', (o) => log.push(`update ${o.metadata?.name} ${o.data?.v ?? ''}`));
  inf.on('delete', (o) => log.push(`delete ${o.metadata?.name}`));
  inf.on('error', (e) => log.push(`error ${String(e)}`));
  await inf.start();
  stops.push(() => inf.stop());
  return log;
}

function watches(): { rv: string | undefined; status: number | 'dropped' }[] {
  return kube.requests.filter((r) => r.info?.verb === 'watch').map((r) => ({ rv: r.query.resourceVersion, status: r.status }));
}

describe('informer (makeInformer)', () => {
  it('sees ADDED, MODIFIED and DELETED in order', async () => {
    // GIVEN an existing ConfigMap and a started informer
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    const log = await informer();
    await log.waitFor((l) => l.length >= 1, 'the initial add');

    // WHEN it is changed and deleted, and another is created
    await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'default', body: { metadata: { name: 'a' }, data: { v: '2' } } });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' }, data: { v: '3' } } });
    await log.waitFor((l) => l.length >= 4, 'four events');

    // THEN the informer saw exactly that, in order
    expect(log.items).toEqual(['add a 1', 'update a 2', 'delete a', 'add b 3']);
  });

  it('re-watches from its last resourceVersion after the server closes the stream, missing nothing', async () => {
    // GIVEN an informer that has seen one object
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    const log = await informer();
    await log.waitFor((l) => l.length >= 1, 'the initial add');
    const rvBefore = String(kube.store.revision);

    // WHEN the server ends every watch and, before the client is back, the object changes
    kube.closeWatches();
    const cm = clone(kube.registry.get(res('configmaps'), 'default', 'a'));
    cm.data = { v: '2' };
    kube.registry.update(res('configmaps'), 'default', 'a', cm);
    await log.waitFor((l) => l.length >= 2, 'the update after reconnect');

    // THEN the update arrived through a second watch resumed at the last seen revision (replayed from history)
    expect(log.items).toEqual(['add a 1', 'update a 2']);
    expect(watches()).toEqual([
      { rv: rvBefore, status: 200 },
      { rv: rvBefore, status: 200 },
    ]);
  });

  it('relists after 410 Expired when its revision was compacted away, and reports the missed delete', async () => {
    // GIVEN an informer that has seen two objects
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } });
    const log = await informer();
    await log.waitFor((l) => l.length >= 2, 'two adds');
    const lists = (): number => kube.requests.filter((r) => r.info?.verb === 'list').length;
    const listsBefore = lists();

    // WHEN the watch ends, "a" is deleted and the history compacted, all before the client re-watches
    kube.closeWatches();
    kube.registry.delete(res('configmaps'), 'default', 'a');
    kube.store.compact();
    await log.waitFor((l) => l.includes('delete a'), 'the delete found by the relist');

    // THEN the re-watch got 410 (in-stream ERROR), the informer relisted, and the relist's diff deleted "a"
    expect(log.items).toEqual(['add a ', 'add b ', 'delete a']);
    expect(lists()).toBe(listsBefore + 1);
    expect(watches().length).toBeGreaterThanOrEqual(2);
  });
});

describe('raw watch (Watch)', () => {
  it('replays only the changes after the given resourceVersion, with no synthetic ADDED', async () => {
    // GIVEN two ConfigMaps, then a change to one of them after revision N
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } });
    const n = String(kube.store.revision);
    await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'default', body: { metadata: { name: 'a' }, data: { v: '2' } } });

    // WHEN a watch starts at N
    const log = new EventLog<string>();
    const ctrl = await new Watch(kc).watch(PATH, { resourceVersion: n }, (type, obj: V1ConfigMap) => log.push(`${type} ${obj.metadata?.name} ${obj.metadata?.resourceVersion}`), () => undefined);
    stops.push(() => ctrl.abort());
    await log.waitFor((l) => l.length >= 1, 'the replayed event');

    // THEN exactly the MODIFIED at N+1 came
    expect(log.items).toEqual([`MODIFIED a ${Number(n) + 1}`]);
  });

  it('turns selector transitions into ADDED and DELETED, and sends BOOKMARKs only when allowed', async () => {
    // GIVEN a label-selected watch with bookmarks allowed
    const log = new EventLog<string>();
    const ctrl = await new Watch(kc).watch(PATH, { labelSelector: 'tier=db', allowWatchBookmarks: true }, (type, obj: V1ConfigMap) => log.push(`${type} ${obj.metadata?.name ?? ''}`), () => undefined);
    stops.push(() => ctrl.abort());

    // WHEN an object is created outside the selection, relabelled into it, then out of it, and a bookmark is sent
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x', labels: { tier: 'web' } } } });
    await core.patchNamespacedConfigMap({ name: 'x', namespace: 'default', body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'db' }] });
    await core.patchNamespacedConfigMap({ name: 'x', namespace: 'default', body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'cache' }] });
    await log.waitFor((l) => l.length >= 2, 'ADDED and DELETED');
    kube.sendBookmarks();
    await log.waitFor((l) => l.length >= 3, 'the bookmark');

    // THEN the watch saw it enter (ADDED) and leave (DELETED), then a BOOKMARK with no name
    expect(log.items).toEqual(['ADDED x', 'DELETED x', 'BOOKMARK ']);
  });

  it('ends the stream after timeoutSeconds', async () => {
    // GIVEN a watch asking for a 1 s timeout
    const ended = new EventLog<string>();

    // WHEN it is opened and nothing happens
    await new Watch(kc).watch(PATH, { timeoutSeconds: 1 }, () => undefined, (err) => ended.push(String(err)));
    await ended.waitFor((l) => l.length >= 1, 'the server to end the stream');

    // THEN the server ended it cleanly (client-node reports no error) and no watch is left open
    expect(ended.items).toEqual(['null']);
  });

  it('answers a watch from a compacted revision with one ERROR 410 event and closes the stream', async () => {
    // GIVEN a compacted history
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
    kube.store.compact();

    // WHEN a watch starts at revision 1
    const log = new EventLog<string>();
    const ended = new EventLog<string>();
    await new Watch(kc).watch(PATH, { resourceVersion: '1' }, (type, obj: { code?: number; reason?: string; message?: string }) => log.push(`${type} ${obj.code} ${obj.reason} ${obj.message}`), (err) => ended.push(String(err)));
    await ended.waitFor((l) => l.length >= 1, 'the stream end');

    // THEN one ERROR event carried the Expired Status, then the stream ended
    expect(log.items).toEqual([`ERROR 410 Expired too old resource version: 1 (${kube.store.compactedRevision})`]);
  });
});
