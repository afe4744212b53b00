/**
 * Ceph RGW provider: the Admin Ops API (`/admin/user`) plus RGW's IAM user-policy actions
 * (`POST /` with `Action=PutUserPolicy`), signed with SigV4 (service `s3`).
 *
 * Checked against a real radosgw 16.2.15 (Pacific, Debian 12):
 * - `PUT /admin/user?uid=..` creates a user; with `generate-key=false` it gets no key.
 *   An existing uid answers 409 `UserAlreadyExists`.
 * - `PUT /admin/user?key&uid=..&access-key=..&secret-key=..&key-type=s3` adds the pair beside the
 *   existing keys. An access key that exists on THIS uid is silently overwritten (its secret
 *   replaced), so the client lists the keys first and refuses; one owned by ANOTHER uid answers
 *   409 `KeyExists`, before any change.
 * - `DELETE /admin/user?key&uid=..&access-key=..` is effective at once (next request with that
 *   key: 403 `InvalidAccessKeyId`); deleting an absent key answers 403 `InvalidAccessKeyId` too,
 *   which is why `deleteKey` lists first (and is idempotent).
 * - `POST /admin/user?uid=..&suspended=1` suspends a user: all its keys get 403 `UserSuspended`.
 * - `GET /admin/user?uid=..` returns the user, including every key's SECRET: this client keeps the
 *   key IDs only and never logs or returns a response body.
 * - IAM `PutUserPolicy` / `GetUserPolicy` / `ListUserPolicies` work on the S3 endpoint when the
 *   admin user has the `user-policy=*` cap (else 403 `AccessDenied`); radosgw enforces them. A user
 *   without policies, like an absent one, answers ListUserPolicies with 404 `NoSuchEntity`.
 * - Pacific drops a user's inline policies on every key add/remove and user modify (Ceph
 *   tracker #48761): this client snapshots and restores them around those calls.
 * - `GET /admin/user?access-key=..` answers the key's owner (a user's record); an unknown access
 *   key answers 403 `AccessDenied` (measured): "already gone" is decided from that, right after
 *   reading the identity's uids proved the admin can read users.
 * - The user-policy calls stay hand-rolled Query requests: `@aws-sdk/client-iam` pointed at
 *   radosgw works for PutUserPolicy, DeleteUserPolicy and the 200 answers of ListUserPolicies /
 *   GetUserPolicy, but radosgw writes IAM errors in the S3 envelope (`<Error><Code>NoSuchEntity`)
 *   instead of IAM's `<ErrorResponse><Error>`, so the SDK reports ListUserPolicies' 404 as
 *   `NotFound`/`UnknownError` (no `NoSuchEntity`), and GetUserPolicy for an absent policy
 *   fails as an XML parse error (radosgw sends bytes past the declared Content-Length). This
 *   client must tell "no policy" (NoSuchEntity) from any other 404, so it parses the code itself.
 *
 * RGW cannot disable one S3 key: see `disableKey`.
 */
import { createHash } from 'node:crypto';
import { NodeSha256 } from '../sha256.js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ProviderError } from '../../core/errors.js';
import { NULL_LOGGER, type Logger } from '../../core/log.js';
import { SecretValue } from '../../core/secret-value.js';
import { planAlternate } from '../alternating.js';
import { ProviderHttp, classifyTransportFailure } from '../http.js';
import {
  providerError,
  type AddKeyOptions,
  type IdentitySpec,
  type KeyInfo,
  type KeyPair,
  type PolicySpec,
  type ProviderClient,
  type ProviderConnection,
  type ProviderErrorCode,
} from '../provider.js';

const PROVIDER = 'ceph-rgw';

/** `ProviderError.code` when RGW cannot do what was asked (e.g. disable a single key). */
export const RGW_UNSUPPORTED = 'PROVIDER_UNSUPPORTED';

/** One RGW user as this client reports it: key IDs only, never a secret. */
export interface RgwUser {
  readonly uid: string;
  readonly displayName: string;
  readonly suspended: boolean;
  /** S3 access-key IDs. */
  readonly keyIds: readonly string[];
  /** Caps as `type=perm` strings, e.g. `users=*`. */
  readonly caps: readonly string[];
}

/** Options of `RgwAdminClient.createUser`. */
export interface RgwCreateUserOptions {
  /** @default - the uid */
  readonly displayName?: string;
  /** Admin caps, e.g. `users=read`. @default - none */
  readonly caps?: string;
}

/** Props of `RgwAdminClient`. */
export interface RgwAdminClientProps extends ProviderConnection {
  /** SigV4 region RGW checks against its zonegroup's api_name. @default 'us-east-1' */
  readonly region?: string;
}

