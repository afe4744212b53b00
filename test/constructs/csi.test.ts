/** Delivery.csi: the SecretProviderClass per target, the consumers' CSI volume, the plan's csi settings, and every refusal. */
import { describe, expect, it } from '@jest/globals';
import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { AliasSet, Credential, Delivery, Ledger, type LedgerEntry } from '../../lib/index.js';
import type { CsiDeliveryOptions } from '../../lib/constructs/deliveries/delivery.js';
import { parsePlanText } from '../../lib/core/plan.js';
import { validateManifests } from '../support/validate.js';
import { setup as chartWithProvider } from './fixtures.js';

const VAULT: CsiDeliveryOptions = {
  provider: 'vault',
  parameters: { roleName: 'uploads', vaultAddress: 'https://vault.vault.svc:8200' },
  store: { kind: 'ClusterSecretStore', name: 'vault' },
  remoteKey: 'rekey/uploads',
  objectPath: 'secret/data/rekey/uploads',
};
const AWS: CsiDeliveryOptions = {
  provider: 'aws',
  parameters: { region: 'eu-west-1', usePodIdentity: 'true' },
  store: { kind: 'SecretStore', name: 'aws-sm' },
  remoteKey: 'rekey/uploads',
  properties: { accessKeyId: 'access-key-id', secretAccessKey: 'secret_access_key' },
};

/** A ledger entry of a csi credential as `rekey rotate` writes it (references only: no key ID, no sealed value, no plaintext). */
function csiEntry(generation = 2, targets: Array<[string, string]> = [['web', 'uploads-s3']]): LedgerEntry {
  return {
    generation,
    provider: 'rustfs',
    delivery: 'csi',
    // a store-held pair is drawn in the cluster: no key ID, no key material in the ledger
    keySource: 'providerDrawn',
    accessKeyId: null,
    rotatedAt: '2026-11-01T10:00:00.000Z',
    staging: { namespace: 'rekey-system', secretName: `rekey-uploads-g${generation}-staging` },
    targets: targets.map(([namespace, secretName]) => ({ namespace, secretName })),
  };
}

function setup(options: { delivery?: CsiDeliveryOptions; generation?: number; aliases?: AliasSet[]; extraKeys?: Record<string, string> } = {}) {
  const { app, chart, provider } = chartWithProvider(Ledger.empty().with('uploads', csiEntry(options.generation)));
  const make = () =>
    new Credential(chart, 'uploads', {
      provider,
      identity: { kind: 'serviceAccount', name: 'uploads' },
      aliases: options.aliases ?? [AliasSet.generic(), AliasSet.aws()],
      ...(options.extraKeys ? { extraKeys: options.extraKeys } : {}),
      delivery: Delivery.csi(options.delivery ?? VAULT),
      targets: [{ namespace: 'web', secretName: 'uploads-s3' }],
    });
  const web = new Chart(app, 'web', { namespace: 'web' });
  const deployment = (name: string) =>
    new k8s.KubeDeployment(web, name, {
      metadata: { name },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } } },
    });
  return { app, chart, web, make, deployment };
}

type Doc = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };
const byKind = (docs: Doc[], kind: string, name?: string) => docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name))!;

