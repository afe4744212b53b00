/**
 * The HTTP front of the fake API server: routing of real kube-apiserver paths, verbs, list/watch
 * query parameters, Status error bodies, the /scale and /eviction subresources, discovery, fault
 * injection and the request log. Every response is `Content-Type: application/json`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './discovery.js';
import { ApiError, badRequest, conflict, methodNotAllowed, pathNotFound } from './errors.js';
import { evict } from './eviction.js';
import type { FaultAction, Faults, LoggedRequest, RequestInfo, Verb } from './faults.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { PATCH_TYPES, type Registry } from './registry.js';
import { apiVersionOf, findResource, type ResourceDef } from './resources.js';
import { parseFieldSelector, parseLabelSelector, type Predicate } from './selectors.js';
import { clone, isObj, type KubeObject, type Obj } from './types.js';
import { WatchStream } from './watch.js';

interface Reply {
  readonly code: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

interface Route {
  readonly def: ResourceDef;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

export interface HttpApiOptions {
  readonly registry: Registry;
  readonly faults: Faults;
  readonly log: LoggedRequest[];
  /** `host:port` for /api's serverAddressByClientCIDRs */
  readonly address: () => string;
}

export class HttpApi {
  readonly #watches = new Set<WatchStream>();

  public constructor(private readonly options: HttpApiOptions) {}

  /** Every open watch stream. */
  public get watches(): readonly WatchStream[] {
    return [...this.#watches];
  }

  public handle(req: IncomingMessage, res: ServerResponse): void {
    void this.#handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) this.#write(res, { code: 500, body: new ApiError(500, 'InternalError', `Internal error occurred: ${String(err)}`).status() });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const entry: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, query, status: 0 };
    this.options.log.push(entry);
    const body = await readBody(req);

    const nonResource = this.#nonResource(url.pathname);
    if (nonResource) {
      entry.status = nonResource.code;
      this.#write(res, nonResource);
      return;
    }
    let route: Route;
    let info: RequestInfo;
    try {
      route = parsePath(url.pathname);
      info = { verb: verbOf(req.method ?? 'GET', route, url.searchParams), resource: route.def.resource, subresource: route.subresource, namespace: route.namespace, name: route.name };
    } catch (err) {
      const reply = errorReply(err);
      entry.status = reply.code;
      this.#write(res, reply);
      return;
    }
    entry.info = info;
    const fault = this.options.faults.take(info);
    if (fault) entry.fault = fault.type;
    if (fault?.type === 'drop') {
      entry.status = 'dropped';
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'error') {
      entry.status = fault.code;
      this.#write(res, faultReply(fault));
      return;
    }
    if (info.verb === 'watch') {
      try {
        const stream = this.#watch(route, url.searchParams, res);
        entry.status = 200;
        this.#watches.add(stream);
      } catch (err) {
        const reply = errorReply(err);
        entry.status = reply.code;
        this.#write(res, reply);
      }
      return;
    }
    let reply: Reply;
    try {
      reply = this.#serve(req.method ?? 'GET', req.headers['content-type'] ?? '', route, info.verb, url.searchParams, body);
    } catch (err) {
      reply = errorReply(err);
    }
    if (fault?.type === 'applyThenDrop') {
      entry.status = 'dropped';
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'applyThenTimeout') {
      reply = { code: 504, body: new ApiError(504, 'Timeout', 'Timeout: request did not complete within the allowed duration').status() };
    }
    entry.status = reply.code;
    this.#write(res, reply);
  }

  #nonResource(path: string): Reply | undefined {
    const p = path.replace(/\/+$/, '') || '/';
    if (p === '/version') return { code: 200, body: VERSION_INFO };
    if (p === '/healthz' || p === '/livez' || p === '/readyz') return { code: 200, body: 'ok' };
    if (p === '/api') return { code: 200, body: apiVersions(this.options.address()) };
    if (p === '/apis') return { code: 200, body: apiGroupList() };
    if (p === '/api/v1') return { code: 200, body: apiResourceList('', 'v1') };
    let m = p.match(/^\/apis\/([^/]+)$/);
    if (m) {
      const doc = apiGroupDoc(m[1]);
      return doc ? { code: 200, body: doc } : { code: 404, body: pathNotFound().status() };
    }
    m = p.match(/^\/apis\/([^/]+)\/([^/]+)$/);
    if (m) {
      const doc = apiResourceList(m[1], m[2]);
      return doc ? { code: 200, body: doc } : { code: 404, body: pathNotFound().status() };
    }
    if (p.startsWith('/openapi')) return { code: 404, body: pathNotFound().status() };
    if (!p.startsWith('/api/v1/') && !p.startsWith('/apis/')) return { code: 404, body: pathNotFound().status() };
    return undefined;
  }

