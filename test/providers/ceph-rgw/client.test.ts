/**
 * RgwAdminClient against a REAL radosgw (one-node Ceph started by scripts/rgw.sh), plus fault
 * injection on loopback (closed port, TLS mismatch, a 500-injecting proxy).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ProviderError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import type { IdentitySpec, KeyPair } from '../../../lib/providers/provider.js';
import { RGW_UNSUPPORTED, RgwAdminClient, canonicalJson, rgwCode } from '../../../lib/providers/ceph-rgw/client.js';
import { verifyAccepted, verifyRejected } from '../../../lib/providers/s3/verify.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { ensureRgw, rgwDescribeMode, type RgwTestCluster } from '../../support/rgw.js';
import { closedPort } from '../../support/net.js';

const RUN = Date.now().toString(36).toUpperCase().slice(-6);
const secrets: string[] = [];

/** A fake, per-run key pair: ID `RK<tag><run>` padded to 20 chars; the secret is recorded for the leak scan. */
function fakePair(tag: string): KeyPair {
  const id = `RK${tag}${RUN}`.padEnd(20, '0').slice(0, 20);
  const secret = `fake-secret-${tag.toLowerCase()}-${RUN.toLowerCase()}-not-real-000`;
  secrets.push(secret);
  return { accessKeyId: id, secretAccessKey: SecretValue.fromString(secret) };
}

function s3(endpoint: string, pair: KeyPair): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() },
  });
}

/** ListBuckets with the pair: the HTTP status (200, or the error's status). */
async function listStatus(endpoint: string, pair: KeyPair): Promise<string> {
  const c = s3(endpoint, pair);
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
      // no secret in the error, its stack or its cause
      const text = `${e.message}\n${String(e.stack)}\n${String(e.cause)}\n${JSON.stringify(e)}`;
      for (const s of secrets) expect(text).not.toContain(s);
      return e;
    }
    throw e;
  }
  throw new Error('expected a ProviderError, got success');
}

