/**
 * The suite of example-rustfs.test.ts and example-rgw.test.ts (two files, so jest runs them in
 * parallel). End to end with the repository's own example (rekey.yaml + main.ts; see example.ts): generation
 * 1 of all four credentials drawn by `rekey rotate` and synced (its activate and deliver Jobs run
 * as real Node 24 processes), the Ilum workloads from dist/ and the Helm-rendered Airflow/Trino
 * workloads patched by dist/components (kubectl kustomize) rolled out; then `rekey rotate` again,
 * the new dist/ synced in wave order, every Job run, and issue 10's assertions checked:
 * - against the in-process MinIO as `rustfs`, rotating all four credentials;
 * - with ilum-platform switched to `ceph-rgw` on the real radosgw (a `user` identity), rotating it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { res, type KubeObject, type Obj } from '../support/kube/index.js';
import { rgwDescribeMode } from '../support/rgw.js';
import { CONSUMERS_OF, copyExample, EXAMPLE_NAMESPACES, helmConsumers, TARGET_OF, type ExampleCredential } from './example.js';
import { E2E, prerequisites, ROTATOR_NS, syncOrder, workloadHealthy, type Manifest } from './harness.js';
import { nonJsonRotatorLines } from './pod-process.js';
import { RustfsProvider, type E2EProvider } from './providers.js';

const pre = prerequisites();

export interface Variant {
  readonly title: string;
  /** ilum-platform moved to this provider (a second provider entry) */
  readonly switched?: () => E2EProvider;
  /** credentials rotated (generation 1, then 2) */
  readonly rotate: readonly ExampleCredential[];
}

type Pair = { accessKeyId: string; secret: string };

/** Pods of a workload (by its selector), not terminating. */
function podsOf(e: E2E, w: { kind: string; namespace: string; name: string }): KubeObject[] {
  const obj = e.kube.registry.get(res(w.kind === 'Deployment' ? 'deployments' : 'statefulsets'), w.namespace, w.name);
  const sel = ((obj.spec as Obj).selector as Obj).matchLabels as Record<string, string>;
  return e.kube.registry.list(res('pods'), w.namespace).filter((p) => !p.metadata.deletionTimestamp && Object.entries(sel).every(([k, v]) => (p.metadata.labels as Record<string, string> | undefined)?.[k] === v));
}

