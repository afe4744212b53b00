/**
 * `alternatingUsers` with provider-drawn AWS IAM keys (external delivery), against the in-process
 * IAM fake and the simulated External Secrets controller: each generation's activate draws the new
 * key on the standby user (CreateAccessKey in the cluster), the PushSecret and the ExternalSecret
 * deliver it, and retire disables, proves rejected, deletes and proves rejected the key of the
 * other user — so the users take turns and each holds at most one key. A stray key on the standby
 * user is refused before any change at IAM.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { record, setChecksum, step } from './harness.js';
import { ALT_USERS, alternatingIdentity, applyExternalSecret, applyPushSecret, drawnPlan, secretsInLogs, stagedKey, startDrawn, targetKey, type DrawnHarness } from './provider-drawn-support.js';

const [A, B] = ALT_USERS;

let d: DrawnHarness | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

/** `user: ['<id>:<status>']` for both users. */
const holders = (x: DrawnHarness) => Object.fromEntries(ALT_USERS.map((u) => [u, x.iam.keysOf(u).map((k) => `${k.id}:${k.status}`)]));
const errors = (x: DrawnHarness) => x.h.logger.records.filter((r) => r.level === 'error');
const planOf = (x: DrawnHarness, gen: number) => drawnPlan(x, gen, { identity: alternatingIdentity });


