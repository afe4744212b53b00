import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { ValidationError } from '../core/errors.js';
import { randomSuffix } from './files.js';
import { MODEL_CACHE_DIR } from './model-cache.js';

/**
 * How the rekey CLI runs a project's cdk8s app (the `app` command of cdk8s.yaml).
 *
 * `npx tsx main.ts` costs seconds per run: npx resolves tsx, tsx starts a loader and compiles
 * every TypeScript file it meets. When the command is one rekey recognises — a TypeScript entry
 * run by tsx or ts-node (`npx tsx main.ts`, `tsx main.ts`, `npx ts-node main.ts`) — rekey
 * compiles the entry and its local imports once with esbuild into `.rekey-cache/app/` (git-ignored),
 * keyed by a hash of every input file's content, of tsconfig.json, package.json and of the
 * esbuild version, and runs the result with the same `node`. Packages (node_modules) stay
 * imports, resolved from the project as before. Module-relative paths keep working: in every
 * local file `import.meta.url`, `import.meta.dirname`, `import.meta.filename`, `__dirname` and
 * `__filename` name the source file, not the cache. cdk8s.yaml is unchanged, so `cdk8s synth`
 * runs the app as it always did.
 *
 * Any other command (or no esbuild to be found: rekey looks in the project, then beside tsx)
 * runs as written, through the shell. `REKEY_APP_COMPILE=0` turns the compile off.
 */

/** How to start the app. */
export interface AppLaunch {
  readonly command: string;
  readonly args: readonly string[];
  /** Run `command` through the shell (the app command as written in cdk8s.yaml). */
  readonly shell: boolean;
  /** The compiled entry, when rekey compiled the app. */
  readonly compiled?: string;
}

/** Set to `0` to run the cdk8s.yaml app command as written (no compile, no cache). */
export const APP_COMPILE_ENV = 'REKEY_APP_COMPILE';

const APP_CACHE = 'app';
/** Part of every cache key: bump when the compile itself changes (options, plugins). */
const COMPILER = 'rekey-app-compile/1';
const TS_RUNNER = /^(?:npx\s+(?:--yes\s+|-y\s+)?)?(?:tsx|ts-node(?:-esm)?)\s+(?:--\s+)?([^\s"'`$;&|<>]+\.(?:ts|mts|cts|tsx))$/;

/** The TypeScript entry of an app command rekey can compile, else undefined. */
export function typeScriptEntry(app: string): string | undefined {
  return TS_RUNNER.exec(app.trim())?.[1];
}

/**
 * The way to run `app` in `dir`: the compiled entry when the command runs a TypeScript file with
 * tsx or ts-node (compiled now when the cache misses), else the command itself.
 * @throws ValidationError `APP_COMPILE` (exit 1) when the TypeScript does not compile
 */
export async function appLaunch(dir: string, app: string): Promise<AppLaunch> {
  const asWritten: AppLaunch = { command: app, args: [], shell: true };
  const entry = typeScriptEntry(app);
  if (entry === undefined || process.env[APP_COMPILE_ENV] === '0') return asWritten;
  const entryPath = resolve(dir, entry);
  if (!existsSync(entryPath)) return asWritten; // let the command report it as it always did
  const esbuild = findEsbuild(dir);
  if (!esbuild) return asWritten;
  const compiled = await compileApp(dir, entryPath, app, esbuild);
  return { command: process.execPath, args: [compiled], shell: false, compiled };
}

type Esbuild = typeof import('esbuild');

/** esbuild from the project, else beside the project's tsx, else rekey's own; undefined when none is installed. */
function findEsbuild(dir: string): Esbuild | undefined {
  const tries: Array<() => Esbuild> = [
    () => createRequire(join(dir, 'package.json'))('esbuild') as Esbuild,
    () => {
      const tsx = createRequire(join(dir, 'package.json')).resolve('tsx/package.json');
      return createRequire(tsx)('esbuild') as Esbuild;
    },
    () => createRequire(import.meta.url)('esbuild') as Esbuild,
  ];
  for (const t of tries) {
    try {
      return t();
    } catch {
      // not there: try the next place
    }
  }
  return undefined;
}

interface Manifest {
  readonly key: string;
  readonly output: string;
  /** Input paths relative to the project (or absolute outside it) → SHA-256 of their content. */
  readonly inputs: Readonly<Record<string, string>>;
}

/**
 * The compiled app for `entryPath`: from the cache when every recorded input still has the same
 * content, else built now (and cached).
 */
export async function compileApp(dir: string, entryPath: string, shown: string, esbuild: Esbuild): Promise<string> {
  const cacheDir = join(dir, MODEL_CACHE_DIR, APP_CACHE);
  const stem = relative(dir, entryPath).replace(/[^A-Za-z0-9._-]+/g, '_');
  const manifestPath = join(cacheDir, `${stem}.json`);
  const format = projectType(dir) === 'module' ? 'esm' : 'cjs';
  const salt = `${COMPILER}\n${esbuild.version}\n${format}\n${process.version.split('.')[0]}\n`;
  const hit = readManifest(manifestPath);
  if (hit && existsSync(join(cacheDir, hit.output)) && keyOf(dir, hit.inputs, salt) === hit.key) return join(cacheDir, hit.output);

  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: dir,
      entryPoints: [entryPath],
      bundle: true,
      packages: 'external',
      platform: 'node',
      format,
      target: `node${process.versions.node.split('.')[0]}`,
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceLocations(format), pureExternals()],
      define: format === 'esm'
        ? { 'import.meta.url': META.url, 'import.meta.dirname': META.dirname, 'import.meta.filename': META.filename }
        : { 'import.meta.url': META.url, 'import.meta.dirname': META.dirname, 'import.meta.filename': META.filename, __dirname: META.dirname, __filename: META.filename },
    });
  } catch (e) {
    const first = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }).errors?.[0];
    const at = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw new ValidationError(
      `cdk8s.yaml app \`${shown}\` does not compile: got ${JSON.stringify(at + (first?.text ?? String(e)))}. Fix ${relative(dir, entryPath)} (or the file named), then run the command again.`,
      { code: 'APP_COMPILE', cause: e },
    );
  }
  const inputs: Record<string, string> = {};
  for (const p of Object.keys(result.metafile!.inputs)) {
    const abs = resolve(dir, p);
    inputs[displayPath(dir, abs)] = hashFile(abs);
  }
  for (const f of ['tsconfig.json', 'package.json']) if (existsSync(join(dir, f))) inputs[f] = hashFile(join(dir, f));
  const key = keyOf(dir, inputs, salt);
  const output = `${stem.replace(/\.[^.]+$/, '')}-${key.slice(0, 16)}.${format === 'esm' ? 'mjs' : 'cjs'}`;
  mkdirSync(cacheDir, { recursive: true });
  const code = result.outputFiles![0]!.contents;
  writeAtomic(join(cacheDir, output), Buffer.from(code));
  writeAtomic(manifestPath, Buffer.from(JSON.stringify({ key, output, inputs } satisfies Manifest) + '\n'));
  // earlier compiles of this entry are never read again
  const prefix = `${stem.replace(/\.[^.]+$/, '')}-`;
  for (const f of readdirSync(cacheDir)) {
    if (f.startsWith(prefix) && /\.(mjs|cjs)$/.test(f) && f !== output) rmSync(join(cacheDir, f), { force: true });
  }
  return join(cacheDir, output);
}

