/**
 * AWS IAM as a rekey provider (`aws-iam`), through the unchanged AWS SDK v3 IAM client.
 *
 * IAM draws access keys itself (CreateAccessKey returns the new secret once), allows at most two
 * keys per user, and disables keys before deleting them. Identities are a `user` (overlap by
 * holding two keys) or `alternatingUsers` (two users; each rotation re-keys the one not in use,
 * as AWS Secrets Manager's alternating-users rotation does — see `addKeyToAlternateUser`).
 */
import https from 'node:https';
import tls from 'node:tls';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  type AccessKeyMetadata,
} from '@aws-sdk/client-iam';
import { ProviderError, ValidationError } from '../../core/errors.js';
import { NULL_LOGGER, type Logger } from '../../core/log.js';
import { SecretValue } from '../../core/secret-value.js';
import type { IdentitySpec, KeyInfo, KeyPair, PolicySpec, ProviderClient, ProviderConnection } from '../provider.js';

const PROVIDER = 'aws-iam';

/** IAM's quota of access keys per user. */
export const AWS_IAM_MAX_KEYS_PER_USER = 2;

/** The real IAM endpoint, used when the connection names none. */
export const AWS_IAM_DEFAULT_ENDPOINT = 'https://iam.amazonaws.com';

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const ACCESS_KEY_ID = /^\w{16,128}$/;

/** Connection to IAM: like every provider's, except that the endpoint is optional. */
export interface AwsIamConnection extends Omit<ProviderConnection, 'endpoint'> {
  /**
   * IAM endpoint URL; tests point it at an in-process server.
   * @default - the real AWS IAM (https://iam.amazonaws.com)
   */
  readonly endpoint?: string;
}

export interface AwsIamClientProps {
  /** Endpoint, region (`us-east-1` by default), admin key pair, CA, timeout and logger. */
  readonly connection: AwsIamConnection;
  /**
   * SDK attempts per call, retries included (transient network errors, throttling, 5xx).
   * CreateAccessKey is always sent once: a retry after a lost answer would leave an orphan key
   * whose secret nobody holds.
   * @default 3
   */
  readonly maxAttempts?: number;
}

/** What `addKeyToAlternateUser` did. */
export interface AlternatingKeyResult {
  /** The user that holds the new key: consumers switch to this user. */
  readonly user: string;
  /** The user that was current; it keeps its key until the retire step. */
  readonly previousUser: string;
  /** The new key of `user` (provider-drawn). */
  readonly pair: KeyPair;
  /** Keys deleted from `user` to make room (an inactive one first, else the oldest). */
  readonly removedKeyIds: readonly string[];
}

interface CallContext {
  /** The ProviderClient method, e.g. `addKey`. */
  readonly method: string;
  /** The IAM action, e.g. `CreateAccessKey`. */
  readonly action: string;
  readonly user?: string;
  readonly keyId?: string;
}

interface SdkError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly Code?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
}

/**
 * A `ProviderClient` for AWS IAM. Every IAM call logs one line
 * `{provider, operation, method, user, keyId, status, durationMs, attempts}` — key IDs only.
 */
export class AwsIamClient implements ProviderClient {
  public readonly kind = 'aws-iam' as const;

  private readonly client: IAMClient;
  /** Sends CreateAccessKey exactly once (no SDK retry). */
  private readonly createClient: IAMClient;
  private readonly logger: Logger;
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly adminKeyId: string;

