import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ledger } from '../../lib/project/ledger.js';
import { acquireProjectLock, LOCK_DIR, ProjectLockedError, withProjectLock } from '../../lib/project/lock.js';
import { cli, snapshotTree, projectsRemovedAfterEach } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();

/** `rekey rotate <credential> --output json` in a separate process (`tsx bin/rekey-dev.ts`, what `npx tsx` runs, without npx's start-up). */
function rotateInProcess(dir: string, credential: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), [join(process.cwd(), 'bin/rekey-dev.ts'), 'rotate', credential, '--dir', dir, '--output', 'json'], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('two rekey rotate runs at once on one project', () => {
  it('never lose an update: both land (the second waits for the lock), 10 of 10 trials, in separate processes', async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < 10; trial++) {
      // GIVEN a project with both credentials rotated once
      const dir = project();
      expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
      // WHEN two processes rotate different credentials at the same time
      const [a, b] = await Promise.all([rotateInProcess(dir, 'uploads'), rotateInProcess(dir, 'reports')]);
      // THEN each run either landed (exit 0) or failed cleanly with the one lock line (exit 1)
      const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
      const dist = [...snapshotTree(join(dir, 'dist')).values()].join('\n');
      for (const [credential, r] of [['uploads', a], ['reports', b]] as const) {
        if (r.code === 0) {
          const { rotated } = JSON.parse(r.stdout) as { rotated: Array<{ credential: string; generation: number; accessKeyId: string }> };
          // the key ID it printed is the one the ledger and dist/ hold
          expect(rotated).toEqual([expect.objectContaining({ credential, generation: 2, accessKeyId: ledger.get(credential)!.accessKeyId })]);
          expect(dist).toContain(ledger.get(credential)!.accessKeyId);
          outcomes.push('landed');
        } else {
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(/^rekey: error: \.rekey-tmp-lock\/ is held by another rekey run: got pid \d+ on \S+ since \S+ \(rekey rotate\), still held after \d+s\. Wait for it to finish and run again; if that process is gone, remove \.rekey-tmp-lock\/\.\n$/);
          expect(ledger.get(credential)!.generation).toBe(1);
          outcomes.push('refused');
        }
      }
      // AND the project is consistent: rekey check passes, no lock left behind
      expect(await cli(dir, ['check'])).toMatchObject({ code: 0 });
      expect(snapshotTree(dir).has(`${LOCK_DIR}/owner.json`)).toBe(false);
    }
    expect(outcomes.filter((o) => o === 'landed').length).toBeGreaterThan(0);
  }, 900_000);
});

describe('the project lock', () => {
  it('a second holder waits (bounded) and then fails with one line naming the holder', async () => {
    const dir = project();
    const release = await acquireProjectLock(dir, { command: 'rekey rotate' });
    try {
      const owner = JSON.parse(readFileSync(join(dir, LOCK_DIR, 'owner.json'), 'utf8'));
      expect(owner).toMatchObject({ pid: process.pid, host: hostname(), command: 'rekey rotate' });
      const err = await withProjectLock(dir, async () => 'ran', { waitMs: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProjectLockedError);
      expect((err as Error).message).toBe(
        `.rekey-tmp-lock/ is held by another rekey run: got pid ${process.pid} on ${hostname()} since ${owner.since} (rekey rotate), still held after 0s. Wait for it to finish and run again; if that process is gone, remove .rekey-tmp-lock/.`,
      );
      // and through the CLI: exit 1, one line, nothing written
      process.env.REKEY_LOCK_WAIT_MS = '0';
      const before = snapshotTree(dir);
      const r = await cli(dir, ['rotate', 'uploads'], NOW);
      delete process.env.REKEY_LOCK_WAIT_MS;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^rekey: error: \.rekey-tmp-lock\/ is held by another rekey run: got pid \d+ .*\n$/);
      expect(snapshotTree(dir)).toEqual(before);
    } finally {
      release();
    }
    // released: the next run takes it at once
    expect(await withProjectLock(dir, async () => 'ran', { waitMs: 0 })).toBe('ran');
  });

  it('a waiting run gets the lock as soon as the holder releases it', async () => {
    const dir = project();
    const release = await acquireProjectLock(dir);
    const order: string[] = [];
    const waiting = withProjectLock(dir, async () => order.push('second'), { waitMs: 60_000, pollMs: 5 });
    await new Promise((r) => setTimeout(r, 20));
    order.push('first done');
    release();
    await waiting;
    expect(order).toEqual(['first done', 'second']);
  });

  it('breaks a stale lock: its holder (this host) is no longer running', async () => {
    const dir = project();
    mkdirSync(join(dir, LOCK_DIR));
    // a pid that cannot be running: above the kernel's pid_max
    writeFileSync(join(dir, LOCK_DIR, 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'rekey rotate', token: 'x' }));
    expect(await withProjectLock(dir, async () => 'ran', { waitMs: 0 })).toBe('ran');
    expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
  });

  it("never breaks another host's lock: it names the holder instead", async () => {
    const dir = project();
    mkdirSync(join(dir, LOCK_DIR));
    writeFileSync(join(dir, LOCK_DIR, 'owner.json'), JSON.stringify({ pid: 1, host: 'build-agent-7', since: '2026-01-01T00:00:00.000Z', command: 'rekey rotate', token: 'x' }));
    await expect(withProjectLock(dir, async () => 'ran', { waitMs: 0 })).rejects.toThrow(
      '.rekey-tmp-lock/ is held by another rekey run: got pid 1 on build-agent-7 since 2026-01-01T00:00:00.000Z (rekey rotate), still held after 0s.',
    );
  });
});

describe('two rekey rotate --due runs at once', () => {
  it('rotate each due credential exactly once: the second decides under the lock, after the first wrote its rotation', async () => {
    // GIVEN a project where uploads is due (never rotated, TimeBased) and reports is Manual
    const dir = project();
    // WHEN two scheduled jobs run rotate --due at the same moment
    const [a, b] = await Promise.all([cli(dir, ['rotate', '--due', '--output', 'json'], NOW), cli(dir, ['rotate', '--due', '--output', 'json'], NOW)]);
    // THEN both succeed, one rotated uploads and the other found nothing due
    expect([a.code, b.code]).toEqual([0, 0]);
    const rotated = [a, b].map((r) => (JSON.parse(r.stdout) as { rotated: Array<{ credential: string; generation: number }> }).rotated.map((x) => `${x.credential} g${x.generation}`));
    expect(rotated.sort()).toEqual([[], ['uploads g1']]);
    // AND the ledger holds uploads at generation 1
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect(ledger.names().map((n) => `${n} g${ledger.get(n)!.generation}`)).toEqual(['uploads g1']);
  }, 60_000);
});
