import type { ApiObject } from 'cdk8s';

/**
 * The apply order of one rotation, the same for every GitOps tool:
 * rotator infra, staging Secret and plan → activate (or revoke) Job → PushSecret (store-held
 * deliveries: copies the pair the activate Job wrote into the store) → target Secrets →
 * deliver Job → this app's workloads (consumers, and every object rekey does not stage) →
 * retire Job. Argo CD gets it as sync waves, Flux as stage folders chained with `dependsOn`,
 * plain kubectl as the order in dist/README.md.
 */
export class Stage {
  /** Namespace, ServiceAccounts, RBAC, NetworkPolicies, the bundle ConfigMap, staging Secrets and plans. */
  public static readonly ROTATOR = new Stage('rotator', 1, -5);
  /** The activate Jobs (the revoke Job of a `rekey revoke` generation). */
  public static readonly ACTIVATE = new Stage('activate', 2, -4);
  /**
   * The per-generation PushSecrets of store-held deliveries (external, csi): after the
   * activate Job wrote the staging Secret (a PushSecret pushes when created, not when its
   * source changes), before the targets read the store.
   */
  public static readonly PUSH = new Stage('push', 3, -3);
  /** The target Secrets (SealedSecrets, ExternalSecrets, …). */
  public static readonly TARGETS = new Stage('targets', 4, -2);
  /** The deliver Jobs: complete once every target Secret in the cluster holds the new key ID. */
  public static readonly DELIVER = new Stage('deliver', 5, -1);
  /** This app's workloads: consumers and every object rekey does not stage (wave 0, Argo CD's default). */
  public static readonly WORKLOADS = new Stage('workloads', 6, 0);
  /** The retire Jobs. */
  public static readonly RETIRE = new Stage('retire', 7, 1);

  /** Every stage, in apply order. */
  public static readonly ALL: readonly Stage[] = [Stage.ROTATOR, Stage.ACTIVATE, Stage.PUSH, Stage.TARGETS, Stage.DELIVER, Stage.WORKLOADS, Stage.RETIRE];

  private constructor(
    /** Stage name (folder and Kustomization suffix). */
    public readonly name: string,
    /** 1-based position. */
    public readonly index: number,
    /** The Argo CD sync wave. */
    public readonly wave: number,
  ) {}

  /** `1-rotator`: the stage's folder under dist/stages. */
  public get folder(): string {
    return `${this.index}-${this.name}`;
  }
}

const stages = new WeakMap<ApiObject, Stage>();

/** Records the stage of an object (the last call wins). */
export function setStage(obj: ApiObject, stage: Stage): void {
  stages.set(obj, stage);
}

/** The stage of an object; objects rekey did not stage belong to the workloads stage. */
export function stageOf(obj: ApiObject): Stage {
  return stages.get(obj) ?? Stage.WORKLOADS;
}
