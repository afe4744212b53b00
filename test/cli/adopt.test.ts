import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ledger } from '../../lib/project/ledger.js';
import { cli, snapshotTree, projectsRemovedAfterEach } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const ID = 'LEGACYKEY0000000001';
const project = projectsRemovedAfterEach();

describe('rekey adopt', () => {
  it('records an existing key; status shows it; the first rotation writes it as previousAccessKeyId of generation 1', async () => {
    // GIVEN a project never rotated WHEN the key that exists at the provider is adopted
    const dir = project();
    const dist = snapshotTree(join(dir, 'dist'));
    const r = await cli(dir, ['adopt', 'uploads', '--access-key-id', ID], NOW);
    expect(r).toEqual({ code: 0, stdout: `adopted ${ID} for uploads: the first rotation (rekey rotate uploads) retires it. Commit rekey.ledger.yaml.\n`, stderr: '' });
    // THEN only the ledger changed, with its own integrity-checked entry
    expect(snapshotTree(join(dir, 'dist'))).toEqual(dist);
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect(ledger.adopted('uploads')).toEqual({ accessKeyId: ID, provider: 'rustfs', adoptedAt: NOW.toISOString() });
    expect(ledger.get('uploads')).toBeUndefined();
    expect(readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8')).toMatch(/\n {2}# --- credential uploads ---\n {2}uploads:\n {4}adopted:\n/);
    // AND status shows it
    const json = JSON.parse((await cli(dir, ['status', '--output', 'json'], NOW)).stdout);
    expect(json.map((x: any) => [x.credential, x.state, x.accessKeyId, x.adoptedAccessKeyId])).toEqual([
      ['reports', 'never-rotated', null, null],
      ['uploads', 'never-rotated', null, ID],
    ]);
    expect((await cli(dir, ['status'], NOW)).stdout).toContain(`${ID} (adopted)`);
    // WHEN the credential is rotated THEN generation 1 retires the adopted key
    const rotated = await cli(dir, ['rotate', 'uploads', '--output', 'json'], NOW);
    expect(JSON.parse(rotated.stdout).rotated[0]).toMatchObject({ credential: 'uploads', generation: 1, previousAccessKeyId: ID });
    const after = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect(after.get('uploads')).toMatchObject({ generation: 1, previousAccessKeyId: ID });
    expect(after.adopted('uploads')).toBeUndefined();
    expect((await cli(dir, ['check'])).code).toBe(0);
  });

  it('adopting again before the first rotation replaces the adopted key', async () => {
    const dir = project();
    await cli(dir, ['adopt', 'reports', '--access-key-id', ID], NOW);
    expect((await cli(dir, ['adopt', 'reports', '--access-key-id', 'OTHERKEY0000000002'], NOW)).stdout).toContain(`adopted OTHERKEY0000000002 for reports (replaces the adopted ${ID})`);
  });

  describe('refuses, in one line, exit 1, nothing written', () => {
    async function refused(dir: string, args: string[], message: string) {
      const before = snapshotTree(dir);
      expect(await cli(dir, args, NOW)).toEqual({ code: 1, stdout: '', stderr: `rekey: error: ${message}\n` });
      expect(snapshotTree(dir)).toEqual(before);
    }
    it('an unknown credential', async () => {
      await refused(project(), ['adopt', 'upload', '--access-key-id', ID], 'rekey adopt credential is not defined in this project: got "upload". Use one of: uploads, reports. Usage: rekey adopt <credential> --access-key-id <id>');
    });
    it('a credential rekey already rotated: use the ledger\'s current key', async () => {
      const dir = project();
      await cli(dir, ['rotate', 'uploads'], NOW);
      const current = Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!.accessKeyId;
      await refused(dir, ['adopt', 'uploads', '--access-key-id', ID], `rekey adopt uploads was already rotated by rekey: got generation 1 with current key ${current}. Nothing to adopt: the ledger's current key is the one the next rotation retires (rekey rotate uploads).`);
    });
    it.each([['has a space'], ['a'], ['key:with:colons'], ['x'.repeat(129)], ['AKIA\u0000']])('an ID no provider allows: %j', async (id) => {
      await refused(project(), ['adopt', 'uploads', '--access-key-id', id], `rekey adopt --access-key-id has characters or a length no provider allows: got ${JSON.stringify(id)}. Give the key's ID as the provider shows it (3 to 128 of A-Z a-z 0-9 . _ @ + = -), never the secret key.`);
    });
    it('no --access-key-id, no credential', async () => {
      await refused(project(), ['adopt', 'uploads'], 'rekey adopt --access-key-id is required: got nothing. Usage: rekey adopt <credential> --access-key-id <id>');
      await refused(project(), ['adopt', '--access-key-id', ID], 'rekey adopt takes one credential: got nothing. Usage: rekey adopt <credential> --access-key-id <id>');
    });
  });

  it('--help prints its usage', async () => {
    expect((await cli(project(), ['adopt', '--help'])).stdout).toMatch(/^Usage: rekey adopt <credential> --access-key-id <id> \[--dir <project>\]\n/);
  });
});
