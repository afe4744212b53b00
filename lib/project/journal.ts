import { existsSync, fsyncSync, lstatSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, constants } from 'node:fs';
import { join } from 'node:path';
import { RekeyError, ExitCode } from '../core/errors.js';
import { fsyncDir, writeFileAtomic } from './files.js';
import { LOCK_DIR, lockHeld } from './lock.js';

/**
 * Crash-safe replacement of a project's dist/ and ledger.
 *
 * A run builds the new dist/ (and ledger) in a work folder `.rekey-tmp-<random>/` and fsyncs
 * it. Writing `journal.json` into that folder is the commit point. The swap then rolls forward:
 * dist/ renamed into the work folder (`dist.old`), the new dist/ renamed into place, the new
 * ledger renamed over the old one, the journal removed, the work folder removed; every rename
 * is followed by an fsync of the folder. A crash before the commit point leaves only a
 * leftover work folder (the project unchanged); after it, the next `rekey synth`, `rotate` or
 * `adopt` (under the project lock) completes the swap from wherever it stopped, and
 * `rekey check` reports the interrupted state until then.
 */

/** Prefix of rekey's work folders inside a project (git-ignored by the `.rekey-tmp-*` folder rule). */
export const WORK_PREFIX = '.rekey-tmp-';
const JOURNAL = 'journal.json';

/** The steps of a run, in order; a crash hook can stop the process at each. */
export const SWAP_STEPS = ['ledger-written', 'built', 'journal-written', 'dist-aside', 'dist-in', 'ledger-in', 'journal-removed'] as const;
export type SwapStep = (typeof SWAP_STEPS)[number];

/** Called after each step (tests inject crashes here). @default - REKEY_CRASH_AT=<step> kills the process there (SIGKILL) */
export type StepHook = (step: SwapStep) => void;

/** The default step hook: `REKEY_CRASH_AT=<step>` sends SIGKILL to this process at that step (for crash tests). */
export const envCrashHook: StepHook = (step) => {
  if (process.env.REKEY_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
};

interface Journal {
  readonly version: 1;
  /** dist/ folder, relative to the project. */
  readonly outdir: string;
  /** Whether the work folder holds a new ledger to swap in. */
  readonly ledger: boolean;
}

/** A fresh work folder inside the project (same filesystem: renames are atomic), mode 0700. */
export function newWorkDir(dir: string): string {
  return mkdtempSync(join(dir, WORK_PREFIX));
}

/**
 * Commits a prepared work folder (`work/dist`, and `work/rekey.ledger.yaml` when `ledger`):
 * fsyncs it, writes the journal (the commit point) and rolls the swap forward.
 */
export function commitWork(dir: string, work: string, options: { outdir: string; ledger: boolean; hook?: StepHook }): void {
  const hook = options.hook ?? envCrashHook;
  fsyncTree(join(work, 'dist'));
  fsyncDir(work);
  hook('built');
  const journal: Journal = { version: 1, outdir: options.outdir, ledger: options.ledger };
  writeFileAtomic(join(work, JOURNAL), JSON.stringify(journal) + '\n', { mode: 0o600 });
  hook('journal-written');
  rollForward(dir, work, journal, hook);
}

/** What recovery did, one phrase per action (for a warning line). */
export type RecoveryAction = string;

/**
 * Completes an interrupted run and removes leftovers. Call holding the project lock, before
 * reading the ledger. Returns what it did.
 */
export function recoverProject(dir: string, hook: StepHook = envCrashHook): RecoveryAction[] {
  const done: RecoveryAction[] = [];
  for (const name of leftovers(dir)) {
    const p = join(dir, name);
    const journal = name.startsWith(WORK_PREFIX) ? readJournal(p) : undefined;
    if (journal) {
      rollForward(dir, p, journal, hook);
      done.push(`completed the interrupted swap in ${name}/`);
    } else if (/^(.+)\.rekey-old-\d+$/.test(name) && !existsSync(join(dir, /^(.+)\.rekey-old-\d+$/.exec(name)![1]!))) {
      // an older rekey's swap stopped with dist/ moved aside: put it back
      renameSync(p, join(dir, /^(.+)\.rekey-old-\d+$/.exec(name)![1]!));
      fsyncDir(dir);
      done.push(`restored ${name}/`);
    } else {
      rmSync(p, { recursive: true, force: true });
      done.push(`removed ${name}`);
    }
  }
  if (done.length) fsyncDir(dir);
  return done;
}

/**
 * What `rekey check` reports about an interrupted or running rekey run, as a one-line error,
 * or undefined when there is none. Reads only.
 */
export function inspectProject(dir: string): RekeyError | undefined {
  const lock = lockHeld(dir);
  if (lock.held) {
    const o = lock.owner;
    return new RekeyError(
      'PROJECT_BUSY',
      `${LOCK_DIR}/ is held by a running rekey run: got ${o ? `pid ${o.pid} on ${o.host} since ${o.since} (${o.command})` : 'a run that has not written its owner file yet'}. Wait for it to finish and run rekey check again.`,
      { exitCode: ExitCode.BAD_INPUT },
    );
  }
  const names = leftovers(dir);
  const committed = names.find((n) => n.startsWith(WORK_PREFIX) && readJournal(join(dir, n)));
  if (committed) {
    const work = join(dir, committed);
    const j = readJournal(work)!;
    const state = !existsSync(join(dir, j.outdir))
      ? `${j.outdir}/ moved aside, the new one not yet in place`
      : existsSync(join(work, 'dist'))
        ? `the new ${j.outdir}/ not yet in place`
        : j.ledger && existsSync(join(work, 'rekey.ledger.yaml'))
          ? `the new ${j.outdir}/ in place with the old rekey.ledger.yaml`
          : 'swapped, not yet cleaned up';
    return new RekeyError('RUN_INTERRUPTED', `${committed}/ holds an interrupted rekey run: got ${state}. Run rekey synth to complete it, then rekey check again.`, { exitCode: ExitCode.BAD_INPUT });
  }
  if (names.length) {
    const list = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
    return new RekeyError('RUN_LEFTOVERS', `rekey found leftovers of an interrupted run: got ${list}. Run rekey synth to remove them, then rekey check again.`, { exitCode: ExitCode.BAD_INPUT });
  }
  return undefined;
}

/** Work folders, stale lock folders, old-style asides and temp files of interrupted runs (never the live lock). */
function leftovers(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n !== LOCK_DIR && (n.startsWith(WORK_PREFIX) || /\.rekey-old-\d+$/.test(n) || /^\.rekey\.ledger\.yaml\..+\.tmp$/.test(n)))
    .sort();
}

