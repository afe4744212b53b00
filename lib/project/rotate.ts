import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { credentialsIni } from '../core/alias-set.js';
import { ValidationError } from '../core/errors.js';
import type { SecretValue } from '../core/secret-value.js';
import type { CredentialModel, RekeyModel } from '../core/model.js';
import { drawKeyPair, type RandomSource } from './keygen.js';
import { commitWork, discardUncommitted, envCrashHook, newWorkDir, recoverProject, type StepHook } from './journal.js';
import { ACCESS_KEY_ID, Ledger, type LedgerEntry, type LedgerTarget } from './ledger.js';
import { withProjectLock } from './lock.js';
import { seal, SealingCertificate } from './seal.js';
import { synthesize } from './synth.js';

/** Options of `rotateCredentials`. */
export interface RotateOptions {
  /** Project folder (rekey.yaml, rekey.ledger.yaml, dist/). */
  readonly dir: string;
  /** Credentials to rotate. */
  readonly credentials: readonly string[];
  /**
   * Chooses the credentials to rotate under the project lock, from the ledger and the model read
   * there (`rekey rotate --due`: two concurrent runs never rotate one credential twice). Replaces
   * `credentials`; choosing none writes nothing. @default - `credentials`
   */
  readonly select?: (ledger: Ledger, model: RekeyModel, now: Date) => readonly string[];
  /** The rotation time written to the ledger. @default - now */
  readonly now?: Date;
  /** Byte source for key material and sealing. @default - node:crypto randomBytes */
  readonly random?: RandomSource;
  /** Output folder, relative to dir. @default 'dist' */
  readonly outdir?: string;
  /** Where synthesis warnings go. @default - stderr */
  readonly warn?: (line: string) => void;
  /** The project's model, when the caller already asked the app for it. @default - asked from the app */
  readonly model?: RekeyModel;
  /** Called after each step of the swap (crash tests). @default - REKEY_CRASH_AT */
  readonly hook?: StepHook;
  /** `rekey revoke`: the new generation revokes the previous key at once, with no overlap. @default false */
  readonly revoke?: boolean;
  /**
   * The new pair, handed over by the owner of an `external` provider (`rekey rotate <c>
   * --access-key-id <id>`, the secret on standard input). Only with exactly one credential, whose
   * provider is external. @default - rekey draws the pair (an external provider's credential is refused)
   */
  readonly ownerSupplied?: OwnerSuppliedKey;
}

/** A key pair the owner of an `external` provider created and hands to rekey. */
export interface OwnerSuppliedKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: SecretValue;
}

/** What an owner-supplied secret access key may hold: 8 to 128 printable ASCII characters, no spaces (every S3-compatible provider's keys fit). */
export const OWNER_SECRET = /^[\x21-\x7E]{8,128}$/;

/**
 * Checks an owner-supplied pair against the credential it is for (exit 1, the secret never shown):
 * the provider is external, the ID and the secret have the characters and length rekey delivers,
 * and the ID is not the current key.
 */
