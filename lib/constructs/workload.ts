import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { FieldError, ValidationError } from '../core/errors.js';
import { CONSUMER_API_VERSIONS, type PlanConsumerKind } from '../core/plan.js';

/** The kinds of workload rekey can restart through a pod-template annotation. */
export type WorkloadKind = PlanConsumerKind;

const API_VERSIONS: Readonly<Record<WorkloadKind, string>> = CONSUMER_API_VERSIONS;

/** JSON pointer of the pod template in each kind. */
export function podTemplatePath(kind: WorkloadKind): string[] {
  return kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
}

/** A workload that consumes a credential. */
export interface IWorkload {
  readonly kind: WorkloadKind;
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace: string;
  /** A StatefulSet with `updateStrategy: OnDelete`: a new checksum alone restarts nothing. */
  readonly onDelete: boolean;
  /** True when this cdk8s app renders the workload (annotated directly); false for a Kustomize patch. */
  readonly renderedHere: boolean;
  /** For workloads rendered elsewhere: the Kustomize Component folder carrying the patch. */
  readonly component?: string;
  /** The rendered object, for workloads of this app (rekey orders it after the deliver Job). */
  readonly apiObject?: ApiObject;
  /** Sets an annotation on the pod template. Only for workloads rendered here. */
  annotatePodTemplate(key: string, value: string): void;
  /**
   * Makes the workload read a Secret the way a credential's consumer says: wires the env,
   * envFrom or volume when no container reads that Secret yet, and checks the existing read
   * otherwise. Only for workloads rendered here.
   */
  bindSecret?(read: SecretRead): void;
}

/** How a workload reads a credential's target Secret (see `IWorkload.bindSecret`). */
export interface SecretRead {
  readonly secretName: string;
  readonly mode: 'env' | 'envFrom' | 'file';
  /** env: variable name → Secret key. */
  readonly env?: Readonly<Record<string, string>>;
  /** envFrom: the prefix ('' for none). */
  readonly prefix?: string;
  /** file: where the Secret is mounted. */
  readonly mountPath?: string;
  /** The container that reads it. @default - the pod's only container */
  readonly container?: string;
  /** Names the binding in errors, e.g. `rekey/uploads consumer`. */
  readonly where: string;
  /**
   * The credential is delivered by the Secrets Store CSI driver through this SecretProviderClass:
   * the pod mounts its CSI volume (a file consumer reads it at `mountPath`; an env consumer mounts
   * it at `/mnt/secrets-store/<class>`, because the driver syncs the Secret only while a pod mounts it).
   * @default - a plain Secret: file consumers mount a Secret volume
   */
  readonly csiSecretProviderClass?: string;
}

/** The Secrets Store CSI driver's name in `volumes[].csi.driver`. */
const CSI_DRIVER = 'secrets-store.csi.k8s.io';
/** Where an env consumer of a csi credential mounts the CSI volume (it reads the synced Secret, not these files). */
export const CSI_ENV_MOUNT_ROOT = '/mnt/secrets-store';

interface ContainerJson {
  name: string;
  env?: Array<{ name: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }>;
  envFrom?: Array<{ prefix?: string; secretRef?: { name?: string } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
}
interface PodSpecJson {
  containers?: ContainerJson[];
  volumes?: Array<{ name: string; secret?: { secretName?: string }; csi?: { driver?: string; volumeAttributes?: Record<string, string> } }>;
}

/** Options of `Workload.fromName`. */
export interface ExternalWorkloadOptions {
  /** The workload's namespace. */
  readonly namespace: string;
  /** The StatefulSet update strategy. @default 'RollingUpdate' */
  readonly updateStrategy?: 'RollingUpdate' | 'OnDelete';
  /** Kustomize Component folder (under dist/components) for the patch. @default - the namespace */
  readonly component?: string;
}

/** Importers for workloads. */
export class Workload {
  /** A workload rendered elsewhere (a Helm chart, another repo): rekey emits a Kustomize patch for it. */
  public static fromName(kind: WorkloadKind, name: string, options: ExternalWorkloadOptions): IWorkload {
    if (!(kind in API_VERSIONS)) {
      throw new FieldError('Workload.fromName', { field: ['kind'], what: `must be one of ${Object.keys(API_VERSIONS).join(', ')}`, value: kind, fix: `Set kind to one of ${Object.keys(API_VERSIONS).join(', ')}.` });
    }
    if (options.updateStrategy && kind !== 'StatefulSet') {
      throw new FieldError(`Workload.fromName ${kind} ${name}`, { field: ['updateStrategy'], what: 'only applies to StatefulSets', value: options.updateStrategy, fix: 'Remove updateStrategy.' });
    }
    return new ExternalWorkload(kind, name, options);
  }

