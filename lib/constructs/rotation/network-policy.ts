import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ROTATOR_POD_LABELS } from './job.js';

/** The label every namespace carries with its own name (Kubernetes ≥ 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What the provider's ingress policy needs. */
export interface ProviderPolicyInput {
  readonly provider: string;
  readonly namespace: string;
  readonly podSelector: Readonly<Record<string, string>>;
  readonly port: number;
  /** Namespaces whose pods may reach the storage port: the targets' (consumers') namespaces and the spec's allowFrom. */
  readonly clientNamespaces: readonly string[];
  readonly rotatorNamespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

const nsSelector = (names: readonly string[]): k8s.LabelSelector => ({
  matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...new Set(names)].sort() }],
});

/**
 * Provider pods accept traffic from their own namespace (any port: replication between
 * provider pods keeps working), and the storage port from the client namespaces and the
 * rotation pods. Other namespaces are cut off: a NetworkPolicy that selects a pod denies
 * every ingress it does not allow.
 */
export function renderProviderPolicy(scope: Construct, p: ProviderPolicyInput): k8s.KubeNetworkPolicy {
  const clients = [...new Set(p.clientNamespaces)].filter((n) => n !== p.namespace).sort();
  const from: k8s.NetworkPolicyPeer[] = [];
  if (clients.length) from.push({ namespaceSelector: nsSelector(clients) });
  from.push({ namespaceSelector: nsSelector([p.rotatorNamespace]), podSelector: { matchLabels: { ...ROTATOR_POD_LABELS } } });
  return new k8s.KubeNetworkPolicy(scope, 'network-policy', {
    metadata: { name: `rekey-${p.provider}-ingress`, namespace: p.namespace, labels: { ...p.labels } },
    spec: {
      podSelector: { matchLabels: { ...p.podSelector } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: {} }] },
        { from, ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p.port) }] },
      ],
    },
  });
}

/** A provider the rotation pods may call. */
export interface ProviderEndpoint {
  readonly namespace: string;
  readonly podSelector: Readonly<Record<string, string>>;
  readonly port: number;
}

/** What the rotation pods' policy needs. */
export interface RotatorPolicyInput {
  readonly namespace: string;
  readonly providers: readonly ProviderEndpoint[];
  /** Providers outside the cluster (aws-iam): address ranges and port. @default - none */
  readonly external?: readonly { readonly cidrs: readonly string[]; readonly port: number }[];
  readonly apiServer: { readonly cidr: string; readonly port: number };
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Rotation pods: default-deny both ways; egress only to cluster DNS (kube-system kube-dns,
 * UDP and TCP 53), to the providers' storage ports (in-cluster pods by selector, providers
 * outside the cluster by address range) and to the API server endpoint.
 */
export function renderRotatorPolicy(scope: Construct, r: RotatorPolicyInput): k8s.KubeNetworkPolicy {
  const egress: k8s.NetworkPolicyEgressRule[] = [
    {
      to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [
        { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
        { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
      ],
    },
  ];
  const seen = new Set<string>();
  for (const p of r.providers) {
    const key = JSON.stringify([p.namespace, p.podSelector, p.port]);
    if (seen.has(key)) continue;
    seen.add(key);
    egress.push({
      to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: p.namespace } }, podSelector: { matchLabels: { ...p.podSelector } } }],
      ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p.port) }],
    });
  }
  for (const x of r.external ?? []) {
    const key = JSON.stringify(x);
    if (seen.has(key)) continue;
    seen.add(key);
    egress.push({ to: x.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(x.port) }] });
  }
  egress.push({ to: [{ ipBlock: { cidr: r.apiServer.cidr } }], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(r.apiServer.port) }] });
  return new k8s.KubeNetworkPolicy(scope, 'rotator-network-policy', {
    metadata: { name: 'rekey-rotator', namespace: r.namespace, labels: { ...r.labels } },
    spec: {
      podSelector: { matchLabels: { ...ROTATOR_POD_LABELS } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress,
    },
  });
}
