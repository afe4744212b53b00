/**
 * End-to-end harness: a project rotated by the in-process CLI, its `dist/` applied to the
 * fake API server in Argo CD sync-wave order (waiting for each wave's Jobs), every Job pod run as
 * real processes under Node 24 from the manifest (pod-process.ts), a provider behind the
 * {@link E2EProvider} interface (providers.ts: the in-process MinIO as `rustfs` by default, the
 * real radosgw as `ceph-rgw`, or one a test adds), and an observer on every tick recording what
 * the assertions need.
 *
 * The small project (`projectSpec`) is the default; `start(node, { project })` takes any other
 * project folder (e.g. a copy of the repository's own example, example.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SecretValue } from '../../lib/core/secret-value.js';
import { unseal } from '../../lib/project/seal.js';
import { node24 } from '../support/node24.js';
import { defaultControllers, res, resourceForKind, type EsoOptions, startFakeKube, type Controller, type ControllerSet, type FakeKube, type KubeObject, type LoggedRequest, type Obj } from '../support/kube/index.js';
import { cli, PRIVATE_KEY, readManifests, recoverSecrets, removeProject, tempProject } from '../support/project.js';
import { HARNESS_ENV, PodProcesses, unshareProblem } from './pod-process.js';
import { RustfsProvider, type E2EProvider } from './providers.js';

export const CRED = 'uploads';
export const APP_NS = 'web';
export const TARGET = 'uploads-s3';
export const ROTATOR_NS = 'rekey-system';

/** Node 24 and unshare, or a loud skip (a failure under CI=true). */
export function prerequisites(): { node: string } | null {
  const node = node24();
  const problem = node === null ? 'Node 24 is missing' : unshareProblem();
  if (problem === null && node) return { node };
  if (process.env['CI'] === 'true') throw new Error(`e2e rotation: ${problem}. CI never skips this test.`);
  process.stderr.write(`\n*** SKIPPING the e2e rotation test: ${problem}. CI=true makes this a failure. ***\n\n`);
  return null;
}

/** The small project: one credential, one target, a Deployment and an OnDelete StatefulSet. */
export function projectSpec(provider: E2EProvider): string {
  const fields = Object.entries(provider.specFields).map(([k, v]) => `\n    ${k}: ${JSON.stringify(v)}`).join('');
  const identity = JSON.stringify(provider.identity(CRED, { kind: 'serviceAccount', name: 'uploads' }));
  return `apiVersion: rekey.dev/v1alpha1
kind: RekeyConfig
sealing:
  certificate: cert.pem
  fingerprint: SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g
rotator:
  apiServer: { cidr: 10.0.0.1/32 }
  # generous: real processes run while the fake clock ticks (about 50 fake s per real s)
  jobGraceSeconds: 3600
  deadlines: { activateSeconds: 3600, deliverSeconds: 3600, retireSeconds: 7200, verifySeconds: 600 }
providers:
  - name: rustfs
    kind: ${provider.kind}
    endpoint: ${provider.endpoint}${fields}
    namespace: storage
    podSelector: { app.kubernetes.io/name: rustfs }
    adminCredential: { secretName: rustfs-admin }
credentials:
  - name: ${CRED}
    provider: rustfs
    identity: ${identity}
    aliases: [generic]
    delivery: { kind: sealed }
    targets:
      - { namespace: ${APP_NS}, secretName: ${TARGET} }
    consumers:
      - { kind: Deployment, name: web, namespace: ${APP_NS}, envFrom: {} }
      - { kind: StatefulSet, name: db, namespace: ${APP_NS}, updateStrategy: OnDelete, envFrom: {} }
    rotationPolicy: { mode: Manual, overlapSeconds: 30 }
`;
}