function readJournal(work: string): Journal | undefined {
  try {
    if (!lstatSync(work).isDirectory()) return undefined;
    const j = JSON.parse(readFileSync(join(work, JOURNAL), 'utf8')) as Journal;
    return j.version === 1 && typeof j.outdir === 'string' && !j.outdir.includes('..') ? j : undefined;
  } catch {
    return undefined;
  }
}

/** The swap after the commit point; idempotent: continues from wherever a crash stopped it. */
function rollForward(dir: string, work: string, j: Journal, hook: StepHook): void {
  const dest = join(dir, j.outdir);
  const next = join(work, 'dist');
  const aside = join(work, 'dist.old');
  if (existsSync(next)) {
    if (existsSync(dest)) {
      if (existsSync(aside)) rmSync(aside, { recursive: true, force: true });
      renameSync(dest, aside);
      fsyncDir(dir);
      hook('dist-aside');
    }
    renameSync(next, dest);
    fsyncDir(dir);
    hook('dist-in');
  }
  const ledger = join(work, 'rekey.ledger.yaml');
  if (j.ledger && existsSync(ledger)) {
    renameSync(ledger, join(dir, 'rekey.ledger.yaml'));
    fsyncDir(dir);
    hook('ledger-in');
  }
  unlinkSync(join(work, JOURNAL));
  fsyncDir(work);
  hook('journal-removed');
  rmSync(work, { recursive: true, force: true });
  fsyncDir(dir);
}

/** fsync every file and folder of a tree (the new dist/ is durable before the commit point). */
function fsyncTree(root: string): void {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    const st = lstatSync(p);
    if (st.isDirectory()) fsyncTree(p);
    else if (st.isFile()) {
      const fd = openSync(p, constants.O_RDONLY);
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  fsyncDir(root);
}

/** Removes a work folder unless its journal was written (then the next run completes it). */
export function discardUncommitted(work: string): void {
  if (!existsSync(join(work, JOURNAL))) rmSync(work, { recursive: true, force: true });
}