export function exampleSuite(v: Variant): void {
  const mode = !pre ? 'skip' : v.switched ? rgwDescribeMode(`test/e2e/example.test.ts ${v.title} (real radosgw)`) : 'run';
  (mode === 'run' ? describe : describe.skip)(`the repository's example rotated end to end: ${v.title}`, () => {
    const rustfs = new RustfsProvider();
    const switched = v.switched?.();
    const e = new E2E({ provider: rustfs, namespaces: EXAMPLE_NAMESPACES, targets: Object.values(TARGET_OF), realTimeClock: switched?.checksRequestTime });
    const providerOf = (c: ExampleCredential): E2EProvider => (c === 'ilum-platform' && switched ? switched : rustfs);
    let g1 = new Map<string, Pair>();
    let g2 = new Map<string, Pair>();
    let g1Dist: Manifest[] = [];
    let g2Dist: Manifest[] = [];
    let g2Start = 0;
    let failure: unknown;
    let realMs = 0;
    const phases: string[] = [];

    /** The consumer apps' own sync: the Helm output through rekey's Component, until rolled out. */
    const syncHelmApps = async (): Promise<void> => {
      const objs = helmConsumers(e.dir);
      for (const o of objs) e.kube.apply(structuredClone(o));
      await e.until(() => objs.every((o) => workloadHealthy(e.kube.registry.get(res(o.kind === 'Deployment' ? 'deployments' : 'statefulsets'), o.metadata.namespace!, o.metadata.name))), 'Airflow and Trino rolled out');
    };

    beforeAll(async () => {
      const t0 = Date.now();
      let t = t0;
      const phase = (what: string) => {
        phases.push(`${what} ${Date.now() - t} ms`);
        t = Date.now();
      };
      try {
        await e.start(pre!.node, async (e) => {
          if (switched) await switched.start();
          e.adminSecret({ secretName: 'rustfs-admin', accessKeyKey: 'RUSTFS_ACCESS_KEY', secretKeyKey: 'RUSTFS_SECRET_KEY' });
          if (switched) e.adminSecret({ secretName: 'rgw-admin' }, switched);
          return copyExample({ rustfs, overlapSeconds: 30, switched: switched && { credential: 'ilum-platform', provider: switched, name: 'rgw', adminSecret: 'rgw-admin' } });
        });
        phase('start');
        // ---- generation 1, as a new project's first rotation
        await e.rekey('rotate', ...v.rotate);
        g1 = e.pairs();
        g1Dist = e.dist;
        phase('rekey rotate (g1)');
        await e.sync(async (wave) => {
          if (wave === 0) await syncHelmApps();
        });
        phase('sync g1');
        // ---- generation 2
        await e.rekey('rotate', ...v.rotate);
        g2 = e.pairs();
        g2Dist = e.dist;
        phase(`rekey rotate ${v.rotate.join(' ')} (g2)`);
        g2Start = e.kube.clock.nowMs();
        e.prune();
        await e.sync(async (wave) => {
          if (wave === 0) await syncHelmApps();
        });
        phase('sync g2');
      } catch (err) {
        failure = err;
      }
      realMs = Date.now() - t0;
    }, 1_500_000);

    afterAll(async () => {
      console.log(`${e.report(realMs, `e2e example ${v.title}`).replace('; provider rustfs;', `; providers ${[rustfs, switched].filter(Boolean).map((p) => p!.kind).join(', ')};`)}\nphases (real time): ${phases.join(', ')}`);
      await e.close();
      await switched?.close();
    });

    it('runs every rendered Job of both generations to completion, in wave order', () => {
      if (failure) throw failure;
      const jobs = [...g1Dist, ...g2Dist].filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
      const expected = [
        ...v.rotate.map((c) => `rekey-${c}-g1-activate`),
        ...v.rotate.map((c) => `rekey-${c}-g1-deliver`),
        ...v.rotate.map((c) => `rekey-${c}-g2-activate`),
        ...v.rotate.map((c) => `rekey-${c}-g2-deliver`),
        ...v.rotate.map((c) => `rekey-${c}-g2-retire`),
      ];
      expect(jobs.map((j) => j.replace(/-[0-9a-f]{8}$/, '')).sort()).toEqual(expected.sort());
      // synced wave by wave: each generation's activate Jobs, then its deliver Jobs, then its retire Jobs
      const inWaveOrder = [g1Dist, g2Dist].flatMap((d) => syncOrder(d).filter((o) => o.kind === 'Job').map((o) => o.metadata.name));
      expect(e.jobsRun).toEqual(inWaveOrder);
      expect(e.jobsRun.map((j) => /-(g\d)-(activate|deliver|retire)-/.exec(j)!.slice(1).join('-'))).toEqual(
        ['g1-activate', 'g1-deliver', 'g2-activate', 'g2-deliver', 'g2-retire'].flatMap((s) => v.rotate.map(() => s)),
      );
      // every Job Complete, its last pod ran the init container (unpack) and the rotator, both exit 0;
      // a failed earlier pod (the Job's backoffLimit retried it) is reported, not hidden
      const retried: string[] = [];
      for (const j of jobs) {
        expect({ j, done: e.obs.jobDone.get(j)?.type }).toEqual({ j, done: 'Complete' });
        const runs = e.pods.runs.filter((r) => r.pod.startsWith(`${ROTATOR_NS}/${j}-`));
        const pods = [...new Set(runs.map((r) => r.pod))];
        const last = runs.filter((r) => r.pod === pods[pods.length - 1]);
        expect({ j, runs: last.map((r) => `${r.container}:${r.exitCode}`) }).toEqual({ j, runs: ['unpack:0', 'rotator:0'] });
        for (const p of pods.slice(0, -1)) {
          const failed = runs.find((r) => r.pod === p && r.exitCode !== 0)!;
          const error = `${failed.stdout}${failed.stderr}`.split('\n').filter((l) => l.includes('"level":"error"')).pop() ?? '';
          retried.push(`${p} ${failed.container} exit ${failed.exitCode}: ${error.slice(0, 300)}`);
        }
      }
      if (retried.length) console.log(`Job pods that failed and were retried by the Job controller:\n${retried.join('\n')}`);
    });

    it('the new key works with a real S3 call', async () => {
      if (failure) throw failure;
      expect([...g2.keys()].sort()).toEqual([...v.rotate].sort());
      for (const c of v.rotate) {
        const pair = g2.get(c)!;
        expect({ c, rotated: pair.accessKeyId !== g1.get(c)!.accessKeyId }).toEqual({ c, rotated: true });
        expect({ c, provider: providerOf(c).kind, call: await providerOf(c).check(pair.accessKeyId, pair.secret) }).toEqual({ c, provider: providerOf(c).kind, call: 'ok' });
      }
    });

    it('the old key is rejected, and the provider holds exactly the new key', async () => {
      if (failure) throw failure;
      for (const c of v.rotate) {
        const old = g1.get(c)!;
        expect({ c, call: await providerOf(c).check(old.accessKeyId, old.secret) }).toEqual({ c, call: 'InvalidAccessKeyId' });
        expect({ c, keys: await providerOf(c).keyIds(c) }).toEqual({ c, keys: [g2.get(c)!.accessKeyId] });
      }
    });

    it('every consumer pod started after its Secret held the new key (env resolved at start)', () => {
      if (failure) throw failure;
      const checked: string[] = [];
      for (const c of v.rotate) {
        const target = TARGET_OF[c];
        const held = e.obs.held.get(`${target.namespace}/${target.name}`)!.get(g2.get(c)!.accessKeyId);
        expect({ c, held: held !== undefined }).toEqual({ c, held: true });
        for (const w of CONSUMERS_OF[c]) {
          const pods = podsOf(e, w);
          const spec = e.kube.registry.get(res(w.kind === 'Deployment' ? 'deployments' : 'statefulsets'), w.namespace, w.name).spec as Obj;
          expect({ w: w.name, pods: pods.length }).toEqual({ w: w.name, pods: (spec.replicas as number | undefined) ?? 1 });
          for (const p of pods) {
            const container = (((p.spec as Obj).containers as Obj[])[0]!.name as string);
            const start = e.set.kubelet.containerStart(w.namespace, p.metadata.name!, container)!;
            const ids = Object.values(start.env).filter((x) => x === g2.get(c)!.accessKeyId || x === g1.get(c)!.accessKeyId);
            expect({ pod: p.metadata.name, ids: [...new Set(ids)] }).toEqual({ pod: p.metadata.name, ids: [g2.get(c)!.accessKeyId] });
            // container start times have whole seconds (metav1.Time), as in a real cluster
            expect({ pod: p.metadata.name, startedAfterHeld: Date.parse(start.startedAt) >= Math.floor(held! / 1000) * 1000 }).toEqual({ pod: p.metadata.name, startedAfterHeld: true });
            checked.push(`${w.namespace}/${p.metadata.name}`);
          }
        }
      }
      expect(checked.length).toBeGreaterThan(0);
    });

    it("the OnDelete StatefulSets' pods were replaced by retire, highest ordinal first", () => {
      if (failure) throw failure;
      for (const c of v.rotate) {
        for (const w of CONSUMERS_OF[c].filter((x) => x.kind === 'StatefulSet')) {
          const replicas = (e.kube.registry.get(res('statefulsets'), w.namespace, w.name).spec as Obj).replicas as number;
          const replaced = e.obs.stsReplaced.filter((r) => r.namespace === w.namespace && r.pod.startsWith(`${w.name}-`) && r.at >= g2Start).map((r) => r.pod);
          expect({ set: w.name, replaced }).toEqual({ set: w.name, replaced: Array.from({ length: replicas }, (_, i) => `${w.name}-${replicas - 1 - i}`) });
        }
      }
    });

    it('the rotation record shows every phase of generation 2', () => {
      if (failure) throw failure;
      for (const c of v.rotate) {
        const plan = JSON.parse((g2Dist.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `rekey-${c}-g2-plan`)!.data as Record<string, string>)['plan.json']!) as { recordConfigMap: string };
        const cm = e.kube.registry.get(res('configmaps'), ROTATOR_NS, plan.recordConfigMap);
        const text = JSON.stringify(cm.data);
        for (const key of [g1.get(c)!.accessKeyId, g2.get(c)!.accessKeyId]) expect(text).toContain(key);
        for (const field of ['activatedAt', 'deliveredAt', 'retiredAt', 'targetsFirstSeen', 'disabledAt', 'deletedAt']) expect({ c, field, present: text.includes(field) }).toEqual({ c, field, present: true });
        expect(text).toMatch(/\\"phase\\":\\"retired\\"/);
      }
    });

    it('no output line of any process (nor the CLI) contains a secret', () => {
      if (failure) throw failure;
      const secrets = [...g1.values(), ...g2.values()].map((p) => p.secret).concat(e.adminSecrets);
      const outputs = [...e.pods.runs.map((r) => ({ who: `${r.pod}/${r.container}`, text: r.stdout + r.stderr })), { who: 'rekey CLI', text: e.cliOutput }];
      const leaks = outputs.flatMap((o) => secrets.filter((s) => o.text.includes(s) || o.text.includes(Buffer.from(s).toString('base64'))).map(() => o.who));
      expect(leaks).toEqual([]);
      for (const cm of e.kube.registry.list(res('configmaps'), ROTATOR_NS)) for (const s of secrets) expect(JSON.stringify(cm.data ?? {})).not.toContain(s);
      expect(nonJsonRotatorLines(e.pods.runs)).toEqual([]);
    });
  });
}