interface RgwResponse {
  readonly status: number;
  readonly body: string;
}

interface CallSpec {
  readonly operation: string;
  readonly keyId?: string;
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string>;
  /** Form body (IAM actions). */
  readonly form?: Record<string, string>;
  /** Loggable description of the request, without any query value. */
  readonly what: string;
  /** Answers (status + RGW code) that are not errors for this call. */
  readonly expect?: ReadonlyArray<{ status: number; code?: string }>;
}

/**
 * Ceph RGW client for the rotator. Identity mapping:
 * - `user`: one uid holding two S3 keys during the overlap.
 * - `alternatingUsers`: two uids (`<name>-a`/`<name>-b` or `users`); a new key goes to the uid
 *   that holds no key (the first one when neither does); the old key is deleted from whichever
 *   uid holds it. Observed state decides, no local bookkeeping.
 * - `serviceAccount`: refused. RGW's nearest thing, the subuser, carries only a coarse
 *   permission (read/write/readwrite/full) over the parent's buckets and cannot hold its own IAM
 *   policy, so it would silently grant more than a MinIO-style service account. Use `user`.
 * - `root`: refused; RGW has no root pair (its admins are ordinary users with caps).
 */
export class RgwAdminClient implements ProviderClient {
  public readonly kind = 'ceph-rgw' as const;
  private readonly url: URL;
  private readonly region: string;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly signer: SignatureV4;
  private readonly http: ProviderHttp;

