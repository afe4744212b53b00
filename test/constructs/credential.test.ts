import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import {
  AliasSet,
  Credential,
  Delivery,
  Ledger,
  Provider,
  RekeyChart,
  RotationPolicy,
  SealingCertificate,
  SecretValue,
  Workload,
  checksumAnnotation,
  consumerChecksum,
  seal,
  type LedgerEntry,
} from '../../lib/index.js';
import { kustomizeBuild, parseManifests, validateManifests } from '../support/validate.js';
import { API_SERVER, FAKE_BUNDLE } from './fixtures.js';

const CERT = SealingCertificate.fromPem(readFileSync('test/fixtures/sealed-secrets/cert4096.pem', 'utf8'), 'cert4096.pem');
const FINGERPRINT = CERT.fingerprint;
/** A fixed byte source, so the sealed values (and snapshots) are stable. */
const fixedRandom = () => {
  let i = 0;
  return (n: number) => Buffer.from(Array.from({ length: n }, () => i++ % 256));
};

/** A ledger entry as `rekey rotate` writes it, for the given targets. */
function entry(name: string, targets: Array<[string, string]>, opts: { scope?: 'strict' | 'namespace-wide' | 'cluster-wide'; generation?: number; file?: boolean } = {}): LedgerEntry {
  const random = fixedRandom();
  const scope = opts.scope ?? 'strict';
  const gen = opts.generation ?? 3;
  const sealFor = (ns: string, n: string, s: typeof scope, file: boolean) => ({
    namespace: ns,
    secretName: n,
    scope: s,
    sealed: {
      accessKeyId: seal(SecretValue.fromString('AKFAKEFAKEFAKEFAKE01'), { certificate: CERT, namespace: ns, name: n, scope: s, random }),
      secretAccessKey: seal(SecretValue.fromString('fake-secret-fake-secret-fake-secret-0001'), { certificate: CERT, namespace: ns, name: n, scope: s, random }),
      ...(file ? { credentialsFile: seal(SecretValue.fromString('[default]\n'), { certificate: CERT, namespace: ns, name: n, scope: s, random }) } : {}),
    },
  });
  return {
    generation: gen,
    provider: 'rustfs',
    delivery: 'sealed',
    accessKeyId: 'AKFAKEFAKEFAKEFAKE01',
    previousAccessKeyId: 'AKFAKEFAKEFAKEFAKE00',
    rotatedAt: '2026-11-01T10:00:00.000Z',
    certificateFingerprint: FINGERPRINT,
    ...(opts.file ? { credentialsFileProfile: 'default' } : {}),
    staging: sealFor('rekey-system', `rekey-${name}-g${gen}-staging`, 'strict', false),
    targets: targets.map(([ns, n]) => sealFor(ns, n, scope, !!opts.file)),
  };
}

function setup(ledger: Ledger, props: { warn?: (m: string) => void } = {}) {
  const app = Testing.app();
  const chart = new RekeyChart(app, 'rekey', { ledger, sealing: { fingerprint: FINGERPRINT }, warn: props.warn ?? (() => undefined), rotator: { apiServer: API_SERVER }, rotatorBundle: FAKE_BUNDLE });
  const provider = new Provider(chart, 'rustfs', {
    kind: 'rustfs',
    endpoint: 'http://rustfs.storage.svc:9000',
    namespace: 'storage',
    podSelector: { 'app.kubernetes.io/name': 'rustfs' },
    adminCredential: { secretName: 'rustfs-admin' },
  });
  return { app, chart, provider };
}

const uploadsProps = (provider: Provider) => ({
  provider,
  identity: { kind: 'serviceAccount' as const, name: 'uploads' },
  aliases: [AliasSet.generic(), AliasSet.minioRoot(), AliasSet.rustfs()],
  extraKeys: { endpoint: 'http://rustfs.storage.svc:9000', region: 'us-east-1' },
  delivery: Delivery.sealed(),
  targets: [{ namespace: 'web', secretName: 'uploads-s3' }],
});

const ledger1 = Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3']]));

