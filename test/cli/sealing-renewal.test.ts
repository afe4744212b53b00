import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SecretValue } from '../../lib/core/secret-value.js';
import { Ledger } from '../../lib/project/ledger.js';
import { unseal } from '../../lib/project/seal.js';
import { cli, projectsRemovedAfterEach, readManifests, snapshotTree } from '../support/project.js';

/**
 * Sealing-certificate renewal: the sealed-secrets controller makes a new sealing key every 30
 * days and keeps the old ones, so values sealed with an earlier certificate still unseal. A
 * project pinned to the renewed certificate keeps accepting entries sealed for a fingerprint in
 * sealing.previousFingerprints; each moves to the current certificate at its next rotation.
 */

const project = projectsRemovedAfterEach();
const NOW = new Date('2026-11-01T10:00:00.000Z');
const FIXTURES = join(process.cwd(), 'test/fixtures/sealed-secrets');
/** Certificate A: the fixture project's cert.pem (cert4096.pem). */
const A = 'SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g';
/** Certificate B: the controller's renewed certificate (renewed-cert.pem). */
const B = 'SHA256:SbMLo0heUbui8uA2hxBd5Uf7fxNoIcUA+pAhb+FLgWs';

/** Pins the project to certificate B, with `previous` trusted. */
function pinRenewed(dir: string, previous: string[] | undefined): void {
  copyFileSync(join(FIXTURES, 'renewed-cert.pem'), join(dir, 'renewed-cert.pem'));
  const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8');
  const sealing = `sealing:\n  certificate: renewed-cert.pem\n  fingerprint: ${B}\n${previous ? `  previousFingerprints: [${previous.join(', ')}]\n` : ''}`;
  writeFileSync(join(dir, 'rekey.yaml'), spec.replace(/^sealing:\n(?: {2}.*\n)*/m, sealing));
}

/** Both credentials sealed with certificate A, then the project pinned to B with A trusted. */
async function renewed(): Promise<{ dir: string; before: Map<string, string>; ledgerBefore: string }> {
  const dir = project();
  expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
  const before = snapshotTree(join(dir, 'dist'));
  const ledgerBefore = readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8');
  pinRenewed(dir, [A]);
  return { dir, before, ledgerBefore };
}

