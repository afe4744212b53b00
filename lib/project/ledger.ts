import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { SecretValue } from '../core/secret-value.js';
import { formatPath, show, valueAt } from '../core/errors.js';
import { readRegularFile, writeFileAtomic, type WriteFileAtomicOptions } from './files.js';

/**
 * The ledger, `rekey.ledger.yaml`: machine-written state that makes synthesis deterministic.
 *
 * Per credential: generation, current and previous access-key IDs (not secret), rotatedAt,
 * the sealed ciphertexts per target and for the rotator's staging Secret. Never plaintext,
 * except for `plain` delivery. Written atomically (temp file, fsync, rename) under the project
 * lock. Each credential's entry ends with its own `integrity` (SHA-256 over the entry's
 * canonical content and the credential's name), so a hand edit is detected and refused with a
 * clear error naming the entry, and two pull requests rotating different credentials change
 * disjoint, non-adjacent lines (git merges them). It protects against accidents and careless edits, not against
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
  delivery: z.enum(['sealed', 'plain', 'external', 'csi']),
  /**
   * Where the pair comes from: absent (rekey-drawn: `rekey rotate` drew and sealed it), or
   * `providerDrawn` (a store-held delivery: the activate Job obtains the pair in the cluster, so
   * the ledger holds no key material and no key ID for this generation).
   */
  keySource: z.literal('providerDrawn').optional(),
  /** The new key's ID; null when it is drawn in the cluster (`keySource: providerDrawn`): unknown until the activate Job draws it (see the rotation record). */
  accessKeyId: z.string().min(1).nullable(),
  /**
   * The key this generation retires, when known offline (the previous rekey-drawn key, or the
   * adopted one). Absent on a later providerDrawn generation: the rotator reads it from its
   * rotation record of generation - 1.
   */
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

/** The entry's key source, checked: `providerDrawn` exactly when there is no key ID. */
function checkKeySource(entry: { keySource?: 'providerDrawn'; accessKeyId: string | null }, ctx: z.RefinementCtx): void {
  if ((entry.keySource === 'providerDrawn') !== (entry.accessKeyId === null)) {
    ctx.addIssue({ code: 'custom', path: ['accessKeyId'], message: 'must be null exactly when keySource is providerDrawn' });
  }
}

/** The characters an access-key ID may have at every provider rekey supports, 3 to 128 of them. */
export const ACCESS_KEY_ID = /^[A-Za-z0-9._@+=-]{3,128}$/;

/** A key that exists at the provider before rekey's first rotation (`rekey adopt`): not secret. */
const adoptedRecord = z.strictObject({
  accessKeyId: z.string().regex(ACCESS_KEY_ID, 'must be an access-key ID (3-128 of A-Z a-z 0-9 . _ @ + = -)'),
  provider: z.string(),
  adoptedAt: z.iso.datetime(),
});
export type AdoptedKey = z.infer<typeof adoptedRecord>;

const INTEGRITY = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>');
const rotatedFileEntry = entrySchema.extend({ integrity: INTEGRITY }).superRefine(checkKeySource);
const adoptedFileEntry = z.strictObject({ adopted: adoptedRecord, integrity: INTEGRITY });
/** The schema of the ledger before per-entry integrity (one whole-file `integrity:`): still read, rewritten on the next write. */
const legacyEntry = entrySchema;

const CREDENTIAL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const fileSchema = z.strictObject({
  apiVersion: z.literal(LEDGER_API_VERSION, { error: `must be ${LEDGER_API_VERSION}` }),
  kind: z.literal(LEDGER_KIND, { error: `must be ${LEDGER_KIND}` }),
  credentials: z.union([z.record(z.string(), z.unknown()), z.null()]).optional(),
  /** Legacy: one whole-file integrity (before per-entry integrity). */
  integrity: INTEGRITY.optional(),
});

const HEADER =
  '# Written by rekey (rotate, adopt). Do not edit by hand: each credential entry carries its own\n' +
  '# integrity, and rekey refuses an entry that does not match it. Entries are separated by a blank\n' +
  '# line and a comment so that pull requests rotating different credentials merge in git.\n' +
  '# Holds key IDs and sealed values only (plaintext only for plain delivery).\n';

/** The file name shown in ledger errors. */
export const LEDGER_FILE = 'rekey.ledger.yaml';

/** The ledger: immutable; `with()` returns a new one. */
export class Ledger {
  /** An empty ledger (no credential rotated yet). */
  public static empty(): Ledger {
    return new Ledger({}, {});
  }

  /**
   * Loads a ledger file. A missing file is an empty ledger; a corrupt or hand-edited one
   * is refused with a `ValidationError` naming the file, the field and the fix. Only a regular
   * file is read (never a symbolic link, FIFO or device), of at most 16 MiB.
   */
  public static load(path: string, displayName = basename(path)): Ledger {
    return Ledger.read(path, displayName).ledger;
  }

