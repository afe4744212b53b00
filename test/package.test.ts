import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ledger } from '../lib/project/ledger.js';
import { cli, readManifests, removeProject, tempProject } from './support/project.js';
import { validateManifests } from './support/validate.js';

/** The package as a library user and a CLI user get it: compiled, imported by name, run as a process. */
let dir: string;
const apps: string[] = [];
beforeAll(() => {
  execFileSync('npm', ['run', 'build'], { stdio: 'pipe' });
  dir = tempProject();
}, 180_000);
afterAll(() => {
  removeProject(dir);
  for (const d of apps) rmSync(d, { recursive: true, force: true });
});

const NOW = new Date('2026-11-01T10:00:00.000Z');
const CERT = 'sealed-secrets.pem';

/**
 * A project folder of a TypeScript user: main.ts, cdk8s.yaml (`app: npx tsx main.ts`), the
 * sealing certificate, and optionally rekey.yaml. It lives inside this repository so that
 * `import 'cdk8s-rekey'` resolves to the built package (a package may import itself by name).
 */
function appProject(mainTs: string, rekeyYaml?: string): string {
  const d = mkdtempSync(join(process.cwd(), '.test-app-'));
  apps.push(d);
  writeFileSync(join(d, 'main.ts'), mainTs);
  writeFileSync(join(d, 'cdk8s.yaml'), 'language: typescript\napp: npx tsx main.ts\noutput: dist\n');
  copyFileSync(CERT, join(d, CERT));
  if (rekeyYaml !== undefined) writeFileSync(join(d, 'rekey.yaml'), rekeyYaml);
  return d;
}

/** The one TypeScript code block of the README's "From TypeScript" section. */
function readmeSnippet(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### From TypeScript'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md has no ts block under "### From TypeScript"');
  return m[1]!;
}

describe('the built package', () => {
  it('is importable from plain Node by its name (package.json exports → build/)', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('cdk8s-rekey'); console.log([typeof m.seal, typeof m.Credential, typeof m.RekeyChart, typeof m.RekeyApp].join(','))"],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function,function,function,function');
  });

  it('keeps the provider clients in cdk8s-rekey/providers: an app that only renders never loads the AWS SDK', () => {
    const script = [
      "import { createRequire } from 'node:module';",
      "const main = await import('cdk8s-rekey');",
      // what the main entry point loaded, by the package folders of the files node opened for it
      "const loaded = (mod) => Object.keys(createRequire(import.meta.url)('module')._cache ?? {}).some((f) => f.includes(`/node_modules/${mod}/`));",
      "const before = ['@aws-sdk', '@smithy'].filter(loaded);",
      "const p = await import('cdk8s-rekey/providers');",
      "console.log(JSON.stringify({ before, main: [typeof main.MinioAdminClient, typeof main.madmin], providers: [typeof p.MinioAdminClient, typeof p.RgwAdminClient, typeof p.AwsIamClient, typeof p.verifyRejected, typeof p.madmin?.encryptData], after: ['@aws-sdk', '@smithy'].filter(loaded) }));",
    ].join('\n');
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, string[]>;
    expect(out).toEqual({ before: [], main: ['undefined', 'undefined'], providers: ['function', 'function', 'function', 'function', 'function'], after: ['@aws-sdk', '@smithy'] });
  });

  it('exports the public API only: no CLI internals, test helpers, file plumbing or error formatters', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('cdk8s-rekey'); console.log(JSON.stringify(Object.keys(m).sort()))"], { encoding: 'utf8' });
    const names = JSON.parse(out) as string[];
    for (const internal of ['runCli', 'MemoryLogger', 'unseal', 'writeFileAtomic', 'synthesize', 'diffTrees', 'replaceDir', 'tempDirIn', 'formatPath', 'show', 'valueAt', 'renderProblem', 'status', 'check', 'loadProject']) {
      expect(names).not.toContain(internal);
    }
  });

  it('the rekey bin exits 1 with one line on bad input, 0 on success, 2 when a rotation is due', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['bin/rekey.js', ...args, '--dir', dir], { encoding: 'utf8' });
    const bad = run('rotate', 'nope');
    expect([bad.status, bad.stderr, bad.stdout]).toEqual([1, 'rekey: error: rekey rotate credential is not defined in this project: got "nope". Use one of: uploads, reports.\n', '']);
    const due = run('rotate', '--due', '--check');
    expect([due.status, due.stdout]).toEqual([2, 'due: uploads\n']);
    const ok = run('rotate', 'uploads');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^rotated uploads: generation 1, access key [A-Z0-9]{20}\n/);
    expect(ok.stdout).toContain('after the merge the rotation Jobs register the new key, deliver it, and retire the old one only once no consumer holds it.');
    expect(ok.stdout).not.toContain('NOTE');
  });
});

