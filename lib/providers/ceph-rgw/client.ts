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
 *
 * RGW cannot disable one S3 key: see `disableKey`.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ProviderError } from '../../core/errors.js';
import { NULL_LOGGER, type Logger } from '../../core/log.js';
import type { IdentitySpec, KeyInfo, KeyPair, PolicySpec, ProviderClient, ProviderConnection } from '../provider.js';

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
  private readonly agent: http.Agent;

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
      sha256: Sha256,
      credentials: async () => ({
        accessKeyId: conn.admin.accessKeyId,
        secretAccessKey: conn.admin.secretAccessKey.reveal(),
      }),
    });
    // No keep-alive: radosgw (beast) writes a response in several small segments, and on a reused
    // connection the client's delayed ACK meets the server's Nagle: ~40 ms per call measured on
    // loopback (15 46 49 43 44 44 ms) against 2-15 ms with a fresh connection per call.
    this.agent =
      url.protocol === 'https:'
        ? new https.Agent({ keepAlive: false, ...(conn.caPem ? { ca: conn.caPem } : {}) })
        : new http.Agent({ keepAlive: false });
  }

  /** Releases the client's sockets. */
  public close(): void {
    this.agent.destroy();
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
   * Refuses, before any change, a key ID the identity already holds (RGW would overwrite its
   * secret) and maps RGW's `KeyExists` (held by another uid).
   */
  public async addKey(identity: IdentitySpec, pair?: KeyPair): Promise<KeyPair> {
    if (!pair) {
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'addKey',
        code: RGW_UNSUPPORTED,
        message:
          'a key pair is required: got none. rekey draws the pair for ceph-rgw (rekey rotate) and the activate Job registers it',
      });
    }
    const uids = this.uids(identity, 'addKey', pair.accessKeyId);
    const users: RgwUser[] = [];
    for (const uid of uids) {
      const user = await this.getUser(uid, 'addKey', pair.accessKeyId);
      if (!user) {
        throw new ProviderError({
          provider: PROVIDER,
          operation: 'addKey',
          keyId: pair.accessKeyId,
          status: 404,
          providerCode: 'NoSuchUser',
          message: `user '${uid}' does not exist: got 404 NoSuchUser. Run ensureIdentity first`,
        });
      }
      if (user.keyIds.includes(pair.accessKeyId)) {
        throw new ProviderError({
          provider: PROVIDER,
          operation: 'addKey',
          keyId: pair.accessKeyId,
          providerCode: 'KeyExists',
          message: `access key already exists on user '${uid}': got it among the user's keys. Draw a new access-key ID (rekey rotate); RGW would overwrite the existing key's secret`,
        });
      }
      users.push(user);
    }
    let target = users[0];
    if (identity.kind === 'user' && target.suspended) {
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'addKey',
        keyId: pair.accessKeyId,
        providerCode: 'UserSuspended',
        message: `user '${target.uid}' is suspended: got suspended=1, so a new key would be rejected (403 UserSuspended). Enable the user (POST /admin/user?suspended=0) if the suspension is not deliberate`,
      });
    }
    if (identity.kind === 'alternatingUsers') {
      const free = users.filter((u) => u.keyIds.length === 0);
      if (free.length === 0) {
        throw new ProviderError({
          provider: PROVIDER,
          operation: 'addKey',
          keyId: pair.accessKeyId,
          message: `both alternating users hold keys: got ${users.map((u) => `${u.uid} [${u.keyIds.join(', ')}]`).join(' and ')}. Finish the previous rotation (retire deletes the old key) before adding a new one`,
        });
      }
      target = free[0];
    }
    const uid = target.uid;
    const reEnable = identity.kind === 'alternatingUsers' && target.suspended;
    await this.keepingPolicies(uid, 'addKey', pair.accessKeyId, async () => {
      await this.addUserKey(uid, pair, 'addKey');
      // The uid held no other key, so enabling it exposes only the new key.
      if (reEnable) await this.setSuspended(uid, false, 'addKey', pair.accessKeyId);
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
   *   `addKey` re-enables a suspended uid when it next gives it a key.
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
        throw new ProviderError({
          provider: PROVIDER,
          operation: 'disableKey',
          keyId: accessKeyId,
          code: RGW_UNSUPPORTED,
          message: `RGW cannot disable one of several keys: got user '${uid}' holding ${user.keyIds.length} keys. Delete the key instead (deleteKey)`,
        });
      }
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'disableKey',
        keyId: accessKeyId,
        message: `access key not found on the alternating users: got none of ${uids.join(', ')} holding it. Check the key ID in the ledger`,
      });
    }
    throw new ProviderError({
      provider: PROVIDER,
      operation: 'disableKey',
      keyId: accessKeyId,
      code: RGW_UNSUPPORTED,
      message: `RGW cannot disable a single S3 key: got identity kind '${identity.kind}'. Delete the key instead (deleteKey); it is rejected at once`,
    });
  }

  /** Deletes the key from whichever uid of the identity holds it; absent → no-op. */
  public async deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    for (const uid of this.uids(identity, 'deleteKey', accessKeyId)) {
      const user = await this.getUser(uid, 'deleteKey', accessKeyId);
      if (user?.keyIds.includes(accessKeyId)) {
        await this.keepingPolicies(uid, 'deleteKey', accessKeyId, () => this.removeUserKey(uid, accessKeyId, 'deleteKey'));
      }
    }
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
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'ensureIdentity',
        message: `user '${uid}' carries an unexpected policy: got ${others.map((n) => `'${n}'`).join(', ')}, expected only '${policy.name}'. Remove it at the provider or declare it in the credential's policy`,
      });
    }
    if (names.length === 0) {
      await this.putUserPolicy(uid, policy, 'ensureIdentity');
      return;
    }
    const current = await this.getUserPolicy(uid, policy.name, 'ensureIdentity');
    if (!current || canonicalJson(current) !== canonicalJson(policy.document)) {
      throw new ProviderError({
        provider: PROVIDER,
        operation: 'ensureIdentity',
        message: `user '${uid}' policy '${policy.name}' differs from the declared document: got ${current ? canonicalJson(current) : 'none'}. Update the policy at the provider or change the credential's policy`,
      });
    }
  }

  /**
   * Runs a user-modifying Admin Ops call and puts back the user's inline policies if it dropped
   * them. Radosgw before Reef rewrites the user without its `user.rgw.user-policy` attribute on
   * every modify, key create and key remove (Ceph tracker #48761, fixed by ceph/ceph#53750):
   * measured on 16.2.15, `PUT /admin/user?key` leaves ListUserPolicies empty. Without this the
   * rotation would silently widen the identity's permissions. A crash between the call and the
   * restore is healed by the next `ensureIdentity` (declared policies only).
   */
  private async keepingPolicies(uid: string, operation: string, keyId: string, fn: () => Promise<void>): Promise<void> {
    let before: Array<{ name: string; document: Record<string, unknown> }>;
    try {
      before = [];
      for (const name of await this.listUserPolicies(uid, operation, keyId)) {
        const document = await this.getUserPolicy(uid, name, operation, keyId);
        if (document) before.push({ name, document });
      }
    } catch (err) {
      if (err instanceof ProviderError && err.status === 403 && err.providerCode === 'AccessDenied') {
        // No `user-policy` cap: we cannot see (or restore) policies; say so once and go on.
        this.logger.log('warn', 'user policies not checked', { provider: PROVIDER, operation, keyId, uid, reason: 'no user-policy cap' });
        await fn();
        return;
      }
      throw err;
    }
    await fn();
    if (before.length === 0) return;
    const after = new Set(await this.listUserPolicies(uid, operation, keyId));
    for (const p of before) {
      if (after.has(p.name)) continue;
      this.logger.log('warn', 'user policy dropped by radosgw, restoring', { provider: PROVIDER, operation, keyId, uid, policy: p.name });
      try {
        await this.putUserPolicy(uid, p, operation, keyId);
      } catch (cause) {
        throw new ProviderError({
          provider: PROVIDER,
          operation,
          keyId,
          message: `radosgw dropped policy '${p.name}' of user '${uid}' and restoring it failed: got ${cause instanceof Error ? cause.message : String(cause)}. Re-run the step (ensureIdentity restores declared policies) or put the policy back by hand`,
          cause,
        });
      }
    }
  }

  // ---------------------------------------------------------------- plumbing

  private uids(identity: IdentitySpec, operation: string, keyId?: string): string[] {
    switch (identity.kind) {
      case 'user':
        return [identity.name];
      case 'alternatingUsers':
        return identity.users ? [identity.users[0], identity.users[1]] : [`${identity.name}-a`, `${identity.name}-b`];
      case 'serviceAccount':
        throw new ProviderError({
          provider: PROVIDER,
          operation,
          keyId,
          code: RGW_UNSUPPORTED,
          message: `identity kind serviceAccount is not supported: got serviceAccount '${identity.name}'. RGW subusers cannot hold their own policy; use kind user (two keys overlap on one uid) or alternatingUsers`,
        });
      case 'root':
        throw new ProviderError({
          provider: PROVIDER,
          operation,
          keyId,
          code: RGW_UNSUPPORTED,
          message: `identity kind root is not supported: got root '${identity.name}'. RGW has no root pair; rotate the admin user's key as kind user`,
        });
    }
  }

  private async call(spec: CallSpec): Promise<RgwResponse> {
    const started = Date.now();
    let res: RgwResponse | undefined;
    let netCode: string | undefined;
    try {
      res = await this.send(spec);
      return this.check(spec, res);
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      netCode = errorCode(err);
      throw new ProviderError({
        provider: PROVIDER,
        operation: spec.operation,
        keyId: spec.keyId,
        providerCode: netCode,
        message: networkMessage(this.url, netCode, this.timeoutMs),
        cause: err,
      });
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
    throw new ProviderError({
      provider: PROVIDER,
      operation: spec.operation,
      keyId: spec.keyId,
      status: res.status,
      providerCode: code,
      message: httpMessage(spec, res.status, code, this.conn.admin.accessKeyId),
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
    const target = basePath + spec.path + (qs ? `?${qs}` : '');
    const mod = this.url.protocol === 'https:' ? https : http;
    return await new Promise<RgwResponse>((resolve, reject) => {
      const req = mod.request(
        {
          method: spec.method,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: target,
          headers: { ...signed.headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          r.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body || undefined);
    });
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

/** The RGW error code of a JSON (`{"Code":..}`) or XML (`<Code>..</Code>`) error body. */
export function rgwCode(body: string): string | undefined {
  const json = /"Code"\s*:\s*"([^"]*)"/.exec(body);
  if (json) return json[1] || undefined;
  const xml = /<Code>([^<]*)<\/Code>/.exec(body);
  return xml?.[1] || undefined;
}

function httpMessage(spec: CallSpec, status: number, code: string | undefined, adminKeyId: string): string {
  const got = `got HTTP ${status}${code ? ` ${code}` : ''}`;
  if (status === 403 && (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch')) {
    return `the admin credential was refused on ${spec.what}: ${got}. Check the admin access key ${adminKeyId} and its secret`;
  }
  if (status === 403 && code === 'AccessDenied') {
    return `the admin user lacks a cap for ${spec.what}: ${got}. Grant it caps users=* (and user-policy=* for policies)`;
  }
  if (status === 409 && code === 'KeyExists') {
    return `the access key already belongs to another RGW user: ${got}. Draw a new access-key ID (rekey rotate)`;
  }
  if (status === 409 && code === 'UserAlreadyExists') {
    return `the user already exists: ${got}. Use ensureIdentity, which reads before it creates`;
  }
  if (status >= 500) {
    return `RGW failed on ${spec.what}: ${got}. Nothing is assumed changed; retry, and check the radosgw log if it persists`;
  }
  return `RGW refused ${spec.what}: ${got}. Check the request against the RGW Admin Ops API`;
}

function networkMessage(url: URL, code: string | undefined, timeoutMs: number): string {
  const where = url.origin;
  if (code === 'ETIMEDOUT') return `no answer from ${where} within ${timeoutMs} ms: got a timeout. Check the endpoint and the NetworkPolicy, or raise timeoutMs`;
  if (code === 'ECONNREFUSED') return `cannot connect to ${where}: got ECONNREFUSED. Check the endpoint host and port and that radosgw runs`;
  if (code && (/CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) || code === 'ECONNRESET' && url.protocol === 'https:')) {
    return `TLS handshake with ${where} failed: got ${code}. Check the endpoint scheme (http vs https) and pass the CA as caPem`;
  }
  return `request to ${where} failed: got ${code ?? 'an unknown network error'}. Check the endpoint and the network path`;
}

function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; cause?: unknown };
    if (typeof e.code === 'string') return e.code;
    if (e.cause) return errorCode(e.cause);
  }
  return undefined;
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