/** A loopback proxy to radosgw that answers the Nth request (1-based) with a 500 instead of forwarding it. */
class FaultProxy {
  public count = 0;
  public failOn = 0;
  public seen: string[] = [];
  private readonly server: http.Server;
  public endpoint = '';
  public constructor(
    target: string,
    private readonly tls?: { key: string; cert: string },
  ) {
    const t = new URL(target);
    const handler: http.RequestListener = (req, res) => {
      this.count += 1;
      this.seen.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
      if (this.count === this.failOn) {
        req.resume();
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"Code":"InternalError","Message":"injected by the test proxy"}');
        return;
      }
      const up = http.request(
        { hostname: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    };
    this.server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  }
  public async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.endpoint = `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  public reset(failOn: number): void {
    this.count = 0;
    this.failOn = failOn;
    this.seen = [];
  }
  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const POLICY = {
  name: 'rekey-app',
  document: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }],
  },
};

const mode = rgwDescribeMode('test/providers/rgw.test.ts (real radosgw)');
const describeRgw = mode === 'run' ? describe : describe.skip;

describeRgw('RgwAdminClient against a real radosgw', () => {
  let cluster: RgwTestCluster;
  let client: RgwAdminClient;
  const logger = new MemoryLogger();
  const verifyOpts = { deadlineMs: 10_000, initialDelayMs: 100 };

  beforeAll(async () => {
    cluster = await ensureRgw();
    secrets.push(cluster.admin.secretAccessKey.reveal());
    client = new RgwAdminClient({ endpoint: cluster.endpoint, admin: cluster.admin, logger });
    console.log(`radosgw at ${cluster.endpoint} (${cluster.source}); run tag ${RUN}`);
  }, 240_000);

  afterAll(() => {
    client?.close();
    // no secret anywhere in the structured logs
    const all = logger.lines.join('\n');
    for (const s of secrets) expect(all).not.toContain(s);
  });

  it('GIVEN the admin key WHEN checkAdmin THEN it passes', async () => {
    await expect(client.checkAdmin()).resolves.toBeUndefined();
  });

  it('GIVEN a user identity WHEN the full overlap rotation runs THEN key 2 works, key 1 is rejected with 403 InvalidAccessKeyId', async () => {
    const e2e = new MemoryLogger();
    const c = new RgwAdminClient({ endpoint: cluster.endpoint, admin: cluster.admin, logger: e2e });
    const identity: IdentitySpec = { kind: 'user', name: `e2e-${RUN.toLowerCase()}`, policy: POLICY };
    const key1 = fakePair('A1');
    const key2 = fakePair('A2');
    const conn = { endpoint: cluster.endpoint, provider: 'ceph-rgw', logger: e2e };
    try {
      await c.ensureIdentity(identity);
      await c.ensureIdentity(identity); // idempotent
      expect(await c.listKeys(identity)).toEqual([]);
      await c.addKey(identity, key1);

      const s1 = s3(cluster.endpoint, key1);
      const bucket = `rekey-e2e-${RUN.toLowerCase()}`;
      await s1.send(new CreateBucketCommand({ Bucket: bucket }));
      const listed = await s1.send(new ListBucketsCommand({}));
      expect(listed.Buckets?.map((b) => b.Name)).toEqual([bucket]);
      await s1.send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: 'written with key 1' }));
      const got1 = await s1.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      expect(await got1.Body?.transformToString()).toBe('written with key 1');
      s1.destroy();

      await c.addKey(identity, key2);
      expect((await c.listKeys(identity)).map((k) => k.accessKeyId).sort()).toEqual([key1.accessKeyId, key2.accessKeyId].sort());
      await verifyAccepted(conn, key2, { ...verifyOpts, bucket });
      await c.deleteKey(identity, key1.accessKeyId);
      const rejected = await verifyRejected(conn, key1, { ...verifyOpts, control: key2 });
      expect(rejected.last).toEqual({ outcome: 'rejected', status: 403, code: 'InvalidAccessKeyId' });

      const s2 = s3(cluster.endpoint, key2);
      const got2 = await s2.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      expect(await got2.Body?.transformToString()).toBe('written with key 1');
      s2.destroy();
      expect(await c.listKeys(identity)).toEqual([{ accessKeyId: key2.accessKeyId, status: 'active', owner: identity.name }]);
      // the declared policy survived the key add and delete (Pacific drops it; the client restores it)
      expect(await c.listUserPolicies(identity.name)).toEqual(['rekey-app']);
      expect(await c.getUserPolicy(identity.name, 'rekey-app')).toEqual(POLICY.document);
      await c.deleteKey(identity, key1.accessKeyId); // absent: no-op
    } finally {
      c.close();
      console.log(`e2e run log (key IDs only):\n${e2e.lines.join('\n')}`);
      for (const s of secrets) expect(e2e.lines.join('\n')).not.toContain(s);
    }
  });

  it('GIVEN alternatingUsers WHEN rotating twice THEN keys alternate between the two uids and disableKey suspends the old uid', async () => {
    const base = `alt-${RUN.toLowerCase()}`;
    const identity: IdentitySpec = { kind: 'alternatingUsers', name: base };
    const k1 = fakePair('B1');
    const k2 = fakePair('B2');
    const k3 = fakePair('B3');
    const conn = { endpoint: cluster.endpoint, provider: 'ceph-rgw', logger };
    await client.ensureIdentity(identity);
    await client.addKey(identity, k1);
    await client.addKey(identity, k2, { currentKeyId: k1.accessKeyId });
    expect(await client.listKeys(identity)).toEqual([
      { accessKeyId: k1.accessKeyId, status: 'active', owner: `${base}-a` },
      { accessKeyId: k2.accessKeyId, status: 'active', owner: `${base}-b` },
    ]);
    // the standby user holds k1, which is not named as the plan's previous key: refused, nothing changes
    const both = await caught(client.addKey(identity, k3, { currentKeyId: k2.accessKeyId }));
    expect(both.code).toBe('UNEXPECTED_KEY');
    expect(both.message).toBe(
      `ceph-rgw addKey key ${k3.accessKeyId}: standby user ${base}-a holds a key other than the plan's previous key (none named): ${k1.accessKeyId}: got ${base}-a [${k1.accessKeyId}] and ${base}-b [${k2.accessKeyId}]. ` +
        "rekey revokes only the plan's previous key: check which key consumers use, finish or retry the previous rotation, or pass the right previousKeyId; nothing was changed",
    );
    await client.disableKey(identity, k1.accessKeyId);
    expect((await verifyRejected(conn, k1, { ...verifyOpts, control: k2 })).last).toEqual({ outcome: 'rejected', status: 403, code: 'UserSuspended' });
    expect(await listStatus(cluster.endpoint, k2)).toBe('200');
    await client.deleteKey(identity, k1.accessKeyId);
    await client.addKey(identity, k3, { currentKeyId: k2.accessKeyId, previousKeyId: k1.accessKeyId }); // goes to the free (suspended) uid and re-enables it
    await verifyAccepted(conn, k3, verifyOpts);
    expect(await client.listKeys(identity)).toEqual([
      { accessKeyId: k3.accessKeyId, status: 'active', owner: `${base}-a` },
      { accessKeyId: k2.accessKeyId, status: 'active', owner: `${base}-b` },
    ]);
  });

  it('GIVEN unsupported identity kinds or a key disable on a user WHEN called THEN typed refusals explain why', async () => {
    const sa = await caught(client.addKey({ kind: 'serviceAccount', name: 'parent' }, fakePair('C1')));
    expect(sa.code).toBe('IDENTITY_KIND_UNSUPPORTED');
    expect(sa.message).toBe(
      `ceph-rgw addKey key ${sa.keyId}: identity kind serviceAccount is not supported: got serviceAccount 'parent'. ` +
        'RGW subusers cannot hold their own policy; use kind user (two keys overlap on one uid) or alternatingUsers',
    );
    const root = await caught(client.ensureIdentity({ kind: 'root', name: 'root' }));
    expect(root.code).toBe('ROOT_ROTATION_UNSUPPORTED');
    expect(root.message).toBe(
      "ceph-rgw ensureIdentity: identity kind root is not supported: got root 'root'. RGW has no root pair; rotate the admin user's key as kind user",
    );
    const dis = await caught(client.disableKey({ kind: 'user', name: 'whoever' }, 'RKSOMEKEY00000000000'));
    expect(dis.code).toBe(RGW_UNSUPPORTED);
    expect(dis.message).toBe(
      "ceph-rgw disableKey key RKSOMEKEY00000000000: RGW cannot disable a single S3 key: got identity kind 'user'. Delete the key instead (deleteKey); it is rejected at once",
    );
    const nopair = await caught(client.addKey({ kind: 'user', name: 'whoever' }));
    expect(nopair.code).toBe(RGW_UNSUPPORTED);
  });

  describe('faults: a clear ProviderError, and the previous key still works', () => {
    const identity: IdentitySpec = { kind: 'user', name: `fault-${RUN.toLowerCase()}` };
    let key0: KeyPair;
    let proxy: FaultProxy;

    beforeAll(async () => {
      key0 = fakePair('F0');
      await client.ensureIdentity(identity);
      await client.addKey(identity, key0);
      proxy = new FaultProxy(cluster.endpoint);
      await proxy.start();
    });
    afterAll(async () => proxy?.stop());

    async function assertOnlyKey0(): Promise<void> {
      expect(await listStatus(cluster.endpoint, key0)).toBe('200');
      expect((await client.listKeys(identity)).map((k) => k.accessKeyId)).toEqual([key0.accessKeyId]);
    }

    it('GIVEN a wrong admin secret WHEN addKey THEN 403 SignatureDoesNotMatch names the admin key, nothing changes', async () => {
      const bad = new RgwAdminClient({
        endpoint: cluster.endpoint,
        admin: { accessKeyId: cluster.admin.accessKeyId, secretAccessKey: SecretValue.fromString('wrong-admin-secret-fake') },
      });
      const key = fakePair('F1');
      const err = await caught(bad.addKey(identity, key));
      bad.close();
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: the admin credential was refused on GET /admin/user: got HTTP 403 SignatureDoesNotMatch. ` +
          `Check the admin access key ${cluster.admin.accessKeyId} and its secret`,
      );
      expect([err.provider, err.operation, err.keyId, err.status, err.providerCode]).toEqual([
        'ceph-rgw',
        'addKey',
        key.accessKeyId,
        403,
        'SignatureDoesNotMatch',
      ]);
      await assertOnlyKey0();
    });

    it('GIVEN an admin key without caps WHEN addKey THEN 403 AccessDenied says which cap is missing', async () => {
      const noCaps = fakePair('F2');
      await client.addKey(identity, noCaps); // a valid key of an ordinary user, no admin caps
      const weak = new RgwAdminClient({ endpoint: cluster.endpoint, admin: noCaps });
      const key = fakePair('F3');
      const err = await caught(weak.addKey(identity, key));
      weak.close();
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: the admin user lacks a cap for GET /admin/user: got HTTP 403 AccessDenied. ` +
          'Grant it caps users=* (and user-policy=* for policies)',
      );
      await client.deleteKey(identity, noCaps.accessKeyId);
      await assertOnlyKey0();
    });

    it('GIVEN a closed loopback port WHEN addKey THEN ECONNREFUSED is reported, nothing changes', async () => {
      const port = await closedPort();
      const c = new RgwAdminClient({ endpoint: `http://127.0.0.1:${port}`, admin: cluster.admin, timeoutMs: 2000 });
      const key = fakePair('F4');
      const err = await caught(c.addKey(identity, key));
      c.close();
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: cannot connect to http://127.0.0.1:${port}: got ECONNREFUSED. Check the endpoint host and port and that radosgw runs`,
      );
      expect(err.providerCode).toBe('ECONNREFUSED');
      await assertOnlyKey0();
    });

    it('GIVEN https to the plain-http radosgw port WHEN addKey THEN a TLS error is reported, nothing changes', async () => {
      const tlsUrl = cluster.endpoint.replace(/^http:/, 'https:');
      const c = new RgwAdminClient({ endpoint: tlsUrl, admin: cluster.admin, timeoutMs: 30_000 }); // an upper bound: the TLS error comes at once
      const key = fakePair('F5');
      const err = await caught(c.addKey(identity, key));
      c.close();
      expect(err.message).toMatch(
        new RegExp(
          `^ceph-rgw addKey key ${key.accessKeyId}: TLS handshake with ${tlsUrl.replace(/[.:/]/g, '\\$&')} failed: got [A-Z_]+\\. ` +
            'Check the endpoint scheme \\(http vs https\\) and pass the CA as caPem$',
        ),
      );
      await assertOnlyKey0();
    });

    describe('behind a self-signed TLS proxy', () => {
      let tlsProxy: FaultProxy;
      let caPem: string;
      beforeAll(async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'rekey-tls-'));
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', '/CN=rekey-test-rgw', '-addext', 'subjectAltName=IP:127.0.0.1',
          '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
        ], { stdio: 'ignore' });
        caPem = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
        tlsProxy = new FaultProxy(cluster.endpoint, { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: caPem });
        rmSync(dir, { recursive: true, force: true });
        await tlsProxy.start();
      });
      afterAll(async () => tlsProxy?.stop());

      it('GIVEN no caPem WHEN addKey THEN the untrusted certificate is reported, nothing changes', async () => {
        const c = new RgwAdminClient({ endpoint: tlsProxy.endpoint, admin: cluster.admin, timeoutMs: 30_000 }); // an upper bound
        const key = fakePair('F7');
        const err = await caught(c.addKey(identity, key));
        c.close();
        expect(err.message).toBe(
          `ceph-rgw addKey key ${key.accessKeyId}: TLS handshake with ${tlsProxy.endpoint} failed: got DEPTH_ZERO_SELF_SIGNED_CERT. ` +
            'Check the endpoint scheme (http vs https) and pass the CA as caPem',
        );
        await assertOnlyKey0();
      });

      it('GIVEN the CA as caPem WHEN addKey and verifyAccepted over https THEN both work', async () => {
        const c = new RgwAdminClient({ endpoint: tlsProxy.endpoint, admin: cluster.admin, caPem });
        const key = fakePair('F8');
        await c.addKey(identity, key);
        const ok = await verifyAccepted({ endpoint: tlsProxy.endpoint, provider: 'ceph-rgw', caPem, logger }, key, verifyOpts);
        expect(ok.last.outcome).toBe('accepted');
        await c.deleteKey(identity, key.accessKeyId);
        c.close();
        await assertOnlyKey0();
      });
    });

    it('GIVEN a server that accepts but never answers WHEN addKey THEN the per-request timeout fires, nothing changes', async () => {
      const hang = http.createServer(() => undefined);
      await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
      const c = new RgwAdminClient({ endpoint: url, admin: cluster.admin, timeoutMs: 300 });
      const key = fakePair('F9');
      const started = Date.now();
      const err = await caught(c.addKey(identity, key));
      c.close();
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
      // the timeout ended the call (a generous bound: a busy machine fires timers late, never early)
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: no answer from ${url} within 300 ms: got a timeout. Check the endpoint and the NetworkPolicy, or raise timeoutMs`,
      );
      await assertOnlyKey0();
    }, 60_000);

    it('GIVEN a suspended user WHEN addKey THEN it refuses before any change (the key would not work)', async () => {
      const u: IdentitySpec = { kind: 'user', name: `susp-${RUN.toLowerCase()}` };
      await client.ensureIdentity(u);
      await client.setSuspended(u.name, true);
      const key = fakePair('G1');
      const err = await caught(client.addKey(u, key));
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: user '${u.name}' is suspended: got suspended=1, so a new key would be rejected (403 UserSuspended). ` +
          'Enable the user (POST /admin/user?suspended=0) if the suspension is not deliberate',
      );
      expect(await client.listKeys(u)).toEqual([]);
    });

    it('GIVEN a 500 on the PUT key request WHEN addKey THEN it fails naming the request, and the key was not added', async () => {
      const c = new RgwAdminClient({ endpoint: proxy.endpoint, admin: cluster.admin });
      const key = fakePair('F6');
      proxy.reset(3); // 1: GET /admin/user, 2: ListUserPolicies (snapshot), 3: PUT /admin/user?key
      const err = await caught(c.addKey(identity, key));
      c.close();
      expect(proxy.seen).toEqual(['GET /admin/user', 'POST /', 'PUT /admin/user']);
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: RGW failed on PUT /admin/user?key: got HTTP 500 InternalError. ` +
          'Nothing is assumed changed; retry, and check the radosgw log if it persists',
      );
      expect([err.status, err.providerCode]).toEqual([500, 'InternalError']);
      expect(await listStatus(cluster.endpoint, key)).toBe('403 InvalidAccessKeyId');
      await assertOnlyKey0();
    });

    it('GIVEN a 500 on the DELETE key request WHEN deleteKey THEN it fails and the old key still works', async () => {
      const c = new RgwAdminClient({ endpoint: proxy.endpoint, admin: cluster.admin });
      proxy.reset(3); // 1: GET /admin/user, 2: ListUserPolicies (snapshot), 3: DELETE /admin/user?key
      const err = await caught(c.deleteKey(identity, key0.accessKeyId));
      c.close();
      expect(proxy.seen).toEqual(['GET /admin/user', 'POST /', 'DELETE /admin/user']);
      expect(err.message).toBe(
        `ceph-rgw deleteKey key ${key0.accessKeyId}: RGW failed on DELETE /admin/user?key: got HTTP 500 InternalError. ` +
          'Nothing is assumed changed; retry, and check the radosgw log if it persists',
      );
      await assertOnlyKey0();
    });

    it('GIVEN a key ID the user already holds WHEN addKey THEN it refuses before any change (RGW would overwrite the secret)', async () => {
      const clash: KeyPair = { accessKeyId: key0.accessKeyId, secretAccessKey: SecretValue.fromString('fake-other-secret-000') };
      secrets.push('fake-other-secret-000');
      const err = await caught(client.addKey(identity, clash));
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key0.accessKeyId}: access key already exists on user '${identity.name}' with another secret: got it among the user's keys. ` +
          "Draw a new access-key ID (rekey rotate); RGW would overwrite the existing key's secret",
      );
      expect([err.code, err.providerCode]).toEqual(['KEY_EXISTS', 'KeyExists']);
      await assertOnlyKey0(); // still works with its ORIGINAL secret
    });

    it("GIVEN a key ID another uid holds WHEN addKey THEN RGW's 409 KeyExists is mapped, nothing changes", async () => {
      const other: IdentitySpec = { kind: 'user', name: `other-${RUN.toLowerCase()}` };
      await client.ensureIdentity(other);
      const clash: KeyPair = { accessKeyId: key0.accessKeyId, secretAccessKey: SecretValue.fromString('fake-other-secret-001') };
      secrets.push('fake-other-secret-001');
      const err = await caught(client.addKey(other, clash));
      expect(err.message).toBe(
        `ceph-rgw addKey key ${key0.accessKeyId}: the access key already belongs to another RGW user: got HTTP 409 KeyExists. ` +
          'Draw a new access-key ID (rekey rotate)',
      );
      expect([err.status, err.providerCode]).toEqual([409, 'KeyExists']);
      expect(await client.listKeys(other)).toEqual([]);
      await assertOnlyKey0();
    });

    it('GIVEN the user carries another policy WHEN ensureIdentity with a declared policy THEN it refuses', async () => {
      await client.putUserPolicy(identity.name, { name: 'hand-made', document: POLICY.document });
      const err = await caught(client.ensureIdentity({ ...identity, policy: POLICY }));
      expect(err.message).toBe(
        `ceph-rgw ensureIdentity: user '${identity.name}' carries an unexpected policy: got 'hand-made', expected only 'rekey-app'. ` +
          "Remove it at the provider or declare it in the credential's policy",
      );
      expect(err.code).toBe('UNEXPECTED_POLICY');
      await assertOnlyKey0();
    });

    it('GIVEN an admin with caps users=* but not user-policy WHEN ensureIdentity with a policy THEN AccessDenied names the cap', async () => {
      const adminUid = `admin-nopol-${RUN.toLowerCase()}`;
      const adminKey = fakePair('G2');
      await client.createUser(adminUid, { displayName: 'admin without user-policy', caps: 'users=*' });
      expect((await client.getUser(adminUid))?.caps).toEqual(['users=*']);
      await client.addUserKey(adminUid, adminKey);
      const weakLog = new MemoryLogger();
      const c = new RgwAdminClient({ endpoint: cluster.endpoint, admin: adminKey, logger: weakLog });
      const err = await caught(c.ensureIdentity({ kind: 'user', name: `pol2-${RUN.toLowerCase()}`, policy: POLICY }));
      expect(err.message).toBe(
        'ceph-rgw ensureIdentity: the admin user lacks a cap for POST / Action=ListUserPolicies: got HTTP 403 AccessDenied. ' +
          'Grant it caps users=* (and user-policy=* for policies)',
      );
      // the same admin may not change keys either: radosgw may drop user policies on a key change and
      // without the cap they could not be restored, so addKey fails BEFORE any change
      const plain: IdentitySpec = { kind: 'user', name: `nopol-${RUN.toLowerCase()}` };
      const key = fakePair('G4');
      await c.ensureIdentity(plain);
      const refused = await caught(c.addKey(plain, key));
      c.close();
      expect([refused.code, refused.status, refused.providerCode]).toEqual(['PROVIDER_AUTH', 403, 'AccessDenied']);
      expect(refused.message).toBe(
        `ceph-rgw addKey key ${key.accessKeyId}: cannot read the user policies of '${plain.name}' before changing it: got HTTP 403 AccessDenied. ` +
          'radosgw before Reef drops user policies on key changes and rekey must be able to restore them: grant the admin user caps user-policy=*; nothing was changed',
      );
      expect(await listStatus(cluster.endpoint, key)).toBe('403 InvalidAccessKeyId');
      expect(await client.listKeys(plain)).toEqual([]);
    });

    it('GIVEN a declared Deny policy WHEN the key calls a denied action THEN radosgw enforces it (403 AccessDenied)', async () => {
      const u: IdentitySpec = {
        kind: 'user',
        name: `deny-${RUN.toLowerCase()}`,
        policy: { name: 'no-create', document: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: ['s3:CreateBucket'], Resource: ['*'] }] } },
      };
      const key = fakePair('G3');
      await client.ensureIdentity(u);
      await client.addKey(u, key);
      const c = s3(cluster.endpoint, key);
      const err = (await c.send(new CreateBucketCommand({ Bucket: `deny-${RUN.toLowerCase()}` })).catch((e: unknown) => e)) as {
        name?: string;
        $metadata?: { httpStatusCode?: number };
      };
      c.destroy();
      expect([err.$metadata?.httpStatusCode, err.name]).toEqual([403, 'AccessDenied']);
      expect(await listStatus(cluster.endpoint, key)).toBe('200');
      // radosgw 16.2 drops inline policies on key add: the client restores them (and says so)
      expect(
        logger.records.some((r) => r.msg === 'user policy dropped by radosgw, restoring' && r.uid === u.name && r.policy === 'no-create'),
      ).toBe(true);
    });

    it('GIVEN the declared policy name with another document WHEN ensureIdentity THEN it refuses showing the document', async () => {
      const u: IdentitySpec = { kind: 'user', name: `pol-${RUN.toLowerCase()}`, policy: POLICY };
      await client.ensureIdentity(u);
      const other = { name: POLICY.name, document: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: ['s3:*'], Resource: ['*'] }] } };
      const err = await caught(client.ensureIdentity({ ...u, policy: other }));
      expect(err.message).toBe(
        `ceph-rgw ensureIdentity: user '${u.name}' policy 'rekey-app' differs from the declared document: got ${canonicalJson(POLICY.document)}. ` +
          "Update the policy at the provider or change the credential's policy",
      );
      expect(await client.getUserPolicy(u.name, POLICY.name)).toEqual(POLICY.document);
      expect(await client.listUserPolicies(u.name)).toEqual(['rekey-app']);
    });
  });
});

describe('rgwCode', () => {
  it('GIVEN RGW JSON and XML error bodies WHEN parsed THEN the Code comes out', () => {
    expect(rgwCode('{"Code":"NoSuchUser","Message":""}')).toBe('NoSuchUser');
    expect(rgwCode('<?xml version="1.0"?><Error><Code>InvalidAccessKeyId</Code></Error>')).toBe('InvalidAccessKeyId');
    expect(rgwCode('')).toBeUndefined();
  });
});
