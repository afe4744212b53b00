/**
 * bench:retire — the retire step against the in-process Kubernetes fake and fake MinIO, with
 * N consumers (Deployments of one replica) spread over namespaces of 10 consumers each, every
 * one reading its namespace's target Secret. Measures wall time and API requests per consumer
 * for 10, 50 and 100 consumers: the rotator watches (one pod watch per namespace, one per target
 * Secret, one per namespace and workload kind) instead of polling, so requests grow linearly.
 *
 *   npm run bench:retire
 */
import { res } from '../test/support/kube/index.js';
import {
  deliverSecret, deployment, minioAdmin, pairOf, plan, setChecksum, stage, startHarness, step, targetSecret, type Harness,
} from '../test/rotator/harness.js';

interface Row {
  consumers: number;
  namespaces: number;
  wallMs: number;
  requests: number;
  watches: number;
  lists: number;
  writes: number;
}

async function run(consumers: number): Promise<Row> {
  const nsCount = Math.max(1, Math.ceil(consumers / 10));
  const namespaces = Array.from({ length: nsCount }, (_, i) => `team-${i}`);
  const h: Harness = await startHarness({ namespaces });
  try {
    const admin = minioAdmin(h);
    await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
    await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
    admin.close();
    const names: [string, string][] = [];
    for (let i = 0; i < consumers; i++) names.push([namespaces[i % nsCount]!, `app-${i}`]);
    for (const ns of namespaces) h.kube.apply(targetSecret(1, 'uploads-s3', ns));
    for (const [ns, name] of names) h.kube.apply(deployment(name, 1, 'c1', ns));
    await h.kube.settle({ maxTicks: 2000 });
    const p = plan(h, 2, {
      targets: namespaces.map((ns) => ({ namespace: ns, secretName: 'uploads-s3', delivery: 'sealed' as const })),
      consumers: names.map(([ns, name]) => ({ kind: 'Deployment' as const, apiVersion: 'apps/v1', namespace: ns, name, mode: 'env' as const, secretName: 'uploads-s3', updateStrategy: null, checksum: 'c2', replacePodsOnDelete: false })),
      overlapSeconds: 0,
    });
    stage(h, 2);
    if ((await step(h, 'activate', p)) !== 0) throw new Error('activate failed');
    for (const ns of namespaces) deliverSecret(h, 2, 'uploads-s3', ns);
    if ((await step(h, 'deliver', p)) !== 0) throw new Error('deliver failed');
    for (const [ns, name] of names) setChecksum(h, name, 'c2', ns);
    const from = h.kube.requests.length;
    const t0 = performance.now();
    const fake0 = h.kube.clock.nowMs();
    if (process.env['BENCH_TRACE']) {
      const orig = h.logger.log.bind(h.logger);
      h.logger.log = (level, msg, fields) => {
        process.stderr.write(`${(performance.now() - t0).toFixed(0)}ms fake+${(h.kube.clock.nowMs() - fake0) / 1000}s ${msg}\n`);
        orig(level, msg, fields);
      };
    }
    const code = await step(h, 'retire', p);
    const wallMs = performance.now() - t0;
    if (code !== 0) throw new Error(`retire failed: ${h.logger.records.filter((r) => r.level === 'error').map((r) => r.msg).join(' | ')}`);
    const reqs = h.kube.requests.slice(from);
    void res;
    return {
      consumers,
      namespaces: nsCount,
      wallMs,
      requests: reqs.length,
      watches: reqs.filter((r) => r.info?.verb === 'watch').length,
      lists: reqs.filter((r) => r.info?.verb === 'list').length,
      writes: reqs.filter((r) => r.info && !['get', 'list', 'watch'].includes(r.info.verb)).length,
    };
  } finally {
    await h.close();
  }
}

const rows: Row[] = [];
const sizes = (process.env['BENCH_SIZES'] ?? '10,50,100').split(',').map(Number);
for (const n of sizes) rows.push(await run(n));
const base = rows[0]!;
const header = 'consumers | namespaces | wall ms | API requests | req/consumer | watches | lists | writes | consumers ratio | wall ratio | requests ratio';
const lines = [header, header.replace(/[^|]/g, '-')];
for (const r of rows) {
  lines.push(
    [
      String(r.consumers).padStart(9),
      String(r.namespaces).padStart(10),
      r.wallMs.toFixed(0).padStart(7),
      String(r.requests).padStart(12),
      (r.requests / r.consumers).toFixed(2).padStart(12),
      String(r.watches).padStart(7),
      String(r.lists).padStart(5),
      String(r.writes).padStart(6),
      (r.consumers / base.consumers).toFixed(1).padStart(15),
      (r.wallMs / base.wallMs).toFixed(2).padStart(10),
      (r.requests / base.requests).toFixed(2).padStart(14),
    ].join(' | '),
  );
}
process.stdout.write(`retire with N consumers (fake API server, one tick = 1 fake s every 5 ms; the wall time includes the fixed 5 ms/tick pacing and the provider's Argon2 calls)\n${lines.join('\n')}\n`);
process.exit(0);
