import { isPair, isScalar, isSeq, visit, type Document } from 'yaml';
import { z } from 'zod';
import { formatPath, ValidationError } from '../core/errors.js';
import { closestField } from './spec-problems.js';

/**
 * Hardening of rekey.yaml parsing (kept apart from spec.ts): alias bombs, recursive aliases and
 * `__proto__` keys become one-line errors naming the file and field, never a crash or a value
 * silently dropped; and the schema of an IAM policy document.
 */

/** At most this many alias expansions in rekey.yaml (an alias bomb expands exponentially). */
export const MAX_ALIAS_COUNT = 100;

/** The keys JavaScript objects treat specially: refused rather than silently dropped. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

/** Converts a parsed rekey.yaml document to plain data, refusing what cannot be represented safely. */
export function yamlToJs(doc: Document, file: string): unknown {
  let bad: { path: (string | number)[]; key: string } | undefined;
  visit(doc, {
    Pair(_key, pair, ancestors) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof k === 'string' && FORBIDDEN_KEYS.has(k)) {
        bad = { path: fieldPath([...ancestors, pair]), key: k };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (bad) {
    throw new ValidationError(
      `${file} ${formatPath(bad.path) || '(top level)'} has a key named ${JSON.stringify(bad.key)}: got ${JSON.stringify(bad.key)}. Rename the key: rekey does not accept ${bad.key} as a key.`,
      { code: 'SPEC_YAML' },
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const bomb = /alias count/i.test((e as Error).message);
    throw new ValidationError(
      bomb
        ? `${file} expands YAML aliases too often (an alias bomb?): got more than ${MAX_ALIAS_COUNT} alias expansions. Write the values out, or use fewer aliases.`
        : `${file} cannot be converted from YAML: got ${JSON.stringify(String((e as Error).message).split('\n')[0]!.slice(0, 80))}. Write the values out without aliases.`,
      { code: 'SPEC_YAML' },
    );
  }
  const cycle = findCycle(raw);
  if (cycle) {
    throw new ValidationError(`${file} ${formatPath(cycle) || '(top level)'} contains itself through a YAML alias: got a recursive alias. Write the value out without an alias.`, {
      code: 'SPEC_YAML',
    });
  }
  return raw;
}

/** The spec field path of a node from its ancestors (map keys and sequence indexes). */
function fieldPath(ancestors: readonly unknown[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (let i = 0; i < ancestors.length - 1; i++) {
    const node = ancestors[i];
    const child = ancestors[i + 1];
    if (isSeq(node)) out.push(node.items.indexOf(child as never));
    else if (isPair(node) && child === node.value) {
      const k = isScalar(node.key) ? node.key.value : node.key;
      out.push(String(k));
    }
  }
  return out;
}

/** The path of the first object that contains itself, if any. */
function findCycle(value: unknown, path: (string | number)[] = [], stack: Set<object> = new Set()): (string | number)[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (stack.has(value)) return path;
  stack.add(value);
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v]) : Object.entries(value);
  for (const [k, v] of entries) {
    const found = findCycle(v, [...path, k], stack);
    if (found) return found;
  }
  stack.delete(value);
  return undefined;
}

type Msg = (what: string, fix: string) => string;

/** The fields of an IAM policy statement (identity policies: no Principal). */
const STATEMENT_FIELDS = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];

/**
 * An IAM identity policy document: Version, and Statement (one or a list) with Effect, Action
 * or NotAction, Resource or NotResource, optional Sid and Condition. No Principal (an identity
 * policy has none). `m` builds the spec's "what + fix" messages.
 */
export function iamPolicyDocument(m: Msg) {
  const FIX_DOC = 'Give Version: "2012-10-17" and Statement with Effect, Action and Resource, as in an AWS IAM policy.';
  const nonEmpty = (what: string) => z.string({ error: m(`must be a string`, `Give ${what} as a string or a list of strings.`) }).min(1, { error: m('must not be empty', `Give ${what}.`) });
  const stringOrList = (what: string) =>
    z.union([nonEmpty(what), z.array(nonEmpty(what)).min(1, { error: m('must not be empty', `Give at least one ${what}.`) })], {
      error: m('must be a string or a list of strings', `Give ${what} as a string or a list of strings.`),
    });
  const conditionValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))], {
    error: m('must be a string, number, boolean or a list of them', 'Give each condition value as in an AWS IAM policy.'),
  });
  const statement = z
    .strictObject(
      {
        Sid: z.string({ error: m('must be a string', 'Give Sid as letters and digits.') }).regex(/^[A-Za-z0-9]*$/, { error: m('must be letters and digits', 'Give Sid as letters and digits.') }).optional(),
        Effect: z.enum(['Allow', 'Deny'], { error: m('must be Allow or Deny', 'Set Effect: Allow or Effect: Deny.') }),
        Action: stringOrList('Action, e.g. s3:GetObject,').optional(),
        NotAction: stringOrList('NotAction').optional(),
        Resource: stringOrList('Resource, e.g. arn:aws:s3:::bucket/*,').optional(),
        NotResource: stringOrList('NotResource').optional(),
        Condition: z
          .record(z.string(), z.record(z.string(), conditionValue, { error: m('must be a mapping of condition keys', 'Give Condition as { Operator: { key: value } }.') }), {
            error: m('must be a mapping of condition operators', 'Give Condition as { Operator: { key: value } }.'),
          })
          .optional(),
      },
      { error: m('must be a mapping', 'Give each statement with Effect, Action and Resource.') },
    )
    .superRefine((s, ctx) => {
      if ((s.Action === undefined) === (s.NotAction === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['Action'], message: m('must be given (or NotAction, not both)', 'Give Action, e.g. s3:GetObject, or NotAction.') });
      } else if ((s.Resource === undefined) === (s.NotResource === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['Resource'], message: m('must be given (or NotResource, not both)', 'Give Resource, e.g. arn:aws:s3:::bucket/*, or NotResource.') });
      }
    });
  return z.strictObject(
    {
      Version: z.enum(['2012-10-17', '2008-10-17'], { error: m('must be "2012-10-17"', 'Set Version: "2012-10-17" (quoted).') }),
      Id: z.string({ error: m('must be a string', 'Give Id as a string or remove it.') }).optional(),
      // one statement or a list: validated as a list (issues keep their paths), kept as written
      Statement: z.unknown().superRefine((v, ctx) => {
        if (v === undefined) {
          ctx.addIssue({ code: 'custom', message: m('is required', FIX_DOC) });
          return;
        }
        const list = Array.isArray(v);
        const r = z.array(statement).min(1, { error: m('must not be empty', FIX_DOC) }).safeParse(list ? v : [v]);
        if (r.success) return;
        // every problem of every statement (the spec reports each on its own line); a misspelt
        // field is one problem ("Rename it to Action"), not also "Action must be given"
        const statements = (list ? v : [v]) as Record<string, unknown>[];
        const rename = (path: readonly PropertyKey[], key: string) => {
          const given = statements[path[0] as number] ?? {};
          return closestField(key, STATEMENT_FIELDS.filter((f) => given[f] === undefined));
        };
        const renamed = new Set(
          r.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => rename(i.path, k)).filter((c) => c !== undefined).map((c) => JSON.stringify([...i.path, c])) : [])),
        );
        for (const i of r.error.issues) {
          const path = list ? i.path : i.path.slice(1);
          if (i.code === 'unrecognized_keys') {
            for (const key of i.keys) {
              const close = rename(i.path, key);
              const fix = `${close ? `Rename it to ${close}` : 'Remove it'}: a statement has Sid, Effect, Action or NotAction, Resource or NotResource, and Condition.`;
              ctx.addIssue({ code: 'custom', path: [...path, key], message: m('is not a statement field', fix) });
            }
          } else if (!renamed.has(JSON.stringify(i.path))) {
            const message = i.message.includes('must') || i.code === 'custom' ? i.message : m('must be a statement or a list of statements', FIX_DOC);
            ctx.addIssue({ code: 'custom', path, message });
          }
        }
      }),
    },
    { error: m('must be an IAM policy document (a mapping)', FIX_DOC) },
  );
}
