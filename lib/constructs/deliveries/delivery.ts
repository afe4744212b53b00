import { FieldError } from '../../core/errors.js';
import { SealingScope, type SealingScopeName } from '../../core/sealing-scope.js';
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

  /** `sealed`, `plain`, `external` (or `csi`). */
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