  public constructor(private readonly conn: RgwAdminClientProps) {
    let url: URL;
    try {
      url = new URL(conn.endpoint);
    } catch (cause) {
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'connect',
        message: `endpoint is not a URL: got '${conn.endpoint}'. Use e.g. http://rgw.storage.svc:7480`,
        cause,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'connect',
        message: `endpoint must be http or https: got '${url.protocol}'. Use e.g. http://rgw.storage.svc:7480`,
      });
    }
    this.url = url;
    this.region = conn.region ?? 'us-east-1';
    this.timeoutMs = conn.timeoutMs ?? 10_000;
    this.logger = conn.logger ?? NULL_LOGGER;
    this.signer = new SignatureV4({
      service: 's3',
      region: this.region,
      sha256: NodeSha256,
      credentials: async () => ({
        accessKeyId: conn.admin.accessKeyId,
        secretAccessKey: conn.admin.secretAccessKey.reveal(),
      }),
    });
    // No keep-alive: radosgw (beast) writes a response in several small segments, and on a reused
    // connection the client's delayed ACK meets the server's Nagle: ~40 ms per call measured on
    // loopback (15 46 49 43 44 44 ms) against 2-15 ms with a fresh connection per call.
    this.http = new ProviderHttp({ caPem: conn.caPem, timeoutMs: this.timeoutMs, keepAlive: false });
  }

  /** Releases the client's sockets. Idempotent. */
  public close(): void {
    this.http.close();
  }

  // ---------------------------------------------------------------- ProviderClient

  /** Reads a user that does not exist: proves the admin key is accepted and has `users=read`. */
  public async checkAdmin(): Promise<void> {
    await this.call({
      operation: 'checkAdmin',
      keyId: this.conn.admin.accessKeyId,
      method: 'GET',
      path: '/admin/user',
      query: { uid: 'rekey-admin-check', format: 'json' },
      what: 'GET /admin/user',
      expect: [{ status: 200 }, { status: 404, code: 'NoSuchUser' }],
    });
  }

  public async ensureIdentity(identity: IdentitySpec): Promise<void> {
    for (const uid of this.uids(identity, 'ensureIdentity')) {
      const user = await this.getUser(uid, 'ensureIdentity');
      if (!user) await this.createUser(uid, {}, 'ensureIdentity');
      if (identity.policy) await this.ensurePolicy(uid, identity.policy);
    }
  }

  /**
   * Registers exactly `pair` (RGW keys are caller-chosen here; without a pair this refuses).
   * Idempotent: the key ID already on the identity with the same secret (RGW reveals stored
   * secrets to the admin; compared in constant time, never logged) is success; with another
   * secret it is refused (`KEY_EXISTS`) before any change (RGW would overwrite the secret).
   * A key ID held by another uid: RGW's 409 `KeyExists` (`WRONG_OWNER`), before any change.
   * `alternatingUsers`: the key goes to the uid not holding `options.currentKeyId`; only
   * `options.previousKeyId` may be removed from it first (see `planAlternate`).
   */
  public async addKey(identity: IdentitySpec, pair?: KeyPair, options: AddKeyOptions = {}): Promise<KeyPair> {
    if (!pair) {
      throw this.fail('addKey', undefined, 'PROVIDER_UNSUPPORTED', 'a key pair is required: got none. rekey draws the pair for ceph-rgw (rekey rotate) and the activate Job registers it');
    }
    const keyId = pair.accessKeyId;
    const uids = this.uids(identity, 'addKey', keyId);
    const users: Array<RgwUser & { secretOf: (id: string) => SecretValue | undefined }> = [];
    for (const uid of uids) {
      const user = await this.readUser(uid, 'addKey', keyId);
      if (!user) {
        throw providerError({ provider: PROVIDER, operation: 'addKey', keyId, code: 'IDENTITY_MISSING', status: 404, providerCode: 'NoSuchUser', message: `user '${uid}' does not exist: got 404 NoSuchUser. Run ensureIdentity first` });
      }
      users.push(user);
    }
    let target = users[0];
    let remove: readonly string[] = [];
    if (identity.kind === 'alternatingUsers') {
      const plan = planAlternate(PROVIDER, identity.name, [{ user: users[0].uid, keyIds: users[0].keyIds }, { user: users[1].uid, keyIds: users[1].keyIds }], options, keyId);
      target = users.find((u) => u.uid === plan.target)!;
      remove = plan.remove;
    } else if (target.suspended) {
      throw this.fail('addKey', keyId, 'PROVIDER_ERROR', `user '${target.uid}' is suspended: got suspended=1, so a new key would be rejected (403 UserSuspended). Enable the user (POST /admin/user?suspended=0) if the suspension is not deliberate`, { providerCode: 'UserSuspended' });
    }
    for (const u of users) {
      if (!u.keyIds.includes(keyId)) continue;
      const stored = u.secretOf(keyId);
      if (u.uid !== target.uid || !stored || !stored.equals(pair.secretAccessKey)) {
        throw this.fail(
          'addKey',
          keyId,
          'KEY_EXISTS',
          u.uid !== target.uid
            ? `access key already exists on user '${u.uid}', not on the user this rotation re-keys ('${target.uid}'): got it among that user's keys. Draw a new access-key ID (rekey rotate)`
            : `access key already exists on user '${u.uid}' with another secret: got it among the user's keys. Draw a new access-key ID (rekey rotate); RGW would overwrite the existing key's secret`,
          { providerCode: 'KeyExists' },
        );
      }
      if (u.suspended) {
        // a re-run after the key was added but before the uid was re-enabled (alternating only)
        await this.keepingPolicies(u.uid, 'addKey', keyId, () => this.setSuspended(u.uid, false, 'addKey', keyId));
      }
      return pair;
    }
    const uid = target.uid;
    const reEnable = identity.kind === 'alternatingUsers' && target.suspended;
    await this.keepingPolicies(uid, 'addKey', keyId, async () => {
      for (const old of remove) await this.removeUserKey(uid, old, 'addKey');
      await this.addUserKey(uid, pair, 'addKey');
      // The uid holds no other key now, so enabling it exposes only the new key.
      if (reEnable) await this.setSuspended(uid, false, 'addKey', keyId);
    });
    return pair;
  }

  public async listKeys(identity: IdentitySpec): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    for (const uid of this.uids(identity, 'listKeys')) {
      const user = await this.getUser(uid, 'listKeys');
      if (!user) continue;
      for (const id of user.keyIds) {
        out.push({ accessKeyId: id, status: user.suspended ? 'inactive' : 'active', owner: uid });
      }
    }
    return out;
  }

  /**
   * RGW cannot disable one S3 key (a key has no status; only a whole user can be suspended).
   * - `user`: throws a `ProviderError` with code `PROVIDER_UNSUPPORTED`; the rotator deletes the
   *   old key directly (the DESIGN's disable-then-delete applies to IAM and MinIO only).
   * - `alternatingUsers`: suspends the uid holding the key when it is that uid's only key, which
   *   disables exactly that key (403 `UserSuspended`); otherwise throws `PROVIDER_UNSUPPORTED`.
   *   `addKey` re-enables a suspended uid when it next gives it a key. A key on neither uid is
   *   success only when radosgw shows it absent (`absentEverywhere`).
   */
  public async disableKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    const uids = this.uids(identity, 'disableKey', accessKeyId);
    if (identity.kind === 'alternatingUsers') {
      for (const uid of uids) {
        const user = await this.getUser(uid, 'disableKey', accessKeyId);
        if (!user || !user.keyIds.includes(accessKeyId)) continue;
        if (user.keyIds.length === 1) {
          if (!user.suspended) {
            await this.keepingPolicies(uid, 'disableKey', accessKeyId, () =>
              this.setSuspended(uid, true, 'disableKey', accessKeyId),
            );
          }
          return;
        }
        throw this.fail('disableKey', accessKeyId, 'PROVIDER_UNSUPPORTED', `RGW cannot disable one of several keys: got user '${uid}' holding ${user.keyIds.length} keys. Delete the key instead (deleteKey)`);
      }
      await this.absentEverywhere('disableKey', uids, accessKeyId);
      return;
    }
    throw this.fail('disableKey', accessKeyId, 'PROVIDER_UNSUPPORTED', `RGW cannot disable a single S3 key: got identity kind '${identity.kind}'. Delete the key instead (deleteKey); it is rejected at once`);
  }

  /**
   * Deletes the key from whichever uid of the identity holds it. Absent from every uid of the
   * identity → success only when radosgw shows the key absent (`absentEverywhere`); a key held
   * by another uid is refused (`WRONG_OWNER`).
   */
  public async deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    const uids = this.uids(identity, 'deleteKey', accessKeyId);
    for (const uid of uids) {
      const user = await this.getUser(uid, 'deleteKey', accessKeyId);
      if (user?.keyIds.includes(accessKeyId)) {
        await this.keepingPolicies(uid, 'deleteKey', accessKeyId, () => this.removeUserKey(uid, accessKeyId, 'deleteKey'));
        return;
      }
    }
    await this.absentEverywhere('deleteKey', uids, accessKeyId);
  }

  /**
   * The key is on no uid of the identity (the uids were just read, so the admin can read users).
   * `GET /admin/user?access-key=` names the key's owner; radosgw 16.2.15 answers an unknown key
   * with 403 `AccessDenied` (measured), which — right after reading users by uid worked — means
   * absent. An owner outside the identity is refused (`WRONG_OWNER`).
   */
  private async absentEverywhere(operation: string, uids: readonly string[], accessKeyId: string): Promise<void> {
    const res = await this.call({
      operation,
      keyId: accessKeyId,
      method: 'GET',
      path: '/admin/user',
      query: { 'access-key': accessKeyId, format: 'json' },
      what: 'GET /admin/user?access-key',
      expect: [{ status: 200 }, { status: 403, code: 'AccessDenied' }, { status: 404, code: 'NoSuchKey' }, { status: 404, code: 'NoSuchUser' }],
    });
    if (res.status !== 200) {
      this.logger.log('info', 'provider call', { provider: PROVIDER, operation, keyId: accessKeyId, request: 'key absent', status: 'absent' });
      return;
    }
    const owner = parseUser(res.body, operation, accessKeyId);
    if (!owner.keyIds.includes(accessKeyId)) {
      throw this.fail(operation, accessKeyId, 'PROVIDER_ERROR', `GET /admin/user?access-key answered a user without that key: got user '${owner.uid}'. Check that the endpoint is radosgw, then re-run`);
    }
    throw this.fail(operation, accessKeyId, 'WRONG_OWNER', `the key belongs to another user: got '${owner.uid}', expected ${uids.map((u) => `'${u}'`).join(' or ')}. rekey only touches keys of the credential's own identity; check the key ID in the ledger`);
  }

  // ---------------------------------------------------------------- Admin Ops

  /** `GET /admin/user?uid=`: the user (key IDs only), or `undefined` when absent. */
  public async getUser(uid: string, operation = 'getUser', keyId?: string): Promise<RgwUser | undefined> {
    const res = await this.call({
      operation,
      keyId,
      method: 'GET',
      path: '/admin/user',
      query: { uid, format: 'json' },
      what: 'GET /admin/user',
      expect: [{ status: 200 }, { status: 404, code: 'NoSuchUser' }],
    });
    if (res.status === 404) return undefined;
    return parseUser(res.body, operation, keyId);
  }

  /** Like `getUser`, plus a lookup of a key's stored secret (kept in a SecretValue, never logged). */
  private async readUser(uid: string, operation: string, keyId?: string): Promise<(RgwUser & { secretOf: (id: string) => SecretValue | undefined }) | undefined> {
    const res = await this.call({
      operation,
      keyId,
      method: 'GET',
      path: '/admin/user',
      query: { uid, format: 'json' },
      what: 'GET /admin/user',
      expect: [{ status: 200 }, { status: 404, code: 'NoSuchUser' }],
    });
    if (res.status === 404) return undefined;
    const user = parseUser(res.body, operation, keyId);
    const secrets = parseSecrets(res.body);
    return { ...user, secretOf: (id: string) => secrets.get(id) };
  }

  /** `PUT /admin/user?uid=`: creates a user without any key. */
  public async createUser(uid: string, options: RgwCreateUserOptions = {}, operation = 'createUser'): Promise<void> {
    await this.call({
      operation,
      method: 'PUT',
      path: '/admin/user',
      query: {
        uid,
        'display-name': options.displayName ?? uid,
        'generate-key': 'false',
        ...(options.caps ? { 'user-caps': options.caps } : {}),
        format: 'json',
      },
      what: 'PUT /admin/user',
    });
  }

  /** `DELETE /admin/user?uid=&purge-data=false`. */
  public async removeUser(uid: string, operation = 'removeUser'): Promise<void> {
    await this.call({
      operation,
      method: 'DELETE',
      path: '/admin/user',
      query: { uid, format: 'json' },
      what: 'DELETE /admin/user',
      expect: [{ status: 200 }, { status: 404, code: 'NoSuchUser' }],
    });
  }

  /** `PUT /admin/user?key`: adds exactly this S3 pair to the uid (no existence check: see `addKey`). */
  public async addUserKey(uid: string, pair: KeyPair, operation = 'addUserKey'): Promise<void> {
    await this.call({
      operation,
      keyId: pair.accessKeyId,
      method: 'PUT',
      path: '/admin/user',
      query: {
        key: '',
        uid,
        'access-key': pair.accessKeyId,
        'secret-key': pair.secretAccessKey.reveal(),
        'key-type': 's3',
        format: 'json',
      },
      what: 'PUT /admin/user?key',
    });
  }

  /** `DELETE /admin/user?key`: removes the S3 key from the uid. */
  public async removeUserKey(uid: string, accessKeyId: string, operation = 'removeUserKey'): Promise<void> {
    await this.call({
      operation,
      keyId: accessKeyId,
      method: 'DELETE',
      path: '/admin/user',
      query: { key: '', uid, 'access-key': accessKeyId, 'key-type': 's3', format: 'json' },
      what: 'DELETE /admin/user?key',
    });
  }

  /** `POST /admin/user?uid=&suspended=1|0`. */
  public async setSuspended(uid: string, suspended: boolean, operation = 'setSuspended', keyId?: string): Promise<void> {
    await this.call({
      operation,
      keyId,
      method: 'POST',
      path: '/admin/user',
      query: { uid, suspended: suspended ? '1' : '0', format: 'json' },
      what: 'POST /admin/user',
    });
  }

  // ---------------------------------------------------------------- IAM user policies

  /** IAM `PutUserPolicy` (creates or replaces the inline policy). Needs the admin cap `user-policy=*`. */
  public async putUserPolicy(uid: string, policy: PolicySpec, operation = 'putUserPolicy', keyId?: string): Promise<void> {
    await this.call({
      operation,
      keyId,
      method: 'POST',
      path: '/',
      form: {
        Action: 'PutUserPolicy',
        Version: '2010-05-08',
        UserName: uid,
        PolicyName: policy.name,
        PolicyDocument: JSON.stringify(policy.document),
      },
      what: 'POST / Action=PutUserPolicy',
    });
  }

  /** IAM `ListUserPolicies`: the inline policy names (none: `[]`). */
  public async listUserPolicies(uid: string, operation = 'listUserPolicies', keyId?: string): Promise<string[]> {
    const res = await this.call({
      operation,
      keyId,
      method: 'POST',
      path: '/',
      form: { Action: 'ListUserPolicies', Version: '2010-05-08', UserName: uid },
      what: 'POST / Action=ListUserPolicies',
      // Pacific answers 404 NoSuchEntity for a user that has no policy yet (and for an absent user)
      expect: [{ status: 200 }, { status: 404, code: 'NoSuchEntity' }],
    });
    if (res.status === 404) return [];
    return [...res.body.matchAll(/<member>([^<]*)<\/member>/g)].map((m) => xmlUnescape(m[1]));
  }

  /** IAM `GetUserPolicy`: the parsed document, or `undefined` when absent (404 NoSuchEntity). */
  public async getUserPolicy(
    uid: string,
    policyName: string,
    operation = 'getUserPolicy',
    keyId?: string,
  ): Promise<Record<string, unknown> | undefined> {
    const res = await this.call({
      operation,
      keyId,
      method: 'POST',
      path: '/',
      form: { Action: 'GetUserPolicy', Version: '2010-05-08', UserName: uid, PolicyName: policyName },
      what: 'POST / Action=GetUserPolicy',
      expect: [{ status: 200 }, { status: 404, code: 'NoSuchEntity' }],
    });
    if (res.status === 404) return undefined;
    const m = /<PolicyDocument>([\s\S]*?)<\/PolicyDocument>/.exec(res.body);
    const text = m ? xmlUnescape(m[1]) : '';
    try {
      // RGW returns the document as (XML-escaped) JSON; AWS IAM URL-encodes it.
      const json = text.trimStart().startsWith('%7B') ? decodeURIComponent(text) : text;
      return JSON.parse(json) as Record<string, unknown>;
    } catch (cause) {
      throw new ProviderError({
        provider: PROVIDER,
        operation,
        status: res.status,
        message: `GetUserPolicy for user '${uid}' returned no readable policy document: got ${text.length} characters. Check the RGW version (Pacific or later)`,
        cause,
      });
    }
  }

  /** Attaches the policy if the uid has none; refuses any other existing policy. */
  private async ensurePolicy(uid: string, policy: PolicySpec): Promise<void> {
    const names = await this.listUserPolicies(uid, 'ensureIdentity');
    const others = names.filter((n) => n !== policy.name);
    if (others.length > 0) {
      throw providerError({
        provider: PROVIDER,
        operation: 'ensureIdentity',
        code: 'UNEXPECTED_POLICY',
        message: `user '${uid}' carries an unexpected policy: got ${others.map((n) => `'${n}'`).join(', ')}, expected only '${policy.name}'. Remove it at the provider or declare it in the credential's policy`,
      });
    }
    if (names.length === 0) {
      await this.putUserPolicy(uid, policy, 'ensureIdentity');
      return;
    }
    const current = await this.getUserPolicy(uid, policy.name, 'ensureIdentity');
    if (!current || canonicalJson(current) !== canonicalJson(policy.document)) {
      throw providerError({
        provider: PROVIDER,
        operation: 'ensureIdentity',
        code: 'UNEXPECTED_POLICY',
        message: `user '${uid}' policy '${policy.name}' differs from the declared document: got ${current ? canonicalJson(current) : 'none'}. Update the policy at the provider or change the credential's policy`,
      });
    }
  }

  /**
   * Runs a user-modifying Admin Ops call and puts back the user's inline policies if it dropped
   * them. Radosgw before Reef rewrites the user without its `user.rgw.user-policy` attribute on
   * every modify, key create and key remove (Ceph tracker #48761, fixed by ceph/ceph#53750):
   * measured on 16.2.15, `PUT /admin/user?key` leaves ListUserPolicies empty. Without this the
   * rotation would silently widen the identity's permissions (a dropped Deny, or a user that
   * falls back to its bucket ACLs).
   * - The snapshot comes first: if it cannot be taken (e.g. 403 without the `user-policy` cap),
   *   nothing is changed and the call fails (`PROVIDER_AUTH`): a drop could not be repaired.
   * - The restore runs whether `fn` succeeded or threw (a failed or lost-reply call may still have
   *   rewritten the user); `fn`'s error is rethrown afterwards, a restore failure is reported as
   *   `POLICY_RESTORE_FAILED` with the original error as `cause`.
   * A crash between the call and the restore is healed by the next `ensureIdentity` (declared
   * policies only) or by the re-run of the same step.
   */
  private async keepingPolicies(uid: string, operation: string, keyId: string, fn: () => Promise<void>): Promise<void> {
    const before: Array<{ name: string; document: Record<string, unknown> }> = [];
    try {
      for (const name of await this.listUserPolicies(uid, operation, keyId)) {
        const document = await this.getUserPolicy(uid, name, operation, keyId);
        if (document) before.push({ name, document });
      }
    } catch (err) {
      if (err instanceof ProviderError && err.status === 403 && err.providerCode === 'AccessDenied') {
        throw providerError({
          provider: PROVIDER,
          operation,
          keyId,
          code: 'PROVIDER_AUTH',
          status: 403,
          providerCode: 'AccessDenied',
          message: `cannot read the user policies of '${uid}' before changing it: got HTTP 403 AccessDenied. radosgw before Reef drops user policies on key changes and rekey must be able to restore them: grant the admin user caps user-policy=*; nothing was changed`,
          cause: err,
        });
      }
      throw err;
    }
    let failure: unknown;
    try {
      await fn();
    } catch (err) {
      failure = err;
    }
    if (before.length > 0) {
      try {
        const after = new Set(await this.listUserPolicies(uid, operation, keyId));
        for (const p of before) {
          if (after.has(p.name)) continue;
          this.logger.log('warn', 'user policy dropped by radosgw, restoring', { provider: PROVIDER, operation, keyId, uid, policy: p.name });
          await this.putUserPolicy(uid, p, operation, keyId);
        }
      } catch (cause) {
        throw providerError({
          provider: PROVIDER,
          operation,
          keyId,
          code: 'POLICY_RESTORE_FAILED',
          message: `radosgw may have dropped the policies ${before.map((p) => `'${p.name}'`).join(', ')} of user '${uid}' and restoring them failed: got ${cause instanceof Error ? cause.message : String(cause)}${failure instanceof Error ? ` (after: ${failure.message})` : ''}. Re-run the activate step (ensureIdentity puts the declared policy back) or put the policy back by hand`,
          cause: failure ?? cause,
        });
      }
    }
    if (failure !== undefined) throw failure;
  }

  // ---------------------------------------------------------------- plumbing

  private uids(identity: IdentitySpec, operation: string, keyId?: string): string[] {
    switch (identity.kind) {
      case 'user':
        return [identity.name];
      case 'alternatingUsers':
        return identity.users ? [identity.users[0], identity.users[1]] : [`${identity.name}-a`, `${identity.name}-b`];
      case 'serviceAccount':
        throw providerError({
          provider: PROVIDER,
          operation,
          keyId,
          code: 'IDENTITY_KIND_UNSUPPORTED',
          message: `identity kind serviceAccount is not supported: got serviceAccount '${identity.name}'. RGW subusers cannot hold their own policy; use kind user (two keys overlap on one uid) or alternatingUsers`,
        });
      case 'root':
        throw providerError({
          provider: PROVIDER,
          operation,
          keyId,
          code: 'ROOT_ROTATION_UNSUPPORTED',
          message: `identity kind root is not supported: got root '${identity.name}'. RGW has no root pair; rotate the admin user's key as kind user`,
        });
    }
  }

  private async call(spec: CallSpec): Promise<RgwResponse> {
    const started = Date.now();
    let res: RgwResponse | undefined;
    let netCode: string | undefined;
    try {
      try {
        res = await this.send(spec);
      } catch (err) {
        const { kind, code } = classifyTransportFailure(err);
        netCode = code;
        const maybe = spec.method === 'GET' ? '' : `. ${spec.what} may have been applied before the answer was lost: re-run the step (it looks before it acts)`;
        throw providerError({
          provider: PROVIDER,
          operation: spec.operation,
          keyId: spec.keyId,
          code: kind,
          providerCode: code,
          message: networkMessage(this.url, kind, code, this.timeoutMs) + maybe,
          cause: err,
        });
      }
      return this.check(spec, res);
    } finally {
      const expected = res !== undefined && (spec.expect ?? [{ status: 200 }]).some((e) => e.status === res?.status);
      this.logger.log(expected ? 'info' : 'warn', 'provider call', {
        provider: PROVIDER,
        operation: spec.operation,
        keyId: spec.keyId ?? null,
        request: spec.what,
        status: res?.status ?? null,
        error: res ? (res.status >= 300 ? (rgwCode(res.body) ?? null) : null) : (netCode ?? null),
        durationMs: Date.now() - started,
      });
    }
  }

  private check(spec: CallSpec, res: RgwResponse): RgwResponse {
    const code = rgwCode(res.body);
    const expected = spec.expect ?? [{ status: 200 }];
    if (expected.some((e) => e.status === res.status && (e.code === undefined || e.code === code))) return res;
    const { message, errorCode } = httpMessage(spec, res.status, code, this.conn.admin.accessKeyId);
    throw providerError({
      provider: PROVIDER,
      operation: spec.operation,
      keyId: spec.keyId,
      code: errorCode,
      status: res.status,
      providerCode: code,
      message,
    });
  }

  private async send(spec: CallSpec): Promise<RgwResponse> {
    const body = spec.form ? new URLSearchParams(spec.form).toString() : '';
    const headers: Record<string, string> = {
      host: this.url.host,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    };
    if (spec.form) headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
    const basePath = this.url.pathname.replace(/\/+$/, '');
    const request = new HttpRequest({
      method: spec.method,
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: basePath + spec.path,
      query: spec.query ?? {},
      headers,
      body: body || undefined,
    });
    const signed = await this.signer.sign(request);
    const qs = Object.entries(spec.query ?? {})
      .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)
      .join('&');
    const target = `${this.url.protocol}//${this.url.host}${basePath}${spec.path}${qs ? `?${qs}` : ''}`;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) out[k.toLowerCase()] = String(v);
    const answer = await this.http.send({ method: spec.method, url: target, headers: out, body: Buffer.from(body, 'utf8') });
    return { status: answer.status, body: answer.body.toString('utf8') };
  }

  private fail(operation: string, keyId: string | undefined, code: ProviderErrorCode, message: string, extra: { status?: number; providerCode?: string; cause?: unknown } = {}): ProviderError {
    return providerError({ provider: PROVIDER, operation, keyId, code, message, ...extra });
  }
}

