import { ExitCode } from '../../core/errors.js';
import { renderProject } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';

/** `rekey synth`: under the project lock, complete an interrupted run, render dist/ aside, swap it in only when the app succeeded. */
export async function run({ dir, io }: CommandArgs): Promise<number> {
  await renderProject({ dir, warn: (l) => io.stderr(l + '\n') });
  io.stderr('rekey: dist/ rendered\n');
  return ExitCode.OK;
}
