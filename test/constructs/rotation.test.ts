import { describe, expect, it } from '@jest/globals';
import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { AliasSet, Credential, Workload } from '../../lib/index.js';
import { parsePlanText } from '../../lib/core/plan.js';
import { Stage } from '../../lib/constructs/gitops/stage.js';
import { validateManifests } from '../support/validate.js';
import { API_SERVER, entry, FAKE_BUNDLE, Ledger, setup, uploadsProps } from './fixtures.js';

const gen3 = Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3']]));
const jobsOf = (docs: any[]) => docs.filter((d) => d.kind === 'Job');
const stepOf = (j: any) => j.metadata.labels['rekey.dev/step'];

/** A chart with one credential, a local Deployment consumer and an OnDelete StatefulSet consumer rendered elsewhere. */
function rendered(ledger = gen3, props: Parameters<typeof setup>[1] = {}) {
  const { app, chart, provider } = setup(ledger, props);
  const web = new Chart(app, 'web', { namespace: 'web' });
  const deploy = new k8s.KubeDeployment(web, 'api', {
    metadata: { name: 'api' },
    spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:1' }] } } },
  });
  const c = new Credential(chart, 'uploads', { ...uploadsProps(provider), targets: [{ namespace: 'web', secretName: 'uploads-s3' }, { namespace: 'cache', secretName: 'cache-s3' }] });
  c.consumedBy(deploy, { envFrom: {} });
  c.consumedBy(Workload.fromName('StatefulSet', 'cache', { namespace: 'cache', updateStrategy: 'OnDelete' }), { env: ['access-key', 'secret-key'] });
  const ledger2 = ledger.get('uploads') ? ledger : ledger;
  void ledger2;
  return { docs: Testing.synth(chart), webDocs: () => Testing.synth(web), chart, app };
}

function ledgerFor(opts: Parameters<typeof entry>[2]) {
  return Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3'], ['cache', 'cache-s3']], opts));
}

