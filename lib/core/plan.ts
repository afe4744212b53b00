import { z } from 'zod';
import { formatPath, show, ValidationError, valueAt } from './errors.js';

/**
 * The rotation plan: what one generation's rotation Jobs do, as typed, versioned JSON
 * (`apiVersion: rekey.dev/v1alpha1`, `kind: RotationPlan`).
 *
 * Synthesis writes it into the ConfigMap `rekey-<credential>-g<generation>-plan`
 * (key `plan.json`); the rotator Jobs mount it at {@link PLAN_MOUNT_PATH} and read it with
 * {@link parsePlan}. It carries identifiers only — names, key IDs, numbers — never a secret:
 * objects are strict, so a field the schema does not know (a `secretAccessKey` added by
 * hand, say) is an error, not silently carried along.
 *
 * A pure module: no file system, no cdk8s. It is bundled into the rotator.
 */

export const PLAN_API_VERSION = 'rekey.dev/v1alpha1';
export const PLAN_KIND = 'RotationPlan';

/** Where the rotation Jobs mount the plan ConfigMap's `plan.json`; the rotator's default `REKEY_PLAN`. */
export const PLAN_MOUNT_PATH = '/etc/rekey/plan/plan.json';
/** Where the rotation Jobs mount the provider's admin Secret (one file per key). */
export const ADMIN_MOUNT_PATH = '/etc/rekey/admin';
/** Where the activate/revoke Jobs mount the staging Secret for a pair drawn before the merge. */
export const STAGING_MOUNT_PATH = '/etc/rekey/staging';
/** Where the rotation Jobs mount the provider's CA bundle. */
export const CA_MOUNT_PATH = '/etc/rekey/ca';
/** The keys of the staging Secret. */
export const STAGING_KEYS = { accessKey: 'access-key', secretKey: 'secret-key' } as const;

/** Default deadline of the activate step (identity, policy, new key, verified with real S3 calls): 10 minutes. */
export const DEFAULT_ACTIVATE_SECONDS = 600;
/** Default deadline of the deliver step (every target Secret holds the new key ID): 15 minutes. */
export const DEFAULT_DELIVER_SECONDS = 900;
/** Default deadline of the retire step's waits (target Secrets, rollouts, stale pod replacement), not counting overlapSeconds: 1 hour. */
export const DEFAULT_RETIRE_SECONDS = 3600;
/** Default deadline of one verification poll (a new key accepted — IAM takes 5–10 s or more — or an old key rejected): 2 minutes. */
export const DEFAULT_VERIFY_SECONDS = 120;
/** Default bound on the kubelet's refresh of a mounted Secret (its sync period, about 60–90 s). */
export const DEFAULT_KUBELET_REFRESH_SECONDS = 90;

/** Default Lease duration: a Lease not renewed for this long may be taken over by another rotator. */
export const DEFAULT_LEASE_DURATION_SECONDS = 60;
/** Default renewal interval of a held Lease (a quarter of the duration). */
export const DEFAULT_LEASE_RENEW_SECONDS = 15;

/** Every default of the Lease timing; `acquireSeconds` null: a rotator waits for a held Lease up to its step's deadline. */
export const DEFAULT_LEASE: Readonly<PlanLease> = Object.freeze({
  durationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
  renewSeconds: DEFAULT_LEASE_RENEW_SECONDS,
  acquireSeconds: null,
});

/** Every default deadline, in seconds. */
export const DEFAULT_DEADLINES: Readonly<PlanDeadlines> = Object.freeze({
  activateSeconds: DEFAULT_ACTIVATE_SECONDS,
  deliverSeconds: DEFAULT_DELIVER_SECONDS,
  retireSeconds: DEFAULT_RETIRE_SECONDS,
  verifySeconds: DEFAULT_VERIFY_SECONDS,
  kubeletRefreshSeconds: DEFAULT_KUBELET_REFRESH_SECONDS,
});

