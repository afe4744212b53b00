/**
 * Fault injection at every step boundary: a crash (the Job's process dies) before/after each
 * provider call and each Kubernetes write, and "applied, then the reply was lost" on the
 * Kubernetes writes (fake API server) and the provider's mutating calls (fake MinIO). After each
 * fault the failed step is re-run (by a new pod: another Lease holder) until it exits 0, then the
 * rotation goes on. Every run must end in the same state: old key deleted and proven rejected, new
 * key active, record retired. Throughout, a monitor checks the invariants: never zero valid keys,
 * and the old key never revoked while a consumer pod that started with it is alive.
 *
 * The re-run loop (`faultedRuns`), the table row (`rowOf`) and `label` serve the provider-drawn
 * scenario (provider-drawn-faults.test.ts) too.
 */
import { appendFileSync } from 'node:fs';
import type { FaultRule } from '../support/kube/index.js';
import type { RotationPlanInput } from '../../lib/core/plan.js';
import {
  deliverSecret, deployment, keyActive, minioAdmin, onDeleteSts, pairOf, plan, record, setChecksum, stage, startHarness, stalePodsHoldingOldKey, step, type Harness,
} from './harness.js';
import type { StepName } from '../../lib/rotator/context.js';

/** The Job's process dies at a step boundary point (once). */
export interface CrashFault { readonly kind: 'crash'; readonly point: string }
/** The fake API server applies `rule` during one step. */
export interface KubeFault { readonly kind: 'kube'; readonly label: string; readonly step: StepName; readonly rule: FaultRule }
/** The provider's fake (`kind`) injects a fault during one step; what, the scenario says. */
export interface ProviderFault<K extends 'minio' | 'iam'> { readonly kind: K; readonly label: string; readonly step: StepName }

export type Fault = CrashFault | KubeFault | (ProviderFault<'minio'> & { readonly call: string });

export const CRASH_POINTS = [
  'kube:lease:before', 'kube:lease:after',
  'provider:checkAdmin:before', 'provider:ensureIdentity:before', 'provider:ensureIdentity:after', 'provider:addKey:before', 'provider:addKey:after',
  'provider:verifyAccepted:before', 'kube:record-activated:before', 'kube:record-activated:after',
  'kube:record-delivered:before', 'kube:record-delivered:after',
  'kube:record-first-seen:before', 'kube:record-first-seen:after',
  'kube:delete:before', 'kube:delete:after', 'kube:record-replaced:before', 'kube:record-replaced:after',
  'kube:evict:before', 'kube:evict:after',
  'provider:disableKey:before', 'provider:disableKey:after', 'kube:record-disabled:before', 'kube:record-disabled:after',
  'provider:verifyRejected1:before', 'kube:record-rejected1:before', 'kube:record-rejected1:after',
  'provider:deleteKey:before', 'provider:deleteKey:after', 'kube:record-deleted:before', 'kube:record-deleted:after',
  'provider:verifyRejected2:before', 'kube:record-retired:before', 'kube:record-retired:after',
];

