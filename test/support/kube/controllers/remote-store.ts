/**
 * An in-memory secret store (what Vault, AWS Secrets Manager or the ESO Kubernetes provider hold),
 * shared by the simulated External Secrets controller (PushSecret writes, ExternalSecret reads) and
 * the simulated Secrets Store CSI driver (mount reads). One remote key holds named properties.
 */
export interface RemoteWrite {
  readonly remoteKey: string;
  readonly properties: Readonly<Record<string, string>>;
  /** Fake-clock time of the write (ISO). */
  readonly at: string;
  readonly by: string;
}

export class RemoteStore {
  private readonly data = new Map<string, Record<string, string>>();
  /** Every write, in order (values included: tests only, never logged). */
  public readonly writes: RemoteWrite[] = [];

  /** @param writable false models a store whose provider cannot accept PushSecret writes. */
  public constructor(public readonly name: string, public readonly writable = true) {}

  /** The properties under `remoteKey`, or undefined when it does not exist. */
  public get(remoteKey: string): Readonly<Record<string, string>> | undefined {
    const v = this.data.get(remoteKey);
    return v === undefined ? undefined : { ...v };
  }

  /** Merges `properties` into `remoteKey` (a PushSecret with `property` set writes one property). */
  public put(remoteKey: string, properties: Readonly<Record<string, string>>, at: string, by: string): void {
    if (!this.writable) throw new Error(`store ${this.name} does not accept writes`);
    this.data.set(remoteKey, { ...(this.data.get(remoteKey) ?? {}), ...properties });
    this.writes.push({ remoteKey, properties: { ...properties }, at, by });
  }

  public delete(remoteKey: string): void {
    this.data.delete(remoteKey);
  }
}
