/**
 * Provider-drawn keys end to end at the rotator level: the in-process IAM server (which also
 * answers S3 ListBuckets for verification), the simulated External Secrets controller over an
 * in-memory store, and the harness's fake cluster. The test applies the ExternalSecret and the
 * PushSecret as Argo CD would (PushSecret after the activate Job; optionally the ExternalSecret's
 * generation bump before the push: the early-refresh case).
 */
import { RemoteStore } from '../support/kube/controllers/remote-store.js';
import { externalSecret, pushSecret, REMOTE_KEY, STORE_KEY } from '../support/kube/eso-fixtures.js';
import { res, type KubeObject, type Obj } from '../support/kube/index.js';
import { IamServer } from '../support/iam-server.js';
import type { RotationPlanInput } from '../../lib/core/plan.js';
import { ADMIN, deployment, NS, plan, startHarness, TARGET, type Harness } from './harness.js';

export const USER = 'uploads-svc';
/** The two users of the `alternatingUsers` identity (`startDrawn({ alternating: true })`); the adopted key is on the first. */
export const ALT_USERS = [`${USER}-a`, `${USER}-b`] as const;

export interface DrawnHarness {
  readonly h: Harness;
  readonly iam: IamServer;
  readonly store: RemoteStore;
  /** The adopted key (generation 1's, made outside rekey). */
  readonly adopted: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/**
 * A user with one adopted key, its pair in the store, an ExternalSecret (generation 1) and an env consumer.
 * `alternating`: the two users of {@link ALT_USERS} instead, the adopted key on the first (plan it with {@link alternatingIdentity}).
 */
export async function startDrawn(o: { readonly esoDelayTicks?: number; readonly extraKey?: 'active' | 'inactive'; readonly alternating?: boolean } = {}): Promise<DrawnHarness> {
  const store = new RemoteStore('vault');
  const h = await startHarness({ kubelet: { externalSecrets: { stores: { [STORE_KEY]: store }, delayTicks: o.esoDelayTicks ?? 2 } } });
  const iam = await IamServer.start({ admin: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secretAccessKey.reveal() }, now: () => h.kube.clock.now() });
  const [first, ...others] = o.alternating ? ALT_USERS : [USER];
  for (const u of [first, ...others]) iam.seedUser(u);
  const adopted = iam.seedKey(first);
  if (o.extraKey) {
    const extra = iam.seedKey(first);
    if (o.extraKey === 'inactive') iam.keys.get(extra.accessKeyId)!.status = 'Inactive';
  }
  store.put(REMOTE_KEY, { accessKeyId: adopted.accessKeyId, secretAccessKey: adopted.secretAccessKey }, h.kube.clock.time(), 'setup');
  h.kube.apply(externalSecret(1));
  h.kube.apply(deployment('api', 1, 'c1'));
  await h.kube.settle();
  return {
    h,
    iam,
    store,
    adopted,
    async close() {
      await h.close();
      await iam.stop();
    },
  };
}

/** The plan of generation `gen` for the IAM user with external delivery (previous key: the adopted one for gen 2, else from the record). */
export function drawnPlan(d: DrawnHarness, gen: number, over: Partial<RotationPlanInput> = {}): RotationPlanInput {
  return plan(d.h, gen, {
    provider: { name: 'aws', kind: 'aws-iam', endpoint: d.iam.endpoint, region: 'us-east-1', adminSecret: { name: 'aws-admin' }, caBundle: null },
    identity: { kind: 'user', name: USER, users: null },
    keySource: { kind: 'providerDrawn' },
    accessKeyId: null,
    previousAccessKeyId: gen === 2 ? d.adopted.accessKeyId : null,
    targets: [{ namespace: NS, secretName: TARGET, delivery: 'external' }],
    consumers: [{ kind: 'Deployment', apiVersion: 'apps/v1', namespace: NS, name: 'api', mode: 'env', secretName: TARGET, updateStrategy: null, checksum: `c${gen}`, replacePodsOnDelete: false }],
    overlapSeconds: 10,
    ...over,
  });
}

/** The plan's identity for {@link ALT_USERS} (pass as `drawnPlan`'s `identity`). */
export const alternatingIdentity: RotationPlanInput['identity'] = { kind: 'alternatingUsers', name: USER, users: [ALT_USERS[0], ALT_USERS[1]] };

/** Argo CD applies the ExternalSecret of generation `gen` (its spec carries the generation). */
export function applyExternalSecret(d: DrawnHarness, gen: number): void {
  const cur = d.h.kube.registry.find(res('externalsecrets'), NS, TARGET);
  const next = externalSecret(gen);
  d.h.kube.apply(cur ? { ...next, metadata: { ...cur.metadata, ...next.metadata, resourceVersion: cur.metadata.resourceVersion } } : next);
}

/** Argo CD applies generation `gen`'s PushSecret (after the activate Job). */
export function applyPushSecret(d: DrawnHarness, gen: number): void {
  d.h.kube.apply(pushSecret(gen));
}

/** The access-key ID the target Secret holds. */
export function targetKey(d: DrawnHarness): string | undefined {
  const s = d.h.kube.registry.find(res('secrets'), NS, TARGET) as KubeObject | undefined;
  const v = (s?.data as Obj | undefined)?.['access-key'];
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

/** The staging Secret's access-key ID. */
export function stagedKey(d: DrawnHarness, gen: number): string | undefined {
  const s = d.h.kube.registry.find(res('secrets'), 'rekey-system', `rekey-uploads-g${gen}-staging`);
  const v = (s?.data as Obj | undefined)?.['access-key'];
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

/** How many of the test world's secrets (see {@link secretsOf}) appear in the log lines (a count: a failure prints no secret). */
export function secretsInLogs(d: DrawnHarness): number {
  const text = d.h.logger.lines.join('\n');
  return secretsOf(d).filter((s) => text.includes(s)).length;
}

/** Every secret the test world holds: IAM-issued secrets and the admin secret. */
export function secretsOf(d: DrawnHarness): string[] {
  return [...d.iam.issuedSecrets, ADMIN.secretAccessKey.reveal()];
}
