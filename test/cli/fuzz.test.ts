import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml, stringify } from 'yaml';
import { MAX_PROBLEMS } from '../../lib/project/spec-problems.js';
import { cli, removeProject, snapshotTree, tempProject } from '../support/project.js';

/**
 * A seeded fuzzer over rekey.yaml: a few hundred mutations of the fixture spec (structural
 * edits, special scalars, YAML alias bombs and recursive aliases, __proto__ keys, broken
 * syntax), each run through `rekey rotate uploads`. Every case must end in exit 0, or exit 1
 * with one line per problem (at most MAX_PROBLEMS, then one "… and N more" line), each
 * `rekey: error: <rekey.yaml or ledger path> …`, and nothing changed on disk; never exit 3.
 * Deterministic (seeded PRNG), no dependence on machine speed.
 */

const SEED = 0x2026_1202;
const CASES = Number(process.env.REKEY_FUZZ_CASES ?? 300);
const NOW = new Date('2026-11-01T10:00:00.000Z');

/** The fuzzer's own parse: few aliases (it must not explode on its own mutations). */
const parse = (t: string): any => parseYaml(t, { maxAliasCount: 10 });

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCALARS = ['-.inf', '.inf', '.nan', '1e999', '-0', '0x10', '~', "''", '""', 'null', 'true', 'no', '2026-01-01', '18446744073709551616', '-1', '3.5', '!!binary aGk=', '"\\u0000"', `"${'x'.repeat(5000)}"`, '[]', '{}', '[[[[[[]]]]]]', '!!str 7', '__proto__', '"a\\nb"', '" "', 'Ω'];
const KEYS = ['__proto__', 'constructor', 'prototype', 'extra', 'toString', 'hasOwnProperty', 'Version', 'Statement', 'x'];
const BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n  e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]';

type Mutation = (text: string, r: () => number) => string;
const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;

