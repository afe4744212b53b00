import { createHash } from 'node:crypto';

/** Inputs of a consumer checksum: identifiers and delivered (sealed) material, never a plaintext. */
export interface ChecksumInput {
  readonly credential: string;
  readonly generation: number;
  /** The new key's ID; null when it is drawn in the cluster (a store-held delivery): the generation and the remote reference then make the checksum change. */
  readonly accessKeyId: string | null;
  /** What is delivered to the consumer's Secret: ciphertexts for sealed, a marker for plain, the store reference and remote key for store-held deliveries. */
  readonly material: Readonly<Record<string, string>>;
}

/** The annotation key on a consumer's pod template. */
export function checksumAnnotation(credential: string): string {
  return `rekey.dev/${credential}-checksum`;
}

/** A short (16 hex) SHA-256 of the inputs; changes with every rotation. */
export function consumerChecksum(input: ChecksumInput): string {
  const material = Object.keys(input.material)
    .sort()
    .map((k) => [k, input.material[k]]);
  return createHash('sha256')
    .update(JSON.stringify([input.credential, input.generation, input.accessKeyId, material]))
    .digest('hex')
    .slice(0, 16);
}
