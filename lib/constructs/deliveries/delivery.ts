import { FieldError } from '../../core/errors.js';
import { SealingScope, type SealingScopeName } from '../../core/sealing-scope.js';
import { CSI_PROVIDERS, csiDelivery, DEFAULT_ROTATION_POLL_INTERVAL_SECONDS, type CsiProviderName } from './csi.js';
import type { DeliveryKind, StoreRef } from './delivery-kind.js';
import { plainDelivery } from './plain.js';
import { sealedDelivery } from './sealed.js';

/** Options of `Delivery.sealed`. */
export interface SealedDeliveryOptions {
  /**
   * The SealedSecret scope: `strict` binds the ciphertext to the target's namespace and
   * name, `namespace-wide` to its namespace, `cluster-wide` to nothing.
   * @default 'strict'
   */
  readonly scope?: SealingScopeName;
}

/** Options of `Delivery.plain`. */
export interface PlainDeliveryOptions {
  /**
   * Must be `true`: the secret is stored in clear in git (the ledger and dist/). Local
   * clusters only.
   */
  readonly acknowledgeInsecure: boolean;
}

/** Options of `Delivery.csi`. */
export interface CsiDeliveryOptions {
  /**
   * The CSI provider the Secrets Store CSI driver calls: `vault` (hashicorp/vault-csi-provider)
   * or `aws` (AWS Secrets Manager, aws/secrets-store-csi-driver-provider-aws).
   */
  readonly provider: CsiProviderName;
  /**
   * The provider's SecretProviderClass parameters other than `objects`, which rekey writes from
   * the aliases: vault needs `roleName` (and usually `vaultAddress`, optionally
   * `vaultKubernetesMountPath`, `vaultNamespace`); aws takes e.g. `region`, `usePodIdentity`.
   * @default {} (aws only: vault needs roleName)
   */
  readonly parameters?: Readonly<Record<string, string>>;
  /**
   * The External Secrets store the rotator's PushSecret writes the pair to. It must be the same
   * backend (Vault, Secrets Manager) the CSI provider reads.
   */
  readonly store: StoreRef;
  /** The key in that store that holds the pair (one property per half). */
  readonly remoteKey: string;
  /**
   * The property names of the two halves under `remoteKey`.
   * @default { accessKeyId: 'access-key', secretAccessKey: 'secret-key' } (the staging Secret's key names, which the PushSecret pushes; as for `external`)
   */
  readonly properties?: { readonly accessKeyId?: string; readonly secretAccessKey?: string };
  /**
   * Where the CSI provider reads the pair: vault's `secretPath` (for KV version 2 the API path,
   * with `data/`, e.g. `secret/data/rekey/uploads`), aws's Secrets Manager secret name or ARN.
   * @default - the remoteKey
   */
  readonly objectPath?: string;
  /**
   * The driver's `--rotation-poll-interval` in seconds: a mount is refreshed at the first kubelet
   * republish at least this long after its previous refresh. The retire step waits it out (plus
   * the kubelet refresh bound) for file consumers.
   * @default 120 (the driver's default, 2m)
   */
  readonly rotationPollIntervalSeconds?: number;
  /**
   * Whether the driver runs with `--enable-secret-rotation=true` (Helm: `enableSecretRotation: true`;
   * the driver's own default is false). Without it a mounted volume and its synced Secret never
   * change: env/envFrom consumers are refused and file consumers are restarted like env consumers.
   * @default true
   */
  readonly secretRotationEnabled?: boolean;
}

const CSI_PARAM_KEY = /^[A-Za-z0-9][-A-Za-z0-9_.]*$/;
const REMOTE_KEY = /^[A-Za-z0-9_./:@+=-]+$/;
const PROPERTY = /^[-._a-zA-Z0-9]+$/;

/** How a target Secret reaches the cluster: one closed set, one interface (`DeliveryKind`) behind it. */
export class Delivery {
  /** A Bitnami SealedSecret, sealed offline with the controller's public certificate. */
  public static sealed(options: SealedDeliveryOptions = {}): Delivery {
    const scope = options.scope ?? 'strict';
    if (!SealingScope.ALL.some((s) => s.name === scope)) {
      throw new FieldError('Delivery.sealed', {
        field: ['scope'],
        what: 'must be one of strict, namespace-wide, cluster-wide',
        value: scope,
        fix: 'Set scope to one of strict, namespace-wide, cluster-wide.',
      });
    }
    return new Delivery(sealedDelivery(scope));
  }

  /** A plain Secret with the value in git. Local clusters only; prints a loud warning at synth. */
  public static plain(options: PlainDeliveryOptions): Delivery {
    if (options?.acknowledgeInsecure !== true) {
      throw new FieldError('Delivery.plain', {
        field: ['acknowledgeInsecure'],
        what: 'must be true for plain delivery (the secret is stored in git in clear)',
        value: options?.acknowledgeInsecure,
        fix: 'Set acknowledgeInsecure: true for a local cluster, or use kind: sealed.',
      });
    }
    return new Delivery(plainDelivery());
  }

