/**
 * kubectl 1.32 (preinstalled, a client nobody here wrote) against the fake server while the
 * simulated controllers tick: discovery, create from a multi-document file, get -o yaml, wait,
 * rollout status for Deployment and StatefulSet, delete pod.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';

import { defaultControllers, type ControllerSet } from './controllers/index.js';
import { NEVER_READY_ANNOTATION } from './controllers/kubelet.js';
import { kubectlFor, type Kubectl } from './kubectl.js';
import { res } from './resources.js';
import { startFakeKube, type FakeKube } from './server.js';
import { clone, type KubeObject, type Obj } from './types.js';

let kube: FakeKube;
let ctl: ControllerSet;
let kubectl: Kubectl;

beforeEach(async () => {
  ctl = defaultControllers();
  kube = await startFakeKube({ controllers: ctl.all });
  kubectl = kubectlFor(kube.kubeconfig());
});

afterEach(async () => {
  await kube.close();
});

function deployment(name: string, replicas: number, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, ...(annotations ? { annotations } : {}) }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    },
  };
}

describe('kubectl', () => {
  it('reads the server version from /version', async () => {
    // GIVEN the fake server
    // WHEN kubectl asks for the versions
    const out = await kubectl('version', '-o', 'json');

    // THEN it shows the fake's 1.32 server version
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as { serverVersion: Obj }).serverVersion).toMatchObject({ major: '1', minor: '32', gitVersion: 'v1.32.13-fake' });
  });

  it('creates every document of a multi-document file, and gets one back as YAML', async () => {
    // GIVEN a file with a Namespace, a ConfigMap, a Secret and a Deployment
    const file = join(kubectl.cacheDir, 'app.yaml');
    writeFileSync(
      file,
      [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'app' }, data: { a: '1' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cred', namespace: 'app' }, stringData: { key: 'fake' } },
        { ...deployment('web', 2), metadata: { name: 'web', namespace: 'app' } },
      ]
        .map((d) => stringify(d))
        .join('---\n'),
    );

    // WHEN kubectl creates it (no OpenAPI here: --validate=false) and reads the Deployment back
    const created = await kubectl('create', '--validate=false', '-f', file);
    const got = await kubectl('get', 'deploy', 'web', '-n', 'app', '-o', 'yaml');

    // THEN all four were created, and the YAML is the stored Deployment with server-set fields
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout.trim().split('\n')).toEqual(['namespace/app created', 'configmap/settings created', 'secret/cred created', 'deployment.apps/web created']);
    expect(got.code).toBe(0);
    const d = parse(got.stdout) as KubeObject;
    expect(d).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'app', generation: 1 }, spec: { replicas: 2 } });
    expect(d.metadata.uid).toBe(kube.registry.get(res('deployments'), 'app', 'web').metadata.uid);
  });

  it('waits for a Job to complete while the controllers tick', async () => {
    // GIVEN a Job
    kube.apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'rotate', namespace: 'default' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'r:1' }] } } },
    });

    // WHEN kubectl waits for condition=complete while the cluster ticks
    const out = await kube.tickWhile(kubectl('wait', '--for=condition=complete', 'job/rotate', '--timeout=60s'));

    // THEN kubectl saw the Complete condition
    expect(out).toMatchObject({ code: 0, stdout: 'job.batch/rotate condition met\n' });
  });

  it('follows a Deployment rollout to the end with rollout status', async () => {
    // GIVEN a settled Deployment whose template then changes
    kube.apply(deployment('web', 3));
    await kube.settle();
    const d = clone(kube.registry.get(res('deployments'), 'default', 'web'));
    ((((d.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0].image = 'app:2';
    kube.registry.update(res('deployments'), 'default', 'web', d);

    // WHEN kubectl follows the rollout while the cluster ticks
    const out = await kube.tickWhile(kubectl('rollout', 'status', 'deployment/web', '--timeout=60s'));

    // THEN it reports success, and the cluster agrees
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n').at(-1)).toBe('deployment "web" successfully rolled out');
    expect(kube.registry.get(res('deployments'), 'default', 'web').status).toMatchObject({ updatedReplicas: 3, availableReplicas: 3, replicas: 3, observedGeneration: 2 });
  });

  it('does not report success while a pod of the new template never becomes Ready', async () => {
    // GIVEN a settled Deployment changed to a template whose pods never become Ready
    kube.apply(deployment('stuck', 2));
    await kube.settle();
    const d = clone(kube.registry.get(res('deployments'), 'default', 'stuck'));
    (((d.spec as Obj).template as Obj).metadata as Obj).annotations = { [NEVER_READY_ANNOTATION]: 'true' };
    kube.registry.update(res('deployments'), 'default', 'stuck', d);

    // WHEN kubectl follows the rollout with a short timeout, after the cluster settled
    await kube.settle();
    const out = await kube.tickWhile(kubectl('rollout', 'status', 'deployment/stuck', '--timeout=3s'));

    // THEN it times out: the surge pod is not Ready, so no old pod may go and only 1 of 2 is updated
    // (the cluster state is settled before kubectl starts: the 3 s timeout is the expected outcome, not a race)
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('Waiting for deployment "stuck" rollout to finish: 1 out of 2 new replicas have been updated...\n');
    expect(out.stderr).toBe('error: timed out waiting for the condition\n');
  });

  it('follows a StatefulSet RollingUpdate with rollout status, and refuses OnDelete', async () => {
    // GIVEN a settled RollingUpdate StatefulSet whose template changes, and an OnDelete one
    const sts = (name: string, strategy?: Obj): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas: 2,
        serviceName: name,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
        ...(strategy ? { updateStrategy: strategy } : {}),
      },
    });
    kube.apply(sts('db'));
    kube.apply(sts('legacy', { type: 'OnDelete' }));
    await kube.settle();
    const set = clone(kube.registry.get(res('statefulsets'), 'default', 'db'));
    ((((set.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0].image = 'db:2';
    kube.registry.update(res('statefulsets'), 'default', 'db', set);

    // WHEN kubectl follows both
    const db = await kube.tickWhile(kubectl('rollout', 'status', 'statefulset/db', '--timeout=60s'));
    const legacy = await kubectl('rollout', 'status', 'statefulset/legacy', '--timeout=10s');

    // THEN the partitioned (partition 0) rollout completes, and OnDelete is refused as upstream
    expect(db.code).toBe(0);
    expect(db.stdout.trim().split('\n').at(-1)).toBe('partitioned roll out complete: 2 new pods have been updated...');
    const st = kube.registry.get(res('statefulsets'), 'default', 'db').status as Obj;
    expect(st.currentRevision).toBe(st.updateRevision);
    expect(legacy.code).toBe(1);
    expect(legacy.stderr).toBe('error: rollout status is only available for RollingUpdate strategy type\n');
  });

  it('applies a manifest twice (client-side apply) and restarts a Deployment with rollout restart', async () => {
    // GIVEN a Deployment manifest applied with kubectl, and rolled out
    const file = join(kubectl.cacheDir, 'web.yaml');
    writeFileSync(file, stringify(deployment('web', 2)));
    const first = await kubectl('apply', '--validate=false', '-f', file);
    await kube.settle();
    const podsBefore = kube.registry.list(res('pods'), 'default').map((p) => p.metadata.uid);

    // WHEN the manifest changes replicas and is applied again, then the Deployment is restarted
    writeFileSync(file, stringify(deployment('web', 3)));
    const second = await kubectl('apply', '--validate=false', '-f', file);
    const restart = await kubectl('rollout', 'restart', 'deployment/web');
    const status = await kube.tickWhile(kubectl('rollout', 'status', 'deployment/web', '--timeout=60s'));

    // THEN apply created then configured it, the restart stamped the template, and every pod is new
    expect(first).toMatchObject({ code: 0, stdout: 'deployment.apps/web created\n' });
    expect(second).toMatchObject({ code: 0, stdout: 'deployment.apps/web configured\n' });
    expect(restart).toMatchObject({ code: 0, stdout: 'deployment.apps/web restarted\n' });
    expect(status.code).toBe(0);
    const d = kube.registry.get(res('deployments'), 'default', 'web');
    expect(d.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain('"replicas":3');
    expect(Object.keys(((((d.spec as Obj).template as Obj).metadata as Obj).annotations ?? {}) as Obj)).toEqual(['kubectl.kubernetes.io/restartedAt']);
    const podsAfter = kube.registry.list(res('pods'), 'default').filter((p) => !p.metadata.deletionTimestamp);
    expect(podsAfter).toHaveLength(3);
    expect(podsAfter.filter((p) => podsBefore.includes(p.metadata.uid))).toEqual([]);
  });

  it('deletes a pod and waits until the kubelet removed it', async () => {
    // GIVEN a running pod
    kube.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await kube.settle();

    // WHEN kubectl deletes it (waiting for the deletion) while the cluster ticks
    const out = await kube.tickWhile(kubectl('delete', 'pod', 'p'));

    // THEN kubectl confirmed and the pod is gone
    expect(out).toMatchObject({ code: 0, stdout: 'pod "p" deleted\n' });
    expect(kube.registry.find(res('pods'), 'default', 'p')).toBeUndefined();
  });
});
