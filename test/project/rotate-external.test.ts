import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parsePlanText } from '../../lib/core/plan.js';
import { Ledger } from '../../lib/project/ledger.js';
import { diffTrees } from '../../lib/project/synth.js';
import { cli, projectsRemovedAfterEach, readManifests, snapshotTree } from '../support/project.js';
import { validateManifests } from '../support/validate.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();

/** The fixture project (uploads, reports: rustfs, sealed) plus an aws-iam credential delivered through an ExternalSecret. */
function withExternal(): string {
  const dir = project();
  const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8')
    .replace('providers:\n', 'providers:\n  - { name: aws, kind: aws-iam, region: eu-west-1, adminCredential: { secretName: aws-iam-rotator } }\n')
    .concat(`  - name: analytics
    provider: aws
    identity: { kind: user, name: analytics }
    aliases: [aws, aws-credentials-file]
    extraKeys: { AWS_REGION: eu-west-1 }
    delivery:
      kind: external
      store: { kind: ClusterSecretStore, name: aws-secrets-manager }
      remoteKey: platform/analytics-s3
    targets:
      - { namespace: analytics, secretName: analytics-s3 }
    consumers:
      - { kind: Deployment, name: dashboards, namespace: analytics, envFrom: {} }
`);
  writeFileSync(join(dir, 'rekey.yaml'), spec);
  return dir;
}

const plan = (dist: string, generation: number) =>
  parsePlanText(readManifests(dist).find((d) => d.kind === 'ConfigMap' && d.metadata.name === `rekey-analytics-g${generation}-plan`).data['plan.json'], 'plan');

