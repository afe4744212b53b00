/**
 * A simulated Secrets Store CSI driver v1.6 (kubernetes-sigs/secrets-store-csi-driver 0aad886) with
 * its `vault` and `aws` providers reading an in-memory {@link RemoteStore}, driven by ticks:
 *
 * - **Mount** (`pkg/secrets-store/nodeserver.go` NodePublishVolume): for every scheduled, live pod,
 *   each volume with `csi.driver: secrets-store.csi.k8s.io` that a container mounts (the kubelet
 *   only publishes used volumes) is published once: the SecretProviderClass named by
 *   `volumeAttributes.secretProviderClass` in the pod's namespace is read, and its
 *   `parameters.objects` resolved against the store the way the provider does — vault: one file per
 *   object, `secretPath` → remote key, `secretKey` → property; aws: the secret `objectName` (file
 *   `objectAlias` or `objectName`, the whole JSON document) plus one file per `jmesPath` entry
 *   (a bare or quoted identifier → property). Until it succeeds the pod stays Pending: the kubelet
 *   asks {@link CsiDriver.mountBlocked} (wired by `defaultControllers`) before starting containers.
 * - **Republish** (kubelet `RequiresRepublish`, its pod sync every `republishSeconds`): with
 *   `rotation` on (`--enable-secret-rotation=true`, default false) the mount is re-fetched when at
 *   least `rotationPollIntervalSeconds` (`--rotation-poll-interval`, default 2m, "a minimum cache
 *   duration") passed since the mount's last update, else skipped; with rotation off it is never
 *   refreshed. A failed remount keeps the old files (the driver masks the error).
 * - **Synced Secret** (`controllers/secretproviderclasspodstatus_controller.go`): `syncDelaySeconds`
 *   after each mount or refresh (the reconcile is asynchronous: the kubelet starts the containers
 *   meanwhile, resolving env from whatever the Secret holds then), and again every `reconcileSeconds` (the controller's 5-minute requeue), that pod's
 *   reconcile builds every `secretObjects` Secret from *its own* mounted files and creates or
 *   overwrites it (label `secrets-store.csi.k8s.io/managed: "true"`). Pods with different mounted
 *   versions therefore make the Secret flip. Terminating and finished pods are not reconciled.
 *   The Secret is deleted once no existing pod mounts a volume of a class that syncs it (upstream:
 *   owner references to the pods' SecretProviderClassPodStatus objects, garbage-collected with them).
 *
 * Not modelled: SecretProviderClassPodStatus objects in the API (the per-pod state is readable with
 * {@link CsiDriver.mounted}), provider authentication, `nodePublishSecretRef`, file permissions,
 * object versions, Secret types other than Opaque, events and metrics.
 */
import { parse as parseYaml } from 'yaml';
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import type { RemoteStore } from './remote-store.js';

export const CSI_DRIVER_NAME = 'secrets-store.csi.k8s.io';
export const CSI_MANAGED_LABEL = 'secrets-store.csi.k8s.io/managed';

/** One provider's backend: the store it reads and how a provider path maps to a remote key there. */
export interface CsiProviderBackend {
  readonly store: RemoteStore;
  /** vault `secretPath` / aws `objectName` → the store's remote key. @default - the same string */
  readonly remoteKeyOf?: (path: string) => string;
}

export interface CsiDriverOptions {
  /** Backends by SecretProviderClass `spec.provider` (`vault`, `aws`). */
  readonly providers: Readonly<Record<string, CsiProviderBackend>>;
  /** `--enable-secret-rotation`. @default false (the driver's default) */
  readonly rotation?: boolean;
  /** `--rotation-poll-interval`, seconds. @default 120 */
  readonly rotationPollIntervalSeconds?: number;
  /** The kubelet's republish cadence (its pod sync period), seconds. @default 60 */
  readonly republishSeconds?: number;
  /** The SecretProviderClassPodStatus controller's periodic requeue, seconds. @default 300 */
  readonly reconcileSeconds?: number;
  /**
   * Seconds from a mount or refresh to that pod's reconcile (the SecretProviderClassPodStatus
   * write is watched asynchronously; the kubelet starts the containers meanwhile). @default 1
   */
  readonly syncDelaySeconds?: number;
}

