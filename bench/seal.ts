/**
 * Sealing throughput vs the bare RSA-OAEP public-key operation of node:crypto, on the same key.
 *
 *   npx tsx bench/seal.ts [--rounds 9] [--ops 400]
 *
 * Each round times `ops` seals and `ops` bare `crypto.publicEncrypt` calls (prepared KeyObject,
 * OAEP SHA-256 with the same label), alternating which goes first; the table shows medians.
 * Target: seal / bare >= 0.8.
 */
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SealingCertificate, seal } from '../lib/project/seal.js';
import { SecretValue } from '../lib/core/secret-value.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const certPem = readFileSync(join(here, '..', 'test', 'fixtures', 'sealed-secrets', 'cert4096.pem'), 'utf8');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROUNDS = arg('rounds', 9);
const OPS = arg('ops', 400);

const cert = SealingCertificate.fromPem(certPem, 'cert4096.pem');
const value = SecretValue.fromString('fake-secret-access-key-for-bench-000000');
const target = { namespace: 'data', name: 'spark-s3' };
const label = Buffer.from('data/spark-s3');

let sink = 0;
const cases: Record<string, () => void> = {
  'seal (lib/seal.ts, default randomness)': () => {
    sink += seal(value, { certificate: cert, ...target }).length;
  },
  'bare crypto.publicEncrypt RSA-OAEP-SHA256': () => {
    sink += publicEncrypt(
      { key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label },
      randomBytes(32),
    ).length;
  },
  'seal, injected random (own OAEP + RSA_NO_PADDING)': () => {
    sink += seal(value, { certificate: cert, ...target, random: randomBytes }).length;
  },
};
const names = Object.keys(cases);

function time(fn: () => void, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// warm-up
for (const name of names) time(cases[name], 50);

const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const ratios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse();
  const round: Record<string, number> = {};
  for (const name of order) round[name] = OPS / time(cases[name], OPS);
  for (const name of names) rates[name].push(round[name]);
  ratios.push(round[names[0]] / round[names[1]]);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const bare = median(rates[names[1]]);
console.log(`RSA-${cert.modulusBits} (cert4096.pem), ${ROUNDS} interleaved rounds x ${OPS} ops, median; node ${process.version}`);
console.log('');
console.log('| operation | values/s | µs/op | ratio to bare |');
console.log('| --- | ---: | ---: | ---: |');
for (const name of names) {
  const m = median(rates[name]);
  console.log(`| ${name} | ${m.toFixed(0)} | ${(1e6 / m).toFixed(1)} | ${(m / bare).toFixed(3)} |`);
}
const ratio = median(ratios);
console.log('');
console.log(`seal / bare (median of per-round ratios): ${ratio.toFixed(3)} — target >= 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'}`);
if (sink === 0) console.log('');
