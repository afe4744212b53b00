import { Construct } from 'constructs';
import { FieldError } from '../core/errors.js';
import type { ProviderKind } from '../providers/provider.js';

/** The Secret (in the rotator's namespace) that holds a provider's admin key pair. */
export interface AdminCredentialRef {
  readonly secretName: string;
  /** @default 'access-key' */
  readonly accessKeyKey?: string;
  /** @default 'secret-key' */
  readonly secretKeyKey?: string;
}

/** The NetworkPolicy rekey renders for the provider's pods. */
export interface ProviderNetworkPolicyOptions {
  /**
   * Render it: the provider's pods accept the storage port only from their own namespace, the
   * namespaces of the credentials' targets (their consumers), the rotation Jobs and `allowFrom`.
   * Turning it off prints a warning at synthesis.
   * @default true
   */
  readonly enabled?: boolean;
  /** More namespaces whose pods may reach the storage port (e.g. a backup tool). @default - none */
  readonly allowFrom?: readonly string[];
}

/** Where rotation pods reach a provider that runs outside the cluster. */
export interface ProviderEgressOptions {
  /** Address ranges of the provider's endpoints (CIDR), e.g. your VPC endpoints for IAM, STS and S3. */
  readonly cidrs: readonly string[];
  /** TCP port. @default 443 */
  readonly port?: number;
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
  /** The provider pods' NetworkPolicy. @default - enabled, no extra namespaces */
  readonly networkPolicy?: ProviderNetworkPolicyOptions;
  /**
   * Egress of the rotation pods to a provider outside the cluster (the rotation NetworkPolicy
   * is default-deny).
   * @default - aws-iam: 0.0.0.0/0 on port 443 (IAM, STS and S3 have no fixed address range;
   * give your VPC endpoints' CIDRs to narrow it); other kinds: none (their in-cluster pods are
   * reached through namespace and podSelector)
   */
  readonly egress?: ProviderEgressOptions;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$|^[0-9a-fA-F:]+\/\d{1,3}$/;

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
  /** Egress of the rotation pods to the provider outside the cluster, defaults applied; none for in-cluster providers. */
  public readonly egress?: { readonly cidrs: readonly string[]; readonly port: number };
  /** The NetworkPolicy settings, defaults applied. */
  public readonly networkPolicy!: { readonly enabled: boolean; readonly allowFrom: readonly string[] };

  public constructor(scope: Construct, id: string, props: ProviderProps) {
    super(scope, id);
    this.kind = props.kind;
    this.name = props.name ?? id;
    this.region = props.region ?? 'us-east-1';
    this.endpoint = props.endpoint;
    this.namespace = props.namespace;
    this.podSelector = props.podSelector ?? {};
    const fail = (field: string, what: string, value: unknown, fix: string): never => {
      throw new FieldError(this.node.path, { field: [field], what, value, fix }, { subject: this });
    };
    if (!['rustfs', 'minio', 'ceph-rgw', 'aws-iam', 'external'].includes(props.kind)) {
      fail('kind', 'must be one of rustfs, minio, ceph-rgw, aws-iam, external', props.kind, 'Set kind to one of rustfs, minio, ceph-rgw, aws-iam, external.');
    }
    let port = props.port;
    if (props.endpoint !== undefined) {
      let url: URL;
      try {
        url = new URL(props.endpoint);
      } catch {
        return fail('endpoint', 'must be an http(s) URL', props.endpoint, 'Give the S3/admin endpoint, e.g. http://rustfs.storage.svc:9000.');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        fail('endpoint', 'must be an http(s) URL', props.endpoint, 'Give the S3/admin endpoint, e.g. http://rustfs.storage.svc:9000.');
      }
      port ??= url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    }
    this.port = port;
    const managed = props.kind !== 'external' && props.kind !== 'aws-iam';
    if (managed) {
      const required: Array<[string, unknown, string]> = [
        ['endpoint', props.endpoint, 'Give the endpoint URL.'],
        ['adminCredential', props.adminCredential, 'Name the Secret holding the admin key pair.'],
        ['namespace', props.namespace, "Give the provider pods' namespace."],
        ['podSelector', Object.keys(this.podSelector).length ? this.podSelector : undefined, "Give the provider pods' labels, e.g. app.kubernetes.io/name: rustfs."],
      ];
      for (const [field, v, fix] of required) if (v === undefined) fail(field, `is required for kind ${props.kind}`, v, fix);
    }
    const allowFrom = [...(props.networkPolicy?.allowFrom ?? [])];
    allowFrom.forEach((ns, i) => {
      if (typeof ns !== 'string' || ns.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) {
        throw new FieldError(this.node.path, { field: ['networkPolicy', 'allowFrom', i], what: 'must be a namespace name', value: ns, fix: "Use lowercase letters, digits and '-', starting and ending with a letter or digit." }, { subject: this });
      }
    });
    this.networkPolicy = { enabled: props.networkPolicy?.enabled ?? true, allowFrom };
    if (props.egress !== undefined) {
      const cidrs = [...(props.egress.cidrs ?? [])];
      if (cidrs.length === 0) fail('egress', 'must list at least one CIDR in cidrs', props.egress, 'Give egress: {cidrs: [<endpoint range>]}, or remove egress.');
      cidrs.forEach((c, i) => {
        if (typeof c !== 'string' || !CIDR.test(c)) {
          throw new FieldError(this.node.path, { field: ['egress', 'cidrs', i], what: 'must be a CIDR', value: c, fix: 'Give an address range such as 10.0.0.0/16.' }, { subject: this });
        }
      });
      const p = props.egress.port ?? 443;
      if (!Number.isInteger(p) || p < 1 || p > 65535) fail('egress', 'port must be between 1 and 65535', p, 'Give the endpoints\' TCP port, usually 443.');
      this.egress = { cidrs, port: p };
    } else if (props.kind === 'aws-iam') {
      this.egress = { cidrs: ['0.0.0.0/0'], port: 443 };
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
