import type { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { jsonObject } from '../json-object.js';
import { Construct } from 'constructs';
import { CONSUMER_API_VERSIONS, type PlanConsumerKind } from '../../core/plan.js';
import type { RefreshTarget } from '../deliveries/delivery-kind.js';

/** One consumer as the RBAC of its namespace needs it. */
export interface RbacConsumer {
  readonly kind: PlanConsumerKind;
  readonly namespace: string;
  readonly name: string;
  /** The retire step deletes its stale pods itself (an OnDelete StatefulSet read through env/envFrom). */
  readonly deletesPods: boolean;
}

/** What a credential's rotator may touch. */
export interface RbacInput {
  readonly credential: string;
  readonly rotatorNamespace: string;
  readonly serviceAccount: string;
  /** Secrets the Jobs read in the rotator namespace: the staging Secret and the admin Secret. */
  readonly rotatorSecrets: readonly string[];
  /**
   * The staging Secret the activate/revoke Job writes (store-held deliveries: the pair is obtained
   * in the cluster). @default - none: the staging Secret is rendered and only read
   */
  readonly writableStagingSecret?: string;
  /** The per-target object the deliver Job may patch to force a refresh (ExternalSecret). @default - none */
  readonly refreshTarget?: RefreshTarget;
  readonly planConfigMap: string;
  readonly recordConfigMap: string;
  readonly lease: string;
  /** Target Secrets, by namespace. */
  readonly targets: readonly { readonly namespace: string; readonly secretName: string }[];
  readonly consumers: readonly RbacConsumer[];
  readonly labels: Readonly<Record<string, string>>;
}

const RESOURCE_OF: Readonly<Record<PlanConsumerKind, string>> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  Rollout: 'rollouts',
};

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/**
 * The rules of the rotator's Role in its own namespace. Everything by resourceNames except
 * `create`: the RBAC authorizer cannot match a name on create (the object does not exist and
 * the name is only in the body), so a resourceNames rule never allows it. Creating the
 * record ConfigMap and the Lease therefore needs a rule without resourceNames; it lets the
 * rotator create ConfigMaps and Leases in the rotator namespace only, and read or change
 * nothing but its own. A store-held delivery's activate Job writes its staging Secret: `create`
 * on Secrets in the rotator namespace (no name possible, as above) and `update` by name.
 */
export function rotatorNamespaceRules(r: RbacInput): k8s.PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: sorted(r.rotatorSecrets) },
    ...(r.writableStagingSecret
      ? [
          { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: [r.writableStagingSecret] },
          { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        ]
      : []),
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: sorted([r.planConfigMap, r.recordConfigMap]) },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['update', 'patch'], resourceNames: [r.recordConfigMap] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update', 'patch'], resourceNames: [r.lease] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  ];
}

/**
 * The rules of the rotator's Role in one consumer (target) namespace. Target Secrets and
 * workloads by resourceNames, with list/watch too: the rotator lists and watches each with
 * `fieldSelector=metadata.name=<name>` (the only list/watch a resourceNames rule allows),
 * never a whole namespace's Secrets. Pods cannot be named in advance: list/watch pods, create
 * pods/eviction (PodDisruptionBudgets hold), and delete pods only where an OnDelete
 * StatefulSet consumer needs its stale pods replaced.
 */
export function consumerNamespaceRules(r: RbacInput, namespace: string): k8s.PolicyRule[] {
  const rules: k8s.PolicyRule[] = [];
  const secrets = sorted(r.targets.filter((t) => t.namespace === namespace).map((t) => t.secretName));
  if (secrets.length) rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'], resourceNames: secrets });
  // the deliver step forces a refresh by changing the annotation force-sync on the object named like the target
  if (secrets.length && r.refreshTarget) rules.push({ apiGroups: [r.refreshTarget.apiGroup], resources: [r.refreshTarget.resource], verbs: ['get', 'patch'], resourceNames: secrets });
  const consumers = r.consumers.filter((c) => c.namespace === namespace);
  const groups = new Map<string, Map<string, string[]>>();
  for (const c of consumers) {
    const api = CONSUMER_API_VERSIONS[c.kind];
    const group = api.includes('/') ? api.split('/')[0]! : '';
    const byResource = groups.get(group) ?? new Map<string, string[]>();
    byResource.set(RESOURCE_OF[c.kind], [...(byResource.get(RESOURCE_OF[c.kind]) ?? []), c.name]);
    groups.set(group, byResource);
  }
  for (const group of [...groups.keys()].sort()) {
    const byResource = groups.get(group)!;
    for (const resource of [...byResource.keys()].sort()) {
      rules.push({ apiGroups: [group], resources: [resource], verbs: ['get', 'list', 'watch'], resourceNames: sorted(byResource.get(resource)!) });
    }
  }
  if (consumers.length) {
    rules.push({ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] });
    rules.push({ apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] });
    if (consumers.some((c) => c.deletesPods)) rules.push({ apiGroups: [''], resources: ['pods'], verbs: ['delete'] });
  }
  return rules;
}

/**
 * The credential's ServiceAccount and Roles (no ClusterRole: every object the rotator touches
 * is namespaced and known at synthesis, so one Role per namespace is always enough).
 */
export function renderRbac(scope: Construct, r: RbacInput): ApiObject[] {
  const out: ApiObject[] = [];
  const name = r.serviceAccount;
  out.push(jsonObject<k8s.KubeServiceAccountProps>(scope, 'service-account', k8s.KubeServiceAccount.GVK, {
    metadata: { name, namespace: r.rotatorNamespace, labels: { ...r.labels } },
    automountServiceAccountToken: false,
  }));
  const role = (id: Construct, namespace: string, rules: k8s.PolicyRule[]) => {
    out.push(jsonObject<k8s.KubeRoleProps>(id, 'role', k8s.KubeRole.GVK, { metadata: { name, namespace, labels: { ...r.labels } }, rules }));
    out.push(jsonObject<k8s.KubeRoleBindingProps>(id, 'binding', k8s.KubeRoleBinding.GVK, {
      metadata: { name, namespace, labels: { ...r.labels } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: r.rotatorNamespace }],
    }));
  };
  // a target in the rotator namespace itself adds its rules to the same Role
  role(new Construct(scope, 'rotator-namespace'), r.rotatorNamespace, [...rotatorNamespaceRules(r), ...consumerNamespaceRules(r, r.rotatorNamespace)]);
  const namespaces = sorted([...r.targets.map((t) => t.namespace), ...r.consumers.map((c) => c.namespace)]);
  const nsScope = new Construct(scope, 'namespaces');
  for (const ns of namespaces) {
    if (ns === r.rotatorNamespace) continue;
    const rules = consumerNamespaceRules(r, ns);
    if (rules.length) role(new Construct(nsScope, ns), ns, rules);
  }
  return out;
}