describe('rotation Jobs', () => {
  it('renders activate, deliver and retire named rekey-<credential>-g<N>-<step>-<hash>, without TTL', () => {
    const { docs } = rendered(ledgerFor({}));
    const jobs = jobsOf(docs);
    expect(jobs.map(stepOf)).toEqual(['activate', 'deliver', 'retire']);
    for (const j of jobs) {
      expect(j.metadata.name).toMatch(new RegExp(`^rekey-uploads-g3-${stepOf(j)}-[0-9a-f]{8}$`));
      expect(j.metadata.namespace).toBe('rekey-system');
      expect(j.spec.ttlSecondsAfterFinished).toBeUndefined();
      expect(j.spec.backoffLimit).toBe(2);
      expect(j.spec.template.spec.restartPolicy).toBe('Never');
      expect(j.spec.template.spec.containers[0].args).toEqual(['--step', stepOf(j)]);
      expect(j.spec.template.spec.containers[0].command).toEqual(['node', '--disable-warning=DEP0169', '/rotator/rotator.mjs']);
    }
    // activeDeadlineSeconds = the step's deadline + 300 s grace (retire: + overlap 300, kubelet 90, two verifications)
    expect(jobs.map((j) => j.spec.activeDeadlineSeconds)).toEqual([600 + 120 + 300, 900 + 300, 3600 + 300 + 90 + 240 + 300]);
  });

  it('renders no retire for a first rotation with no previous key', () => {
    expect(jobsOf(rendered(ledgerFor({ previous: false })).docs).map(stepOf)).toEqual(['activate', 'deliver']);
  });

  it('renders revoke instead of activate and retire for `rekey revoke`', () => {
    expect(jobsOf(rendered(ledgerFor({ revoke: true })).docs).map(stepOf)).toEqual(['revoke', 'deliver']);
  });

  it('carries the attempt of a retried step in its name (-a<k>) and in the plan', () => {
    const { docs } = rendered(ledgerFor({ attempts: { retire: 2 } }));
    const names = jobsOf(docs).map((j) => j.metadata.name);
    expect(names[0]).toMatch(/^rekey-uploads-g3-activate-[0-9a-f]{8}$/);
    expect(names[2]).toMatch(/^rekey-uploads-g3-retire-a2-[0-9a-f]{8}$/);
    const plan = parsePlanText(docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'rekey-uploads-g3-plan').data['plan.json'], 'plan');
    expect(plan.attempt).toBe(2);
  });

  it('renames a Job when its pod template changes (another image), never reuses the name', () => {
    const a = jobsOf(rendered(ledgerFor({})).docs).map((j) => j.metadata.name);
    const b = jobsOf(rendered(ledgerFor({}), { rotator: { apiServer: API_SERVER, image: 'registry.example.com/rekey-rotator:0.1.0' } }).docs).map((j) => j.metadata.name);
    expect(a.every((n, i) => n !== b[i] && n.replace(/-[0-9a-f]{8}$/, '') === b[i]!.replace(/-[0-9a-f]{8}$/, ''))).toBe(true);
  });

  it('takes backoffLimit, the grace and the step deadlines from its options', () => {
    const { docs } = rendered(ledgerFor({}), {
      rotator: { apiServer: API_SERVER, backoffLimit: 0, jobGraceSeconds: 60, deadlines: { activateSeconds: 100, deliverSeconds: 200, retireSeconds: 300, verifySeconds: 10, kubeletRefreshSeconds: 0 } },
    });
    const jobs = jobsOf(docs);
    expect(jobs.map((j) => [j.spec.backoffLimit, j.spec.activeDeadlineSeconds])).toEqual([[0, 170], [0, 260], [0, 300 + 300 + 0 + 20 + 60]]);
    const plan = parsePlanText(docs.find((d) => d.metadata.name === 'rekey-uploads-g3-plan').data['plan.json'], 'plan');
    expect(plan.deadlines).toEqual({ activateSeconds: 100, deliverSeconds: 200, retireSeconds: 300, verifySeconds: 10, kubeletRefreshSeconds: 0 });
  });

  it('writes the Lease timing into the plan: defaults, then rotator.lease', () => {
    // GIVEN no lease options THEN the documented defaults (acquire wait null: the step's own deadline)
    const planOf = (docs: any[]) => parsePlanText(docs.find((d) => d.metadata.name === 'rekey-uploads-g3-plan').data['plan.json'], 'plan');
    expect(planOf(rendered(ledgerFor({})).docs).lease).toEqual({ durationSeconds: 60, renewSeconds: 15, acquireSeconds: null });
    // GIVEN every lease option THEN the plan carries them
    const { docs } = rendered(ledgerFor({}), { rotator: { apiServer: API_SERVER, lease: { durationSeconds: 40, renewSeconds: 10, acquireSeconds: 120 } } });
    expect(planOf(docs).lease).toEqual({ durationSeconds: 40, renewSeconds: 10, acquireSeconds: 120 });
  });

  it.each<[string, object, string]>([
    ['a renewal no faster than the duration', { durationSeconds: 30, renewSeconds: 30 },
      'rekey rotator.lease.renewSeconds must be less than lease.durationSeconds (30): got 30. Renew well within the duration, e.g. a quarter of it.'],
    ['a default renewal against a short duration', { durationSeconds: 10 },
      'rekey rotator.lease.renewSeconds must be less than lease.durationSeconds (10): got 15. Renew well within the duration, e.g. a quarter of it.'],
    ['a duration of 0', { durationSeconds: 0 }, 'rekey rotator.lease.durationSeconds must be a whole number of at least 1: got 0. Set durationSeconds to 1 or more.'],
    ['a fractional acquire wait', { acquireSeconds: 1.5 }, 'rekey rotator.lease.acquireSeconds must be a whole number of at least 0: got 1.5. Set acquireSeconds to 0 or more.'],
  ])('refuses rotator.lease with %s, naming the field', (_name, lease, message) => {
    expect(() => setup(gen3, { rotator: { apiServer: API_SERVER, lease } })).toThrow(message);
  });

  it('lists in each plan target the keys the Secret holds: alias keys, then extra keys', () => {
    const { chart, provider } = setup(ledgerFor({}));
    new Credential(chart, 'uploads', {
      ...uploadsProps(provider),
      aliases: [AliasSet.generic(), AliasSet.aws(), AliasSet.custom('S3_KEY', 'S3_SECRET')],
      extraKeys: { endpoint: 'http://rustfs.storage.svc:9000', region: 'us-east-1' },
      targets: [{ namespace: 'web', secretName: 'uploads-s3' }, { namespace: 'cache', secretName: 'cache-s3' }],
    });
    const plan = parsePlanText(Testing.synth(chart).find((d) => d.metadata.name === 'rekey-uploads-g3-plan').data['plan.json'], 'plan');
    const keys = ['access-key:accessKeyId', 'secret-key:secretAccessKey', 'AWS_ACCESS_KEY_ID:accessKeyId', 'AWS_SECRET_ACCESS_KEY:secretAccessKey', 'S3_KEY:accessKeyId', 'S3_SECRET:secretAccessKey', 'endpoint:extra', 'region:extra'];
    expect(plan.targets.map((t) => t.keys.map((k) => `${k.name}:${k.holds}`))).toEqual([keys, keys]);
  });

  it('mounts the plan everywhere, the staging Secret into activate only, the admin Secret into the steps that call the provider', () => {
    const { docs } = rendered(ledgerFor({}));
    const mounts = (j: any) => j.spec.template.spec.containers[0].volumeMounts.map((m: any) => `${m.name}:${m.mountPath}`);
    const [activate, deliver, retire] = jobsOf(docs);
    expect(mounts(activate)).toEqual(['plan:/etc/rekey/plan', 'staging:/etc/rekey/staging', 'admin:/etc/rekey/admin', 'tmp:/tmp', 'rotator:/rotator']);
    expect(mounts(deliver)).toEqual(['plan:/etc/rekey/plan', 'tmp:/tmp', 'rotator:/rotator']);
    expect(mounts(retire)).toEqual(['plan:/etc/rekey/plan', 'admin:/etc/rekey/admin', 'tmp:/tmp', 'rotator:/rotator']);
    expect(activate.spec.template.spec.volumes.find((v: any) => v.name === 'admin').secret.secretName).toBe('rustfs-admin');
    expect(activate.spec.template.spec.volumes.find((v: any) => v.name === 'staging').secret.secretName).toBe('rekey-uploads-g3-staging');
  });

  it('writes a typed RotationPlan with everything the steps need', () => {
    const { docs } = rendered(ledgerFor({}));
    const plan = parsePlanText(docs.find((d) => d.metadata.name === 'rekey-uploads-g3-plan').data['plan.json'], 'plan');
    expect(plan).toMatchObject({
      credential: 'uploads',
      generation: 3,
      attempt: 1,
      provider: { name: 'rustfs', kind: 'rustfs', endpoint: 'http://rustfs.storage.svc:9000', region: 'us-east-1', adminSecret: { name: 'rustfs-admin', accessKeyKey: 'access-key', secretKeyKey: 'secret-key', mountPath: '/etc/rekey/admin' } },
      identity: { kind: 'serviceAccount', name: 'uploads', users: null },
      keySource: { kind: 'rekeyDrawn', mountPath: '/etc/rekey/staging' },
      accessKeyId: 'AKFAKEFAKEFAKEFAKE01',
      previousAccessKeyId: 'AKFAKEFAKEFAKEFAKE00',
      rotatorNamespace: 'rekey-system',
      stagingSecret: 'rekey-uploads-g3-staging',
      recordConfigMap: 'rekey-uploads-status',
      leaseName: 'rekey-uploads',
      targets: [{ namespace: 'web', secretName: 'uploads-s3', delivery: 'sealed' }, { namespace: 'cache', secretName: 'cache-s3', delivery: 'sealed' }],
      overlapSeconds: 300,
    });
    expect(plan.consumers.map((c) => [c.kind, c.namespace, c.name, c.mode, c.updateStrategy, c.replacePodsOnDelete, /^[0-9a-f]{16}$/.test(c.checksum ?? '')])).toEqual([
      ['Deployment', 'web', 'api', 'envFrom', null, false, true],
      ['StatefulSet', 'cache', 'cache', 'env', 'OnDelete', true, true],
    ]);
  });

  it('fails with the arithmetic rather than truncating a Job name past 63 characters', () => {
    const name = 'a'.repeat(40);
    const { chart, provider } = setup(Ledger.empty().with(name, entry(name, [['web', 'uploads-s3']], { generation: 12 })));
    expect(() => new Credential(chart, name, uploadsProps(provider))).toThrow(
      `rekey/${name} name is too long for its rotation Job names (rekey-<name>-g<generation>-<step>[-a<attempt>]-<8-hex hash>, at most 63 characters): got "${name}". Shorten it to at most 35 characters: the activate Job of generation 12 would have 68.`,
    );
    // 35 characters fit at generation 12
    const ok = 'b'.repeat(35);
    const s = setup(Ledger.empty().with(ok, entry(ok, [['web', 'uploads-s3']], { generation: 12 })));
    new Credential(s.chart, ok, uploadsProps(s.provider));
    expect(jobsOf(Testing.synth(s.chart)).map((j) => j.metadata.name.length)).toEqual([63, 62, 61]);
  });

  it('requires rotator.apiServer once a credential renders Jobs', () => {
    const { chart, provider } = setup(gen3, { rotator: { apiServer: undefined } });
    expect(() => new Credential(chart, 'uploads', uploadsProps(provider))).toThrow(
      'rekey rotator.apiServer is required to render the rotation Jobs of credential uploads: got nothing. Add rotator.apiServer: {cidr: <API server endpoint, kubectl get endpoints kubernetes -n default>, port: 6443}: rotation pods may reach only DNS, the provider and the API server.',
    );
  });
});