describe('Delivery.csi renders', () => {
  it('GIVEN a vault csi credential with an env and a file consumer WHEN synthesized THEN a SecretProviderClass syncs every alias key, consumers mount its CSI volume, and everything validates', () => {
    const { chart, web, make, deployment } = setup();
    const cred = make();
    cred.consumedBy(deployment('api'), { env: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] });
    cred.consumedBy(deployment('reports'), { file: { mountPath: '/var/run/s3' } });
    const docs = [...Testing.synth(chart), ...Testing.synth(web)] as Doc[];

    // THEN one SecretProviderClass, same namespace and name as the target Secret, references only
    const spc = byKind(docs, 'SecretProviderClass');
    expect(spc).toEqual({
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: {
        name: 'uploads-s3',
        namespace: 'web',
        labels: { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': 'uploads' },
        annotations: { 'argocd.argoproj.io/sync-wave': '-2', 'rekey.dev/generation': '2' },
      },
      spec: {
        provider: 'vault',
        parameters: {
          objects: [
            '- objectName: access-key',
            '  secretPath: secret/data/rekey/uploads',
            '  secretKey: access-key',
            '- objectName: secret-key',
            '  secretPath: secret/data/rekey/uploads',
            '  secretKey: secret-key',
            '- objectName: AWS_ACCESS_KEY_ID',
            '  secretPath: secret/data/rekey/uploads',
            '  secretKey: access-key',
            '- objectName: AWS_SECRET_ACCESS_KEY',
            '  secretPath: secret/data/rekey/uploads',
            '  secretKey: secret-key',
            '',
          ].join('\n'),
          roleName: 'uploads',
          vaultAddress: 'https://vault.vault.svc:8200',
        },
        secretObjects: [
          {
            secretName: 'uploads-s3',
            type: 'Opaque',
            labels: { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': 'uploads' },
            data: [
              { objectName: 'access-key', key: 'access-key' },
              { objectName: 'secret-key', key: 'secret-key' },
              { objectName: 'AWS_ACCESS_KEY_ID', key: 'AWS_ACCESS_KEY_ID' },
              { objectName: 'AWS_SECRET_ACCESS_KEY', key: 'AWS_SECRET_ACCESS_KEY' },
            ],
          },
        ],
      },
    });
    // no Secret, SealedSecret or staging object of the csi delivery's own, nothing secret anywhere; the
    // store-held machinery pushes the pair the activate Job draws to the same store
    expect(docs.filter((d) => d.kind === 'Secret' || d.kind === 'SealedSecret')).toEqual([]);
    const push = byKind(docs, 'PushSecret');
    expect(push.spec.secretStoreRefs).toEqual([{ kind: 'ClusterSecretStore', name: 'vault' }]);
    expect(push.spec.data.map((d: { match: { remoteRef: unknown } }) => d.match.remoteRef)).toEqual([
      { remoteKey: 'rekey/uploads', property: 'access-key' },
      { remoteKey: 'rekey/uploads', property: 'secret-key' },
    ]);
    expect(JSON.stringify(docs)).not.toMatch(/fake-secret|plainSecret/);

    // THEN the env consumer reads the synced Secret, mounts the CSI volume (so the Secret exists) and gets a checksum
    const api = byKind(docs, 'Deployment', 'api').spec.template;
    const csiVolume = { name: 'rekey-csi-uploads-s3', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'uploads-s3' } } };
    expect(api.spec.volumes).toEqual([csiVolume]);
    expect(api.spec.containers[0].volumeMounts).toEqual([{ name: 'rekey-csi-uploads-s3', mountPath: '/mnt/secrets-store/uploads-s3', readOnly: true }]);
    expect(api.spec.containers[0].env).toEqual([
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'AWS_ACCESS_KEY_ID' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'AWS_SECRET_ACCESS_KEY' } } },
    ]);
    expect(api.metadata.annotations['rekey.dev/uploads-checksum']).toMatch(/^[0-9a-f]{16}$/);
    // THEN the file consumer mounts the CSI volume at its path and gets no checksum (the driver refreshes the files)
    const reports = byKind(docs, 'Deployment', 'reports').spec.template;
    expect(reports.spec.volumes).toEqual([csiVolume]);
    expect(reports.spec.containers[0].volumeMounts).toEqual([{ name: 'rekey-csi-uploads-s3', mountPath: '/var/run/s3', readOnly: true }]);
    expect(reports.metadata.annotations?.['rekey.dev/uploads-checksum']).toBeUndefined();

    expect(validateManifests(docs)).toEqual([]);
    expect(docs.filter((d) => ['SecretProviderClass', 'Deployment'].includes(d.kind))).toMatchSnapshot();
  });

  it('GIVEN the aws provider with custom property names WHEN synthesized THEN one Secrets Manager object with a jmesPath entry per alias key (quoted when not an identifier)', () => {
    const { chart, make } = setup({ delivery: AWS });
    make();
    const docs = Testing.synth(chart) as Doc[];
    const spc = byKind(docs, 'SecretProviderClass');
    expect(spc.spec.provider).toBe('aws');
    expect(spc.spec.parameters).toEqual({
      objects: [
        '- objectName: rekey/uploads',
        '  objectType: secretsmanager',
        '  objectAlias: rekey-pair.json',
        '  jmesPath:',
        `    - path: '"access-key-id"'`,
        '      objectAlias: access-key',
        '    - path: secret_access_key',
        '      objectAlias: secret-key',
        `    - path: '"access-key-id"'`,
        '      objectAlias: AWS_ACCESS_KEY_ID',
        '    - path: secret_access_key',
        '      objectAlias: AWS_SECRET_ACCESS_KEY',
        '',
      ].join('\n'),
      region: 'eu-west-1',
      usePodIdentity: 'true',
    });
    expect(validateManifests(docs)).toEqual([]);
    expect(spc).toMatchSnapshot();
  });

  it('GIVEN defaults WHEN the plan is rendered THEN each target carries csi {secretProviderClass, 120 s, rotation on} and the retire Job deadline adds the poll interval', () => {
    const { chart, make } = setup();
    make();
    const docs = Testing.synth(chart) as Doc[];
    const plan = parsePlanText(byKind(docs, 'ConfigMap', 'rekey-uploads-g2-plan').data!['plan.json']!, 'plan');
    expect(plan.targets).toEqual([{
      namespace: 'web',
      secretName: 'uploads-s3',
      delivery: 'csi',
      csi: { secretProviderClass: 'uploads-s3', rotationPollIntervalSeconds: 120, secretRotationEnabled: true },
      keys: [
        { name: 'access-key', holds: 'accessKeyId' },
        { name: 'secret-key', holds: 'secretAccessKey' },
        { name: 'AWS_ACCESS_KEY_ID', holds: 'accessKeyId' },
        { name: 'AWS_SECRET_ACCESS_KEY', holds: 'secretAccessKey' },
      ],
    }]);
    const retire = (d: Doc) => d.kind === 'Job' && d.metadata.name.includes('-retire-');
    const deadline = (chartDocs: Doc[]) => chartDocs.find(retire)!.spec.activeDeadlineSeconds as number;

    // WHEN the poll interval is 600 s THEN the retire Job's deadline grows by 480 s
    const other = setup({ delivery: { ...VAULT, rotationPollIntervalSeconds: 600 } });
    other.make();
    expect(deadline(Testing.synth(other.chart) as Doc[]) - deadline(docs)).toBe(480);
  });

  it('GIVEN a rotation WHEN the generation changes THEN the SecretProviderClass annotations and the env consumer checksum change, nothing else in the consumer', () => {
    const render = (generation: number) => {
      const { chart, web, make, deployment } = setup({ generation });
      make().consumedBy(deployment('api'), { envFrom: {} });
      return [...Testing.synth(chart), ...Testing.synth(web)] as Doc[];
    };
    const [a, b] = [render(2), render(3)];
    const sum = (docs: Doc[]) => byKind(docs, 'Deployment', 'api').spec.template.metadata.annotations['rekey.dev/uploads-checksum'];
    expect(sum(a)).not.toBe(sum(b));
    const strip = (d: Doc) => JSON.parse(JSON.stringify(d).replace(/"rekey\.dev\/uploads-checksum":"[0-9a-f]+"/, '"x":"x"'));
    expect(strip(byKind(a, 'Deployment', 'api'))).toEqual(strip(byKind(b, 'Deployment', 'api')));
    expect(byKind(a, 'SecretProviderClass').spec).toEqual(byKind(b, 'SecretProviderClass').spec);
    expect(byKind(b, 'SecretProviderClass').metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '-2', 'rekey.dev/generation': '3' });
  });

  it('GIVEN secretRotationEnabled false WHEN a file consumer is bound THEN it is restarted like an env consumer (checksum, and the plan says so)', () => {
    const { chart, web, make, deployment } = setup({ delivery: { ...VAULT, secretRotationEnabled: false } });
    make().consumedBy(deployment('reports'), { file: { mountPath: '/var/run/s3' } });
    const docs = [...Testing.synth(chart), ...Testing.synth(web)] as Doc[];
    const checksum = byKind(docs, 'Deployment', 'reports').spec.template.metadata.annotations['rekey.dev/uploads-checksum'];
    expect(checksum).toMatch(/^[0-9a-f]{16}$/);
    const plan = parsePlanText(byKind(docs, 'ConfigMap', 'rekey-uploads-g2-plan').data!['plan.json']!, 'plan');
    expect(plan.consumers.map((c) => [c.mode, c.checksum])).toEqual([['file', checksum]]);
    expect(plan.targets[0]!.csi).toEqual({ secretProviderClass: 'uploads-s3', rotationPollIntervalSeconds: 120, secretRotationEnabled: false });
  });

  it('GIVEN a workload that already mounts the SecretProviderClass WHEN bound as a file consumer THEN the mount is checked, not added twice; a different path is refused', () => {
    const { web, make } = setup();
    const cred = make();
    const mk = (name: string, path: string) =>
      new k8s.KubeDeployment(web, name, {
        metadata: { name },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              containers: [{ name: 'app', image: 'app:1', volumeMounts: [{ name: 'creds', mountPath: path, readOnly: true }] }],
              volumes: [{ name: 'creds', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'uploads-s3' } } }],
            },
          },
        },
      });
    cred.consumedBy(mk('good', '/var/run/s3'), { file: { mountPath: '/var/run/s3' } });
    cred.consumedBy(mk('bad', '/elsewhere'), { file: { mountPath: '/var/run/s3' } });
    expect(() => Testing.synth(web)).toThrow(
      'rekey/uploads consumer Deployment web/bad file.mountPath does not match the workload, which mounts SecretProviderClass uploads-s3 at /elsewhere: got "/var/run/s3". Give consumedBy the mount path the workload uses.',
    );
  });
});

