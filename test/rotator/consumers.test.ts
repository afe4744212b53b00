/**
 * The retire step end to end for each consumer kind beyond Deployments and StatefulSets: a
 * DaemonSet, an Argo Rollout, a CronJob's Jobs and file consumers. Each test asserts the evidence
 * the record carries, and — through a monitor that runs throughout — that the old key was revoked
 * only after no live pod could still hold it.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { RotationPlanInput } from '../../lib/core/plan.js';
import { res, type KubeObject, type Obj } from '../support/kube/index.js';
import {
  cronJob, daemonSet, deliverSecret, fileDeployment, jobOf, keyActive, livePods, minioAdmin, NS, pairOf, plan, record, rollout, setTemplateChecksum, stage, stalePodsHoldingOldKey, startHarness, step, TARGET, type Harness,
} from './harness.js';

let h: Harness;
let monitor: NodeJS.Timeout | undefined;
let violations: string[];
/** Fake-clock ms when the old key first stopped working. */
let oldKeyOffAt: number | undefined;

async function given(kubelet: Parameters<typeof startHarness>[0] = {}): Promise<void> {
  h = await startHarness(kubelet);
  const admin = minioAdmin(h);
  await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
  await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
  admin.close();
  deliverSecret(h, 1);
  violations = [];
  oldKeyOffAt = undefined;
  monitor = setInterval(() => {
    if (keyActive(h, pairOf(1).accessKeyId)) return;
    oldKeyOffAt ??= h.kube.clock.nowMs();
    const stale = stalePodsHoldingOldKey(h, pairOf(1).accessKeyId);
    if (stale.length > 0) violations.push(`key 1 revoked while ${stale.join(',')} alive`);
  }, 2);
}

afterEach(async () => {
  clearInterval(monitor);
  await h?.close();
});

type Consumer = NonNullable<RotationPlanInput['consumers']>[number];
const consumer = (kind: Consumer['kind'], name: string, mode: Consumer['mode'], over: Partial<Consumer> = {}): Consumer => ({
  kind,
  apiVersion: kind === 'Rollout' ? 'argoproj.io/v1alpha1' : kind === 'CronJob' || kind === 'Job' ? 'batch/v1' : 'apps/v1',
  namespace: NS,
  name,
  mode,
  secretName: TARGET,
  updateStrategy: kind === 'DaemonSet' ? 'RollingUpdate' : null,
  checksum: mode === 'file' ? null : 'c1',
  replacePodsOnDelete: false,
  ...over,
});

interface Rec {
  phase: string;
  targetsFirstSeen: Record<string, string>;
  replacedPods: { namespace: string; pod: string; how: string; at: string }[];
  revoke: { keyId: string; disabledAt: string; rejectedAfterDisable: string; deletedAt: string; rejectedAfterDelete: string };
}

/** activate → the target Secret changes → deliver, for generation 2. */
async function activateAndDeliver(p: RotationPlanInput): Promise<void> {
  stage(h, 2);
  expect(await step(h, 'activate', p)).toBe(0);
  deliverSecret(h, 2);
  expect(await step(h, 'deliver', p)).toBe(0);
}

/** The retire's end state every consumer kind shares: retired, old key disabled then deleted, both proven. */
function expectRetired(): Rec {
  const rec = record(h, 2) as unknown as Rec;
  expect(rec.phase).toBe('retired');
  expect(rec.revoke.keyId).toBe(pairOf(1).accessKeyId);
  expect(rec.revoke.rejectedAfterDisable).toMatch(/InvalidAccessKeyId, control FAKEKEYGEN2AAAAAAAA accepted/);
  expect(rec.revoke.rejectedAfterDelete).toMatch(/InvalidAccessKeyId, control FAKEKEYGEN2AAAAAAAA accepted/);
  expect(h.minio.serviceAccounts.has(pairOf(1).accessKeyId)).toBe(false);
  expect(keyActive(h, pairOf(2).accessKeyId)).toBe(true);
  expect(violations).toEqual([]);
  return rec;
}

const ms = (s: string) => Date.parse(s);
const podsOf = (app: string) => livePods(h).filter((p) => p.metadata.labels?.app === app);
const startedMs = (p: KubeObject) => Math.min(...(((p.status as Obj).containerStatuses as Obj[]) ?? []).map((c) => Date.parse(((c.state as Obj).running as Obj | undefined)?.startedAt as string)));

