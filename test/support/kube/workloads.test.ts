/** Jobs, DaemonSets, Argo Rollouts, the sealed-secrets controller and in-place restarts, driven by ticks. */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from '@jest/globals';

import { seal, unseal } from '../../../lib/project/seal.js';
import { defaultControllers, type ControllerSetOptions } from './controllers/index.js';
import type { PodOutcome } from './controllers/kubelet.js';
import { processRunner } from './controllers/process-runner.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import { clone, type Condition, type KubeObject, type Obj } from './types.js';

let kube: FakeKube;

afterEach(async () => {
  await kube?.close();
});

async function start(options: ControllerSetOptions = {}): Promise<ReturnType<typeof defaultControllers>> {
  const set = defaultControllers(options);
  kube = await startFakeKube({ controllers: set.all });
  return set;
}

function job(name: string, extra: Obj = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: { ...extra, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'rotate', image: 'rotator:1' }] } } },
  };
}

function conditionTypes(o: KubeObject): string[] {
  return (((o.status as Obj).conditions as Condition[] | undefined) ?? []).map((c) => `${c.type}=${c.status}:${c.reason ?? ''}`);
}

describe('Job', () => {
  it('completes with SuccessCriteriaMet then Complete when its pod exits 0', async () => {
    // GIVEN a Job whose pods succeed (default runner)
    await start();
    kube.apply(job('rotate'));

    // WHEN the controllers settle
    await kube.settle();

    // THEN the Job is Complete with the 1.31+ condition sequence, counts and completionTime
    const j = kube.registry.get(res('jobs'), 'default', 'rotate');
    expect(conditionTypes(j)).toEqual(['SuccessCriteriaMet=True:CompletionsReached', 'Complete=True:CompletionsReached']);
    expect(j.status).toMatchObject({ succeeded: 1, terminating: 0, ready: 0, uncountedTerminatedPods: {} });
    expect(typeof (j.status as Obj).completionTime).toBe('string');
    const pods = kube.registry.list(res('pods'), 'default');
    expect(pods.map((p) => [p.metadata.labels?.['job-name'], (p.status as Obj).phase])).toEqual([['rotate', 'Succeeded']]);
  });

  it('fails with BackoffLimitExceeded after backoffLimit+1 failed pods from an async runner', async () => {
    // GIVEN a Job with backoffLimit 1 whose pods' runner resolves to exit code 3
    const runs: string[] = [];
    await start({
      kubelet: {
        runner: async (pod): Promise<PodOutcome> => {
          runs.push(pod.metadata.name ?? '');
          await new Promise((r) => setImmediate(r));
          return { exitCode: 3 };
        },
      },
    });
    kube.apply(job('rotate', { backoffLimit: 1 }));

    // WHEN the controllers settle
    await kube.settle();

    // THEN two pods ran, both Failed with exit code 3, and the Job is Failed
    const j = kube.registry.get(res('jobs'), 'default', 'rotate');
    expect(runs).toHaveLength(2);
    expect(conditionTypes(j)).toEqual(['FailureTarget=True:BackoffLimitExceeded', 'Failed=True:BackoffLimitExceeded']);
    expect((((j.status as Obj).conditions as Condition[])[1]).message).toBe('Job has reached the specified backoff limit');
    expect(j.status).toMatchObject({ failed: 2 });
    const exitCodes = kube.registry.list(res('pods'), 'default').map((p) => (((p.status as Obj).containerStatuses as Obj[])[0].state as { terminated: { exitCode: number } }).terminated.exitCode);
    expect(exitCodes).toEqual([3, 3]);
  });

  it('runs a real process per Job pod with the env resolved from its Secret, and fails the Job on its exit code', async () => {
    // GIVEN a process runner (node) that exits with the code found in the pod's env, and a Secret with that code
    const proc = processRunner({ command: process.execPath, args: ['-e', 'console.log(process.env.GREETING); process.exit(Number(process.env.EXIT_CODE))'], env: () => ({ GREETING: 'hello from the fake' }) });
    await start({ kubelet: { runner: proc.runner } });
    kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'job-env', namespace: 'default' }, data: { EXIT_CODE: Buffer.from('3').toString('base64') } });
    const j = job('real', { backoffLimit: 0 });
    ((((j.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0].envFrom = [{ secretRef: { name: 'job-env' } }];
    kube.apply(j);

    // WHEN the controllers settle (the clock waits for the process)
    await kube.settle();

    // THEN the process ran once with the Secret's exit code and the extra greeting, and the Job failed on it
    expect(proc.runs).toEqual([{ pod: expect.stringMatching(/^default\/real-[a-z0-9]{5}$/), exitCode: 3, stdout: 'hello from the fake\n', stderr: '' }]);
    expect(conditionTypes(kube.registry.get(res('jobs'), 'default', 'real')).at(-1)).toBe('Failed=True:BackoffLimitExceeded');
  });

  it('fails with DeadlineExceeded when activeDeadlineSeconds passes on the fake clock', async () => {
    // GIVEN a Job with a 5 s deadline whose pod never finishes
    await start({ kubelet: { runner: () => new Promise<PodOutcome>(() => undefined) } });
    kube.apply(job('slow', { activeDeadlineSeconds: 5 }));

    // WHEN ten ticks (10 fake seconds) pass
    for (let i = 0; i < 10; i++) kube.tick();

    // THEN the Job failed on its deadline and its pod was deleted
    const j = kube.registry.get(res('jobs'), 'default', 'slow');
    expect(conditionTypes(j)).toEqual(['FailureTarget=True:DeadlineExceeded', 'Failed=True:DeadlineExceeded']);
    expect(kube.registry.list(res('pods'), 'default')).toEqual([]);
  });
});