export const PLAN_PROVIDER_KINDS = ['rustfs', 'minio', 'ceph-rgw', 'aws-iam', 'external'] as const;
export const PLAN_IDENTITY_KINDS = ['serviceAccount', 'user', 'alternatingUsers', 'root'] as const;
export const PLAN_DELIVERY_KINDS = ['sealed', 'external', 'csi', 'plain'] as const;
export const PLAN_CONSUMER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Rollout'] as const;
export const PLAN_CONSUMER_MODES = ['env', 'envFrom', 'file'] as const;
export const PLAN_KEY_SOURCES = ['rekeyDrawn', 'ownerSupplied', 'providerDrawn'] as const;

/** The apiVersion of each consumer kind. */
export const CONSUMER_API_VERSIONS: Readonly<Record<PlanConsumerKind, string>> = Object.freeze({
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Rollout: 'argoproj.io/v1alpha1',
});

export type PlanProviderKind = (typeof PLAN_PROVIDER_KINDS)[number];
export type PlanIdentityKind = (typeof PLAN_IDENTITY_KINDS)[number];
export type PlanDeliveryKind = (typeof PLAN_DELIVERY_KINDS)[number];
export type PlanConsumerKind = (typeof PLAN_CONSUMER_KINDS)[number];
export type PlanConsumerMode = (typeof PLAN_CONSUMER_MODES)[number];

/** The provider's admin Secret in the rotator namespace, mounted into the rotation Jobs only. */
export interface PlanAdminSecret {
  readonly name: string;
  /** Key of the admin access-key ID. */
  readonly accessKeyKey: string;
  /** Key of the admin secret. */
  readonly secretKeyKey: string;
  /** Folder where the Secret is mounted; the rotator reads `<mountPath>/<accessKeyKey>`. @default ADMIN_MOUNT_PATH */
  readonly mountPath: string;
}

/** Extra CA certificates (PEM) for an https endpoint, from a ConfigMap in the rotator namespace. */
export interface PlanCaBundle {
  readonly configMapName: string;
  /** Key holding the PEM. */
  readonly key: string;
  /** Folder where the ConfigMap is mounted; the rotator reads `<mountPath>/<key>`. @default CA_MOUNT_PATH */
  readonly mountPath: string;
}

export interface PlanProvider {
  readonly name: string;
  readonly kind: PlanProviderKind;
  /** Admin / S3 endpoint; null for `external`, and for `aws-iam` meaning AWS itself. */
  readonly endpoint: string | null;
  /** SigV4 region. */
  readonly region: string;
  /** null only for `external` (rekey never calls that provider). */
  readonly adminSecret: PlanAdminSecret | null;
  readonly caBundle: PlanCaBundle | null;
}

export interface PlanIdentity {
  readonly kind: PlanIdentityKind;
  /** User name, parent user (`serviceAccount`) or base name (`alternatingUsers`). */
  readonly name: string;
  /** The two users of `alternatingUsers` (resolved: never defaulted by the rotator); null otherwise. */
  readonly users: readonly [string, string] | null;
}

export interface PlanPolicy {
  readonly name: string;
  /** IAM-style policy document. */
  readonly document: Readonly<Record<string, unknown>>;
}

/**
 * Where the new pair comes from.
 * - `rekeyDrawn`: `rekey rotate` drew it and sealed it into the staging Secret, mounted at `mountPath`.
 * - `ownerSupplied`: the `external` provider's owner handed it to `rekey rotate`; staged the same way.
 * - `providerDrawn`: the activate Job obtains it in the cluster (the provider draws it, as IAM does,
 *   or the rotator draws it for a provider that takes a caller-chosen pair) and writes the staging Secret.
 */
export type PlanKeySource =
  | { readonly kind: 'rekeyDrawn' | 'ownerSupplied'; readonly mountPath: string }
  | { readonly kind: 'providerDrawn' };

/**
 * What the retire step needs to know about a target delivered by the Secrets Store CSI driver.
 * Its Secret is the driver's synced Secret (`secretObjects`): it exists only while some pod mounts
 * the volume, and every mounting pod rewrites it from its own mounted files.
 */
