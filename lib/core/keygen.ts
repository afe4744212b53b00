/**
 * Drawing key material (pure: node:crypto only). Used by `rekey rotate` (lib/project) for
 * rekey-drawn keys and by the rotator's activate step for keys it draws in the cluster
 * (keySource providerDrawn on a provider that takes a caller-chosen pair).
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from './errors.js';
import { SecretValue } from './secret-value.js';

/** The provider kinds (the same union as lib/providers/provider.ts ProviderKind). */
type ProviderKind = 'rustfs' | 'minio' | 'ceph-rgw' | 'aws-iam' | 'external';

/** A drawn pair (structurally the providers' KeyPair). */
export interface DrawnPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: SecretValue;
}

/** A source of random bytes; node:crypto's CSPRNG unless a test injects one. */
export type RandomSource = (n: number) => Buffer;

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Shapes of keys rekey draws, valid at every provider it draws for: MinIO and RustFS accept
 * access keys of 3–20 characters and secrets of 8–40 (20 and 40 are what they generate);
 * Ceph RGW generates 20 upper-case alphanumerics and 40-character secrets.
 */
const SHAPES: Partial<Record<ProviderKind, { idLength: number; secretLength: number }>> = {
  rustfs: { idLength: 20, secretLength: 40 },
  minio: { idLength: 20, secretLength: 40 },
  'ceph-rgw': { idLength: 20, secretLength: 40 },
  external: { idLength: 20, secretLength: 40 },
};

/**
 * Draws a new access-key ID and secret for a provider from a CSPRNG, uniformly over the
 * alphabet (rejection sampling: no modulo bias). AWS IAM draws its own keys: refused.
 */
export function drawKeyPair(kind: ProviderKind, random: RandomSource = randomBytes): DrawnPair {
  const shape = SHAPES[kind];
  if (!shape) {
    throw new ValidationError(`drawKeyPair provider kind ${kind} draws its own keys: got ${JSON.stringify(kind)}. Let the rotation Job create the key at the provider.`);
  }
  return {
    accessKeyId: randomString(UPPER_DIGITS, shape.idLength, random),
    secretAccessKey: SecretValue.fromString(randomString(ALNUM, shape.secretLength, random)),
  };
}

/** A uniformly random string over `alphabet` (at most 256 symbols). */
export function randomString(alphabet: string, length: number, random: RandomSource = randomBytes): string {
  const n = alphabet.length;
  const limit = 256 - (256 % n); // bytes >= limit would bias the modulo
  let out = '';
  for (let rounds = 0; out.length < length; rounds++) {
    if (rounds > 64) throw new Error('randomString: the random source keeps returning unusable bytes (is it constant?)');
    const buf = random(Math.max(16, (length - out.length) * 2));
    for (const b of buf) {
      if (b >= limit) continue;
      out += alphabet[b % n];
      if (out.length === length) break;
    }
  }
  return out;
}
