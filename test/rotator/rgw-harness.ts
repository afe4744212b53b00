/**
 * The rotator's test harness (test/rotator/harness.ts) in front of a REAL radosgw (./rgw.ts): key
 * IDs carry a per-run prefix (RGW access keys are global), an admin client on the cluster, and the
 * cluster's admin key mounted where the rotator reads it. Used by the rotator tests that run
 * against radosgw; call `rgwDescribeMode` (./rgw.ts) first to skip or fail when it cannot run.
 */
import { RgwAdminClient } from '../../lib/providers/ceph-rgw/client.js';
import { setKeyPrefix, startHarness, type Harness } from './harness.js';
import { ensureRgw, type RgwTestCluster } from '../support/rgw.js';

export interface RgwHarness {
  readonly cluster: RgwTestCluster;
  readonly h: Harness;
  readonly admin: RgwAdminClient;
}

/** Finds or starts radosgw, sets the key-ID prefix `prefix` and starts the harness with the admin key mounted. */
export async function startRgwHarness(prefix: string): Promise<RgwHarness> {
  const cluster = await ensureRgw();
  setKeyPrefix(prefix);
  const h = await startHarness();
  const admin = new RgwAdminClient({ endpoint: cluster.endpoint, admin: cluster.admin });
  h.files.set('/etc/rekey/admin/access-key', Buffer.from(cluster.admin.accessKeyId));
  h.files.set('/etc/rekey/admin/secret-key', cluster.admin.secretAccessKey.revealBytes());
  return { cluster, h, admin };
}

/** Undoes `startRgwHarness`, also after it failed part way: the default key-ID prefix again, the admin client and the harness closed. */
export async function stopRgwHarness(rgw: Partial<RgwHarness>): Promise<void> {
  setKeyPrefix('FAKEKEY');
  rgw.admin?.close();
  await rgw.h?.close();
}
