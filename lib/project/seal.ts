/**
 * Offline sealing for Bitnami sealed-secrets, byte-compatible with `kubeseal`.
 *
 * The algorithm is sealed-secrets' `pkg/crypto/crypto.go` `HybridEncrypt`:
 *
 *     uint16 BE len(rsaCiphertext) || RSA-OAEP(SHA-256, MGF1-SHA-256, label)(sessionKey)
 *                                  || AES-256-GCM(sessionKey, 12 zero bytes, no AAD)(value) || tag(16)
 *
 * base64 (standard alphabet, padded) of that is what kubeseal writes into
 * `spec.encryptedData[key]`. The OAEP label binds the value to its scope
 * (`pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go` `EncryptionLabel`):
 * strict `<namespace>/<name>`, namespace-wide `<namespace>`, cluster-wide empty.
 *
 * Randomness is consumed in Go's order: 32 bytes of AES session key, then the
 * 32-byte OAEP seed (`rsa.EncryptOAEP` reads `hash.Size()` bytes).
 */
import {
  KeyObject,
  X509Certificate,
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';

import { ValidationError } from '../core/errors.js';
import { SealingScope, toScope, type SealingScopeName } from '../core/sealing-scope.js';
import { SecretValue } from '../core/secret-value.js';

const SESSION_KEY_BYTES = 32;
const HASH_BYTES = 32; // SHA-256
const GCM_NONCE = Buffer.alloc(12); // the session key is used once: a zero nonce is safe (as upstream)
const GCM_TAG_BYTES = 16;
const MIN_RSA_BITS = 2048;
const FETCH_CERT_HINT = 'Use the sealed-secrets controller\'s current certificate (`kubeseal --fetch-cert > cert.pem`).';

export {
  SEALED_SECRET_CLUSTER_WIDE_ANNOTATION,
  SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION,
  SealingScope,
  sealingScopeAnnotations,
  toScope,
  type SealingScopeName,
} from '../core/sealing-scope.js';

/** Options of {@link SealingCertificate.fromPem}. */
export interface SealingCertificateOptions {
  /**
   * The moment the certificate must still be valid at (kubeseal refuses an expired certificate).
   * @default - the current time
   */
  readonly now?: Date;
}

/**
 * The sealed-secrets controller's certificate, parsed once; its public key is reused for every seal.
 */
export class SealingCertificate {
  /**
   * Parses the first `CERTIFICATE` block of a PEM file, as kubeseal's `ParseKey` does.
   * Rejects anything that is not an X.509 certificate, a non-RSA key, an RSA key under
   * 2048 bits and an expired certificate (kubeseal checks `NotAfter` only, and so does this).
   * @param source names the file in error messages
   * @default source 'sealing certificate'
   */
  public static fromPem(pem: string, source = 'sealing certificate', options: SealingCertificateOptions = {}): SealingCertificate {
    const block = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----/.exec(pem);
    if (!block) {
      const firstLabel = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem);
      const got = firstLabel ? `a PEM "${firstLabel[1]}" block` : 'no PEM block';
      throw new ValidationError(`${source} is not a PEM X.509 certificate: got ${got}. ${FETCH_CERT_HINT}`, {
        code: 'SEALING_CERT_INVALID',
      });
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block[0]);
    } catch (err) {
      throw new ValidationError(
        `${source} is not a valid X.509 certificate: got ${describeError(err)}. ${FETCH_CERT_HINT}`,
        { code: 'SEALING_CERT_INVALID', cause: err },
      );
    }
    const key = cert.publicKey;
    if (key.asymmetricKeyType !== 'rsa') {
      throw new ValidationError(
        `${source} certificate key must be RSA (sealed-secrets seals with RSA-OAEP): got ${key.asymmetricKeyType ?? 'unknown'}. ${FETCH_CERT_HINT}`,
        { code: 'SEALING_CERT_INVALID' },
      );
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new ValidationError(
        `${source} certificate RSA key must have at least ${MIN_RSA_BITS} bits: got ${bits}. Renew the controller's sealing key (sealed-secrets makes 4096-bit keys) and fetch its certificate.`,
        { code: 'SEALING_CERT_INVALID' },
      );
    }
    const notAfter = new Date(cert.validTo);
    const now = options.now ?? new Date();
    if (!(notAfter.getTime() >= now.getTime())) {
      throw new ValidationError(
        `${source} certificate has expired: got notAfter ${notAfter.toISOString()}. ${FETCH_CERT_HINT}`,
        { code: 'SEALING_CERT_EXPIRED' },
      );
    }
    return new SealingCertificate(source, key, bits, notAfter);
  }

  /**
   * The key's fingerprint as sealed-secrets computes it (`crypto.PublicKeyFingerprint`):
   * `SHA256:` + unpadded base64 of SHA-256 over the SSH wire encoding of the RSA public key
   * (`string "ssh-rsa" || mpint e || mpint n`), i.e. Go's `ssh.FingerprintSHA256`, the same text
   * `ssh-keygen -l -E sha256` prints for that key. It hashes neither the certificate DER nor the
   * SubjectPublicKeyInfo DER, so it survives a certificate renewal that keeps the key.
   */
  public readonly fingerprint: string;
  /** RSA modulus size in bits. */
  public readonly modulusBits: number;
  /** The certificate's `notAfter`. */
  public readonly notAfter: Date;
  /** The public key, parsed once. */
  public readonly publicKey: KeyObject;
  /** Where the certificate came from (for messages). */
  public readonly source: string;

  private constructor(source: string, publicKey: KeyObject, modulusBits: number, notAfter: Date) {
    this.source = source;
    this.publicKey = publicKey;
    this.modulusBits = modulusBits;
    this.notAfter = notAfter;
    this.fingerprint = sshFingerprintSha256(publicKey);
  }

  /** Throws unless the key's fingerprint is `expected` (e.g. pinned in `rekey.yaml` or the ledger). */
  public verifyFingerprint(expected: string): void {
    if (this.fingerprint !== expected) {
      throw new ValidationError(
        `${this.source} certificate fingerprint does not match the expected ${expected}: got ${this.fingerprint}. ` +
          'Fetch the controller\'s current certificate (`kubeseal --fetch-cert`), or update the pinned fingerprint if the controller\'s key was renewed on purpose.',
        { code: 'SEALING_CERT_FINGERPRINT_MISMATCH' },
      );
    }
  }

  /** RSA modulus size in bytes (the RSA ciphertext length). */
  public get modulusBytes(): number {
    return Math.ceil(this.modulusBits / 8);
  }
}

