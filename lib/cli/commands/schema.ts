import { ExitCode } from '../../core/errors.js';
import { specJsonSchema } from '../../project/spec.js';
import type { CommandArgs } from '../command.js';

/** `rekey schema`: the JSON Schema of rekey.yaml. */
export async function run({ io }: CommandArgs): Promise<number> {
  io.stdout(JSON.stringify(specJsonSchema(), null, 2) + '\n');
  return ExitCode.OK;
}
