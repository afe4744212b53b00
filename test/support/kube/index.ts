/** The fake Kubernetes API server and simulated controllers for tests. See README.md. */
export { FakeClock } from './clock.js';
export type { Controller, ControllerContext } from './controllers/controller.js';
export { defaultControllers, type ControllerSet, type ControllerSetOptions } from './controllers/index.js';
export { Kubelet, NEVER_READY_ANNOTATION, type ContainerStart, type KubeletOptions, type PodOutcome, type PodRunContext, type PodRunner } from './controllers/kubelet.js';
export { processRunner, type ProcessRun, type ProcessRunner, type ProcessRunnerOptions } from './controllers/process-runner.js';
export { MANAGED_ANNOTATION, PATCH_ANNOTATION, SKIP_OWNER_REFERENCES_ANNOTATION, type SealedSecretsOptions, type Unseal } from './controllers/sealed-secrets.js';
export { REVISION_LABEL } from './controllers/statefulset.js';
export { ApiError, type StatusBody } from './errors.js';
export { EventLog } from './events.js';
export type { FaultAction, FaultMatcher, FaultRule, LoggedRequest, RequestInfo, Verb } from './faults.js';
export { kubeconfigYaml, writeKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
export { kubectlFor, type Kubectl, type KubectlResult } from './kubectl.js';
export { PATCH_TYPES, Registry } from './registry.js';
export { RESOURCES, res, resourceForKind, type ResourceDef } from './resources.js';
export { startFakeKube, type FakeKube, type FakeKubeOptions, type SettleOptions, type TickWhileOptions } from './server.js';
export { Store, type StoreEvent } from './store.js';
export type { KubeObject, Obj } from './types.js';
