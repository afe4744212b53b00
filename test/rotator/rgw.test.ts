/**
 * activate → deliver → retire against a REAL radosgw (scripts/rgw.sh; skipped loudly outside CI
 * when it cannot run, never in CI), identity kind `user`: RGW cannot disable one of a user's
 * keys (PROVIDER_UNSUPPORTED), so the revoke deletes it directly and proves the rejection.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { RgwAdminClient } from '../../lib/providers/ceph-rgw/client.js';
import { rgwDescribeMode, type RgwTestCluster } from '../support/rgw.js';
import { startRgwHarness, stopRgwHarness } from './rgw-harness.js';
import { deliverSecret, deployment, pairOf, plan, record, setChecksum, stage, stalePodsHoldingOldKey, step, type Harness } from './harness.js';

const mode = rgwDescribeMode('test/rotator/rgw.test.ts (real radosgw)');
const describeRgw = mode === 'run' ? describe : describe.skip;

describeRgw('rotation end to end against a real radosgw', () => {
  let cluster: RgwTestCluster;
  let h: Harness;
  let admin: RgwAdminClient;
  const run = randomBytes(4).toString('hex').toUpperCase();
  const uid = `rekey-rotator-${run.toLowerCase()}`;

  beforeAll(async () => {
    ({ cluster, h, admin } = await startRgwHarness(`RK${run}`));
  }, 240_000);

  afterAll(() => stopRgwHarness({ h, admin }));

  it('adds the staged pair beside the old key, replaces stale pods, deletes the old key and proves it rejected', async () => {
    // GIVEN user <uid> with key 1 in the target Secret, read by a Deployment
    const identity = { kind: 'user' as const, name: uid };
    await admin.ensureIdentity(identity);
    await admin.addKey(identity, pairOf(1));
    deliverSecret(h, 1);
    h.kube.apply(deployment('api', 2, 'c1'));
    await h.kube.settle();
    const p = plan(h, 2, {
      provider: { name: 'rgw', kind: 'ceph-rgw', endpoint: cluster.endpoint, region: 'us-east-1', adminSecret: { name: 'rgw-admin' }, caBundle: null },
      identity: { kind: 'user', name: uid, users: null },
      consumers: [plan(h, 2).consumers![0]!],
      deadlines: { activateSeconds: 900, deliverSeconds: 900, retireSeconds: 1800, verifySeconds: 600, kubeletRefreshSeconds: 20 },
    });
    stage(h, 2);

    expect(await step(h, 'activate', p)).toBe(0);
    expect((await admin.listKeys(identity)).map((k) => k.accessKeyId).sort()).toEqual([pairOf(1).accessKeyId, pairOf(2).accessKeyId].sort());
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(0);
    setChecksum(h, 'api', 'c2');
    expect(await step(h, 'retire', p)).toBe(0);

    // THEN only key 2 is left; the record shows the direct delete and the proof
    expect((await admin.listKeys(identity)).map((k) => k.accessKeyId)).toEqual([pairOf(2).accessKeyId]);
    const rec = record(h, 2) as { phase: string; revoke: Record<string, string> };
    expect(rec.phase).toBe('retired');
    expect(rec.revoke.disabledAt).toBe('unsupported by ceph-rgw: deleted directly');
    expect(rec.revoke.rejectedAfterDelete).toMatch(new RegExp(`InvalidAccessKeyId, control ${pairOf(2).accessKeyId} accepted`));
    expect(stalePodsHoldingOldKey(h, pairOf(1).accessKeyId)).toEqual([]);
    expect(h.logger.lines.join('\n')).not.toContain(cluster.admin.secretAccessKey.reveal());
  }, 300_000);
});
