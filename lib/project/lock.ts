import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode, RekeyError } from '../core/errors.js';
import { randomSuffix, writeFileAtomic } from './files.js';

/**
 * The project lock: one rekey run at a time changes a project's ledger and dist/.
 *
 * The lock is the folder `.rekey-tmp-lock/` (mkdir is atomic and exclusive; the name is
 * covered by the `.rekey-tmp-*` git-ignore rule) holding `owner.json` (pid, host, since,
 * command). It is held for the whole read-modify-write. A second run waits, bounded, then fails
 * with one line naming the holder. A lock whose holder is gone (same host, pid no longer
 * running; or no owner file after a grace period) is stale and broken.
 */

/** The lock folder's name inside the project. */
export const LOCK_DIR = '.rekey-tmp-lock';

/** Who holds the lock. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  /** The command that holds it, e.g. `rekey rotate`. */
  readonly command: string;
  /** Random token: tells this holder from a later one with a reused pid. */
  readonly token: string;
}

/** Options of `withProjectLock`. */
export interface LockOptions {
  /** The command taking the lock, shown to a waiting run. @default 'rekey' */
  readonly command?: string;
  /** How long a second run waits for the lock before failing. @default - REKEY_LOCK_WAIT_MS, else 120000 */
  readonly waitMs?: number;
  /** Pause between attempts. @default 50 */
  readonly pollMs?: number;
  /** How long a lock folder without an owner file counts as being taken (not stale). @default 10000 */
  readonly ownerGraceMs?: number;
}

/** The lock is held by another run and did not come free in time. */
export class ProjectLockedError extends RekeyError {
  public readonly owner: LockOwner | undefined;
  public constructor(owner: LockOwner | undefined, waitedMs: number) {
    const who = owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since} (${owner.command})` : 'a run that has not written its owner file yet';
    super(
      'PROJECT_LOCKED',
      `${LOCK_DIR}/ is held by another rekey run: got ${who}, still held after ${Math.round(waitedMs / 1000)}s. Wait for it to finish and run again; if that process is gone, remove ${LOCK_DIR}/.`,
      { exitCode: ExitCode.BAD_INPUT },
    );
    this.owner = owner;
  }
}

/** Runs `fn` holding the project's exclusive lock; always releases it. */
export async function withProjectLock<T>(dir: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquireProjectLock(dir, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Takes the project's lock (waiting, bounded); returns the function that releases it. */
export async function acquireProjectLock(dir: string, options: LockOptions = {}): Promise<() => void> {
  const lockDir = join(dir, LOCK_DIR);
  const envWait = Number(process.env.REKEY_LOCK_WAIT_MS);
  const waitMs = options.waitMs ?? (Number.isFinite(envWait) && envWait >= 0 ? envWait : 120_000);
  const pollMs = options.pollMs ?? 50;
  const grace = options.ownerGraceMs ?? 10_000;
  const started = Date.now();
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command: options.command ?? 'rekey',
    token: randomBytes(12).toString('hex'),
  };
  for (;;) {
    try {
      mkdirSync(lockDir, { mode: 0o700 });
      writeFileAtomic(join(lockDir, 'owner.json'), JSON.stringify(owner) + '\n', { mode: 0o644 });
      return () => releaseLock(lockDir, owner.token);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readLockOwner(dir);
    if (isStale(lockDir, holder, grace)) {
      breakStale(lockDir, holder);
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= waitMs) throw new ProjectLockedError(holder, waited);
    await new Promise((r) => setTimeout(r, Math.min(pollMs + randomInt(pollMs + 1), Math.max(1, waitMs - waited))));
  }
}

/** The current holder of a project's lock, if any (and readable). */
export function readLockOwner(dir: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(join(dir, LOCK_DIR, 'owner.json'), 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a lock folder exists and its holder is a running process (not stale). */
export function lockHeld(dir: string): { held: boolean; owner?: LockOwner; stale: boolean } {
  const lockDir = join(dir, LOCK_DIR);
  try {
    statSync(lockDir);
  } catch {
    return { held: false, stale: false };
  }
  const owner = readLockOwner(dir);
  const stale = isStale(lockDir, owner, 10_000);
  return { held: !stale, owner, stale };
}

function isStale(lockDir: string, owner: LockOwner | undefined, graceMs: number): boolean {
  if (!owner) {
    try {
      return Date.now() - statSync(lockDir).mtimeMs > graceMs;
    } catch {
      return false; // released meanwhile: try again
    }
  }
  if (owner.host !== hostname()) return false; // another machine's run: only its owner can tell
  return !processAlive(owner.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Breaks a stale lock: renames the folder aside (atomic: one breaker wins), and only removes
 * it when it still holds the stale owner (else a live lock taken meanwhile is put back).
 */
function breakStale(lockDir: string, seen: LockOwner | undefined): void {
  const aside = `${lockDir}-stale-${randomSuffix()}`;
  try {
    renameSync(lockDir, aside);
  } catch {
    return; // someone else broke or released it
  }
  let now: LockOwner | undefined;
  try {
    now = JSON.parse(readFileSync(join(aside, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    now = undefined;
  }
  if (now && (!seen || now.token !== seen.token)) {
    try {
      renameSync(aside, lockDir); // a live holder's lock: put it back
      return;
    } catch {
      // a third run took the lock meanwhile; the displaced holder's release is a no-op
    }
  }
  rmSync(aside, { recursive: true, force: true });
}

function releaseLock(lockDir: string, token: string): void {
  try {
    const o = JSON.parse(readFileSync(join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
    if (o.token !== token) return; // not ours any more
  } catch {
    return;
  }
  rmSync(lockDir, { recursive: true, force: true });
}
