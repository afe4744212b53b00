/**
 * The shared provider transport against a real local HTTP server that closes idle keep-alive
 * sockets. Deterministic: the server closes the pooled socket, and the next request is made in
 * the same turn of the event loop, before the client can have read the close — so the request
 * always meets the dead socket (`req.reusedSocket` is true), as on a busy machine.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ProviderHttp, TransportError } from '../../lib/providers/http.js';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly socket: number;
}

let server: http.Server;
let url: string;
let sockets: Socket[];
let seen: Seen[];
/** What the handler does with the next request (default: answer 200 with the path). */
let onRequest: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
let client: ProviderHttp;

beforeEach(async () => {
  sockets = [];
  seen = [];
  onRequest = undefined;
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, socket: sockets.indexOf(req.socket) });
      if (onRequest) return onRequest(req, res);
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new ProviderHttp({ timeoutMs: 5000 });
});

afterEach(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const exchange = (method: string, path: string, idempotent?: boolean) => ({
  method,
  url: `${url}${path}`,
  headers: { host: url.slice('http://'.length) },
  body: method === 'GET' ? Buffer.alloc(0) : Buffer.from('{"x":1}'),
  ...(idempotent === undefined ? {} : { idempotent }),
});

/** A first call that leaves one idle keep-alive socket in the pool. */
async function warm(): Promise<void> {
  const a = await client.send(exchange('GET', '/warm'));
  expect(a.body.toString()).toBe('GET /warm');
  expect(sockets).toHaveLength(1);
}

describe('ProviderHttp on a keep-alive socket the server closed while idle', () => {
  it('GIVEN the server closed the idle socket (FIN) WHEN an idempotent GET follows THEN it is retried once on a fresh connection', async () => {
    await warm();
    // WHEN the server closes the idle socket and the next request goes out in the same turn
    sockets[0]!.destroy();
    const answer = await client.send(exchange('GET', '/list-users'));
    // THEN the answer came over a second connection, after exactly one retry
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('GET /list-users');
    expect(client.retriedResets).toBe(1);
    expect(sockets).toHaveLength(2);
    expect(seen.map((s) => `${s.path}@${s.socket}`)).toEqual(['/warm@0', '/list-users@1']);
  });

  it('GIVEN the server closed the idle socket (FIN) WHEN a PUT marked idempotent follows THEN it is retried once', async () => {
    await warm();
    sockets[0]!.destroy();
    const answer = await client.send(exchange('PUT', '/set-user-status', true));
    expect(answer.body.toString()).toBe('PUT /set-user-status');
    expect(client.retriedResets).toBe(1);
  });

  it('GIVEN the server reset the idle socket (RST) WHEN a non-idempotent POST follows THEN it was never written, so it is retried once and applied once', async () => {
    await warm();
    sockets[0]!.resetAndDestroy();
    const answer = await client.send(exchange('POST', '/add-service-account'));
    expect(answer.body.toString()).toBe('POST /add-service-account');
    expect(client.retriedResets).toBe(1);
    expect(seen.filter((s) => s.path === '/add-service-account')).toHaveLength(1);
  });

  it('GIVEN the server closed the idle socket (FIN) WHEN a non-idempotent POST follows and was written THEN it is not re-sent: the reset is reported', async () => {
    await warm();
    sockets[0]!.destroy();
    const err = await client.send(exchange('POST', '/add-service-account')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('PROVIDER_UNREACHABLE');
    expect((err as TransportError).code).toBe('ECONNRESET');
    expect(client.retriedResets).toBe(0);
    expect(sockets).toHaveLength(1);
  });

  it('GIVEN a non-idempotent POST that the server applied and then reset without an answer WHEN it fails THEN it is not re-sent (applied once)', async () => {
    await warm();
    onRequest = (req) => req.socket.destroy();
    const err = await client.send(exchange('POST', '/add-service-account')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as TransportError).code).toBe('ECONNRESET');
    expect(seen.filter((s) => s.path === '/add-service-account')).toHaveLength(1);
    expect(client.retriedResets).toBe(0);
  });

  it('GIVEN a reset on a FRESH connection WHEN an idempotent GET fails THEN it is not retried (only an idle pooled socket is)', async () => {
    onRequest = (req) => req.socket.destroy();
    const err = await client.send(exchange('GET', '/user-info')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as TransportError).kind).toBe('PROVIDER_UNREACHABLE');
    expect(seen).toHaveLength(1);
    expect(client.retriedResets).toBe(0);
  });

  it('GIVEN a server that resets every request WHEN an idempotent GET meets a closed idle socket THEN one retry only, then the reset is reported', async () => {
    await warm();
    onRequest = (req) => req.socket.destroy();
    sockets[0]!.destroy();
    const err = await client.send(exchange('GET', '/user-info')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as TransportError).code).toBe('ECONNRESET');
    expect(client.retriedResets).toBe(1);
    expect(seen.filter((s) => s.path === '/user-info')).toHaveLength(1);
  });
});
