import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SWAP_STEPS, type SwapStep } from '../../lib/project/journal.js';
import { Ledger } from '../../lib/project/ledger.js';
import { rotateCredentials } from '../../lib/project/rotate.js';
import { cli, snapshotTree, projectsRemovedAfterEach } from '../support/project.js';

/**
 * A kill at every step of a rotation's swap: each intermediate state is reported by
 * `rekey check` (one line, exit 1), and the next run repairs it — without losing a rotation
 * that reached its commit point (the journal), and without half-applying one that did not.
 */

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();

/** `rekey rotate uploads` in a separate process that SIGKILLs itself at `step` (REKEY_CRASH_AT). */
function rotateKilledAt(dir: string, step: SwapStep): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    // node itself (not the tsx wrapper, which would relay the kill as an exit code)
    const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'bin/rekey-dev.ts'), 'rotate', 'uploads', '--dir', dir], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_OPTIONS: '', REKEY_CRASH_AT: step },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}

const COMMITTED: readonly SwapStep[] = ['journal-written', 'dist-aside', 'dist-in', 'ledger-in', 'journal-removed'];
const CHECK_SAYS: Record<SwapStep, RegExp> = {
  'ledger-written': /^rekey: error: rekey found leftovers of an interrupted run: got \.rekey-tmp-[^,\s]+\. Run rekey synth to remove them, then rekey check again\.\n$/,
  built: /^rekey: error: rekey found leftovers of an interrupted run: got \.rekey-tmp-[^,\s]+\. Run rekey synth to remove them, then rekey check again\.\n$/,
  'journal-written': /^rekey: error: \.rekey-tmp-\S+\/ holds an interrupted rekey run: got the new dist\/ not yet in place\. Run rekey synth to complete it, then rekey check again\.\n$/,
  'dist-aside': /^rekey: error: \.rekey-tmp-\S+\/ holds an interrupted rekey run: got dist\/ moved aside, the new one not yet in place\. Run rekey synth to complete it, then rekey check again\.\n$/,
  'dist-in': /^rekey: error: \.rekey-tmp-\S+\/ holds an interrupted rekey run: got the new dist\/ in place with the old rekey\.ledger\.yaml\. Run rekey synth to complete it, then rekey check again\.\n$/,
  'ledger-in': /^rekey: error: \.rekey-tmp-\S+\/ holds an interrupted rekey run: got swapped, not yet cleaned up\. Run rekey synth to complete it, then rekey check again\.\n$/,
  'journal-removed': /^rekey: error: rekey found leftovers of an interrupted run: got \.rekey-tmp-[^,\s]+\. Run rekey synth to remove them, then rekey check again\.\n$/,
};

/** The project's files that matter (rekey's own work folders and lock left out). */
const state = (dir: string) => new Map([...snapshotTree(dir)].filter(([p]) => !p.startsWith('.rekey-tmp-')));

describe('a rotation killed (SIGKILL) at each step of its swap', () => {
  it.each(SWAP_STEPS.map((s, i) => [s, i] as const))('killed after %s: rekey check reports it, the next run repairs it', async (step, i) => {
    // GIVEN a project with both credentials rotated once
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
    const before = state(dir);
    // WHEN a rotation of uploads is killed at this step
    const killed = await rotateKilledAt(dir, step);
    expect({ signal: killed.signal, stdout: killed.stdout }).toEqual({ signal: 'SIGKILL', stdout: '' });
    // THEN rekey check reports the intermediate state in one line, exit 1
    const checked = await cli(dir, ['check']);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(CHECK_SAYS[step]);
    const committed = COMMITTED.includes(step);
    if (!committed) expect(state(dir)).toEqual(before); // before the commit point nothing changed
    // AND the next run (rekey synth, or another rotation) completes or cleans it up
    const next = i % 2 === 0 ? await cli(dir, ['synth']) : await cli(dir, ['rotate', 'reports'], NOW);
    expect(next.code).toBe(0);
    if (committed && step !== 'journal-removed') expect(next.stderr).toMatch(/^rekey: completed the interrupted swap in \.rekey-tmp-\S+\/$/m);
    expect(await cli(dir, ['check'])).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
    expect(readdirSync(dir).filter((n) => n.startsWith('.rekey'))).toEqual([]);
    // AND a rotation that reached the commit point is not lost; one that did not left no trace
    const uploads = Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!;
    expect(uploads.generation).toBe(committed ? 2 : 1);
    expect(readFileSync(join(dir, 'dist/ACCESS.md'), 'utf8')).toContain(uploads.accessKeyId);
  }, 120_000);
});

describe('an error thrown at each step (in-process hook)', () => {
  it.each(SWAP_STEPS.map((s) => [s] as const))('thrown after %s: the next run repairs it', async (step) => {
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
    const hook = (s: SwapStep) => {
      if (s === step) throw new Error(`injected failure after ${s}`);
    };
    await expect(rotateCredentials({ dir, credentials: ['uploads'], now: NOW, hook, warn: () => undefined })).rejects.toThrow(`injected failure after ${step}`);
    const committed = COMMITTED.includes(step);
    // an error before the commit point cleans up after itself: check passes at once
    if (!committed) expect(await cli(dir, ['check'])).toMatchObject({ code: 0 });
    else if (step !== 'journal-removed') expect((await cli(dir, ['check'])).stderr).toMatch(CHECK_SAYS[step]);
    expect((await cli(dir, ['synth'])).code).toBe(0);
    expect(await cli(dir, ['check'])).toMatchObject({ code: 0 });
    expect(Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!.generation).toBe(committed ? 2 : 1);
  }, 60_000);
});
