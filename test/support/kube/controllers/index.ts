/** The default set of simulated controllers, in the order they run on each tick. */
import type { Controller } from './controller.js';
import { CsiDriver, type CsiDriverOptions } from './csi.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { DisruptionController } from './disruption.js';
import { ExternalSecretsController, type EsoOptions } from './eso.js';
import { GarbageCollector } from './garbage-collector.js';
import { JobController } from './job.js';
import { Kubelet, type KubeletOptions } from './kubelet.js';
import { ReplicaSetController } from './replicaset.js';
import { RolloutController } from './rollout.js';
import { SealedSecretsController, type SealedSecretsOptions } from './sealed-secrets.js';
import { StatefulSetController } from './statefulset.js';

export interface ControllerSetOptions {
  /** Scheduler/kubelet behaviour (nodes, readiness delay, never-ready pods, pod runner). */
  readonly kubelet?: KubeletOptions;
  /** Run a sealed-secrets controller with this unseal function. @default - no sealed-secrets controller */
  readonly sealedSecrets?: SealedSecretsOptions;
  /** Run a Secrets Store CSI driver with these providers and settings. @default - no CSI driver */
  readonly csi?: CsiDriverOptions;
  /** Run the External Secrets Operator (ExternalSecret and PushSecret) over these stores. @default - no ESO */
  readonly externalSecrets?: EsoOptions;
}

export interface ControllerSet {
  readonly kubelet: Kubelet;
  readonly sealedSecrets?: SealedSecretsController;
  readonly csi?: CsiDriver;
  readonly externalSecrets?: ExternalSecretsController;
  /** Every controller, in tick order: pass to startFakeKube({ controllers }). */
  readonly all: readonly Controller[];
}

/**
 * Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, Argo Rollout, disruption (PDB status),
 * optionally sealed-secrets and External Secrets, then (optionally) the Secrets Store CSI driver —
 * which the kubelet asks whether a pod's CSI volumes are mounted before starting it — the kubelet and
 * the garbage collector.
 */
export function defaultControllers(options: ControllerSetOptions = {}): ControllerSet {
  const csi = options.csi ? new CsiDriver(options.csi) : undefined;
  const outer = options.kubelet?.mountBlocked;
  const kubelet = new Kubelet(csi ? { ...options.kubelet, mountBlocked: (pod) => outer?.(pod) ?? csi.mountBlocked(pod) } : options.kubelet);
  const sealedSecrets = options.sealedSecrets ? new SealedSecretsController(options.sealedSecrets) : undefined;
  const externalSecrets = options.externalSecrets ? new ExternalSecretsController(options.externalSecrets) : undefined;
  return {
    kubelet,
    sealedSecrets,
    csi,
    externalSecrets,
    all: [
      ...(sealedSecrets ? [sealedSecrets] : []),
      ...(externalSecrets ? [externalSecrets] : []),
      new DeploymentController(),
      new RolloutController(),
      new ReplicaSetController(),
      new StatefulSetController(),
      new DaemonSetController(kubelet.nodes),
      new JobController(),
      ...(csi ? [csi] : []),
      kubelet,
      new DisruptionController(),
      new GarbageCollector(),
    ],
  };
}
