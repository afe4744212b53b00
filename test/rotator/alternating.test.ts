/**
 * `alternatingUsers` end to end through the rotator against a REAL radosgw (scripts/rgw.sh;
 * skipped loudly outside CI when it cannot run, never in CI) — the provider that offers it among
 * those that run here (MinIO/RustFS refuse the kind; IAM keys are provider-drawn). Two rotations:
 * after each step, which user holds which key, and that only the plan's previous key is ever
 * removed (a stray key on the standby user is refused before any change).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { RgwAdminClient } from '../../lib/providers/ceph-rgw/client.js';
import type { IdentitySpec } from '../../lib/providers/provider.js';
import { rgwDescribeMode, type RgwTestCluster } from '../support/rgw.js';
import { startRgwHarness, stopRgwHarness } from './rgw-harness.js';
import { deliverSecret, deployment, pairOf, plan, record, setChecksum, stage, stalePodsHoldingOldKey, step, type Harness } from './harness.js';

const mode = rgwDescribeMode('test/rotator/alternating.test.ts (real radosgw)');
const describeRgw = mode === 'run' ? describe : describe.skip;

describeRgw('alternatingUsers: two rotations through the rotator against a real radosgw', () => {
  let cluster: RgwTestCluster;
  let h: Harness;
  let admin: RgwAdminClient;
  const run = randomBytes(4).toString('hex').toUpperCase();
  const base = `rekey-alt-${run.toLowerCase()}`;
  const [userA, userB] = [`${base}-a`, `${base}-b`] as const;
  const identity: IdentitySpec = { kind: 'alternatingUsers', name: base, users: [userA, userB] };

  beforeAll(async () => {
    ({ cluster, h, admin } = await startRgwHarness(`RA${run}`));
  }, 240_000);

  afterAll(() => stopRgwHarness({ h, admin }));

  /** `user: [keys]` for both users (a suspended user's keys included). */
  async function holders(): Promise<Record<string, string[]>> {
    const keys = await admin.listKeys(identity);
    const out: Record<string, string[]> = { [userA]: [], [userB]: [] };
    for (const k of keys) out[k.owner]!.push(k.accessKeyId);
    for (const v of Object.values(out)) v.sort();
    return out;
  }
  const k = (g: number) => pairOf(g).accessKeyId;
  /** The step's exit code, and its error line on failure (in the assertion message). */
  const stepErr = async (name: 'activate' | 'deliver' | 'retire', p: ReturnType<typeof planOf>): Promise<string> => {
    const code = await step(h, name, p);
    return code === 0 ? 'exit 0' : `exit ${code}: ${String(h.logger.records.filter((r) => r.level === 'error').at(-1)?.msg)}`;
  };
  const planOf = (g: number) =>
    plan(h, g, {
      provider: { name: 'rgw', kind: 'ceph-rgw', endpoint: cluster.endpoint, region: 'us-east-1', adminSecret: { name: 'rgw-admin' }, caBundle: null },
      identity: { kind: 'alternatingUsers', name: base, users: [userA, userB] },
      consumers: [plan(h, g).consumers![0]!],
      overlapSeconds: 0,
      deadlines: { activateSeconds: 900, deliverSeconds: 900, retireSeconds: 1800, verifySeconds: 600, kubeletRefreshSeconds: 20 },
    });

  it('generation 2 goes to user b, generation 3 back to user a; each retire removes exactly the plan previous key', async () => {
    // GIVEN user a holds key 1 (the first key of the identity), read by a Deployment
    await admin.ensureIdentity(identity);
    await admin.addKey(identity, pairOf(1));
    expect(await holders()).toEqual({ [userA]: [k(1)], [userB]: [] });
    deliverSecret(h, 1);
    h.kube.apply(deployment('api', 2, 'c1'));
    await h.kube.settle();

    // WHEN generation 2 activates THEN the new key goes to the standby user b; a keeps key 1
    const p2 = planOf(2);
    stage(h, 2);
    expect(await stepErr('activate', p2)).toBe('exit 0');
    expect(await holders()).toEqual({ [userA]: [k(1)], [userB]: [k(2)] });
    deliverSecret(h, 2);
    expect(await stepErr('deliver', p2)).toBe('exit 0');
    setChecksum(h, 'api', 'c2');
    // WHEN generation 2 retires THEN only key 1 (the plan's previous key) is gone: a holds nothing, b keeps key 2
    expect(await stepErr('retire', p2)).toBe('exit 0');
    expect(await holders()).toEqual({ [userA]: [], [userB]: [k(2)] });
    expect(record(h, 2)).toMatchObject({ phase: 'retired', accessKeyId: k(2), previousAccessKeyId: k(1), revoke: { keyId: k(1) } });
    // the disable suspended user a; a probe without the old secret cannot prove that, the one after the delete does
    const rev2 = (record(h, 2) as { revoke: Record<string, string> }).revoke;
    expect(rev2.rejectedAfterDisable).toBe('not provable: ceph-rgw suspends the user of an alternating key, and a probe without the old secret cannot tell it from a live key (proven after the delete)');
    expect(rev2.rejectedAfterDelete).toMatch(new RegExp(`InvalidAccessKeyId, control ${k(2)} accepted`));
    expect((await admin.getUser(userA))?.suspended).toBe(true);
    expect(stalePodsHoldingOldKey(h, k(1))).toEqual([]);

    // GIVEN a stray key on user a (not the plan's previous key) WHEN generation 3 activates
    const stray = { accessKeyId: `RS${run}STRAYKEY00`, secretAccessKey: pairOf(99).secretAccessKey };
    await admin.addUserKey(userA, stray);
    const p3 = planOf(3);
    stage(h, 3);
    expect(await step(h, 'activate', p3)).toBe(3);
    // THEN it is refused before any change: neither the stray key nor key 2 was touched, key 3 not added
    const err = h.logger.records.filter((r) => r.level === 'error').at(-1)!;
    expect(err.code).toBe('UNEXPECTED_KEY');
    expect(await holders()).toEqual({ [userA]: [stray.accessKeyId], [userB]: [k(2)] });

    // WHEN the stray key is removed by its owner and activate re-runs THEN key 3 goes to user a; b keeps key 2
    await admin.removeUserKey(userA, stray.accessKeyId);
    expect(await stepErr('activate', p3)).toBe('exit 0');
    expect(await holders()).toEqual({ [userA]: [k(3)], [userB]: [k(2)] });
    expect((await admin.getUser(userA))?.suspended).toBe(false);
    deliverSecret(h, 3);
    expect(await stepErr('deliver', p3)).toBe('exit 0');
    setChecksum(h, 'api', 'c3');
    // WHEN generation 3 retires THEN only key 2 is gone: a holds key 3, b nothing
    expect(await stepErr('retire', p3)).toBe('exit 0');
    expect(await holders()).toEqual({ [userA]: [k(3)], [userB]: [] });
    expect(record(h, 3)).toMatchObject({ phase: 'retired', accessKeyId: k(3), previousAccessKeyId: k(2), revoke: { keyId: k(2) } });
    expect(stalePodsHoldingOldKey(h, k(2))).toEqual([]);
    expect(h.logger.lines.join('\n')).not.toContain(cluster.admin.secretAccessKey.reveal());
  }, 600_000);
});