describe('retire with a DaemonSet consumer', () => {
  it('GIVEN its app never synced (pods stale) WHEN retire runs THEN it evicts each DaemonSet pod, one at a time, the replacement Ready before the next; then revokes', async () => {
    await given({ kubelet: { kubelet: { nodes: ['node-1', 'node-2', 'node-3'] } } });
    h.kube.apply(daemonSet('agent', 'c1'));
    await h.kube.settle();
    expect(podsOf('agent')).toHaveLength(3);
    const before = podsOf('agent').map((p) => p.metadata.uid);
    const p = plan(h, 2, { overlapSeconds: 0, consumers: [consumer('DaemonSet', 'agent', 'env')] });
    await activateAndDeliver(p);

    expect(await step(h, 'retire', p)).toBe(0);

    const rec = expectRetired();
    const evicted = rec.replacedPods.filter((e) => e.how === 'evicted');
    expect(evicted).toHaveLength(3);
    expect(new Set(evicted.map((e) => e.pod)).size).toBe(3);
    // one at a time: the eviction log shows no two evictions without a Ready replacement between them
    expect(h.kube.requests.filter((r) => r.info?.subresource === 'eviction' && r.status === 201)).toHaveLength(3);
    // every DaemonSet pod now is a new one, started after the Secret held the new key, one per node
    const firstSeen = ms(rec.targetsFirstSeen[`${NS}/${TARGET}`]!);
    const after = podsOf('agent');
    expect(after).toHaveLength(3);
    expect(after.some((x) => before.includes(x.metadata.uid))).toBe(false);
    for (const x of after) expect(startedMs(x)).toBeGreaterThan(firstSeen);
    expect(new Set(after.map((x) => (x.spec as Obj).nodeName)).size).toBe(3);
    // the revoke came after the last eviction
    expect(ms(rec.revoke.disabledAt)).toBeGreaterThanOrEqual(Math.max(...evicted.map((e) => ms(e.at))));
  }, 90_000);
});

describe('retire with an Argo Rollout consumer', () => {
  it('GIVEN its app synced the new checksum (the Rollout rolls) WHEN retire runs THEN it waits for phase Healthy and no stale pod is left; then revokes', async () => {
    await given();
    h.kube.apply(rollout('web', 3, 'c1'));
    await h.kube.settle();
    expect(podsOf('web')).toHaveLength(3);
    const p = plan(h, 2, { overlapSeconds: 0, consumers: [consumer('Rollout', 'web', 'env')] });
    await activateAndDeliver(p);
    // the consumer app syncs: the Rollout starts rolling while retire runs
    setTemplateChecksum(h, 'rollouts', 'web', 'c2');

    expect(await step(h, 'retire', p)).toBe(0);

    const rec = expectRetired();
    const ro = h.kube.registry.get(res('rollouts'), NS, 'web');
    expect((ro.status as Obj).phase).toBe('Healthy');
    const firstSeen = ms(rec.targetsFirstSeen[`${NS}/${TARGET}`]!);
    const pods = podsOf('web');
    expect(pods).toHaveLength(3);
    for (const x of pods) {
      expect(startedMs(x)).toBeGreaterThan(firstSeen);
      expect(h.set.kubelet.containerStart(NS, x.metadata.name!, 'web')!.env.AWS_ACCESS_KEY_ID).toBe(pairOf(2).accessKeyId);
    }
    expect(h.logger.records.some((r) => /consumer rollouts complete/.test(r.msg) && (r.workloads as string[]).includes('Rollout/ingest/web'))).toBe(true);
    expect(oldKeyOffAt).toBeDefined();
  }, 90_000);

  it('GIVEN its app never synced WHEN retire runs THEN it evicts the stale Rollout pods (the ReplicaSet replaces them); then revokes', async () => {
    await given();
    h.kube.apply(rollout('web', 2, 'c1'));
    await h.kube.settle();
    const p = plan(h, 2, { overlapSeconds: 0, consumers: [consumer('Rollout', 'web', 'env')] });
    await activateAndDeliver(p);

    expect(await step(h, 'retire', p)).toBe(0);

    const rec = expectRetired();
    expect(rec.replacedPods.filter((e) => e.how === 'evicted')).toHaveLength(2);
    for (const x of podsOf('web')) expect(h.set.kubelet.containerStart(NS, x.metadata.name!, 'web')!.env.AWS_ACCESS_KEY_ID).toBe(pairOf(2).accessKeyId);
  }, 90_000);
});