export function checkOwnerSupplied(c: CredentialModel, key: OwnerSuppliedKey | undefined, current: string | undefined): void {
  const how = `<command that prints the secret> | rekey rotate ${c.name} --access-key-id <id>`;
  if (c.provider.kind !== 'external') {
    if (key) {
      throw new ValidationError(
        `rekey rotate --access-key-id only applies to a credential whose provider is external: got ${c.name} with provider ${c.provider.name} (${c.provider.kind}). Drop --access-key-id: rekey draws the new key of ${c.name} itself.`,
        { code: 'OWNER_KEY_NOT_EXTERNAL' },
      );
    }
    return;
  }
  if (c.delivery.kind !== 'sealed' && c.delivery.kind !== 'plain') {
    if (key) {
      throw new ValidationError(
        `rekey rotate --access-key-id only applies to sealed or plain delivery: got ${c.name} with delivery ${c.delivery.kind}. Drop --access-key-id: ${c.name}'s targets read the key from its store.`,
        { code: 'OWNER_KEY_NOT_EXTERNAL' },
      );
    }
    return;
  }
  if (!key) {
    throw new ValidationError(
      `rekey rotate credential ${c.name} uses provider ${c.provider.name} of kind external, whose owner creates the keys: got no --access-key-id. Pipe the new secret access key in and name its ID: ${how}`,
      { code: 'OWNER_KEY_MISSING' },
    );
  }
  if (!ACCESS_KEY_ID.test(key.accessKeyId)) {
    throw new ValidationError(
      `rekey rotate --access-key-id has characters or a length no provider allows: got ${JSON.stringify(key.accessKeyId)}. Give the new key's ID as the owner shows it (3 to 128 of A-Z a-z 0-9 . _ @ + = -); the secret goes on standard input.`,
      { code: 'OWNER_KEY_INVALID' },
    );
  }
  if (key.accessKeyId === current) {
    throw new ValidationError(
      `rekey rotate --access-key-id is ${c.name}'s current key: got ${JSON.stringify(key.accessKeyId)}. Give the ID of the new key the owner created (the current one is retired after the rotation).`,
      { code: 'OWNER_KEY_INVALID' },
    );
  }
  const secret = key.secretAccessKey.reveal();
  if (!OWNER_SECRET.test(secret)) {
    const bad = [...secret].findIndex((ch) => !/^[\x21-\x7E]$/.test(ch));
    const got = bad >= 0 ? `a space or a non-printable or non-ASCII character at position ${bad + 1}` : `${secret.length} characters`;
    throw new ValidationError(
      `rekey rotate standard input is not a secret access key rekey can deliver: got ${got}. Pipe in the secret alone: 8 to 128 printable ASCII characters, no spaces.`,
      { code: 'OWNER_KEY_INVALID' },
    );
  }
}

/** What a rotation changed (identifiers only). */
export interface RotatedCredential {
  readonly credential: string;
  readonly generation: number;
  readonly accessKeyId: string;
  readonly previousAccessKeyId?: string;
}

/**
 * `rekey rotate`: draws new key material for each credential, seals it for every target and
 * for the rotator's staging Secret, bumps the generation, and re-synthesizes dist/. All or
 * nothing: under the project lock, the new ledger and dist/ are built aside and swapped in only
 * when synthesis succeeded (crash-safe: journal.ts); on any error both stay byte-identical.
 */
export async function rotateCredentials(options: RotateOptions): Promise<RotatedCredential[]> {
  const command = options.revoke ? 'rekey revoke' : 'rekey rotate';
  return changeLedger(options, command, (ledger0, model) => {
    const now = options.now ?? new Date();
    const wanted = options.select ? options.select(ledger0, model, now) : options.credentials;
    if (options.select && wanted.length === 0) return { ledger: ledger0, result: [] };
    if (wanted.length === 0) {
      throw new ValidationError(`${command} credential is required: got nothing. Name a credential (${names(model)})${options.revoke ? '' : ' or use --due'}.`);
    }
    const certificates = new Map<string, SealingCertificate>();
    let ledger = ledger0;
    const rotated: RotatedCredential[] = [];
    const chosen = credentialsNamed(model, wanted, command);
    if (options.ownerSupplied && chosen.length !== 1) {
      throw new ValidationError(`${command} --access-key-id takes one credential: got ${chosen.map((c) => c.name).join(' ')}. Rotate each owner-supplied key on its own: <command that prints the secret> | rekey rotate <credential> --access-key-id <id>.`, { code: 'OWNER_KEY_INVALID' });
    }
    for (const c of chosen) {
      checkOwnerSupplied(c, options.ownerSupplied, ledger.get(c.name)?.accessKeyId ?? ledger.adopted(c.name)?.accessKeyId);
      const certificate = c.delivery.kind === 'sealed' ? certificateFor(c, options.dir, now, certificates) : undefined;
      const previous = ledger.get(c.name);
      const adopted = ledger.adopted(c.name)?.accessKeyId;
      if (options.revoke && !previous && !adopted) {
        throw new ValidationError(`rekey revoke credential ${c.name} has no key to revoke: got a credential never rotated or adopted. Use rekey rotate ${c.name}, or rekey adopt it first.`);
      }
      const entry = newEntry(c, previous, certificate, now, options.random, adopted, options.ownerSupplied);
      ledger = ledger.with(c.name, options.revoke ? { ...entry, revoke: true } : entry);
      rotated.push({ credential: c.name, generation: entry.generation, accessKeyId: entry.accessKeyId, previousAccessKeyId: entry.previousAccessKeyId });
    }
    return { ledger, result: rotated };
  });
}

