/**
 * The External Secrets Operator (external-secrets/external-secrets at cc5bfbc, chart 2.9.0),
 * driven by ticks: the ExternalSecret and PushSecret reconcilers over in-memory stores
 * ({@link RemoteStore}). What it follows, by upstream file:
 *
 * ExternalSecret (`pkg/controllers/externalsecret/externalsecret_controller.go`):
 * - queued `delayTicks` after it is created or changes (any write, status included: upstream
 *   reconciles every update and lets `shouldRefresh` decide), after its target Secret changes or
 *   disappears, when a Periodic refresh is due, and on failure with controller-runtime's
 *   per-item exponential backoff (5 ms doubling, capped at 1000 s; in whole ticks);
 * - skipped when `!shouldRefresh(es) && isSecretValid(secret, es)` (:375): `shouldRefresh`
 *   (:1226-1279) — CreatedOnce: never synced; OnChange: never synced or
 *   `status.syncedResourceVersion != "<metadata.generation>-<hash(labels, annotations)>"`
 *   (`pkg/controllers/util/util.go`); Periodic (default): `refreshInterval <= 0` and synced →
 *   never, else version changed or `refreshTime + refreshInterval` passed; `isSecretValid`
 *   (:1282-1304): Orphan → valid, else the Secret exists with label
 *   `reconcile.external-secrets.io/managed: "true"` and annotation
 *   `reconcile.external-secrets.io/data-hash` equal to the hash of its data;
 * - data from the store: `spec.data[]` (`secretKey`, `remoteRef.key`, `remoteRef.property`) and
 *   `spec.dataFrom[].extract.key` (every property); a missing key or property → Ready=False
 *   `SecretSyncedError` "could not get secret data from provider" and a backoff retry (with
 *   `target.deletionPolicy: Retain`, the default; `Delete` is not modelled);
 * - the target Secret through `target.template` (`externalsecret_controller_template.go`
 *   ApplyTemplate): no template → the data as fetched; else `type`, `template.data` rendered
 *   (engine v2; `mergePolicy: Merge` also keeps the fetched keys), `template.metadata`
 *   labels/annotations rendered onto the Secret; plus the managed label and data-hash annotation;
 * - `target.creationPolicy` Owner (default: controller owner reference; a Secret controlled by
 *   another owner → Ready=False "target is owned by another ExternalSecret", no retry), Orphan (no
 *   owner reference), Merge (only updates an existing Secret; missing → Ready=True `SecretMissing`);
 * - `markAsDone` (:765-772): Ready=True `SecretSynced` "secret synced", `refreshTime`,
 *   `syncedResourceVersion`, `binding.name`, through `/status`.
 *
 * PushSecret (`pkg/controllers/pushsecret/pushsecret_controller.go`):
 * - queued on create, on a change of generation, labels or annotations or deletion
 *   (`shouldReconcilePushSecretUpdate` :157-173; NOT on its source Secret changing — ESO#6069),
 *   when `refreshInterval` (default 1h; `0s` = once) is due, and on failure with backoff;
 * - `shouldRefresh` (:349-360); source `spec.selector.secret.name` missing → Ready=False
 *   `Errored` "could not get source secret" (retried), or with `deletionPolicy: Delete` and earlier
 *   pushes: the pushed keys are deleted, Ready=False `SourceDeleted`;
 * - `spec.secretStoreRefs[]` (kind SecretStore by default) resolved to stores; one that cannot be
 *   written → Ready=False "set secret failed: …";
 * - `spec.data[].match.secretKey` → `remoteRef.remoteKey` / `property` (one property per entry);
 *   `updatePolicy` Replace (default) writes, IfNotExists skips an existing remote property;
 * - `deletionPolicy: Delete` deletes the pushed keys when the PushSecret is deleted; None keeps them;
 * - `markAsDone`: Ready=True `Synced` "PushSecret synced successfully", `refreshTime`,
 *   `syncedResourceVersion`, `syncedPushSecrets`.
 *
 * Templates: only `{{ .name }}` (optionally `{{- … -}}`) is rendered; a missing name is a template
 * error (ESO executes with `missingkey=error`) → Ready=False. Any other Go-template/sprig syntax
 * throws from the controller: the fake does not pretend to render it.
 * Not modelled: SecretStore objects and their status (stores are the injected RemoteStores),
 * generators, `dataFrom.find`, rewrites, `templateFrom`, decoding strategies, refresh windows,
 * conversion strategies, ClusterExternalSecret/ClusterPushSecret, events, metrics. Hashes are
 * FNV-based, not ESO's values.
 */
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { clone, type Condition, isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import type { RemoteStore } from './remote-store.js';
import { computeHash, spec, status, stableJson } from './util.js';

export const LABEL_MANAGED = 'reconcile.external-secrets.io/managed';
export const ANNOTATION_DATA_HASH = 'reconcile.external-secrets.io/data-hash';

export interface EsoOptions {
  /**
   * The stores, by reference: `ClusterSecretStore/<name>` or `SecretStore/<namespace>/<name>`
   * (a SecretStore is looked up in the referencing object's namespace).
   */
  readonly stores: Readonly<Record<string, RemoteStore>>;
  /** Ticks between a trigger and the reconcile. @default 1 */
  readonly delayTicks?: number;
  /** Seconds per tick, to turn backoffs and refresh intervals into ticks. @default 1 */
  readonly tickSeconds?: number;
}

/** A store reference as the specs carry it. */
interface StoreRef {
  readonly kind: string;
  readonly name: string;
}

/** One reconcile outcome, for tests (never the values). */
export interface EsoEvent {
  readonly tick: number;
  readonly kind: 'ExternalSecret' | 'PushSecret';
  readonly key: string;
  /** `synced`, `skipped`, `failed: <message>` */
  readonly outcome: string;
}

/** Go's time.ParseDuration for the shapes specs use (`1h`, `1h0m0s`, `15s`, `500ms`, `0`). */
export function parseDuration(v: unknown, fallbackSeconds: number): number {
  if (typeof v !== 'string' || v === '') return fallbackSeconds;
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== v.length) throw new Error(`fake ESO cannot parse duration ${JSON.stringify(v)}`);
  return total;
}

