import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MODEL_CACHE_DIR, projectFingerprint } from '../../lib/project/model-cache.js';
import { cli, tempProject } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const names = async (dir: string) => (JSON.parse((await cli(dir, ['status', '--output', 'json'])).stdout) as Array<{ credential: string }>).map((r) => r.credential);

describe('the model cache of rekey status', () => {
  it('GIVEN status ran once WHEN the project files are unchanged THEN the cached model answers; WHEN a file changes THEN the app is asked again', async () => {
    // GIVEN
    const dir = tempProject();
    dirs.push(dir);
    expect(await names(dir)).toEqual(['reports', 'uploads']);
    const file = join(dir, MODEL_CACHE_DIR, 'model.json');
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { key: string; model: { credentials: Array<{ name: string }> } };
    expect(cached.key).toBe(projectFingerprint(dir, JSON.parse(readFileSync('package.json', 'utf8')).version));
    // WHEN the cache is doctored under the same key THEN status shows it (proves it is read)
    cached.model.credentials[0]!.name = 'from-the-cache';
    writeFileSync(file, JSON.stringify(cached));
    expect(await names(dir)).toEqual(['from-the-cache', 'reports']);
    // WHEN rekey.yaml changes THEN the key changes and the app is asked again
    writeFileSync(join(dir, 'rekey.yaml'), readFileSync(join(dir, 'rekey.yaml'), 'utf8') + '\n# edited\n');
    expect(await names(dir)).toEqual(['reports', 'uploads']);
  });

  it('GIVEN an unreadable cache WHEN status runs THEN it asks the app (a cache never fails the command)', async () => {
    const dir = tempProject();
    dirs.push(dir);
    expect(await names(dir)).toEqual(['reports', 'uploads']);
    writeFileSync(join(dir, MODEL_CACHE_DIR, 'model.json'), '{not json');
    expect(await names(dir)).toEqual(['reports', 'uploads']);
  });

  it('GIVEN rekey rotate --due WHEN run THEN the app is always asked, never the cache', async () => {
    const dir = tempProject();
    dirs.push(dir);
    await names(dir);
    const file = join(dir, MODEL_CACHE_DIR, 'model.json');
    const cached = JSON.parse(readFileSync(file, 'utf8'));
    cached.model.credentials = [];
    writeFileSync(file, JSON.stringify(cached));
    const due = await cli(dir, ['rotate', '--due', '--check']);
    expect([due.code, due.stdout]).toEqual([2, 'due: uploads\n']);
  });
});

describe('a warm rekey status', () => {
  it('GIVEN status ran once WHEN nothing changed THEN the ledger summary comes from the cache (the ledger is not parsed); WHEN the ledger changes THEN it is read again', async () => {
    const dir = tempProject();
    dirs.push(dir);
    expect((await cli(dir, ['rotate', 'uploads'], new Date('2026-11-01T10:00:00.000Z'))).code).toBe(0);
    const gens = async () => (JSON.parse((await cli(dir, ['status', '--output', 'json'])).stdout) as Array<{ credential: string; generation: number }>).map((r) => `${r.credential} g${r.generation}`);
    expect(await gens()).toEqual(['reports g0', 'uploads g1']);
    // WHEN the cached summary is doctored under the same key THEN status shows it (proves the ledger was not parsed)
    const file = join(dir, MODEL_CACHE_DIR, 'model.json');
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { ledger: { entries: Record<string, { generation: number }> } };
    cached.ledger.entries.uploads!.generation = 41;
    writeFileSync(file, JSON.stringify(cached));
    expect(await gens()).toEqual(['reports g0', 'uploads g41']);
    // WHEN the ledger changes (a rotation) THEN the key changes and the ledger is read again
    expect((await cli(dir, ['rotate', 'uploads'], new Date('2026-11-02T10:00:00.000Z'))).code).toBe(0);
    expect(await gens()).toEqual(['reports g0', 'uploads g2']);
  });
});
