import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ledger } from '../../lib/project/ledger.js';
import { cli, removeProject, tempProject } from '../support/project.js';

/**
 * Two rotation pull requests of different credentials, made from one main, merged with real
 * git in both orders: the ledger never conflicts, and the merged project passes `rekey check`.
 */

const NOW = new Date('2026-11-01T10:00:00.000Z');
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'rekey test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'rekey test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Merges `branch` into the checked-out branch; returns the conflicted paths (sorted, empty when clean). */
function merge(dir: string, branch: string): string[] {
  const r = spawnSync('git', ['merge', '--no-ff', '--no-edit', branch], { cwd: dir, env: GIT_ENV, encoding: 'utf8' });
  const conflicted = git(dir, 'diff', '--name-only', '--diff-filter=U').split('\n').filter(Boolean).sort();
  if (r.status !== 0 && conflicted.length === 0) throw new Error(`git merge ${branch} failed: ${r.stdout}${r.stderr}`);
  return conflicted;
}

/** The first conflict hunk of a file, on one line. */
function conflictHunk(path: string): string {
  const lines = readFileSync(join(dir, path), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('<<<<<<< '));
  const end = lines.findIndex((l, i) => i > start && l.startsWith('>>>>>>> '));
  return lines.slice(start, end + 1).map((l) => (l.length > 60 ? l.slice(0, 60) + '…' : l)).join(' ⏎ ');
}

/**
 * GIVEN a project whose main has two branches, each rotating one credential: resets to main,
 * merges them in the given order and returns the second merge's conflicts as `<path>: <first hunk>`.
 */
function mergeBranches(d: string, first: string, second: string): string[] {
  git(d, 'checkout', '-q', '-f', 'main');
  git(d, 'reset', '-q', '--hard', 'main');
  git(d, 'clean', '-q', '-fdx');
  git(d, 'checkout', '-q', '-B', `merge-${first}`);
  expect(merge(d, first)).toEqual([]);
  return merge(d, second).map((p) => {
    const lines = readFileSync(join(d, p), 'utf8').split('\n');
    const s = lines.findIndex((l) => l.startsWith('<<<<<<< '));
    return `${p}: ${lines.slice(s, s + 6).map((l) => (l.length > 60 ? l.slice(0, 60) + '…' : l)).join(' ⏎ ')}`;
  });
}

/** The fixture project's rekey.yaml, and recon: one more credential, sorted right before reports. */
const FIXTURE_SPEC = readFileSync(join(process.cwd(), 'test/fixtures/project/rekey.yaml'), 'utf8');
const RECON = `  - name: recon
    provider: rustfs
    identity: { kind: serviceAccount, name: recon }
    aliases: [generic]
    delivery: { kind: sealed }
    targets:
      - { namespace: recon, secretName: recon-s3 }
    consumers:
      - { kind: Deployment, name: recon, namespace: recon, envFrom: {} }
`;

/** A git repository of the fixture project (with `spec`) whose main has `rotated` rotated once. */
async function gitMain(spec: string, rotated: readonly string[]): Promise<string> {
  const d = tempProject(spec);
  git(d, 'init', '-q', '-b', 'main');
  expect((await cli(d, ['rotate', ...rotated], NOW)).code).toBe(0);
  git(d, 'add', '-A');
  git(d, 'commit', '-q', '-m', 'main');
  return d;
}

/** Makes, from main, one branch `<prefix>-<credential>` per credential that rotates it (committed). */
async function rotationBranches(d: string, prefix: string, credentials: readonly string[]): Promise<void> {
  for (const credential of credentials) {
    git(d, 'checkout', '-q', '-b', `${prefix}-${credential}`, 'main');
    expect((await cli(d, ['rotate', credential], new Date('2026-11-20T10:00:00.000Z'))).code).toBe(0);
    git(d, 'add', '-A');
    git(d, 'commit', '-q', '-m', `rotate ${credential}`);
  }
}

