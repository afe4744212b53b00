import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BuildOptions, Metafile } from 'esbuild';
import { ExitCode, RekeyError } from '../core/errors.js';

/**
 * The rotator bundle: `lib/rotator/main.ts` and everything it imports, as one deterministic,
 * minified ESM file (`rotator.mjs`) for Node.js 24, shipped gzipped in the rotator bundle
 * ConfigMap's `binaryData` so the pull request shows the exact code that will hold the admin key.
 *
 * Where it comes from:
 * - from source (this repository: tsx, jest) it is built with esbuild, a devDependency, on
 *   first use in the process — edits to `lib/rotator` show up in the next synth;
 * - from the compiled package (`build/lib/...`, what npm users import) it is read from
 *   `build/rotator/rotator.mjs.gz`, which `npm run build` / `prepare` writes next to the
 *   compiled code (`scripts/build-rotator.mjs`), so users need no esbuild at synth time.
 */

/** Name of the bundle file: the ConfigMap key (`rotator.mjs.gz` in binaryData) decodes to it. */
export const ROTATOR_BUNDLE_FILE = 'rotator.mjs';
/** Key of the gzipped bundle in the ConfigMap's `binaryData`. */
export const ROTATOR_BUNDLE_KEY = 'rotator.mjs.gz';
/** Where the rotation Jobs (and the project's Dockerfile) put the bundle; the Job runs `node /rotator/rotator.mjs`. */
export const ROTATOR_BUNDLE_PATH = '/rotator/rotator.mjs';
/** The prebuilt bundle, relative to the package root. */
export const PREBUILT_ROTATOR_BUNDLE = 'build/rotator/rotator.mjs.gz';
/** A ConfigMap holds at most 1 MiB; binaryData counts base64-decoded, i.e. the gzipped bytes. */
export const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;

/** Where the rotation Jobs mount the bundle ConfigMap. */
export const ROTATOR_BUNDLE_MOUNT = '/etc/rekey/bundle';

/**
 * The init container's `node -e` script for the stock Node image: gunzips the bundle ConfigMap
 * (`$REKEY_BUNDLE_GZ`, default `/etc/rekey/bundle/rotator.mjs.gz`) into an emptyDir
 * (`$REKEY_BUNDLE_OUT`, default `/rotator/rotator.mjs`) after checking its SHA-256 against
 * `$REKEY_BUNDLE_SHA256` — so the Job runs exactly the code the pull request showed — and exits 1
 * with one line otherwise. The main container then runs `node /rotator/rotator.mjs --step <step>`,
 * the same command as in an image built from the project's Dockerfile.
 */
export const ROTATOR_UNPACK_SCRIPT = [
  "const fs=require('node:fs'),zlib=require('node:zlib'),crypto=require('node:crypto');",
  "const src=process.env.REKEY_BUNDLE_GZ||'/etc/rekey/bundle/rotator.mjs.gz',out=process.env.REKEY_BUNDLE_OUT||'/rotator/rotator.mjs',want=process.env.REKEY_BUNDLE_SHA256||'';",
  "let code;try{code=zlib.gunzipSync(fs.readFileSync(src))}catch(e){console.error(JSON.stringify({level:'error',msg:'rotator bundle '+src+' cannot be read: got '+(e.code||e.message)+'. Mount the rotator bundle ConfigMap there (rekey synth renders it).',code:'BUNDLE_UNREADABLE',exitCode:1}));process.exit(1)}",
  "const got=crypto.createHash('sha256').update(code).digest('hex');",
  "if(got!==want){console.error(JSON.stringify({level:'error',msg:'rotator bundle '+src+' has another SHA-256 than the Job expects: got '+got+'. Sync the bundle ConfigMap and the Jobs of the same rekey synth.',code:'BUNDLE_MISMATCH',exitCode:1}));process.exit(1)}",
  "fs.writeFileSync(out,code,{mode:0o444});",
].join('');

/** The bundle as synthesis embeds it. */
export interface RotatorBundle {
  /** The gzipped bundle (deterministic: no name, mtime 0, fixed OS byte). */
  readonly gzip: Buffer;
  /** SHA-256 (hex) of the decoded bundle: what the Job's pod template and the record name. */
  readonly sha256: string;
  /** Size of the decoded bundle in bytes. */
  readonly rawBytes: number;
  /** Size of the gzipped bundle in bytes. */
  readonly gzipBytes: number;
}

/** A fresh build, with what went into it. */
export interface RotatorBuild {
  readonly bundle: RotatorBundle;
  /** The decoded bundle. */
  readonly code: Buffer;
  /** Input files, relative to the package root, sorted. */
  readonly inputs: readonly string[];
  /** Bundled npm packages as `name@version (license)`, sorted. */
  readonly packages: readonly string[];
}

/** The rotator may import lib/core, lib/providers and npm packages — never cdk8s or the offline parts. */
const FORBIDDEN_INPUT = /(^|\/)node_modules\/(cdk8s[^/]*|constructs)\/|^lib\/(constructs|project|cli)\/|^imports\//;