export interface PlanCsi {
  /** The SecretProviderClass (same namespace as the target) whose CSI volume consumer pods mount. */
  readonly secretProviderClass: string;
  /**
   * The driver's `--rotation-poll-interval`: a mount is refreshed at the first kubelet republish
   * at least this long after its previous refresh. File consumers are current this long plus
   * `kubeletRefreshSeconds` after the Secret first held the new key; so is the synced Secret stable.
   */
  readonly rotationPollIntervalSeconds: number;
  /** The driver runs with `--enable-secret-rotation=true`; false: mounts never change, every consumer pod is restarted. */
  readonly secretRotationEnabled: boolean;
}

/** What one key of a target Secret holds. */
export const PLAN_TARGET_KEY_ROLES = ['accessKeyId', 'secretAccessKey', 'credentialsFile', 'extra'] as const;
export type PlanTargetKeyRole = (typeof PLAN_TARGET_KEY_ROLES)[number];

/** One key name of a target Secret: an alias of the pair (the access-key ID, the secret, an AWS credentials file) or a static extra key. */
export interface PlanTargetKey {
  readonly name: string;
  readonly holds: PlanTargetKeyRole;
}

export interface PlanTarget {
  readonly namespace: string;
  readonly secretName: string;
  readonly delivery: PlanDeliveryKind;
  /** For delivery `csi` (required there); null otherwise. */
  readonly csi: PlanCsi | null;
  /**
   * Every key the delivered Secret holds (alias keys, then extra keys): the deliver and retire
   * steps prove the Secret holds the new pair by these — every key present, every
   * `accessKeyId`/`credentialsFile` key naming the new key ID — and name a missing key.
   * @default - none listed: the rotator recognises the preset alias names only
   */
  readonly keys: readonly PlanTargetKey[];
}

export interface PlanConsumer {
  readonly kind: PlanConsumerKind;
  /** Must match the kind: apps/v1, batch/v1 or argoproj.io/v1alpha1. */
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly mode: PlanConsumerMode;
  /** The target Secret it reads (one of the plan's targets in the same namespace). */
  readonly secretName: string;
  /** StatefulSet/DaemonSet update strategy; null for other kinds. */
  readonly updateStrategy: 'RollingUpdate' | 'OnDelete' | null;
  /** The checksum annotation value its pod template carries for this generation; null for file consumers (except of a csi target without secret rotation). */
  readonly checksum: string | null;
  /** The retire step deletes (evicts) its stale pods itself: OnDelete workloads that read env/envFrom. */
  readonly replacePodsOnDelete: boolean;
}

/** Deadlines in seconds; each wait fails with a message naming what it waited for. */
export interface PlanDeadlines {
  readonly activateSeconds: number;
  readonly deliverSeconds: number;
  readonly retireSeconds: number;
  readonly verifySeconds: number;
  readonly kubeletRefreshSeconds: number;
}

/** The credential's Lease timing (coordination.k8s.io/v1 Lease, one rotator per credential). */
export interface PlanLease {
  /** `leaseDurationSeconds`: a holder that has not renewed for this long may be replaced. @default 60 */
  readonly durationSeconds: number;
  /** How often the holder renews; less than durationSeconds. @default 15 */
  readonly renewSeconds: number;
  /** How long a rotator waits for a Lease another live rotator holds, then fails naming it. @default - the step's own deadline */
  readonly acquireSeconds: number | null;
}

