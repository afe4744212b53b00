/**
 * The sealed-secrets controller (bitnami-labs/sealed-secrets v0.36, pkg/controller/controller.go
 * and pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go), driven by ticks:
 * - a SealedSecret is queued when added, when its generation changes (spec changed; status writes
 *   do not), and when the Secret it controls is deleted; it is processed `delayTicks` ticks later;
 * - each `spec.encryptedData` value goes through the injected `unseal` (scope from the
 *   SealedSecret's own annotations: cluster-wide / namespace-wide / strict);
 * - the Secret gets name/namespace of the SealedSecret, labels/annotations/type/immutable of
 *   `spec.template`, and a controller owner reference unless the template says
 *   `sealedsecrets.bitnami.com/skip-set-owner-references: "true"`;
 * - an existing Secret it does not control and that is not annotated `managed`/`patch` is left
 *   alone: status Synced=False `failed update: Resource "x" already exists and is not managed by
 *   SealedSecret`; `managed` takes it over (data, labels, annotations, owner references replaced),
 *   `patch` merges data/labels/annotations (owner references only if also `managed`);
 * - the Secret is written only when it changes; status (observedGeneration, Synced condition
 *   with upstream's lastTransitionTime quirk) goes through /status, only when the condition flips
 *   or observedGeneration differs;
 * - a failure is not retried until the spec changes again (upstream gives up within ~0.2 s).
 * `spec.template.data` renders only `{{ .key }}` substitutions (and null deletes a key).
 * Not modelled: the rest of Go templates/sprig, legacy `spec.data`, events, key rotation.
 */
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { clone, type Condition, isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { spec, status } from './util.js';

export type SealingScopeName = 'strict' | 'namespace-wide' | 'cluster-wide';

/** Decrypts one `spec.encryptedData` value for its target; throws when no key can. */
export type Unseal = (ciphertext: string, target: { readonly namespace: string; readonly name: string; readonly scope: SealingScopeName }) => string | Buffer;

export interface SealedSecretsOptions {
  readonly unseal: Unseal;
  /** Ticks between a SealedSecret change and the Secret write. @default 1 */
  readonly delayTicks?: number;
}

export const MANAGED_ANNOTATION = 'sealedsecrets.bitnami.com/managed';
export const PATCH_ANNOTATION = 'sealedsecrets.bitnami.com/patch';
export const SKIP_OWNER_REFERENCES_ANNOTATION = 'sealedsecrets.bitnami.com/skip-set-owner-references';

export class SealedSecretsController implements Controller {
  public readonly name = 'sealed-secrets';
  #tick = 0;
  /** `ns/name` → tick at which to process */
  readonly #queue = new Map<string, number>();
  /** `ns/name` → `uid/generation` last queued */
  readonly #seen = new Map<string, string>();
  /** `ns/name` → uid of the Secret this controller wrote */
  readonly #produced = new Map<string, string>();

  public constructor(private readonly options: SealedSecretsOptions) {}

  public step({ registry, clock }: ControllerContext): void {
    this.#tick += 1;
    const delay = this.options.delayTicks ?? 1;
    const all = registry.list(res('sealedsecrets'));
    for (const ss of all) {
      const key = `${ss.metadata.namespace}/${ss.metadata.name}`;
      const version = `${ss.metadata.uid}/${ss.metadata.generation}`;
      if (this.#seen.get(key) !== version) {
        this.#seen.set(key, version);
        this.#queue.set(key, this.#tick + delay - 1);
      }
      // the Secret informer's delete handler re-queues the owner
      const produced = this.#produced.get(key);
      if (produced && !registry.find(res('secrets'), ss.metadata.namespace, ss.metadata.name ?? '')) {
        this.#produced.delete(key);
        this.#queue.set(key, this.#tick + delay - 1);
      }
    }
    for (const [key, at] of [...this.#queue]) {
      if (at > this.#tick) continue;
      this.#queue.delete(key);
      const ss = all.find((s) => `${s.metadata.namespace}/${s.metadata.name}` === key);
      if (ss) this.#sync(registry, ss, clock.time());
    }
  }

  #scope(ss: KubeObject): SealingScopeName {
    const a = ss.metadata.annotations ?? {};
    if (a['sealedsecrets.bitnami.com/cluster-wide'] === 'true') return 'cluster-wide';
    if (a['sealedsecrets.bitnami.com/namespace-wide'] === 'true') return 'namespace-wide';
    return 'strict';
  }

  #sync(registry: Registry, ss: KubeObject, now: string): void {
    let error: string | undefined;
    try {
      this.#writeSecret(registry, ss);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.#writeStatus(registry, ss, error, now);
  }

  #writeSecret(registry: Registry, ss: KubeObject): void {
    const ns = ss.metadata.namespace ?? '';
    const name = ss.metadata.name ?? '';
    const s = spec(ss);
    const template = isObj(s.template) ? s.template : {};
    const tm = isObj(template.metadata) ? template.metadata : {};
    const data: Record<string, string> = {};
    const plain: Record<string, string> = {};
    const failed: string[] = [];
    for (const [k, v] of Object.entries(isObj(s.encryptedData) ? s.encryptedData : {})) {
      try {
        const out = Buffer.from(this.options.unseal(String(v), { namespace: ns, name, scope: this.#scope(ss) }));
        data[k] = out.toString('base64');
        plain[k] = out.toString('utf8');
      } catch {
        failed.push(k);
      }
    }
    // spec.template.data: null deletes a key; `{{ .key }}` substitutes a decrypted value (Go templates
    // beyond that are not modelled)
    for (const [k, v] of Object.entries(isObj(template.data) ? template.data : {})) {
      if (v === null) {
        delete data[k];
        continue;
      }
      const rendered = String(v).replace(/\{\{\s*\.([A-Za-z0-9_-]+)\s*\}\}/g, (_m, key: string) => plain[key] ?? '<no value>');
      if (rendered.includes('{{')) throw new Error(`fake sealed-secrets controller renders only {{ .key }} templates: got ${JSON.stringify(v)} in spec.template.data.${k}`);
      data[k] = Buffer.from(rendered, 'utf8').toString('base64');
    }
    // upstream tags each failing key and joins identical errors: "no key could decrypt secret (a, b)"
    if (failed.length > 0) throw new Error(`no key could decrypt secret (${failed.sort().join(', ')})`);
    const annotations = isObj(tm.annotations) ? (clone(tm.annotations) as Record<string, string>) : undefined;
    const labels = isObj(tm.labels) ? (clone(tm.labels) as Record<string, string>) : undefined;
    const ownerReferences =
      annotations?.[SKIP_OWNER_REFERENCES_ANNOTATION] === 'true'
        ? undefined
        : [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name, uid: ss.metadata.uid ?? '', controller: true }];
    const fresh: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), ...(ownerReferences ? { ownerReferences } : {}) },
      type: typeof template.type === 'string' ? template.type : 'Opaque',
      ...(typeof template.immutable === 'boolean' ? { immutable: template.immutable } : {}),
      data,
    };
    const existing = registry.find(res('secrets'), ns, name);
    if (!existing) {
      const created = registry.create(res('secrets'), ns, fresh);
      this.#produced.set(`${ns}/${name}`, created.metadata.uid ?? '');
      return;
    }
    const controlled = (existing.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === ss.metadata.uid);
    const managed = existing.metadata.annotations?.[MANAGED_ANNOTATION] === 'true';
    const patch = existing.metadata.annotations?.[PATCH_ANNOTATION] === 'true';
    if (!controlled && !managed && !patch) throw new Error(`failed update: Resource "${name}" already exists and is not managed by SealedSecret`);
    const next = clone(existing);
    if (patch) {
      next.data = { ...(isObj(next.data) ? next.data : {}), ...data };
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...(annotations ?? {}) };
      next.metadata.labels = { ...(next.metadata.labels ?? {}), ...(labels ?? {}) };
      if (managed) next.metadata.ownerReferences = ownerReferences;
    } else {
      next.data = data;
      next.metadata.annotations = annotations;
      next.metadata.labels = labels;
      next.metadata.ownerReferences = ownerReferences;
    }
    next.type = fresh.type;
    for (const k of ['annotations', 'labels', 'ownerReferences'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
    const written = registry.update(res('secrets'), ns, name, next);
    this.#produced.set(`${ns}/${name}`, written.metadata.uid ?? '');
  }

  #writeStatus(registry: Registry, ss: KubeObject, error: string | undefined, now: string): void {
    const current = registry.find(res('sealedsecrets'), ss.metadata.namespace, ss.metadata.name ?? '');
    if (!current) return;
    const st = clone(status(current));
    const conds = (Array.isArray(st.conditions) ? st.conditions : []) as Condition[];
    let cond = conds.find((c) => c.type === 'Synced');
    if (!cond) {
      cond = { type: 'Synced', status: '' };
      conds.push(cond);
    }
    const want = error === undefined ? 'True' : 'False';
    cond.message = error ?? '';
    let required = false;
    if (cond.status !== want) {
      // upstream: LastTransitionTime = the previous LastUpdateTime, then LastUpdateTime = now
      (cond as Record<string, unknown>).lastTransitionTime = cond.lastUpdateTime ?? null;
      cond.status = want;
      cond.lastUpdateTime = now;
      required = true;
    }
    if (!required && st.observedGeneration === current.metadata.generation) return;
    const next: Obj = { ...st, conditions: conds, observedGeneration: current.metadata.generation };
    const updated = clone(current);
    updated.status = next;
    registry.update(res('sealedsecrets'), updated.metadata.namespace, updated.metadata.name ?? '', updated, { subresource: 'status' });
  }
}
