/**
 * An in-process MinIO/RustFS stand-in for tests: the admin API under `/minio/admin/v3`
 * (the calls rekey's client makes, answered with madmin-go's status codes and JSON shapes,
 * madmin-encrypted where madmin-go decrypts) and S3 `GET /` (ListBuckets) for any active key.
 *
 * SigV4 is verified here by hand with node:crypto HMAC — independent of the @smithy signer
 * the client uses — including the payload hash against the body. Bodies are decrypted with
 * `decryptData`. State lives in memory and is inspectable (`users`, `serviceAccounts`, …).
 *
 * No real MinIO or RustFS runs on this machine (neither Debian nor npm ships one); this server
 * speaks the wire formats instead, and the client's requests are separately compared with
 * a capture of the real madmin-go client.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretValue } from '../../lib/core/secret-value.js';
import { decryptData, encryptData } from '../../lib/providers/minio/madmin.js';

export interface FakeUser {
  secretKey: string;
  status: 'enabled' | 'disabled';
  policies: string[];
}

export interface FakeServiceAccount {
  secretKey: string;
  parent: string;
  status: 'on' | 'off';
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Raw query string as received. */
  readonly rawQuery: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The decrypted body for encrypted admin calls. */
  readonly plaintext?: string;
  /** Who signed it. */
  readonly accessKey?: string;
  readonly status: number;
}

export interface FakeMinioServerOptions {
  readonly rootAccessKey: string;
  readonly rootSecretKey: string;
  /** Serve https with a self-signed certificate made with the openssl CLI. @default false */
  readonly tls?: boolean;
  /** Answer list-service-accounts like newer servers (objects) instead of madmin-go 2.0.7 (strings). @default 'strings' */
  readonly listShape?: 'strings' | 'objects';
  /** madmin algorithm for encrypted answers (2 = PBKDF2 keeps tests fast). @default 2 */
  readonly answerAlgorithm?: 0 | 1 | 2;
}

class HttpFailure extends Error {
  public constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ADMIN = '/minio/admin/v3';

export class FakeMinioServer {
  public readonly users = new Map<string, FakeUser>();
  public readonly serviceAccounts = new Map<string, FakeServiceAccount>();
  public readonly policies = new Map<string, unknown>();
  public readonly requests: RecordedRequest[] = [];
  /** PEM of the self-signed certificate (tls only). */
  public certPem?: string;

  private server?: http.Server;
  private failAt?: { n: number; status: number };
  private loseReply?: string;
  private applyLate?: { call: string; held?: () => Promise<void> };
  private counter = 0;
  private readonly opts: FakeMinioServerOptions;

