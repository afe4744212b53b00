import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { ValidationError } from '../core/errors.js';

/** The kinds of workload rekey can restart through a pod-template annotation. */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'Rollout';

const API_VERSIONS: Record<WorkloadKind, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Rollout: 'argoproj.io/v1alpha1',
};

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
  /** Sets an annotation on the pod template. Only for workloads rendered here. */
  annotatePodTemplate(key: string, value: string): void;
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
      throw new ValidationError(`Workload.fromName kind is not a supported workload kind: got ${JSON.stringify(kind)}. Use one of ${Object.keys(API_VERSIONS).join(', ')}.`);
    }
    if (options.updateStrategy && kind !== 'StatefulSet') {
      throw new ValidationError(`Workload.fromName updateStrategy only applies to StatefulSets: got ${JSON.stringify(options.updateStrategy)} for ${kind} ${name}. Remove updateStrategy.`);
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
