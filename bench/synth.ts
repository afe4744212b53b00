/**
 * Synthesis benchmark: N credentials with 5 consumers each (N = 10, 100, 1000).
 *
 * Each N runs in its own child process, so its peak RSS is its own. In the same child, the
 * "floor" serializes the very same objects with the `yaml` package alone (no constructs, no
 * validation): the ratio says what rekey's modelling costs on top of writing YAML.
 *
 *   npm run bench:synth            (BENCH_N=10,100 to choose sizes)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { chartFromSpec, Ledger, RekeyApp, validateSpec, type LedgerEntry } from '../lib/index.js';

const FINGERPRINT = 'SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g';
// Synthesis never decrypts: any base64 of the right size stands in for a sealed value.
const SEALED = Buffer.alloc(2 + 512 + 40 + 16, 7).toString('base64');

function spec(n: number): unknown {
  const credentials = Array.from({ length: n }, (_, i) => ({
    name: `cred-${i}`,
    provider: 'rustfs',
    identity: { kind: 'serviceAccount', name: `user-${i}` },
    aliases: ['generic', 'rustfs', 'aws'],
    extraKeys: { endpoint: 'http://rustfs.storage.svc:9000' },
    delivery: { kind: 'sealed' },
    targets: [{ namespace: `ns-${i % 50}`, secretName: `cred-${i}-s3` }],
    consumers: Array.from({ length: 5 }, (_, j) => ({ kind: j === 4 ? 'StatefulSet' : 'Deployment', name: `app-${i}-${j}`, namespace: `ns-${i % 50}`, envFrom: {} })),
    rotationPolicy: { mode: 'TimeBased', intervalDays: 30 },
  }));
  return {
    apiVersion: 'rekey.dev/v1alpha1',
    kind: 'RekeyConfig',
    sealing: { certificate: 'cert.pem', fingerprint: FINGERPRINT },
    providers: [{ name: 'rustfs', kind: 'rustfs', endpoint: 'http://rustfs.storage.svc:9000', namespace: 'storage', podSelector: { app: 'rustfs' }, adminCredential: { secretName: 'admin' } }],
    credentials,
  };
}

function ledger(n: number): Ledger {
  let l = Ledger.empty();
  for (let i = 0; i < n; i++) {
    const sealed = { accessKeyId: SEALED, secretAccessKey: SEALED };
    const e: LedgerEntry = {
      generation: 1,
      provider: 'rustfs',
      delivery: 'sealed',
      accessKeyId: `AK${String(i).padStart(18, '0')}`,
      rotatedAt: '2026-11-01T00:00:00.000Z',
      certificateFingerprint: FINGERPRINT,
      staging: { namespace: 'rekey-system', secretName: `rekey-cred-${i}-g1-staging`, scope: 'strict', sealed },
      targets: [{ namespace: `ns-${i % 50}`, secretName: `cred-${i}-s3`, scope: 'strict', sealed }],
    };
    l = l.with(`cred-${i}`, e);
  }
  return l;
}

function child(n: number): void {
  const s = validateSpec(spec(n));
  const l = ledger(n);
  const out = mkdtempSync(join(tmpdir(), 'rekey-bench-'));
  try {
    const t0 = performance.now();
    const app = new RekeyApp({ outdir: out });
    chartFromSpec(app, 'rekey', { spec: s, ledger: l, warn: () => undefined });
    app.synth();
    const synthMs = performance.now() - t0;
    // the floor: the same objects, serialized by the yaml package alone
    const docs = app.charts.flatMap((c) => c.toJson());
    const t1 = performance.now();
    const text = docs.map((d) => stringify(d)).join('---\n');
    const floorMs = performance.now() - t1;
    process.stdout.write(JSON.stringify({ n, objects: docs.length, bytes: text.length, synthMs, floorMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function main(): void {
  const sizes = (process.env.BENCH_N ?? '10,100,1000').split(',').map(Number);
  const rows = sizes.map((n) => JSON.parse(execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, '--child', String(n)], { encoding: 'utf8' })));
  const base = rows[0];
  console.log(`synthesis of N credentials x 5 consumers (node ${process.version}, one child process per N)\n`);
  console.log('| N | objects | YAML MiB | synth s | floor (yaml only) s | synth / floor | ms per credential | growth vs N=' + base.n + ' (per credential) | peak RSS MiB |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const per = r.synthMs / r.n;
    console.log(
      `| ${r.n} | ${r.objects} | ${(r.bytes / 1048576).toFixed(2)} | ${(r.synthMs / 1000).toFixed(2)} | ${(r.floorMs / 1000).toFixed(3)} | ${(r.synthMs / r.floorMs).toFixed(1)}x | ${per.toFixed(2)} | ${(per / (base.synthMs / base.n)).toFixed(2)}x | ${r.maxRssMiB.toFixed(0)} |`,
    );
  }
  const big = rows.find((r) => r.n === 1000);
  if (big) console.log(`\ntarget for N=1000: < 10 s and < 1024 MiB -> ${big.synthMs < 10_000 && big.maxRssMiB < 1024 ? 'met' : 'MISSED'}`);
}

if (process.argv[2] === '--child') child(Number(process.argv[3]));
else main();