  public constructor(props: AwsIamClientProps) {
    const { connection } = props;
    const maxAttempts = props.maxAttempts ?? 3;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) {
      throw new ValidationError(
        `aws-iam client maxAttempts must be an integer from 1 to 10: got ${maxAttempts}. Use 1 for no retries, or the default 3.`,
      );
    }
    this.timeoutMs = connection.timeoutMs ?? 10_000;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new ValidationError(
        `aws-iam connection.timeoutMs must be a positive integer: got ${connection.timeoutMs}. Use milliseconds, e.g. 10000.`,
      );
    }
    this.endpoint = connection.endpoint ?? AWS_IAM_DEFAULT_ENDPOINT;
    this.logger = connection.logger ?? NULL_LOGGER;
    this.adminKeyId = connection.admin.accessKeyId;
    const admin = connection.admin;
    const config = {
      region: connection.region ?? 'us-east-1',
      endpoint: connection.endpoint,
      // handed to the SDK's signer only; read at signing time, never stored as a plain string here
      credentials: async () => ({ accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey.reveal() }),
      requestHandler: {
        requestTimeout: this.timeoutMs,
        connectionTimeout: this.timeoutMs,
        throwOnRequestTimeout: true,
        ...(connection.caPem
          ? { httpsAgent: new https.Agent({ keepAlive: true, ca: [...tls.rootCertificates, connection.caPem] }) }
          : {}),
      },
    };
    this.client = new IAMClient({ ...config, maxAttempts });
    this.createClient = new IAMClient({ ...config, maxAttempts: 1 });
    for (const c of [this.client, this.createClient]) {
      c.middlewareStack.add(keepTransportErrorCode, { step: 'deserialize', priority: 'low', name: 'rekeyKeepTransportErrorCode' });
    }
  }

  /** Closes the SDK clients' sockets. Idempotent. */
  public close(): void {
    this.client.destroy();
    this.createClient.destroy();
  }

  /** @deprecated use `close()` (the contract's name). */
  public destroy(): void {
    this.close();
  }

  /** GetUser for the admin identity itself: proves the admin key is valid and signs correctly. */
  public async checkAdmin(): Promise<void> {
    await this.call({ method: 'checkAdmin', action: 'GetUser' }, () => this.client.send(new GetUserCommand({})));
  }

  /**
   * Creates the user(s) if absent and puts the declared inline policy where it is missing.
   * Observes every user first and refuses, before any change, a user that already carries an
   * inline policy other than the declared one (another name, or the same name with another
   * document, compared as canonical JSON).
   */
  public async ensureIdentity(identity: IdentitySpec): Promise<void> {
    const method = 'ensureIdentity';
    const users = usersOf(identity, method);
    const policy = identity.policy;
    if (policy && !POLICY_NAME.test(policy.name)) {
      throw new ValidationError(
        `aws-iam identity "${identity.name}" policy.name must be 1-128 characters of letters, digits and _+=,.@-: got "${policy.name}". Choose a valid IAM policy name.`,
      );
    }
    const wanted = policy ? canonicalJson(policy.document) : undefined;

    const plan: Array<{ user: string; exists: boolean; hasPolicy: boolean }> = [];
    for (const user of users) {
      const found = await this.call({ method, action: 'GetUser', user }, () =>
        this.client.send(new GetUserCommand({ UserName: user })), ['NoSuchEntity']);
      let hasPolicy = false;
      if (found && policy) {
        for (const name of await this.listUserPolicies(method, user)) {
          if (name !== policy.name) {
            throw new ProviderError({
              provider: PROVIDER,
              operation: method,
              code: 'UNEXPECTED_POLICY',
              message:
                `user ${user} carries an inline policy that the identity does not declare: got policy "${name}". ` +
                `Declare it as the identity's policy, or remove it in IAM (aws iam delete-user-policy --user-name ${user} --policy-name ${name}); nothing was changed.`,
            });
          }
          const out = await this.call({ method, action: 'GetUserPolicy', user }, () =>
            this.client.send(new GetUserPolicyCommand({ UserName: user, PolicyName: name })));
          const existing = decodePolicyDocument(out?.PolicyDocument ?? '');
          if (existing !== wanted) {
            throw new ProviderError({
              provider: PROVIDER,
              operation: method,
              code: 'UNEXPECTED_POLICY',
              message:
                `user ${user} has inline policy "${name}" with another document than the declared one: got ${truncate(existing)}, expected ${truncate(wanted!)}. ` +
                `Make the declared policy match, or fix the policy in IAM (aws iam put-user-policy / delete-user-policy --user-name ${user} --policy-name ${name}); nothing was changed.`,
            });
          }
          hasPolicy = true;
        }
      }
      plan.push({ user, exists: found !== undefined, hasPolicy });
    }

    for (const step of plan) {
      if (!step.exists) {
        await this.call({ method, action: 'CreateUser', user: step.user }, () =>
          this.client.send(new CreateUserCommand({ UserName: step.user })), ['EntityAlreadyExists']);
      }
      if (policy && !step.hasPolicy) await this.putPolicy(method, step.user, policy);
    }
  }

  /**
   * Adds a provider-drawn key to a `user` identity and returns it with its secret.
   * Refuses a given `pair` (IAM draws secrets itself) and a third key (listed first, so the
   * refusal happens before any change). For `alternatingUsers` use `addKeyToAlternateUser`.
   */
  public async addKey(identity: IdentitySpec, pair?: KeyPair): Promise<KeyPair> {
    const method = 'addKey';
    if (pair) {
      throw new ProviderError({
        provider: PROVIDER,
        operation: method,
        keyId: pair.accessKeyId,
        code: 'PROVIDER_DRAWS_KEYS',
        message:
          `IAM draws access keys itself and cannot register a given pair: got access key ID ${pair.accessKeyId}. ` +
          `Use provider-drawn keys: call addKey without a pair and deliver the returned pair through the store (external delivery).`,
      });
    }
    if (identity.kind === 'alternatingUsers') {
      const [a, b] = alternatingUserNames(identity);
      throw new ProviderError({
        provider: PROVIDER,
        operation: method,
        code: 'ALTERNATING_NEEDS_CURRENT_USER',
        message:
          `identity "${identity.name}" alternates between two users, so the new key's user depends on which one is current: got users ${a} and ${b}. ` +
          `Call addKeyToAlternateUser(client, identity, currentUser), which re-keys the user not in use.`,
      });
    }
    const [user] = usersOf(identity, method);
    const existing = await this.listUserKeys(method, user);
    if (existing.length >= AWS_IAM_MAX_KEYS_PER_USER) {
      const got = existing.map((k) => `${k.AccessKeyId} (${k.Status ?? 'unknown'})`).join(' and ');
      throw new ProviderError({
        provider: PROVIDER,
        operation: method,
        code: 'KEY_LIMIT',
        message:
          `user ${user} already has the IAM maximum of ${AWS_IAM_MAX_KEYS_PER_USER} access keys: got ${got}. ` +
          `Retire one of them first (disableKey, then deleteKey), then add the new key; nothing was changed.`,
      });
    }
    const out = await this.call({ method, action: 'CreateAccessKey', user }, () =>
      this.createClient.send(new CreateAccessKeyCommand({ UserName: user })), [], (o) => o.AccessKey?.AccessKeyId);
    const key = out?.AccessKey;
    if (!key?.AccessKeyId || !key.SecretAccessKey) {
      throw new ProviderError({
        provider: PROVIDER,
        operation: method,
        code: 'PROVIDER_ERROR',
        message: `IAM CreateAccessKey answered without an access key for user ${user}: got an empty AccessKey. Check the endpoint speaks the IAM API.`,
      });
    }
    return { accessKeyId: key.AccessKeyId, secretAccessKey: SecretValue.fromString(key.SecretAccessKey) };
  }

  /** Lists the keys of the user (or of both alternating users), oldest first per user. */
  public async listKeys(identity: IdentitySpec): Promise<KeyInfo[]> {
    const method = 'listKeys';
    const result: KeyInfo[] = [];
    for (const user of usersOf(identity, method)) {
      for (const k of await this.listUserKeys(method, user)) {
        result.push({
          accessKeyId: k.AccessKeyId!,
          status: k.Status === 'Active' ? 'active' : 'inactive',
          owner: k.UserName ?? user,
          ...(k.CreateDate ? { createdAt: k.CreateDate.toISOString().replace(/\.000Z$/, 'Z') } : {}),
        });
      }
    }
    return result;
  }

  /** UpdateAccessKey Status=Inactive. A key that no longer exists is already disabled: no error. */
  public async disableKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    const method = 'disableKey';
    const user = await this.ownerOf(method, identity, accessKeyId);
    if (user === undefined) return;
    await this.call({ method, action: 'UpdateAccessKey', user, keyId: accessKeyId }, () =>
      this.client.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: accessKeyId, Status: 'Inactive' })), ['NoSuchEntity']);
  }

  /** DeleteAccessKey. Deleting an absent key is not an error. */
  public async deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    const method = 'deleteKey';
    const user = await this.ownerOf(method, identity, accessKeyId);
    if (user === undefined) return;
    await this.call({ method, action: 'DeleteAccessKey', user, keyId: accessKeyId }, () =>
      this.client.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: accessKeyId })), ['NoSuchEntity']);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The user holding the key: the identity's user, or (alternating) whichever lists it; undefined if none does. */
  private async ownerOf(method: string, identity: IdentitySpec, accessKeyId: string): Promise<string | undefined> {
    if (!ACCESS_KEY_ID.test(accessKeyId)) {
      throw new ValidationError(
        `aws-iam ${method} access key ID must be 16-128 letters, digits or underscores: got "${accessKeyId}". Pass the AccessKeyId IAM returned.`,
      );
    }
    const users = usersOf(identity, method);
    if (users.length === 1) return users[0];
    for (const user of users) {
      const keys = await this.listUserKeys(method, user, accessKeyId);
      if (keys.some((k) => k.AccessKeyId === accessKeyId)) return user;
    }
    this.logger.log('info', `${PROVIDER} ${method}: key absent`, {
      provider: PROVIDER,
      operation: method,
      keyId: accessKeyId,
      user: users.join(','),
      status: 'absent',
    });
    return undefined;
  }

  /** ListAccessKeys, following Marker while IsTruncated. */
  private async listUserKeys(method: string, user: string, keyId?: string): Promise<AccessKeyMetadata[]> {
    const keys: AccessKeyMetadata[] = [];
    let marker: string | undefined;
    do {
      const out = await this.call({ method, action: 'ListAccessKeys', user, keyId }, () =>
        this.client.send(new ListAccessKeysCommand({ UserName: user, Marker: marker })));
      keys.push(...(out?.AccessKeyMetadata ?? []));
      marker = out?.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return keys.sort(
      (a, b) =>
        (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0) ||
        (a.AccessKeyId ?? '').localeCompare(b.AccessKeyId ?? ''),
    );
  }

  /** ListUserPolicies, following Marker while IsTruncated. */
  private async listUserPolicies(method: string, user: string): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const out = await this.call({ method, action: 'ListUserPolicies', user }, () =>
        this.client.send(new ListUserPoliciesCommand({ UserName: user, Marker: marker })));
      names.push(...(out?.PolicyNames ?? []));
      marker = out?.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return names;
  }

  private async putPolicy(method: string, user: string, policy: PolicySpec): Promise<void> {
    await this.call({ method, action: 'PutUserPolicy', user }, () =>
      this.client.send(
        new PutUserPolicyCommand({ UserName: user, PolicyName: policy.name, PolicyDocument: canonicalJson(policy.document) }),
      ));
  }

  /**
   * Sends one IAM call, logs one line, and maps failures to ProviderError. Error codes in
   * `tolerate` (e.g. NoSuchEntity on delete) resolve to undefined instead.
   */
  private async call<T extends { $metadata?: { httpStatusCode?: number; attempts?: number } }>(
    ctx: CallContext,
    send: () => Promise<T>,
    tolerate: readonly string[] = [],
    keyIdOf?: (out: T) => string | undefined,
  ): Promise<T | undefined> {
    const started = performance.now();
    const line = (level: 'info' | 'warn', status: number | null, attempts: number | undefined, extra: Record<string, string> = {}, keyId = ctx.keyId) =>
      this.logger.log(level, `${PROVIDER} ${ctx.action}`, {
        provider: PROVIDER,
        operation: ctx.action,
        method: ctx.method,
        user: ctx.user ?? null,
        keyId: keyId ?? null,
        status,
        durationMs: Math.round(performance.now() - started),
        attempts: attempts ?? null,
        ...extra,
      });
    try {
      const out = await send();
      line('info', out.$metadata?.httpStatusCode ?? null, out.$metadata?.attempts, {}, keyIdOf?.(out) ?? ctx.keyId);
      return out;
    } catch (error) {
      const e = (error ?? {}) as SdkError;
      const answered = e.$metadata?.httpStatusCode !== undefined;
      const providerCode = answered ? (e.Code ?? e.name) : (e.code ?? e.name);
      const status = e.$metadata?.httpStatusCode ?? null;
      if (answered && providerCode && tolerate.includes(providerCode)) {
        line('info', status, e.$metadata.attempts, { providerCode, outcome: 'tolerated' });
        return undefined;
      }
      line('warn', status, e.$metadata?.attempts, providerCode ? { providerCode } : {});
      throw this.mapError(ctx, e, error);
    }
  }

  private mapError(ctx: CallContext, e: SdkError, cause: unknown): ProviderError {
    const base = { provider: PROVIDER, operation: ctx.method, keyId: ctx.keyId, cause };
    const { action } = ctx;
    const message = oneLine(e.message ?? String(cause));
    if (e.$metadata?.httpStatusCode !== undefined) {
      const code = e.Code ?? e.name ?? 'Unknown';
      const status = e.$metadata.httpStatusCode;
      const attempts = e.$metadata.attempts ?? 1;
      const http = `HTTP ${status ?? '?'} ${code}`;
      const err = (text: string, errorCode = 'PROVIDER_ERROR') =>
        new ProviderError({ ...base, status, providerCode: code, code: errorCode, message: text });
      switch (code) {
        case 'InvalidClientTokenId':
          return err(
            `IAM does not accept the admin access key (${action}, ${http}): got admin key ${this.adminKeyId}. ` +
              `Check the admin credential mounted into the rotation Job: the key must exist and be Active in this AWS account.`,
            'PROVIDER_AUTH',
          );
        case 'SignatureDoesNotMatch':
          return err(
            `IAM rejected the request signature (${action}, ${http}): got admin key ${this.adminKeyId}. ` +
              `The admin secret key does not belong to this key ID, or the region is wrong; fix the admin credential Secret.`,
            'PROVIDER_AUTH',
          );
        case 'AccessDenied':
        case 'AccessDeniedException':
          return err(
            `the admin identity may not call iam:${action} (${http}): got "${message}". ` +
              `Grant iam:${action} on ${ctx.user ? `user ${ctx.user}` : 'the managed users'} to the admin identity.`,
            'PROVIDER_AUTH',
          );
        case 'NoSuchEntity':
          return err(
            `IAM ${action} found no such entity (${http}): got "${message}". ` +
              `Run ensureIdentity first (the activate step does), or check the user name and key ID.`,
          );
        case 'LimitExceeded':
          return err(
            `IAM ${action} exceeded a quota (${http}): got "${message}". ` +
              `An IAM user holds at most ${AWS_IAM_MAX_KEYS_PER_USER} access keys: retire one (disableKey, then deleteKey) first.`,
          );
        case 'EntityAlreadyExists':
          return err(`IAM ${action} found the entity already there (${http}): got "${message}". Another process changed IAM at the same time; re-run the step.`);
        default:
          if (e.$fault === 'server' || (status ?? 0) >= 500) {
            return err(
              `IAM failed to answer ${action} (${http}) after ${attempts} attempt(s): got "${message}". ` +
                `This is a failure on IAM's side; re-run the step, which observes IAM's state before acting.`,
              'PROVIDER_UNAVAILABLE',
            );
          }
          return err(`IAM refused ${action} (${http}): got "${message}". Check the request and the admin identity's permissions.`);
      }
    }
    const code = e.code ?? e.name ?? 'Error';
    if (e.name === 'TimeoutError' || code === 'ETIMEDOUT') {
      return new ProviderError({
        ...base,
        providerCode: code,
        code: 'PROVIDER_TIMEOUT',
        message: `IAM at ${this.endpoint} did not answer ${action} within ${this.timeoutMs} ms: got ${code}. Check the endpoint and the network, or raise connection.timeoutMs.`,
      });
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code)) {
      return new ProviderError({
        ...base,
        providerCode: code,
        code: 'PROVIDER_TLS',
        message:
          `TLS verification of ${this.endpoint} failed (${action}): got ${code} (${message}). ` +
          `Set connection.caPem to the CA certificate that signed the endpoint's certificate, or fix the endpoint's certificate.`,
      });
    }
    if (/^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(code)) {
      return new ProviderError({
        ...base,
        providerCode: code,
        code: 'PROVIDER_UNREACHABLE',
        message:
          `cannot reach IAM at ${this.endpoint} (${action}): got ${code}. ` +
          `Check connection.endpoint, DNS, and that the rotation Job's NetworkPolicy allows egress to it.`,
      });
    }
    return new ProviderError({
      ...base,
      providerCode: code,
      message: `IAM ${action} failed before an answer arrived: got ${code} (${message}). Check connection.endpoint and the network.`,
    });
  }
}

