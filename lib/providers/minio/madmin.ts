/**
 * The madmin body encryption of the MinIO admin API (`madmin.EncryptData` /
 * `madmin.DecryptData` of minio/madmin-go), which RustFS speaks too.
 *
 * Layout: `salt(32) || id(1) || nonce(8) || sio stream`.
 * - id 0x00: Argon2id(t=1, m=64 MiB, p=4) key, AES-256-GCM
 * - id 0x01: Argon2id key, ChaCha20-Poly1305
 * - id 0x02: PBKDF2-HMAC-SHA256 (8192 iterations) key, AES-256-GCM
 *
 * The sio (DARE 2.0) stream: AEAD nonce = the 8-byte nonce || uint32 little-endian counter;
 * tag0 = Seal(key, nonce||LE32(0), empty, no AAD); the plaintext is cut in 16384-byte
 * fragments, each non-final one sealed with counter 1, 2, … and AAD 0x00||tag0, the final one
 * (1..16384 bytes, or empty for an empty plaintext) with AAD 0x80||tag0.
 *
 * The primitives come from libraries (Argon2id: hash-wasm, pure WebAssembly and bundleable;
 * AES-GCM, ChaCha20-Poly1305, PBKDF2: node:crypto); this file is only the format glue.
 *
 * The password is always a `SecretValue`; plaintexts are bytes (a request body can carry a
 * secret key: callers wipe nothing, but never hold it as a `string` in a public signature).
 *
 * Key reuse ({@link MadminCipher}): every body carries its own salt and nonce and the server
 * derives the key from the salt it reads (madmin-go's DecryptData), so a client may derive the
 * Argon2id key for one salt once per run and encrypt every body with it under a FRESH random
 * 8-byte nonce: the AEAD nonce (nonce || counter) never repeats for a key. That turns one
 * ~0.1 s derivation per call into one per run.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { argon2id } from 'hash-wasm';
import { RekeyError } from '../../core/errors.js';
import { SecretValue } from '../../core/secret-value.js';

/** The madmin algorithm IDs. */
export enum MadminAlgorithm {
  /** Argon2id key derivation, AES-256-GCM (what madmin-go picks on CPUs with AES instructions). */
  ARGON2ID_AES_GCM = 0,
  /** Argon2id key derivation, ChaCha20-Poly1305 (madmin-go on CPUs without AES instructions). */
  ARGON2ID_CHACHA20_POLY1305 = 1,
  /** PBKDF2-SHA256 key derivation, AES-256-GCM (madmin-go built for FIPS). */
  PBKDF2_AES_GCM = 2,
}

/** Options of {@link encryptData}. Salt and nonce exist to reproduce vectors; leave them unset otherwise. */
export interface EncryptDataOptions {
  /** Algorithm ID. @default 0 (Argon2id + AES-256-GCM, as madmin-go on amd64/arm64) */
  readonly algorithm?: 0 | 1 | 2;
  /** The 32-byte key-derivation salt. @default - 32 fresh random bytes (node:crypto) */
  readonly salt?: Buffer;
  /** The 8-byte stream nonce. @default - 8 fresh random bytes (node:crypto) */
  readonly nonce?: Buffer;
}

/** A madmin body that cannot be encrypted or decrypted (bad format, wrong key, tampering). */
export class MadminCryptoError extends RekeyError {
  public constructor(message: string, cause?: unknown) {
    super('MADMIN_CRYPTO', message, { cause });
  }
}

const SALT_LEN = 32;
const NONCE_LEN = 8;
const HEADER_LEN = SALT_LEN + 1 + NONCE_LEN;
const TAG_LEN = 16;
const FRAGMENT = 16384;
const PBKDF2_ITERATIONS = 8192;
const ID_NAMES = '0x00 Argon2id+AES-256-GCM, 0x01 Argon2id+ChaCha20-Poly1305, 0x02 PBKDF2-SHA256+AES-256-GCM';

/**
 * Encrypts `plaintext` the way `madmin.EncryptData(password, plaintext)` does.
 * Every call derives a fresh key from a fresh salt (one Argon2id, ~0.1 s, for IDs 0 and 1).
 */
export async function encryptData(password: SecretValue, plaintext: Buffer, opts: EncryptDataOptions = {}): Promise<Buffer> {
  const id = checkId(opts.algorithm ?? MadminAlgorithm.ARGON2ID_AES_GCM);
  const salt = opts.salt ?? randomBytes(SALT_LEN);
  const nonce = opts.nonce ?? randomBytes(NONCE_LEN);
  checkSaltNonce(salt, nonce);
  const key = await deriveKey(passwordBytes(password, 'encryptData'), salt, id);
  return sealBody(id, key, salt, nonce, plaintext);
}

