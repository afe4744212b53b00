import { describe, expect, it } from '@jest/globals';
import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { AliasSet, Credential, Delivery, Ledger, Provider, Workload, type LedgerEntry } from '../../../lib/index.js';
import { parsePlanText } from '../../../lib/core/plan.js';
import { literalTemplate, templateData } from '../../../lib/constructs/deliveries/external.js';
import { validateManifests } from '../../support/validate.js';
import { setup } from '../fixtures.js';

const STORE = { kind: 'ClusterSecretStore' as const, name: 'aws-secrets-manager' };

/** A ledger entry as `rekey rotate` writes it for a store-held delivery: no key material, no key ID. */
function drawnEntry(generation: number, previousAccessKeyId?: string): LedgerEntry {
  return {
    generation,
    provider: 'aws',
    delivery: 'external',
    keySource: 'providerDrawn',
    accessKeyId: null,
    ...(previousAccessKeyId ? { previousAccessKeyId } : {}),
    rotatedAt: '2026-11-01T10:00:00.000Z',
    credentialsFileProfile: 'default',
    staging: { namespace: 'rekey-system', secretName: `rekey-reports-g${generation}-staging` },
    targets: [
      { namespace: 'reports', secretName: 'reports-s3' },
      { namespace: 'batch', secretName: 'reports-s3' },
    ],
  };
}

/** An aws-iam credential with external delivery, a Deployment of this app and a CronJob rendered elsewhere. */
function rendered(entry: LedgerEntry | undefined, delivery = Delivery.external({ store: STORE, remoteKey: 'platform/reports-s3' })) {
  const ledger = entry ? Ledger.empty().with('reports', entry) : Ledger.empty();
  const { app, chart } = setup(ledger, {}, {});
  const aws = new Provider(chart, 'aws', { kind: 'aws-iam', region: 'eu-west-1', adminCredential: { secretName: 'aws-iam-rotator' } });
  const web = new Chart(app, 'web', { namespace: 'reports' });
  const deploy = new k8s.KubeDeployment(web, 'writer', {
    metadata: { name: 'writer' },
    spec: { selector: { matchLabels: { app: 'writer' } }, template: { metadata: { labels: { app: 'writer' } }, spec: { containers: [{ name: 'writer', image: 'writer:1' }] } } },
  });
  const c = new Credential(chart, 'reports', {
    provider: aws,
    identity: { kind: 'user', name: 'reports-writer' },
    aliases: [AliasSet.aws(), AliasSet.awsCredentialsFile()],
    extraKeys: { AWS_REGION: 'eu-west-1', 'note.txt': 'literal {{ not a template }}' },
    delivery,
    targets: [
      { namespace: 'reports', secretName: 'reports-s3' },
      { namespace: 'batch', secretName: 'reports-s3' },
    ],
  });
  c.consumedBy(deploy, { envFrom: {} });
  c.consumedBy(Workload.fromName('CronJob', 'nightly', { namespace: 'batch' }), { env: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] });
  return { docs: Testing.synth(chart), webDocs: Testing.synth(web), credential: c, chart };
}

const find = (docs: any[], kind: string, name?: string, namespace?: string) =>
  docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name) && (namespace === undefined || d.metadata.namespace === namespace));

