/**
 * The REST semantics of kube-apiserver's generic registry over the Store: create (namespace
 * lifecycle, generateName, uid, creationTimestamp, generation, status cleared), update
 * (resourceVersion preconditions, status subresource split, generation rules, no-op writes),
 * patch, delete (graceful for pods), list with selectors. Both the HTTP server and the simulated
 * controllers write through here, so every writer gets the same rules.
 */
import { randomUUID } from 'node:crypto';

import { parse as parseYaml } from 'yaml';

import type { FakeClock } from './clock.js';
import { applyCreateDefaults, applyDefaults } from './defaults.js';
import { ApiError, alreadyExists, badRequest, conflict, invalid, namespaceNotFound, notFound, unsupportedPatch } from './errors.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { apiVersionOf, res, RESOURCES, type ResourceDef } from './resources.js';
import type { Predicate } from './selectors.js';
import type { Store } from './store.js';
import { clone, isObj, jsonEqual, type KubeObject, type Obj } from './types.js';
import { validateObject } from './validation.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export interface WriteOptions {
  /** `status` for the /status subresource */
  readonly subresource?: 'status';
  /** Check the result against the kind's schema (every write: clients and controllers). @default true */
  readonly validate?: boolean;
  /** `dryRun=All`: run every check, store nothing. @default false */
  readonly dryRun?: boolean;
}

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

/** What DELETE answers: the object (pods, graceful) or a Status Success. */
export type DeleteResult = { readonly kind: 'object'; readonly object: KubeObject } | { readonly kind: 'status'; readonly status: Obj };

