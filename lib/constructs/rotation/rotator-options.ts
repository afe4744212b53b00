import { FieldError } from '../../core/errors.js';
import { DEFAULT_DEADLINES, DEFAULT_LEASE_DURATION_SECONDS, DEFAULT_LEASE_RENEW_SECONDS, type PlanDeadlines, type PlanLease } from '../../core/plan.js';

/** The stock image that runs the rotator bundle (the Node version the tests run the bundle with; see the Dockerfile). */
export const DEFAULT_ROTATOR_IMAGE = 'node:24.22.3-bookworm-slim';
/** Non-root UID/GID the rotation pods run as (the Dockerfile's `USER 65532:65532`). */
export const ROTATOR_UID = 65532;
/** Default `backoffLimit` of a rotation Job: steps are idempotent, so a crashed pod may re-run twice. */
export const DEFAULT_BACKOFF_LIMIT = 2;
/** Default slack added to a step's deadline for a Job's `activeDeadlineSeconds` (image pull, bundle unpack, Lease wait). */
export const DEFAULT_JOB_GRACE_SECONDS = 300;

/** The Kubernetes API server as the rotation pods' NetworkPolicy sees it (after the Service's DNAT). */
export interface ApiServerOptions {
  /**
   * CIDR of the API server endpoints (`kubectl get endpoints kubernetes -n default`), e.g.
   * `10.0.0.10/32` or the control-plane subnet. NetworkPolicies match the endpoint address,
   * not the `kubernetes.default` ClusterIP.
   */
  readonly cidr: string;
  /** Endpoint port (usually 6443; 443 on some managed clusters). @default 6443 */
  readonly port?: number;
}

/** Step deadlines in seconds (written into every plan; the Jobs' `activeDeadlineSeconds` derive from them). */
export interface RotatorDeadlines {
  /** @default 600 */
  readonly activateSeconds?: number;
  /** @default 900 */
  readonly deliverSeconds?: number;
  /** Retire's waits, not counting overlapSeconds. @default 3600 */
  readonly retireSeconds?: number;
  /** One verification poll (new key accepted / old key rejected). @default 120 */
  readonly verifySeconds?: number;
  /** Bound on the kubelet's refresh of mounted Secrets. @default 90 */
  readonly kubeletRefreshSeconds?: number;
}

/**
 * Timing of the credential's Lease (coordination.k8s.io/v1), which lets one rotator act per
 * credential at a time; written into every plan.
 */
export interface RotatorLeaseOptions {
  /** `leaseDurationSeconds`: a rotator that has not renewed for this long (a killed Job) may be replaced by the next. @default 60 */
  readonly durationSeconds?: number;
  /** How often the holder renews; less than durationSeconds. @default 15 */
  readonly renewSeconds?: number;
  /**
   * How long a rotation Job waits for the Lease while another live rotator of the same
   * credential holds it; then it fails naming the holder, having changed nothing.
   * @default - the waiting step's own deadline (deadlines.activateSeconds, deliverSeconds or retireSeconds)
   */
  readonly acquireSeconds?: number;
}

/** How the rotation Jobs run. */
export interface RotatorOptions {
  /** Namespace of the rotation Jobs, their staging Secrets, plans, records and Leases. @default 'rekey-system' */
  readonly namespace?: string;
  /**
   * Render the rotator namespace (with Pod Security `restricted` labels). Set false when it
   * exists already (then label it yourself).
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * An image that carries the rotator at /rotator/rotator.mjs (built from the project's
   * Dockerfile). Then no bundle ConfigMap and no init container are rendered.
   * @default - the stock `node:24.22.3-bookworm-slim` image runs the bundle ConfigMap, unpacked by an init container
   */
  readonly image?: string;
  /**
   * The API server address for the rotation pods' egress NetworkPolicy. Required once a
   * credential has been rotated (rotation Jobs are rendered): rekey never looks it up.
   * @default - none: synthesis of rotation Jobs fails with an error saying to set it
   */
  readonly apiServer?: ApiServerOptions;
  /** `backoffLimit` of every rotation Job. @default 2 */
  readonly backoffLimit?: number;
  /** Added to a step's deadline for the Job's `activeDeadlineSeconds`. @default 300 */
  readonly jobGraceSeconds?: number;
  /** Step deadlines. @default - see RotatorDeadlines */
  readonly deadlines?: RotatorDeadlines;
  /** Lease timing. @default - see RotatorLeaseOptions */
  readonly lease?: RotatorLeaseOptions;
}