describe('rekey rotate, a key drawn in the cluster (external delivery)', () => {
  it('bumps the generation and records an entry without key material, keeping its own integrity', async () => {
    const dir = withExternal();
    expect(await cli(dir, ['adopt', 'analytics', '--access-key-id', 'AKIAADOPTEDADOPTED01'], NOW)).toMatchObject({ code: 0 });
    const r = await cli(dir, ['rotate', 'analytics'], NOW);
    expect(r).toEqual({
      code: 0,
      stdout: expect.stringContaining('rotated analytics: generation 1, access key drawn in the cluster by the activate Job (replaces AKIAADOPTEDADOPTED01)\n'),
      stderr: 'rekey: credential uploads has never been rotated: nothing is rendered for it yet. Run `rekey rotate uploads`.\nrekey: credential reports has never been rotated: nothing is rendered for it yet. Run `rekey rotate reports`.\n',
    });
    const text = readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8');
    const e = Ledger.parse(text).get('analytics')!;
    expect(e).toEqual({
      generation: 1,
      provider: 'aws',
      delivery: 'external',
      keySource: 'providerDrawn',
      accessKeyId: null,
      previousAccessKeyId: 'AKIAADOPTEDADOPTED01',
      rotatedAt: NOW.toISOString(),
      credentialsFileProfile: 'default',
      staging: { namespace: 'rekey-system', secretName: 'rekey-analytics-g1-staging' },
      targets: [{ namespace: 'analytics', secretName: 'analytics-s3' }],
    });
    expect(text).not.toMatch(/\n +(sealed|plainSecretAccessKey|secretAccessKey):/);
    // a hand edit of the entry is still detected
    expect(() => Ledger.parse(text.replace('generation: 1', 'generation: 2'))).toThrow(/credentials\.analytics\.integrity does not match the entry's content/);

    const dist = join(dir, 'dist');
    expect(plan(dist, 1)).toMatchObject({ keySource: { kind: 'providerDrawn' }, accessKeyId: null, previousAccessKeyId: 'AKIAADOPTEDADOPTED01' });
    const docs = readManifests(dist);
    expect(docs.filter((d) => d.kind === 'SealedSecret' || d.kind === 'Secret')).toEqual([]);
    expect(docs.filter((d) => ['PushSecret', 'ExternalSecret'].includes(d.kind)).map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      'PushSecret rekey-system/rekey-analytics-g1-push',
      'ExternalSecret analytics/analytics-s3',
    ]);
    expect(validateManifests(docs)).toEqual([]);
    expect(readFileSync(join(dist, 'components/analytics/kustomization.yaml'), 'utf8')).toContain('rekey.dev/analytics-checksum');

    const status = JSON.parse((await cli(dir, ['status', '--output', 'json'], NOW)).stdout).find((s: any) => s.credential === 'analytics');
    expect(status).toMatchObject({
      generation: 1,
      accessKeyId: null,
      drawnInCluster: true,
      delivery: { kind: 'external', remote: { store: { kind: 'ClusterSecretStore', name: 'aws-secrets-manager' }, remoteKey: 'platform/analytics-s3', properties: { accessKeyId: 'access-key', secretAccessKey: 'secret-key' } } },
    });
    const table = (await cli(dir, ['status'], NOW)).stdout;
    expect(table).toMatch(/\nanalytics +aws +external ClusterSecretStore\/aws-secrets-manager platform\/analytics-s3 \[access-key, secret-key\] +1 +\(drawn in cluster\) /);
    const access = readFileSync(join(dist, 'ACCESS.md'), 'utf8');
    expect(access).toContain('| analytics | external | ClusterSecretStore aws-secrets-manager | platform/analytics-s3 | access-key | secret-key |');
    expect(access).toContain('generation 1, access key drawn in the cluster (its ID is in the rotation record rekey-analytics-status)');
  });

  it('a second rotation changes only its ExternalSecret, PushSecret, generation-named objects, checksum patch and report', async () => {
    const dir = withExternal();
    expect((await cli(dir, ['rotate', 'uploads', 'analytics'], NOW)).code).toBe(0);
    const before = snapshotTree(join(dir, 'dist'));
    const copy = join(dir, 'before');
    (await import('node:fs')).cpSync(join(dir, 'dist'), copy, { recursive: true });
    const r = await cli(dir, ['rotate', 'analytics'], NOW);
    expect(r.stdout).toContain("rotated analytics: generation 2, access key drawn in the cluster by the activate Job (replaces generation 1's key)\n");
    expect(diffTrees(copy, join(dir, 'dist'))).toEqual(['ACCESS.md', 'components/analytics/kustomization.yaml', 'rekey.k8s.yaml']);
    // inside rekey.k8s.yaml: the uploads objects are byte-identical
    const objects = (files: Map<string, string>) => files.get('rekey.k8s.yaml')!.split('\n---\n');
    const after = snapshotTree(join(dir, 'dist'));
    const uploads = (docs: string[]) => docs.filter((d) => d.includes('rekey.dev/credential: uploads') || d.includes('name: uploads-s3'));
    expect(uploads(objects(after))).toEqual(uploads(objects(before)));
    const changedKinds = objects(after)
      .filter((d) => !objects(before).includes(d))
      .map((d) => /\nkind: (\S+)/.exec('\n' + d)![1] + ' ' + /\n {2}name: (\S+)/.exec(d)![1]!.replace(/-[0-9a-f]{8}$/, ''))
      .sort();
    expect(changedKinds).toEqual([
      'ConfigMap rekey-analytics-g2-plan',
      'ExternalSecret analytics-s3',
      'Job rekey-analytics-g2-activate',
      'Job rekey-analytics-g2-deliver',
      'Job rekey-analytics-g2-retire',
      'PushSecret rekey-analytics-g2-push',
      'Role rekey-analytics-rotator',
    ]);
    expect(plan(join(dir, 'dist'), 2)).toMatchObject({ accessKeyId: null, previousAccessKeyId: null, generation: 2 });
  });

  it('rekey revoke names the key drawn in the cluster by its generation and renders revoke, deliver and the PushSecret', async () => {
    const dir = withExternal();
    expect((await cli(dir, ['rotate', 'analytics'], NOW)).code).toBe(0);
    const dry = await cli(dir, ['revoke', 'analytics'], NOW);
    expect(dry.code).toBe(1);
    expect(dry.stdout.split('\n')[0]).toBe(
      "rekey revoke analytics would draw a new key (generation 2), and after the merge activate it and revoke generation 1's key (drawn in the cluster: its ID is in the rotation record rekey-analytics-status) at once, with no overlap.",
    );
    const r = await cli(dir, ['revoke', 'analytics', '--yes'], NOW);
    expect(r.stdout.split('\n')[0]).toBe("revoke rendered for analytics: generation 2, access key drawn in the cluster by the revoke Job revokes generation 1's key at once");
    const docs = readManifests(join(dir, 'dist'));
    expect(docs.filter((d) => d.kind === 'Job').map((d) => d.metadata.labels['rekey.dev/step'])).toEqual(['revoke', 'deliver']);
    const revokeJob = docs.find((d) => d.kind === 'Job' && d.metadata.labels['rekey.dev/step'] === 'revoke');
    expect(JSON.stringify(revokeJob.spec.template.spec.volumes)).not.toContain('staging');
    expect(docs.filter((d) => d.kind === 'PushSecret').map((d) => d.metadata.name)).toEqual(['rekey-analytics-g2-push']);
  });

  it('a store that cannot accept writes is refused before anything is written', async () => {
    const dir = withExternal();
    writeFileSync(join(dir, 'rekey.yaml'), readFileSync(join(dir, 'rekey.yaml'), 'utf8').replace('name: aws-secrets-manager }', 'name: aws-secrets-manager, acceptsPush: false }'));
    const before = snapshotTree(dir);
    const r = await cli(dir, ['rotate', 'analytics'], NOW);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'rekey: error: rekey.yaml credentials[2].delivery.store.acceptsPush is false, but aws-iam keys are obtained in the cluster and pushed to ClusterSecretStore aws-secrets-manager by a PushSecret: got false. Use a store that accepts writes (Vault, AWS Secrets Manager, the Kubernetes provider, … with write access) and set acceptsPush: true.\n',
    });
    expect(snapshotTree(dir)).toEqual(before);
  });
});
