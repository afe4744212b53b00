/** The default set of simulated controllers, in the order they run on each tick. */
import type { Controller } from './controller.js';
import { DeploymentController } from './deployment.js';
import { GarbageCollector } from './garbage-collector.js';
import { Kubelet, type KubeletOptions } from './kubelet.js';
import { ReplicaSetController } from './replicaset.js';
import { StatefulSetController } from './statefulset.js';

export interface ControllerSetOptions {
  readonly kubelet?: KubeletOptions;
}

export interface ControllerSet {
  readonly kubelet: Kubelet;
  readonly all: readonly Controller[];
}

export function defaultControllers(options: ControllerSetOptions = {}): ControllerSet {
  const kubelet = new Kubelet(options.kubelet);
  return { kubelet, all: [new DeploymentController(), new ReplicaSetController(), new StatefulSetController(), kubelet, new GarbageCollector()] };
}