/** Options of {@link seal}. */
export interface SealOptions {
  /** The controller's certificate: parsed (preferred, parse once) or PEM text. */
  readonly certificate: SealingCertificate | string;
  /** The target Secret's namespace. Required unless the scope is cluster-wide. */
  readonly namespace: string;
  /** The target Secret's name. Required for the strict scope. */
  readonly name: string;
  /** @default SealingScope.STRICT (kubeseal's default) */
  readonly scope?: SealingScope | SealingScopeName;
  /**
   * A byte source, called for 32 bytes of session key and then for the 32-byte OAEP seed.
   * Only for reproducing test vectors: a predictable source makes the ciphertext predictable.
   * @default - node:crypto randomness; the OAEP step is node:crypto's own
   */
  readonly random?: (n: number) => Buffer;
}

/**
 * Seals one value the way `kubeseal` seals one key of a Secret.
 * @returns the base64 text kubeseal writes into `spec.encryptedData[key]`
 */
export function seal(value: SecretValue | Buffer, options: SealOptions): string {
  const scope = toScope(options.scope ?? SealingScope.STRICT);
  checkTarget('seal', scope, options.namespace, options.name);
  const cert = typeof options.certificate === 'string' ? fromPemCached(options.certificate) : options.certificate;
  const label = scope.label(options.namespace, options.name);
  const plaintext = value instanceof SecretValue ? value.revealBytes() : value;

  let sessionKey: Buffer;
  let rsaCiphertext: Buffer;
  if (options.random) {
    sessionKey = draw(options.random, SESSION_KEY_BYTES, 'session key');
    const seed = draw(options.random, HASH_BYTES, 'OAEP seed');
    rsaCiphertext = oaepEncryptWithSeed(cert, sessionKey, label, seed);
  } else {
    sessionKey = randomBytes(SESSION_KEY_BYTES);
    rsaCiphertext = publicEncrypt(
      { key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label },
      sessionKey,
    );
  }

  const cipher = createCipheriv('aes-256-gcm', sessionKey, GCM_NONCE);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  sessionKey.fill(0);
  if (value instanceof SecretValue) plaintext.fill(0);

  const head = Buffer.allocUnsafe(2);
  head.writeUInt16BE(rsaCiphertext.length, 0);
  return Buffer.concat([head, rsaCiphertext, body, final, tag]).toString('base64');
}

