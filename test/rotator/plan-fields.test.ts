/** What the plan says beyond names: the keys each target Secret holds, and the Lease timing. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { res } from '../support/kube/index.js';
import { deliverSecret, keyActive, minioAdmin, pairOf, plan, stage, startHarness, step, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  const admin = minioAdmin(h);
  await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
  await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
  admin.close();
  deliverSecret(h, 1);
  await h.kube.settle();
}, 30_000);

afterEach(async () => {
  await h.close();
});

const lastError = () => h.logger.records.filter((r) => r.level === 'error').at(-1) as unknown as { msg: string; code: string };
const deadlines = { activateSeconds: 300, deliverSeconds: 30, retireSeconds: 30, verifySeconds: 60, kubeletRefreshSeconds: 20 };
const keys = [
  { name: 'access-key', holds: 'accessKeyId' as const },
  { name: 'secret-key', holds: 'secretAccessKey' as const },
  { name: 'endpoint', holds: 'extra' as const },
];

describe('the keys of a target Secret', () => {
  it('GIVEN a target unsealed with the new key ID but without a key the plan lists WHEN deliver and retire run THEN both fail naming the missing key; the old key stays valid', async () => {
    const p = plan(h, 2, { deadlines, consumers: [], targets: [{ namespace: 'ingest', secretName: 'uploads-s3', delivery: 'sealed', keys }] });
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    // GIVEN the new pair, but no `endpoint` key (the SealedSecret template lost it)
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(3);
    expect(lastError().msg.replace(/within \d+ s/, 'within N s')).toBe(
      `rotator deliver for credential uploads generation 2: every target Secret holding access-key ID ${pairOf(2).accessKeyId} did not happen within N s: got target Secret ingest/uploads-s3 lacks key endpoint (the plan lists them for this target). Check the target's delivery (SealedSecret unsealed by the controller? ExternalSecret synced?) and re-run deliver.`,
    );
    expect(await step(h, 'retire', p)).toBe(3);
    expect(lastError().msg).toMatch(/every target Secret holding a key newer than \S+ did not happen within \d+ s: got Secret ingest\/uploads-s3 lacks key endpoint \(the plan lists them for this target\)\./);
    expect(keyActive(h, pairOf(1).accessKeyId)).toBe(true);

    // WHEN the Secret gets the key THEN deliver passes
    const s = structuredClone(h.kube.registry.get(res('secrets'), 'ingest', 'uploads-s3'));
    (s.data as Record<string, string>).endpoint = Buffer.from('http://minio.storage.svc:9000').toString('base64');
    h.kube.registry.update(res('secrets'), 'ingest', 'uploads-s3', s);
    expect(await step(h, 'deliver', p)).toBe(0);
  }, 60_000);

  it('GIVEN custom alias keys the presets do not know WHEN the Secret holds the new ID only under an unlisted name THEN deliver waits: the listed keys decide', async () => {
    const custom = [
      { name: 'S3_KEY', holds: 'accessKeyId' as const },
      { name: 'S3_SECRET', holds: 'secretAccessKey' as const },
    ];
    const p = plan(h, 2, { deadlines, consumers: [], targets: [{ namespace: 'ingest', secretName: 'uploads-s3', delivery: 'sealed', keys: custom }] });
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    // the generic aliases hold the new pair; the plan says the Secret holds S3_KEY/S3_SECRET
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(3);
    expect(lastError().msg).toContain('got target Secret ingest/uploads-s3 holds access-key ID none recognised (its annotation');
    const s = structuredClone(h.kube.registry.get(res('secrets'), 'ingest', 'uploads-s3'));
    const pair = pairOf(2);
    s.data = { S3_KEY: Buffer.from(pair.accessKeyId).toString('base64'), S3_SECRET: pair.secretAccessKey.revealBytes().toString('base64') };
    h.kube.registry.update(res('secrets'), 'ingest', 'uploads-s3', s);
    expect(await step(h, 'deliver', p)).toBe(0);
  }, 60_000);
});

describe('the Lease timing', () => {
  const leaseWrites = () => h.kube.requests.filter((r) => r.info?.resource === 'leases' && (r.method === 'PUT' || r.method === 'POST') && r.status !== 'dropped' && Number(r.status) < 300).length;

  it('GIVEN lease.durationSeconds and renewSeconds WHEN a step waits THEN the Lease carries the duration and is renewed at that interval', async () => {
    const p = plan(h, 2, { deadlines, consumers: [], lease: { durationSeconds: 20, renewSeconds: 4 } });
    stage(h, 2);
    let duration: unknown;
    const boundary = (point: string) => {
      if (point === 'kube:lease:after') duration = (h.kube.registry.get(res('leases'), 'rekey-system', 'rekey-uploads').spec as { leaseDurationSeconds: number }).leaseDurationSeconds;
    };
    expect(await step(h, 'activate', p, { boundary })).toBe(0);
    expect(duration).toBe(20);
    // WHEN deliver waits its whole deadline (30 fake s) for a Secret that never arrives
    const before = leaseWrites();
    expect(await step(h, 'deliver', p)).toBe(3);
    // THEN acquire + about 30/4 renewals + release (the default 15 s would give 1 + 2 + 1)
    expect(leaseWrites() - before).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('GIVEN lease.acquireSeconds WHEN another live rotator holds the Lease THEN the step gives up after that wait, not its own deadline', async () => {
    const p = plan(h, 2, { deadlines, lease: { acquireSeconds: 5 } });
    stage(h, 2);
    h.kube.apply({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'rekey-uploads', namespace: 'rekey-system' }, spec: { holderIdentity: 'pod-x', leaseDurationSeconds: 3600, renewTime: h.kube.clock.microTime() } });
    const started = h.kube.clock.nowMs();
    expect(await step(h, 'activate', p, { holder: 'pod-y' })).toBe(3);
    expect(lastError().code).toBe('LEASE_HELD');
    // activateSeconds is 300: the wait ended after about 5 fake seconds (one backoff step of slack)
    expect(h.kube.clock.nowMs() - started).toBeLessThan(15_000);
    expect(keyActive(h, pairOf(2).accessKeyId)).toBe(false);
  }, 60_000);
});