/** Options of `changeLedger`. */
export interface LedgerChangeOptions {
  readonly dir: string;
  readonly outdir?: string;
  readonly warn?: (line: string) => void;
  readonly model?: RekeyModel;
  readonly hook?: StepHook;
}

/**
 * The one read-modify-write of the ledger (rotate, revoke, retry): under the project lock,
 * completes an interrupted run, asks the app for its model, applies `change`, renders the new
 * ledger's dist/ aside and swaps both in through the journal. On any error nothing is written.
 */
export async function changeLedger<T>(options: LedgerChangeOptions, command: string, change: (ledger: Ledger, model: RekeyModel) => { ledger: Ledger; result: T }): Promise<T> {
  const dir = resolve(options.dir);
  return withProjectLock(
    dir,
    async () => {
      const ledgerPath = join(dir, 'rekey.ledger.yaml');
      const hook = options.hook ?? envCrashHook;
      const warn = options.warn ?? ((l: string) => process.stderr.write(l + '\n'));
      for (const done of recoverProject(dir, hook)) warn(`rekey: ${done}`);
      const before = ledgerBytes(ledgerPath);
      const ledger0 = Ledger.load(ledgerPath, 'rekey.ledger.yaml');
      const model = options.model ?? (await synthesize({ dir, outdir: dir, modelOnly: true, ledger: ledger0 }));
      const { ledger, result } = change(ledger0, model);
      if (ledger === ledger0) return result; // nothing to change: nothing is written
      const work = newWorkDir(dir);
      try {
        const ledgerTmp = join(work, 'rekey.ledger.yaml');
        ledger.withDeclared(model.credentials.map((c) => c.name)).save(ledgerTmp, { mode: modeOf(ledgerPath) });
        hook('ledger-written');
        await synthesize({ dir, outdir: join(work, 'dist'), ledgerPath: ledgerTmp, ledger, warn: options.warn });
        // The lock makes this hold; check anyway that nobody changed the ledger meanwhile (a run
        // that does not take the lock, an editor): never swap over an update we did not read.
        if (!ledgerBytes(ledgerPath).equals(before)) {
          throw new ValidationError(`rekey.ledger.yaml changed while ${command} ran: got a different file than the one read at the start. Nothing was written; run ${command} again.`, { code: 'LEDGER_CHANGED' });
        }
        // Both are ready: the journal is the commit point, then dist/ and the ledger are swapped
        // in; a crash after it is completed by the next run (journal.ts).
        commitWork(dir, work, { outdir: options.outdir ?? 'dist', ledger: true, hook });
      } finally {
        discardUncommitted(work);
      }
      return result;
    },
    { command },
  );
}

/** The model's credentials with these names, in order, each once; an unknown name is exit 1. */
export function credentialsNamed(model: RekeyModel, wanted: readonly string[], command: string): CredentialModel[] {
  return [...new Set(wanted)].map((name) => {
    const c = model.credentials.find((x) => x.name === name);
    if (!c) throw new ValidationError(`${command} credential is not defined in this project: got ${JSON.stringify(name)}. Use one of: ${names(model)}.`);
    return c;
  });
}