describe('Delivery.external', () => {
  it('defaults the properties to the staging Secret key names and keeps the store reference', () => {
    const d = Delivery.external({ store: STORE, remoteKey: 'platform/reports-s3' });
    expect(d.kind).toBe('external');
    expect(d.remote).toEqual({ store: STORE, remoteKey: 'platform/reports-s3', properties: { accessKeyId: 'access-key', secretAccessKey: 'secret-key' } });
    const e = Delivery.external({ store: { kind: 'SecretStore', name: 'vault', acceptsPush: false }, remoteKey: 'kv/s3', properties: { accessKeyId: 'id', secretAccessKey: 'secret' } });
    expect(e.remote).toEqual({ store: { kind: 'SecretStore', name: 'vault', acceptsPush: false }, remoteKey: 'kv/s3', properties: { accessKeyId: 'id', secretAccessKey: 'secret' } });
  });

  it.each([
    ['a missing store reference', { remoteKey: 'k' }, 'Delivery.external store is required: got nothing. Give store: {kind: SecretStore or ClusterSecretStore, name: <an existing store>}.'],
    ['a store kind', { store: { kind: 'Vault', name: 'v' }, remoteKey: 'k' }, 'Delivery.external store.kind must be SecretStore or ClusterSecretStore: got "Vault". Set store.kind to SecretStore or ClusterSecretStore.'],
    ['a store name', { store: { kind: 'SecretStore', name: 'My_Store' }, remoteKey: 'k' }, `Delivery.external store.name must be a lowercase DNS subdomain (the store's name): got "My_Store". Use lowercase letters, digits, '-' and '.'.`],
    ['acceptsPush', { store: { kind: 'SecretStore', name: 's', acceptsPush: 'no' }, remoteKey: 'k' }, 'Delivery.external store.acceptsPush must be true or false: got "no". Set acceptsPush: true or false.'],
    ['an empty remote key', { store: STORE, remoteKey: ' ' }, 'Delivery.external remoteKey must be a non-empty key without whitespace: got " ". Give the key in the store that holds the pair, e.g. storage/ingest.'],
    [
      'a remote key without a property',
      { store: STORE, remoteKey: 'k', properties: { accessKeyId: 'id' } },
      'Delivery.external properties.secretAccessKey must name the property of the remote key that holds this half: got nothing. Give properties: {accessKeyId: <property>, secretAccessKey: <property>}, or omit properties for access-key / secret-key.',
    ],
    ['one property for both halves', { store: STORE, remoteKey: 'k', properties: { accessKeyId: 'p', secretAccessKey: 'p' } }, 'Delivery.external properties.secretAccessKey must differ from properties.accessKeyId: got "p". Give each half its own property.'],
    ['a templated key name', { store: STORE, remoteKey: 'k', templateData: { 'a b': 'x' } }, `Delivery.external templateData["a b"] is not a valid Secret key name: got "a b". Use letters, digits, '-', '_' and '.'.`],
  ])('refuses %s with one exact line', (_n, options, message) => {
    expect(() => Delivery.external(options as never)).toThrow(message);
  });
});

describe('the ExternalSecret template', () => {
  it('produces every alias key (the credentials file through the template engine) and the extra keys, literally', () => {
    expect(templateData([AliasSet.aws(), AliasSet.awsCredentialsFile({ profile: 'ops' }), AliasSet.generic()], { endpoint: 'https://s3.example.com' }, { url: 's3://{{ .rekeyAccessKeyId }}@b' })).toEqual({
      AWS_ACCESS_KEY_ID: '{{ .rekeyAccessKeyId }}',
      AWS_SECRET_ACCESS_KEY: '{{ .rekeySecretAccessKey }}',
      'access-key': '{{ .rekeyAccessKeyId }}',
      credentials: '[ops]\naws_access_key_id = {{ .rekeyAccessKeyId }}\naws_secret_access_key = {{ .rekeySecretAccessKey }}\n',
      endpoint: 'https://s3.example.com',
      'secret-key': '{{ .rekeySecretAccessKey }}',
      url: 's3://{{ .rekeyAccessKeyId }}@b',
    });
  });

  it('quotes a static value that holds a template action, so the engine prints it as is', () => {
    expect(literalTemplate('plain')).toBe('plain');
    expect(literalTemplate('a {{ b }} "c"')).toBe('{{ "a {{ b }} \\"c\\"" }}');
  });

  it('refuses a templated key that would replace an alias key, naming the field', () => {
    const { chart } = setup(Ledger.empty());
    const aws = new Provider(chart, 'aws', { kind: 'aws-iam', adminCredential: { secretName: 'aws-iam-rotator' } });
    expect(
      () =>
        new Credential(chart, 'reports', {
          provider: aws,
          identity: { kind: 'user', name: 'w' },
          aliases: [AliasSet.aws()],
          delivery: Delivery.external({ store: STORE, remoteKey: 'k', templateData: { AWS_SECRET_ACCESS_KEY: '{{ .rekeyAccessKeyId }}' } }),
        }),
    ).toThrow(
      'rekey/reports delivery.templateData.AWS_SECRET_ACCESS_KEY would replace key "AWS_SECRET_ACCESS_KEY" of an alias set or extraKeys (every alias must hold the pair itself): got "{{ .rekeyAccessKeyId }}". Give the templated key another name, or remove it.',
    );
  });
});

