/**
 * An in-process AWS IAM server for tests: the IAM Query API wire format (POST form-encoded
 * `Action=...&Version=2010-05-08`, XML answers shaped as in AWS's IAM API reference, the
 * `<ErrorResponse>` error envelope with AWS's HTTP statuses), SigV4 checked with the
 * independent `aws4` implementation (service `iam`, region `us-east-1`), users, access keys and
 * inline user policies in memory, the two-keys-per-user quota, and fault injection.
 *
 * No real IAM exists on these machines (no moto, no LocalStack; RGW answers CreateAccessKey with
 * 405), so this server stands in for it; the unchanged AWS SDK v3 IAM client reaches it through
 * its `endpoint` option. Error statuses follow the SDK's own IAM model (NoSuchEntity 404,
 * EntityAlreadyExists 409, LimitExceeded 409, ServiceFailure 500) and AWS's common errors
 * (InvalidClientTokenId / SignatureDoesNotMatch / AccessDenied 403).
 *
 * It also answers S3 `ListBuckets` (GET `/`, SigV4 service `s3`, any region) against the same
 * keys, as AWS does for IAM keys — enough for the rotator's verifyAccepted/verifyRejected: an
 * unknown or Inactive key gets 403 `InvalidAccessKeyId` (checked before the signature, as S3
 * does), a wrong secret 403 `SignatureDoesNotMatch`, an active key 200 with no buckets.
 *
 * Secrets here are test values drawn at random; the server remembers every secret it issued
 * (`issuedSecrets`) so tests can scan logs and error messages for them.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import aws4 from 'aws4';

const XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const API_VERSION = '2010-05-08';
const ACCOUNT_ID = '123456789012';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** AWS allows 15 minutes of clock skew on SigV4 requests. */
const MAX_SKEW_MS = 15 * 60 * 1000;

export interface IamServerOptions {
  /** The admin credential (plain test strings) allowed to call every action. */
  readonly admin: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The IAM user name of the admin credential. @default 'rekey-admin' */
  readonly adminUserName?: string;
  /** Serve https with this key and certificate (PEM) instead of http. @default - plain http */
  readonly tls?: { readonly key: string; readonly cert: string };
  /**
   * Largest page the server returns from ListAccessKeys / ListUserPolicies, whatever MaxItems
   * the client asks for (IAM may return fewer items than MaxItems). @default 100
   */
  readonly pageSize?: number;
  /** Clock for CreateDate values. @default - real time, strictly increasing by at least 1 s per object */
  readonly now?: () => Date;
  /**
   * The server's clock runs this many ms ahead of the machine's, for SigV4's 15-minute expiry check
   * (403 SignatureDoesNotMatch "Signature expired") and the `Date` header the SDK corrects its
   * clock skew from. @default 0
   */
  readonly clockSkewMs?: number;
}

/** A fault to inject into upcoming requests. */
export interface IamFault {
  /** Fail the nth matching request from now (1-based; every request matches when `action` is absent). @default 1 */
  readonly nth?: number;
  /** Only requests for this action count and fail. @default - any action */
  readonly action?: string;
  /** How many consecutive matching requests fail. @default 1 */
  readonly times?: number;
  /** @default 500 */
  readonly status?: number;
  /** @default 'ServiceFailure' */
  readonly code?: string;
  /** @default 'Receiver' for 5xx, 'Sender' otherwise */
  readonly type?: 'Sender' | 'Receiver';
  /** @default 'Request processing has failed due to an unknown error, exception or failure.' */
  readonly message?: string;
  /**
   * "Applied, then the reply lost": carry the request out in full, then destroy the connection
   * instead of answering (status/code/message are ignored). @default false
   */
  readonly loseReply?: boolean;
}

export interface IamAccessKeyState {
  readonly accessKeyId: string;
  readonly userName: string;
  status: 'Active' | 'Inactive';
  readonly createDate: string;
}

export interface IamUserState {
  readonly userName: string;
  readonly userId: string;
  readonly arn: string;
  readonly createDate: string;
  /** Inline policies: name → document exactly as sent (JSON text). */
  readonly policies: Map<string, string>;
}

