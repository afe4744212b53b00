/**
 * Bench: madmin encryptData of a 100-byte body — our TypeScript next to the real madmin-go
 * (Debian 2.0.7, `EncryptData`, through test/go/madmin-xcheck's `bench N` mode), measured in
 * the same run. Argon2id (t=1, 64 MiB, p=4) dominates every call, so the key derivation is
 * also timed alone: hash-wasm (what lib/ uses: pure WebAssembly, bundleable into the rotator)
 * and, as a comparison row only, the native `argon2` npm package (a node-gyp addon, which the
 * single-file rotator bundle cannot carry).
 *
 * Run: npx tsx bench/madmin.ts [calls]   (needs scripts/go-xcheck.sh's prerequisites for the Go rows)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argon2id } from 'hash-wasm';
import { encryptData, MadminCipher } from '../lib/providers/minio/madmin.js';
import { SecretValue } from '../lib/core/secret-value.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 20);
const BODY = Buffer.alloc(100, 0x78);
const PASSWORD = SecretValue.fromString('fake-admin-secret-0000');
const TARGET = 1.5;

interface Row {
  readonly name: string;
  readonly msPerCall?: number;
  readonly note?: string;
}

async function time(fn: () => Promise<unknown>, n: number): Promise<number> {
  await fn(); // warm-up: WebAssembly compile, JIT
  await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / n;
}

function goBench(binary: string, n: number): number | string {
  const r = spawnSync(binary, ['bench', String(n), '100'], { encoding: 'utf8' });
  if (r.status !== 0) return `failed: ${r.stderr.trim()}`;
  return (JSON.parse(r.stdout) as { nsPerOp: number }).nsPerOp / 1e6;
}

async function nativeArgon2(n: number): Promise<number | string> {
  // The native addon is a devDependency for this comparison only; load it in a child first:
  // its shipped prebuild can crash the process on some Node builds.
  const probe = spawnSync(process.execPath, ['-e', "import('argon2').then(a=>a.hash('x',{type:2,raw:true,hashLength:32,timeCost:1,memoryCost:65536,parallelism:4,salt:Buffer.alloc(32)})).then(()=>process.exit(0),()=>process.exit(1))"], { cwd: root });
  if (probe.status !== 0) return `unavailable (exit ${probe.status ?? probe.signal}; npm rebuild argon2 --build-from-source)`;
  // typed locally so the bench typechecks even where the optional devDependency is absent
  const name = 'argon2';
  const argon2 = (await import(name)) as {
    argon2id: number;
    hash(password: Buffer, opts: { type: number; raw: true; hashLength: number; timeCost: number; memoryCost: number; parallelism: number; salt: Buffer }): Promise<Buffer>;
  };
  const password = PASSWORD.revealBytes();
  return time(() => argon2.hash(password, { type: argon2.argon2id, raw: true, hashLength: 32, timeCost: 1, memoryCost: 65536, parallelism: 4, salt: randomBytes(32) }), n);
}

const RUN = 10;

/** Per-call cost of a run of `n` bodies through one fresh MadminCipher (its derivation included), averaged over N runs. */
async function runOf(n: number, algorithm: 0 | 1 | 2): Promise<number> {
  return (
    (await time(async () => {
      const cipher = new MadminCipher(PASSWORD, { algorithm });
      for (let i = 0; i < n; i++) await cipher.encrypt(BODY);
    }, Math.max(1, Math.floor(N / 2)))) / n
  );
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const build = spawnSync(join(root, 'scripts/go-xcheck.sh'), [], { encoding: 'utf8' });
  const goDir = build.status === 0 ? build.stdout.trim().split('\n').pop() : undefined;

  const goMs = goDir ? goBench(join(goDir, 'madmin-xcheck'), N) : `unavailable: ${build.stderr.trim()}`;
  rows.push(typeof goMs === 'number' ? { name: 'Go madmin-go EncryptData (ID 0x00, Argon2id+AES-GCM)', msPerCall: goMs } : { name: 'Go madmin-go EncryptData (ID 0x00)', note: goMs });
  rows.push({ name: 'TS encryptData ID 0x00 (hash-wasm Argon2id + node:crypto AES-GCM)', msPerCall: await time(() => encryptData(PASSWORD, BODY), N) });
  // what the MinIO client does now: one MadminCipher per run, the key derived once, a fresh nonce per body
  rows.push({ name: `TS MadminCipher ID 0x00, a run of ${RUN} calls (1 derivation), per call`, msPerCall: await runOf(RUN, 0) });
  rows.push({ name: 'TS encryptData ID 0x01 (hash-wasm Argon2id + node:crypto ChaCha20-Poly1305)', msPerCall: await time(() => encryptData(PASSWORD, BODY, { algorithm: 1 }), N) });
  const goFips = goDir ? goBench(join(goDir, 'madmin-xcheck-fips'), N) : 'unavailable';
  rows.push(typeof goFips === 'number' ? { name: 'Go madmin-go EncryptData, fips build (ID 0x02, PBKDF2)', msPerCall: goFips } : { name: 'Go madmin-go EncryptData, fips build (ID 0x02)', note: goFips });
  rows.push({ name: 'TS encryptData ID 0x02 (node:crypto PBKDF2 + AES-GCM)', msPerCall: await time(() => encryptData(PASSWORD, BODY, { algorithm: 2 }), N) });
  const password = PASSWORD.revealBytes();
  rows.push({
    name: 'Argon2id alone: hash-wasm (lib/)',
    msPerCall: await time(() => argon2id({ password, salt: randomBytes(32), iterations: 1, memorySize: 65536, parallelism: 4, hashLength: 32, outputType: 'binary' }), N),
  });
  const native = await nativeArgon2(N);
  rows.push(typeof native === 'number' ? { name: 'Argon2id alone: native argon2 npm (bench only)', msPerCall: native } : { name: 'Argon2id alone: native argon2 npm (bench only)', note: native });

  const go = typeof goMs === 'number' ? goMs : undefined;
  const goPbkdf2 = typeof goFips === 'number' ? goFips : undefined;
  const lines = [
    `madmin encryptData, 100-byte body, ${N} calls each after 2 warm-ups; Node ${process.version}, ${process.arch}`,
    '',
    '| what | ms/call | × Go (same ID family) |',
    '|---|---:|---:|',
  ];
  for (const r of rows) {
    const ref = r.name.includes('0x02') ? goPbkdf2 : go;
    const ratio = r.msPerCall !== undefined && ref !== undefined && !r.name.startsWith('Go ') ? `${(r.msPerCall / ref).toFixed(2)}×` : '';
    lines.push(`| ${r.name} | ${r.msPerCall !== undefined ? r.msPerCall.toFixed(2) : r.note ?? ''} | ${ratio} |`);
  }
  const ts0 = rows[1].msPerCall;
  if (go !== undefined && ts0 !== undefined) {
    const ratio = ts0 / go;
    lines.push('', `target: TS ID 0x00 within ${TARGET}× of Go: ${ratio <= TARGET ? 'MET' : 'MISSED'} (${ratio.toFixed(2)}×)`);
    const run = rows[2].msPerCall;
    if (run !== undefined) {
      lines.push(`a run of ${RUN} calls: ${run.toFixed(2)} ms per call with one derivation, against Go's ${go.toFixed(2)} ms per call (madmin-go derives per call): ${(run / go).toFixed(2)}×`);
    }
  }
  console.log(lines.join('\n'));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
