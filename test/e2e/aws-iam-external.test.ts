/**
 * End to end, provider-drawn keys: an aws-iam credential with `external` delivery, `rekey rotate`
 * twice, each `dist/` synced in Argo CD wave order to the fake API server with the simulated
 * External Secrets Operator over an in-memory store, every rotation Job pod run as real processes
 * under Node 24 against the in-process IAM server (which also answers S3 ListBuckets for the
 * verification calls). Generation 1 retires the adopted key (the plan names it); generation 2's
 * plan names none: the rotator takes generation 1's key from its record.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RemoteStore } from '../support/kube/controllers/remote-store.js';
import { res, type Obj } from '../support/kube/index.js';
import { cli, tempProject } from '../support/project.js';
import { APP_NS, consumers, CRED, E2E, prerequisites, ROTATOR_NS, TARGET, type Manifest } from './harness.js';
import { AwsIamProvider } from './iam-provider.js';

const pre = prerequisites();
const d = pre ? describe : describe.skip;
const USER = `${CRED}-writer`;
const REMOTE_KEY = 'rekey/uploads';

function spec(endpoint: string, identity: Record<string, unknown>): string {
  return `apiVersion: rekey.dev/v1alpha1
kind: RekeyConfig
rotator:
  apiServer: { cidr: 10.0.0.1/32 }
  jobGraceSeconds: 3600
  deadlines: { activateSeconds: 3600, deliverSeconds: 3600, retireSeconds: 7200, verifySeconds: 600 }
providers:
  - name: aws
    kind: aws-iam
    endpoint: ${endpoint}
    region: us-east-1
    adminCredential: { secretName: aws-admin }
credentials:
  - name: ${CRED}
    provider: aws
    identity: ${JSON.stringify(identity)}
    aliases: [generic, aws-credentials-file]
    delivery:
      kind: external
      store: { kind: ClusterSecretStore, name: vault }
      remoteKey: ${REMOTE_KEY}
      properties: { accessKeyId: accessKeyId, secretAccessKey: secretAccessKey }
    targets:
      - { namespace: ${APP_NS}, secretName: ${TARGET} }
    consumers:
      - { kind: Deployment, name: web, namespace: ${APP_NS}, envFrom: {} }
    rotationPolicy: { mode: Manual, overlapSeconds: 30 }
`;
}

d('aws-iam with external delivery: the rendered Jobs, ESO and IAM, as the cluster would run them', () => {
  const store = new RemoteStore('vault');
  let e!: E2E;
  const iam = new AwsIamProvider(() => (e?.kube ? e.kube.clock.now() : new Date()));
  e = new E2E({ provider: iam, namespaces: ['default', APP_NS], externalSecrets: { stores: { 'ClusterSecretStore/vault': store }, delayTicks: 2 } });
  let adopted!: { accessKeyId: string; secretAccessKey: string };
  const dists: Manifest[][] = [];
  let failure: unknown;

  const targetPair = () => {
    const s = e.kube.registry.get(res('secrets'), APP_NS, TARGET);
    const v = (k: string) => Buffer.from(String((s.data as Record<string, string>)[k]), 'base64').toString('utf8');
    return { id: v('access-key'), secret: v('secret-key') };
  };
  const rollWeb = async () => {
    const cur = structuredClone(e.kube.registry.get(res('deployments'), APP_NS, 'web'));
    const meta = ((cur.spec as Obj).template as Obj).metadata as Obj;
    meta.annotations = { ...((meta.annotations as Record<string, string> | undefined) ?? {}), ...e.checksumPatch('Deployment', 'web') };
    e.kube.registry.update(res('deployments'), APP_NS, 'web', cur);
    await e.until(() => {
      const dep = e.kube.registry.get(res('deployments'), APP_NS, 'web');
      const st = dep.status as Obj | undefined;
      return st?.observedGeneration === dep.metadata.generation && st?.updatedReplicas === 2 && st?.availableReplicas === 2 && (st?.replicas as number) === 2;
    }, 'Deployment web rolled out');
  };

  beforeAll(async () => {
    await e.start(pre!.node, async (x) => {
      x.adminSecret({ secretName: 'aws-admin' });
      return tempProject(spec(iam.endpoint, iam.identity(CRED, { kind: 'user', name: USER })));
    });
    try {
      // the state before rekey: the user's key (made by hand), in the store and in the target Secret, consumers running
      iam.server.seedUser(USER);
      adopted = iam.server.seedKey(USER);
      store.put(REMOTE_KEY, { accessKeyId: adopted.accessKeyId, secretAccessKey: adopted.secretAccessKey }, e.kube.clock.time(), 'setup');
      e.kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: TARGET, namespace: APP_NS }, type: 'Opaque', data: { 'access-key': Buffer.from(adopted.accessKeyId).toString('base64'), 'secret-key': Buffer.from(adopted.secretAccessKey).toString('base64') } });
      for (const c of consumers({}).filter((x) => x.kind === 'Deployment')) e.kube.apply(c);
      await e.until(() => e.kube.registry.list(res('pods'), APP_NS).filter((p) => ((p.status as Obj)?.conditions as Obj[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2, 'consumers Ready');
      const adoptRun = await cli(e.dir, ['adopt', CRED, '--access-key-id', adopted.accessKeyId]);
      if (adoptRun.code !== 0) throw new Error(`rekey adopt failed: ${adoptRun.stderr}`);

      for (let gen = 1; gen <= 2; gen++) {
        await e.rekey('rotate', CRED);
        dists.push(e.dist);
        e.prune();
        await e.sync(async (wave) => {
          if (wave === 0) await rollWeb();
        });
      }
    } catch (err) {
      failure = err;
    }
  }, 900_000);

  afterAll(async () => {
    const lines = (e.pods?.runs ?? []).filter((r) => r.container === 'rotator').flatMap((r) => `${r.stdout}${r.stderr}`.split('\n').filter(Boolean).map((l) => `${r.pod.replace(`${ROTATOR_NS}/rekey-${CRED}-`, '').replace(/-[0-9a-f]{8}-[a-z0-9]{5}$/, '')} ${l.slice(0, 260)}`));
    console.log(`e2e aws-iam/external log\n${lines.join('\n')}`);
    await e.close();
  });

  it('runs every rendered Job of both generations to completion, PushSecret after activate, ExternalSecret after the push', () => {
    if (failure) throw failure;
    const jobs = dists.flat().filter((o) => o.kind === 'Job').map((o) => o.metadata.name.replace(/-[0-9a-f]{8}$/, ''));
    expect(jobs).toEqual([`rekey-${CRED}-g1-activate`, `rekey-${CRED}-g1-deliver`, `rekey-${CRED}-g1-retire`, `rekey-${CRED}-g2-activate`, `rekey-${CRED}-g2-deliver`, `rekey-${CRED}-g2-retire`]);
    for (const j of e.jobsRun) expect(e.obs.jobDone.get(j)?.type).toBe('Complete');
    expect(e.kube.registry.get(res('pushsecrets'), ROTATOR_NS, `rekey-${CRED}-g2-push`).status).toMatchObject({ conditions: [expect.objectContaining({ type: 'Ready', status: 'True' })] });
  });

  it('leaves exactly the generation-2 key at IAM; the adopted and generation-1 keys are rejected', async () => {
    if (failure) throw failure;
    const now = targetPair();
    expect(iam.keys(CRED)).toEqual([`${now.id}:Active`]);
    expect(await iam.check(now.id, now.secret)).toBe('ok');
    expect(await iam.check(adopted.accessKeyId, adopted.secretAccessKey)).toBe('InvalidAccessKeyId');
    expect(store.get(REMOTE_KEY)?.accessKeyId).toBe(now.id);
    const rec = e.kube.registry.get(res('configmaps'), ROTATOR_NS, `rekey-${CRED}-status`).data as Record<string, string>;
    const g1 = JSON.parse(rec['g1.json']!) as Obj;
    const g2 = JSON.parse(rec['g2.json']!) as Obj;
    expect(g1).toMatchObject({ phase: 'retired', previousAccessKeyId: adopted.accessKeyId });
    expect(g2).toMatchObject({ phase: 'retired', previousAccessKeyId: g1.accessKeyId, accessKeyId: now.id });
  });

  it('no rotator output line contains a secret', () => {
    if (failure) throw failure;
    const out = e.pods.runs.map((r) => `${r.stdout}${r.stderr}`).join('\n') + e.cliOutput;
    for (const s of [...iam.server.issuedSecrets, iam.admin.secretAccessKey]) expect(out.includes(s)).toBe(false);
  });
});