describe('the rotator bundle', () => {
  it('renders one bundle ConfigMap per chart with the gzip in binaryData, the SHA-256 and ServerSideApply on it only', () => {
    const { docs } = rendered(ledgerFor({}));
    const bundle = FAKE_BUNDLE.load();
    const cms = docs.filter((d) => d.kind === 'ConfigMap' && d.metadata.name === 'rekey-rotator-bundle');
    expect(cms).toHaveLength(1);
    expect(cms[0].binaryData).toEqual({ 'rotator.mjs.gz': bundle.gzip.toString('base64') });
    expect(cms[0].metadata.annotations['rekey.dev/rotator-sha256']).toBe(bundle.sha256);
    expect(docs.filter((d) => d.metadata.annotations?.['argocd.argoproj.io/sync-options']).map((d) => d.metadata.name)).toEqual(['rekey-rotator-bundle']);
    expect(cms[0].metadata.annotations['argocd.argoproj.io/sync-options']).toBe('ServerSideApply=true');
    // the init container unpacks it after checking that hash; the main container runs it read-only
    const init = jobsOf(docs)[0].spec.template.spec.initContainers[0];
    expect(init.image).toBe('node:24.22.3-bookworm-slim');
    expect(init.command).toEqual(['node', '-e', FAKE_BUNDLE.unpackScript]);
    expect(init.env).toEqual([
      { name: 'REKEY_BUNDLE_GZ', value: '/etc/rekey/bundle/rotator.mjs.gz' },
      { name: 'REKEY_BUNDLE_OUT', value: '/rotator/rotator.mjs' },
      { name: 'REKEY_BUNDLE_SHA256', value: bundle.sha256 },
    ]);
  });

  it('with rotator.image renders neither the bundle ConfigMap nor an init container', () => {
    const { docs } = rendered(ledgerFor({}), { rotatorBundle: undefined, rotator: { apiServer: API_SERVER, image: 'registry.example.com/rekey-rotator:0.1.0' } });
    expect(docs.filter((d) => d.metadata.name === 'rekey-rotator-bundle')).toEqual([]);
    for (const j of jobsOf(docs)) {
      expect(j.spec.template.spec.initContainers).toBeUndefined();
      expect(j.spec.template.spec.containers[0].image).toBe('registry.example.com/rekey-rotator:0.1.0');
      expect(j.spec.template.spec.volumes.map((v: any) => v.name)).not.toContain('bundle');
    }
  });
});

