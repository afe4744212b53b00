import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ProviderError } from '../../../lib/core/errors.js';
import { MemoryLogger } from '../../../lib/core/log.js';
import { classify, verifyAccepted, verifyRejected, type VerifyOptions } from '../../../lib/providers/s3/verify.js';
import { SecretValue } from '../../../lib/core/secret-value.js';
import { closedPort } from '../../support/net.js';

const SECRET = 'fake-verify-secret-do-not-use-0001';
const PAIR = { accessKeyId: 'FAKEVERIFYKEY0000001', secretAccessKey: SecretValue.fromString(SECRET) };
/** The new key: verifyRejected's control. */
const CONTROL = { accessKeyId: 'FAKEVERIFYCTRL000002', secretAccessKey: SecretValue.fromString('fake-verify-control-secret-0002') };

type Reply = 'ok' | 'hang' | { status: number; code?: string; raw?: string };

/**
 * A tiny S3 stub: answers each request signed by PAIR with the next scripted reply (the last one
 * repeats), and each request signed by CONTROL with the next of `controlReplies`.
 */
class S3Stub {
  public replies: Reply[] = ['ok'];
  public controlReplies: Reply[] = ['ok'];
  public requests: Array<{ method: string; url: string; auth: string }> = [];
  private readonly server = http.createServer((req, res) => {
    req.resume();
    const auth = String(req.headers.authorization ?? '');
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', auth });
    const list = auth.includes(`Credential=${CONTROL.accessKeyId}/`) ? this.controlReplies : this.replies;
    const reply = list.length > 1 ? list.shift()! : list[0];
    if (reply === 'hang') return; // never answers
    if (reply === 'ok') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          '<Owner><ID>app</ID><DisplayName>app</DisplayName></Owner><Buckets></Buckets></ListAllMyBucketsResult>',
      );
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/xml' });
    res.end(reply.raw ?? `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${reply.code}</Code><Message></Message></Error>`);
  });
  public endpoint = '';
  public async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Fake clock: sleep advances it, so retries until the deadline run instantly. */
function fakeTime(): Pick<VerifyOptions, 'sleep' | 'now'> & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

function assertNoSecret(logger: MemoryLogger, err?: unknown): void {
  expect(logger.lines.join('\n')).not.toContain(SECRET);
  if (err instanceof Error) expect(`${err.message} ${String(err.stack)}`).not.toContain(SECRET);
}

