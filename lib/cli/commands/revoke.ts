import { ExitCode, ValidationError } from '../../core/errors.js';
import { Ledger } from '../../project/ledger.js';
import { credentialsNamed, rotateCredentials } from '../../project/rotate.js';
import { synthesize } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';
import { join } from 'node:path';

/**
 * `rekey revoke <credential> [--yes]`, the panic button: like rotate, but the new generation
 * renders the revoke Job (activate the new key, revoke the old one at once, no overlap) instead
 * of activate and retire. Without --yes it prints what it would do and exits 1, writing nothing.
 */
export async function run({ values, positionals, dir, io }: CommandArgs): Promise<number> {
  if (positionals.length !== 1) {
    throw new ValidationError(`rekey revoke takes one credential: got ${positionals.length}. Usage: rekey revoke <credential> [--yes].`);
  }
  const model = await synthesize({ dir, outdir: dir, modelOnly: true });
  const [c] = credentialsNamed(model, positionals, 'rekey revoke');
  if (values.yes !== true) {
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'), 'rekey.ledger.yaml');
    const current = ledger.get(c!.name);
    const old =
      current && current.accessKeyId === null
        ? `generation ${current.generation}'s key (drawn in the cluster: its ID is in the rotation record rekey-${c!.name}-status)`
        : (current?.accessKeyId ?? ledger.adopted(c!.name)?.accessKeyId ?? '(none recorded)');
    const consumers = c!.consumers.map((w) => `${w.kind}/${w.namespace}/${w.name}`);
    io.stdout(
      `rekey revoke ${c!.name} would draw a new key (generation ${(ledger.get(c!.name)?.generation ?? 0) + 1}), and after the merge activate it and revoke ${old} at once, with no overlap.\n` +
        `Consumer pods still running the old key fail until they restart: ${consumers.length ? consumers.join(', ') : 'none declared'}. The rotation record lists the pods that were still stale.\n` +
        `Nothing was written. Run rekey revoke ${c!.name} --yes to render it.\n`,
    );
    return ExitCode.BAD_INPUT;
  }
  const [r] = await rotateCredentials({ dir, credentials: [c!.name], revoke: true, model, now: io.now?.(), warn: (l) => io.stderr(l + '\n') });
  if (values.output === 'json') io.stdout(JSON.stringify({ revoked: r }) + '\n');
  else {
    io.stdout(`revoke rendered for ${r!.credential}: generation ${r!.generation}, access key ${r!.accessKeyId ?? 'drawn in the cluster by the revoke Job'}${r!.previousAccessKeyId ? ` revokes ${r!.previousAccessKeyId} at once` : r!.accessKeyId === null && r!.generation > 1 ? ` revokes generation ${r!.generation - 1}'s key at once` : ''}\n`);
    io.stdout('Review `git diff`, commit rekey.ledger.yaml and dist/, and merge: the revoke Job runs at the next sync.\n');
  }
  return ExitCode.OK;
}
