import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { synthesize } from '../../lib/project/synth.js';
import { readManifests, snapshotTree } from '../support/project.js';
import { kustomizeBuild, parseManifests, validateManifests } from '../support/validate.js';

/**
 * examples/aws-iam-external: an aws-iam credential delivered through an ExternalSecret, its key
 * pushed to AWS Secrets Manager by a PushSecret, a Deployment rendered elsewhere restarted
 * through a Kustomize Component. Its dist/ is not committed (it would go stale with every rotator
 * change): this renders it and compares with the snapshot, the rotator bundle replaced by placeholders.
 */
/** The bundle bytes, its SHA-256 and the pod-template hashes that follow from it, as placeholders (as in test/example.test.ts). */
function withoutBundle(text: string): string {
  return text
    .replace(/(rotator\.mjs\.gz: )\S+/g, '$1<gzip base64>')
    .replace(/[0-9a-f]{64}/g, '<sha256>')
    .replace(/(rekey\.dev\/rotator-bytes: )[^\n]+/g, '$1<sizes>')
    .replace(/(-(?:activate|deliver|retire|revoke)(?:-a\d+)?-)[0-9a-f]{8}\b/g, '$1<hash>');
}

const EXAMPLE = join(process.cwd(), 'examples/aws-iam-external');
let work: string;
let dist: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rekey-example-iam-'));
  dist = join(work, 'dist');
  await synthesize({ dir: EXAMPLE, outdir: dist, warn: () => undefined });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('examples/aws-iam-external', () => {
  it('every rendered object validates against its schema', () => {
    const docs = readManifests(dist);
    expect(validateManifests(docs)).toEqual([]);
    expect(docs.map((d) => d.kind).filter((k) => ['PushSecret', 'ExternalSecret', 'SealedSecret', 'Secret'].includes(k))).toEqual(['PushSecret', 'ExternalSecret']);
  });

  it("the Deployment's own app includes the component and gets the checksum annotation", () => {
    const base = join(work, 'app');
    mkdirSync(base);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'report-writer' },
      spec: { selector: { matchLabels: { app: 'w' } }, template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'w', image: 'w:1', envFrom: [{ secretRef: { name: 'reports-s3' } }] }] } } },
    };
    writeFileSync(join(base, 'all.yaml'), stringify(deployment));
    writeFileSync(join(base, 'kustomization.yaml'), stringify({ namespace: 'reports', resources: ['all.yaml'], components: ['../dist/components/reports'] }));
    const [built] = parseManifests(kustomizeBuild(base)) as any[];
    expect(built.spec.template.metadata.annotations['rekey.dev/reports-checksum']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('writes nothing secret: no Secret, no sealed value, no key ID', () => {
    const all = [...snapshotTree(dist).values()].join('\n');
    expect(all).not.toMatch(/encryptedData|AKIA[A-Z0-9]{12}|rekey\.dev\/access-key-id/);
    expect(readFileSync(join(EXAMPLE, 'rekey.ledger.yaml'), 'utf8')).toContain('accessKeyId: null');
  });

  it('matches its snapshot', () => {
    for (const [file, text] of snapshotTree(dist)) expect(withoutBundle(text)).toMatchSnapshot(file);
  });
});