/** Every [path, value] leaf and branch of a parsed spec. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (at.length > 8) return out; // a recursive alias parsed by the fuzzer itself
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}
function parentOf(root: any, path: (string | number)[]): any {
  let cur = root;
  for (const p of path.slice(0, -1)) cur = cur[p];
  return cur;
}

const MUTATIONS: Record<string, Mutation> = {
  'replace a value with a special scalar': (t, r) => {
    const lines = t.split('\n');
    const i = Math.floor(r() * lines.length);
    lines[i] = lines[i]!.replace(/: .*$/, `: ${pick(SCALARS, r)}`);
    return lines.join('\n');
  },
  'structural: set a field': (t, r) => {
    const spec = parse(t);
    const all = paths(spec).filter((p) => p.length > 0);
    const p = pick(all, r);
    parentOf(spec, p)[p[p.length - 1]!] = parse(pick(SCALARS, r));
    return stringify(spec);
  },
  'structural: delete a field': (t, r) => {
    const spec = parse(t);
    const p = pick(paths(spec).filter((x) => x.length > 0), r);
    const parent = parentOf(spec, p);
    if (Array.isArray(parent)) parent.splice(p[p.length - 1] as number, 1);
    else delete parent[p[p.length - 1]!];
    return stringify(spec);
  },
  'add a key (incl. __proto__) under a mapping': (t, r) => {
    const lines = t.split('\n');
    const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[A-Za-z]+:\s*$/.test(l) || /^\s*(extraKeys|document):/.test(l));
    const [line, i] = pick(candidates, r);
    const indent = /^(\s*)/.exec(line)![1]! + '  ';
    const key = pick(KEYS, r);
    if (/^\s*(extraKeys|document):\s*\{/.test(line)) lines[i] = line.replace(/\{/, `{ ${key}: ${pick(SCALARS, r)}, `);
    else lines.splice(i + 1, 0, `${indent}${key}: ${pick(SCALARS, r)}`);
    return lines.join('\n');
  },
  'alias bomb in a field': (t, r) => {
    const spec = parse(t);
    const p = pick(paths(spec).filter((x) => x.length > 0), r);
    parentOf(spec, p)[p[p.length - 1]!] = 'BOMB_HERE';
    return stringify(spec).replace(/BOMB_HERE/, `\n  ${BOMB}`.replace(/\n/g, '\n' + ' '.repeat(2 * p.length)));
  },
  'recursive alias': (t, r) =>
    pick(
      [
        t.replace(/document: \{/, 'document: &d { Self: [*d], '),
        t.replace(/extraKeys: \{/, 'extraKeys: &e { loop: *e, '),
        t.replace(/aliases: \[generic, rustfs\]/, 'aliases: &l [generic, *l]'),
        `&top\n${t}\nloop: *top\n`,
      ],
      r,
    ),
  'merge key and tags': (t, r) => t.replace(/delivery: \{ kind: sealed \}/, pick(['delivery: { <<: {kind: sealed}, scope: strict }', 'delivery: !!set { kind }', 'delivery: !custom { kind: sealed }', 'delivery: !!map { kind: sealed }'], r)),
  'delete a line': (t, r) => {
    const lines = t.split('\n');
    lines.splice(Math.floor(r() * lines.length), 1);
    return lines.join('\n');
  },
  'duplicate a line': (t, r) => {
    const lines = t.split('\n');
    const i = Math.floor(r() * lines.length);
    lines.splice(i, 0, lines[i]!);
    return lines.join('\n');
  },
  'insert a character': (t, r) => {
    const i = Math.floor(r() * t.length);
    return t.slice(0, i) + pick([':', '-', '&a ', '*a', '\t', '{', '[', '"', "'", '#', '%', '@', '`', '|', '>', '\u0000', '\ufeff'], r) + t.slice(i);
  },
  truncate: (t, r) => t.slice(0, Math.floor(r() * t.length)),
  'misspell a key (swap two letters)': (t, r) => {
    const keys = [...t.matchAll(/([A-Za-z]{4,}):/g)];
    const k = pick(keys, r);
    const i = 1 + Math.floor(r() * (k[1]!.length - 2));
    const w = k[1]!;
    return t.slice(0, k.index) + w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2) + t.slice(k.index! + w.length);
  },
  'policy document edit': (t, r) =>
    t.replace(
      /document: \{.*\}/,
      `document: ${pick(
        [
          '{ Version: "2012-10-17" }',
          '{ Version: 2012-10-17, Statement: [] }',
          '{ Version: "2012-10-17", Statement: [{ Effect: Maybe, Action: s3:*, Resource: "*" }] }',
          '{ Version: "2012-10-17", Statement: { Effect: Allow, Action: ["s3:GetObject"], Resource: "*" } }',
          '{ Version: "2012-10-17", Statement: [{ Effect: Allow, Resource: "*" }] }',
          '{ Version: "2012-10-17", Statement: [{ Effect: Allow, Action: [], Resource: "*" }] }',
          '{ Version: "2012-10-17", Statement: [{ Effect: Allow, Action: s3:*, Resource: "*", Principal: "*" }] }',
          '{ Version: "2012-10-17", Statement: [{ Effect: Allow, Action: s3:*, Resource: "*", Condition: { StringEquals: { "s3:prefix": [a, 1, true] } } }] }',
          '"a string"',
          '[1, 2]',
        ],
        r,
      )}`,
    ),
};

/**
 * exit 1's contract: 1 to MAX_PROBLEMS lines, each `rekey: error: ` and a problem (no stack, no
 * blank line), then at most one `… and N more problems` line.
 */
function oneLinePerProblem(lines: readonly string[]): boolean {
  if (lines.length < 1 || lines.length > MAX_PROBLEMS + 1) return false;
  const more = /^rekey: error: … and \d+ more problems in rekey\.yaml: got \d+ in all\. /;
  return lines.every((l, i) => /^rekey: error: \S/.test(l) && !/^\s+at /.test(l) && (!more.test(l) || (i === MAX_PROBLEMS && i === lines.length - 1)));
}