describe('RBAC', () => {
  it('grants exactly the narrowest rules per namespace, by resourceNames except create', () => {
    const { docs } = rendered(ledgerFor({}));
    const roles = docs.filter((d) => d.kind === 'Role');
    expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual(['rekey-system/rekey-uploads-rotator', 'cache/rekey-uploads-rotator', 'web/rekey-uploads-rotator']);
    expect(roles[0].rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['rekey-uploads-g3-staging', 'rustfs-admin'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['rekey-uploads-g3-plan', 'rekey-uploads-status'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['update', 'patch'], resourceNames: ['rekey-uploads-status'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update', 'patch'], resourceNames: ['rekey-uploads'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ]);
    // cache: an OnDelete StatefulSet read through env → its stale pods are deleted by the retire step
    expect(roles[1].rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'], resourceNames: ['cache-s3'] },
      { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch'], resourceNames: ['cache'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
    ]);
    expect(roles[2].rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'], resourceNames: ['uploads-s3'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'], resourceNames: ['api'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    ]);
    // one ServiceAccount, bound in every namespace; no ClusterRole; no wildcard anywhere
    expect(docs.filter((d) => d.kind === 'ServiceAccount').map((d) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['rekey-system/rekey-uploads-rotator']);
    for (const b of docs.filter((d) => d.kind === 'RoleBinding')) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'rekey-uploads-rotator', namespace: 'rekey-system' }]);
      expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'rekey-uploads-rotator' });
    }
    expect(docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')).toEqual([]);
    expect(JSON.stringify(roles)).not.toContain('"*"');
    for (const j of jobsOf(docs)) expect(j.spec.template.spec.serviceAccountName).toBe('rekey-uploads-rotator');
  });

  it('never mounts the admin Secret into a consumer', () => {
    const { app } = rendered(ledgerFor({}));
    const all = app.charts.flatMap((c) => Testing.synth(c));
    const consumers = all.filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'].includes(d.kind) || (d.kind === 'Job' && !d.metadata.labels?.['rekey.dev/step']));
    expect(consumers.length).toBeGreaterThan(0);
    for (const c of consumers) expect(JSON.stringify(c)).not.toContain('rustfs-admin');
    expect(jobsOf(all).filter((j) => JSON.stringify(j).includes('rustfs-admin')).map(stepOf)).toEqual(['activate', 'retire']);
  });
});