  /** {@link load}, with the text it was parsed from (undefined when there is no file). */
  public static read(path: string, displayName = basename(path)): { readonly ledger: Ledger; readonly text: string | undefined } {
    const text = readRegularFile(path, displayName, `Restore it from git (git checkout -- ${displayName}).`);
    return { ledger: text === undefined ? Ledger.empty() : Ledger.parse(text, displayName), text };
  }

  /** Parses ledger text (see load). */
  public static parse(text: string, displayName = LEDGER_FILE): Ledger {
    const restore = `Restore it from git (git checkout -- ${displayName}) and let rekey rotate write it.`;
    checkConflictMarkers(text, displayName);
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ValidationError(`${displayName} is not valid YAML: got ${doc.errors[0]!.code}. ${restore}`, { code: 'LEDGER_CORRUPT' });
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 0 }) as unknown;
    } catch {
      throw new ValidationError(`${displayName} is not valid YAML: got a YAML alias (the ledger never has one). ${restore}`, { code: 'LEDGER_CORRUPT' });
    }
    if (raw === null || raw === undefined) return Ledger.empty();
    const top = fileSchema.safeParse(raw);
    if (!top.success) throw issueError(displayName, raw, [], top.error.issues[0]!, restore);
    const legacy = top.data.integrity !== undefined;
    const credentials = top.data.credentials ?? {};
    const entries: Record<string, LedgerEntry> = {};
    const adopted: Record<string, AdoptedKey> = {};
    for (const name of Object.keys(credentials)) {
      const at = ['credentials', name];
      if (!CREDENTIAL_NAME.test(name)) {
        throw new ValidationError(`${displayName} ${formatPath(at)} is not a credential name: got ${show(name)}. ${restore}`, { code: 'LEDGER_CORRUPT' });
      }
      const value = credentials[name];
      const isAdopted = !legacy && value !== null && typeof value === 'object' && 'adopted' in value;
      const schema = legacy ? legacyEntry : isAdopted ? adoptedFileEntry : rotatedFileEntry;
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw issueError(displayName, raw, at, parsed.error.issues[0]!, restore);
      if (legacy) {
        entries[name] = parsed.data as LedgerEntry;
        continue;
      }
      const { integrity, ...rest } = parsed.data as { integrity: string } & Record<string, unknown>;
      const expected = entryIntegrity(name, rest);
      if (integrity !== expected) {
        throw new ValidationError(
          `${displayName} ${formatPath([...at, 'integrity'])} does not match the entry's content (edited by hand, or a merge conflict resolved line by line?): got ${integrity}. Take the ${name} entry whole from one side of the merge, or restore the file from git (git checkout -- ${displayName}); then run \`rekey rotate ${name}\` if it must rotate again.`,
          { code: 'LEDGER_TAMPERED' },
        );
      }
      if (isAdopted) adopted[name] = (rest as { adopted: AdoptedKey }).adopted;
      else entries[name] = rest as LedgerEntry;
    }
    if (legacy) {
      const expected = legacyIntegrityOf(entries);
      if (top.data.integrity !== expected) {
        throw new ValidationError(`${displayName} integrity does not match its content (edited by hand?): got ${top.data.integrity}. ${restore}`, { code: 'LEDGER_TAMPERED' });
      }
    }
    return new Ledger(entries, adopted);
  }

  readonly #entries: Readonly<Record<string, LedgerEntry>>;
  readonly #adopted: Readonly<Record<string, AdoptedKey>>;
  readonly #declared: readonly string[];

  private constructor(entries: Record<string, LedgerEntry>, adopted: Record<string, AdoptedKey>, declared: readonly string[] = []) {
    this.#entries = entries;
    this.#adopted = adopted;
    this.#declared = declared;
  }

  /**
   * The same ledger, written with a placeholder line for every credential of `names` that has no
   * entry yet (the project's credentials, from the app's model). A credential's first rotation
   * (or adoption) then replaces its own placeholder instead of inserting a block between two
   * neighbours, so two pull requests that each rotate a different new credential merge in git
   * even when the two sort next to each other. Placeholders are comments: they hold no state.
   */
  public withDeclared(names: readonly string[]): Ledger {
    return new Ledger({ ...this.#entries }, { ...this.#adopted }, [...new Set(names)].filter((n) => CREDENTIAL_NAME.test(n)).sort());
  }

  /** The entry of a credential, if it was ever rotated. */
  public get(credential: string): LedgerEntry | undefined {
    return Object.hasOwn(this.#entries, credential) ? this.#entries[credential] : undefined;
  }

  /** The adopted key of a credential never rotated (`rekey adopt`), if any. */
  public adopted(credential: string): AdoptedKey | undefined {
    return Object.hasOwn(this.#adopted, credential) ? this.#adopted[credential] : undefined;
  }

  /** Names of every rotated credential in the ledger, sorted. */
  public names(): string[] {
    return Object.keys(this.#entries).sort();
  }

  /** Names of every credential with an adopted key and no rotation yet, sorted. */
  public adoptedNames(): string[] {
    return Object.keys(this.#adopted).sort();
  }

  /** A new ledger with one entry replaced (a rotation replaces an adopted key). */
  public with(credential: string, entry: LedgerEntry): Ledger {
    const checked = entrySchema.superRefine(checkKeySource).parse(entry);
    const adopted = { ...this.#adopted };
    delete adopted[credential];
    return new Ledger({ ...this.#entries, [credential]: checked }, adopted);
  }

  /** A new ledger recording a key that exists at the provider for a credential never rotated. */
  public withAdopted(credential: string, key: AdoptedKey): Ledger {
    if (this.get(credential)) throw new Error(`Ledger.withAdopted: ${credential} was already rotated`);
    return new Ledger({ ...this.#entries }, { ...this.#adopted, [credential]: adoptedRecord.parse(key) });
  }

  /**
   * The file text: one block per credential, sorted by name, each ending with its own
   * `integrity`, separated by a blank line and a comment line naming the credential, so that
   * changes to different credentials never touch adjacent lines. Byte-stable for the same content.
   */
  public serialize(): string {
    const names = [...new Set([...Object.keys(this.#entries), ...Object.keys(this.#adopted), ...this.#declared])].sort();
    let out = HEADER + `apiVersion: ${LEDGER_API_VERSION}\nkind: ${LEDGER_KIND}\n`;
    if (names.length === 0) return out + 'credentials: {}\n';
    out += 'credentials:\n';
    for (const name of names) {
      if (!this.get(name) && !this.adopted(name)) {
        out += `\n  # --- credential ${name}: never rotated ---\n`;
        continue;
      }
      const body = this.get(name) ? (canonical(this.#entries[name]) as Record<string, unknown>) : { adopted: canonical(this.#adopted[name]) };
      const block = stringify({ [name]: { ...body, integrity: entryIntegrity(name, body) } }, { lineWidth: 0 });
      out += `\n  # --- credential ${name} ---\n` + block.replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n') + '\n';
    }
    return out;
  }

  /** Writes the ledger atomically (see writeFileAtomic), keeping the mode of the file it replaces. */
  public save(path: string, options: WriteFileAtomicOptions = {}): void {
    writeFileAtomic(path, this.serialize(), options);
  }
}

export { writeFileAtomic } from './files.js';

/**
 * A git merge left conflict markers in the ledger: say which credential and what to do.
 * (Only the same credential rotated on both sides can conflict.)
 */
function checkConflictMarkers(text: string, displayName: string): void {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^(<{7}|>{7})( |$)/.test(l) || /^={7}$/.test(l) || /^\|{7}( |$)/.test(l));
  if (at < 0) return;
  let credential: string | undefined;
  for (let i = at; i >= 0 && !credential; i--) {
    const m = /^ {2}# --- credential ([a-z0-9-]+) ---$/.exec(lines[i]!) ?? /^ {2}([a-z0-9][-a-z0-9]*):$/.exec(lines[i]!);
    if (m) credential = m[1];
  }
  const where = credential ? ` in credentials.${credential}` : '';
  const fix = credential
    ? `Both branches rotated ${credential}: take the target branch's ledger and dist/ (e.g. git checkout main -- ${displayName} dist/), run \`rekey rotate ${credential}\` again and commit.`
    : `Take the target branch's ledger and dist/ (e.g. git checkout main -- ${displayName} dist/) and run the rotation again.`;
  throw new ValidationError(`${displayName} has an unresolved git merge conflict${where} (line ${at + 1}): got ${show(lines[at]!.slice(0, 40))}. ${fix}`, { code: 'LEDGER_CONFLICT' });
}

function issueError(displayName: string, raw: unknown, prefix: readonly PropertyKey[], issue: z.core.$ZodIssue, restore: string): ValidationError {
  const path = [...prefix, ...issue.path];
  const field = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
  const value = issue.code === 'unrecognized_keys' ? issue.keys[0] : valueAt(raw, path);
  const what = issue.code === 'unrecognized_keys' ? 'is not a ledger field' : issue.code === 'invalid_type' ? `must be a ${issue.expected}` : issue.message.replace(/^Invalid input: /, '');
  return new ValidationError(`${displayName} ${formatPath(field as (string | number)[]) || '(top level)'} ${what}: got ${show(value)}. ${restore}`, { code: 'LEDGER_CORRUPT' });
}

/** Integrity of one entry: SHA-256 over its canonical JSON together with the credential's name (an entry cannot be moved). */
function entryIntegrity(name: string, entry: unknown): string {
  return 'sha256:' + createHash('sha256').update(JSON.stringify(canonical({ credential: name, entry }))).digest('hex');
}

function legacyIntegrityOf(credentials: Record<string, LedgerEntry>): string {
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