/**
 * Re-throws a transport error (socket, TLS, timeout) as a plain Error of this realm that keeps
 * its `code`, `name` and message. The SDK's retry layer replaces anything that is not
 * `instanceof Error` with a code-less wrapper — which is what Node's errors look like when the
 * SDK runs in another VM realm (jest's ESM modules) — and both the SDK's retry decision
 * (ECONNREFUSED, TimeoutError are transient) and `mapError` need the code.
 */
const keepTransportErrorCode =
  <I, O>(next: (args: I) => Promise<O>) =>
  async (args: I): Promise<O> => {
    try {
      return await next(args);
    } catch (error) {
      if (error instanceof Error || error === null || typeof error !== 'object') throw error;
      const e = error as { message?: unknown; name?: unknown; code?: unknown; errno?: unknown; syscall?: unknown };
      const copy = new Error(String(e.message ?? 'transport error'));
      copy.name = typeof e.name === 'string' ? e.name : 'Error';
      throw Object.assign(copy, { code: e.code, errno: e.errno, syscall: e.syscall });
    }
  };

/** The two users of an `alternatingUsers` identity: `identity.users`, or `<name>-a` and `<name>-b`. */
export function alternatingUserNames(identity: IdentitySpec): readonly [string, string] {
  const users = identity.users ?? [`${identity.name}-a`, `${identity.name}-b`];
  if (users[0] === users[1]) {
    throw new ValidationError(
      `aws-iam identity "${identity.name}" users must be two different user names: got "${users[0]}" twice. Name two distinct users, or omit users for ${identity.name}-a and ${identity.name}-b.`,
    );
  }
  return users;
}

