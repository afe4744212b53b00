import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, ValidationError } from '../../core/errors.js';
import { SealingCertificate } from '../../project/seal.js';
import type { CommandArgs } from '../command.js';

/** `rekey fingerprint <certificate.pem>`: the fingerprint to pin as sealing.fingerprint. */
export async function run({ positionals, dir, io }: CommandArgs): Promise<number> {
  if (positionals.length !== 1) {
    throw new ValidationError(`rekey fingerprint takes one certificate file: got ${positionals.length}. Usage: rekey fingerprint <certificate.pem> (from kubeseal --fetch-cert).`);
  }
  const file = positionals[0]!;
  let pem: string;
  try {
    pem = readFileSync(resolve(dir, file), 'utf8');
  } catch (e) {
    throw new ValidationError(`rekey fingerprint ${file} cannot be read: got ${(e as NodeJS.ErrnoException).code}. Fetch it with \`kubeseal --fetch-cert > ${file}\`.`);
  }
  io.stdout(`${SealingCertificate.fromPem(pem, file).fingerprint}\n`);
  return ExitCode.OK;
}