  #watch(route: Route, q: URLSearchParams, res: ServerResponse): WatchStream {
    if (route.name !== undefined) throw methodNotAllowed();
    const timeout = q.get('timeoutSeconds');
    const stream = new WatchStream(
      this.options.registry.store,
      {
        def: route.def,
        namespace: route.namespace,
        filter: filterOf(route.def, q),
        resourceVersion: q.get('resourceVersion') ?? '',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout ? Number(timeout) : undefined,
      },
      res,
      (w) => this.#watches.delete(w),
    );
    return stream;
  }

  #serve(method: string, contentType: string, route: Route, verb: Verb, q: URLSearchParams, raw: string): Reply {
    const { registry } = this.options;
    const { def, namespace, name, subresource } = route;
    const dryRun = q.get('dryRun');
    if (dryRun !== null && dryRun !== 'All') {
      throw badRequest(`Invalid dry run value: ${dryRun}`);
    }
    if (subresource === 'eviction') {
      if (def.resource !== 'pods' || method !== 'POST' || !name || !namespace) throw methodNotAllowed();
      return { code: 201, body: evict(registry, namespace, name, parseJson(raw)) };
    }
    if (subresource === 'scale') return this.#scale(method, contentType, route, raw);
    if (subresource !== undefined && (subresource !== 'status' || !def.status)) throw pathNotFound();
    const writeOptions = { subresource: subresource as 'status' | undefined, validate: true, dryRun: dryRun === 'All' };
    switch (verb) {
      case 'get':
        return { code: 200, body: registry.get(def, namespace, name ?? '') };
      case 'list': {
        const items = registry.list(def, namespace, filterOf(def, q)).map((o) => (def.custom ? o : stripKind(o)));
        return { code: 200, body: { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(registry.store.revision) }, items } };
      }
      case 'create': {
        if (subresource) throw methodNotAllowed();
        return { code: 201, body: registry.create(def, namespace, parseJson(raw) as KubeObject, writeOptions) };
      }
      case 'update': {
        const body = parseJson(raw) as KubeObject;
        const existed = registry.find(def, namespace, name ?? '') !== undefined;
        const out = registry.update(def, namespace, name ?? '', body, writeOptions);
        return { code: existed ? 200 : 201, body: out };
      }
      case 'patch': {
        const type = contentType.split(';')[0].trim();
        const existed = registry.find(def, namespace, name ?? '') !== undefined;
        const out = registry.patch(def, namespace, name ?? '', type, raw, { ...writeOptions, fieldManager: q.get('fieldManager') ?? undefined });
        return { code: existed ? 200 : 201, body: out };
      }
      case 'delete': {
        if (dryRun) return { code: 200, body: registry.get(def, namespace, name ?? '') };
        const opts = raw.trim() ? parseJson(raw) : {};
        const o: Obj = isObj(opts) ? opts : {};
        const graceQ = q.get('gracePeriodSeconds');
        const grace = graceQ !== null ? Number(graceQ) : typeof o.gracePeriodSeconds === 'number' ? o.gracePeriodSeconds : undefined;
        const result = registry.delete(def, namespace, name ?? '', {
          gracePeriodSeconds: grace,
          preconditions: isObj(o.preconditions) ? (o.preconditions as { uid?: string; resourceVersion?: string }) : undefined,
        });
        return { code: 200, body: result.kind === 'object' ? result.object : result.status };
      }
      case 'deletecollection': {
        const items = registry.list(def, namespace, filterOf(def, q));
        for (const item of items) registry.delete(def, item.metadata.namespace, item.metadata.name ?? '');
        return { code: 200, body: { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(registry.store.revision) }, items: items.map(stripKind) } };
      }
      default:
        throw methodNotAllowed();
    }
  }

  /** GET/PUT/PATCH `…/scale`: an autoscaling/v1 Scale over spec.replicas. */
  #scale(method: string, contentType: string, route: Route, raw: string): Reply {
    const { registry } = this.options;
    const { def, namespace, name } = route;
    if (!def.scale || !name) throw pathNotFound();
    const current = registry.get(def, namespace, name);
    const scale = toScale(current);
    if (method === 'GET') return { code: 200, body: scale };
    let replicas: unknown;
    if (method === 'PUT') {
      const body = parseJson(raw);
      replicas = isObj(body) && isObj(body.spec) ? body.spec.replicas : undefined;
      const rv = isObj(body) && isObj(body.metadata) ? body.metadata.resourceVersion : undefined;
      if (typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) {
        throw conflict(def, name);
      }
    } else if (method === 'PATCH') {
      const type = contentType.split(';')[0].trim();
      replicas = patchScale(scale, type, raw);
    } else throw methodNotAllowed();
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}: must be greater than or equal to 0`);
    }
    const next = clone(current);
    (next.spec as Obj).replicas = replicas;
    const out = registry.update(def, namespace, name, next, {});
    return { code: 200, body: toScale(out) };
  }

  #write(res: ServerResponse, reply: Reply): void {
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(reply.headers ?? {}) });
    res.end(text);
  }
}

/** Patches a Scale (a throw-away object) with the same patch formats; returns the new spec.replicas. */
function patchScale(scale: KubeObject, type: string, raw: string): unknown {
  const body = parseJson(raw);
  const out = type === PATCH_TYPES.json ? jsonPatch(scale, body) : type === PATCH_TYPES.merge ? mergePatch(scale, body) : strategicMergePatch(scale, body);
  return isObj(out) && isObj(out.spec) ? out.spec.replicas : undefined;
}

function toScale(o: KubeObject): KubeObject {
  const spec = isObj(o.spec) ? o.spec : {};
  const status = isObj(o.status) ? o.status : {};
  const selector = isObj(spec.selector) && isObj(spec.selector.matchLabels) ? Object.entries(spec.selector.matchLabels).map(([k, v]) => `${k}=${String(v)}`).join(',') : '';
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector },
  };
}

function stripKind(o: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest as KubeObject;
}

function filterOf(def: ResourceDef, q: URLSearchParams): Predicate {
  const label = q.get('labelSelector');
  const field = q.get('fieldSelector');
  const lp = label ? parseLabelSelector(label) : undefined;
  const fp = field ? parseFieldSelector(def, field) : undefined;
  return (o) => (lp ? lp(o) : true) && (fp ? fp(o) : true);
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
}

function errorReply(err: unknown): Reply {
  if (err instanceof ApiError) {
    const retry = err.details?.retryAfterSeconds;
    return { code: err.code, body: err.status(), headers: retry ? { 'Retry-After': String(retry) } : undefined };
  }
  return { code: 500, body: new ApiError(500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`).status() };
}

