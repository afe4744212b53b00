import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AliasSet } from '../core/alias-set.js';
import { credentialsIni } from '../constructs/credential.js';
import { ValidationError } from '../core/errors.js';
import { writeFileAtomic, type LedgerEntry, type LedgerTarget } from './ledger.js';
import { drawKeyPair, type RandomSource } from './keygen.js';
import { seal, SealingCertificate } from './seal.js';
import { loadProjectIn, type RekeyProject } from './spec-app.js';
import type { CredentialSpec, ProviderSpec, RekeySpec } from './spec.js';
import { replaceDir, synthesize, tempDirIn } from './synth.js';
import { SecretValue } from '../core/secret-value.js';

/** Options of `rotateCredentials`. */
export interface RotateOptions {
  /** Project folder (rekey.yaml, rekey.ledger.yaml, dist/). */
  readonly dir: string;
  /** Credentials to rotate. */
  readonly credentials: readonly string[];
  /** The rotation time written to the ledger. @default - now */
  readonly now?: Date;
  /** Byte source for key material and sealing. @default - node:crypto randomBytes */
  readonly random?: RandomSource;
  /** Output folder, relative to dir. @default 'dist' */
  readonly outdir?: string;
  /** Where synthesis warnings go. @default - stderr */
  readonly warn?: (line: string) => void;
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
 * nothing: the new ledger and dist/ are built aside and swapped in only when synthesis
 * succeeded; on any error both stay byte-identical.
 */
export async function rotateCredentials(options: RotateOptions): Promise<RotatedCredential[]> {
  const dir = resolve(options.dir);
  const project = loadProjectIn(dir);
  if (options.credentials.length === 0) {
    throw new ValidationError(`rekey rotate credential is required: got nothing. Name a credential (${names(project.spec)}) or use --due.`);
  }
  const now = options.now ?? new Date();
  const certificate = needsSealing(project.spec, options.credentials) ? loadCertificate(project, now) : undefined;

  let ledger = project.ledger;
  const rotated: RotatedCredential[] = [];
  const seen = new Set<string>();
  for (const name of options.credentials) {
    if (seen.has(name)) continue;
    seen.add(name);
    const spec = project.spec.credentials.find((c) => c.name === name);
    if (!spec) {
      throw new ValidationError(`rekey rotate credential is not in rekey.yaml: got ${JSON.stringify(name)}. Use one of: ${names(project.spec)}.`);
    }
    const provider = project.spec.providers.find((p) => p.name === spec.provider)!;
    const entry = newEntry(project.spec, spec, provider, ledger.get(name), certificate, now, options.random);
    ledger = ledger.with(name, entry);
    rotated.push({ credential: name, generation: entry.generation, accessKeyId: entry.accessKeyId, previousAccessKeyId: entry.previousAccessKeyId });
  }

  const work = tempDirIn(dir);
  try {
    const ledgerTmp = join(work, 'rekey.ledger.yaml');
    ledger.save(ledgerTmp);
    const out = join(work, 'dist');
    await synthesize({ dir, outdir: out, ledgerPath: ledgerTmp, warn: options.warn });
    // Both are ready: swap dist/ first, then the ledger (a crash between the two leaves a
    // stale dist/ that `rekey check` reports; never a ledger whose dist/ was not built).
    replaceDir(out, join(dir, options.outdir ?? 'dist'));
    writeFileAtomic(join(dir, 'rekey.ledger.yaml'), readFileSync(ledgerTmp, 'utf8'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rotated;
}

function newEntry(
  spec: RekeySpec,
  cred: CredentialSpec,
  provider: ProviderSpec,
  previous: LedgerEntry | undefined,
  certificate: SealingCertificate | undefined,
  now: Date,
  random: RandomSource | undefined,
): LedgerEntry {
  if (provider.kind === 'external') {
    throw new ValidationError(`rekey rotate credential ${cred.name} uses provider ${provider.name} of kind external: got external. Keys of an external provider are rotated by its owner; rekey only delivers them.`);
  }
  const pair = drawKeyPair(provider.kind, random);
  const generation = (previous?.generation ?? 0) + 1;
  const stagingName = `rekey-${cred.name}-g${generation}-staging`;
  const ns = spec.rotator.namespace;
  const aliasSets = cred.aliases.map((a) => (typeof a === 'string' ? AliasSet.preset(a) : AliasSet.custom(a.accessKey, a.secretKey)));
  const profile = aliasSets.find((a) => a.credentialsFile)?.profile;
  const base = {
    generation,
    provider: provider.name,
    delivery: cred.delivery.kind,
    accessKeyId: pair.accessKeyId,
    ...(previous ? { previousAccessKeyId: previous.accessKeyId } : {}),
    rotatedAt: now.toISOString(),
    ...(profile !== undefined ? { credentialsFileProfile: profile } : {}),
  };
  if (cred.delivery.kind === 'plain') {
    return {
      ...base,
      staging: { namespace: ns, secretName: stagingName },
      targets: cred.targets.map((t) => ({ namespace: t.namespace, secretName: t.secretName })),
      plainSecretAccessKey: pair.secretAccessKey.reveal(),
    };
  }
  const scope = cred.delivery.scope;
  const sealFor = (namespace: string, name: string, s: typeof scope, withFile: boolean): LedgerTarget => ({
    namespace,
    secretName: name,
    scope: s,
    sealed: {
      accessKeyId: seal(pair.accessKeyId, { certificate: certificate!, namespace, name, scope: s, random }),
      secretAccessKey: seal(pair.secretAccessKey, { certificate: certificate!, namespace, name, scope: s, random }),
      ...(withFile
        ? { credentialsFile: seal(SecretValue.fromString(credentialsIni(profile!, pair.accessKeyId, pair.secretAccessKey.reveal())), { certificate: certificate!, namespace, name, scope: s, random }) }
        : {}),
    },
  });
  return {
    ...base,
    certificateFingerprint: certificate!.fingerprint,
    staging: sealFor(ns, stagingName, 'strict', false),
    targets: cred.targets.map((t) => sealFor(t.namespace, t.secretName, scope, profile !== undefined)),
  };
}

function needsSealing(spec: RekeySpec, credentials: readonly string[]): boolean {
  return spec.credentials.some((c) => credentials.includes(c.name) && c.delivery.kind === 'sealed');
}

/** Reads the sealing certificate named in the spec and checks its pinned fingerprint. */
export function loadCertificate(project: RekeyProject, now: Date): SealingCertificate {
  const sealing = project.spec.sealing!;
  const path = resolve(project.dir, sealing.certificate);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(
      `rekey.yaml sealing.certificate cannot be read: got ${JSON.stringify(sealing.certificate)} (${(e as NodeJS.ErrnoException).code}). Fetch it with \`kubeseal --fetch-cert > ${sealing.certificate}\`.`,
      { code: 'SEALING_CERT_MISSING', cause: e },
    );
  }
  const cert = SealingCertificate.fromPem(pem, sealing.certificate, { now });
  cert.verifyFingerprint(sealing.fingerprint);
  return cert;
}

function names(spec: RekeySpec): string {
  return spec.credentials.map((c) => c.name).join(', ') || '(none defined)';
}
