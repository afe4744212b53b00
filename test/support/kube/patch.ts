/**
 * The three patch formats of kube-apiserver: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386)
 * and a subset of strategic merge patch (lists of known fields merged by their patchMergeKey,
 * `$patch: delete|replace` directives; `$setElementOrder/…`, `$retainKeys` and
 * `$deleteFromPrimitiveList/…` are accepted and ignored).
 */
import { ApiError, badRequest } from './errors.js';
import { clone, isObj, type Obj } from './types.js';

export class PatchTestFailed extends Error {}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request`);
  return path.slice(1).split('/').map(unescape);
}

function child(container: unknown, token: string): unknown {
  if (Array.isArray(container)) return container[Number(token)];
  if (isObj(container)) return container[token];
  return undefined;
}

function parentOf(doc: unknown, tokens: string[], op: string, path: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = child(cur, t);
    if (cur === undefined) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request`, { causes: [{ message: `${op} operation does not apply: doc is missing path: "${path}": missing value` }] });
  }
  return { parent: cur, last: tokens[tokens.length - 1] };
}

function missing(op: string, path: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request`, {
    causes: [{ message: `${op} operation does not apply: doc is missing path: "${path}": missing value` }],
  });
}

/** Applies an RFC 6902 JSON Patch; errors are 400 (not an array) or 422 (an op does not apply). */
export function jsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    throw badRequest('error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  let out = clone(doc);
  for (const raw of patch) {
    if (!isObj(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('error decoding patch: invalid operation');
    const { op, path } = raw;
    const tokens = pointer(path);
    const get = (p: string): unknown => {
      let cur: unknown = out;
      for (const t of pointer(p)) {
        cur = child(cur, t);
        if (cur === undefined) throw missing(op, p);
      }
      return cur;
    };
    const add = (value: unknown): void => {
      if (tokens.length === 0) {
        out = clone(value);
        return;
      }
      const { parent, last } = parentOf(out, tokens, op, path);
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(i) || i < 0 || i > parent.length) throw missing(op, path);
        parent.splice(i, 0, clone(value));
      } else if (isObj(parent)) parent[last] = clone(value);
      else throw missing(op, path);
    };
    const remove = (): unknown => {
      const { parent, last } = parentOf(out, tokens, op, path);
      if (Array.isArray(parent)) {
        const i = Number(last);
        if (!(i >= 0 && i < parent.length)) throw missing(op, path);
        return parent.splice(i, 1)[0];
      }
      if (isObj(parent) && Object.hasOwn(parent, last)) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw missing(op, path);
    };
    switch (op) {
      case 'add':
        add(raw.value);
        break;
      case 'remove':
        remove();
        break;
      case 'replace':
        remove();
        add(raw.value);
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw badRequest('error decoding patch: move without from');
        const v = get(raw.from);
        const fromTokens = pointer(raw.from);
        const { parent, last } = parentOf(out, fromTokens, op, raw.from);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (isObj(parent)) delete parent[last];
        add(v);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequest('error decoding patch: copy without from');
        add(get(raw.from));
        break;
      }
      case 'test': {
        const v = get(path);
        if (JSON.stringify(v) !== JSON.stringify(raw.value)) {
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request`, {
            causes: [{ message: `testing value ${path} failed: test failed` }],
          });
        }
        break;
      }
      default:
        throw badRequest(`error decoding patch: Unexpected kind: ${op}`);
    }
  }
  return out;
}

/** RFC 7386 JSON Merge Patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** patchMergeKey of the list fields this subset merges (from the Kubernetes API struct tags). */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  ports: 'containerPort',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};

function isDirectiveKey(k: string): boolean {
  return k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/');
}

/** Strategic merge patch for built-in kinds (the subset described in the file header). */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const copy = clone(patch);
    delete copy.$patch;
    return stripDirectives(copy);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (isDirectiveKey(k)) continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && MERGE_KEYS[k] && Array.isArray(out[k]) && v.every(isObj)) {
      out[k] = mergeList(out[k] as unknown[], v as Obj[], MERGE_KEYS[k]);
    } else if (Array.isArray(v)) {
      out[k] = v.filter((x) => !(isObj(x) && x.$patch === 'delete')).map(stripDirectives);
    } else {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  return out;
}

function mergeList(target: unknown[], patch: Obj[], key: string): unknown[] {
  if (patch.some((p) => p.$patch === 'replace')) return patch.filter((p) => p.$patch !== 'replace').map(stripDirectives);
  const out = clone(target);
  for (const item of patch) {
    const idx = out.findIndex((t) => isObj(t) && t[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !isDirectiveKey(k)).map(([k, x]) => [k, stripDirectives(x)]));
}
