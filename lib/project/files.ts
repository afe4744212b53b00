import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ValidationError } from '../core/errors.js';

/** The largest ledger or spec file rekey reads (a guard against /dev/zero and runaway files). */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/**
 * Reads a project file that must be a regular file of at most `MAX_INPUT_BYTES`. Never follows
 * a symbolic link (O_NOFOLLOW), never blocks on a FIFO (O_NONBLOCK), never reads a device, and
 * never echoes what such a file holds. Returns undefined when the file does not exist.
 */
export function readRegularFile(path: string, shown: string, fix: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new ValidationError(`${shown} must be a regular file: got a symbolic link. ${fix}`, { code: 'FILE_NOT_REGULAR' });
    throw new ValidationError(`${shown} cannot be read: got ${code}. Check the file's permissions.`, { code: 'FILE_UNREADABLE', cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new ValidationError(`${shown} must be a regular file: got ${kind}. ${fix}`, { code: 'FILE_NOT_REGULAR' });
    }
    if (st.size > MAX_INPUT_BYTES) {
      throw new ValidationError(`${shown} is larger than ${MAX_INPUT_BYTES} bytes: got ${st.size} bytes. ${fix}`, { code: 'FILE_TOO_LARGE' });
    }
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > st.size) throw new ValidationError(`${shown} grew while it was read: got more than ${st.size} bytes. ${fix}`, { code: 'FILE_TOO_LARGE' });
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** fsync a folder, so a rename or an unlink inside it survives a power loss. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on a folder; the rename is still atomic
  } finally {
    closeSync(fd);
  }
}

/** A random, unpredictable name part. */
export function randomSuffix(): string {
  return randomBytes(9).toString('base64url');
}

/** Options of `writeFileAtomic`. */
export interface WriteFileAtomicOptions {
  /** File mode of the new file. @default - the mode of the file it replaces, else 0o644 */
  readonly mode?: number;
}

/**
 * Writes a file atomically: an exclusively created temp file with a random name in the same
 * folder (O_CREAT|O_EXCL|O_NOFOLLOW: never through a symbolic link, never someone else's
 * file), the mode of the file it replaces, fsync, rename over the target, fsync the folder.
 */
export function writeFileAtomic(path: string, content: string | Buffer, options: WriteFileAtomicOptions = {}): void {
  let mode = options.mode;
  if (mode === undefined) {
    try {
      mode = statSync(path).mode & 0o7777;
    } catch {
      mode = 0o644;
    }
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomSuffix()}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      fchmodSync(fd, mode);
      const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
}