const base = tempProject();
afterAll(() => removeProject(base));

describe('fuzzing rekey.yaml', () => {
  it(`${CASES} seeded mutations: exit 0, or exit 1 with one line per problem (capped) and nothing changed; never exit 3`, async () => {
    // GIVEN a project with both credentials rotated once, saved to restore after each case
    expect((await cli(base, ['rotate', 'uploads', 'reports'], NOW)).code).toBe(0);
    const saved = `${base}-saved`;
    cpSync(base, saved, { recursive: true });
    const baseText = readFileSync(join(base, 'rekey.yaml'), 'utf8');
    const r = prng(SEED);
    const outcomes = new Map<string, number>();
    const byMutation = new Map<string, [number, number]>();
    const failures: string[] = [];
    /** How many exit-1 cases printed how many problem lines. */
    const problemLines = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const names = [pick(Object.keys(MUTATIONS), r), ...(r() < 0.3 ? [pick(Object.keys(MUTATIONS), r)] : [])];
      let text = baseText;
      for (const n of names) {
        try {
          text = MUTATIONS[n]!(text, r);
        } catch {
          // the mutation itself could not apply to an already broken text: keep what we have
        }
      }
      writeFileSync(join(base, 'rekey.yaml'), text);
      const before = snapshotTree(base);
      const res = await cli(base, ['rotate', 'uploads'], NOW);
      const lines = res.stderr.split('\n').filter((l) => l !== '');
      let outcome: string;
      if (res.code === 0) outcome = 'exit 0 (rotated)';
      else if (res.code === 1 && oneLinePerProblem(lines) && res.stderr.endsWith('\n') && res.stdout === '') {
        outcome = `exit 1: ${/^rekey: error: (\S+(?: \S+)?)/.exec(lines[0]!)![1]!.replace(/\[\d+\]/g, '[n]')}`;
        problemLines.set(lines.length, (problemLines.get(lines.length) ?? 0) + 1);
        const after = snapshotTree(base);
        if (JSON.stringify([...after]) !== JSON.stringify([...before])) failures.push(`case ${i} (${names.join(' + ')}): exit 1 but files changed`);
      } else {
        outcome = `exit ${res.code} (FAIL)`;
        failures.push(`case ${i} (${names.join(' + ')}): exit ${res.code}, ${lines.length} stderr lines: ${res.stderr.slice(0, 300)}\n--- rekey.yaml ---\n${text.slice(0, 600)}`);
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      for (const n of names) {
        const m = byMutation.get(n) ?? [0, 0];
        m[res.code === 0 ? 0 : 1]++;
        byMutation.set(n, m);
      }
      // restore the project for the next case
      rmSync(join(base, 'dist'), { recursive: true, force: true });
      cpSync(join(saved, 'dist'), join(base, 'dist'), { recursive: true });
      cpSync(join(saved, 'rekey.ledger.yaml'), join(base, 'rekey.ledger.yaml'));
    }
    rmSync(saved, { recursive: true, force: true });
    const table =
      `rekey.yaml fuzz: seed ${SEED}, ${CASES} cases\n\n` +
      [...outcomes].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${String(n).padStart(5)}  ${o}`).join('\n') +
      '\n\nmutation                                      exit 0  exit 1\n' +
      [...byMutation].sort().map(([n, [ok, bad]]) => `${n.padEnd(44)}  ${String(ok).padStart(6)}  ${String(bad).padStart(6)}`).join('\n') +
      '\n\nlines printed on exit 1   cases\n' +
      [...problemLines].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${String(n).padStart(22)}  ${String(c).padStart(6)}`).join('\n');
    process.stdout.write(table + '\n');
    expect(failures).toEqual([]);
  }, 900_000);
});
