/**
 * Proof that a key works, or no longer works, by a real S3 call signed with it
 * (the AWS SDK v3 S3 client, path-style, against the provider's endpoint). Provider-agnostic.
 *
 * - accepted: the call succeeded.
 * - rejected: the provider answered that it does not know the key — 403 `InvalidAccessKeyId`
 *   (deleted key everywhere; also MinIO's/RustFS's disabled key, `ErrAccessKeyDisabled` has that
 *   code, and AWS's inactive key), plus 403 `UserSuspended` for `ceph-rgw`, where suspending the
 *   user is how one alternating user's key is disabled. `SignatureDoesNotMatch` is NOT proof: a
 *   wrong secret or a header-rewriting proxy gets it for a key that still works. Network errors,
 *   timeouts, TLS errors and 5xx are failures, never rejections.
 * - `verifyRejected` also needs a CONTROL: the same call signed by the new key must be accepted
 *   in the same attempt, so a broken path (wrong endpoint, proxy, clock) cannot pass for a
 *   rejection.
 *
 * Both checks retry with exponential backoff until a deadline (a new key can take a moment to
 * propagate; a revoked one can be cached briefly), then throw a `ProviderError` naming the
 * provider, the operation and the key ID. Every S3 call logs one line — key ID, never a secret.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NULL_LOGGER, type Logger } from '../../core/log.js';
import { createHash } from 'node:crypto';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { DeadlineHttpHandler, ProviderHttp, networkCode } from '../http.js';
import { NodeSha256 } from '../sha256.js';
import { providerError, type KeyPair } from '../provider.js';

/** Where the S3 calls go. */
export interface VerifyConnection {
  /** S3 endpoint, e.g. `http://rgw.storage.svc:7480`. */
  readonly endpoint: string;
  /** Provider name used in logs and errors, e.g. `ceph-rgw`. @default 's3' */
  readonly provider?: string;
  /** SigV4 region. @default 'us-east-1' */
  readonly region?: string;
  /** Extra CA certificates (PEM) for https endpoints. @default - the system trust store */
  readonly caPem?: string;
  /** Per-request timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** One line per S3 call. @default - no logging */
  readonly logger?: Logger;
  /**
   * S3 clients to reuse, one per key, across verifications (e.g. `verifyAccepted(new)` then
   * `verifyRejected(old, { control: new })` in one step). The caller closes it.
   * @default - a client per verification, destroyed afterwards
   */
  readonly clients?: S3ClientPool;
}

/**
 * One S3 client per key (and endpoint), reused across verifications of a run: building an SDK
 * client (config and endpoint resolution) costs more than the ListBuckets it sends. Holds the
 * pair only inside the SDK's credential provider; `close()` destroys every client.
 */
export class S3ClientPool {
  readonly #clients = new Map<string, { client: S3Client; secret: KeyPair['secretAccessKey'] }>();

  /** The pooled client signing with `pair` against `conn.endpoint` (a new secret for the same ID replaces it). */
  public get(conn: VerifyConnection, pair: KeyPair): S3Client {
    const k = `${conn.endpoint}\n${conn.region ?? ''}\n${pair.accessKeyId}`;
    const hit = this.#clients.get(k);
    if (hit && hit.secret.equals(pair.secretAccessKey)) return hit.client;
    hit?.client.destroy();
    const client = makeClient(conn, pair);
    this.#clients.set(k, { client, secret: pair.secretAccessKey });
    return client;
  }