describe('Credential rendering', () => {
  it('renders a sealed target with all six aliases holding identical ciphertexts, extra keys in the template', () => {
    // GIVEN
    const { chart, provider } = setup(ledger1);
    // WHEN
    new Credential(chart, 'uploads', uploadsProps(provider));
    const docs = Testing.synth(chart);
    // THEN
    const target = docs.find((d) => d.kind === 'SealedSecret' && d.metadata.name === 'uploads-s3')!;
    const e = ledger1.get('uploads')!.targets[0]!.sealed!;
    expect(target.spec.encryptedData).toEqual({
      'access-key': e.accessKeyId,
      'root-user': e.accessKeyId,
      RUSTFS_ACCESS_KEY: e.accessKeyId,
      'secret-key': e.secretAccessKey,
      'root-password': e.secretAccessKey,
      RUSTFS_SECRET_KEY: e.secretAccessKey,
    });
    expect(target.spec.template).toEqual({
      type: 'Opaque',
      metadata: {
        name: 'uploads-s3',
        namespace: 'web',
        labels: { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': 'uploads' },
        annotations: { 'rekey.dev/generation': '3', 'rekey.dev/access-key-id': 'AKFAKEFAKEFAKEFAKE01' },
      },
      data: { endpoint: 'http://rustfs.storage.svc:9000', region: 'us-east-1' },
    });
    expect(target.metadata.annotations).not.toHaveProperty(['sealedsecrets.bitnami.com/namespace-wide']);
    // the staging Secret and the plan are named after the generation
    expect(docs.map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`.replace(/-[0-9a-f]{8}$/, '-<hash>')).sort()).toEqual([
      'ConfigMap/rekey-system/rekey-rotator-bundle',
      'ConfigMap/rekey-system/rekey-uploads-g3-plan',
      'Job/rekey-system/rekey-uploads-g3-activate-<hash>',
      'Job/rekey-system/rekey-uploads-g3-deliver-<hash>',
      'Job/rekey-system/rekey-uploads-g3-retire-<hash>',
      'Namespace/undefined/rekey-system',
      'NetworkPolicy/rekey-system/rekey-rotator',
      'NetworkPolicy/storage/rekey-rustfs-ingress',
      'Role/rekey-system/rekey-uploads-rotator',
      'Role/web/rekey-uploads-rotator',
      'RoleBinding/rekey-system/rekey-uploads-rotator',
      'RoleBinding/web/rekey-uploads-rotator',
      'SealedSecret/rekey-system/rekey-uploads-g3-staging',
      'SealedSecret/web/uploads-s3',
      'ServiceAccount/rekey-system/rekey-uploads-rotator',
    ]);
    expect(validateManifests(docs)).toEqual([]);
    expect(docs).toMatchSnapshot();
  });

  it.each([
    ['namespace-wide', { 'sealedsecrets.bitnami.com/namespace-wide': 'true' }],
    ['cluster-wide', { 'sealedsecrets.bitnami.com/cluster-wide': 'true' }],
  ] as const)('carries the %s scope annotations on the SealedSecret and its template', (scope, annotations) => {
    const { chart, provider } = setup(Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3']], { scope })));
    new Credential(chart, 'uploads', { ...uploadsProps(provider), delivery: Delivery.sealed({ scope }) });
    const target = Testing.synth(chart).find((d) => d.metadata.name === 'uploads-s3')!;
    expect(target.metadata.annotations).toMatchObject(annotations);
    expect(target.spec.template.metadata.annotations).toMatchObject(annotations);
  });

  it('annotates every kind of consumer in this app, and none that reads files', () => {
    // GIVEN one consumer of each kind
    const { app, chart, provider } = setup(ledger1);
    const cred = new Credential(chart, 'uploads', uploadsProps(provider));
    const web = new Chart(app, 'web', { namespace: 'web' });
    const deploy = new kplus.Deployment(web, 'api', { containers: [{ image: 'api:1', portNumber: 8080 }] });
    const sts = new k8s.KubeStatefulSet(web, 'db', {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        updateStrategy: { type: 'OnDelete' },
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' }, annotations: { keep: 'me' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
      },
    });
    const ds = new k8s.KubeDaemonSet(web, 'agent', {
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { spec: { containers: [{ name: 'a', image: 'a:1' }] } } },
    });
    const job = new k8s.KubeJob(web, 'backfill', {
      metadata: { name: 'backfill' },
      spec: { template: { metadata: { labels: { app: 'backfill' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'b', image: 'b:1' }] } } },
    });
    const cron = new k8s.KubeCronJob(web, 'nightly', {
      metadata: { name: 'nightly' },
      spec: { schedule: '0 1 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'n', image: 'n:1' }] } } } } },
    });
    const rollout = new ApiObject(web, 'canary', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'canary' },
      spec: { selector: { matchLabels: { app: 'canary' } }, template: { metadata: { labels: { app: 'canary' } }, spec: { containers: [{ name: 'c', image: 'c:1' }] } } },
    });
    const reader = new k8s.KubeDeployment(web, 'reader', {
      metadata: { name: 'reader' },
      spec: { selector: { matchLabels: { app: 'reader' } }, template: { metadata: { labels: { app: 'reader' } }, spec: { containers: [{ name: 'r', image: 'r:1' }] } } },
    });
    // WHEN they are bound
    cred.consumedBy(deploy, { envFrom: { prefix: 'S3_' } });
    cred.consumedBy(sts, { env: { DB_USER: 'root-user', DB_PASSWORD: 'root-password' } });
    cred.consumedBy(ds, { env: { ACCESS_KEY: 'access-key' } });
    cred.consumedBy(job, { envFrom: {} });
    cred.consumedBy(cron, { env: ['RUSTFS_ACCESS_KEY', 'RUSTFS_SECRET_KEY'] });
    cred.consumedBy(rollout, { envFrom: {} });
    cred.consumedBy(reader, { file: { mountPath: '/etc/s3' } });
    // THEN each pod template carries the checksum
    const e = ledger1.get('uploads')!;
    const expected = consumerChecksum({
      credential: 'uploads',
      generation: 3,
      accessKeyId: e.accessKeyId,
      material: { ...e.targets[0]!.sealed!, target: 'web/uploads-s3' },
    });
    const key = checksumAnnotation('uploads');
    expect(key).toBe('rekey.dev/uploads-checksum');
    const docs = Testing.synth(web);
    const get = (kind: string) => docs.find((d) => d.kind === kind && d.metadata.name !== 'reader')!;
    expect(get('Deployment').spec.template.metadata.annotations[key]).toBe(expected);
    expect(get('StatefulSet').spec.template.metadata.annotations).toEqual({ keep: 'me', [key]: expected });
    expect(get('DaemonSet').spec.template.metadata.annotations[key]).toBe(expected);
    expect(get('Job').spec.template.metadata.annotations[key]).toBe(expected);
    expect(get('CronJob').spec.jobTemplate.spec.template.metadata.annotations[key]).toBe(expected);
    expect(get('Rollout').spec.template.metadata.annotations[key]).toBe(expected);
    expect(docs.find((d) => d.metadata.name === 'reader')!.spec.template.metadata.annotations).toBeUndefined();
    const bindings = cred.consumers;
    expect(bindings.find((b) => b.mode === 'file')!.checksum).toBeUndefined();
    // the OnDelete StatefulSet is flagged in the plan and the access report
    expect(bindings.find((b) => b.workload.kind === 'StatefulSet')!.workload.onDelete).toBe(true);
    const plan = JSON.parse(Testing.synth(chart).find((d) => d.kind === 'ConfigMap')!.data['plan.json']);
    expect(plan.consumers.filter((c: { replacePodsOnDelete: boolean }) => c.replacePodsOnDelete).map((c: { name: string }) => c.name)).toEqual(['db']);
    expect(chart.extraFiles().get('ACCESS.md')).toContain('| StatefulSet/db | web | uploads | uploads-s3 | env: root-user, root-password | **OnDelete StatefulSet: the retire Job deletes its stale pods, highest ordinal first, each replacement Ready before the next** |');
    expect(validateManifests(docs.filter((d) => d.kind !== 'Rollout'))).toEqual([]);
  });

  it('changes every checksum when the generation changes, and never hashes a plaintext', () => {
    const a = consumerChecksum({ credential: 'c', generation: 1, accessKeyId: 'A', material: { x: '1' } });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(consumerChecksum({ credential: 'c', generation: 2, accessKeyId: 'A', material: { x: '1' } })).not.toBe(a);
    expect(consumerChecksum({ credential: 'c', generation: 1, accessKeyId: 'B', material: { x: '1' } })).not.toBe(a);
    expect(consumerChecksum({ credential: 'c', generation: 1, accessKeyId: 'A', material: { x: '2' } })).not.toBe(a);
  });

  it('patches workloads rendered elsewhere through a Kustomize Component that kubectl kustomize builds', () => {
    // GIVEN consumers rendered by a Helm chart elsewhere
    const { chart, provider } = setup(Ledger.empty().with('uploads', entry('uploads', [['trino', 'uploads-s3']])));
    const cred = new Credential(chart, 'uploads', { ...uploadsProps(provider), targets: [{ namespace: 'trino', secretName: 'uploads-s3' }] });
    cred.consumedBy(Workload.fromName('Deployment', 'coordinator', { namespace: 'trino' }), { envFrom: {} });
    cred.consumedBy(Workload.fromName('StatefulSet', 'cache', { namespace: 'trino', updateStrategy: 'OnDelete' }), { env: ['access-key'] });
    cred.consumedBy(Workload.fromName('CronJob', 'vacuum', { namespace: 'trino', component: 'trino-jobs' }), { envFrom: {} });
    // WHEN the extra files are rendered and included by a sample base
    const files = chart.extraFiles();
    expect([...files.keys()]).toEqual(['components/trino/kustomization.yaml', 'components/trino-jobs/kustomization.yaml', 'ACCESS.md']);
    const root = mkdtempSync(join(tmpdir(), 'rekey-kust-'));
    try {
      for (const [rel, content] of files) {
        mkdirSync(join(root, 'dist', rel, '..'), { recursive: true });
        writeFileSync(join(root, 'dist', rel), content);
      }
      mkdirSync(join(root, 'base'));
      const pod = { spec: { containers: [{ name: 'c', image: 'trino:1' }] } };
      writeFileSync(
        join(root, 'base', 'workloads.yaml'),
        [
          { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'coordinator', namespace: 'trino' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' }, annotations: { existing: 'kept' } }, ...pod } } },
          { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'cache', namespace: 'trino' }, spec: { serviceName: 'cache', updateStrategy: { type: 'OnDelete' }, selector: { matchLabels: { a: 'c' } }, template: { metadata: { labels: { a: 'c' } }, ...pod } } },
          { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'vacuum', namespace: 'trino' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: pod.spec.containers } } } } } },
          { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'untouched', namespace: 'trino' }, spec: { selector: { matchLabels: { a: 'd' } }, template: { metadata: { labels: { a: 'd' } }, ...pod } } },
        ]
          .map((d) => stringify(d))
          .join('---\n'),
      );
      writeFileSync(
        join(root, 'base', 'kustomization.yaml'),
        stringify({ resources: ['workloads.yaml'], components: ['../dist/components/trino', '../dist/components/trino-jobs'] }),
      );
      const built = parseManifests(kustomizeBuild(join(root, 'base'))) as any[];
      // THEN each workload carries the checksum, existing annotations are kept, others untouched
      const sum = cred.consumers[0]!.checksum!;
      const by = (n: string) => built.find((d) => d.metadata.name === n)!;
      expect(by('coordinator').spec.template.metadata.annotations).toEqual({ existing: 'kept', 'rekey.dev/uploads-checksum': sum });
      expect(by('cache').spec.template.metadata.annotations).toEqual({ 'rekey.dev/uploads-checksum': sum });
      expect(by('vacuum').spec.jobTemplate.spec.template.metadata.annotations).toEqual({ 'rekey.dev/uploads-checksum': sum });
      expect(by('untouched').spec.template.metadata.annotations).toBeUndefined();
      expect(validateManifests(built)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('renders a plain Secret with a loud warning, base64 values and a credentials file', () => {
    const warnings: string[] = [];
    const plainEntry: LedgerEntry = {
      generation: 1,
      provider: 'rustfs',
      delivery: 'plain',
      accessKeyId: 'AKFAKEFAKEFAKEFAKE01',
      rotatedAt: '2026-11-01T10:00:00.000Z',
      credentialsFileProfile: 'default',
      staging: { namespace: 'rekey-system', secretName: 'rekey-local-g1-staging' },
      targets: [{ namespace: 'dev', secretName: 'local-s3' }],
      plainSecretAccessKey: SecretValue.fromString('fake-plain-secret-0000000000000000000001'),
    };
    const { chart, provider } = setup(Ledger.empty().with('local', plainEntry), { warn: (m) => warnings.push(m) });
    new Credential(chart, 'local', {
      provider,
      identity: { kind: 'serviceAccount', name: 'dev' },
      aliases: [AliasSet.aws(), AliasSet.awsCredentialsFile()],
      delivery: Delivery.plain({ acknowledgeInsecure: true }),
      targets: [{ namespace: 'dev', secretName: 'local-s3' }],
    });
    const docs = Testing.synth(chart);
    const s = docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'local-s3')!;
    const dec = (k: string) => Buffer.from(s.data[k], 'base64').toString();
    expect(dec('AWS_ACCESS_KEY_ID')).toBe('AKFAKEFAKEFAKEFAKE01');
    expect(dec('AWS_SECRET_ACCESS_KEY')).toBe('fake-plain-secret-0000000000000000000001');
    expect(dec('credentials')).toBe('[default]\naws_access_key_id = AKFAKEFAKEFAKEFAKE01\naws_secret_access_key = fake-plain-secret-0000000000000000000001\n');
    expect(warnings).toEqual([
      'rekey: WARNING: credential local uses PLAIN delivery: its secret is stored in clear in git (rekey.ledger.yaml and dist/). Use only for a local cluster.',
    ]);
    expect(validateManifests(docs)).toEqual([]);
  });

  it.each([
    [5, ['c0', 'c1', 'c2', 'c3', 'c4'], undefined],
    [6, ['c0', 'c1', 'c2', 'c3', 'c4'], 'rekey: 1 more credential has never been rotated: c5. Run `rekey rotate <credential>` for each.'],
    [
      12,
      ['c0', 'c1', 'c2', 'c3', 'c4'],
      'rekey: 7 more credentials have never been rotated: c5, c6, c7, c8, c9, … (`rekey status` lists them all). Run `rekey rotate <credential>` for each.',
    ],
  ])('GIVEN %i credentials never rotated WHEN rendered THEN one line each for the first five, one line for the rest', (n, own, rest) => {
    const warnings: string[] = [];
    const { chart, provider } = setup(Ledger.empty(), { warn: (m) => warnings.push(m) });
    for (let i = 0; i < n; i++) new Credential(chart, `c${i}`, { ...uploadsProps(provider), identity: { kind: 'serviceAccount' as const, name: `c${i}` }, targets: [{ namespace: 'web', secretName: `c${i}-s3` }] });
    Testing.synth(chart);
    chart.extraFiles(); // a second render warns nothing more
    expect(warnings).toEqual([...own.map((c) => `rekey: credential ${c} has never been rotated: nothing is rendered for it yet. Run \`rekey rotate ${c}\`.`), ...(rest ? [rest] : [])]);
  });

  it('renders nothing for a credential never rotated, and says so', () => {
    const warnings: string[] = [];
    const { chart, provider } = setup(Ledger.empty(), { warn: (m) => warnings.push(m) });
    const cred = new Credential(chart, 'uploads', uploadsProps(provider));
    cred.consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'web' }), { envFrom: {} });
    expect(Testing.synth(chart)).toEqual([]);
    expect(cred.consumers[0]!.checksum).toBeUndefined();
    expect(warnings).toEqual(['rekey: credential uploads has never been rotated: nothing is rendered for it yet. Run `rekey rotate uploads`.']);
    const report = chart.extraFiles().get('ACCESS.md')!;
    expect(report).toContain('| uploads | rustfs (rustfs) | serviceAccount uploads | - | sealed (strict) | manual, overlap 300s |');
    expect(report).toContain('### uploads\n\nnever rotated\n');
  });

  it('defaults: name from the id, Manual rotation with 300 s overlap, no extra keys, strict scope', () => {
    const { chart, provider } = setup(ledger1);
    const c = new Credential(chart, 'uploads', { provider, identity: { kind: 'user', name: 'u' }, aliases: [AliasSet.generic()], delivery: Delivery.sealed() });
    expect([c.name, c.rotationPolicy.mode, c.rotationPolicy.overlapSeconds, c.extraKeys, c.delivery.scope, c.targets]).toEqual(['uploads', 'Manual', 300, {}, 'strict', []]);
    expect(provider.region).toBe('us-east-1');
    expect(provider.port).toBe(9000);
    expect(provider.adminCredential).toEqual({ secretName: 'rustfs-admin', accessKeyKey: 'access-key', secretKeyKey: 'secret-key' });
    expect(chart.rotatorNamespace).toBe('rekey-system');
  });
});