/** The validated plan, defaults applied. */
export interface RotationPlan {
  readonly apiVersion: typeof PLAN_API_VERSION;
  readonly kind: typeof PLAN_KIND;
  readonly credential: string;
  /** The generation this plan rotates to (≥ 1). */
  readonly generation: number;
  /** Bumped by `rekey retry`: a new Job name for a failed step. @default 1 */
  readonly attempt: number;
  readonly provider: PlanProvider;
  readonly identity: PlanIdentity;
  readonly policy: PlanPolicy | null;
  readonly keySource: PlanKeySource;
  /** The new key's ID; null when it is drawn in the cluster (`providerDrawn`). */
  readonly accessKeyId: string | null;
  /**
   * The key this rotation retires; null on the first rotation of a credential never adopted,
   * and on a `providerDrawn` generation after the first: the previous key was drawn in the
   * cluster too, so the rotator reads it from its rotation record of generation - 1.
   */
  readonly previousAccessKeyId: string | null;
  readonly rotatorNamespace: string;
  /** `rekey-<credential>-g<generation>-staging` in the rotator namespace. */
  readonly stagingSecret: string;
  /** The rotation record, `rekey-<credential>-status`, in the rotator namespace. */
  readonly recordConfigMap: string;
  /** The Lease that lets one rotator act per credential at a time. */
  readonly leaseName: string;
  readonly targets: readonly PlanTarget[];
  readonly consumers: readonly PlanConsumer[];
  /** How long the old key stays valid after activation. */
  readonly overlapSeconds: number;
  readonly deadlines: PlanDeadlines;
  readonly lease: PlanLease;
}

// ---------------------------------------------------------------------------------------------
// Schema. Messages carry "what is wrong" and "how to fix", separated by FIX.