/** One pod's mount of one CSI volume. */
export interface CsiMount {
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
  readonly volume: string;
  readonly secretProviderClass: string;
  /** Mounted files (values: tests only). */
  readonly files: Readonly<Record<string, string>>;
  /** Fake-clock ms of the last successful fetch (the target path's modification time). */
  readonly lastUpdateMs: number;
}

/** What the driver did, in order (values of files are not logged here). */
export interface CsiEvent {
  readonly atMs: number;
  readonly type: 'mount' | 'mount-failed' | 'refresh' | 'skip' | 'sync-secret' | 'delete-secret';
  readonly namespace: string;
  /** pod name; for delete-secret the Secret name */
  readonly name: string;
  readonly detail?: string;
}

interface MountState {
  namespace: string;
  pod: string;
  podUid: string;
  volume: string;
  spc: string;
  files: Record<string, string>;
  lastUpdateMs: number;
  nextRepublishMs: number;
  reconcileAtMs: number;
}

export class CsiDriver implements Controller {
  public readonly name = 'secrets-store-csi-driver';
  /** `podUid/volume` → mount */
  readonly #mounts = new Map<string, MountState>();
  /** `podUid/volume` → last mount error (the pod stays Pending) */
  readonly #errors = new Map<string, string>();
  /** `ns/secret` of the Secrets this driver synced */
  readonly #synced = new Set<string>();
  public readonly events: CsiEvent[] = [];

  public constructor(private readonly options: CsiDriverOptions) {}

