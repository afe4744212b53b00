/**
 * The provider contract for MinIO/RustFS: idempotent addKey, "already gone" only when the key
 * is absent everywhere, convergence after "applied, then the reply lost", a total deadline
 * per call, and the contract's error codes.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ProviderError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { MinioAdminClient } from '../../../lib/providers/minio/client.js';
import type { IdentitySpec, KeyPair, ProviderConnection } from '../../../lib/providers/provider.js';
import { FakeMinioServer } from '../../support/minio-server.js';

const ADMIN: KeyPair = { accessKeyId: 'FAKEADMINKEY', secretAccessKey: SecretValue.fromString('fake-admin-secret-0000') };
const POLICY = { name: 'app-rw', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::app/*'] }] } };
const SA: IdentitySpec = { kind: 'serviceAccount', name: 'app', policy: POLICY };
const USER: IdentitySpec = { kind: 'user', name: 'app-users', policy: POLICY };
const KEY1: KeyPair = { accessKeyId: 'APPKEYONE0000000', secretAccessKey: SecretValue.fromString('fake-app-secret-one-1111') };

describe('MinioAdminClient provider contract', () => {
  let server: FakeMinioServer;
  let logger: MemoryLogger;
  let clients: MinioAdminClient[];
  const make = (over: Partial<ProviderConnection> = {}): MinioAdminClient => {
    const c = new MinioAdminClient({ endpoint: server.endpoint, admin: ADMIN, logger, ...over }, { kind: 'minio', algorithm: 2 });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await new FakeMinioServer({ rootAccessKey: ADMIN.accessKeyId, rootSecretKey: ADMIN.secretAccessKey.reveal() }).start();
    logger = new MemoryLogger();
    clients = [];
  });
  afterEach(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it('GIVEN the exact pair is registered WHEN addKey again THEN it succeeds without any change (idempotent)', async () => {
    const c = make();
    await c.ensureIdentity(SA);
    expect(await c.addKey(SA, KEY1)).toBe(KEY1);
    const before = server.snapshot();
    const mutations = server.mutations().length;
    expect(await c.addKey(SA, KEY1)).toBe(KEY1);
    expect(server.snapshot()).toBe(before);
    expect(server.mutations().length).toBe(mutations);
  });

  it('GIVEN a disabled key with the same ID WHEN addKey THEN KEY_EXISTS before any change', async () => {
    const c = make();
    await c.ensureIdentity(SA);
    await c.addKey(SA, KEY1);
    await c.disableKey(SA, KEY1.accessKeyId);
    const mutations = server.mutations().length;
    const err = (await c.addKey(SA, KEY1).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      'minio addKey key APPKEYONE0000000: the access key ID already exists disabled: got service account status off. A disabled key is being retired: draw a new pair with rekey rotate.',
    );
    expect(err.code).toBe('KEY_EXISTS');
    expect(server.mutations().length).toBe(mutations);
  });

  it('GIVEN the key is a user, not a service account of the identity WHEN deleteKey/disableKey THEN WRONG_OWNER and the key stays active', async () => {
    // the bug: info-service-account 404 was taken for "already gone" while the key lived on as a user
    const c = make();
    await c.ensureIdentity(USER);
    await c.addKey(USER, KEY1);
    const ghost: IdentitySpec = { kind: 'serviceAccount', name: 'ghost', policy: POLICY };
    for (const call of [() => c.deleteKey(ghost, KEY1.accessKeyId), () => c.disableKey(ghost, KEY1.accessKeyId)]) {
      const err = (await call().catch((e: unknown) => e)) as ProviderError;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.code).toBe('WRONG_OWNER');
      expect(err.message).toMatch(
        /^minio (deleteKey|disableKey) key APPKEYONE0000000: the key is not a service account of ghost but a user: got user status enabled\. /,
      );
    }
    expect(server.users.get(KEY1.accessKeyId)?.status).toBe('enabled');
  });

  it('GIVEN the key is a service account WHEN deleteKey on a user identity THEN WRONG_OWNER and the key stays', async () => {
    const c = make();
    await c.ensureIdentity(SA);
    await c.addKey(SA, KEY1);
    const err = (await c.deleteKey(USER, KEY1.accessKeyId).catch((e: unknown) => e)) as ProviderError;
    expect(err.code).toBe('WRONG_OWNER');
    expect(err.message).toBe(
      "minio deleteKey key APPKEYONE0000000: the key is not a user of this identity but a service account: got parent app (status on). rekey only touches keys of the credential's own identity; check the key ID in the ledger.",
    );
    expect(server.serviceAccounts.get(KEY1.accessKeyId)?.status).toBe('on');
  });

  it('GIVEN an absent identity and an absent key WHEN deleteKey/disableKey THEN success (absent everywhere)', async () => {
    const c = make();
    await c.deleteKey({ kind: 'serviceAccount', name: 'ghost' }, KEY1.accessKeyId);
    await c.disableKey(USER, KEY1.accessKeyId);
    expect(server.mutations()).toEqual([]);
  });

  describe('GIVEN the reply of a mutating call is lost after the server applied it', () => {
    // idempotent: a state-setting call the shared transport may re-send once after the reset (lib/providers/http.ts)
    const cases: Array<{ call: string; identity: IdentitySpec; run: (c: MinioAdminClient) => Promise<unknown>; setup: (c: MinioAdminClient) => Promise<unknown>; check: () => void; idempotent?: boolean }> = [
      {
        call: 'PUT add-service-account',
        identity: SA,
        setup: (c) => c.ensureIdentity(SA),
        run: (c) => c.addKey(SA, KEY1),
        check: () => expect(server.serviceAccounts.get(KEY1.accessKeyId)).toEqual({ secretKey: 'fake-app-secret-one-1111', parent: 'app', status: 'on' }),
      },
      {
        call: 'PUT add-user',
        identity: USER,
        setup: (c) => c.ensureIdentity(USER),
        run: (c) => c.addKey(USER, KEY1),
        check: () => expect(server.users.get(KEY1.accessKeyId)).toEqual({ secretKey: 'fake-app-secret-one-1111', status: 'enabled', policies: ['app-rw'] }),
        idempotent: true,
      },
      {
        call: 'POST idp/builtin/policy/attach',
        identity: USER,
        setup: (c) => c.ensureIdentity(USER),
        run: (c) => c.addKey(USER, KEY1),
        check: () => expect(server.users.get(KEY1.accessKeyId)?.policies).toEqual(['app-rw']),
      },
      {
        call: 'POST update-service-account',
        identity: SA,
        setup: async (c) => (await c.ensureIdentity(SA), c.addKey(SA, KEY1)),
        run: (c) => c.disableKey(SA, KEY1.accessKeyId),
        check: () => expect(server.serviceAccounts.get(KEY1.accessKeyId)?.status).toBe('off'),
        idempotent: true,
      },
      {
        call: 'PUT set-user-status',
        identity: USER,
        setup: async (c) => (await c.ensureIdentity(USER), c.addKey(USER, KEY1)),
        run: (c) => c.disableKey(USER, KEY1.accessKeyId),
        check: () => expect(server.users.get(KEY1.accessKeyId)?.status).toBe('disabled'),
        idempotent: true,
      },
      {
        call: 'DELETE delete-service-account',
        identity: SA,
        setup: async (c) => (await c.ensureIdentity(SA), c.addKey(SA, KEY1)),
        run: (c) => c.deleteKey(SA, KEY1.accessKeyId),
        check: () => expect(server.serviceAccounts.has(KEY1.accessKeyId)).toBe(false),
      },
      {
        call: 'DELETE remove-user',
        identity: USER,
        setup: async (c) => (await c.ensureIdentity(USER), c.addKey(USER, KEY1)),
        run: (c) => c.deleteKey(USER, KEY1.accessKeyId),
        check: () => expect(server.users.has(KEY1.accessKeyId)).toBe(false),
      },
      {
        call: 'PUT add-user',
        identity: SA,
        setup: async () => undefined,
        run: (c) => c.ensureIdentity(SA),
        check: () => expect(server.users.get('app')?.policies).toEqual(['app-rw']),
        idempotent: true,
      },
    ];
    it.each(cases.filter((k) => !k.idempotent).map((k, i) => [`${k.call} (${k.identity.kind}) #${i}`, k] as const))(
      'WHEN %s THEN the error says it may be applied, and the re-run converges',
      async (_name, k) => {
        const c = make();
        await k.setup(c);
        server.loseReplyOf(k.call);
        const err = (await k.run(c).catch((e: unknown) => e)) as ProviderError;
        expect(err).toBeInstanceOf(ProviderError);
        expect(err.code).toBe('PROVIDER_UNREACHABLE');
        expect(err.message).toContain(`${k.call} may have been applied before the answer was lost: re-run the step (it looks before it acts).`);
        await k.run(c);
        k.check();
        const again = server.snapshot();
        await k.run(c);
        expect(server.snapshot()).toBe(again);
      },
    );
    it.each(cases.filter((k) => k.idempotent).map((k, i) => [`${k.call} (${k.identity.kind}) #${i}`, k] as const))(
      'WHEN %s (idempotent) THEN the transport re-sends it once on a fresh connection and the call succeeds',
      async (_name, k) => {
        const c = make();
        await k.setup(c);
        const sent = () => server.requests.filter((r) => `${r.method} ${r.path.replace('/minio/admin/v3/', '')}` === k.call).length;
        const before = sent();
        server.loseReplyOf(k.call);
        await k.run(c);
        k.check();
        expect(sent() - before).toBe(2);
        const again = server.snapshot();
        await k.run(c);
        expect(server.snapshot()).toBe(again);
      },
    );
  });

  it('GIVEN an add-service-account that timed out and was applied after the re-run looked WHEN addKey runs again THEN the duplicate answer is checked and the own pair counts as registered', async () => {
    const c = make({ timeoutMs: 300 });
    await c.ensureIdentity(SA);
    server.applyLateOf('PUT add-service-account');
    const err = (await c.addKey(SA, KEY1).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(server.serviceAccounts.has(KEY1.accessKeyId)).toBe(false);
    // the re-run looks (absent), adds, and the held first add lands just before it: 409
    await expect(c.addKey(SA, KEY1)).resolves.toEqual(KEY1);
    expect(server.serviceAccounts.get(KEY1.accessKeyId)).toEqual({ secretKey: 'fake-app-secret-one-1111', parent: 'app', status: 'on' });
    // the held first add, applied late (200), then the re-run's own add refused as a duplicate (409)
    expect(server.requests.filter((r) => r.path.endsWith('/add-service-account')).map((r) => r.status)).toEqual([200, 409]);
  });

  it('GIVEN a server that sends headers and then trickles the body WHEN a call THEN the total deadline ends it with PROVIDER_TIMEOUT', async () => {
    const timers: NodeJS.Timeout[] = [];
    const trickle = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // one byte every 20 ms: the socket never goes idle, so an idle timeout never fires
      timers.push(setInterval(() => res.write(' '), 20));
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
    const port = (trickle.address() as AddressInfo).port;
    try {
      const c = make({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 });
      const err = (await c.checkAdmin().catch((e: unknown) => e)) as ProviderError;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.code).toBe('PROVIDER_TIMEOUT');
      expect(err.message).toBe(
        `minio checkAdmin key FAKEADMINKEY: the admin endpoint http://127.0.0.1:${port} did not answer list-canned-policies in time: got no answer after 300 ms. Check that minio is healthy, or raise connection.timeoutMs.`,
      );
    } finally {
      for (const t of timers) clearInterval(t);
      trickle.closeAllConnections();
      await new Promise<void>((r) => trickle.close(() => r()));
    }
  }, 60_000);
});
