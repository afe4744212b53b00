import { FieldError } from '../../core/errors.js';
import { SealingScope, type SealingScopeName } from '../../core/sealing-scope.js';
import { CSI_PROVIDERS, csiDelivery, DEFAULT_ROTATION_POLL_INTERVAL_SECONDS, type CsiProviderName } from './csi.js';
import type { DeliveryKind, RemotePair, StoreRef } from './delivery-kind.js';
import { externalDelivery } from './external.js';
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

/** The two properties of the remote key that hold the pair. */
export interface RemoteProperties {
  /** Property holding the access-key ID. */
  readonly accessKeyId: string;
  /** Property holding the secret access key. */
  readonly secretAccessKey: string;
}

/** Options of `Delivery.external`. */
export interface ExternalDeliveryOptions {
  /**
   * The External Secrets Operator store the targets read from and the PushSecret writes to:
   * an existing `SecretStore` (in every target namespace, and in the rotator namespace for the
   * PushSecret) or `ClusterSecretStore`, by name.
   */
  readonly store: StoreRef;
  /** The key in the store that holds the pair (a Vault path, an AWS Secrets Manager secret name, …). */
  readonly remoteKey: string;
  /**
   * The properties of the remote key holding each half (the remote value is a JSON object / KV map).
   * @default {accessKeyId: 'access-key', secretAccessKey: 'secret-key'} (the staging Secret's own key names)
   */
  readonly properties?: RemoteProperties;
  /**
   * More target keys computed from the pair by the External Secrets template engine (Go
   * templates over `{{ .rekeyAccessKeyId }}` and `{{ .rekeySecretAccessKey }}`), e.g. a connection
   * URL. They may not replace an alias key or an extra key.
   * @default - none
   */
  readonly templateData?: Readonly<Record<string, string>>;
}

/** The default properties of a remote pair: the staging Secret's key names. */
export const DEFAULT_REMOTE_PROPERTIES: RemoteProperties = Object.freeze({ accessKeyId: 'access-key', secretAccessKey: 'secret-key' });

const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const STORE_KINDS = ['SecretStore', 'ClusterSecretStore'] as const;

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
   * An External Secrets Operator `ExternalSecret` per target, whose template produces every
   * alias key and the extra keys from one remote pair. The pair is obtained in the cluster
   * (the activate Job draws it, or the provider does, as IAM) and pushed to the store by a
   * per-generation PushSecret: nothing secret is written to git.
   */
  public static external(options: ExternalDeliveryOptions): Delivery {
    const fail = (field: (string | number)[], what: string, value: unknown, fix: string): never => {
      throw new FieldError('Delivery.external', { field, what, value, fix });
    };
    const store = options?.store;
    const storeFix = 'Give store: {kind: SecretStore or ClusterSecretStore, name: <an existing store>}.';
    if (store === undefined || store === null || typeof store !== 'object') fail(['store'], 'is required', store, storeFix);
    if (!STORE_KINDS.includes(store.kind)) fail(['store', 'kind'], 'must be SecretStore or ClusterSecretStore', store.kind, 'Set store.kind to SecretStore or ClusterSecretStore.');
    if (typeof store.name !== 'string' || store.name.length > 253 || !OBJECT_NAME.test(store.name)) {
      fail(['store', 'name'], 'must be a lowercase DNS subdomain (the store\'s name)', store.name, "Use lowercase letters, digits, '-' and '.'.");
    }
    if (store.acceptsPush !== undefined && typeof store.acceptsPush !== 'boolean') fail(['store', 'acceptsPush'], 'must be true or false', store.acceptsPush, 'Set acceptsPush: true or false.');
    const remoteKey = options.remoteKey;
    if (typeof remoteKey !== 'string' || remoteKey.trim() === '' || /[\s\x00-\x1f]/.test(remoteKey)) {
      fail(['remoteKey'], 'must be a non-empty key without whitespace', remoteKey, 'Give the key in the store that holds the pair, e.g. storage/ingest.');
    }
    const given = options.properties;
    if (given !== undefined) {
      for (const half of ['accessKeyId', 'secretAccessKey'] as const) {
        const v = given?.[half];
        if (typeof v !== 'string' || v.trim() === '' || /\s/.test(v)) {
          fail(['properties', half], 'must name the property of the remote key that holds this half', v, `Give properties: {accessKeyId: <property>, secretAccessKey: <property>}, or omit properties for ${DEFAULT_REMOTE_PROPERTIES.accessKeyId} / ${DEFAULT_REMOTE_PROPERTIES.secretAccessKey}.`);
        }
      }
      if (given.accessKeyId === given.secretAccessKey) {
        fail(['properties', 'secretAccessKey'], 'must differ from properties.accessKeyId', given.secretAccessKey, 'Give each half its own property.');
      }
    }
    const templateData = { ...(options.templateData ?? {}) };
    for (const [k, v] of Object.entries(templateData)) {
      if (!SECRET_KEY.test(k)) fail(['templateData', k], 'is not a valid Secret key name', k, "Use letters, digits, '-', '_' and '.'.");
      if (typeof v !== 'string') fail(['templateData', k], 'must be a template string', v, 'Give a Go template, e.g. s3://{{ .rekeyAccessKeyId }}@bucket.');
    }
    const remote: RemotePair = {
      store: { kind: store.kind, name: store.name, ...(store.acceptsPush === false ? { acceptsPush: false } : {}) },
      remoteKey,
      properties: given ? { accessKeyId: given.accessKeyId, secretAccessKey: given.secretAccessKey } : { ...DEFAULT_REMOTE_PROPERTIES },
    };
    return new Delivery(externalDelivery(remote, templateData));
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
    if (store.acceptsPush !== undefined && typeof store.acceptsPush !== 'boolean') fail(['store', 'acceptsPush'], 'must be true or false', store.acceptsPush, 'Set acceptsPush: true or false.');
    const properties = { accessKeyId: options.properties?.accessKeyId ?? DEFAULT_REMOTE_PROPERTIES.accessKeyId, secretAccessKey: options.properties?.secretAccessKey ?? DEFAULT_REMOTE_PROPERTIES.secretAccessKey };
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
        remote: { store: { kind: store.kind, name: store.name, ...(store.acceptsPush === false ? { acceptsPush: false } : {}) }, remoteKey: options.remoteKey, properties },
        objectPath,
        rotationPollIntervalSeconds: poll,
        secretRotationEnabled: rotation,
      }),
    );
  }

  /** `sealed`, `plain`, `external` or `csi`. */
  public readonly kind: DeliveryKind['kind'];
  /** The sealing scope (sealed only). */
  public readonly scope?: SealingScopeName;
  /** Store-held deliveries (external, csi): the store, remote key and properties the targets read (references only). */
  public readonly remote?: RemotePair;
  /** @internal The implementation; credentials render through it. */
  public readonly _impl: DeliveryKind;

  private constructor(impl: DeliveryKind) {
    this._impl = impl;
    this.kind = impl.kind;
    this.scope = impl.scope;
    this.remote = impl.remote;
  }
}
