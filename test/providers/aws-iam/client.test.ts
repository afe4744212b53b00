import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import aws4 from 'aws4';
import { ProviderError, ValidationError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import {
  alternateUser,
  AwsIamClient,
  canonicalJson,
  type AwsIamClientProps,
} from '../../../lib/providers/aws-iam/client.js';
import type { IdentitySpec } from '../../../lib/providers/provider.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { IamServer, type IamServerOptions } from '../../support/iam-server.js';

// Obviously fake admin credential (the server accepts exactly this pair).
const ADMIN = { accessKeyId: 'AKIAFAKEADMIN0000001', secretAccessKey: 'fake-admin-secret-for-tests-only-000000' };
const POLICY = {
  name: 'rekey-app-reader',
  document: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::lake', 'arn:aws:s3:::lake/*'] }],
  },
};
const USER: IdentitySpec = { kind: 'user', name: 'app-reader', policy: POLICY };

let server: IamServer;
let logger: MemoryLogger;
const clients: AwsIamClient[] = [];
const caught: unknown[] = [];

async function startServer(options: Partial<IamServerOptions> = {}): Promise<IamServer> {
  server = await IamServer.start({ admin: ADMIN, ...options });
  return server;
}

function client(overrides: Partial<AwsIamClientProps['connection']> = {}, maxAttempts?: number): AwsIamClient {
  const c = new AwsIamClient({
    connection: {
      endpoint: server.endpoint,
      admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: SecretValue.fromString(ADMIN.secretAccessKey) },
      logger,
      ...overrides,
    },
    maxAttempts,
  });
  clients.push(c);
  return c;
}

/** A client signed with a key the server drew for a user (to prove that key works or is rejected). */
function clientFor(pair: { accessKeyId: string; secretAccessKey: SecretValue }): AwsIamClient {
  return client({ admin: pair }, 1);
}

/** Runs `fn`, expects a rejection, remembers it for the secret scan, and returns it. */
async function rejection(fn: () => Promise<unknown>): Promise<ProviderError> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ProviderError);
  caught.push(error);
  return error as ProviderError;
}

function actionsSince(index: number): string[] {
  return server.requests.slice(index).map((r) => r.action);
}

beforeEach(() => {
  logger = new MemoryLogger();
  caught.length = 0;
});

afterEach(async () => {
  // Every test: no secret the server drew, nor the admin secret, in any log line or error.
  const secrets = [...(server?.issuedSecrets ?? []), ADMIN.secretAccessKey];
  const haystack = [
    ...logger.lines,
    ...caught.map((e) => `${(e as Error).message}\n${JSON.stringify(e)}\n${String((e as Error).stack)}`),
  ].join('\n');
  for (const secret of secrets) expect(haystack.includes(secret)).toBe(false);
  for (const c of clients.splice(0)) c.destroy();
  await server?.stop();
});

