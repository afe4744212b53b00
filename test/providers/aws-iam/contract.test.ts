/**
 * The provider contract for AWS IAM against the in-process IAM server: "already gone" only when
 * IAM shows the key absent, an orphan-revealing error when CreateAccessKey's reply is lost, and
 * convergence after "applied, then the reply lost" for every mutating call.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ProviderError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { AwsIamClient } from '../../../lib/providers/aws-iam/client.js';
import type { IdentitySpec } from '../../../lib/providers/provider.js';
import { IamServer } from '../../support/iam-server.js';

const ADMIN = { accessKeyId: 'AKIAFAKEADMIN0000001', secretAccessKey: 'fake-admin-secret-for-tests-only-000000' };
const POLICY = { name: 'rekey-app', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::lake/*'] }] } };
const USER: IdentitySpec = { kind: 'user', name: 'app-reader', policy: POLICY };

let server: IamServer;
let logger: MemoryLogger;
const clients: AwsIamClient[] = [];
const errors: unknown[] = [];

function client(maxAttempts = 1): AwsIamClient {
  const c = new AwsIamClient({
    connection: { endpoint: server.endpoint, admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: SecretValue.fromString(ADMIN.secretAccessKey) }, logger },
    maxAttempts,
  });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProviderError);
  errors.push(e);
  return e as ProviderError;
}

beforeEach(async () => {
  server = await IamServer.start({ admin: ADMIN });
  logger = new MemoryLogger();
  errors.length = 0;
});

afterEach(async () => {
  const haystack = [...logger.lines, ...errors.map((e) => `${(e as Error).message}\n${String((e as Error).stack)}\n${JSON.stringify(e)}`)].join('\n');
  for (const secret of [...server.issuedSecrets, ADMIN.secretAccessKey]) expect(haystack.includes(secret)).toBe(false);
  for (const c of clients.splice(0)) c.close();
  await server.stop();
});

describe('AwsIamClient: absent only when IAM shows the key absent', () => {
  it('GIVEN a user that does not exist and a key of another user WHEN deleteKey/disableKey THEN WRONG_OWNER and the key stays Active', async () => {
    // the bug: NoSuchEntity for the (wrong) user was taken for "already gone" while the key stayed active
    server.seedUser('someone-else');
    const key = server.seedKey('someone-else');
    const iam = client();
    const ghost: IdentitySpec = { kind: 'user', name: 'ghost' };
    for (const call of [() => iam.deleteKey(ghost, key.accessKeyId), () => iam.disableKey(ghost, key.accessKeyId)]) {
      const err = await rejection(call());
      expect(err.code).toBe('WRONG_OWNER');
      expect(err.message).toMatch(
        new RegExp(`^aws-iam (deleteKey|disableKey) key ${key.accessKeyId}: the key belongs to another IAM user: got someone-else, expected ghost\\. `),
      );
    }
    expect(server.keysOf('someone-else')).toEqual([{ id: key.accessKeyId, status: 'Active' }]);
  });

  it('GIVEN a user that does not exist and a key IAM does not know WHEN deleteKey THEN success', async () => {
    const iam = client();
    await iam.deleteKey({ kind: 'user', name: 'ghost' }, 'AKIAFAKEGONE00000001');
    await iam.disableKey({ kind: 'alternatingUsers', name: 'ghost' }, 'AKIAFAKEGONE00000001');
    expect(server.requests.map((r) => `${r.action}:${r.status}`)).toEqual([
      'ListAccessKeys:404', 'GetAccessKeyLastUsed:404',
      'ListAccessKeys:404', 'ListAccessKeys:404', 'GetAccessKeyLastUsed:404',
    ]);
  });
});

describe('AwsIamClient: idempotent addKey with the pair of a previous run', () => {
  it('GIVEN the exact pair WHEN addKey(identity, pair) THEN it is returned with no change; another secret is KEY_EXISTS', async () => {
    const iam = client();
    await iam.ensureIdentity(USER);
    const pair = await iam.addKey(USER);
    const before = server.snapshot();
    expect(await iam.addKey(USER, pair)).toBe(pair);
    const other = await rejection(iam.addKey(USER, { accessKeyId: pair.accessKeyId, secretAccessKey: SecretValue.fromString('fake-not-the-secret-000000000000000000') }));
    expect([other.code, other.providerCode]).toEqual(['KEY_EXISTS', 'SignatureDoesNotMatch']);
    expect(server.snapshot()).toEqual(before);
  });
});

describe('AwsIamClient: applied, then the reply lost', () => {
  it('GIVEN CreateAccessKey applied and its reply lost WHEN addKey THEN KEY_STATE_UNKNOWN names the keys that exist; deleting the orphan converges', async () => {
    const iam = client(3);
    await iam.ensureIdentity(USER);
    const key1 = await iam.addKey(USER);
    server.injectFault({ action: 'CreateAccessKey', loseReply: true });
    const err = await rejection(iam.addKey(USER));
    const orphan = server.keysOf('app-reader').map((k) => k.id).find((id) => id !== key1.accessKeyId)!;
    expect(orphan).toBeDefined();
    expect(err.code).toBe('KEY_STATE_UNKNOWN');
    expect(err.message).toMatch(/^aws-iam addKey: IAM CreateAccessKey for user app-reader failed and may have created a key whose secret was lost: got ECONNRESET \(/);
    expect(err.message).toContain(`Keys of app-reader now: ${key1.accessKeyId} (Active), ${orphan} (Active). Delete any key there that is not in the plan (deleteKey), then re-run the step.`);
    // sent once: no SDK retry created a third key
    expect(server.requests.filter((r) => r.action === 'CreateAccessKey').map((r) => r.status)).toEqual([200, 0]);
    // the rotator deletes the orphan (not in the plan) and re-runs: converges
    await iam.deleteKey(USER, orphan);
    const key2 = await iam.addKey(USER);
    expect(server.keysOf('app-reader').map((k) => k.id)).toEqual([key1.accessKeyId, key2.accessKeyId]);
  });

  const cases: Array<{ action: string; setup: (iam: AwsIamClient) => Promise<string | undefined>; run: (iam: AwsIamClient, keyId?: string) => Promise<unknown>; check: (keyId?: string) => void }> = [
    { action: 'CreateUser', setup: async () => undefined, run: (iam) => iam.ensureIdentity(USER), check: () => expect([...server.users.keys()]).toContain('app-reader') },
    { action: 'PutUserPolicy', setup: async () => undefined, run: (iam) => iam.ensureIdentity(USER), check: () => expect([...server.users.get('app-reader')!.policies.keys()]).toEqual(['rekey-app']) },
    {
      action: 'UpdateAccessKey',
      setup: async (iam) => (await iam.ensureIdentity(USER), (await iam.addKey(USER)).accessKeyId),
      run: (iam, id) => iam.disableKey(USER, id!),
      check: (id) => expect(server.keysOf('app-reader')).toEqual([{ id, status: 'Inactive' }]),
    },
    {
      action: 'DeleteAccessKey',
      setup: async (iam) => (await iam.ensureIdentity(USER), (await iam.addKey(USER)).accessKeyId),
      run: (iam, id) => iam.deleteKey(USER, id!),
      check: () => expect(server.keysOf('app-reader')).toEqual([]),
    },
  ];
  it.each(cases.map((c) => [c.action, c] as const))('GIVEN %s applied and its reply lost WHEN the step fails THEN its re-run converges', async (_name, k) => {
    const iam = client(1);
    const keyId = await k.setup(iam);
    server.injectFault({ action: k.action, loseReply: true });
    const err = await rejection(k.run(iam, keyId));
    expect(err.code).toBe('PROVIDER_UNREACHABLE');
    expect(err.message).toContain(`IAM may have applied ${k.action} before the answer was lost: re-run the step (it looks before it acts).`);
    await k.run(iam, keyId);
    k.check(keyId);
    const snap = server.snapshot();
    await k.run(iam, keyId);
    expect(server.snapshot()).toEqual(snap);
  });
});

describe('AwsIamClient: a total deadline per call', () => {
  it('GIVEN an endpoint that sends the headers and then trickles the body WHEN a call THEN PROVIDER_TIMEOUT after the deadline', async () => {
    const { createServer } = await import('node:http');
    const timers: NodeJS.Timeout[] = [];
    const trickle = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      timers.push(setInterval(() => res.write(' '), 20));
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
    const port = (trickle.address() as { port: number }).port;
    try {
      const iam = new AwsIamClient({
        connection: { endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300, admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: SecretValue.fromString(ADMIN.secretAccessKey) }, logger },
        maxAttempts: 1,
      });
      clients.push(iam);
      const err = await rejection(iam.checkAdmin());
      expect([err.code, err.providerCode]).toEqual(['PROVIDER_TIMEOUT', 'ETIMEDOUT']);
      expect(err.message).toBe(
        `aws-iam checkAdmin: IAM at http://127.0.0.1:${port} did not answer GetUser within 300 ms: got ETIMEDOUT. Check the endpoint and the network, or raise connection.timeoutMs.`,
      );
    } finally {
      for (const t of timers) clearInterval(t);
      trickle.closeAllConnections();
      await new Promise<void>((r) => trickle.close(() => r()));
    }
  }, 60_000);
});
