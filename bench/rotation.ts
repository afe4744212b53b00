/**
 * bench:rotation — one full rotation of the example (its four credentials: ilum-platform, ingest,
 * pipeline, serving-reader, with their targets, consumers and policies as in rekey.yaml) against
 * the REAL radosgw, every credential a `user` identity at ceph-rgw; overlap 0, instant rollouts
 * (pods Ready on their first tick). Each credential runs activate → deliver → retire in-process
 * (runRotator, the code the Job runs) against the in-process API server, one credential after
 * the other.
 *
 * Every request the rotator sends to radosgw goes through a loopback recording proxy (method,
 * path, query, body, signer, status, time). Right after each credential's rotation, the SAME
 * requests are replayed bare — signed with aws4, plain node:http, a fresh connection each (as the
 * rotator's client does) — against a twin user in the same state (same policy, its own generation
 * 1 key), through the same proxy, with the twin's uid and keys substituted. So "bare" is the sum
 * of the provider calls alone, measured side by side in one run; the rotator's own view of each
 * call is the `durationMs` of its `provider call` JSON log lines.
 *
 *   npm run bench:rotation            (starts radosgw with scripts/rgw.sh unless it runs, or RGW_ENDPOINT)
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import aws4 from 'aws4';
import { SecretValue } from '../lib/core/secret-value.js';
import { MemoryLogger } from '../lib/core/log.js';
import { RgwAdminClient } from '../lib/providers/ceph-rgw/client.js';
import type { KeyPair } from '../lib/providers/provider.js';
import { res, type KubeObject, type Obj } from '../test/support/kube/index.js';
import { ensureRgw } from '../test/support/rgw.js';
import { plan, secretOfPair, startHarness, step, type Harness } from '../test/rotator/harness.js';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

const RUN = randomBytes(3).toString('hex');
/** Real ms per fake-cluster tick while a step runs. */
const TICK_MS = Number(process.env['BENCH_TICK_MS'] ?? 2);

interface Recorded {
  method: string;
  url: string;
  body: Buffer;
  signer: string;
  status: number;
  ms: number;
}

/** A loopback proxy in front of radosgw recording every request and its round trip through radosgw. */
class RecordingProxy {
  public readonly seen: Recorded[] = [];
  public endpoint = '';
  readonly #server: http.Server;

  public constructor(target: string) {
    const t = new URL(target);
    this.#server = http.createServer(async (req, res) => {
      const parts: Buffer[] = [];
      for await (const c of req) parts.push(c as Buffer);
      const body = Buffer.concat(parts);
      const started = process.hrtime.bigint();
      const signer = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
      const up = http.request({ hostname: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const out = Buffer.concat(chunks);
          this.seen.push({ method: req.method ?? '', url: req.url ?? '/', body, signer, status: r.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 });
          const h = { ...r.headers, 'content-length': String(out.length) };
          delete h['transfer-encoding'];
          res.writeHead(r.statusCode ?? 502, h);
          res.end(out);
        });
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  }