/** ESO's `<metadata.generation>-<hash of labels and annotations>`. */
export function resourceVersionOf(o: KubeObject): string {
  return `${o.metadata.generation ?? 0}-${computeHash({ annotations: o.metadata.annotations ?? {}, labels: o.metadata.labels ?? {} })}`;
}

/** The data-hash annotation value of a Secret's data. */
export function dataHash(data: Obj): string {
  return computeHash(data);
}

const TEMPLATE = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/g;

/**
 * Renders the subset of ESO template engine v2 the fake supports: `{{ .name }}`. A missing name
 * is an error (missingkey=error); any other action throws `unsupported`.
 */
export function renderTemplate(text: string, data: Readonly<Record<string, string>>, where: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TEMPLATE)) {
    let before = text.slice(last, m.index);
    if (m[1] === '-') before = before.replace(/\s+$/, '');
    out += before;
    const action = m[2]!;
    const ref = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action);
    if (!ref) throw new UnsupportedTemplate(`fake ESO renders only {{ .name }} templates: got ${JSON.stringify(`{{ ${action} }}`)} in ${where}`);
    const value = data[ref[1]!];
    if (value === undefined) throw new TemplateError(`template: ${where}: executing "${where}" at <.${ref[1]}>: map has no entry for key "${ref[1]}"`);
    out += value;
    last = m.index! + m[0].length;
    if (m[3] === '-') {
      const rest = text.slice(last);
      last += rest.length - rest.replace(/^\s+/, '').length;
    }
  }
  return out + text.slice(last);
}

/** A template the fake cannot render (a gap of the fake, not a user error): thrown out of tick(). */
export class UnsupportedTemplate extends Error {}
/** A template error ESO reports on the ExternalSecret (Ready=False). */
class TemplateError extends Error {}

class Failure extends Error {
  public constructor(
    public readonly reason: string,
    message: string,
    public readonly detail: string,
    public readonly retry = true,
  ) {
    super(message);
  }
}

interface QueueState {
  /** tick of the next reconcile, or undefined */
  at?: number;
  failures: number;
  /** what the watch predicate last saw */
  seen: string;
}