  public constructor(opts: FakeMinioServerOptions) {
    this.opts = opts;
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  public get endpoint(): string {
    const addr = this.server?.address() as AddressInfo;
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`;
  }

  #inFlight = 0;

  /** Requests received and not yet answered (the fake Kubernetes clock ticks only while this is 0). */
  public get inFlight(): number {
    return this.#inFlight;
  }

  public async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.#inFlight += 1;
      res.once('close', () => (this.#inFlight -= 1));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req, Buffer.concat(chunks), res);
      });
    };
    if (this.opts.tls) {
      const { key, cert } = selfSignedCert();
      this.certPem = cert;
      this.server = https.createServer({ key, cert }, handler);
    } else {
      this.server = http.createServer(handler);
    }
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  public async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections?.();
  }

  /** Fails the `n`-th request from now (1 = the next one) with HTTP `status` (500 by default). */
  public failNthRequest(n: number, status = 500): void {
    this.failAt = { n: this.counter + n, status };
  }

  /**
   * "Applied, then the reply lost": the next admin request `<METHOD> <call>` (e.g.
   * `PUT add-service-account`) is carried out in full, then the connection is destroyed
   * instead of answering — what a client sees when a proxy or the network drops the reply.
   */
  public loseReplyOf(call: string): void {
    this.loseReply = call;
  }

  /**
   * "Applied late": the next admin request `<METHOD> <call>` gets no answer at all (the client
   * times out) and is carried out only when the next request of the same call arrives, just
   * before that one — what a client sees when a slow server applies a call after the client
   * gave up on it and already looked (and found nothing).
   */
  public applyLateOf(call: string): void {
    this.applyLate = { call };
  }

  /** Requests that change state (everything but GET). */
  public mutations(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  /** A snapshot of the state for before/after comparisons. */
  public snapshot(): string {
    return JSON.stringify({
      users: [...this.users.entries()].sort(),
      serviceAccounts: [...this.serviceAccounts.entries()].sort(),
      policies: [...this.policies.entries()].sort(),
    });
  }

  // --------------------------------------------------------------------- dispatch

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
    const isAdmin = url.pathname.startsWith(`${ADMIN}/`);
    let status = 500;
    let plaintext: string | undefined;
    let accessKey: string | undefined;
    const op0 = isAdmin ? `${req.method} ${url.pathname.slice(ADMIN.length + 1)}` : undefined;
    if (op0 !== undefined && this.applyLate?.call === op0) {
      const late = this.applyLate;
      if (!late.held) {
        const silent = { writeHead: () => undefined, end: () => undefined } as unknown as http.ServerResponse;
        late.held = () => this.handle(req, body, silent);
        return; // never answered: the client times out
      }
      this.applyLate = undefined;
      await late.held();
    }
    const reply = (code: number, payload: Buffer | string, type: string): void => {
      status = code;
      if (op0 !== undefined && op0 === this.loseReply && code < 300) {
        this.loseReply = undefined;
        status = 0; // applied; the client never hears of it
        req.socket.destroy();
        return;
      }
      res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    try {
      this.counter++;
      if (this.failAt && this.counter === this.failAt.n) {
        this.failAt = undefined;
        throw new HttpFailure(500, 'InternalError', 'We encountered an internal error, please try again.');
      }
      accessKey = this.verifySignature(req, url, rawQuery, body);
      if (!isAdmin) {
        if (req.method === 'GET' && url.pathname === '/') {
          reply(200, this.listBucketsXml(accessKey), 'application/xml');
          return;
        }
        throw new HttpFailure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      }
      if (accessKey !== this.opts.rootAccessKey) {
        throw new HttpFailure(403, 'AccessDenied', 'Access Denied.');
      }
      const op = url.pathname.slice(ADMIN.length + 1);
      const q = url.searchParams;
      const decrypt = async (): Promise<Record<string, unknown>> => {
        try {
          plaintext = (await decryptData(SecretValue.fromString(this.opts.rootSecretKey), body)).toString('utf8');
        } catch (e) {
          throw new HttpFailure(400, 'XMinioAdminConfigBadJSON', `cannot decrypt: ${(e as Error).message}`);
        }
        return JSON.parse(plaintext) as Record<string, unknown>;
      };
      const encrypted = async (value: unknown): Promise<Buffer> =>
        encryptData(SecretValue.fromString(this.opts.rootSecretKey), Buffer.from(JSON.stringify(value)), { algorithm: this.opts.answerAlgorithm ?? 2 });

      switch (`${req.method} ${op}`) {
        case 'GET list-canned-policies': {
          reply(200, JSON.stringify(Object.fromEntries(this.policies)), 'application/json');
          return;
        }
        case 'PUT add-canned-policy': {
          plaintext = body.toString('utf8');
          this.policies.set(required(q, 'name'), JSON.parse(plaintext));
          reply(200, '', 'application/json');
          return;
        }
        case 'PUT add-user': {
          const ak = required(q, 'accessKey');
          const r = await decrypt();
          if (ak === this.opts.rootAccessKey || this.serviceAccounts.has(ak)) {
            throw new HttpFailure(409, 'XMinioAdminUserExists', 'The access key is already in use.');
          }
          const existing = this.users.get(ak);
          this.users.set(ak, { secretKey: String(r.secretKey ?? existing?.secretKey ?? ''), status: r.status === 'disabled' ? 'disabled' : 'enabled', policies: existing?.policies ?? [] });
          reply(200, '', 'application/json');
          return;
        }
        case 'PUT set-user-status': {
          const user = this.user(required(q, 'accessKey'));
          const s = required(q, 'status');
          if (s !== 'enabled' && s !== 'disabled') throw new HttpFailure(400, 'InvalidArgument', 'Invalid status.');
          user.status = s;
          reply(200, '', 'application/json');
          return;
        }
        case 'GET user-info': {
          const u = this.user(required(q, 'accessKey'));
          reply(200, JSON.stringify({ policyName: u.policies.length ? u.policies.join(',') : undefined, status: u.status, updatedAt: '2026-11-22T14:16:55Z' }), 'application/json');
          return;
        }
        case 'GET list-users': {
          const all: Record<string, unknown> = {};
          for (const [ak, u] of this.users) all[ak] = { policyName: u.policies.length ? u.policies.join(',') : undefined, status: u.status };
          reply(200, await encrypted(all), 'application/octet-stream');
          return;
        }
        case 'DELETE remove-user': {
          const ak = required(q, 'accessKey');
          this.user(ak);
          this.users.delete(ak);
          for (const [sa, v] of this.serviceAccounts) if (v.parent === ak) this.serviceAccounts.delete(sa);
          reply(200, '', 'application/json');
          return;
        }
        case 'PUT set-user-or-group-policy': {
          const user = this.user(required(q, 'userOrGroup'));
          const policy = required(q, 'policyName');
          this.policy(policy);
          user.policies = [policy];
          reply(200, '', 'application/json');
          return;
        }
        case 'POST idp/builtin/policy/attach': {
          const r = await decrypt();
          const user = this.user(String(r.user));
          const wanted = (r.policies as string[]) ?? [];
          wanted.forEach((p) => this.policy(p));
          const fresh = wanted.filter((p) => !user.policies.includes(p));
          if (fresh.length === 0) throw new HttpFailure(400, 'XMinioAdminPolicyChangeAlreadyApplied', 'The specified policy change is already in effect.');
          user.policies.push(...fresh);
          reply(201, '', 'application/json');
          return;
        }
        case 'PUT add-service-account': {
          const r = await decrypt();
          const parent = String(r.targetUser ?? accessKey);
          if (parent !== this.opts.rootAccessKey) this.user(parent);
          const ak = typeof r.accessKey === 'string' && r.accessKey ? r.accessKey : `SA${this.counter}GENERATED`;
          const sk = typeof r.secretKey === 'string' && r.secretKey ? r.secretKey : `generated-secret-${this.counter}`;
          if (this.serviceAccounts.has(ak) || this.users.has(ak) || ak === this.opts.rootAccessKey) {
            throw new HttpFailure(409, 'XMinioAdminServiceAccountAlreadyExists', 'The service account already exists.');
          }
          this.serviceAccounts.set(ak, { secretKey: sk, parent, status: 'on' });
          reply(200, await encrypted({ credentials: { accessKey: ak, secretKey: sk, expiration: '1970-01-01T00:00:00Z' } }), 'application/octet-stream');
          return;
        }
        case 'POST update-service-account': {
          const sa = this.serviceAccount(required(q, 'accessKey'));
          const r = await decrypt();
          if (r.newStatus === 'on' || r.newStatus === 'off') sa.status = r.newStatus;
          if (typeof r.newSecretKey === 'string' && r.newSecretKey) sa.secretKey = r.newSecretKey;
          reply(204, '', 'application/json');
          return;
        }
        case 'GET list-service-accounts': {
          const user = required(q, 'user');
          if (user !== this.opts.rootAccessKey) this.user(user);
          const mine = [...this.serviceAccounts.entries()].filter(([, v]) => v.parent === user);
          const accounts =
            this.opts.listShape === 'objects'
              ? mine.map(([ak, v]) => ({ parentUser: v.parent, accountStatus: v.status, accessKey: ak }))
              : mine.map(([ak]) => ak);
          reply(200, await encrypted({ accounts }), 'application/octet-stream');
          return;
        }
        case 'GET info-service-account': {
          const sa = this.serviceAccount(required(q, 'accessKey'));
          reply(200, await encrypted({ parentUser: sa.parent, accountStatus: sa.status, impliedPolicy: true, policy: '', comment: '' }), 'application/octet-stream');
          return;
        }
        case 'DELETE delete-service-account': {
          const ak = required(q, 'accessKey');
          this.serviceAccount(ak);
          this.serviceAccounts.delete(ak);
          reply(204, '', 'application/json');
          return;
        }
        default:
          throw new HttpFailure(400, 'XMinioAdminUnknownCall', `unknown admin call ${req.method} ${op}`);
      }
    } catch (e) {
      const f = e instanceof HttpFailure ? e : new HttpFailure(500, 'InternalError', (e as Error).message);
      if (isAdmin) {
        reply(f.status, JSON.stringify({ Code: f.code, Message: f.message, Resource: url.pathname, RequestId: '1789ABCDEF', HostId: 'fake' }), 'application/json');
      } else {
        reply(f.status, `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${f.code}</Code><Message>${f.message}</Message><Resource>${url.pathname}</Resource><RequestId>1789ABCDEF</RequestId></Error>`, 'application/xml');
      }
    } finally {
      this.requests.push({ method: req.method ?? '', path: url.pathname, rawQuery, headers: req.headers, body, plaintext, accessKey, status });
    }
  }

  private user(ak: string): FakeUser {
    const u = this.users.get(ak);
    if (!u) throw new HttpFailure(404, 'XMinioAdminNoSuchUser', 'The specified user does not exist.');
    return u;
  }

  private serviceAccount(ak: string): FakeServiceAccount {
    const s = this.serviceAccounts.get(ak);
    if (!s) throw new HttpFailure(404, 'XMinioAdminServiceAccountNotFound', 'The specified service account is not found.');
    return s;
  }

  private policy(name: string): void {
    if (!this.policies.has(name)) throw new HttpFailure(404, 'XMinioAdminNoSuchPolicy', 'The canned policy does not exist.');
  }

  private listBucketsXml(accessKey: string): string {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>${accessKey}</DisplayName></Owner><Buckets><Bucket><Name>b</Name><CreationDate>2026-11-22T14:16:55.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`;
  }

  /** The secret of an active key (root, enabled user, enabled service account of an enabled parent). */
  private activeSecret(ak: string): string | undefined {
    if (ak === this.opts.rootAccessKey) return this.opts.rootSecretKey;
    const u = this.users.get(ak);
    if (u) return u.status === 'enabled' ? u.secretKey : undefined;
    const sa = this.serviceAccounts.get(ak);
    if (sa && sa.status === 'on') {
      const parent = sa.parent === this.opts.rootAccessKey ? 'enabled' : this.users.get(sa.parent)?.status;
      return parent === 'enabled' ? sa.secretKey : undefined;
    }
    return undefined;
  }

  /**
   * Hand-written SigV4 check (node:crypto only): canonical request from the raw request,
   * payload hash against the body, signature with the key's secret. Returns the access key.
   */
  private verifySignature(req: http.IncomingMessage, url: URL, rawQuery: string, body: Buffer): string {
    const auth = req.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]*)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new HttpFailure(403, 'AccessDenied', 'Access Denied.');
    const [, ak, day, region, service, signedHeaders, signature] = m as unknown as string[];
    const secret = this.activeSecret(ak);
    if (secret === undefined) throw new HttpFailure(403, 'InvalidAccessKeyId', 'The Access Key Id you provided does not exist in our records.');
    if (service !== 's3') throw new HttpFailure(403, 'SignatureDoesNotMatch', 'Credential should be scoped to correct service: s3.');
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== createHash('sha256').update(body).digest('hex')) {
      throw new HttpFailure(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(day)) throw new HttpFailure(403, 'SignatureDoesNotMatch', 'Date mismatch.');
    const names = signedHeaders.split(';');
    if (!names.includes('host')) throw new HttpFailure(403, 'SignatureDoesNotMatch', 'host must be signed.');
    const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalQuery = rawQuery
      .split('&')
      .filter((p) => p.length > 0)
      .map((p) => {
        const i = p.indexOf('=');
        const k = decodeURIComponent(i < 0 ? p : p.slice(0, i));
        const v = decodeURIComponent(i < 0 ? '' : p.slice(i + 1).replace(/\+/g, '%20'));
        return [enc(k), enc(v)] as const;
      })
      .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalPath = url.pathname.split('/').map((s) => enc(decodeURIComponent(s))).join('/');
    const canonical = [req.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
    const scope = `${day}/${region}/${service}/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    const kDate = hmac(`AWS4${secret}`, day);
    const kSigning = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
    const expected = hmac(kSigning, toSign);
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw new HttpFailure(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
    }
    return ak;
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function required(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === '') throw new HttpFailure(400, 'InvalidArgument', `missing query parameter ${name}`);
  return v;
}

/** A self-signed certificate for 127.0.0.1 made with the openssl CLI (node cannot make X.509). */
function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-minio-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'pipe' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
