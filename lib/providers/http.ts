/**
 * The one HTTP transport of the hand-rolled admin clients (MinIO/RustFS admin API, RGW Admin
 * Ops): `@smithy/node-http-handler` — the handler the AWS SDK clients use — with
 * - a TOTAL deadline per call: from sending the request to the last byte of the answer. The
 *   handler's own timeouts cover connecting and waiting for the headers; a server that sends
 *   the headers and then trickles the body would hold a call open forever without this.
 * - one classification of transport failures into the contract's codes
 *   (`PROVIDER_TIMEOUT`, `PROVIDER_TLS`, `PROVIDER_UNREACHABLE`, `PROVIDER_ERROR`).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import * as tls from 'node:tls';
import { Readable as ReadableStream } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest, HttpResponse } from '@smithy/protocol-http';
import type { HttpHandlerOptions } from '@smithy/types';

/** One HTTP exchange, as the transport sees it. */
export interface HttpExchange {
  readonly method: string;
  /** Full URL including the query string (sent exactly as given). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** A complete answer (status, headers with lower-case names, the whole body). */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The contract codes a transport failure maps to. */
export type TransportFailureKind = 'PROVIDER_TIMEOUT' | 'PROVIDER_TLS' | 'PROVIDER_UNREACHABLE' | 'PROVIDER_ERROR';

/** A call that got no complete answer. `code` is the network code (e.g. `ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, `ETIMEDOUT`). */
export class TransportError extends Error {
  public constructor(
    public readonly kind: TransportFailureKind,
    public readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** Props of {@link ProviderHttp}. */
export interface ProviderHttpProps {
  /** Extra CA certificates (PEM) trusted besides the system store. @default - the system trust store */
  readonly caPem?: string;
  /** Total deadline of one call, request sent to last byte read (ms). @default 10000 */
  readonly timeoutMs?: number;
  /** Reuse connections. @default true */
  readonly keepAlive?: boolean;
}

const TLS_CODE = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_OSSL/;
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Classifies a transport failure (socket, DNS, TLS, timeout). One rule for every client:
 * a certificate/handshake code is TLS, a connect/DNS/reset code is unreachable, a timeout is a
 * timeout; anything else is a generic failure.
 */
export function classifyTransportFailure(err: unknown): { kind: TransportFailureKind; code: string } {
  if (err instanceof TransportError) return { kind: err.kind, code: err.code };
  const code = networkCode(err);
  const name = (err as { name?: unknown } | null)?.name;
  // by code first: the smithy handler names ECONNRESET/EPIPE errors `TimeoutError` too
  if (code === 'ETIMEDOUT' || code === 'TIMEOUT' || (code === undefined && name === 'TimeoutError')) return { kind: 'PROVIDER_TIMEOUT', code: code ?? 'ETIMEDOUT' };
  if (code && TLS_CODE.test(code)) return { kind: 'PROVIDER_TLS', code };
  if (code && UNREACHABLE_CODES.has(code)) return { kind: 'PROVIDER_UNREACHABLE', code };
  return { kind: 'PROVIDER_ERROR', code: code ?? (typeof name === 'string' ? name : 'Error') };
}

/** The network code of an error, looking through `cause` and AggregateError's `errors`. */
export function networkCode(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; cause?: unknown; errors?: unknown[]; message?: unknown };
    if (typeof e.code === 'string') return e.code;
    if (Array.isArray(e.errors) && e.errors.length > 0) return networkCode(e.errors[0]);
    if (e.cause) return networkCode(e.cause);
    // the AWS SDK wraps foreign errors ("AWS SDK error wrapper for Error: connect ECONNREFUSED ..."), dropping `code`
    const m = /\b(E[A-Z]{4,}|ERR_[A-Z0-9_]+|[A-Z_]*CERT[A-Z_]*)\b/.exec(String(e.message ?? ''));
    if (m) return m[1];
  }
  return undefined;
}

/**
 * An AWS SDK `requestHandler` with the same total deadline per attempt: `@smithy/node-http-handler`
 * underneath, and the whole answer body read within `timeoutMs` before the SDK sees it (its
 * own `requestTimeout` stops at the headers). A missed deadline is a `TimeoutError` with code
 * `ETIMEDOUT`, which the SDK retries like any timeout and the clients map to `PROVIDER_TIMEOUT`.
 */
export class DeadlineHttpHandler {
  public readonly metadata = { handlerProtocol: 'http/1.1' };
  public readonly timeoutMs: number;
  private readonly inner: NodeHttpHandler;
  private readonly agents: Array<http.Agent | https.Agent>;

