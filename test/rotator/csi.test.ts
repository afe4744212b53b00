/**
 * The retire step for a credential delivered by the Secrets Store CSI driver, against the
 * simulated driver (test/support/kube/controllers/csi.ts): file consumers are never restarted and
 * the retire step waits out the driver's poll interval + the kubelet refresh bound; env consumers
 * of the synced Secret are replaced under the evidence rule (judged against the moment the synced
 * Secret settled, because old and new mounts make it flip); the old key is revoked only after that.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { PlanCsi, RotationPlanInput } from '../../lib/core/plan.js';
import { judgeCsi, referenceOf } from '../../lib/rotator/evidence.js';
import { RemoteStore, res, type KubeObject, type Obj } from '../support/kube/index.js';
import { deployment, fileDeployment, keyActive, minioAdmin, NS, pairOf, plan, record, setChecksum, stage, startHarness, step, TARGET, type Harness } from './harness.js';

const POLL = 120;
const REPUBLISH = 60;
const KUBELET_REFRESH = 60;

let h: Harness;
let store: RemoteStore;
let monitor: NodeJS.Timeout | undefined;
let violations: string[] = [];
let revokedAtMs: number | undefined;

function push(gen: number): void {
  const p = pairOf(gen);
  store.put('rekey/uploads', { 'access-key': p.accessKeyId, 'secret-key': p.secretAccessKey.reveal() }, h.kube.clock.time(), 'push-secret');
}

/** The SecretProviderClass as Delivery.csi renders it for the generic alias set (vault). */
function spc(): KubeObject {
  const objects = [
    '- objectName: access-key',
    '  secretPath: secret/data/rekey/uploads',
    '  secretKey: access-key',
    '- objectName: secret-key',
    '  secretPath: secret/data/rekey/uploads',
    '  secretKey: secret-key',
    '',
  ].join('\n');
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClass',
    metadata: { name: TARGET, namespace: NS },
    spec: {
      provider: 'vault',
      parameters: { objects, roleName: 'uploads' },
      secretObjects: [{ secretName: TARGET, type: 'Opaque', data: [{ objectName: 'access-key', key: 'access-key' }, { objectName: 'secret-key', key: 'secret-key' }] }],
    },
  };
}

const csiVolume = { name: 'rekey-csi-uploads-s3', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: TARGET } } };

/** An env consumer of the synced Secret that also mounts the CSI volume (as consumedBy wires it). */
function envConsumer(name: string, replicas: number, checksum: string): KubeObject {
  const d = deployment(name, replicas, checksum);
  const pod = ((d.spec as Obj).template as Obj).spec as Obj;
  pod.volumes = [csiVolume];
  (pod.containers as Obj[])[0]!.volumeMounts = [{ name: csiVolume.name, mountPath: `/mnt/secrets-store/${TARGET}`, readOnly: true }];
  return d;
}

/** A file consumer: it mounts the CSI volume and re-reads the files. */
const fileConsumer = (name: string, replicas: number): KubeObject => fileDeployment(name, replicas, NS, csiVolume, '/var/run/s3');

const csiPlan = (gen: number): RotationPlanInput =>
  plan(h, gen, {
    targets: [{ namespace: NS, secretName: TARGET, delivery: 'csi', csi: { secretProviderClass: TARGET, rotationPollIntervalSeconds: POLL, secretRotationEnabled: true } }],
    consumers: [
      { kind: 'Deployment', apiVersion: 'apps/v1', namespace: NS, name: 'api', mode: 'env', secretName: TARGET, updateStrategy: null, checksum: 'c2', replacePodsOnDelete: false },
      { kind: 'Deployment', apiVersion: 'apps/v1', namespace: NS, name: 'reports', mode: 'file', secretName: TARGET, updateStrategy: null, checksum: null, replacePodsOnDelete: false },
    ],
    overlapSeconds: 30,
    deadlines: { activateSeconds: 300, deliverSeconds: 600, retireSeconds: 900, verifySeconds: 60, kubeletRefreshSeconds: KUBELET_REFRESH },
  });

