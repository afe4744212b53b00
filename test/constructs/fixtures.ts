import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Testing } from 'cdk8s';
import {
  AliasSet,
  Delivery,
  Ledger,
  Provider,
  RekeyChart,
  SealingCertificate,
  SecretValue,
  seal,
  type LedgerEntry,
} from '../../lib/index.js';
import type { RotatorBundleSource } from '../../lib/constructs/rotation/bundle.js';
import type { RekeyChartProps } from '../../lib/constructs/rekey-chart.js';

export const CERT = SealingCertificate.fromPem(readFileSync('test/fixtures/sealed-secrets/cert4096.pem', 'utf8'), 'cert4096.pem');
export const FINGERPRINT = CERT.fingerprint;

const CODE = Buffer.from('console.log("fake rotator")\n');
/** A tiny stand-in for the rotator bundle: fixed bytes, so names and snapshots are stable. */
export const FAKE_BUNDLE: RotatorBundleSource = {
  load: () => {
    const gzip = gzipSync(CODE, { level: 9 });
    return { gzip, sha256: createHash('sha256').update(CODE).digest('hex'), rawBytes: CODE.length, gzipBytes: gzip.length };
  },
  unpackScript: 'require("fake-unpack")',
  key: 'rotator.mjs.gz',
  mountPath: '/etc/rekey/bundle',
  path: '/rotator/rotator.mjs',
};

export const API_SERVER = { cidr: '10.0.0.1/32', port: 6443 };

/** A fixed byte source, so the sealed values (and snapshots) are stable. */
const fixedRandom = () => {
  let i = 0;
  return (n: number) => Buffer.from(Array.from({ length: n }, () => i++ % 256));
};

/** A ledger entry as `rekey rotate` writes it. */
export function entry(
  name: string,
  targets: Array<[string, string]>,
  opts: { generation?: number; previous?: boolean; revoke?: boolean; attempts?: LedgerEntry['attempts'] } = {},
): LedgerEntry {
  const random = fixedRandom();
  const gen = opts.generation ?? 3;
  const sealFor = (ns: string, n: string) => ({
    namespace: ns,
    secretName: n,
    scope: 'strict' as const,
    sealed: {
      accessKeyId: seal(SecretValue.fromString('AKFAKEFAKEFAKEFAKE01'), { certificate: CERT, namespace: ns, name: n, scope: 'strict', random }),
      secretAccessKey: seal(SecretValue.fromString('fake-secret-fake-secret-fake-secret-0001'), { certificate: CERT, namespace: ns, name: n, scope: 'strict', random }),
    },
  });
  return {
    generation: gen,
    provider: 'rustfs',
    delivery: 'sealed',
    accessKeyId: 'AKFAKEFAKEFAKEFAKE01',
    ...(opts.previous === false ? {} : { previousAccessKeyId: 'AKFAKEFAKEFAKEFAKE00' }),
    rotatedAt: '2026-11-01T10:00:00.000Z',
    certificateFingerprint: FINGERPRINT,
    staging: sealFor('rekey-system', `rekey-${name}-g${gen}-staging`),
    targets: targets.map(([ns, n]) => sealFor(ns, n)),
    ...(opts.revoke ? { revoke: true as const } : {}),
    ...(opts.attempts ? { attempts: opts.attempts } : {}),
  };
}

/** An app, a RekeyChart (with the API server and a fake bundle) and a RustFS provider. */
export function setup(ledger: Ledger, props: Partial<RekeyChartProps> = {}, providerProps: Partial<ConstructorParameters<typeof Provider>[2]> = {}) {
  const app = Testing.app();
  const chart = new RekeyChart(app, 'rekey', {
    ledger,
    sealing: { fingerprint: FINGERPRINT },
    warn: () => undefined,
    rotatorBundle: FAKE_BUNDLE,
    ...props,
    rotator: { apiServer: API_SERVER, ...props.rotator },
  });
  const provider = new Provider(chart, 'rustfs', {
    kind: 'rustfs',
    endpoint: 'http://rustfs.storage.svc:9000',
    namespace: 'storage',
    podSelector: { 'app.kubernetes.io/name': 'rustfs' },
    adminCredential: { secretName: 'rustfs-admin' },
    ...providerProps,
  });
  return { app, chart, provider };
}

export const uploadsProps = (provider: Provider) => ({
  provider,
  identity: { kind: 'serviceAccount' as const, name: 'uploads' },
  aliases: [AliasSet.generic()],
  delivery: Delivery.sealed(),
  targets: [{ namespace: 'web', secretName: 'uploads-s3' }],
});

export { Ledger };