// ---------------------------------------------------------------- helpers

function parseUser(body: string, operation: string, keyId?: string): RgwUser {
  let raw: {
    user_id?: string;
    display_name?: string;
    suspended?: number;
    keys?: Array<{ access_key?: string }>;
    caps?: Array<{ type?: string; perm?: string }>;
  };
  try {
    raw = JSON.parse(body) as typeof raw;
  } catch (cause) {
    throw new ProviderError({
      provider: PROVIDER,
      operation,
      keyId,
      status: 200,
      message: `GET /admin/user returned no JSON: got ${body.length} bytes. Check that the endpoint is radosgw`,
      cause,
    });
  }
  // The secrets in raw.keys[].secret_key are dropped here and never leave this function.
  return {
    uid: raw.user_id ?? '',
    displayName: raw.display_name ?? '',
    suspended: raw.suspended === 1,
    keyIds: (raw.keys ?? []).map((k) => k.access_key ?? '').filter((k) => k !== ''),
    caps: (raw.caps ?? []).map((c) => `${c.type}=${c.perm}`),
  };
}

/** The stored secrets of a `GET /admin/user` answer, each kept in a SecretValue (never logged). */
function parseSecrets(body: string): Map<string, SecretValue> {
  const out = new Map<string, SecretValue>();
  try {
    const raw = JSON.parse(body) as { keys?: Array<{ access_key?: string; secret_key?: string }> };
    for (const k of raw.keys ?? []) if (k.access_key && k.secret_key !== undefined) out.set(k.access_key, SecretValue.fromString(k.secret_key));
  } catch {
    // parseUser already reported an unreadable body
  }
  return out;
}

