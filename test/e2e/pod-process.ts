/**
 * Runs a Job pod as the kubelet would, from the pod's own spec: every volume (ConfigMap data and
 * binaryData, Secret data, emptyDir) is materialised into a folder, then each init container and
 * the main container run as real processes inside a private mount namespace
 * (`unshare -m --propagation private`) where those folders are bind-mounted at the containers'
 * `mountPath`s (read-only where the manifest says so), as the pod's `runAsUser`/`runAsGroup`
 * (setpriv), with the env the manifest declares (value, fieldRef, secretKeyRef, configMapKeyRef),
 * `node` on PATH resolving to the Node 24 binary, and `KUBECONFIG` pointing at the fake API server
 * (the fake has no in-cluster service account).
 *
 * What it adds that a cluster would not: `KUBECONFIG`, and `NODE_OPTIONS=--import <clock shim>`
 * that makes the process's clock read the fake cluster's clock (in a cluster the rotator's clock
 * and the kubelets' are NTP-synchronised; here the kubelets' clock is the fake one). Both are
 * listed in {@link HARNESS_ENV} and reported.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodOutcome, PodRunContext } from '../support/kube/controllers/kubelet.js';
import { res, type FakeKube, type KubeObject, type Obj } from '../support/kube/index.js';

/** Env the harness adds to every container beyond what the manifest declares. */
export const HARNESS_ENV = ['KUBECONFIG', 'NODE_OPTIONS (clock shim)', 'HOSTNAME (the kubelet sets it to the pod name)', 'PATH'] as const;

/** What one container process printed. */
/** Every line a rotator container wrote that is not one JSON object, as `<pod>: <line, first 120 characters>`. */
export function nonJsonRotatorLines(runs: readonly ContainerRun[]): string[] {
  return runs
    .filter((r) => r.container === 'rotator')
    .flatMap((r) => `${r.stdout}${r.stderr}`.split('\n').filter(Boolean).filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object';
      } catch {
        return true;
      }
    }).map((l) => `${r.pod}: ${l.slice(0, 120)}`));
}

export interface ContainerRun {
  readonly pod: string;
  readonly container: string;
  readonly init: boolean;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** fake-clock ms at start and end */
  readonly startedMs: number;
  readonly finishedMs: number;
}

