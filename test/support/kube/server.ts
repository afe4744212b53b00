/**
 * startFakeKube(): an in-process fake Kubernetes API server on 127.0.0.1 (plain http) with the
 * simulated controllers, driven by explicit ticks of a fake clock. See README.md.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';

import { FakeClock } from './clock.js';
import type { Controller } from './controllers/controller.js';
import { Faults, type LoggedRequest } from './faults.js';
import { HttpApi } from './http-api.js';
import { writeKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
import { Registry } from './registry.js';
import { res, resourceForKind } from './resources.js';
import { Store } from './store.js';
import type { KubeObject } from './types.js';

export interface FakeKubeOptions {
  /** Namespaces to create at start. @default ['default', 'kube-system'] */
  readonly namespaces?: readonly string[];
  /** The simulated controllers, run in this order on every tick. @default - none */
  readonly controllers?: readonly Controller[];
  /** Fake seconds per tick. @default 1 */
  readonly tickSeconds?: number;
  /** Start of the fake clock. @default 2026-01-01T00:00:00Z */
  readonly start?: Date;
  /** Watch history kept for replay. @default 10000 events */
  readonly historyLimit?: number;
}

export interface SettleOptions {
  /** Give up (throw) after this many ticks. @default 500 */
  readonly maxTicks?: number;
  /** Ticks in a row without any write that count as settled. @default 3 */
  readonly quietTicks?: number;
  /** Real time to wait for pending pod runners before throwing (only catches a hung runner). @default 120000 */
  readonly runnerTimeoutMs?: number;
}

/** How {@link FakeKube.tickWhile} decides that everyone waits. */
export interface TickWhileOptions {
  /**
   * Real milliseconds without any request activity at the fake (a request arriving or answered,
   * a watch event written) before a tick: a client in ANOTHER process (kubectl, a rotator run as
   * a Job pod) shows it is waiting only by going quiet. 0 for in-process clients, whose waiting
   * the event loop shows (`idleTurns`).
   * @default 20
   */
  readonly quietMs?: number;
  /** Turns of this process's event loop without activity (and none in flight) before a tick. @default 5 */
  readonly idleTurns?: number;
  /** Real milliseconds at least between two ticks (a client that reads the REAL clock needs real time to pass). @default 0 */
  readonly minIntervalMs?: number;
  /** Other servers the client talks to (e.g. the in-process MinIO): true while one of them has a request in flight. @default - none */
  readonly busy?: () => boolean;
}

