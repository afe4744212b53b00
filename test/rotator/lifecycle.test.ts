/** Two rotators for one credential; an unfinished previous rotation; the panic revoke. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  deliverSecret, deployment, keyActive, minioAdmin, onDeleteSts, pairOf, plan, record, setChecksum, stage, startHarness, stalePodsHoldingOldKey, step, stepWork, ticking, type Harness,
} from './harness.js';

let h: Harness;
let monitor: NodeJS.Timeout | undefined;
let violations: string[] = [];

beforeEach(async () => {
  h = await startHarness();
  const admin = minioAdmin(h);
  await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
  await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
  admin.close();
  deliverSecret(h, 1);
  h.kube.apply(deployment('api', 2, 'c1'));
  h.kube.apply(onDeleteSts('db', 2));
  await h.kube.settle();
  violations = [];
  // invariants: some key of generations 1..3 valid; a revoked key is held by no live pod
  monitor = setInterval(() => {
    const gens = [1, 2, 3];
    const known = gens.filter((g) => h.minio.serviceAccounts.has(pairOf(g).accessKeyId) || g === 1);
    if (!gens.some((g) => keyActive(h, pairOf(g).accessKeyId))) violations.push('zero valid keys');
    for (const g of known) {
      if (keyActive(h, pairOf(g).accessKeyId)) continue;
      const stale = stalePodsHoldingOldKey(h, pairOf(g).accessKeyId);
      if (stale.length > 0 && (g === 1 || h.minio.requests.some((r) => r.path.includes('service-account')))) violations.push(`key ${g} revoked while ${stale.join(',')} alive`);
    }
  }, 3);
}, 30_000);

afterEach(async () => {
  clearInterval(monitor);
  await h.close();
});

const mutations = (call: string) => h.minio.requests.filter((r) => `${r.method} ${r.path.split('/').pop()}` === call && r.status < 300).length;

describe('two rotators for one credential', () => {
  it('one acts, the other waits for the Lease and then finds the work done; same end state', async () => {
    const p = plan(h, 2);
    stage(h, 2);
    const added = mutations('PUT add-service-account');
    // WHEN two activate Jobs run at once; whichever takes the Lease first holds it until the other
    // has seen it held (so the test does not depend on which process is faster on this machine)
    const sawHeld = () => h.logger.records.some((r) => /waits for Lease rekey-system\/rekey-uploads held by pod-[ab]/.test(r.msg));
    const holdUntilSeen = async (point: string): Promise<void> => {
      if (point !== 'kube:lease:after') return;
      while (!sawHeld()) await new Promise((r) => setTimeout(r, 5));
    };
    const codes = await h.kube.tickWhile(Promise.all([stepWork(h, 'activate', p, { holder: 'pod-a', boundary: holdUntilSeen }), stepWork(h, 'activate', p, { holder: 'pod-b', boundary: holdUntilSeen })]), ticking(h));
    // THEN both exit 0, the key was added once
    expect(codes).toEqual([0, 0]);
    expect(mutations('PUT add-service-account') - added).toBe(1);
    const waited = h.logger.records.filter((r) => /waits for Lease rekey-system\/rekey-uploads held by pod-[ab]/.test(r.msg));
    expect(waited).toHaveLength(1);
    expect(h.logger.records.filter((r) => /nothing to do: key FAKEKEYGEN2AAAAAAAA was activated at/.test(r.msg))).toHaveLength(1);

    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(0);
    setChecksum(h, 'api', 'c2');
    // WHEN two retire Jobs run at once
    const retired = await h.kube.tickWhile(Promise.all([stepWork(h, 'retire', p, { holder: 'pod-c' }), stepWork(h, 'retire', p, { holder: 'pod-d' })]), ticking(h));
    // THEN both exit 0; the old key was disabled and deleted once; invariants held
    expect(retired).toEqual([0, 0]);
    expect(mutations('POST update-service-account')).toBe(1);
    expect(mutations('DELETE delete-service-account')).toBe(1);
    expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
    expect(violations).toEqual([]);
  }, 90_000);

  it('a second rotator that cannot get the Lease before its deadline fails naming the holder, changing nothing', async () => {
    const p = plan(h, 2, { deadlines: { activateSeconds: 20, deliverSeconds: 300, retireSeconds: 600, verifySeconds: 60, kubeletRefreshSeconds: 20 } });
    stage(h, 2);
    // GIVEN a live holder that keeps renewing
    h.kube.apply({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'rekey-uploads', namespace: 'rekey-system' }, spec: { holderIdentity: 'pod-x', leaseDurationSeconds: 60, renewTime: h.kube.clock.microTime() } });
    const before = h.minio.snapshot();
    expect(await step(h, 'activate', p, { holder: 'pod-y' })).toBe(3);
    const err = h.logger.records.filter((r) => r.level === 'error').at(-1)!;
    expect(err.code).toBe('LEASE_HELD');
    expect(err.msg).toMatch(/^rotator activate for credential uploads generation 2: Lease rekey-system\/rekey-uploads is held by another rotator: got holder pod-x \(renewed .*\)\. Another step of this credential is running; this Job fails without changing anything and its retry waits again\.$/);
    expect(h.minio.snapshot()).toBe(before);
  }, 60_000);
});

describe('an unfinished previous rotation', () => {
  it('generation 3 finishes generation 2 first (its retire was killed mid-wait): no key left behind, none revoked early', async () => {
    // GIVEN generation 2 activated and delivered, its retire killed while replacing pods (the Job pruned)
    const p2 = plan(h, 2);
    stage(h, 2);
    expect(await step(h, 'activate', p2)).toBe(0);
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p2)).toBe(0);
    setChecksum(h, 'api', 'c2');
    let killed = false;
    const kill = (point: string) => {
      if (point === 'kube:delete:after' && !killed) {
        killed = true;
        throw new Error('Job pruned');
      }
    };
    expect(await step(h, 'retire', p2, { holder: 'retire-g2', boundary: kill })).toBe(3);
    expect(keyActive(h, pairOf(1).accessKeyId)).toBe(true);
    expect(record(h, 2)).toMatchObject({ phase: 'delivered' });

    // WHEN generation 3 starts (a second pull request merged)
    const p3 = plan(h, 3);
    stage(h, 3);
    expect(await step(h, 'activate', p3, { holder: 'activate-g3' })).toBe(0);

    // THEN generation 2's old key was revoked under the evidence rule first, then key 3 added
    expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
    expect(keyActive(h, pairOf(2).accessKeyId)).toBe(true);
    expect(keyActive(h, pairOf(3).accessKeyId)).toBe(true);
    expect(record(h, 2)).toMatchObject({ phase: 'retired', finishedByGeneration: 3 });
    expect(h.logger.records.some((r) => r.msg === 'rotator activate for credential uploads generation 3: finishing unfinished generation 2 first')).toBe(true);

    // WHEN generation 3 completes
    deliverSecret(h, 3);
    expect(await step(h, 'deliver', p3)).toBe(0);
    setChecksum(h, 'api', 'c3');
    expect(await step(h, 'retire', p3)).toBe(0);

    // THEN only key 3 is left, and no key was ever revoked while a pod that started with it was alive
    expect([...h.minio.serviceAccounts.keys()].sort()).toEqual([pairOf(3).accessKeyId]);
    expect(violations).toEqual([]);
    // a late re-run of generation 2's steps is a no-op
    expect(await step(h, 'retire', p2)).toBe(0);
    expect(h.logger.records.at(-1)!.msg).toMatch(/nothing to do: generation 3 has started since/);
  }, 120_000);
});

describe('revoke (panic)', () => {
  it('activates the new key and revokes the old one at once, listing the consumer pods still stale', async () => {
    const p = plan(h, 2);
    stage(h, 2);
    // WHEN the panic button runs before anything was delivered
    expect(await step(h, 'revoke', p)).toBe(0);
    // THEN key 2 works, key 1 is gone, and the record names every stale consumer pod
    expect(keyActive(h, pairOf(2).accessKeyId)).toBe(true);
    expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
    const rec = record(h, 2) as { phase: string; stalePodsAtRevoke: string[]; revoke: Record<string, string> };
    expect(rec.phase).toBe('revoked');
    expect(rec.stalePodsAtRevoke).toHaveLength(4);
    expect(rec.stalePodsAtRevoke).toEqual(expect.arrayContaining(['ingest/db-0', 'ingest/db-1']));
    expect(rec.revoke.rejectedAfterDelete).toMatch(/InvalidAccessKeyId, control FAKEKEYGEN2AAAAAAAA accepted/);
    // the invariant checker sees what the panic knowingly did (it is not a test that cannot fail)
    expect(stalePodsHoldingOldKey(h, pairOf(1).accessKeyId)).toHaveLength(4);
  }, 60_000);
});