export const FAULTS: Fault[] = [
  ...CRASH_POINTS.map((point) => ({ kind: 'crash', point }) as const),
  { kind: 'kube', label: 'lease create applied, reply lost', step: 'activate', rule: { verb: 'create', resource: 'leases', action: { type: 'applyThenDrop' } } },
  { kind: 'kube', label: 'record create applied, reply lost', step: 'activate', rule: { verb: 'create', resource: 'configmaps', action: { type: 'applyThenDrop' } } },
  { kind: 'kube', label: 'record update applied, 504', step: 'deliver', rule: { verb: 'update', resource: 'configmaps', action: { type: 'applyThenTimeout' } } },
  { kind: 'kube', label: 'record update applied, reply lost (retire)', step: 'retire', rule: { verb: 'update', resource: 'configmaps', action: { type: 'applyThenDrop' } } },
  { kind: 'kube', label: 'pod delete applied, reply lost', step: 'retire', rule: { verb: 'delete', resource: 'pods', action: { type: 'applyThenDrop' } } },
  { kind: 'kube', label: 'eviction applied, 504', step: 'retire', rule: { verb: 'create', resource: 'pods', subresource: 'eviction', action: { type: 'applyThenTimeout' } } },
  { kind: 'kube', label: 'eviction refused 429 twice', step: 'retire', rule: { verb: 'create', resource: 'pods', subresource: 'eviction', action: { type: 'error', code: 429, reason: 'TooManyRequests' }, times: 2 } },
  { kind: 'kube', label: 'record read 500', step: 'retire', rule: { verb: 'get', resource: 'configmaps', action: { type: 'error', code: 500 } } },
  { kind: 'minio', label: 'add-service-account applied, reply lost', step: 'activate', call: 'PUT add-service-account' },
  { kind: 'minio', label: 'update-service-account (disable) applied, reply lost', step: 'retire', call: 'POST update-service-account' },
  { kind: 'minio', label: 'delete-service-account applied, reply lost', step: 'retire', call: 'DELETE delete-service-account' },
];

export interface Row {
  readonly fault: string;
  readonly hit: boolean;
  readonly failedRuns: number;
  readonly outcome: string;
}

/** Prints the table of points and outcomes. */
export function printTable(title: string, table: readonly Row[]): void {
  const w = Math.max(...table.map((r) => r.fault.length));
  const lines = [`${'fault'.padEnd(w)} | hit | failed runs | outcome`, `${'-'.repeat(w)}-|-----|-------------|--------`];
  for (const r of table) lines.push(`${r.fault.padEnd(w)} | ${r.hit ? 'yes' : 'no '} | ${String(r.failedRuns).padStart(11)} | ${r.outcome}`);
  process.stdout.write(`\n${title} (${table.length} points)\n${lines.join('\n')}\n`);
}

/** Appends one row to $REKEY_FAULT_TABLE (progress while the suite runs). */
export function noteRow(row: Row): void {
  const out = process.env['REKEY_FAULT_TABLE'];
  if (out) appendFileSync(out, `${row.fault} | ${row.hit ? 'yes' : 'no'} | ${row.failedRuns} | ${row.outcome}\n`);
}

/** The failed runs so far, whether the fault was hit, and the step runner (see `faultedRuns`). */
export interface FaultedRuns {
  hit: boolean;
  failedRuns: number;
  untilDone(name: StepName): Promise<void>;
}

/**
 * Runs steps of plan `p` under `fault`: each step is re-run (by a new pod: another Lease holder)
 * until it exits 0, at most 4 runs. A crash fault throws once at its boundary point (`hit` then
 * true); a kube fault's rule is added, then `inject(name)` arms the provider's fault, before the
 * first run of each step.
 */
export function faultedRuns(h: Harness, p: RotationPlanInput, fault: CrashFault | KubeFault | ProviderFault<'minio' | 'iam'>, inject: (name: StepName) => void): FaultedRuns {
  let pod = 0;
  const boundary = (point: string) => {
    if (fault.kind === 'crash' && !runs.hit && point === fault.point) {
      runs.hit = true;
      throw new Error(`crash injected at ${point}`);
    }
  };
  const runs: FaultedRuns = {
    hit: false,
    failedRuns: 0,
    async untilDone(name) {
      if (fault.kind === 'kube' && fault.step === name) h.kube.faults.add(fault.rule);
      inject(name);
      for (let attempt = 0; attempt < 4; attempt++) {
        const code = await step(h, name, p, { holder: `rotator-${name}-pod-${pod++}`, boundary });
        if (code === 0) return;
        runs.failedRuns++;
      }
      throw new Error(`${name} did not converge after 4 runs: ${h.logger.records.filter((r) => r.level === 'error').map((r) => r.msg).join(' | ')}`);
    },
  };
  return runs;
}

