/**
 * The MinIO admin API client for `minio` and `rustfs` (RustFS serves the same API under
 * `/minio/admin/v3`, with the same madmin-encrypted bodies).
 *
 * It sends exactly what madmin-go 2.0.7 sends (method, path, query order, SigV4 with service
 * `s3` and an EMPTY region, `x-amz-content-sha256` = payload hash, madmin-encrypted bodies
 * keyed with the admin secret) — compared request by request with a capture of the real
 * client in the tests.
 *
 * Identity mapping:
 * - `serviceAccount`: the identity name is the parent user; every key is a service account of
 *   it (`add-service-account` with the given pair, `update-service-account` newStatus off,
 *   `delete-service-account`, `list-service-accounts`). `ensureIdentity` creates the parent
 *   user with a random secret nobody uses, upserts the canned policy and attaches it.
 * - `user`: every key is a user of its own carrying the identity's policy (`add-user`,
 *   `set-user-status`, `remove-user`); `listKeys` lists the users that carry that policy, so
 *   give each `user` credential its own policy name.
 * - `root`: refused. MinIO fixes its root pair at first start (MINIO_ROOT_USER /
 *   MINIO_ROOT_PASSWORD); RustFS has no admin route to change it: it is rotated by restarting
 *   RustFS with new RUSTFS_ACCESS_KEY / RUSTFS_SECRET_KEY (and RUSTFS_RPC_SECRET set first).
 * - `alternatingUsers`: not offered by this client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { NodeSha256 } from '../sha256.js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ProviderError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { SecretValue } from '../../core/secret-value.js';
import { MadminCipher } from './madmin.js';
import { ProviderHttp, classifyTransportFailure, type HttpAnswer, type HttpExchange } from '../http.js';
import { providerError, type AddKeyOptions, type IdentitySpec, type KeyInfo, type KeyPair, type PolicySpec, type ProviderClient, type ProviderConnection, type ProviderErrorCode } from '../provider.js';
import { probeSecret } from '../s3/probe.js';

/** The admin API prefix madmin-go uses (RustFS maps it onto its own `/rustfs/admin`). */
export const MINIO_ADMIN_PREFIX = '/minio/admin/v3';

/** One HTTP exchange, as the transport sees it. */
export type AdminHttpRequest = HttpExchange;

/** The answer of a transport. */
export type AdminHttpResponse = HttpAnswer;

/** Sends one request. */
export type AdminTransport = (req: AdminHttpRequest) => Promise<AdminHttpResponse>;

/** Props of {@link MinioAdminClient}. */
export interface MinioAdminClientProps {
  /** Which server speaks the API: decides error texts and root-rotation advice. */
  readonly kind: 'minio' | 'rustfs';
  /** Clock for SigV4 dates. @default - the system clock */
  readonly clock?: () => Date;
  /** Randomness for madmin salts/nonces and the parent users' unused secrets. @default - node:crypto randomBytes */
  readonly random?: (n: number) => Buffer;
  /** madmin algorithm for request bodies. @default 0 (Argon2id + AES-256-GCM, as madmin-go on amd64/arm64) */
  readonly algorithm?: 0 | 1 | 2;
  /**
   * How requests travel. @default - the shared provider transport (`@smithy/node-http-handler`,
   * a total deadline of `connection.timeoutMs` per call, trusting `connection.caPem` when given)
   */
  readonly transport?: AdminTransport;
}

/** One admin call, described for {@link MinioAdminClient.send}. */
interface AdminCall {
  /** The client-level operation (for errors), e.g. `addKey`. */
  readonly operation: string;
  /** Key ID or user the call is about (logs, errors); never a secret. */
  readonly keyId?: string;
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Path below `/minio/admin/v3`, e.g. `/add-user`. */
  readonly path: string;
  readonly query?: Record<string, string>;
  /** Plaintext JSON body; encrypted with the admin secret unless `plainBody`. */
  readonly body?: Buffer;
  readonly plainBody?: boolean;
  /** Status codes that mean success (madmin-go's check). */
  readonly ok: readonly number[];
  /** Status codes answered without throwing (e.g. 404 for "absent"). */
  readonly tolerate?: readonly number[];
  /** Decrypt the answer with the admin secret. */
  readonly encryptedAnswer?: boolean;
  /**
   * Sending it twice leaves the server as sending it once (it sets a state: a user's secret and
   * status, a key's status, a policy document or mapping). Creates and deletes are not: the
   * second answer is an error. The transport may retry only these after an idle-socket reset.
   * @default - true for GET only
   */
  readonly idempotent?: boolean;
}

interface AdminAnswer {
  readonly status: number;
  readonly body: Buffer;
  readonly code?: string;
}

/** Names a low-level call inside a client-level operation (for logs and errors). */
export interface CallContext {
  /** The client-level operation. @default - the method's own name, e.g. `addUser` */
  readonly operation?: string;
  /** The key ID or user to name. @default - the access key / user the call is about */
  readonly keyId?: string;
}

/** What `user-info` reports (madmin.UserInfo). */
export interface MinioUserInfo {
  readonly policyName?: string;
  readonly status: 'enabled' | 'disabled';
  readonly memberOf?: string[];
  readonly updatedAt?: string;
}

