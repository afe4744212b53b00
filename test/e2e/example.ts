/**
 * The repository's own example (rekey.yaml + main.ts: ilum-platform, ingest, pipeline,
 * serving-reader) as a throw-away project for the end-to-end test: rekey.yaml rewritten so the
 * providers point at the test's servers, the ledger and dist/ removed (generation 1 is drawn by
 * `rekey rotate` like in a new project, so no key ID is fixed: safe against a shared radosgw),
 * and the workloads that Helm renders elsewhere (Airflow, Trino) built with `kubectl kustomize`
 * from minimal bases plus the Kustomize Components rekey writes under dist/components/.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { kustomizeBuild, parseManifests } from '../support/validate.js';
import { workload, type Manifest } from './harness.js';
import type { E2EProvider } from './providers.js';

export const EXAMPLE_CREDENTIALS = ['ilum-platform', 'ingest', 'pipeline', 'serving-reader'] as const;
export type ExampleCredential = (typeof EXAMPLE_CREDENTIALS)[number];
export const EXAMPLE_NAMESPACES = ['default', 'storage', 'ilum', 'airflow', 'trino'] as const;

/** Each credential's target Secret (one each in the example). */
export const TARGET_OF: Record<ExampleCredential, { namespace: string; name: string }> = {
  'ilum-platform': { namespace: 'ilum', name: 'ilum-s3' },
  ingest: { namespace: 'airflow', name: 'ingest-s3' },
  pipeline: { namespace: 'ilum', name: 'pipeline-s3' },
  'serving-reader': { namespace: 'trino', name: 'trino-s3' },
};

/** The workloads whose pods read each credential (the CronJob of pipeline schedules no pod here: the fake stores CronJobs only). */
export const CONSUMERS_OF: Record<ExampleCredential, { kind: 'Deployment' | 'StatefulSet'; namespace: string; name: string }[]> = {
  'ilum-platform': [
    { kind: 'Deployment', namespace: 'ilum', name: 'ilum-core' },
    { kind: 'Deployment', namespace: 'ilum', name: 'ilum-jupyter' },
    { kind: 'Deployment', namespace: 'ilum', name: 'ilum-history-server' },
    { kind: 'StatefulSet', namespace: 'ilum', name: 'ilum-hive-metastore' },
  ],
  ingest: [
    { kind: 'Deployment', namespace: 'airflow', name: 'airflow-worker' },
    { kind: 'Deployment', namespace: 'airflow', name: 'airflow-scheduler' },
  ],
  pipeline: [],
  'serving-reader': [
    { kind: 'Deployment', namespace: 'trino', name: 'trino-coordinator' },
    { kind: 'Deployment', namespace: 'trino', name: 'trino-worker' },
    { kind: 'StatefulSet', namespace: 'trino', name: 'trino-cache' },
  ],
};

/** Where each credential's provider is: the example's `rustfs` entry, or a second provider it is switched to. */
export interface ExampleProviders {
  /** Serves the example's `rustfs` provider entry. */
  readonly rustfs: E2EProvider;
  /** Moves one credential to another provider (e.g. ceph-rgw), declared as a new provider entry. */
  readonly switched?: { readonly credential: ExampleCredential; readonly provider: E2EProvider; readonly name: string; readonly adminSecret: string };
  /**
   * Every credential's rotationPolicy.overlapSeconds (the example's 600 and 900 s cost minutes of
   * real time on a loaded machine, where the fake clock runs only a few times faster than real time).
   */
  readonly overlapSeconds?: number;
}

const ROOT = process.cwd();

