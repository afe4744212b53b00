/**
 * A simulated scheduler + kubelet. Each tick, for every pod:
 * - unscheduled → bound to a node (round robin over `nodes`), PodScheduled=True;
 * - scheduled and Pending → containers start: env resolved from Secrets/ConfigMaps *now* (a missing
 *   Secret leaves the container waiting in CreateContainerConfigError and the pod Pending), phase
 *   Running, `status.startTime` and `state.running.startedAt` = the fake clock;
 * - Running → Ready=True `readyAfterTicks` ticks after the start, unless the pod never becomes
 *   ready (`neverReady`, or annotation `fake.kube/never-ready: "true"`);
 * - run-to-completion pods (restartPolicy Never/OnFailure, i.e. Job pods) ask the pod runner for an
 *   exit code: Succeeded (0) or Failed, containers terminated;
 * - a pod whose volumes are not set up (`mountBlocked`, e.g. the CSI driver) stays Pending;
 * - terminating (deletionTimestamp set) → removed `terminationTicks` ticks later (the containers
 *   stop at once on SIGTERM; the grace period is an upper bound, not modelled as a wait).
 *
 * What each container started with (time, resolved env, Secret resourceVersions) is kept and
 * readable with {@link Kubelet.containerStart}: the evidence a rotator compares a Secret change with.
 */