function newEntry(
  cred: CredentialModel,
  previous: LedgerEntry | undefined,
  certificate: SealingCertificate | undefined,
  now: Date,
  random: RandomSource | undefined,
  /** The key `rekey adopt` recorded: the first rotation retires it. */
  adoptedAccessKeyId?: string,
  /** The owner's pair for an external provider (checked by checkOwnerSupplied). */
  ownerSupplied?: OwnerSuppliedKey,
): LedgerEntry {
  const provider = cred.provider;
  const deliveryKind = cred.delivery.kind;
  if (deliveryKind !== 'sealed' && deliveryKind !== 'plain') {
    throw new ValidationError(`rekey rotate credential ${cred.name} has delivery ${deliveryKind}: got ${deliveryKind}. Store-held deliveries are not rotated from git in this release.`);
  }
  const pair = provider.kind === 'external' ? ownerSupplied! : drawKeyPair(provider.kind, random);
  const generation = (previous?.generation ?? 0) + 1;
  const stagingName = `rekey-${cred.name}-g${generation}-staging`;
  const ns = cred.rotatorNamespace;
  const profile = cred.aliases.find((a) => a.credentialsFile)?.profile;
  const base = {
    generation,
    provider: provider.name,
    delivery: deliveryKind,
    accessKeyId: pair.accessKeyId,
    ...(previous ? { previousAccessKeyId: previous.accessKeyId } : adoptedAccessKeyId ? { previousAccessKeyId: adoptedAccessKeyId } : {}),
    rotatedAt: now.toISOString(),
    ...(profile !== undefined ? { credentialsFileProfile: profile } : {}),
  };
  if (cred.delivery.kind === 'plain') {
    return {
      ...base,
      staging: { namespace: ns, secretName: stagingName },
      targets: cred.targets.map((t) => ({ namespace: t.namespace, secretName: t.secretName })),
      plainSecretAccessKey: pair.secretAccessKey,
    };
  }
  const scope = cred.delivery.scope;
  const sealFor = (namespace: string, name: string, s: typeof scope, withFile: boolean): LedgerTarget => ({
    namespace,
    secretName: name,
    scope: s,
    sealed: {
      accessKeyId: seal(Buffer.from(pair.accessKeyId, 'utf8'), { certificate: certificate!, namespace, name, scope: s, random }),
      secretAccessKey: seal(pair.secretAccessKey, { certificate: certificate!, namespace, name, scope: s, random }),
      ...(withFile ? { credentialsFile: seal(credentialsIni(profile!, pair.accessKeyId, pair.secretAccessKey), { certificate: certificate!, namespace, name, scope: s, random }) } : {}),
    },
  });
  return {
    ...base,
    certificateFingerprint: certificate!.fingerprint,
    staging: sealFor(ns, stagingName, 'strict', false),
    targets: cred.targets.map((t) => sealFor(t.namespace, t.secretName, scope, profile !== undefined)),
  };
}

/** The sealing certificate a credential's chart names, read once per file, its pinned fingerprint checked. */
function certificateFor(c: CredentialModel, dirGiven: string, now: Date, cache: Map<string, SealingCertificate>): SealingCertificate {
  const sealing = c.sealing;
  if (!sealing?.certificate) {
    throw new ValidationError(
      `rekey rotate credential ${c.name} uses sealed delivery but its chart names no sealing certificate file: got ${JSON.stringify(sealing?.certificate ?? null)}. Set sealing.certificate in rekey.yaml (or RekeyChart sealing.certificate) to the \`kubeseal --fetch-cert\` file.`,
      { code: 'SEALING_CERT_MISSING' },
    );
  }
  const key = `${sealing.certificate}\n${sealing.fingerprint}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const cert = loadCertificate(resolve(dirGiven, sealing.certificate), sealing.certificate, sealing.fingerprint, now);
  cache.set(key, cert);
  return cert;
}

/** Reads a sealing certificate and checks its pinned fingerprint. */
export function loadCertificate(path: string, shown: string, fingerprint: string, now: Date): SealingCertificate {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(
      `rekey.yaml sealing.certificate cannot be read: got ${JSON.stringify(shown)} (${(e as NodeJS.ErrnoException).code}). Fetch it with \`kubeseal --fetch-cert > ${shown}\`.`,
      { code: 'SEALING_CERT_MISSING', cause: e },
    );
  }
  const cert = SealingCertificate.fromPem(pem, shown, { now });
  cert.verifyFingerprint(fingerprint);
  return cert;
}

/** The mode of the ledger file the new one replaces (a 0600 ledger stays 0600). */
function modeOf(path: string): number {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return 0o644;
  }
}

function ledgerBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

function names(model: RekeyModel): string {
  return model.credentials.map((c) => c.name).join(', ') || '(none defined)';
}
