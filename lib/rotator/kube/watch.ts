/**
 * Waiting on the cluster with watches, never a polling loop per consumer: one client-node
 * informer (`ListWatch`: LIST, then WATCH from its resourceVersion, re-watch on stream end,
 * relist on 410) per namespace and kind (per target Secret, by `metadata.name` field selector,
 * so the Role can name the Secrets). Waits re-evaluate a condition over the caches on every
 * event and once per second of the context's clock (for deadlines and time-based rules), which
 * costs no API request. client-node stops an informer on any error other than 410: the rotator
 * restarts it with backoff until the wait's deadline.
 */
import { ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { backoff, realSleep } from '../clock.js';
import type { KubeSide } from './api.js';

/** Wakes every waiter on any change. */
export class Changes {
  #waiters: (() => void)[] = [];
  public next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  public notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}

/** One informer with restart on error. */
export class Watched<T extends KubernetesObject> {
  readonly #informer: ListWatch<T>;
  #stopped = false;
  #errors = 0;

  public constructor(
    private readonly ctx: StepContext,
    kube: KubeSide,
    public readonly what: string,
    path: string,
    listFn: () => Promise<KubernetesListObject<T>>,
    changes: Changes,
    fieldSelector?: string,
  ) {
    this.#informer = new ListWatch<T>(path, new Watch(kube.kc), listFn, false, undefined, fieldSelector);
    const notify = () => {
      this.#errors = 0;
      changes.notify();
    };
    this.#informer.on('add', notify);
    this.#informer.on('update', notify);
    this.#informer.on('delete', notify);
    this.#informer.on('error', () => {
      if (this.#stopped) return;
      const sleep = this.ctx.sleep ?? realSleep;
      const wait = backoff(this.#errors++, 500, 8000);
      void sleep(wait).then(() => (this.#stopped ? undefined : this.start().catch(() => undefined)));
    });
  }

  public async start(): Promise<void> {
    this.#stopped = false;
    const sleep = this.ctx.sleep ?? realSleep;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#informer.start();
        return;
      } catch (e) {
        if (attempt >= 8) throw rotationError(this.ctx, 'KUBE_ERROR', `watch of ${this.what} could not start: got ${e instanceof Error ? e.message : String(e)}. Grant the rotator list/watch on it, then re-run.`, { cause: e });
        await sleep(backoff(attempt, 250, 4000));
      }
    }
  }

  public list(): readonly T[] {
    return this.#informer.list();
  }

  public get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  public async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer.stop();
  }
}

/** What a wait is blocked on, for the timeout message. */
export type Pending = { readonly done: true } | { readonly done: false; readonly blockedBy: string };

/**
 * Waits until `check` reports done, re-checking on every change and every second of the
 * context's clock. @throws RotationError DEADLINE_EXCEEDED: `<what> did not happen within N s: got <blockedBy>.`
 */
export async function waitUntil(
  ctx: StepContext,
  changes: Changes,
  deadlineMs: number,
  what: string,
  fix: string,
  check: () => Pending | Promise<Pending>,
  keyId?: string | null,
): Promise<void> {
  const sleep = ctx.sleep ?? realSleep;
  const started = ctx.now().getTime();
  for (;;) {
    const state = await check();
    if (state.done) return;
    const now = ctx.now().getTime();
    if (now >= deadlineMs) {
      throw rotationError(
        ctx,
        'DEADLINE_EXCEEDED',
        `${what} did not happen within ${Math.round((deadlineMs - started) / 1000)} s: got ${state.blockedBy}. ${fix}`,
        keyId === undefined ? {} : { keyId },
      );
    }
    await Promise.race([changes.next(), sleep(Math.min(1000, deadlineMs - now))]);
  }
}
