import { join, resolve } from 'node:path';
import { ExitCode, ValidationError } from '../../core/errors.js';
import { recoverProject } from '../../project/journal.js';
import { ACCESS_KEY_ID, Ledger } from '../../project/ledger.js';
import { withProjectLock } from '../../project/lock.js';
import { synthesize } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';

/** Options of `adopt`. */
export interface AdoptOptions {
  /** Project folder. */
  readonly dir: string;
  /** The credential (as the app's model names it). */
  readonly credential: string;
  /** The access-key ID that exists at the provider today (not secret). */
  readonly accessKeyId: string;
  /** @default - now */
  readonly now?: Date;
}

/** What `adopt` recorded. */
export interface AdoptResult {
  readonly credential: string;
  readonly accessKeyId: string;
  /** The key adopted before, when this replaces it. */
  readonly replaced?: string;
}

/**
 * `rekey adopt`: records, for a credential never rotated, the key that already exists at the
 * provider, so that the first rotation writes it as `previousAccessKeyId` of generation 1 and
 * retires it. Writes only the ledger (atomically, under the project lock); dist/ is unchanged.
 */
export async function adopt(options: AdoptOptions): Promise<AdoptResult> {
  const dir = resolve(options.dir);
  const usage = 'Usage: rekey adopt <credential> --access-key-id <id>';
  if (!ACCESS_KEY_ID.test(options.accessKeyId)) {
    throw new ValidationError(
      `rekey adopt --access-key-id has characters or a length no provider allows: got ${JSON.stringify(options.accessKeyId)}. Give the key's ID as the provider shows it (3 to 128 of A-Z a-z 0-9 . _ @ + = -), never the secret key.`,
      { code: 'ADOPT_INVALID' },
    );
  }
  return withProjectLock(
    dir,
    async () => {
      recoverProject(dir);
      const model = await synthesize({ dir, outdir: dir, modelOnly: true });
      const c = model.credentials.find((x) => x.name === options.credential);
      if (!c) {
        throw new ValidationError(
          `rekey adopt credential is not defined in this project: got ${JSON.stringify(options.credential)}. Use one of: ${model.credentials.map((x) => x.name).join(', ') || '(none defined)'}. ${usage}`,
          { code: 'ADOPT_INVALID' },
        );
      }
      if (c.provider.kind === 'aws-iam' && !/^[A-Z0-9]{16,128}$/.test(options.accessKeyId)) {
        throw new ValidationError(
          `rekey adopt --access-key-id is not an IAM access-key ID: got ${JSON.stringify(options.accessKeyId)}. Give the ID IAM shows (AKIA..., 16 or more upper-case letters and digits).`,
          { code: 'ADOPT_INVALID' },
        );
      }
      const ledgerPath = join(dir, 'rekey.ledger.yaml');
      const ledger = Ledger.load(ledgerPath, 'rekey.ledger.yaml');
      const rotated = ledger.get(c.name);
      if (rotated) {
        throw new ValidationError(
          `rekey adopt ${c.name} was already rotated by rekey: got generation ${rotated.generation} with current key ${rotated.accessKeyId}. Nothing to adopt: the ledger's current key is the one the next rotation retires (rekey rotate ${c.name}).`,
          { code: 'ADOPT_ROTATED' },
        );
      }
      const replaced = ledger.adopted(c.name)?.accessKeyId;
      const next = ledger.withAdopted(c.name, { accessKeyId: options.accessKeyId, provider: c.provider.name, adoptedAt: (options.now ?? new Date()).toISOString() });
      next.withDeclared(model.credentials.map((x) => x.name)).save(ledgerPath);
      return { credential: c.name, accessKeyId: options.accessKeyId, ...(replaced && replaced !== options.accessKeyId ? { replaced } : {}) };
    },
    { command: 'rekey adopt' },
  );
}

/** `rekey adopt <credential> --access-key-id <id>`. */
export async function run({ values, positionals, dir, io }: CommandArgs): Promise<number> {
  const usage = 'Usage: rekey adopt <credential> --access-key-id <id>';
  if (positionals.length !== 1) {
    throw new ValidationError(`rekey adopt takes one credential: got ${positionals.length ? positionals.join(' ') : 'nothing'}. ${usage}`, { code: 'ADOPT_INVALID' });
  }
  const id = values['access-key-id'];
  if (typeof id !== 'string' || id === '') {
    throw new ValidationError(`rekey adopt --access-key-id is required: got nothing. ${usage}`, { code: 'ADOPT_INVALID' });
  }
  const r = await adopt({ dir, credential: positionals[0]!, accessKeyId: id, now: io.now?.() });
  io.stdout(
    `adopted ${r.accessKeyId} for ${r.credential}${r.replaced ? ` (replaces the adopted ${r.replaced})` : ''}: the first rotation (rekey rotate ${r.credential}) retires it. Commit rekey.ledger.yaml.\n`,
  );
  return ExitCode.OK;
}