function checkId(id: number): 0 | 1 | 2 {
  if (id !== 0 && id !== 1 && id !== 2) {
    throw new MadminCryptoError(`madmin encryptData algorithm is unknown: got ${String(id)}. Use ${ID_NAMES}.`);
  }
  return id;
}

function checkSaltNonce(salt: Buffer, nonce: Buffer): void {
  if (salt.length !== SALT_LEN) {
    throw new MadminCryptoError(`madmin encryptData salt must be ${SALT_LEN} bytes: got ${salt.length}. Pass 32 bytes or leave it unset.`);
  }
  if (nonce.length !== NONCE_LEN) {
    throw new MadminCryptoError(`madmin encryptData nonce must be ${NONCE_LEN} bytes: got ${nonce.length}. Pass 8 bytes or leave it unset.`);
  }
}

function sealBody(id: number, key: Buffer, salt: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  const aead = aeadFor(id, key);
  const tag0 = aead.seal(streamNonce(nonce, 0), EMPTY, EMPTY);
  const parts: Buffer[] = [salt, Buffer.of(id), nonce];
  const fragments = Math.max(1, Math.ceil(plaintext.length / FRAGMENT));
  for (let i = 0; i < fragments; i++) {
    const final = i === fragments - 1;
    const chunk = plaintext.subarray(i * FRAGMENT, final ? plaintext.length : (i + 1) * FRAGMENT);
    parts.push(aead.seal(streamNonce(nonce, i + 1), chunk, aad(final, tag0)));
  }
  return Buffer.concat(parts);
}

/** Decrypts a body made by `madmin.EncryptData` (any of the three IDs) with `password`. */
export async function decryptData(password: SecretValue, data: Buffer): Promise<Buffer> {
  return openBody(data, (salt, id) => deriveKey(passwordBytes(password, 'decryptData'), salt, id));
}

async function openBody(data: Buffer, keyFor: (salt: Buffer, id: number) => Promise<Buffer>): Promise<Buffer> {
  if (data.length < HEADER_LEN + TAG_LEN) {
    throw new MadminCryptoError(
      `madmin decryptData body is too short: got ${data.length} bytes. A madmin body has at least ${HEADER_LEN + TAG_LEN} bytes (salt, ID, nonce, one tag); the body was truncated or is not madmin-encrypted.`,
    );
  }
  const salt = data.subarray(0, SALT_LEN);
  const id = data[SALT_LEN];
  const nonce = data.subarray(SALT_LEN + 1, HEADER_LEN);
  if (id !== 0 && id !== 1 && id !== 2) {
    throw new MadminCryptoError(
      `madmin decryptData algorithm ID is unknown: got 0x${id.toString(16).padStart(2, '0')}. Expected ${ID_NAMES}; the body is not madmin-encrypted or was altered.`,
    );
  }
  const stream = data.subarray(HEADER_LEN);
  const key = await keyFor(salt, id);
  const aead = aeadFor(id, key);
  const tag0 = aead.seal(streamNonce(nonce, 0), EMPTY, EMPTY);
  const sealed = FRAGMENT + TAG_LEN;
  const out: Buffer[] = [];
  const fragments = Math.max(1, Math.ceil(stream.length / sealed));
  for (let i = 0; i < fragments; i++) {
    const final = i === fragments - 1;
    const chunk = stream.subarray(i * sealed, final ? stream.length : (i + 1) * sealed);
    if (chunk.length < TAG_LEN) {
      throw new MadminCryptoError(
        `madmin decryptData fragment ${i + 1} is too short: got ${chunk.length} bytes. The body was truncated.`,
      );
    }
    const plain = aead.open(streamNonce(nonce, i + 1), chunk, aad(final, tag0));
    if (plain === undefined) {
      throw new MadminCryptoError(
        `madmin decryptData fragment ${i + 1} of ${fragments} is not authentic: got a tag mismatch. The body was altered or truncated, or was encrypted with another password (check the admin secret key).`,
      );
    }
    out.push(plain);
  }
  return Buffer.concat(out);
}

/** Options of {@link MadminCipher}. */
export interface MadminCipherOptions {
  /** Algorithm ID for bodies it encrypts. @default 0 (Argon2id + AES-256-GCM) */
  readonly algorithm?: 0 | 1 | 2;
  /** Randomness for the salt (once) and the nonces (every body). @default - node:crypto randomBytes */
  readonly random?: (n: number) => Buffer;
  /** How many derived keys of answers (by salt) to keep. @default 16 */
  readonly maxCachedKeys?: number;
}

/**
 * madmin encryption for one password over a run: derives the key for its own salt ONCE and
 * seals every body with a fresh nonce; decrypting caches the key per (salt, ID) it meets
 * (bounded). Bodies are byte-for-byte what `madmin.EncryptData` would produce for that salt and
 * nonce, so any madmin server (MinIO, RustFS) reads them.
 */