export class ExternalSecretsController implements Controller {
  public readonly name = 'external-secrets';
  /** Every reconcile that did something (synced, failed), in order. */
  public readonly events: EsoEvent[] = [];
  #tick = 0;
  readonly #es = new Map<string, QueueState>();
  readonly #ps = new Map<string, QueueState>();
  /** PushSecret key → what it pushed (store reference → remote keys), for deletionPolicy Delete. */
  readonly #pushed = new Map<string, { store: RemoteStore; remoteKey: string; property: string }[]>();

  public constructor(private readonly options: EsoOptions) {}

  get #delay(): number {
    return this.options.delayTicks ?? 1;
  }

  #ticks(seconds: number): number {
    return Math.max(1, Math.ceil(seconds / (this.options.tickSeconds ?? 1)));
  }

  /** controller-runtime's per-item backoff: 5 ms · 2^failures, capped at 1000 s, in whole ticks. */
  #backoff(failures: number): number {
    return this.#ticks(Math.min(1000, 0.005 * 2 ** failures));
  }

  public step({ registry, clock }: ControllerContext): void {
    this.#tick += 1;
    const now = clock.nowMs();
    this.#pushSecrets(registry, clock.time(), now);
    this.#externalSecrets(registry, clock.time(), now);
  }

  #store(ref: StoreRef, namespace: string): RemoteStore | undefined {
    const key = ref.kind === 'ClusterSecretStore' ? `ClusterSecretStore/${ref.name}` : `SecretStore/${namespace}/${ref.name}`;
    return this.options.stores[key];
  }

  #schedule(state: QueueState, at: number): void {
    state.at = state.at === undefined ? at : Math.min(state.at, at);
  }

  // ---- PushSecret -----------------------------------------------------------------------------

  #pushSecrets(registry: Registry, nowIso: string, nowMs: number): void {
    const all = registry.list(res('pushsecrets'));
    const live = new Set<string>();
    for (const ps of all) {
      const key = `${ps.metadata.namespace}/${ps.metadata.name}`;
      live.add(key);
      // the watch predicate: create, generation/labels/annotations change, deletion
      const seen = `${ps.metadata.uid}|${ps.metadata.generation}|${stableJson(ps.metadata.labels ?? {})}|${stableJson(ps.metadata.annotations ?? {})}|${ps.metadata.deletionTimestamp ?? ''}`;
      let st = this.#ps.get(key);
      if (!st) {
        st = { failures: 0, seen: '' };
        this.#ps.set(key, st);
      }
      if (st.seen !== seen) {
        st.seen = seen;
        this.#schedule(st, this.#tick + this.#delay - 1);
      }
      // RequeueAfter refreshInterval after a success
      const s = status(ps);
      const interval = parseDuration(spec(ps).refreshInterval, 3600);
      const refreshed = typeof s.refreshTime === 'string' ? Date.parse(s.refreshTime) : undefined;
      if (interval > 0 && refreshed !== undefined && nowMs >= refreshed + interval * 1000) this.#schedule(st, this.#tick);
      if (st.at === undefined || st.at > this.#tick) continue;
      st.at = undefined;
      this.#reconcilePush(registry, ps, st, nowIso, nowMs);
    }
    // deleted PushSecrets: deletionPolicy Delete removes what they pushed (the finalizer's cleanup)
    for (const key of [...this.#ps.keys()]) {
      if (live.has(key)) continue;
      this.#ps.delete(key);
      for (const p of this.#pushed.get(key) ?? []) p.store.delete(p.remoteKey);
      this.#pushed.delete(key);
    }
  }

  #reconcilePush(registry: Registry, ps: KubeObject, st: QueueState, nowIso: string, nowMs: number): void {
    const key = `${ps.metadata.namespace}/${ps.metadata.name}`;
    const sp = spec(ps);
    const s = status(ps);
    const rv = resourceVersionOf(ps);
    const interval = parseDuration(sp.refreshInterval, 3600);
    const refreshed = typeof s.refreshTime === 'string' ? Date.parse(s.refreshTime) : undefined;
    const shouldRefresh = s.syncedResourceVersion !== rv || (!(interval === 0 && s.syncedResourceVersion) && (refreshed === undefined || refreshed + interval * 1000 < nowMs));
    if (!shouldRefresh) return;
    const deletion = sp.deletionPolicy === 'Delete' ? 'Delete' : 'None';
    try {
      const ns = ps.metadata.namespace ?? '';
      const selector = isObj(sp.selector) && isObj(sp.selector.secret) ? sp.selector.secret : undefined;
      if (!selector || typeof selector.name !== 'string') throw new Error(`fake ESO supports only spec.selector.secret.name: got ${JSON.stringify(sp.selector)} in PushSecret ${key}`);
      const source = registry.find(res('secrets'), ns, selector.name);
      if (!source) {
        if (deletion === 'Delete' && (this.#pushed.get(key)?.length ?? 0) > 0) {
          for (const p of this.#pushed.get(key) ?? []) p.store.delete(p.remoteKey);
          this.#pushed.delete(key);
          this.#writePushStatus(registry, ps, { status: 'False', reason: 'SourceDeleted', message: 'source secret deleted; provider secrets cleaned up' }, nowIso, { syncedPushSecrets: {} });
          this.events.push({ tick: this.#tick, kind: 'PushSecret', key, outcome: 'source deleted' });
          return;
        }
        throw new Failure('Errored', 'could not get source secret', `secrets "${selector.name}" not found`);
      }
      const refs = (Array.isArray(sp.secretStoreRefs) ? sp.secretStoreRefs : []).map((r) => (isObj(r) ? { kind: typeof r.kind === 'string' ? r.kind : 'SecretStore', name: String(r.name) } : { kind: '', name: '' }));
      const stores = refs.map((r) => [r, this.#store(r, ns)] as const);
      const missing = stores.find(([, store]) => store === undefined);
      if (missing) throw new Failure('Errored', `could not get SecretStore "${missing[0].name}", secretstores.external-secrets.io "${missing[0].name}" not found`, 'no store');
      const data = Array.isArray(sp.data) ? sp.data : [];
      const sourceData = isObj(source.data) ? (source.data as Record<string, string>) : {};
      const synced: Record<string, Obj> = {};
      const pushed: { store: RemoteStore; remoteKey: string; property: string }[] = [];
      for (const [ref, store] of stores) {
        const perStore: Obj = {};
        for (const d of data) {
          const match = isObj(d) && isObj(d.match) ? d.match : undefined;
          const remote = match && isObj(match.remoteRef) ? match.remoteRef : undefined;
          if (!match || typeof match.secretKey !== 'string' || !remote || typeof remote.remoteKey !== 'string' || typeof remote.property !== 'string') {
            throw new Error(`fake ESO supports only data[].match {secretKey, remoteRef {remoteKey, property}}: got ${JSON.stringify(d)} in PushSecret ${key}`);
          }
          const value = sourceData[match.secretKey];
          if (value === undefined) throw new Failure('Errored', `set secret failed: secret key ${match.secretKey} does not exist`, 'no key');
          if (sp.updatePolicy === 'IfNotExists' && store!.get(remote.remoteKey)?.[remote.property] !== undefined) continue;
          try {
            store!.put(remote.remoteKey, { [remote.property]: Buffer.from(value, 'base64').toString('utf8') }, nowIso, `PushSecret/${key}`);
          } catch (e) {
            throw new Failure('Errored', `set secret failed: ${(e as Error).message}`, 'store refused');
          }
          pushed.push({ store: store!, remoteKey: remote.remoteKey, property: remote.property });
          perStore[`${remote.remoteKey}/${remote.property}`] = clone(d) as Obj;
        }
        synced[`${ref.kind}/${ref.name}`] = perStore;
      }
      // only deletionPolicy Delete adds the finalizer that cleans up when the PushSecret goes
      if (deletion === 'Delete') this.#pushed.set(key, [...(this.#pushed.get(key) ?? []).filter((p) => !pushed.some((q) => q.remoteKey === p.remoteKey)), ...pushed]);
      else this.#pushed.delete(key);
      st.failures = 0;
      const message = sp.updatePolicy === 'IfNotExists' ? 'PushSecret synced successfully. Existing secrets in providers unchanged.' : 'PushSecret synced successfully';
      this.#writePushStatus(registry, ps, { status: 'True', reason: 'Synced', message }, nowIso, { refreshTime: nowIso, syncedResourceVersion: rv, syncedPushSecrets: synced });
      this.events.push({ tick: this.#tick, kind: 'PushSecret', key, outcome: 'synced' });
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      this.#writePushStatus(registry, ps, { status: 'False', reason: e.reason, message: e.message }, nowIso, {});
      this.events.push({ tick: this.#tick, kind: 'PushSecret', key, outcome: `failed: ${e.message}` });
      this.#schedule(st, this.#tick + this.#backoff(st.failures++));
    }
  }

  #writePushStatus(registry: Registry, ps: KubeObject, cond: { status: string; reason: string; message: string }, nowIso: string, extra: Obj): void {
    writeStatus(registry, res('pushsecrets'), ps, cond, nowIso, extra);
  }

  // ---- ExternalSecret -------------------------------------------------------------------------

  #externalSecrets(registry: Registry, nowIso: string, nowMs: number): void {
    for (const es of registry.list(res('externalsecrets'))) {
      const key = `${es.metadata.namespace}/${es.metadata.name}`;
      const sp = spec(es);
      const target = isObj(sp.target) ? sp.target : {};
      const secretName = typeof target.name === 'string' && target.name ? target.name : es.metadata.name ?? '';
      const secret = registry.find(res('secrets'), es.metadata.namespace, secretName);
      // the ES informer (every update) and the owned-Secret informer
      const seen = `${es.metadata.uid}|${es.metadata.resourceVersion}|${secret?.metadata.uid ?? ''}|${secret?.metadata.resourceVersion ?? ''}`;
      let st = this.#es.get(key);
      if (!st) {
        st = { failures: 0, seen: '' };
        this.#es.set(key, st);
      }
      if (st.seen !== seen) {
        st.seen = seen;
        this.#schedule(st, this.#tick + this.#delay - 1);
      }
      // getRequeueResult: RequeueAfter refreshInterval (Periodic)
      const s = status(es);
      const policy = typeof sp.refreshPolicy === 'string' ? sp.refreshPolicy : 'Periodic';
      const interval = parseDuration(sp.refreshInterval, 3600);
      const refreshed = typeof s.refreshTime === 'string' ? Date.parse(s.refreshTime) : undefined;
      if (policy === 'Periodic' && interval > 0 && refreshed !== undefined && nowMs >= refreshed + interval * 1000) this.#schedule(st, this.#tick);
      if (st.at === undefined || st.at > this.#tick) continue;
      st.at = undefined;
      this.#reconcileExternal(registry, es, secretName, secret, st, nowIso, nowMs);
    }
  }

  #reconcileExternal(registry: Registry, es: KubeObject, secretName: string, existing: KubeObject | undefined, st: QueueState, nowIso: string, nowMs: number): void {
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    const ns = es.metadata.namespace ?? '';
    const sp = spec(es);
    const s = status(es);
    const target = isObj(sp.target) ? sp.target : {};
    const creation = typeof target.creationPolicy === 'string' ? target.creationPolicy : 'Owner';
    const rv = resourceVersionOf(es);
    const policy = typeof sp.refreshPolicy === 'string' ? sp.refreshPolicy : 'Periodic';
    const synced = typeof s.syncedResourceVersion === 'string' && s.syncedResourceVersion !== '' && typeof s.refreshTime === 'string';
    const interval = parseDuration(sp.refreshInterval, 3600);
    const refreshed = typeof s.refreshTime === 'string' ? Date.parse(s.refreshTime) : 0;
    let shouldRefresh: boolean;
    if (policy === 'CreatedOnce') shouldRefresh = !synced;
    else if (policy === 'OnChange') shouldRefresh = !synced || s.syncedResourceVersion !== rv;
    else if (interval <= 0 && s.syncedResourceVersion) shouldRefresh = false;
    else shouldRefresh = s.syncedResourceVersion !== rv || !synced || refreshed > nowMs || refreshed + interval * 1000 < nowMs;
    const valid =
      creation === 'Orphan' ||
      (existing !== undefined && existing.metadata.labels?.[LABEL_MANAGED] === 'true' && existing.metadata.annotations?.[ANNOTATION_DATA_HASH] === dataHash(isObj(existing.data) ? existing.data : {}));
    if (!shouldRefresh && valid) return;
    try {
      const fetched = this.#fetch(sp, ns);
      const fresh = this.#render(es, existing, secretName, fetched, creation);
      if (creation === 'Merge' && existing === undefined) {
        this.#done(registry, es, 'SecretMissing', 'secret will not be created due to CreationPolicy=Merge', nowIso, rv, secretName);
        return;
      }
      if (existing === undefined) registry.create(res('secrets'), ns, fresh);
      else if (stableJson(fresh) !== stableJson(existing)) registry.update(res('secrets'), ns, secretName, fresh);
      st.failures = 0;
      this.#done(registry, es, 'SecretSynced', 'secret synced', nowIso, rv, secretName);
      this.events.push({ tick: this.#tick, kind: 'ExternalSecret', key, outcome: 'synced' });
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      writeStatus(registry, res('externalsecrets'), es, { status: 'False', reason: e.reason, message: e.message }, nowIso, {});
      this.events.push({ tick: this.#tick, kind: 'ExternalSecret', key, outcome: `failed: ${e.message} (${e.detail})` });
      if (e.retry) this.#schedule(st, this.#tick + this.#backoff(st.failures++));
    }
  }

  /** GetProviderSecretData: spec.data and spec.dataFrom[].extract from the store. */
  #fetch(sp: Obj, ns: string): Record<string, string> {
    const ref = isObj(sp.secretStoreRef) ? { kind: typeof sp.secretStoreRef.kind === 'string' ? sp.secretStoreRef.kind : 'SecretStore', name: String(sp.secretStoreRef.name) } : undefined;
    const storeOf = (r: StoreRef | undefined) => {
      const store = r ? this.#store(r, ns) : undefined;
      if (!store) throw new Failure('SecretSyncedError', 'could not get secret data from provider', `could not get store ${r?.kind ?? '?'}/${r?.name ?? '?'}`);
      return store;
    };
    const out: Record<string, string> = {};
    for (const [i, d] of (Array.isArray(sp.dataFrom) ? sp.dataFrom : []).entries()) {
      const extract = isObj(d) && isObj(d.extract) ? d.extract : undefined;
      if (!extract || typeof extract.key !== 'string') throw new Error(`fake ESO supports only dataFrom[].extract.key: got ${JSON.stringify(d)}`);
      const got = storeOf(ref).get(extract.key);
      if (got === undefined) throw new Failure('SecretSyncedError', 'could not get secret data from provider', `error processing spec.dataFrom[${i}].extract, err: Secret does not exist`);
      Object.assign(out, got);
    }
    for (const [i, d] of (Array.isArray(sp.data) ? sp.data : []).entries()) {
      if (!isObj(d) || typeof d.secretKey !== 'string' || !isObj(d.remoteRef) || typeof d.remoteRef.key !== 'string') throw new Error(`fake ESO cannot read spec.data[${i}]: got ${JSON.stringify(d)}`);
      const r = isObj(d.sourceRef) && isObj(d.sourceRef.storeRef) ? { kind: String(d.sourceRef.storeRef.kind ?? 'SecretStore'), name: String(d.sourceRef.storeRef.name) } : ref;
      const got = storeOf(r).get(d.remoteRef.key);
      const property = typeof d.remoteRef.property === 'string' ? d.remoteRef.property : undefined;
      const value = got === undefined ? undefined : property === undefined ? JSON.stringify(got) : got[property];
      if (value === undefined) {
        throw new Failure('SecretSyncedError', 'could not get secret data from provider', `error processing spec.data[${i}] (key: ${d.remoteRef.key}), err: ${got === undefined ? 'Secret does not exist' : `property ${property} does not exist`}`);
      }
      out[d.secretKey] = value;
    }
    return out;
  }

  /** ApplyTemplate + ownership + the managed label and data-hash annotation. */
  #render(es: KubeObject, existing: KubeObject | undefined, secretName: string, fetched: Record<string, string>, creation: string): KubeObject {
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    const target = isObj(spec(es).target) ? (spec(es).target as Obj) : {};
    const template = isObj(target.template) ? target.template : undefined;
    const next: KubeObject = existing ? clone(existing) : { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: es.metadata.namespace }, type: 'Opaque' };
    const owner = (next.metadata.ownerReferences ?? []).find((r) => r.controller === true);
    if (creation === 'Owner' && owner && owner.uid !== es.metadata.uid) {
      throw new Failure('SecretSyncedError', owner.kind === 'ExternalSecret' ? 'target is owned by another ExternalSecret' : 'failed to take ownership of target secret', `owned by ${owner.kind}/${owner.name}`, false);
    }
    const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
    const merge = creation === 'Merge';
    let data: Record<string, string> = merge && isObj(next.data) ? { ...(next.data as Record<string, string>) } : {};
    const labels: Record<string, string> = { ...(next.metadata.labels ?? {}) };
    const annotations: Record<string, string> = { ...(next.metadata.annotations ?? {}) };
    const render = (v: unknown, where: string) => {
      try {
        return renderTemplate(String(v), fetched, where);
      } catch (e) {
        if (e instanceof TemplateError) throw new Failure('SecretSyncedError', 'could not update secret', e.message);
        throw e;
      }
    };
    if (!template) {
      for (const [k, v] of Object.entries(fetched)) data[k] = b64(v);
    } else {
      if (typeof template.engineVersion === 'string' && template.engineVersion !== 'v2') throw new Error(`fake ESO renders only template engine v2: got ${template.engineVersion} in ExternalSecret ${key}`);
      if (template.templateFrom !== undefined) throw new Error(`fake ESO does not model target.template.templateFrom (ExternalSecret ${key})`);
      if (typeof template.type === 'string' && template.type) next.type = template.type;
      const tdata = isObj(template.data) ? template.data : {};
      if (template.mergePolicy === 'Merge' || Object.keys(tdata).length === 0) for (const [k, v] of Object.entries(fetched)) data[k] = b64(v);
      for (const [k, v] of Object.entries(tdata)) data[k] = b64(render(v, k));
      const tm = isObj(template.metadata) ? template.metadata : {};
      for (const [k, v] of Object.entries(isObj(tm.labels) ? tm.labels : {})) labels[k] = render(v, k);
      for (const [k, v] of Object.entries(isObj(tm.annotations) ? tm.annotations : {})) annotations[k] = render(v, k);
    }
    data = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
    next.data = data;
    labels[LABEL_MANAGED] = 'true';
    annotations[ANNOTATION_DATA_HASH] = dataHash(data);
    next.metadata.labels = labels;
    next.metadata.annotations = annotations;
    if (creation === 'Owner') next.metadata.ownerReferences = [{ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: es.metadata.name ?? '', uid: es.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }];
    return next;
  }

  #done(registry: Registry, es: KubeObject, reason: string, message: string, nowIso: string, rv: string, secretName: string): void {
    writeStatus(registry, res('externalsecrets'), es, { status: 'True', reason, message }, nowIso, { refreshTime: nowIso, syncedResourceVersion: rv, binding: { name: secretName } });
  }
}

/** Sets the Ready condition (lastTransitionTime moves only when status flips) and extra status fields, through /status. */
function writeStatus(registry: Registry, def: ReturnType<typeof res>, obj: KubeObject, cond: { status: string; reason: string; message: string }, nowIso: string, extra: Obj): void {
  const current = registry.find(def, obj.metadata.namespace, obj.metadata.name ?? '');
  if (!current) return;
  const st = clone(status(current));
  const conds = (Array.isArray(st.conditions) ? st.conditions : []) as Condition[];
  const old = conds.find((c) => c.type === 'Ready');
  const ready: Condition = { type: 'Ready', status: cond.status, reason: cond.reason, message: cond.message, lastTransitionTime: old && old.status === cond.status ? old.lastTransitionTime : nowIso };
  const next: Obj = { ...st, ...extra, conditions: [...conds.filter((c) => c.type !== 'Ready'), ready] };
  if (stableJson(next) === stableJson(st)) return;
  const updated = clone(current);
  updated.status = next;
  registry.update(def, updated.metadata.namespace, updated.metadata.name ?? '', updated, { subresource: 'status' });
}
