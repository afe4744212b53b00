/**
 * The one HTTP transport of the hand-rolled admin clients (MinIO/RustFS admin API, RGW Admin
 * Ops): `@smithy/node-http-handler` — the handler the AWS SDK clients use — with
 * - a TOTAL deadline per call: from sending the request to the last byte of the answer. The
 *   handler's own timeouts cover connecting and waiting for the headers; a server that sends
 *   the headers and then trickles the body would hold a call open forever without this.
 * - one classification of transport failures into the contract's codes
 *   (`PROVIDER_TIMEOUT`, `PROVIDER_TLS`, `PROVIDER_UNREACHABLE`, `PROVIDER_ERROR`).
 * - one retry of a call that met a keep-alive socket the server had closed while it was idle
 *   (ECONNRESET, EPIPE, "socket hang up" on a REUSED socket before any byte of the answer),
 *   on a fresh connection, only when that is safe — Go's net/http rule (`shouldRetryRequest`):
 *   the request was not completely written (a server acts on a complete request only), or it is
 *   idempotent ({@link HttpExchange.idempotent}). A non-idempotent admin call that was written
 *   may have been applied: it is never re-sent, its reset is reported (`PROVIDER_UNREACHABLE`)
 *   and the caller's step re-runs from observation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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
  /**
   * Whether sending the request twice leaves the provider as sending it once (the provider
   * contract's idempotency rules, lib/providers/provider.ts, decide per admin call: a state-setting
   * PUT is, a create or a delete that answers an error the second time is not). Decides whether a
   * reset on a reused keep-alive socket may be retried after the request was written.
   * @default - true for GET, HEAD and OPTIONS; false for every other method
   */
  readonly idempotent?: boolean;
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
    const httpAgent = observedAgent(new http.Agent({ keepAlive }));
    const httpsAgent = observedAgent(new https.Agent({ keepAlive, ...(props.caPem ? { ca: [...tls.rootCertificates, props.caPem] } : {}) }));
    this.agents = [httpAgent, httpsAgent];
    this.handler = new NodeHttpHandler({
      httpAgent,
      httpsAgent,
      connectionTimeout: this.timeoutMs,
      requestTimeout: this.timeoutMs,
      throwOnRequestTimeout: true,
    });
  }

  /** Calls retried once on a fresh connection after a reset on a reused socket (see the module comment). */
  public get retriedResets(): number {
    return this.#retried;
  }

  #retried = 0;

  /** One call: the complete answer, or a {@link TransportError}. */
  public async send(req: HttpExchange): Promise<HttpAnswer> {
    const url = new URL(req.url);
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), this.timeoutMs);
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(req.method.toUpperCase());
    try {
      for (let attempt = 0; ; attempt++) {
        const seen: SocketUse = { reused: false, written: false };
        try {
          return await socketUse.run(seen, () => this.once(req, url, controller.signal));
        } catch (cause) {
          if (attempt === 0 && !controller.signal.aborted && seen.reused && !seen.answered && isIdleReset(cause) && (!seen.written || writeFailed(cause) || idempotent)) {
            // the server closed this pooled socket while it was idle: drop every pooled socket to it, retry once on a new one
            for (const a of this.agents) destroyFreeSockets(a);
            this.#retried += 1;
            continue;
          }
          throw cause;
        }
      }
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

  private async once(req: HttpExchange, url: URL, signal: AbortSignal): Promise<HttpAnswer> {
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
    const { response } = await this.handler.handle(request, { abortSignal: signal });
    const use = socketUse.getStore();
    if (use) use.answered = true;
    const body = await readAll(response.body as Readable, signal);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(response.headers)) headers[k.toLowerCase()] = v;
    return { status: response.statusCode, headers, body };
  }

  /** Closes the pooled sockets. Idempotent. */
  public close(): void {
    for (const a of this.agents) a.destroy();
    this.handler.destroy();
  }
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What one attempt learned about its socket: reused from the pool, request completely written, answer headers received. */
interface SocketUse {
  reused: boolean;
  written: boolean;
  answered?: boolean;
}

const socketUse = new AsyncLocalStorage<SocketUse>();

/**
 * Lets an agent report, per request, whether the socket came from the keep-alive pool
 * (`req.reusedSocket`) and whether the whole request reached the socket (`finish`): the request
 * object is created inside `@smithy/node-http-handler`, so it is met where every request passes,
 * the agent's `addRequest`, and matched to its call through AsyncLocalStorage.
 */
function observedAgent<A extends http.Agent>(agent: A): A {
  const inner = agent as unknown as { addRequest(req: http.ClientRequest, options: unknown): void };
  const add = inner.addRequest.bind(agent);
  inner.addRequest = (req, options) => {
    const use = socketUse.getStore();
    if (use) {
      req.once('socket', () => {
        use.reused = req.reusedSocket;
      });
      req.once('finish', () => {
        use.written = true;
      });
    }
    add(req, options);
  };
  return agent;
}

/** The request's own write failed (`write ECONNRESET`/`EPIPE`): the server cannot have received a complete request. */
function writeFailed(err: unknown): boolean {
  for (let e = err as { syscall?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.syscall === 'write') return true;
  }
  return false;
}

function destroyFreeSockets(agent: http.Agent): void {
  for (const list of Object.values(agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
}

/** A reset of a socket by the server: what an idle keep-alive socket closed by the server gives on its next request. */
function isIdleReset(err: unknown): boolean {
  const code = networkCode(err);
  return code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(String((err as Error)?.message ?? ''));
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