/** The table row of a scenario: converged when no end-state check failed (`end`: the failed ones) and no invariant was violated. */
export function rowOf(fault: CrashFault | KubeFault | ProviderFault<'minio' | 'iam'>, runs: FaultedRuns, end: readonly string[], violations: readonly string[]): Row {
  const bad = [...new Set(violations)];
  return { fault: label(fault), hit: runs.hit, failedRuns: runs.failedRuns, outcome: end.length === 0 && bad.length === 0 ? 'converged, invariants held' : `FAILED: ${[...end, ...bad].join('; ')}` };
}

export async function scenario(fault: Fault): Promise<Row> {
  const h: Harness = await startHarness();
  const violations: string[] = [];
  let monitor: NodeJS.Timeout | undefined;
  try {
    const admin = minioAdmin(h);
    await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
    await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
    admin.close();
    deliverSecret(h, 1);
    h.kube.apply(deployment('api', 1, 'c1'));
    h.kube.apply(deployment('early', 1, 'c1'));
    h.kube.apply(onDeleteSts('db', 2));
    await h.kube.settle();
    // the invariants, checked every few ms of real time while the rotation runs
    monitor = setInterval(() => {
      const valid = [1, 2].filter((g) => keyActive(h, pairOf(g).accessKeyId));
      if (valid.length === 0) violations.push('zero valid keys');
      if (!h.minio.serviceAccounts.has(pairOf(1).accessKeyId) || !keyActive(h, pairOf(1).accessKeyId)) {
        const stale = stalePodsHoldingOldKey(h, pairOf(1).accessKeyId);
        if (stale.length > 0) violations.push(`old key revoked while ${stale.join(',')} alive`);
      }
    }, 3);

    const p = plan(h, 2, { overlapSeconds: 10, deadlines: { activateSeconds: 900, deliverSeconds: 900, retireSeconds: 1800, verifySeconds: 300, kubeletRefreshSeconds: 20 } });
    stage(h, 2);
    const runs = faultedRuns(h, p, fault, (name) => {
      if (fault.kind === 'minio' && fault.step === name) h.minio.loseReplyOf(fault.call);
    });
    await runs.untilDone('activate');
    // a consumer app that syncs too early: its pods restart while the Secret still holds key 1
    setChecksum(h, 'early', 'c2');
    await h.kube.settle();
    deliverSecret(h, 2);
    // without the deliver Job (a GitOps setup that does not wait for it), retire notes the first-seen moment itself
    if (!(fault.kind === 'crash' && fault.point.includes('first-seen'))) await runs.untilDone('deliver');
    setChecksum(h, 'api', 'c2');
    await runs.untilDone('retire');
    if (fault.kind === 'kube') runs.hit = h.kube.requests.some((r) => r.fault !== undefined);
    if (fault.kind === 'minio') runs.hit = true;

    // THEN the same end state
    const rec = record(h, 2) as { phase: string; revoke?: Record<string, string> };
    const end = [
      h.minio.serviceAccounts.has(pairOf(1).accessKeyId) ? 'old key still exists' : '',
      keyActive(h, pairOf(2).accessKeyId) ? '' : 'new key not active',
      rec.phase === 'retired' ? '' : `phase ${rec.phase}`,
      rec.revoke?.rejectedAfterDelete ? '' : 'no rejection proof',
      stalePodsHoldingOldKey(h, pairOf(1).accessKeyId).length === 0 ? '' : 'stale pods alive',
    ].filter(Boolean);
    clearInterval(monitor);
    return rowOf(fault, runs, end, violations);
  } finally {
    clearInterval(monitor);
    await h.close();
  }
}

export function label(f: CrashFault | KubeFault | ProviderFault<'minio' | 'iam'>): string {
  return f.kind === 'crash' ? `crash at ${f.point}` : `${f.kind}: ${f.label} (${f.step})`;
}

