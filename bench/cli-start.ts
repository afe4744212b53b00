/**
 * CLI start-up on the example, with the built bin (run `npm run build` first), measured side by
 * side with a bare `node -e 0` in interleaved rounds (medians):
 *
 *   npx tsx bench/cli-start.ts [--rounds 7]
 *
 * `status (warm)` reuses the model cache (.rekey-cache/); `status (cold)` deletes it first, so
 * the app (npx tsx main.ts: cdk8s, cdk8s-plus and the TypeScript compile) runs. Target:
 * `rekey --help` and a warm `rekey status` ≤ 250 ms.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROUNDS = arg('rounds', 7);

const node = process.execPath;
const cases: Array<[string, () => void]> = [
  ['node -e 0 (floor)', () => run(node, ['-e', '0'])],
  ['rekey --help', () => run(node, ['bin/rekey.js', '--help'])],
  ['rekey status (warm cache)', () => run(node, ['bin/rekey.js', 'status'])],
  [
    'rekey status (cold: runs the app)',
    () => {
      rmSync('.rekey-cache', { recursive: true, force: true });
      run(node, ['bin/rekey.js', 'status']);
    },
  ],
];

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

run(node, ['bin/rekey.js', 'status']); // warm the cache and the file system
const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? cases : [...cases].reverse();
  for (const [name, fn] of order) {
    if (name.startsWith('rekey status (warm')) run(node, ['bin/rekey.js', 'status']); // re-warm after a cold run
    const t = process.hrtime.bigint();
    fn();
    times.get(name)!.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const floor = median(times.get('node -e 0 (floor)')!);
console.log(`CLI start-up on the example (${process.version}, ${ROUNDS} interleaved rounds, medians)`);
console.log('| command | ms | × node -e 0 |');
console.log('| --- | ---: | ---: |');
for (const [name] of cases) {
  const m = median(times.get(name)!);
  console.log(`| ${name} | ${m.toFixed(0)} | ${(m / floor).toFixed(2)}× |`);
}
const help = median(times.get('rekey --help')!);
const warm = median(times.get('rekey status (warm cache)')!);
console.log(`target ≤ 250 ms: --help ${help <= 250 ? 'met' : 'MISSED'} (${help.toFixed(0)} ms), warm status ${warm <= 250 ? 'met' : 'MISSED'} (${warm.toFixed(0)} ms)`);