const BANNER = "import{createRequire as __rekeyRequire}from'node:module';const require=__rekeyRequire(import.meta.url);";

/** The package root (where package.json is), from this module's own location. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // lib/project/rotator-bundle.ts (source) or build/lib/project/rotator-bundle.js (compiled)
  return fromSource() ? resolve(here, '..', '..') : resolve(here, '..', '..', '..');
}

function fromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}

/** The esbuild options of the rotator bundle. Every one matters for determinism or size. */
export function rotatorBuildOptions(root: string = packageRoot()): BuildOptions & { metafile: true; write: false } {
  return {
    absWorkingDir: root,
    entryPoints: [join(root, 'lib', 'rotator', 'main.ts')],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    // tree-shakeable ESM builds of dependencies: about 0.5 MB less than their CommonJS mains
    mainFields: ['module', 'main'],
    // Node built-ins required from bundled CommonJS code
    banner: { js: BANNER },
    // client-node's node-fetch@2 (via whatwg-url/tr46) requires the deprecated built-in
    // punycode: Node 24 prints DEP0040 on stderr, which breaks the rotator's JSON-lines log.
    // The npm package of the same name is the maintained copy.
    alias: { punycode: 'punycode/' },
    sourcemap: false,
    // license comments of bundled code, collected at the end in input order (deterministic)
    legalComments: 'eof',
    charset: 'ascii',
    logLevel: 'silent',
  };
}

/**
 * Builds the bundle with esbuild (a devDependency: available in this repository, not to npm users).
 * @throws RekeyError `ROTATOR_BUNDLE` when esbuild fails, a forbidden module is bundled, or it exceeds 1 MiB
 */
export function buildRotatorBundle(root: string = packageRoot()): RotatorBuild {
  const esbuild = loadEsbuild(root);
  let result;
  try {
    result = esbuild.buildSync(rotatorBuildOptions(root));
  } catch (e) {
    const first = (e as { errors?: Array<{ text: string; location?: { file: string; line: number } }> }).errors?.[0];
    const at = first?.location ? `${first.location.file}:${first.location.line} ` : '';
    throw bundleError(`rotator bundle lib/rotator/main.ts does not build: got ${at}${first?.text ?? String(e)}. Fix the rotator source.`, e);
  }
  const out = result.outputFiles[0];
  if (!out) throw bundleError('rotator bundle lib/rotator/main.ts produced no output: got nothing. Report this: esbuild wrote no file.');
  const inputs = Object.keys(result.metafile.inputs).map((p) => p.split(sep).join('/')).sort();
  const forbidden = inputs.filter((p) => FORBIDDEN_INPUT.test(p));
  if (forbidden.length > 0) {
    throw bundleError(
      `rotator bundle imports code that must not run in the cluster: got ${forbidden.slice(0, 3).join(', ')}${forbidden.length > 3 ? ', ...' : ''}. Import only lib/core, lib/providers and npm packages from lib/rotator (no cdk8s, constructs, lib/constructs, lib/project, lib/cli).`,
    );
  }
  const packages = bundledPackages(root, result.metafile);
  const footer = `\n/*! rekey rotator. Bundled packages: ${packages.length ? packages.join(', ') : 'none'} */\n`;
  const code = Buffer.concat([Buffer.from(out.contents), Buffer.from(footer, 'utf8')]);
  const bundle = bundleFromCode(code);
  if (bundle.gzipBytes >= CONFIGMAP_LIMIT_BYTES) {
    throw bundleError(
      `rotator bundle is ${bundle.gzipBytes} bytes gzipped: got more than the ConfigMap limit of ${CONFIGMAP_LIMIT_BYTES} bytes (binaryData counts decoded). Import less into lib/rotator (check the esbuild metafile), or set rotator.image to an image built from the project's Dockerfile.`,
    );
  }
  return { bundle, code, inputs, packages };
}

/** Gzips a decoded bundle deterministically and describes it. */
export function bundleFromCode(code: Buffer): RotatorBundle {
  const gzip = gzipSync(code, { level: 9 });
  // RFC 1952 header: no file name, MTIME 0 (node:zlib writes both); fix XFL and OS so the bytes
  // do not depend on the machine that compressed them
  gzip[8] = 2; // XFL: maximum compression
  gzip[9] = 3; // OS: Unix
  return { gzip, sha256: createHash('sha256').update(code).digest('hex'), rawBytes: code.length, gzipBytes: gzip.length };
}

/** Reads a gzipped bundle (the prebuilt file, or a ConfigMap's binaryData). */
export function bundleFromGzip(gzip: Buffer, where: string): RotatorBundle {
  let code: Buffer;
  try {
    code = gunzipSync(gzip);
  } catch (e) {
    throw bundleError(`${where} is not a gzipped rotator bundle: got ${(e as Error).message}. Rebuild it with npm run build.`, e);
  }
  return { gzip: Buffer.from(gzip), sha256: createHash('sha256').update(code).digest('hex'), rawBytes: code.length, gzipBytes: gzip.length };
}