const FIX = '\n';
const m = (what: string, fix: string) => `${what}${FIX}${fix}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/;
const USER_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

const str = (what: string) => z.string({ error: m('must be a string', `Give ${what} as a string.`) });
const dnsLabel = (max: number, what: string) =>
  str(what)
    .max(max, { error: m(`must be at most ${max} characters`, `Shorten ${what}.`) })
    .regex(DNS_LABEL, { error: m('must be a lowercase DNS label', `Use lowercase letters, digits and '-', starting and ending with a letter or digit.`) });
const objectName = (what: string) =>
  str(what)
    .max(253, { error: m('must be at most 253 characters', `Shorten ${what}.`) })
    .regex(DNS_SUBDOMAIN, { error: m('must be a lowercase DNS subdomain', `Use lowercase letters, digits, '-' and '.'.`) });
const secretKeyName = str('a Secret key name').regex(SECRET_KEY, { error: m('is not a valid Secret key name', `Use letters, digits, '-', '_' and '.'.`) });
const absolutePath = (def: string) =>
  str('the mount path').regex(/^\/[^\0]*$/, { error: m('must be an absolute path', `Start it with /, e.g. ${def}.`) }).default(def);
const wholeNumber = (what: string, min: number) =>
  z
    .number({ error: m('must be a number', `Give ${what} as a whole number.`) })
    .int({ error: m('must be a whole number', `Give ${what} as a whole number.`) })
    .min(min, { error: m(`must be at least ${min}`, `Set ${what} to ${min} or more.`) });
const enumOf = <T extends readonly [string, ...string[]]>(values: T, what: string) =>
  z.enum(values, { error: m(`must be one of ${values.join(', ')}`, `Set ${what} to one of ${values.join(', ')}.`) });
const keyId = str('the access-key ID').regex(KEY_ID, {
  error: m('is not an access-key ID', `Use 3 to 128 letters, digits, '.', '_' or '-' (an access-key ID, never a secret).`),
});
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);

const adminSecretSchema = z.strictObject({
  name: objectName('the admin Secret name'),
  accessKeyKey: secretKeyName.default('access-key'),
  secretKeyKey: secretKeyName.default('secret-key'),
  mountPath: absolutePath(ADMIN_MOUNT_PATH),
});

const caBundleSchema = z.strictObject({
  configMapName: objectName('the CA bundle ConfigMap name'),
  key: secretKeyName.default('ca.crt'),
  mountPath: absolutePath(CA_MOUNT_PATH),
});

const providerSchema = z.strictObject({
  name: dnsLabel(40, 'the provider name'),
  kind: enumOf(PLAN_PROVIDER_KINDS, 'provider.kind'),
  endpoint: nullable(
    z.url({ protocol: /^https?$/, error: m('must be an http(s) URL', 'Give the admin/S3 endpoint, e.g. http://rustfs.storage.svc:9000.') }),
  ),
  region: str('the region').min(1, { error: m('must not be empty', 'Give the SigV4 region, e.g. us-east-1.') }).default('us-east-1'),
  adminSecret: nullable(adminSecretSchema),
  caBundle: nullable(caBundleSchema),
});

const identitySchema = z.strictObject({
  kind: enumOf(PLAN_IDENTITY_KINDS, 'identity.kind'),
  name: str('the identity name').regex(USER_NAME, { error: m('is not a valid user name', 'Use 1 to 64 letters, digits and +=,.@_-.') }),
  users: nullable(
    z.tuple(
      [
        str('the user name').regex(USER_NAME, { error: m('is not a valid user name', 'Use 1 to 64 letters, digits and +=,.@_-.') }),
        str('the user name').regex(USER_NAME, { error: m('is not a valid user name', 'Use 1 to 64 letters, digits and +=,.@_-.') }),
      ],
      { error: m('must be a list of two user names', 'Give users: [<user-a>, <user-b>].') },
    ),
  ),
});

const policySchema = z.strictObject({
  name: str('the policy name').regex(/^[A-Za-z0-9+=,.@_-]{1,128}$/, { error: m('is not a valid policy name', 'Use 1 to 128 letters, digits and +=,.@_-.') }),
  document: z.record(z.string(), z.unknown(), { error: m('must be a policy document (a mapping)', 'Give Version and Statement as in an AWS IAM policy.') }),
});

const keySourceSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('rekeyDrawn'), mountPath: absolutePath(STAGING_MOUNT_PATH) }),
    z.strictObject({ kind: z.literal('ownerSupplied'), mountPath: absolutePath(STAGING_MOUNT_PATH) }),
    z.strictObject({ kind: z.literal('providerDrawn') }),
  ],
  { error: m(`must be one of ${PLAN_KEY_SOURCES.join(', ')}`, `Set keySource.kind to one of ${PLAN_KEY_SOURCES.join(', ')}.`) },
);

const csiSchema = z.strictObject({
  secretProviderClass: objectName('the SecretProviderClass name'),
  rotationPollIntervalSeconds: wholeNumber('rotationPollIntervalSeconds', 1).default(120),
  secretRotationEnabled: z.boolean({ error: m('must be true or false', 'Set secretRotationEnabled: true or false.') }).default(true),
});

const targetKeySchema = z.strictObject({
  name: secretKeyName,
  holds: enumOf(PLAN_TARGET_KEY_ROLES, 'holds'),
});

const targetSchema = z.strictObject({
  namespace: dnsLabel(63, 'the namespace'),
  secretName: objectName('the Secret name'),
  delivery: enumOf(PLAN_DELIVERY_KINDS, 'delivery'),
  csi: nullable(csiSchema),
  keys: z.array(targetKeySchema, { error: m('must be a list', 'Give keys as a list of {name, holds}.') }).default([]),
});

const consumerSchema = z.strictObject({
  kind: enumOf(PLAN_CONSUMER_KINDS, 'kind'),
  apiVersion: str('the apiVersion'),
  namespace: dnsLabel(63, 'the namespace'),
  name: objectName('the workload name'),
  mode: enumOf(PLAN_CONSUMER_MODES, 'mode'),
  secretName: objectName('the Secret name'),
  updateStrategy: nullable(enumOf(['RollingUpdate', 'OnDelete'] as const, 'updateStrategy')),
  checksum: nullable(str('the checksum').regex(/^[A-Za-z0-9]{1,64}$/, { error: m('is not a checksum', 'Use the hash rekey synth wrote (letters and digits).') })),
  replacePodsOnDelete: z.boolean({ error: m('must be true or false', 'Set replacePodsOnDelete: true or false.') }).default(false),
});

const deadlinesSchema = z.strictObject({
  activateSeconds: wholeNumber('activateSeconds', 1).default(DEFAULT_ACTIVATE_SECONDS),
  deliverSeconds: wholeNumber('deliverSeconds', 1).default(DEFAULT_DELIVER_SECONDS),
  retireSeconds: wholeNumber('retireSeconds', 1).default(DEFAULT_RETIRE_SECONDS),
  verifySeconds: wholeNumber('verifySeconds', 1).default(DEFAULT_VERIFY_SECONDS),
  kubeletRefreshSeconds: wholeNumber('kubeletRefreshSeconds', 0).default(DEFAULT_KUBELET_REFRESH_SECONDS),
});

const leaseSchema = z.strictObject({
  durationSeconds: wholeNumber('durationSeconds', 1).default(DEFAULT_LEASE_DURATION_SECONDS),
  renewSeconds: wholeNumber('renewSeconds', 1).default(DEFAULT_LEASE_RENEW_SECONDS),
  acquireSeconds: nullable(wholeNumber('acquireSeconds', 0)),
});

const planObject = z.strictObject({
  apiVersion: z.literal(PLAN_API_VERSION, { error: m(`must be ${PLAN_API_VERSION}`, `Render the plan with a rekey release that writes ${PLAN_API_VERSION}, or upgrade the rotator.`) }),
  kind: z.literal(PLAN_KIND, { error: m(`must be ${PLAN_KIND}`, `Point the rotator at a ${PLAN_KIND} (the plan ConfigMap's plan.json).`) }),
  credential: dnsLabel(40, 'the credential name'),
  generation: wholeNumber('generation', 1),
  attempt: wholeNumber('attempt', 1).default(1),
  provider: providerSchema,
  identity: identitySchema,
  policy: nullable(policySchema),
  keySource: keySourceSchema,
  accessKeyId: z.union([keyId, z.null()], { error: m('must be an access-key ID or null', 'Give the new key ID, or null when the key is drawn in the cluster.') }),
  previousAccessKeyId: z
    .union([keyId, z.null()], { error: m('must be an access-key ID or null', 'Give the key being retired, or null when there is none.') })
    .default(null),
  rotatorNamespace: dnsLabel(63, 'the rotator namespace'),
  stagingSecret: objectName('the staging Secret name'),
  recordConfigMap: objectName('the record ConfigMap name'),
  leaseName: objectName('the Lease name'),
  targets: z.array(targetSchema, { error: m('must be a list', 'Give targets as a list of {namespace, secretName, delivery}.') }),
  consumers: z.array(consumerSchema, { error: m('must be a list', 'Give consumers as a list.') }).default([]),
  overlapSeconds: wholeNumber('overlapSeconds', 0),
  deadlines: deadlinesSchema.default({ ...DEFAULT_DEADLINES }),
  lease: leaseSchema.default({ ...DEFAULT_LEASE }),
});

