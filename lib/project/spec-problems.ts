import type { z } from 'zod';
import { formatPath, show, ValidationError, valueAt } from '../core/errors.js';

/**
 * Every problem of a rekey.yaml, each on its own line, up to a cap: the shape problems zod
 * finds (all at once) and the cross-field problems the constructs find (collected per provider,
 * credential and consumer by `chartFromSpec`). Kept apart from spec.ts, which holds the shape.
 */

/** At most this many problems are shown; the rest are counted on one more line. */
export const MAX_PROBLEMS = 10;

/** Separates "what is wrong" from "how to fix" inside a schema message (spec.ts builds them). */
export const FIX = '\n';

/**
 * The problems of one file, in the order found, each a one-line message; the same line is kept
 * once. `key` (e.g. a field path) keeps only the first of several problems about one thing.
 */
export class SpecProblems {
  private readonly lines: string[] = [];
  private readonly keys = new Set<string>();
  private readonly errors: ValidationError[] = [];

  public constructor(private readonly file: string) {}

  /** Adds a problem; false when it repeats one already added. */
  public add(error: ValidationError, key: string = error.message): boolean {
    if (this.keys.has(key) || this.lines.includes(error.message)) return false;
    this.keys.add(key);
    this.lines.push(error.message);
    this.errors.push(error);
    return true;
  }

  public get size(): number {
    return this.lines.length;
  }

  /** Throws the problems found, if any: one error alone as it is, several as one line each. */
  public throwIfAny(code = 'SPEC_INVALID'): void {
    if (this.errors.length === 1) throw this.errors[0]!;
    if (this.errors.length > 1) throw problemsError(this.file, this.lines, code);
  }
}

/**
 * One ValidationError (exit 1) whose message holds every problem on its own line, the first
 * `MAX_PROBLEMS` of them and then `… and N more problems in <file> …`.
 */
export function problemsError(file: string, lines: readonly string[], code: string): ValidationError {
  const unique = [...new Set(lines)];
  const shown = unique.slice(0, MAX_PROBLEMS);
  const more = unique.length - shown.length;
  if (more > 0) shown.push(`… and ${more} more problem${more > 1 ? 's' : ''} in ${file}: got ${unique.length} in all. Fix the ones above and run again to see the rest.`);
  return new ValidationError(shown.join('\n'), { code });
}

/** The fields a mapping at `path` of the spec may have (for "did you mean"), from the zod shape itself. */
export function knownFieldsAt(schema: z.ZodType, path: readonly PropertyKey[], raw: unknown): string[] {
  let cur: unknown = schema;
  for (let i = 0; i <= path.length; i++) {
    const here = valueAt(raw, path.slice(0, i));
    cur = unwrap(cur, here);
    if (i === path.length) break;
    const p = path[i]!;
    const def = defOf(cur);
    if (def?.type === 'object' && typeof p === 'string') cur = (def.shape as Record<string, unknown>)[p];
    else if (def?.type === 'array' && typeof p === 'number') cur = def.element;
    else if (def?.type === 'record') cur = def.valueType;
    else return [];
  }
  const def = defOf(cur);
  return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}

interface Def {
  readonly type: string;
  readonly [k: string]: unknown;
}

function defOf(s: unknown): Def | undefined {
  return (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** Through optional/default/pipe wrappers, and into the union option that matches the value's discriminator (`kind`, `mode`). */
function unwrap(s: unknown, value: unknown): unknown {
  for (let guard = 0; guard < 20; guard++) {
    const def = defOf(s);
    if (!def) return s;
    if (['optional', 'default', 'nullable', 'readonly', 'catch', 'prefault', 'nonoptional'].includes(def.type)) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (def.type === 'lazy') s = (def.getter as () => unknown)();
    else if (def.type === 'union') {
      const options = (def.options as unknown[]).map((o) => unwrap(o, value)).filter((o) => defOf(o)?.type === 'object');
      const disc = def.discriminator as string | undefined;
      const tag = disc !== undefined && value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[disc] : undefined;
      const match = options.find((o) => {
        const d = defOf((defOf(o)!.shape as Record<string, unknown>)[disc ?? '']);
        return d?.type === 'literal' && (d.values as unknown[]).includes(tag);
      });
      if (match) return match;
      // no discriminator to go by: the fields every object option allows
      const keys = [...new Set(options.flatMap((o) => Object.keys(defOf(o)!.shape as Record<string, unknown>)))];
      return { _zod: { def: { type: 'object', shape: Object.fromEntries(keys.map((k) => [k, undefined])) } } };
    } else return s;
  }
  return s;
}

/** The known field closest to a misspelt one (case aside, at most 2 edits and at most a third of its length, rounded up), if any. */
export function closestField(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.min(2, Math.ceil(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * One line per zod issue: `<file> <field path> <what>: got <value>. <fix>`. An unknown field
 * whose spelling is close to a known one says "Rename it to …", and the "is required" line for
 * that field is then left out (one typo, one line).
 */
export function formatIssues(file: string, raw: unknown, issues: readonly z.core.$ZodIssue[], schema: z.ZodType): string[] {
  const lines: string[] = [];
  const renamed = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownFieldsAt(schema, issue.path, raw);
    const parent = valueAt(raw, issue.path) as Record<string, unknown> | undefined;
    for (const key of issue.keys) {
      const close = closestField(key, known.filter((k) => parent?.[k] === undefined));
      if (close !== undefined) renamed.add(JSON.stringify([...issue.path, close]));
      const list = known.length ? ` (known fields: ${known.join(', ')})` : '';
      const fix = close !== undefined ? `Rename it to ${close}${list}.` : `Remove it or fix its spelling${list}.`;
      lines.push(`${file} ${formatPath(issue.path) || '(top level)'} has unknown field "${key}": got ${JSON.stringify(key)}. ${fix}`);
    }
  }
  const out: string[] = [];
  let u = 0;
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (let k = 0; k < issue.keys.length; k++) out.push(lines[u++]!);
      continue;
    }
    const value = valueAt(raw, issue.path);
    if (value === undefined && renamed.has(JSON.stringify(issue.path))) continue;
    out.push(formatIssue(file, raw, issue));
  }
  return [...new Set(out)];
}

function formatIssue(file: string, raw: unknown, issue: z.core.$ZodIssue): string {
  const path = [...issue.path];
  let value = valueAt(raw, path);
  let message = issue.message;
  if (issue.code === 'invalid_key') {
    // a record key failed its schema: report the key itself
    message = issue.issues[0]?.message ?? message;
    value = String(path[path.length - 1] ?? '');
  }
  const field = String([...path].reverse().find((p) => typeof p === 'string') ?? 'it');
  let [what, fix] = message.includes(FIX) ? message.split(FIX) : [message.replace(/^Invalid input: /, ''), `Fix ${field} (\`rekey schema\` prints every field).`];
  if (issue.code === 'invalid_type' && !message.includes(FIX)) {
    what = `must be ${article(issue.expected)}`;
    fix = `Give ${field} as ${article(issue.expected)} (\`rekey schema\` prints every field).`;
  }
  if (value === undefined && issue.code === 'invalid_type') {
    what = 'is required';
    fix = `Add ${field} (\`rekey schema\` prints every field).`;
  }
  return `${file} ${formatPath(path) || '(top level)'} ${what}: got ${show(value)}. ${fix}`;
}

function article(expected: string): string {
  const names: Record<string, string> = { array: 'a list', object: 'a mapping', record: 'a mapping', string: 'a string', number: 'a number', boolean: 'true or false', int: 'a whole number' };
  return names[expected] ?? expected;
}
