import type { Logger } from '../core/log.js';
import type { SecretValue } from '../core/secret-value.js';

/** The storage systems whose keys rekey rotates. `external`: rotated by someone else. */
export type ProviderKind = 'rustfs' | 'minio' | 'ceph-rgw' | 'aws-iam' | 'external';

/** An access-key/secret-key pair. The ID is not secret; the secret never leaves a SecretValue. */
export interface KeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: SecretValue;
}

/** What a provider reports about one key (no secret). */
export interface KeyInfo {
  readonly accessKeyId: string;
  /** `active` keys authenticate; `inactive` ones are disabled but still exist. */
  readonly status: 'active' | 'inactive';
  /** The user or parent user the key belongs to. */
  readonly owner: string;
  /** RFC 3339 creation time, when the provider reports it. */
  readonly createdAt?: string;
}

/** A policy attached to an identity: a name and an IAM-style JSON document. */
export interface PolicySpec {
  readonly name: string;
  readonly document: Readonly<Record<string, unknown>>;
}

/**
 * The identity a credential has at the provider.
 * - `serviceAccount`: a key under a parent user (MinIO/RustFS service accounts); many coexist.
 * - `user`: a user with several keys (RGW, IAM): overlap by holding two keys.
 * - `alternatingUsers`: two users `<name>-a`/`<name>-b` (or the given pair); each rotation
 *   re-keys the user not in use, as AWS Secrets Manager's alternating-users rotation does.
 * - `root`: the provider's own root pair (RustFS only).
 */
export interface IdentitySpec {
  readonly kind: 'serviceAccount' | 'user' | 'alternatingUsers' | 'root';
  /** User name (`user`), parent user (`serviceAccount`), base name (`alternatingUsers`). */
  readonly name: string;
  /** For `alternatingUsers`: the two user names. @default - `<name>-a` and `<name>-b` */
  readonly users?: readonly [string, string];
  /** Policy the identity must carry; an existing identity with another policy is an error. */
  readonly policy?: PolicySpec;
}

/** Connection settings shared by every provider client. */
export interface ProviderConnection {
  /** Base URL of the admin / S3 endpoint, e.g. `http://rustfs.storage.svc:9000`. */
  readonly endpoint: string;
  /** SigV4 region. @default - provider-specific (`''` MinIO admin, `us-east-1` otherwise) */
  readonly region?: string;
  /** The admin credential the client signs with. */
  readonly admin: KeyPair;
  /** Extra CA certificates (PEM) to trust for https endpoints. @default - the system trust store */
  readonly caPem?: string;
  /** Per-request timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** Structured log sink: one line per call, key IDs only. @default - no logging */
  readonly logger?: Logger;
}

/**
 * One provider behind one interface. Every method is idempotent where the provider allows
 * (ensureIdentity twice is fine; deleting an absent key is not an error) and throws a
 * `ProviderError` naming provider, operation and key ID otherwise.
 */
export interface ProviderClient {
  readonly kind: ProviderKind;
  /** Proves the admin credential works (a read-only admin call). */
  checkAdmin(): Promise<void>;
  /** Creates the user / parent user and its policy if absent; refuses an unexpected existing policy. */
  ensureIdentity(identity: IdentitySpec): Promise<void>;
  /**
   * Adds a key. With `pair`, registers exactly that pair (rekey-generated); without,
   * the provider draws it (IAM) and the result carries the new secret.
   * Refuses a key ID that already exists, and (IAM) a third key, before any change.
   */
  addKey(identity: IdentitySpec, pair?: KeyPair): Promise<KeyPair>;
  /** Lists the identity's keys. */
  listKeys(identity: IdentitySpec): Promise<KeyInfo[]>;
  /** Disables a key without deleting it (where the provider supports it). */
  disableKey(identity: IdentitySpec, accessKeyId: string): Promise<void>;
  /** Deletes a key. */
  deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void>;
}