let dir: string;
beforeAll(async () => {
  // GIVEN main with both credentials rotated once
  dir = tempProject();
  git(dir, 'init', '-q', '-b', 'main');
  expect((await cli(dir, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'main');
  // AND a branch that rotates uploads, and one that rotates reports, both from main
  for (const [branch, credential] of [['rotate-uploads', 'uploads'], ['rotate-reports', 'reports']] as const) {
    git(dir, 'checkout', '-q', '-b', branch, 'main');
    expect((await cli(dir, ['rotate', credential], new Date('2026-11-20T10:00:00.000Z'))).code).toBe(0);
    git(dir, 'commit', '-q', '-am', `rotate ${credential}`);
  }
  git(dir, 'checkout', '-q', 'main');
}, 60_000);
afterAll(() => removeProject(dir));

/** Resets to main and merges the two branches in the given order; returns the conflicts of the second merge. */
function mergeBoth(first: string, second: string): string[] {
  git(dir, 'checkout', '-q', '-f', 'main');
  git(dir, 'reset', '-q', '--hard', 'main');
  git(dir, 'clean', '-q', '-fdx');
  git(dir, 'checkout', '-q', '-B', `merge-${first}`);
  expect(merge(dir, first)).toEqual([]);
  return merge(dir, second);
}

const ORDERS = [
  ['rotate-uploads', 'rotate-reports'],
  ['rotate-reports', 'rotate-uploads'],
] as const;

describe('two rotation pull requests of different credentials', () => {
  it.each(ORDERS)('merge %s then %s: the ledger merges without conflict and holds both rotations', async (first, second) => {
    const conflicted = mergeBoth(first, second);
    // the ledger never conflicts; anything else that does is reported by name (ACCESS.md: see the next test)
    expect(conflicted).not.toContain('rekey.ledger.yaml');
    expect(conflicted.filter((p) => p !== 'dist/ACCESS.md')).toEqual([]);
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect(ledger.names().map((n) => [n, ledger.get(n)!.generation])).toEqual([['reports', 2], ['uploads', 2]]);
    // once dist/ACCESS.md is re-rendered (when it conflicted), the merged project passes rekey check
    if (conflicted.length > 0) {
      git(dir, 'checkout', '--theirs', '--', 'dist/ACCESS.md');
      expect((await cli(dir, ['synth'])).code).toBe(0);
    }
    expect(await cli(dir, ['check'])).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
  });

  // dist/ACCESS.md keeps what a rotation changes in one section per credential (and no
  // generation in the diagram), so nothing in dist/ conflicts either.
  it.each(ORDERS)('merge %s then %s: no file conflicts at all, dist/ACCESS.md included, and rekey check passes as merged', async (first, second) => {
    // on failure the diff names each conflicted file with its first conflicting lines
    expect(mergeBoth(first, second).map((p) => `${p}: ${conflictHunk(p)}`)).toEqual([]);
    expect((await cli(dir, ['check'])).code).toBe(0);
  });
});

describe('the same credential rotated on both branches', () => {
  it('conflicts, and rekey check says in one line what to do', async () => {
    git(dir, 'checkout', '-q', '-f', 'main');
    git(dir, 'reset', '-q', '--hard', 'main');
    git(dir, 'checkout', '-q', '-B', 'again', 'main');
    expect((await cli(dir, ['rotate', 'uploads'], new Date('2026-11-21T10:00:00.000Z'))).code).toBe(0);
    git(dir, 'commit', '-q', '-am', 'rotate uploads again');
    const conflicted = merge(dir, 'rotate-uploads');
    expect(conflicted).toContain('rekey.ledger.yaml');
    const text = readFileSync(join(dir, 'rekey.ledger.yaml'), 'utf8');
    const line = text.split('\n').findIndex((l) => l.startsWith('<<<<<<< ')) + 1;
    const r = await cli(dir, ['check']);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `rekey: error: rekey.ledger.yaml has an unresolved git merge conflict in credentials.uploads (line ${line}): got "<<<<<<< HEAD". Both branches rotated uploads: take the target branch's ledger and dist/ (e.g. git checkout main -- rekey.ledger.yaml dist/), run \`rekey rotate uploads\` again and commit.\n`,
    });
    // AND following it gives a project that passes rekey check
    git(dir, 'checkout', 'main', '--', 'rekey.ledger.yaml', 'dist/');
    expect((await cli(dir, ['rotate', 'uploads'], new Date('2026-11-22T10:00:00.000Z'))).code).toBe(0);
    expect((await cli(dir, ['check'])).code).toBe(0);
  });
});