  public async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

/**
 * One request signed with aws4 on a fresh connection (the host header is the proxy's, as the
 * rotator's were); resolves with the status and the round trip in ms.
 */
function bare(endpoint: URL, creds: { accessKeyId: string; secretAccessKey: string }, method: string, path: string, body: Buffer, contentType?: string): Promise<{ status: number; ms: number }> {
  const opts = aws4.sign(
    {
      host: endpoint.host,
      method,
      path,
      service: 's3',
      region: 'us-east-1',
      body: body.length ? body.toString('utf8') : undefined,
      headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'), ...(contentType ? { 'content-type': contentType } : {}) },
    },
    creds,
  );
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: endpoint.hostname, port: endpoint.port, method, path, headers: opts.headers as http.OutgoingHttpHeaders, agent: false }, (r) => {
      r.resume();
      r.on('end', () => resolve({ status: r.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body.length ? body : undefined);
  });
}

/** The request kind for the per-call table: `METHOD /path` plus the admin sub-resource or the IAM Action. */
function callKind(r: { method: string; url: string; body: Buffer }): string {
  const u = new URL(r.url, 'http://x');
  const action = new URLSearchParams(r.body.toString('utf8')).get('Action');
  const sub = ['key', 'caps', 'quota'].find((k) => u.searchParams.has(k));
  return `${r.method} ${u.pathname}${sub ? `?${sub}` : ''}${action ? ` ${action}` : ''}${u.pathname === '/' && !action ? ' (S3 ListBuckets)' : ''}`;
}

/** Rewrites query and form values (exact matches) with `map`. */
function substitute(url: string, body: Buffer, map: Map<string, string>): { path: string; body: Buffer } {
  const u = new URL(url, 'http://x');
  const q = [...u.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(map.get(v) ?? v)}`).join('&');
  let b = body;
  if (body.length && /(^|&)Action=/.test(body.toString('utf8'))) {
    const f = new URLSearchParams(body.toString('utf8'));
    const g = new URLSearchParams();
    for (const [k, v] of f) g.append(k, map.get(v) ?? v);
    b = Buffer.from(g.toString());
  }
  return { path: `${u.pathname}${q ? `?${q}` : ''}`, body: b };
}

type Spec = { credentials: { name: string; policy?: { name: string; document: unknown } }[] };
const EXAMPLE = parseYaml(readFileSync('rekey.yaml', 'utf8')) as Spec;

/** The example's credentials: target Secret, consumers (kind, name, replicas, how they read it). */
const SHAPE: Record<string, { ns: string; target: string; consumers: { kind: 'Deployment' | 'StatefulSet'; name: string; replicas: number; mode: 'env' | 'envFrom' }[] }> = {
  'ilum-platform': {
    ns: 'ilum',
    target: 'ilum-s3',
    consumers: [
      { kind: 'Deployment', name: 'ilum-core', replicas: 2, mode: 'envFrom' },
      { kind: 'Deployment', name: 'ilum-jupyter', replicas: 1, mode: 'env' },
      { kind: 'Deployment', name: 'ilum-history-server', replicas: 1, mode: 'env' },
      { kind: 'StatefulSet', name: 'ilum-hive-metastore', replicas: 2, mode: 'env' },
    ],
  },
  ingest: {
    ns: 'airflow',
    target: 'ingest-s3',
    consumers: [
      { kind: 'Deployment', name: 'airflow-worker', replicas: 2, mode: 'envFrom' },
      { kind: 'Deployment', name: 'airflow-scheduler', replicas: 1, mode: 'env' },
    ],
  },
  pipeline: { ns: 'ilum', target: 'pipeline-s3', consumers: [] },
  'serving-reader': {
    ns: 'trino',
    target: 'trino-s3',
    consumers: [
      { kind: 'Deployment', name: 'trino-coordinator', replicas: 1, mode: 'envFrom' },
      { kind: 'Deployment', name: 'trino-worker', replicas: 2, mode: 'envFrom' },
      { kind: 'StatefulSet', name: 'trino-cache', replicas: 3, mode: 'env' },
    ],
  },
};

const pairOf = (): KeyPair => ({ accessKeyId: `RKB${randomBytes(9).toString('hex').toUpperCase()}`.slice(0, 20), secretAccessKey: SecretValue.fromString(randomBytes(20).toString('base64url').slice(0, 40)) });

function workload(ns: string, target: string, c: (typeof SHAPE)[string]['consumers'][number], checksum: string): KubeObject {
  const container = c.mode === 'envFrom' ? { name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: target } }] } : { name: 'app', image: 'app:1', env: [{ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: target, key: 'access-key' } } }] };
  const template = { metadata: { labels: { app: c.name }, annotations: { 'rekey.dev/checksum': checksum } }, spec: { containers: [container] } };
  const spec = c.kind === 'Deployment' ? { replicas: c.replicas, selector: { matchLabels: { app: c.name } }, template } : { replicas: c.replicas, serviceName: c.name, updateStrategy: { type: 'OnDelete' }, selector: { matchLabels: { app: c.name } }, template };
  return { apiVersion: 'apps/v1', kind: c.kind, metadata: { name: c.name, namespace: ns }, spec };
}

interface Row {
  credential: string;
  wallMs: number;
  fakeS: number;
  calls: number;
  rotatorCallMs: number;
  proxyMs: number;
  bareMs: number;
  bareTickingMs: number;
  mismatches: number;
}

const cluster = await ensureRgw();
const proxy = await new RecordingProxy(cluster.endpoint).start();
const admin = new RgwAdminClient({ endpoint: cluster.endpoint, admin: cluster.admin });
const adminPlain = { accessKeyId: cluster.admin.accessKeyId, secretAccessKey: cluster.admin.secretAccessKey.reveal() };
const h: Harness = await startHarness({ namespaces: ['ilum', 'airflow', 'trino'], kubelet: { kubelet: { nodes: ['node-1', 'node-2'], readyAfterTicks: 0 } } });
h.files.set('/etc/rekey/admin/access-key', Buffer.from(cluster.admin.accessKeyId));
h.files.set('/etc/rekey/admin/secret-key', cluster.admin.secretAccessKey.revealBytes());
const uids: string[] = [];
const rows: Row[] = [];
const perKind = new Map<string, { n: number; rotator: number; bare: number; ticking: number }>();
let tickCostMs = 0;
const wallStart = performance.now();
try {
  const creds = EXAMPLE.credentials.map((c) => c.name);
  const setup = new Map<string, { uid: string; twin: string; g1: KeyPair; g2: KeyPair; t1: KeyPair; t2: KeyPair }>();
  // ---- set-up (not timed): each identity and its twin at generation 1; targets and consumers in the cluster
  for (const c of EXAMPLE.credentials) {
    const s = { uid: `rekey-bench-${RUN}-${c.name}`, twin: `rekey-bench-${RUN}-${c.name}-bare`, g1: pairOf(), g2: pairOf(), t1: pairOf(), t2: pairOf() };
    setup.set(c.name, s);
    const policy = c.policy ? { name: c.policy.name, document: c.policy.document as Record<string, unknown> } : undefined;
    for (const [uid, g1] of [[s.uid, s.g1], [s.twin, s.t1]] as const) {
      uids.push(uid);
      await admin.ensureIdentity({ kind: 'user', name: uid, ...(policy ? { policy } : {}) } as never);
      await admin.addKey({ kind: 'user', name: uid } as never, g1);
    }
    const shape = SHAPE[c.name]!;
    h.kube.apply(secretOfPair(s.g1, shape.target, shape.ns));
    for (const w of shape.consumers) h.kube.apply(workload(shape.ns, shape.target, w, 'g1'));
  }
  await h.kube.settle({ maxTicks: 2000 });
  // what one tick of the fake cluster costs the event loop the rotator shares with it
  const tc0 = performance.now();
  for (let i = 0; i < 50; i++) h.kube.tick();
  tickCostMs = (performance.now() - tc0) / 50;

  for (const name of creds) {
    const s = setup.get(name)!;
    const shape = SHAPE[name]!;
    const c = EXAMPLE.credentials.find((x) => x.name === name)!;
    const p = plan(h, 2, {
      credential: name,
      provider: { name: 'rgw', kind: 'ceph-rgw', endpoint: proxy.endpoint, region: 'us-east-1', adminSecret: { name: 'rgw-admin' }, caBundle: null },
      identity: { kind: 'user', name: s.uid, users: null },
      policy: c.policy ? { name: c.policy.name, document: c.policy.document } : null,
      accessKeyId: s.g2.accessKeyId,
      previousAccessKeyId: s.g1.accessKeyId,
      stagingSecret: `rekey-${name}-g2-staging`,
      recordConfigMap: `rekey-${name}-status`,
      leaseName: `rekey-${name}`,
      targets: [{ namespace: shape.ns, secretName: shape.target, delivery: 'sealed' }],
      consumers: shape.consumers.map((w) => ({ kind: w.kind, apiVersion: 'apps/v1', namespace: shape.ns, name: w.name, mode: w.mode, secretName: shape.target, updateStrategy: w.kind === 'StatefulSet' ? 'OnDelete' : null, checksum: 'g2', replacePodsOnDelete: w.kind === 'StatefulSet' })),
      overlapSeconds: 0,
    } as never);
    h.files.set('/etc/rekey/staging/access-key', Buffer.from(s.g2.accessKeyId));
    h.files.set('/etc/rekey/staging/secret-key', s.g2.secretAccessKey.revealBytes());
    const logger = new MemoryLogger();
    const from = proxy.seen.length;
    // ---- the rotation, timed: activate; the GitOps sync delivers the target; deliver; the consumers' app syncs; retire
    const t0 = performance.now();
    const fake0 = h.kube.clock.nowMs();
    if ((await step(h, 'activate', p, { logger })) !== 0) throw new Error(`${name}: activate failed: ${logger.records.filter((r) => r.level === 'error').map((r) => r.msg).join(' | ')}`);
    const cur = h.kube.registry.get(res('secrets'), shape.ns, shape.target);
    h.kube.registry.update(res('secrets'), shape.ns, shape.target, { ...secretOfPair(s.g2, shape.target, shape.ns), metadata: { ...cur.metadata, annotations: { 'rekey.dev/access-key-id': s.g2.accessKeyId } } });
    if ((await step(h, 'deliver', p, { logger })) !== 0) throw new Error(`${name}: deliver failed`);
    for (const w of shape.consumers) {
      const def = res(w.kind === 'Deployment' ? 'deployments' : 'statefulsets');
      const d = structuredClone(h.kube.registry.get(def, shape.ns, w.name));
      (((d.spec as Obj).template as Obj).metadata as Obj).annotations = { 'rekey.dev/checksum': 'g2' };
      h.kube.registry.update(def, shape.ns, w.name, d);
    }
    if ((await step(h, 'retire', p, { logger })) !== 0) throw new Error(`${name}: retire failed: ${logger.records.filter((r) => r.level === 'error').map((r) => r.msg).join(' | ')}`);
    const wallMs = performance.now() - t0;
    const calls = proxy.seen.slice(from);
    const logged = logger.records.filter((r) => r.msg === 'provider call');
    const rotatorCallMs = logged.reduce((a, r) => a + Number((r as Record<string, unknown>)['durationMs'] ?? 0), 0);
    if (logged.length !== calls.length) process.stderr.write(`note: ${name}: ${calls.length} requests reached radosgw, ${logged.length} provider-call log lines\n`);
    // ---- the same requests, bare, against the twin
    const map = new Map<string, string>([[s.uid, s.twin], [s.g1.accessKeyId, s.t1.accessKeyId], [s.g2.accessKeyId, s.t2.accessKeyId], [s.g2.secretAccessKey.reveal(), s.t2.secretAccessKey.reveal()]]);
    const signers = new Map<string, { accessKeyId: string; secretAccessKey: string }>([
      [adminPlain.accessKeyId, adminPlain],
      [s.g1.accessKeyId, { accessKeyId: s.t1.accessKeyId, secretAccessKey: s.t1.secretAccessKey.reveal() }],
      [s.g2.accessKeyId, { accessKeyId: s.t2.accessKeyId, secretAccessKey: s.t2.secretAccessKey.reveal() }],
    ]);
    // twice: once while the fake cluster ticks as during the rotation (the same event-loop load), once idle
    const replay = async (): Promise<{ ms: number; mismatches: number; each: number[] }> => {
      let ms = 0;
      let mismatches = 0;
      const each: number[] = [];
      // reset the twin to the rotator's starting state: its generation-1 key back, the generation-2 key gone
      await admin.addKey({ kind: 'user', name: s.twin } as never, s.t1).catch(() => undefined);
      await admin.deleteKey({ kind: 'user', name: s.twin } as never, s.t2.accessKeyId).catch(() => undefined);
      for (const r of calls) {
        const sub = substitute(r.url, r.body, map);
        const signer = signers.get(r.signer);
        if (!signer) throw new Error(`${name}: a request signed by an unknown key ${r.signer}`);
        const b = await bare(new URL(proxy.endpoint), signer, r.method, sub.path, sub.body, r.body.length ? 'application/x-www-form-urlencoded; charset=utf-8' : undefined);
        if (b.status !== r.status) {
          mismatches += 1;
          process.stderr.write(`note: ${name}: bare ${callKind(r)} answered ${b.status}, the rotator's ${r.status}\n`);
        }
        ms += b.ms;
        each.push(b.ms);
      }
      return { ms, mismatches, each };
    };
    const ticking = await h.kube.tickWhile(replay(), TICK_MS);
    const idle = await replay();
    const bareMs = idle.ms;
    const mismatches = idle.mismatches + ticking.mismatches;
    calls.forEach((r, i) => {
      const k = perKind.get(callKind(r)) ?? { n: 0, rotator: 0, bare: 0, ticking: 0 };
      k.n += 1;
      k.bare += idle.each[i]!;
      k.ticking += ticking.each[i]!;
      perKind.set(callKind(r), k);
    });
    // the rotator's own per-call times, matched to the requests in order
    calls.forEach((r, i) => {
      const ms = Number((logged[i] as Record<string, unknown> | undefined)?.['durationMs'] ?? r.ms);
      perKind.get(callKind(r))!.rotator += ms;
    });
    rows.push({ credential: name, wallMs, fakeS: (h.kube.clock.nowMs() - fake0) / 1000, calls: calls.length, rotatorCallMs, proxyMs: calls.reduce((a, r) => a + r.ms, 0), bareMs, bareTickingMs: ticking.ms, mismatches });
  }
} finally {
  for (const uid of uids) await admin.removeUser(uid).catch((e: Error) => process.stderr.write(`could not remove ${uid}: ${e.message}\n`));
  admin.close();
  await h.close();
  await proxy.stop();
}

