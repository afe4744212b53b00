import { ProviderError } from '../core/errors.js';
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
  /**
   * Deadline of one HTTP call in milliseconds, from sending the request to the last byte of
   * the answer (a server that trickles bytes cannot hold a call open past it).
   * @default 10000
   */
  readonly timeoutMs?: number;
  /** Structured log sink: one line per call, key IDs only. @default - no logging */
  readonly logger?: Logger;
}

/**
 * The closed set of `ProviderError.code` values every provider client throws. The rotator
 * decides on these, never on message texts; the provider's own error code (e.g.
 * `XMinioAdminNoSuchUser`, `NoSuchEntity`) is in `ProviderError.providerCode`.
 */
export const PROVIDER_ERROR_CODES = [
  /** Any refusal or failure not named below (a 4xx the client did not expect, an unreadable answer). */
  'PROVIDER_ERROR',
  /** The admin credential was rejected or lacks a permission/cap. */
  'PROVIDER_AUTH',
  /** TLS verification of the endpoint failed (set `caPem`). */
  'PROVIDER_TLS',
  /** No complete answer within the call's deadline (`timeoutMs`). The change may or may not be applied. */
  'PROVIDER_TIMEOUT',
  /** The endpoint cannot be reached (refused, DNS, reset before an answer). */
  'PROVIDER_UNREACHABLE',
  /** The provider answered 5xx. The change may or may not be applied. */
  'PROVIDER_UNAVAILABLE',
  /** The provider cannot do this operation at all (e.g. RGW disabling one of several keys). */
  'PROVIDER_UNSUPPORTED',
  /** The identity kind is not offered by this provider. */
  'IDENTITY_KIND_UNSUPPORTED',
  /** Root rotation is not an API call for this provider (an announced-downtime path, or refused). */
  'ROOT_ROTATION_UNSUPPORTED',
  /** The identity (user, parent user) that must exist for this call does not: run ensureIdentity. */
  'IDENTITY_MISSING',
  /** The identity exists with a policy other than the declared one; nothing was changed. */
  'UNEXPECTED_POLICY',
  /** The access-key ID exists with another secret, or disabled; nothing was changed. */
  'KEY_EXISTS',
  /** The key belongs to another identity than the one named; nothing was changed. */
  'WRONG_OWNER',
  /** A key the caller did not name (not the plan's previous key) would have to be removed; nothing was changed. */
  'UNEXPECTED_KEY',
  /** The provider's per-identity key quota is reached (IAM: two keys per user). */
  'KEY_LIMIT',
  /** The provider draws keys itself and cannot register a caller-chosen pair (IAM). */
  'PROVIDER_DRAWS_KEYS',
  /** A key-creating call failed in a way that may have created a key: the message lists the keys that exist. */
  'KEY_STATE_UNKNOWN',
  /** The provider dropped a policy during the call and restoring it failed: the identity may have wider rights. */
  'POLICY_RESTORE_FAILED',
  /** An S3 verification (accepted / rejected) did not reach its proof before the deadline. */
  'VERIFY_FAILED',
] as const;

/** One of {@link PROVIDER_ERROR_CODES}. */
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/** Props of {@link providerError}: a `ProviderError` whose code is one of the contract's. */
export interface ProviderErrorProps {
  readonly provider: string;
  readonly operation: string;
  readonly code: ProviderErrorCode;
  /** `<what is wrong>: got <value>. <how to fix>`; the prefix `<provider> <operation> [key <id>]:` is added. */
  readonly message: string;
  readonly keyId?: string;
  readonly status?: number;
  readonly providerCode?: string;
  readonly cause?: unknown;
}

/** Builds a `ProviderError` with a contract code (the only way provider clients make one). */
export function providerError(props: ProviderErrorProps): ProviderError {
  return new ProviderError(props);
}

/** True when `err` is a `ProviderError` with this contract code. */
export function isProviderError(err: unknown, code?: ProviderErrorCode): err is ProviderError {
  return err instanceof ProviderError && (code === undefined || err.code === code);
}

/** Options of {@link ProviderClient.addKey}. */
export interface AddKeyOptions {
  /**
   * `alternatingUsers` only: the key consumers hold now (the plan's current key). The new key
   * goes to the other user. Omit it only when neither user holds a key (the first rotation).
   * @default - no key is in use
   */
  readonly currentKeyId?: string;
  /**
   * `alternatingUsers` only: the plan's previous key, the ONLY key addKey may remove from the
   * standby user to make room (disable, then delete). Any other key found there is refused
   * with `UNEXPECTED_KEY` before any change.
   * @default - the standby user must hold no key
   */
  readonly previousKeyId?: string;
}

/**
 * One provider behind one interface. Every method observes the provider before it changes
 * anything, so a re-run after a crash, a timeout or a lost answer converges. Failures throw a
 * `ProviderError` (from `lib/core/errors.ts`) whose `code` is a {@link ProviderErrorCode},
 * naming provider, operation and key ID — never a secret.
 */
export interface ProviderClient {
  readonly kind: ProviderKind;
  /** Proves the admin credential works (a read-only admin call). Changes nothing. */
  checkAdmin(): Promise<void>;
  /**
   * Post-condition: the user(s) of the identity exist and carry exactly the declared policy.
   * Idempotent. Refuses (`UNEXPECTED_POLICY`), before any change, an identity that carries
   * another policy.
   */
  ensureIdentity(identity: IdentitySpec): Promise<void>;
  /**
   * Post-condition: the returned pair is registered, active, on the identity (for
   * `alternatingUsers`, on the user that does not hold `options.currentKeyId`), and every
   * other key of the identity is unchanged — except `options.previousKeyId`, which
   * `alternatingUsers` may remove from the standby user.
   *
   * With `pair`, registers exactly that pair (rekey-drawn); without, the provider draws it
   * (IAM) and the result carries the new secret.
   *
   * Idempotent for a given pair: the exact pair already registered on the identity counts as
   * success and returns it. The same key ID with another secret, or on another identity, or
   * disabled, is refused (`KEY_EXISTS` / `WRONG_OWNER`) before any change. How the secret is
   * compared depends on the provider (stored secret where the provider reveals it, else one
   * SigV4-signed call with the given pair: a signature mismatch means another secret).
   * A provider-drawn key (no pair) is not idempotent: a failed create reports the keys that
   * exist afterwards (`KEY_STATE_UNKNOWN`).
   */
  addKey(identity: IdentitySpec, pair?: KeyPair, options?: AddKeyOptions): Promise<KeyPair>;
  /** Lists the identity's keys (every user of `alternatingUsers`). Changes nothing. */
  listKeys(identity: IdentitySpec): Promise<KeyInfo[]>;
  /**
   * Post-condition: the key cannot authenticate, but still exists where the provider can
   * disable a key (MinIO/RustFS off, IAM Inactive, RGW: suspends an alternating user whose only
   * key it is). Idempotent: an already disabled key is success. An absent key is success only
   * when the provider shows it is absent everywhere (not only that the identity is missing);
   * a key held by another identity is refused (`WRONG_OWNER`).
   */
  disableKey(identity: IdentitySpec, accessKeyId: string): Promise<void>;
  /**
   * Post-condition: the key does not exist. Idempotent: an absent key is success, only when
   * the provider shows the key is absent (looked up by key, not only by identity); a key held by
   * another identity is refused (`WRONG_OWNER`).
   */
  deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void>;
  /** Releases the client's sockets. Idempotent; the client must not be used afterwards. */
  close(): void;
}
