/**
 * Proof that a key works, or no longer works, by a real S3 call signed with it
 * (the AWS SDK v3 S3 client, path-style, against the provider's endpoint). Provider-agnostic.
 *
 * - accepted: the call succeeded.
 * - rejected: the provider answered with an authentication error for that key — by default
 *   403 `InvalidAccessKeyId` (deleted key; also MinIO's disabled key and AWS's inactive key),
 *   `SignatureDoesNotMatch`, `UserSuspended` (RGW suspended user). Nothing else counts:
 *   network errors, timeouts, TLS errors and 5xx are failures, never rejections.
 *
 * Both checks retry with exponential backoff until a deadline (a new key can take a moment to
 * propagate; a revoked one can be cached briefly), then throw a `ProviderError` naming the
 * provider, the operation and the key ID. Every S3 call logs one line — key ID, never a secret.
 */
import * as https from 'node:https';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ProviderError } from '../../core/errors.js';
import { NULL_LOGGER, type Logger } from '../../core/log.js';
import type { KeyPair } from '../provider.js';

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
  /** S3 error codes (with HTTP 403) that prove rejection. @default DEFAULT_REJECTION_CODES */
  readonly rejectionCodes?: readonly string[];
  /** Injectable sleep (tests). @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injectable clock in ms (tests). @default Date.now */
  readonly now?: () => number;
}

/** 403 codes that prove a key is rejected. MinIO reports a disabled key as `InvalidAccessKeyId` too. */
export const DEFAULT_REJECTION_CODES: readonly string[] = ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'UserSuspended'];

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
  return await retry(conn, pair, opts, 'verifyAccepted', (o) => o.outcome === 'accepted', (last, attempts, ms) => {
    const got = describe(last);
    const fix =
      last.outcome === 'rejected'
        ? 'The provider does not know this key (yet): check that addKey succeeded and the endpoint is the same provider'
        : 'Check the endpoint, the network path and the provider health';
    return `key not accepted within ${ms} ms (${attempts} attempts): got ${got}. ${fix}`;
  });
}

/**
 * Proves the key is rejected: a call signed with it gets one of `rejectionCodes`. Retries while
 * the key is still accepted (caches) and on failures until the deadline; a failure is never
 * taken for a rejection.
 */
export async function verifyRejected(conn: VerifyConnection, pair: KeyPair, opts: VerifyOptions = {}): Promise<VerifyResult> {
  return await retry(conn, pair, opts, 'verifyRejected', (o) => o.outcome === 'rejected', (last, attempts, ms) => {
    const got = describe(last);
    const fix =
      last.outcome === 'accepted'
        ? 'The key still works: check that deleteKey succeeded against this provider'
        : 'A failure does not prove rejection: check the endpoint, the network path and the provider health, then re-run';
    return `key not proven rejected within ${ms} ms (${attempts} attempts): got ${got}. ${fix}`;
  });
}

/**
 * One observation: ListBuckets (and, for `mode: 'accepted'` with a bucket, the probe object
 * round trip), classified. Logs one line per S3 call.
 */
export async function observeKey(
  conn: VerifyConnection,
  pair: KeyPair,
  opts: VerifyOptions & { readonly operation?: string; readonly mode?: 'accepted' | 'rejected' } = {},
): Promise<Observation> {
  const client = makeClient(conn, pair);
  const timeoutMs = conn.timeoutMs ?? 10_000;
  // belt and braces: the handler's own timeouts cover connect and idle socket, this the whole call
  const opt = () => ({ abortSignal: AbortSignal.timeout(timeoutMs + 100) });
  const operation = opts.operation ?? 'observeKey';
  const codes = opts.rejectionCodes ?? DEFAULT_REJECTION_CODES;
  try {
    const steps: Array<[string, () => Promise<unknown>]> = [];
    const objectProbe = opts.mode !== 'rejected' && opts.bucket !== undefined;
    if (!objectProbe || opts.listBuckets !== false) steps.push(['ListBuckets', () => client.send(new ListBucketsCommand({}), opt())]);
    if (objectProbe) {
      const Bucket = opts.bucket as string;
      const Key = opts.probeKey ?? `rekey-probe/${pair.accessKeyId}`;
      const Body = `rekey probe ${pair.accessKeyId}`;
      steps.push(['PutObject', () => client.send(new PutObjectCommand({ Bucket, Key, Body }), opt())]);
      steps.push([
        'GetObject',
        async () => {
          const out = await client.send(new GetObjectCommand({ Bucket, Key }), opt());
          const text = await out.Body?.transformToString();
          if (text !== Body) throw Object.assign(new Error('probe object read back differs'), { name: 'ProbeMismatch' });
        },
      ]);
      steps.push(['DeleteObject', () => client.send(new DeleteObjectCommand({ Bucket, Key }), opt())]);
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
      });
      if (last.outcome !== 'accepted') return last;
    }
    return last;
  } finally {
    client.destroy();
  }
}

async function retry(
  conn: VerifyConnection,
  pair: KeyPair,
  opts: VerifyOptions,
  operation: 'verifyAccepted' | 'verifyRejected',
  done: (o: Observation) => boolean,
  message: (last: Observation, attempts: number, ms: number) => string,
): Promise<VerifyResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadlineMs = opts.deadlineMs ?? 30_000;
  const maxDelay = opts.maxDelayMs ?? 4_000;
  const start = now();
  let delay = opts.initialDelayMs ?? 250;
  let attempts = 0;
  const mode = operation === 'verifyAccepted' ? 'accepted' : 'rejected';
  for (;;) {
    attempts += 1;
    const last = await observeKey(conn, pair, { ...opts, operation, mode });
    if (done(last)) return { attempts, durationMs: now() - start, last };
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
      throw new ProviderError({
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

function makeClient(conn: VerifyConnection, pair: KeyPair): S3Client {
  const timeoutMs = conn.timeoutMs ?? 10_000;
  return new S3Client({
    endpoint: conn.endpoint,
    region: conn.region ?? 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() },
    requestHandler: {
      requestTimeout: timeoutMs,
      connectionTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      ...(conn.caPem ? { httpsAgent: new https.Agent({ ca: conn.caPem }) } : {}),
    },
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

function networkCode(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof e.code === 'string') return e.code;
    if (Array.isArray(e.errors) && e.errors.length > 0) return networkCode(e.errors[0]);
    if (e.cause) return networkCode(e.cause);
    // the SDK wraps foreign errors ("AWS SDK error wrapper for Error: connect ECONNREFUSED ..."), dropping `code`
    const m = /\b(E[A-Z]{4,}|ERR_[A-Z0-9_]+|[A-Z_]*CERT[A-Z_]*)\b/.exec(String((err as { message?: unknown }).message ?? ''));
    if (m) return m[1];
  }
  return undefined;
}

function describe(o: Observation): string {
  if (o.outcome === 'accepted') return `HTTP ${o.status} (accepted)`;
  if (o.outcome === 'rejected') return `HTTP ${o.status} ${o.code}`;
  return o.detail;
}