/** Argo CD's kind order within a wave (gitops-engine sync_tasks.go kindOrder); unknown kinds last. */
const KIND_ORDER = ['Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodSecurityPolicy', 'PodDisruptionBudget', 'ServiceAccount', 'Secret', 'SecretList', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleList', 'ClusterRoleBinding', 'ClusterRoleBindingList', 'Role', 'RoleList', 'RoleBinding', 'RoleBindingList', 'Service', 'DaemonSet', 'Pod', 'ReplicationController', 'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob', 'IngressClass', 'Ingress', 'APIService'];

/** A rendered object: kind, apiVersion and name always present. */
export type Manifest = KubeObject & { apiVersion: string; kind: string; metadata: KubeObject['metadata'] & { name: string; namespace?: string } };

export const waveOf = (o: Manifest): number => Number((o.metadata.annotations as Record<string, string> | undefined)?.['argocd.argoproj.io/sync-wave'] ?? 0);
const kindRank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);

/** The manifests sorted as Argo CD syncs them: wave, then kind, then name. */
export function syncOrder(objs: readonly Manifest[]): Manifest[] {
  return [...objs].sort((a, b) => waveOf(a) - waveOf(b) || kindRank(a.kind) - kindRank(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
}

const keyOf = (o: Manifest) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Observations made on every tick (fake clock ms). */
export interface Observed {
  /** access-key ID → first fake time the first watched target Secret held it (the small project's one target) */
  targetHeld: Map<string, number>;
  /** `namespace/name` of every watched target Secret → access-key ID → first fake time it held it */
  held: Map<string, Map<string, number>>;
  /** job name → fake time its Complete/Failed condition was first seen */
  jobDone: Map<string, { at: number; type: string }>;
  /** StatefulSet pods (named `<set>-<ordinal>`): each time a pod was first seen terminating (or gone with a new uid) */
  stsReplaced: { namespace: string; pod: string; uid: string; at: number }[];
}

/** What the harness watches and creates besides the provider. */
export interface E2EOptions {
  /** @default - the in-process MinIO as `rustfs` */
  readonly provider?: E2EProvider;
  /** Namespaces that exist before the first sync (the rotator namespace is added). @default ['default', 'storage', APP_NS] */
  readonly namespaces?: readonly string[];
  /** Target Secrets whose key IDs are recorded on every tick. @default [{ namespace: APP_NS, name: TARGET }] */
  readonly targets?: readonly { readonly namespace: string; readonly name: string }[];
  /**
   * The fake cluster's clock follows real time (it starts at the real time, and every tick catches
   * up with it) instead of 1 s per tick from 2026-01-01: needed when a provider checks request
   * times (the rotator's clock reads the cluster's). Slower: every wait of the rotation takes its
   * real duration.
   * @default - the provider's checksRequestTime
   */
  readonly realTimeClock?: boolean;
  /** Run the simulated External Secrets Operator over these stores (external delivery). @default - no ESO */
  readonly externalSecrets?: EsoOptions;
}

/** The admin Secret the rotator mounts (rekey.yaml `providers[].adminCredential`). */
export interface AdminSecretRef {
  readonly secretName: string;
  /** @default 'access-key' */
  readonly accessKeyKey?: string;
  /** @default 'secret-key' */
  readonly secretKeyKey?: string;
}

export class E2E {
  public kube!: FakeKube;
  public set!: ControllerSet;
  public readonly provider: E2EProvider;
  public pods!: PodProcesses;
  public dir = '';
  public applied = new Map<string, Manifest>();
  public readonly obs: Observed = { targetHeld: new Map(), held: new Map(), jobDone: new Map(), stsReplaced: [] };
  /** every line written by the CLI */
  public cliOutput = '';
  /** the manifests of the last rotate (or load) */
  public dist: Manifest[] = [];
  public jobsRun: string[] = [];
  /** the admin pairs put into admin Secrets (for the leak scan) */
  public readonly adminSecrets: string[] = [];
  /**
   * While set, the sealed-secrets controller does not run: a slow controller, released by the
   * observer once a container of the pod whose name starts with this prefix has started.
   */
  public holdUnsealUntilStarted: string | null = null;
  public unsealReleasedAt = 0;
  readonly #namespaces: readonly string[];
  readonly #targets: readonly { readonly namespace: string; readonly name: string }[];
  readonly #realTimeClock: boolean;
  readonly #externalSecrets: EsoOptions | undefined;

  public constructor(o: E2EOptions = {}) {
    this.provider = o.provider ?? new RustfsProvider();
    this.#namespaces = o.namespaces ?? ['default', 'storage', APP_NS];
    this.#targets = o.targets ?? [{ namespace: APP_NS, name: TARGET }];
    this.#realTimeClock = o.realTimeClock ?? this.provider.checksRequestTime;
    this.#externalSecrets = o.externalSecrets;
  }

  /** The in-process MinIO when the provider is the default `rustfs` one. */
  public get minio(): RustfsProvider['server'] {
    if (!(this.provider instanceof RustfsProvider)) throw new Error(`e2e: the provider is ${this.provider.kind}, not the in-process rustfs server`);
    return this.provider.server;
  }

  /**
   * Starts the provider, the fake cluster and the pod runner. `project` makes the project folder
   * (it may call `adminSecret`); by default the small project (`projectSpec`) with its admin Secret.
   */
  public async start(node: string, project?: (e: E2E) => string | Promise<string>): Promise<void> {
    await this.provider.start();
    // the hang guard per process: a retire waiting out an overlap on a loaded machine takes minutes
    this.pods = new PodProcesses({ kube: () => this.kube, node24: node, timeoutMs: 1_200_000 });
    const seenUid = new Map<string, string>();
    const terminating = new Set<string>();
    const observer: Controller = {
      name: 'e2e-observer',
      step: (ctx) => {
        // real-time clock: catch up with the machine (a loaded machine ticks less often than every 20 ms)
        if (this.#realTimeClock && Date.now() > ctx.clock.nowMs()) ctx.clock.advance((Date.now() - ctx.clock.nowMs()) / 1000);
        this.pods.writeClock(ctx.clock.nowMs());
        const now = ctx.clock.nowMs();
        const hold = this.holdUnsealUntilStarted;
        if (hold !== null && this.pods.started.some((x) => x.pod.startsWith(hold) && x.container === 'rotator')) {
          this.holdUnsealUntilStarted = null;
          this.unsealReleasedAt = now;
        }
        this.#targets.forEach((t, i) => {
          const s = ctx.registry.find(res('secrets'), t.namespace, t.name);
          const key = `${t.namespace}/${t.name}`;
          const held = this.obs.held.get(key) ?? new Map<string, number>();
          this.obs.held.set(key, held);
          for (const v of Object.values((s?.data as Record<string, string> | undefined) ?? {})) {
            const id = Buffer.from(v, 'base64').toString('utf8');
            if (!/^[A-Z0-9]{16,}$/.test(id)) continue;
            if (!held.has(id)) held.set(id, now);
            if (i === 0 && !this.obs.targetHeld.has(id)) this.obs.targetHeld.set(id, now);
          }
        });
        for (const j of ctx.registry.list(res('jobs'), ROTATOR_NS)) {
          const c = ((j.status as Obj | undefined)?.conditions as Obj[] | undefined)?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
          if (c && !this.obs.jobDone.has(j.metadata.name!)) this.obs.jobDone.set(j.metadata.name!, { at: now, type: c.type as string });
        }
        for (const ns of new Set(this.#targets.map((t) => t.namespace))) {
          for (const p of ctx.registry.list(res('pods'), ns)) {
            const owner = (p.metadata.ownerReferences as Obj[] | undefined)?.find((r) => r.kind === 'StatefulSet');
            const pn = p.metadata.name!;
            if (!owner || !new RegExp(`^${String(owner.name)}-\\d+$`).test(pn)) continue;
            const uid = p.metadata.uid as string;
            const id = `${ns}/${pn}`;
            const prev = seenUid.get(id);
            if (p.metadata.deletionTimestamp && !terminating.has(`${id}/${uid}`)) {
              terminating.add(`${id}/${uid}`);
              this.obs.stsReplaced.push({ namespace: ns, pod: pn, uid, at: now });
            } else if (prev && prev !== uid && !terminating.has(`${id}/${prev}`)) {
              terminating.add(`${id}/${prev}`);
              this.obs.stsReplaced.push({ namespace: ns, pod: pn, uid: prev, at: now });
            }
            seenUid.set(id, uid);
          }
        }
      },
    };
    this.set = defaultControllers({
      kubelet: { nodes: ['node-1', 'node-2'], runner: this.pods.runner, readyAfterTicks: 2 },
      sealedSecrets: {
        unseal: (ciphertext, t) => unseal(ciphertext, { privateKeyPem: SecretValue.fromString(PRIVATE_KEY), namespace: t.namespace, name: t.name, scope: t.scope }).revealBytes(),
      },
      ...(this.#externalSecrets ? { externalSecrets: this.#externalSecrets } : {}),
    });
    const sealed = this.set.sealedSecrets!;
    const gated: Controller = { name: 'sealed-secrets (gated)', step: (ctx) => (this.holdUnsealUntilStarted === null ? sealed.step(ctx) : undefined) };
    const controllers = [observer, ...this.set.all.map((c) => (c === sealed ? gated : c))];
    const clock = this.#realTimeClock ? { start: new Date(), tickSeconds: 0.02 } : {};
    this.kube = await startFakeKube({ namespaces: [...new Set([...this.#namespaces, ROTATOR_NS])], controllers, ...clock });
    this.pods.setKubeconfig(readFileSync(this.kube.kubeconfig(), 'utf8'));
    if (project) {
      this.dir = await project(this);
    } else {
      this.adminSecret({ secretName: 'rustfs-admin' });
      this.dir = tempProject(projectSpec(this.provider));
    }
  }

  /** Creates the provider's admin Secret in the rotator namespace (as the platform team does once). */
  public adminSecret(ref: AdminSecretRef, provider: E2EProvider = this.provider): void {
    const { accessKeyId, secretAccessKey } = provider.admin;
    this.adminSecrets.push(secretAccessKey);
    this.kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.secretName, namespace: ROTATOR_NS },
      type: 'Opaque',
      data: { [ref.accessKeyKey ?? 'access-key']: Buffer.from(accessKeyId).toString('base64'), [ref.secretKeyKey ?? 'secret-key']: Buffer.from(secretAccessKey).toString('base64') },
    });
  }

  /** `rekey <args>` in-process in the project folder; throws with its stderr unless it exits 0. */
  public async rekey(...args: string[]): Promise<string> {
    const r = await cli(this.dir, args);
    this.cliOutput += r.stdout + r.stderr;
    if (r.code !== 0) throw new Error(`rekey ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    this.dist = readManifests(join(this.dir, 'dist')) as Manifest[];
    return r.stdout;
  }

  /** `rekey rotate <credentials>` in-process; returns the new pair of the first (recovered with the test key). */
  public async rotate(...credentials: string[]): Promise<{ accessKeyId: string; secret: string }> {
    const names = credentials.length ? credentials : [CRED];
    await this.rekey('rotate', ...names);
    return recoverSecrets(this.dir).get(names[0]!)!;
  }

  /** Every credential's pair in the project's ledger (recovered with the test key). */
  public pairs(): Map<string, { accessKeyId: string; secret: string }> {
    return recoverSecrets(this.dir);
  }

  /** The Kustomize component's checksum for a workload (what the consumer app applies). */
  public checksumPatch(kind: string, name: string, namespace = APP_NS): Record<string, string> {
    const comp = parseYaml(readFileSync(join(this.dir, 'dist', 'components', namespace, 'kustomization.yaml'), 'utf8')) as { patches: { target: { kind: string; name: string }; patch: string }[] };
    const p = comp.patches.find((x) => x.target.kind === kind && x.target.name === name);
    if (!p) throw new Error(`no checksum patch for ${kind}/${name} in dist/components/${namespace}`);
    return (((parseYaml(p.patch) as Obj).spec as Obj).template as Obj).metadata ? ((((parseYaml(p.patch) as Obj).spec as Obj).template as Obj).metadata as Obj).annotations as Record<string, string> : {};
  }

  /** Argo CD prune: objects of the previous sync absent from this one (reverse sync order). */
  public prune(): string[] {
    const now = new Set(this.dist.map(keyOf));
    const gone = syncOrder([...this.applied.values()].filter((o) => !now.has(keyOf(o)))).reverse();
    for (const o of gone) {
      const def = resourceForKind(o.apiVersion, o.kind);
      if (def) this.kube.registry.delete(def, o.metadata.namespace ?? '', o.metadata.name);
      this.applied.delete(keyOf(o));
    }
    return gone.map(keyOf);
  }

  /**
   * Applies `dist` wave by wave; after each wave waits (on the fake clock) for its Jobs to finish,
   * as Argo CD does; `between(wave)` runs before a wave is applied (the consumer app's sync).
   */
  public async sync(between: (wave: number) => Promise<void> = async () => {}): Promise<void> {
    const ordered = syncOrder(this.dist);
    const waves = [...new Set(ordered.map(waveOf))].sort((a, b) => a - b);
    if (!waves.includes(0)) waves.push(0);
    waves.sort((a, b) => a - b);
    for (const w of waves) {
      await between(w);
      const objs = ordered.filter((o) => waveOf(o) === w);
      for (const o of objs) {
        this.kube.apply(structuredClone(o));
        this.applied.set(keyOf(o), o);
      }
      const jobs = objs.filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
      this.jobsRun.push(...jobs);
      if (jobs.length > 0) await this.kube.tickWhile(this.waitJobs(jobs));
      else await this.until(() => objs.every((o) => this.healthy(o)), `wave ${w} healthy`);
    }
  }

  /**
   * Argo CD's health of a non-Job object (gitops-engine pkg/health): a SealedSecret is healthy
   * once its status has a Synced=True condition — the previous one counts (the health check reads
   * no observedGeneration: why the deliver Job exists); a Deployment or StatefulSet once
   * rolled out as health_deployment.go / health_statefulset.go judge it; everything else once applied.
   */
  public healthy(o: Manifest): boolean {
    const def = resourceForKind(o.apiVersion, o.kind);
    const cur = def ? this.kube.registry.find(def, o.metadata.namespace ?? '', o.metadata.name) : undefined;
    if (o.kind === 'SealedSecret') return (((cur?.status as Obj | undefined)?.conditions as Obj[] | undefined) ?? []).some((c) => c.type === 'Synced' && c.status === 'True');
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') return cur !== undefined && workloadHealthy(cur);
    // resource_customizations/external-secrets.io/{ExternalSecret,PushSecret}/health.lua: Ready=True → Healthy
    // (the previous one counts), Ready=False → Degraded (the sync fails), else Progressing
    if (o.kind === 'ExternalSecret' || o.kind === 'PushSecret') {
      const ready = (((cur?.status as Obj | undefined)?.conditions as Obj[] | undefined) ?? []).find((c) => c.type === 'Ready');
      if (ready?.status === 'False') throw new Error(`${o.kind} ${o.metadata.namespace}/${o.metadata.name} is Degraded: ${String(ready.message)} (Argo CD stops the sync here)`);
      return ready?.status === 'True';
    }
    return true;
  }

  /** Resolves once every Job completed; rejects naming the Job and its logs when one failed. */
  public async waitJobs(names: readonly string[], maxRealMs = 600_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const pending = names.filter((n) => !this.obs.jobDone.has(n));
      const failed = names.filter((n) => this.obs.jobDone.get(n)?.type === 'Failed');
      if (failed.length > 0) throw new Error(`Job ${failed[0]} failed:\n${this.logsOf(failed[0]!)}`);
      if (pending.length === 0) return;
      if (Date.now() - t0 > maxRealMs) throw new Error(`Jobs ${pending.join(', ')} still running after ${maxRealMs} ms of real time (hang guard):\n${pending.map((p) => this.logsOf(p)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  public async ticks(n: number): Promise<void> {
    const start = this.kube.clock.nowMs();
    await this.kube.tickWhile(
      (async () => {
        while (this.kube.clock.nowMs() - start < n * 1000) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
  }

  /** Ticks until `cond` holds (fake time bounded by `maxTicks`). */
  public async until(cond: () => boolean, what: string, maxTicks = 3600): Promise<void> {
    const start = this.kube.clock.nowMs();
    await this.kube.tickWhile(
      (async () => {
        while (!cond()) {
          if (this.kube.clock.nowMs() - start > maxTicks * 1000) throw new Error(`${what}: not within ${maxTicks} fake seconds`);
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
    );
  }

  public logsOf(job: string): string {
    return this.pods.runs.filter((r) => r.pod.startsWith(`${ROTATOR_NS}/${job}-`)).map((r) => `--- ${r.pod} ${r.container} exit ${r.exitCode}\n${r.stdout}${r.stderr}`).join('\n');
  }

  /** The end-to-end log: the rotator's JSON lines (key IDs only), compact, one block per Job pod. */
  public report(realMs: number, title: string): string {
    const lines: string[] = [];
    const runsOf = new Map<string, string[]>();
    for (const r of this.pods?.runs ?? []) runsOf.set(r.pod, [...(runsOf.get(r.pod) ?? []), `${r.container} exit ${r.exitCode}`]);
    for (const r of this.pods?.runs ?? []) {
      const job = r.pod.replace(`${ROTATOR_NS}/`, '').replace(/-[a-z0-9]{5}$/, '');
      const other: string[] = [];
      for (const l of `${r.stdout}${r.stderr}`.split('\n').filter(Boolean)) {
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(l) as Record<string, unknown>;
        } catch {
          other.push(/\[(DEP\d+)\]/.exec(l)?.[1] ?? (l.startsWith('(Use `node --trace') ? '' : l.slice(0, 160)));
          continue;
        }
        const { ts, time, level, msg, ...rest } = j;
        const keys = Object.entries(rest)
          .filter(([k, v]) => v !== null && v !== undefined && !['credential', 'attempt', 'step', 'generation'].includes(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        lines.push(`${String(ts ?? time ?? '').slice(11, 19)} ${job.replace(/^rekey-/, '')} ${level === 'info' ? '' : `${String(level)} `}${String(msg).replace(/^rotator \w+ for credential [\w-]+( generation \d+)?: /, '').slice(0, 120)}${keys ? ` {${keys.slice(0, 240)}}` : ''}`);
      }
      const nonJson = other.filter(Boolean);
      if (r.container === 'rotator') lines.push(`         └ ${r.pod}: ${runsOf.get(r.pod)!.join(', ')}${nonJson.length ? `; non-JSON stderr: ${nonJson.join(', ')}` : ''}`);
      else if (nonJson.length) lines.push(`         └ ${r.pod} ${r.container}: ${nonJson.join(', ')}`);
    }
    return `${title} (${realMs} ms real, fake clock ${this.kube ? new Date(this.kube.clock.nowMs()).toISOString() : '-'}; provider ${this.provider.kind}; harness env added: ${HARNESS_ENV.join(', ')})\n${lines.join('\n')}`;
  }

  public async close(): Promise<void> {
    await this.kube?.close();
    await this.provider.close();
    if (this.dir) removeProject(this.dir);
    if (this.pods) rmSync(this.pods.root, { recursive: true, force: true });
  }
}

/** Argo CD's Healthy for a Deployment (health_deployment.go) or StatefulSet (health_statefulset.go). */
export function workloadHealthy(w: KubeObject): boolean {
  const spec = w.spec as Obj;
  const st = (w.status as Obj | undefined) ?? {};
  const gen = (w.metadata.generation as number | undefined) ?? 0;
  const observed = (st.observedGeneration as number | undefined) ?? 0;
  const replicas = (spec.replicas as number | undefined) ?? 1;
  const n = (k: string) => (st[k] as number | undefined) ?? 0;
  if (w.kind === 'Deployment') {
    if (gen > observed) return false;
    if (((st.conditions as Obj[] | undefined) ?? []).some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) return false;
    return !(n('updatedReplicas') < replicas || n('replicas') > n('updatedReplicas') || n('availableReplicas') < n('updatedReplicas'));
  }
  if (observed === 0 || gen > observed) return false;
  if (n('readyReplicas') < replicas) return false;
  const strategy = (spec.updateStrategy as Obj | undefined) ?? {};
  const partition = (strategy.rollingUpdate as Obj | undefined)?.partition as number | undefined;
  if (strategy.type !== 'OnDelete' && partition !== undefined && n('updatedReplicas') < replicas - partition) return false;
  if (strategy.type === 'OnDelete') return true;
  return st.updateRevision === st.currentRevision;
}

/**
 * A workload `namespace/name` of `replicas` pods labelled app=<name>, each running `container`
 * alone: a Deployment, or a StatefulSet (service <name>, OnDelete updates). `labels` are the
 * workload's, `podAnnotations` the pod template's (each left out when not given).
 */
export function workload(
  kind: 'Deployment' | 'StatefulSet',
  namespace: string,
  name: string,
  replicas: number,
  container: Record<string, unknown>,
  o: { labels?: Record<string, string>; podAnnotations?: Record<string, string> } = {},
): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      replicas,
      ...(kind === 'StatefulSet' ? { serviceName: name, updateStrategy: { type: 'OnDelete' } } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, ...(o.podAnnotations ? { annotations: o.podAnnotations } : {}) }, spec: { containers: [container] } },
    },
  };
}

/** The consumers the other app renders (created by the test), reading the target Secret through envFrom. */
export function consumers(annotations: Record<string, string>): Manifest[] {
  const app = () => ({ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: TARGET } }] });
  return [workload('Deployment', APP_NS, 'web', 2, app(), { podAnnotations: annotations }), workload('StatefulSet', APP_NS, 'db', 3, app(), { podAnnotations: annotations })];
}

// ---------------------------------------------------------------- RBAC

export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export interface RbacFinding {
  readonly request: string;
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly status: number | 'dropped';
}

/** The API group of a logged request's path. */
function groupOf(path: string): string {
  const m = /^\/apis\/([^/]+)\/[^/]+\//.exec(path);
  return m ? m[1]! : '';
}

/**
 * Authorises every logged request as RBAC would for the ServiceAccount (rbac/v1 RuleAllows):
 * Roles bound to it in the request's namespace (and ClusterRoles bound by RoleBinding or
 * ClusterRoleBinding); list/watch carry the name of a `metadata.name=` field selector (as
 * kube-apiserver's RequestInfo does), so `resourceNames` can grant them.
 */
export function unauthorised(requests: readonly LoggedRequest[], manifests: readonly Manifest[], sa: { namespace: string; name: string }): RbacFinding[] {
  const bound = (b: Manifest) => ((b.subjects as Obj[] | undefined) ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace);
  const roles = new Map<string, RbacRule[]>();
  for (const o of manifests) if (o.kind === 'Role' || o.kind === 'ClusterRole') roles.set(`${o.kind}/${o.kind === 'Role' ? o.metadata.namespace : ''}/${o.metadata.name}`, (o.rules as RbacRule[] | undefined) ?? []);
  const rulesIn = (ns: string): RbacRule[] => {
    const out: RbacRule[] = [];
    for (const b of manifests) {
      if (!bound(b)) continue;
      const ref = b.roleRef as { kind: string; name: string };
      if (b.kind === 'RoleBinding' && b.metadata.namespace === ns) out.push(...(roles.get(`${ref.kind}/${ref.kind === 'Role' ? ns : ''}/${ref.name}`) ?? []));
      if (b.kind === 'ClusterRoleBinding') out.push(...(roles.get(`ClusterRole//${ref.name}`) ?? []));
    }
    return out;
  };
  const findings: RbacFinding[] = [];
  for (const r of requests) {
    const info = r.info;
    if (!info) continue; // discovery: allowed to every authenticated user (system:discovery)
    const verb = info.verb;
    const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
    let name = info.name ?? '';
    const fs = r.query['fieldSelector'];
    if ((verb === 'list' || verb === 'watch') && fs) {
      const m = /^metadata\.name=([^,]+)$/.exec(fs);
      if (m) name = m[1]!;
    }
    const group = groupOf(r.path);
    const ns = info.namespace ?? '';
    const ok = rulesIn(ns).some(
      (rule) =>
        (rule.verbs.includes(verb) || rule.verbs.includes('*')) &&
        (rule.apiGroups ?? []).some((g) => g === group || g === '*') &&
        (rule.resources ?? []).some((x) => x === resource || x === '*') &&
        (!rule.resourceNames || rule.resourceNames.length === 0 || (name !== '' && rule.resourceNames.includes(name))),
    );
    if (!ok) findings.push({ request: `${r.method} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : ''}`, verb, group, resource, namespace: ns, name, status: r.status });
  }
  return findings;
}