describe('DaemonSet', () => {
  it('runs one pod per fake node and rolls a template change node by node', async () => {
    // GIVEN three nodes and a settled DaemonSet
    await start({ kubelet: { nodes: ['n1', 'n2', 'n3'] } });
    kube.apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } } },
    });
    await kube.settle();
    const nodesOf = (): string[] => kube.registry.list(res('pods'), 'default').filter((p) => !p.metadata.deletionTimestamp).map((p) => String((p.spec as Obj).nodeName)).sort();
    expect(nodesOf()).toEqual(['n1', 'n2', 'n3']);

    // WHEN the template changes and we tick
    const ds = clone(kube.registry.get(res('daemonsets'), 'default', 'agent'));
    ((((ds.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0].image = 'a:2';
    kube.registry.update(res('daemonsets'), 'default', 'agent', ds);
    let maxDown = 0;
    for (let i = 0; i < 40; i++) {
      kube.tick();
      const ready = kube.registry.list(res('pods'), 'default').filter((p) => !p.metadata.deletionTimestamp && ((p.status as Obj).conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True'));
      maxDown = Math.max(maxDown, 3 - ready.length);
    }

    // THEN at most one node was without a ready pod at a time, and the status is complete
    expect(maxDown).toBe(1);
    expect(kube.registry.get(res('daemonsets'), 'default', 'agent').status).toEqual({
      currentNumberScheduled: 3,
      numberMisscheduled: 0,
      desiredNumberScheduled: 3,
      numberReady: 3,
      observedGeneration: 2,
      updatedNumberScheduled: 3,
      numberAvailable: 3,
    });
  });
});

describe('Argo Rollout', () => {
  it('rolls a template change and reports Healthy with stableRS == currentPodHash and a string observedGeneration', async () => {
    // GIVEN a settled Rollout with 2 replicas
    await start();
    kube.apply({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
        strategy: { canary: {} },
      },
    });
    await kube.settle();
    const first = kube.registry.get(res('rollouts'), 'default', 'web').status as Obj;

    // WHEN its template changes
    const ro = clone(kube.registry.get(res('rollouts'), 'default', 'web'));
    ((((ro.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0].image = 'app:2';
    const updated = kube.registry.update(res('rollouts'), 'default', 'web', ro);
    kube.tick();
    const during = kube.registry.get(res('rollouts'), 'default', 'web').status as Obj;
    await kube.settle();
    const after = kube.registry.get(res('rollouts'), 'default', 'web').status as Obj;

    // THEN it moved from the first hash to the new one through a Progressing phase
    expect(first).toMatchObject({ phase: 'Healthy', observedGeneration: '1', replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    expect(first.stableRS).toBe(first.currentPodHash);
    expect(updated.metadata.generation).toBe(2);
    expect(during).toMatchObject({ phase: 'Progressing', observedGeneration: '2', stableRS: first.currentPodHash });
    expect(during.currentPodHash).not.toBe(first.currentPodHash);
    expect(after).toMatchObject({ phase: 'Healthy', observedGeneration: '2', replicas: 2, updatedReplicas: 2, availableReplicas: 2, stableRS: during.currentPodHash, currentPodHash: during.currentPodHash });
  });
});

describe('Argo Rollout restartAt', () => {
  function rollout(replicas: number): KubeObject {
    return {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
        strategy: { canary: {} },
      },
    };
  }

  function restartAt(at: string): KubeObject {
    const ro = clone(kube.registry.get(res('rollouts'), 'default', 'web'));
    (ro.spec as Obj).restartAt = at;
    return kube.registry.update(res('rollouts'), 'default', 'web', ro);
  }

  it('evicts every pod older than restartAt, one at a time, then sets restartedAt and is Healthy', async () => {
    // GIVEN a settled 3-replica Rollout
    await start();
    kube.apply(rollout(3));
    await kube.settle();
    const oldUids = kube.registry.list(res('pods'), 'default').map((p) => p.metadata.uid);

    // WHEN spec.restartAt is set to now and we tick
    const at = kube.clock.time();
    restartAt(at);
    let maxDown = 0;
    for (let i = 0; i < 60; i++) {
      kube.tick();
      const ready = kube.registry.list(res('pods'), 'default').filter((p) => !p.metadata.deletionTimestamp && ((p.status as Obj).conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True'));
      maxDown = Math.max(maxDown, 3 - ready.length);
    }

    // THEN all pods are new, never more than one was down, and the status records the restart
    const pods = kube.registry.list(res('pods'), 'default');
    expect(pods).toHaveLength(3);
    expect(pods.filter((p) => oldUids.includes(p.metadata.uid))).toEqual([]);
    expect(maxDown).toBe(1);
    expect(kube.registry.get(res('rollouts'), 'default', 'web').status).toMatchObject({ restartedAt: at, phase: 'Healthy', observedGeneration: '2' });
  });

  it('does not restart pods a PodDisruptionBudget protects, and stays Progressing', async () => {
    // GIVEN a settled Rollout whose pods a PDB with maxUnavailable 0 protects
    await start();
    kube.apply(rollout(2));
    kube.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default' }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } } });
    await kube.settle();
    const oldUids = kube.registry.list(res('pods'), 'default').map((p) => p.metadata.uid);

    // WHEN restartAt is set and the cluster settles
    restartAt(kube.clock.time());
    await kube.settle();

    // THEN every eviction was refused: same pods, no restartedAt, not Healthy
    expect(kube.registry.list(res('pods'), 'default').map((p) => p.metadata.uid)).toEqual(oldUids);
    const st = kube.registry.get(res('rollouts'), 'default', 'web').status as Obj;
    expect(st.restartedAt).toBeUndefined();
    expect(st.phase).toBe('Progressing');
  });
});

describe('sealed-secrets controller', () => {
  const cert = readFileSync(join(process.cwd(), 'test/fixtures/sealed-secrets/cert4096.pem'), 'utf8');
  const key = createPrivateKey(readFileSync(join(process.cwd(), 'test/fixtures/sealed-secrets/key4096.pem'), 'utf8'));
  const sealedSecrets = { unseal: (c: string, t: { namespace: string; name: string; scope: 'strict' | 'namespace-wide' | 'cluster-wide' }) => unseal(c, { privateKeyPem: key, ...t }).reveal() };

  function sealedSecret(name: string, value: string, template: Obj = {}): KubeObject {
    return {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata: { name, namespace: 'default' },
      spec: { encryptedData: { password: seal(Buffer.from(value), { certificate: cert, namespace: 'default', name }) }, template: { metadata: { labels: { app: 'db' } }, ...template } },
    };
  }

  it('writes the owned Secret from a SealedSecret sealed with the test certificate, and status Synced', async () => {
    // GIVEN the controller with the fixture private key
    await start({ sealedSecrets });

    // WHEN a SealedSecret is created and the controllers settle
    const ss = kube.apply(sealedSecret('db-cred', 'fake-password-1'));
    await kube.settle();

    // THEN the Secret holds the plaintext, carries the template labels and the controller owner reference
    const secret = kube.registry.get(res('secrets'), 'default', 'db-cred');
    expect(Buffer.from(String((secret.data as Obj).password), 'base64').toString()).toBe('fake-password-1');
    expect(secret.metadata.labels).toEqual({ app: 'db' });
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db-cred', uid: ss.metadata.uid, controller: true }]);
    const status = kube.registry.get(res('sealedsecrets'), 'default', 'db-cred').status as Obj;
    expect(status.observedGeneration).toBe(1);
    expect(status.conditions).toEqual([{ type: 'Synced', status: 'True', message: '', lastTransitionTime: null, lastUpdateTime: expect.any(String) }]);
  });

  it('updates the Secret when the SealedSecret spec changes', async () => {
    // GIVEN a synced SealedSecret
    await start({ sealedSecrets });
    kube.apply(sealedSecret('db-cred', 'fake-password-1'));
    await kube.settle();
    const before = kube.registry.get(res('secrets'), 'default', 'db-cred');

    // WHEN it is resealed with a new value
    const ss = clone(kube.registry.get(res('sealedsecrets'), 'default', 'db-cred'));
    ss.spec = sealedSecret('db-cred', 'fake-password-2').spec;
    kube.registry.update(res('sealedsecrets'), 'default', 'db-cred', ss);
    await kube.settle();

    // THEN the same Secret object (uid) holds the new value, at a newer resourceVersion
    const after = kube.registry.get(res('secrets'), 'default', 'db-cred');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(Buffer.from(String((after.data as Obj).password), 'base64').toString()).toBe('fake-password-2');
    expect((kube.registry.get(res('sealedsecrets'), 'default', 'db-cred').status as Obj).observedGeneration).toBe(2);
  });

  it('renders {{ .key }} template data and takes over a Secret annotated managed', async () => {
    // GIVEN a hand-made Secret annotated sealedsecrets.bitnami.com/managed: "true"
    await start({ sealedSecrets });
    kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-cred', namespace: 'default', annotations: { 'sealedsecrets.bitnami.com/managed': 'true' }, labels: { old: 'yes' } },
      data: { stale: Buffer.from('x').toString('base64') },
    });

    // WHEN a SealedSecret with a templated key arrives
    const ss = kube.apply(sealedSecret('db-cred', 'fake-password-1', { data: { dsn: 'postgres://app:{{ .password }}@db/app' } }));
    await kube.settle();

    // THEN the Secret was replaced: data, labels, annotations (managed gone) and owner reference
    const secret = kube.registry.get(res('secrets'), 'default', 'db-cred');
    const decoded = Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(decoded).toEqual({ password: 'fake-password-1', dsn: 'postgres://app:fake-password-1@db/app' });
    expect(secret.metadata.labels).toEqual({ app: 'db' });
    expect(secret.metadata.annotations).toBeUndefined();
    expect(secret.metadata.ownerReferences?.map((r) => r.uid)).toEqual([ss.metadata.uid]);
  });

  it('refuses to overwrite a Secret it does not manage', async () => {
    // GIVEN a hand-made Secret of the same name
    await start({ sealedSecrets });
    kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-cred', namespace: 'default' }, data: { password: Buffer.from('hand-made').toString('base64') } });

    // WHEN a SealedSecret for that name arrives
    kube.apply(sealedSecret('db-cred', 'fake-password-1'));
    await kube.settle();

    // THEN the Secret is untouched and the status says why
    expect(Buffer.from(String((kube.registry.get(res('secrets'), 'default', 'db-cred').data as Obj).password), 'base64').toString()).toBe('hand-made');
    const cond = ((kube.registry.get(res('sealedsecrets'), 'default', 'db-cred').status as Obj).conditions as Condition[])[0];
    expect(cond).toMatchObject({ type: 'Synced', status: 'False', message: 'failed update: Resource "db-cred" already exists and is not managed by SealedSecret' });
  });

  it('reports a value sealed for another name as undecryptable', async () => {
    // GIVEN a value sealed for "other" placed in SealedSecret "db-cred" (strict scope)
    await start({ sealedSecrets });
    const ss = sealedSecret('db-cred', 'x');
    (ss.spec as Obj).encryptedData = { password: seal(Buffer.from('x'), { certificate: cert, namespace: 'default', name: 'other' }) };

    // WHEN it is created
    kube.apply(ss);
    await kube.settle();

    // THEN no Secret, and Synced=False with the controller's message
    expect(kube.registry.find(res('secrets'), 'default', 'db-cred')).toBeUndefined();
    const cond = ((kube.registry.get(res('sealedsecrets'), 'default', 'db-cred').status as Obj).conditions as Condition[])[0];
    expect(cond).toMatchObject({ status: 'False', message: 'no key could decrypt secret (password)' });
  });
});

describe('kubelet', () => {
  it('re-resolves Secret env on an in-place container restart and records what each start saw', async () => {
    // GIVEN a running pod whose env comes from a Secret
    const ctl = await start();
    kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cred', namespace: 'default' }, data: { KEY: Buffer.from('old').toString('base64') } });
    kube.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'app:1', env: [{ name: 'S3_KEY', valueFrom: { secretKeyRef: { name: 'cred', key: 'KEY' } } }] }] },
    });
    await kube.settle();
    const first = ctl.kubelet.containerStart('default', 'app', 'c');

    // WHEN the Secret changes, and later the container restarts in place
    const s = clone(kube.registry.get(res('secrets'), 'default', 'cred'));
    s.data = { KEY: Buffer.from('new').toString('base64') };
    const changed = kube.registry.update(res('secrets'), 'default', 'cred', s);
    await kube.settle();
    const untouched = ctl.kubelet.containerStart('default', 'app', 'c');
    ctl.kubelet.restartContainer(kube.registry, 'default', 'app', 'c');
    await kube.settle();
    const restarted = ctl.kubelet.containerStart('default', 'app', 'c');

    // THEN the running container kept the old value until its restart, which got the new one
    expect(first?.env).toEqual({ S3_KEY: 'old' });
    expect(untouched).toEqual(first);
    expect(restarted).toMatchObject({ restartCount: 1, env: { S3_KEY: 'new' }, secretVersions: { cred: changed.metadata.resourceVersion } });
    const pod = kube.registry.get(res('pods'), 'default', 'app');
    const cs = ((pod.status as Obj).containerStatuses as Obj[])[0];
    expect(cs).toMatchObject({ restartCount: 1, ready: true, state: { running: { startedAt: restarted?.startedAt } }, lastState: { terminated: { exitCode: 137, startedAt: first?.startedAt } } });
    expect(Date.parse(String(restarted?.startedAt))).toBeGreaterThan(Date.parse(String(first?.startedAt)));
  });

  it('keeps a pod Pending with CreateContainerConfigError while its Secret is missing', async () => {
    // GIVEN a pod referencing a Secret that does not exist
    await start();
    kube.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ secretRef: { name: 'missing' } }] }] },
    });

    // WHEN the controllers settle
    await kube.settle();

    // THEN it is Pending with the kubelet's waiting reason
    const pod = kube.registry.get(res('pods'), 'default', 'app');
    expect((pod.status as Obj).phase).toBe('Pending');
    expect(((pod.status as Obj).containerStatuses as Obj[])[0].state).toEqual({ waiting: { reason: 'CreateContainerConfigError', message: 'secret "missing" not found' } });
  });
});