import { isPodReady, isTerminating, podConditions, podPhase } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import { clone, type Condition, isObj, type KubeObject, type Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';

export const NEVER_READY_ANNOTATION = 'fake.kube/never-ready';

/** What a run-to-completion pod does: exit with this code after some ticks (sync) or when the promise resolves. */
export interface PodOutcome {
  readonly exitCode: number;
  /** ticks after the start before the exit (sync outcomes only) @default 1 */
  readonly afterTicks?: number;
}

/** What a pod runner gets besides the pod: the env its first container was started with. */
export interface PodRunContext {
  /** the first container's name */
  readonly container: string;
  /** its env as the kubelet resolved it at start (Secret/ConfigMap values decoded) */
  readonly env: Readonly<Record<string, string>>;
}

/** Decides the outcome of a run-to-completion pod (restartPolicy Never/OnFailure), e.g. a Job pod. */
export type PodRunner = (pod: KubeObject, context: PodRunContext) => PodOutcome | Promise<PodOutcome>;

export interface KubeletOptions {
  /** Node names pods are scheduled onto. @default ['node-1'] */
  readonly nodes?: readonly string[];
  /** Ticks from container start to Ready. @default 1 */
  readonly readyAfterTicks?: number | ((pod: KubeObject) => number);
  /** Pods that never become Ready. @default - only pods annotated fake.kube/never-ready: "true" */
  readonly neverReady?: (pod: KubeObject) => boolean;
  /** @default - every run-to-completion pod exits 0 after 1 tick */
  readonly runner?: PodRunner;
  /** Ticks a terminating pod takes to go away. @default 1 */
  readonly terminationTicks?: number;
  /**
   * A volume plugin's verdict before containers start: a message keeps the pod Pending (its
   * volumes are not set up yet, as with a CSI volume whose mount fails). @default - every volume is ready
   */
  readonly mountBlocked?: (pod: KubeObject) => string | undefined;
}

/** What one container start saw. */
export interface ContainerStart {
  readonly podUid: string;
  readonly container: string;
  /** `state.running.startedAt` (fake clock) */
  readonly startedAt: string;
  readonly restartCount: number;
  /** env as resolved at this start (Secret/ConfigMap values decoded) */
  readonly env: Readonly<Record<string, string>>;
  /** resourceVersion of every Secret read for this start */
  readonly secretVersions: Readonly<Record<string, string>>;
}

interface PodState {
  startedTick?: number;
  readyTick?: number;
  runner?: { result?: PodOutcome; error?: unknown; promise?: Promise<unknown>; doneTick?: number; abandoned?: boolean };
  terminatingTick?: number;
}

class MissingRef extends Error {}

export class Kubelet implements Controller {
  public readonly name = 'kubelet';
  #tick = 0;
  #nextNode = 0;
  readonly #pods = new Map<string, PodState>();
  /** `ns/pod/container` → every start, oldest first */
  readonly #starts = new Map<string, ContainerStart[]>();

  public constructor(private readonly options: KubeletOptions = {}) {}

  public get nodes(): readonly string[] {
    return this.options.nodes ?? ['node-1'];
  }

  /** The latest start of a container (undefined when it never started). */
  public containerStart(namespace: string, pod: string, container: string): ContainerStart | undefined {
    return this.#starts.get(`${namespace}/${pod}/${container}`)?.at(-1);
  }

  /** Every start of a container, oldest first (pods recreated under the same name included). */
  public containerStarts(namespace: string, pod: string, container: string): readonly ContainerStart[] {
    return this.#starts.get(`${namespace}/${pod}/${container}`) ?? [];
  }

  public pending(): Promise<unknown>[] {
    const out: Promise<unknown>[] = [];
    for (const s of this.#pods.values()) {
      const r = s.runner;
      if (r?.promise && !r.abandoned && r.result === undefined && r.error === undefined) out.push(r.promise);
    }
    return out;
  }

  /**
   * Restarts one container in place (a crash or `kill 1`): same pod name and UID, restartCount+1,
   * the old state moves to lastState.terminated, a new running.startedAt, env re-resolved, Ready
   * again after readyAfterTicks.
   */
  public restartContainer(registry: Registry, namespace: string, podName: string, container: string, exitCode = 137): KubeObject {
    const pod = registry.get(res('pods'), namespace, podName);
    const next = clone(pod);
    const status = next.status as Obj;
    const statuses = (status.containerStatuses as Obj[] | undefined) ?? [];
    const cs = statuses.find((c) => c.name === container);
    if (!cs) throw new Error(`pod ${namespace}/${podName} has no started container ${container}: got ${statuses.map((c) => c.name).join(', ') || 'none'}`);
    const now = registry.clock.time();
    const spec = containerSpec(pod, container);
    const resolved = this.#resolve(registry, pod, spec);
    const prevStartedAt = isObj(cs.state) && isObj(cs.state.running) ? cs.state.running.startedAt : undefined;
    cs.lastState = { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: prevStartedAt, finishedAt: now } };
    cs.restartCount = (typeof cs.restartCount === 'number' ? cs.restartCount : 0) + 1;
    cs.state = { running: { startedAt: now } };
    cs.ready = false;
    this.#recordStart(pod, container, now, cs.restartCount as number, resolved);
    status.conditions = setCondition(podConditions(next), { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady' }, now);
    status.conditions = setCondition(status.conditions as Condition[], { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }, now);
    const state = this.#state(pod);
    state.readyTick = this.#tick + this.#readyAfter(pod);
    return registry.update(res('pods'), namespace, podName, next, { subresource: 'status' });
  }

  public step({ registry }: ControllerContext): void {
    this.#tick += 1;
    const seen = new Set<string>();
    for (const pod of registry.list(res('pods'))) {
      seen.add(pod.metadata.uid ?? '');
      this.#stepPod(registry, pod);
    }
    for (const uid of this.#pods.keys()) if (!seen.has(uid)) this.#pods.delete(uid);
  }

  #state(pod: KubeObject): PodState {
    const uid = pod.metadata.uid ?? '';
    let s = this.#pods.get(uid);
    if (!s) {
      s = {};
      this.#pods.set(uid, s);
    }
    return s;
  }

  #readyAfter(pod: KubeObject): number {
    const r = this.options.readyAfterTicks ?? 1;
    return typeof r === 'number' ? r : r(pod);
  }

  #neverReady(pod: KubeObject): boolean {
    return pod.metadata.annotations?.[NEVER_READY_ANNOTATION] === 'true' || (this.options.neverReady?.(pod) ?? false);
  }

  #stepPod(registry: Registry, pod: KubeObject): void {
    const state = this.#state(pod);
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    const now = registry.clock.time();
    if (isTerminating(pod)) {
      // the pod is going away: nobody waits for its runner any more
      if (state.runner) state.runner.abandoned = true;
      state.terminatingTick ??= this.#tick;
      if (this.#tick - state.terminatingTick >= (this.options.terminationTicks ?? 1)) registry.finalizePodDeletion(ns, name);
      return;
    }
    const phase = podPhase(pod);
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const spec = isObj(pod.spec) ? pod.spec : {};
    if (!spec.nodeName) {
      const next = clone(pod);
      (next.spec as Obj).nodeName = this.nodes[this.#nextNode++ % this.nodes.length];
      const bound = registry.update(res('pods'), ns, name, next);
      const withCond = clone(bound);
      (withCond.status as Obj).conditions = setCondition(podConditions(bound), { type: 'PodScheduled', status: 'True' }, now);
      registry.update(res('pods'), ns, name, withCond, { subresource: 'status' });
      return;
    }
    if (phase === 'Pending') {
      if (this.options.mountBlocked?.(pod) !== undefined) return; // ContainerCreating until the volumes are set up
      this.#start(registry, pod, state);
      return;
    }
    if (phase !== 'Running') return;
    const runToCompletion = spec.restartPolicy !== 'Always';
    if (runToCompletion) {
      const r = state.runner;
      if (r && (r.result !== undefined || r.error !== undefined)) {
        r.doneTick ??= this.#tick + (r.promise ? 0 : (r.result?.afterTicks ?? 1) - 1);
        if (this.#tick >= r.doneTick) {
          this.#finish(registry, pod, r.error !== undefined ? 1 : (r.result?.exitCode ?? 1));
          return;
        }
      }
    }
    if (!isPodReady(pod) && !this.#neverReady(pod) && state.readyTick !== undefined && this.#tick >= state.readyTick) {
      const next = clone(pod);
      const status = next.status as Obj;
      status.conditions = setCondition(podConditions(pod), { type: 'ContainersReady', status: 'True' }, now);
      status.conditions = setCondition(status.conditions as Condition[], { type: 'Ready', status: 'True' }, now);
      for (const cs of (status.containerStatuses as Obj[] | undefined) ?? []) cs.ready = true;
      registry.update(res('pods'), ns, name, next, { subresource: 'status' });
    }
  }

  #start(registry: Registry, pod: KubeObject, state: PodState): void {
    const now = registry.clock.time();
    const containers = (isObj(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers : []) as Obj[];
    const next = clone(pod);
    const status = next.status as Obj;
    const resolved: Record<string, { env: Record<string, string>; secretVersions: Record<string, string> }> = {};
    let waitingError: string | undefined;
    for (const c of containers) {
      try {
        resolved[String(c.name)] = this.#resolve(registry, pod, c);
      } catch (err) {
        if (!(err instanceof MissingRef)) throw err;
        waitingError = err.message;
      }
    }
    if (waitingError !== undefined) {
      // the kubelet keeps retrying; the pod stays Pending with the container waiting
      const statuses = containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'CreateContainerConfigError', message: waitingError } },
        lastState: {},
      }));
      if (JSON.stringify(status.containerStatuses) !== JSON.stringify(statuses)) {
        status.containerStatuses = statuses;
        registry.update(res('pods'), pod.metadata.namespace ?? '', pod.metadata.name ?? '', next, { subresource: 'status' });
      }
      return;
    }
    status.phase = 'Running';
    status.startTime = now;
    status.hostIP = '10.0.0.1';
    status.podIP = `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;
    let conds = podConditions(pod);
    for (const [type, st] of [['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['ContainersReady', 'False'], ['Ready', 'False'], ['PodScheduled', 'True']] as const) {
      conds = setCondition(conds, { type, status: st, ...(st === 'False' ? { reason: 'ContainersNotReady' } : {}) }, now);
    }
    status.conditions = conds;
    status.containerStatuses = containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${String(c.image)}@sha256:0000`,
      containerID: `containerd://${(pod.metadata.uid ?? '').replace(/-/g, '')}${String(c.name)}`,
      ready: false,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
      lastState: {},
    }));
    for (const c of containers) this.#recordStart(pod, String(c.name), now, 0, resolved[String(c.name)]);
    state.startedTick = this.#tick;
    state.readyTick = this.#tick + this.#readyAfter(pod);
    const spec = isObj(pod.spec) ? pod.spec : {};
    if (spec.restartPolicy !== 'Always') {
      const runner = this.options.runner ?? (() => ({ exitCode: 0, afterTicks: 1 }));
      const r: NonNullable<PodState['runner']> = {};
      state.runner = r;
      try {
        const first = String(containers[0]?.name ?? '');
        const out = runner(clone(pod), { container: first, env: resolved[first]?.env ?? {} });
        if (out instanceof Promise) {
          r.promise = out.then(
            (v) => {
              r.result = v;
            },
            (e: unknown) => {
              r.error = e;
            },
          );
        } else r.result = out;
      } catch (e) {
        r.error = e;
      }
    }
    registry.update(res('pods'), pod.metadata.namespace ?? '', pod.metadata.name ?? '', next, { subresource: 'status' });
  }

  #finish(registry: Registry, pod: KubeObject, exitCode: number): void {
    const now = registry.clock.time();
    const next = clone(pod);
    const status = next.status as Obj;
    status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
    for (const cs of (status.containerStatuses as Obj[] | undefined) ?? []) {
      const startedAt = isObj(cs.state) && isObj(cs.state.running) ? cs.state.running.startedAt : undefined;
      cs.state = { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now, containerID: cs.containerID } };
      cs.ready = false;
      cs.started = false;
    }
    let conds = podConditions(pod);
    conds = setCondition(conds, { type: 'PodReadyToStartContainers', status: 'False' }, now);
    conds = setCondition(conds, { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' }, now);
    conds = setCondition(conds, { type: 'Ready', status: 'False', reason: 'PodCompleted' }, now);
    status.conditions = conds;
    registry.update(res('pods'), pod.metadata.namespace ?? '', pod.metadata.name ?? '', next, { subresource: 'status' });
  }

  #recordStart(pod: KubeObject, container: string, startedAt: string, restartCount: number, resolved: { env: Record<string, string>; secretVersions: Record<string, string> }): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${container}`;
    const list = this.#starts.get(key) ?? [];
    list.push({ podUid: pod.metadata.uid ?? '', container, startedAt, restartCount, env: resolved.env, secretVersions: resolved.secretVersions });
    this.#starts.set(key, list);
  }

  /** Resolves a container's env the way the kubelet does at every container start. */
  #resolve(registry: Registry, pod: KubeObject, c: Obj): { env: Record<string, string>; secretVersions: Record<string, string> } {
    const ns = pod.metadata.namespace ?? '';
    const env: Record<string, string> = {};
    const secretVersions: Record<string, string> = {};
    const secret = (name: string, optional: boolean): KubeObject | undefined => {
      const s = registry.find(res('secrets'), ns, name);
      if (!s && !optional) throw new MissingRef(`secret "${name}" not found`);
      if (s) secretVersions[name] = s.metadata.resourceVersion ?? '';
      return s;
    };
    const configMap = (name: string, optional: boolean): KubeObject | undefined => {
      const cm = registry.find(res('configmaps'), ns, name);
      if (!cm && !optional) throw new MissingRef(`configmap "${name}" not found`);
      return cm;
    };
    const secretData = (s: KubeObject | undefined): Record<string, string> =>
      Object.fromEntries(Object.entries(isObj(s?.data) ? s.data : {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
    const cmData = (cm: KubeObject | undefined): Record<string, string> => (isObj(cm?.data) ? (cm.data as Record<string, string>) : {});
    for (const from of (Array.isArray(c.envFrom) ? c.envFrom : []) as Obj[]) {
      const prefix = typeof from.prefix === 'string' ? from.prefix : '';
      if (isObj(from.secretRef)) for (const [k, v] of Object.entries(secretData(secret(String(from.secretRef.name), from.secretRef.optional === true)))) env[prefix + k] = v;
      if (isObj(from.configMapRef)) for (const [k, v] of Object.entries(cmData(configMap(String(from.configMapRef.name), from.configMapRef.optional === true)))) env[prefix + k] = v;
    }
    for (const e of (Array.isArray(c.env) ? c.env : []) as Obj[]) {
      const name = String(e.name);
      if (typeof e.value === 'string') env[name] = e.value;
      const vf = isObj(e.valueFrom) ? e.valueFrom : undefined;
      if (isObj(vf?.secretKeyRef)) {
        const ref = vf.secretKeyRef;
        const data = secretData(secret(String(ref.name), ref.optional === true));
        const key = String(ref.key);
        if (key in data) env[name] = data[key];
        else if (ref.optional !== true && registry.find(res('secrets'), ns, String(ref.name))) throw new MissingRef(`couldn't find key ${key} in Secret ${ns}/${String(ref.name)}`);
      }
      if (isObj(vf?.configMapKeyRef)) {
        const ref = vf.configMapKeyRef;
        const data = cmData(configMap(String(ref.name), ref.optional === true));
        const key = String(ref.key);
        if (key in data) env[name] = data[key];
        else if (ref.optional !== true && registry.find(res('configmaps'), ns, String(ref.name))) throw new MissingRef(`couldn't find key ${key} in ConfigMap ${ns}/${String(ref.name)}`);
      }
      if (isObj(vf?.fieldRef)) {
        const path = String(vf.fieldRef.fieldPath);
        if (path === 'metadata.name') env[name] = pod.metadata.name ?? '';
        if (path === 'metadata.namespace') env[name] = ns;
        if (path === 'metadata.uid') env[name] = pod.metadata.uid ?? '';
        if (path === 'spec.nodeName') env[name] = String((pod.spec as Obj).nodeName ?? '');
      }
    }
    return { env, secretVersions };
  }
}

function containerSpec(pod: KubeObject, name: string): Obj {
  const containers = (isObj(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers : []) as Obj[];
  const c = containers.find((x) => x.name === name);
  if (!c) throw new Error(`pod ${pod.metadata.namespace}/${pod.metadata.name} has no container ${name}`);
  return c;
}

/** Sets a pod condition, moving lastTransitionTime only when the status changes. */
export function setCondition(conds: readonly Condition[], c: Condition, now: string): Condition[] {
  const out = conds.map((x) => ({ ...x }));
  const i = out.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? out[i] : undefined;
  const next: Condition = { type: c.type, status: c.status, lastProbeTime: null, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  if (c.reason) next.reason = c.reason;
  if (c.message) next.message = c.message;
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