describe('verify', () => {
  const stub = new S3Stub();
  beforeAll(async () => stub.start());
  afterAll(async () => stub.stop());

  // a generous upper bound: these tests are about answers, not about how fast the machine is
  const conn = (logger: MemoryLogger) => ({ endpoint: stub.endpoint, provider: 'ceph-rgw', logger, timeoutMs: 30_000 });
  beforeEach(() => {
    stub.controlReplies = ['ok'];
  });

  it('GIVEN a 200 ListBuckets WHEN verifyAccepted THEN it succeeds on the first attempt with a SigV4 request and one log line', async () => {
    stub.replies = ['ok'];
    stub.requests = [];
    const logger = new MemoryLogger();
    const result = await verifyAccepted(conn(logger), PAIR, fakeTime());
    expect(result.attempts).toBe(1);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0].method).toBe('GET');
    expect(stub.requests[0].url).toBe('/?x-id=ListBuckets');
    expect(stub.requests[0].auth).toMatch(/^AWS4-HMAC-SHA256 Credential=FAKEVERIFYKEY0000001\/\d{8}\/us-east-1\/s3\/aws4_request/);
    expect(logger.records).toHaveLength(1);
    expect(logger.records[0]).toMatchObject({
      provider: 'ceph-rgw',
      operation: 'verifyAccepted',
      keyId: 'FAKEVERIFYKEY0000001',
      request: 'ListBuckets',
      status: 200,
      outcome: 'accepted',
    });
    expect(typeof logger.records[0].durationMs).toBe('number');
    assertNoSecret(logger);
  });

  it('GIVEN two 403 InvalidAccessKeyId then 200 WHEN verifyAccepted THEN it retries with exponential backoff (propagation)', async () => {
    stub.replies = [{ status: 403, code: 'InvalidAccessKeyId' }, { status: 403, code: 'InvalidAccessKeyId' }, 'ok'];
    const logger = new MemoryLogger();
    const time = fakeTime();
    const result = await verifyAccepted(conn(logger), PAIR, { ...time, initialDelayMs: 100 });
    expect(result.attempts).toBe(3);
    expect(time.slept).toEqual([100, 200]);
  });

  it('GIVEN a key that stays unknown WHEN verifyAccepted THEN it throws after the deadline naming provider, operation and key', async () => {
    stub.replies = [{ status: 403, code: 'InvalidAccessKeyId' }];
    const logger = new MemoryLogger();
    const err = await verifyAccepted(conn(logger), PAIR, { ...fakeTime(), deadlineMs: 1000, initialDelayMs: 250 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toBe(
      'ceph-rgw verifyAccepted key FAKEVERIFYKEY0000001: key not accepted within 750 ms (3 attempts): got HTTP 403 InvalidAccessKeyId. ' +
        'The provider does not know this key (yet): check that addKey succeeded and the endpoint is the same provider',
    );
    expect((err as ProviderError).providerCode).toBe('InvalidAccessKeyId');
    expect((err as ProviderError).status).toBe(403);
    assertNoSecret(logger, err);
  });

  for (const code of ['InvalidAccessKeyId', 'UserSuspended']) {
    it(`GIVEN 403 ${code} and the control key accepted WHEN verifyRejected THEN the key is proven rejected`, async () => {
      stub.replies = [{ status: 403, code }];
      const logger = new MemoryLogger();
      const result = await verifyRejected(conn(logger), PAIR, { ...fakeTime(), control: CONTROL });
      expect(result.last).toEqual({ outcome: 'rejected', status: 403, code });
      expect(logger.records[0]).toMatchObject({ operation: 'verifyRejected', status: 403, error: code, outcome: 'rejected' });
      expect(logger.records[1]).toMatchObject({ operation: 'verifyRejected', keyId: CONTROL.accessKeyId, role: 'control', status: 200, outcome: 'accepted' });
    });
  }

  it('GIVEN 403 UserSuspended from a provider other than ceph-rgw WHEN verifyRejected THEN it is NOT a rejection', async () => {
    stub.replies = [{ status: 403, code: 'UserSuspended' }];
    const err = (await verifyRejected({ ...conn(new MemoryLogger()), provider: 'minio' }, PAIR, { ...fakeTime(), deadlineMs: 0, control: CONTROL }).catch((e: unknown) => e)) as ProviderError;
    expect(err.code).toBe('VERIFY_FAILED');
  });

  it('GIVEN 403 SignatureDoesNotMatch (a wrong secret, or a proxy rewriting headers) WHEN verifyRejected THEN it is NOT proof of revocation', async () => {
    stub.replies = [{ status: 403, code: 'SignatureDoesNotMatch' }];
    const err = (await verifyRejected(conn(new MemoryLogger()), PAIR, { ...fakeTime(), deadlineMs: 300, control: CONTROL }).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe('VERIFY_FAILED');
    expect(err.message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: key not proven rejected within 250 ms (2 attempts): got HTTP 403 SignatureDoesNotMatch. ' +
        'A failure does not prove rejection: check the endpoint, the network path and the provider health, then re-run',
    );
  });

  it('GIVEN the old key "unknown" but the control key fails the same call WHEN verifyRejected THEN no proof (a broken path is not a rejection)', async () => {
    stub.replies = [{ status: 403, code: 'InvalidAccessKeyId' }];
    stub.controlReplies = [{ status: 403, code: 'InvalidAccessKeyId' }];
    const logger = new MemoryLogger();
    const err = (await verifyRejected(conn(logger), PAIR, { ...fakeTime(), deadlineMs: 300, control: CONTROL }).catch((e: unknown) => e)) as ProviderError;
    expect(err.code).toBe('VERIFY_FAILED');
    expect(err.message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: key rejected but the same call signed by the control key FAKEVERIFYCTRL000002 was not accepted within 250 ms (2 attempts): got HTTP 403 InvalidAccessKeyId. ' +
        'A rejection proves nothing while the new key fails too (wrong endpoint, a header-rewriting proxy, a clock): check the path to the provider, then re-run',
    );
    assertNoSecret(logger, err);
  });

  it('GIVEN a control key without ListBuckets permission (403 AccessDenied) WHEN verifyRejected THEN it still counts as authenticated', async () => {
    stub.replies = [{ status: 403, code: 'InvalidAccessKeyId' }];
    stub.controlReplies = [{ status: 403, code: 'AccessDenied' }];
    const result = await verifyRejected(conn(new MemoryLogger()), PAIR, { ...fakeTime(), control: CONTROL });
    expect(result.last).toEqual({ outcome: 'rejected', status: 403, code: 'InvalidAccessKeyId' });
  });

  it('GIVEN the revoked key as its own control WHEN verifyRejected THEN refused before any call', async () => {
    stub.requests = [];
    const err = (await verifyRejected(conn(new MemoryLogger()), PAIR, { ...fakeTime(), control: PAIR }).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: verifyRejected needs a control key other than the revoked one: got the same key FAKEVERIFYKEY0000001. Pass the new key as opts.control',
    );
    expect(stub.requests).toEqual([]);
  });

  it('GIVEN 403 AccessDenied (a valid key without permission) WHEN verifyRejected THEN it is NOT a rejection', async () => {
    stub.replies = [{ status: 403, code: 'AccessDenied' }];
    const err = await verifyRejected(conn(new MemoryLogger()), PAIR, { ...fakeTime(), deadlineMs: 300, control: CONTROL }).catch((e: unknown) => e);
    expect((err as ProviderError).message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: key not proven rejected within 250 ms (2 attempts): got HTTP 403 AccessDenied. ' +
        'A failure does not prove rejection: check the endpoint, the network path and the provider health, then re-run',
    );
  });

  it('GIVEN a provider that lists AccessDenied as its disabled-key code WHEN verifyRejected with rejectionCodes THEN it counts', async () => {
    stub.replies = [{ status: 403, code: 'AccessDenied' }];
    const result = await verifyRejected(conn(new MemoryLogger()), PAIR, {
      ...fakeTime(),
      control: CONTROL,
      rejectionCodes: ['InvalidAccessKeyId', 'AccessDenied'],
    });
    expect(result.last).toEqual({ outcome: 'rejected', status: 403, code: 'AccessDenied' });
  });

  it('GIVEN the key is still accepted (cached) then rejected WHEN verifyRejected THEN it waits for the rejection', async () => {
    stub.replies = ['ok', 'ok', { status: 403, code: 'InvalidAccessKeyId' }];
    const result = await verifyRejected(conn(new MemoryLogger()), PAIR, { ...fakeTime(), control: CONTROL });
    expect(result.attempts).toBe(3);
  });

  it('GIVEN the key stays accepted WHEN verifyRejected THEN it throws "still works" after the deadline', async () => {
    stub.replies = ['ok'];
    const err = await verifyRejected(conn(new MemoryLogger()), PAIR, { ...fakeTime(), deadlineMs: 100, control: CONTROL }).catch((e: unknown) => e);
    expect((err as ProviderError).message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: key not proven rejected within 0 ms (1 attempts): got HTTP 200 (accepted). ' +
        'The key still works: check that deleteKey succeeded against this provider',
    );
  });

  it('GIVEN HTTP 500 WHEN verifyRejected THEN a 5xx never counts as rejection: the step fails', async () => {
    stub.replies = [{ status: 500, code: 'InternalError' }];
    const logger = new MemoryLogger();
    const err = await verifyRejected(conn(logger), PAIR, { ...fakeTime(), deadlineMs: 1000, control: CONTROL }).catch((e: unknown) => e);
    expect((err as ProviderError).message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: key not proven rejected within 750 ms (3 attempts): got HTTP 500 InternalError. ' +
        'A failure does not prove rejection: check the endpoint, the network path and the provider health, then re-run',
    );
    expect((err as ProviderError).status).toBe(500);
    expect(logger.records.filter((r) => r.msg === 'provider call').map((r) => r.status)).toEqual([500, 500, 500]);
    assertNoSecret(logger, err);
  });

  it('GIVEN HTTP 500 then 200 WHEN verifyAccepted THEN a transient 5xx is retried', async () => {
    stub.replies = [{ status: 503, code: 'SlowDown' }, 'ok'];
    const result = await verifyAccepted(conn(new MemoryLogger()), PAIR, fakeTime());
    expect(result.attempts).toBe(2);
  });

  it('GIVEN a closed port (ECONNREFUSED) WHEN verifyRejected THEN it fails, never a rejection', async () => {
    const port = await closedPort();
    const logger = new MemoryLogger();
    const err = await verifyRejected(
      { endpoint: `http://127.0.0.1:${port}`, provider: 'ceph-rgw', logger, timeoutMs: 30_000 },
      PAIR,
      { ...fakeTime(), deadlineMs: 0, control: CONTROL },
    ).catch((e: unknown) => e);
    expect((err as ProviderError).message).toBe(
      'ceph-rgw verifyRejected key FAKEVERIFYKEY0000001: key not proven rejected within 0 ms (1 attempts): got ECONNREFUSED. ' +
        'A failure does not prove rejection: check the endpoint, the network path and the provider health, then re-run',
    );
    expect(logger.records[0]).toMatchObject({ status: null, outcome: 'failed', error: 'ECONNREFUSED' });
  });

  it('GIVEN a server that never answers WHEN verifyAccepted THEN the per-request timeout fails the step', async () => {
    stub.replies = ['hang'];
    const started = Date.now();
    const err = await verifyAccepted(
      { endpoint: stub.endpoint, provider: 'ceph-rgw', logger: new MemoryLogger(), timeoutMs: 300 },
      PAIR,
      { ...fakeTime(), deadlineMs: 0 },
    ).catch((e: unknown) => e);
    // the timeout ended the call (a generous bound: a busy machine fires timers late, never early)
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(
      /^ceph-rgw verifyAccepted key FAKEVERIFYKEY0000001: key not accepted within 0 ms \(1 attempts\): got (TimeoutError|RequestTimeout|ETIMEDOUT)\. /,
    );
    expect((err as ProviderError).status).toBeUndefined();
  }, 60_000);

  it('GIVEN a 404 NoSuchBucket on the probe object WHEN verifyAccepted with a bucket THEN it fails at once (permanent)', async () => {
    stub.replies = [{ status: 404, code: 'NoSuchBucket' }];
    stub.requests = [];
    const time = fakeTime();
    const err = await verifyAccepted(conn(new MemoryLogger()), PAIR, { ...time, bucket: 'absent', listBuckets: false }).catch(
      (e: unknown) => e,
    );
    expect((err as ProviderError).providerCode).toBe('NoSuchBucket');
    expect(time.slept).toEqual([]);
    expect(stub.requests[0].method).toBe('PUT');
    expect(stub.requests[0].url).toBe('/absent/rekey-probe/FAKEVERIFYKEY0000001?x-id=PutObject');
  });

  it('GIVEN assorted errors WHEN classify THEN only a listed 403 code is a rejection', () => {
    expect(classify({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } })).toEqual({
      outcome: 'rejected',
      status: 403,
      code: 'InvalidAccessKeyId',
    });
    expect(classify({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 400 } }).outcome).toBe('failed');
    expect(classify({ name: 'Unknown', $metadata: { httpStatusCode: 502 } })).toEqual({
      outcome: 'failed',
      status: 502,
      code: 'HTTP502',
      detail: 'HTTP 502 HTTP502',
    });
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toEqual({
      outcome: 'failed',
      code: 'ECONNRESET',
      detail: 'ECONNRESET',
    });
  });
});
