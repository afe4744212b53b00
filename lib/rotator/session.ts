/** What one step run holds: the Kubernetes side, the provider client, the watches. Closed by the dispatcher. */
import type { KubernetesObject, V1DaemonSet, V1Deployment, V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import type { PlanConsumerKind, PlanTarget } from '../core/plan.js';
import type { ProviderClient } from '../providers/provider.js';
import type { StepContext } from './context.js';
import { KubeSide, loadKubeConfig } from './kube/api.js';
import { Changes, Watched } from './kube/watch.js';
import { defaultProvider } from './provider.js';
import { rotationError } from './errors.js';

const sessions = new WeakMap<StepContext, Session>();

/** The session of a step run (created on first use). */
export function session(ctx: StepContext): Session {
  let s = sessions.get(ctx);
  if (!s) {
    s = new Session(ctx);
    sessions.set(ctx, s);
  }
  return s;
}

/** Closes the step run's session (watches, provider sockets, Lease). */
export async function closeSession(ctx: StepContext): Promise<void> {
  const s = sessions.get(ctx);
  sessions.delete(ctx);
  await s?.close();
  await ctx.lease?.release();
}

/** A Rollout as the rotator reads it. */
export type RolloutObject = KubernetesObject & { spec?: { replicas?: number }; status?: Record<string, unknown> };

export class Session {
  public readonly kube: KubeSide;
  public readonly changes = new Changes();
  #watches = new Map<string, Watched<KubernetesObject>>();
  #provider?: Promise<ProviderClient | null>;

  public constructor(private readonly ctx: StepContext) {
    if (!ctx.kube && !ctx.env['KUBECONFIG'] && !ctx.env['KUBERNETES_SERVICE_HOST']) {
      throw rotationError(ctx, 'KUBE_ERROR', 'the Kubernetes API is not reachable: got no KUBECONFIG and no in-cluster service account (KUBERNETES_SERVICE_HOST unset). Run the rotator as its rotation Job, or set KUBECONFIG; nothing was changed.');
    }
    this.kube = ctx.kube ?? new KubeSide(loadKubeConfig(ctx.env));
  }

  public provider(): Promise<ProviderClient | null> {
    this.#provider ??= (this.ctx.provider ?? defaultProvider)(this.ctx);
    return this.#provider;
  }

  async #watch<T extends KubernetesObject>(key: string, make: () => Watched<T>): Promise<Watched<T>> {
    let w = this.#watches.get(key) as Watched<T> | undefined;
    if (!w) {
      w = make();
      this.#watches.set(key, w as unknown as Watched<KubernetesObject>);
      await w.start();
    }
    return w;
  }

  /** One watch per target Secret (field selector metadata.name: the Role can name it). */
  public secret(t: PlanTarget): Promise<Watched<V1Secret>> {
    const core = this.kube.core;
    const fieldSelector = `metadata.name=${t.secretName}`;
    return this.#watch(`secret/${t.namespace}/${t.secretName}`, () =>
      new Watched<V1Secret>(this.ctx, this.kube, `Secret ${t.namespace}/${t.secretName}`, `/api/v1/namespaces/${t.namespace}/secrets`, () => core.listNamespacedSecret({ namespace: t.namespace, fieldSelector }), this.changes, fieldSelector),
    );
  }

  /** One pod watch per namespace. */
  public pods(namespace: string): Promise<Watched<V1Pod>> {
    const core = this.kube.core;
    return this.#watch(`pods/${namespace}`, () => new Watched<V1Pod>(this.ctx, this.kube, `pods in ${namespace}`, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }), this.changes));
  }

  /**
   * One watch per consumer workload (rollout-capable kinds), by name: the rendered Role grants
   * list/watch on the named workloads only, which the API server allows only with
   * `fieldSelector=metadata.name=<name>`.
   */
  public workloads(kind: PlanConsumerKind, namespace: string, name: string): Promise<Watched<KubernetesObject>> {
    const apps = this.kube.apps;
    const custom = this.kube.custom;
    const key = `${kind}/${namespace}/${name}`;
    const fieldSelector = `metadata.name=${name}`;
    const what = `${kind} ${namespace}/${name}`;
    switch (kind) {
      case 'Deployment':
        return this.#watch(key, () => new Watched<V1Deployment>(this.ctx, this.kube, what, `/apis/apps/v1/namespaces/${namespace}/deployments`, () => apps.listNamespacedDeployment({ namespace, fieldSelector }), this.changes, fieldSelector)) as Promise<Watched<KubernetesObject>>;
      case 'StatefulSet':
        return this.#watch(key, () => new Watched<V1StatefulSet>(this.ctx, this.kube, what, `/apis/apps/v1/namespaces/${namespace}/statefulsets`, () => apps.listNamespacedStatefulSet({ namespace, fieldSelector }), this.changes, fieldSelector)) as Promise<Watched<KubernetesObject>>;
      case 'DaemonSet':
        return this.#watch(key, () => new Watched<V1DaemonSet>(this.ctx, this.kube, what, `/apis/apps/v1/namespaces/${namespace}/daemonsets`, () => apps.listNamespacedDaemonSet({ namespace, fieldSelector }), this.changes, fieldSelector)) as Promise<Watched<KubernetesObject>>;
      case 'Rollout':
        return this.#watch(key, () =>
          new Watched<RolloutObject>(
            this.ctx,
            this.kube,
            what,
            `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/rollouts`,
            async () => (await custom.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'rollouts', fieldSelector })) as { items: RolloutObject[]; metadata?: { resourceVersion?: string } } as never,
            this.changes,
            fieldSelector,
          ),
        );
      default:
        throw new Error(`no rollout watch for kind ${kind}`);
    }
  }

  public async close(): Promise<void> {
    for (const w of this.#watches.values()) await w.stop().catch(() => undefined);
    this.#watches.clear();
    const p = await this.#provider?.catch(() => null);
    p?.close();
  }
}