describe('aws-iam', () => {
  const credential = (delivery: Delivery) => {
    const { chart } = setup(Ledger.empty());
    const aws = new Provider(chart, 'aws', { kind: 'aws-iam', adminCredential: { secretName: 'aws-iam-rotator' } });
    return () => new Credential(chart, 'reports', { provider: aws, identity: { kind: 'user', name: 'w' }, aliases: [AliasSet.aws()], delivery });
  };

  it('is refused with sealed or plain delivery, saying to use external or csi', () => {
    expect(credential(Delivery.sealed())).toThrow(
      'rekey/reports delivery.kind cannot deliver aws-iam keys: IAM draws them inside the cluster, so they can never be sealed or written into git: got "sealed". Use delivery kind external (an ExternalSecret fed by a PushSecret) or csi.',
    );
    expect(credential(Delivery.plain({ acknowledgeInsecure: true }))).toThrow(
      'rekey/reports delivery.kind cannot deliver aws-iam keys: IAM draws them inside the cluster, so they can never be sealed or written into git: got "plain". Use delivery kind external (an ExternalSecret fed by a PushSecret) or csi.',
    );
  });

  it('is refused when its store cannot accept the PushSecret', () => {
    expect(credential(Delivery.external({ store: { ...STORE, acceptsPush: false }, remoteKey: 'k' }))).toThrow(
      'rekey/reports delivery.store.acceptsPush is false, but aws-iam keys are obtained in the cluster and pushed to ClusterSecretStore aws-secrets-manager by a PushSecret: got false. Use a store that accepts writes (Vault, AWS Secrets Manager, the Kubernetes provider, … with write access) and set acceptsPush: true.',
    );
  });

  it('lets the rotation pods reach IAM, STS and S3: egress 443 to any address by default, narrowed by egress.cidrs', () => {
    const egressOf = (docs: any[]) => find(docs, 'NetworkPolicy', 'rekey-rotator')[0].spec.egress.map((e: any) => JSON.stringify(e));
    expect(egressOf(rendered(drawnEntry(1)).docs)).toContain(JSON.stringify({ ports: [{ port: 443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }));
    const { chart } = setup(Ledger.empty());
    const narrowed = new Provider(chart, 'aws', { kind: 'aws-iam', adminCredential: { secretName: 'a' }, egress: { cidrs: ['10.20.0.0/16', '10.21.0.0/16'] } });
    expect(narrowed.egress).toEqual({ cidrs: ['10.20.0.0/16', '10.21.0.0/16'], port: 443 });
    expect(new Provider(chart, 'rgw', { kind: 'ceph-rgw', endpoint: 'http://rgw:7480', namespace: 's', podSelector: { a: 'b' }, adminCredential: { secretName: 'a' } }).egress).toBeUndefined();
    expect(() => new Provider(chart, 'bad', { kind: 'aws-iam', egress: { cidrs: ['10.0.0.0'] } })).toThrow('rekey/bad egress.cidrs[0] must be a CIDR: got "10.0.0.0". Give an address range such as 10.0.0.0/16.');
    expect(() => new Provider(chart, 'none', { kind: 'aws-iam', egress: { cidrs: [] } })).toThrow('rekey/none egress must list at least one CIDR in cidrs: got {"cidrs":[]}. Give egress: {cidrs: [<endpoint range>]}, or remove egress.');
  });

  it('is accepted with external delivery; nothing is rendered before the first rotation', () => {
    expect(credential(Delivery.external({ store: STORE, remoteKey: 'k' }))).not.toThrow();
    expect(rendered(undefined).docs).toEqual([]);
  });
});

describe('external delivery, rendered (generation 1, adopted key)', () => {
  const { docs, webDocs, credential } = rendered(drawnEntry(1, 'AKIAADOPTEDADOPTED01'));

  it('renders one ExternalSecret per target, named like the target Secret, in its namespace', () => {
    const es = find(docs, 'ExternalSecret');
    expect(es.map((d) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['reports/reports-s3', 'batch/reports-s3']);
    for (const d of es) {
      expect(d.apiVersion).toBe('external-secrets.io/v1');
      expect(d.spec.refreshPolicy).toBe('OnChange');
      expect(d.spec.secretStoreRef).toEqual(STORE);
      expect(d.spec.target).toMatchObject({ name: d.metadata.name, creationPolicy: 'Owner', deletionPolicy: 'Retain' });
      expect(d.spec.target.template.mergePolicy).toBe('Replace');
      expect(Object.keys(d.spec.target.template.data).sort()).toEqual([...credential.secretKeys].sort());
      expect(d.spec.target.template.data['note.txt']).toBe('{{ "literal {{ not a template }}" }}');
      expect(d.spec.data).toEqual([
        { secretKey: 'rekeyAccessKeyId', remoteRef: { key: 'platform/reports-s3', property: 'access-key' } },
        { secretKey: 'rekeySecretAccessKey', remoteRef: { key: 'platform/reports-s3', property: 'secret-key' } },
      ]);
      // the generation on the ExternalSecret (OnChange refresh) and on the target Secret (what the rotator reads)
      expect(d.metadata.annotations['rekey.dev/generation']).toBe('1');
      expect(d.spec.target.template.metadata.annotations['rekey.dev/generation']).toBe('1');
      expect(d.metadata.annotations['rekey.dev/access-key-id']).toBeUndefined();
      expect(d.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-2');
    }
  });

  it('renders a per-generation PushSecret from the staging Secret, after activate and before the targets', () => {
    const [push, ...more] = find(docs, 'PushSecret');
    expect(more).toEqual([]);
    expect(push.apiVersion).toBe('external-secrets.io/v1alpha1');
    expect(push.metadata).toMatchObject({ name: 'rekey-reports-g1-push', namespace: 'rekey-system' });
    expect(push.spec).toEqual({
      refreshInterval: '0s',
      updatePolicy: 'Replace',
      deletionPolicy: 'None',
      secretStoreRefs: [STORE],
      selector: { secret: { name: 'rekey-reports-g1-staging' } },
      data: [
        { match: { secretKey: 'access-key', remoteRef: { remoteKey: 'platform/reports-s3', property: 'access-key' } } },
        { match: { secretKey: 'secret-key', remoteRef: { remoteKey: 'platform/reports-s3', property: 'secret-key' } } },
      ],
    });
    const wave = (d: any) => Number(d.metadata.annotations['argocd.argoproj.io/sync-wave']);
    const activate = find(docs, 'Job').find((j) => j.metadata.labels['rekey.dev/step'] === 'activate');
    expect(wave(activate)).toBeLessThan(wave(push));
    expect(wave(push)).toBeLessThan(Math.min(...find(docs, 'ExternalSecret').map(wave)));
  });

  it('renders no staging SealedSecret or Secret, and the activate Job does not mount one', () => {
    expect(docs.filter((d) => d.kind === 'SealedSecret' || d.kind === 'Secret')).toEqual([]);
    for (const j of find(docs, 'Job')) {
      expect(JSON.stringify(j.spec.template.spec.volumes)).not.toContain('staging');
    }
  });

  it('plans a key drawn in the cluster: keySource providerDrawn, no key ID, the adopted key as the previous one', () => {
    const plan = parsePlanText(find(docs, 'ConfigMap', 'rekey-reports-g1-plan')[0].data['plan.json'], 'plan');
    expect(plan.keySource).toEqual({ kind: 'providerDrawn' });
    expect(plan.accessKeyId).toBeNull();
    expect(plan.previousAccessKeyId).toBe('AKIAADOPTEDADOPTED01');
    expect(plan.stagingSecret).toBe('rekey-reports-g1-staging');
    expect(plan.targets.map((t) => t.delivery)).toEqual(['external', 'external']);
    expect(find(docs, 'Job').map((j) => j.metadata.labels['rekey.dev/step'])).toEqual(['activate', 'deliver', 'retire']);
  });

  it('lets the Jobs create and update the staging Secret by name, and get/patch the ExternalSecrets by name', () => {
    const rules = (ns: string) => find(docs, 'Role', 'rekey-reports-rotator', ns)[0].rules;
    expect(rules('rekey-system').filter((r: any) => r.resources.includes('secrets'))).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['aws-iam-rotator', 'rekey-reports-g1-staging'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: ['rekey-reports-g1-staging'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    for (const ns of ['reports', 'batch']) {
      expect(rules(ns)).toContainEqual({ apiGroups: ['external-secrets.io'], resources: ['externalsecrets'], verbs: ['get', 'patch'], resourceNames: ['reports-s3'] });
    }
    expect(JSON.stringify(docs.filter((d) => d.kind === 'Role'))).not.toContain('"*"');
  });

  it("checksums the consumers from the store reference, remote key and generation", () => {
    const annotation = webDocs.find((d: any) => d.kind === 'Deployment').spec.template.metadata.annotations['rekey.dev/reports-checksum'];
    expect(annotation).toMatch(/^[0-9a-f]{16}$/);
    expect(credential.consumers.map((b) => b.checksum)).toEqual([annotation, expect.stringMatching(/^[0-9a-f]{16}$/)]);
  });

  it('every rendered object validates against its schema (ExternalSecret, PushSecret: the upstream CRDs)', () => {
    expect(validateManifests([...docs, ...webDocs])).toEqual([]);
  });

  it('matches its snapshot (references only)', () => {
    expect(docs.filter((d) => ['ExternalSecret', 'PushSecret', 'Role'].includes(d.kind))).toMatchSnapshot();
  });
});

describe('a later generation of a key drawn in the cluster', () => {
  it('retires generation 1\'s key: previousAccessKeyId null in the plan (the rotator reads its record of generation 1), retire Job rendered', () => {
    const { docs } = rendered(drawnEntry(2));
    const plan = parsePlanText(find(docs, 'ConfigMap', 'rekey-reports-g2-plan')[0].data['plan.json'], 'plan');
    expect([plan.accessKeyId, plan.previousAccessKeyId, plan.keySource.kind]).toEqual([null, null, 'providerDrawn']);
    expect(find(docs, 'Job').map((j) => j.metadata.labels['rekey.dev/step'])).toEqual(['activate', 'deliver', 'retire']);
  });

  it('a first rotation never adopted has no retire', () => {
    const { docs } = rendered(drawnEntry(1));
    expect(find(docs, 'Job').map((j) => j.metadata.labels['rekey.dev/step'])).toEqual(['activate', 'deliver']);
  });

  it('changes only the ExternalSecrets, the PushSecret, the generation-named objects and the checksums', () => {
    const a = rendered(drawnEntry(1, 'AKIAADOPTEDADOPTED01'));
    const b = rendered(drawnEntry(2));
    const key = (d: any) => `${d.kind} ${d.metadata.namespace ?? ''}/${d.metadata.name.replace(/-g[12]-/, '-gN-').replace(/-[0-9a-f]{8}$/, '')}`;
    const index = (docs: any[]) => new Map(docs.map((d) => [key(d), JSON.stringify(d)]));
    const before = index(a.docs);
    const after = index(b.docs);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k)).sort();
    expect(changed).toEqual([
      'ConfigMap rekey-system/rekey-reports-gN-plan',
      'ExternalSecret batch/reports-s3',
      'ExternalSecret reports/reports-s3',
      'Job rekey-system/rekey-reports-gN-activate',
      'Job rekey-system/rekey-reports-gN-deliver',
      'Job rekey-system/rekey-reports-gN-retire',
      'PushSecret rekey-system/rekey-reports-gN-push',
      'Role rekey-system/rekey-reports-rotator',
    ]);
    const checksum = (r: ReturnType<typeof rendered>) => r.credential.consumers.map((c) => c.checksum);
    expect(checksum(a).every((c, i) => c !== checksum(b)[i])).toBe(true);
    expect(a.webDocs.map((d: any) => JSON.stringify(d))).not.toEqual(b.webDocs.map((d: any) => JSON.stringify(d)));
  });
});