describe('NetworkPolicies', () => {
  it('lets the provider pods take the storage port only from its namespace, the targets, the rotation pods and allowFrom', () => {
    const { chart, provider } = setup(ledgerFor({}), {}, { networkPolicy: { allowFrom: ['monitoring'] } });
    new Credential(chart, 'uploads', { ...uploadsProps(provider), targets: [{ namespace: 'web', secretName: 'uploads-s3' }, { namespace: 'cache', secretName: 'cache-s3' }] });
    const np = Testing.synth(chart).find((d) => d.kind === 'NetworkPolicy' && d.metadata.namespace === 'storage');
    expect(np.metadata.name).toBe('rekey-rustfs-ingress');
    expect(np.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'rustfs' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: {} }] },
        {
          from: [
            { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['cache', 'monitoring', 'web'] }] } },
            { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['rekey-system'] }] }, podSelector: { matchLabels: { 'app.kubernetes.io/managed-by': 'rekey', 'app.kubernetes.io/component': 'rotator' } } },
          ],
          ports: [{ protocol: 'TCP', port: 9000 }],
        },
      ],
    });
  });

  it('default-denies the rotation pods except DNS, the provider and the API server', () => {
    const np = rendered(ledgerFor({})).docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.namespace === 'rekey-system');
    expect(np.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/managed-by': 'rekey', 'app.kubernetes.io/component': 'rotator' } });
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress ?? []).toEqual([]);
    expect(np.spec.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'storage' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'rustfs' } } }], ports: [{ protocol: 'TCP', port: 9000 }] },
      { to: [{ ipBlock: { cidr: '10.0.0.1/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] },
    ]);
  });

  it('renders no provider policy when disabled, and warns', () => {
    const warnings: string[] = [];
    const { chart, provider } = setup(ledgerFor({}), { warn: (m) => warnings.push(m) }, { networkPolicy: { enabled: false } });
    new Credential(chart, 'uploads', uploadsProps(provider));
    expect(Testing.synth(chart).filter((d) => d.kind === 'NetworkPolicy' && d.metadata.namespace === 'storage')).toEqual([]);
    expect(warnings).toEqual(['rekey: WARNING: provider rustfs has networkPolicy.enabled: false: any pod in the cluster can reach its storage port. Enable it unless another policy protects storage.']);
  });
});

