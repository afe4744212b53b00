import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';
import { App, Chart, Cron } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

import { CRD_DIR, VALIDATED_KINDS, kustomizeBuild, parseManifests, validateManifests } from './validate.js';

type Obj = Record<string, any>;
const clone = <T>(x: T): T => structuredClone(x);

const restrictedPod = {
  serviceAccountName: 'rekey-rotator',
  restartPolicy: 'Never',
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [
    {
      name: 'rotator',
      image: 'node:20.19-alpine',
      command: ['node', '/rekey/rotator.mjs', 'activate'],
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsUser: 65532,
        capabilities: { drop: ['ALL'] },
      },
      envFrom: [{ secretRef: { name: 'rekey-spark-staging' } }],
    },
  ],
};
const appPod = {
  metadata: { labels: { app: 'trino' }, annotations: { 'rekey.dev/spark-s3-checksum': '3f2a9c1e' } },
  spec: {
    containers: [
      {
        name: 'trino',
        image: 'trinodb/trino:470',
        env: [{ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'spark-s3', key: 'AWS_ACCESS_KEY_ID' } } }],
      },
    ],
  },
};

/** One valid object per kind, shaped like what rekey renders, and a way to break it. */
const CASES: Record<string, { valid: Obj; invalid: (o: Obj) => void; expected: string[] }> = {
  'v1/Secret': {
    valid: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'spark-s3', namespace: 'data' }, type: 'Opaque', data: { 'access-key': 'ZmFrZS1rZXk=' } },
    invalid: (o) => (o.data['access-key'] = 'not base64!'),
    expected: ['v1/Secret data/spark-s3: /data/access-key must match format "byte"'],
  },
  'v1/ConfigMap': {
    valid: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rekey-plan', namespace: 'rekey' }, data: { 'plan.json': '{}' } },
    invalid: (o) => (o.data['plan.json'] = 42),
    expected: ['v1/ConfigMap rekey/rekey-plan: /data/plan.json must be string'],
  },
  'v1/ServiceAccount': {
    valid: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'rekey-rotator', namespace: 'rekey' }, automountServiceAccountToken: true },
    invalid: (o) => (o.automountServiceAccountToken = 'yes'),
    expected: ['v1/ServiceAccount rekey/rekey-rotator: /automountServiceAccountToken must be boolean'],
  },
  'v1/Namespace': {
    valid: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rekey', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    invalid: (o) => (o.spec = { finalizers: 'kubernetes' }),
    expected: ['v1/Namespace rekey: /spec/finalizers must be array'],
  },
  'v1/Service': {
    valid: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'rustfs', namespace: 'storage' }, spec: { selector: { app: 'rustfs' }, ports: [{ port: 9000 }] } },
    invalid: (o) => delete o.spec.ports[0].port,
    expected: ['v1/Service storage/rustfs: /spec/ports/0 must have required property port'],
  },
  'rbac.authorization.k8s.io/v1/Role': {
    valid: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'rekey-rotator', namespace: 'data' },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['trino'], verbs: ['get', 'patch'] }],
    },
    invalid: (o) => delete o.rules[0].verbs,
    expected: ['rbac.authorization.k8s.io/v1/Role data/rekey-rotator: /rules/0 must have required property verbs'],
  },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    valid: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'rekey-reader' },
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }],
    },
    invalid: (o) => (o.metadata.namespace = 'rekey'),
    expected: [
      'rbac.authorization.k8s.io/v1/ClusterRole rekey/rekey-reader: /metadata/namespace must not be set on a cluster-scoped kind: got "rekey". Render it without a namespace',
    ],
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    valid: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'rekey-rotator', namespace: 'data' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'rekey-rotator' },
      subjects: [{ kind: 'ServiceAccount', name: 'rekey-rotator', namespace: 'rekey' }],
    },
    invalid: (o) => delete o.roleRef.name,
    expected: ['rbac.authorization.k8s.io/v1/RoleBinding data/rekey-rotator: /roleRef must have required property name'],
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    valid: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'rekey-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'rekey-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'rekey-rotator', namespace: 'rekey' }],
    },
    invalid: (o) => delete o.subjects[0].kind,
    expected: ['rbac.authorization.k8s.io/v1/ClusterRoleBinding rekey-reader: /subjects/0 must have required property kind'],
  },
  'batch/v1/Job': {
    valid: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'rekey-spark-s3-g3-activate', namespace: 'rekey' },
      spec: { backoffLimit: 0, template: { spec: restrictedPod } },
    },
    invalid: (o) => delete o.spec.template.spec.containers[0].name,
    expected: ['batch/v1/Job rekey/rekey-spark-s3-g3-activate: /spec/template/spec/containers/0 must have required property name'],
  },
  'batch/v1/CronJob': {
    valid: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'spark-nightly', namespace: 'data' },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: appPod } } },
    },
    invalid: (o) => delete o.spec.schedule,
    expected: ['batch/v1/CronJob data/spark-nightly: /spec must have required property schedule'],
  },
  'apps/v1/Deployment': {
    valid: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'trino', namespace: 'data' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'trino' } }, template: appPod },
    },
    invalid: (o) => (o.spec.replicas = 'two'),
    expected: ['apps/v1/Deployment data/trino: /spec/replicas must be integer'],
  },
  'apps/v1/StatefulSet': {
    valid: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'hive-metastore', namespace: 'data' },
      spec: { serviceName: 'hive', updateStrategy: { type: 'OnDelete' }, selector: { matchLabels: { app: 'trino' } }, template: appPod },
    },
    invalid: (o) => delete o.spec.selector,
    expected: ['apps/v1/StatefulSet data/hive-metastore: /spec must have required property selector'],
  },
  'apps/v1/DaemonSet': {
    valid: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'log-shipper', namespace: 'data' },
      spec: { selector: { matchLabels: { app: 'trino' } }, template: appPod },
    },
    invalid: (o) => (o.spec.template.spec.containers = {}),
    expected: ['apps/v1/DaemonSet data/log-shipper: /spec/template/spec/containers must be array'],
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    valid: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'rekey-rotator', namespace: 'rekey' },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'rekey-rotator' } },
        policyTypes: ['Ingress', 'Egress'],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'storage' } } }], ports: [{ protocol: 'TCP', port: 9000 }] }],
      },
    },
    invalid: (o) => (o.spec.egress[0].ports[0].port = true),
    expected: [
      'networking.k8s.io/v1/NetworkPolicy rekey/rekey-rotator: /spec/egress/0/ports/0/port must be integer',
      'networking.k8s.io/v1/NetworkPolicy rekey/rekey-rotator: /spec/egress/0/ports/0/port must be string',
      'networking.k8s.io/v1/NetworkPolicy rekey/rekey-rotator: /spec/egress/0/ports/0/port must match exactly one schema in oneOf',
    ],
  },
  'bitnami.com/v1alpha1/SealedSecret': {
    valid: {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata: { name: 'spark-s3', namespace: 'data', annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } },
      spec: {
        encryptedData: { 'access-key': 'AgBHkVLDdw46MPnwZAR3lT6o==' },
        template: { metadata: { name: 'spark-s3', namespace: 'data', annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } }, type: 'Opaque' },
      },
    },
    invalid: (o) => {
      o.spec.encryptedData = 'AgBHkVLD';
      o.spec.encryptedDatas = {};
    },
    expected: [
      // kubernetes-models, then the CRD (which also rejects the unknown field the package lets through)
      'bitnami.com/v1alpha1/SealedSecret data/spark-s3: /spec/encryptedData must be object',
      'bitnami.com/v1alpha1/SealedSecret data/spark-s3: /spec/encryptedDatas is an unknown field',
    ],
  },
  'external-secrets.io/v1/ExternalSecret': {
    valid: {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'spark-s3', namespace: 'data', annotations: { 'rekey.dev/generation': '3' } },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
        target: {
          name: 'spark-s3',
          creationPolicy: 'Owner',
          template: { engineVersion: 'v2', data: { AWS_ACCESS_KEY_ID: '{{ .accessKey }}', 'access-key': '{{ .accessKey }}' } },
        },
        data: [{ secretKey: 'accessKey', remoteRef: { key: 'rekey/spark-s3', property: 'access-key' } }],
      },
    },
    invalid: (o) => {
      o.spec.target.creationPolicy = 'Always';
      delete o.spec.data[0].remoteRef;
    },
    expected: [
      'external-secrets.io/v1/ExternalSecret data/spark-s3: /spec/data/0 must have required property remoteRef',
      'external-secrets.io/v1/ExternalSecret data/spark-s3: /spec/target/creationPolicy must be one of ["Owner","Orphan","Merge","None","CreateOrMerge"]',
    ],
  },
  'external-secrets.io/v1alpha1/PushSecret': {
    valid: {
      apiVersion: 'external-secrets.io/v1alpha1',
      kind: 'PushSecret',
      metadata: { name: 'rekey-spark-s3-g3', namespace: 'rekey' },
      spec: {
        refreshInterval: '1h',
        secretStoreRefs: [{ kind: 'ClusterSecretStore', name: 'vault' }],
        selector: { secret: { name: 'rekey-spark-s3-staging' } },
        data: [{ match: { secretKey: 'access-key', remoteRef: { remoteKey: 'rekey/spark-s3', property: 'access-key' } } }],
      },
    },
    invalid: (o) => delete o.spec.selector,
    expected: ['external-secrets.io/v1alpha1/PushSecret rekey/rekey-spark-s3-g3: /spec must have required property selector'],
  },
  'secrets-store.csi.x-k8s.io/v1/SecretProviderClass': {
    valid: {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'spark-s3', namespace: 'data' },
      spec: {
        provider: 'vault',
        parameters: { roleName: 'spark', objects: '- objectName: access-key\n  secretPath: secret/data/spark\n' },
        secretObjects: [{ secretName: 'spark-s3', type: 'Opaque', data: [{ objectName: 'access-key', key: 'AWS_ACCESS_KEY_ID' }] }],
      },
    },
    invalid: (o) => {
      o.spec.parameters.ttl = 60;
      o.spec.secretObjects[0].data[0].name = 'x';
    },
    expected: [
      'secrets-store.csi.x-k8s.io/v1/SecretProviderClass data/spark-s3: /spec/parameters/ttl must be string',
      'secrets-store.csi.x-k8s.io/v1/SecretProviderClass data/spark-s3: /spec/secretObjects/0/data/0/name is an unknown field',
    ],
  },
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': {
    valid: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'rekey-stage-2', namespace: 'flux-system' },
      spec: {
        interval: '10m',
        path: './dist/stage-2',
        prune: true,
        wait: true,
        dependsOn: [{ name: 'rekey-stage-1' }],
        sourceRef: { kind: 'GitRepository', name: 'flux-system' },
      },
    },
    invalid: (o) => {
      delete o.spec.prune;
      o.spec.sourceRef.kind = 'HelmChart';
    },
    expected: [
      'kustomize.toolkit.fluxcd.io/v1/Kustomization flux-system/rekey-stage-2: /spec must have required property prune',
      'kustomize.toolkit.fluxcd.io/v1/Kustomization flux-system/rekey-stage-2: /spec/sourceRef/kind must be one of ["OCIRepository","GitRepository","Bucket"]',
      'kustomize.toolkit.fluxcd.io/v1/Kustomization flux-system/rekey-stage-2: /spec/sourceRef/kind must be one of ["OCIRepository","GitRepository","Bucket","ExternalArtifact"]',
    ],
  },
  'argoproj.io/v1alpha1/Application': {
    valid: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'rekey', namespace: 'argocd', annotations: { 'argocd.argoproj.io/sync-wave': '-1' } },
      spec: {
        project: 'default',
        source: { repoURL: 'https://git.example.com/platform.git', path: 'dist', targetRevision: 'main' },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'rekey' },
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true'] },
      },
    },
    invalid: (o) => {
      delete o.spec.project;
      o.spec.syncPolicy.automatic = {};
    },
    expected: [
      'argoproj.io/v1alpha1/Application argocd/rekey: /spec must have required property project',
      'argoproj.io/v1alpha1/Application argocd/rekey: /spec/syncPolicy/automatic is an unknown field',
    ],
  },
  'argoproj.io/v1alpha1/Rollout': {
    valid: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'mlflow', namespace: 'data' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'trino' } }, template: appPod, strategy: { canary: { steps: [{ setWeight: 50 }] } } },
    },
    invalid: (o) => {
      delete o.spec.strategy;
      o.spec.template.metadata.annotations['rekey.dev/spark-s3-checksum'] = 7;
    },
    expected: [
      'argoproj.io/v1alpha1/Rollout data/mlflow: /spec must have required property strategy',
      'argoproj.io/v1alpha1/Rollout data/mlflow: /spec/template/metadata/annotations/rekey.dev~1spark-s3-checksum must be string',
    ],
  },
};

