/**
 * `aws-iam` for the end-to-end harness: the in-process IAM server (test/support/iam-server.ts),
 * which also answers S3 ListBuckets for the IAM keys, so the rotator's verification and the
 * test's `check` hit the same key store. Identities are IAM `user`s; the provider holds at most
 * two keys per user, as IAM does.
 */
import { IamServer } from '../support/iam-server.js';
import { s3Check, type E2EProvider, type TestPair } from './providers.js';

export class AwsIamProvider implements E2EProvider {
  public readonly kind = 'aws-iam';
  public readonly admin: TestPair = { accessKeyId: 'AKIAE2EADMINAAAAAAAA', secretAccessKey: 'e2e-iam-admin-secret-Kw29dPq7' };
  public readonly specFields = { region: 'us-east-1' };
  /** The IAM server checks request times against the clock given to the constructor (the fake cluster's), not real time. */
  public readonly checksRequestTime = false;
  public server!: IamServer;
  readonly #users = new Map<string, string>();

  /** @param now the clock for IAM's CreateDate (the fake cluster's, so the rotator's draw marker compares). */
  public constructor(private readonly now: () => Date = () => new Date()) {}

  public unavailable(): string | undefined {
    return undefined;
  }

  public async start(): Promise<void> {
    this.server = await IamServer.start({ admin: this.admin, now: () => this.now() });
  }

  public get endpoint(): string {
    return this.server.endpoint;
  }

  public identity(credential: string, fromSpec: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const id = { kind: 'user', name: `${credential}-writer`, ...fromSpec, ...(fromSpec['kind'] === 'serviceAccount' ? { kind: 'user' } : {}) };
    this.#users.set(credential, String(id.name));
    return id;
  }

  public check(accessKeyId: string, secretAccessKey: string): Promise<string> {
    return s3Check(this.endpoint, accessKeyId, secretAccessKey);
  }

  public async keyIds(credential: string): Promise<string[]> {
    const user = this.#users.get(credential);
    if (user === undefined) throw new Error(`no aws-iam identity was declared for credential ${credential}`);
    return this.server.keysOf(user).map((k) => k.id).sort();
  }

  /** The user's keys with their status (`ID:Active`). */
  public keys(credential: string): string[] {
    const user = this.#users.get(credential);
    return user === undefined ? [] : this.server.keysOf(user).map((k) => `${k.id}:${k.status}`);
  }

  public async close(): Promise<void> {
    await this.server?.stop();
  }
}