describe('two pull requests that each rotate a different credential for the first time, next to each other in sorted order', () => {
  // recon and reports sort next to each other, before uploads: their ledger entries and their
  // dist/ sections would be inserted at the same place.
  const SPEC = FIXTURE_SPEC + RECON;
  let dir2: string;
  beforeAll(async () => {
    // GIVEN main where only uploads was rotated (recon and reports never were)
    dir2 = await gitMain(SPEC, ['uploads']);
    // AND one branch rotating recon, another reports, each for the first time
    await rotationBranches(dir2, 'first', ['recon', 'reports']);
  }, 60_000);
  afterAll(() => removeProject(dir2));

  it.each([
    ['first-recon', 'first-reports'],
    ['first-reports', 'first-recon'],
  ])('merge %s then %s: no conflict, both first rotations in the ledger, rekey check passes as merged', async (first, second) => {
    expect(mergeBranches(dir2, first, second)).toEqual([]);
    const ledger = Ledger.load(join(dir2, 'rekey.ledger.yaml'));
    expect(ledger.names().map((n) => [n, ledger.get(n)!.generation])).toEqual([['recon', 1], ['reports', 1], ['uploads', 1]]);
    expect(await cli(dir2, ['check'])).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
  });
});

describe.each(['flux', 'plain'] as const)('gitops %s: two rotation pull requests of different credentials (stage folders)', (tool) => {
  const GITOPS = { flux: 'gitops: { tool: flux, flux: { sourceName: platform } }\n', plain: 'gitops: { tool: plain }\n' }[tool];
  let dir3: string;
  beforeAll(async () => {
    // GIVEN main (stage folders instead of one file) with both credentials rotated once
    dir3 = await gitMain(FIXTURE_SPEC + GITOPS, ['uploads', 'reports']);
    await rotationBranches(dir3, 'stages', ['uploads', 'reports']);
  }, 60_000);
  afterAll(() => removeProject(dir3));

  it.each([
    ['stages-uploads', 'stages-reports'],
    ['stages-reports', 'stages-uploads'],
  ])('merge %s then %s: no file conflicts, and rekey check passes as merged', async (first, second) => {
    expect(mergeBranches(dir3, first, second)).toEqual([]);
    expect(await cli(dir3, ['check'])).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
  });
});

describe('a credential added to rekey.yaml after the ledger was last written', () => {
  let dir4: string;
  beforeAll(async () => {
    // GIVEN main where uploads was rotated, and then recon was added to rekey.yaml and rendered (rekey synth)
    dir4 = await gitMain(FIXTURE_SPEC, ['uploads']);
    const specPath = join(dir4, 'rekey.yaml');
    writeFileSync(specPath, readFileSync(specPath, 'utf8') + RECON);
    expect((await cli(dir4, ['synth'])).code).toBe(0);
    git(dir4, 'add', '-A');
    git(dir4, 'commit', '-q', '-m', 'add recon');
    // AND one branch rotating recon, another reports (sorted next to it), each for the first time
    await rotationBranches(dir4, 'added', ['recon', 'reports']);
  }, 60_000);
  afterAll(() => removeProject(dir4));

  it('WHEN rendered THEN the ledger gets its placeholder line and nothing else changes', () => {
    const diff = git(dir4, 'diff', 'main~1', 'main', '--', 'rekey.ledger.yaml');
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual(['+  # --- credential recon: never rotated ---']);
  });

  it.each([
    ['added-recon', 'added-reports'],
    ['added-reports', 'added-recon'],
  ])('merge %s then %s: no conflict, and rekey check passes as merged', async (first, second) => {
    expect(mergeBranches(dir4, first, second)).toEqual([]);
    const ledger = Ledger.load(join(dir4, 'rekey.ledger.yaml'));
    expect(ledger.names().map((n) => [n, ledger.get(n)!.generation])).toEqual([['recon', 1], ['reports', 1], ['uploads', 1]]);
    expect(await cli(dir4, ['check'])).toEqual({ code: 0, stdout: 'dist/ is up to date; rekey.ledger.yaml integrity holds\n', stderr: '' });
  });
});