/** What `info-service-account` reports (madmin.InfoServiceAccountResp). */
export interface MinioServiceAccountInfo {
  readonly parentUser: string;
  readonly accountStatus: 'on' | 'off';
  readonly impliedPolicy: boolean;
  readonly policy?: string;
  readonly comment?: string;
}

/**
 * A `ProviderClient` for MinIO and RustFS through the MinIO admin API.
 *
 * ```ts
 * const client = new MinioAdminClient(
 *   { endpoint: 'http://rustfs.storage.svc:9000', admin: { accessKeyId, secretAccessKey } },
 *   { kind: 'rustfs' },
 * );
 * ```
 * The low-level methods (`addUser`, `addServiceAccount`, …) are the madmin-go calls of the
 * same names, one HTTP request each; the `ProviderClient` methods compose them and check
 * before they change anything.
 */
export class MinioAdminClient implements ProviderClient {
  public readonly kind: 'minio' | 'rustfs';
  private readonly conn: ProviderConnection;
  private readonly endpoint: URL;
  private readonly clock: () => Date;
  private readonly random: (n: number) => Buffer;
  private readonly algorithm: 0 | 1 | 2;
  private readonly transport: AdminTransport;
  private readonly http?: ProviderHttp;
  /** madmin bodies: one Argon2id derivation per run for requests (fresh nonce per body), answers' keys cached per salt. */
  private readonly cipher: MadminCipher;
  private readonly logger?: Logger;

  public constructor(conn: ProviderConnection, props: MinioAdminClientProps) {
    this.kind = props.kind;
    this.conn = conn;
    let endpoint: URL;
    try {
      endpoint = new URL(conn.endpoint);
    } catch (cause) {
      throw this.error('connect', undefined, `connection.endpoint is not a URL: got ${JSON.stringify(conn.endpoint)}. Use e.g. http://minio.storage.svc:9000.`, { cause });
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw this.error('connect', undefined, `connection.endpoint must be http or https: got ${endpoint.protocol}. Use e.g. https://minio.storage.svc:9000.`);
    }
    this.endpoint = endpoint;
    this.clock = props.clock ?? (() => new Date());
    this.random = props.random ?? randomBytes;
    this.algorithm = props.algorithm ?? 0;
    this.cipher = new MadminCipher(conn.admin.secretAccessKey, { algorithm: this.algorithm, random: this.random });
    if (props.transport) {
      this.transport = props.transport;
    } else {
      const h = new ProviderHttp({ caPem: conn.caPem, timeoutMs: conn.timeoutMs ?? 10000 });
      this.http = h;
      this.transport = (req) => h.send(req);
    }
    this.logger = conn.logger;
  }

  // ----------------------------------------------------------------- ProviderClient

  /** Proves the admin credential works: `GET list-canned-policies` (read-only). */
  public async checkAdmin(): Promise<void> {
    await this.send({ operation: 'checkAdmin', keyId: this.conn.admin.accessKeyId, method: 'GET', path: '/list-canned-policies', ok: [200] });
  }

  public async ensureIdentity(identity: IdentitySpec): Promise<void> {
    this.assertSupported('ensureIdentity', identity);
    const ctx = { operation: 'ensureIdentity', keyId: identity.name };
    if (identity.kind === 'user') {
      if (!identity.policy) {
        throw this.error('ensureIdentity', identity.name, `identity ${identity.name} of kind user has no policy: got none. A MinIO/RustFS user credential's keys are the users carrying its policy: set identity.policy.`);
      }
      await this.addCannedPolicy(identity.policy.name, identity.policy.document, ctx);
      return;
    }
    // Look before changing anything: an existing parent with another policy is refused untouched.
    const info = await this.userInfo(identity.name, ctx);
    const attached = splitPolicies(info?.policyName);
    if (identity.policy && attached.length > 0 && (attached.length !== 1 || attached[0] !== identity.policy.name)) {
      throw this.error(
        'ensureIdentity',
        identity.name,
        `user ${identity.name} exists with another policy: got ${JSON.stringify(info?.policyName)}, expected ${JSON.stringify(identity.policy.name)}. rekey does not take over a user it did not set up: attach only ${identity.policy.name} to ${identity.name} by hand (mc admin policy attach/detach), or give the credential another identity name.`,
        { code: 'UNEXPECTED_POLICY' },
      );
    }
    if (identity.policy) await this.addCannedPolicy(identity.policy.name, identity.policy.document, ctx);
    if (info === undefined) {
      // The parent's own secret is never used by consumers: a random one, dropped at once.
      await this.addUser(identity.name, SecretValue.fromString(this.random(30).toString('base64url')), ctx);
    }
    if (identity.policy && attached.length === 0) {
      await this.attachPolicy(identity.name, [identity.policy.name], ctx);
    }
  }

