import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { ExitCode, RekeyError, ValidationError } from '../core/errors.js';
import { parseModel, type RekeyModel } from '../core/model.js';
import { appLaunch, type AppLaunch } from './app-runner.js';
import { APP_ERROR_PREFIX, LEDGER_ENV, MODEL_ONLY_ENV, MODEL_OUT_ENV, RekeyApp } from './app.js';
import { commitWork, discardUncommitted, newWorkDir, recoverProject, type StepHook } from './journal.js';
import { Ledger } from './ledger.js';
import { withProjectLock } from './lock.js';
import { chartFromSpecDocument, SPEC_ENV } from './spec-app.js';
import { loadSpecDocument, parseSpecDocument, type SpecDocument } from './spec.js';

/** Options of `synthesize`. */
export interface SynthesizeOptions {
  /** Project folder (holds rekey.yaml, and cdk8s.yaml when there is a TypeScript app). */
  readonly dir: string;
  /** Output folder (created). Ignored with `modelOnly`. */
  readonly outdir: string;
  /** Ledger to read. @default - rekey.ledger.yaml in dir */
  readonly ledgerPath?: string;
  /** Where the app's warnings go. @default - stderr */
  readonly warn?: (line: string) => void;
  /** Only ask the app for its model: no manifests are written, the ledger is not rendered. @default false */
  readonly modelOnly?: boolean;
  /**
   * The ledger at `ledgerPath`, already loaded (a rotation renders the ledger it just built):
   * rendered in-process without reading the file again. A TypeScript app reads `ledgerPath`.
   * @default - loaded from ledgerPath
   */
  readonly ledger?: Ledger;
}

/** The spec last parsed in this process, by path and text: a rotation asks for the model and renders, from one parse. */
let lastSpec: { readonly path: string; readonly text: string; readonly doc: SpecDocument } | undefined;

function specDocument(path: string): SpecDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return loadSpecDocument(path, 'rekey.yaml'); // throws the one-line error for a missing spec
  }
  if (lastSpec?.path === path && lastSpec.text === text) return lastSpec.doc;
  const doc = parseSpecDocument(text, { file: 'rekey.yaml' });
  lastSpec = { path, text, doc };
  return doc;
}

/**
 * Runs the project's app and returns its model; unless `modelOnly`, renders it into
 * `outdir`. With a `cdk8s.yaml`, runs its `app` command (as `cdk8s synth` would, with
 * CDK8S_OUTDIR set); without one, renders rekey.yaml alone in-process. A rekey error inside
 * the app comes back as the same one-line error.
 */
export async function synthesize(options: SynthesizeOptions): Promise<RekeyModel> {
  const dir = resolve(options.dir);
  const warn = options.warn ?? ((l: string) => process.stderr.write(l + '\n'));
  const ledgerPath = resolve(options.ledgerPath ?? join(dir, 'rekey.ledger.yaml'));
  const cdk8sYaml = join(dir, 'cdk8s.yaml');
  if (!existsSync(cdk8sYaml)) {
    const app = new RekeyApp({ outdir: resolve(options.outdir), ledger: options.ledger ?? Ledger.load(ledgerPath, 'rekey.ledger.yaml') });
    chartFromSpecDocument(app, 'rekey', specDocument(join(dir, 'rekey.yaml')), options.modelOnly ? () => undefined : warn);
    const model = app.model();
    if (!options.modelOnly) app.synth();
    return model;
  }
  const config = parse(readFileSync(cdk8sYaml, 'utf8')) as { app?: string } | null;
  if (!config?.app) {
    throw new ValidationError(`cdk8s.yaml app is required: got nothing. Set app: npx tsx main.ts.`);
  }
  const work = mkdtempSync(join(tmpdir(), 'rekey-model-'));
  try {
    const modelFile = join(work, 'model.json');
    const launch = await appLaunch(dir, config.app);
    const { code, stderr } = await run(launch, dir, {
      CDK8S_OUTDIR: options.modelOnly ? join(work, 'dist') : resolve(options.outdir),
      [LEDGER_ENV]: ledgerPath,
      [SPEC_ENV]: join(dir, 'rekey.yaml'),
      [MODEL_OUT_ENV]: modelFile,
      ...(options.modelOnly ? { [MODEL_ONLY_ENV]: '1' } : {}),
    });
    const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
    const errLines = lines.filter((l) => l.startsWith(APP_ERROR_PREFIX));
    if (!options.modelOnly) for (const l of lines) if (!l.startsWith(APP_ERROR_PREFIX)) warn(l);
    if (code !== 0) {
      if (errLines.length > 0 && code === ExitCode.BAD_INPUT) {
        throw new ValidationError(errLines.map((l) => l.slice(APP_ERROR_PREFIX.length)).join('\n'), { code: 'APP_INVALID' });
      }
      throw new RekeyError('SYNTH_FAILED', `cdk8s app \`${config.app}\` failed with exit code ${code}: got ${JSON.stringify(lines.slice(-3).join(' | '))}. Fix the app (run it directly to see the whole error).`, {
        exitCode: ExitCode.INTERNAL,
      });
    }
    const where = `the app \`${config.app}\` (cdk8s.yaml)`;
    if (!existsSync(modelFile)) return parseModel(null, where);
    return parseModel(JSON.parse(readFileSync(modelFile, 'utf8')), where);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function run(launch: AppLaunch, cwd: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const options = { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'] };
    const child = launch.shell ? spawn(launch.command, { ...options, shell: true }) : spawn(launch.command, [...launch.args], options);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? ExitCode.INTERNAL, stderr }));
  });
}

