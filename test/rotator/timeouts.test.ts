/** Every wait has a deadline; a timeout fails the Job naming what blocked it, and the old key stays valid. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { res } from '../support/kube/index.js';
import {
  deliverSecret, deployment, keyActive, minioAdmin, onDeleteSts, pairOf, plan, record, setChecksum, stage, startHarness, step, type Harness,
} from './harness.js';

let h: Harness;
let neverReady = false;

afterEach(async () => {
  neverReady = false;
  await h?.close();
});

async function given(withSts: boolean): Promise<void> {
  h = await startHarness({ kubelet: { kubelet: { neverReady: (p) => neverReady && p.metadata.labels?.app === 'db' } } });
  const admin = minioAdmin(h);
  await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
  await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
  admin.close();
  deliverSecret(h, 1);
  h.kube.apply(deployment('api', 2, 'c1'));
  if (withSts) h.kube.apply(onDeleteSts('db', 2));
  await h.kube.settle();
}

const shortDeadlines = { activateSeconds: 300, deliverSeconds: 40, retireSeconds: 60, verifySeconds: 60, kubeletRefreshSeconds: 20 };

function lastError(): { msg: string; code: string } {
  return h.logger.records.filter((r) => r.level === 'error').at(-1) as unknown as { msg: string; code: string };
}

describe('timeouts before the revoke', () => {
  it('a replacement pod that never becomes Ready fails retire naming it; the old key stays valid', async () => {
    await given(true);
    const p = plan(h, 2, { deadlines: shortDeadlines });
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(0);
    setChecksum(h, 'api', 'c2');
    neverReady = true;

    // WHEN retire deletes db-1 and its replacement never becomes Ready
    expect(await step(h, 'retire', p)).toBe(3);

    // THEN the error names the pod, and the old key still works
    expect(lastError().code).toBe('DEADLINE_EXCEEDED');
    expect(lastError().msg).toMatch(/^rotator retire for credential uploads generation 2: the replacement of stale pod ingest\/db-1 becoming Ready did not happen within \d+ s: got new pod ingest\/db-1 not Ready\. /);
    expect(keyActive(h, pairOf(1).accessKeyId)).toBe(true);
    expect(record(h, 2)).toMatchObject({ phase: 'delivered' });
  }, 60_000);

  it('a PodDisruptionBudget that never allows the eviction fails retire naming the pod and the budget; the old key stays valid', async () => {
    await given(false);
    const p = plan(h, 2, { deadlines: shortDeadlines, consumers: [plan(h, 2).consumers![0]!] });
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    // GIVEN the app synced too early (stale pods) and a PDB that allows no disruption
    setChecksum(h, 'api', 'c2');
    await h.kube.settle();
    h.kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'api-pdb', namespace: 'ingest' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'api' } } } });
    await h.kube.settle();
    deliverSecret(h, 2);
    expect(await step(h, 'deliver', p)).toBe(0);

    // WHEN retire tries to evict
    expect(await step(h, 'retire', p)).toBe(3);

    // THEN it retried the 429s until the deadline and names the pod and the refusal
    expect(lastError().code).toBe('DEADLINE_EXCEEDED');
    expect(lastError().msg).toMatch(/eviction of stale pod ingest\/api-[a-z0-9]+-[a-z0-9]+ did not succeed before the deadline: got HTTP 429 TooManyRequests: Cannot evict pod as it would violate the pod's disruption budget\. Check its PodDisruptionBudget/);
    expect(h.kube.requests.filter((r) => r.info?.subresource === 'eviction' && r.status === 429).length).toBeGreaterThan(1);
    expect(keyActive(h, pairOf(1).accessKeyId)).toBe(true);
  }, 60_000);

  it('a target Secret that is never unsealed fails deliver and retire naming the target; the old key stays valid', async () => {
    await given(false);
    const p = plan(h, 2, { deadlines: shortDeadlines, consumers: [] });
    stage(h, 2);
    expect(await step(h, 'activate', p)).toBe(0);
    // GIVEN someone copied the new annotation onto the Secret, but its data still holds key 1
    const s = structuredClone(h.kube.registry.get(res('secrets'), 'ingest', 'uploads-s3'));
    s.metadata.annotations = { 'rekey.dev/access-key-id': pairOf(2).accessKeyId };
    h.kube.registry.update(res('secrets'), 'ingest', 'uploads-s3', s);

    // WHEN deliver and retire run
    expect(await step(h, 'deliver', p)).toBe(3);
    expect(lastError().msg.replace(/within \d+ s/, 'within N s')).toBe(
      `rotator deliver for credential uploads generation 2: every target Secret holding access-key ID ${pairOf(2).accessKeyId} did not happen within N s: got target Secret ingest/uploads-s3 holds access-key ID ${pairOf(1).accessKeyId} (its annotation already says ${pairOf(2).accessKeyId}: the data decides). Check the target's delivery (SealedSecret unsealed by the controller? ExternalSecret synced?) and re-run deliver.`,
    );
    expect(await step(h, 'retire', p)).toBe(3);
    expect(lastError().msg).toMatch(new RegExp(`every target Secret holding a key newer than ${pairOf(1).accessKeyId} did not happen within \\d+ s: got Secret ingest/uploads-s3 holds access-key ID ${pairOf(1).accessKeyId}\\.`));

    // THEN the old key still works
    expect(keyActive(h, pairOf(1).accessKeyId)).toBe(true);
  }, 60_000);
});