  /** Destroys every pooled client. Idempotent. */
  public close(): void {
    for (const { client } of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }
}

/** A client for `pair` from the pool (kept) or fresh (to destroy), built only when first used. */
function clientFor(conn: VerifyConnection, pair: KeyPair): { readonly client: S3Client; release: () => void } {
  let made: S3Client | undefined;
  return {
    get client(): S3Client {
      made ??= conn.clients ? conn.clients.get(conn, pair) : makeClient(conn, pair);
      return made;
    },
    release: () => {
      if (!conn.clients) made?.destroy();
    },
  };
}

/** Options of `verifyAccepted` / `verifyRejected`. */
export interface VerifyOptions {
  /** Give up after this long (ms), counted from the first attempt. @default 30000 */
  readonly deadlineMs?: number;
  /** First backoff delay (ms); doubles each retry. @default 250 */
  readonly initialDelayMs?: number;
  /** Largest backoff delay (ms). @default 4000 */
  readonly maxDelayMs?: number;
  /**
   * `verifyAccepted` also writes, reads back and deletes a probe object in this bucket.
   * @default - ListBuckets only
   */
  readonly bucket?: string;
  /** Object key of the probe. @default 'rekey-probe/<access-key ID>' */
  readonly probeKey?: string;
  /** `verifyAccepted` calls ListBuckets (set false for a key scoped to `bucket`). @default true */
  readonly listBuckets?: boolean;
  /** S3 error codes (with HTTP 403) that prove rejection. @default - `rejectionCodesFor(conn.provider)` */
  readonly rejectionCodes?: readonly string[];
  /** Injectable sleep (tests). @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injectable clock in ms (tests). @default Date.now */
  readonly now?: () => number;
}

/** Options of `verifyRejected`: the control key is required. */
export interface VerifyRejectedOptions extends VerifyOptions {
  /**
   * The key that replaces the revoked one. Every attempt sends the same call signed by it; only
   * "old key unknown AND control key authenticated" proves the revocation.
   */
  readonly control: KeyPair;
}

/**
 * 403 codes that prove a key is unknown to the provider: `InvalidAccessKeyId` (AWS S3, RGW,
 * MinIO — whose disabled key, `ErrAccessKeyDisabled`, carries that code too — and RustFS via s3s).
 */
export const DEFAULT_REJECTION_CODES: readonly string[] = ['InvalidAccessKeyId'];

/** The rejection codes of one provider: RGW adds `UserSuspended` (a suspended alternating user's key). */
export function rejectionCodesFor(provider: string | undefined): readonly string[] {
  return provider === 'ceph-rgw' ? [...DEFAULT_REJECTION_CODES, 'UserSuspended'] : DEFAULT_REJECTION_CODES;
}

/** What one S3 call with the key showed. */
export type Observation =
  | { readonly outcome: 'accepted'; readonly status: number }
  | { readonly outcome: 'rejected'; readonly status: number; readonly code: string }
  | { readonly outcome: 'failed'; readonly status?: number; readonly code?: string; readonly detail: string };

/** The result of a successful verification. */
export interface VerifyResult {
  readonly attempts: number;
  readonly durationMs: number;
  readonly last: Observation;
}

/**
 * Proves the key is accepted: ListBuckets (and the probe object round trip with `bucket`)
 * succeeds. Retries on rejection (propagation) and on failures until the deadline.
 */
export async function verifyAccepted(conn: VerifyConnection, pair: KeyPair, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const own = clientFor(conn, pair);
  try {
    return await retry(conn, pair, opts, 'verifyAccepted', async () => {
      const last = await observeKey(conn, pair, { ...opts, operation: 'verifyAccepted', mode: 'accepted', clientOf: () => own.client });
      return { last, done: last.outcome === 'accepted' };
    }, (last, attempts, ms) => {
      const got = describe(last);
      const fix =
        last.outcome === 'rejected'
          ? 'The provider does not know this key (yet): check that addKey succeeded and the endpoint is the same provider'
          : 'Check the endpoint, the network path and the provider health';
      return `key not accepted within ${ms} ms (${attempts} attempts): got ${got}. ${fix}`;
    });
  } finally {
    own.release();
  }
}

/**
 * Proves the key is rejected: a call signed with it gets one of the provider's "unknown key"
 * codes while the SAME call signed by `opts.control` (the new key) is authenticated (200, or 403
 * AccessDenied: signature accepted, permission missing). Retries while the key is still accepted
 * (caches) and on failures until the deadline; a failure is never taken for a rejection.
 */
export async function verifyRejected(conn: VerifyConnection, pair: KeyPair, opts: VerifyRejectedOptions): Promise<VerifyResult> {
  const control = opts?.control;
  if (!control || control.accessKeyId === pair.accessKeyId) {
    throw providerError({
      provider: conn.provider ?? 's3',
      operation: 'verifyRejected',
      keyId: pair.accessKeyId,
      code: 'VERIFY_FAILED',
      message: `verifyRejected needs a control key other than the revoked one: got ${control ? `the same key ${control.accessKeyId}` : 'none'}. Pass the new key as opts.control`,
    });
  }
  const own = clientFor(conn, pair);
  const controlOwn = clientFor(conn, control);
  let controlLast: Observation | undefined;
  try {
    return await retry(conn, pair, opts, 'verifyRejected', async () => {
      const last = await observeKey(conn, pair, { ...opts, operation: 'verifyRejected', mode: 'rejected', clientOf: () => own.client });
      if (last.outcome !== 'rejected') return { last, done: false };
      controlLast = await observeKey(conn, control, { ...opts, operation: 'verifyRejected', mode: 'rejected', clientOf: () => controlOwn.client, role: 'control' });
      return { last, done: authenticated(controlLast) };
    }, (last, attempts, ms) => {
      const got = describe(last);
      if (last.outcome === 'rejected' && controlLast !== undefined) {
        return (
          `key rejected but the same call signed by the control key ${control.accessKeyId} was not accepted within ${ms} ms (${attempts} attempts): got ${describe(controlLast)}. ` +
          'A rejection proves nothing while the new key fails too (wrong endpoint, a header-rewriting proxy, a clock): check the path to the provider, then re-run'
        );
      }
      const fix =
        last.outcome === 'accepted'
          ? 'The key still works: check that deleteKey succeeded against this provider'
          : 'A failure does not prove rejection: check the endpoint, the network path and the provider health, then re-run';
      return `key not proven rejected within ${ms} ms (${attempts} attempts): got ${got}. ${fix}`;
    });
  } finally {
    own.release();
    controlOwn.release();
  }
}

/** The control key got past authentication: 200, or 403 AccessDenied (signature fine, no permission). */
function authenticated(o: Observation): boolean {
  return o.outcome === 'accepted' || (o.outcome === 'failed' && o.status === 403 && o.code === 'AccessDenied');
}

/**
 * One observation: ListBuckets (and, for `mode: 'accepted'` with a bucket, the probe object
 * round trip), classified. Logs one line per S3 call.
 */
export async function observeKey(
  conn: VerifyConnection,
  pair: KeyPair,
  opts: VerifyOptions & {
    readonly operation?: string;
    readonly mode?: 'accepted' | 'rejected';
    /** An S3 client signing with `pair` to reuse. @default - a fresh one, destroyed afterwards */
    readonly client?: S3Client;
    /** Like `client`, built on first use (only the object probe needs one). @default - `client` */
    readonly clientOf?: () => S3Client;
    /** Logged as `role` (e.g. `control`). @default - not logged */
    readonly role?: string;
  } = {},
): Promise<Observation> {
  const own = opts.client || opts.clientOf ? undefined : clientFor(conn, pair);
  const clientOf = (): S3Client => opts.client ?? opts.clientOf?.() ?? own!.client;
  const timeoutMs = conn.timeoutMs ?? 10_000;
  // belt and braces: the handler's own timeouts cover connect and idle socket, this the whole call
  const opt = () => ({ abortSignal: AbortSignal.timeout(timeoutMs + 100) });
  const operation = opts.operation ?? 'observeKey';
  const codes = opts.rejectionCodes ?? rejectionCodesFor(conn.provider);
  try {
    const steps: Array<[string, () => Promise<unknown>]> = [];
    const objectProbe = opts.mode !== 'rejected' && opts.bucket !== undefined;
    if (!objectProbe || opts.listBuckets !== false) steps.push(['ListBuckets', () => listBuckets(conn, pair, timeoutMs)]);
    if (objectProbe) {
      const Bucket = opts.bucket as string;
      const Key = opts.probeKey ?? `rekey-probe/${pair.accessKeyId}`;
      const Body = `rekey probe ${pair.accessKeyId}`;
      steps.push(['PutObject', () => clientOf().send(new PutObjectCommand({ Bucket, Key, Body }), opt())]);
      steps.push([
        'GetObject',
        async () => {
          const out = await clientOf().send(new GetObjectCommand({ Bucket, Key }), opt());
          const text = await out.Body?.transformToString();
          if (text !== Body) throw Object.assign(new Error('probe object read back differs'), { name: 'ProbeMismatch' });
        },
      ]);
      steps.push(['DeleteObject', () => clientOf().send(new DeleteObjectCommand({ Bucket, Key }), opt())]);
    }
    let last: Observation = { outcome: 'accepted', status: 200 };
    for (const [request, run] of steps) {
      const started = Date.now();
      try {
        await run();
        last = { outcome: 'accepted', status: 200 };
      } catch (err) {
        last = classify(err, codes);
      }
      const status = last.status ?? null;
      conn.logger?.log(last.outcome === 'failed' ? 'warn' : 'info', 'provider call', {
        provider: conn.provider ?? 's3',
        operation,
        keyId: pair.accessKeyId,
        request,
        status,
        outcome: last.outcome,
        error: last.outcome === 'accepted' ? null : (last.code ?? null),
        durationMs: Date.now() - started,
        ...(opts.role ? { role: opts.role } : {}),
      });
      if (last.outcome !== 'accepted') return last;
    }
    return last;
  } finally {
    own?.release();
  }
}

async function retry(
  conn: VerifyConnection,
  pair: KeyPair,
  opts: VerifyOptions,
  operation: 'verifyAccepted' | 'verifyRejected',
  attempt: () => Promise<{ last: Observation; done: boolean }>,
  message: (last: Observation, attempts: number, ms: number) => string,
): Promise<VerifyResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadlineMs = opts.deadlineMs ?? 30_000;
  const maxDelay = opts.maxDelayMs ?? 4_000;
  const start = now();
  let delay = opts.initialDelayMs ?? 250;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const { last, done } = await attempt();
    if (done) return { attempts, durationMs: now() - start, last };
    const elapsed = now() - start;
    const permanent = last.outcome === 'failed' && last.status !== undefined && last.status < 500 && last.status !== 403;
    if (permanent || elapsed + delay > deadlineMs) {
      (conn.logger ?? NULL_LOGGER).log('error', 'verification failed', {
        provider: conn.provider ?? 's3',
        operation,
        keyId: pair.accessKeyId,
        attempts,
        status: last.status ?? null,
        outcome: last.outcome,
        durationMs: elapsed,
      });
      throw providerError({
        provider: conn.provider ?? 's3',
        operation,
        keyId: pair.accessKeyId,
        status: last.status,
        providerCode: last.outcome === 'accepted' ? undefined : last.code,
        code: 'VERIFY_FAILED',
        message: message(last, attempts, elapsed),
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, maxDelay);
  }
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/**
 * ListBuckets (`GET /?x-id=ListBuckets`, exactly what the SDK sends) signed with `pair`, sent
 * through the shared transport: the verification's most frequent call without the SDK's
 * per-call pipeline (about half of its time on loopback). A non-200 answer is thrown in the
 * SDK's error shape, so `classify` treats both paths alike.
 */
async function listBuckets(conn: VerifyConnection, pair: KeyPair, timeoutMs: number): Promise<void> {
  const url = new URL(conn.endpoint);
  const basePath = url.pathname.replace(/\/+$/, '');
  const signer = new SignatureV4({
    service: 's3',
    region: conn.region ?? 'us-east-1',
    sha256: NodeSha256,
    credentials: async () => ({ accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() }),
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: `${basePath}/`,
      query: { 'x-id': 'ListBuckets' },
      headers: { host: url.host, 'x-amz-content-sha256': EMPTY_SHA256 },
    }),
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = String(v);
  const transport = new ProviderHttp({ timeoutMs, caPem: conn.caPem, keepAlive: false });
  try {
    const res = await transport.send({ method: 'GET', url: `${url.protocol}//${url.host}${basePath}/?x-id=ListBuckets`, headers, body: Buffer.alloc(0) });
    if (res.status === 200) return;
    const text = res.body.toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    throw Object.assign(new Error(`ListBuckets answered HTTP ${res.status}`), {
      name: code ?? 'Unknown',
      ...(code ? { Code: code } : {}),
      $metadata: { httpStatusCode: res.status },
    });
  } finally {
    transport.close();
  }
}

function makeClient(conn: VerifyConnection, pair: KeyPair): S3Client {
  const timeoutMs = conn.timeoutMs ?? 10_000;
  return new S3Client({
    endpoint: conn.endpoint,
    region: conn.region ?? 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // read at signing time, never stored as a plain string here
    credentials: async () => ({ accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() }),
    // the shared transport (lib/providers/http.ts): a total deadline per request, body included;
    // a fresh connection per request: radosgw (beast) answers in small segments, and on a reused
    // connection the client's delayed ACK meets the server's Nagle (~40 ms per call, measured)
    requestHandler: new DeadlineHttpHandler({ timeoutMs, caPem: conn.caPem, keepAlive: false }),
  });
}

/** Classifies an S3 client error: only a 403 with one of `codes` is a rejection. */
export function classify(err: unknown, codes: readonly string[] = DEFAULT_REJECTION_CODES): Observation {
  const e = (err ?? {}) as {
    name?: string;
    code?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: { statusCode?: number };
    cause?: unknown;
  };
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  if (status !== undefined) {
    const code = e.Code ?? (e.name && e.name !== 'Error' && e.name !== 'Unknown' ? e.name : undefined) ?? `HTTP${status}`;
    if (status === 403 && codes.includes(code)) return { outcome: 'rejected', status, code };
    return { outcome: 'failed', status, code, detail: `HTTP ${status} ${code}` };
  }
  const netCode = networkCode(err) ?? e.name ?? 'UnknownError';
  return { outcome: 'failed', code: netCode, detail: netCode };
}

function describe(o: Observation): string {
  if (o.outcome === 'accepted') return `HTTP ${o.status} (accepted)`;
  if (o.outcome === 'rejected') return `HTTP ${o.status} ${o.code}`;
  return o.detail;
}
