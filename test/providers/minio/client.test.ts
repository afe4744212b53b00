import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ProviderError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import { decryptData, encryptData } from '../../../lib/providers/minio/madmin.js';
import { MinioAdminClient, type AdminHttpRequest, type AdminHttpResponse, type MinioAdminClientProps } from '../../../lib/providers/minio/client.js';
import type { IdentitySpec, KeyPair, ProviderConnection } from '../../../lib/providers/provider.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { FakeMinioServer } from '../../support/minio-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const CAPTURE = resolve(here, '../../fixtures/madmin/capture.txt');

// ------------------------------------------------------------------ the madmin-go capture

interface Captured {
  readonly method: string;
  /** path?query exactly as madmin-go sent it */
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly contentLength?: number;
  readonly encrypted: boolean;
  readonly idByte?: number;
  readonly plaintext?: string;
}

function parseCapture(text: string): Captured[] {
  return text
    .split(/^---- /m)
    .filter((b) => b.trim().length > 0)
    .map((block) => {
      const lines = block.split('\n');
      const [method, target] = lines[0].split(' ');
      const headers: Record<string, string> = {};
      let encrypted = false;
      let idByte: number | undefined;
      let plaintext: string | undefined;
      for (const line of lines.slice(1)) {
        const enc = /^body: (\d+) bytes, encrypted \(id byte 0x([0-9a-f]{2})\), decrypts with admin secret to: (.*) \(err=<nil>\)$/.exec(line);
        const plain = /^body \(plain\): (.*)$/.exec(line);
        const header = /^([A-Za-z0-9-]+): (.*)$/.exec(line);
        if (enc) {
          encrypted = true;
          idByte = Number.parseInt(enc[2], 16);
          plaintext = enc[3];
        } else if (plain) {
          plaintext = plain[1];
        } else if (header && !line.startsWith('==>')) {
          headers[header[1].toLowerCase()] = header[2];
        }
      }
      const cl = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      return { method, target, headers, contentLength: cl !== undefined && cl > 0 ? cl : undefined, encrypted, idByte, plaintext };
    });
}

/** The capture's own fake admin pair (the secret reproduces its bodiless requests' signatures). */
const CAPTURE_ADMIN: KeyPair = { accessKeyId: 'ADMINACCESSKEY', secretAccessKey: SecretValue.fromString('adminsecretkey123') };