/** The RGW error code of a JSON (`{"Code":..}`) or XML (`<Code>..</Code>`) error body. */
export function rgwCode(body: string): string | undefined {
  const json = /"Code"\s*:\s*"([^"]*)"/.exec(body);
  if (json) return json[1] || undefined;
  const xml = /<Code>([^<]*)<\/Code>/.exec(body);
  return xml?.[1] || undefined;
}

function httpMessage(spec: CallSpec, status: number, code: string | undefined, adminKeyId: string): { message: string; errorCode: ProviderErrorCode } {
  const got = `got HTTP ${status}${code ? ` ${code}` : ''}`;
  if (status === 403 && (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch')) {
    return { errorCode: 'PROVIDER_AUTH', message: `the admin credential was refused on ${spec.what}: ${got}. Check the admin access key ${adminKeyId} and its secret` };
  }
  if (status === 403 && code === 'AccessDenied') {
    return { errorCode: 'PROVIDER_AUTH', message: `the admin user lacks a cap for ${spec.what}: ${got}. Grant it caps users=* (and user-policy=* for policies)` };
  }
  if (status === 409 && code === 'KeyExists') {
    return { errorCode: 'WRONG_OWNER', message: `the access key already belongs to another RGW user: ${got}. Draw a new access-key ID (rekey rotate)` };
  }
  if (status === 409 && code === 'UserAlreadyExists') {
    return { errorCode: 'PROVIDER_ERROR', message: `the user already exists: ${got}. Use ensureIdentity, which reads before it creates` };
  }
  if (status >= 500) {
    return { errorCode: 'PROVIDER_UNAVAILABLE', message: `RGW failed on ${spec.what}: ${got}. Nothing is assumed changed; retry, and check the radosgw log if it persists` };
  }
  return { errorCode: 'PROVIDER_ERROR', message: `RGW refused ${spec.what}: ${got}. Check the request against the RGW Admin Ops API` };
}

function networkMessage(url: URL, kind: ProviderErrorCode, code: string, timeoutMs: number): string {
  const where = url.origin;
  if (kind === 'PROVIDER_TIMEOUT') return `no answer from ${where} within ${timeoutMs} ms: got a timeout. Check the endpoint and the NetworkPolicy, or raise timeoutMs`;
  if (code === 'ECONNREFUSED') return `cannot connect to ${where}: got ECONNREFUSED. Check the endpoint host and port and that radosgw runs`;
  if (kind === 'PROVIDER_TLS') {
    return `TLS handshake with ${where} failed: got ${code}. Check the endpoint scheme (http vs https) and pass the CA as caPem`;
  }
  return `request to ${where} failed: got ${code}. Check the endpoint and the network path`;
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** JSON with object keys sorted, for comparing policy documents. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