  /** The current mounts of a pod (every CSI volume), oldest first. */
  public mounted(namespace: string, pod: string): CsiMount[] {
    return [...this.#mounts.values()].filter((m) => m.namespace === namespace && m.pod === pod).map((m) => ({ namespace: m.namespace, pod: m.pod, podUid: m.podUid, volume: m.volume, secretProviderClass: m.spc, files: { ...m.files }, lastUpdateMs: m.lastUpdateMs }));
  }

  /** Why a pod cannot start yet (a CSI volume not published), or undefined. For the kubelet. */
  public mountBlocked(pod: KubeObject): string | undefined {
    const uid = pod.metadata.uid ?? '';
    for (const v of csiVolumes(pod)) {
      if (!this.#mounts.has(`${uid}/${v.name}`)) return this.#errors.get(`${uid}/${v.name}`) ?? `MountVolume.SetUp pending for volume "${v.name}"`;
    }
    return undefined;
  }

  public step({ registry, clock }: ControllerContext): void {
    const now = clock.nowMs();
    const pods = registry.list(res('pods'));
    const live = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      const spec = isObj(pod.spec) ? pod.spec : {};
      const phase = isObj(pod.status) ? pod.status.phase : undefined;
      if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') continue;
      const terminating = Boolean(pod.metadata.deletionTimestamp);
      for (const v of csiVolumes(pod)) {
        const key = `${uid}/${v.name}`;
        live.add(key);
        if (terminating) continue;
        const m = this.#mounts.get(key);
        if (!m) {
          this.#mount(registry, pod, v, now);
          continue;
        }
        if (now >= m.nextRepublishMs) {
          m.nextRepublishMs += this.#republishMs;
          this.#republish(registry, m, now);
        }
        if (now >= m.reconcileAtMs) this.#reconcile(registry, m, now);
      }
    }
    for (const key of [...this.#mounts.keys()]) if (!live.has(key)) this.#mounts.delete(key);
    for (const key of [...this.#errors.keys()]) if (!live.has(key)) this.#errors.delete(key);
    this.#collect(registry, pods, now);
  }

  get #syncDelayMs(): number {
    return (this.options.syncDelaySeconds ?? 1) * 1000;
  }

  get #republishMs(): number {
    return (this.options.republishSeconds ?? 60) * 1000;
  }

  #mount(registry: Registry, pod: KubeObject, v: { name: string; spc: string }, now: number): void {
    const ns = pod.metadata.namespace ?? '';
    const key = `${pod.metadata.uid}/${v.name}`;
    let files: Record<string, string>;
    try {
      files = this.#fetch(registry, ns, v.spc);
    } catch (e) {
      const msg = `MountVolume.SetUp failed for volume "${v.name}": ${(e as Error).message}`;
      if (this.#errors.get(key) !== msg) this.events.push({ atMs: now, type: 'mount-failed', namespace: ns, name: pod.metadata.name ?? '', detail: msg });
      this.#errors.set(key, msg);
      return;
    }
    this.#errors.delete(key);
    const m: MountState = { namespace: ns, pod: pod.metadata.name ?? '', podUid: pod.metadata.uid ?? '', volume: v.name, spc: v.spc, files, lastUpdateMs: now, nextRepublishMs: now + this.#republishMs, reconcileAtMs: now + this.#syncDelayMs };
    this.#mounts.set(key, m);
    this.events.push({ atMs: now, type: 'mount', namespace: ns, name: m.pod, detail: v.spc });
  }

  #republish(registry: Registry, m: MountState, now: number): void {
    if (!this.options.rotation) return; // without rotation a mounted volume is never refreshed
    if (now < m.lastUpdateMs + (this.options.rotationPollIntervalSeconds ?? 120) * 1000) {
      this.events.push({ atMs: now, type: 'skip', namespace: m.namespace, name: m.pod, detail: m.spc });
      return;
    }
    try {
      m.files = this.#fetch(registry, m.namespace, m.spc);
    } catch {
      return; // masked: the old files stay
    }
    m.lastUpdateMs = now;
    m.reconcileAtMs = now + this.#syncDelayMs; // the SecretProviderClassPodStatus update queues its reconcile
    this.events.push({ atMs: now, type: 'refresh', namespace: m.namespace, name: m.pod, detail: m.spc });
  }

  /** Rebuilds every synced Secret of the class from this pod's mounted files. */
  #reconcile(registry: Registry, m: MountState, now: number): void {
    m.reconcileAtMs = now + (this.options.reconcileSeconds ?? 300) * 1000;
    const spc = registry.find(res('secretproviderclasses'), m.namespace, m.spc);
    if (!spc) return;
    const objects = (isObj(spc.spec) && Array.isArray(spc.spec.secretObjects) ? spc.spec.secretObjects : []) as Obj[];
    for (const so of objects) {
      const name = String(so.secretName ?? '').trim();
      const data: Record<string, string> = {};
      let missing: string | undefined;
      for (const d of (Array.isArray(so.data) ? so.data : []) as Obj[]) {
        const file = String(d.objectName ?? '');
        if (!(file in m.files)) missing = file;
        else data[String(d.key)] = Buffer.from(m.files[file]!, 'utf8').toString('base64');
      }
      if (missing !== undefined || !name) continue; // upstream: an event and a requeue, nothing written
      const labels = { ...(isObj(so.labels) ? (so.labels as Record<string, string>) : {}), [CSI_MANAGED_LABEL]: 'true' };
      const annotations = isObj(so.annotations) ? (so.annotations as Record<string, string>) : undefined;
      const body: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: m.namespace, labels, ...(annotations ? { annotations } : {}) }, type: typeof so.type === 'string' && so.type ? so.type : 'Opaque', data };
      const cur = registry.find(res('secrets'), m.namespace, name);
      // createOrUpdateK8sSecret: create, or overwrite whatever is there (labels, annotations, data)
      if (!cur) registry.create(res('secrets'), m.namespace, body);
      else registry.update(res('secrets'), m.namespace, name, { ...body, metadata: { ...cur.metadata, labels, annotations } });
      this.#synced.add(`${m.namespace}/${name}`);
      this.events.push({ atMs: now, type: 'sync-secret', namespace: m.namespace, name: m.pod, detail: name });
    }
  }