/** Whether `unshare -m` works here (root or user namespaces); the reason when not. */
export function unshareProblem(): string | null {
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mkdir -p /tmp/.rekey-e2e-probe && mount -t tmpfs none /tmp/.rekey-e2e-probe && umount /tmp/.rekey-e2e-probe'], { stdio: 'pipe' });
    execFileSync('setpriv', ['--reuid=65532', '--regid=65532', '--clear-groups', 'true'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `unshare -m / setpriv do not work here (${(e as Error).message.split('\n')[0]}): the e2e test needs root (or user namespaces) to bind-mount the pod's volumes`;
  }
}

/**
 * The clock shim: `Date.now()` and `new Date()` read the fake cluster clock from a file the
 * harness rewrites on every tick (plus the real time elapsed since it was written, capped at one
 * tick, so two reads within one tick still move forward).
 */
const CLOCK_SHIM = `
import { readFileSync } from 'node:fs';
const file = process.env.REKEY_E2E_CLOCK_FILE;
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
let last = 0;
function fakeNow() {
  try {
    const [ms, at] = readFileSync(file, 'utf8').split(' ').map(Number);
    if (Number.isFinite(ms) && Number.isFinite(at)) last = Math.max(last, ms + Math.min(Math.max(0, realNow() - at), 999));
  } catch {}
  return last || realNow();
}
class FakeDate extends RealDate {
  constructor(...a) { if (a.length === 0) super(fakeNow()); else super(...a); }
  static now() { return fakeNow(); }
}
globalThis.Date = FakeDate;
`;

export interface PodProcessOptions {
  readonly kube: () => FakeKube;
  readonly node24: string;
  /** Hang guard per process (not a test condition). */
  readonly timeoutMs?: number;
}

/** The runner plus everything it saw. */
export class PodProcesses {
  public readonly runs: ContainerRun[] = [];
  /** every container process as it starts (fake-clock ms) */
  public readonly started: { pod: string; container: string; atMs: number }[] = [];
  /** every env a container got, for the secret scan and the env report */
  public readonly envs: { pod: string; container: string; env: Record<string, string> }[] = [];
  public readonly root: string;
  readonly #bin: string;
  readonly #clockFile: string;
  readonly #shim: string;
  #kubeconfig = '';

  public constructor(private readonly o: PodProcessOptions) {
    // not under /tmp: the pod mounts an emptyDir over /tmp
    mkdirSync('/var/tmp', { recursive: true });
    this.root = mkdtempSync('/var/tmp/rekey-e2e-');
    chmodSync(this.root, 0o755);
    this.#bin = join(this.root, 'bin');
    mkdirSync(this.#bin, { mode: 0o755 });
    // a copy, not a symlink: a pod mounts an emptyDir over /tmp, which would hide a Node 24 that
    // lives under /tmp (a CI clone there) and let `node` fall through to the system's Node 20
    copyFileSync(o.node24, join(this.#bin, 'node'));
    chmodSync(join(this.#bin, 'node'), 0o755);
    this.#clockFile = join(this.root, 'clock');
    this.#shim = join(this.root, 'clock-shim.mjs');
    writeFileSync(this.#shim, CLOCK_SHIM, { mode: 0o444 });
    this.writeClock(Date.now());
  }

  /** Called on every tick by the clock controller. */
  public writeClock(fakeMs: number): void {
    // atomic: a reader never sees a half-written file
    const tmp = `${this.#clockFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${fakeMs} ${Date.now()}`, { mode: 0o444 });
    renameSync(tmp, this.#clockFile);
  }

  public setKubeconfig(text: string): void {
    this.#kubeconfig = join(this.root, 'kubeconfig');
    writeFileSync(this.#kubeconfig, text, { mode: 0o444 });
  }

  /** The kubelet's PodRunner. */
  public readonly runner = async (pod: KubeObject, _ctx: PodRunContext): Promise<PodOutcome> => {
    const kube = this.o.kube();
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const spec = pod.spec as Obj;
    const podDir = mkdtempSync(join(this.root, `${name}-`));
    chmodSync(podDir, 0o755);
    const volumeDirs = new Map<string, string>();
    for (const v of (spec.volumes as Obj[] | undefined) ?? []) {
      const dir = join(podDir, 'vol', v.name as string);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      chmodSync(dir, 0o755);
      if (v.configMap) {
        const cm = kube.registry.find(res('configmaps'), ns, (v.configMap as Obj).name as string);
        if (!cm) return { exitCode: 1 }; // the kubelet would keep the pod in ContainerCreating
        const mode = ((v.configMap as Obj).defaultMode as number | undefined) ?? 0o644;
        for (const [k, val] of Object.entries((cm.data as Record<string, string> | undefined) ?? {})) writeFileSync(join(dir, k), val, { mode });
        for (const [k, val] of Object.entries((cm.binaryData as Record<string, string> | undefined) ?? {})) writeFileSync(join(dir, k), Buffer.from(val, 'base64'), { mode });
      } else if (v.secret) {
        const s = kube.registry.find(res('secrets'), ns, (v.secret as Obj).secretName as string);
        if (!s) return { exitCode: 1 };
        const mode = ((v.secret as Obj).defaultMode as number | undefined) ?? 0o644;
        for (const [k, val] of Object.entries((s.data as Record<string, string> | undefined) ?? {})) writeFileSync(join(dir, k), Buffer.from(val, 'base64'), { mode });
      } else if (v.emptyDir) {
        chmodSync(dir, 0o777);
      } else {
        throw new Error(`pod ${ns}/${name}: volume ${v.name as string} of an unsupported type`);
      }
    }
    const podSc = (spec.securityContext as Obj | undefined) ?? {};
    const containers = [...((spec.initContainers as Obj[] | undefined) ?? []).map((c) => ({ c, init: true })), ...(spec.containers as Obj[]).map((c) => ({ c, init: false }))];
    for (const { c, init } of containers) {
      const sc = (c.securityContext as Obj | undefined) ?? {};
      const uid = (sc.runAsUser ?? podSc.runAsUser ?? 0) as number;
      const gid = (sc.runAsGroup ?? podSc.runAsGroup ?? 0) as number;
      const env = this.#env(kube, pod, c);
      this.envs.push({ pod: `${ns}/${name}`, container: c.name as string, env: { ...env } });
      const script: string[] = [];
      const args: string[] = [];
      for (const m of (c.volumeMounts as Obj[] | undefined) ?? []) {
        const src = volumeDirs.get(m.name as string) ?? join(podDir, 'vol', m.name as string);
        const at = m.mountPath as string;
        script.push(`mkdir -p '${at}'`, `mount --bind '${src}' '${at}'`);
        if (m.readOnly) script.push(`mount -o remount,bind,ro '${at}'`);
      }
      // readOnlyRootFilesystem: everything but the volumes (and /proc, /dev) read-only
      if (sc.readOnlyRootFilesystem === true) script.push('mount -o remount,bind,ro /');
      const command = [...((c.command as string[] | undefined) ?? []), ...((c.args as string[] | undefined) ?? [])];
      if (command.length === 0) throw new Error(`pod ${ns}/${name} container ${c.name as string}: no command (the image's entrypoint is not modelled)`);
      // the pod's `node` must be the Node 24 under test, never a system Node found further down PATH
      if (command[0] === 'node') {
        script.push(`[ "$(/usr/bin/setpriv --reuid=${uid} --regid=${gid} --clear-groups -- sh -c 'command -v node')" = '${this.#bin}/node' ] || { echo "e2e: node for uid ${uid} is not ${this.#bin}/node (Node 24)" >&2; exit 97; }`);
      }
      script.push(`exec /usr/bin/setpriv --reuid=${uid} --regid=${gid} --clear-groups -- "$@"`);
      args.push(...command);
      const startedMs = kube.clock.nowMs();
      this.started.push({ pod: `${ns}/${name}`, container: c.name as string, atMs: startedMs });
      const fullEnv: Record<string, string> = {
        ...env,
        PATH: `${this.#bin}:/usr/local/bin:/usr/bin:/bin`,
        HOSTNAME: name,
        KUBECONFIG: this.#kubeconfig,
        NODE_OPTIONS: `--import=${this.#shim}`,
        REKEY_E2E_CLOCK_FILE: this.#clockFile,
      };
      const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', script.join('\n'), 'sh', ...args], { env: fullEnv, timeout: this.o.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      });
      this.runs.push({ pod: `${ns}/${name}`, container: c.name as string, init, exitCode: out.code, stdout: out.stdout, stderr: out.stderr, startedMs, finishedMs: kube.clock.nowMs() });
      if (out.code !== 0) return { exitCode: out.code };
    }
    return { exitCode: 0 };
  };

  /** The container's env exactly as its manifest declares it. */
  #env(kube: FakeKube, pod: KubeObject, c: Obj): Record<string, string> {
    const out: Record<string, string> = {};
    const ns = pod.metadata.namespace!;
    for (const e of (c.env as Obj[] | undefined) ?? []) {
      const n = e.name as string;
      if (typeof e.value === 'string') out[n] = e.value;
      const vf = e.valueFrom as Obj | undefined;
      if (!vf) continue;
      if (vf.fieldRef) {
        const path = (vf.fieldRef as Obj).fieldPath as string;
        const v = path === 'metadata.name' ? pod.metadata.name : path === 'metadata.namespace' ? ns : path === 'spec.serviceAccountName' ? ((pod.spec as Obj).serviceAccountName as string) : path === 'spec.nodeName' ? ((pod.spec as Obj).nodeName as string) : undefined;
        if (v === undefined) throw new Error(`fieldRef ${path} is not modelled`);
        out[n] = v;
      } else if (vf.secretKeyRef) {
        const r = vf.secretKeyRef as Obj;
        const s = kube.registry.find(res('secrets'), ns, r.name as string);
        const v = (s?.data as Record<string, string> | undefined)?.[r.key as string];
        if (v !== undefined) out[n] = Buffer.from(v, 'base64').toString('utf8');
      } else if (vf.configMapKeyRef) {
        const r = vf.configMapKeyRef as Obj;
        const v = (kube.registry.find(res('configmaps'), ns, r.name as string)?.data as Record<string, string> | undefined)?.[r.key as string];
        if (v !== undefined) out[n] = v;
      }
    }
    return out;
  }
}

