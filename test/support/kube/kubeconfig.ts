/** A kubeconfig for the fake server, for client-node's `KubeConfig.loadFromFile` and `kubectl --kubeconfig`. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { stringify } from 'yaml';

export interface KubeconfigOptions {
  /** default namespace of the context @default 'default' */
  readonly namespace?: string;
  /** bearer token (the fake does not check it) @default 'fake-token' */
  readonly token?: string;
}

export function kubeconfigYaml(url: string, options: KubeconfigOptions = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain http unless the cluster says insecure-skip-tls-verify (config.ts createAgent)
    clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'fake', user: { token: options.token ?? 'fake-token' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: options.namespace ?? 'default' } }],
    'current-context': 'fake',
  });
}

/** Writes the kubeconfig into a new temporary directory; returns the file path. */
export function writeKubeconfig(url: string, options: KubeconfigOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, kubeconfigYaml(url, options), { mode: 0o600 });
  return path;
}
