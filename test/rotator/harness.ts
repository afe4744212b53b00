/**
 * Test harness for the rotator: the in-process Kubernetes fake (reached through a kubeconfig by
 * the unchanged client-node), the in-process MinIO admin/S3 server, mounted files in memory, and
 * a sleep on the fake cluster clock, so waits and deadlines are in fake seconds.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { MemoryLogger } from '../../lib/core/log.js';
import { parsePlan, type RotationPlan, type RotationPlanInput } from '../../lib/core/plan.js';
import { SecretValue } from '../../lib/core/secret-value.js';
import { MinioAdminClient } from '../../lib/providers/minio/client.js';
import type { KeyPair } from '../../lib/providers/provider.js';
import type { Sleep } from '../../lib/rotator/clock.js';
import type { StepName } from '../../lib/rotator/context.js';
import { KubeSide } from '../../lib/rotator/kube/api.js';
import { runRotator } from '../../lib/rotator/run.js';
import { defaultControllers, startFakeKube, res, type ControllerSet, type FakeKube, type KubeObject, type Obj, type TickWhileOptions } from '../support/kube/index.js';
import { FakeMinioServer } from '../support/minio-server.js';

export const ADMIN: KeyPair = { accessKeyId: 'rekeyadmin', secretAccessKey: SecretValue.fromString('fake-admin-secret-0000') };
let keyPrefix = 'FAKEKEY';
/** Key IDs are `<prefix>GEN<g>AAAAAAAA`; a real provider (RGW: access keys are global) needs a prefix per run. */
export function setKeyPrefix(prefix: string): void {
  keyPrefix = prefix;
}
export const pairOf = (gen: number): KeyPair => ({ accessKeyId: `${keyPrefix}GEN${gen}AAAAAAAA`, secretAccessKey: SecretValue.fromString(`fake-secret-generation-${gen}-xxxxxxxxxxxx`) });

export const NS = 'ingest';
export const TARGET = 'uploads-s3';

export interface Harness {
  kube: FakeKube;
  set: ControllerSet;
  minio: FakeMinioServer;
  kc: KubeConfig;
  logger: MemoryLogger;
  files: Map<string, Buffer>;
  sleep: Sleep;
  close(): Promise<void>;
}

/** A sleep on the fake clock: resolves inside the tick that passes `ms` (the fake is ticked by tickWhile). */
export function fakeSleep(kube: FakeKube, closed: () => boolean): Sleep {
  return (ms) => (closed() ? Promise.resolve() : kube.clock.sleep(ms));
}

/**
 * How tickWhile drives an in-process rotator: a tick only when nothing is in flight at the fake
 * API server or the fake MinIO and this process's event loop has gone idle — the rotator then
 * waits on a fake-clock sleep or a watch — so the fake time a step sees does not depend on the
 * machine's speed.
 */
export function ticking(h: { kube: FakeKube; minio: FakeMinioServer }): TickWhileOptions {
  return { quietMs: 0, idleTurns: 5, busy: () => h.minio.inFlight > 0 };
}

export async function startHarness(opts: { kubelet?: Parameters<typeof defaultControllers>[0]; namespaces?: readonly string[] } = {}): Promise<Harness> {
  const set = defaultControllers(opts.kubelet ?? {});
  const kube = await startFakeKube({ namespaces: ['default', 'rekey-system', NS, 'analytics', ...(opts.namespaces ?? [])], controllers: set.all });
  const minio = await new FakeMinioServer({ rootAccessKey: ADMIN.accessKeyId, rootSecretKey: ADMIN.secretAccessKey.reveal() }).start();
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
  let closed = false;
  const h: Harness = {
    kube,
    set,
    minio,
    kc,
    logger: new MemoryLogger(),
    files: new Map([
      ['/etc/rekey/admin/access-key', Buffer.from(ADMIN.accessKeyId)],
      ['/etc/rekey/admin/secret-key', ADMIN.secretAccessKey.revealBytes()],
    ]),
    sleep: fakeSleep(kube, () => closed),
    async close() {
      closed = true;
      await new Promise((r) => setTimeout(r, 10));
      await kube.close();
      await minio.stop();
    },
  };
  return h;
}

export function minioAdmin(h: Harness): MinioAdminClient {
  return new MinioAdminClient({ endpoint: h.minio.endpoint, admin: ADMIN }, { kind: 'minio' });
}

