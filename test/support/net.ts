import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback port that was free a moment ago and has nothing listening now (for ECONNREFUSED tests). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