  /**
   * Registers exactly `pair` (a service account of the parent user, or a user carrying the
   * identity's policy). Idempotent: when the key ID already exists on this identity, enabled,
   * and one signed S3 `GET /` with the pair passes the signature check (200 or 403
   * AccessDenied; MinIO never reveals a stored secret), the pair counts as registered — and a
   * `user` key whose policy attach was lost gets it attached. Another secret, another owner or
   * a disabled key is refused (`KEY_EXISTS` / `WRONG_OWNER`) before any change.
   */
  public async addKey(identity: IdentitySpec, pair?: KeyPair, _options: AddKeyOptions = {}): Promise<KeyPair> {
    this.assertSupported('addKey', identity);
    const keyId = pair?.accessKeyId;
    if (identity.kind === 'user') {
      if (!pair) {
        throw this.error('addKey', identity.name, `a user key needs a caller-chosen pair: got none. MinIO/RustFS users are created with their secret; pass the pair rekey rotate drew.`, { code: 'PROVIDER_UNSUPPORTED' });
      }
      if (!identity.policy) {
        throw this.error('addKey', keyId, `identity ${identity.name} of kind user has no policy: got none. Set identity.policy so the new user gets it.`);
      }
      const ctx = { operation: 'addKey', keyId: keyId ?? identity.name };
      const existing = await this.existingKey(identity, pair);
      if (existing === 'registered') return pair;
      if (existing === 'registeredWithoutPolicy') {
        await this.attachPolicy(pair.accessKeyId, [identity.policy.name], ctx);
        return pair;
      }
      await this.addUser(pair.accessKeyId, pair.secretAccessKey, ctx);
      await this.attachPolicy(pair.accessKeyId, [identity.policy.name], ctx);
      return pair;
    }
    if (pair && (await this.existingKey(identity, pair)) === 'registered') return pair;
    try {
      const created = await this.addServiceAccount(identity.name, pair, { operation: 'addKey', keyId: keyId ?? identity.name });
      return pair ?? created;
    } catch (e) {
      // An earlier attempt of ours that timed out may have been applied after our look above:
      // the server then refuses the add as a duplicate. Look again; our own pair counts as done.
      if (pair && e instanceof ProviderError && e.status === 409 && (await this.existingKey(identity, pair)) === 'registered') return pair;
      throw e;
    }
  }

  public async listKeys(identity: IdentitySpec): Promise<KeyInfo[]> {
    this.assertSupported('listKeys', identity);
    if (identity.kind === 'user') {
      const policy = identity.policy?.name;
      if (!policy) {
        throw this.error('listKeys', identity.name, `identity ${identity.name} of kind user has no policy: got none. Its keys are the users carrying its policy: set identity.policy.`);
      }
      const users = await this.listUsers({ operation: 'listKeys', keyId: identity.name });
      return Object.entries(users)
        .filter(([, u]) => splitPolicies(u.policyName).includes(policy))
        .map(([accessKeyId, u]) => ({ accessKeyId, status: u.status === 'enabled' ? 'active' : 'inactive', owner: accessKeyId, ...(u.updatedAt ? { createdAt: u.updatedAt } : {}) }) as KeyInfo)
        .sort((a, b) => a.accessKeyId.localeCompare(b.accessKeyId));
    }
    const accounts = await this.listServiceAccounts(identity.name, { operation: 'listKeys', keyId: identity.name });
    const keys: KeyInfo[] = [];
    for (const account of accounts) {
      let status = account.accountStatus;
      if (status === undefined) {
        const info = await this.infoServiceAccount(account.accessKey, { operation: 'listKeys', keyId: identity.name });
        if (info === undefined) continue; // deleted meanwhile
        status = info.accountStatus;
      }
      keys.push({ accessKeyId: account.accessKey, status: status === 'on' ? 'active' : 'inactive', owner: identity.name });
    }
    return keys.sort((a, b) => a.accessKeyId.localeCompare(b.accessKeyId));
  }

