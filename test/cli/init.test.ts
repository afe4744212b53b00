import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { cli, snapshotTree } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const dirs: string[] = [];
const empty = () => {
  const d = mkdtempSync(join(tmpdir(), 'rekey-init-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('rekey init', () => {
  it('GIVEN an empty folder and the controller certificate WHEN init --cert THEN a starter rekey.yaml pins its fingerprint, .gitignore gets the temp entries, and the project rotates and checks', async () => {
    const dir = empty();
    copyFileSync('test/fixtures/project/cert.pem', join(dir, 'sealed-secrets.pem'));
    const r = await cli(dir, ['init', '--cert', 'sealed-secrets.pem']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8');
    expect(spec).toContain('  certificate: sealed-secrets.pem\n  fingerprint: SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g\n  # previousFingerprints: [SHA256:...]');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe("# rekey's temporary files\n.rekey-tmp-*/\n*.rekey-old-*/\n.rekey.ledger.yaml.*.tmp\n.rekey-cache/\n");
    expect(existsSync(join(dir, 'cdk8s.yaml'))).toBe(false);
    const status = await cli(dir, ['status', '--output', 'json'], NOW);
    expect(JSON.parse(status.stdout).map((s: { credential: string; state: string }) => [s.credential, s.state])).toEqual([['app-s3', 'never-rotated']]);
    expect((await cli(dir, ['rotate', 'app-s3'], NOW)).code).toBe(0);
    expect((await cli(dir, ['check'])).code).toBe(0);
  }, 60_000);

  it('GIVEN no certificate WHEN init THEN the starter renders with no credential and says how to pin one', async () => {
    const dir = empty();
    const r = await cli(dir, ['init']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pin your sealed-secrets certificate (rekey fingerprint <cert.pem>)');
    expect(readFileSync(join(dir, 'rekey.yaml'), 'utf8')).toContain('credentials: []\n# Pin the sealing certificate above first; then, for example:\n#   - name: app-s3\n');
    expect((await cli(dir, ['synth'])).code).toBe(0);
  });

  it('GIVEN --typescript WHEN init THEN cdk8s.yaml and a main.ts that loads rekey.yaml are written too', async () => {
    const dir = empty();
    expect((await cli(dir, ['init', '--typescript'])).code).toBe(0);
    expect(readFileSync(join(dir, 'cdk8s.yaml'), 'utf8')).toBe('language: typescript\napp: npx tsx main.ts\noutput: dist\n');
    expect(readFileSync(join(dir, 'main.ts'), 'utf8')).toContain("loadSpecChart(app, 'rekey');");
  });

  it('GIVEN an existing .gitignore WHEN init THEN only missing entries are appended', async () => {
    const dir = empty();
    writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.rekey-tmp-*/\n');
    expect((await cli(dir, ['init'])).code).toBe(0);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe("node_modules/\n.rekey-tmp-*/\n# rekey's temporary files\n*.rekey-old-*/\n.rekey.ledger.yaml.*.tmp\n.rekey-cache/\n");
  });

  it.each([
    ['an existing rekey.yaml', (d: string) => writeFileSync(join(d, 'rekey.yaml'), 'kept\n'), ['init'], 'rekey: error: rekey init would overwrite rekey.yaml: got an existing project. Edit it instead, or run rekey init in an empty folder.\n'],
    ['an unreadable certificate', () => undefined, ['init', '--cert', 'missing.pem'], 'rekey: error: rekey init --cert cannot be read: got "missing.pem" (ENOENT). Fetch it with `kubeseal --fetch-cert > sealed-secrets.pem` and pass --cert sealed-secrets.pem.\n'],
  ] as const)('GIVEN %s WHEN init THEN exit 1 with one line and nothing written', async (_name, prepare, args, stderr) => {
    const dir = empty();
    prepare(dir);
    const before = snapshotTree(dir);
    const r = await cli(dir, [...args]);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', stderr]);
    expect(snapshotTree(dir)).toEqual(before);
  });
});
