import { describe, expect, it } from '@jest/globals';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { AliasSet, Credential, Delivery, Ledger, Provider, RekeyChart, SecretValue, type LedgerEntry } from '../../lib/index.js';
import { validateManifests } from '../support/validate.js';
import { API_SERVER, FAKE_BUNDLE } from './fixtures.js';

/** A plain-delivery ledger entry (no sealing needed) for the given targets. */
function plainEntry(targets: Array<[string, string]>): LedgerEntry {
  return {
    generation: 2,
    provider: 'rustfs',
    delivery: 'plain',
    accessKeyId: 'AKFAKEFAKEFAKEFAKE02',
    previousAccessKeyId: 'AKFAKEFAKEFAKEFAKE01',
    rotatedAt: '2026-11-01T10:00:00.000Z',
    staging: { namespace: 'rekey-system', secretName: 'rekey-uploads-g2-staging' },
    targets: targets.map(([namespace, secretName]) => ({ namespace, secretName })),
    plainSecretAccessKey: SecretValue.fromString('fake-plain-secret-0000000000000000000002'),
  };
}

function setup(targets: Array<[string, string]> = [['web', 'uploads-s3']]) {
  const app = Testing.app();
  const chart = new RekeyChart(app, 'rekey', { ledger: Ledger.empty().with('uploads', plainEntry(targets)), warn: () => undefined, rotator: { apiServer: API_SERVER }, rotatorBundle: FAKE_BUNDLE });
  const provider = new Provider(chart, 'rustfs', {
    kind: 'rustfs',
    endpoint: 'http://rustfs.storage.svc:9000',
    namespace: 'storage',
    podSelector: { 'app.kubernetes.io/name': 'rustfs' },
    adminCredential: { secretName: 'rustfs-admin' },
  });
  const cred = new Credential(chart, 'uploads', {
    provider,
    identity: { kind: 'serviceAccount', name: 'uploads' },
    aliases: [AliasSet.generic(), AliasSet.aws()],
    delivery: Delivery.plain({ acknowledgeInsecure: true }),
  });
  const web = new Chart(app, 'web', { namespace: 'web' });
  return { app, chart, cred, web };
}

const podSpec = (docs: any[], name: string) => docs.find((d) => d.metadata.name === name)!.spec.template.spec;
const error = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('did not throw');
};

describe('consumedBy wires the read into a workload of this app', () => {
  it('GIVEN a cdk8s-plus Deployment that does not read the Secret WHEN bound by envFrom with a prefix THEN envFrom is added to its container', () => {
    const { cred, web } = setup([['web', 'uploads-s3']]);
    cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    const api = new kplus.Deployment(web, 'api', { metadata: { name: 'api' }, containers: [{ image: 'example/api:1' }] });
    cred.consumedBy(api, { envFrom: { prefix: 'S3_' } });
    const docs = Testing.synth(web);
    expect(podSpec(docs, 'api').containers[0].envFrom).toEqual([{ prefix: 'S3_', secretRef: { name: 'uploads-s3' } }]);
    expect(docs[0].spec.template.metadata.annotations['rekey.dev/uploads-checksum']).toMatch(/^[0-9a-f]{16}$/);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('GIVEN L1 workloads WHEN bound by env (a mapping) and by file THEN env vars and a read-only Secret volume are added', () => {
    const { cred, web } = setup();
    cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    const template = (name: string) => ({ metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'example/x:1', env: [{ name: 'KEEP', value: 'me' }] }] } });
    const sts = new k8s.KubeStatefulSet(web, 'db', { metadata: { name: 'db' }, spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') } });
    const reader = new k8s.KubeDeployment(web, 'reader', { metadata: { name: 'reader' }, spec: { selector: { matchLabels: { app: 'reader' } }, template: template('reader') } });
    cred.consumedBy(sts, { env: { DB_ACCESS: 'access-key', DB_SECRET: 'secret-key' } });
    cred.consumedBy(reader, { file: { mountPath: '/var/run/s3' } });
    const docs = Testing.synth(web);
    expect(podSpec(docs, 'db').containers[0].env).toEqual([
      { name: 'KEEP', value: 'me' },
      { name: 'DB_ACCESS', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'access-key' } } },
      { name: 'DB_SECRET', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'secret-key' } } },
    ]);
    expect(podSpec(docs, 'reader').volumes).toEqual([{ name: 'rekey-uploads-s3', secret: { secretName: 'uploads-s3' } }]);
    expect(podSpec(docs, 'reader').containers[0].volumeMounts).toEqual([{ name: 'rekey-uploads-s3', mountPath: '/var/run/s3', readOnly: true }]);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('GIVEN two containers WHEN bound without container THEN an error names the choice; WHEN container is given THEN only that one reads it', () => {
    const { cred, web, chart } = setup();
    cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    const api = new kplus.Deployment(web, 'api', { metadata: { name: 'api' }, containers: [{ name: 'app', image: 'a:1' }, { name: 'proxy', image: 'p:1' }] });
    cred.consumedBy(api, { envFrom: {} });
    expect(error(() => Testing.synth(chart))).toBe('rekey/uploads consumer Deployment web/api container is required: the pod has 2 containers: got nothing. Set container to one of app, proxy.');
  });

  it('GIVEN container names the second container WHEN bound THEN only it gets the envFrom', () => {
    const { cred, web } = setup();
    cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    const api = new kplus.Deployment(web, 'api', { metadata: { name: 'api' }, containers: [{ name: 'app', image: 'a:1' }, { name: 'proxy', image: 'p:1' }] });
    cred.consumedBy(api, { envFrom: {}, container: 'proxy' });
    const spec = podSpec(Testing.synth(web), 'api');
    expect([spec.containers[0].envFrom, spec.containers[1].envFrom]).toEqual([undefined, [{ secretRef: { name: 'uploads-s3' } }]]);
  });

  it('GIVEN a workload already reading the Secret the declared way WHEN bound THEN nothing is added twice', () => {
    const { cred, web } = setup();
    cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    const s3 = kplus.Secret.fromSecretName(web, 's3', 'uploads-s3');
    const api = new kplus.Deployment(web, 'api', { metadata: { name: 'api' }, containers: [{ image: 'a:1', envFrom: [new kplus.EnvFrom(undefined, 'S3_', s3)] }] });
    cred.consumedBy(api, { envFrom: { prefix: 'S3_' } });
    expect(podSpec(Testing.synth(web), 'api').containers[0].envFrom).toEqual([{ prefix: 'S3_', secretRef: { name: 'uploads-s3' } }]);
  });
});

