/**
 * A real radosgw for tests: uses RGW_ENDPOINT (+ RGW_ADMIN_ACCESS_KEY / RGW_ADMIN_SECRET_KEY) when
 * set, else reuses the cluster `scripts/rgw.sh` runs, else starts it (serialized with flock, so
 * parallel test files never restart each other's cluster).
 *
 * Absence policy: when the cluster cannot run here (no radosgw and no root/apt-get to install
 * it), `rgwAvailability()` says why; tests skip LOUDLY — unless CI=true, where they must fail.
 */
import { execFile } from 'node:child_process';
import { createServer as httpCreateServer, request as httpRequest } from 'node:http';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KeyPair } from '../../lib/providers/provider.js';
import { SecretValue } from '../../lib/core/secret-value.js';

export interface RgwTestCluster {
  readonly endpoint: string;
  readonly admin: KeyPair;
  readonly adminUid: string;
  /** How we got it: `env`, `running` (reused) or `started`. */
  readonly source: 'env' | 'running' | 'started';
}

const ROOT = path.resolve(process.cwd());
const SCRIPT = path.join(ROOT, 'scripts', 'rgw.sh');

/** The data dir `scripts/rgw.sh` uses. */
export function rgwDir(): string {
  return process.env.RGW_DIR || path.join(process.env.TMPDIR || '/tmp', 'rekey-rgw');
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** `undefined` when a cluster can be used or started here, else the reason it cannot. */
export function rgwAvailability(): string | undefined {
  if (process.env.RGW_ENDPOINT) return undefined;
  if (onPath('radosgw') && onPath('ceph-mon') && onPath('ceph-osd')) return undefined;
  if (process.getuid?.() === 0 && onPath('apt-get')) return undefined;
  return 'radosgw/ceph-mon/ceph-osd are not installed and this user cannot apt-get install them (not root)';
}

/**
 * `describe` when a cluster is available; otherwise, outside CI, `describe.skip` after a loud
 * warning; in CI (CI=true), `describe` anyway, so the missing cluster fails the suite.
 */
export function rgwDescribeMode(title: string): 'run' | 'skip' {
  const reason = rgwAvailability();
  if (reason === undefined) return 'run';
  if (process.env.CI === 'true') return 'run';
  const bar = '!'.repeat(100);
  console.warn(
    `${bar}\nSKIPPING ${title}: no real radosgw: ${reason}.\n` +
      `Install it (apt-get install radosgw ceph-mon ceph-osd) or set RGW_ENDPOINT. In CI (CI=true) this FAILS.\n${bar}`,
  );
  return 'skip';
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

function readAdminEnv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Finds or starts the cluster. Throws (with the script's output) when it cannot. */
export async function ensureRgw(): Promise<RgwTestCluster> {
  if (process.env.RGW_ENDPOINT) {
    const envFile = path.join(rgwDir(), 'admin.env');
    const file = existsSync(envFile) ? readAdminEnv(envFile) : {};
    const id = process.env.RGW_ADMIN_ACCESS_KEY ?? file.RGW_ADMIN_ACCESS_KEY;
    const secret = process.env.RGW_ADMIN_SECRET_KEY ?? file.RGW_ADMIN_SECRET_KEY;
    if (!id || !secret) {
      throw new Error(
        `RGW_ENDPOINT is set but no admin key: got neither RGW_ADMIN_ACCESS_KEY/RGW_ADMIN_SECRET_KEY nor ${envFile}. Set both variables.`,
      );
    }
    return {
      endpoint: process.env.RGW_ENDPOINT,
      admin: { accessKeyId: id, secretAccessKey: SecretValue.fromString(secret) },
      adminUid: process.env.RGW_ADMIN_UID ?? file.RGW_ADMIN_UID ?? 'rekey-admin',
      source: 'env',
    };
  }
  const lock = path.join(process.env.TMPDIR || '/tmp', 'rekey-rgw.lock');
  const script = `"${SCRIPT}" status >/dev/null && echo REUSED || "${SCRIPT}" start`;
  const res = await run('flock', ['--close', lock, 'bash', '-c', script], 240_000);
  if (res.code !== 0) {
    throw new Error(`scripts/rgw.sh start failed: got exit ${res.code}. Output:\n${res.out}`);
  }
  const env = readAdminEnv(path.join(rgwDir(), 'admin.env'));
  return {
    endpoint: env.RGW_ENDPOINT,
    admin: { accessKeyId: env.RGW_ADMIN_ACCESS_KEY, secretAccessKey: SecretValue.fromString(env.RGW_ADMIN_SECRET_KEY) },
    adminUid: env.RGW_ADMIN_UID,
    source: res.out.includes('REUSED') ? 'running' : 'started',
  };
}

/** What the fault proxy does with the next request that matches. */
export type RgwFault =
  /** Forward it, let radosgw apply it, then destroy the client's connection instead of answering. */
  | 'applyThenLoseReply'
  /** Forward it, let radosgw apply it, then answer 500 InternalError instead of radosgw's answer. */
  | 'applyThenFail';

/**
 * A loopback proxy in front of radosgw that injects "the change was applied, then the reply was
 * lost" (or replaced by a 500) for the next request matching a predicate; everything else is
 * forwarded unchanged. `seen` lists `METHOD path?query-keys` of every request.
 */
export class RgwFaultProxy {
  public readonly seen: string[] = [];
  public endpoint = '';
  private fault?: { match: (method: string, url: URL, body: string) => boolean; kind: RgwFault };
  private readonly server: import('node:http').Server;

  public constructor(target: string) {
    const t = new URL(target);
    this.server = httpCreateServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const parts: Buffer[] = [];
      for await (const c of req) parts.push(c as Buffer);
      const reqBody = Buffer.concat(parts);
      this.seen.push(`${req.method} ${url.pathname}${url.search ? `?${[...url.searchParams.keys()].join('&')}` : ''}`);
      const fault = this.fault && this.fault.match(req.method ?? '', url, reqBody.toString('utf8')) ? this.fault : undefined;
      if (fault) this.fault = undefined;
      const up = httpRequest({ hostname: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          if (fault?.kind === 'applyThenLoseReply') {
            req.socket.destroy();
            return;
          }
          if (fault?.kind === 'applyThenFail') {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end('{"Code":"InternalError","Message":"injected by the test proxy after radosgw applied the request"}');
            return;
          }
          const body = Buffer.concat(chunks);
          const headers = { ...r.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(r.statusCode ?? 502, headers);
          res.end(body);
        });
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(reqBody);
    });
  }

  /** Injects `kind` into the next request for which `match(method, url, body)` holds (body: the form of IAM actions). */
  public inject(kind: RgwFault, match: (method: string, url: URL, body: string) => boolean): void {
    this.fault = { kind, match };
  }

  /** True while an injected fault has not fired yet. */
  public get pending(): boolean {
    return this.fault !== undefined;
  }

  public async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as import('node:net').AddressInfo).port;
    this.endpoint = `http://127.0.0.1:${port}`;
    return this;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
