/**
 * Watch streams as kube-apiserver serves them: 200 with chunked JSON lines, headers flushed
 * before any event; synthetic ADDED for every object when resourceVersion is unset or "0";
 * replay of history after resourceVersion N; 410 Expired as an ERROR event (then close) when N
 * is older than the kept history; selector transitions as ADDED/DELETED; BOOKMARK events only
 * with allowWatchBookmarks; timeoutSeconds closes the stream.
 */
import type { ServerResponse } from 'node:http';

import type { ResourceDef } from './resources.js';
import { apiVersionOf } from './resources.js';
import type { Predicate } from './selectors.js';
import type { Store, StoreEvent } from './store.js';
import type { KubeObject } from './types.js';

export interface WatchRequest {
  readonly def: ResourceDef;
  readonly namespace?: string;
  readonly filter: Predicate;
  /** the resourceVersion query parameter ('' when absent) */
  readonly resourceVersion: string;
  readonly allowBookmarks: boolean;
  /** @default 1800 (the server's own choice is 30–60 minutes) */
  readonly timeoutSeconds?: number;
}

type WireEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: unknown };

/** An open watch stream. */
export class WatchStream {
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;

  public constructor(
    private readonly store: Store,
    private readonly req: WatchRequest,
    private readonly res: ServerResponse,
    onClose: (w: WatchStream) => void,
  ) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    this.#timer = setTimeout(() => this.close(), (req.timeoutSeconds ?? 1800) * 1000);
    res.on('close', () => {
      this.#closed = true;
      clearTimeout(this.#timer);
      this.#unsubscribe();
      onClose(this);
    });
    // snapshot/replay and subscribe in one synchronous turn: no change can slip between them
    this.#unsubscribe = store.subscribe((e) => this.#onEvent(e));
    const rv = req.resourceVersion;
    if (rv === '' || rv === '0') {
      for (const o of store.list(req.def, req.def.namespaced ? req.namespace : undefined)) {
        if (req.filter(o)) this.#send({ type: 'ADDED', object: this.#withKind(o) });
      }
    } else {
      const from = Number(rv);
      const events = Number.isInteger(from) ? store.eventsSince(from) : undefined;
      if (!events) {
        this.#send({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `too old resource version: ${rv} (${store.compactedRevision})`,
            reason: 'Expired',
            code: 410,
          },
        });
        this.close();
        return;
      }
      for (const e of events) this.#onEvent(e);
    }
  }

  public get closed(): boolean {
    return this.#closed;
  }

  /** Sends a BOOKMARK at the current revision (only if the client allowed bookmarks). */
  public bookmark(): void {
    if (!this.req.allowBookmarks || this.#closed) return;
    this.#send({
      type: 'BOOKMARK',
      object: { kind: this.req.def.kind, apiVersion: apiVersionOf(this.req.def), metadata: { resourceVersion: String(this.store.revision) } },
    });
  }

  /** Ends the stream the way the server does at timeoutSeconds. */
  public close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unsubscribe();
    this.res.end();
  }

  #onEvent(e: StoreEvent): void {
    if (this.#closed || e.def !== this.req.def) return;
    const inScope = (o: KubeObject | undefined): boolean =>
      o !== undefined && (!this.req.def.namespaced || this.req.namespace === undefined || o.metadata.namespace === this.req.namespace) && this.req.filter(o);
    const now = inScope(e.object);
    const before = inScope(e.previous);
    if (e.type === 'DELETED') {
      if (before) this.#send({ type: 'DELETED', object: this.#withKind(e.object) });
    } else if (now && before) this.#send({ type: 'MODIFIED', object: this.#withKind(e.object) });
    else if (now) this.#send({ type: 'ADDED', object: this.#withKind(e.object) });
    else if (before) {
      // stopped matching the selector: DELETED with the previous state at this revision
      const last = structuredClone(e.previous as KubeObject);
      last.metadata.resourceVersion = String(e.rv);
      this.#send({ type: 'DELETED', object: this.#withKind(last) });
    }
  }

  #withKind(o: KubeObject): KubeObject {
    return { apiVersion: apiVersionOf(this.req.def), kind: this.req.def.kind, ...o };
  }

  #send(e: WireEvent): void {
    if (this.#closed) return;
    this.res.write(`${JSON.stringify(e)}\n`);
  }
}
