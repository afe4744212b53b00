import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { appLaunch, typeScriptEntry } from '../../lib/project/app-runner.js';
import { synthesize } from '../../lib/project/synth.js';
import { cli, snapshotTree } from '../support/project.js';

/**
 * The TypeScript app runs from an esbuild compile cached in .rekey-cache/app/, keyed by the
 * content of every input: an edit of the entry or of a file it imports is seen by the next run;
 * a compile error is one line, exit 1, nothing written.
 */

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A TypeScript project whose app writes an empty model and says on stderr what it computed (warnings reach `warn`). */
function tsProject(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'rekey-app-'));
  dirs.push(d);
  writeFileSync(join(d, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(d, 'cdk8s.yaml'), 'language: typescript\napp: npx tsx main.ts\noutput: dist\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

const MAIN = (extra = '') => `
import { writeFileSync } from 'node:fs';
import { label } from './label.js';
const where: string = new URL(import.meta.url).pathname;
writeFileSync(process.env.REKEY_MODEL_OUT!, JSON.stringify({ apiVersion: 'rekey.dev/v1alpha1', kind: 'RekeyModel', credentials: [] }));
process.stderr.write(\`label \${label}${extra} from \${where}\\n\`);
`;

async function run(dir: string): Promise<string[]> {
  const lines: string[] = [];
  await synthesize({ dir, outdir: join(dir, 'out'), warn: (l) => lines.push(l) });
  return lines;
}

const compiled = (dir: string) => readdirSync(join(dir, '.rekey-cache', 'app')).filter((f) => f.endsWith('.mjs'));

describe('typeScriptEntry', () => {
  it.each([
    ['npx tsx main.ts', 'main.ts'],
    ['tsx main.ts', 'main.ts'],
    ['npx ts-node src/app.ts', 'src/app.ts'],
    ['  npx tsx   main.mts ', 'main.mts'],
  ])('recognises %j', (app, entry) => expect(typeScriptEntry(app)).toBe(entry));

  it.each(['node main.js', 'npx tsx main.ts && echo hi', 'npx tsx $ENTRY.ts', 'python app.py', 'npx tsx --tsconfig x.json main.ts'])('runs %j as written', (app) => {
    expect(typeScriptEntry(app)).toBeUndefined();
  });
});

describe('the compiled app', () => {
  it('is compiled once and run with node; an edit of main.ts or of a file it imports is seen by the next run', async () => {
    // GIVEN a TypeScript app that imports a local file
    const dir = tsProject({ 'main.ts': MAIN(), 'label.ts': "export const label: string = 'one';\n" });
    // WHEN it runs twice
    expect(await run(dir)).toEqual([`label one from ${join(dir, 'main.ts')}`]);
    const first = compiled(dir);
    expect(first).toHaveLength(1);
    expect(await run(dir)).toEqual([`label one from ${join(dir, 'main.ts')}`]);
    // THEN the second run reused the compile (import.meta.url names the source file, not the cache)
    expect(compiled(dir)).toEqual(first);
    const launch = await appLaunch(dir, 'npx tsx main.ts');
    expect([launch.command, launch.args, launch.shell]).toEqual([process.execPath, [join(dir, '.rekey-cache', 'app', first[0]!)], false]);

    // WHEN the imported file changes
    writeFileSync(join(dir, 'label.ts'), "export const label: string = 'two';\n");
    expect(await run(dir)).toEqual([`label two from ${join(dir, 'main.ts')}`]);
    // AND then main.ts
    writeFileSync(join(dir, 'main.ts'), MAIN(' (edited)'));
    expect(await run(dir)).toEqual([`label two (edited) from ${join(dir, 'main.ts')}`]);
    // THEN each was recompiled, and only the latest compile is kept
    expect(compiled(dir)).toHaveLength(1);
    expect(compiled(dir)).not.toEqual(first);
  }, 60_000);

  it('runs the command as written with REKEY_APP_COMPILE=0 (no cache)', async () => {
    const dir = tsProject({ 'main.ts': MAIN(), 'label.ts': "export const label = 'one';\n" });
    process.env.REKEY_APP_COMPILE = '0';
    try {
      expect(await appLaunch(dir, 'npx tsx main.ts')).toEqual({ command: 'npx tsx main.ts', args: [], shell: true });
    } finally {
      delete process.env.REKEY_APP_COMPILE;
    }
    expect(existsSync(join(dir, '.rekey-cache'))).toBe(false);
  });

  it('a main.ts that does not compile: rekey synth and rekey check exit 1 with one line, nothing written', async () => {
    const dir = tsProject({ 'main.ts': "import { label } from './label.js';\nconst x: number = ;\n", 'label.ts': "export const label = 'one';\n" });
    const before = snapshotTree(dir);
    const message = 'rekey: error: cdk8s.yaml app `npx tsx main.ts` does not compile: got "main.ts:2:19: Unexpected \\";\\"". Fix main.ts (or the file named), then run the command again.\n';
    expect(await cli(dir, ['synth'])).toEqual({ code: 1, stdout: '', stderr: message });
    expect(await cli(dir, ['check'])).toEqual({ code: 1, stdout: '', stderr: message });
    expect(snapshotTree(dir)).toEqual(before);
  }, 60_000);

  it('an import of a missing local file is the same one-line error, naming the file', async () => {
    const dir = tsProject({ 'main.ts': "import { label } from './nope.js';\nconsole.log(label);\n" });
    expect(await cli(dir, ['synth'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'rekey: error: cdk8s.yaml app `npx tsx main.ts` does not compile: got "main.ts:1:23: Could not resolve \\"./nope.js\\"". Fix main.ts (or the file named), then run the command again.\n',
    });
  }, 60_000);
});
