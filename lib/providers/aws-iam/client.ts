/**
 * AWS IAM as a rekey provider (`aws-iam`), through the unchanged AWS SDK v3 IAM client.
 *
 * IAM draws access keys itself (CreateAccessKey returns the new secret once), allows at most two
 * keys per user, and disables keys before deleting them. Identities are a `user` (overlap by
 * holding two keys) or `alternatingUsers` (two users; each rotation re-keys the one not in use,
 * as AWS Secrets Manager's alternating-users rotation does — `addKey` with the plan's current
 * and previous key IDs; only the previous key is ever removed).
 *
 * IAM never reveals a stored secret: `addKey` with a pair whose key ID already exists checks the
 * secret with one IAM `GetUser` signed by the pair (IAM checks the signature before any
 * permission: success or AccessDenied = same secret, SignatureDoesNotMatch = another secret,
 * InvalidClientTokenId = inactive key).
 */
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
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
import { planAlternate } from '../alternating.js';
import { DeadlineHttpHandler, classifyTransportFailure } from '../http.js';
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
  private readonly connection: AwsIamConnection;

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
    this.connection = connection;
    const admin = connection.admin;
    const config = {
      region: connection.region ?? 'us-east-1',
      endpoint: connection.endpoint,
      // handed to the SDK's signer only; read at signing time, never stored as a plain string here
      credentials: async () => ({ accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey.reveal() }),
      // the shared transport: a total deadline per attempt, headers AND body (lib/providers/http.ts)
      requestHandler: new DeadlineHttpHandler({ timeoutMs: this.timeoutMs, caPem: connection.caPem }),
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
   * Adds a provider-drawn key and returns it with its secret.
   * - `user`: refuses a third key (listed first, so the refusal happens before any change).
   * - `alternatingUsers`: the key goes to the user not holding `options.currentKeyId`; only
   *   `options.previousKeyId` may be removed from it first (disabled, then deleted), any other
   *   key there is refused (`UNEXPECTED_KEY`) before any change.
   * - With `pair` (a re-run holding the pair from the first run): the key must already exist on
   *   the identity (IAM cannot register a given pair: `PROVIDER_DRAWS_KEYS`); its secret is
   *   checked by one signed call, and the same pair counts as success.
   * CreateAccessKey is sent once; when it fails without a clean refusal (no answer, 5xx) IAM may
   * have created the key: the error (`KEY_STATE_UNKNOWN`) lists the key IDs the user now has.
   */
  public async addKey(identity: IdentitySpec, pair?: KeyPair, options: AddKeyOptions = {}): Promise<KeyPair> {
    const method = 'addKey';
    const users = usersOf(identity, method);
    const listed: Array<{ user: string; keys: AccessKeyMetadata[] }> = [];
    // with a pair (a re-run) an absent user just holds no key; without, NoSuchEntity is the error
    for (const user of users) listed.push({ user, keys: await this.listUserKeys(method, user, undefined, pair !== undefined) });
    let target = listed[0];
    let remove: AccessKeyMetadata[] = [];
    if (identity.kind === 'alternatingUsers') {
      const ids = (i: number) => listed[i].keys.map((k) => k.AccessKeyId ?? '');
      const plan = planAlternate(PROVIDER, identity.name, [{ user: listed[0].user, keyIds: ids(0) }, { user: listed[1].user, keyIds: ids(1) }], options, pair?.accessKeyId);
      target = listed.find((l) => l.user === plan.target)!;
      remove = target.keys.filter((k) => plan.remove.includes(k.AccessKeyId ?? ''));
    }
    if (pair) {
      const holder = listed.find((l) => l.keys.some((k) => k.AccessKeyId === pair.accessKeyId));
      if (!holder) {
        throw providerError({
          provider: PROVIDER,
          operation: method,
          keyId: pair.accessKeyId,
          code: 'PROVIDER_DRAWS_KEYS',
          message:
            `IAM draws access keys itself and cannot register a given pair: got access key ID ${pair.accessKeyId}. ` +
            `Use provider-drawn keys: call addKey without a pair and deliver the returned pair through the store (external delivery).`,
        });
      }
      if (holder.user !== target.user) {
        throw providerError({
          provider: PROVIDER,
          operation: method,
          keyId: pair.accessKeyId,
          code: 'KEY_EXISTS',
          message: `the access key exists on user ${holder.user}, not on the user this rotation re-keys (${target.user}): got it among ${holder.user}'s keys. Check the plan's current and previous key IDs; nothing was changed.`,
        });
      }
      const meta = holder.keys.find((k) => k.AccessKeyId === pair.accessKeyId)!;
      if (meta.Status !== 'Active') {
        throw providerError({
          provider: PROVIDER,
          operation: method,
          keyId: pair.accessKeyId,
          code: 'KEY_EXISTS',
          message: `the access key exists but is ${meta.Status ?? 'not active'}: got status ${meta.Status ?? 'unknown'} on user ${holder.user}. A disabled key is being retired: start a new rotation; nothing was changed.`,
        });
      }
      await this.checkSecret(method, holder.user, pair);
      return pair;
    }
    const user = target.user;
    const keeps = target.keys.filter((k) => !remove.includes(k));
    if (keeps.length >= AWS_IAM_MAX_KEYS_PER_USER) {
      const got = keeps.map((k) => `${k.AccessKeyId} (${k.Status ?? 'unknown'})`).join(' and ');
      throw providerError({
        provider: PROVIDER,
        operation: method,
        code: 'KEY_LIMIT',
        message:
          `user ${user} already has the IAM maximum of ${AWS_IAM_MAX_KEYS_PER_USER} access keys: got ${got}. ` +
          `Retire one of them first (disableKey, then deleteKey), then add the new key; nothing was changed.`,
      });
    }
    for (const old of remove) {
      // only ever the plan's previous key (planAlternate checked it)
      if (old.Status === 'Active') {
        await this.call({ method, action: 'UpdateAccessKey', user, keyId: old.AccessKeyId }, () =>
          this.client.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: old.AccessKeyId, Status: 'Inactive' })), ['NoSuchEntity']);
      }
      await this.call({ method, action: 'DeleteAccessKey', user, keyId: old.AccessKeyId }, () =>
        this.client.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: old.AccessKeyId })), ['NoSuchEntity']);
    }
    // the create client never retries, so it cannot learn a clock skew itself: take the offset the
    // main client learned from IAM's Date header (the SDK corrects skew only on a retry)
    this.createClient.config.systemClockOffset = this.client.config.systemClockOffset;
    let out;
    try {
      out = await this.call({ method, action: 'CreateAccessKey', user }, () =>
        this.createClient.send(new CreateAccessKeyCommand({ UserName: user })), [], (o) => o.AccessKey?.AccessKeyId);
    } catch (error) {
      throw await this.afterFailedCreate(user, error);
    }
    const key = out?.AccessKey;
    if (!key?.AccessKeyId || !key.SecretAccessKey) {
      throw providerError({
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

  /**
   * UpdateAccessKey Status=Inactive. A key on none of the identity's users is done only when IAM
   * shows it absent (GetAccessKeyLastUsed: NoSuchEntity); a key of another user is refused
   * (`WRONG_OWNER`).
   */
  public async disableKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    const method = 'disableKey';
    const owner = await this.ownerOf(method, identity, accessKeyId);
    if (owner === undefined) return;
    if (owner.status === 'Inactive') return;
    const user = owner.user;
    await this.call({ method, action: 'UpdateAccessKey', user, keyId: accessKeyId }, () =>
      this.client.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: accessKeyId, Status: 'Inactive' })), ['NoSuchEntity']);
  }

  /** DeleteAccessKey. Absent: as for `disableKey`. */
  public async deleteKey(identity: IdentitySpec, accessKeyId: string): Promise<void> {
    const method = 'deleteKey';
    const owner = await this.ownerOf(method, identity, accessKeyId);
    if (owner === undefined) return;
    const user = owner.user;
    await this.call({ method, action: 'DeleteAccessKey', user, keyId: accessKeyId }, () =>
      this.client.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: accessKeyId })), ['NoSuchEntity']);
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * The user of the identity holding the key (listed), or undefined when IAM shows the key absent:
   * not on any of the identity's users (an absent user holds no key), and GetAccessKeyLastUsed
   * answers NoSuchEntity for it. A key IAM reports under another user is refused (`WRONG_OWNER`);
   * any other answer to that lookup fails (the key is not proven absent).
   */
  private async ownerOf(method: string, identity: IdentitySpec, accessKeyId: string): Promise<{ user: string; status?: string } | undefined> {
    if (!ACCESS_KEY_ID.test(accessKeyId)) {
      throw new ValidationError(
        `aws-iam ${method} access key ID must be 16-128 letters, digits or underscores: got "${accessKeyId}". Pass the AccessKeyId IAM returned.`,
      );
    }
    const users = usersOf(identity, method);
    for (const user of users) {
      const keys = await this.listUserKeys(method, user, accessKeyId, true);
      const found = keys.find((k) => k.AccessKeyId === accessKeyId);
      if (found) return { user, status: found.Status };
    }
    const last = await this.call({ method, action: 'GetAccessKeyLastUsed', keyId: accessKeyId }, () =>
      this.client.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })), ['NoSuchEntity']);
    if (last?.UserName) {
      throw providerError({
        provider: PROVIDER,
        operation: method,
        keyId: accessKeyId,
        code: 'WRONG_OWNER',
        message: `the key belongs to another IAM user: got ${last.UserName}, expected ${users.join(' or ')}. rekey only touches keys of the credential's own identity; check the key ID in the ledger.`,
      });
    }
    if (last !== undefined) {
      throw providerError({
        provider: PROVIDER,
        operation: method,
        keyId: accessKeyId,
        code: 'PROVIDER_ERROR',
        message: `IAM GetAccessKeyLastUsed named no owner for a key on none of ${users.join(', ')}: got an answer without UserName. The key is not proven absent; check it in IAM, then re-run.`,
      });
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

  /**
   * Is `pair` the key's pair? One `GetUser` signed by it: IAM verifies the signature before any
   * permission, so success or AccessDenied means the same secret.
   */
  private async checkSecret(method: string, user: string, pair: KeyPair): Promise<void> {
    const probe = new IAMClient({
      region: this.connection.region ?? 'us-east-1',
      endpoint: this.connection.endpoint,
      maxAttempts: 1,
      credentials: async () => ({ accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey.reveal() }),
      requestHandler: this.client.config.requestHandler,
    });
    probe.middlewareStack.add(keepTransportErrorCode, { step: 'deserialize', priority: 'low', name: 'rekeyKeepTransportErrorCode' });
    try {
      await this.call({ method, action: 'GetUser', user, keyId: pair.accessKeyId }, () => probe.send(new GetUserCommand({})), ['AccessDenied']);
    } catch (error) {
      if (error instanceof ProviderError && (error.providerCode === 'SignatureDoesNotMatch' || error.providerCode === 'InvalidClientTokenId')) {
        throw providerError({
          provider: PROVIDER,
          operation: method,
          keyId: pair.accessKeyId,
          code: 'KEY_EXISTS',
          status: error.status,
          providerCode: error.providerCode,
          message: `the access key exists on user ${user} with another secret: got HTTP ${error.status ?? '?'} ${error.providerCode} for a call signed with the given pair. rekey never overwrites a key: start a new rotation; nothing was changed.`,
        });
      }
      throw error;
    }
  }

  /**
   * CreateAccessKey failed. When IAM refused it cleanly (a 4xx other than a throttle) nothing was
   * created; otherwise (no answer, a timeout, 5xx) IAM may have created a key whose secret is
   * lost: list the user's keys and say which exist (key IDs only).
   */
  private async afterFailedCreate(user: string, error: unknown): Promise<unknown> {
    if (!(error instanceof ProviderError)) return error;
    const clean = error.status !== undefined && error.status < 500 && error.providerCode !== 'Throttling';
    if (clean) return error;
    let now: string;
    try {
      const keys = await this.listUserKeys('addKey', user);
      now = keys.length === 0 ? 'none' : keys.map((k) => `${k.AccessKeyId} (${k.Status ?? 'unknown'})`).join(', ');
    } catch (listError) {
      now = `unknown (ListAccessKeys failed too: ${listError instanceof Error ? listError.message : String(listError)})`;
    }
    return providerError({
      provider: PROVIDER,
      operation: 'addKey',
      code: 'KEY_STATE_UNKNOWN',
      status: error.status,
      providerCode: error.providerCode,
      message:
        `IAM CreateAccessKey for user ${user} failed and may have created a key whose secret was lost: got ${error.providerCode ?? 'an error'} (${error.message}). ` +
        `Keys of ${user} now: ${now}. Delete any key there that is not in the plan (deleteKey), then re-run the step.`,
      cause: error,
    });
  }

  /** ListAccessKeys, following Marker while IsTruncated. */
  private async listUserKeys(method: string, user: string, keyId?: string, absentUserIsEmpty = false): Promise<AccessKeyMetadata[]> {
    const keys: AccessKeyMetadata[] = [];
    let marker: string | undefined;
    do {
      const out = await this.call({ method, action: 'ListAccessKeys', user, keyId }, () =>
        this.client.send(new ListAccessKeysCommand({ UserName: user, Marker: marker })), absentUserIsEmpty ? ['NoSuchEntity'] : []);
      if (out === undefined) return [];
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
      const err = (text: string, errorCode: ProviderErrorCode = 'PROVIDER_ERROR') =>
        providerError({ ...base, status, providerCode: code, code: errorCode, message: text });
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
            'KEY_LIMIT',
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
    // one classification for every client (lib/providers/http.ts)
    const kind = classifyTransportFailure(cause).kind;
    const maybe = /^(Get|List)/.test(action) ? '' : ` IAM may have applied ${action} before the answer was lost: re-run the step (it looks before it acts).`;
    if (kind === 'PROVIDER_TIMEOUT') {
      return providerError({
        ...base,
        providerCode: code,
        code: 'PROVIDER_TIMEOUT',
        message: `IAM at ${this.endpoint} did not answer ${action} within ${this.timeoutMs} ms: got ${code}. Check the endpoint and the network, or raise connection.timeoutMs.${maybe}`,
      });
    }
    if (kind === 'PROVIDER_TLS') {
      return providerError({
        ...base,
        providerCode: code,
        code: 'PROVIDER_TLS',
        message:
          `TLS verification of ${this.endpoint} failed (${action}): got ${code} (${message}). ` +
          `Set connection.caPem to the CA certificate that signed the endpoint's certificate, or fix the endpoint's certificate.`,
      });
    }
    if (kind === 'PROVIDER_UNREACHABLE') {
      return providerError({
        ...base,
        providerCode: code,
        code: 'PROVIDER_UNREACHABLE',
        message:
          `cannot reach IAM at ${this.endpoint} (${action}): got ${code}. ` +
          `Check connection.endpoint, DNS, and that the rotation Job's NetworkPolicy allows egress to it.${maybe}`,
      });
    }
    return providerError({
      ...base,
      providerCode: code,
      code: 'PROVIDER_ERROR',
      message: `IAM ${action} failed before an answer arrived: got ${code} (${message}). Check connection.endpoint and the network.${maybe}`,
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
      throw providerError({
        provider: PROVIDER,
        operation: method,
        code: identity.kind === 'root' ? 'ROOT_ROTATION_UNSUPPORTED' : 'IDENTITY_KIND_UNSUPPORTED',
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
