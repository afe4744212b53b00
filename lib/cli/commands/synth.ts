import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../core/errors.js';
import { replaceDir, synthesize, tempDirIn } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';

/** `rekey synth`: render dist/ aside, swap it in only when the app succeeded. */
export async function run({ dir, io }: CommandArgs): Promise<number> {
  const work = tempDirIn(dir);
  try {
    await synthesize({ dir, outdir: join(work, 'dist'), warn: (l) => io.stderr(l + '\n') });
    replaceDir(join(work, 'dist'), join(dir, 'dist'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  io.stderr('rekey: dist/ rendered\n');
  return ExitCode.OK;
}
