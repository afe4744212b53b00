/**
 * Bench: one full key swap on a real radosgw, client level vs bare HTTP.
 *
 *   client: RgwAdminClient.addKey(new) → verifyAccepted(new) → deleteKey(old) → verifyRejected(old)
 *   bare:   the same HTTP requests (GET user, ListUserPolicies, PUT key, ListBuckets(new), GET user,
 *           ListUserPolicies, DELETE key, ListBuckets(old) → 403, ListBuckets(new) as verifyRejected's
 *           control), each signed with aws4 and sent with plain node:http on a fresh
 *           connection (as the client does); "bare" is the SUM of their round-trip times.
 *   bare-ka: the same on ONE keep-alive connection, to show why the client does not reuse
 *           connections to radosgw (delayed ACK vs Nagle: ~40 ms per reused-connection call).
 *
 * Each repetition runs one client swap and one bare swap (both real swaps on their own user),
 * interleaved so both see the same cluster state. Usage: npx tsx bench/rgw-swap.ts [N=10]
 * Starts the cluster with scripts/rgw.sh unless it runs (or RGW_ENDPOINT is set).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import aws4 from 'aws4';
import { MemoryLogger } from '../lib/core/log.js';
import type { IdentitySpec, KeyPair } from '../lib/providers/provider.js';
import { RgwAdminClient } from '../lib/providers/ceph-rgw/client.js';
import { S3ClientPool, verifyAccepted, verifyRejected } from '../lib/providers/s3/verify.js';
import { SecretValue } from '../lib/core/secret-value.js';
import { ensureRgw } from '../test/support/rgw.js';

const N = Number(process.argv[2] ?? 10);
const TAG = Date.now().toString(36).toUpperCase().slice(-5);
let seq = 0;

function newPair(): KeyPair {
  seq += 1;
  return {
    accessKeyId: `RKB${TAG}${String(seq).padStart(6, '0')}`.padEnd(20, '0').slice(0, 20),
    secretAccessKey: SecretValue.fromString(`bench-${randomBytes(15).toString('hex')}`),
  };
}

const KEEP_ALIVE = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One plain SigV4-signed request (aws4); resolves with status and round-trip ms. */
function bare(
  endpoint: URL,
  creds: KeyPair,
  method: string,
  pathAndQuery: string,
  agent: http.Agent | false,
  body = '',
): Promise<{ status: number; ms: number }> {
  const opts = aws4.sign(
    {
      host: endpoint.host,
      method,
      path: pathAndQuery,
      service: 's3',
      region: 'us-east-1',
      body: body || undefined,
      headers: {
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}),
      },
    },
    { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey.reveal() },
  );
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: endpoint.hostname,
        port: endpoint.port,
        method,
        path: pathAndQuery,
        headers: opts.headers as http.OutgoingHttpHeaders,
        agent,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      },
    );
    req.on('error', reject);
    req.end(body || undefined);
  });
}