  /**
   * A Secrets Store CSI driver SecretProviderClass per target (same namespace and name as the
   * target Secret), mounting one file per alias key from the store-held pair and syncing them into
   * the target Secret (`secretObjects`) for env consumers. The synced Secret exists only while a
   * pod mounts the volume: `consumedBy` mounts it into workloads of this app.
   */
  public static csi(options: CsiDeliveryOptions): Delivery {
    const fail = (field: (string | number)[], what: string, value: unknown, fix: string): never => {
      throw new FieldError('Delivery.csi', { field, what, value, fix });
    };
    const provider = options?.provider;
    if (!CSI_PROVIDERS.includes(provider)) {
      fail(['provider'], `must be one of ${CSI_PROVIDERS.join(', ')}`, provider, `Set provider to one of ${CSI_PROVIDERS.join(', ')}, or deliver through an ExternalSecret (kind: external) for another store.`);
    }
    const parameters = { ...(options.parameters ?? {}) };
    for (const [k, v] of Object.entries(parameters)) {
      if (k === 'objects') fail(['parameters', 'objects'], 'is written by rekey from the aliases', v, 'Remove parameters.objects: rekey renders one object per alias key.');
      if (!CSI_PARAM_KEY.test(k)) fail(['parameters', k], 'is not a valid parameter name', k, "Use letters, digits, '-', '_' and '.'.");
      if (typeof v !== 'string') fail(['parameters', k], 'must be a string (the SecretProviderClass parameters are strings)', v, `Quote it: ${k}: "${String(v)}".`);
    }
    if (provider === 'vault' && !parameters.roleName) {
      fail(['parameters', 'roleName'], 'is required for provider vault', parameters.roleName, 'Set parameters.roleName to the Vault Kubernetes-auth role the consumer pods log in with.');
    }
    const store = options.store;
    if (!store || (store.kind !== 'SecretStore' && store.kind !== 'ClusterSecretStore')) {
      fail(['store', 'kind'], 'must be SecretStore or ClusterSecretStore', store?.kind, 'Name the External Secrets store the pair is pushed to: {kind: ClusterSecretStore, name: <store>}.');
    }
    if (typeof store.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(store.name)) {
      fail(['store', 'name'], 'must be a lowercase DNS subdomain', store.name, 'Give the name of the SecretStore or ClusterSecretStore.');
    }
    if (typeof options.remoteKey !== 'string' || !REMOTE_KEY.test(options.remoteKey)) {
      fail(['remoteKey'], 'must be a store key', options.remoteKey, "Give the key holding the pair, e.g. rekey/uploads (letters, digits and _./:@+=-).");
    }
    const properties = { accessKeyId: options.properties?.accessKeyId ?? 'access-key', secretAccessKey: options.properties?.secretAccessKey ?? 'secret-key' };
    for (const half of ['accessKeyId', 'secretAccessKey'] as const) {
      if (!PROPERTY.test(properties[half])) fail(['properties', half], 'is not a valid property name', properties[half], "Use letters, digits, '-', '_' and '.'.");
    }
    if (properties.accessKeyId === properties.secretAccessKey) {
      fail(['properties', 'secretAccessKey'], 'must differ from properties.accessKeyId', properties.secretAccessKey, 'Give the two halves different property names.');
    }
    const objectPath = options.objectPath ?? options.remoteKey;
    if (typeof objectPath !== 'string' || !REMOTE_KEY.test(objectPath)) {
      fail(['objectPath'], 'must be a store path', objectPath, 'Give the Vault secretPath (KV v2: with data/) or the Secrets Manager secret name.');
    }
    const poll = options.rotationPollIntervalSeconds ?? DEFAULT_ROTATION_POLL_INTERVAL_SECONDS;
    if (!Number.isInteger(poll) || poll < 1) {
      fail(['rotationPollIntervalSeconds'], 'must be a whole number of seconds, at least 1', poll, 'Set it to the driver\'s --rotation-poll-interval in seconds (default 120).');
    }
    const rotation = options.secretRotationEnabled ?? true;
    if (typeof rotation !== 'boolean') fail(['secretRotationEnabled'], 'must be true or false', rotation, 'Set secretRotationEnabled: true (the driver runs with --enable-secret-rotation=true) or false.');
    return new Delivery(
      csiDelivery({
        provider,
        parameters,
        remote: { store: { kind: store.kind, name: store.name }, remoteKey: options.remoteKey, properties },
        objectPath,
        rotationPollIntervalSeconds: poll,
        secretRotationEnabled: rotation,
      }),
    );
  }

  /** `sealed`, `plain` or `csi`. */
  public readonly kind: DeliveryKind['kind'];
  /** The sealing scope (sealed only). */
  public readonly scope?: SealingScopeName;
  /** @internal The implementation; credentials render through it. */
  public readonly _impl: DeliveryKind;

  private constructor(impl: DeliveryKind) {
    this._impl = impl;
    this.kind = impl.kind;
    this.scope = impl.scope;
  }
}