const pods = (app: string) => h.kube.registry.list(res('pods'), NS).filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
const syncedKeyId = (): string | undefined => {
  const v = (h.kube.registry.find(res('secrets'), NS, TARGET)?.data as Record<string, string> | undefined)?.['access-key'];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

/** A harness with the CSI driver (rotation on), key 1 registered and pushed, and the SecretProviderClass applied. */
async function startWithKey1(): Promise<void> {
    store = new RemoteStore('vault');
    h = await startHarness({
      kubelet: { csi: { providers: { vault: { store, remoteKeyOf: (path) => path.replace(/^secret\/data\//, '') } }, rotation: true, rotationPollIntervalSeconds: POLL, republishSeconds: REPUBLISH, reconcileSeconds: 300 } },
    });
    const admin = minioAdmin(h);
    await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
    await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
    admin.close();
    push(1);
    h.kube.apply(spc());
}

describe('retire with the Secrets Store CSI driver', () => {
  beforeEach(async () => {
    await startWithKey1();
    h.kube.apply(envConsumer('api', 2, 'c1'));
    h.kube.apply(fileConsumer('reports', 2));
    await h.kube.settle();
    violations = [];
    revokedAtMs = undefined;
    // invariant: once key 1 stops working, no live pod holds it — in its env or in its CSI mount
    monitor = setInterval(() => {
      if (keyActive(h, pairOf(1).accessKeyId)) return;
      revokedAtMs ??= h.kube.clock.nowMs();
      for (const p of [...pods('api'), ...pods('reports')]) {
        const name = p.metadata.name!;
        const env = h.set.kubelet.containerStart(NS, name, 'app')?.env ?? {};
        if (Object.values(env).includes(pairOf(1).accessKeyId)) violations.push(`${name} env holds key 1`);
        if (h.set.csi!.mounted(NS, name).some((m) => m.files['access-key'] === pairOf(1).accessKeyId)) violations.push(`${name} mount holds key 1`);
      }
    }, 2);
  }, 30_000);

  afterEach(async () => {
    clearInterval(monitor);
    await h.close();
  });

  it('waits the poll interval for file consumers (never restarted), replaces env consumers of the synced Secret under the evidence rule, then revokes', async () => {
    // GIVEN both consumers running on generation 1 (their mounts and the synced Secret hold key 1)
    const reportsBefore = pods('reports').map((p) => p.metadata.uid).sort();
    expect(syncedKeyId()).toBe(pairOf(1).accessKeyId);
    const p = csiPlan(2);
    stage(h, 2);

    // WHEN generation 2 is activated and pushed to the store (the PushSecret), and the deliver step waits for the synced Secret
    expect(await step(h, 'activate', p)).toBe(0);
    push(2);
    const pushedAt = h.kube.clock.nowMs();
    expect(await step(h, 'deliver', p)).toBe(0);
    expect(syncedKeyId()).toBe(pairOf(2).accessKeyId);
    // the driver refreshed the first mount at its republish ≥ poll interval after that mount's last update
    expect(h.kube.clock.nowMs() - pushedAt).toBeLessThanOrEqual((POLL + REPUBLISH + 5) * 1000);

    // WHEN the consumer app syncs the new checksum and retire runs
    setChecksum(h, 'api', 'c2');
    expect(await step(h, 'retire', p)).toBe(0);

    // THEN the old key is revoked, after the synced Secret settled (first seen + poll interval + kubelet refresh bound)
    expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
    expect(keyActive(h, pairOf(2).accessKeyId)).toBe(true);
    const rec = record(h, 2) as { phase: string; targetsFirstSeen: Record<string, string>; replacedPods: Array<{ pod: string; how: string }>; revoke: { disabledAt: string } };
    expect(rec.phase).toBe('retired');
    const firstSeen = Date.parse(rec.targetsFirstSeen[`${NS}/${TARGET}`]!);
    const settled = firstSeen + (POLL + KUBELET_REFRESH) * 1000;
    expect(Date.parse(rec.revoke.disabledAt)).toBeGreaterThanOrEqual(settled);
    expect(revokedAtMs).toBeGreaterThanOrEqual(settled);

    // THEN the file consumers were never restarted: same pods, one start each, their mounts refreshed to key 2 by the driver
    expect(pods('reports').map((x) => x.metadata.uid).sort()).toEqual(reportsBefore);
    for (const x of pods('reports')) {
      expect(h.set.kubelet.containerStarts(NS, x.metadata.name!, 'app')).toHaveLength(1);
      expect(h.set.csi!.mounted(NS, x.metadata.name!)[0]!.files['access-key']).toBe(pairOf(2).accessKeyId);
    }

    // THEN every env consumer pod alive at the end started after the synced Secret settled and holds key 2;
    // the rollout's pods that started before it were replaced by the retire step
    const api = pods('api');
    expect(api).toHaveLength(2);
    for (const x of api) {
      const start = h.set.kubelet.containerStart(NS, x.metadata.name!, 'app')!;
      expect(Date.parse(start.startedAt)).toBeGreaterThan(settled);
      expect(start.env.AWS_ACCESS_KEY_ID).toBe(pairOf(2).accessKeyId);
    }
    const replaced = rec.replacedPods.filter((r) => r.how !== 'refreshed');
    expect(replaced.length).toBeGreaterThanOrEqual(2);
    expect(replaced.every((r) => r.pod.startsWith('api-'))).toBe(true);
    // the file consumers are recorded as waited out (refreshed by the driver), not replaced
    expect(rec.replacedPods.filter((r) => r.how === 'refreshed' && r.pod.startsWith('reports-')).map((r) => r.pod).sort()).toEqual(reportsBefore.length ? pods('reports').map((x) => x.metadata.name!).sort() : []);

    // AND at no moment after the revoke did a live pod hold key 1
    expect(violations).toEqual([]);
  }, 180_000);
});

describe('deliver with the Secrets Store CSI driver', () => {
  beforeEach(async () => {
    await startWithKey1();
    await h.kube.settle();
  }, 30_000);

  afterEach(async () => {
    await h.close();
  });

  it('GIVEN no pod mounts the CSI volume (the driver keeps no synced Secret) WHEN deliver runs THEN the target counts as delivered instead of waiting out the deadline', async () => {
    expect(syncedKeyId()).toBeUndefined();
    const p = csiPlan(2);
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    push(2);
    const before = h.kube.clock.nowMs();
    expect(await step(h, 'deliver', p)).toBe(0);
    expect(h.kube.clock.nowMs() - before).toBeLessThan(600_000);
    expect((record(h, 2) as { deliveredAt?: string }).deliveredAt).toBeDefined();
  }, 120_000);
});

describe('the evidence rule for CSI targets (pure)', () => {
  const T = Date.parse('2026-01-01T01:00:00Z');
  const CSI: PlanCsi = { secretProviderClass: TARGET, rotationPollIntervalSeconds: 120, secretRotationEnabled: true };
  const podOf = (startedAtMs: number, opts: { env?: boolean; mount?: boolean } = {}): V1Pod => ({
    metadata: { name: 'p', namespace: NS },
    spec: {
      containers: [
        {
          name: 'app',
          ...(opts.env ? { env: [{ name: 'K', valueFrom: { secretKeyRef: { name: TARGET, key: 'access-key' } } }] } : {}),
          ...(opts.mount === false ? {} : { volumeMounts: [{ name: csiVolume.name, mountPath: '/m' }] }),
        },
      ],
      volumes: [csiVolume],
    },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date(startedAtMs) } } }] },
  });

  it('a CSI mount is a file read (env when the driver never refreshes mounts); a pod mounting another class is no read', () => {
    expect(referenceOf(podOf(T, { env: true }), TARGET, CSI)).toBe('env');
    expect(referenceOf(podOf(T), TARGET, CSI)).toBe('file');
    expect(referenceOf(podOf(T), TARGET, { ...CSI, secretRotationEnabled: false })).toBe('env');
    expect(referenceOf(podOf(T), TARGET, { ...CSI, secretProviderClass: 'other' })).toBeNull();
    expect(referenceOf(podOf(T), TARGET, null)).toBeNull();
  });

  it('a file consumer started before T is current once poll interval + kubelet refresh passed', () => {
    expect(judgeCsi(podOf(T - 1000), 'file', CSI, T, 60, T + 179_000)).toMatchObject({ state: 'refreshing', at: T + 180_000 });
    expect(judgeCsi(podOf(T - 1000), 'file', CSI, T, 60, T + 180_000)).toEqual({ state: 'current' });
    expect(judgeCsi(podOf(T + 1000), 'file', CSI, T, 60, T + 2000)).toEqual({ state: 'current' });
  });

  it('an env consumer of the synced Secret waits for the settled moment, then is stale when it started before it (even after T)', () => {
    // started after T but during the flip window: not replaced yet (its replacement could read a flipped Secret too) …
    expect(judgeCsi(podOf(T + 5000, { env: true }), 'env', CSI, T, 60, T + 10_000)).toMatchObject({ state: 'refreshing', at: T + 180_000 });
    // … stale once the Secret settled
    expect(judgeCsi(podOf(T + 5000, { env: true }), 'env', CSI, T, 60, T + 180_000)).toMatchObject({ state: 'stale' });
    // started after the settled moment: current
    expect(judgeCsi(podOf(T + 181_000, { env: true }), 'env', CSI, T, 60, T + 200_000)).toEqual({ state: 'current' });
    // rotation off: mounts are fixed at start, judged against T like env
    expect(judgeCsi(podOf(T + 1000), 'env', { ...CSI, secretRotationEnabled: false }, T, 60, T + 2000)).toEqual({ state: 'current' });
    expect(judgeCsi(podOf(T - 1000), 'env', { ...CSI, secretRotationEnabled: false }, T, 60, T + 2000)).toMatchObject({ state: 'stale' });
  });
});
