/**
 * Fault injection for provider-drawn keys (aws-iam, external delivery): a crash before/after each
 * IAM call and each Kubernetes write of activate (draw marker, CreateAccessKey, staging Secret,
 * record), deliver (force-sync) and retire, and "applied, then the reply was lost" on IAM and on
 * the Kubernetes writes. The failed step is re-run (by a new pod) until it exits 0. Every run must
 * end in the same state — exactly one IAM key (the staged one, the target's, the record's), the
 * adopted key disabled, proven rejected and deleted, no orphan — and a monitor checks throughout
 * that the user always has an active key and the old key is never revoked while a pod holds it.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import type { IamFault } from '../support/iam-server.js';
import { faultedRuns, label, printTable, rowOf, type CrashFault, type KubeFault, type ProviderFault, type Row } from './faults-scenario.js';
import { record, setChecksum, stalePodsHoldingOldKey } from './harness.js';
import { applyExternalSecret, applyPushSecret, drawnPlan, secretsOf, stagedKey, startDrawn, targetKey, USER } from './provider-drawn-support.js';

type DrawnFault = CrashFault | KubeFault | (ProviderFault<'iam'> & { readonly fault: IamFault });

const POINTS = [
  'kube:lease:after', 'provider:checkAdmin:before', 'provider:ensureIdentity:after',
  'kube:record-draw:before', 'kube:record-draw:after', 'provider:createKey:before', 'provider:createKey:after',
  'kube:staging:before', 'kube:staging:after', 'kube:record-drawn:before', 'kube:record-drawn:after',
  'provider:verifyAccepted:before', 'kube:record-activated:before', 'kube:record-activated:after',
  'kube:force-sync:before', 'kube:force-sync:after', 'kube:record-delivered:before', 'kube:record-delivered:after',
  'provider:disableKey:before', 'provider:disableKey:after', 'kube:record-disabled:after',
  'provider:verifyRejected1:before', 'provider:deleteKey:before', 'provider:deleteKey:after', 'kube:record-deleted:after',
  'provider:verifyRejected2:before', 'kube:record-retired:before',
];

const FAULTS: DrawnFault[] = [
  ...POINTS.map((point) => ({ kind: 'crash', point }) as const),
  { kind: 'iam', label: 'CreateAccessKey applied, reply lost', step: 'activate', fault: { action: 'CreateAccessKey', loseReply: true } },
  { kind: 'iam', label: 'CreateAccessKey 500 ServiceFailure', step: 'activate', fault: { action: 'CreateAccessKey' } },
  { kind: 'iam', label: 'UpdateAccessKey (disable) applied, reply lost', step: 'retire', fault: { action: 'UpdateAccessKey', loseReply: true } },
  { kind: 'iam', label: 'DeleteAccessKey applied, reply lost', step: 'retire', fault: { action: 'DeleteAccessKey', loseReply: true } },
  { kind: 'kube', label: 'staging Secret create applied, reply lost', step: 'activate', rule: { verb: 'create', resource: 'secrets', action: { type: 'applyThenDrop' } } },
  { kind: 'kube', label: 'record update applied, 504 (draw marker)', step: 'activate', rule: { verb: 'update', resource: 'configmaps', action: { type: 'applyThenTimeout' } } },
  { kind: 'kube', label: 'ExternalSecret force-sync patch applied, reply lost', step: 'deliver', rule: { verb: 'patch', resource: 'externalsecrets', action: { type: 'applyThenDrop' } } },
];

async function scenario(fault: DrawnFault): Promise<Row> {
  const d = await startDrawn();
  const { h } = d;
  const adopted = d.adopted.accessKeyId;
  const violations: string[] = [];
  const monitor = setInterval(() => {
    const keys = d.iam.keysOf(USER);
    if (!keys.some((k) => k.status === 'Active')) violations.push('zero valid keys');
    if (!keys.some((k) => k.id === adopted && k.status === 'Active')) {
      const stale = stalePodsHoldingOldKey(h, adopted);
      if (stale.length > 0) violations.push(`old key revoked while ${stale.join(',')} alive`);
    }
  }, 3);
  try {
    const p = drawnPlan(d, 2);
    const runs = faultedRuns(h, p, fault, (name) => {
      if (fault.kind === 'iam' && fault.step === name) d.iam.injectFault(fault.fault);
    });
    await runs.untilDone('activate');
    // the ExternalSecret refreshes before the push (force-sync needed), then the PushSecret
    applyExternalSecret(d, 2);
    await h.kube.settle();
    applyPushSecret(d, 2);
    await h.kube.settle();
    await runs.untilDone('deliver');
    setChecksum(h, 'api', 'c2');
    await runs.untilDone('retire');
    if (fault.kind === 'kube') runs.hit = h.kube.requests.some((r) => r.fault !== undefined);
    if (fault.kind === 'iam') runs.hit = d.iam.requests.some((r) => r.code === 'ReplyLost' || r.code === 'ServiceFailure');

    const rec = record(h, 2) as { phase: string; accessKeyId: string; revoke?: Record<string, string> };
    const keys = d.iam.keysOf(USER);
    const text = h.logger.lines.join('\n');
    const end = [
      keys.length === 1 && keys[0]!.id === rec.accessKeyId && keys[0]!.status === 'Active' ? '' : `IAM keys ${keys.map((k) => `${k.id}:${k.status}`).join(',')}`,
      stagedKey(d, 2) === rec.accessKeyId ? '' : 'staging Secret holds another key',
      targetKey(d) === rec.accessKeyId ? '' : 'target holds another key',
      rec.phase === 'retired' ? '' : `phase ${rec.phase}`,
      rec.revoke?.rejectedAfterDelete ? '' : 'no rejection proof',
      secretsOf(d).some((s) => text.includes(s)) ? 'a secret in the log' : '',
    ].filter(Boolean);
    return rowOf(fault, runs, end, violations);
  } finally {
    clearInterval(monitor);
    await d.close();
  }
}

const table: Row[] = [];
afterAll(() => printTable('FAULT TABLE: provider-drawn keys (aws-iam, external delivery)', table));

describe('fault injection: provider-drawn keys', () => {
  it.each(FAULTS.map((f) => [label(f), f] as const))('%s → the re-run converges, invariants hold', async (_name, fault) => {
    const row = await scenario(fault);
    table.push(row);
    expect(row.outcome).toBe('converged, invariants held');
    expect(row.hit).toBe(true);
  }, 180_000);
});
