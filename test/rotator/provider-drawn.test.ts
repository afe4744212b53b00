/**
 * Provider-drawn keys (aws-iam, external delivery): activate draws the key at IAM and stages it,
 * the PushSecret pushes it, the ExternalSecret delivers it, deliver force-syncs a target that
 * refreshed too early, retire revokes the previous key (from the plan, or from the record).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { res } from '../support/kube/index.js';
import { keyActive, minioAdmin, NS, pairOf, plan, record, setChecksum, startHarness, step, TARGET, type Harness } from './harness.js';
import { applyExternalSecret, applyPushSecret, drawnPlan, secretsInLogs, stagedKey, startDrawn, targetKey, USER, type DrawnHarness } from './provider-drawn-support.js';

let d: DrawnHarness | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

const keysOf = (x: DrawnHarness) => x.iam.keysOf(USER);
const ids = (x: DrawnHarness) => keysOf(x).map((k) => `${k.id}:${k.status}`);
const errors = (x: DrawnHarness) => x.h.logger.records.filter((r) => r.level === 'error').map((r) => r.msg);


describe('aws-iam with external delivery', () => {
  it('rotates twice: draw, push, early ExternalSecret force-synced, deliver, retire; the second takes its previous key from the record', async () => {
    d = await startDrawn();
    const { h } = d;
    const adopted = d.adopted.accessKeyId;
    expect(targetKey(d)).toBe(adopted);

    // ---- generation 2 (previous key: the adopted one, from the plan)
    const p2 = drawnPlan(d, 2);
    expect(await step(h, 'activate', p2)).toBe(0);
    const k2 = record(h, 2)!.accessKeyId as string;
    expect(k2).toMatch(/^AKIA/);
    expect(ids(d)).toEqual([`${adopted}:Active`, `${k2}:Active`]);
    expect(stagedKey(d, 2)).toBe(k2);
    expect(record(h, 2)).toMatchObject({ phase: 'activated', previousAccessKeyId: adopted, accessKeyId: k2 });
    expect(typeof record(h, 2)!.drawStartedAt).toBe('string');

    // Argo CD: the ExternalSecret's generation bump lands BEFORE the push (it reads the old pair) …
    applyExternalSecret(d, 2);
    await h.kube.settle();
    expect(targetKey(d)).toBe(adopted);
    // … then the PushSecret pushes the staged pair; OnChange does not refresh again by itself
    applyPushSecret(d, 2);
    await h.kube.settle();
    expect(d.store.get('rekey/uploads')?.accessKeyId).toBe(k2);
    expect(targetKey(d)).toBe(adopted);

    // deliver force-syncs the stuck ExternalSecret once and waits for the target
    expect(await step(h, 'deliver', p2)).toBe(0);
    expect(targetKey(d)).toBe(k2);
    const es = h.kube.registry.get(res('externalsecrets'), 'ingest', 'uploads-s3');
    expect(es.metadata.annotations?.['force-sync']).toBe('2-1-1');
    expect(h.logger.records.filter((r) => r.msg.includes('ExternalSecret ingest/uploads-s3 synced before the store held the new pair; force-sync 2-1-1'))).toHaveLength(1);
    expect(record(h, 2)).toMatchObject({ phase: 'delivered', forceSynced: { 'ingest/uploads-s3': '2-1-1' } });

    setChecksum(h, 'api', 'c2');
    expect(await step(h, 'retire', p2)).toBe(0);
    expect(ids(d)).toEqual([`${k2}:Active`]);
    const r2 = record(h, 2) as { phase: string; revoke: Record<string, string> };
    expect(r2.phase).toBe('retired');
    expect(r2.revoke.keyId).toBe(adopted);
    expect(r2.revoke.rejectedAfterDisable).toMatch(/^verifyRejected \d+ attempt\(s\), InvalidAccessKeyId, control AKIA\w+ accepted$/);
    expect(r2.revoke.rejectedAfterDelete).toMatch(/InvalidAccessKeyId/);
    // IAM saw the disable before the delete
    const actions = d.iam.requests.filter((r) => r.params['AccessKeyId'] === adopted && r.status === 200).map((r) => `${r.action}${r.params['Status'] ? `=${r.params['Status']}` : ''}`);
    expect(actions).toEqual(['UpdateAccessKey=Inactive', 'DeleteAccessKey']);

    // ---- generation 3 (plan previousAccessKeyId null: the record's generation-2 key is retired)
    const p3 = drawnPlan(d, 3);
    expect(await step(h, 'activate', p3)).toBe(0);
    const k3 = record(h, 3)!.accessKeyId as string;
    expect(record(h, 3)).toMatchObject({ previousAccessKeyId: k2 });
    // the usual order this time: push first, then the ExternalSecret
    applyPushSecret(d, 3);
    await h.kube.settle();
    applyExternalSecret(d, 3);
    expect(await step(h, 'deliver', p3)).toBe(0);
    expect(targetKey(d)).toBe(k3);
    expect(record(h, 3)!.forceSynced).toBeUndefined();
    setChecksum(h, 'api', 'c3');
    expect(await step(h, 'retire', p3)).toBe(0);
    expect(ids(d)).toEqual([`${k3}:Active`]);
    expect(errors(d)).toEqual([]);
    expect(secretsInLogs(d)).toBe(0);
  }, 180_000);

  it.each([
    ['an inactive key', 'inactive'],
    ['an active key', 'active'],
  ] as const)('refuses before any change when the user already holds two keys (%s counts)', async (_name, status) => {
    d = await startDrawn({ extraKey: status });
    const [adopted, extra] = keysOf(d).map((k) => k.id);
    const before = JSON.stringify(d.iam.snapshot());
    const code = await step(d.h, 'activate', drawnPlan(d, 2));
    expect(code).toBe(3);
    expect(errors(d)).toEqual([
      `rotator activate for credential uploads generation 2: IAM user ${USER} already holds the maximum of 2 access keys (an inactive key counts): got ${adopted} (active) and ${extra} (${status}). ` +
        `Delete ${extra} (aws iam delete-access-key --user-name ${USER} --access-key-id ${extra}): it is neither the key the consumers hold now (${adopted}) nor one this rotation drew, then re-run activate; nothing was changed.`,
    ]);
    expect(JSON.stringify(d.iam.snapshot())).toBe(before);
    expect(d.iam.requests.filter((r) => !['GetUser', 'ListAccessKeys', 'ListUserPolicies'].includes(r.action))).toEqual([]);
    expect(stagedKey(d, 2)).toBeUndefined();
    expect(record(d.h, 2)).toBeUndefined();
  }, 60_000);

  it('with two keys and no previous key recorded, names both and says how to adopt', async () => {
    d = await startDrawn({ extraKey: 'active' });
    const [a, b] = keysOf(d).map((k) => k.id);
    expect(await step(d.h, 'activate', drawnPlan(d, 2, { previousAccessKeyId: null }))).toBe(3);
    expect(errors(d)[0]).toBe(
      `rotator activate for credential uploads generation 2: IAM user ${USER} already holds the maximum of 2 access keys (an inactive key counts): got ${a} (active) and ${b} (active). ` +
        `Delete the one the consumers do not use (aws iam delete-access-key --user-name ${USER} --access-key-id <id>), and record the one they use with rekey adopt uploads --access-key-id <id>, then re-run activate; nothing was changed.`,
    );
  }, 60_000);

  it('a lost CreateAccessKey reply converges: the orphan is deleted (logged by ID), a new key drawn, none left behind', async () => {
    d = await startDrawn();
    d.iam.injectFault({ action: 'CreateAccessKey', loseReply: true });
    const p2 = drawnPlan(d, 2);
    expect(await step(d.h, 'activate', p2)).toBe(0);
    const lost = d.iam.requests.find((r) => r.code === 'ReplyLost');
    expect(lost?.action).toBe('CreateAccessKey');
    const k2 = record(d.h, 2)!.accessKeyId as string;
    const orphans = record(d.h, 2)!.orphansDeleted as string[];
    expect(orphans).toHaveLength(1);
    expect(orphans[0]).not.toBe(k2);
    expect(ids(d)).toEqual([`${d.adopted.accessKeyId}:Active`, `${k2}:Active`]);
    expect(stagedKey(d, 2)).toBe(k2);
    expect(d.h.logger.records.filter((r) => r.level === 'warn' && r.msg.includes(`deleting orphan key ${orphans[0]}`))).toHaveLength(1);
    expect(secretsInLogs(d)).toBe(0);
  }, 60_000);

  it('a crash between CreateAccessKey and the staging write: the re-run deletes the unstaged key and draws again', async () => {
    d = await startDrawn();
    const p2 = drawnPlan(d, 2);
    let crashed = false;
    const boundary = (point: string) => {
      if (!crashed && point === 'provider:createKey:after') {
        crashed = true;
        throw new Error('crash injected');
      }
    };
    expect(await step(d.h, 'activate', p2, { boundary })).toBe(3);
    expect(keysOf(d)).toHaveLength(2);
    expect(stagedKey(d, 2)).toBeUndefined();
    expect(await step(d.h, 'activate', p2, { holder: 'rotator-pod-2' })).toBe(0);
    const k2 = record(d.h, 2)!.accessKeyId as string;
    expect(ids(d)).toEqual([`${d.adopted.accessKeyId}:Active`, `${k2}:Active`]);
    expect(stagedKey(d, 2)).toBe(k2);
  }, 60_000);

  it('panic revoke of a provider-drawn key: draws, stages and revokes the previous key at once', async () => {
    d = await startDrawn();
    const p2 = drawnPlan(d, 2);
    expect(await step(d.h, 'revoke', p2)).toBe(0);
    const k2 = record(d.h, 2)!.accessKeyId as string;
    expect(ids(d)).toEqual([`${k2}:Active`]);
    expect(record(d.h, 2)).toMatchObject({ phase: 'revoked', previousAccessKeyId: d.adopted.accessKeyId });
    expect(record(d.h, 2)!.stalePodsAtRevoke).toHaveLength(1);
    expect(secretsInLogs(d)).toBe(0);
  }, 60_000);
});

describe('a provider that takes a caller-chosen pair (minio), with external delivery', () => {
  let m: Harness | undefined;
  afterEach(async () => {
    await m?.close();
    m = undefined;
  });

  async function minioDrawn(): Promise<{ m: Harness; p: ReturnType<typeof plan> }> {
    const hm = await startHarness();
    const admin = minioAdmin(hm);
    await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
    await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
    admin.close();
    const p = plan(hm, 2, { keySource: { kind: 'providerDrawn' }, accessKeyId: null, targets: [{ namespace: NS, secretName: TARGET, delivery: 'external' }], consumers: [] });
    return { m: hm, p };
  }

  it('the rotator draws the pair, stages it first, then registers it; a lost add-service-account reply converges', async () => {
    const x = await minioDrawn();
    m = x.m;
    m.minio.loseReplyOf('PUT add-service-account');
    expect(await step(m, 'activate', x.p)).toBe(0);
    const rec = record(m, 2)!;
    const staged = m.kube.registry.get(res('secrets'), 'rekey-system', 'rekey-uploads-g2-staging');
    const id = Buffer.from(String((staged.data as Record<string, string>)['access-key']), 'base64').toString('utf8');
    expect(id).toMatch(/^[A-Z0-9]{20}$/);
    expect(rec).toMatchObject({ phase: 'activated', accessKeyId: id, previousAccessKeyId: pairOf(1).accessKeyId });
    expect(keyActive(m, id)).toBe(true);
    expect([...m.minio.serviceAccounts.keys()].sort()).toEqual([id, pairOf(1).accessKeyId].sort());
    const secret = Buffer.from(String((staged.data as Record<string, string>)['secret-key']), 'base64').toString('utf8');
    expect(secret).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(m.logger.lines.join('\n').includes(secret)).toBe(false);
  }, 60_000);

  it('a crash after staging and before registering: the re-run registers the staged pair, no second key', async () => {
    const x = await minioDrawn();
    m = x.m;
    let crashed = false;
    const boundary = (point: string) => {
      if (!crashed && point === 'provider:addKey:before') {
        crashed = true;
        throw new Error('crash injected');
      }
    };
    expect(await step(m, 'activate', x.p, { boundary })).toBe(3);
    const staged = m.kube.registry.get(res('secrets'), 'rekey-system', 'rekey-uploads-g2-staging');
    const id = Buffer.from(String((staged.data as Record<string, string>)['access-key']), 'base64').toString('utf8');
    expect(m.minio.serviceAccounts.has(id)).toBe(false);
    expect(await step(m, 'activate', x.p, { holder: 'rotator-pod-2' })).toBe(0);
    expect(record(m, 2)!.accessKeyId).toBe(id);
    expect([...m.minio.serviceAccounts.keys()].sort()).toEqual([id, pairOf(1).accessKeyId].sort());
  }, 60_000);
});