describe('sealing certificate renewal', () => {
  const chartWith = (sealing: { fingerprint: string; previousFingerprints?: string[] }, warnings: string[]) => {
    const chart = new RekeyChart(Testing.app(), 'rekey', { ledger: ledger1, sealing, warn: (m) => warnings.push(m), rotator: { apiServer: API_SERVER }, rotatorBundle: FAKE_BUNDLE });
    new Credential(chart, 'uploads', uploadsProps(new Provider(chart, 'rustfs', { kind: 'external' })));
    return chart;
  };

  it('GIVEN an entry sealed for a trusted previous certificate WHEN synthesized THEN it renders as with the current one, with one notice, and the model lists the trusted fingerprints', () => {
    // GIVEN the same ledger, once with its certificate current and once with it trusted as previous
    const current: string[] = [];
    const renewed: string[] = [];
    const before = Testing.synth(chartWith({ fingerprint: FINGERPRINT }, current));
    const renewedChart = chartWith({ fingerprint: 'SHA256:' + 'B'.repeat(43), previousFingerprints: [FINGERPRINT] }, renewed);
    // WHEN
    const after = Testing.synth(renewedChart);
    // THEN the objects are identical and the notice names the credential
    expect(after).toEqual(before);
    expect(current).toEqual([]);
    expect(renewed).toEqual([
      `rekey: credential uploads is sealed for a previous certificate (sealing.previousFingerprints): still valid, it moves to the current certificate SHA256:${'B'.repeat(43)} at its next rotation (\`rekey status\` shows each credential's certificate).`,
    ]);
    expect(renewedChart.toModel()[0]!.sealing).toEqual({ certificate: null, fingerprint: 'SHA256:' + 'B'.repeat(43), previousFingerprints: [FINGERPRINT] });
  });

  it('GIVEN a trusted previous fingerprint no credential is sealed for WHEN synthesized THEN one line says to remove it', () => {
    const warnings: string[] = [];
    const other = 'SHA256:' + 'C'.repeat(43);
    Testing.synth(chartWith({ fingerprint: FINGERPRINT, previousFingerprints: [other] }, warnings));
    expect(warnings).toEqual([`rekey: sealing.previousFingerprints ${other} is used by no credential any more: remove it.`]);
  });

  it('GIVEN no previousFingerprints WHEN modelled THEN the list is empty (@default none)', () => {
    expect(chartWith({ fingerprint: FINGERPRINT }, []).toModel()[0]!.sealing!.previousFingerprints).toEqual([]);
  });
});