/** Cross-field rules, each reported with the path of the offending field. */
export const rotationPlanSchema = planObject.superRefine((plan, ctx) => {
  const issue = (path: (string | number)[], what: string, fix: string) => ctx.addIssue({ code: 'custom', path, message: m(what, fix) });
  const p = plan.provider;
  if (p.kind === 'external') {
    if (p.adminSecret !== null) issue(['provider', 'adminSecret'], 'must be null for kind external', 'Remove it: rekey never calls an external provider, so no admin key is mounted.');
  } else {
    if (p.adminSecret === null) issue(['provider', 'adminSecret'], `is required for kind ${p.kind}`, 'Name the Secret holding the admin key pair.');
    if (p.endpoint === null && p.kind !== 'aws-iam') issue(['provider', 'endpoint'], `is required for kind ${p.kind}`, 'Give the admin/S3 endpoint URL.');
  }
  if (p.caBundle !== null && p.endpoint !== null && !p.endpoint.startsWith('https:')) {
    issue(['provider', 'caBundle'], 'is only used with an https endpoint', 'Remove caBundle, or use an https endpoint.');
  }
  const id = plan.identity;
  if (id.kind === 'alternatingUsers' && id.users === null) issue(['identity', 'users'], 'is required for kind alternatingUsers', 'Give users: [<user-a>, <user-b>].');
  if (id.kind !== 'alternatingUsers' && id.users !== null) issue(['identity', 'users'], `must be null for kind ${id.kind}`, 'Remove users, or use kind alternatingUsers.');
  if (id.users !== null && id.users[0] === id.users[1]) issue(['identity', 'users', 1], 'must differ from the first user', 'Give two different user names.');
  if (id.kind === 'root' && p.kind === 'minio') {
    issue(['identity', 'kind'], 'root is refused for minio', 'MinIO fixes its root user at first start; rotate a serviceAccount or user instead.');
  }

  if (plan.keySource.kind === 'providerDrawn') {
    if (plan.accessKeyId !== null) issue(['accessKeyId'], 'must be null for keySource providerDrawn', 'Remove it: the activate Job learns the key ID in the cluster.');
  } else if (plan.accessKeyId === null) {
    issue(['accessKeyId'], `is required for keySource ${plan.keySource.kind}`, 'Give the new access-key ID from the ledger (run `rekey rotate`).');
  }
  if (plan.accessKeyId !== null && plan.accessKeyId === plan.previousAccessKeyId) {
    issue(['previousAccessKeyId'], 'must differ from accessKeyId', 'A rotation retires another key than it activates; check the ledger entry.');
  }
  const record = `rekey-${plan.credential}-status`;
  if (plan.recordConfigMap !== record) issue(['recordConfigMap'], `must be ${record}`, `Set recordConfigMap: ${record} (the rotation record's fixed name).`);

  if (plan.lease.durationSeconds >= 1 && plan.lease.renewSeconds >= plan.lease.durationSeconds) {
    issue(['lease', 'renewSeconds'], `must be less than lease.durationSeconds (${plan.lease.durationSeconds})`, 'Renew well within the duration, e.g. a quarter of it.');
  }
  const targets = new Set<string>();
  const csiTargets = new Map<string, PlanCsi>();
  plan.targets.forEach((t, i) => {
    const key = `${t.namespace}/${t.secretName}`;
    if (targets.has(key)) issue(['targets', i], 'is a duplicate target', 'List each namespace/secretName once.');
    targets.add(key);
    if (t.delivery === 'csi' && t.csi === null) issue(['targets', i, 'csi'], 'is required for delivery csi', 'Give {secretProviderClass, rotationPollIntervalSeconds, secretRotationEnabled} (render the plan with rekey synth).');
    if (t.delivery !== 'csi' && t.csi !== null) issue(['targets', i, 'csi'], `must be null for delivery ${t.delivery}`, 'Remove csi: it only applies to delivery csi.');
    if (t.csi !== null) csiTargets.set(key, t.csi);
    const names = new Set<string>();
    t.keys.forEach((k, j) => {
      if (names.has(k.name)) issue(['targets', i, 'keys', j, 'name'], 'is a duplicate key', 'List each key of the Secret once.');
      names.add(k.name);
    });
    if (t.keys.length > 0 && !t.keys.some((k) => k.holds === 'accessKeyId' || k.holds === 'credentialsFile')) {
      issue(['targets', i, 'keys'], 'has no key holding the access-key ID', 'List the alias keys (holds: accessKeyId and secretAccessKey, or credentialsFile), or no keys at all.');
    }
  });
  const consumers = new Set<string>();
  plan.consumers.forEach((c, i) => {
    const api = CONSUMER_API_VERSIONS[c.kind];
    if (c.apiVersion !== api) issue(['consumers', i, 'apiVersion'], `must be ${api} for kind ${c.kind}`, `Set apiVersion: ${api}.`);
    const key = `${c.kind}/${c.namespace}/${c.name}/${c.secretName}`;
    if (consumers.has(key)) issue(['consumers', i], 'is a duplicate consumer', 'List each workload once per Secret it reads.');
    consumers.add(key);
    if (!targets.has(`${c.namespace}/${c.secretName}`)) {
      issue(['consumers', i, 'secretName'], `is not a target in namespace ${c.namespace}`, 'Name one of the plan targets in the same namespace.');
    }
    const strategic = c.kind === 'StatefulSet' || c.kind === 'DaemonSet';
    if (!strategic && c.updateStrategy !== null) issue(['consumers', i, 'updateStrategy'], `must be null for kind ${c.kind}`, 'Only StatefulSets and DaemonSets have an update strategy.');
    if (strategic && c.updateStrategy === null) issue(['consumers', i, 'updateStrategy'], `is required for kind ${c.kind}`, 'Set updateStrategy: RollingUpdate or OnDelete.');
    // a file consumer of a csi target whose driver never refreshes mounts is restarted like an env consumer
    const frozen = csiTargets.get(`${c.namespace}/${c.secretName}`)?.secretRotationEnabled === false;
    if (c.mode === 'file' && c.checksum !== null && !frozen) issue(['consumers', i, 'checksum'], 'must be null for mode file', 'File consumers re-read the mounted Secret and get no checksum.');
    if (c.replacePodsOnDelete && (c.updateStrategy !== 'OnDelete' || (c.mode === 'file' && !frozen))) {
      issue(['consumers', i, 'replacePodsOnDelete'], 'is only for OnDelete workloads that read env or envFrom', 'Set replacePodsOnDelete: false.');
    }
  });
});

