/**
 * End to end: `rekey rotate` twice (generation 1, then 2 replacing 1), each `dist/` synced to the
 * fake API server in Argo CD wave order, every rotation Job pod run as real processes under
 * Node 24 from its manifest (volumes bind-mounted in a private mount namespace, init container
 * unpacking the bundle ConfigMap, then `node /rotator/rotator.mjs --step <step>`), against the
 * in-process MinIO as the rustfs provider. See harness.ts and pod-process.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { res, type Obj } from '../support/kube/index.js';
import { APP_NS, consumers, CRED, E2E, prerequisites, ROTATOR_NS, TARGET, unauthorised, type Manifest, type RbacFinding } from './harness.js';
import { nonJsonRotatorLines } from './pod-process.js';

const pre = prerequisites();
const d = pre ? describe : describe.skip;

d('rotation Jobs rendered by rekey rotate, run as the cluster would', () => {
  const e = new E2E();
  let g1!: { accessKeyId: string; secret: string };
  let g2!: { accessKeyId: string; secret: string };
  let g1Dist: Manifest[] = [];
  let g2Dist: Manifest[] = [];
  let failure: unknown;
  let realMs = 0;
  let g2DeliverDone = 0;
  let checksumApplied = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    await e.start(pre!.node);
    try {
      // ---- generation 1: no previous key
      g1 = await e.rotate();
      g1Dist = e.dist;
      await e.sync(async (wave) => {
        if (wave === 0) {
          // the consumers' own app syncs after deliver: they read the target Secret
          for (const c of consumers(e.checksumPatch('Deployment', 'web'))) e.kube.apply(c);
          await e.until(() => e.kube.registry.list(res('pods'), APP_NS).filter((p) => ((p.status as Obj)?.conditions as Obj[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 5, 'consumers Ready');
        }
      });
      // ---- generation 2: replaces generation 1's key; retire revokes it
      g2 = await e.rotate();
      g2Dist = e.dist;
      e.prune();
      await e.sync(async (wave) => {
        // a slow sealed-secrets controller: the updated target unseals only once deliver runs
        if (wave === -2) e.holdUnsealUntilStarted = `${ROTATOR_NS}/${g2Dist.find((o) => o.kind === 'Job' && o.metadata.name.includes('-deliver-'))!.metadata.name}-`;
        if (wave === 0) {
          const deliver = g2Dist.find((o) => o.kind === 'Job' && o.metadata.name.includes('-deliver-'))!.metadata.name;
          g2DeliverDone = e.obs.jobDone.get(deliver)!.at;
          checksumApplied = e.kube.clock.nowMs();
          for (const kind of ['Deployment', 'StatefulSet']) {
            const name = kind === 'Deployment' ? 'web' : 'db';
            const def = res(kind === 'Deployment' ? 'deployments' : 'statefulsets');
            const cur = structuredClone(e.kube.registry.get(def, APP_NS, name));
            const meta = ((cur.spec as Obj).template as Obj).metadata as Obj;
            meta.annotations = { ...((meta.annotations as Record<string, string> | undefined) ?? {}), ...e.checksumPatch(kind, name) };
            e.kube.registry.update(def, APP_NS, name, cur);
          }
          // Argo CD waits for the Deployment's health (an OnDelete StatefulSet is healthy at once)
          await e.until(() => {
            const dep = e.kube.registry.get(res('deployments'), APP_NS, 'web');
            const st = dep.status as Obj | undefined;
            return st?.observedGeneration === dep.metadata.generation && st?.updatedReplicas === 2 && st?.availableReplicas === 2 && (st?.replicas as number) === 2;
          }, 'Deployment web rolled out');
        }
      });
    } catch (err) {
      failure = err;
    }
    realMs = Date.now() - t0;
  }, 900_000);

  afterAll(async () => {
    console.log(e.report(realMs, 'e2e rotation log'));
    await e.close();
  });

  it('runs every rendered Job of both generations to completion, in wave order', () => {
    if (failure) throw failure;
    const jobs = [...g1Dist, ...g2Dist].filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
    expect(jobs.map((j) => j.replace(/-[0-9a-f]{8}$/, ''))).toEqual([`rekey-${CRED}-g1-activate`, `rekey-${CRED}-g1-deliver`, `rekey-${CRED}-g2-activate`, `rekey-${CRED}-g2-deliver`, `rekey-${CRED}-g2-retire`]);
    expect(e.jobsRun).toEqual(jobs);
    for (const j of jobs) expect(e.obs.jobDone.get(j)?.type).toBe('Complete');
    // every pod ran the init container (unpack) and then the rotator, both exit 0
    for (const j of jobs) {
      const runs = e.pods.runs.filter((r) => r.pod.startsWith(`${ROTATOR_NS}/${j}-`));
      expect(runs.map((r) => `${r.container}:${r.exitCode}`)).toEqual(['unpack:0', 'rotator:0']);
    }
  });

  it('activate registered the new key at the provider: a real S3 call signed with it succeeds', async () => {
    if (failure) throw failure;
    expect(await e.provider.check(g2.accessKeyId, g2.secret)).toBe('ok');
    const sa = e.minio.serviceAccounts.get(g2.accessKeyId);
    expect(sa).toBeDefined();
  });

  it('deliver completed only after the target Secret held the new key ID', () => {
    if (failure) throw failure;
    for (const [gen, pair, dist] of [[1, g1, g1Dist], [2, g2, g2Dist]] as const) {
      // generation 1 creates the SealedSecret: Argo CD waits for its first Synced before the deliver wave;
      // generation 2 updates it: the previous Synced passes the health check, and the controller
      // is held until deliver runs, so deliver really waits
      const deliver = dist.find((o) => o.kind === 'Job' && o.metadata.name.includes('-deliver-'))!.metadata.name;
      const held = e.obs.targetHeld.get(pair.accessKeyId);
      expect({ gen, held: held !== undefined }).toEqual({ gen, held: true });
      expect(e.obs.jobDone.get(deliver)!.at).toBeGreaterThanOrEqual(held!);
      // and it did not start after it: it waited (the controller unseals 3 ticks after the SealedSecret changes)
      const run = e.pods.runs.find((r) => r.pod.startsWith(`${ROTATOR_NS}/${deliver}-`) && r.container === 'rotator')!;
      if (gen === 2) {
        expect(e.unsealReleasedAt).toBeGreaterThanOrEqual(run.startedMs);
        expect(run.startedMs).toBeLessThan(held!);
        // still the old key when deliver started
        expect(e.obs.targetHeld.get(g1.accessKeyId)!).toBeLessThan(run.startedMs);
      }
    }
  });

  it('every consumer pod started after its Secret held the new key (env resolved at start)', () => {
    if (failure) throw failure;
    const pods = e.kube.registry.list(res('pods'), APP_NS).filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.map((p) => p.metadata.name!.replace(/-[a-z0-9]+-[a-z0-9]{5}$/, '-*')).sort()).toEqual(['db-0', 'db-1', 'db-2', 'web-*', 'web-*']);
    const held = e.obs.targetHeld.get(g2.accessKeyId)!;
    for (const p of pods) {
      const start = e.set.kubelet.containerStart(APP_NS, p.metadata.name!, 'app')!;
      expect({ pod: p.metadata.name!, key: Object.values(start.env).find((v) => v === g2.accessKeyId || v === g1.accessKeyId) }).toEqual({ pod: p.metadata.name!, key: g2.accessKeyId });
      expect(Date.parse(start.startedAt)).toBeGreaterThan(held);
    }
  });

  it('the OnDelete StatefulSet pods were replaced by retire, highest ordinal first, after the checksum sync', () => {
    if (failure) throw failure;
    const g2Replaced = e.obs.stsReplaced.filter((r) => r.at >= checksumApplied);
    expect(g2Replaced.map((r) => r.pod)).toEqual(['db-2', 'db-1', 'db-0']);
    expect(g2DeliverDone).toBeGreaterThan(0);
  });

  it('retire revoked the old key: it is rejected; the new key still works', async () => {
    if (failure) throw failure;
    expect(await e.provider.check(g1.accessKeyId, g1.secret)).toBe('InvalidAccessKeyId');
    expect(await e.provider.check(g2.accessKeyId, g2.secret)).toBe('ok');
    expect(e.minio.serviceAccounts.has(g1.accessKeyId)).toBe(false);
  });

  it('the rotation record ConfigMap shows every phase of both generations', () => {
    if (failure) throw failure;
    const plan = JSON.parse((g2Dist.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-plan'))!.data as Record<string, string>)['plan.json']!) as { recordConfigMap: string };
    const cm = e.kube.registry.get(res('configmaps'), ROTATOR_NS, plan.recordConfigMap);
    const text = JSON.stringify(cm.data);
    const gens = Object.values(cm.data as Record<string, string>).map((v) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v;
      }
    });
    const flat = JSON.stringify(gens);
    for (const key of [g1.accessKeyId, g2.accessKeyId]) expect(flat).toContain(key);
    for (const field of ['activatedAt', 'deliveredAt', 'retiredAt', 'targetsFirstSeen', 'disabledAt', 'deletedAt']) expect(flat).toContain(field);
    expect(flat).toMatch(/"phase":"retired"/);
    expect(text).not.toContain(g1.secret);
    expect(text).not.toContain(g2.secret);
  });

  it('no output line of any process (nor the CLI) contains a secret', () => {
    if (failure) throw failure;
    const secrets = [g1.secret, g2.secret, e.provider.admin.secretAccessKey];
    const outputs = [...e.pods.runs.map((r) => ({ who: `${r.pod}/${r.container}`, text: r.stdout + r.stderr })), { who: 'rekey CLI', text: e.cliOutput }];
    const leaks = outputs.flatMap((o) => secrets.filter((s) => o.text.includes(s) || o.text.includes(Buffer.from(s).toString('base64'))).map(() => o.who));
    expect(leaks).toEqual([]);
    expect(e.pods.runs.length).toBe(10);
  });

  it("every line the rotator writes is one JSON object (no Node warnings in its log)", () => {
    if (failure) throw failure;
    expect(nonJsonRotatorLines(e.pods.runs)).toEqual([]);
  });

  function rbacFindings(): [string, RbacFinding][] {
    const sa = { namespace: ROTATOR_NS, name: `rekey-${CRED}-rotator` };
    expect([...g1Dist, ...g2Dist].some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa.name)).toBe(true);
    // each generation's requests against that generation's Roles would be finer; the Roles differ
    // only by the plan/staging names, so judge all requests against the union and report each miss
    const findings: RbacFinding[] = unauthorised(e.kube.requests, [...g2Dist, ...g1Dist], sa);
    const distinct = [...new Map(findings.map((f) => [`${f.verb} ${f.group}/${f.resource} ns=${f.namespace} name=${f.name || '(none)'}`, f])).entries()];
    return distinct;
  }

  it('RBAC: every API request the rotator made is granted by the rendered Roles (as kube-apiserver evaluates them)', () => {
    if (failure) throw failure;
    const distinct = rbacFindings();
    const verbs = new Map<string, number>();
    for (const r of e.kube.requests) if (r.info) verbs.set(`${r.info.verb} ${r.info.resource}${r.info.subresource ? `/${r.info.subresource}` : ''}`, (verbs.get(`${r.info.verb} ${r.info.resource}${r.info.subresource ? `/${r.info.subresource}` : ''}`) ?? 0) + 1);
    console.log(`RBAC: ${e.kube.requests.length} API requests by the rotator (${[...verbs].map(([k, n]) => `${k} ×${n}`).join(', ')}); ${distinct.length} kinds not granted by the rendered Roles${distinct.length ? `:\n${distinct.map(([k, f]) => `  ${k}  e.g. ${f.request} → ${f.status} (the fake does not enforce RBAC; kube-apiserver answers 403)`).join('\n')}` : ''}`);
    // The workload watches carry fieldSelector=metadata.name=<name>: the Role grants list/watch
    // on the named workloads only (this once failed: list/watch of every Deployment of the namespace).
    expect(distinct.map(([k]) => k)).toEqual([]);
    expect(verbs.get('list deployments')).toBeGreaterThan(0);
  });

  it('the Job pods got only the env their manifests declare (plus the harness env) and read only mounted files', () => {
    if (failure) throw failure;
    const rotatorEnv = e.pods.envs.filter((x) => x.container === 'rotator');
    // one pod per Job: no step failed and was retried
    expect(rotatorEnv.map((x) => x.pod.replace(/-[a-z0-9]{5}$/, ''))).toEqual(e.jobsRun.map((j) => `${ROTATOR_NS}/${j}`));
    for (const x of rotatorEnv) expect(Object.keys(x.env).sort()).toEqual(['NODE_ENV', 'REKEY_PLAN', 'REKEY_POD_NAME']);
    // the paths the plan tells the rotator to read are the paths the Job mounts
    for (const dist of [g1Dist, g2Dist]) {
      const plan = JSON.parse((dist.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-plan'))!.data as Record<string, string>)['plan.json']!) as { provider: { adminSecret: { mountPath: string } }; keySource: { mountPath: string } };
      for (const job of dist.filter((o) => o.kind === 'Job')) {
        const c = ((((job.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]!;
        const mounts = (c.volumeMounts as Obj[]).map((m) => m.mountPath as string);
        const planPath = (c.env as Obj[]).find((x) => x.name === 'REKEY_PLAN')!.value as string;
        expect(mounts).toContain(planPath.slice(0, planPath.lastIndexOf('/')));
        if (!/-deliver-/.test(job.metadata.name)) expect(mounts).toContain(plan.provider.adminSecret.mountPath);
        else expect(mounts).not.toContain(plan.provider.adminSecret.mountPath); // deliver never calls the provider
        if (/-activate-|-revoke-/.test(job.metadata.name)) expect(mounts).toContain(plan.keySource.mountPath);
      }
    }
    void TARGET;
  });
});