describe('one model: a credential declared only in TypeScript', () => {
  it("GIVEN the README's TypeScript snippet verbatim as main.ts WHEN rotated THEN it renders, wires the consumer, and passes rekey check and status", async () => {
    // GIVEN
    const d = appProject(readmeSnippet());
    // WHEN
    const rotated = await cli(d, ['rotate', 'uploads', '--output', 'json'], NOW);
    // THEN
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const { rotated: out } = JSON.parse(rotated.stdout) as { rotated: Array<{ credential: string; generation: number; accessKeyId: string }> };
    expect(out.map((r) => [r.credential, r.generation])).toEqual([['uploads', 1]]);
    expect(Ledger.load(join(d, 'rekey.ledger.yaml')).get('uploads')!.accessKeyId).toBe(out[0]!.accessKeyId);
    const docs = readManifests(join(d, 'dist'));
    const sealed = docs.find((o) => o.kind === 'SealedSecret' && o.metadata.name === 'uploads-s3')!;
    expect(sealed.metadata.namespace).toBe('web');
    expect(sealed.metadata.annotations['rekey.dev/access-key-id']).toBe(out[0]!.accessKeyId);
    const api = docs.find((o) => o.kind === 'Deployment')!;
    expect(api.spec.template.spec.containers[0].envFrom).toEqual([{ prefix: 'S3_', secretRef: { name: 'uploads-s3' } }]);
    expect(api.spec.template.metadata.annotations['rekey.dev/uploads-checksum']).toMatch(/^[0-9a-f]{16}$/);
    expect(readFileSync(join(d, 'dist/components/web/kustomization.yaml'), 'utf8')).toContain('name: trino-worker');
    expect(validateManifests(docs)).toEqual([]);
    const check = await cli(d, ['check']);
    expect([check.code, check.stderr]).toEqual([0, '']);
    const status = await cli(d, ['status', '--output', 'json'], NOW);
    const rows = JSON.parse(status.stdout) as Array<{ credential: string; generation: number; consumers: string[] }>;
    expect(rows.map((r) => [r.credential, r.generation])).toEqual([['uploads', 1]]);
    expect(rows[0]!.consumers).toEqual(['Deployment/web/trino-worker', `Deployment/web/${api.metadata.name}`]);
  }, 120_000);

  it('GIVEN a mixed project (rekey.yaml and a TypeScript credential) WHEN both are rotated THEN both render and rekey check passes', async () => {
    // GIVEN
    const yaml = readFileSync('test/fixtures/project/rekey.yaml', 'utf8').replace(/certificate: .*/, `certificate: ${CERT}`);
    const main = `import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { AliasSet, Credential, Delivery, loadSpecChart, RekeyApp, runApp } from 'cdk8s-rekey';

runApp(() => {
  const app = new RekeyApp();
  const spec = loadSpecChart(app, 'rekey');
  const extra = new Credential(spec.chart, 'ml', {
    provider: spec.providers.get('rustfs')!,
    identity: { kind: 'serviceAccount', name: 'ml' },
    aliases: [AliasSet.aws()],
    delivery: Delivery.sealed(),
    targets: [{ namespace: 'ml', secretName: 'ml-s3' }],
  });
  const ml = new Chart(app, 'ml', { namespace: 'ml' });
  extra.consumedBy(new kplus.Deployment(ml, 'trainer', { containers: [{ image: 'example/trainer:1' }] }), { file: { mountPath: '/var/run/s3' } });
  spec.credential('uploads').consumedBy(new kplus.Deployment(new Chart(app, 'web', { namespace: 'web' }), 'api', { containers: [{ image: 'example/api:1' }] }), { env: { S3_KEY: 'access-key', S3_SECRET: 'secret-key' } });
  app.synth();
});
`;
    const d = appProject(main, yaml);
    // WHEN
    const r = await cli(d, ['rotate', 'ml', 'uploads', 'reports'], NOW);
    // THEN
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(Ledger.load(join(d, 'rekey.ledger.yaml')).names()).toEqual(['ml', 'reports', 'uploads']);
    const docs = readManifests(join(d, 'dist'));
    expect(docs.filter((o) => o.kind === 'SealedSecret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual(
      ['jobs/uploads-s3', 'ml/ml-s3', 'rekey-system/rekey-ml-g1-staging', 'rekey-system/rekey-reports-g1-staging', 'rekey-system/rekey-uploads-g1-staging', 'reports/reports-s3', 'web/uploads-s3'],
    );
    const trainer = docs.find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'ml')!;
    expect(trainer.spec.template.spec.volumes).toEqual([{ name: 'rekey-ml-s3', secret: { secretName: 'ml-s3' } }]);
    expect(trainer.spec.template.spec.containers[0].volumeMounts).toEqual([{ name: 'rekey-ml-s3', mountPath: '/var/run/s3', readOnly: true }]);
    const api = docs.find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'web')!;
    expect(api.spec.template.spec.containers[0].env).toEqual([
      { name: 'S3_KEY', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'access-key' } } },
      { name: 'S3_SECRET', valueFrom: { secretKeyRef: { name: 'uploads-s3', key: 'secret-key' } } },
    ]);
    expect(validateManifests(docs)).toEqual([]);
    expect((await cli(d, ['check'])).code).toBe(0);
  }, 120_000);

  it('GIVEN main.ts binding a credential rekey.yaml lacks WHEN synthesized THEN exit 1 with one line naming the credential and both places, nothing written', async () => {
    const yaml = readFileSync('test/fixtures/project/rekey.yaml', 'utf8').replace(/certificate: .*/, `certificate: ${CERT}`);
    const main = `import { loadSpecChart, RekeyApp, runApp } from 'cdk8s-rekey';
runApp(() => {
  const app = new RekeyApp();
  loadSpecChart(app, 'rekey').credential('upload');
  app.synth();
});
`;
    const d = appProject(main, yaml);
    const r = await cli(d, ['synth']);
    expect([r.code, r.stdout]).toEqual([1, '']);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('rekey: error'));
    expect(errors).toEqual(['rekey: error: rekey.yaml credentials has no credential "upload", which the app binds with SpecChart.credential(): got uploads, reports. Define upload in rekey.yaml, or fix the name in the app.']);
    expect(r.stderr).not.toContain('    at ');
    expect(existsSync(join(d, 'dist'))).toBe(false);
  }, 120_000);
});

