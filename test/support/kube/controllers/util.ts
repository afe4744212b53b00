/** Helpers shared by the workload controllers: template hashes, owner references, pod creation, conditions. */
import { randomSuffix, type Registry } from '../registry.js';
import { apiVersionOf, res, type ResourceDef } from '../resources.js';
import { clone, type Condition, isObj, type KubeObject, type Obj, type OwnerReference } from '../types.js';

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with sorted keys (a stable input for hashing). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * A hash like controller.ComputeHash: FNV-32a, printed in decimal, then rand.SafeEncodeString.
 * The input is stable JSON instead of Go's DeepHashObject, so values differ from a real cluster's.
 */
export function computeHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const input = stableJson(template) + (collisionCount ? String(collisionCount) : '');
  for (const byte of Buffer.from(input, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h >>> 0)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
}

export function ownerRef(def: ResourceDef, owner: KubeObject): OwnerReference {
  return { apiVersion: apiVersionOf(def), kind: def.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** Objects of `def` in the owner's namespace whose controller reference is the owner. */
export function ownedBy(registry: Registry, def: ResourceDef, owner: KubeObject): KubeObject[] {
  return registry.list(def, owner.metadata.namespace).filter((o) => (o.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === owner.metadata.uid));
}

export function spec(o: KubeObject): Obj {
  return isObj(o.spec) ? o.spec : {};
}

export function status(o: KubeObject): Obj {
  return isObj(o.status) ? o.status : {};
}

export function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

/** Creates a pod from a pod template (labels/annotations/spec), owned by `owner`. */
export function createPod(
  registry: Registry,
  ownerDef: ResourceDef,
  owner: KubeObject,
  template: Obj,
  name: string | { generateName: string },
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Obj } = {},
): KubeObject {
  const tm = isObj(template.metadata) ? template.metadata : {};
  const podSpec = { ...(clone(isObj(template.spec) ? template.spec : {}) as Obj), ...(extra.spec ?? {}) };
  const metadata: Obj = {
    ...(typeof name === 'string' ? { name } : { name: `${name.generateName}${randomSuffix()}` }),
    namespace: owner.metadata.namespace,
    labels: { ...((tm.labels as Record<string, string> | undefined) ?? {}), ...(extra.labels ?? {}) },
    ownerReferences: [ownerRef(ownerDef, owner)],
  };
  const annotations = { ...((tm.annotations as Record<string, string> | undefined) ?? {}), ...(extra.annotations ?? {}) };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  if (typeof name !== 'string') metadata.generateName = name.generateName;
  return registry.create(res('pods'), owner.metadata.namespace, { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec } as KubeObject);
}

/** Writes status (through /status) only when it changed. */
export function writeStatus(registry: Registry, def: ResourceDef, o: KubeObject, next: Obj, annotations?: Record<string, string>): KubeObject {
  const updated = clone(o);
  updated.status = next;
  if (annotations) updated.metadata.annotations = annotations;
  return registry.update(def, o.metadata.namespace, o.metadata.name ?? '', updated, { subresource: 'status' });
}

/** Sets a workload condition: lastTransitionTime moves on a status change, lastUpdateTime on any change. */
export function setWorkloadCondition(conds: readonly Condition[], c: { type: string; status: string; reason?: string; message?: string }, now: string, withUpdateTime = true): Condition[] {
  const out = conds.map((x) => ({ ...x }));
  const i = out.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? out[i] : undefined;
  if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message) return out;
  const next: Condition = {
    type: c.type,
    status: c.status,
    ...(withUpdateTime ? { lastUpdateTime: now } : {}),
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  };
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaled(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.endsWith('%')) {
    const p = Number(v.slice(0, -1));
    return roundUp ? Math.ceil((p * total) / 100) : Math.floor((p * total) / 100);
  }
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return 0;
}

/** Drops the `omitempty` integer fields that are 0, as Go's JSON encoding of the status does. */
export function jsonStatus(s: Obj, omitEmpty: readonly string[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined) continue;
    if (omitEmpty.includes(k) && (v === 0 || v === '' || (Array.isArray(v) && v.length === 0))) continue;
    out[k] = v;
  }
  return out;
}
