import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';

/** Pod Security Admission labels of the rotator namespace: everything in it runs "restricted". */
export const POD_SECURITY_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
});

/** The rotator namespace, labelled for Pod Security "restricted". */
export function renderRotatorNamespace(scope: Construct, name: string, labels: Record<string, string>): k8s.KubeNamespace {
  return new k8s.KubeNamespace(scope, 'namespace', { metadata: { name, labels: { ...labels, ...POD_SECURITY_LABELS } } });
}