describe('AwsIamClient ensureIdentity', () => {
  it('creates the user with its inline policy, then changes nothing when run again', async () => {
    // GIVEN an IAM without the user
    await startServer();
    const iam = client();

    // WHEN ensureIdentity runs twice
    await iam.ensureIdentity(USER);
    const afterFirst = server.requests.length;
    await iam.ensureIdentity(USER);

    // THEN the user exists with exactly the declared policy (canonical JSON)
    expect([...server.users.keys()]).toEqual(['app-reader']);
    expect([...server.users.get('app-reader')!.policies.entries()]).toEqual([
      ['rekey-app-reader', canonicalJson(POLICY.document)],
    ]);
    expect(actionsSince(0).slice(0, afterFirst)).toEqual(['GetUser', 'CreateUser', 'PutUserPolicy']);
    // AND the second run only read: GetUser, ListUserPolicies, GetUserPolicy
    expect(actionsSince(afterFirst)).toEqual(['GetUser', 'ListUserPolicies', 'GetUserPolicy']);
  });

  it('accepts an existing policy with the same document in another key order (URL-decoded, canonical JSON)', async () => {
    // GIVEN the user already carries the policy, keys reordered, with characters IAM URL-encodes
    const doc = {
      Statement: [{ Resource: ['arn:aws:s3:::lake', 'arn:aws:s3:::lake/*'], Action: ['s3:GetObject', 's3:ListBucket'], Effect: 'Allow' }],
      Version: '2012-10-17',
    };
    await startServer();
    server.seedUser('app-reader', { 'rekey-app-reader': doc });
    const before = server.snapshot();

    // WHEN ensureIdentity runs
    await client().ensureIdentity(USER);

    // THEN nothing was written
    expect(server.snapshot()).toEqual(before);
    expect(actionsSince(0)).toEqual(['GetUser', 'ListUserPolicies', 'GetUserPolicy']);
  });

  it('refuses an existing user whose policy of the same name has another document, before any change', async () => {
    // GIVEN app-reader exists with a broader policy under the declared name
    await startServer();
    server.seedUser('app-reader', { 'rekey-app-reader': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } });
    const before = server.snapshot();

    // WHEN ensureIdentity runs
    const error = await rejection(() => client().ensureIdentity(USER));

    // THEN it names the user, the policy, both documents and the fix; IAM is unchanged
    expect(error.code).toBe('UNEXPECTED_POLICY');
    expect(error.message).toBe(
      'aws-iam ensureIdentity: user app-reader has inline policy "rekey-app-reader" with another document than the declared one: ' +
        'got {"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}, ' +
        'expected {"Statement":[{"Action":["s3:GetObject","s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::lake","arn:aws:s3:::lake/*"]}],"Version":"2012-10-17"}. ' +
        'Make the declared policy match, or fix the policy in IAM (aws iam put-user-policy / delete-user-policy --user-name app-reader --policy-name rekey-app-reader); nothing was changed.',
    );
    expect(server.snapshot()).toEqual(before);
  });

  it('refuses an undeclared extra inline policy found on a later ListUserPolicies page, before creating the other user', async () => {
    // GIVEN alternating users where etl-b exists with the declared policy plus an undeclared one,
    // AND the server pages ListUserPolicies one name at a time
    await startServer({ pageSize: 1 });
    server.seedUser('etl-b', { 'rekey-app-reader': POLICY.document, 'zz-extra': { Version: '2012-10-17', Statement: [] } });
    const before = server.snapshot();
    const identity: IdentitySpec = { kind: 'alternatingUsers', name: 'etl', policy: POLICY };

    // WHEN ensureIdentity runs
    const error = await rejection(() => client().ensureIdentity(identity));

    // THEN the extra policy is refused and etl-a was not created
    expect(error.message).toBe(
      'aws-iam ensureIdentity: user etl-b carries an inline policy that the identity does not declare: got policy "zz-extra". ' +
        'Declare it as the identity\'s policy, or remove it in IAM (aws iam delete-user-policy --user-name etl-b --policy-name zz-extra); nothing was changed.',
    );
    expect(server.snapshot()).toEqual(before);
    expect(actionsSince(0)).not.toContain('CreateUser');
    expect(server.requests.filter((r) => r.action === 'ListUserPolicies').map((r) => r.params.Marker ?? null)).toEqual([
      null,
      expect.any(String),
    ]);
  });

  it('refuses identity kinds IAM has no equivalent for', async () => {
    await startServer();
    const error = await rejection(() => client().ensureIdentity({ kind: 'serviceAccount', name: 'spark' }));
    expect(error.code).toBe('IDENTITY_KIND_UNSUPPORTED');
    expect(error.message).toBe(
      'aws-iam ensureIdentity: IAM supports identity kinds user and alternatingUsers: got serviceAccount for "spark". ' +
        'Use kind user (two overlapping keys) or alternatingUsers (two users) for aws-iam.',
    );
    expect(server.requests).toEqual([]);
  });
});

