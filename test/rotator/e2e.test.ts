/** activate → deliver → retire end to end, in process: the fake API server (client-node through a kubeconfig) and the fake MinIO. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { res } from '../support/kube/index.js';
import {
  deliverSecret, deployment, keyActive, livePods, minioAdmin, NS, onDeleteSts, pairOf, plan, record, setChecksum, stage, startHarness, stalePodsHoldingOldKey, step, type Harness,
} from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  // GIVEN generation 1's key at the provider, in the target Secret, read by a Deployment (2) and an OnDelete StatefulSet (3)
  const admin = minioAdmin(h);
  await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
  await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
  admin.close();
  deliverSecret(h, 1);
  h.kube.apply(deployment('api', 2, 'c1'));
  h.kube.apply(onDeleteSts('db', 3));
  await h.kube.settle();
}, 30_000);

afterEach(async () => {
  await h.close();
});

function requestsOf(verb: string, resource: string, sub?: string) {
  return h.kube.requests.filter((r) => r.info?.verb === verb && r.info.resource === resource && r.info.subresource === sub && r.status !== 'dropped');
}

describe('rotation end to end', () => {
  it('activates, delivers, replaces every stale pod (OnDelete highest ordinal first) and revokes the old key with proof', async () => {
    const p = plan(h, 2);
    stage(h, 2);

    // WHEN activate runs
    expect(await step(h, 'activate', p)).toBe(0);
    // THEN both keys are valid and the record says activated
    expect(keyActive(h, pairOf(1).accessKeyId)).toBe(true);
    expect(keyActive(h, pairOf(2).accessKeyId)).toBe(true);
    expect(record(h, 2)).toMatchObject({ phase: 'activated', accessKeyId: pairOf(2).accessKeyId, previousAccessKeyId: pairOf(1).accessKeyId });

    // WHEN the Secret is delivered, deliver runs, then the Deployment's checksum changes (the GitOps waves)
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(0);
    expect(record(h, 2)).toMatchObject({ phase: 'delivered' });
    setChecksum(h, 'api', 'c2');

    // WHEN retire runs
    expect(await step(h, 'retire', p)).toBe(0);

    // THEN the old key is gone at the provider, the new one works, no live pod started with the old key
    expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
    expect(keyActive(h, pairOf(2).accessKeyId)).toBe(true);
    expect(stalePodsHoldingOldKey(h, pairOf(1).accessKeyId)).toEqual([]);
    // the OnDelete StatefulSet's pods were deleted highest ordinal first, one at a time; no eviction for them
    expect(requestsOf('delete', 'pods').map((r) => r.info!.name)).toEqual(['db-2', 'db-1', 'db-0']);
    const rec = record(h, 2) as { phase: string; replacedPods: { pod: string; how: string }[]; revoke: Record<string, string> };
    expect(rec.phase).toBe('retired');
    expect(rec.replacedPods.map((x) => `${x.pod}:${x.how}`)).toEqual(['db-2:deleted', 'db-1:deleted', 'db-0:deleted']);
    expect(rec.revoke.disabledAt).toBeDefined();
    expect(rec.revoke.rejectedAfterDisable).toMatch(/InvalidAccessKeyId, control FAKEKEYGEN2AAAAAAAA accepted/);
    expect(rec.revoke.rejectedAfterDelete).toMatch(/InvalidAccessKeyId/);
    // no line carries a secret
    const all = h.logger.lines.join('\n');
    expect(all).not.toContain('fake-secret-generation');
    expect(all).not.toContain(ADMIN_SECRET);

    // AND a re-run of every step is a no-op (exit 0, nothing changes)
    const before = h.minio.snapshot();
    for (const s of ['activate', 'deliver', 'retire'] as const) expect(await step(h, s, p)).toBe(0);
    expect(h.minio.snapshot()).toBe(before);
    printLog(h.logger.lines);
  }, 60_000);

  it('replaces the pods of a consumer app that synced too early (restarted before the Secret changed) before revoking', async () => {
    const p = plan(h, 2);
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    // GIVEN the consumer's app synced first: a new checksum rolls the Deployment while the Secret still holds key 1
    setChecksum(h, 'api', 'c2');
    await h.kube.settle();
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(0);
    // the Deployment's rollout is complete, but its pods started with key 1
    expect(stalePodsHoldingOldKey(h, pairOf(1).accessKeyId).filter((n) => n.startsWith('api-'))).toHaveLength(2);

    // WHEN retire runs
    expect(await step(h, 'retire', p)).toBe(0);

    // THEN the too-early pods were evicted (Eviction API) before the revoke, and none holds key 1
    expect(requestsOf('create', 'pods', 'eviction').length).toBeGreaterThanOrEqual(2);
    expect(stalePodsHoldingOldKey(h, pairOf(1).accessKeyId)).toEqual([]);
    expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
    const rec = record(h, 2) as { replacedPods: { pod: string; how: string }[] };
    expect(rec.replacedPods.filter((x) => x.how === 'evicted')).toHaveLength(2);
  }, 60_000);
});

const ADMIN_SECRET = 'fake-admin-secret-0000';

function printLog(lines: readonly string[]): void {
  // the end-to-end log excerpt for the report (key IDs only)
  process.stdout.write(`\nE2E LOG\n${lines.filter((l) => !l.includes('"level":"debug"')).slice(0, 60).join('\n')}\n`);
}

void livePods;
void NS;
void res;