  public constructor(props: ProviderHttpProps = {}) {
    this.timeoutMs = props.timeoutMs ?? 10_000;
    const keepAlive = props.keepAlive ?? true;
    const httpAgent = new http.Agent({ keepAlive });
    const httpsAgent = new https.Agent({ keepAlive, ...(props.caPem ? { ca: [...tls.rootCertificates, props.caPem] } : {}) });
    this.agents = [httpAgent, httpsAgent];
    this.inner = new NodeHttpHandler({ httpAgent, httpsAgent, connectionTimeout: this.timeoutMs, requestTimeout: this.timeoutMs, throwOnRequestTimeout: true });
  }

  public async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    const controller = new AbortController();
    const outer = options.abortSignal as AbortSignal | undefined;
    const onOuter = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) onOuter();
    outer?.addEventListener?.('abort', onOuter, { once: true });
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      const { response } = await this.inner.handle(request, { abortSignal: controller.signal });
      const body = await readAll(response.body as Readable, controller.signal);
      return { response: new HttpResponse({ statusCode: response.statusCode, reason: response.reason, headers: response.headers, body: ReadableStream.from([body]) }) };
    } catch (cause) {
      if (timedOut) {
        throw Object.assign(new Error(`no complete answer within ${this.timeoutMs} ms`, { cause }), { name: 'TimeoutError', code: 'ETIMEDOUT' });
      }
      throw cause;
    } finally {
      clearTimeout(deadline);
      outer?.removeEventListener?.('abort', onOuter);
    }
  }

  public updateHttpClientConfig(key: never, value: never): void {
    this.inner.updateHttpClientConfig(key, value);
  }

  public httpHandlerConfigs(): ReturnType<NodeHttpHandler['httpHandlerConfigs']> {
    return this.inner.httpHandlerConfigs();
  }

  public destroy(): void {
    for (const a of this.agents) a.destroy();
    this.inner.destroy();
  }
}

/**
 * Sends requests through `@smithy/node-http-handler` with a total deadline per call.
 * Throws {@link TransportError} when no complete answer arrives; an HTTP error status is an
 * answer, not a failure.
 */
export class ProviderHttp {
  public readonly timeoutMs: number;
  private readonly handler: NodeHttpHandler;
  private readonly agents: Array<http.Agent | https.Agent>;

  public constructor(props: ProviderHttpProps = {}) {
    this.timeoutMs = props.timeoutMs ?? 10_000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new RangeError(`provider http timeoutMs must be a positive number of milliseconds: got ${String(props.timeoutMs)}. Use e.g. 10000.`);
    }
    const keepAlive = props.keepAlive ?? true;
    const httpAgent = new http.Agent({ keepAlive });
    const httpsAgent = new https.Agent({ keepAlive, ...(props.caPem ? { ca: [...tls.rootCertificates, props.caPem] } : {}) });
    this.agents = [httpAgent, httpsAgent];
    this.handler = new NodeHttpHandler({
      httpAgent,
      httpsAgent,
      connectionTimeout: this.timeoutMs,
      requestTimeout: this.timeoutMs,
      throwOnRequestTimeout: true,
    });
  }

  /** One call: the complete answer, or a {@link TransportError}. */
  public async send(req: HttpExchange): Promise<HttpAnswer> {
    const url = new URL(req.url);
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const request = new HttpRequest({
        method: req.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        // the query is already encoded (and signed) exactly: keep it in the path verbatim
        path: url.pathname + url.search,
        headers: { ...req.headers, 'content-length': String(req.body.length) },
        body: req.body.length > 0 ? req.body : undefined,
      });
      const { response } = await this.handler.handle(request, { abortSignal: controller.signal });
      const body = await readAll(response.body as Readable, controller.signal);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(response.headers)) headers[k.toLowerCase()] = v;
      return { status: response.statusCode, headers, body };
    } catch (cause) {
      if (controller.signal.aborted) {
        throw new TransportError('PROVIDER_TIMEOUT', 'ETIMEDOUT', `no complete answer within ${this.timeoutMs} ms`, { cause });
      }
      const { kind, code } = classifyTransportFailure(cause);
      throw new TransportError(kind, code, (cause as Error)?.message ?? String(cause), { cause });
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Closes the pooled sockets. Idempotent. */
  public close(): void {
    for (const a of this.agents) a.destroy();
    this.handler.destroy();
  }
}

function readAll(stream: Readable | undefined, signal: AbortSignal): Promise<Buffer> {
  if (!stream) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onAbort = (): void => {
      stream.destroy();
      reject(Object.assign(new Error('body not complete before the deadline'), { code: 'ETIMEDOUT' }));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (c: Buffer) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    stream.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks));
    });
    stream.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}
