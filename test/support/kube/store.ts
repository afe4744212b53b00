/**
 * Versioned object storage like etcd behind kube-apiserver: one global revision counter (the
 * resourceVersion), every committed change recorded as an event (with the previous state, so a
 * selector-filtered watch can turn "stopped matching" into DELETED), replay from a revision, and
 * compaction (a watch from before the oldest kept event gets 410 Expired).
 */
import type { ResourceDef } from './resources.js';
import { clone, type KubeObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: EventType;
  /** revision of this change */
  readonly rv: number;
  readonly def: ResourceDef;
  /** state after the change (for DELETED: the last state, with resourceVersion = the deletion revision) */
  readonly object: KubeObject;
  /** state before the change (undefined for ADDED) */
  readonly previous?: KubeObject;
}

export type StoreListener = (event: StoreEvent) => void;

export interface StoreOptions {
  /** How many events to keep for watch replay. @default 10000 */
  readonly historyLimit?: number;
}

export function keyOf(def: ResourceDef, namespace: string | undefined, name: string): string {
  return `${def.group}/${def.resource}/${def.namespaced ? (namespace ?? '') : ''}/${name}`;
}

export class Store {
  #rv = 1;
  readonly #objects = new Map<string, { def: ResourceDef; object: KubeObject }>();
  #history: StoreEvent[] = [];
  /** the oldest revision a watch may start from (events after it are all kept) */
  #compactedRv = 1;
  readonly #listeners = new Set<StoreListener>();
  readonly #historyLimit: number;

  public constructor(options: StoreOptions = {}) {
    this.#historyLimit = options.historyLimit ?? 10000;
  }

  /** The current revision (what a list returns as metadata.resourceVersion). */
  public get revision(): number {
    return this.#rv;
  }

  /** The oldest revision a watch can resume from; older → 410 Expired. */
  public get compactedRevision(): number {
    return this.#compactedRv;
  }

  /** Drops all history: every watch from an older resourceVersion gets 410 Expired. */
  public compact(): void {
    this.#history = [];
    this.#compactedRv = this.#rv;
  }

  public get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const e = this.#objects.get(keyOf(def, namespace, name));
    return e ? clone(e.object) : undefined;
  }

  /** Objects of a resource, in one namespace or all, sorted by namespace then name (like etcd key order). */
  public list(def: ResourceDef, namespace?: string): KubeObject[] {
    const prefix = `${def.group}/${def.resource}/${def.namespaced && namespace !== undefined ? `${namespace}/` : ''}`;
    const out: KubeObject[] = [];
    for (const [k, e] of this.#objects) if (k.startsWith(prefix) && e.def === def) out.push(clone(e.object));
    return out.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  }

  /** Writes a new or changed object at the next revision. The caller has done every check. */
  public put(def: ResourceDef, object: KubeObject): KubeObject {
    const key = keyOf(def, object.metadata.namespace, object.metadata.name ?? '');
    const prev = this.#objects.get(key);
    this.#rv += 1;
    const stored = clone(object);
    stored.metadata.resourceVersion = String(this.#rv);
    this.#objects.set(key, { def, object: stored });
    this.#record({ type: prev ? 'MODIFIED' : 'ADDED', rv: this.#rv, def, object: clone(stored), previous: prev ? clone(prev.object) : undefined });
    return clone(stored);
  }

  /** Removes an object at the next revision; returns its last state (with the deletion revision). */
  public remove(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyOf(def, namespace, name);
    const prev = this.#objects.get(key);
    if (!prev) return undefined;
    this.#objects.delete(key);
    this.#rv += 1;
    const last = clone(prev.object);
    last.metadata.resourceVersion = String(this.#rv);
    this.#record({ type: 'DELETED', rv: this.#rv, def, object: clone(last), previous: clone(prev.object) });
    return last;
  }

  /** Events after revision `from` (exclusive), or undefined when `from` is older than the kept history. */
  public eventsSince(from: number): StoreEvent[] | undefined {
    if (from < this.#compactedRv) return undefined;
    return this.#history.filter((e) => e.rv > from);
  }

  public subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#compactedRv = dropped[dropped.length - 1].rv;
    }
    for (const l of this.#listeners) l(event);
  }
}