  /**
   * A workload defined in this cdk8s app: a cdk8s-plus workload or an L1 `ApiObject`
   * (`k8s.KubeDeployment`, an Argo Rollouts `Rollout`, …). Its namespace comes from its
   * metadata, else from its chart.
   */
  public static of(workload: IConstruct): IWorkload {
    return new LocalWorkload(workload);
  }

  private constructor() {}
}

class ExternalWorkload implements IWorkload {
  public readonly apiVersion: string;
  public readonly renderedHere = false;
  public readonly onDelete: boolean;
  public readonly namespace: string;
  public readonly component: string;
  public constructor(
    public readonly kind: WorkloadKind,
    public readonly name: string,
    options: ExternalWorkloadOptions,
  ) {
    this.apiVersion = API_VERSIONS[kind];
    this.namespace = options.namespace;
    this.onDelete = options.updateStrategy === 'OnDelete';
    this.component = options.component ?? options.namespace;
  }
  public annotatePodTemplate(): void {
    throw new ValidationError(`Workload ${this.kind} ${this.namespace}/${this.name} is rendered elsewhere: got annotatePodTemplate. rekey patches it through dist/components/${this.component}.`);
  }
}

interface PodMetadataHolder {
  readonly podMetadata: { addAnnotation(key: string, value: string): void };
}

class LocalWorkload implements IWorkload {
  public readonly kind: WorkloadKind;
  public readonly apiVersion: string;
  public readonly name: string;
  public readonly namespace: string;
  public readonly onDelete: boolean;
  public readonly renderedHere = true;
  public readonly apiObject: ApiObject;
  private readonly obj: ApiObject;
  private readonly construct: IConstruct;

  public constructor(construct: IConstruct) {
    this.construct = construct;
    let obj: ApiObject;
    try {
      obj = ApiObject.of(construct);
    } catch (e) {
      throw new ValidationError(`Workload.of ${construct.node.path} is not a Kubernetes object: got ${construct.constructor.name}. Pass a cdk8s-plus workload or an ApiObject.`, { cause: e });
    }
    this.obj = obj;
    this.apiObject = obj;
    if (!(obj.kind in API_VERSIONS)) {
      throw new ValidationError(`Workload.of ${construct.node.path} is not a workload kind rekey can restart: got ${JSON.stringify(obj.kind)}. Use one of ${Object.keys(API_VERSIONS).join(', ')}.`);
    }
    this.kind = obj.kind as WorkloadKind;
    this.apiVersion = obj.apiVersion;
    this.name = obj.name;
    const ns = obj.metadata.namespace ?? Chart.of(construct).namespace;
    if (!ns) {
      throw new ValidationError(`Workload.of ${construct.node.path} has no namespace: got nothing. Set metadata.namespace on the workload or namespace on its chart.`);
    }
    this.namespace = ns;
    const json = obj.toJson() as { spec?: { updateStrategy?: { type?: string } } };
    this.onDelete = this.kind === 'StatefulSet' && json.spec?.updateStrategy?.type === 'OnDelete';
  }

  public bindSecret(read: SecretRead): void {
    this.bindRead(read);
    if (read.csiSecretProviderClass !== undefined && read.mode !== 'file') this.bindCsiVolume(read, `${CSI_ENV_MOUNT_ROOT}/${read.csiSecretProviderClass}`, false);
  }

  private podSpec(): { pod: PodSpecJson; base: string } {
    const specPath = [...podTemplatePath(this.kind), 'spec'];
    let spec: unknown = this.obj.toJson();
    for (const p of specPath) spec = (spec as Record<string, unknown> | undefined)?.[p];
    return { pod: (spec ?? {}) as PodSpecJson, base: '/' + specPath.join('/') };
  }

