import { ExitCode, ValidationError } from '../../core/errors.js';
import type { RekeyModel } from '../../core/model.js';
import { rotateCredentials } from '../../project/rotate.js';
import { synthesize } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';
import { dueCredentials, status } from './status.js';

/** `rekey rotate <credential>... | --due [--check]`. */
export async function run({ values, positionals, dir, io }: CommandArgs): Promise<number> {
  const now = io.now?.() ?? new Date();
  let names = [...positionals];
  let model: RekeyModel | undefined;
  if (values.check && !values.due) {
    throw new ValidationError(`rekey rotate --check only applies with --due: got --check alone. Use rekey rotate --due --check.`);
  }
  if (values.due) {
    if (positionals.length) {
      throw new ValidationError(`rekey rotate --due takes no credential names: got ${positionals.join(' ')}. Use either names or --due.`);
    }
    model = await synthesize({ dir, outdir: dir, modelOnly: true });
    names = dueCredentials(await status({ dir, now, model }));
    if (values.check) {
      if (values.output === 'json') io.stdout(JSON.stringify({ due: names }) + '\n');
      else io.stdout(names.length ? `due: ${names.join(', ')}\n` : 'nothing is due\n');
      return names.length ? ExitCode.ROTATION_DUE : ExitCode.OK;
    }
    if (names.length === 0) {
      io.stdout(values.output === 'json' ? '{"rotated":[]}\n' : 'nothing is due\n');
      return ExitCode.OK;
    }
  }
  const rotated = await rotateCredentials({ dir, credentials: names, now, model, warn: (l) => io.stderr(l + '\n') });
  if (values.output === 'json') io.stdout(JSON.stringify({ rotated }) + '\n');
  else {
    for (const r of rotated) {
      io.stdout(`rotated ${r.credential}: generation ${r.generation}, access key ${r.accessKeyId ?? 'drawn in the cluster by the activate Job'}${r.previousAccessKeyId ? ` (replaces ${r.previousAccessKeyId})` : r.accessKeyId === null && r.generation > 1 ? ` (replaces generation ${r.generation - 1}'s key)` : ''}\n`);
    }
    io.stdout('Review `git diff`, commit rekey.ledger.yaml and dist/, and open a pull request: after the merge the rotation Jobs register the new key, deliver it, and retire the old one only once no consumer holds it.\n');
  }
  return ExitCode.OK;
}