describe('consumedBy checks a read the workload already has', () => {
  const bound = (container: Record<string, unknown>, volumes: unknown[] | undefined, options: Parameters<Credential['consumedBy']>[1]) => {
    const { cred, web, chart } = setup();
    cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
    const d = new k8s.KubeDeployment(web, 'api', {
      metadata: { name: 'api' },
      spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'main', image: 'a:1', ...container }], ...(volumes ? { volumes } : {}) } } },
    } as never);
    cred.consumedBy(d, options);
    return () => Testing.synth(chart);
  };
  it.each([
    [
      'another prefix',
      bound({ envFrom: [{ prefix: 'AWS_', secretRef: { name: 'uploads-s3' } }] }, undefined, { envFrom: { prefix: 'S3_' } }),
      'rekey/uploads consumer Deployment web/api envFrom.prefix does not match the workload, which reads Secret uploads-s3 with prefix "AWS_": got "S3_". Give consumedBy the prefix the workload uses, or remove the envFrom from the workload and let rekey wire it.',
    ],
    [
      'other keys',
      bound({ env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'AWS_ACCESS_KEY_ID' } } }] }, undefined, { env: ['access-key', 'secret-key'] }),
      'rekey/uploads consumer Deployment web/api env does not match the workload, which reads keys AWS_ACCESS_KEY_ID of Secret uploads-s3: got ["access-key","secret-key"]. List in consumedBy exactly the keys the workload reads, or remove them from the workload and let rekey wire them.',
    ],
    [
      'another mount path',
      bound({ volumeMounts: [{ name: 's3', mountPath: '/etc/s3' }] }, [{ name: 's3', secret: { secretName: 'uploads-s3' } }], { file: { mountPath: '/var/run/s3' } }),
      'rekey/uploads consumer Deployment web/api file.mountPath does not match the workload, which mounts Secret uploads-s3 at /etc/s3: got "/var/run/s3". Give consumedBy the mount path the workload uses.',
    ],
    [
      'a subPath mount (never refreshed)',
      bound({ volumeMounts: [{ name: 's3', mountPath: '/var/run/s3/credentials', subPath: 'credentials' }] }, [{ name: 's3', secret: { secretName: 'uploads-s3' } }], { file: { mountPath: '/var/run/s3/credentials' } }),
      'rekey/uploads consumer Deployment web/api file.mountPath is mounted with subPath, which the kubelet never refreshes: got "/var/run/s3/credentials". Mount the Secret volume without subPath (use items to pick keys), or read it through env and let rekey restart the workload.',
    ],
    [
      'a key that is not a variable name, to be wired',
      bound({}, undefined, { env: ['access-key'] }),
      "rekey/uploads consumer Deployment web/api env names a key that is not a valid environment variable name, so rekey cannot wire it as one: got \"access-key\". Map it to a variable name: env: { MY_VAR: 'access-key' }.",
    ],
  ])('GIVEN %s WHEN synthesized THEN one exact error', (_name, synth, message) => {
    expect(error(synth)).toBe(message);
  });
});

describe('rendering is lazy: the order of calls does not matter', () => {
  it('GIVEN consumedBy before addTarget WHEN synthesized THEN the output equals the other order', () => {
    const render = (targetFirst: boolean) => {
      const { app, cred, web } = setup();
      const api = new kplus.Deployment(web, 'api', { metadata: { name: 'api' }, containers: [{ image: 'a:1' }] });
      if (targetFirst) cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
      cred.consumedBy(api, { envFrom: {} });
      if (!targetFirst) cred.addTarget({ namespace: 'web', secretName: 'uploads-s3' });
      return app.synthYaml();
    };
    expect(render(false)).toBe(render(true));
    expect(render(false)).toContain('rekey.dev/uploads-checksum');
  });

  it('GIVEN targets a-b/c and a/b-c WHEN synthesized THEN both render (each target has its own construct scope)', () => {
    const { chart, cred } = setup([['a-b', 'c'], ['a', 'b-c']]);
    cred.addTarget({ namespace: 'a-b', secretName: 'c' });
    cred.addTarget({ namespace: 'a', secretName: 'b-c' });
    const secrets = Testing.synth(chart).filter((d) => d.kind === 'Secret' && !d.metadata.name.startsWith('rekey-'));
    expect(secrets.map((d) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['a-b/c', 'a/b-c']);
  });
});
