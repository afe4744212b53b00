/** rekey rotate for a credential delivered by the Secrets Store CSI driver: a key drawn in the cluster, a SecretProviderClass per target. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parsePlanText } from '../../lib/core/plan.js';
import { Ledger } from '../../lib/project/ledger.js';
import { cli, projectsRemovedAfterEach, readManifests } from '../support/project.js';
import { validateManifests } from '../support/validate.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();

/** The fixture project plus a rustfs credential delivered through the CSI driver from Vault. */
function withCsi(): string {
  const dir = project();
  const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8').concat(`  - name: lake
    provider: rustfs
    identity: { kind: serviceAccount, name: lake }
    aliases: [aws]
    delivery:
      kind: csi
      provider: vault
      parameters: { roleName: lake, vaultAddress: "https://vault.vault.svc:8200" }
      store: { kind: ClusterSecretStore, name: vault }
      remoteKey: rekey/lake
      objectPath: secret/data/rekey/lake
      rotationPollIntervalSeconds: 300
    targets:
      - { namespace: lake, secretName: lake-s3 }
    consumers:
      - { kind: Deployment, name: spark, namespace: lake, env: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY] }
      - { kind: Deployment, name: trino, namespace: lake, file: { mountPath: /etc/s3 } }
`);
  writeFileSync(join(dir, 'rekey.yaml'), spec);
  return dir;
}

describe('rekey rotate, csi delivery', () => {
  it('records a providerDrawn entry and renders the SecretProviderClass, the PushSecret to the same store and the plan with the driver settings', async () => {
    const dir = withCsi();
    expect(await cli(dir, ['adopt', 'lake', '--access-key-id', 'LAKEADOPTEDKEY000001'], NOW)).toMatchObject({ code: 0 });
    const r = await cli(dir, ['rotate', 'lake'], NOW);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rotated lake: generation 1, access key drawn in the cluster by the activate Job (replaces LAKEADOPTEDKEY000001)\n');
    const e = Ledger.parse(readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8')).get('lake')!;
    expect(e).toMatchObject({ generation: 1, delivery: 'csi', keySource: 'providerDrawn', accessKeyId: null, previousAccessKeyId: 'LAKEADOPTEDKEY000001' });

    const docs = readManifests(join(dir, 'dist'));
    expect(docs.filter((d) => d.kind === 'SealedSecret' || (d.kind === 'Secret' && d.metadata.namespace === 'lake'))).toEqual([]);
    expect(docs.filter((d) => ['PushSecret', 'SecretProviderClass'].includes(d.kind)).map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      'PushSecret rekey-system/rekey-lake-g1-push',
      'SecretProviderClass lake/lake-s3',
    ]);
    const plan = parsePlanText(docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'rekey-lake-g1-plan').data['plan.json'], 'plan');
    expect(plan.keySource).toEqual({ kind: 'providerDrawn' });
    expect(plan.targets).toEqual([{ namespace: 'lake', secretName: 'lake-s3', delivery: 'csi', csi: { secretProviderClass: 'lake-s3', rotationPollIntervalSeconds: 300, secretRotationEnabled: true }, keys: [{ name: 'AWS_ACCESS_KEY_ID', holds: 'accessKeyId' }, { name: 'AWS_SECRET_ACCESS_KEY', holds: 'secretAccessKey' }] }]);
    expect(plan.consumers.map((c) => [c.name, c.mode, c.checksum === null ? 'no checksum' : 'checksum'])).toEqual([
      ['spark', 'env', 'checksum'],
      ['trino', 'file', 'no checksum'],
    ]);
    expect(validateManifests(docs)).toEqual([]);
    // workloads rendered elsewhere: the env consumer's Kustomize patch carries the checksum
    expect(readFileSync(join(dir, 'dist/components/lake/kustomization.yaml'), 'utf8')).toContain('rekey.dev/lake-checksum');
  });
});
