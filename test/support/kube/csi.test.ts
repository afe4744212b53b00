/** The simulated Secrets Store CSI driver: mounts, republish under the poll interval, the synced Secret and its flips. */
import { afterEach, describe, expect, it } from '@jest/globals';

import { defaultControllers, type ControllerSet } from './controllers/index.js';
import type { CsiDriverOptions } from './controllers/csi.js';
import { RemoteStore } from './controllers/remote-store.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import type { KubeObject, Obj } from './types.js';

let kube: FakeKube;
let set: ControllerSet;
let store: RemoteStore;

afterEach(async () => {
  await kube?.close();
});

const AT = (s: number) => Date.parse('2026-01-01T00:00:00Z') + s * 1000;

async function start(csi: Partial<CsiDriverOptions> = {}): Promise<void> {
  store = new RemoteStore('vault');
  set = defaultControllers({ csi: { providers: { vault: { store }, aws: { store } }, ...csi } });
  kube = await startFakeKube({ controllers: set.all });
}

function pair(gen: number): Record<string, string> {
  return { accessKeyId: `FAKEKEYGEN${gen}AAAAAAAA`, secretAccessKey: `fake-secret-${gen}` };
}

function spc(provider: 'vault' | 'aws' = 'vault'): KubeObject {
  const objects =
    provider === 'vault'
      ? '- objectName: access-key\n  secretPath: rekey/uploads\n  secretKey: accessKeyId\n- objectName: secret-key\n  secretPath: rekey/uploads\n  secretKey: secretAccessKey\n'
      : '- objectName: rekey/uploads\n  objectType: secretsmanager\n  objectAlias: rekey-pair.json\n  jmesPath:\n    - path: accessKeyId\n      objectAlias: access-key\n    - path: \'"secretAccessKey"\'\n      objectAlias: secret-key\n';
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name: 'uploads-s3', namespace: 'default' },
    spec: {
      provider,
      parameters: { roleName: 'uploads', objects },
      secretObjects: [{ secretName: 'uploads-s3', type: 'Opaque', labels: { app: 'x' }, data: [{ objectName: 'access-key', key: 'access-key' }, { objectName: 'secret-key', key: 'secret-key' }] }],
    },
  };
}

/** A bare pod mounting the CSI volume; `env` also reads the synced Secret. */
function pod(name: string, env = false): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          volumeMounts: [{ name: 'creds', mountPath: '/mnt/creds', readOnly: true }],
          ...(env ? { env: [{ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'access-key' } } }] } : {}),
        },
      ],
      volumes: [{ name: 'creds', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'uploads-s3' } } }],
    },
  };
}

const syncedKeyId = (): string | undefined => {
  const s = kube.registry.find(res('secrets'), 'default', 'uploads-s3');
  const v = (s?.data as Record<string, string> | undefined)?.['access-key'];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};
const mountedKeyId = (p: string): string | undefined => set.csi!.mounted('default', p)[0]?.files['access-key'];
const phase = (p: string): unknown => (kube.registry.get(res('pods'), 'default', p).status as Obj).phase;
const ticks = (n: number) => {
  for (let i = 0; i < n; i++) kube.tick();
};
/** Ticks until the fake clock reads `s` seconds after the start. */
const until = (s: number) => {
  while (kube.clock.nowMs() < AT(s)) kube.tick();
};