describe('construct validation', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['credential outside a RekeyChart', () => {
      const app = Testing.app();
      const { provider } = setup(ledger1);
      new Credential(new Chart(app, 'x'), 'uploads', uploadsProps(provider));
    }, 'x/uploads is not inside a RekeyChart: got Chart. Create credentials in a RekeyChart (it holds the ledger).'],
    ['duplicate credential', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'a', { ...uploadsProps(provider), ...{ name: 'uploads' } });
      new Credential(chart, 'b', { ...uploadsProps(provider), ...{ name: 'uploads' } });
    }, 'rekey/b name is a duplicate credential name: got "uploads". Give every credential a unique name.'],
    ['alias clash', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', { ...uploadsProps(provider), aliases: [AliasSet.generic(), AliasSet.custom('access-key', 'other')] });
    }, 'rekey/uploads aliases[1] key "access-key" clashes with alias set generic: got {"accessKey":"access-key","secretKey":"other"}. Give every alias and extra key a distinct Secret key name.'],
    ['extra key clashing with an alias', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', { ...uploadsProps(provider), extraKeys: { 'root-user': 'x' } });
    }, 'rekey/uploads extraKeys.root-user key "root-user" clashes with alias set minio-root: got "x". Give every alias and extra key a distinct Secret key name.'],
    ['bad credential name', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'Uploads', uploadsProps(provider));
    }, `rekey/Uploads name must be a lowercase DNS label: got "Uploads". Use lowercase letters, digits and '-', starting and ending with a letter or digit.`],
    ['root on minio', () => {
      const { chart } = setup(ledger1);
      const minio = new Provider(chart, 'minio', { kind: 'minio', endpoint: 'http://m:9000', namespace: 's', podSelector: { a: 'b' }, adminCredential: { secretName: 'x' } });
      new Credential(chart, 'uploads', { ...uploadsProps(minio), identity: { kind: 'root', name: 'root' } });
    }, 'rekey/uploads identity.kind root rotation is refused for minio: got "root". MinIO fixes its root user at first start; rotate a serviceAccount or user instead.'],
    ['sealed delivery without a certificate fingerprint', () => {
      const app = Testing.app();
      const chart = new RekeyChart(app, 'rekey', { warn: () => undefined });
      const p = new Provider(chart, 'p', { kind: 'external' });
      new Credential(chart, 'uploads', uploadsProps(p));
    }, 'rekey sealing is required: credential uploads uses sealed delivery: got nothing. Add sealing: {certificate: <kubeseal --fetch-cert file>, fingerprint: SHA256:...}.'],
    ['ledger sealed with another certificate', () => {
      const app = Testing.app();
      const chart = new RekeyChart(app, 'rekey', { ledger: ledger1, sealing: { fingerprint: 'SHA256:' + 'B'.repeat(43) }, warn: () => undefined, rotator: { apiServer: API_SERVER }, rotatorBundle: FAKE_BUNDLE });
      const p = new Provider(chart, 'rustfs', { kind: 'external' });
      new Credential(chart, 'uploads', uploadsProps(p));
      Testing.synth(chart);
    }, `rekey.ledger.yaml credentials.uploads.certificateFingerprint does not match the spec's sealing certificate SHA256:${'B'.repeat(43)} nor a trusted previous one (sealing.previousFingerprints: none): got "${FINGERPRINT}". Run \`rekey rotate uploads\` to rotate it under the new settings, or add ${FINGERPRINT} to sealing.previousFingerprints if the controller still holds that key.`],
    ['ledger sealed with a certificate the trusted list does not hold', () => {
      const app = Testing.app();
      const chart = new RekeyChart(app, 'rekey', { ledger: ledger1, sealing: { fingerprint: 'SHA256:' + 'B'.repeat(43), previousFingerprints: ['SHA256:' + 'C'.repeat(43)] }, warn: () => undefined, rotator: { apiServer: API_SERVER }, rotatorBundle: FAKE_BUNDLE });
      const p = new Provider(chart, 'rustfs', { kind: 'external' });
      new Credential(chart, 'uploads', uploadsProps(p));
      Testing.synth(chart);
    }, `rekey.ledger.yaml credentials.uploads.certificateFingerprint does not match the spec's sealing certificate SHA256:${'B'.repeat(43)} nor a trusted previous one (sealing.previousFingerprints: SHA256:${'C'.repeat(43)}): got "${FINGERPRINT}". Run \`rekey rotate uploads\` to rotate it under the new settings, or add ${FINGERPRINT} to sealing.previousFingerprints if the controller still holds that key.`],
    ['previous fingerprint that is the current one', () => {
      new RekeyChart(Testing.app(), 'rekey', { sealing: { fingerprint: FINGERPRINT, previousFingerprints: ['SHA256:' + 'C'.repeat(43), FINGERPRINT] } });
    }, `rekey sealing.previousFingerprints[1] is the current sealing fingerprint: got "${FINGERPRINT}". Remove it from previousFingerprints: values sealed with the current certificate are always valid.`],
    ['previous fingerprint listed twice', () => {
      new RekeyChart(Testing.app(), 'rekey', { sealing: { fingerprint: FINGERPRINT, previousFingerprints: ['SHA256:' + 'C'.repeat(43), 'SHA256:' + 'C'.repeat(43)] } });
    }, `rekey sealing.previousFingerprints[1] is listed twice: got "SHA256:${'C'.repeat(43)}". List every previous fingerprint once.`],
    ['previous fingerprint malformed', () => {
      new RekeyChart(Testing.app(), 'rekey', { sealing: { fingerprint: FINGERPRINT, previousFingerprints: ['sha256:abc'] } });
    }, 'rekey sealing.previousFingerprints[0] must be a SHA-256 fingerprint like SHA256:<43 base64 characters>: got "sha256:abc". Copy the fingerprint the ledger recorded (certificateFingerprint) for the earlier certificate.'],
    ['consumer bound twice', () => {
      const { chart, provider } = setup(ledger1);
      const c = new Credential(chart, 'uploads', uploadsProps(provider));
      c.consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'web' }), { envFrom: {} });
      c.consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'web' }), { envFrom: {} });
    }, 'rekey/uploads consumer Deployment web/api is a duplicate consumer Deployment/web/api: got {"envFrom":{}}. List every workload once.'],
    ['consumer in a namespace without target', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', uploadsProps(provider)).consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'api' }), { envFrom: {} });
      Testing.synth(chart);
    }, 'rekey/uploads consumer Deployment api/api namespace has no target of credential uploads: got "api". Add a target in namespace api: a Secret is only readable from its own namespace.'],
    ['consumer reading two ways', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', uploadsProps(provider)).consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'web' }), { envFrom: {}, env: ['access-key'] });
    }, 'rekey/uploads consumer Deployment web/api must read the Secret in exactly one way: got {"envFrom":{},"env":["access-key"]}. Give exactly one of env, envFrom or file.'],
    ['consumer env key missing', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', uploadsProps(provider)).consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'web' }), { env: ['AWS_ACCESS_KEY_ID'] });
    }, 'rekey/uploads consumer Deployment web/api env[0] names a key the Secret does not have: got "AWS_ACCESS_KEY_ID". Use one of access-key, secret-key, root-user, root-password, RUSTFS_ACCESS_KEY, RUSTFS_SECRET_KEY, endpoint, region.'],
    ['consumer file mount not absolute', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', uploadsProps(provider)).consumedBy(Workload.fromName('Deployment', 'api', { namespace: 'web' }), { file: { mountPath: 'etc/s3' } });
    }, 'rekey/uploads consumer Deployment web/api file.mountPath must be an absolute path: got "etc/s3". Start mountPath with /.'],
    ['consumer not a workload', () => {
      const { app, chart, provider } = setup(ledger1);
      const cm = new k8s.KubeConfigMap(new Chart(app, 'web', { namespace: 'web' }), 'cm', {});
      new Credential(chart, 'uploads', uploadsProps(provider)).consumedBy(cm, { envFrom: {} });
    }, 'Workload.of web/cm is not a workload kind rekey can restart: got "ConfigMap". Use one of Deployment, StatefulSet, DaemonSet, Job, CronJob, Rollout.'],
    ['consumer without a namespace', () => {
      const { app, chart, provider } = setup(ledger1);
      const d = new kplus.Deployment(new Chart(app, 'web'), 'api', { containers: [{ image: 'a' }] });
      new Credential(chart, 'uploads', uploadsProps(provider)).consumedBy(d, { envFrom: {} });
    }, 'Workload.of web/api has no namespace: got nothing. Set metadata.namespace on the workload or namespace on its chart.'],
    ['duplicate target', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', uploadsProps(provider)).addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    }, 'rekey/uploads targets[1] is a duplicate target web/uploads-s3: got {"namespace":"web","secretName":"uploads-s3"}. List every namespace/secretName once.'],
    ['target missing from the ledger', () => {
      const { chart, provider } = setup(ledger1);
      new Credential(chart, 'uploads', uploadsProps(provider)).addTarget({ namespace: 'api', secretName: 'uploads-s3' });
      Testing.synth(chart);
    }, 'rekey.ledger.yaml credentials.uploads.targets has no entry for target api/uploads-s3: got web/uploads-s3. Run `rekey rotate uploads` to seal key material for it.'],
    ['Delivery.plain without the opt-in', () => Delivery.plain({ acknowledgeInsecure: false }),
      'Delivery.plain acknowledgeInsecure must be true for plain delivery (the secret is stored in git in clear): got false. Set acknowledgeInsecure: true for a local cluster, or use kind: sealed.'],
    ['Delivery.sealed with an unknown scope', () => Delivery.sealed({ scope: 'global' as never }),
      'Delivery.sealed scope must be one of strict, namespace-wide, cluster-wide: got "global". Set scope to one of strict, namespace-wide, cluster-wide.'],
    ['RotationPolicy interval under 7 days', () => RotationPolicy.timeBased({ intervalDays: 3 }),
      'RotationPolicy.timeBased intervalDays must be a whole number of at least 7: got 3. Set intervalDays: 7 or more, or use RotationPolicy.manual().'],
    ['RotationPolicy negative overlap', () => RotationPolicy.manual({ overlapSeconds: -5 }),
      'RotationPolicy overlapSeconds must be a whole number of at least 0: got -5. Set overlapSeconds: 0 or more.'],
    ['AliasSet.custom with one name twice', () => AliasSet.custom('k', 'k'), 'AliasSet.custom secretKey clashes with accessKey: got "k". Give the two keys different names.'],
    ['AliasSet.custom with an invalid key', () => AliasSet.custom('a key', 'b'), `AliasSet.custom accessKey is not a valid Secret key name: got "a key". Use letters, digits, '-', '_' and '.'.`],
    ['AliasSet.preset unknown', () => AliasSet.preset('azure'), 'AliasSet.preset name is not a preset: got "azure". Use one of generic, minio-root, minio-env, rustfs, aws, aws-credentials-file.'],
    ['Workload.fromName updateStrategy on a Deployment', () => Workload.fromName('Deployment', 'a', { namespace: 'n', updateStrategy: 'OnDelete' }),
      'Workload.fromName Deployment a updateStrategy only applies to StatefulSets: got "OnDelete". Remove updateStrategy.'],
    ['Provider without endpoint', () => new Provider(Testing.chart(), 'p', { kind: 'rustfs', namespace: 's', podSelector: { a: 'b' }, adminCredential: { secretName: 'x' } }),
      'test/p endpoint is required for kind rustfs: got nothing. Give the endpoint URL.'],
    ['Provider with a bad endpoint', () => new Provider(Testing.chart(), 'p', { kind: 'rustfs', endpoint: 'ftp://x', namespace: 's', podSelector: { a: 'b' }, adminCredential: { secretName: 'x' } }),
      'test/p endpoint must be an http(s) URL: got "ftp://x". Give the S3/admin endpoint, e.g. http://rustfs.storage.svc:9000.'],
  ];
  it.each(cases)('%s', (_name, fn, message) => {
    expect(fn).toThrow(message);
    try {
      fn();
    } catch (e) {
      expect((e as Error).message).toBe(message);
    }
  });
});

afterAll(() => undefined);
