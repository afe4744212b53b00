import { ExitCode, ValidationError } from '../../core/errors.js';
import { retryRotation } from '../../project/retry.js';
import type { CommandArgs } from '../command.js';

/** `rekey retry <credential> [--step <step>]`: render the current generation's step(s) again under a new attempt number. */
export async function run({ values, positionals, dir, io }: CommandArgs): Promise<number> {
  if (positionals.length !== 1) {
    throw new ValidationError(`rekey retry takes one credential: got ${positionals.length}. Usage: rekey retry <credential> [--step <step>].`);
  }
  const retried = await retryRotation({ dir, credential: positionals[0]!, step: values.step as string | undefined, warn: (l) => io.stderr(l + '\n') });
  if (values.output === 'json') io.stdout(JSON.stringify({ retried }) + '\n');
  else {
    for (const r of retried) io.stdout(`retry rendered: ${r.credential} generation ${r.generation} ${r.step}, attempt ${r.attempt}\n`);
    io.stdout('Review `git diff`, commit dist/ and rekey.ledger.yaml, and merge: the renamed Job runs at the next sync, the failed one is pruned.\n');
  }
  return ExitCode.OK;
}
