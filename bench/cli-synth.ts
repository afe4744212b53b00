/**
 * The CLI's heavy commands with the built bin (run `npm run build` first), side by side in one
 * run, interleaved rounds, medians of wall time and of CPU time (user+sys of the child: the
 * machine may be loaded):
 *
 *   npx tsx bench/cli-synth.ts [--rounds 3] [--n 1000]
 *
 * 1. `rekey rotate <one>` vs `rekey synth` on a YAML project of N credentials (target ≤ 1.1×).
 * 2. `rekey check` on the example (TypeScript app, cdk8s.yaml `npx tsx main.ts`): compiled and
 *    cached by rekey (.rekey-cache/app) vs the app command as written (REKEY_APP_COMPILE=0), and
 *    `npx tsx main.ts` alone.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { spec } from './fixtures.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROUNDS = arg('rounds', 3);
const N = arg('n', 1000);
const ROOT = process.cwd();
const BIN = resolve('bin/rekey.js');

interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Timing {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: options.cwd ?? ROOT, env: options.env ?? process.env, maxBuffer: 1 << 26 });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wallMs, cpuMs: childCpu() };
}

let lastChildCpu = 0;
/** CPU time (user+sys) of children since the previous call (from getrusage(RUSAGE_CHILDREN) via /proc/self/stat). */
function childCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime, cstime (fields 16, 17 of stat)
  const ms = (ticks * 1000) / 100;
  const delta = ms - lastChildCpu;
  lastChildCpu = ms;
  return delta;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function table(title: string, cases: Array<[string, () => Timing]>, baseline: string): Map<string, Timing> {
  const times = new Map<string, Timing[]>(cases.map(([n]) => [n, []]));
  childCpu();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of round % 2 === 0 ? cases : [...cases].reverse()) {
      childCpu();
      times.get(name)!.push(fn());
    }
  }
  const med = new Map([...times].map(([n, ts]) => [n, { wallMs: median(ts.map((t) => t.wallMs)), cpuMs: median(ts.map((t) => t.cpuMs)) }]));
  const base = med.get(baseline)!;
  console.log(`\n${title} (${process.version}, ${ROUNDS} interleaved rounds, medians)\n`);
  console.log(`| command | wall s | CPU s | wall × ${baseline} | CPU × ${baseline} |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name] of cases) {
    const m = med.get(name)!;
    console.log(`| ${name} | ${(m.wallMs / 1000).toFixed(2)} | ${(m.cpuMs / 1000).toFixed(2)} | ${(m.wallMs / base.wallMs).toFixed(2)}× | ${(m.cpuMs / base.cpuMs).toFixed(2)}× |`);
  }
  return med;
}

// 1. rotate <one> vs synth at N credentials
const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-cli-'));
try {
  writeFileSync(join(dir, 'rekey.yaml'), stringify(spec(N)));
  copyFileSync(join(ROOT, 'test/fixtures/project/cert.pem'), join(dir, 'cert.pem'));
  const ids = Array.from({ length: N }, (_, i) => `cred-${i}`);
  // every credential rotated once, so synth renders all of them
  for (let i = 0; i < N; i += 250) run(process.execPath, [BIN, 'rotate', ...ids.slice(i, i + 250), '--dir', dir]);
  let k = 0;
  const med = table(
    `rekey rotate <one> vs rekey synth, ${N} credentials x 5 consumers (built bin, YAML project)`,
    [
      ['rekey synth', () => run(process.execPath, [BIN, 'synth', '--dir', dir])],
      ['rekey rotate <one>', () => run(process.execPath, [BIN, 'rotate', ids[k++ % N]!, '--dir', dir])],
    ],
    'rekey synth',
  );
  const ratio = med.get('rekey rotate <one>')!.cpuMs / med.get('rekey synth')!.cpuMs;
  console.log(`\ntarget rotate ≤ 1.1× synth (CPU): ${ratio <= 1.1 ? 'met' : 'MISSED'} (${ratio.toFixed(2)}×)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// 2. check on the example: compiled app vs the app command as written
run(process.execPath, [BIN, 'check']); // compile once (the cache a second run finds)
const asWritten = { ...process.env, REKEY_APP_COMPILE: '0' };
table(
  'rekey check on the example (TypeScript app: cdk8s.yaml app `npx tsx main.ts`)',
  [
    ['node -e 0', () => run(process.execPath, ['-e', '0'])],
    ['npx tsx main.ts (the app alone, as cdk8s synth runs it)', () => run('npx', ['tsx', 'main.ts'], { env: { ...process.env, CDK8S_OUTDIR: join(tmpdir(), 'rekey-bench-example-dist') } })],
    ['rekey check (app as written: REKEY_APP_COMPILE=0)', () => run(process.execPath, [BIN, 'check'], { env: asWritten })],
    ['rekey check (app compiled, cached in .rekey-cache/app)', () => run(process.execPath, [BIN, 'check'])],
    ['rekey synth (app compiled, cached)', () => run(process.execPath, [BIN, 'synth'])],
  ],
  'rekey check (app as written: REKEY_APP_COMPILE=0)',
);
rmSync(join(tmpdir(), 'rekey-bench-example-dist'), { recursive: true, force: true });
