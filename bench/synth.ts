/**
 * Synthesis benchmark: N credentials with 5 consumers each (N = 10, 100, 1000).
 *
 * Each N runs in its own child process, so its peak RSS is its own. In the same child, the
 * "floor" serializes the very same objects with the `yaml` package alone (no constructs, no
 * validation): the ratio says what rekey's modelling costs on top of writing YAML.
 *
 *   npm run bench:synth            (BENCH_N=10,100 to choose sizes, BENCH_ROUNDS=5 rounds each)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApiObject, App, Chart, type ApiObjectProps } from 'cdk8s';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { chartFromSpec, RekeyApp, validateSpec } from '../lib/index.js';
import { PROJECT_ROTATOR_BUNDLE } from '../lib/project/app.js';
import { ledger, spec } from './fixtures.js';

/** The rekey run: spec → constructs → dist/. Also dumps the objects and extra files it wrote, for the bare run. */
function child(n: number, dump: string): void {
  const s = validateSpec(spec(n));
  const l = ledger(n);
  const out = mkdtempSync(join(tmpdir(), 'rekey-bench-'));
  try {
    PROJECT_ROTATOR_BUNDLE.load(); // what every synth of the project pays once: not the subject here
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const app = new RekeyApp({ outdir: out });
    chartFromSpec(app, 'rekey', { spec: s, ledger: l, warn: () => undefined });
    app.synth();
    const synthMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const synthCpuMs = (cpu.user + cpu.system) / 1000;
    const docs = app.charts.flatMap((c) => c.toJson());
    const extra = app.charts.flatMap((c) => ('extraFiles' in c ? [...(c as unknown as { extraFiles(): Iterable<[string, string]> }).extraFiles()] : []));
    writeFileSync(dump, JSON.stringify({ docs, extra }));
    // the floor: the same objects, serialized by the yaml package alone
    const t1 = performance.now();
    const text = docs.map((d) => stringify(d)).join('---\n');
    const floorMs = performance.now() - t1;
    process.stdout.write(JSON.stringify({ n, objects: docs.length, bytes: text.length, synthMs, synthCpuMs, floorMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * A bare cdk8s program that builds the same objects (ApiObjects from their JSON) and writes the
 * same extra files, in its own fresh process: what any cdk8s app producing this output pays.
 */
function bareChild(dump: string): void {
  const { docs, extra } = JSON.parse(readFileSync(dump, 'utf8')) as { docs: ApiObjectProps[]; extra: Array<[string, string]> };
  const out = mkdtempSync(join(tmpdir(), 'rekey-bench-bare-'));
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const bare = new App({ outdir: out });
    const chart = new Chart(bare, 'rekey');
    docs.forEach((d, i) => new ApiObject(chart, `o${i}`, d));
    bare.synth();
    for (const [rel, content] of extra) {
      mkdirSync(dirname(join(out, rel)), { recursive: true });
      writeFileSync(join(out, rel), content);
    }
    const bareMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify({ bareMs, bareCpuMs: (cpu.user + cpu.system) / 1000 }) + '\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function main(): void {
  const sizes = (process.env.BENCH_N ?? '10,100,1000').split(',').map(Number);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const work = mkdtempSync(join(tmpdir(), 'rekey-bench-dump-'));
  const runChild = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  // rounds interleaved (rekey, bare, rekey, bare, ...) so a noisy stretch of the machine hits both alike
  const rows = sizes.map((n) => {
    const dump = join(work, `${n}.json`);
    const runs: Array<{ n: number; objects: number; bytes: number; synthMs: number; synthCpuMs: number; floorMs: number; maxRssMiB: number; bareMs: number; bareCpuMs: number }> = [];
    for (let r = 0; r < rounds; r++) runs.push({ ...runChild('--child', String(n), dump), ...runChild('--bare', dump) });
    const ratios = runs.map((r) => r.synthMs / r.bareMs);
    return {
      ...runs[0]!,
      synthMs: median(runs.map((r) => r.synthMs)),
      bareMs: median(runs.map((r) => r.bareMs)),
      floorMs: median(runs.map((r) => r.floorMs)),
      maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
      ratio: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      cpuRatio: median(runs.map((r) => r.synthCpuMs / r.bareCpuMs)),
      synthCpuMs: median(runs.map((r) => r.synthCpuMs)),
      bareCpuMs: median(runs.map((r) => r.bareCpuMs)),
    };
  });
  rmSync(work, { recursive: true, force: true });
  const base = rows[0]!;
  console.log(`synthesis of N credentials x 5 consumers (node ${process.version}; ${rounds} interleaved rounds of fresh child processes, rekey then the bare cdk8s program; medians)\n`);
  console.log('| N | objects | YAML MiB | synth s | bare cdk8s s | synth / bare cdk8s (median of rounds) | min..max | CPU s: synth / bare | CPU ratio | floor (yaml only) s | synth / floor | ms per credential | growth vs N=' + base.n + ' (per credential) | peak RSS MiB |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const per = r.synthMs / r.n;
    console.log(
      `| ${r.n} | ${r.objects} | ${(r.bytes / 1048576).toFixed(2)} | ${(r.synthMs / 1000).toFixed(2)} | ${(r.bareMs / 1000).toFixed(2)} | ${r.ratio.toFixed(2)}x | ${r.ratioMin.toFixed(2)}..${r.ratioMax.toFixed(2)} | ${(r.synthCpuMs / 1000).toFixed(2)} / ${(r.bareCpuMs / 1000).toFixed(2)} | ${r.cpuRatio.toFixed(2)}x | ${(r.floorMs / 1000).toFixed(3)} | ${(r.synthMs / r.floorMs).toFixed(1)}x | ${per.toFixed(2)} | ${(per / (base.synthMs / base.n)).toFixed(2)}x | ${r.maxRssMiB.toFixed(0)} |`,
    );
  }
  const big = rows.find((r) => r.n === 1000);
  console.log(`\ntarget: synth / bare cdk8s <= 1.3x at every N (median of rounds), wall -> ${rows.every((r) => r.ratio <= 1.3) ? 'met' : 'MISSED'}; CPU -> ${rows.every((r) => r.cpuRatio <= 1.3) ? 'met' : 'MISSED'}`);
  if (big) console.log(`target for N=1000: < 10 s and < 1024 MiB -> ${big.synthMs < 10_000 && big.maxRssMiB < 1024 ? 'met' : 'MISSED'}`);
}

if (process.argv[2] === '--child') child(Number(process.argv[3]), process.argv[4]!);
else if (process.argv[2] === '--bare') bareChild(process.argv[3]!);
else main();