/** What a producer (synthesis) may write: defaulted fields are optional. */
export type RotationPlanInput = z.input<typeof rotationPlanSchema>;

// The schema's output is a RotationPlan (checked at compile time).
const _outputIsPlan = (p: z.output<typeof rotationPlanSchema>): RotationPlan => p;
void _outputIsPlan;

/**
 * Validates a parsed plan and applies defaults.
 * @param json the parsed JSON
 * @param where what the error names first, e.g. `/etc/rekey/plan/plan.json`
 * @throws ValidationError (code `PLAN_INVALID`) with one line:
 *   `<where> <field path> <what is wrong>: got <value>. <how to fix>`
 */
export function parsePlan(json: unknown, where: string): RotationPlan {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ValidationError(`${where} must be a JSON object: got ${show(json)}. Point the rotator at the plan ConfigMap's plan.json.`, { code: 'PLAN_INVALID' });
  }
  const result = rotationPlanSchema.safeParse(json);
  if (!result.success) throw new ValidationError(formatIssue(where, json, result.error.issues), { code: 'PLAN_INVALID' });
  return result.data;
}

/** Parses the text of `plan.json` (JSON syntax errors are reported like field errors). */
export function parsePlanText(text: string, where: string): RotationPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`${where} is not valid JSON: got ${show((e as Error).message)}. Render the plan again with rekey synth.`, { code: 'PLAN_INVALID' });
  }
  return parsePlan(json, where);
}