describe('validateManifests: every kind', () => {
  it('GIVEN the validator table WHEN compared with the test cases THEN every validated kind has a valid and an invalid case', () => {
    expect(Object.keys(CASES).sort()).toEqual([...VALIDATED_KINDS].sort());
  });

  it.each(Object.entries(CASES))('GIVEN a valid %s WHEN validated THEN there is no problem', (_key, c) => {
    expect(validateManifests([clone(c.valid)])).toEqual([]);
  });

  it.each(Object.entries(CASES))('GIVEN an invalid %s WHEN validated THEN the exact problems are reported', (_key, c) => {
    const bad = clone(c.valid);
    c.invalid(bad);
    expect(validateManifests([bad]).sort()).toEqual([...c.expected].sort());
  });

  it('GIVEN all valid objects in one list WHEN validated THEN there is no problem; one bad object among them is found', () => {
    const all = Object.values(CASES).map((c) => clone(c.valid));
    expect(validateManifests(all)).toEqual([]);
    all[3].metadata.name = 'Rekey';
    expect(validateManifests(all)).toEqual(['v1/Namespace Rekey: /metadata/name must be a DNS-1123 label: got "Rekey"']);
  });
});

describe('validateManifests: nothing slips through', () => {
  it('GIVEN kinds and versions without a validator WHEN validated THEN each is a problem', () => {
    const problems = validateManifests([
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd' } },
      { apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: { name: 'e', namespace: 'd' }, spec: {} },
      { apiVersion: 'secrets-store.csi.x-k8s.io/v1alpha1', kind: 'SecretProviderClass', metadata: { name: 's' } },
      { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', metadata: { name: 'k' } },
    ]);
    expect(problems).toEqual([
      'v1/Pod d/p: no validator for v1/Pod',
      'external-secrets.io/v1beta1/ExternalSecret d/e: no validator for external-secrets.io/v1beta1/ExternalSecret',
      'secrets-store.csi.x-k8s.io/v1alpha1/SecretProviderClass s: no validator for secrets-store.csi.x-k8s.io/v1alpha1/SecretProviderClass',
      'kustomize.config.k8s.io/v1beta1/Kustomization k: no validator for kustomize.config.k8s.io/v1beta1/Kustomization',
    ]);
  });

  it('GIVEN documents that are not objects or lack apiVersion/kind WHEN validated THEN each is a problem', () => {
    expect(validateManifests([null, [1], { kind: 'Secret' }])).toEqual([
      'document 0: must be an object: got null',
      'document 1: must be an object: got an array',
      'document 2: apiVersion and kind must be non-empty strings: got undefined/"Secret"',
    ]);
  });
});

describe('validateManifests: metadata and top-level checks', () => {
  const secret = (): Obj => clone(CASES['v1/Secret'].valid);

  it('GIVEN a missing name WHEN validated THEN it is reported', () => {
    const s = secret();
    delete s.metadata.name;
    expect(validateManifests([s])).toEqual(['v1/Secret data/<no name>: /metadata/name must be a non-empty string']);
    expect(validateManifests([{ apiVersion: 'v1', kind: 'Secret' }])).toEqual(['v1/Secret <no name>: /metadata must be an object with a name']);
  });

  it('GIVEN a Job name longer than 63 and a CronJob name longer than 52 WHEN validated THEN both are reported', () => {
    const job = clone(CASES['batch/v1/Job'].valid);
    job.metadata.name = `rekey-${'a'.repeat(50)}-g12-activate`;
    const cron = clone(CASES['batch/v1/CronJob'].valid);
    cron.metadata.name = 'c'.repeat(53);
    expect(validateManifests([job, cron])).toEqual([
      `batch/v1/Job rekey/${job.metadata.name}: /metadata/name must be at most 63 characters: got 69`,
      `batch/v1/CronJob data/${cron.metadata.name}: /metadata/name must be at most 52 characters: got 53`,
    ]);
  });

  it('GIVEN bad labels, annotations, namespace and metadata fields WHEN validated THEN each is reported', () => {
    const s = secret();
    s.metadata.namespace = 'Data';
    s.metadata.labels = { 'app.kubernetes.io/name': 'rekey', bad: 'has space', 'x/': 'v' };
    s.metadata.annotations = { 'rekey.dev/generation': 3 };
    s.metadata.label = {};
    expect(validateManifests([s])).toEqual([
      'v1/Secret Data/spark-s3: /metadata/label is an unknown field',
      'v1/Secret Data/spark-s3: /metadata/namespace must be a DNS-1123 label: got "Data"',
      'v1/Secret Data/spark-s3: /metadata/labels/bad is not a valid label value: got "has space"',
      'v1/Secret Data/spark-s3: /metadata/labels/x~1 has an invalid label key',
      // reported by both the metadata check and kubernetes-models: one line
      'v1/Secret Data/spark-s3: /metadata/annotations/rekey.dev~1generation must be string',
    ]);
  });

  it('GIVEN an unknown top-level field on a core kind WHEN validated THEN it is reported', () => {
    const s = secret();
    s.stringdata = { a: 'b' };
    expect(validateManifests([s])).toEqual(['v1/Secret data/spark-s3: /stringdata is an unknown field']);
  });

  it('GIVEN unknown fields deep inside core kinds WHEN validated THEN each is reported with its path', () => {
    // GIVEN typos the kubernetes-models validators alone would let through
    const d = clone(CASES['apps/v1/Deployment'].valid);
    d.spec.template.spec.containers[0].envfrom = [{ secretRef: { name: 'spark-s3' } }];
    d.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.optinal = true;
    const j = clone(CASES['batch/v1/Job'].valid);
    j.spec.template.spec.securityContext.runAsNonroot = true;
    const n = clone(CASES['networking.k8s.io/v1/NetworkPolicy'].valid);
    n.spec.egress[0].to[0].namespaceSelector.matchlabels = {};
    // WHEN
    const problems = validateManifests([d, j, n]);
    // THEN
    expect(problems).toEqual([
      'apps/v1/Deployment data/trino: /spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/optinal is an unknown field',
      'apps/v1/Deployment data/trino: /spec/template/spec/containers/0/envfrom is an unknown field',
      'batch/v1/Job rekey/rekey-spark-s3-g3-activate: /spec/template/spec/securityContext/runAsNonroot is an unknown field',
      'networking.k8s.io/v1/NetworkPolicy rekey/rekey-rotator: /spec/egress/0/to/0/namespaceSelector/matchlabels is an unknown field',
    ]);
  });

  it('GIVEN open objects and maps in core kinds WHEN validated THEN their keys are not taken for unknown fields', () => {
    const d = clone(CASES['apps/v1/Deployment'].valid);
    d.metadata.managedFields = [{ manager: 'rekey', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }];
    d.spec.template.spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
    d.spec.template.spec.containers[0].resources = { limits: { memory: '128Mi' }, requests: { cpu: '50m' } };
    expect(validateManifests([d])).toEqual([]);
  });

  it('GIVEN an unknown top-level field on a CRD kind WHEN validated THEN the strict CRD schema reports it', () => {
    const e = clone(CASES['external-secrets.io/v1/ExternalSecret'].valid);
    e.data = {};
    expect(validateManifests([e])).toEqual(['external-secrets.io/v1/ExternalSecret data/spark-s3: /data is an unknown field']);
  });

  it('GIVEN a Rollout with a workloadRef instead of a template WHEN validated THEN it is valid; with neither it is not', () => {
    const r = clone(CASES['argoproj.io/v1alpha1/Rollout'].valid);
    delete r.spec.template;
    delete r.spec.selector;
    r.spec.workloadRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mlflow' };
    expect(validateManifests([r])).toEqual([]);
    delete r.spec.workloadRef;
    expect(validateManifests([r])).toEqual([
      'argoproj.io/v1alpha1/Rollout data/mlflow: /spec must have required property template',
      'argoproj.io/v1alpha1/Rollout data/mlflow: /spec must have required property selector',
      'argoproj.io/v1alpha1/Rollout data/mlflow: /spec must have required property workloadRef',
      'argoproj.io/v1alpha1/Rollout data/mlflow: /spec must match exactly one schema in oneOf',
    ]);
  });
});

describe('validateManifests: real renderer output', () => {
  it('GIVEN what cdk8s-plus-28 renders for the core kinds WHEN validated THEN there is no false problem', () => {
    // GIVEN
    const app = new App();
    const chart = new Chart(app, 'c', { namespace: 'data' });
    const secret = new kplus.Secret(chart, 's', { stringData: { 'access-key': 'fake-key' } });
    const dep = new kplus.Deployment(chart, 'd', {
      containers: [{ image: 'trinodb/trino:470', portNumber: 8080, envVariables: { A: kplus.EnvValue.fromSecretValue({ secret, key: 'access-key' }) } }],
    });
    dep.exposeViaService({ ports: [{ port: 8080 }] });
    new kplus.StatefulSet(chart, 'st', { containers: [{ image: 'hive:4', portNumber: 9083 }] });
    new kplus.Job(chart, 'j', { containers: [{ image: 'node:20' }] });
    new kplus.CronJob(chart, 'cj', { schedule: Cron.daily(), containers: [{ image: 'node:20' }] });
    new kplus.DaemonSet(chart, 'ds', { containers: [{ image: 'fluent-bit:3' }] });
    new kplus.NetworkPolicy(chart, 'np', { selector: kplus.Pods.all(chart, 'all'), egress: { default: kplus.NetworkPolicyTrafficDefault.DENY } });
    const sa = new kplus.ServiceAccount(chart, 'sa');
    const role = new kplus.Role(chart, 'r');
    role.allowRead(secret);
    new kplus.RoleBinding(chart, 'rb', { role }).addSubjects(sa);
    new kplus.ConfigMap(chart, 'cm', { data: { a: 'b' } });
    const cluster = new Chart(app, 'cluster');
    new kplus.Namespace(cluster, 'ns');
    new kplus.ClusterRole(cluster, 'cr').allowRead(kplus.ApiResource.NAMESPACES);
    // WHEN
    const docs = [...chart.toJson(), ...cluster.toJson()];
    // THEN
    expect(docs.map((d: Obj) => d.kind).sort()).toEqual(
      ['ClusterRole', 'ConfigMap', 'CronJob', 'DaemonSet', 'Deployment', 'Job', 'Namespace', 'NetworkPolicy', 'Role', 'RoleBinding', 'Secret', 'Service', 'Service', 'ServiceAccount', 'StatefulSet'],
    );
    expect(validateManifests(docs)).toEqual([]);
  });
});

describe('CRD fixtures', () => {
  it('GIVEN test/fixtures/crds WHEN hashed THEN every file is the byte-identical upstream copy listed in shared/crds/SOURCES.md', () => {
    const expected: Record<string, string> = {
      'argoproj.io_applications.yaml': '5dde0e229249b6b707beb98674c1deae3949d5c319a6c45b9f5a80c99618e40c',
      'bitnami.com_sealedsecrets.yaml': 'fb33ba448b89c2c3252480664078b7f4bdf0949426e5280d07ca049c0dbdbfb7',
      'external-secrets.io_externalsecrets.yaml': '5044be5a610ca90a075f34f03ed20b462695c43387ba9410db7f4250e47b1e2f',
      'external-secrets.io_pushsecrets.yaml': '1d97b97b4aca0799bc8dc05d45d34adf2265ae5c3a87268026b6aafb1718f4ec',
      'kustomize.toolkit.fluxcd.io_kustomizations.yaml': 'da23ca0e6b4c80d3d26a91583137491e147ef4ef1e2208aece0d0af4ef851974',
      'secrets-store.csi.x-k8s.io_secretproviderclasses.yaml': 'ef1623b34403bb11311fc92763b5b364ba456a166f1637eeec8d29052dd115f3',
    };
    const actual = Object.fromEntries(
      readdirSync(CRD_DIR)
        .sort()
        .map((f) => [f, createHash('sha256').update(readFileSync(join(CRD_DIR, f))).digest('hex')]),
    );
    expect(actual).toEqual(expected);
  });
});

describe('kustomizeBuild', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'rekey-kustomize-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('GIVEN a folder with a kustomization WHEN built THEN kubectl kustomize output parses and validates', () => {
    // GIVEN
    const dir = tmp();
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: data\nresources:\n- secret.yaml\n- configmap.yaml\n',
    );
    writeFileSync(join(dir, 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: spark-s3\ndata:\n  access-key: ZmFrZS1rZXk=\n');
    writeFileSync(join(dir, 'configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rekey-plan\ndata:\n  a: b\n');
    // WHEN
    const out = kustomizeBuild(dir);
    const docs = parseManifests(out) as Obj[];
    // THEN
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['ConfigMap data/rekey-plan', 'Secret data/spark-s3']);
    expect(validateManifests(docs)).toEqual([]);
  });

  it('GIVEN a kustomization naming a missing resource WHEN built THEN it throws with kubectl\'s stderr', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n- missing.yaml\n');
    expect(() => kustomizeBuild(dir)).toThrow(new RegExp(`^kubectl kustomize ${dir} failed \\(exit 1\\): .*accumulating resources from 'missing\\.yaml'.*no such file or directory`));
  });

  it('GIVEN a folder without a kustomization WHEN built THEN it throws', () => {
    const dir = tmp();
    expect(() => kustomizeBuild(dir)).toThrow(/unable to find one of 'kustomization\.yaml', 'kustomization\.yml' or 'Kustomization'/);
  });

  it('GIVEN YAML that does not parse WHEN parsed THEN parseManifests throws', () => {
    expect(() => parseManifests('a: [1\n')).toThrow(/^YAML is not valid: got /);
    expect(parseManifests('---\n---\nkind: A\n')).toEqual([{ kind: 'A' }]);
  });
});