function faultReply(f: Extract<FaultAction, { type: 'error' }>): Reply {
  const reason = f.reason ?? (f.code === 503 ? 'ServiceUnavailable' : f.code === 429 ? 'TooManyRequests' : f.code === 504 ? 'Timeout' : 'InternalError');
  const message = f.message ?? (f.code === 500 ? 'Internal error occurred: injected fault' : 'injected fault');
  const details = f.retryAfterSeconds ? { retryAfterSeconds: f.retryAfterSeconds } : undefined;
  return { code: f.code, body: new ApiError(f.code, reason, message, details).status(), headers: f.retryAfterSeconds ? { 'Retry-After': String(f.retryAfterSeconds) } : undefined };
}

/** `/api/v1/namespaces/ns/pods/x/status` → route; throws 404 for paths the fake does not serve. */
export function parsePath(path: string): Route {
  const parts = path.split('/').filter((p) => p !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const candidate = findResource(group, version, rest[2]);
    if (candidate?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const def = findResource(group, version, rest[0] ?? '');
  if (!def || rest.length > 3) throw pathNotFound();
  if (def.namespaced && namespace === undefined && rest.length > 1) throw pathNotFound();
  return { def, namespace, name: rest[1], subresource: rest[2] };
}

function verbOf(method: string, route: Route, q: URLSearchParams): Verb {
  const watch = q.get('watch');
  switch (method) {
    case 'GET':
      if (route.name === undefined) return watch === 'true' || watch === '1' ? 'watch' : 'list';
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name === undefined ? 'deletecollection' : 'delete';
    default:
      throw methodNotAllowed();
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