  /** Deletes a synced Secret once no existing pod mounts a class that syncs it. */
  #collect(registry: Registry, pods: readonly KubeObject[], now: number): void {
    for (const key of [...this.#synced]) {
      const [ns, name] = key.split('/') as [string, string];
      const held = pods.some((pod) => pod.metadata.namespace === ns && csiVolumes(pod).some((v) => this.#syncs(registry, ns, v.spc, name)));
      if (held) continue;
      this.#synced.delete(key);
      if (registry.find(res('secrets'), ns, name)) {
        registry.delete(res('secrets'), ns, name);
        this.events.push({ atMs: now, type: 'delete-secret', namespace: ns, name });
      }
    }
  }

  #syncs(registry: Registry, ns: string, spcName: string, secret: string): boolean {
    const spc = registry.find(res('secretproviderclasses'), ns, spcName);
    const objects = (spc && isObj(spc.spec) && Array.isArray(spc.spec.secretObjects) ? spc.spec.secretObjects : []) as Obj[];
    return objects.some((o) => String(o.secretName ?? '').trim() === secret);
  }

  /** The provider's answer for one SecretProviderClass: file name → content. */
  #fetch(registry: Registry, ns: string, spcName: string): Record<string, string> {
    const spc = registry.find(res('secretproviderclasses'), ns, spcName);
    if (!spc) throw new Error(`failed to get secretproviderclass ${ns}/${spcName}, error: secretproviderclasses.secrets-store.csi.x-k8s.io "${spcName}" not found`);
    const spec = isObj(spc.spec) ? spc.spec : {};
    const provider = String(spec.provider ?? '');
    const backend = this.options.providers[provider];
    if (!backend) throw new Error(`provider not found: provider "${provider}"`);
    const params = isObj(spec.parameters) ? (spec.parameters as Record<string, string>) : {};
    const objects = parseYaml(params.objects ?? '[]') as Obj[] | null;
    const keyOf = backend.remoteKeyOf ?? ((p: string) => p);
    const read = (path: string): Readonly<Record<string, string>> => {
      const v = backend.store.get(keyOf(path));
      if (!v) throw new Error(`${provider}: secret ${JSON.stringify(path)} not found`);
      return v;
    };
    const files: Record<string, string> = {};
    for (const o of objects ?? []) {
      if (provider === 'vault') {
        const v = read(String(o.secretPath));
        const k = String(o.secretKey);
        if (!(k in v)) throw new Error(`vault: key ${JSON.stringify(k)} does not exist at the secret path ${JSON.stringify(o.secretPath)}`);
        files[String(o.objectName)] = v[k]!;
      } else if (provider === 'aws') {
        const v = read(String(o.objectName));
        files[String(o.objectAlias ?? o.objectName)] = JSON.stringify(v);
        for (const j of (Array.isArray(o.jmesPath) ? o.jmesPath : []) as Obj[]) {
          const path = String(j.path);
          const prop = path.startsWith('"') ? (JSON.parse(path) as string) : path;
          if (!(prop in v)) throw new Error(`aws: jmesPath ${path} of ${JSON.stringify(o.objectName)} returned no value`);
          files[String(j.objectAlias)] = v[prop]!;
        }
      } else {
        throw new Error(`fake CSI driver models providers vault and aws: got ${provider}`);
      }
    }
    return files;
  }
}

/** The pod's CSI volumes of this driver that some container mounts. */
function csiVolumes(pod: KubeObject): { name: string; spc: string }[] {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const mounted = new Set<string>();
  for (const c of [...((spec.initContainers as Obj[] | undefined) ?? []), ...((spec.containers as Obj[] | undefined) ?? [])]) {
    for (const m of (Array.isArray(c.volumeMounts) ? c.volumeMounts : []) as Obj[]) mounted.add(String(m.name));
  }
  const out: { name: string; spc: string }[] = [];
  for (const v of (Array.isArray(spec.volumes) ? spec.volumes : []) as Obj[]) {
    const csi = isObj(v.csi) ? v.csi : undefined;
    if (!csi || csi.driver !== CSI_DRIVER_NAME || !mounted.has(String(v.name))) continue;
    const attrs = isObj(csi.volumeAttributes) ? csi.volumeAttributes : {};
    out.push({ name: String(v.name), spc: String(attrs.secretProviderClass ?? '') });
  }
  return out;
}
