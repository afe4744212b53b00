import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { diffTrees, synthesize } from '../lib/project/synth.js';
import { readManifests, snapshotTree } from './support/project.js';
import { kustomizeBuild, parseManifests, validateManifests } from './support/validate.js';

/**
 * The committed example: main.ts + rekey.yaml + rekey.ledger.yaml → dist/, rendered through
 * the real cdk8s app command in cdk8s.yaml (npx tsx main.ts), exactly as `npm run synth` does.
 */
/** The bundle bytes, its SHA-256 and the pod-template hashes that follow from it, as placeholders. */
export function withoutBundle(text: string): string {
  return text
    .replace(/(rotator\.mjs\.gz: )\S+/g, '$1<gzip base64>')
    .replace(/[0-9a-f]{64}/g, '<sha256>')
    .replace(/(rekey\.dev\/rotator-bytes: )[^\n]+/g, '$1<sizes>')
    .replace(/(-(?:activate|deliver|retire|revoke)(?:-a\d+)?-)[0-9a-f]{8}\b/g, '$1<hash>');
}

let work: string;
let rendered: string;
let warnings: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rekey-example-'));
  rendered = join(work, 'dist');
  warnings = [];
  await synthesize({ dir: process.cwd(), outdir: rendered, warn: (l) => warnings.push(l) });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the example', () => {
  it('committed dist/ is up to date (run `npm run synth` and commit when this fails)', () => {
    expect(diffTrees(rendered, 'dist')).toEqual([]);
  });

  it('renders byte-identical output twice', async () => {
    const again = join(work, 'again');
    await synthesize({ dir: process.cwd(), outdir: again, warn: () => undefined });
    expect(snapshotTree(again)).toEqual(snapshotTree(rendered));
  }, 120_000);

  it('every rendered object validates against its schema', () => {
    const docs = readManifests(rendered);
    expect(docs.length).toBeGreaterThan(15);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('holds no plaintext: every Secret is sealed and no warning was printed', () => {
    const docs = readManifests(rendered);
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    expect(docs.filter((d) => d.kind === 'SealedSecret').map((d) => `${d.metadata.namespace}/${d.metadata.name}`).sort()).toEqual([
      'airflow/ingest-s3',
      'ilum/ilum-s3',
      'ilum/pipeline-s3',
      'rekey-system/rekey-ilum-platform-g1-staging',
      'rekey-system/rekey-ingest-g1-staging',
      'rekey-system/rekey-pipeline-g1-staging',
      'rekey-system/rekey-serving-reader-g1-staging',
      'trino/trino-s3',
    ]);
    expect(warnings).toEqual([]);
  });

  it('exposes six aliases of one pair in the Ilum Secret and annotates the Ilum workloads', () => {
    const docs = readManifests(rendered);
    const ilum = docs.find((d) => d.kind === 'SealedSecret' && d.metadata.name === 'ilum-s3')!;
    const data = ilum.spec.encryptedData;
    expect(Object.keys(data).sort()).toEqual(['RUSTFS_ACCESS_KEY', 'RUSTFS_SECRET_KEY', 'access-key', 'root-password', 'root-user', 'secret-key']);
    expect(new Set([data['access-key'], data['root-user'], data.RUSTFS_ACCESS_KEY]).size).toBe(1);
    expect(new Set([data['secret-key'], data['root-password'], data.RUSTFS_SECRET_KEY]).size).toBe(1);
    const annotated = docs
      .filter((d) => d.spec?.template?.metadata?.annotations?.['rekey.dev/ilum-platform-checksum'])
      .map((d) => `${d.kind}/${d.metadata.name}`)
      .sort();
    expect(annotated).toEqual(['Deployment/ilum-core', 'Deployment/ilum-history-server', 'Deployment/ilum-jupyter', 'StatefulSet/ilum-hive-metastore']);
    const cron = docs.find((d) => d.kind === 'CronJob')!;
    expect(cron.spec.jobTemplate.spec.template.metadata?.annotations).toBeUndefined(); // reads a mounted file: no restart
    const access = readFileSync(join(rendered, 'ACCESS.md'), 'utf8');
    expect(access).toContain('- ilum/ilum-hive-metastore (ilum-platform)');
  });

  it('each rendered chart matches its snapshot (the rotator bundle, whose code changes with lib/rotator, as placeholders)', () => {
    for (const f of ['rekey.k8s.yaml', 'ilum.k8s.yaml', 'components/airflow/kustomization.yaml', 'components/trino/kustomization.yaml', 'ACCESS.md', 'argocd/application.yaml']) {
      expect(withoutBundle(readFileSync(join(rendered, f), 'utf8'))).toMatchSnapshot(f);
    }
  });

  it('meets Pod Security "restricted" in every rotation Job; the example\'s own workloads are reported', () => {
    const docs = readManifests(rendered);
    const podOf = (d: any) => (d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.spec : d.spec?.template?.spec);
    const withPods = docs.filter((d) => podOf(d));
    const jobs = withPods.filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'rotator');
    expect(jobs).toHaveLength(8);
    for (const j of jobs) expect(restrictedViolations(podOf(j))).toEqual([]);
    // user workloads are the user's: rekey only reports them (ACCESS.md does not judge them)
    const report = withPods.filter((d) => !jobs.includes(d)).map((d) => `${d.kind}/${d.metadata.name}: ${restrictedViolations(podOf(d)).join(', ') || 'ok'}`);
    expect(report).toEqual([
      'Deployment/ilum-core: capabilities.drop ALL, seccompProfile, resources',
      'Deployment/ilum-jupyter: capabilities.drop ALL, seccompProfile, resources',
      'Deployment/ilum-history-server: capabilities.drop ALL, seccompProfile, resources',
      'StatefulSet/ilum-hive-metastore: readOnlyRootFilesystem, resources',
      'CronJob/nightly-compaction: readOnlyRootFilesystem, resources',
    ]);
  });

  it('the Kustomize Components build against sample Helm-rendered bases', () => {
    const base = join(work, 'base');
    mkdirSync(base);
    const deploy = (name: string, ns: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${name}:1` }] } } },
    });
    const sts = { ...deploy('trino-cache', 'trino'), kind: 'StatefulSet' };
    (sts.spec as Record<string, unknown>).serviceName = 'trino-cache';
    (sts.spec as Record<string, unknown>).updateStrategy = { type: 'OnDelete' };
    const objs = [deploy('airflow-worker', 'airflow'), deploy('airflow-scheduler', 'airflow'), deploy('trino-coordinator', 'trino'), deploy('trino-worker', 'trino'), sts];
    writeFileSync(join(base, 'all.yaml'), objs.map((o) => stringify(o)).join('---\n'));
    writeFileSync(join(base, 'kustomization.yaml'), stringify({ resources: ['all.yaml'], components: ['../dist/components/airflow', '../dist/components/trino'] }));
    const built = parseManifests(kustomizeBuild(base)) as any[];
    for (const o of built) {
      const key = o.metadata.namespace === 'airflow' ? 'rekey.dev/ingest-checksum' : 'rekey.dev/serving-reader-checksum';
      expect(o.spec.template.metadata.annotations[key]).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(validateManifests(built)).toEqual([]);
  });
});

/** What keeps a pod spec from Pod Security "restricted" (plus rekey's own bar: read-only root, requests and limits). */
function restrictedViolations(pod: any): string[] {
  const out = new Set<string>();
  const psc = pod.securityContext ?? {};
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true || (sc.runAsUser ?? psc.runAsUser) === 0) out.add('runAsNonRoot');
    if (sc.allowPrivilegeEscalation !== false) out.add('allowPrivilegeEscalation');
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.add('capabilities.drop ALL');
    if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== 'RuntimeDefault') out.add('seccompProfile');
    if (sc.readOnlyRootFilesystem !== true) out.add('readOnlyRootFilesystem');
    const r = c.resources ?? {};
    if (!r.requests?.cpu || !r.requests?.memory || !r.limits?.cpu || !r.limits?.memory) out.add('resources');
  }
  return [...out];
}