/** The canonical `plan.json` text of a plan: validated, defaults applied, schema field order, 2-space indent. */
export function renderPlan(input: RotationPlanInput, where: string): string {
  return JSON.stringify(parsePlan(input, where), null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------

const SECRETISH = /secret|password|token|private/i;

function formatIssue(where: string, raw: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0]!;
  const path = [...first.path];
  const extra = issues.length > 1 ? ` (${issues.length - 1} more problem${issues.length > 2 ? 's' : ''} after this one)` : '';
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0]!;
    const fix = SECRETISH.test(key)
      ? 'Remove it: a plan carries identifiers only, never a secret.'
      : 'Remove it or fix its spelling (see lib/core/plan.ts).';
    return `${where} ${formatPath(path) || '(top level)'} has unknown field "${key}": got ${JSON.stringify(key)}. ${fix}${extra}`;
  }
  const value = valueAt(raw, path);
  const field = String([...path].reverse().find((p) => typeof p === 'string') ?? 'it');
  let [what, fix] = first.message.includes(FIX)
    ? first.message.split(FIX)
    : [first.message.replace(/^Invalid input: /, ''), `Fix ${field} (see lib/core/plan.ts).`];
  if (value === undefined && first.code !== 'custom') {
    what = 'is required';
    fix = `Add ${field}.`;
  }
  return `${where} ${formatPath(path) || '(top level)'} ${what}: got ${show(value)}. ${fix}${extra}`;
}