describe('mount', () => {
  it('publishes the volume before the containers start; the synced Secret exists while a pod mounts it, with the pod env read from it', async () => {
    // GIVEN the pair in the store and a SecretProviderClass syncing both alias files
    await start();
    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    kube.apply(spc());
    expect(kube.registry.find(res('secrets'), 'default', 'uploads-s3')).toBeUndefined();

    // WHEN a pod mounting the volume and reading the synced Secret through env starts
    kube.apply(pod('a', true));
    await kube.settle();

    // THEN the files come from the store, the synced Secret holds them (managed label added), the env was resolved from it
    expect(set.csi!.mounted('default', 'a')[0]!.files).toEqual({ 'access-key': 'FAKEKEYGEN1AAAAAAAA', 'secret-key': 'fake-secret-1' });
    const s = kube.registry.get(res('secrets'), 'default', 'uploads-s3');
    expect(s.metadata.labels).toEqual({ app: 'x', 'secrets-store.csi.k8s.io/managed': 'true' });
    expect(syncedKeyId()).toBe('FAKEKEYGEN1AAAAAAAA');
    expect(set.kubelet.containerStart('default', 'a', 'app')!.env).toEqual({ AWS_ACCESS_KEY_ID: 'FAKEKEYGEN1AAAAAAAA' });

    // WHEN the last pod mounting it is deleted
    kube.registry.delete(res('pods'), 'default', 'a');
    await kube.settle();

    // THEN the synced Secret is gone; a new pod brings it back
    expect(kube.registry.find(res('secrets'), 'default', 'uploads-s3')).toBeUndefined();
    kube.apply(pod('b'));
    await kube.settle();
    expect(syncedKeyId()).toBe('FAKEKEYGEN1AAAAAAAA');
  });

  it('keeps the pod Pending while the mount fails (no SecretProviderClass, no remote key) and starts it once the store holds the pair', async () => {
    await start();
    kube.apply(pod('a'));
    ticks(5);
    expect(phase('a')).toBe('Pending');
    expect(set.csi!.mountBlocked(kube.registry.get(res('pods'), 'default', 'a'))).toBe(
      'MountVolume.SetUp failed for volume "creds": failed to get secretproviderclass default/uploads-s3, error: secretproviderclasses.secrets-store.csi.x-k8s.io "uploads-s3" not found',
    );
    kube.apply(spc());
    ticks(3);
    expect(phase('a')).toBe('Pending');
    expect(set.csi!.mountBlocked(kube.registry.get(res('pods'), 'default', 'a'))).toBe('MountVolume.SetUp failed for volume "creds": vault: secret "rekey/uploads" not found');

    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    ticks(3);
    expect(phase('a')).toBe('Running');
    expect(mountedKeyId('a')).toBe('FAKEKEYGEN1AAAAAAAA');
  });

  it('resolves the aws provider: the whole secret under objectAlias, one file per jmesPath (bare or quoted)', async () => {
    await start();
    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    kube.apply(spc('aws'));
    kube.apply(pod('a'));
    await kube.settle();
    expect(set.csi!.mounted('default', 'a')[0]!.files).toEqual({
      'rekey-pair.json': JSON.stringify(pair(1)),
      'access-key': 'FAKEKEYGEN1AAAAAAAA',
      'secret-key': 'fake-secret-1',
    });
  });
});

describe('republish', () => {
  it('without --enable-secret-rotation a mount never changes', async () => {
    await start({ rotation: false });
    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    kube.apply(spc());
    kube.apply(pod('a'));
    await kube.settle();
    store.put('rekey/uploads', pair(2), kube.clock.time(), 'test');
    until(900);
    expect(mountedKeyId('a')).toBe('FAKEKEYGEN1AAAAAAAA');
    expect(syncedKeyId()).toBe('FAKEKEYGEN1AAAAAAAA');
    expect(set.csi!.events.filter((e) => e.type === 'refresh')).toEqual([]);
  });

  it('with rotation, refreshes at the first republish at least the poll interval after the last update (never sooner), within poll interval + one republish period', async () => {
    // GIVEN poll interval 120 s, kubelet republish every 60 s; pod a mounted at ~2 s
    await start({ rotation: true, rotationPollIntervalSeconds: 120, republishSeconds: 60 });
    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    kube.apply(spc());
    kube.apply(pod('a'));
    await kube.settle();
    const mountedAt = set.csi!.mounted('default', 'a')[0]!.lastUpdateMs;

    // THEN the first republish (60 s after the mount) is skipped: the cache is younger than the poll interval
    until(70);
    expect(set.csi!.events.filter((e) => e.type === 'skip').map((e) => e.atMs - mountedAt)).toEqual([60_000]);

    // WHEN the store changes at 130 s (the 120 s republish already refreshed to the same pair)
    until(130);
    store.put('rekey/uploads', pair(2), kube.clock.time(), 'test');
    const changedAt = kube.clock.nowMs();
    until(1000);

    // THEN the mount and then the synced Secret hold generation 2 from the first republish ≥ 120 s after the previous refresh
    const refreshes = set.csi!.events.filter((e) => e.type === 'refresh').map((e) => e.atMs - mountedAt);
    expect(refreshes.slice(0, 3)).toEqual([120_000, 240_000, 360_000]);
    expect(mountedKeyId('a')).toBe('FAKEKEYGEN2AAAAAAAA');
    const firstNew = set.csi!.events.find((e) => e.type === 'refresh' && e.atMs > changedAt)!.atMs;
    expect(firstNew - changedAt).toBeLessThanOrEqual((120 + 60) * 1000);
    expect(syncedKeyId()).toBe('FAKEKEYGEN2AAAAAAAA');
  });
});