  public async disableKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    this.assertSupported('disableKey', identity);
    const ctx = { operation: 'disableKey', keyId: accessKeyId };
    if (identity.kind === 'user') {
      const info = await this.userInfo(accessKeyId, ctx);
      if (info === undefined) return this.absentEverywhere('disableKey', identity, accessKeyId);
      this.assertUserOfIdentity('disableKey', identity, accessKeyId, info);
      if (info.status === 'disabled') return;
      await this.setUserStatus(accessKeyId, 'disabled', ctx);
      return;
    }
    const info = await this.infoServiceAccount(accessKeyId, ctx);
    if (info === undefined) return this.absentEverywhere('disableKey', identity, accessKeyId);
    this.assertOwner('disableKey', identity, accessKeyId, info);
    if (info.accountStatus === 'off') return;
    await this.updateServiceAccount(accessKeyId, { newStatus: 'off' }, ctx);
  }

  public async deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    this.assertSupported('deleteKey', identity);
    const ctx = { operation: 'deleteKey', keyId: accessKeyId };
    if (identity.kind === 'user') {
      const info = await this.userInfo(accessKeyId, ctx);
      if (info === undefined) return this.absentEverywhere('deleteKey', identity, accessKeyId);
      this.assertUserOfIdentity('deleteKey', identity, accessKeyId, info);
      await this.removeUser(accessKeyId, ctx);
      return;
    }
    const info = await this.infoServiceAccount(accessKeyId, ctx);
    if (info === undefined) return this.absentEverywhere('deleteKey', identity, accessKeyId);
    this.assertOwner('deleteKey', identity, accessKeyId, info);
    await this.deleteServiceAccount(accessKeyId, ctx);
  }

  /** Releases the transport's sockets. Idempotent. */
  public close(): void {
    this.http?.close();
  }

  // ----------------------------------------------------------------- madmin-go calls

  /** `AddUser`: `PUT add-user?accessKey=` with `{"secretKey","status":"enabled"}` encrypted. */
  public async addUser(accessKey: string, secretKey: SecretValue, ctx: CallContext = {}): Promise<void> {
    await this.setUser(accessKey, secretKey, 'enabled', { operation: 'addUser', ...ctx });
  }

  /** `SetUser`: `PUT add-user?accessKey=` with `{"secretKey","status"}` encrypted (needs the user's secret). */
  public async setUser(accessKey: string, secretKey: SecretValue, status: 'enabled' | 'disabled', ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'setUser';
    const body = goJson({ secretKey: secretKey.reveal(), status });
    await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'PUT', path: '/add-user', query: { accessKey }, body, idempotent: true, ok: [200] });
  }

  /** `SetUserStatus`: `PUT set-user-status?accessKey=&status=` (no body, no secret needed). */
  public async setUserStatus(accessKey: string, status: 'enabled' | 'disabled', ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'setUserStatus';
    await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'PUT', path: '/set-user-status', query: { accessKey, status }, idempotent: true, ok: [200] });
  }

  /** `GetUserInfo`: `GET user-info?accessKey=`; `undefined` when the user does not exist. */
  public async userInfo(accessKey: string, ctx: CallContext = {}): Promise<MinioUserInfo | undefined> {
    const operation = ctx.operation ?? 'userInfo';
    const ans = await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'GET', path: '/user-info', query: { accessKey }, ok: [200], tolerate: [404] });
    if (ans.status === 404) return this.absentOr(ans, 'XMinioAdminNoSuchUser', operation, ctx.keyId ?? accessKey);
    return this.json<MinioUserInfo>(ans, operation, ctx.keyId ?? accessKey);
  }

  /** `ListUsers`: `GET list-users` (answer encrypted). */
  public async listUsers(ctx: CallContext = {}): Promise<Record<string, MinioUserInfo>> {
    const operation = ctx.operation ?? 'listUsers';
    const ans = await this.send({ operation, keyId: ctx.keyId, method: 'GET', path: '/list-users', ok: [200], encryptedAnswer: true });
    return this.json<Record<string, MinioUserInfo>>(ans, operation, undefined);
  }

  /** `RemoveUser`: `DELETE remove-user?accessKey=`. */
  public async removeUser(accessKey: string, ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'removeUser';
    await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'DELETE', path: '/remove-user', query: { accessKey }, ok: [200] });
  }

  /** `AddCannedPolicy`: `PUT add-canned-policy?name=` with the policy JSON (plain). */
  public async addCannedPolicy(name: string, document: PolicySpec['document'], ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'addCannedPolicy';
    await this.send({ operation, keyId: ctx.keyId ?? name, method: 'PUT', path: '/add-canned-policy', query: { name }, body: Buffer.from(JSON.stringify(document)), plainBody: true, idempotent: true, ok: [200] });
  }

  /** `SetPolicy`: `PUT set-user-or-group-policy?isGroup=&policyName=&userOrGroup=` (replaces the user's policies). */
  public async setPolicy(policyName: string, userOrGroup: string, isGroup = false, ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'setPolicy';
    await this.send({ operation, keyId: ctx.keyId ?? userOrGroup, method: 'PUT', path: '/set-user-or-group-policy', query: { isGroup: String(isGroup), policyName, userOrGroup }, idempotent: true, ok: [200] });
  }

  /** `AttachPolicy`: `POST idp/builtin/policy/attach` with `{"policies","user"}` encrypted; 201 on success. */
  public async attachPolicy(user: string, policies: readonly string[], ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'attachPolicy';
    const body = goJson({ policies, user });
    await this.send({ operation, keyId: ctx.keyId ?? user, method: 'POST', path: '/idp/builtin/policy/attach', body, ok: [201] });
  }

  /**
   * `AddServiceAccount`: `PUT add-service-account` with `{"targetUser","accessKey","secretKey"}`
   * encrypted; the answer (encrypted) carries the credentials (the server draws them when no pair is given).
   */
  public async addServiceAccount(targetUser: string, pair: KeyPair | undefined, ctx: CallContext = {}): Promise<KeyPair> {
    const operation = ctx.operation ?? 'addServiceAccount';
    const req: Record<string, string> = { targetUser };
    if (pair) {
      req.accessKey = pair.accessKeyId;
      req.secretKey = pair.secretAccessKey.reveal();
    }
    const ans = await this.send({ operation, keyId: ctx.keyId ?? pair?.accessKeyId ?? targetUser, method: 'PUT', path: '/add-service-account', body: goJson(req), ok: [200], encryptedAnswer: true });
    const parsed = this.json<{ credentials?: { accessKey?: string; secretKey?: string } }>(ans, operation, pair?.accessKeyId);
    const accessKey = parsed.credentials?.accessKey;
    const secretKey = parsed.credentials?.secretKey;
    if (!accessKey || !secretKey) {
      throw this.error(operation, pair?.accessKeyId, `add-service-account answered without credentials: got keys ${JSON.stringify(Object.keys(parsed.credentials ?? parsed))}. Check that the endpoint is a MinIO/RustFS admin API.`);
    }
    return { accessKeyId: accessKey, secretAccessKey: SecretValue.fromString(secretKey) };
  }

  /** `UpdateServiceAccount`: `POST update-service-account?accessKey=` with e.g. `{"newStatus":"off"}` encrypted; 204. */
  public async updateServiceAccount(accessKey: string, update: { readonly newStatus?: 'on' | 'off'; readonly newSecretKey?: SecretValue }, ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'updateServiceAccount';
    const req: Record<string, string> = {};
    if (update.newSecretKey) req.newSecretKey = update.newSecretKey.reveal();
    if (update.newStatus) req.newStatus = update.newStatus;
    await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'POST', path: '/update-service-account', query: { accessKey }, body: goJson(req), idempotent: true, ok: [204] });
  }

  /**
   * `ListServiceAccounts`: `GET list-service-accounts?user=` (answer encrypted). madmin-go 2.0.7
   * reads `{"accounts":["AK",…]}`; newer servers answer objects with `accessKey` and
   * `accountStatus`: both are accepted.
   */
  public async listServiceAccounts(user: string, ctx: CallContext = {}): Promise<Array<{ accessKey: string; accountStatus?: 'on' | 'off' }>> {
    const operation = ctx.operation ?? 'listServiceAccounts';
    const ans = await this.send({ operation, keyId: ctx.keyId ?? user, method: 'GET', path: '/list-service-accounts', query: { user }, ok: [200], encryptedAnswer: true });
    const parsed = this.json<{ accounts?: Array<string | { accessKey: string; accountStatus?: 'on' | 'off' }> | null }>(ans, operation, ctx.keyId ?? user);
    return (parsed.accounts ?? []).map((a) => (typeof a === 'string' ? { accessKey: a } : { accessKey: a.accessKey, accountStatus: a.accountStatus }));
  }

  /** `InfoServiceAccount`: `GET info-service-account?accessKey=` (answer encrypted); `undefined` when absent. */
  public async infoServiceAccount(accessKey: string, ctx: CallContext = {}): Promise<MinioServiceAccountInfo | undefined> {
    const operation = ctx.operation ?? 'infoServiceAccount';
    const ans = await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'GET', path: '/info-service-account', query: { accessKey }, ok: [200], tolerate: [404], encryptedAnswer: true });
    if (ans.status === 404) return this.absentOr(ans, 'XMinioAdminServiceAccountNotFound', operation, ctx.keyId ?? accessKey);
    return this.json<MinioServiceAccountInfo>(ans, operation, ctx.keyId ?? accessKey);
  }

  /** `DeleteServiceAccount`: `DELETE delete-service-account?accessKey=`; 204. */
  public async deleteServiceAccount(accessKey: string, ctx: CallContext = {}): Promise<void> {
    const operation = ctx.operation ?? 'deleteServiceAccount';
    await this.send({ operation, keyId: ctx.keyId ?? accessKey, method: 'DELETE', path: '/delete-service-account', query: { accessKey }, ok: [204] });
  }

  // ----------------------------------------------------------------- signing and transport

  /**
   * Builds and signs one request as madmin-go does. `payloadHash` overrides the hash of
   * `body` (only to compare a signature against a recorded request whose body is unknown).
   */
  public async signRequest(method: string, path: string, query: Readonly<Record<string, string>>, body: Buffer, date: Date, payloadHash?: string): Promise<AdminHttpRequest> {
    const qs = encodeQuery(query);
    const hash = payloadHash ?? createHash('sha256').update(body).digest('hex');
    const request = new HttpRequest({
      method,
      protocol: this.endpoint.protocol,
      hostname: this.endpoint.hostname,
      port: this.endpoint.port ? Number(this.endpoint.port) : undefined,
      path: `${MINIO_ADMIN_PREFIX}${path}`,
      query: { ...query },
      headers: { host: this.endpoint.host, 'x-amz-content-sha256': hash },
      body,
    });
    const admin = this.conn.admin;
    const signer = new SignatureV4({
      service: 's3',
      region: this.conn.region ?? '',
      sha256: NodeSha256,
      uriEscapePath: false,
      credentials: async () => ({ accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey.reveal() }),
    });
    const signed = await signer.sign(request, { signingDate: date });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = String(v);
    headers['content-length'] = String(body.length);
    const url = `${this.endpoint.protocol}//${this.endpoint.host}${MINIO_ADMIN_PREFIX}${path}${qs ? `?${qs}` : ''}`;
    return { method, url, headers, body };
  }

  private async send(call: AdminCall): Promise<AdminAnswer> {
    const started = Date.now();
    let status: number | string = 'error';
    try {
      const plain = call.body ?? Buffer.alloc(0);
      const body =
        call.body === undefined || call.plainBody
          ? plain
          : await this.cipher.encrypt(plain);
      const req = await this.signRequest(call.method, call.path, call.query ?? {}, body, this.clock());
      let res: AdminHttpResponse;
      try {
        res = await this.transport({ ...req, idempotent: call.idempotent ?? call.method === 'GET' });
      } catch (cause) {
        status = classifyTransportFailure(cause).code;
        throw this.transportError(call, cause);
      }
      status = res.status;
      if (call.ok.includes(res.status)) {
        const answer = call.encryptedAnswer ? await this.decryptAnswer(call, res.body) : res.body;
        return { status: res.status, body: answer };
      }
      const parsed = parseErrorBody(res.body);
      if (call.tolerate?.includes(res.status)) return { status: res.status, body: res.body, code: parsed.code };
      throw this.httpError(call, res.status, parsed);
    } finally {
      this.logger?.log(typeof status === 'number' && status < 400 ? 'info' : 'warn', 'provider call', {
        provider: this.kind,
        operation: call.operation,
        call: call.path.slice(1),
        keyId: call.keyId,
        status,
        durationMs: Date.now() - started,
      });
    }
  }

  private async decryptAnswer(call: AdminCall, body: Buffer): Promise<Buffer> {
    try {
      return await this.cipher.decrypt(body);
    } catch (cause) {
      throw this.error(call.operation, call.keyId, `the answer of ${call.path.slice(1)} cannot be decrypted with the admin secret: got ${body.length} bytes (${(cause as Error).message}). Check that the endpoint is a MinIO/RustFS admin API and the admin credential is the one the server knows.`, { cause });
    }
  }

  private transportError(call: AdminCall, cause: unknown): ProviderError {
    const { kind, code } = classifyTransportFailure(cause);
    const where = `${this.endpoint.protocol}//${this.endpoint.host}`;
    const extra = { cause, providerCode: code, code: kind };
    // a mutating call that got no answer may have been applied: say so, the re-run observes first
    const maybe = call.method === 'GET' ? '' : ` ${call.method} ${call.path.slice(1)} may have been applied before the answer was lost: re-run the step (it looks before it acts).`;
    switch (kind) {
      case 'PROVIDER_TLS':
        return this.error(call.operation, call.keyId, `TLS verification of ${where} failed: got ${code}. Set connection.caPem to the CA certificate (PEM) that signed the ${this.kind} server certificate.`, extra);
      case 'PROVIDER_UNREACHABLE':
        return this.error(call.operation, call.keyId, `cannot reach the admin endpoint ${where}: got ${code}. Check connection.endpoint, that ${this.kind} is running, and that NetworkPolicies let the rotation Job reach it.${maybe}`, extra);
      case 'PROVIDER_TIMEOUT':
        return this.error(call.operation, call.keyId, `the admin endpoint ${where} did not answer ${call.path.slice(1)} in time: got no answer after ${this.conn.timeoutMs ?? 10000} ms. Check that ${this.kind} is healthy, or raise connection.timeoutMs.${maybe}`, extra);
      default:
        return this.error(call.operation, call.keyId, `the request ${call.path.slice(1)} to ${where} failed: got ${code}. Check connection.endpoint and the network path.${maybe}`, extra);
    }
  }

  private httpError(call: AdminCall, status: number, parsed: { code?: string; message?: string }): ProviderError {
    const what = `${call.method} ${call.path.slice(1)}`;
    const got = `got HTTP ${status}${parsed.code ? ` ${parsed.code}` : ''}${parsed.message ? ` (${JSON.stringify(parsed.message)})` : ''}`;
    const props = { status, providerCode: parsed.code, code: 'PROVIDER_ERROR' as ProviderErrorCode };
    const auth = { ...props, code: 'PROVIDER_AUTH' as ProviderErrorCode };
    if (status === 403 && parsed.code && ADMIN_AUTH_CODES.has(parsed.code)) {
      return this.error(call.operation, call.keyId, `the admin credential ${this.conn.admin.accessKeyId} was rejected: ${got}. Check the admin access key ID and secret in the rotator's admin Secret (${this.kind === 'minio' ? 'MINIO_ROOT_USER/MINIO_ROOT_PASSWORD' : 'RUSTFS_ACCESS_KEY/RUSTFS_SECRET_KEY'} or an admin user) and the server clock.`, auth);
    }
    if (status === 403) {
      return this.error(call.operation, call.keyId, `the admin credential ${this.conn.admin.accessKeyId} may not call ${what}: ${got}. Grant it admin:* (or use the root credential).`, auth);
    }
    if (status >= 500) {
      return this.error(call.operation, call.keyId, `${what} failed at the server: ${got}. Nothing after this call was changed and existing keys stay valid; check the ${this.kind} server log, then re-run the step (it is idempotent).`, { ...props, code: 'PROVIDER_UNAVAILABLE' });
    }
    const missing = parsed.code === 'XMinioAdminNoSuchUser' || parsed.code === 'XMinioAdminNoSuchPolicy';
    return this.error(call.operation, call.keyId, `${what} was refused: ${got}. ${hintFor(parsed.code)}`, missing ? { ...props, code: 'IDENTITY_MISSING' } : props);
  }

  private error(operation: string, keyId: string | undefined, message: string, extra: { status?: number; providerCode?: string; code?: ProviderErrorCode; cause?: unknown } = {}): ProviderError {
    return providerError({ provider: this.kind, operation, keyId, message, code: 'PROVIDER_ERROR', ...extra });
  }

  private json<T>(ans: AdminAnswer, operation: string, keyId: string | undefined): T {
    try {
      return JSON.parse(ans.body.toString('utf8')) as T;
    } catch (cause) {
      throw this.error(operation, keyId, `the answer is not JSON: got ${ans.body.length} bytes starting ${JSON.stringify(ans.body.subarray(0, 16).toString('latin1'))}. Check that the endpoint is a MinIO/RustFS admin API.`, { cause, status: ans.status });
    }
  }

  private absentOr(ans: AdminAnswer, expected: string, operation: string, keyId: string): undefined {
    if (ans.code === expected) return undefined;
    throw this.error(operation, keyId, `expected ${expected} for an absent entry: got HTTP 404 ${ans.code ?? 'without an error code'}. Check that the endpoint is a MinIO/RustFS admin API (path ${MINIO_ADMIN_PREFIX}).`, { status: 404, providerCode: ans.code });
  }

  /**
   * Looks up `pair.accessKeyId` before addKey changes anything: `absent`; `registered` (this
   * identity's, enabled, same secret); `registeredWithoutPolicy` (a `user` key with no policy and
   * the same secret: a previous addKey whose attach was lost); anything else throws.
   */
  private async existingKey(identity: IdentitySpec, pair: KeyPair): Promise<'absent' | 'registered' | 'registeredWithoutPolicy'> {
    const keyId = pair.accessKeyId;
    const ctx = { operation: 'addKey', keyId };
    const sa = await this.infoServiceAccount(keyId, ctx);
    const user = sa === undefined ? await this.userInfo(keyId, ctx) : undefined;
    if (sa === undefined && user === undefined) return 'absent';
    let noPolicy = false;
    if (sa !== undefined) {
      if (identity.kind !== 'serviceAccount' || sa.parentUser !== identity.name) {
        throw this.error('addKey', keyId, `the access key ID already exists elsewhere: got a service account of ${sa.parentUser} (status ${sa.accountStatus}). rekey never overwrites a key: draw a new pair with rekey rotate, or delete the stale key first.`, { code: 'WRONG_OWNER' });
      }
      if (sa.accountStatus !== 'on') {
        throw this.error('addKey', keyId, `the access key ID already exists disabled: got service account status ${sa.accountStatus}. A disabled key is being retired: draw a new pair with rekey rotate.`, { code: 'KEY_EXISTS' });
      }
    } else if (user !== undefined) {
      const attached = splitPolicies(user.policyName);
      const mine = identity.kind === 'user' && identity.policy !== undefined && attached.length === 1 && attached[0] === identity.policy.name;
      noPolicy = identity.kind === 'user' && attached.length === 0;
      if (!mine && !noPolicy) {
        throw this.error('addKey', keyId, `the access key ID already exists elsewhere: got a user with policy ${JSON.stringify(user.policyName ?? '')} (status ${user.status}). rekey never overwrites a key: draw a new pair with rekey rotate, or delete the stale key first.`, { code: 'WRONG_OWNER' });
      }
      if (user.status !== 'enabled') {
        throw this.error('addKey', keyId, `the access key ID already exists disabled: got user status ${user.status}. A disabled key is being retired: draw a new pair with rekey rotate.`, { code: 'KEY_EXISTS' });
      }
    }
    let probe;
    const started = Date.now();
    try {
      probe = await probeSecret(this.transport, this.endpoint, this.conn.region || 'us-east-1', pair, this.clock());
    } catch (cause) {
      throw this.transportError({ operation: 'addKey', keyId, method: 'GET', path: '/', ok: [200] }, cause);
    }
    this.logger?.log('info', 'provider call', { provider: this.kind, operation: 'addKey', call: 'ListBuckets (secret check)', keyId, status: probe.status, outcome: probe.outcome, durationMs: Date.now() - started });
    if (probe.outcome === 'match') return noPolicy ? 'registeredWithoutPolicy' : 'registered';
    throw this.error(
      'addKey',
      keyId,
      probe.outcome === 'mismatch'
        ? `the access key ID already exists with another secret: got HTTP 403 ${probe.code} for a request signed with the given pair. rekey never overwrites a key: draw a new pair with rekey rotate, or delete the stale key first.`
        : `the access key ID already exists but the given pair could not be checked: got HTTP ${probe.status}${probe.code ? ` ${probe.code}` : ''} for a request signed with it. Check the ${this.kind} server, then re-run the step.`,
      { code: probe.outcome === 'inconclusive' ? 'PROVIDER_ERROR' : 'KEY_EXISTS', status: probe.status, providerCode: 'code' in probe ? probe.code : undefined },
    );
  }

  /**
   * The key is not where the identity would hold it. "Already gone" counts only when the key is
   * absent from the other namespace too (users vs service accounts share key IDs): a key that
   * lives on as something else is refused (`WRONG_OWNER`).
   */
  private async absentEverywhere(operation: string, identity: IdentitySpec, keyId: string): Promise<void> {
    const ctx = { operation, keyId };
    if (identity.kind === 'user') {
      const sa = await this.infoServiceAccount(keyId, ctx);
      if (sa !== undefined) {
        throw this.error(operation, keyId, `the key is not a user of this identity but a service account: got parent ${sa.parentUser} (status ${sa.accountStatus}). rekey only touches keys of the credential's own identity; check the key ID in the ledger.`, { code: 'WRONG_OWNER' });
      }
    } else {
      const user = await this.userInfo(keyId, ctx);
      if (user !== undefined) {
        throw this.error(operation, keyId, `the key is not a service account of ${identity.name} but a user: got user status ${user.status}. rekey only touches keys of the credential's own identity; check the key ID in the ledger.`, { code: 'WRONG_OWNER' });
      }
    }
    this.logAbsent(operation, keyId);
  }

  private assertOwner(operation: string, identity: IdentitySpec, keyId: string, info: MinioServiceAccountInfo): void {
    if (info.parentUser !== identity.name) {
      throw this.error(operation, keyId, `the key belongs to another user: got parent ${info.parentUser}, expected ${identity.name}. rekey only touches keys of the credential's own identity; check the key ID in the ledger.`, { code: 'WRONG_OWNER' });
    }
  }

  private assertUserOfIdentity(operation: string, identity: IdentitySpec, keyId: string, info: MinioUserInfo): void {
    const policy = identity.policy?.name;
    if (!policy || !splitPolicies(info.policyName).includes(policy)) {
      throw this.error(operation, keyId, `the user does not carry the credential's policy: got ${JSON.stringify(info.policyName ?? '')}, expected ${JSON.stringify(policy ?? '')}. rekey only touches keys of the credential's own identity; check the key ID in the ledger.`, { code: 'WRONG_OWNER' });
    }
  }

  private assertSupported(operation: string, identity: IdentitySpec): void {
    if (identity.kind === 'root') {
      const message =
        this.kind === 'minio'
          ? `root rotation is not possible for MinIO: got identity kind root. MinIO fixes its root credentials at first start from MINIO_ROOT_USER/MINIO_ROOT_PASSWORD; rotate a serviceAccount or user credential instead.`
          : `root rotation is not an admin API call for RustFS: got identity kind root. RustFS reads its root pair from RUSTFS_ACCESS_KEY/RUSTFS_SECRET_KEY at start: set RUSTFS_RPC_SECRET first, then restart RustFS with the new pair (rekey's root rotation Jobs do this), then restart consumers.`;
      throw this.error(operation, identity.name, message, { code: 'ROOT_ROTATION_UNSUPPORTED' });
    }
    if (identity.kind === 'alternatingUsers') {
      throw this.error(operation, identity.name, `identity kind alternatingUsers is not offered for ${this.kind}: got alternatingUsers. Use kind serviceAccount (many keys under one parent user overlap without a second user).`, { code: 'IDENTITY_KIND_UNSUPPORTED' });
    }
  }

  private logAbsent(operation: string, keyId: string): void {
    this.logger?.log('info', 'provider call', { provider: this.kind, operation, keyId, status: 'absent', durationMs: 0 });
  }
}