describe('Pod Security "restricted"', () => {
  it('holds for every container of every rotation Job, with requests and limits', () => {
    const { docs } = rendered(ledgerFor({}));
    const jobs = jobsOf(docs);
    expect(jobs).toHaveLength(3);
    for (const j of jobs) {
      const pod = j.spec.template.spec;
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(true);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'ephemeral-storage', 'memory']);
        expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'ephemeral-storage', 'memory']);
      }
      expect(pod.initContainers).toHaveLength(1);
    }
    const ns = docs.find((d) => d.kind === 'Namespace');
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  it('renders no namespace when rotator.createNamespace is false', () => {
    const { docs } = rendered(ledgerFor({}), { rotator: { apiServer: API_SERVER, createNamespace: false } });
    expect(docs.filter((d) => d.kind === 'Namespace')).toEqual([]);
  });
});

describe('Argo CD sync waves', () => {
  it('orders rotator infra → activate → targets → deliver → consumers → retire', () => {
    const { docs, webDocs } = rendered(ledgerFor({}));
    const wave = (d: any) => d.metadata.annotations?.['argocd.argoproj.io/sync-wave'];
    const byKind = docs.map((d) => `${wave(d)} ${d.kind} ${d.metadata.labels?.['rekey.dev/step'] ?? d.metadata.name}`);
    expect(byKind).toEqual([
      '-5 SealedSecret rekey-uploads-g3-staging',
      '-5 ConfigMap rekey-uploads-g3-plan',
      '-5 ServiceAccount rekey-uploads-rotator',
      '-5 Role rekey-uploads-rotator',
      '-5 RoleBinding rekey-uploads-rotator',
      '-5 Role rekey-uploads-rotator',
      '-5 RoleBinding rekey-uploads-rotator',
      '-5 Role rekey-uploads-rotator',
      '-5 RoleBinding rekey-uploads-rotator',
      '-4 Job activate',
      '-1 Job deliver',
      '1 Job retire',
      '-2 SealedSecret uploads-s3',
      '-2 SealedSecret cache-s3',
      '-5 Namespace rekey-system',
      '-5 ConfigMap rekey-rotator-bundle',
      '-5 NetworkPolicy rekey-rotator',
      '-5 NetworkPolicy rekey-rustfs-ingress',
    ]);
    expect(webDocs().map((d) => wave(d))).toEqual(['0']);
    expect(Stage.ALL).toEqual([Stage.ROTATOR, Stage.ACTIVATE, Stage.PUSH, Stage.TARGETS, Stage.DELIVER, Stage.WORKLOADS, Stage.RETIRE]);
    expect(Stage.ALL.map((s) => s.wave)).toEqual([-5, -4, -3, -2, -1, 0, 1]);
  });

  it('every rendered object validates', () => {
    const { app } = rendered(ledgerFor({}));
    expect(validateManifests(app.charts.flatMap((c) => Testing.synth(c)))).toEqual([]);
  });
});