/** The alternating user that is not `currentUser` (the one the next rotation re-keys). */
export function alternateUser(identity: IdentitySpec, currentUser: string): string {
  const [a, b] = alternatingUserNames(identity);
  if (currentUser !== a && currentUser !== b) {
    throw new ValidationError(
      `aws-iam identity "${identity.name}" current user must be one of its two users: got "${currentUser}". Pass ${a} or ${b} (the user whose key consumers hold now).`,
    );
  }
  return currentUser === a ? b : a;
}

/**
 * One alternating-users rotation, as AWS Secrets Manager does it: picks the user that is not
 * current, makes room there if it already has two keys (deletes an inactive key first, else
 * its oldest, disabling it before deletion), and creates the new key there. The current user's
 * key stays valid; consumers move to `result.user`, then the retire step revokes the old key.
 */
export async function addKeyToAlternateUser(
  client: AwsIamClient,
  identity: IdentitySpec,
  currentUser: string,
): Promise<AlternatingKeyResult> {
  if (identity.kind !== 'alternatingUsers') {
    throw new ValidationError(
      `aws-iam identity "${identity.name}" kind must be alternatingUsers for addKeyToAlternateUser: got ${identity.kind}. Call addKey for a user identity.`,
    );
  }
  const user = alternateUser(identity, currentUser);
  const target: IdentitySpec = { kind: 'user', name: user };
  const keys = await client.listKeys(target);
  const removedKeyIds: string[] = [];
  if (keys.length >= AWS_IAM_MAX_KEYS_PER_USER) {
    const victim = keys.find((k) => k.status === 'inactive') ?? keys[0];
    if (victim.status === 'active') await client.disableKey(target, victim.accessKeyId);
    await client.deleteKey(target, victim.accessKeyId);
    removedKeyIds.push(victim.accessKeyId);
  }
  const pair = await client.addKey(target);
  return { user, previousUser: currentUser, pair, removedKeyIds };
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** GetUserPolicy returns the document URL-encoded (RFC 3986): decode, parse, canonicalize. */
function decodePolicyDocument(encoded: string): string {
  let text = encoded;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    // not URL-encoded after all: compare the raw text
  }
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    return text;
  }
}

function usersOf(identity: IdentitySpec, method: string): readonly string[] {
  let users: readonly string[];
  switch (identity.kind) {
    case 'user':
      users = [identity.name];
      break;
    case 'alternatingUsers':
      users = alternatingUserNames(identity);
      break;
    default:
      throw new ProviderError({
        provider: PROVIDER,
        operation: method,
        code: 'IDENTITY_KIND_UNSUPPORTED',
        message:
          `IAM supports identity kinds user and alternatingUsers: got ${identity.kind} for "${identity.name}". ` +
          `Use kind user (two overlapping keys) or alternatingUsers (two users) for aws-iam.`,
      });
  }
  for (const user of users) {
    if (!USER_NAME.test(user)) {
      throw new ValidationError(
        `aws-iam identity "${identity.name}" user name must be 1-64 characters of letters, digits and _+=,.@-: got "${user}". Choose a valid IAM user name.`,
      );
    }
  }
  return users;
}

function truncate(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
