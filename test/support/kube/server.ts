/**
 * startFakeKube(): an in-process fake Kubernetes API server on 127.0.0.1 (plain http) with the
 * simulated controllers, driven by explicit ticks of a fake clock. See README.md.
 */
import http from 'node:http';
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
   * Ticks in the background (one tick per `intervalMs` of real time, yielding to I/O in between)
   * until `work` settles; returns its result. For black-box clients (kubectl, a rotator) that wait
   * on watches: progress is per tick, the interval only paces it.
   */
  tickWhile<T>(work: Promise<T>, intervalMs?: number): Promise<T>;
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
  const server = http.createServer((req, resp) => api.handle(req, resp));
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
    async tickWhile<T>(work: Promise<T>, intervalMs = 20): Promise<T> {
      let done = false;
      const guarded = work.finally(() => {
        done = true;
      });
      guarded.catch(() => undefined);
      while (!done) {
        tick();
        await new Promise((r) => setTimeout(r, intervalMs));
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
      for (const w of api.watches) w.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return kube;
}
