import { Construct } from 'constructs';
import { ValidationError } from '../core/errors.js';
import type { ProviderKind } from '../providers/provider.js';

/** The Secret (in the rotator's namespace) that holds a provider's admin key pair. */
export interface AdminCredentialRef {
  readonly secretName: string;
  /** @default 'access-key' */
  readonly accessKeyKey?: string;
  /** @default 'secret-key' */
  readonly secretKeyKey?: string;
}

/** Props of `Provider`. */
export interface ProviderProps {
  /** `rustfs`, `minio`, `ceph-rgw`, `aws-iam`, or `external` (rotated by someone else). */
  readonly kind: ProviderKind;
  /** Provider name in the spec and in object names. @default - the construct id */
  readonly name?: string;
  /** S3 / admin endpoint URL. @default - none (required except for aws-iam and external) */
  readonly endpoint?: string;
  /** SigV4 region. @default 'us-east-1' */
  readonly region?: string;
  /** Namespace of the provider's pods. @default - none (required except for aws-iam and external) */
  readonly namespace?: string;
  /** Labels of the provider's pods. @default - none (required except for aws-iam and external) */
  readonly podSelector?: Readonly<Record<string, string>>;
  /** Storage port. @default - the endpoint's port */
  readonly port?: number;
  /** Admin credential reference. Mounted only into rotation Jobs. @default - none (required except for aws-iam and external) */
  readonly adminCredential?: AdminCredentialRef;
}

/** A storage system whose keys rekey rotates. Renders nothing by itself. */
export class Provider extends Construct {
  public readonly kind: ProviderKind;
  public readonly name: string;
  public readonly endpoint?: string;
  public readonly region: string;
  public readonly namespace?: string;
  public readonly podSelector: Readonly<Record<string, string>>;
  public readonly port?: number;
  public readonly adminCredential?: Required<AdminCredentialRef>;

  public constructor(scope: Construct, id: string, props: ProviderProps) {
    super(scope, id);
    this.kind = props.kind;
    this.name = props.name ?? id;
    this.region = props.region ?? 'us-east-1';
    this.endpoint = props.endpoint;
    this.namespace = props.namespace;
    this.podSelector = props.podSelector ?? {};
    const where = `Provider ${this.name}`;
    if (!['rustfs', 'minio', 'ceph-rgw', 'aws-iam', 'external'].includes(props.kind)) {
      throw new ValidationError(`${where} kind is not a provider kind: got ${JSON.stringify(props.kind)}. Use rustfs, minio, ceph-rgw, aws-iam or external.`);
    }
    let port = props.port;
    if (props.endpoint !== undefined) {
      let url: URL;
      try {
        url = new URL(props.endpoint);
      } catch {
        throw new ValidationError(`${where} endpoint is not a URL: got ${JSON.stringify(props.endpoint)}. Give e.g. http://rustfs.storage.svc:9000.`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ValidationError(`${where} endpoint must be http or https: got ${JSON.stringify(props.endpoint)}. Give e.g. http://rustfs.storage.svc:9000.`);
      }
      port ??= url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    }
    this.port = port;
    const managed = props.kind !== 'external' && props.kind !== 'aws-iam';
    if (managed) {
      for (const [field, v] of [
        ['endpoint', props.endpoint],
        ['namespace', props.namespace],
        ['adminCredential', props.adminCredential],
      ] as const) {
        if (v === undefined) throw new ValidationError(`${where} ${field} is required for kind ${props.kind}: got nothing. Set ${field}.`);
      }
      if (Object.keys(this.podSelector).length === 0) {
        throw new ValidationError(`${where} podSelector is required for kind ${props.kind}: got nothing. Give the provider pods' labels, e.g. {'app.kubernetes.io/name': 'rustfs'}.`);
      }
    }
    if (props.adminCredential) {
      this.adminCredential = {
        secretName: props.adminCredential.secretName,
        accessKeyKey: props.adminCredential.accessKeyKey ?? 'access-key',
        secretKeyKey: props.adminCredential.secretKeyKey ?? 'secret-key',
      };
    }
  }
}
