import { createHash } from 'node:crypto';
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ADMIN_MOUNT_PATH, PLAN_MOUNT_PATH, STAGING_MOUNT_PATH } from '../../core/plan.js';
import type { RotatorBundleSource } from './bundle.js';
import { BUNDLE_CONFIGMAP } from './bundle.js';
import { DEFAULT_ROTATOR_IMAGE, ROTATOR_UID, type RotatorSettings } from './rotator-options.js';

/** A rotation step the Jobs run. */
export type RotationStep = 'activate' | 'deliver' | 'retire' | 'revoke';

/** Length of the pod-template hash in a Job name (hex). */
export const JOB_HASH_LENGTH = 8;
/** Kubernetes puts a Job's name into its pods' `job-name` label: at most 63 characters. */
export const JOB_NAME_MAX = 63;

/** Labels every rotation pod carries; the rotation NetworkPolicy and the provider's select on them. */
export const ROTATOR_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'app.kubernetes.io/managed-by': 'rekey',
  'app.kubernetes.io/component': 'rotator',
});

/**
 * `rekey-<credential>-g<generation>-<step>[-a<attempt>]-<hash>`: the attempt appears from 2 on
 * (`rekey retry`), the hash is {@link JOB_HASH_LENGTH} hex characters of the pod template's
 * SHA-256, so another image or bundle renames the Job instead of hitting the immutable-field error.
 */
export function jobName(credential: string, generation: number, step: RotationStep, attempt: number, hash: string): string {
  return `rekey-${credential}-g${generation}-${step}${attempt > 1 ? `-a${attempt}` : ''}-${hash}`;
}

