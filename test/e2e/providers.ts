/**
 * The provider an end-to-end rotation runs against, behind one small interface so the harness
 * (harness.ts) does not care which: `rustfs` (the in-process MinIO/RustFS server), `ceph-rgw`
 * (the real radosgw of scripts/rgw.sh) — and any other kind a test adds (e.g. `aws-iam` through
 * test/support/iam-server.ts) by implementing {@link E2EProvider}.
 *
 * What the harness needs from a provider:
 * - `start()` (start or connect), then `endpoint` for rekey.yaml and `admin` for the admin Secret;
 * - `specFields` / `identity(cred)`: what rekey.yaml declares for it;
 * - `check(id, secret)`: one real call signed with a pair, `'ok'` or the error code it got
 *   (how the tests prove "the new key works" and "the old key is rejected");
 * - `keyIds(cred)`: the key IDs the provider holds for a credential's identity, when it can tell;
 * - `close()`: stop it, and remove whatever this run created at a shared provider.
 */
import { randomBytes } from 'node:crypto';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { RgwAdminClient } from '../../lib/providers/ceph-rgw/client.js';
import { FakeMinioServer } from '../support/minio-server.js';
import { ensureRgw, rgwAvailability, type RgwTestCluster } from '../support/rgw.js';

/** A plain test pair (test strings only: never a real credential). */
export interface TestPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface E2EProvider {
  /** The provider `kind` in rekey.yaml (`rustfs`, `ceph-rgw`, `aws-iam`, …). */
  readonly kind: string;
  /** Why it cannot run here (the test skips loudly, or fails under CI=true); undefined when it can. */
  unavailable(): string | undefined;
  /** Starts or connects; `endpoint` and `admin` are valid afterwards. */
  start(): Promise<void>;
  /** The endpoint the rotator calls (rekey.yaml `providers[].endpoint`). */
  readonly endpoint: string;
  /** The admin pair the rotator reads from the admin Secret. */
  readonly admin: TestPair;
  /** Extra fields of the rekey.yaml provider entry besides name, kind, endpoint and adminCredential. */
  readonly specFields: Readonly<Record<string, unknown>>;
  /** The identity rekey.yaml declares for a credential (unique per run at a shared provider). */
  identity(credential: string, fromSpec: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** One real call signed with the pair: `'ok'`, or the error code the provider answered. */
  check(accessKeyId: string, secretAccessKey: string): Promise<string>;
  /** The key IDs the provider holds for a credential's identity. */
  keyIds(credential: string): Promise<string[]>;
  /** Stops it and removes what this run created at a shared provider. */
  close(): Promise<void>;
}

/** ListBuckets signed with the pair: 'ok' or the S3 error code. */
export async function s3Check(endpoint: string, accessKeyId: string, secretAccessKey: string, region = 'us-east-1'): Promise<string> {
  const s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  try {
    await s3.send(new ListBucketsCommand({}));
    return 'ok';
  } catch (e) {
    return (e as { Code?: string; name?: string }).Code ?? (e as Error).name;
  } finally {
    s3.destroy();
  }
}

/** `rustfs` through the in-process MinIO/RustFS server (test/support/minio-server.ts). */
export class RustfsProvider implements E2EProvider {
  public readonly kind = 'rustfs';
  public readonly admin: TestPair = { accessKeyId: 'e2eadminAAAA', secretAccessKey: 'e2e-admin-secret-Zq81xYt0pLm3' };
  public readonly specFields = {};
  public server!: FakeMinioServer;
  readonly #identities = new Map<string, string>();

  public unavailable(): string | undefined {
    return undefined;
  }

  public async start(): Promise<void> {
    this.server = await new FakeMinioServer({ rootAccessKey: this.admin.accessKeyId, rootSecretKey: this.admin.secretAccessKey }).start();
  }

  public get endpoint(): string {
    return this.server.endpoint;
  }

  public identity(credential: string, fromSpec: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const id = { kind: 'serviceAccount', name: credential, ...fromSpec };
    this.#identities.set(credential, String(id.name));
    return id;
  }

  public check(accessKeyId: string, secretAccessKey: string): Promise<string> {
    return s3Check(this.endpoint, accessKeyId, secretAccessKey);
  }

  /** The service accounts under the credential's identity (a `serviceAccount` identity names their parent user). */
  public async keyIds(credential: string): Promise<string[]> {
    const parent = this.#identities.get(credential);
    if (parent === undefined) throw new Error(`no rustfs identity was declared for credential ${credential}`);
    return [...this.server.serviceAccounts].filter(([, sa]) => sa.parent === parent).map(([id]) => id).sort();
  }

  public async close(): Promise<void> {
    await this.server?.stop();
  }
}

/**
 * `ceph-rgw` against the real radosgw (test/support/rgw.ts: RGW_ENDPOINT, or the cluster
 * scripts/rgw.sh runs). Identities are `user`s named `rekey-e2e-<run>-<credential>`, removed on close.
 */
export class CephRgwProvider implements E2EProvider {
  public readonly kind = 'ceph-rgw';
  public readonly specFields = { region: 'us-east-1' };
  public readonly run = randomBytes(3).toString('hex');
  public cluster!: RgwTestCluster;
  public client!: RgwAdminClient;
  readonly #uids = new Map<string, string>();

  public unavailable(): string | undefined {
    return rgwAvailability();
  }

  public async start(): Promise<void> {
    this.cluster = await ensureRgw();
    this.client = new RgwAdminClient({ endpoint: this.cluster.endpoint, admin: this.cluster.admin });
  }

  public get endpoint(): string {
    return this.cluster.endpoint;
  }

  public get admin(): TestPair {
    return { accessKeyId: this.cluster.admin.accessKeyId, secretAccessKey: this.cluster.admin.secretAccessKey.reveal() };
  }

  public identity(credential: string): Record<string, unknown> {
    const uid = `rekey-e2e-${this.run}-${credential}`;
    this.#uids.set(credential, uid);
    return { kind: 'user', name: uid };
  }

  public check(accessKeyId: string, secretAccessKey: string): Promise<string> {
    return s3Check(this.endpoint, accessKeyId, secretAccessKey);
  }

  public async keyIds(credential: string): Promise<string[]> {
    const uid = this.#uids.get(credential);
    if (!uid) throw new Error(`no ceph-rgw identity was declared for credential ${credential}`);
    return (await this.client.listKeys({ kind: 'user', name: uid })).map((k) => k.accessKeyId).sort();
  }

  public async close(): Promise<void> {
    if (!this.client) return;
    for (const uid of this.#uids.values()) {
      try {
        await this.client.removeUser(uid);
      } catch (e) {
        process.stderr.write(`e2e: could not remove radosgw user ${uid}: ${(e as Error).message}\n`);
      }
    }
    this.client.close();
  }
}