/** RotatorOptions with defaults applied and checked. */
export interface RotatorSettings {
  readonly namespace: string;
  readonly createNamespace: boolean;
  readonly image?: string;
  readonly apiServer?: Required<ApiServerOptions>;
  readonly backoffLimit: number;
  readonly jobGraceSeconds: number;
  readonly deadlines: PlanDeadlines;
  readonly lease: PlanLease;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR6 = /^[0-9a-fA-F:]+\/(\d{1,3})$/;
const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/;

/**
 * Applies defaults and checks every field. `fail(field, what, value, fix)` throws the caller's
 * FieldError (the chart's, so rekey.yaml errors name `rotator.<field>`).
 */
export function resolveRotatorOptions(o: RotatorOptions, fail: (field: (string | number)[], what: string, value: unknown, fix: string) => never): RotatorSettings {
  const namespace = o.namespace ?? 'rekey-system';
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    fail(['rotator', 'namespace'], 'must be a lowercase DNS label of at most 63 characters', namespace, "Use lowercase letters, digits and '-', starting and ending with a letter or digit.");
  }
  if (o.image !== undefined && (!IMAGE.test(o.image) || !/[:@]/.test(o.image))) {
    fail(['rotator', 'image'], 'must be an image reference with a tag or digest', o.image, 'Give e.g. registry.example.com/rekey-rotator:0.1.0 (built from the project Dockerfile).');
  }
  const whole = (field: string, v: number | undefined, def: number, min: number, path: (string | number)[] = ['rotator', field]): number => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < min) fail(path, `must be a whole number of at least ${min}`, v, `Set ${field} to ${min} or more.`);
    return x;
  };
  let apiServer: Required<ApiServerOptions> | undefined;
  if (o.apiServer !== undefined) {
    const { cidr } = o.apiServer;
    const v4 = CIDR4.exec(cidr ?? '');
    const ok = v4 ? v4.slice(1, 5).every((n) => Number(n) <= 255) && Number(v4[5]) <= 32 : CIDR6.test(cidr ?? '') && Number(CIDR6.exec(cidr)![1]) <= 128;
    if (!ok) fail(['rotator', 'apiServer', 'cidr'], 'must be an IP range in CIDR notation', cidr, 'Give the API server endpoint address, e.g. 10.0.0.10/32 (kubectl get endpoints kubernetes -n default).');
    const port = o.apiServer.port ?? 6443;
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(['rotator', 'apiServer', 'port'], 'must be between 1 and 65535', o.apiServer.port, 'Give the API server endpoint port, usually 6443.');
    apiServer = { cidr, port };
  }
  const d = o.deadlines ?? {};
  const dl = (k: keyof PlanDeadlines, min: number) => whole(k, d[k], DEFAULT_DEADLINES[k], min, ['rotator', 'deadlines', k]);
  const l = o.lease ?? {};
  const durationSeconds = whole('durationSeconds', l.durationSeconds, DEFAULT_LEASE_DURATION_SECONDS, 1, ['rotator', 'lease', 'durationSeconds']);
  const renewSeconds = whole('renewSeconds', l.renewSeconds, DEFAULT_LEASE_RENEW_SECONDS, 1, ['rotator', 'lease', 'renewSeconds']);
  if (renewSeconds >= durationSeconds) {
    fail(['rotator', 'lease', 'renewSeconds'], `must be less than lease.durationSeconds (${durationSeconds})`, l.renewSeconds ?? renewSeconds, 'Renew well within the duration, e.g. a quarter of it.');
  }
  const acquireSeconds = l.acquireSeconds === undefined ? null : whole('acquireSeconds', l.acquireSeconds, 0, 0, ['rotator', 'lease', 'acquireSeconds']);
  return {
    namespace,
    createNamespace: o.createNamespace ?? true,
    image: o.image,
    apiServer,
    backoffLimit: whole('backoffLimit', o.backoffLimit, DEFAULT_BACKOFF_LIMIT, 0),
    jobGraceSeconds: whole('jobGraceSeconds', o.jobGraceSeconds, DEFAULT_JOB_GRACE_SECONDS, 0),
    deadlines: {
      activateSeconds: dl('activateSeconds', 1),
      deliverSeconds: dl('deliverSeconds', 1),
      retireSeconds: dl('retireSeconds', 1),
      verifySeconds: dl('verifySeconds', 1),
      kubeletRefreshSeconds: dl('kubeletRefreshSeconds', 0),
    },
    lease: { durationSeconds, renewSeconds, acquireSeconds },
  };
}

/** Throws the chart's FieldError. */
export function chartFail(where: string, subject: unknown): (field: (string | number)[], what: string, value: unknown, fix: string) => never {
  return (field, what, value, fix) => {
    throw new FieldError(where, { field, what, value, fix }, { subject });
  };
}
