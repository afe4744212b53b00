import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Ledger, type LedgerEntry } from '../../lib/project/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'rekey-ledger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry: LedgerEntry = {
  generation: 2,
  provider: 'rustfs',
  delivery: 'sealed',
  accessKeyId: 'AKFAKEFAKEFAKEFAKE02',
  previousAccessKeyId: 'AKFAKEFAKEFAKEFAKE01',
  rotatedAt: '2026-11-01T10:00:00.000Z',
  certificateFingerprint: 'SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g',
  staging: { namespace: 'rekey-system', secretName: 'rekey-a-g2-staging', scope: 'strict', sealed: { accessKeyId: 'QUJD', secretAccessKey: 'REVG' } },
  targets: [{ namespace: 'web', secretName: 's3', scope: 'strict', sealed: { accessKeyId: 'QUJD', secretAccessKey: 'REVG' } }],
};

describe('Ledger', () => {
  it('round-trips through its file, byte-stable, with sorted keys and the integrity field last', () => {
    const path = join(dir, 'rekey.ledger.yaml');
    const l = Ledger.empty().with('b', { ...entry, staging: { ...entry.staging, secretName: 'rekey-b-g2-staging' } }).with('a', entry);
    l.save(path);
    const text = readFileSync(path, 'utf8');
    expect(text.indexOf('  a:')).toBeLessThan(text.indexOf('  b:'));
    expect(text.trimEnd().split('\n').pop()).toMatch(/^integrity: sha256:[0-9a-f]{64}$/);
    const back = Ledger.load(path);
    expect(back.names()).toEqual(['a', 'b']);
    expect(back.get('a')).toEqual(entry);
    expect(back.serialize()).toBe(text);
    // atomic write leaves no temp file behind
    expect(readdirSync(dir)).toEqual(['rekey.ledger.yaml']);
  });

  it('a missing file is an empty ledger; an empty file too', () => {
    expect(Ledger.load(join(dir, 'nope.yaml')).names()).toEqual([]);
    expect(Ledger.parse('').names()).toEqual([]);
  });

  it('refuses an entry that breaks the schema before it can be written', () => {
    expect(() => Ledger.empty().with('a', { ...entry, generation: 0 })).toThrow();
  });

  it.each([
    ['a changed value', (t: string) => t.replace('AKFAKEFAKEFAKEFAKE02', 'AKFAKEFAKEFAKEFAKE03'), /^rekey\.ledger\.yaml integrity does not match its content \(edited by hand\?\): got sha256:[0-9a-f]{64}\. Restore it from git/],
    ['a removed integrity', (t: string) => t.replace(/^integrity:.*$/m, ''), /^rekey\.ledger\.yaml integrity must be a string: got nothing\. Restore it from git/],
    ['a wrong kind', (t: string) => t.replace('kind: Ledger', 'kind: Book'), /^rekey\.ledger\.yaml kind must be Ledger: got "Book"\. Restore it from git/],
  ])('refuses %s', (_n, edit, message) => {
    const text = Ledger.empty().with('a', entry).serialize();
    expect(() => Ledger.parse(edit(text))).toThrow(message);
  });
});
