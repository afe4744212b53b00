import type { Construct } from 'constructs';
import {
  PushSecret,
  PushSecretSpecDeletionPolicy,
  PushSecretSpecSecretStoreRefsKind,
  PushSecretSpecUpdatePolicy,
} from '../../../imports/pushsecret-external-secrets.io.js';
import { STAGING_KEYS } from '../../core/plan.js';
import type { RemotePair } from './delivery-kind.js';

/** What the per-generation PushSecret of a store-held delivery needs. */
export interface PushSecretInput {
  /** `rekey-<credential>-g<generation>-push`. */
  readonly name: string;
  /** The rotator namespace (where the staging Secret is). */
  readonly namespace: string;
  /** The staging Secret the activate Job writes (keys STAGING_KEYS). */
  readonly stagingSecret: string;
  readonly remote: RemotePair;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * The PushSecret (external-secrets.io/v1alpha1) that copies one generation's staging Secret
 * into the store, for every delivery that has a `remote` (external, csi). Applied after the
 * activate Job wrote the staging Secret: a PushSecret pushes when it is created or changed,
 * never when its source Secret changes.
 *
 * - Named per generation, so each rotation creates a new one (and pushes).
 * - `updatePolicy: Replace`: overwrite the previous generation's pair (IfNotExists would never rotate).
 * - `deletionPolicy: None`: pruning the previous generation's PushSecret must not delete the
 *   remote key the current one just wrote.
 * - `refreshInterval: 0s`: push until one push succeeded, then never again; a previous
 *   generation's PushSecret still in the cluster can never push its older pair over the new one.
 */
export function renderPushSecret(scope: Construct, p: PushSecretInput): PushSecret {
  const { store, remoteKey, properties } = p.remote;
  return new PushSecret(scope, 'push', {
    metadata: { name: p.name, namespace: p.namespace, labels: { ...p.labels }, annotations: { ...p.annotations } },
    spec: {
      refreshInterval: '0s',
      updatePolicy: PushSecretSpecUpdatePolicy.REPLACE,
      deletionPolicy: PushSecretSpecDeletionPolicy.NONE,
      secretStoreRefs: [{ kind: store.kind === 'ClusterSecretStore' ? PushSecretSpecSecretStoreRefsKind.CLUSTER_SECRET_STORE : PushSecretSpecSecretStoreRefsKind.SECRET_STORE, name: store.name }],
      selector: { secret: { name: p.stagingSecret } },
      data: [
        { match: { secretKey: STAGING_KEYS.accessKey, remoteRef: { remoteKey, property: properties.accessKeyId } } },
        { match: { secretKey: STAGING_KEYS.secretKey, remoteRef: { remoteKey, property: properties.secretAccessKey } } },
      ],
    },
  });
}