export class MadminCipher {
  readonly #password: SecretValue;
  readonly #id: 0 | 1 | 2;
  readonly #random: (n: number) => Buffer;
  readonly #max: number;
  #own?: Promise<{ salt: Buffer; key: Buffer }>;
  readonly #keys = new Map<string, Promise<Buffer>>();

  public constructor(password: SecretValue, opts: MadminCipherOptions = {}) {
    passwordBytes(password, 'MadminCipher');
    this.#password = password;
    this.#id = checkId(opts.algorithm ?? MadminAlgorithm.ARGON2ID_AES_GCM);
    this.#random = opts.random ?? randomBytes;
    this.#max = opts.maxCachedKeys ?? 16;
  }

  /** Encrypts with the run's salt and key and a fresh nonce. */
  public async encrypt(plaintext: Buffer): Promise<Buffer> {
    if (!this.#own) {
      const salt = this.#random(SALT_LEN);
      this.#own = deriveKey(passwordBytes(this.#password, 'encryptData'), salt, this.#id).then((key) => ({ salt, key }));
      this.#own.catch(() => (this.#own = undefined));
    }
    const { salt, key } = await this.#own;
    const nonce = this.#random(NONCE_LEN);
    checkSaltNonce(salt, nonce);
    return sealBody(this.#id, key, salt, nonce, plaintext);
  }

  /** Decrypts any madmin body; the key per (salt, ID) is derived once. */
  public async decrypt(data: Buffer): Promise<Buffer> {
    return openBody(data, (salt, id) => {
      const k = `${id}:${salt.toString('hex')}`;
      let key = this.#keys.get(k);
      if (!key) {
        key = deriveKey(passwordBytes(this.#password, 'decryptData'), Buffer.from(salt), id);
        key.catch(() => this.#keys.delete(k));
        if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.keys().next().value as string);
        this.#keys.set(k, key);
      }
      return key;
    });
  }

  public toString(): string {
    return 'MadminCipher(<redacted>)';
  }

  public toJSON(): string {
    return 'MadminCipher(<redacted>)';
  }

  public [inspect.custom](): string {
    return 'MadminCipher(<redacted>)';
  }
}

const EMPTY = Buffer.alloc(0);

function passwordBytes(password: SecretValue, where: string): Buffer {
  if (!(password instanceof SecretValue)) {
    throw new MadminCryptoError(`madmin ${where} password must be a SecretValue: got ${typeof password}. Wrap it with SecretValue.fromString (never pass a plain string).`);
  }
  const bytes = password.revealBytes();
  if (bytes.length === 0) {
    throw new MadminCryptoError(`madmin ${where} password is empty: got 0 bytes. Pass the admin secret key.`);
  }
  return bytes;
}

/** The AEAD nonce of sio: the 8-byte stream nonce followed by a little-endian uint32 counter. */
function streamNonce(nonce: Buffer, counter: number): Buffer {
  const n = Buffer.alloc(NONCE_LEN + 4);
  nonce.copy(n, 0);
  n.writeUInt32LE(counter, NONCE_LEN);
  return n;
}

function aad(final: boolean, tag0: Buffer): Buffer {
  return Buffer.concat([Buffer.of(final ? 0x80 : 0x00), tag0]);
}

async function deriveKey(password: Buffer, salt: Buffer, id: number): Promise<Buffer> {
  if (id === MadminAlgorithm.PBKDF2_AES_GCM) {
    return new Promise((resolve, reject) =>
      pbkdf2(password, salt, PBKDF2_ITERATIONS, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))),
    );
  }
  // hash-wasm compiles its WebAssembly module once per process and caches it; each call
  // instantiates it with a fresh 64 MiB memory, which it releases afterwards.
  const key = await argon2id({
    password,
    salt,
    iterations: 1,
    memorySize: 64 * 1024,
    parallelism: 4,
    hashLength: 32,
    outputType: 'binary',
  });
  return Buffer.from(key);
}

interface Aead {
  seal(nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer;
  open(nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer | undefined;
}

function aeadFor(id: number, key: Buffer): Aead {
  const cipher = id === MadminAlgorithm.ARGON2ID_CHACHA20_POLY1305 ? 'chacha20-poly1305' : 'aes-256-gcm';
  return {
    seal(nonce, plaintext, additional) {
      const c = createCipheriv(cipher as 'aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
      c.setAAD(additional);
      return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    },
    open(nonce, sealed, additional) {
      const d = createDecipheriv(cipher as 'aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
      d.setAAD(additional);
      d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
      const body = d.update(sealed.subarray(0, sealed.length - TAG_LEN));
      try {
        return Buffer.concat([body, d.final()]);
      } catch {
        return undefined;
      }
    },
  };
}