describe('installable by name', () => {
  it('GIVEN npm pack WHEN the tarball is installed into an empty folder THEN rekey --help, init, rotate, synth and check work there, within the size budget', () => {
    // GIVEN the packed package (build/ is fresh from beforeAll)
    const work = mkdtempSync(join(tmpdir(), 'rekey-pack-'));
    apps.push(work);
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { encoding: 'utf8' })) as Array<{ filename: string; size: number; entryCount: number; files: Array<{ path: string }> }>;
    const files = packed!.files.map((f) => f.path);
    // THEN only the library, the bin, the schema and the README ship
    expect(files.filter((f) => !/^(build\/(lib|imports|rotator)\/|bin\/rekey\.js$|schema\/|README\.md$|package\.json$)/.test(f))).toEqual([]);
    expect(files.some((f) => f.startsWith('build/lib/rotator/'))).toBe(false);
    expect(files).toContain('build/rotator/rotator.mjs.gz');
    expect(packed!.entryCount).toBeLessThanOrEqual(250);
    expect(packed!.size).toBeLessThanOrEqual(1024 * 1024);
    console.log(`npm pack: ${packed!.entryCount} files, ${(packed!.size / 1024).toFixed(0)} KiB packed`);
    // WHEN it is installed into an empty folder (offline from the npm cache that npm ci filled)
    const user = join(work, 'project');
    execFileSync('mkdir', ['-p', user]);
    writeFileSync(join(user, 'package.json'), '{"name":"user-project","private":true,"type":"module"}\n');
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed!.filename)], { cwd: user, stdio: 'pipe' });
    const rekey = (...args: string[]) => spawnSync('npx', ['rekey', ...args], { cwd: user, encoding: 'utf8' });
    // THEN the bin works there
    const help = rekey('--help');
    expect([help.status, help.stdout.split('\n')[0]]).toEqual([0, 'Usage: rekey <command> [options]']);
    copyFileSync(CERT, join(user, CERT));
    const init = rekey('init', '--cert', CERT);
    expect([init.status, init.stderr]).toEqual([0, '']);
    const rotate = rekey('rotate', 'app-s3');
    expect([rotate.status, rotate.stderr]).toEqual([0, '']);
    expect(existsSync(join(user, 'dist', 'rekey.k8s.yaml'))).toBe(true);
    expect(rekey('synth').status).toBe(0);
    expect(rekey('check').status).toBe(0);
  }, 300_000);
});