/** Copies the example into a temp folder, points its providers at the test's servers; returns the folder. */
export function copyExample(p: ExampleProviders): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-e2e-example-'));
  // package.json: its "type": "module" decides how main.ts is compiled and run
  for (const f of ['main.ts', 'cdk8s.yaml', 'sealed-secrets.pem', 'tsconfig.json', 'package.json']) cpSync(join(ROOT, f), join(dir, f));
  // main.ts imports ./lib/index.js and runs under `npx tsx` (found in node_modules/.bin, never downloaded)
  for (const d of ['lib', 'imports', 'node_modules']) symlinkSync(join(ROOT, d), join(dir, d));
  const spec = parseYaml(readFileSync(join(ROOT, 'rekey.yaml'), 'utf8')) as {
    rotator: Record<string, unknown>;
    providers: Record<string, unknown>[];
    credentials: (Record<string, unknown> & { name: string; identity: Record<string, unknown> })[];
  };
  // generous: real processes run while the fake clock ticks (about 50 fake s per real s)
  spec.rotator.jobGraceSeconds = 3600;
  spec.rotator.deadlines = { activateSeconds: 3600, deliverSeconds: 3600, retireSeconds: 7200, verifySeconds: 600 };
  const rustfs = spec.providers.find((x) => x.name === 'rustfs')!;
  rustfs.endpoint = p.rustfs.endpoint;
  Object.assign(rustfs, p.rustfs.specFields);
  for (const c of spec.credentials) {
    if (p.overlapSeconds !== undefined) c.rotationPolicy = { ...(c.rotationPolicy as Record<string, unknown>), overlapSeconds: p.overlapSeconds };
    if (p.switched?.credential === c.name) {
      c.provider = p.switched.name;
      c.identity = p.switched.provider.identity(c.name, c.identity);
    } else {
      c.identity = p.rustfs.identity(c.name, c.identity);
    }
  }
  if (p.switched) {
    // rekey renders the provider pods' NetworkPolicy in its namespace (the test's radosgw runs outside the fake cluster)
    spec.providers.push({ name: p.switched.name, kind: p.switched.provider.kind, endpoint: p.switched.provider.endpoint, ...p.switched.provider.specFields, namespace: 'storage', podSelector: { 'app.kubernetes.io/name': p.switched.name }, adminCredential: { secretName: p.switched.adminSecret } });
  }
  writeFileSync(join(dir, 'rekey.yaml'), stringify(spec));
  return dir;
}

/** The minimal Helm-rendered workloads (Airflow, Trino) before rekey's Component patches them. */
function helmBases(): Record<'airflow' | 'trino', Manifest[]> {
  const envFrom = (secret: string) => ({ envFrom: [{ secretRef: { name: secret } }] });
  const env = (secret: string, keys: string[]) => ({ env: keys.map((k) => ({ name: k, valueFrom: { secretKeyRef: { name: secret, key: k } } })) });
  const helm = (kind: 'Deployment' | 'StatefulSet', ns: string, name: string, replicas: number, container: Record<string, unknown>): Manifest =>
    workload(kind, ns, name, replicas, { name: 'main', image: `${name}:1`, ...container }, { labels: { 'app.kubernetes.io/managed-by': 'Helm' } });
  return {
    airflow: [helm('Deployment', 'airflow', 'airflow-worker', 2, envFrom('ingest-s3')), helm('Deployment', 'airflow', 'airflow-scheduler', 1, env('ingest-s3', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']))],
    trino: [
      helm('Deployment', 'trino', 'trino-coordinator', 1, envFrom('trino-s3')),
      helm('Deployment', 'trino', 'trino-worker', 2, envFrom('trino-s3')),
      helm('StatefulSet', 'trino', 'trino-cache', 3, env('trino-s3', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])),
    ],
  };
}

/**
 * The Airflow and Trino apps as their own GitOps apps would render them: a kustomization per
 * namespace (in the project folder, as a user keeps it) with the Helm output as resources and
 * rekey's Component, built by `kubectl kustomize`.
 */
export function helmConsumers(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const [ns, objs] of Object.entries(helmBases())) {
    // a project whose credentials for this app have no generation yet renders no Component for it
    if (!existsSync(join(dir, 'dist', 'components', ns))) continue;
    const app = join(dir, 'apps', ns);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'helm-output.yaml'), objs.map((o) => stringify(o)).join('---\n'));
    writeFileSync(join(app, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['helm-output.yaml'], components: [`../../dist/components/${ns}`] }));
    out.push(...(parseManifests(kustomizeBuild(app)) as Manifest[]));
  }
  return out;
}