describe('AwsIamClient single-user rotation', () => {
  it('creates key 2, inactivates key 1, deletes key 1; the old key stops authenticating', async () => {
    // GIVEN app-reader with one key in use
    await startServer();
    const iam = client();
    await iam.ensureIdentity(USER);
    const key1 = await iam.addKey(USER);
    expect(key1.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(key1.secretAccessKey.length).toBe(40);

    // WHEN the rotation adds key 2
    const key2 = await iam.addKey(USER);
    // THEN both keys are active, and the new one authenticates
    expect(server.keysOf('app-reader')).toEqual([
      { id: key1.accessKeyId, status: 'Active' },
      { id: key2.accessKeyId, status: 'Active' },
    ]);
    await clientFor(key2).checkAdmin();
    expect(await iam.listKeys(USER)).toEqual([
      { accessKeyId: key1.accessKeyId, status: 'active', owner: 'app-reader', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) },
      { accessKeyId: key2.accessKeyId, status: 'active', owner: 'app-reader', createdAt: expect.stringMatching(/Z$/) },
    ]);

    // WHEN key 1 is disabled
    await iam.disableKey(USER, key1.accessKeyId);
    // THEN it is Inactive and IAM rejects it
    expect(server.keysOf('app-reader')).toEqual([
      { id: key1.accessKeyId, status: 'Inactive' },
      { id: key2.accessKeyId, status: 'Active' },
    ]);
    const rejected = await rejection(() => clientFor(key1).checkAdmin());
    expect(rejected.providerCode).toBe('InvalidClientTokenId');

    // WHEN key 1 is deleted
    await iam.deleteKey(USER, key1.accessKeyId);
    // THEN only key 2 remains
    expect(server.keysOf('app-reader')).toEqual([{ id: key2.accessKeyId, status: 'Active' }]);
    // AND the IAM calls were exactly these
    expect(server.requests.filter((r) => r.signedBy === ADMIN.accessKeyId).map((r) => `${r.action}:${r.status}`)).toEqual([
      'GetUser:404', 'CreateUser:200', 'PutUserPolicy:200',
      'ListAccessKeys:200', 'CreateAccessKey:200',
      'ListAccessKeys:200', 'CreateAccessKey:200',
      'ListAccessKeys:200',
      // disable and delete look first: the key must be on the identity's user
      'ListAccessKeys:200', 'UpdateAccessKey:200',
      'ListAccessKeys:200', 'DeleteAccessKey:200',
    ]);
    expect(server.requests.find((r) => r.action === 'UpdateAccessKey')!.params).toEqual({
      Action: 'UpdateAccessKey', Version: '2010-05-08', UserName: 'app-reader', AccessKeyId: key1.accessKeyId, Status: 'Inactive',
    });
  });

  it('treats disabling or deleting an absent key as done (re-run after a crash)', async () => {
    await startServer();
    const iam = client();
    await iam.ensureIdentity(USER);
    const key = await iam.addKey(USER);
    await iam.deleteKey(USER, key.accessKeyId);

    await iam.deleteKey(USER, key.accessKeyId);
    await iam.disableKey(USER, key.accessKeyId);

    // absent is shown by IAM itself: not on the user, and GetAccessKeyLastUsed knows no such key
    expect(server.requests.slice(-4).map((r) => `${r.action}:${r.status}:${r.code}`)).toEqual([
      'ListAccessKeys:200:undefined',
      'GetAccessKeyLastUsed:404:NoSuchEntity',
      'ListAccessKeys:200:undefined',
      'GetAccessKeyLastUsed:404:NoSuchEntity',
    ]);
    expect(logger.records.slice(-2)[0]).toMatchObject({ operation: 'GetAccessKeyLastUsed', status: 404, providerCode: 'NoSuchEntity', outcome: 'tolerated' });
    expect(logger.records.slice(-1)[0]).toMatchObject({ operation: 'disableKey', keyId: key.accessKeyId, status: 'absent' });
  });

  it('refuses a third key before any change, naming the user and both key IDs', async () => {
    // GIVEN app-reader already holds two keys (one inactive)
    await startServer();
    server.seedUser('app-reader');
    const a = server.seedKey('app-reader');
    const b = server.seedKey('app-reader');
    server.keys.get(b.accessKeyId)!.status = 'Inactive';
    const before = server.snapshot();

    // WHEN a third key is requested
    const error = await rejection(() => client().addKey({ kind: 'user', name: 'app-reader' }));

    // THEN it is refused with both IDs; only ListAccessKeys was sent; IAM is unchanged
    expect(error.code).toBe('KEY_LIMIT');
    expect(error.message).toBe(
      `aws-iam addKey: user app-reader already has the IAM maximum of 2 access keys: got ${a.accessKeyId} (Active) and ${b.accessKeyId} (Inactive). ` +
        'Retire one of them first (disableKey, then deleteKey), then add the new key; nothing was changed.',
    );
    expect(actionsSince(0)).toEqual(['ListAccessKeys']);
    expect(server.snapshot()).toEqual(before);
  });

  it('creates a key against a server whose clock is 30 minutes ahead: CreateAccessKey (sent once) uses the skew the main client learned', async () => {
    // GIVEN IAM's clock 30 min ahead (SigV4 expires after 15 min)
    await startServer({ clockSkewMs: 30 * 60 * 1000 });
    const iam = client();
    // WHEN the identity is ensured (the SDK retries GetUser once, correcting its clock from IAM's Date header), then a key added
    await iam.ensureIdentity(USER);
    const key = await iam.addKey(USER);
    // THEN the key exists; CreateAccessKey went out once and succeeded
    expect(server.keysOf('app-reader').map((k) => k.id)).toEqual([key.accessKeyId]);
    expect(server.requests.filter((r) => r.action === 'CreateAccessKey').map((r) => r.status)).toEqual([200]);
    // only the very first call met the skew
    expect(server.requests.filter((r) => r.code === 'SignatureDoesNotMatch').map((r) => r.action)).toEqual(['GetUser']);
    expect(server.requests[0]).toMatchObject({ action: 'GetUser', status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('refuses a caller-chosen pair: IAM draws keys itself', async () => {
    await startServer();
    const pair = { accessKeyId: 'AKIAFAKEGIVEN0000001', secretAccessKey: SecretValue.fromString('fake-given-secret-000000000000000000000') };
    const error = await rejection(() => client().addKey(USER, pair));
    expect(error.code).toBe('PROVIDER_DRAWS_KEYS');
    expect(error.keyId).toBe('AKIAFAKEGIVEN0000001');
    expect(error.message).toBe(
      'aws-iam addKey key AKIAFAKEGIVEN0000001: IAM draws access keys itself and cannot register a given pair: got access key ID AKIAFAKEGIVEN0000001. ' +
        'Use provider-drawn keys: call addKey without a pair and deliver the returned pair through the store (external delivery).',
    );
    expect(error.message.includes('fake-given-secret')).toBe(false);
    // it looked whether the pair is already registered (an idempotent re-run), and changed nothing
    expect(actionsSince(0)).toEqual(['ListAccessKeys']);
  });

  it('maps LimitExceeded from IAM itself (a key added concurrently between list and create)', async () => {
    await startServer();
    server.seedUser('app-reader');
    server.injectFault({ action: 'CreateAccessKey', status: 409, code: 'LimitExceeded', message: 'Cannot exceed quota for AccessKeysPerUser: 2' });
    const error = await rejection(() => client().addKey({ kind: 'user', name: 'app-reader' }));
    expect([error.status, error.providerCode]).toEqual([409, 'LimitExceeded']);
    expect(error.message).toBe(
      'aws-iam addKey: IAM CreateAccessKey exceeded a quota (HTTP 409 LimitExceeded): got "Cannot exceed quota for AccessKeysPerUser: 2". ' +
        'An IAM user holds at most 2 access keys: retire one (disableKey, then deleteKey) first.',
    );
  });

  it('maps NoSuchEntity for a user that does not exist', async () => {
    await startServer();
    const error = await rejection(() => client().addKey({ kind: 'user', name: 'ghost' }));
    expect([error.status, error.providerCode]).toEqual([404, 'NoSuchEntity']);
    expect(error.message).toBe(
      'aws-iam addKey: IAM ListAccessKeys found no such entity (HTTP 404 NoSuchEntity): got "The user with name ghost cannot be found.". ' +
        'Run ensureIdentity first (the activate step does), or check the user name and key ID.',
    );
  });
});

describe('AwsIamClient alternating users', () => {
  const ETL: IdentitySpec = { kind: 'alternatingUsers', name: 'etl', policy: POLICY };

  it('re-keys A, B, A over three rotations; each new key works and each retired key is rejected', async () => {
    // GIVEN etl-a and etl-b, with consumers on etl-b's key
    await startServer();
    const iam = client();
    await iam.ensureIdentity(ETL);
    expect([...server.users.values()].map((u) => [u.userName, [...u.policies.keys()]]).sort()).toEqual([
      ['etl-a', ['rekey-app-reader']],
      ['etl-b', ['rekey-app-reader']],
    ]);
    const seeded = server.seedKey('etl-b');
    let current = { user: 'etl-b', pair: { accessKeyId: seeded.accessKeyId, secretAccessKey: SecretValue.fromString(seeded.secretAccessKey) } };

    const holders: string[] = [];
    for (let rotation = 1; rotation <= 3; rotation++) {
      // WHEN a rotation re-keys the user not in use (the plan names the current key)
      const pair = await iam.addKey(ETL, undefined, { currentKeyId: current.pair.accessKeyId });
      const user = (await iam.listKeys(ETL)).find((k) => k.accessKeyId === pair.accessKeyId)!.owner;
      holders.push(user);
      // THEN the new key is on the other user and authenticates
      expect(user).toBe(alternateUser(ETL, current.user));
      await clientFor(pair).checkAdmin();
      // AND the previous user's key is still valid until retire
      await clientFor(current.pair).checkAdmin();
      // AND a re-run with the pair from the first run is idempotent
      expect(await iam.addKey(ETL, pair, { currentKeyId: current.pair.accessKeyId })).toBe(pair);

      // WHEN retire disables then deletes the previous user's key
      await iam.disableKey(ETL, current.pair.accessKeyId);
      await iam.deleteKey(ETL, current.pair.accessKeyId);
      // THEN that key is rejected and each user holds at most the new key
      const rejected = await rejection(() => clientFor(current.pair).checkAdmin());
      expect(rejected.providerCode).toBe('InvalidClientTokenId');
      expect(server.keysOf(current.user)).toEqual([]);
      expect(server.keysOf(user)).toEqual([{ id: pair.accessKeyId, status: 'Active' }]);
      current = { user, pair };
    }
    expect(holders).toEqual(['etl-a', 'etl-b', 'etl-a']);
    expect((await iam.listKeys(ETL)).map((k) => [k.owner, k.status])).toEqual([['etl-a', 'active']]);
  });

  it("removes only the plan's previous key from the standby user (disabled, then deleted)", async () => {
    await startServer();
    const iam = client();
    await iam.ensureIdentity(ETL);
    // GIVEN consumers on etl-b's key, and etl-a holding the previous rotation's key
    const current = server.seedKey('etl-b');
    const previous = server.seedKey('etl-a');

    // WHEN a rotation names both
    const pair = await iam.addKey(ETL, undefined, { currentKeyId: current.accessKeyId, previousKeyId: previous.accessKeyId });

    // THEN the previous key was disabled, then deleted, and the new key took its place
    expect(server.keysOf('etl-a')).toEqual([{ id: pair.accessKeyId, status: 'Active' }]);
    expect(server.keysOf('etl-b')).toEqual([{ id: current.accessKeyId, status: 'Active' }]);
    const calls = server.requests.filter((r) => r.params.AccessKeyId === previous.accessKeyId).map((r) => r.action);
    expect(calls).toEqual(['UpdateAccessKey', 'DeleteAccessKey']);
  });

  it('GIVEN a stale caller WHEN the standby user holds a key that is not the plan\'s previous key THEN UNEXPECTED_KEY before any change', async () => {
    // the bug: the oldest active key of "whichever user the caller calls standby" was deleted, with no in-use check
    await startServer();
    const iam = client();
    await iam.ensureIdentity(ETL);
    const old = server.seedKey('etl-a');
    const inUse = server.seedKey('etl-b');
    const before = server.snapshot();
    const n = server.requests.length;

    // WHEN a stale plan says the current key is etl-a's old one (consumers are on etl-b's)
    const stale = await rejection(() => iam.addKey(ETL, undefined, { currentKeyId: old.accessKeyId, previousKeyId: 'AKIAFAKENOTINPLAN0001' }));

    // THEN nothing is touched: the key consumers use stays Active
    expect(stale.code).toBe('UNEXPECTED_KEY');
    expect(stale.message).toBe(
      `aws-iam addKey: standby user etl-b holds a key other than the plan's previous key AKIAFAKENOTINPLAN0001: ${inUse.accessKeyId}: got etl-a [${old.accessKeyId}] and etl-b [${inUse.accessKeyId}]. ` +
        "rekey revokes only the plan's previous key: check which key consumers use, finish or retry the previous rotation, or pass the right previousKeyId; nothing was changed",
    );
    expect(server.snapshot()).toEqual(before);
    expect(actionsSince(n)).toEqual(['ListAccessKeys', 'ListAccessKeys']);

    // AND without a current key, keys that exist are refused too
    const unnamed = await rejection(() => iam.addKey(ETL));
    expect(unnamed.code).toBe('UNEXPECTED_KEY');
    // AND a current key on neither user is refused
    const unknown = await rejection(() => iam.addKey(ETL, undefined, { currentKeyId: 'AKIAFAKEUNKNOWN00001' }));
    expect(unknown.message).toContain('the current key AKIAFAKEUNKNOWN00001 is on neither user');
    expect(server.snapshot()).toEqual(before);
  });

  it('a user outside the pair is refused', async () => {
    await startServer();
    expect(() => alternateUser(ETL, 'etl-c')).toThrow(
      new ValidationError('aws-iam identity "etl" current user must be one of its two users: got "etl-c". Pass etl-a or etl-b (the user whose key consumers hold now).'),
    );
    expect(alternateUser({ ...ETL, users: ['blue', 'green'] }, 'green')).toBe('blue');
    expect(server.requests).toEqual([]);
  });
});

describe('AwsIamClient failures', () => {
  it('reports an admin key IAM does not know (InvalidClientTokenId)', async () => {
    await startServer();
    const iam = client({ admin: { accessKeyId: 'AKIAFAKEUNKNOWN00001', secretAccessKey: SecretValue.fromString(ADMIN.secretAccessKey) } }, 1);
    const error = await rejection(() => iam.checkAdmin());
    expect([error.status, error.providerCode, error.code]).toEqual([403, 'InvalidClientTokenId', 'PROVIDER_AUTH']);
    expect(error.message).toBe(
      'aws-iam checkAdmin: IAM does not accept the admin access key (GetUser, HTTP 403 InvalidClientTokenId): got admin key AKIAFAKEUNKNOWN00001. ' +
        'Check the admin credential mounted into the rotation Job: the key must exist and be Active in this AWS account.',
    );
  });

  it('reports a wrong admin secret (SignatureDoesNotMatch) without showing it', async () => {
    await startServer();
    const wrong = 'fake-WRONG-admin-secret-0000000000000000';
    const iam = client({ admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: SecretValue.fromString(wrong) } }, 1);
    const error = await rejection(() => iam.ensureIdentity(USER));
    expect([error.status, error.providerCode, error.code]).toEqual([403, 'SignatureDoesNotMatch', 'PROVIDER_AUTH']);
    expect(error.message).toBe(
      'aws-iam ensureIdentity: IAM rejected the request signature (GetUser, HTTP 403 SignatureDoesNotMatch): got admin key AKIAFAKEADMIN0000001. ' +
        'The admin secret key does not belong to this key ID, or the region is wrong; fix the admin credential Secret.',
    );
    expect(logger.lines.join('\n').includes(wrong)).toBe(false);
    expect(server.users.size).toBe(0);
  });

  it('reports AccessDenied when the admin identity lacks permissions', async () => {
    await startServer();
    server.seedUser('app-reader');
    server.seedUser('intruder');
    const k = server.seedKey('intruder');
    const iam = client({ admin: { accessKeyId: k.accessKeyId, secretAccessKey: SecretValue.fromString(k.secretAccessKey) } }, 1);
    const error = await rejection(() => iam.addKey({ kind: 'user', name: 'app-reader' }));
    expect([error.status, error.providerCode]).toEqual([403, 'AccessDenied']);
    expect(error.message).toBe(
      'aws-iam addKey: the admin identity may not call iam:ListAccessKeys (HTTP 403 AccessDenied): ' +
        'got "User: arn:aws:iam::123456789012:user/intruder is not authorized to perform: iam:ListAccessKeys on resource: user app-reader because no identity-based policy allows the iam:ListAccessKeys action". ' +
        'Grant iam:ListAccessKeys on user app-reader to the admin identity.',
    );
  });

  it('reports an unreachable endpoint', async () => {
    // GIVEN a port nothing listens on
    const port = await freePort();
    await startServer();
    const iam = client({ endpoint: `http://127.0.0.1:${port}` }, 1);
    const error = await rejection(() => iam.checkAdmin());
    expect([error.code, error.providerCode, error.status]).toEqual(['PROVIDER_UNREACHABLE', 'ECONNREFUSED', undefined]);
    expect(error.message).toBe(
      `aws-iam checkAdmin: cannot reach IAM at http://127.0.0.1:${port} (GetUser): got ECONNREFUSED. ` +
        "Check connection.endpoint, DNS, and that the rotation Job's NetworkPolicy allows egress to it.",
    );
    expect(logger.records).toEqual([
      expect.objectContaining({ provider: 'aws-iam', operation: 'GetUser', status: null, providerCode: 'ECONNREFUSED' }),
    ]);
  });

  it('reports a TLS certificate it cannot verify, and works once the CA is given', async () => {
    const tls = selfSignedCert();
    if (!tls) return;
    // GIVEN an https IAM with a self-signed certificate
    await startServer({ tls });
    // WHEN the client does not trust it
    const error = await rejection(() => client({}, 1).checkAdmin());
    // THEN a TLS error names the endpoint and the fix
    expect([error.code, error.providerCode]).toEqual(['PROVIDER_TLS', 'DEPTH_ZERO_SELF_SIGNED_CERT']);
    expect(error.message).toBe(
      `aws-iam checkAdmin: TLS verification of ${server.endpoint} failed (GetUser): got DEPTH_ZERO_SELF_SIGNED_CERT (self-signed certificate). ` +
        "Set connection.caPem to the CA certificate that signed the endpoint's certificate, or fix the endpoint's certificate.",
    );
    expect(server.requests).toEqual([]);
    // AND with caPem the same call succeeds
    await client({ caPem: tls.cert }, 1).checkAdmin();
    expect(actionsSince(0)).toEqual(['GetUser']);
  });

  it('reports an endpoint that accepts the connection but never answers (request timeout)', async () => {
    // GIVEN a TCP listener that never writes a byte
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as net.AddressInfo;
    await startServer();
    try {
      // WHEN a call times out after 300 ms
      const error = await rejection(() => client({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 }, 1).checkAdmin());
      // THEN the error names the endpoint, the limit and the fix
      expect([error.code, error.providerCode]).toEqual(['PROVIDER_TIMEOUT', 'ETIMEDOUT']);
      expect(error.message).toBe(
        `aws-iam checkAdmin: IAM at http://127.0.0.1:${port} did not answer GetUser within 300 ms: got ETIMEDOUT. ` +
          'Check the endpoint and the network, or raise connection.timeoutMs.',
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('retries a transient 500 on a read (maxAttempts 3)', async () => {
    await startServer();
    server.seedUser('app-reader');
    server.injectFault({ action: 'ListAccessKeys' });
    const keys = await client().listKeys({ kind: 'user', name: 'app-reader' });
    expect(keys).toEqual([]);
    expect(server.requests.map((r) => `${r.action}:${r.status}`)).toEqual(['ListAccessKeys:500', 'ListAccessKeys:200']);
    expect(logger.records).toEqual([expect.objectContaining({ operation: 'ListAccessKeys', status: 200, attempts: 2 })]);
  });

  it('a 5xx mid-rotation leaves the old key Active (disable fails after 3 attempts)', async () => {
    // GIVEN a rotation that created key 2
    await startServer();
    const iam = client();
    await iam.ensureIdentity(USER);
    const key1 = await iam.addKey(USER);
    const key2 = await iam.addKey(USER);
    // AND IAM fails every UpdateAccessKey for a while
    server.injectFault({ action: 'UpdateAccessKey', times: 3 });

    // WHEN retire disables key 1
    const error = await rejection(() => iam.disableKey(USER, key1.accessKeyId));

    // THEN the error says IAM failed after 3 attempts, and key 1 is still Active next to key 2
    expect([error.status, error.providerCode, error.code, error.keyId]).toEqual([500, 'ServiceFailure', 'PROVIDER_UNAVAILABLE', key1.accessKeyId]);
    expect(error.message).toBe(
      `aws-iam disableKey key ${key1.accessKeyId}: IAM failed to answer UpdateAccessKey (HTTP 500 ServiceFailure) after 3 attempt(s): ` +
        'got "Request processing has failed due to an unknown error, exception or failure.". ' +
        "This is a failure on IAM's side; re-run the step, which observes IAM's state before acting.",
    );
    expect(server.keysOf('app-reader')).toEqual([
      { id: key1.accessKeyId, status: 'Active' },
      { id: key2.accessKeyId, status: 'Active' },
    ]);
  });

  it('sends CreateAccessKey once: a 500 there fails without retry and leaves only the old key', async () => {
    await startServer();
    const iam = client();
    await iam.ensureIdentity(USER);
    const key1 = await iam.addKey(USER);
    server.injectFault({ action: 'CreateAccessKey' });

    const error = await rejection(() => iam.addKey(USER));

    expect([error.status, error.providerCode]).toEqual([500, 'ServiceFailure']);
    expect(error.message).toContain('after 1 attempt(s)');
    expect(server.requests.filter((r) => r.action === 'CreateAccessKey').map((r) => r.status)).toEqual([200, 500]);
    expect(server.keysOf('app-reader')).toEqual([{ id: key1.accessKeyId, status: 'Active' }]);
  });

  it('validates props', async () => {
    await startServer();
    expect(() => client({}, 0)).toThrow(
      new ValidationError('aws-iam client maxAttempts must be an integer from 1 to 10: got 0. Use 1 for no retries, or the default 3.'),
    );
    await expect(client().disableKey(USER, 'not a key')).rejects.toThrow(
      new ValidationError('aws-iam disableKey access key ID must be 16-128 letters, digits or underscores: got "not a key". Pass the AccessKeyId IAM returned.'),
    );
  });
});

describe('AwsIamClient pagination and logging', () => {
  it('follows ListAccessKeys Marker/IsTruncated, so the two-keys check sees keys on later pages', async () => {
    // GIVEN a server that returns one key per page and a user with two keys
    await startServer({ pageSize: 1 });
    server.seedUser('app-reader');
    const a = server.seedKey('app-reader');
    const b = server.seedKey('app-reader');
    const iam = client();

    // WHEN the keys are listed
    const keys = await iam.listKeys({ kind: 'user', name: 'app-reader' });

    // THEN both pages were read
    expect(keys.map((k) => k.accessKeyId)).toEqual([a.accessKeyId, b.accessKeyId]);
    const lists = server.requests.filter((r) => r.action === 'ListAccessKeys');
    expect(lists.map((r) => r.params.Marker ?? null)).toEqual([null, expect.any(String)]);
    // AND a third key is still refused
    const error = await rejection(() => iam.addKey({ kind: 'user', name: 'app-reader' }));
    expect(error.code).toBe('KEY_LIMIT');
    expect(server.keysOf('app-reader')).toHaveLength(2);
  });

  it('logs one JSON line per IAM call with key IDs, statuses and durations, and never a secret', async () => {
    await startServer();
    const iam = client();
    await iam.ensureIdentity(USER);
    const key1 = await iam.addKey(USER);
    const key2 = await iam.addKey(USER);
    await iam.disableKey(USER, key1.accessKeyId);
    await iam.deleteKey(USER, key1.accessKeyId);
    // the same key ID with another secret: refused after a signed check
    await rejection(() => iam.addKey(USER, { accessKeyId: key2.accessKeyId, secretAccessKey: SecretValue.fromString('fake-other-secret-not-issued-00000000') }));
    server.injectFault({ action: 'DeleteAccessKey', times: 3 });
    await rejection(() => iam.deleteKey(USER, key2.accessKeyId));

    // one line per IAM request the SDK completed (the retried one counts once)
    expect(logger.records.every((r) => r.provider === 'aws-iam' && typeof r.durationMs === 'number')).toBe(true);
    expect(logger.records.map((r) => `${r.operation}:${r.keyId}:${r.status}`)).toEqual([
      'GetUser:null:404', 'CreateUser:null:200', 'PutUserPolicy:null:200',
      'ListAccessKeys:null:200', `CreateAccessKey:${key1.accessKeyId}:200`,
      'ListAccessKeys:null:200', `CreateAccessKey:${key2.accessKeyId}:200`,
      `ListAccessKeys:${key1.accessKeyId}:200`, `UpdateAccessKey:${key1.accessKeyId}:200`,
      `ListAccessKeys:${key1.accessKeyId}:200`, `DeleteAccessKey:${key1.accessKeyId}:200`,
      'ListAccessKeys:null:200', `GetUser:${key2.accessKeyId}:403`,
      `ListAccessKeys:${key2.accessKeyId}:200`, `DeleteAccessKey:${key2.accessKeyId}:500`,
    ]);
    // the secrets drawn reached the caller only inside SecretValue
    expect(JSON.stringify(key1)).toBe(`{"accessKeyId":"${key1.accessKeyId}","secretAccessKey":"<redacted>"}`);
    expect(server.issuedSecrets).toHaveLength(2);
    for (const secret of [...server.issuedSecrets, ADMIN.secretAccessKey]) {
      expect(logger.lines.some((line) => line.includes(secret))).toBe(false);
      expect(caught.some((e) => (e as Error).message.includes(secret))).toBe(false);
    }
  });
});

describe('in-process IAM server (test support)', () => {
  it('answers in the IAM Query API XML shapes and rejects a request whose body changed after signing', async () => {
    await startServer();
    server.seedUser('bob');
    const send = async (body: string, signBody = body) => {
      const url = new URL(server.endpoint);
      const signed = aws4.sign(
        { host: url.host, path: '/', method: 'POST', body: signBody, service: 'iam', region: 'us-east-1' },
        ADMIN,
      );
      const res = await fetch(server.endpoint + '/', {
        method: 'POST',
        headers: signed.headers as Record<string, string>,
        body,
      });
      return { status: res.status, text: await res.text() };
    };
    // a request signed by an independent signer (aws4) is accepted and answered in AWS's shape
    const ok = await send('Action=ListAccessKeys&Version=2010-05-08&UserName=bob');
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(
      /^<ListAccessKeysResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><ListAccessKeysResult><UserName>bob<\/UserName><AccessKeyMetadata><\/AccessKeyMetadata><IsTruncated>false<\/IsTruncated><\/ListAccessKeysResult><ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata><\/ListAccessKeysResponse>$/,
    );
    // the same signature over another body is refused
    const tampered = await send('Action=ListAccessKeys&Version=2010-05-08&UserName=eve', 'Action=ListAccessKeys&Version=2010-05-08&UserName=bob');
    expect(tampered.status).toBe(403);
    expect(tampered.text).toMatch(
      /^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>SignatureDoesNotMatch<\/Code><Message>The request signature we calculated does not match the signature you provided\. .*<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
    // an unknown user is a 404 NoSuchEntity in the IAM error envelope
    const missing = await send('Action=ListAccessKeys&Version=2010-05-08&UserName=ghost');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('<Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name ghost cannot be found.</Message></Error>');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI. */
function selfSignedCert(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-iam-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { encoding: 'utf8' },
    );
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr;
      if (process.env.CI === 'true') throw new Error(`openssl is required for the IAM TLS test (apt-get install -y openssl): ${why}`);
      console.warn(`\n\n*** SKIPPING the IAM TLS test: openssl CLI unavailable (${why}). Install it: apt-get install -y openssl ***\n\n`);
      return undefined;
    }
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