export function plan(h: Harness, gen: number, over: Partial<RotationPlanInput> = {}): RotationPlanInput {
  return {
    apiVersion: 'rekey.dev/v1alpha1',
    kind: 'RotationPlan',
    credential: 'uploads',
    generation: gen,
    provider: { name: 'minio', kind: 'minio', endpoint: h.minio.endpoint, region: 'us-east-1', adminSecret: { name: 'minio-admin' }, caBundle: null },
    identity: { kind: 'serviceAccount', name: 'uploads-svc', users: null },
    policy: null,
    keySource: { kind: 'rekeyDrawn', mountPath: '/etc/rekey/staging' },
    accessKeyId: pairOf(gen).accessKeyId,
    previousAccessKeyId: pairOf(gen - 1).accessKeyId,
    rotatorNamespace: 'rekey-system',
    stagingSecret: `rekey-uploads-g${gen}-staging`,
    recordConfigMap: 'rekey-uploads-status',
    leaseName: 'rekey-uploads',
    targets: [{ namespace: NS, secretName: TARGET, delivery: 'sealed' }],
    consumers: [
      { kind: 'Deployment', apiVersion: 'apps/v1', namespace: NS, name: 'api', mode: 'env', secretName: TARGET, updateStrategy: null, checksum: 'c1', replacePodsOnDelete: false },
      { kind: 'StatefulSet', apiVersion: 'apps/v1', namespace: NS, name: 'db', mode: 'envFrom', secretName: TARGET, updateStrategy: 'OnDelete', checksum: 'c1', replacePodsOnDelete: true },
    ],
    overlapSeconds: 30,
    deadlines: { activateSeconds: 300, deliverSeconds: 300, retireSeconds: 600, verifySeconds: 60, kubeletRefreshSeconds: 20 },
    ...over,
  };
}

/** Stages generation `gen`'s pair in the mounted staging Secret. */
export function stage(h: Harness, gen: number): void {
  const p = pairOf(gen);
  h.files.set('/etc/rekey/staging/access-key', Buffer.from(p.accessKeyId));
  h.files.set('/etc/rekey/staging/secret-key', p.secretAccessKey.revealBytes());
}

/** The target Secret's body with generation `gen`'s pair (as the sealed-secrets controller would write it). */
export function targetSecret(gen: number, name = TARGET, ns = NS): KubeObject {
  return secretOfPair(pairOf(gen), name, ns);
}

/** A target Secret `ns/name` holding pair `p` under the generic alias, annotated with its key ID. */
export function secretOfPair(p: KeyPair, name = TARGET, ns = NS): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, annotations: { 'rekey.dev/access-key-id': p.accessKeyId } },
    type: 'Opaque',
    data: { 'access-key': Buffer.from(p.accessKeyId).toString('base64'), 'secret-key': p.secretAccessKey.revealBytes().toString('base64') },
  };
}

/** Delivers generation `gen` to the target Secret (the GitOps sync + controller). */
export function deliverSecret(h: Harness, gen: number, name = TARGET, ns = NS): void {
  const cur = h.kube.registry.find(res('secrets'), ns, name);
  const body = targetSecret(gen, name, ns);
  if (!cur) h.kube.registry.create(res('secrets'), ns, body);
  else h.kube.registry.update(res('secrets'), ns, name, { ...body, metadata: { ...cur.metadata, annotations: body.metadata.annotations } });
}

export function deployment(name: string, replicas: number, checksum: string, ns = NS): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { 'rekey.dev/uploads-checksum': checksum } },
        spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: TARGET, key: 'access-key' } } }] }] },
      },
    },
  };
}

export function onDeleteSts(name: string, replicas: number, ns = NS): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      updateStrategy: { type: 'OnDelete' },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'db', image: 'db:1', envFrom: [{ secretRef: { name: TARGET } }] }] } },
    },
  };
}

/** Sets the checksum annotation of a Deployment's pod template (the consumer app's sync). */
export function setChecksum(h: Harness, name: string, checksum: string, ns = NS): void {
  const d = structuredClone(h.kube.registry.get(res('deployments'), ns, name));
  (((d.spec as Obj).template as Obj).metadata as Obj).annotations = { 'rekey.dev/uploads-checksum': checksum };
  h.kube.registry.update(res('deployments'), ns, name, d);
}

export interface RunOptions {
  readonly holder?: string;
  readonly boundary?: (point: string) => void | Promise<void>;
  readonly logger?: MemoryLogger;
  readonly planOverride?: RotationPlan;
}

/** Runs one rotator step through runRotator (args → plan → guard → step), ticking the fake cluster meanwhile. */
export async function step(h: Harness, name: StepName, p: RotationPlanInput, o: RunOptions = {}): Promise<number> {
  return h.kube.tickWhile(stepWork(h, name, p, o), ticking(h));
}

