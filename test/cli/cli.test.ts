import { SecretValue } from '../../lib/core/secret-value.js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ledger } from '../../lib/project/ledger.js';
import { unseal } from '../../lib/project/seal.js';
import { diffTrees } from '../../lib/project/synth.js';
import { BAD_SPECS, caseText } from '../support/spec-cases.js';
import { cli, PRIVATE_KEY, readManifests, recoverSecrets, snapshotTree, projectsRemovedAfterEach } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();

/** A project with every credential rotated once. */
async function rotated(): Promise<string> {
  const dir = project();
  const r = await cli(dir, ['rotate', 'uploads', 'reports'], NOW);
  expect(r.code).toBe(0);
  return dir;
}

describe('rekey rotate', () => {
  it('draws, seals for every target and the staging Secret, writes the ledger and renders dist/', async () => {
    // GIVEN a project never rotated WHEN both credentials are rotated
    const dir = project();
    const r = await cli(dir, ['rotate', 'uploads', 'reports', '--output', 'json'], NOW);
    // THEN
    expect(r.code).toBe(0);
    const { rotated: out } = JSON.parse(r.stdout) as { rotated: Array<{ credential: string; generation: number; accessKeyId: string }> };
    expect(out.map((x) => [x.credential, x.generation])).toEqual([['uploads', 1], ['reports', 1]]);
    for (const x of out) expect(x.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    const e = ledger.get('uploads')!;
    expect(e.rotatedAt).toBe(NOW.toISOString());
    expect(e.previousAccessKeyId).toBeUndefined();
    expect(e.targets.map((t) => `${t.namespace}/${t.secretName}/${t.scope}`)).toEqual(['web/uploads-s3/strict', 'jobs/uploads-s3/strict']);
    expect(e.staging).toMatchObject({ namespace: 'rekey-system', secretName: 'rekey-uploads-g1-staging', scope: 'strict' });

    // every target opens to the same pair under the scope it was sealed for
    const secrets = recoverSecrets(dir);
    const pair = secrets.get('uploads')!;
    expect(pair.secret).toMatch(/^[A-Za-z0-9]{40}$/);
    for (const t of e.targets) {
      expect(unseal(t.sealed!.accessKeyId, { privateKeyPem: SecretValue.fromString(PRIVATE_KEY), namespace: t.namespace, name: t.secretName }).reveal()).toBe(pair.accessKeyId);
      expect(unseal(t.sealed!.secretAccessKey, { privateKeyPem: SecretValue.fromString(PRIVATE_KEY), namespace: t.namespace, name: t.secretName }).reveal()).toBe(pair.secret);
    }
    const reports = ledger.get('reports')!.targets[0]!;
    const ini = unseal(reports.sealed!.credentialsFile!, { privateKeyPem: SecretValue.fromString(PRIVATE_KEY), namespace: 'reports', name: 'any-name', scope: 'namespace-wide' }).reveal();
    expect(ini).toBe(`[default]\naws_access_key_id = ${secrets.get('reports')!.accessKeyId}\naws_secret_access_key = ${secrets.get('reports')!.secret}\n`);

    // every alias key of a SealedSecret holds the identical ciphertext
    const docs = readManifests(join(dir, 'dist'));
    const web = docs.find((d) => d.kind === 'SealedSecret' && d.metadata.namespace === 'web')!;
    expect(Object.keys(web.spec.encryptedData).sort()).toEqual(['RUSTFS_ACCESS_KEY', 'RUSTFS_SECRET_KEY', 'access-key', 'secret-key']);
    expect(web.spec.encryptedData['access-key']).toBe(web.spec.encryptedData.RUSTFS_ACCESS_KEY);
    expect(web.spec.encryptedData['secret-key']).toBe(web.spec.encryptedData.RUSTFS_SECRET_KEY);
    expect(web.spec.template.data).toEqual({ endpoint: 'http://rustfs.storage.svc:9000' });
  });

  it('leaves no plaintext secret in dist/, the ledger or any output line', async () => {
    const dir = project();
    const first = await cli(dir, ['rotate', 'uploads', 'reports'], NOW);
    const second = await cli(dir, ['rotate', 'uploads'], NOW);
    const status = await cli(dir, ['status', '--output', 'json'], NOW);
    const secrets = [...recoverSecrets(dir).values()].map((p) => p.secret);
    expect(secrets).toHaveLength(2);
    const haystack = [
      ...snapshotTree(join(dir, 'dist')).values(),
      readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8'),
      first.stdout, first.stderr, second.stdout, second.stderr, status.stdout, status.stderr,
    ].join('\n');
    for (const s of secrets) expect(haystack).not.toContain(s);
  });

  it('changes only the rotated credential: its sealed values, checksums and generation-named objects', async () => {
    // GIVEN a rotated project
    const dir = await rotated();
    const before = readManifests(join(dir, 'dist'));
    const ledgerBefore = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    // WHEN one credential is rotated again
    const r = await cli(dir, ['rotate', 'reports'], NOW);
    expect(r.code).toBe(0);
    const after = readManifests(join(dir, 'dist'));
    // THEN every object of the other credential is byte-for-byte the same
    const of = (docs: any[], c: string) => docs.filter((d) => d.metadata?.labels?.['rekey.dev/credential'] === c);
    expect(of(after, 'uploads')).toEqual(of(before, 'uploads'));
    expect(Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')).toEqual(ledgerBefore.get('uploads'));
    // and the rotated one moved on: generation 2, names and values changed
    const names = (docs: any[]) => of(docs, 'reports').map((d) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`.replace(/-[0-9a-f]{8}$/, '-<hash>')).sort();
    const rbac = ['Role/rekey-system/rekey-reports-rotator', 'Role/reports/rekey-reports-rotator', 'RoleBinding/rekey-system/rekey-reports-rotator', 'RoleBinding/reports/rekey-reports-rotator', 'ServiceAccount/rekey-system/rekey-reports-rotator'];
    expect(names(before)).toEqual([
      'ConfigMap/rekey-system/rekey-reports-g1-plan',
      'Job/rekey-system/rekey-reports-g1-activate-<hash>',
      'Job/rekey-system/rekey-reports-g1-deliver-<hash>',
      ...rbac.slice(0, 4),
      'SealedSecret/rekey-system/rekey-reports-g1-staging',
      'SealedSecret/reports/reports-s3',
      rbac[4],
    ]);
    // generation 2 has a previous key: its retire Job revokes it
    expect(names(after)).toEqual([
      'ConfigMap/rekey-system/rekey-reports-g2-plan',
      'Job/rekey-system/rekey-reports-g2-activate-<hash>',
      'Job/rekey-system/rekey-reports-g2-deliver-<hash>',
      'Job/rekey-system/rekey-reports-g2-retire-<hash>',
      ...rbac.slice(0, 4),
      'SealedSecret/rekey-system/rekey-reports-g2-staging',
      'SealedSecret/reports/reports-s3',
      rbac[4],
    ]);
    const e = Ledger.load(join(dir, 'rekey.ledger.yaml')).get('reports')!;
    expect(e.previousAccessKeyId).toBe(ledgerBefore.get('reports')!.accessKeyId);
    expect(e.accessKeyId).not.toBe(e.previousAccessKeyId);
  });

  it('renders byte-identical dist/ for identical inputs', async () => {
    const dir = await rotated();
    const again = project();
    writeFileSync(join(again, 'rekey.ledger.yaml'), readFileSync(join(dir, 'rekey.ledger.yaml')));
    expect((await cli(again, ['synth'])).code).toBe(0);
    expect((await cli(again, ['synth'])).code).toBe(0);
    expect(diffTrees(join(dir, 'dist'), join(again, 'dist'))).toEqual([]);
  });

  it('rotates only TimeBased credentials that are due with --due, and --due --check exits 2', async () => {
    const dir = await rotated();
    // uploads rotates every 30 days; reports is Manual
    const early = await cli(dir, ['rotate', '--due', '--check'], new Date('2026-11-20T00:00:00Z'));
    expect([early.code, early.stdout]).toEqual([0, 'nothing is due\n']);
    const late = new Date('2026-12-02T00:00:00Z');
    const check = await cli(dir, ['rotate', '--due', '--check', '--output', 'json'], late);
    expect([check.code, check.stdout]).toEqual([2, '{"due":["uploads"]}\n']);
    const run = await cli(dir, ['rotate', '--due'], late);
    expect(run.code).toBe(0);
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect([ledger.get('uploads')!.generation, ledger.get('reports')!.generation]).toEqual([2, 1]);
  });

  it('plain delivery keeps the secret in the ledger and dist/ as opted in, with a loud warning', async () => {
    const spec = readFileSync('test/fixtures/project/rekey.yaml', 'utf8').replace(
      'delivery: { kind: sealed, scope: namespace-wide }',
      'delivery: { kind: plain, acknowledgeInsecure: true }',
    );
    const dir = project(spec);
    const r = await cli(dir, ['rotate', 'reports'], NOW);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('rekey: WARNING: credential reports uses PLAIN delivery: its secret is stored in clear in git (rekey.ledger.yaml and dist/). Use only for a local cluster.');
    const pair = recoverSecrets(dir).get('reports')!;
    const secret = readManifests(join(dir, 'dist')).find((d) => d.kind === 'Secret' && d.metadata.name === 'reports-s3')!;
    expect(Buffer.from(secret.data.AWS_SECRET_ACCESS_KEY, 'base64').toString()).toBe(pair.secret);
    expect(Buffer.from(secret.data.credentials, 'base64').toString()).toContain(`aws_access_key_id = ${pair.accessKeyId}`);
    expect(secret.metadata.annotations['rekey.dev/warning']).toBe('plain delivery: this secret is stored in git in clear; local clusters only');
  });
});

describe('bad input never half-writes', () => {
  /** Asserts the exact one line, exit code 1, and dist/ + ledger byte-identical. */
  async function expectRefused(dir: string, args: string[], message: string) {
    const before = snapshotTree(dir);
    const r = await cli(dir, args, NOW);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 1, stderr: `rekey: error: ${message}\n`, stdout: '' });
    expect(snapshotTree(dir)).toEqual(before);
  }

  it.each(BAD_SPECS.map((c) => [c.name, c] as const))('spec: %s', async (_n, c) => {
    const dir = await rotated();
    writeFileSync(join(dir, 'rekey.yaml'), caseText(c));
    await expectRefused(dir, ['rotate', 'uploads'], c.message);
  });

  it('an unknown credential', async () => {
    const dir = await rotated();
    await expectRefused(dir, ['rotate', 'upload'], 'rekey rotate credential is not defined in this project: got "upload". Use one of: uploads, reports.');
  });

  it('no credential named', async () => {
    const dir = await rotated();
    await expectRefused(dir, ['rotate'], 'rekey rotate credential is required: got nothing. Name a credential (uploads, reports) or use --due.');
  });

  it('a missing certificate file', async () => {
    const dir = await rotated();
    rmSync(join(dir, 'cert.pem'));
    await expectRefused(dir, ['rotate', 'uploads'], 'rekey.yaml sealing.certificate cannot be read: got "cert.pem" (ENOENT). Fetch it with `kubeseal --fetch-cert > cert.pem`.');
  });

  it('a certificate that does not match the pinned fingerprint', async () => {
    const dir = await rotated();
    const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8').replace('SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g', `SHA256:${'A'.repeat(43)}`);
    writeFileSync(join(dir, 'rekey.yaml'), spec);
    await expectRefused(
      dir,
      ['rotate', 'uploads'],
      `cert.pem certificate fingerprint does not match the expected SHA256:${'A'.repeat(43)}: got SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g. Fetch the controller's current certificate (\`kubeseal --fetch-cert\`), or update the pinned fingerprint if the controller's key was renewed on purpose.`,
    );
  });

  it('a file that is not a certificate', async () => {
    const dir = await rotated();
    writeFileSync(join(dir, 'cert.pem'), 'hello\n');
    await expectRefused(dir, ['rotate', 'uploads'], "cert.pem is not a PEM X.509 certificate: got no PEM block. Use the sealed-secrets controller's current certificate (`kubeseal --fetch-cert > cert.pem`).");
  });

  it('a hand-edited ledger', async () => {
    const dir = await rotated();
    const path = join(dir, 'rekey.ledger.yaml');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(/generation: 1/, 'generation: 7'));
    const integrity = /integrity: (\S+)/.exec(text)![1];
    await expectRefused(
      dir,
      ['rotate', 'uploads'],
      `rekey.ledger.yaml credentials.reports.integrity does not match the entry's content (edited by hand, or a merge conflict resolved line by line?): got ${integrity}. Take the reports entry whole from one side of the merge, or restore the file from git (git checkout -- rekey.ledger.yaml); then run \`rekey rotate reports\` if it must rotate again.`,
    );
  });

  it('a corrupt ledger (not YAML)', async () => {
    const dir = await rotated();
    writeFileSync(join(dir, 'rekey.ledger.yaml'), 'credentials: [\n');
    await expectRefused(dir, ['rotate', 'uploads'], 'rekey.ledger.yaml is not valid YAML: got BAD_INDENT. Restore it from git (git checkout -- rekey.ledger.yaml) and let rekey rotate write it.');
  });

  it('a ledger with a field of the wrong type', async () => {
    const dir = await rotated();
    const path = join(dir, 'rekey.ledger.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/generation: 1/, 'generation: one'));
    await expectRefused(dir, ['rotate', 'uploads'], 'rekey.ledger.yaml credentials.reports.generation must be a number: got "one". Restore it from git (git checkout -- rekey.ledger.yaml) and let rekey rotate write it.');
  });

  it('a ledger with an unknown field', async () => {
    const dir = await rotated();
    const path = join(dir, 'rekey.ledger.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^kind: Ledger$/m, 'kind: Ledger\nnote: hi'));
    await expectRefused(dir, ['rotate', 'uploads'], 'rekey.ledger.yaml note is not a ledger field: got "note". Restore it from git (git checkout -- rekey.ledger.yaml) and let rekey rotate write it.');
  });

  it('a ledger sealed for a different provider than the spec now names', async () => {
    const dir = await rotated();
    const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8').replace(/name: rustfs/, 'name: store').replace(/provider: rustfs/g, 'provider: store');
    writeFileSync(join(dir, 'rekey.yaml'), spec);
    await expectRefused(dir, ['synth'], 'rekey.ledger.yaml credentials.uploads.provider was rotated at provider rustfs, the spec says store: got "rustfs". Run `rekey rotate uploads` to rotate it under the new settings.');
  });

  it('a target added to the spec after the last rotation', async () => {
    const dir = await rotated();
    const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8').replace('- { namespace: jobs, secretName: uploads-s3 }', '- { namespace: jobs, secretName: uploads-s3 }\n      - { namespace: api, secretName: uploads-s3 }');
    writeFileSync(join(dir, 'rekey.yaml'), spec);
    await expectRefused(dir, ['synth'], 'rekey.ledger.yaml credentials.uploads.targets has no entry for target api/uploads-s3: got web/uploads-s3, jobs/uploads-s3. Run `rekey rotate uploads` to seal key material for it.');
  });

  it('a scope changed after the last rotation', async () => {
    const dir = await rotated();
    const spec = readFileSync(join(dir, 'rekey.yaml'), 'utf8').replace('scope: namespace-wide', 'scope: cluster-wide');
    writeFileSync(join(dir, 'rekey.yaml'), spec);
    await expectRefused(dir, ['check'], 'rekey.ledger.yaml credentials.reports.targets reports/reports-s3 was sealed for scope namespace-wide, the spec says cluster-wide: got "namespace-wide". Run `rekey rotate reports` to seal key material for it.');
  });

  it('an unknown command, a bad option and a bad --output', async () => {
    const dir = await rotated();
    await expectRefused(dir, ['rotat'], 'rekey command is unknown: got "rotat". Use one of init, synth, rotate, adopt, revoke, retry, check, status, fingerprint, schema (rekey --help).');
    await expectRefused(dir, ['rotate', 'uploads', '--force'], `rekey rotate arguments are invalid: got "uploads --force" (Unknown option '--force'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--force"). Usage: rekey rotate <credential>... | --due [--check] | <credential> --access-key-id <id> (secret on stdin) [--dir <project>] [--output json]`);
    await expectRefused(dir, ['status', '--output', 'yaml'], 'rekey status --output must be json or table: got "yaml". Use --output json.');
    await expectRefused(dir, ['rotate', 'uploads', '--check'], 'rekey rotate --check only applies with --due: got --check alone. Use rekey rotate --due --check.');
    await expectRefused(dir, ['rotate', 'uploads', '--due'], 'rekey rotate --due takes no credential names: got uploads. Use either names or --due.');
  });
});

describe('rekey check', () => {
  it('passes on a fresh render, and exits 1 naming the stale files when dist/ drifts', async () => {
    const dir = await rotated();
    expect(await cli(dir, ['check'])).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
    writeFileSync(join(dir, 'dist/ACCESS.md'), 'edited\n');
    rmSync(join(dir, 'dist/components'), { recursive: true });
    const r = await cli(dir, ['check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('rekey: error: dist/ is stale against rekey.yaml and rekey.ledger.yaml: got 4 differing files (ACCESS.md, components/jobs/kustomization.yaml, components/reports/kustomization.yaml, components/web/kustomization.yaml). Run `rekey synth` and commit dist/.\n');
  });

  it('exits 1 on a ledger edited by hand', async () => {
    const dir = await rotated();
    const path = join(dir, 'rekey.ledger.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/rotatedAt: \S+/, 'rotatedAt: 2030-01-01T00:00:00.000Z'));
    const r = await cli(dir, ['check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rekey: error: rekey\.ledger\.yaml credentials\.reports\.integrity does not match the entry's content \(edited by hand, or a merge conflict resolved line by line\?\): got sha256:[0-9a-f]{64}\. Take the reports entry whole/);
  });
});

describe('rekey fingerprint', () => {
  it('prints the fingerprint to pin, and refuses a missing file', async () => {
    const dir = project();
    expect(await cli(dir, ['fingerprint', 'cert.pem'])).toEqual({ code: 0, stdout: 'SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g\n', stderr: '' });
    expect(await cli(dir, ['fingerprint', 'nope.pem'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'rekey: error: rekey fingerprint nope.pem cannot be read: got ENOENT. Fetch it with `kubeseal --fetch-cert > nope.pem`.\n',
    });
  });
});

describe('rekey status', () => {
  it("shows every credential's age, next due date, generation and consumers", async () => {
    const dir = project();
    const never = await cli(dir, ['status', '--output', 'json'], NOW);
    expect(JSON.parse(never.stdout).map((r: { state: string }) => r.state)).toEqual(['never-rotated', 'never-rotated']);
    await cli(dir, ['rotate', 'uploads', 'reports'], NOW);
    const r = await cli(dir, ['status'], new Date('2026-11-11T10:00:00Z'));
    const rows = await cli(dir, ['status', '--output', 'json'], new Date('2026-11-11T10:00:00Z'));
    const json = JSON.parse(rows.stdout);
    expect(json.map((x: any) => [x.credential, x.generation, x.ageDays, x.nextDue, x.state])).toEqual([
      ['reports', 1, 10, null, 'manual'],
      ['uploads', 1, 10, '2026-12-01T10:00:00.000Z', 'ok'],
    ]);
    expect(json[1].consumers).toEqual(['CronJob/jobs/cleanup', 'Deployment/web/web']);
    expect(r.stdout.split('\n')[0]).toBe('CREDENTIAL  PROVIDER  GEN  ACCESS KEY ID         AGE  NEXT DUE    STATE   CONSUMERS');
    expect(r.stdout).toContain(`uploads     rustfs    1    ${json[1].accessKeyId}  10d  2026-12-01  ok      CronJob/jobs/cleanup, Deployment/web/web`);
  });
});

describe('help and options per command', () => {
  it.each(['synth', 'rotate', 'adopt', 'check', 'status', 'fingerprint', 'schema'])('GIVEN rekey %s --help WHEN run THEN exit 0 with its usage', async (command) => {
    const dir = project();
    const r = await cli(dir, [command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: rekey ${command}\\b`));
    expect(r.stderr).toBe('');
  });

  it('GIVEN --output on a command that prints no table WHEN run THEN exit 1 naming the usage, nothing written', async () => {
    const dir = project();
    const before = snapshotTree(dir);
    const r = await cli(dir, ['synth', '--output', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("rekey: error: rekey synth arguments are invalid: got \"--output json\" (Unknown option '--output'). Usage: rekey synth [--dir <project>]\n");
    expect(snapshotTree(dir)).toEqual(before);
  });
});