let cached: RotatorBundle | undefined;

/**
 * The bundle synthesis embeds: built from source when this module runs from source, else the
 * prebuilt `build/rotator/rotator.mjs.gz` (falling back to esbuild when that file is missing
 * and esbuild is installed). Memoized per process.
 * @throws RekeyError `ROTATOR_BUNDLE` when neither is available
 */
export function rotatorBundle(): RotatorBundle {
  if (cached) return cached;
  const root = packageRoot();
  const prebuilt = join(root, PREBUILT_ROTATOR_BUNDLE);
  if (fromSource() || !existsSync(prebuilt)) {
    if (!fromSource() && !esbuildAvailable(root)) {
      throw bundleError(
        `rekey ${PREBUILT_ROTATOR_BUNDLE} is missing: got nothing at ${prebuilt}. Reinstall rekey (its package ships the bundle), or run npm run build in a checkout.`,
      );
    }
    cached = cachedSourceBuild(root);
  } else {
    cached = bundleFromGzip(readFileSync(prebuilt), prebuilt);
  }
  return cached;
}

/** Where a build from source is cached (git-ignored), with what it was built from. */
export const ROTATOR_BUILD_CACHE = '.rekey-cache/rotator';

/**
 * A build from source, reused while none of its inputs changed: the cache records every input
 * file of the last build (from esbuild's metafile) with its size and modification time, the
 * esbuild version and the build options; any difference rebuilds. The cached bundle's SHA-256 is
 * checked on read. Saves seconds on every synth in a checkout (esbuild bundles the AWS SDK and
 * client-node each time otherwise). A cache that cannot be written is skipped.
 */
function cachedSourceBuild(root: string): RotatorBundle {
  const dir = join(root, ROTATOR_BUILD_CACHE);
  const salt = JSON.stringify({ esbuild: loadEsbuild(root).version, options: rotatorBuildOptions(root) });
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { salt: string; sha256: string; inputs: Array<[string, number, number]> };
    if (m.salt === salt && m.inputs.every(([p, size, mtime]) => sameFile(join(root, p), size, mtime))) {
      const bundle = bundleFromGzip(readFileSync(join(dir, ROTATOR_BUNDLE_KEY)), join(dir, ROTATOR_BUNDLE_KEY));
      if (bundle.sha256 === m.sha256) return bundle;
    }
  } catch {
    // no cache, or an unreadable one: build
  }
  const build = buildRotatorBundle(root);
  try {
    mkdirSync(dir, { recursive: true });
    const inputs = build.inputs.map((p): [string, number, number] => {
      const st = statSync(join(root, p));
      return [p, st.size, st.mtimeMs];
    });
    const suffix = `${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(join(dir, `${ROTATOR_BUNDLE_KEY}.${suffix}`), build.bundle.gzip);
    renameSync(join(dir, `${ROTATOR_BUNDLE_KEY}.${suffix}`), join(dir, ROTATOR_BUNDLE_KEY));
    writeFileSync(join(dir, `manifest.json.${suffix}`), JSON.stringify({ salt, sha256: build.bundle.sha256, inputs }) + '\n');
    renameSync(join(dir, `manifest.json.${suffix}`), join(dir, 'manifest.json'));
  } catch {
    // a read-only checkout: the next run builds again
  }
  return build.bundle;
}

function sameFile(path: string, size: number, mtimeMs: number): boolean {
  try {
    const st = statSync(path);
    return st.size === size && st.mtimeMs === mtimeMs;
  } catch {
    return false;
  }
}

function loadEsbuild(root: string): typeof import('esbuild') {
  try {
    return createRequire(join(root, 'package.json'))('esbuild') as typeof import('esbuild');
  } catch (e) {
    throw bundleError(`rotator bundle needs esbuild to build from source: got ${(e as NodeJS.ErrnoException).code ?? String(e)}. Run npm install in the rekey checkout (esbuild is a devDependency).`, e);
  }
}

function esbuildAvailable(root: string): boolean {
  try {
    createRequire(join(root, 'package.json')).resolve('esbuild');
    return existsSync(join(root, 'lib', 'rotator', 'main.ts'));
  } catch {
    return false;
  }
}

/** `name@version (license)` of every npm package with code in the output. */
function bundledPackages(root: string, metafile: Metafile): string[] {
  const dirs = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput === 0) continue;
      const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.split(sep).join('/'));
      if (m) dirs.add(m[1]!);
    }
  }
  const out = new Set<string>();
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    out.add(`${pkg.name}@${pkg.version} (${pkg.license ?? 'see package'})`);
  }
  return [...out].sort();
}

function bundleError(message: string, cause?: unknown): RekeyError {
  return new RekeyError('ROTATOR_BUNDLE', message, { exitCode: ExitCode.INTERNAL, cause });
}

/** @internal for tests: forget the memoized bundle. */
export function resetRotatorBundleCache(): void {
  cached = undefined;
}