/** The same run without ticking (several rotators under one tickWhile). */
export function stepWork(h: Harness, name: StepName, p: RotationPlanInput, o: RunOptions = {}): Promise<number> {
  const text = JSON.stringify(o.planOverride ?? parsePlan(p, 'test plan'));
  return runRotator({
    argv: ['--step', name, '--plan', '/plan.json'],
    env: {},
    logger: o.logger ?? h.logger,
    now: () => h.kube.clock.now(),
    readPlan: async () => text,
    sleep: h.sleep,
    kube: new KubeSide(h.kc),
    readMounted: async (path) => {
      const b = h.files.get(path);
      if (!b) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
      return b;
    },
    holder: o.holder ?? 'rotator-pod-1',
    ...(o.boundary ? { boundary: o.boundary } : {}),
  });
}

/** Whether the key authenticates at the fake MinIO (an active service account). */
export function keyActive(h: Harness, id: string): boolean {
  return h.minio.serviceAccounts.get(id)?.status === 'on';
}

/** The record of generation `g`. */
export function record(h: Harness, g: number): Record<string, unknown> | undefined {
  const cm = h.kube.registry.find(res('configmaps'), 'rekey-system', 'rekey-uploads-status');
  const v = (cm?.data as Record<string, string> | undefined)?.[`g${g}.json`];
  return v ? (JSON.parse(v) as Record<string, unknown>) : undefined;
}

/** Live consumer pods (not terminating) in the namespace with their container start times. */
export function livePods(h: Harness, ns = NS): KubeObject[] {
  return h.kube.registry.list(res('pods'), ns).filter((p) => !p.metadata.deletionTimestamp && (p.status as Obj | undefined)?.phase !== 'Succeeded');
}

/**
 * The safety invariant at a moment: if the old key is revoked, no live pod that reads the target
 * started (env resolved) with the old key. Uses the kubelet's record of what each container saw.
 */
export function stalePodsHoldingOldKey(h: Harness, oldKeyId: string, ns = NS): string[] {
  const out: string[] = [];
  for (const p of livePods(h, ns)) {
    for (const c of ((p.spec as Obj).containers as Obj[]) ?? []) {
      const start = h.set.kubelet.containerStart(ns, p.metadata.name!, c.name as string);
      if (start && Object.values(start.env).includes(oldKeyId)) out.push(`${p.metadata.name}`);
    }
  }
  return out;
}

const envKey = [{ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: TARGET, key: 'access-key' } } }];

/** A DaemonSet reading the target by env (one pod per fake node). */
export function daemonSet(name: string, checksum: string, ns = NS): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: { 'rekey.dev/uploads-checksum': checksum } }, spec: { containers: [{ name: 'agent', image: 'agent:1', env: envKey }] } },
    },
  };
}

/** An Argo Rollout (basic canary) reading the target by env. */
export function rollout(name: string, replicas: number, checksum: string, ns = NS): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { canary: {} },
      template: { metadata: { labels: { app: name }, annotations: { 'rekey.dev/uploads-checksum': checksum } }, spec: { containers: [{ name: 'web', image: 'web:1', env: envKey }] } },
    },
  };
}

/** A CronJob reading the target by env (the fake stores CronJobs; its Jobs are made with {@link jobOf}). */
export function cronJob(name: string, ns = NS): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: ns },
    spec: {
      schedule: '0 3 * * *',
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'export', image: 'export:1', env: envKey }] } } } },
    },
  };
}

/** A Job made from a CronJob, as the CronJob controller does (owner reference, the CronJob's job template). */
export function jobOf(h: Harness, cron: string, job: string, ns = NS): KubeObject {
  const cj = h.kube.registry.get(res('cronjobs'), ns, cron);
  const template = structuredClone(((cj.spec as Obj).jobTemplate as Obj).spec as Obj);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job, namespace: ns, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cron, uid: cj.metadata.uid!, controller: true }] },
    spec: template,
  };
}

/**
 * A Deployment that mounts the target as files (no subPath): re-reads it, needs no restart.
 * `volume` is the target Secret by default (a CSI volume for csi delivery), mounted at `mountPath`.
 */
export function fileDeployment(name: string, replicas: number, ns = NS, volume: Obj = { name: 's3', secret: { secretName: TARGET } }, mountPath = '/etc/s3'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: 'app:1', volumeMounts: [{ name: volume.name, mountPath, readOnly: true }] }],
          volumes: [volume],
        },
      },
    },
  };
}

/** Sets the checksum annotation of a workload's pod template (the consumer app's sync), through the registry. */
export function setTemplateChecksum(h: Harness, resource: 'daemonsets' | 'rollouts' | 'deployments', name: string, checksum: string, ns = NS): void {
  const d = structuredClone(h.kube.registry.get(res(resource), ns, name));
  (((d.spec as Obj).template as Obj).metadata as Obj).annotations = { 'rekey.dev/uploads-checksum': checksum };
  h.kube.registry.update(res(resource), ns, name, d);
}
