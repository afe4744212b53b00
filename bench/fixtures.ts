/**
 * The synthesis benchmarks' project: N credentials on one RustFS provider, 5 consumers each (4
 * Deployments, 1 StatefulSet) across 50 namespaces, sealed delivery; and a ledger with generation 1
 * of each. Used by bench/synth.ts and bench/cli-synth.ts.
 */
import { Ledger, type LedgerEntry } from '../lib/project/ledger.js';

/** The sealing certificate's fingerprint the spec and the ledger name. */
export const FINGERPRINT = 'SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g';
// Synthesis never decrypts: any base64 of the right size stands in for a sealed value.
export const SEALED = Buffer.alloc(2 + 512 + 40 + 16, 7).toString('base64');

/** The rekey.yaml spec (before validation) of `n` credentials `cred-<i>`. */
export function spec(n: number): unknown {
  const credentials = Array.from({ length: n }, (_, i) => ({
    name: `cred-${i}`,
    provider: 'rustfs',
    identity: { kind: 'serviceAccount', name: `user-${i}` },
    aliases: ['generic', 'rustfs', 'aws'],
    extraKeys: { endpoint: 'http://rustfs.storage.svc:9000' },
    delivery: { kind: 'sealed' },
    targets: [{ namespace: `ns-${i % 50}`, secretName: `cred-${i}-s3` }],
    consumers: Array.from({ length: 5 }, (_, j) => ({ kind: j === 4 ? 'StatefulSet' : 'Deployment', name: `app-${i}-${j}`, namespace: `ns-${i % 50}`, envFrom: {} })),
    rotationPolicy: { mode: 'TimeBased', intervalDays: 30 },
  }));
  return {
    apiVersion: 'rekey.dev/v1alpha1',
    kind: 'RekeyConfig',
    sealing: { certificate: 'cert.pem', fingerprint: FINGERPRINT },
    rotator: { apiServer: { cidr: '10.0.0.1/32' } },
    providers: [{ name: 'rustfs', kind: 'rustfs', endpoint: 'http://rustfs.storage.svc:9000', namespace: 'storage', podSelector: { app: 'rustfs' }, adminCredential: { secretName: 'admin' } }],
    credentials,
  };
}

/** A ledger with generation 1 (sealed, strict scope) of each of `spec(n)`'s credentials. */
export function ledger(n: number): Ledger {
  let l = Ledger.empty();
  for (let i = 0; i < n; i++) {
    const sealed = { accessKeyId: SEALED, secretAccessKey: SEALED };
    const e: LedgerEntry = {
      generation: 1,
      provider: 'rustfs',
      delivery: 'sealed',
      accessKeyId: `AK${String(i).padStart(18, '0')}`,
      rotatedAt: '2026-11-01T00:00:00.000Z',
      certificateFingerprint: FINGERPRINT,
      staging: { namespace: 'rekey-system', secretName: `rekey-cred-${i}-g1-staging`, scope: 'strict', sealed },
      targets: [{ namespace: `ns-${i % 50}`, secretName: `cred-${i}-s3`, scope: 'strict', sealed }],
    };
    l = l.with(`cred-${i}`, e);
  }
  return l;
}