/** Options of {@link unseal}. */
export interface UnsealOptions {
  /** The controller's private key (PKCS#1 or PKCS#8 PEM). */
  readonly privateKeyPem: SecretValue | KeyObject;
  /** The namespace the value was sealed for. */
  readonly namespace: string;
  /** The Secret name the value was sealed for. */
  readonly name: string;
  /** @default SealingScope.STRICT */
  readonly scope?: SealingScope | SealingScopeName;
}

/**
 * Opens a sealed value as the controller would (upstream `HybridDecrypt`). For tests and tools:
 * in a cluster the controller unseals.
 */
export function unseal(encryptedBase64: string, options: UnsealOptions): SecretValue {
  const scope = toScope(options.scope ?? SealingScope.STRICT);
  checkTarget('unseal', scope, options.namespace, options.name);
  const where = `sealed value for ${describeTarget(scope, options.namespace, options.name)}`;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encryptedBase64) || encryptedBase64.length % 4 !== 0) {
    throw new ValidationError(
      `${where} is not standard padded base64: got ${encryptedBase64.length} characters. Pass the text of spec.encryptedData[key] unchanged.`,
      { code: 'SEALED_VALUE_INVALID' },
    );
  }
  const data = Buffer.from(encryptedBase64, 'base64');
  const rsaLen = data.length >= 2 ? data.readUInt16BE(0) : 0;
  if (data.length < 2 || data.length < 2 + rsaLen + GCM_TAG_BYTES) {
    throw new ValidationError(
      `${where} is too short to be a sealed value: got ${data.length} bytes. Pass the text of spec.encryptedData[key] unchanged.`,
      { code: 'SEALED_VALUE_INVALID' },
    );
  }
  const key = toPrivateKey(options.privateKeyPem);
  let sessionKey: Buffer;
  try {
    sessionKey = privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: scope.label(options.namespace, options.name) },
      data.subarray(2, 2 + rsaLen),
    );
  } catch (err) {
    throw new ValidationError(
      `${where} cannot be decrypted with this private key: got an RSA-OAEP error (${describeError(err)}). ` +
        'Check that it was sealed with this key\'s certificate for exactly this namespace, name and scope.',
      { code: 'UNSEAL_FAILED', cause: err },
    );
  }
  if (sessionKey.length !== SESSION_KEY_BYTES) {
    throw new ValidationError(
      `${where} holds a session key of the wrong size: got ${sessionKey.length} bytes. Re-seal the value with kubeseal or rekey.`,
      { code: 'UNSEAL_FAILED' },
    );
  }
  const aes = data.subarray(2 + rsaLen);
  try {
    const decipher = createDecipheriv('aes-256-gcm', sessionKey, GCM_NONCE);
    decipher.setAuthTag(aes.subarray(aes.length - GCM_TAG_BYTES));
    const plain = Buffer.concat([decipher.update(aes.subarray(0, aes.length - GCM_TAG_BYTES)), decipher.final()]);
    const out = SecretValue.fromBuffer(plain);
    plain.fill(0);
    return out;
  } catch (err) {
    throw new ValidationError(
      `${where} fails AES-256-GCM authentication: got a corrupted or truncated ciphertext. Re-seal the value with kubeseal or rekey.`,
      { code: 'UNSEAL_FAILED', cause: err },
    );
  } finally {
    sessionKey.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------

let lastPem: { pem: string; cert: SealingCertificate } | undefined;
/** PEM text given to seal() again and again is parsed once (re-parsing costs ~2.8x the RSA operation). */
function fromPemCached(pem: string): SealingCertificate {
  if (lastPem?.pem !== pem || lastPem.cert.notAfter.getTime() < Date.now()) {
    lastPem = { pem, cert: SealingCertificate.fromPem(pem) };
  }
  return lastPem.cert;
}


function describeTarget(scope: SealingScope, namespace: string, name: string): string {
  switch (scope.name) {
    case 'cluster-wide':
      return 'scope cluster-wide';
    case 'namespace-wide':
      return `namespace ${namespace} (scope namespace-wide)`;
    case 'strict':
      return `${namespace}/${name} (scope strict)`;
  }
}

function checkTarget(op: string, scope: SealingScope, namespace: string, name: string): void {
  if (scope !== SealingScope.CLUSTER_WIDE && !namespace) {
    throw new ValidationError(
      `${op} namespace must be set for scope ${scope.name}: got ${JSON.stringify(namespace)}. Give the target Secret's namespace, or use scope cluster-wide.`,
      { code: 'SEAL_TARGET_INVALID' },
    );
  }
  if (scope === SealingScope.STRICT && !name) {
    throw new ValidationError(
      `${op} name must be set for scope strict: got ${JSON.stringify(name)}. Give the target Secret's name, or use scope namespace-wide.`,
      { code: 'SEAL_TARGET_INVALID' },
    );
  }
}

function draw(random: (n: number) => Buffer, n: number, what: string): Buffer {
  const bytes = random(n);
  if (!Buffer.isBuffer(bytes) || bytes.length !== n) {
    throw new ValidationError(
      `seal random(${n}) for the ${what} must return ${n} bytes: got ${Buffer.isBuffer(bytes) ? `${bytes.length} bytes` : typeof bytes}. Return exactly the requested number of bytes.`,
      { code: 'SEAL_RANDOM_INVALID' },
    );
  }
  return Buffer.from(bytes);
}

/**
 * RSAES-OAEP-ENCRYPT (RFC 8017 §7.1.1) with SHA-256 and MGF1-SHA-256 and a caller-given seed,
 * over node:crypto's raw RSA public operation. Only used when the randomness is injected.
 */
function oaepEncryptWithSeed(cert: SealingCertificate, message: Buffer, label: Buffer, seed: Buffer): Buffer {
  const k = cert.modulusBytes;
  const maxMessage = k - 2 * HASH_BYTES - 2;
  if (message.length > maxMessage) {
    // unreachable for a 32-byte session key and a >= 2048-bit key; kept as the RFC's length check
    throw new ValidationError(`seal OAEP message too long: got ${message.length} bytes. At most ${maxMessage} fit.`);
  }
  const lHash = createHash('sha256').update(label).digest();
  const db = Buffer.alloc(k - HASH_BYTES - 1); // lHash || PS (zeros) || 0x01 || M
  lHash.copy(db, 0);
  db[db.length - message.length - 1] = 0x01;
  message.copy(db, db.length - message.length);
  xorInPlace(db, mgf1Sha256(seed, db.length));
  const maskedSeed = Buffer.from(seed);
  xorInPlace(maskedSeed, mgf1Sha256(db, HASH_BYTES));
  const em = Buffer.concat([Buffer.from([0x00]), maskedSeed, db]);
  const out = publicEncrypt({ key: cert.publicKey, padding: constants.RSA_NO_PADDING }, em);
  em.fill(0);
  db.fill(0);
  return out;
}

function mgf1Sha256(seed: Buffer, length: number): Buffer {
  const out = Buffer.alloc(Math.ceil(length / HASH_BYTES) * HASH_BYTES);
  const counter = Buffer.alloc(4);
  for (let i = 0; i * HASH_BYTES < length; i++) {
    counter.writeUInt32BE(i, 0);
    createHash('sha256').update(seed).update(counter).digest().copy(out, i * HASH_BYTES);
  }
  return out.subarray(0, length);
}

function xorInPlace(target: Buffer, mask: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i] ^= mask[i];
}

/** Go's `ssh.FingerprintSHA256(ssh.NewPublicKey(rsaKey))`. */
function sshFingerprintSha256(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const e = Buffer.from(jwk.e as string, 'base64url');
  const n = Buffer.from(jwk.n as string, 'base64url');
  const wire = Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshString(mpint(e)), sshString(mpint(n))]);
  return 'SHA256:' + createHash('sha256').update(wire).digest('base64').replace(/=+$/, '');
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

function mpint(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length && unsigned[i] === 0) i++;
  const trimmed = unsigned.subarray(i);
  return trimmed.length > 0 && (trimmed[0] & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

function toPrivateKey(key: SecretValue | string | KeyObject): KeyObject {
  if (key instanceof KeyObject) return key;
  try {
    return createPrivateKey(key instanceof SecretValue ? key.reveal() : key);
  } catch (err) {
    // never echo the key text
    throw new ValidationError(
      `unseal private key cannot be parsed: got ${describeError(err)}. Pass the controller's RSA private key as PEM (PKCS#1 or PKCS#8).`,
      { code: 'UNSEAL_KEY_INVALID', cause: err },
    );
  }
}

/** A short, secret-free description of a node:crypto error: its code, else its class. */
function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : typeof err;
}