describe('retire with a CronJob consumer', () => {
  it('GIVEN a Job of the CronJob that started stale WHEN retire runs THEN it waits for that Job to finish (never evicts it), a Job started later runs fresh, and the revoke comes after', async () => {
    await given({ kubelet: { kubelet: { runner: (pod) => ({ exitCode: 0, afterTicks: pod.metadata.labels?.['job-name'] === 'export-1' ? 60 : 2 }) } } });
    h.kube.apply(cronJob('export'));
    // GIVEN last night's Job running with key 1
    h.kube.apply(jobOf(h, 'export', 'export-1'));
    await h.kube.settle();
    const stalePod = livePods(h).find((x) => x.metadata.labels?.['job-name'] === 'export-1')!;
    expect((stalePod.status as Obj).phase).toBe('Running');
    expect(h.set.kubelet.containerStart(NS, stalePod.metadata.name!, 'export')!.env.AWS_ACCESS_KEY_ID).toBe(pairOf(1).accessKeyId);
    const p = plan(h, 2, { overlapSeconds: 0, consumers: [consumer('CronJob', 'export', 'env')] });
    await activateAndDeliver(p);
    // a Job the CronJob starts after the Secret changed
    h.kube.apply(jobOf(h, 'export', 'export-2'));

    expect(await step(h, 'retire', p)).toBe(0);

    const rec = expectRetired();
    // the stale Job pod ran to its end; it was never evicted or deleted
    const finished = h.kube.registry.get(res('pods'), NS, stalePod.metadata.name!);
    expect((finished.status as Obj).phase).toBe('Succeeded');
    expect(rec.replacedPods).toEqual([expect.objectContaining({ namespace: NS, pod: stalePod.metadata.name, how: 'finished' })]);
    expect(h.kube.requests.some((r) => r.info?.subresource === 'eviction' || (r.method === 'DELETE' && r.info?.resource === 'pods'))).toBe(false);
    const finishedAt = Date.parse((((finished.status as Obj).containerStatuses as Obj[])[0]!.state as { terminated: { finishedAt: string } }).terminated.finishedAt);
    expect(oldKeyOffAt!).toBeGreaterThanOrEqual(finishedAt);
    expect(ms(rec.revoke.disabledAt)).toBeGreaterThanOrEqual(finishedAt);
    // the later Job started with the new key
    const fresh = h.kube.registry.list(res('pods'), NS).find((x) => x.metadata.labels?.['job-name'] === 'export-2')!;
    expect(h.set.kubelet.containerStart(NS, fresh.metadata.name!, 'export')!.env.AWS_ACCESS_KEY_ID).toBe(pairOf(2).accessKeyId);
  }, 90_000);
});

describe('retire with file consumers', () => {
  it('GIVEN pods that mount the Secret as files WHEN retire runs THEN none is restarted, and the revoke waits the kubelet refresh bound after the Secret changed', async () => {
    await given();
    h.kube.apply(fileDeployment('reader', 2));
    await h.kube.settle();
    const before = podsOf('reader').map((x) => `${x.metadata.name}:${x.metadata.uid}`).sort();
    const p = plan(h, 2, { overlapSeconds: 0, consumers: [consumer('Deployment', 'reader', 'file')] });
    const refresh = (p.deadlines as { kubeletRefreshSeconds: number }).kubeletRefreshSeconds;
    await activateAndDeliver(p);

    expect(await step(h, 'retire', p)).toBe(0);

    const rec = expectRetired();
    // no restart, no eviction
    expect(podsOf('reader').map((x) => `${x.metadata.name}:${x.metadata.uid}`).sort()).toEqual(before);
    expect(h.kube.requests.some((r) => r.info?.subresource === 'eviction')).toBe(false);
    // the evidence: each file consumer pod, current once the refresh bound passed
    const firstSeen = ms(rec.targetsFirstSeen[`${NS}/${TARGET}`]!);
    const refreshed = rec.replacedPods.filter((e) => e.how === 'refreshed');
    expect(refreshed.map((e) => e.pod).sort()).toEqual(before.map((b) => b.split(':')[0]));
    for (const e of refreshed) expect(ms(e.at)).toBe(firstSeen + refresh * 1000);
    expect(ms(rec.revoke.disabledAt)).toBeGreaterThanOrEqual(firstSeen + refresh * 1000);
    expect(oldKeyOffAt!).toBeGreaterThanOrEqual(firstSeen + refresh * 1000);
  }, 90_000);
});