describe('MinioAdminClient sends what madmin-go sends (vectors/madmin/capture.txt)', () => {
  const captured = parseCapture(readFileSync(CAPTURE, 'utf8'));
  const sent: AdminHttpRequest[] = [];
  const dates = captured.map((c) => {
    const d = c.headers['x-amz-date'];
    return new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
  });
  let client: MinioAdminClient;

  /** Answers like MinIO; encrypted answers use PBKDF2 (ID 2) to stay fast. */
  async function answer(req: AdminHttpRequest): Promise<AdminHttpResponse> {
    sent.push(req);
    const op = new URL(req.url).pathname.replace('/minio/admin/v3/', '');
    const enc = async (v: unknown) => ({ status: 200, headers: {}, body: await encryptData(CAPTURE_ADMIN.secretAccessKey, Buffer.from(JSON.stringify(v)), { algorithm: 2 }) });
    switch (op) {
      case 'add-service-account':
        return enc({ credentials: { accessKey: 'SVCACCESSKEY', secretKey: 'svcsecret123', expiration: '1970-01-01T00:00:00Z' } });
      case 'list-service-accounts':
        return enc({ accounts: ['SVCACCESSKEY'] });
      case 'info-service-account':
        return enc({ parentUser: 'alice', accountStatus: 'on', impliedPolicy: true, policy: '', comment: '' });
      case 'idp/builtin/policy/attach':
        return { status: 201, headers: {}, body: Buffer.alloc(0) };
      case 'update-service-account':
      case 'delete-service-account':
        return { status: 204, headers: {}, body: Buffer.alloc(0) };
      default:
        return { status: 200, headers: {}, body: Buffer.alloc(0) };
    }
  }

  beforeAll(async () => {
    let i = 0;
    client = new MinioAdminClient(
      { endpoint: 'http://127.0.0.1:35417', admin: CAPTURE_ADMIN },
      { kind: 'minio', clock: () => dates[i++], transport: answer },
    );
    // the calls of the capture, in its order
    await client.addUser('alice', SecretValue.fromString('alicesecret123'));
    await client.setUser('alice', SecretValue.fromString('alicesecret123'), 'disabled');
    await client.addCannedPolicy('readonly-bucket', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/*'] }] });
    await client.setPolicy('readonly-bucket', 'alice');
    await client.attachPolicy('alice', ['readonly-bucket']);
    await client.addServiceAccount('alice', { accessKeyId: 'SVCACCESSKEY', secretAccessKey: SecretValue.fromString('svcsecret123') });
    await client.updateServiceAccount('SVCACCESSKEY', { newStatus: 'off' });
    expect(await client.listServiceAccounts('alice')).toEqual([{ accessKey: 'SVCACCESSKEY' }]);
    expect(await client.infoServiceAccount('SVCACCESSKEY')).toEqual({ parentUser: 'alice', accountStatus: 'on', impliedPolicy: true, policy: '', comment: '' });
    await client.deleteServiceAccount('SVCACCESSKEY');
    await client.removeUser('alice');
  });

  it('GIVEN the 11 calls of the capture THEN 11 requests in the same order', () => {
    expect(captured).toHaveLength(11);
    expect(sent.map((r) => `${r.method} ${new URL(r.url).pathname}${new URL(r.url).search}`)).toEqual(captured.map((c) => `${c.method} ${c.target}`));
  });

  it.each(captured.map((c, i) => [i, c.method, c.target] as const))(
    'GIVEN capture #%i (%s %s) THEN host, date, credential scope, signed headers and body length are equal',
    (i) => {
      const c = captured[i];
      const r = sent[i];
      expect(r.headers.host).toBe(c.headers.host);
      expect(r.headers['x-amz-date']).toBe(c.headers['x-amz-date']);
      const [ours, theirs] = [r.headers.authorization, c.headers.authorization].map((a) => a.replace(/, Signature=[0-9a-f]{64}$/, ''));
      expect(ours).toBe(theirs);
      expect(theirs).toContain('Credential=ADMINACCESSKEY/20261122//s3/aws4_request'); // service s3, EMPTY region
      expect(r.body.length).toBe(c.contentLength ?? 0);
    },
  );

  const bodiless = captured.map((c, i) => [i, c.method, c.target, c] as const).filter(([, , , c]) => !c.encrypted);
  it.each(bodiless)('GIVEN capture #%i (%s %s, no encrypted body) THEN payload hash and Authorization are byte-identical', (i, _m, _t, c) => {
    const r = sent[i];
    expect(r.headers['x-amz-content-sha256']).toBe(c.headers['x-amz-content-sha256']);
    expect(r.headers.authorization).toBe(c.headers.authorization);
    if (c.plaintext !== undefined) expect(r.body.toString('utf8')).toBe(c.plaintext);
  });

  const encrypted = captured.map((c, i) => [i, c.method, c.target, c] as const).filter(([, , , c]) => c.encrypted);
  it.each(encrypted)(
    'GIVEN capture #%i (%s %s, encrypted body) THEN our body decrypts to the recorded JSON, hashes to our header, and signing the recorded hash gives the recorded signature',
    async (i, _m, _t, c) => {
      const r = sent[i];
      expect(r.body[32]).toBe(c.idByte);
      expect((await decryptData(CAPTURE_ADMIN.secretAccessKey, r.body)).toString('utf8')).toBe(c.plaintext);
      expect(r.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(r.body).digest('hex'));
      // madmin-go's salt and nonce are not in the capture, so its body bytes cannot be rebuilt:
      // sign the same request with the recorded payload hash and compare with its signature.
      const url = new URL(r.url);
      const resigned = await client.signRequest(r.method, url.pathname.replace('/minio/admin/v3', ''), Object.fromEntries(url.searchParams), r.body, new Date(dates[i]), c.headers['x-amz-content-sha256']);
      expect(resigned.headers.authorization).toBe(c.headers.authorization);
    },
  );
});

// ------------------------------------------------------------------ against the fake server

const ADMIN: KeyPair = { accessKeyId: 'FAKEADMINKEY', secretAccessKey: SecretValue.fromString('fake-admin-secret-0000') };
const POLICY = { name: 'app-rw', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::app/*'] }] } };
const SA: IdentitySpec = { kind: 'serviceAccount', name: 'app', policy: POLICY };
const KEY1: KeyPair = { accessKeyId: 'APPKEYONE0000000', secretAccessKey: SecretValue.fromString('fake-app-secret-one-1111') };
const KEY2: KeyPair = { accessKeyId: 'APPKEYTWO0000000', secretAccessKey: SecretValue.fromString('fake-app-secret-two-2222') };

async function s3Works(endpoint: string, pair: KeyPair): Promise<boolean> {
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() },
  });
  try {
    await s3.send(new ListBucketsCommand({}));
    return true;
  } catch (e) {
    if ((e as { name?: string }).name === 'InvalidAccessKeyId') return false;
    throw e;
  } finally {
    s3.destroy();
  }
}

function scanForSecrets(texts: string[], secrets: string[]): string[] {
  return secrets.filter((s) => texts.some((t) => t.includes(s)));
}

describe('MinioAdminClient against the in-process MinIO server', () => {
  let server: FakeMinioServer;
  let logger: MemoryLogger;
  const conn = (over: Partial<ProviderConnection> = {}): ProviderConnection => ({ endpoint: server.endpoint, admin: ADMIN, logger, ...over });
  const make = (over: Partial<ProviderConnection> = {}, props: Partial<MinioAdminClientProps> = {}) =>
    new MinioAdminClient(conn(over), { kind: 'minio', algorithm: 2, ...props });

  beforeEach(async () => {
    server = await new FakeMinioServer({ rootAccessKey: ADMIN.accessKeyId, rootSecretKey: ADMIN.secretAccessKey.reveal() }).start();
    logger = new MemoryLogger();
  });
  afterEach(async () => {
    await server.stop();
  });

  async function activated(): Promise<MinioAdminClient> {
    const c = make();
    await c.ensureIdentity(SA);
    await c.addKey(SA, KEY1);
    return c;
  }

  it('GIVEN an empty server WHEN ensureIdentity THEN the parent user exists with a random secret, the policy is added and attached', async () => {
    const c = make();
    await c.checkAdmin();
    await c.ensureIdentity(SA);
    const parent = server.users.get('app');
    expect(parent?.policies).toEqual(['app-rw']);
    expect(parent?.status).toBe('enabled');
    expect(parent?.secretKey).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(server.policies.get('app-rw')).toEqual(POLICY.document);
    expect(server.requests.map((r) => `${r.method} ${r.path.replace('/minio/admin/v3/', '')} ${r.status}`)).toEqual([
      'GET list-canned-policies 200',
      'GET user-info 404',
      'PUT add-canned-policy 200',
      'PUT add-user 200',
      'POST idp/builtin/policy/attach 201',
    ]);
  });

  it('GIVEN the identity exists WHEN ensureIdentity again THEN no user or attachment change (only the policy upsert)', async () => {
    const c = make();
    await c.ensureIdentity(SA);
    const before = server.snapshot();
    const n = server.requests.length;
    await c.ensureIdentity(SA);
    expect(server.snapshot()).toBe(before);
    expect(server.requests.slice(n).map((r) => `${r.method} ${r.path.replace('/minio/admin/v3/', '')}`)).toEqual(['GET user-info', 'PUT add-canned-policy']);
  });

  it('GIVEN the parent exists without a policy WHEN ensureIdentity THEN the policy is attached', async () => {
    server.users.set('app', { secretKey: 'fake-parent-secret', status: 'enabled', policies: [] });
    await make().ensureIdentity(SA);
    expect(server.users.get('app')?.policies).toEqual(['app-rw']);
    expect(server.users.get('app')?.secretKey).toBe('fake-parent-secret');
  });

  it('GIVEN the parent carries another policy WHEN ensureIdentity THEN a ProviderError explains and nothing is attached', async () => {
    server.policies.set('readwrite', {});
    server.users.set('app', { secretKey: 'fake-parent-secret', status: 'enabled', policies: ['readwrite'] });
    const err = await make().ensureIdentity(SA).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toBe(
      'minio ensureIdentity key app: user app exists with another policy: got "readwrite", expected "app-rw". rekey does not take over a user it did not set up: attach only app-rw to app by hand (mc admin policy attach/detach), or give the credential another identity name.',
    );
    expect((err as ProviderError).code).toBe('UNEXPECTED_POLICY');
    expect(server.users.get('app')?.policies).toEqual(['readwrite']);
    expect(server.mutations()).toEqual([]);
    expect(server.policies.has('app-rw')).toBe(false);
  });

  it('GIVEN an identity WHEN addKey twice, listKeys, S3 with both keys THEN both keys work and are listed', async () => {
    const c = await activated();
    expect(await c.addKey(SA, KEY2)).toBe(KEY2);
    expect(server.serviceAccounts.get(KEY2.accessKeyId)).toEqual({ secretKey: 'fake-app-secret-two-2222', parent: 'app', status: 'on' });
    expect(await c.listKeys(SA)).toEqual([
      { accessKeyId: KEY1.accessKeyId, status: 'active', owner: 'app' },
      { accessKeyId: KEY2.accessKeyId, status: 'active', owner: 'app' },
    ]);
    expect(await s3Works(server.endpoint, KEY1)).toBe(true);
    expect(await s3Works(server.endpoint, KEY2)).toBe(true);
  });

  it('GIVEN a server answering list-service-accounts with objects (newer MinIO) WHEN listKeys THEN statuses come from it without info calls', async () => {
    await server.stop();
    server = await new FakeMinioServer({ rootAccessKey: ADMIN.accessKeyId, rootSecretKey: ADMIN.secretAccessKey.reveal(), listShape: 'objects' }).start();
    const c = await activated();
    await c.disableKey(SA, KEY1.accessKeyId);
    const n = server.requests.length;
    expect(await c.listKeys(SA)).toEqual([{ accessKeyId: KEY1.accessKeyId, status: 'inactive', owner: 'app' }]);
    expect(server.requests.length - n).toBe(1);
  });

  it('GIVEN two keys WHEN disableKey then deleteKey the old one THEN the old key is refused by S3 and the new one still works', async () => {
    const c = await activated();
    await c.addKey(SA, KEY2);
    await c.disableKey(SA, KEY1.accessKeyId);
    expect(server.serviceAccounts.get(KEY1.accessKeyId)?.status).toBe('off');
    expect(await c.listKeys(SA)).toEqual([
      { accessKeyId: KEY1.accessKeyId, status: 'inactive', owner: 'app' },
      { accessKeyId: KEY2.accessKeyId, status: 'active', owner: 'app' },
    ]);
    expect(await s3Works(server.endpoint, KEY1)).toBe(false);
    await c.deleteKey(SA, KEY1.accessKeyId);
    expect(server.serviceAccounts.has(KEY1.accessKeyId)).toBe(false);
    expect(await s3Works(server.endpoint, KEY1)).toBe(false);
    expect(await s3Works(server.endpoint, KEY2)).toBe(true);
    // idempotent: disabling or deleting an absent key is not an error and changes nothing
    const before = server.snapshot();
    await c.disableKey(SA, KEY1.accessKeyId);
    await c.deleteKey(SA, KEY1.accessKeyId);
    expect(server.snapshot()).toBe(before);
  });

  it('GIVEN a key ID that already exists WHEN addKey THEN refused before any change', async () => {
    const c = await activated();
    const before = server.snapshot();
    const mutations = server.mutations().length;
    const err = await c.addKey(SA, { accessKeyId: KEY1.accessKeyId, secretAccessKey: SecretValue.fromString('fake-other-secret-9999') }).catch((e: unknown) => e);
    expect((err as ProviderError).message).toBe(
      'minio addKey key APPKEYONE0000000: the access key ID already exists with another secret: got HTTP 403 SignatureDoesNotMatch for a request signed with the given pair. rekey never overwrites a key: draw a new pair with rekey rotate, or delete the stale key first.',
    );
    expect((err as ProviderError).code).toBe('KEY_EXISTS');
    expect(server.snapshot()).toBe(before);
    expect(server.mutations().length).toBe(mutations);
    expect(await s3Works(server.endpoint, KEY1)).toBe(true);
  });

  it('GIVEN a key ID that is a user name WHEN addKey THEN refused before any change', async () => {
    const c = await activated();
    const mutations = server.mutations().length;
    await expect(c.addKey(SA, { accessKeyId: 'app', secretAccessKey: SecretValue.fromString('fake-other-secret-9999') })).rejects.toThrow(
      'minio addKey key app: the access key ID already exists elsewhere: got a user with policy "app-rw" (status enabled).',
    );
    expect(server.mutations().length).toBe(mutations);
  });

  it('GIVEN a key of another parent WHEN deleteKey THEN refused and the key stays', async () => {
    const c = await activated();
    const other: IdentitySpec = { kind: 'serviceAccount', name: 'other', policy: POLICY };
    await c.ensureIdentity(other);
    await expect(c.deleteKey(other, KEY1.accessKeyId)).rejects.toThrow(
      'minio deleteKey key APPKEYONE0000000: the key belongs to another user: got parent app, expected other. rekey only touches keys of the credential\'s own identity; check the key ID in the ledger.',
    );
    expect(server.serviceAccounts.get(KEY1.accessKeyId)?.status).toBe('on');
  });

  it('GIVEN a 500 in the middle of addKey (at add-service-account) THEN a ProviderError naming provider, operation, key, and the old key stays valid', async () => {
    const c = await activated();
    server.failNthRequest(3); // info-service-account, user-info, then add-service-account fails
    const err = (await c.addKey(SA, KEY2).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(
      'minio addKey key APPKEYTWO0000000: PUT add-service-account failed at the server: got HTTP 500 InternalError ("We encountered an internal error, please try again."). Nothing after this call was changed and existing keys stay valid; check the minio server log, then re-run the step (it is idempotent).',
    );
    expect([err.provider, err.operation, err.keyId, err.status, err.providerCode]).toEqual(['minio', 'addKey', 'APPKEYTWO0000000', 500, 'InternalError']);
    expect(server.serviceAccounts.has(KEY2.accessKeyId)).toBe(false);
    expect(await s3Works(server.endpoint, KEY1)).toBe(true);
  });

  it('GIVEN a 500 at update-service-account WHEN disableKey THEN error and the key stays active', async () => {
    const c = await activated();
    server.failNthRequest(2);
    await expect(c.disableKey(SA, KEY1.accessKeyId)).rejects.toThrow('minio disableKey key APPKEYONE0000000: POST update-service-account failed at the server: got HTTP 500 InternalError');
    expect(server.serviceAccounts.get(KEY1.accessKeyId)?.status).toBe('on');
    expect(await s3Works(server.endpoint, KEY1)).toBe(true);
  });

  it('GIVEN a wrong admin secret WHEN addKey THEN 403 SignatureDoesNotMatch explained and nothing changed', async () => {
    const c0 = await activated();
    expect(c0).toBeDefined();
    const before = server.snapshot();
    const c = make({ admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: SecretValue.fromString('fake-wrong-admin-secret') } });
    const err = (await c.addKey(SA, KEY2).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      'minio addKey key APPKEYTWO0000000: the admin credential FAKEADMINKEY was rejected: got HTTP 403 SignatureDoesNotMatch ("The request signature we calculated does not match the signature you provided. Check your key and signing method."). Check the admin access key ID and secret in the rotator\'s admin Secret (MINIO_ROOT_USER/MINIO_ROOT_PASSWORD or an admin user) and the server clock.',
    );
    expect([err.status, err.providerCode]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(server.snapshot()).toBe(before);
    expect(await s3Works(server.endpoint, KEY1)).toBe(true);
  });

  it('GIVEN an unknown admin access key WHEN checkAdmin THEN 403 InvalidAccessKeyId explained (rustfs wording)', async () => {
    const c = make({ admin: { accessKeyId: 'FAKEUNKNOWNADMIN', secretAccessKey: SecretValue.fromString('fake-admin-secret-0000') } }, { kind: 'rustfs' });
    await expect(c.checkAdmin()).rejects.toThrow(
      'rustfs checkAdmin key FAKEUNKNOWNADMIN: the admin credential FAKEUNKNOWNADMIN was rejected: got HTTP 403 InvalidAccessKeyId ("The Access Key Id you provided does not exist in our records."). Check the admin access key ID and secret in the rotator\'s admin Secret (RUSTFS_ACCESS_KEY/RUSTFS_SECRET_KEY or an admin user) and the server clock.',
    );
  });

  it('GIVEN an unreachable endpoint WHEN addKey THEN ECONNREFUSED explained', async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const c = make({ endpoint: `http://127.0.0.1:${port}` });
    const err = (await c.addKey(SA, KEY2).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      `minio addKey key APPKEYTWO0000000: cannot reach the admin endpoint http://127.0.0.1:${port}: got ECONNREFUSED. Check connection.endpoint, that minio is running, and that NetworkPolicies let the rotation Job reach it.`,
    );
    expect(err.providerCode).toBe('ECONNREFUSED');
  });

  it('GIVEN an endpoint that accepts but never answers WHEN addKey THEN a timeout explained', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()));
    const port = (silent.address() as { port: number }).port;
    try {
      const c = make({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 200 });
      await expect(c.addKey(SA, KEY2)).rejects.toThrow(
        `minio addKey key APPKEYTWO0000000: the admin endpoint http://127.0.0.1:${port} did not answer info-service-account in time: got no answer after 200 ms. Check that minio is healthy, or raise connection.timeoutMs.`,
      );
    } finally {
      silent.close();
    }
  });

  it('GIVEN no parent user WHEN addKey THEN MinIO\'s XMinioAdminNoSuchUser is parsed into the error', async () => {
    const err = (await make().addKey(SA, KEY1).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      'minio addKey key APPKEYONE0000000: PUT add-service-account was refused: got HTTP 404 XMinioAdminNoSuchUser ("The specified user does not exist."). The user does not exist: run ensureIdentity first (the activate step does).',
    );
    expect([err.status, err.providerCode]).toEqual([404, 'XMinioAdminNoSuchUser']);
  });

  it('GIVEN an endpoint that is not a URL WHEN constructing THEN a clear error', () => {
    expect(() => make({ endpoint: 'minio:9000' })).toThrow(
      'minio connect: connection.endpoint must be http or https: got minio:. Use e.g. https://minio.storage.svc:9000.',
    );
  });

  it('GIVEN a user without the identity policy WHEN ensureIdentity(user kind) without policy THEN refused', async () => {
    await expect(make().ensureIdentity({ kind: 'user', name: 'app' })).rejects.toThrow(
      'minio ensureIdentity key app: identity app of kind user has no policy: got none. A MinIO/RustFS user credential\'s keys are the users carrying its policy: set identity.policy.',
    );
  });

  it('GIVEN a user identity WHEN keys are added, listed, disabled, deleted THEN each key is a user carrying the policy', async () => {
    const USER: IdentitySpec = { kind: 'user', name: 'app', policy: POLICY };
    const c = make();
    await c.ensureIdentity(USER);
    await c.addKey(USER, KEY1);
    await c.addKey(USER, KEY2);
    expect(server.users.get(KEY1.accessKeyId)).toEqual({ secretKey: 'fake-app-secret-one-1111', status: 'enabled', policies: ['app-rw'] });
    expect((await c.listKeys(USER)).map((k) => [k.accessKeyId, k.status, k.owner])).toEqual([
      [KEY1.accessKeyId, 'active', KEY1.accessKeyId],
      [KEY2.accessKeyId, 'active', KEY2.accessKeyId],
    ]);
    await c.disableKey(USER, KEY1.accessKeyId);
    expect(server.users.get(KEY1.accessKeyId)?.status).toBe('disabled');
    expect(await s3Works(server.endpoint, KEY1)).toBe(false);
    expect(await s3Works(server.endpoint, KEY2)).toBe(true);
    await c.deleteKey(USER, KEY1.accessKeyId);
    expect(server.users.has(KEY1.accessKeyId)).toBe(false);
    expect(server.requests.some((r) => r.path.endsWith('/set-user-status') && r.rawQuery === `accessKey=${KEY1.accessKeyId}&status=disabled`)).toBe(true);
  });

  it('GIVEN identity kind root WHEN any call on minio THEN refused with the reason, before any request', async () => {
    const n = server.requests.length;
    const err = (await make().addKey({ kind: 'root', name: 'root' }, KEY1).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      'minio addKey key root: root rotation is not possible for MinIO: got identity kind root. MinIO fixes its root credentials at first start from MINIO_ROOT_USER/MINIO_ROOT_PASSWORD; rotate a serviceAccount or user credential instead.',
    );
    expect(err.code).toBe('ROOT_ROTATION_UNSUPPORTED');
    expect(server.requests.length).toBe(n);
  });

  it('GIVEN identity kind root WHEN ensureIdentity on rustfs THEN refused with the restart procedure', async () => {
    const err = (await make({}, { kind: 'rustfs' }).ensureIdentity({ kind: 'root', name: 'root' }).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      'rustfs ensureIdentity key root: root rotation is not an admin API call for RustFS: got identity kind root. RustFS reads its root pair from RUSTFS_ACCESS_KEY/RUSTFS_SECRET_KEY at start: set RUSTFS_RPC_SECRET first, then restart RustFS with the new pair (rekey\'s root rotation Jobs do this), then restart consumers.',
    );
    expect(err.code).toBe('ROOT_ROTATION_UNSUPPORTED');
  });

  it('GIVEN the default algorithm (Argon2id + AES-GCM) WHEN addKey THEN the server decrypts ID 0x00 bodies', async () => {
    const c = new MinioAdminClient(conn(), { kind: 'rustfs' });
    await c.ensureIdentity(SA);
    await c.addKey(SA, KEY1);
    const add = server.requests.find((r) => r.path.endsWith('/add-service-account'));
    expect(add?.body[32]).toBe(0);
    expect(add?.plaintext).toBe('{"targetUser":"app","accessKey":"APPKEYONE0000000","secretKey":"fake-app-secret-one-1111"}');
  });

  it('GIVEN a full rotation with failures WHEN logs and error messages are scanned THEN one line per call with the fields, and no secret anywhere', async () => {
    const c = await activated();
    await c.addKey(SA, KEY2);
    const errors: string[] = [];
    server.failNthRequest(1);
    await c.disableKey(SA, KEY1.accessKeyId).catch((e: Error) => errors.push(e.message, String(e.stack)));
    // the same key ID with another secret (an idempotent re-run with the same pair succeeds)
    await c.addKey(SA, { accessKeyId: KEY2.accessKeyId, secretAccessKey: SecretValue.fromString('fake-other-secret-9999') }).catch((e: Error) => errors.push(e.message));
    await make({ admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: SecretValue.fromString('fake-wrong-admin-secret') } })
      .listKeys(SA)
      .catch((e: Error) => errors.push(e.message));
    await c.disableKey(SA, KEY1.accessKeyId);
    await c.deleteKey(SA, KEY1.accessKeyId);
    expect(errors).toHaveLength(4);
    const parentSecret = server.users.get('app')!.secretKey;
    const secrets = [ADMIN.secretAccessKey.reveal(), 'fake-wrong-admin-secret', 'fake-other-secret-9999', KEY1.secretAccessKey.reveal(), KEY2.secretAccessKey.reveal(), parentSecret];
    expect(scanForSecrets([...logger.lines, ...errors], secrets)).toEqual([]);
    for (const r of logger.records) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['provider', 'operation', 'keyId', 'status', 'durationMs']));
    }
    // one line per HTTP request (plus "absent" lines, none here)
    expect(logger.records.length).toBe(server.requests.length);
    expect(logger.records.filter((r) => r.status === 500)).toHaveLength(1);
  });
});

describe('MinioAdminClient over https with a self-signed certificate', () => {
  let server: FakeMinioServer;
  beforeAll(async () => {
    server = await new FakeMinioServer({ rootAccessKey: ADMIN.accessKeyId, rootSecretKey: ADMIN.secretAccessKey.reveal(), tls: true }).start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('GIVEN no caPem WHEN ensureIdentity THEN a TLS error telling to set caPem, and nothing changed', async () => {
    const c = new MinioAdminClient({ endpoint: server.endpoint, admin: ADMIN }, { kind: 'minio', algorithm: 2 });
    const err = (await c.ensureIdentity(SA).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      `minio ensureIdentity key app: TLS verification of ${server.endpoint} failed: got DEPTH_ZERO_SELF_SIGNED_CERT. Set connection.caPem to the CA certificate (PEM) that signed the minio server certificate.`,
    );
    expect(server.users.size).toBe(0);
  });

  it('GIVEN caPem WHEN ensureIdentity and addKey THEN it works over https', async () => {
    const c = new MinioAdminClient({ endpoint: server.endpoint, admin: ADMIN, caPem: server.certPem }, { kind: 'minio', algorithm: 2 });
    await c.ensureIdentity(SA);
    await c.addKey(SA, KEY1);
    expect(server.serviceAccounts.get(KEY1.accessKeyId)?.parent).toBe('app');
  });
});
