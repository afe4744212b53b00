import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { SecretValue } from '../core/secret-value.js';
import { formatPath, show, valueAt } from './spec.js';

/**
 * The ledger, `rekey.ledger.yaml`: machine-written state that makes synthesis deterministic.
 *
 * Per credential: generation, current and previous access-key IDs (not secret), rotatedAt,
 * the sealed ciphertexts per target and for the rotator's staging Secret. Never plaintext,
 * except for `plain` delivery. Written atomically (temp file, fsync, rename). An `integrity`
 * field (SHA-256 over the canonical content) makes a hand edit detectable: such a ledger is
 * refused with a clear error. It protects against accidents and careless edits, not against
 * someone who recomputes the hash on purpose — git history and review do that.
 */

export const LEDGER_API_VERSION = 'rekey.dev/v1alpha1';
export const LEDGER_KIND = 'Ledger';

const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

/** Ciphertexts (what kubeseal writes into encryptedData) of one Secret's values. */
const sealedMaterial = z.strictObject({
  accessKeyId: b64,
  secretAccessKey: b64,
  /** The AWS shared-credentials INI file, when an aws-credentials-file alias set is used. */
  credentialsFile: b64.optional(),
});
export type SealedMaterial = z.infer<typeof sealedMaterial>;

const targetRecord = z.strictObject({
  namespace: z.string(),
  secretName: z.string(),
  scope: z.enum(['strict', 'namespace-wide', 'cluster-wide']).optional(),
  sealed: sealedMaterial.optional(),
});
export type LedgerTarget = z.infer<typeof targetRecord>;

const entrySchema = z.strictObject({
  generation: z.number().int().min(1),
  provider: z.string(),
  delivery: z.enum(['sealed', 'plain']),
  accessKeyId: z.string().min(1),
  previousAccessKeyId: z.string().min(1).optional(),
  rotatedAt: z.iso.datetime(),
  /** Fingerprint of the sealing certificate used (sealed delivery). */
  certificateFingerprint: z.string().optional(),
  /** Credentials-file profile sealed (aws-credentials-file alias). */
  credentialsFileProfile: z.string().optional(),
  staging: targetRecord,
  targets: z.array(targetRecord),
  /** plain delivery only: the secret in clear, as the user opted in to. Read as a SecretValue. */
  plainSecretAccessKey: z
    .union([z.string(), z.custom<SecretValue>((v) => v instanceof SecretValue)])
    .transform((v) => (typeof v === 'string' ? SecretValue.fromString(v) : v))
    .optional(),
  /** The attempt number of a rotation step retried with `rekey retry` (the Job name carries it); absent: 1. */
  attempts: z.partialRecord(z.enum(['activate', 'deliver', 'retire', 'revoke']), z.number().int().min(2)).optional(),
  /** Set by `rekey revoke`: this generation revokes the previous key at once, with no overlap. */
  revoke: z.literal(true).optional(),
});
export type LedgerEntry = z.infer<typeof entrySchema>;

const ledgerSchema = z.strictObject({
  apiVersion: z.literal(LEDGER_API_VERSION, { error: `must be ${LEDGER_API_VERSION}` }),
  kind: z.literal(LEDGER_KIND, { error: `must be ${LEDGER_KIND}` }),
  credentials: z.record(z.string(), entrySchema),
  integrity: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

const HEADER =
  '# Written by `rekey rotate`. Do not edit by hand: the integrity field detects any change,\n' +
  '# and rekey refuses a ledger that does not match it. Holds key IDs and sealed values only.\n';

/** The ledger: immutable; `with()` returns a new one. */
export class Ledger {
  /** An empty ledger (no credential rotated yet). */
  public static empty(): Ledger {
    return new Ledger({});
  }

  /**
   * Loads a ledger file. A missing file is an empty ledger; a corrupt or hand-edited one
   * is refused with a `ValidationError` naming the file, the field and the fix.
   */
  public static load(path: string, displayName = basename(path)): Ledger {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Ledger.empty();
      throw new ValidationError(`${displayName} cannot be read: got ${(e as NodeJS.ErrnoException).code}. Check the file's permissions.`, {
        code: 'LEDGER_UNREADABLE',
        cause: e,
      });
    }
    return Ledger.parse(text, displayName);
  }

  /** Parses ledger text (see load). */
  public static parse(text: string, displayName = 'rekey.ledger.yaml'): Ledger {
    const restore = `Restore it from git (git checkout -- ${displayName}) and let rekey rotate write it.`;
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ValidationError(`${displayName} is not valid YAML: got ${doc.errors[0]!.code}. ${restore}`, { code: 'LEDGER_CORRUPT' });
    }
    const raw = doc.toJS() as unknown;
    if (raw === null || raw === undefined) return Ledger.empty();
    const parsed = ledgerSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
      const value = issue.code === 'unrecognized_keys' ? issue.keys[0] : valueAt(raw, issue.path);
      throw new ValidationError(
        `${displayName} ${formatPath(field) || '(top level)'} ${issue.code === 'unrecognized_keys' ? 'is not a ledger field' : issue.code === 'invalid_type' ? `must be a ${issue.expected}` : issue.message.replace(/^Invalid input: /, '')}: got ${show(value)}. ${restore}`,
        { code: 'LEDGER_CORRUPT' },
      );
    }
    const expected = integrityOf(parsed.data.credentials);
    if (parsed.data.integrity !== expected) {
      throw new ValidationError(
        `${displayName} integrity does not match its content (edited by hand?): got ${parsed.data.integrity}. ${restore}`,
        { code: 'LEDGER_TAMPERED' },
      );
    }
    return new Ledger(parsed.data.credentials);
  }

  readonly #entries: Readonly<Record<string, LedgerEntry>>;

  private constructor(entries: Record<string, LedgerEntry>) {
    this.#entries = entries;
  }

  /** The entry of a credential, if it was ever rotated. */
  public get(credential: string): LedgerEntry | undefined {
    return this.#entries[credential];
  }

  /** Names of every credential in the ledger, sorted. */
  public names(): string[] {
    return Object.keys(this.#entries).sort();
  }

  /** A new ledger with one entry replaced. */
  public with(credential: string, entry: LedgerEntry): Ledger {
    const checked = entrySchema.parse(entry);
    return new Ledger({ ...this.#entries, [credential]: checked });
  }

  /** The file text: sorted keys, integrity last, byte-stable for the same content. */
  public serialize(): string {
    const credentials = canonical(this.#entries) as Record<string, LedgerEntry>;
    const body = { apiVersion: LEDGER_API_VERSION, kind: LEDGER_KIND, credentials, integrity: integrityOf(credentials) };
    return HEADER + stringify(body, { lineWidth: 0 });
  }

  /** Writes the ledger atomically: temp file in the same folder, fsync, rename. */
  public save(path: string): void {
    writeFileAtomic(path, this.serialize());
  }
}

/** Writes a file atomically (temp file in the same folder, fsync, rename). */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function integrityOf(credentials: Record<string, LedgerEntry>): string {
  return 'sha256:' + createHash('sha256').update(JSON.stringify(canonical(credentials))).digest('hex');
}

/** Deep copy with object keys sorted (arrays keep their order); a SecretValue as its text (plain delivery's opt-in). */
function canonical(value: unknown): unknown {
  if (value instanceof SecretValue) return value.reveal();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