/** What one rotation Job needs. */
export interface RotationJobInput {
  readonly credential: string;
  readonly generation: number;
  readonly step: RotationStep;
  readonly attempt: number;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly planConfigMap: string;
  /** The staging Secret (activate, revoke). */
  readonly stagingSecret?: string;
  /** The provider's admin Secret (every step that calls the provider). */
  readonly adminSecret?: string;
  readonly settings: RotatorSettings;
  /** The bundle and its SHA-256, when the stock image runs it. */
  readonly bundle?: { readonly source: RotatorBundleSource; readonly sha256: string };
  /** The Job's activeDeadlineSeconds. */
  readonly activeDeadlineSeconds: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

const RESOURCES = {
  requests: { cpu: '50m', memory: '128Mi', 'ephemeral-storage': '16Mi' },
  // memory: Node, the bundle, client-node, and Argon2id (64 MiB per madmin key derivation)
  limits: { cpu: '1', memory: '512Mi', 'ephemeral-storage': '64Mi' },
} as const;

/** The container security context of every rekey container: Pod Security "restricted", read-only root. */
export const RESTRICTED_CONTAINER = Object.freeze({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: ROTATOR_UID,
  runAsGroup: ROTATOR_UID,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

/** The pod template of a rotation Job, as plain JSON (hashed for the name, then rendered). */
export function rotationPodTemplate(j: RotationJobInput): Record<string, unknown> {
  const image = j.settings.image ?? DEFAULT_ROTATOR_IMAGE;
  const planDir = PLAN_MOUNT_PATH.slice(0, PLAN_MOUNT_PATH.lastIndexOf('/'));
  const bundleDir = j.bundle ? j.bundle.source.path.slice(0, j.bundle.source.path.lastIndexOf('/')) : '/rotator';
  const bundlePath = j.bundle?.source.path ?? '/rotator/rotator.mjs';
  const volumes: Record<string, unknown>[] = [{ name: 'plan', configMap: { name: j.planConfigMap, defaultMode: 0o444 } }];
  const mounts: Record<string, unknown>[] = [{ name: 'plan', mountPath: planDir, readOnly: true }];
  if (j.stagingSecret) {
    volumes.push({ name: 'staging', secret: { secretName: j.stagingSecret, defaultMode: 0o444 } });
    mounts.push({ name: 'staging', mountPath: STAGING_MOUNT_PATH, readOnly: true });
  }
  if (j.adminSecret) {
    volumes.push({ name: 'admin', secret: { secretName: j.adminSecret, defaultMode: 0o444 } });
    mounts.push({ name: 'admin', mountPath: ADMIN_MOUNT_PATH, readOnly: true });
  }
  volumes.push({ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } });
  mounts.push({ name: 'tmp', mountPath: '/tmp' });
  const initContainers: Record<string, unknown>[] = [];
  if (j.bundle) {
    volumes.push({ name: 'bundle', configMap: { name: BUNDLE_CONFIGMAP, defaultMode: 0o444 } });
    volumes.push({ name: 'rotator', emptyDir: { sizeLimit: '16Mi' } });
    mounts.push({ name: 'rotator', mountPath: bundleDir, readOnly: true });
    initContainers.push({
      name: 'unpack',
      image,
      command: ['node', '-e', j.bundle.source.unpackScript],
      env: [
        { name: 'REKEY_BUNDLE_GZ', value: `${j.bundle.source.mountPath}/${j.bundle.source.key}` },
        { name: 'REKEY_BUNDLE_OUT', value: bundlePath },
        { name: 'REKEY_BUNDLE_SHA256', value: j.bundle.sha256 },
      ],
      volumeMounts: [
        { name: 'bundle', mountPath: j.bundle.source.mountPath, readOnly: true },
        { name: 'rotator', mountPath: bundleDir },
      ],
      securityContext: RESTRICTED_CONTAINER,
      resources: RESOURCES,
    });
  }
  return {
    metadata: { labels: { ...j.labels, ...ROTATOR_POD_LABELS, 'rekey.dev/step': j.step } },
    spec: {
      serviceAccountName: j.serviceAccount,
      automountServiceAccountToken: true,
      enableServiceLinks: false,
      restartPolicy: 'Never',
      securityContext: {
        runAsNonRoot: true,
        runAsUser: ROTATOR_UID,
        runAsGroup: ROTATOR_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(initContainers.length ? { initContainers } : {}),
      containers: [
        {
          name: 'rotator',
          image,
          // DEP0169: url.parse in client-node's node-fetch@2; its warning would break the JSON-lines log
          command: ['node', '--disable-warning=DEP0169', bundlePath],
          args: ['--step', j.step],
          env: [
            { name: 'REKEY_PLAN', value: PLAN_MOUNT_PATH },
            { name: 'REKEY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'NODE_ENV', value: 'production' },
          ],
          volumeMounts: mounts,
          securityContext: RESTRICTED_CONTAINER,
          resources: RESOURCES,
        },
      ],
      volumes,
    },
  };
}

/** SHA-256 of a pod template, first {@link JOB_HASH_LENGTH} hex characters. */
export function podTemplateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, JOB_HASH_LENGTH);
}

/**
 * Renders one rotation Job; returns it and its name. An ApiObject of the plain JSON template (the
 * JSON that was hashed) rather than a KubeJob: the L1 class would wrap every Quantity and convert
 * the whole template back to the same JSON, the largest share of the Jobs' synthesis time.
 */
export function renderRotationJob(scope: Construct, j: RotationJobInput): { job: ApiObject; name: string } {
  const template = rotationPodTemplate(j);
  const name = jobName(j.credential, j.generation, j.step, j.attempt, podTemplateHash(template));
  const job = new ApiObject(scope, j.step, {
    ...k8s.KubeJob.GVK,
    metadata: { name, namespace: j.namespace, labels: { ...j.labels, ...ROTATOR_POD_LABELS, 'rekey.dev/step': j.step }, annotations: { ...j.annotations } },
    spec: {
      backoffLimit: j.settings.backoffLimit,
      activeDeadlineSeconds: j.activeDeadlineSeconds,
      // no ttlSecondsAfterFinished: GitOps would re-create (and re-run) a TTL-deleted Job
      template,
    },
  });
  return { job, name };
}