const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Five characters like utilrand.String(5) (used by generateName and controllers). */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SUFFIX_CHARS[Math.floor(Math.random() * SUFFIX_CHARS.length)];
  return s;
}

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function withoutMetaAndStatus(o: KubeObject): Obj {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export class Registry {
  public constructor(
    public readonly store: Store,
    public readonly clock: FakeClock,
  ) {}

  public get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const o = this.store.get(def, namespace, name);
    if (!o) throw notFound(def, name);
    return this.#withKind(def, o);
  }

  public find(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.store.get(def, namespace, name);
    return o ? this.#withKind(def, o) : undefined;
  }

  public list(def: ResourceDef, namespace?: string, filter?: Predicate): KubeObject[] {
    const items = this.store.list(def, def.namespaced ? namespace : undefined).map((o) => this.#withKind(def, o));
    return filter ? items.filter(filter) : items;
  }

  public create(def: ResourceDef, namespace: string | undefined, body: KubeObject, options: WriteOptions = {}): KubeObject {
    if (!isObj(body) || !isObj(body.metadata)) throw badRequest('Object \'metadata\' is missing in \'{}\'');
    const o = clone(body);
    const m = o.metadata;
    if (def.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && namespace !== undefined && m.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = namespace ?? m.namespace;
      if (!m.namespace) throw badRequest('an empty namespace may not be set during creation');
    } else delete m.namespace;
    if (!m.name && m.generateName) m.name = `${m.generateName}${randomSuffix()}`;
    if (!m.name) throw invalid(def, '', [{ field: 'metadata.name', detail: 'Required value: name or generateName is required', type: 'FieldValueRequired' }]);
    if (def.namespaced && !this.store.get(res('namespaces'), undefined, m.namespace ?? '')) throw namespaceNotFound(m.namespace ?? '');
    if (this.store.get(def, m.namespace, m.name)) throw alreadyExists(def, m.name);
    o.apiVersion = apiVersionOf(def);
    o.kind = def.kind;
    m.uid = randomUUID();
    m.creationTimestamp = this.clock.time();
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    if (def.generation !== 'none') m.generation = 1;
    else delete m.generation;
    if (def.status) delete o.status;
    this.#initialStatus(def, o);
    applyDefaults(def, o);
    applyCreateDefaults(def, o);
    this.#check(def, o, options);
    if (options.dryRun) return this.#withKind(def, o);
    return this.#withKind(def, this.store.put(def, o));
  }

  /** PUT. */
  public update(def: ResourceDef, namespace: string | undefined, name: string, body: KubeObject, options: WriteOptions = {}): KubeObject {
    if (!isObj(body) || !isObj(body.metadata)) throw badRequest('Object \'metadata\' is missing in \'{}\'');
    if (body.metadata.name !== undefined && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${name})`);
    }
    const old = this.store.get(def, namespace, name);
    if (!old) {
      if (def.createOnUpdate && !options.subresource) return this.create(def, namespace, { ...body, metadata: { ...body.metadata, name } }, options);
      throw notFound(def, name);
    }
    const rv = body.metadata.resourceVersion;
    if ((rv === undefined || rv === '') && !def.unconditionalUpdate) {
      throw invalid(def, name, [{ field: 'metadata.resourceVersion', detail: 'Invalid value: 0x0: must be specified for an update', type: 'FieldValueInvalid' }]);
    }
    return this.#commitUpdate(def, old, body, options);
  }

  /** PATCH with one of the four patch content types. */
  public patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: string,
    options: WriteOptions & { readonly fieldManager?: string } = {},
  ): KubeObject {
    const accepted = def.custom ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply] : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
    if (!(accepted as string[]).includes(contentType)) throw unsupportedPatch(accepted);
    let patch: unknown;
    try {
      patch = contentType === PATCH_TYPES.apply ? parseYaml(rawBody) : JSON.parse(rawBody);
    } catch (err) {
      throw badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    if (contentType === PATCH_TYPES.apply && !options.fieldManager) {
      throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    const old = this.store.get(def, namespace, name);
    if (!old) {
      if (contentType === PATCH_TYPES.apply && !options.subresource && isObj(patch)) return this.create(def, namespace, patch as KubeObject, options);
      throw notFound(def, name);
    }
    if (contentType !== PATCH_TYPES.json && !isObj(patch)) throw badRequest('error decoding patch: the patch is not a JSON object');
    const current = this.#withKind(def, old);
    let next: unknown;
    switch (contentType) {
      case PATCH_TYPES.json:
        next = jsonPatch(current, patch);
        break;
      case PATCH_TYPES.merge:
        next = mergePatch(current, patch);
        break;
      default:
        next = def.custom ? mergePatch(current, patch) : strategicMergePatch(current, patch);
    }
    if (!isObj(next) || !isObj(next.metadata)) throw badRequest('the patched object has no metadata');
    const result = next as KubeObject;
    if (result.metadata.name !== name) throw badRequest(`the name of the object (${String(result.metadata.name)}) does not match the name on the URL (${name})`);
    return this.#commitUpdate(def, old, result, options);
  }

  public delete(def: ResourceDef, namespace: string | undefined, name: string, options: DeleteOptions = {}): DeleteResult {
    const old = this.store.get(def, namespace, name);
    if (!old) throw notFound(def, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(old.metadata.uid)}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(def, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(old.metadata.resourceVersion)}`);
    }
    if (def.resource === 'pods') return this.#deletePod(old, options);
    if (def.resource === 'namespaces') this.#deleteNamespaceContent(name);
    const last = this.store.remove(def, namespace, name);
    return {
      kind: 'status',
      status: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, ...(def.group ? { group: def.group } : {}), kind: def.resource, uid: last?.metadata.uid },
      },
    };
  }

  /** Removes a terminating pod for good (what the kubelet's final status update triggers). */
  public finalizePodDeletion(namespace: string, name: string): void {
    this.store.remove(res('pods'), namespace, name);
  }

  #deletePod(old: KubeObject, options: DeleteOptions): DeleteResult {
    const def = res('pods');
    const spec = isObj(old.spec) ? old.spec : {};
    const phase = isObj(old.status) ? old.status.phase : undefined;
    let grace = options.gracePeriodSeconds ?? (typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30);
    // CheckGracefulDelete: unscheduled or terminal pods go at once
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    const m = old.metadata;
    if (grace === 0) {
      const last = this.store.remove(def, m.namespace, m.name ?? '');
      return { kind: 'object', object: this.#withKind(def, last ?? old) };
    }
    if (m.deletionTimestamp) {
      const shorter = m.deletionGracePeriodSeconds === undefined || grace < m.deletionGracePeriodSeconds;
      if (!shorter) return { kind: 'object', object: this.#withKind(def, old) };
    }
    const next = clone(old);
    next.metadata.deletionTimestamp = this.clock.time(grace);
    next.metadata.deletionGracePeriodSeconds = grace;
    return { kind: 'object', object: this.#withKind(def, this.store.put(def, next)) };
  }

  #deleteNamespaceContent(namespace: string): void {
    for (const def of this.#namespacedDefs()) {
      for (const o of this.store.list(def, namespace)) this.store.remove(def, namespace, o.metadata.name ?? '');
    }
  }

  #namespacedDefs(): ResourceDef[] {
    return RESOURCES.filter((d) => d.namespaced);
  }

  #commitUpdate(def: ResourceDef, old: KubeObject, body: KubeObject, options: WriteOptions): KubeObject {
    const name = old.metadata.name ?? '';
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(def, name);
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== '' && body.metadata.namespace !== old.metadata.namespace && def.namespaced) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    let next: KubeObject;
    if (options.subresource === 'status') {
      // status strategies reset spec and labels (and everything else the object owns) to the old
      // values; annotations do pass (the deployment controller writes its revision annotation there)
      next = clone(old);
      if (body.status === undefined) delete next.status;
      else next.status = clone(body.status);
      if (body.metadata.annotations === undefined) delete next.metadata.annotations;
      else next.metadata.annotations = clone(body.metadata.annotations);
    } else {
      next = clone(body);
      next.metadata = { ...clone(body.metadata) };
      if (def.status) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      // fields the server owns
      const m = next.metadata;
      m.uid = old.metadata.uid;
      m.creationTimestamp = old.metadata.creationTimestamp;
      m.namespace = old.metadata.namespace;
      m.name = old.metadata.name;
      if (old.metadata.deletionTimestamp) {
        m.deletionTimestamp = old.metadata.deletionTimestamp;
        m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      next.apiVersion = apiVersionOf(def);
      next.kind = def.kind;
      applyDefaults(def, next);
    }
    next.metadata.generation = old.metadata.generation;
    if (next.metadata.generation === undefined) delete next.metadata.generation;
    if (!options.subresource && this.#bumpsGeneration(def, old, next)) next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    this.#check(def, next, options);
    // a write that changes nothing is not written (no new resourceVersion, no watch event)
    if (jsonEqual(this.#withKind(def, old), next)) return this.#withKind(def, old);
    if (options.dryRun) return this.#withKind(def, next);
    return this.#withKind(def, this.store.put(def, next));
  }

  #bumpsGeneration(def: ResourceDef, old: KubeObject, next: KubeObject): boolean {
    switch (def.generation) {
      case 'none':
        return false;
      case 'spec':
        return !jsonEqual(old.spec, next.spec);
      case 'specOrAnnotations':
        return !jsonEqual(old.spec, next.spec) || !jsonEqual(old.metadata.annotations ?? {}, next.metadata.annotations ?? {});
      case 'nonMetadata':
        return !jsonEqual(withoutMetaAndStatus(old), withoutMetaAndStatus(next));
    }
  }

  #initialStatus(def: ResourceDef, o: KubeObject): void {
    if (def.resource === 'pods') o.status = { phase: 'Pending', qosClass: 'BestEffort' };
    if (def.resource === 'namespaces') o.status = { phase: 'Active' };
  }

  #check(def: ResourceDef, o: KubeObject, options: WriteOptions): void {
    if (def.resource === 'leases' && isObj(o.spec)) {
      for (const f of ['acquireTime', 'renewTime']) {
        const v = o.spec[f];
        if (v !== undefined && v !== null && (typeof v !== 'string' || !MICRO_TIME.test(v))) {
          throw badRequest(`Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as MicroTime`);
        }
      }
    }
    if (options.validate === false) return;
    const errors = validateObject(def, o);
    if (errors.length > 0) throw invalid(def, o.metadata.name ?? '', errors);
  }

  #withKind(def: ResourceDef, o: KubeObject): KubeObject {
    return { apiVersion: apiVersionOf(def), kind: def.kind, ...o };
  }
}
