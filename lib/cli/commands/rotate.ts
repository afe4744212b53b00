import { ExitCode, ValidationError } from '../../core/errors.js';
import type { RekeyModel } from '../../core/model.js';
import { ACCESS_KEY_ID, type Ledger } from '../../project/ledger.js';
import { rotateCredentials, type OwnerSuppliedKey } from '../../project/rotate.js';
import { synthesize } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';
import { readSecretLine } from '../secret-input.js';
import { dueCredentials, status, statusRows } from './status.js';

/** Credentials whose keys only their owner can hand over (`external` provider, sealed or plain delivery): `--due` cannot rotate them unattended. */
function ownerSupplied(model: RekeyModel): Set<string> {
  return new Set(model.credentials.filter((c) => c.provider.kind === 'external' && (c.delivery.kind === 'sealed' || c.delivery.kind === 'plain')).map((c) => c.name));
}

/** `rekey rotate <credential>... | --due [--check]`, and `<secret> | rekey rotate <credential> --access-key-id <id>`. */
export async function run({ values, positionals, dir, io }: CommandArgs): Promise<number> {
  const now = io.now?.() ?? new Date();
  if (values.check && !values.due) {
    throw new ValidationError(`rekey rotate --check only applies with --due: got --check alone. Use rekey rotate --due --check.`);
  }
  if (values.due && positionals.length) {
    throw new ValidationError(`rekey rotate --due takes no credential names: got ${positionals.join(' ')}. Use either names or --due.`);
  }
  if (values.due && values.check) {
    const model = await synthesize({ dir, outdir: dir, modelOnly: true });
    const names = dueCredentials(await status({ dir, now, model }));
    if (values.output === 'json') io.stdout(JSON.stringify({ due: names }) + '\n');
    else io.stdout(names.length ? `due: ${names.join(', ')}\n` : 'nothing is due\n');
    return names.length ? ExitCode.ROTATION_DUE : ExitCode.OK;
  }

  let owner: OwnerSuppliedKey | undefined;
  const id = values['access-key-id'];
  if (id !== undefined) {
    const usage = '<command that prints the secret> | rekey rotate <credential> --access-key-id <id>';
    if (values.due || positionals.length !== 1) {
      throw new ValidationError(`rekey rotate --access-key-id takes one credential: got ${values.due ? '--due' : positionals.length ? positionals.join(' ') : 'nothing'}. ${usage}`, { code: 'OWNER_KEY_INVALID' });
    }
    const credential = positionals[0]!;
    if (typeof id !== 'string' || !ACCESS_KEY_ID.test(id)) {
      throw new ValidationError(
        `rekey rotate --access-key-id has characters or a length no provider allows: got ${JSON.stringify(id)}. Give the new key's ID as the owner shows it (3 to 128 of A-Z a-z 0-9 . _ @ + = -); the secret goes on standard input.`,
        { code: 'OWNER_KEY_INVALID' },
      );
    }
    const secretAccessKey = await readSecretLine(io.stdin ?? process.stdin, {
      how: `<command that prints the secret> | rekey rotate ${credential} --access-key-id ${id}`,
      prompt: `Secret access key of ${id} for ${credential} (not echoed): `,
      stderr: io.stderr,
    });
    owner = { accessKeyId: id, secretAccessKey };
  }

  // --due decides under the project lock, from the ledger read there (see RotateOptions.select)
  const skipped: string[] = [];
  const select = values.due
    ? (ledger: Ledger, model: RekeyModel, at: Date) => {
        const manual = ownerSupplied(model);
        const due = dueCredentials(statusRows(model, ledger, at));
        skipped.push(...due.filter((n) => manual.has(n)));
        return due.filter((n) => !manual.has(n));
      }
    : undefined;
  const rotated = await rotateCredentials({ dir, credentials: positionals, select, now, ownerSupplied: owner, warn: (l) => io.stderr(l + '\n') });
  for (const name of skipped) {
    io.stderr(`rekey: ${name} is due, but its keys come from its provider's owner: <command that prints the secret> | rekey rotate ${name} --access-key-id <id>\n`);
  }
  if (values.output === 'json') io.stdout(JSON.stringify({ rotated }) + '\n');
  else if (rotated.length === 0) io.stdout('nothing is due\n');
  else {
    for (const r of rotated) {
      io.stdout(`rotated ${r.credential}: generation ${r.generation}, access key ${r.accessKeyId}${owner ? ' (supplied by its owner)' : ''}${r.previousAccessKeyId ? ` (replaces ${r.previousAccessKeyId})` : ''}\n`);
    }
    io.stdout('Review `git diff`, commit rekey.ledger.yaml and dist/, and open a pull request: after the merge the rotation Jobs register the new key, deliver it, and retire the old one only once no consumer holds it.\n');
  }
  return ExitCode.OK;
}
