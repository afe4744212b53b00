/**
 * The resource table of the fake API server: which resources exist at which paths, and the
 * per-kind registry rules the real API server's strategies encode (status subresource, how
 * metadata.generation moves, PUT without resourceVersion, PUT creating a missing object).
 */

/** How `metadata.generation` moves on update (K8S pkg/registry/<group>/<kind>/strategy.go). */
export type GenerationRule =
  /** no generation (ConfigMap, Secret, Pod, …) */
  | 'none'
  /** bumps when spec changes (StatefulSet, DaemonSet, ReplicaSet, Job, PDB, NetworkPolicy, …) */
  | 'spec'
  /** bumps when spec or annotations change (Deployment) */
  | 'specOrAnnotations'
  /** bumps on any change outside metadata and status (custom resources: AX customresource/strategy.go) */
  | 'nonMetadata';

export interface ResourceDef {
  /** '' for the core group */
  readonly group: string;
  readonly version: string;
  /** plural, as in the path */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  /** Has a `/status` subresource: writes to the object ignore status, `/status` ignores the rest. */
  readonly status: boolean;
  /** Has a `/scale` subresource (autoscaling/v1 Scale over spec.replicas). */
  readonly scale?: boolean;
  readonly generation: GenerationRule;
  /** PUT without metadata.resourceVersion is allowed (AllowUnconditionalUpdate). */
  readonly unconditionalUpdate: boolean;
  /** PUT of a missing object creates it (AllowCreateOnUpdate: Lease). */
  readonly createOnUpdate?: boolean;
  /** A custom resource: no strategic merge patch (415), CR registry rules. */
  readonly custom?: boolean;
}

const core = (resource: string, singular: string, kind: string, extra: Partial<ResourceDef> = {}): ResourceDef => ({
  group: '',
  version: 'v1',
  resource,
  singular,
  kind,
  namespaced: true,
  status: false,
  generation: 'none',
  unconditionalUpdate: true,
  ...extra,
});

const grouped = (group: string, version: string, resource: string, singular: string, kind: string, extra: Partial<ResourceDef> = {}): ResourceDef => ({
  group,
  version,
  resource,
  singular,
  kind,
  namespaced: true,
  status: false,
  generation: 'none',
  unconditionalUpdate: true,
  ...extra,
});

const custom = (group: string, version: string, resource: string, singular: string, kind: string, extra: Partial<ResourceDef> = {}): ResourceDef =>
  grouped(group, version, resource, singular, kind, { custom: true, status: true, generation: 'nonMetadata', unconditionalUpdate: false, ...extra });

/** Every resource the fake serves. */
export const RESOURCES: readonly ResourceDef[] = [
  core('namespaces', 'namespace', 'Namespace', { namespaced: false, shortNames: ['ns'], status: true }),
  core('pods', 'pod', 'Pod', { shortNames: ['po'], categories: ['all'], status: true }),
  core('secrets', 'secret', 'Secret'),
  core('configmaps', 'configmap', 'ConfigMap', { shortNames: ['cm'] }),
  core('serviceaccounts', 'serviceaccount', 'ServiceAccount', { shortNames: ['sa'] }),
  core('services', 'service', 'Service', { shortNames: ['svc'], categories: ['all'], status: true }),
  core('events', 'event', 'Event', { shortNames: ['ev'] }),
  grouped('apps', 'v1', 'deployments', 'deployment', 'Deployment', {
    shortNames: ['deploy'], categories: ['all'], status: true, scale: true, generation: 'specOrAnnotations',
  }),
  grouped('apps', 'v1', 'replicasets', 'replicaset', 'ReplicaSet', { shortNames: ['rs'], categories: ['all'], status: true, scale: true, generation: 'spec' }),
  grouped('apps', 'v1', 'statefulsets', 'statefulset', 'StatefulSet', { shortNames: ['sts'], categories: ['all'], status: true, scale: true, generation: 'spec' }),
  grouped('apps', 'v1', 'daemonsets', 'daemonset', 'DaemonSet', { shortNames: ['ds'], categories: ['all'], status: true, generation: 'spec' }),
  grouped('apps', 'v1', 'controllerrevisions', 'controllerrevision', 'ControllerRevision'),
  grouped('batch', 'v1', 'jobs', 'job', 'Job', { categories: ['all'], status: true, generation: 'spec' }),
  grouped('batch', 'v1', 'cronjobs', 'cronjob', 'CronJob', { shortNames: ['cj'], categories: ['all'], status: true, generation: 'spec' }),
  grouped('policy', 'v1', 'poddisruptionbudgets', 'poddisruptionbudget', 'PodDisruptionBudget', { shortNames: ['pdb'], status: true, generation: 'spec' }),
  grouped('coordination.k8s.io', 'v1', 'leases', 'lease', 'Lease', { unconditionalUpdate: false, createOnUpdate: true }),
  grouped('rbac.authorization.k8s.io', 'v1', 'roles', 'role', 'Role'),
  grouped('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'rolebinding', 'RoleBinding'),
  grouped('networking.k8s.io', 'v1', 'networkpolicies', 'networkpolicy', 'NetworkPolicy', { shortNames: ['netpol'], generation: 'spec' }),
  custom('bitnami.com', 'v1alpha1', 'sealedsecrets', 'sealedsecret', 'SealedSecret'),
  custom('argoproj.io', 'v1alpha1', 'rollouts', 'rollout', 'Rollout', { shortNames: ['ro'], scale: true }),
  // no status subresource in the v1.6 CRD
  custom('secrets-store.csi.x-k8s.io', 'v1', 'secretproviderclasses', 'secretproviderclass', 'SecretProviderClass', { status: false }),
  custom('external-secrets.io', 'v1', 'externalsecrets', 'externalsecret', 'ExternalSecret', { shortNames: ['es'], categories: ['external-secrets'] }),
  custom('external-secrets.io', 'v1alpha1', 'pushsecrets', 'pushsecret', 'PushSecret', { categories: ['external-secrets'] }),
  custom('external-secrets.io', 'v1', 'secretstores', 'secretstore', 'SecretStore', { shortNames: ['ss'], categories: ['external-secrets'] }),
  custom('external-secrets.io', 'v1', 'clustersecretstores', 'clustersecretstore', 'ClusterSecretStore', { namespaced: false, shortNames: ['css'], categories: ['external-secrets'] }),
];

/** `apiVersion` of a resource: `v1` or `group/version`. */
export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** The group-qualified resource used in Status messages: `configmaps`, `deployments.apps`. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

/** The group-qualified kind used in Invalid messages: `ConfigMap`, `Deployment.apps`. */
export function qualifiedKind(def: ResourceDef): string {
  return def.group ? `${def.kind}.${def.group}` : def.kind;
}

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/** The resource of an `apiVersion` + `kind` pair (for controllers and owner references). */
export function resourceForKind(apiVersion: string, kind: string): ResourceDef {
  const def = RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
  if (!def) throw new Error(`fake kube serves no ${apiVersion}/${kind}: got an unknown kind. Add it to test/support/kube/resources.ts.`);
  return def;
}

/** Shorthand for controllers: the resource by plural (unique across groups here). */
export function res(resource: string): ResourceDef {
  const def = RESOURCES.find((r) => r.resource === resource);
  if (!def) throw new Error(`fake kube serves no resource ${resource}`);
  return def;
}
