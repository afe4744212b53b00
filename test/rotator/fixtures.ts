import type { RotationPlanInput } from '../../lib/core/plan.js';

/** A complete, valid plan (every field given; obviously fake key IDs). */
export function validPlan(): RotationPlanInput & Record<string, unknown> {
  return {
    apiVersion: 'rekey.dev/v1alpha1',
    kind: 'RotationPlan',
    credential: 'uploads',
    generation: 3,
    attempt: 1,
    provider: {
      name: 'rustfs',
      kind: 'rustfs',
      endpoint: 'https://rustfs.storage.svc:9000',
      region: 'us-east-1',
      adminSecret: { name: 'rustfs-admin', accessKeyKey: 'access-key', secretKeyKey: 'secret-key', mountPath: '/etc/rekey/admin' },
      caBundle: { configMapName: 'rustfs-ca', key: 'ca.crt', mountPath: '/etc/rekey/ca' },
    },
    identity: { kind: 'serviceAccount', name: 'uploads-svc', users: null },
    policy: { name: 'uploads-rw', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::uploads/*'] }] } },
    keySource: { kind: 'rekeyDrawn', mountPath: '/etc/rekey/staging' },
    accessKeyId: 'FAKEKEYIDGENERATION3',
    previousAccessKeyId: 'FAKEKEYIDGENERATION2',
    rotatorNamespace: 'rekey-system',
    stagingSecret: 'rekey-uploads-g3-staging',
    recordConfigMap: 'rekey-uploads-status',
    leaseName: 'rekey-uploads',
    targets: [
      { namespace: 'ingest', secretName: 'uploads-s3', delivery: 'sealed', csi: null, keys: [{ name: 'access-key', holds: 'accessKeyId' }, { name: 'secret-key', holds: 'secretAccessKey' }, { name: 'endpoint', holds: 'extra' }] },
      { namespace: 'analytics', secretName: 'uploads-s3', delivery: 'sealed', csi: null, keys: [{ name: 'credentials', holds: 'credentialsFile' }] },
    ],
    consumers: [
      { kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'ingest', name: 'ingest-api', mode: 'env', secretName: 'uploads-s3', updateStrategy: null, checksum: 'a1b2c3d4e5f6', replacePodsOnDelete: false },
      { kind: 'StatefulSet', apiVersion: 'apps/v1', namespace: 'analytics', name: 'trino-worker', mode: 'envFrom', secretName: 'uploads-s3', updateStrategy: 'OnDelete', checksum: 'a1b2c3d4e5f6', replacePodsOnDelete: true },
      { kind: 'CronJob', apiVersion: 'batch/v1', namespace: 'analytics', name: 'nightly-export', mode: 'file', secretName: 'uploads-s3', updateStrategy: null, checksum: null, replacePodsOnDelete: false },
      { kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1', namespace: 'ingest', name: 'ingest-web', mode: 'env', secretName: 'uploads-s3', updateStrategy: null, checksum: 'a1b2c3d4e5f6', replacePodsOnDelete: false },
    ],
    overlapSeconds: 300,
    deadlines: { activateSeconds: 600, deliverSeconds: 900, retireSeconds: 3600, verifySeconds: 120, kubeletRefreshSeconds: 90 },
    lease: { durationSeconds: 60, renewSeconds: 15, acquireSeconds: null },
  };
}
