import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { kustomizeBuild, parseManifests } from '../../support/validate.js';

/**
 * The example's committed Kustomize Components, included by a base the way another app would:
 * with and without metadata.namespace on its objects (many Helm charts render none).
 */
const work = mkdtempSync(join(tmpdir(), 'rekey-components-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function base(name: string, objectNamespace: string | undefined, kustomizationNamespace?: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'base'), { recursive: true });
  cpSync('dist/components/trino', join(dir, 'component'), { recursive: true });
  const metadata = (n: string) => ({ name: n, ...(objectNamespace ? { namespace: objectNamespace } : {}) });
  const template = { metadata: { labels: { app: 't' }, annotations: { keep: 'me' } }, spec: { containers: [{ name: 't', image: 'trino:1' }] } };
  const docs = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: metadata('trino-coordinator'), spec: { selector: { matchLabels: { app: 't' } }, template } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: metadata('trino-worker'), spec: { selector: { matchLabels: { app: 't' } }, template } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: metadata('trino-cache'), spec: { serviceName: 'c', selector: { matchLabels: { app: 't' } }, template } },
  ];
  writeFileSync(join(dir, 'base', 'workloads.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  writeFileSync(
    join(dir, 'base', 'kustomization.yaml'),
    stringify({ ...(kustomizationNamespace ? { namespace: kustomizationNamespace } : {}), resources: ['workloads.yaml'], components: ['../component'] }),
  );
  return join(dir, 'base');
}

describe('Kustomize Components for workloads rendered elsewhere', () => {
  it.each([
    ['objects with metadata.namespace', base('namespaced', 'trino')],
    ['objects without metadata.namespace (a Helm chart rendered without -n)', base('bare', undefined)],
    ['a kustomization that sets the namespace', base('kustomization-ns', undefined, 'trino')],
  ])('GIVEN %s WHEN built with kubectl kustomize THEN every workload gets the checksum and keeps its annotations', (_name, dir) => {
    const built = parseManifests(kustomizeBuild(dir)) as Array<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }>;
    expect(built).toHaveLength(3);
    for (const o of built) {
      expect(o.spec.template.metadata.annotations).toEqual({ keep: 'me', 'rekey.dev/serving-reader-checksum': expect.stringMatching(/^[0-9a-f]{16}$/) });
    }
  });
});