function q(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

async function bareSwap(
  endpoint: URL,
  admin: KeyPair,
  uid: string,
  oldPair: KeyPair,
  fresh: KeyPair,
  agent: http.Agent | false = false,
): Promise<{ sum: number; n: number }> {
  const listPolicies = new URLSearchParams({ Action: 'ListUserPolicies', Version: '2010-05-08', UserName: uid }).toString();
  const steps: Array<[string, KeyPair, string, number, string?]> = [
    ['GET', admin, `/admin/user?${q({ uid, format: 'json' })}`, 200],
    ['POST', admin, '/', 404, listPolicies], // no policy: 404 NoSuchEntity
    [
      'PUT',
      admin,
      `/admin/user?${q({ key: '', uid, 'access-key': fresh.accessKeyId, 'secret-key': fresh.secretAccessKey.reveal(), 'key-type': 's3', format: 'json' })}`,
      200,
    ],
    ['GET', fresh, '/', 200],
    ['GET', admin, `/admin/user?${q({ uid, format: 'json' })}`, 200],
    ['POST', admin, '/', 404, listPolicies],
    ['DELETE', admin, `/admin/user?${q({ key: '', uid, 'access-key': oldPair.accessKeyId, 'key-type': 's3', format: 'json' })}`, 200],
    ['GET', oldPair, '/', 403],
    ['GET', fresh, '/', 200], // verifyRejected's control: the same call signed by the new key
  ];
  let sum = 0;
  for (const [method, creds, p, want, body] of steps) {
    const r = await bare(endpoint, creds, method, p, agent, body);
    if (r.status !== want) throw new Error(`bare ${method} ${p.split('?')[0]}: got HTTP ${r.status}, expected ${want}`);
    sum += r.ms;
  }
  return { sum, n: steps.length };
}

function stats(xs: number[]): { median: number; mean: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return {
    median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2,
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    min: s[0],
    max: s[s.length - 1],
  };
}

async function main(): Promise<void> {
  const cluster = await ensureRgw();
  const endpoint = new URL(cluster.endpoint);
  const logger = new MemoryLogger();
  const client = new RgwAdminClient({ endpoint: cluster.endpoint, admin: cluster.admin, logger });
  // one S3 client per key for the whole run: verifyAccepted(new) and verifyRejected's control share it
  const clients = new S3ClientPool();
  const conn = { endpoint: cluster.endpoint, provider: 'ceph-rgw', logger, clients };
  const vopts = { deadlineMs: 10_000, initialDelayMs: 50 };

  const idC: IdentitySpec = { kind: 'user', name: `bench-client-${TAG.toLowerCase()}` };
  const idB: IdentitySpec = { kind: 'user', name: `bench-bare-${TAG.toLowerCase()}` };
  const idK: IdentitySpec = { kind: 'user', name: `bench-ka-${TAG.toLowerCase()}` };
  await client.ensureIdentity(idC);
  await client.ensureIdentity(idB);
  await client.ensureIdentity(idK);
  let oldK = await client.addKey(idK, newPair());
  let oldC = await client.addKey(idC, newPair());
  let oldB = await client.addKey(idB, newPair());
  // warm-up (module loading, first S3Client), not measured
  {
    const w = newPair();
    await client.addKey(idC, w);
    await verifyAccepted(conn, w, vopts);
    await client.deleteKey(idC, oldC.accessKeyId);
    await verifyRejected(conn, oldC, { ...vopts, control: w });
    oldC = w;
    const wb = newPair();
    await bareSwap(endpoint, cluster.admin, idB.name, oldB, wb);
    oldB = wb;
  }

  const rows: Array<{ rep: number; client: number; reqs: number; bare: number; bareReqs: number; ka: number }> = [];
  const measuredFrom = logger.records.length;
  for (let rep = 1; rep <= N; rep++) {
    const fresh = newPair();
    const before = logger.records.length;
    const t0 = process.hrtime.bigint();
    await client.addKey(idC, fresh);
    await verifyAccepted(conn, fresh, vopts);
    await client.deleteKey(idC, oldC.accessKeyId);
    const rej = await verifyRejected(conn, oldC, { ...vopts, control: fresh });
    const clientMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (rej.last.outcome !== 'rejected') throw new Error('old key not rejected');
    const reqs = logger.records.slice(before).filter((r) => r.msg === 'provider call').length;
    oldC = fresh;

    const freshB = newPair();
    const b = await bareSwap(endpoint, cluster.admin, idB.name, oldB, freshB);
    oldB = freshB;
    const freshK = newPair();
    const k = await bareSwap(endpoint, cluster.admin, idK.name, oldK, freshK, KEEP_ALIVE);
    oldK = freshK;
    rows.push({ rep, client: clientMs, reqs, bare: b.sum, bareReqs: b.n, ka: k.sum });
  }
  client.close();
  clients.close();
  KEEP_ALIVE.destroy();
  // where the client's time goes: median logged duration per request kind (measured reps only)
  const per = new Map<string, number[]>();
  for (const r of logger.records.slice(measuredFrom)) {
    if (r.msg !== 'provider call') continue;
    const kind = `${String(r.operation)} ${String(r.request)}${r.role ? ` (${String(r.role)})` : ''}`;
    per.set(kind, [...(per.get(kind) ?? []), Number(r.durationMs)]);
  }

  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const f = (x: number) => x.toFixed(1);
  console.log(`radosgw ${cluster.endpoint} (${cluster.source}), ${N} swaps, node ${process.version}`);
  console.log(`client requests, median logged ms: ${[...per.entries()].map(([k, v]) => `${k}: ${stats(v).median.toFixed(1)}`).join('; ')}`);
  console.log(
    line(['rep', 'client swap ms', 'client HTTP reqs', 'bare HTTP sum ms', 'bare reqs', 'ratio client/bare', 'bare keep-alive sum ms']),
  );
  console.log(line(['---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const r of rows) {
    console.log(
      line([String(r.rep), f(r.client), String(r.reqs), f(r.bare), String(r.bareReqs), `${(r.client / r.bare).toFixed(2)}x`, f(r.ka)]),
    );
  }
  const c = stats(rows.map((r) => r.client));
  const b = stats(rows.map((r) => r.bare));
  const k = stats(rows.map((r) => r.ka));
  console.log(line(['median', f(c.median), '', f(b.median), '', `${(c.median / b.median).toFixed(2)}x`, f(k.median)]));
  console.log(line(['mean', f(c.mean), '', f(b.mean), '', `${(c.mean / b.mean).toFixed(2)}x`, f(k.mean)]));
  console.log(line(['min..max', `${f(c.min)}..${f(c.max)}`, '', `${f(b.min)}..${f(b.max)}`, '', '', `${f(k.min)}..${f(k.max)}`]));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