export interface FakeKube {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly store: Store;
  readonly registry: Registry;
  readonly clock: FakeClock;
  readonly faults: Faults;
  /** Every request received, in order. */
  readonly requests: LoggedRequest[];
  readonly controllers: readonly Controller[];
  /** Writes a kubeconfig file for this server (new temp dir each call); returns its path. */
  kubeconfig(options?: KubeconfigOptions): string;
  /** Advances the clock by one tick and runs every controller once. */
  tick(): void;
  /** Ticks until nothing changes for `quietTicks` ticks and no async pod runner is pending. */
  settle(options?: SettleOptions): Promise<number>;
  /**
   * Ticks until `work` settles and returns its result — only while the client WAITS: no request
   * to the fake in flight (watch streams aside), nothing answered or streamed for `idleTurns`
   * event-loop turns and `quietMs` real ms, and `busy()` false. A client never loses fake time
   * while it works, so how much fake time passes during a wait does not depend on the machine's
   * speed (exactly so for in-process clients with `quietMs: 0` whose sleeps use `clock.sleep`).
   * A number is `minIntervalMs` (for clients that read the real clock).
   */
  tickWhile<T>(work: Promise<T>, options?: number | TickWhileOptions): Promise<T>;
  /** Non-watch requests received and not yet answered. */
  readonly inFlight: number;
  /** Closes every open watch stream (clients see the stream end and must re-watch). */
  closeWatches(): void;
  /** Sends a BOOKMARK on every open watch that allowed bookmarks. */
  sendBookmarks(): void;
  /**
   * Creates the object, or replaces the existing one (its status kept, as a PUT would), through the
   * registry rules but without HTTP: test setup and direct changes. Needs apiVersion and kind.
   */
  apply(object: KubeObject): KubeObject;
  close(): Promise<void>;
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const clock = new FakeClock(options.start);
  const store = new Store({ historyLimit: options.historyLimit });
  const registry = new Registry(store, clock);
  const faults = new Faults();
  const requests: LoggedRequest[] = [];
  const controllers = options.controllers ?? [];
  const tickSeconds = options.tickSeconds ?? 1;
  let address = '127.0.0.1:0';
  const api = new HttpApi({ registry, faults, log: requests, address: () => address });
  // what tickWhile needs to know: requests in flight, and the last activity (arrival, answer, watch event)
  let inFlight = 0;
  let activity = 0;
  let lastActivityMs = performance.now();
  const touch = (): void => {
    activity += 1;
    lastActivityMs = performance.now();
  };
  const server = http.createServer((req, resp) => {
    touch();
    if (/[?&]watch=(true|1)(&|$)/.test(req.url ?? '')) {
      const write = resp.write.bind(resp) as (...a: unknown[]) => boolean;
      resp.write = ((...a: unknown[]) => {
        touch();
        return write(...a);
      }) as typeof resp.write;
    } else {
      inFlight += 1;
      resp.once('close', () => {
        inFlight -= 1;
        touch();
      });
    }
    api.handle(req, resp);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${address}`;
  for (const ns of options.namespaces ?? ['default', 'kube-system']) registry.create(res('namespaces'), undefined, { metadata: { name: ns } });

  const tick = (): void => {
    clock.advance(tickSeconds);
    for (const c of controllers) c.step({ registry, clock });
  };
  const pending = (): Promise<unknown>[] => controllers.flatMap((c) => c.pending?.() ?? []);

  const kube: FakeKube = {
    url,
    store,
    registry,
    clock,
    faults,
    requests,
    controllers,
    kubeconfig: (o) => writeKubeconfig(url, o),
    tick,
    async settle(o = {}) {
      const maxTicks = o.maxTicks ?? 500;
      const quiet = o.quietTicks ?? 3;
      const runnerTimeoutMs = o.runnerTimeoutMs ?? 120_000;
      let quietFor = 0;
      for (let n = 1; n <= maxTicks; n++) {
        const before = store.revision;
        tick();
        const waiting = pending();
        if (waiting.length > 0) {
          quietFor = 0;
          // the clock stands still while outside work (a pod runner) runs; the bound only catches a hang
          let timer: NodeJS.Timeout | undefined;
          const hung = new Promise<'hung'>((r) => {
            timer = setTimeout(() => r('hung'), runnerTimeoutMs);
          });
          const outcome = await Promise.race([Promise.race(waiting), hung]);
          clearTimeout(timer);
          if (outcome === 'hung') {
            throw new Error(`fake kube settle waited ${runnerTimeoutMs} ms for ${waiting.length} pod runner(s) without an answer. Make the runner resolve, or tick by hand.`);
          }
        } else if (store.revision === before) {
          quietFor += 1;
          if (quietFor >= quiet) return n;
        } else quietFor = 0;
        // let HTTP handlers and watchers run between ticks
        await new Promise((r) => setImmediate(r));
      }
      throw new Error(`fake kube did not settle within ${maxTicks} ticks: got revision ${store.revision} still changing. Look for a controller loop or pass a larger maxTicks.`);
    },
    get inFlight() {
      return inFlight;
    },
    async tickWhile<T>(work: Promise<T>, options: number | TickWhileOptions = {}): Promise<T> {
      const o: TickWhileOptions = typeof options === 'number' ? { minIntervalMs: options } : options;
      const quietMs = o.quietMs ?? 20;
      const idleTurns = o.idleTurns ?? 5;
      const minIntervalMs = o.minIntervalMs ?? 0;
      let done = false;
      const guarded = work.finally(() => {
        done = true;
      });
      guarded.catch(() => undefined);
      let lastTickMs = -Infinity;
      while (!done) {
        // wait until everyone waits
        let seen = activity;
        let idle = 0;
        while (!done) {
          const busy = inFlight > 0 || (o.busy?.() ?? false);
          if (busy || activity !== seen) {
            seen = activity;
            idle = 0;
            // a request in flight: nothing to count until it is answered (a timer, not a hot loop)
            await new Promise((r) => (busy ? setTimeout(r, 1) : setImmediate(r)));
            continue;
          }
          if (idle < idleTurns) {
            idle += 1;
            await new Promise((r) => setImmediate(r));
            continue;
          }
          const now = performance.now();
          // quiet since the last activity AND the last tick: a client in another process may wait on its own
          // (real) timers, which the fake cannot see, so it gets at least quietMs of real time per fake tick
          const wait = Math.max(quietMs - (now - Math.max(lastActivityMs, lastTickMs)), minIntervalMs - (now - lastTickMs));
          if (wait > 0) {
            await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
            idle = 0;
            continue;
          }
          // this process's event loop must have blocked waiting for I/O or a timer: an in-process
          // client that works in chunks (setImmediate, I/O callbacks) never lets it block
          const before = performance.eventLoopUtilization();
          await new Promise((r) => setTimeout(r, 1));
          if (performance.eventLoopUtilization(before).idle > 0 && inFlight === 0 && activity === seen && !(o.busy?.() ?? false)) break;
          idle = 0;
        }
        if (done) break;
        tick();
        lastTickMs = performance.now();
      }
      return guarded;
    },
    closeWatches() {
      for (const w of api.watches) w.close();
    },
    sendBookmarks() {
      for (const w of api.watches) w.bookmark();
    },
    apply(object) {
      const def = resourceForKind(object.apiVersion ?? '', object.kind ?? '');
      const existing = registry.find(def, object.metadata.namespace, object.metadata.name ?? '');
      if (!existing) return registry.create(def, object.metadata.namespace, object);
      const next = { ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata.resourceVersion } };
      return registry.update(def, object.metadata.namespace, object.metadata.name ?? '', next);
    },
    async close() {
      clock.wakeAll();
      for (const w of api.watches) w.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return kube;
}