const f = (n: number) => n.toFixed(0);
const r2 = (n: number) => n.toFixed(2);
const total = rows.reduce((a, r) => ({ credential: 'TOTAL (one rotation of the example)', wallMs: a.wallMs + r.wallMs, fakeS: a.fakeS + r.fakeS, calls: a.calls + r.calls, rotatorCallMs: a.rotatorCallMs + r.rotatorCallMs, proxyMs: a.proxyMs + r.proxyMs, bareMs: a.bareMs + r.bareMs, bareTickingMs: a.bareTickingMs + r.bareTickingMs, mismatches: a.mismatches + r.mismatches }));
const head = ['credential', 'wall ms', 'fake s', 'calls', 'rotator-observed call ms', 'bare ms, cluster ticking', 'bare ms, idle', 'wall / bare idle', 'wall / rotator calls', 'rotator calls / bare ticking', 'rotator calls / bare idle', 'status mismatches'];
const table = [head.join(' | '), head.map(() => '---').join(' | ')];
for (const r of [...rows, total]) table.push([r.credential, f(r.wallMs), String(r.fakeS), String(r.calls), f(r.rotatorCallMs), f(r.bareTickingMs), f(r.bareMs), r2(r.wallMs / r.bareMs), r2(r.wallMs / r.rotatorCallMs), r2(r.rotatorCallMs / r.bareTickingMs), r2(r.rotatorCallMs / r.bareMs), String(r.mismatches)].join(' | '));
const kinds = ['call', 'n', 'rotator ms (sum)', 'bare ms, ticking (sum)', 'bare ms, idle (sum)', 'rotator / bare ticking', 'rotator / bare idle'];
const kt = [kinds.join(' | '), kinds.map(() => '---').join(' | ')];
for (const [k, v] of [...perKind].sort((a, b) => b[1].rotator - a[1].rotator)) kt.push([k, String(v.n), f(v.rotator), f(v.ticking), f(v.bare), r2(v.rotator / v.ticking), r2(v.rotator / v.bare)].join(' | '));
process.stdout.write(
  `bench:rotation — one rotation of the example's 4 credentials at ceph-rgw (${cluster.endpoint}, via a recording proxy), overlap 0, instant rollouts; ` +
    `activate → deliver → retire in-process against the fake API server (1 fake s per ${TICK_MS} ms tick); bare = the same requests replayed with aws4 on fresh connections against a twin user, side by side; ` +
    `total elapsed ${f(performance.now() - wallStart)} ms incl. set-up and replays; one fake-cluster tick costs ${tickCostMs.toFixed(1)} ms of the shared event loop\n\n${table.join('\n')}\n\nper call kind (all credentials)\n${kt.join('\n')}\n`,
);
process.exit(0);
