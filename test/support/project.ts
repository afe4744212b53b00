import { SecretValue } from '../../lib/core/secret-value.js';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../lib/cli/index.js';
import { Ledger } from '../../lib/project/ledger.js';
import { unseal } from '../../lib/project/seal.js';

export const FIXTURE = join(process.cwd(), 'test/fixtures/project');
export const PRIVATE_KEY = readFileSync(join(process.cwd(), 'test/fixtures/sealed-secrets/key4096.pem'), 'utf8');

/** A throw-away copy of the fixture project (spec-only: rendered in-process, no cdk8s.yaml). */
export function tempProject(specText?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-test-'));
  cpSync(FIXTURE, dir, { recursive: true });
  if (specText !== undefined) writeFileSync(join(dir, 'rekey.yaml'), specText);
  return dir;
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `project(spec?)`: a throw-away copy of the fixture project, removed after each test. Call it
 * once at the top level of a test file (it registers the afterEach there).
 */
export function projectsRemovedAfterEach(): (specText?: string) => string {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach(removeProject));
  return (specText) => {
    const d = tempProject(specText);
    dirs.push(d);
    return d;
  };
}

/** Runs the CLI in-process and captures its output. */
export async function cli(dir: string, args: string[], now?: Date): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    cwd: dir,
    now: now ? () => now : undefined,
  });
  return { code, stdout, stderr };
}

/** Every file of a tree, path → bytes (to prove "byte-identical before and after"). */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

/** All YAML documents of every *.yaml file directly in a folder. */
export function readManifests(dist: string): any[] {
  return readdirSync(dist)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dist, f), 'utf8')).map((d) => d.toJS()));
}

/** The plaintext pairs a project's ledger holds, recovered with the test controller's private key. */
export function recoverSecrets(dir: string): Map<string, { accessKeyId: string; secret: string }> {
  const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
  const out = new Map<string, { accessKeyId: string; secret: string }>();
  for (const name of ledger.names()) {
    const e = ledger.get(name)!;
    if (e.accessKeyId === null) continue; // drawn in the cluster: nothing in the ledger
    if (e.plainSecretAccessKey) {
      out.set(name, { accessKeyId: e.accessKeyId, secret: e.plainSecretAccessKey.reveal() });
      continue;
    }
    const s = e.staging;
    const secret = unseal(s.sealed!.secretAccessKey, { privateKeyPem: SecretValue.fromString(PRIVATE_KEY), namespace: s.namespace, name: s.secretName, scope: 'strict' }).reveal();
    out.set(name, { accessKeyId: e.accessKeyId, secret });
  }
  return out;
}