/** One request as the server saw it (parameters never carry a secret in IAM). */
export interface IamRecordedRequest {
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
  /** The access-key ID that signed it, when the Authorization header parsed. */
  readonly signedBy?: string;
  readonly status: number;
  readonly code?: string;
}

interface IamFailure {
  readonly status: number;
  readonly code: string;
  readonly type: 'Sender' | 'Receiver';
  readonly message: string;
}

class IamFailureError extends Error {
  public constructor(public readonly failure: IamFailure) {
    super(failure.message);
  }
}

function fail(status: number, code: string, message: string, type?: 'Sender' | 'Receiver'): never {
  throw new IamFailureError({ status, code, message, type: type ?? (status >= 500 ? 'Receiver' : 'Sender') });
}

interface PendingFault extends Required<Omit<IamFault, 'nth' | 'action' | 'loseReply'>> {
  readonly loseReply: boolean;
  readonly action?: string;
  /** Requests (matching or not) still to let through before failing; undefined: the next matching one. */
  skip?: number;
  remaining: number;
}

export class IamServer {
  /** Starts a server on 127.0.0.1 with an ephemeral port. */
  public static async start(options: IamServerOptions): Promise<IamServer> {
    const server = new IamServer(options);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  public readonly users = new Map<string, IamUserState>();
  public readonly keys = new Map<string, IamAccessKeyState>();
  /** Every request handled, in order. */
  public readonly requests: IamRecordedRequest[] = [];
  /** Every secret access key this server drew (tests scan logs and errors for them). */
  public readonly issuedSecrets: string[] = [];

  private readonly server: http.Server;
  private readonly secrets = new Map<string, string>();
  private readonly adminUserName: string;
  private readonly adminUser: IamUserState;
  private readonly pageSize: number;
  private readonly now: () => Date;
  private readonly faults: PendingFault[] = [];
  private lastCreated = 0;

  private constructor(private readonly options: IamServerOptions) {
    this.adminUserName = options.adminUserName ?? 'rekey-admin';
    this.pageSize = options.pageSize ?? 100;
    this.now = options.now ?? (() => new Date());
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.handle(req, res);
    };
    this.server = options.tls
      ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler)
      : http.createServer(handler);
    this.secrets.set(options.admin.accessKeyId, options.admin.secretAccessKey);
    this.adminUser = {
      userName: this.adminUserName,
      userId: 'AIDA' + randomBase32(17),
      arn: `arn:aws:iam::${ACCOUNT_ID}:user/${this.adminUserName}`,
      createDate: new Date(0).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      policies: new Map(),
    };
  }

  /** `http://127.0.0.1:<port>` (or https). */
  public get endpoint(): string {
    const { port } = this.server.address() as AddressInfo;
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Makes upcoming requests fail (default: the next request, once, with 500 ServiceFailure). */
  public injectFault(fault: IamFault = {}): void {
    const status = fault.status ?? 500;
    this.faults.push({
      action: fault.action,
      skip: fault.nth === undefined ? undefined : fault.nth - 1,
      remaining: fault.times ?? 1,
      times: fault.times ?? 1,
      status,
      code: fault.code ?? 'ServiceFailure',
      type: fault.type ?? (status >= 500 ? 'Receiver' : 'Sender'),
      message: fault.message ?? 'Request processing has failed due to an unknown error, exception or failure.',
      loseReply: fault.loseReply ?? false,
    });
  }

  /** Creates a user directly (test setup), optionally with inline policies. */
  public seedUser(userName: string, policies: Record<string, unknown> = {}): IamUserState {
    const user = this.createUser(userName);
    for (const [name, doc] of Object.entries(policies)) user.policies.set(name, JSON.stringify(doc));
    return user;
  }

  /** Draws a key for a user directly (test setup); returns the pair as plain test strings. */
  public seedKey(userName: string): { accessKeyId: string; secretAccessKey: string } {
    const key = this.createKey(userName);
    return { accessKeyId: key.accessKeyId, secretAccessKey: this.secrets.get(key.accessKeyId)! };
  }

  /** The keys of a user, oldest first: `[{ id, status }]` for compact assertions. */
  public keysOf(userName: string): Array<{ id: string; status: 'Active' | 'Inactive' }> {
    return [...this.keys.values()]
      .filter((k) => k.userName === userName)
      .map((k) => ({ id: k.accessKeyId, status: k.status }));
  }

  /** A deep copy of users, keys and policies, for "state unchanged" assertions. */
  public snapshot(): unknown {
    return {
      users: [...this.users.values()].map((u) => ({ ...u, policies: [...u.policies.entries()] })),
      keys: [...this.keys.values()].map((k) => ({ ...k })),
    };
  }

  // ---- request handling -------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const params = new URLSearchParams(url.search);
    if (req.method === 'POST') for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
    const action = params.get('Action') ?? '';
    const flat = Object.fromEntries(params.entries());
    const requestId = randomUUID();
    let signedBy: string | undefined;
    if (this.parseAuthorization(req)?.service === 's3') {
      this.handleS3(req, body, res, requestId);
      return;
    }
    try {
      signedBy = this.parseAuthorization(req)?.accessKeyId;
      const lose = this.maybeFault(action);
      const caller = this.authenticate(req, body);
      if (params.get('Version') !== API_VERSION) {
        fail(400, 'InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
      }
      const result = this.dispatch(action, params, caller);
      if (lose) {
        // applied; the client never hears of it
        this.requests.push({ action, params: flat, signedBy, status: 0, code: 'ReplyLost' });
        res.socket?.destroy();
        return;
      }
      this.requests.push({ action, params: flat, signedBy, status: 200 });
      this.send(res, 200, requestId, wrap(action, result, requestId));
    } catch (error) {
      const failure: IamFailure =
        error instanceof IamFailureError
          ? error.failure
          : { status: 500, code: 'ServiceFailure', type: 'Receiver', message: String(error) };
      this.requests.push({ action, params: flat, signedBy, status: failure.status, code: failure.code });
      this.send(res, failure.status, requestId, errorXml(failure, requestId));
    }
  }

  /** S3 ListBuckets against the IAM keys (see the header). */
  private handleS3(req: http.IncomingMessage, body: string, res: http.ServerResponse, requestId: string): void {
    const auth = this.parseAuthorization(req)!;
    const s3Error = (status: number, code: string, message: string) => {
      this.requests.push({ action: 'S3:ListBuckets', params: {}, signedBy: auth.accessKeyId, status, code });
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${esc(message)}</Message><RequestId>${requestId}</RequestId></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
    };
    const key = this.keys.get(auth.accessKeyId);
    const secret = this.secrets.get(auth.accessKeyId);
    if (secret === undefined || key?.status !== 'Active') {
      s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of auth.signedHeaders) {
      const value = req.headers[name];
      headers[name] = Array.isArray(value) ? value.join(',') : (value ?? '');
    }
    const signer = new aws4.RequestSigner(
      { method: req.method, host: headers.host, path: req.url ?? '/', headers, body, service: 's3', region: auth.region, doNotModifyHeaders: true },
      { accessKeyId: auth.accessKeyId, secretAccessKey: secret },
    );
    signer.datetime = String(req.headers['x-amz-date'] ?? '');
    const a = Buffer.from(signer.signature());
    const b = Buffer.from(auth.signature);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
      return;
    }
    this.requests.push({ action: 'S3:ListBuckets', params: {}, signedBy: auth.accessKeyId, status: 200 });
    const xml = `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>${ACCOUNT_ID}</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  private serverNow(): number {
    return Date.now() + (this.options.clockSkewMs ?? 0);
  }

  private send(res: http.ServerResponse, status: number, requestId: string, xml: string): void {
    res.writeHead(status, {
      date: new Date(this.serverNow()).toUTCString(),
      'content-type': 'text/xml',
      'x-amzn-requestid': requestId,
      'content-length': Buffer.byteLength(xml),
    });
    res.end(xml);
  }

  /** Throws the next due fault; returns true when the due fault is "apply, then lose the reply". */
  private maybeFault(action: string): boolean {
    for (const fault of this.faults) {
      if (fault.remaining <= 0) continue;
      if (fault.skip !== undefined && fault.skip > 0) {
        if (fault.action === undefined || fault.action === action) fault.skip -= 1;
        continue;
      }
      if (fault.action !== undefined && fault.action !== action) continue;
      fault.remaining -= 1;
      if (fault.loseReply) return true;
      fail(fault.status, fault.code, fault.message, fault.type);
    }
    return false;
  }

  private parseAuthorization(req: http.IncomingMessage):
    | { accessKeyId: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string }
    | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      header,
    );
    if (!m) return undefined;
    return { accessKeyId: m[1], date: m[2], region: m[3], service: m[4], signedHeaders: m[5].split(';'), signature: m[6] };
  }

  /** Verifies SigV4 with `aws4` (not the SDK's signer); returns the caller's user name. */
  private authenticate(req: http.IncomingMessage, body: string): string {
    if (!req.headers.authorization) fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    const auth = this.parseAuthorization(req);
    if (!auth) fail(400, 'IncompleteSignature', 'Authorization header requires a valid AWS4-HMAC-SHA256 value.');
    const secret = this.secrets.get(auth.accessKeyId);
    const key = this.keys.get(auth.accessKeyId);
    const isAdmin = auth.accessKeyId === this.options.admin.accessKeyId;
    if (secret === undefined || (!isAdmin && key?.status !== 'Active')) {
      fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    if (auth.service !== 'iam') fail(403, 'SignatureDoesNotMatch', "Credential should be scoped to correct service: 'iam'. ");
    if (auth.region !== 'us-east-1') {
      fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${auth.region}'. `);
    }
    for (const required of ['host', 'x-amz-date']) {
      if (!auth.signedHeaders.includes(required)) {
        fail(403, 'SignatureDoesNotMatch', `'${required}' must be a signed header.`);
      }
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const signedAt = Date.parse(
      amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    if (Number.isNaN(signedAt) || !amzDate.startsWith(auth.date)) {
      fail(403, 'SignatureDoesNotMatch', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.');
    }
    if (Math.abs(this.serverNow() - signedAt) > MAX_SKEW_MS) fail(403, 'SignatureDoesNotMatch', 'Signature expired.');

    const headers: Record<string, string> = {};
    for (const name of auth.signedHeaders) {
      const value = req.headers[name];
      headers[name] = Array.isArray(value) ? value.join(',') : (value ?? '');
    }
    // doNotModifyHeaders: sign exactly the headers the client signed; with it aws4 does not read
    // X-Amz-Date itself, so the signing time is set explicitly
    const signer = new aws4.RequestSigner(
      {
        method: req.method,
        host: headers.host,
        path: req.url ?? '/',
        headers,
        body,
        service: 'iam',
        region: 'us-east-1',
        doNotModifyHeaders: true,
      },
      { accessKeyId: auth.accessKeyId, secretAccessKey: secret },
    );
    signer.datetime = amzDate;
    const expectedSignature = signer.signature();
    const a = Buffer.from(expectedSignature);
    const b = Buffer.from(auth.signature);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      fail(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
    return isAdmin ? this.adminUserName : key!.userName;
  }

  private dispatch(action: string, p: URLSearchParams, caller: string): string {
    const isAdmin = caller === this.adminUserName;
    const deny = (resource: string): never =>
      fail(
        403,
        'AccessDenied',
        `User: arn:aws:iam::${ACCOUNT_ID}:user/${caller} is not authorized to perform: iam:${action} on resource: ${resource} because no identity-based policy allows the iam:${action} action`,
      );
    const required = (name: string): string => {
      const value = p.get(name);
      if (!value) {
        const field = name.charAt(0).toLowerCase() + name.slice(1);
        fail(400, 'ValidationError', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      }
      return value;
    };
    switch (action) {
      case 'GetUser': {
        const name = p.get('UserName') ?? caller;
        if (!isAdmin && name !== caller) deny(`user ${name}`);
        // the admin identity is not one of the managed users: answer for it without storing it
        if (name === this.adminUserName && !this.users.has(name)) return `<User>${userXml(this.adminUser)}</User>`;
        return `<User>${userXml(this.user(name))}</User>`;
      }
      case 'CreateUser': {
        if (!isAdmin) deny(`user ${required('UserName')}`);
        const name = required('UserName');
        if (this.users.has(name)) fail(409, 'EntityAlreadyExists', `User with name ${name} already exists.`);
        return `<User>${userXml(this.createUser(name))}</User>`;
      }
      case 'PutUserPolicy': {
        if (!isAdmin) deny(`user ${required('UserName')}`);
        const user = this.user(required('UserName'));
        const name = required('PolicyName');
        const doc = required('PolicyDocument');
        try {
          JSON.parse(doc);
        } catch {
          fail(400, 'MalformedPolicyDocument', 'This policy contains invalid Json');
        }
        user.policies.set(name, doc);
        return '';
      }
      case 'GetUserPolicy': {
        if (!isAdmin) deny(`user ${required('UserName')}`);
        const user = this.user(required('UserName'));
        const name = required('PolicyName');
        const doc = user.policies.get(name);
        if (doc === undefined) fail(404, 'NoSuchEntity', `The user policy with name ${name} cannot be found.`);
        return (
          `<UserName>${esc(user.userName)}</UserName><PolicyName>${esc(name)}</PolicyName>` +
          `<PolicyDocument>${esc(encodeRfc3986(doc))}</PolicyDocument>`
        );
      }
      case 'ListUserPolicies': {
        if (!isAdmin) deny(`user ${required('UserName')}`);
        const user = this.user(required('UserName'));
        const page = this.page([...user.policies.keys()].sort(), p);
        return `<PolicyNames>${page.items.map((n) => `<member>${esc(n)}</member>`).join('')}</PolicyNames>${page.tail}`;
      }
      case 'CreateAccessKey': {
        const name = p.get('UserName') ?? caller;
        if (!isAdmin) deny(`user ${name}`);
        const key = this.createKey(name);
        return (
          `<AccessKey><UserName>${esc(key.userName)}</UserName><AccessKeyId>${key.accessKeyId}</AccessKeyId>` +
          `<Status>${key.status}</Status><SecretAccessKey>${esc(this.secrets.get(key.accessKeyId)!)}</SecretAccessKey>` +
          `<CreateDate>${key.createDate}</CreateDate></AccessKey>`
        );
      }
      case 'UpdateAccessKey': {
        const name = p.get('UserName') ?? caller;
        if (!isAdmin) deny(`user ${name}`);
        const key = this.keyOf(name, required('AccessKeyId'));
        const status = required('Status');
        if (status !== 'Active' && status !== 'Inactive') {
          fail(400, 'ValidationError', `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`);
        }
        key.status = status;
        return '';
      }
      case 'DeleteAccessKey': {
        const name = p.get('UserName') ?? caller;
        if (!isAdmin) deny(`user ${name}`);
        const key = this.keyOf(name, required('AccessKeyId'));
        this.keys.delete(key.accessKeyId);
        this.secrets.delete(key.accessKeyId);
        return '';
      }
      case 'GetAccessKeyLastUsed': {
        if (!isAdmin) deny(`access key ${required('AccessKeyId')}`);
        // modelled: the owner of a key of this account; NoSuchEntity for a key that does not exist
        const key = this.keys.get(required('AccessKeyId'));
        if (!key) fail(404, 'NoSuchEntity', `The Access Key with id ${required('AccessKeyId')} cannot be found.`);
        return `<UserName>${esc(key.userName)}</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed>`;
      }
      case 'ListAccessKeys': {
        const name = p.get('UserName') ?? caller;
        if (!isAdmin && name !== caller) deny(`user ${name}`);
        const user = this.user(name);
        const page = this.page(
          [...this.keys.values()].filter((k) => k.userName === user.userName),
          p,
        );
        const members = page.items
          .map(
            (k) =>
              `<member><UserName>${esc(k.userName)}</UserName><AccessKeyId>${k.accessKeyId}</AccessKeyId>` +
              `<Status>${k.status}</Status><CreateDate>${k.createDate}</CreateDate></member>`,
          )
          .join('');
        return `<UserName>${esc(user.userName)}</UserName><AccessKeyMetadata>${members}</AccessKeyMetadata>${page.tail}`;
      }
      default:
        fail(400, 'InvalidAction', `Could not find operation ${action} for version ${API_VERSION}`);
    }
  }

  private page<T>(all: T[], p: URLSearchParams): { items: T[]; tail: string } {
    const maxItems = Math.min(Number(p.get('MaxItems') ?? 100) || 100, this.pageSize);
    const marker = p.get('Marker');
    let start = 0;
    if (marker) {
      const decoded = /^page:(\d+)$/.exec(Buffer.from(marker, 'base64').toString('utf8'));
      if (!decoded) fail(400, 'ValidationError', `Invalid Marker: ${marker}`);
      start = Number(decoded[1]);
    }
    const items = all.slice(start, start + maxItems);
    const next = start + items.length;
    const truncated = next < all.length;
    const tail = truncated
      ? `<IsTruncated>true</IsTruncated><Marker>${Buffer.from(`page:${next}`).toString('base64')}</Marker>`
      : '<IsTruncated>false</IsTruncated>';
    return { items, tail };
  }

  private user(name: string): IamUserState {
    const user = this.users.get(name);
    if (!user) fail(404, 'NoSuchEntity', `The user with name ${name} cannot be found.`);
    return user;
  }

  private keyOf(userName: string, accessKeyId: string): IamAccessKeyState {
    this.user(userName);
    const key = this.keys.get(accessKeyId);
    if (!key || key.userName !== userName) {
      fail(404, 'NoSuchEntity', `The Access Key with id ${accessKeyId} cannot be found.`);
    }
    return key;
  }

  private createUser(userName: string): IamUserState {
    const user: IamUserState = {
      userName,
      userId: 'AIDA' + randomBase32(17),
      arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`,
      createDate: this.createDate(),
      policies: new Map(),
    };
    this.users.set(userName, user);
    return user;
  }

  private createKey(userName: string): IamAccessKeyState {
    this.user(userName);
    const count = [...this.keys.values()].filter((k) => k.userName === userName).length;
    if (count >= 2) fail(409, 'LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2');
    let accessKeyId: string;
    do accessKeyId = 'AKIA' + randomBase32(16);
    while (this.secrets.has(accessKeyId));
    // 30 random bytes → exactly 40 base64 characters, the shape of an AWS secret access key
    const secret = randomBytes(30).toString('base64');
    const key: IamAccessKeyState = { accessKeyId, userName, status: 'Active', createDate: this.createDate() };
    this.keys.set(accessKeyId, key);
    this.secrets.set(accessKeyId, secret);
    this.issuedSecrets.push(secret);
    return key;
  }

  /** Second-precision timestamps as IAM returns them, strictly increasing so "oldest" is well defined. */
  private createDate(): string {
    const t = Math.max(Math.floor(this.now().getTime() / 1000) * 1000, this.lastCreated + 1000);
    this.lastCreated = t;
    return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function wrap(action: string, result: string, requestId: string): string {
  const body = result === '' ? '' : `<${action}Result>${result}</${action}Result>`;
  return (
    `<${action}Response xmlns="${XMLNS}">${body}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function errorXml(f: IamFailure, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${f.type}</Type><Code>${esc(f.code)}</Code>` +
    `<Message>${esc(f.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

function userXml(u: IamUserState): string {
  return (
    `<Path>/</Path><UserName>${esc(u.userName)}</UserName><UserId>${u.userId}</UserId>` +
    `<Arn>${esc(u.arn)}</Arn><CreateDate>${u.createDate}</CreateDate>`
  );
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** IAM returns policy documents URL-encoded per RFC 3986. */
function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function randomBase32(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += BASE32[b % 32];
  return out;
}
