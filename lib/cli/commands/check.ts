import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExitCode, ValidationError } from '../../core/errors.js';
import { inspectProject } from '../../project/journal.js';
import { diffTrees, synthesize } from '../../project/synth.js';
import type { CommandArgs } from '../command.js';

/** Options of `check`. */
export interface CheckOptions {
  readonly dir: string;
  /** @default 'dist' */
  readonly outdir?: string;
  /** @default - stderr */
  readonly warn?: (line: string) => void;
}

/**
 * `rekey check`, for the user's CI: no rekey run is in progress or was interrupted (journal,
 * leftovers), the spec and ledger are valid (every entry's integrity holds, no merge conflict)
 * and dist/ is exactly what they render. Throws (exit 1) with the reason otherwise. Writes
 * nothing inside the project (renders into the system's temp folder).
 */
export async function check(options: CheckOptions): Promise<void> {
  const dir = resolve(options.dir);
  const interrupted = inspectProject(dir);
  if (interrupted) throw interrupted;
  const work = mkdtempSync(join(tmpdir(), 'rekey-check-'));
  try {
    const out = join(work, 'dist');
    await synthesize({ dir, outdir: out, warn: options.warn ?? (() => undefined) });
    const outdir = options.outdir ?? 'dist';
    const stale = diffTrees(out, join(dir, outdir));
    if (stale.length > 0) {
      const list = stale.slice(0, 5).join(', ') + (stale.length > 5 ? `, and ${stale.length - 5} more` : '');
      throw new ValidationError(`${outdir}/ is stale against rekey.yaml and rekey.ledger.yaml: got ${stale.length} differing file${stale.length > 1 ? 's' : ''} (${list}). Run \`rekey synth\` and commit ${outdir}/.`, { code: 'DIST_STALE' });
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
