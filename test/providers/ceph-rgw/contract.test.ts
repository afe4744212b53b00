/**
 * The provider contract against a REAL radosgw: idempotent addKey, "already gone" only when
 * radosgw shows the key absent, convergence after "applied, then the reply lost" for every
 * mutating Admin Ops / IAM call, and user policies restored on every path.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ProviderError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { RgwAdminClient } from '../../../lib/providers/ceph-rgw/client.js';
import type { IdentitySpec, KeyPair } from '../../../lib/providers/provider.js';
import { RgwFaultProxy, ensureRgw, rgwDescribeMode, type RgwTestCluster } from '../../support/rgw.js';

const RUN = Date.now().toString(36).toUpperCase().slice(-6);
const secrets: string[] = [];

function fakePair(tag: string): KeyPair {
  const id = `RC${tag}${RUN}`.padEnd(20, '0').slice(0, 20);
  const secret = `fake-contract-${tag.toLowerCase()}-${RUN.toLowerCase()}-not-real`;
  secrets.push(secret);
  return { accessKeyId: id, secretAccessKey: SecretValue.fromString(secret) };
}

async function listStatus(endpoint: string, pair: KeyPair): Promise<string> {
  const c = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() },
  });
  try {
    await c.send(new ListBucketsCommand({}));
    return '200';
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return `${err.$metadata?.httpStatusCode ?? 'network'} ${err.name}`;
  } finally {
    c.destroy();
  }
}

async function caught(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ProviderError) {
      const text = `${e.message}\n${String(e.stack)}\n${String(e.cause)}\n${JSON.stringify(e)}`;
      for (const s of secrets) expect(text).not.toContain(s);
      return e;
    }
    throw e;
  }
  throw new Error('expected a ProviderError, got success');
}

const POLICY = {
  name: 'rekey-contract',
  document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ListAllMyBuckets'], Resource: ['arn:aws:s3:::*'] }] },
};

const mode = rgwDescribeMode('test/providers/ceph-rgw/contract.test.ts (real radosgw)');
const describeRgw = mode === 'run' ? describe : describe.skip;

describeRgw('RgwAdminClient provider contract against a real radosgw', () => {
  let cluster: RgwTestCluster;
  let client: RgwAdminClient;
  let proxy: RgwFaultProxy;
  let viaProxy: RgwAdminClient;
  const logger = new MemoryLogger();
  let n = 0;
  const uid = (tag: string): string => `contract-${tag}-${RUN.toLowerCase()}-${++n}`;

  beforeAll(async () => {
    cluster = await ensureRgw();
    secrets.push(cluster.admin.secretAccessKey.reveal());
    client = new RgwAdminClient({ endpoint: cluster.endpoint, admin: cluster.admin, logger });
    proxy = await new RgwFaultProxy(cluster.endpoint).start();
    viaProxy = new RgwAdminClient({ endpoint: proxy.endpoint, admin: cluster.admin, logger });
  }, 240_000);

  afterAll(async () => {
    client?.close();
    viaProxy?.close();
    await proxy?.stop();
    const all = logger.lines.join('\n');
    for (const s of secrets) expect(all).not.toContain(s);
  });

  it('GIVEN the exact pair is registered WHEN addKey again THEN success with no change; another secret is KEY_EXISTS', async () => {
    const identity: IdentitySpec = { kind: 'user', name: uid('idem'), policy: POLICY };
    const key = fakePair('I1');
    await client.ensureIdentity(identity);
    await client.addKey(identity, key);
    const before = proxy.seen.length;
    expect(await viaProxy.addKey(identity, key)).toBe(key);
    expect(proxy.seen.slice(before)).toEqual(['GET /admin/user?uid&format']);
    const clash = await caught(client.addKey(identity, { accessKeyId: key.accessKeyId, secretAccessKey: SecretValue.fromString(`fake-other-${RUN}`) }));
    expect(clash.code).toBe('KEY_EXISTS');
    expect(await listStatus(cluster.endpoint, key)).toBe('200');
  });

  it('GIVEN an absent uid and a key another uid holds WHEN deleteKey THEN WRONG_OWNER and the key still works', async () => {
    // the bug: the absent uid was taken for "already gone" while the key stayed active elsewhere
    const owner: IdentitySpec = { kind: 'user', name: uid('owner') };
    const key = fakePair('W1');
    await client.ensureIdentity(owner);
    await client.addKey(owner, key);
    const ghost: IdentitySpec = { kind: 'user', name: uid('ghost') };
    const err = await caught(client.deleteKey(ghost, key.accessKeyId));
    expect(err.code).toBe('WRONG_OWNER');
    expect(err.message).toBe(
      `ceph-rgw deleteKey key ${key.accessKeyId}: the key belongs to another user: got '${owner.name}', expected '${ghost.name}'. ` +
        "rekey only touches keys of the credential's own identity; check the key ID in the ledger",
    );
    const alt = await caught(client.disableKey({ kind: 'alternatingUsers', name: uid('ghost-alt') }, key.accessKeyId));
    expect(alt.code).toBe('WRONG_OWNER');
    expect(await listStatus(cluster.endpoint, key)).toBe('200');
  });

  it('GIVEN an absent uid and an absent key WHEN deleteKey THEN success (radosgw shows the key absent)', async () => {
    await client.deleteKey({ kind: 'user', name: uid('gone') }, fakePair('G1').accessKeyId);
    await client.disableKey({ kind: 'alternatingUsers', name: uid('gone-alt') }, fakePair('G2').accessKeyId);
  });

  describe('GIVEN radosgw applied a mutating call and the reply was lost', () => {
    it('WHEN ensureIdentity (PUT /admin/user create, then PutUserPolicy) THEN the error says so and the re-run converges', async () => {
      const identity: IdentitySpec = { kind: 'user', name: uid('ens'), policy: POLICY };
      proxy.inject('applyThenLoseReply', (m, u) => m === 'PUT' && u.pathname === '/admin/user' && !u.searchParams.has('key'));
      const e1 = await caught(viaProxy.ensureIdentity(identity));
      expect(e1.code).toBe('PROVIDER_UNREACHABLE');
      expect(e1.message).toContain('PUT /admin/user may have been applied before the answer was lost: re-run the step (it looks before it acts)');
      proxy.inject('applyThenLoseReply', (m, u, body) => m === 'POST' && u.pathname === '/' && body.includes('Action=PutUserPolicy'));
      const e2 = await caught(viaProxy.ensureIdentity(identity));
      expect(e2.code).toBe('PROVIDER_UNREACHABLE');
      expect(e2.message).toContain('POST / Action=PutUserPolicy may have been applied before the answer was lost');
      await viaProxy.ensureIdentity(identity);
      expect(proxy.pending).toBe(false);
      expect(await client.listUserPolicies(identity.name)).toEqual([POLICY.name]);
      await client.ensureIdentity(identity);
    });

    it('WHEN addKey (PUT /admin/user?key) THEN the re-run with the same pair succeeds and the policy survived', async () => {
      const identity: IdentitySpec = { kind: 'user', name: uid('add'), policy: POLICY };
      const key = fakePair('A1');
      await client.ensureIdentity(identity);
      proxy.inject('applyThenLoseReply', (m, u) => m === 'PUT' && u.searchParams.has('key'));
      const err = await caught(viaProxy.addKey(identity, key));
      expect(err.code).toBe('PROVIDER_UNREACHABLE');
      expect(err.message).toContain('PUT /admin/user?key may have been applied before the answer was lost');
      // applied: the key works, and the policy radosgw dropped was put back despite the error
      expect(await listStatus(cluster.endpoint, key)).toBe('200');
      expect(await client.listUserPolicies(identity.name)).toEqual([POLICY.name]);
      expect(await viaProxy.addKey(identity, key)).toBe(key);
      expect((await client.listKeys(identity)).map((k) => k.accessKeyId)).toEqual([key.accessKeyId]);
    });

    it('WHEN deleteKey (DELETE /admin/user?key) THEN the re-run converges and the policy survived', async () => {
      const identity: IdentitySpec = { kind: 'user', name: uid('del'), policy: POLICY };
      const k1 = fakePair('D1');
      const k2 = fakePair('D2');
      await client.ensureIdentity(identity);
      await client.addKey(identity, k1);
      await client.addKey(identity, k2);
      proxy.inject('applyThenLoseReply', (m, u) => m === 'DELETE' && u.searchParams.has('key'));
      const err = await caught(viaProxy.deleteKey(identity, k1.accessKeyId));
      expect(err.code).toBe('PROVIDER_UNREACHABLE');
      expect(await client.listUserPolicies(identity.name)).toEqual([POLICY.name]);
      await viaProxy.deleteKey(identity, k1.accessKeyId);
      expect((await client.listKeys(identity)).map((k) => k.accessKeyId)).toEqual([k2.accessKeyId]);
      expect(await listStatus(cluster.endpoint, k1)).toBe('403 InvalidAccessKeyId');
    });

    it('WHEN disableKey on alternating users (POST /admin/user suspended=1) THEN the re-run converges', async () => {
      const identity: IdentitySpec = { kind: 'alternatingUsers', name: uid('alt'), policy: POLICY };
      const k1 = fakePair('S1');
      const k2 = fakePair('S2');
      await client.ensureIdentity(identity);
      await client.addKey(identity, k1);
      await client.addKey(identity, k2, { currentKeyId: k1.accessKeyId });
      proxy.inject('applyThenLoseReply', (m, u) => m === 'POST' && u.searchParams.get('suspended') === '1');
      const err = await caught(viaProxy.disableKey(identity, k1.accessKeyId));
      expect(err.code).toBe('PROVIDER_UNREACHABLE');
      await viaProxy.disableKey(identity, k1.accessKeyId);
      expect((await client.listKeys(identity)).map((k) => [k.accessKeyId, k.status])).toEqual([
        [k1.accessKeyId, 'inactive'],
        [k2.accessKeyId, 'active'],
      ]);
      expect(await client.listUserPolicies(`${identity.name}-a`)).toEqual([POLICY.name]);
    });

    it('WHEN the modifying call fails AFTER radosgw applied it (500) THEN the dropped policy is restored anyway', async () => {
      // the bug: a throw in the modifying call skipped the restore, and Pacific had dropped the policy
      const identity: IdentitySpec = { kind: 'user', name: uid('fail'), policy: POLICY };
      const key = fakePair('F1');
      await client.ensureIdentity(identity);
      proxy.inject('applyThenFail', (m, u) => m === 'PUT' && u.searchParams.has('key'));
      const err = await caught(viaProxy.addKey(identity, key));
      expect([err.code, err.status]).toEqual(['PROVIDER_UNAVAILABLE', 500]);
      expect(await client.listUserPolicies(identity.name)).toEqual([POLICY.name]);
      expect(await viaProxy.addKey(identity, key)).toBe(key);
    });
  });

  describe('alternating users: only the plan\'s previous key may be removed', () => {
    it('GIVEN a stale caller whose "current" key is the old one WHEN addKey THEN UNEXPECTED_KEY and nothing changes', async () => {
      const identity: IdentitySpec = { kind: 'alternatingUsers', name: uid('stale') };
      const k0 = fakePair('T0');
      const k1 = fakePair('T1');
      const k2 = fakePair('T2');
      await client.ensureIdentity(identity);
      await client.addKey(identity, k0);
      await client.addKey(identity, k1, { currentKeyId: k0.accessKeyId });
      // consumers are on k1 (user b); a stale plan still thinks k0 is current and k1 is unknown
      const err = await caught(client.addKey(identity, k2, { currentKeyId: k0.accessKeyId, previousKeyId: fakePair('TX').accessKeyId }));
      expect(err.code).toBe('UNEXPECTED_KEY');
      expect(await listStatus(cluster.endpoint, k1)).toBe('200');
      expect((await client.listKeys(identity)).map((k) => k.accessKeyId)).toEqual([k0.accessKeyId, k1.accessKeyId]);
      // the right plan removes exactly the previous key k0 and re-keys user a
      await client.addKey(identity, k2, { currentKeyId: k1.accessKeyId, previousKeyId: k0.accessKeyId });
      expect((await client.listKeys(identity)).map((k) => [k.accessKeyId, k.owner])).toEqual([
        [k2.accessKeyId, `${identity.name}-a`],
        [k1.accessKeyId, `${identity.name}-b`],
      ]);
      expect(await listStatus(cluster.endpoint, k0)).toBe('403 InvalidAccessKeyId');
      // idempotent re-run of the same step
      await client.addKey(identity, k2, { currentKeyId: k1.accessKeyId, previousKeyId: k0.accessKeyId });
    });
  });
});