// ------------------------------------------------------------------- helpers

const ADMIN_AUTH_CODES = new Set(['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'XMinioAdminAccessKeyDisabled', 'AccessKeyDisabled', 'RequestTimeTooSkewed', 'ExpiredToken', 'InvalidToken']);

function hintFor(code: string | undefined): string {
  switch (code) {
    case 'XMinioAdminNoSuchUser':
      return 'The user does not exist: run ensureIdentity first (the activate step does).';
    case 'XMinioAdminNoSuchPolicy':
      return 'The policy does not exist: run ensureIdentity first (it adds the canned policy).';
    case 'XMinioAdminServiceAccountNotFound':
      return 'The service account does not exist: check the key ID in the ledger.';
    default:
      return 'Check the request against the server log; nothing after this call was changed.';
  }
}

/** JSON as Go's encoding/json writes it (HTML-sensitive characters escaped), so bodies match madmin-go byte for byte. */
function goJson(value: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    'utf8',
  );
}

function splitPolicies(policyName: string | undefined): string[] {
  return (policyName ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** The error JSON of MinIO (`{"Code","Message",…}`), or S3 XML, or nothing. */
function parseErrorBody(body: Buffer): { code?: string; message?: string } {
  const text = body.toString('utf8').trim();
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as { Code?: unknown; Message?: unknown };
      return { code: typeof j.Code === 'string' ? j.Code : undefined, message: typeof j.Message === 'string' ? j.Message : undefined };
    } catch {
      return {};
    }
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return { code, message };
}

/** RFC 3986 encoding with sorted keys, as minio-go's `s3utils.QueryEncode` and SigV4 use. */
function encodeQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(query[k] ?? '')}`)
    .join('&');
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
