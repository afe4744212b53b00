/**
 * Fault injection and the request log of the fake API server.
 *
 * A fault matches requests by verb, resource, subresource, namespace and name, and either fails
 * the request before anything is applied (an HTTP error Status, or a dropped connection), or
 * applies it and then loses the reply (the change is committed, the client sees a socket hang-up
 * or a gateway error): the case a rotator must survive by observing, not by bookkeeping.
 */

/** Kubernetes request verbs (as in RBAC and audit logs). */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface FaultMatcher {
  readonly verb?: Verb | readonly Verb[];
  /** plural resource, e.g. `secrets`, `pods` */
  readonly resource?: string;
  /** `status`, `eviction`, `scale`; undefined matches only requests without a subresource unless `anySubresource` */
  readonly subresource?: string;
  /** match with or without a subresource @default false */
  readonly anySubresource?: boolean;
  readonly namespace?: string;
  readonly name?: string;
}

export type FaultAction =
  /** answer with this Status error, apply nothing */
  | { readonly type: 'error'; readonly code: number; readonly reason?: string; readonly message?: string; readonly retryAfterSeconds?: number }
  /** destroy the connection before applying anything (client: socket hang up / ECONNRESET) */
  | { readonly type: 'drop' }
  /** apply the request, then destroy the connection instead of replying */
  | { readonly type: 'applyThenDrop' }
  /** apply the request, then answer 504 Timeout instead of the result */
  | { readonly type: 'applyThenTimeout' };

export interface FaultRule extends FaultMatcher {
  readonly action: FaultAction;
  /** how many matching requests it affects @default 1 */
  readonly times?: number;
}

export interface RequestInfo {
  readonly verb: Verb;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** undefined for discovery and other non-resource paths (set once the path is parsed) */
  info?: RequestInfo;
  /** HTTP status sent, or 'dropped' when the connection was destroyed */
  status: number | 'dropped';
  /** the fault that hit this request */
  fault?: FaultAction['type'];
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

export class Faults {
  readonly #rules: ActiveRule[] = [];

  /** Adds a fault; returns a function that removes it. */
  public add(rule: FaultRule): () => void {
    const active = { rule, remaining: rule.times ?? 1 };
    this.#rules.push(active);
    return () => {
      const i = this.#rules.indexOf(active);
      if (i >= 0) this.#rules.splice(i, 1);
    };
  }

  public clear(): void {
    this.#rules.length = 0;
  }

  /** The action for this request, consuming one use of the first matching rule. */
  public take(info: RequestInfo): FaultAction | undefined {
    for (const active of this.#rules) {
      if (active.remaining <= 0 || !matches(active.rule, info)) continue;
      active.remaining -= 1;
      return active.rule.action;
    }
    return undefined;
  }
}

function matches(m: FaultMatcher, info: RequestInfo): boolean {
  if (m.verb !== undefined) {
    const verbs: readonly Verb[] = typeof m.verb === 'string' ? [m.verb] : m.verb;
    if (!verbs.includes(info.verb)) return false;
  }
  if (m.resource !== undefined && m.resource !== info.resource) return false;
  if (!m.anySubresource && m.subresource !== info.subresource) return false;
  if (m.namespace !== undefined && m.namespace !== info.namespace) return false;
  if (m.name !== undefined && m.name !== info.name) return false;
  return true;
}