/** Options of `renderProject`. */
export interface RenderProjectOptions {
  /** Project folder. */
  readonly dir: string;
  /** Output folder, relative to dir. @default 'dist' */
  readonly outdir?: string;
  /** Where the app's warnings (and recovery notes) go. @default - stderr */
  readonly warn?: (line: string) => void;
  /** Called after each step of the swap (crash tests). @default - REKEY_CRASH_AT */
  readonly hook?: StepHook;
}

/**
 * `rekey synth`: under the project lock, completes an interrupted run and removes leftovers,
 * renders dist/ into a work folder and swaps it in (crash-safe, see journal.ts) only when the
 * app succeeded.
 */
export async function renderProject(options: RenderProjectOptions): Promise<void> {
  const dir = resolve(options.dir);
  const warn = options.warn ?? ((l: string) => process.stderr.write(l + '\n'));
  await withProjectLock(
    dir,
    async () => {
      for (const done of recoverProject(dir, options.hook)) warn(`rekey: ${done}`);
      const ledgerPath = join(dir, 'rekey.ledger.yaml');
      const { ledger, text: before } = Ledger.read(ledgerPath, 'rekey.ledger.yaml');
      const work = newWorkDir(dir);
      try {
        const model = await synthesize({ dir, outdir: join(work, 'dist'), warn, ledger });
        // A credential added to the spec after the ledger was last written has no placeholder line
        // there yet: without one, two pull requests that each rotate such a credential for the
        // first time would insert their entries at the same place. The render that adds it to
        // dist/ gives it its line (comments only: the ledger's content is unchanged).
        const unplaced = before !== undefined && model.credentials.some((c) => !ledger.get(c.name) && !ledger.adopted(c.name) && !before.includes(`\n  # --- credential ${c.name}: never rotated ---\n`));
        if (unplaced) {
          ledger.withDeclared(model.credentials.map((c) => c.name)).save(join(work, 'rekey.ledger.yaml'), { mode: statSync(ledgerPath).mode & 0o7777 });
          if (readFileSync(ledgerPath, 'utf8') !== before) {
            throw new ValidationError('rekey.ledger.yaml changed while rekey synth ran: got a different file than the one read at the start. Nothing was written; run rekey synth again.', { code: 'LEDGER_CHANGED' });
          }
        }
        commitWork(dir, work, { outdir: options.outdir ?? 'dist', ledger: unplaced, hook: options.hook });
      } finally {
        discardUncommitted(work);
      }
    },
    { command: 'rekey synth' },
  );
}

/** A fresh temporary folder inside `dir` (same filesystem, so renames are atomic). */
export function tempDirIn(dir: string, prefix = '.rekey-tmp-'): string {
  return mkdtempSync(join(dir, prefix));
}

/**
 * Replaces `dest` with `src`: `dest` is renamed aside, `src` renamed into place, the old
 * copy removed. Never leaves `dest` missing except between two renames.
 */
export function replaceDir(src: string, dest: string): void {
  const aside = `${dest}.rekey-old-${process.pid}`;
  rmSync(aside, { recursive: true, force: true });
  const had = existsSync(dest);
  if (had) renameSync(dest, aside);
  try {
    renameSync(src, dest);
  } catch (e) {
    if (had) renameSync(aside, dest);
    throw e;
  }
  rmSync(aside, { recursive: true, force: true });
}

/** Relative paths of the files that differ between two trees (added, removed or changed), sorted. */
export function diffTrees(a: string, b: string): string[] {
  const fa = listFiles(a);
  const fb = listFiles(b);
  const all = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  return all.filter((rel) => {
    const x = fa.get(rel);
    const y = fb.get(rel);
    return x === undefined || y === undefined || !readFileSync(x).equals(readFileSync(y));
  });
}

function listFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(root)) return out;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), p);
    }
  };
  walk(root);
  return out;
}
