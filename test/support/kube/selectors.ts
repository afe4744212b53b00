/**
 * Label selectors (query-string syntax and the LabelSelector object) and field selectors,
 * as the API server applies them to list and watch.
 */
import { badRequest } from './errors.js';
import type { ResourceDef } from './resources.js';
import { dig, type KubeObject, type LabelSelector } from './types.js';

export type Predicate = (object: KubeObject) => boolean;

interface Requirement {
  readonly key: string;
  readonly op: 'in' | 'notin' | 'exists' | '!exists';
  readonly values: readonly string[];
}

function matchRequirements(labels: Record<string, string> | undefined, reqs: readonly Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
    }
  });
}

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

/** Parses `a=b,c!=d,e in (f,g),!h,i` (the labelSelector query parameter). */
export function parseLabelSelector(text: string): Predicate {
  const reqs: Requirement[] = [];
  for (const term of splitTerms(text)) {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) });
    } else if ((m = term.match(/^([^\s!=()]+)\s*!=\s*(\S*)$/))) {
      reqs.push({ key: m[1], op: 'notin', values: [m[2]] });
    } else if ((m = term.match(/^([^\s!=()]+)\s*==?\s*(\S*)$/))) {
      reqs.push({ key: m[1], op: 'in', values: [m[2]] });
    } else if ((m = term.match(/^!\s*([^\s!=()]+)$/))) {
      reqs.push({ key: m[1], op: '!exists', values: [] });
    } else if ((m = term.match(/^([^\s!=()]+)$/))) {
      reqs.push({ key: m[1], op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }
  return (o) => matchRequirements(o.metadata.labels, reqs);
}

/**
 * A LabelSelector object (metav1.LabelSelectorAsSelector): `{}` matches everything, while an
 * absent selector (undefined/null) matches nothing.
 */
export function selectorMatches(selector: LabelSelector | null | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) reqs.push({ key: k, op: 'in', values: [v] });
  for (const e of selector.matchExpressions ?? []) {
    const op = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!exists';
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return matchRequirements(labels, reqs);
}

/** Field selector paths each kind supports beyond metadata.name and metadata.namespace. */
const EXTRA_FIELDS: Readonly<Record<string, readonly string[]>> = {
  pods: ['status.phase', 'spec.nodeName', 'spec.serviceAccountName', 'spec.restartPolicy', 'status.podIP'],
  secrets: ['type'],
  events: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type'],
  jobs: ['status.successful'],
  replicasets: ['status.replicas'],
};

/** Parses `metadata.name=x,status.phase!=Running` (the fieldSelector query parameter). */
export function parseFieldSelector(def: ResourceDef, text: string): Predicate {
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(EXTRA_FIELDS[def.resource] ?? [])]);
  const terms = splitTerms(text).map((term) => {
    const m = term.match(/^([^!=]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field, op, value] = m;
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { path: field.split('.'), negate: op === '!=', value };
  });
  return (o) =>
    terms.every((t) => {
      const v = dig(o, ...t.path);
      const s = v === undefined || v === null ? '' : String(v);
      return t.negate ? s !== t.value : s === t.value;
    });
}