describe('Delivery.csi refuses', () => {
  const csi = (o: Partial<CsiDeliveryOptions>) => () => Delivery.csi({ ...VAULT, ...o } as CsiDeliveryOptions);

  it('an unsupported provider', () => {
    expect(csi({ provider: 'azure' as never })).toThrow(
      'Delivery.csi provider must be one of vault, aws: got "azure". Set provider to one of vault, aws, or deliver through an ExternalSecret (kind: external) for another store.',
    );
  });

  it('vault without roleName', () => {
    expect(csi({ parameters: { vaultAddress: 'https://vault:8200' } })).toThrow(
      'Delivery.csi parameters.roleName is required for provider vault: got nothing. Set parameters.roleName to the Vault Kubernetes-auth role the consumer pods log in with.',
    );
  });

  it('parameters.objects (rekey writes it)', () => {
    expect(csi({ parameters: { roleName: 'r', objects: '- objectName: x' } })).toThrow(
      'Delivery.csi parameters.objects is written by rekey from the aliases: got "- objectName: x". Remove parameters.objects: rekey renders one object per alias key.',
    );
  });

  it('a store of another kind, a missing remote key, equal property names, a zero poll interval', () => {
    expect(csi({ store: { kind: 'Vault' as never, name: 'v' } })).toThrow(
      'Delivery.csi store.kind must be SecretStore or ClusterSecretStore: got "Vault". Name the External Secrets store the pair is pushed to: {kind: ClusterSecretStore, name: <store>}.',
    );
    expect(csi({ remoteKey: undefined as never })).toThrow('Delivery.csi remoteKey must be a store key: got nothing. Give the key holding the pair, e.g. rekey/uploads (letters, digits and _./:@+=-).');
    expect(csi({ properties: { accessKeyId: 'k', secretAccessKey: 'k' } })).toThrow('Delivery.csi properties.secretAccessKey must differ from properties.accessKeyId: got "k". Give the two halves different property names.');
    expect(csi({ rotationPollIntervalSeconds: 0 })).toThrow(
      "Delivery.csi rotationPollIntervalSeconds must be a whole number of seconds, at least 1: got 0. Set it to the driver's --rotation-poll-interval in seconds (default 120).",
    );
  });

  it('static extraKeys (they cannot come from mounted objects)', () => {
    const { make } = setup({ extraKeys: { endpoint: 'http://rustfs.storage.svc:9000' } });
    expect(make).toThrow(
      'rekey/uploads extraKeys cannot be delivered by csi (the driver syncs only objects mounted from the store into the Secret): got {"endpoint":"http://rustfs.storage.svc:9000"}. Remove extraKeys and give the workloads these values another way (a ConfigMap), or use delivery sealed or external.',
    );
  });

  it('the aws-credentials-file alias (no CSI provider renders an INI file)', () => {
    const { make } = setup({ aliases: [AliasSet.generic(), AliasSet.awsCredentialsFile()] });
    expect(make).toThrow(
      'rekey/uploads aliases[1] cannot be delivered by csi (CSI providers mount store values as they are; none renders an AWS credentials INI file): got "aws-credentials-file". Use the aws alias set (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or delivery external.',
    );
  });

  it('env and envFrom consumers when secretRotationEnabled is false', () => {
    const { make, deployment } = setup({ delivery: { ...VAULT, secretRotationEnabled: false } });
    const cred = make();
    expect(() => cred.consumedBy(deployment('api'), { env: ['access-key'] })).toThrow(
      'rekey/uploads consumer Deployment web/api env cannot read a csi credential whose delivery says secretRotationEnabled: false (the synced Secret then flips between old and new pairs until every old pod is gone): got ["access-key"]. Run the driver with --enable-secret-rotation=true and set secretRotationEnabled: true, or read the credential as a file.',
    );
    expect(() => cred.consumedBy(deployment('batch'), { envFrom: { prefix: 'S3_' } })).toThrow(
      'rekey/uploads consumer Deployment web/batch envFrom cannot read a csi credential whose delivery says secretRotationEnabled: false (the synced Secret then flips between old and new pairs until every old pod is gone): got {"prefix":"S3_"}. Run the driver with --enable-secret-rotation=true and set secretRotationEnabled: true, or read the credential as a file.',
    );
  });
});
