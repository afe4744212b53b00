import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { readRegularFile, writeFileAtomic } from '../../lib/project/files.js';
import { cli, snapshotTree, projectsRemovedAfterEach } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();

describe('writeFileAtomic', () => {
  it('keeps the mode of the file it replaces, and uses a random temp name that never follows a symlink', () => {
    const dir = project();
    const path = join(dir, 'rekey.ledger.yaml');
    writeFileSync(path, 'old\n');
    chmodSync(path, 0o600);
    // a symlink planted at the old, predictable temp name points at a file the user can write
    writeFileSync(join(dir, 'victim'), 'untouched\n');
    symlinkSync(join(dir, 'victim'), join(dir, `.rekey.ledger.yaml.${process.pid}.tmp`));
    writeFileAtomic(path, 'new\n');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('untouched\n');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([`.rekey.ledger.yaml.${process.pid}.tmp`]);
  });
});

describe('rekey rotate and the ledger file', () => {
  it('a 0600 ledger (plain delivery holds plaintext) stays 0600 after a rotation', async () => {
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
    chmodSync(join(dir, 'rekey.ledger.yaml'), 0o600);
    expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
    expect(statSync(join(dir, 'rekey.ledger.yaml')).mode & 0o777).toBe(0o600);
  });

  it('cleans up leftovers of interrupted runs (work folders, old temp files) on the next run', async () => {
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
    mkdirSync(join(dir, '.rekey-tmp-abc123'));
    writeFileSync(join(dir, '.rekey-tmp-abc123/rekey.ledger.yaml'), 'half\n');
    writeFileSync(join(dir, '.rekey.ledger.yaml.4242.tmp'), 'half\n');
    mkdirSync(join(dir, 'dist.rekey-old-4242'));
    expect((await cli(dir, ['check'])).stderr).toBe('rekey: error: rekey found leftovers of an interrupted run: got .rekey-tmp-abc123, .rekey.ledger.yaml.4242.tmp, dist.rekey-old-4242. Run rekey synth to remove them, then rekey check again.\n');
    const r = await cli(dir, ['synth']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('rekey: removed .rekey-tmp-abc123\n');
    expect(readdirSync(dir).filter((n) => n.includes('rekey-') || n.startsWith('.rekey'))).toEqual([]);
    expect((await cli(dir, ['check'])).code).toBe(0);
  });

  it('an older rekey that stopped with dist/ moved aside: the next run puts it back', async () => {
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
    const dist = snapshotTree(join(dir, 'dist'));
    execFileSync('mv', [join(dir, 'dist'), join(dir, 'dist.rekey-old-4242')]);
    expect((await cli(dir, ['synth'])).stderr).toContain('rekey: restored dist.rekey-old-4242/\n');
    expect(snapshotTree(join(dir, 'dist'))).toEqual(dist);
  });

  it('the repository git-ignores every file rekey writes temporarily', () => {
    const repo = project();
    execFileSync('git', ['init', '-q'], { cwd: repo });
    writeFileSync(join(repo, '.gitignore'), readFileSync(join(process.cwd(), '.gitignore')));
    const ignored = (p: string) => {
      try {
        execFileSync('git', ['check-ignore', '-q', '--no-index', p], { cwd: repo });
        return true;
      } catch {
        return false;
      }
    };
    for (const p of ['.rekey-tmp-Ab1x9Z/', '.rekey-tmp-lock/', '.rekey.ledger.yaml.Xr4nd0m.tmp', 'dist.rekey-old-42/']) expect([p, ignored(p)]).toEqual([p, true]);
  });
});

describe('reading the ledger', () => {
  /** Every file but the ledger (which may be a FIFO: reading it would block). */
  const others = (dir: string) => new Map([...snapshotTree(join(dir, 'dist'))]);
  const refused = async (dir: string, message: string) => {
    const before = others(dir);
    const r = await cli(dir, ['check']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `rekey: error: ${message}\n` });
    expect(others(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['cert.pem', 'rekey.ledger.yaml', 'rekey.yaml', ...(readdirSync(dir).includes('private.txt') ? ['private.txt'] : [])].sort());
  };

  it('refuses a symbolic link without echoing what it points at', async () => {
    const dir = project();
    writeFileSync(join(dir, 'private.txt'), 'apiVersion: TOP-SECRET-CONTENT\n');
    symlinkSync(join(dir, 'private.txt'), join(dir, 'rekey.ledger.yaml'));
    await refused(dir, 'rekey.ledger.yaml must be a regular file: got a symbolic link. Restore it from git (git checkout -- rekey.ledger.yaml).');
  });

  it('refuses a device (/dev/zero) and a FIFO at once, without reading them', async () => {
    const dir = project();
    expect(() => readRegularFile('/dev/zero', 'rekey.ledger.yaml', 'Fix.')).toThrow('rekey.ledger.yaml must be a regular file: got a device. Fix.');
    execFileSync('mkfifo', [join(dir, 'rekey.ledger.yaml')]);
    await refused(dir, 'rekey.ledger.yaml must be a regular file: got a FIFO. Restore it from git (git checkout -- rekey.ledger.yaml).');
  });

  it('refuses a ledger larger than 16 MiB', async () => {
    const dir = project();
    writeFileSync(join(dir, 'rekey.ledger.yaml'), Buffer.alloc(16 * 1024 * 1024 + 1, 0x20));
    await refused(dir, 'rekey.ledger.yaml is larger than 16777216 bytes: got 16777217 bytes. Restore it from git (git checkout -- rekey.ledger.yaml).');
  });
});
