import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { ExitCode, ValidationError } from '../../core/errors.js';
import type { CommandArgs } from '../command.js';
import { diffTrees, synthesize, tempDirIn } from '../../project/synth.js';

/** Options of `check`. */
export interface CheckOptions {
  readonly dir: string;
  /** @default 'dist' */
  readonly outdir?: string;
  /** @default - stderr */
  readonly warn?: (line: string) => void;
}

/**
 * `rekey check`, for the user's CI: the spec and ledger are valid (the ledger's integrity
 * holds) and dist/ is exactly what they render. Throws (exit 1) with the reason otherwise.
 */
export async function check(options: CheckOptions): Promise<void> {
  const dir = resolve(options.dir);
  const work = tempDirIn(dir);
  try {
    const out = join(work, 'dist');
    await synthesize({ dir, outdir: out, warn: options.warn ?? (() => undefined) });
    const outdir = options.outdir ?? 'dist';
    const stale = diffTrees(out, join(dir, outdir));
    if (stale.length > 0) {
      const list = stale.slice(0, 5).join(', ') + (stale.length > 5 ? `, and ${stale.length - 5} more` : '');
      throw new ValidationError(`${outdir}/ is stale against rekey.yaml and rekey.ledger.yaml: got ${stale.length} differing file${stale.length > 1 ? 's' : ''} (${list}). Run \`npm run synth\` and commit ${outdir}/.`, { code: 'DIST_STALE' });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `rekey check`. */
export async function run({ dir, io }: CommandArgs): Promise<number> {
  await check({ dir });
  io.stdout('dist/ is up to date; rekey.ledger.yaml integrity holds\n');
  return ExitCode.OK;
}