describe('aws-iam alternatingUsers with provider-drawn keys and external delivery', () => {
  it('four generations: each new key is drawn on the standby user, each retire deletes the other user\'s key and proves it rejected', async () => {
    d = await startDrawn({ alternating: true });
    const { h } = d;
    const k1 = d.adopted.accessKeyId;
    expect(holders(d)).toEqual({ [A]: [`${k1}:Active`], [B]: [] });
    expect(targetKey(d)).toBe(k1);

    const keys = [k1];
    for (const gen of [2, 3, 4]) {
      const [standby, current] = gen % 2 === 0 ? [B, A] : [A, B];
      const old = keys.at(-1)!;
      const p = planOf(d, gen);

      // activate: the new key is drawn on the standby user; the current user keeps the old key
      expect(await step(h, 'activate', p)).toBe(0);
      const k = record(h, gen)!.accessKeyId as string;
      expect(k).toMatch(/^AKIA/);
      expect(keys).not.toContain(k);
      expect(holders(d)).toEqual({ [current]: [`${old}:Active`], [standby]: [`${k}:Active`] });
      expect(stagedKey(d, gen)).toBe(k);
      expect(record(h, gen)).toMatchObject({ phase: 'activated', accessKeyId: k, previousAccessKeyId: old });
      const create = d.iam.requests.filter((r) => r.action === 'CreateAccessKey');
      expect(create.at(-1)).toMatchObject({ status: 200, params: { UserName: standby } });
      expect(create).toHaveLength(gen - 1);

      // deliver: the PushSecret pushes the staged pair, the ExternalSecret delivers it
      applyPushSecret(d, gen);
      await h.kube.settle();
      expect(d.store.get('rekey/uploads')?.accessKeyId).toBe(k);
      applyExternalSecret(d, gen);
      expect(await step(h, 'deliver', p)).toBe(0);
      expect(targetKey(d)).toBe(k);
      expect(record(h, gen)).toMatchObject({ phase: 'delivered', accessKeyId: k });

      // retire: the old key (on the other user) disabled, proven rejected, deleted, proven rejected
      setChecksum(h, 'api', `c${gen}`);
      expect(await step(h, 'retire', p)).toBe(0);
      expect(holders(d)).toEqual({ [current]: [], [standby]: [`${k}:Active`] });
      const rec = record(h, gen) as { phase: string; accessKeyId: string; previousAccessKeyId: string; revoke: Record<string, string> };
      expect(rec).toMatchObject({ phase: 'retired', accessKeyId: k, previousAccessKeyId: old, revoke: { keyId: old } });
      expect(rec.revoke.rejectedAfterDisable).toMatch(new RegExp(`^verifyRejected \\d+ attempt\\(s\\), InvalidAccessKeyId, control ${k} accepted$`));
      expect(rec.revoke.rejectedAfterDelete).toMatch(new RegExp(`^verifyRejected \\d+ attempt\\(s\\), InvalidAccessKeyId, control ${k} accepted$`));
      // IAM saw the old key disabled, then deleted, on the user that held it
      const onOld = d.iam.requests.filter((r) => r.params['AccessKeyId'] === old && r.status === 200 && ['UpdateAccessKey', 'DeleteAccessKey'].includes(r.action));
      expect(onOld.map((r) => `${r.action}${r.params['Status'] ? `=${r.params['Status']}` : ''} ${r.params['UserName']}`)).toEqual([`UpdateAccessKey=Inactive ${current}`, `DeleteAccessKey ${current}`]);
      // the S3 probe signed with the old key ID was answered InvalidAccessKeyId after the delete
      expect(d.iam.requests.filter((r) => r.action === 'S3:ListBuckets' && r.signedBy === old).at(-1)).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
      keys.push(k);
    }

    // the ledger of generations: each one's key and the key it retired
    expect([2, 3, 4].map((g) => [record(h, g)!.previousAccessKeyId, record(h, g)!.accessKeyId])).toEqual([[keys[0], keys[1]], [keys[1], keys[2]], [keys[2], keys[3]]]);
    // no key was ever deleted but the retired ones; none drawn but the four generations'
    expect(d.iam.requests.filter((r) => r.action === 'DeleteAccessKey' && r.status === 200).map((r) => r.params['AccessKeyId'])).toEqual(keys.slice(0, 3));
    expect(d.iam.issuedSecrets).toHaveLength(4);
    expect(errors(d)).toEqual([]);
    expect(secretsInLogs(d)).toBe(0);
  }, 240_000);

  it('a stray key on the standby user: activate is refused before any change, and a retried Job refuses again instead of deleting it', async () => {
    d = await startDrawn({ alternating: true });
    const { h } = d;
    const k1 = d.adopted.accessKeyId;
    // someone made a key on the standby user (in the same second as the activate: IAM dates are whole seconds)
    const stray = d.iam.seedKey(B).accessKeyId;
    const before = JSON.stringify(d.iam.snapshot());
    const refusal =
      `aws-iam addKey: standby user ${B} holds a key other than the plan's previous key (none named): ${stray}: got ${A} [${k1}] and ${B} [${stray}]. ` +
      `rekey revokes only the plan's previous key: check which key consumers use, finish or retry the previous rotation, or pass the right previousKeyId; nothing was changed`;
    const unchanged = () => {
      expect(JSON.stringify(d!.iam.snapshot())).toBe(before);
      expect(d!.iam.requests.filter((r) => !['GetUser', 'ListAccessKeys', 'ListUserPolicies'].includes(r.action))).toEqual([]);
      expect(stagedKey(d!, 2)).toBeUndefined();
      expect(record(h, 2)).toBeUndefined();
    };

    const p2 = planOf(d, 2);
    expect(await step(h, 'activate', p2)).toBe(3);
    expect(errors(d).map((r) => [r.msg, r.code, r.exitCode])).toEqual([[refusal, 'UNEXPECTED_KEY', 3]]);
    unchanged();

    // the Job's retry (backoffLimit) a little later: the same refusal, the stray key is not taken for an orphan
    h.kube.clock.advance(10);
    expect(await step(h, 'activate', p2, { holder: 'rotator-pod-2' })).toBe(3);
    expect(errors(d).map((r) => [r.msg, r.code, r.exitCode])).toEqual([[refusal, 'UNEXPECTED_KEY', 3], [refusal, 'UNEXPECTED_KEY', 3]]);
    unchanged();
    expect(h.logger.records.filter((r) => r.msg.includes('orphan'))).toEqual([]);

    // its owner deletes the stray key: activate draws the new key on the standby user
    d.iam.keys.delete(stray);
    expect(await step(h, 'activate', p2, { holder: 'rotator-pod-3' })).toBe(0);
    const k2 = record(h, 2)!.accessKeyId as string;
    expect(holders(d)).toEqual({ [A]: [`${k1}:Active`], [B]: [`${k2}:Active`] });
    expect(record(h, 2)).toMatchObject({ phase: 'activated', accessKeyId: k2, previousAccessKeyId: k1 });
    expect(record(h, 2)!.orphansDeleted).toBeUndefined();
    expect(secretsInLogs(d)).toBe(0);
  }, 60_000);
});
