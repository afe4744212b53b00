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
  it('round-trips through its file, byte-stable, with sorted keys and each entry ending with its own integrity', () => {
    const path = join(dir, 'rekey.ledger.yaml');
    const l = Ledger.empty().with('b', { ...entry, staging: { ...entry.staging, secretName: 'rekey-b-g2-staging' } }).with('a', entry);
    l.save(path);
    const text = readFileSync(path, 'utf8');
    expect(text.indexOf('  a:')).toBeLessThan(text.indexOf('  b:'));
    expect(text.trimEnd().split('\n').pop()).toMatch(/^ {4}integrity: sha256:[0-9a-f]{64}$/);
    // entries are separated by a blank line and a comment naming the credential (git merges them)
    expect(text).toMatch(/\n {4}integrity: sha256:[0-9a-f]{64}\n\n {2}# --- credential b ---\n {2}b:\n/);
    expect(text.match(/^ {4}integrity: /gm)).toHaveLength(2);
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
    ['a changed value', (t: string) => t.replace('AKFAKEFAKEFAKEFAKE02', 'AKFAKEFAKEFAKEFAKE03'), /^rekey\.ledger\.yaml credentials\.a\.integrity does not match the entry's content \(edited by hand, or a merge conflict resolved line by line\?\): got sha256:[0-9a-f]{64}\. Take the a entry whole from one side of the merge, or restore the file from git \(git checkout -- rekey\.ledger\.yaml\); then run `rekey rotate a` if it must rotate again\.$/],
    ['a removed integrity', (t: string) => t.replace(/^ {4}integrity:.*$/m, ''), /^rekey\.ledger\.yaml credentials\.a\.integrity must be a string: got nothing\. Restore it from git/],
    ['an entry moved to another credential', (t: string) => t.replace(/^ {2}a:$/m, '  c:').replace('# --- credential a ---', '# --- credential c ---'), /^rekey\.ledger\.yaml credentials\.c\.integrity does not match/],
    ['a YAML alias', (t: string) => t.replace('provider: rustfs', 'provider: &p rustfs\n    x: *p'), /^rekey\.ledger\.yaml is not valid YAML: got a YAML alias \(the ledger never has one\)\. Restore it from git/],
    ['a git conflict marker', (t: string) => t.replace(/^ {4}generation: 2$/m, '<<<<<<< HEAD\n    generation: 3\n=======\n    generation: 2\n>>>>>>> other'), /^rekey\.ledger\.yaml has an unresolved git merge conflict in credentials\.a \(line \d+\): got "<<<<<<< HEAD"\. Both branches rotated a: take the target branch's ledger and dist\/ \(e\.g\. git checkout main -- rekey\.ledger\.yaml dist\/\), run `rekey rotate a` again and commit\.$/],
    ['a wrong kind', (t: string) => t.replace('kind: Ledger', 'kind: Book'), /^rekey\.ledger\.yaml kind must be Ledger: got "Book"\. Restore it from git/],
  ])('refuses %s', (_n, edit, message) => {
    const text = Ledger.empty().with('a', entry).serialize();
    expect(() => Ledger.parse(edit(text))).toThrow(message);
  });

  it('reads the previous layout (one whole-file integrity) and rewrites it per entry', () => {
    // GIVEN a ledger written before per-entry integrity (the repository's own root ledger is one)
    const legacy = readFileSync(join(process.cwd(), 'test/project/fixtures/legacy.rekey.ledger.yaml'), 'utf8');
    // WHEN it is loaded THEN it is accepted, and serialized in the new layout
    const l = Ledger.parse(legacy);
    expect(l.names().length).toBeGreaterThan(0);
    expect(l.serialize()).not.toMatch(/^integrity:/m);
    expect(Ledger.parse(l.serialize()).names()).toEqual(l.names());
    // and a hand edit of the legacy file is still refused
    expect(() => Ledger.parse(legacy.replace('generation: 1', 'generation: 2'))).toThrow(/^rekey\.ledger\.yaml integrity does not match its content \(edited by hand\?\)/);
  });

  it('records an adopted key apart from rotated entries, with its own integrity', () => {
    const l = Ledger.empty().with('a', entry).withAdopted('b', { accessKeyId: 'AKIAFAKEFAKEFAKE0001', provider: 'rustfs', adoptedAt: '2026-11-01T10:00:00.000Z' });
    const back = Ledger.parse(l.serialize());
    expect(back.names()).toEqual(['a']);
    expect(back.get('b')).toBeUndefined();
    expect(back.adopted('b')).toEqual({ accessKeyId: 'AKIAFAKEFAKEFAKE0001', provider: 'rustfs', adoptedAt: '2026-11-01T10:00:00.000Z' });
    expect(l.serialize()).toContain('  b:\n    adopted:\n      accessKeyId: AKIAFAKEFAKEFAKE0001\n');
    // a rotation replaces the adopted record
    expect(back.with('b', { ...entry, staging: { ...entry.staging, secretName: 'rekey-b-g2-staging' } }).adopted('b')).toBeUndefined();
    expect(() => Ledger.parse(l.serialize().replace('AKIAFAKEFAKEFAKE0001', 'AKIAFAKEFAKEFAKE0002'))).toThrow(/^rekey\.ledger\.yaml credentials\.b\.integrity does not match/);
  });
});

describe('an entry for a key drawn in the cluster (store-held delivery)', () => {
  const drawn: LedgerEntry = {
    generation: 2,
    provider: 'aws',
    delivery: 'external',
    keySource: 'providerDrawn',
    accessKeyId: null,
    rotatedAt: '2026-11-01T10:00:00.000Z',
    staging: { namespace: 'rekey-system', secretName: 'rekey-analytics-g2-staging' },
    targets: [{ namespace: 'analytics', secretName: 'analytics-s3' }],
  };

  it('round-trips with no key ID and no key material, under its own integrity', () => {
    const text = Ledger.empty().with('analytics', drawn).serialize();
    expect(Ledger.parse(text).get('analytics')).toEqual(drawn);
    expect(text).toContain('    accessKeyId: null\n');
    expect(text).toContain('    keySource: providerDrawn\n');
    expect(() => Ledger.parse(text.replace('keySource: providerDrawn', 'keySource: rekeyDrawn'))).toThrow(/credentials\.analytics\.keySource/);
  });

  it('refuses a key ID on a providerDrawn entry, and a missing one on a rekey-drawn entry', () => {
    expect(() => Ledger.empty().with('analytics', { ...drawn, accessKeyId: 'AKIAFAKEFAKEFAKE0001' })).toThrow('must be null exactly when keySource is providerDrawn');
    const { keySource: _k, ...rekeyDrawn } = drawn;
    expect(() => Ledger.empty().with('analytics', rekeyDrawn)).toThrow('must be null exactly when keySource is providerDrawn');
  });
});