describe('the synced Secret flips', () => {
  it('an old and a new mount rewrite it in turn, each from its own files (rotation off: until the old pod is gone)', async () => {
    // GIVEN pod a mounted generation 1; the store then holds generation 2; pod b mounts it
    await start({ rotation: false, reconcileSeconds: 300 });
    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    kube.apply(spc());
    kube.apply(pod('a'));
    await kube.settle();
    until(100);
    store.put('rekey/uploads', pair(2), kube.clock.time(), 'test');
    kube.apply(pod('b', true));
    ticks(3);

    // THEN b's reconcile wrote generation 2, a's periodic reconcile writes generation 1 back, b's writes 2 again
    const history: Array<[number, string | undefined]> = [];
    let last = syncedKeyId();
    history.push([Math.round(kube.clock.nowMs() / 1000 - AT(0) / 1000), last]);
    while (kube.clock.nowMs() < AT(800)) {
      kube.tick();
      const now = syncedKeyId();
      if (now !== last) history.push([Math.round((kube.clock.nowMs() - AT(0)) / 1000), now]);
      last = now;
    }
    expect(history.map(([, id]) => id)).toEqual(['FAKEKEYGEN2AAAAAAAA', 'FAKEKEYGEN1AAAAAAAA', 'FAKEKEYGEN2AAAAAAAA', 'FAKEKEYGEN1AAAAAAAA', 'FAKEKEYGEN2AAAAAAAA']);
    // and b's env was resolved at its start, before its own reconcile: from a's files, the OLD key, though b mounted the new one
    expect(set.kubelet.containerStart('default', 'b', 'app')!.env.AWS_ACCESS_KEY_ID).toBe('FAKEKEYGEN1AAAAAAAA');
    expect(mountedKeyId('b')).toBe('FAKEKEYGEN2AAAAAAAA');

    // WHEN the old pod goes, the Secret settles on generation 2
    kube.registry.delete(res('pods'), 'default', 'a');
    until(1500);
    expect(syncedKeyId()).toBe('FAKEKEYGEN2AAAAAAAA');
    expect(set.csi!.events.filter((e) => e.type === 'sync-secret' && e.atMs > AT(810)).map((e) => e.name)).toEqual(['b', 'b']);
  });

  it('with rotation, a new pod started during the flip window can read the old pair through env; after poll interval + republish every mount holds the new pair', async () => {
    // GIVEN pod a (generation 1) whose periodic reconcile (~302 s) comes before its refresh (~362 s), poll interval 330 s
    await start({ rotation: true, rotationPollIntervalSeconds: 330, republishSeconds: 60, reconcileSeconds: 300 });
    store.put('rekey/uploads', pair(1), kube.clock.time(), 'test');
    kube.apply(spc());
    kube.apply(pod('a'));
    await kube.settle();
    until(250);
    store.put('rekey/uploads', pair(2), kube.clock.time(), 'test');
    const changedAt = kube.clock.nowMs();
    kube.apply(pod('b', true));
    ticks(4);
    expect(syncedKeyId()).toBe('FAKEKEYGEN2AAAAAAAA');

    // WHEN a's periodic reconcile (~302 s) rewrites generation 1 and pod c starts right then
    until(303);
    expect(syncedKeyId()).toBe('FAKEKEYGEN1AAAAAAAA');
    kube.apply(pod('c', true));
    ticks(4);

    // THEN c's env holds the OLD key although c started after the Secret first held the new one
    expect(set.kubelet.containerStart('default', 'c', 'app')!.env.AWS_ACCESS_KEY_ID).toBe('FAKEKEYGEN1AAAAAAAA');
    expect(mountedKeyId('c')).toBe('FAKEKEYGEN2AAAAAAAA');

    // AND by store change + poll interval + one republish period every mount and the Secret hold generation 2, for good
    until((changedAt - AT(0)) / 1000 + 330 + 60 + 2);
    expect(['a', 'b', 'c'].map(mountedKeyId)).toEqual(['FAKEKEYGEN2AAAAAAAA', 'FAKEKEYGEN2AAAAAAAA', 'FAKEKEYGEN2AAAAAAAA']);
    const settled = kube.clock.nowMs();
    until(2000);
    expect(syncedKeyId()).toBe('FAKEKEYGEN2AAAAAAAA');
    expect(set.csi!.events.filter((e) => e.type === 'sync-secret' && e.atMs >= settled).length).toBeGreaterThan(0);
  });
});