  private failer(read: SecretRead): (field: string, what: string, value: unknown, fix: string) => never {
    const where = `${read.where} ${this.kind} ${this.namespace}/${this.name}`;
    return (field, what, value, fix) => {
      throw new FieldError(where, { field: [field], what, value, fix });
    };
  }

  /**
   * Mounts the SecretProviderClass's CSI volume: checks the existing mount when the pod has the
   * volume (`check`: a file consumer's mount path must match), else adds volume and mount.
   */
  private bindCsiVolume(read: SecretRead, mountPath: string, check: boolean): void {
    const { pod, base } = this.podSpec();
    const containers = pod.containers ?? [];
    const fail = this.failer(read);
    const spc = read.csiSecretProviderClass!;
    const vols = (pod.volumes ?? []).filter((v) => v.csi?.driver === CSI_DRIVER && v.csi.volumeAttributes?.secretProviderClass === spc).map((v) => v.name);
    if (vols.length > 0) {
      const mounts = containers.flatMap((c) => (c.volumeMounts ?? []).filter((m) => vols.includes(m.name)));
      if (check && !mounts.some((m) => m.mountPath === read.mountPath)) {
        fail('file.mountPath', `does not match the workload, which mounts SecretProviderClass ${spc} at ${mounts.map((m) => m.mountPath).join(', ') || 'no path'}`, read.mountPath, 'Give consumedBy the mount path the workload uses.');
      }
      if (mounts.length > 0) return;
    }
    const i = this.containerIndex(containers, read, fail);
    const volName = vols[0] ?? `rekey-csi-${spc}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '');
    const mount = { name: volName, mountPath, readOnly: true };
    if (vols.length === 0) {
      const volume = { name: volName, csi: { driver: CSI_DRIVER, readOnly: true, volumeAttributes: { secretProviderClass: spc } } };
      if (pod.volumes) this.obj.addJsonPatch(JsonPatch.add(`${base}/volumes/-`, volume));
      else this.obj.addJsonPatch(JsonPatch.add(`${base}/volumes`, [volume]));
    }
    if (containers[i]!.volumeMounts) this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/volumeMounts/-`, mount));
    else this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/volumeMounts`, [mount]));
  }

  private bindRead(read: SecretRead): void {
    const { pod, base } = this.podSpec();
    const containers = pod.containers ?? [];
    const fail = this.failer(read);
    const s = read.secretName;
    if (read.mode === 'envFrom') {
      const reading = containers.flatMap((c) => (c.envFrom ?? []).filter((e) => e.secretRef?.name === s));
      if (reading.length > 0) {
        const prefixes = [...new Set(reading.map((e) => e.prefix ?? ''))];
        if (!prefixes.includes(read.prefix ?? '')) {
          fail('envFrom.prefix', `does not match the workload, which reads Secret ${s} with prefix ${prefixes.map((p) => JSON.stringify(p)).join(', ')}`, read.prefix ?? '', 'Give consumedBy the prefix the workload uses, or remove the envFrom from the workload and let rekey wire it.');
        }
        return;
      }
      const i = this.containerIndex(containers, read, fail);
      const entry = { ...(read.prefix ? { prefix: read.prefix } : {}), secretRef: { name: s } };
      if (containers[i]!.envFrom) this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/envFrom/-`, entry));
      else this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/envFrom`, [entry]));
      return;
    }
    if (read.mode === 'env') {
      const vars = containers.flatMap((c) => (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef?.name === s));
      const wanted = Object.values(read.env ?? {});
      if (vars.length > 0) {
        const read_ = [...new Set(vars.map((v) => v.valueFrom!.secretKeyRef!.key!))].sort();
        const want = [...new Set(wanted)].sort();
        if (read_.join(',') !== want.join(',')) {
          fail('env', `does not match the workload, which reads keys ${read_.join(', ')} of Secret ${s}`, want, 'List in consumedBy exactly the keys the workload reads, or remove them from the workload and let rekey wire them.');
        }
        return;
      }
      const i = this.containerIndex(containers, read, fail);
      const added = Object.entries(read.env ?? {}).map(([name, key]) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          fail('env', 'names a key that is not a valid environment variable name, so rekey cannot wire it as one', name, `Map it to a variable name: env: { MY_VAR: '${key}' }.`);
        }
        return { name, valueFrom: { secretKeyRef: { name: s, key } } };
      });
      if (containers[i]!.env) for (const v of added) this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/env/-`, v));
      else this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/env`, added));
      return;
    }
    // file
    if (read.csiSecretProviderClass !== undefined) {
      this.bindCsiVolume(read, read.mountPath!, true);
      return;
    }
    const vols = (pod.volumes ?? []).filter((v) => v.secret?.secretName === s).map((v) => v.name);
    if (vols.length > 0) {
      const mounts = containers.flatMap((c) => (c.volumeMounts ?? []).filter((m) => vols.includes(m.name)));
      const sub = mounts.find((m) => m.subPath !== undefined);
      if (sub) {
        fail('file.mountPath', 'is mounted with subPath, which the kubelet never refreshes', sub.mountPath, 'Mount the Secret volume without subPath (use items to pick keys), or read it through env and let rekey restart the workload.');
      }
      if (!mounts.some((m) => m.mountPath === read.mountPath)) {
        fail('file.mountPath', `does not match the workload, which mounts Secret ${s} at ${mounts.map((m) => m.mountPath).join(', ') || 'no path'}`, read.mountPath, 'Give consumedBy the mount path the workload uses.');
      }
      return;
    }
    const i = this.containerIndex(containers, read, fail);
    const volName = `rekey-${s}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, '');
    const volume = { name: volName, secret: { secretName: s } };
    const mount = { name: volName, mountPath: read.mountPath!, readOnly: true };
    if (pod.volumes) this.obj.addJsonPatch(JsonPatch.add(`${base}/volumes/-`, volume));
    else this.obj.addJsonPatch(JsonPatch.add(`${base}/volumes`, [volume]));
    if (containers[i]!.volumeMounts) this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/volumeMounts/-`, mount));
    else this.obj.addJsonPatch(JsonPatch.add(`${base}/containers/${i}/volumeMounts`, [mount]));
  }

  private containerIndex(containers: ContainerJson[], read: SecretRead, fail: (field: string, what: string, value: unknown, fix: string) => never): number {
    if (read.container !== undefined) {
      const i = containers.findIndex((c) => c.name === read.container);
      if (i < 0) fail('container', 'names no container of the workload', read.container, `Use one of ${containers.map((c) => c.name).join(', ')}.`);
      return i;
    }
    if (containers.length !== 1) {
      fail('container', `is required: the pod has ${containers.length} containers`, undefined, `Set container to one of ${containers.map((c) => c.name).join(', ') || '(none: define the containers first)'}.`);
    }
    return 0;
  }

  public annotatePodTemplate(key: string, value: string): void {
    const holder = this.construct as Partial<PodMetadataHolder>;
    if (holder.podMetadata && typeof holder.podMetadata.addAnnotation === 'function') {
      holder.podMetadata.addAnnotation(key, value); // cdk8s-plus: lazy, keeps other annotations
      return;
    }
    const path = podTemplatePath(this.kind);
    let cur: unknown = this.obj.toJson();
    for (const p of path) cur = (cur as Record<string, unknown> | undefined)?.[p];
    if (cur === undefined) {
      throw new ValidationError(`Workload ${this.kind} ${this.namespace}/${this.name} has no pod template at /${path.join('/')}: got nothing. Define the pod template before calling consumedBy.`);
    }
    const meta = (cur as { metadata?: { annotations?: Record<string, string> } }).metadata;
    const base = '/' + path.join('/');
    const escaped = key.replace(/~/g, '~0').replace(/\//g, '~1');
    if (meta === undefined) this.obj.addJsonPatch(JsonPatch.add(`${base}/metadata`, { annotations: { [key]: value } }));
    else if (meta.annotations === undefined) this.obj.addJsonPatch(JsonPatch.add(`${base}/metadata/annotations`, { [key]: value }));
    else this.obj.addJsonPatch(JsonPatch.add(`${base}/metadata/annotations/${escaped}`, value));
  }
}