/** The identifiers the per-file constants get (see sourceLocations). */
const META = { url: '__rekeySourceUrl', dirname: '__rekeySourceDirname', filename: '__rekeySourceFilename' } as const;

/**
 * Gives every local file constants naming its own source location, which `define` substitutes
 * for import.meta.url and friends: module-relative paths resolve as they did under tsx.
 */
function sourceLocations(format: 'esm' | 'cjs'): Plugin {
  return {
    name: 'rekey-source-locations',
    setup(build) {
      build.onLoad({ filter: /\.(?:[cm]?[jt]sx?)$/ }, (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const uses = /import\.meta\.(?:url|dirname|filename)/.test(source) || (format === 'cjs' && /\b__(?:dirname|filename)\b/.test(source));
        if (!uses) return undefined;
        const header =
          `const ${META.url} = ${JSON.stringify(pathToFileURL(args.path).href)}, ` +
          `${META.dirname} = ${JSON.stringify(dirname(args.path))}, ${META.filename} = ${JSON.stringify(args.path)};`;
        const ext = /\.([cm]?)([jt]sx?)$/.exec(args.path)!;
        const loader = ext[2] as 'ts' | 'tsx' | 'js' | 'jsx';
        // on the first line, so line numbers in errors stay those of the source
        return { contents: header + source, loader };
      });
    },
  };
}

/**
 * Packages stay imports; one whose package.json says `"sideEffects": false` (the AWS SDK, smithy)
 * is dropped when nothing the app runs uses it, as a bundler would, so the app does not load it.
 */
function pureExternals(): Plugin {
  return {
    name: 'rekey-pure-externals',
    setup(build) {
      const pure = new Map<string, boolean>();
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isAbsolute(args.path) || args.path.startsWith('node:')) return undefined;
        const name = /^(@[^/]+\/[^/]+|[^/]+)/.exec(args.path)?.[1];
        if (!name) return undefined;
        const key = `${args.resolveDir}\0${name}`;
        let sideEffectFree = pure.get(key);
        if (sideEffectFree === undefined) {
          sideEffectFree = false;
          for (let d = args.resolveDir; ; d = dirname(d)) {
            const pkg = join(d, 'node_modules', name, 'package.json');
            if (existsSync(pkg)) {
              try {
                sideEffectFree = (JSON.parse(readFileSync(pkg, 'utf8')) as { sideEffects?: unknown }).sideEffects === false;
              } catch {
                sideEffectFree = false;
              }
              break;
            }
            if (dirname(d) === d) break;
          }
          pure.set(key, sideEffectFree);
        }
        return sideEffectFree ? { path: args.path, external: true, sideEffects: false } : undefined;
      });
    },
  };
}

function keyOf(dir: string, inputs: Readonly<Record<string, string>>, salt: string): string {
  const h = createHash('sha256').update(salt);
  for (const p of Object.keys(inputs).sort()) {
    const abs = isAbsolute(p) ? p : join(dir, p);
    let now: string;
    try {
      now = hashFile(abs);
    } catch {
      return 'missing';
    }
    if (now !== inputs[p]) return 'changed';
    h.update(`${p}\0${now}\n`);
  }
  return h.digest('hex');
}

function hashFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function displayPath(dir: string, abs: string): string {
  const rel = relative(dir, abs);
  return rel.startsWith('..') || isAbsolute(rel) ? abs : rel.split(sep).join('/');
}

function readManifest(path: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    return typeof m.key === 'string' && typeof m.output === 'string' && m.inputs && typeof m.inputs === 'object' && basename(m.output) === m.output ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The module type of the nearest package.json at or above `dir` (as Node and tsx decide it for main.ts). */
function projectType(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { type?: string }).type ?? 'commonjs';
    } catch {
      // no (readable) package.json here: look further up
    }
    if (dirname(d) === d) return 'commonjs';
  }
}

/** Writes a cache file atomically: a concurrent run reads the old or the new bytes, never a torn file. */
function writeAtomic(path: string, bytes: Buffer): void {
  const tmp = `${path}.${randomSuffix()}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o644 });
  renameSync(tmp, path);
}