describe('sealing-certificate renewal (sealing.previousFingerprints)', () => {
  it('GIVEN values sealed with A and the project pinned to B with A trusted WHEN synth and check run THEN both pass, dist/ is unchanged and a notice names the credentials', async () => {
    const { dir, before, ledgerBefore } = await renewed();
    // WHEN
    const check = await cli(dir, ['check'], NOW);
    const synth = await cli(dir, ['synth'], NOW);
    // THEN
    expect(check).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
    expect(synth.code).toBe(0);
    expect(synth.stderr.split('\n')[0] + '\n').toBe(
      `rekey: credentials reports, uploads are sealed for a previous certificate (sealing.previousFingerprints): still valid, each moves to the current certificate ${B} at its next rotation (\`rekey status\` shows each credential's certificate).\n`,
    );
    expect(snapshotTree(join(dir, 'dist'))).toEqual(before);
    expect(readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8')).toBe(ledgerBefore);
  });

  it('GIVEN the renewed project WHEN one credential is rotated THEN only it moves to B, sealed so that B\'s key unseals it, and status shows each certificate', async () => {
    const { dir } = await renewed();
    const ledgerBefore = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    const manifestsBefore = readManifests(join(dir, 'dist'));
    // WHEN
    const r = await cli(dir, ['rotate', 'uploads'], NOW);
    // THEN
    expect(r.code).toBe(0);
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect(ledger.get('uploads')!.certificateFingerprint).toBe(B);
    expect(ledger.get('reports')).toEqual(ledgerBefore.get('reports'));
    // every object of the unrotated credential is the same; the rotated one's sealed values changed
    const of = (docs: any[], c: string) => docs.filter((d) => d?.metadata?.labels?.['rekey.dev/credential'] === c);
    const manifests = readManifests(join(dir, 'dist'));
    expect(of(manifests, 'reports').length).toBeGreaterThan(0);
    expect(of(manifests, 'reports')).toEqual(of(manifestsBefore, 'reports'));
    const sealedWeb = (docs: any[]) => of(docs, 'uploads').find((d) => d.kind === 'SealedSecret' && d.metadata.namespace === 'web').spec.encryptedData['access-key'];
    expect(sealedWeb(manifests)).not.toBe(sealedWeb(manifestsBefore));
    // the new values unseal with B's private key (and the rotator's staging pair is sealed for B too)
    const keyB = SecretValue.fromString(readFileSync(join(FIXTURES, 'renewed-key.pem'), 'utf8'));
    const e = ledger.get('uploads')!;
    const web = e.targets.find((t) => t.namespace === 'web')!;
    expect(unseal(web.sealed!.accessKeyId, { privateKeyPem: keyB, namespace: 'web', name: 'uploads-s3', scope: 'strict' }).reveal()).toBe(e.accessKeyId);
    expect(() => unseal(e.staging.sealed!.secretAccessKey, { privateKeyPem: keyB, namespace: e.staging.namespace, name: e.staging.secretName, scope: 'strict' })).not.toThrow();
    // check passes; the notice now names only reports
    expect((await cli(dir, ['check'], NOW)).code).toBe(0);
    expect((await cli(dir, ['synth'], NOW)).stderr.split('\n')[0] + '\n').toBe(
      `rekey: credential reports is sealed for a previous certificate (sealing.previousFingerprints): still valid, it moves to the current certificate ${B} at its next rotation (\`rekey status\` shows each credential's certificate).\n`,
    );
    // status: which certificate each credential was sealed for
    const json = JSON.parse((await cli(dir, ['status', '--output', 'json'], NOW)).stdout);
    expect(json.map((x: any) => [x.credential, x.sealedFor, x.certificateFingerprint])).toEqual([
      ['reports', 'previous', A],
      ['uploads', 'current', B],
    ]);
    const table = (await cli(dir, ['status'], NOW)).stdout;
    expect(table).toMatch(/\nreports .* manual +previous SHA256:sYSaGDLp… +Job\/reports\/backfill, /);
    expect(table).toMatch(/\nuploads .* ok +current +CronJob\/jobs\/cleanup/);
    // once the last credential moved, synth says the old fingerprint can go
    expect((await cli(dir, ['rotate', 'reports'], NOW)).code).toBe(0);
    expect((await cli(dir, ['synth'], NOW)).stderr.split('\n')[0]).toBe(`rekey: sealing.previousFingerprints ${A} is used by no credential any more: remove it.`);
  });

  it('GIVEN values sealed with A WHEN the project is pinned to B without trusting A THEN synth, check and rotate refuse with the exact line, and nothing changes', async () => {
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
    pinRenewed(dir, undefined);
    const before = snapshotTree(dir);
    const line = (name: string, trusted: string) =>
      `rekey: error: rekey.ledger.yaml credentials.${name}.certificateFingerprint does not match the spec's sealing certificate ${B} nor a trusted previous one (sealing.previousFingerprints: ${trusted}): got "${A}". Run \`rekey rotate ${name}\` to rotate it under the new settings, or add ${A} to sealing.previousFingerprints if the controller still holds that key.\n`;
    for (const args of [['synth'], ['check'], ['rotate', 'reports']]) {
      expect([args, await cli(dir, args, NOW)]).toEqual([args, { code: 1, stdout: '', stderr: line('uploads', 'none') }]);
    }
    expect(snapshotTree(dir)).toEqual(before);
    // status still answers, and says which credentials are sealed for a certificate the spec does not trust
    const json = JSON.parse((await cli(dir, ['status', '--output', 'json'], NOW)).stdout);
    expect(json.map((x: any) => [x.credential, x.sealedFor])).toEqual([['reports', 'unknown'], ['uploads', 'unknown']]);
    expect((await cli(dir, ['status'], NOW)).stdout).toMatch(/\nuploads .* ok +unknown SHA256:sYSaGDLp… +CronJob/);
    // a list that trusts another certificate only is named in the error
    const other = 'SHA256:' + 'Q'.repeat(43);
    pinRenewed(dir, [other]);
    expect(await cli(dir, ['check'], NOW)).toEqual({ code: 1, stdout: '', stderr: line('uploads', other) });
  });

  it('GIVEN the renewed project WHEN A is removed from the list THEN check gives the exact error again', async () => {
    const { dir } = await renewed();
    expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
    // WHEN A is no longer trusted (uploads moved to B; reports still sealed for A)
    pinRenewed(dir, []);
    // THEN
    expect(await cli(dir, ['check'], NOW)).toEqual({
      code: 1,
      stdout: '',
      stderr: `rekey: error: rekey.ledger.yaml credentials.reports.certificateFingerprint does not match the spec's sealing certificate ${B} nor a trusted previous one (sealing.previousFingerprints: none): got "${A}". Run \`rekey rotate reports\` to rotate it under the new settings, or add ${A} to sealing.previousFingerprints if the controller still holds that key.\n`,
    });
  });
});
