import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parseDocument } from 'yaml';
import { iamPolicyDocument, yamlToJs } from './spec-yaml.js';
import { z } from 'zod';
import { ALIAS_PRESETS } from '../core/alias-set.js';
import { formatPath, show, ValidationError, valueAt } from '../core/errors.js';
import { withDocs } from './spec-docs.js';
import { FIX, formatIssues, problemsError } from './spec-problems.js';
export { formatPath, show, valueAt };

/**
 * The spec, `rekey.yaml` (`apiVersion: rekey.dev/v1alpha1`, `kind: RekeyConfig`).
 *
 * Validated by zod (strict objects: unknown fields are errors); the JSON Schema in
 * `schema/rekey.schema.json` is generated from the same definition (`npm run schema`).
 * Every error is one line: `<file> <field path> <what is wrong>: got <value>. <fix>`.
 */

export const SPEC_API_VERSION = 'rekey.dev/v1alpha1';
export const SPEC_KIND = 'RekeyConfig';

const m = (what: string, fix: string) => `${what}${FIX}${fix}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const dnsLabel = (max: number, what: string) =>
  z
    .string({ error: m('must be a string', `Give ${what} as a lowercase DNS label.`) })
    .max(max, { error: m(`must be at most ${max} characters`, `Shorten ${what}: rekey derives object names from it.`) })
    .regex(DNS_LABEL, {
      error: m('must be a lowercase DNS label', `Use lowercase letters, digits and '-', starting and ending with a letter or digit.`),
    });

const namespaceName = dnsLabel(63, 'the namespace');
const secretName = z
  .string({ error: m('must be a string', 'Give the Secret name as a lowercase DNS subdomain.') })
  .max(253, { error: m('must be at most 253 characters', 'Shorten the Secret name.') })
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    error: m('must be a lowercase DNS subdomain', `Use lowercase letters, digits, '-' and '.'.`),
  });
const secretKeyName = z
  .string({ error: m('must be a string', 'Give a Secret key name.') })
  .min(1, { error: m('must not be empty', 'Give a Secret key name.') })
  .max(253, { error: m('must be at most 253 characters', 'Shorten the key name.') })
  .regex(SECRET_KEY, { error: m('is not a valid Secret key name', `Use letters, digits, '-', '_' and '.'.`) });

const labels = z.record(
  z.string().regex(LABEL_KEY, { error: m('is not a valid label key', 'Use a Kubernetes label key such as app.kubernetes.io/name.') }),
  z.string().max(63, { error: m('must be at most 63 characters', 'Shorten the label value.') }),
);

export const PROVIDER_KINDS = ['rustfs', 'minio', 'ceph-rgw', 'aws-iam', 'external'] as const;
export const IDENTITY_KINDS = ['serviceAccount', 'user', 'alternatingUsers', 'root'] as const;
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Rollout'] as const;
export const SEALING_SCOPES = ['strict', 'namespace-wide', 'cluster-wide'] as const;

const enumOf = <T extends readonly [string, ...string[]]>(values: T, what: string) =>
  z.enum(values, { error: m(`must be one of ${values.join(', ')}`, `Set ${what} to one of ${values.join(', ')}.`) });

const adminCredential = z.strictObject({
  /** Secret (in the rotator's namespace) holding the provider's admin key pair. */
  secretName,
  /** Key of the admin access-key ID in that Secret. */
  accessKeyKey: secretKeyName.default('access-key'),
  /** Key of the admin secret in that Secret. */
  secretKeyKey: secretKeyName.default('secret-key'),
});

const providerSchema = z.strictObject({
  name: dnsLabel(40, 'the provider name'),
  kind: enumOf(PROVIDER_KINDS, 'kind'),
  endpoint: z
    .url({ protocol: /^https?$/, error: m('must be an http(s) URL', 'Give the S3/admin endpoint, e.g. http://rustfs.storage.svc:9000.') })
    .optional(),
  region: z.string().min(1).default('us-east-1'),
  namespace: namespaceName.optional(),
  podSelector: labels.optional(),
  port: z
    .number({ error: m('must be a number', 'Give the storage port, e.g. 9000.') })
    .int()
    .min(1, { error: m('must be between 1 and 65535', 'Give the storage port, e.g. 9000.') })
    .max(65535, { error: m('must be between 1 and 65535', 'Give the storage port, e.g. 9000.') })
    .optional(),
  adminCredential: adminCredential.optional(),
  /** Egress of the rotation pods to a provider outside the cluster. @default - aws-iam: {cidrs: [0.0.0.0/0], port: 443}; others: none */
  egress: z
    .strictObject({
      /** Address ranges of the provider's endpoints, e.g. your VPC endpoints for IAM, STS and S3. */
      cidrs: z.array(z.string({ error: m('must be a string', 'Give a CIDR such as 10.0.0.0/16.') })),
      /** @default 443 */
      port: z.number({ error: m('must be a number', 'Give the TCP port, usually 443.') }).optional(),
    })
    .optional(),
  /** The provider pods' NetworkPolicy (storage port only from its namespace, the targets' namespaces, the rotation Jobs and allowFrom). @default {enabled: true} */
  networkPolicy: z
    .strictObject({
      /** @default true; false prints a warning at synthesis */
      enabled: z.boolean({ error: m('must be true or false', 'Set enabled: true (recommended) or false.') }).default(true),
      /** More namespaces whose pods may reach the storage port. @default [] */
      allowFrom: z.array(namespaceName).default([]),
    })
    .optional(),
});

const policySchema = z.strictObject({
  name: z
    .string()
    .min(1, { error: m('must not be empty', 'Name the policy, e.g. ingest-rw.') })
    .max(128, { error: m('must be at most 128 characters', 'Shorten the policy name.') })
    .regex(/^[A-Za-z0-9+=,.@_-]+$/, { error: m('is not a valid policy name', 'Use letters, digits and +=,.@_-.') }),
  document: iamPolicyDocument(m),
});

const aliasRef = z.union(
  [
    z.enum(Object.keys(ALIAS_PRESETS) as [string, ...string[]]),
    z.strictObject({ accessKey: secretKeyName, secretKey: secretKeyName }),
  ],
  {
    error: m(
      'must be a preset or a custom pair',
      `Use one of ${Object.keys(ALIAS_PRESETS).join(', ')}, or {accessKey: <key>, secretKey: <key>}.`,
    ),
  },
);

/** An External Secrets Operator store, by reference (external, csi). */
const storeRefSchema = z.strictObject({
  kind: enumOf(['SecretStore', 'ClusterSecretStore'] as const, 'store.kind'),
  name: secretName,
  /** false for a store that cannot accept writes: refused for keys obtained in the cluster (they are pushed there). @default true */
  acceptsPush: z.boolean({ error: m('must be true or false', 'Set acceptsPush: true or false.') }).optional(),
});

/** `external`: an ExternalSecret per target, fed from one remote pair that a per-generation PushSecret writes. */
const externalDeliverySchema = z.strictObject({
  kind: z.literal('external'),
  store: storeRefSchema,
  /** The key in the store holding the pair. */
  remoteKey: z.string({ error: m('must be a string', 'Give the key in the store that holds the pair, e.g. storage/ingest.') }),
  /** The remote key's properties holding each half. @default {accessKeyId: access-key, secretAccessKey: secret-key} */
  properties: z.strictObject({ accessKeyId: z.string().optional(), secretAccessKey: z.string().optional() }).optional(),
  /** More target keys templated from the pair ({{ .rekeyAccessKeyId }}, {{ .rekeySecretAccessKey }}). @default {} */
  templateData: z.record(secretKeyName, z.string()).optional(),
});

/** delivery kind csi: the Secrets Store CSI driver (see `Delivery.csi`). */
const csiDeliverySchema = z.strictObject({
  kind: z.literal('csi'),
  /** The CSI provider: vault or aws (Secrets Manager). */
  provider: enumOf(['vault', 'aws'] as const, 'provider'),
  /** Provider parameters other than objects (vault: roleName required, vaultAddress, …; aws: region, usePodIdentity, …). @default {} */
  parameters: z.record(z.string(), z.string({ error: m('must be a string', 'Quote the value: SecretProviderClass parameters are strings.') })).default({}),
  /** The External Secrets store the pair is pushed to: the backend the CSI provider reads. */
  store: storeRefSchema,
  /** The store key holding the pair. */
  remoteKey: z.string({ error: m('must be a string', 'Give the store key holding the pair, e.g. rekey/uploads.') }),
  /** Property names of the two halves. @default {accessKeyId: access-key, secretAccessKey: secret-key} */
  properties: z.strictObject({ accessKeyId: z.string().optional(), secretAccessKey: z.string().optional() }).optional(),
  /** Where the provider reads the pair (vault secretPath, KV v2 with data/; aws secret name or ARN). @default - the remoteKey */
  objectPath: z.string().optional(),
  /** The driver's --rotation-poll-interval in seconds. @default 120 */
  rotationPollIntervalSeconds: z
    .number({ error: m('must be a number', 'Give rotationPollIntervalSeconds as a whole number of seconds (the driver default is 120).') })
    .int({ error: m('must be a whole number', 'Give rotationPollIntervalSeconds as a whole number of seconds (the driver default is 120).') })
    .min(1, { error: m('must be at least 1', 'Set rotationPollIntervalSeconds to the driver\'s --rotation-poll-interval in seconds (default 120).') })
    .default(120),
  /** The driver runs with --enable-secret-rotation=true. @default true */
  secretRotationEnabled: z.boolean({ error: m('must be true or false', 'Set secretRotationEnabled: true (the driver runs with --enable-secret-rotation=true) or false.') }).default(true),
});

const deliverySchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('sealed'), scope: enumOf(SEALING_SCOPES, 'scope').default('strict') }),
    z.strictObject({ kind: z.literal('plain'), acknowledgeInsecure: z.boolean().default(false) }),
    externalDeliverySchema,
    csiDeliverySchema,
  ],
  { error: m('must be sealed, plain, external or csi', 'Set delivery.kind: sealed, external (an External Secrets store), csi (the Secrets Store CSI driver), or plain for a local cluster.') },
);

const targetSchema = z.strictObject({ namespace: namespaceName, secretName });

const consumerSchema = z.strictObject({
  kind: enumOf(WORKLOAD_KINDS, 'kind'),
  name: dnsLabel(253, 'the workload name'),
  namespace: namespaceName,
  /** The target Secret it reads. @default - the credential's only target in the consumer's namespace */
  secretName: secretName.optional(),
  env: z.array(secretKeyName).min(1, { error: m('must list at least one key', 'List the Secret keys the workload reads.') }).optional(),
  envFrom: z.strictObject({ prefix: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$|^$/).default('') }).optional(),
  file: z.strictObject({ mountPath: z.string().startsWith('/', { error: m('must be an absolute path', 'Start mountPath with /.') }) }).optional(),
  /** StatefulSet update strategy of a workload rendered elsewhere. @default RollingUpdate */
  updateStrategy: enumOf(['RollingUpdate', 'OnDelete'] as const, 'updateStrategy').optional(),
  /** Kustomize Component (folder under dist/components) that carries this consumer's patch. @default - the consumer's namespace */
  component: dnsLabel(63, 'the component name').optional(),
});

const rotationPolicySchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z.literal('Manual'),
      overlapSeconds: z
        .number({ error: m('must be a number', 'Give overlapSeconds as a whole number of seconds.') })
        .int({ error: m('must be a whole number', 'Give overlapSeconds as a whole number of seconds.') })
        .min(0, { error: m('must be at least 0', 'Set overlapSeconds: 0 or more.') })
        .default(300),
    }),
    z.strictObject({
      mode: z.literal('TimeBased'),
      intervalDays: z
        .number({ error: m('must be a number', 'Set intervalDays: 7 or more, or use mode: Manual.') })
        .int({ error: m('must be a whole number', 'Set intervalDays: 7 or more, or use mode: Manual.') })
        .min(7, { error: m('must be at least 7', 'Set intervalDays: 7 or more, or use mode: Manual.') }),
      overlapSeconds: z
        .number({ error: m('must be a number', 'Give overlapSeconds as a whole number of seconds.') })
        .int({ error: m('must be a whole number', 'Give overlapSeconds as a whole number of seconds.') })
        .min(0, { error: m('must be at least 0', 'Set overlapSeconds: 0 or more.') })
        .default(300),
    }),
  ],
  { error: m('must be Manual or TimeBased', 'Set rotationPolicy.mode: Manual, or TimeBased with intervalDays.') },
);

const identitySchema = z.strictObject({
  kind: enumOf(IDENTITY_KINDS, 'identity.kind'),
  name: z
    .string()
    .min(1, { error: m('must not be empty', 'Name the user (or parent user) at the provider.') })
    .max(64, { error: m('must be at most 64 characters', 'Shorten the identity name.') })
    .regex(/^[A-Za-z0-9+=,.@_-]+$/, { error: m('is not a valid user name', 'Use letters, digits and +=,.@_-.') }),
  users: z.tuple([z.string().min(1), z.string().min(1)]).optional(),
});

const credentialSchema = z.strictObject({
  name: dnsLabel(40, 'the credential name'),
  provider: z.string({ error: m('must be a string', 'Name one of the providers.') }),
  identity: identitySchema,
  policy: policySchema.optional(),
  aliases: z.array(aliasRef).min(1, { error: m('must list at least one alias set', 'Add e.g. aliases: [generic].') }),
  extraKeys: z.record(secretKeyName, z.string()).default({}),
  delivery: deliverySchema,
  targets: z.array(targetSchema).min(1, { error: m('must list at least one target', 'Add {namespace, secretName}.') }),
  consumers: z.array(consumerSchema).default([]),
  rotationPolicy: rotationPolicySchema.default({ mode: 'Manual', overlapSeconds: 300 }),
});

const seconds = (what: string, min: number) =>
  z
    .number({ error: m('must be a number', `Give ${what} as a whole number of seconds.`) })
    .int({ error: m('must be a whole number', `Give ${what} as a whole number of seconds.`) })
    .min(min, { error: m(`must be at least ${min}`, `Set ${what} to ${min} or more.`) });

const rotatorSchema = z.strictObject({
  /** Namespace of the rotation Jobs, staging Secrets, plans, records and Leases. @default rekey-system */
  namespace: namespaceName.default('rekey-system'),
  /** Render the namespace (Pod Security restricted labels); false when it exists. @default true */
  createNamespace: z.boolean({ error: m('must be true or false', 'Set createNamespace: true, or false when the namespace exists.') }).default(true),
  /** An image carrying /rotator/rotator.mjs (the project's Dockerfile). @default - the stock node:24.22.3-bookworm-slim image runs the bundle ConfigMap */
  image: z
    .string({ error: m('must be a string', 'Give an image reference, e.g. registry.example.com/rekey-rotator:0.1.0.') })
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*[:@][A-Za-z0-9._\-:]+$/, { error: m('must be an image reference with a tag or digest', 'Give e.g. registry.example.com/rekey-rotator:0.1.0 (built from the project Dockerfile).') })
    .optional(),
  /** The API server endpoint for the rotation pods' egress NetworkPolicy (no cluster lookup). Required once a credential was rotated. */
  apiServer: z
    .strictObject({
      /** Endpoint address range, e.g. 10.0.0.10/32 (kubectl get endpoints kubernetes -n default). */
      cidr: z.string({ error: m('must be a string', 'Give the API server endpoint as a CIDR, e.g. 10.0.0.10/32.') }),
      /** Endpoint port. @default 6443 */
      port: z
        .number({ error: m('must be a number', 'Give the API server endpoint port, usually 6443.') })
        .int({ error: m('must be a whole number', 'Give the API server endpoint port, usually 6443.') })
        .min(1, { error: m('must be between 1 and 65535', 'Give the API server endpoint port, usually 6443.') })
        .max(65535, { error: m('must be between 1 and 65535', 'Give the API server endpoint port, usually 6443.') })
        .default(6443),
    })
    .optional(),
  /** backoffLimit of every rotation Job. @default 2 */
  backoffLimit: seconds('backoffLimit', 0).optional(),
  /** Added to a step's deadline for the Job's activeDeadlineSeconds. @default 300 */
  jobGraceSeconds: seconds('jobGraceSeconds', 0).optional(),
  /** Step deadlines in seconds. @default {activateSeconds: 600, deliverSeconds: 900, retireSeconds: 3600, verifySeconds: 120, kubeletRefreshSeconds: 90} */
  deadlines: z
    .strictObject({
      activateSeconds: seconds('activateSeconds', 1).optional(),
      deliverSeconds: seconds('deliverSeconds', 1).optional(),
      retireSeconds: seconds('retireSeconds', 1).optional(),
      verifySeconds: seconds('verifySeconds', 1).optional(),
      kubeletRefreshSeconds: seconds('kubeletRefreshSeconds', 0).optional(),
    })
    .optional(),
});

const gitopsSchema = z.strictObject({
  /** argocd (sync waves), flux (stage folders + Kustomizations) or plain (stage folders + dist/README.md). @default argocd */
  tool: enumOf(['argocd', 'flux', 'plain'] as const, 'gitops.tool').default('argocd'),
  /** argocd: render dist/argocd/application.yaml. @default - none */
  application: z
    .strictObject({
      repoURL: z.string({ error: m('must be a string', 'Give the git URL of the repository holding dist/.') }),
      /** @default dist */
      path: z.string().optional(),
      /** @default HEAD */
      targetRevision: z.string().optional(),
      /** @default rekey */
      name: dnsLabel(63, 'the Application name').optional(),
      /** @default argocd */
      namespace: namespaceName.optional(),
      /** @default default */
      project: z.string().optional(),
      /** Destination cluster. @default https://kubernetes.default.svc */
      server: z.string().optional(),
    })
    .optional(),
  /** flux: where the stage Kustomizations find dist/. @default - see below */
  flux: z
    .strictObject({
      /** Prefix of the Kustomization names. @default rekey */
      name: dnsLabel(40, 'the Kustomization name prefix').optional(),
      /** @default flux-system */
      namespace: namespaceName.optional(),
      /** GitRepository name. @default flux-system */
      sourceName: dnsLabel(40, 'the GitRepository name').optional(),
      /** Path of dist/ in the repository. @default ./dist */
      path: z.string().optional(),
      /** @default 10m */
      interval: z.string().optional(),
      /** Timeout of the stages without a Job. @default 10m */
      timeout: z.string().optional(),
    })
    .optional(),
});

const specObject = z.strictObject({
  apiVersion: z.literal(SPEC_API_VERSION, { error: m(`must be ${SPEC_API_VERSION}`, `Set apiVersion: ${SPEC_API_VERSION}.`) }),
  kind: z.literal(SPEC_KIND, { error: m(`must be ${SPEC_KIND}`, `Set kind: ${SPEC_KIND}.`) }),
  sealing: z
    .strictObject({
      /** Path of the sealed-secrets controller's certificate (`kubeseal --fetch-cert`), relative to rekey.yaml. */
      certificate: z.string().min(1),
      /** Its SHA-256 fingerprint as kubeseal prints it (`SHA256:...`). */
      fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, {
        error: m('must be a SHA-256 fingerprint like SHA256:<43 base64 characters>', 'Copy the fingerprint rekey or kubeseal prints for the certificate.'),
      }),
      /** Fingerprints of the controller's earlier certificates whose sealed values stay valid until their next rotation (the controller keeps its old keys). @default [] */
      previousFingerprints: z
        .array(
          z.string({ error: m('must be a string', 'Give each previous fingerprint as SHA256:<43 base64 characters>.') }).regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, {
            error: m('must be a SHA-256 fingerprint like SHA256:<43 base64 characters>', 'Copy the fingerprint the ledger recorded (certificateFingerprint) for the earlier certificate.'),
          }),
          { error: m('must be a list', 'Give previousFingerprints as a list, e.g. [SHA256:...].') },
        )
        .optional(),
    })
    .optional(),
  rotator: rotatorSchema.default({ namespace: 'rekey-system', createNamespace: true }),
  gitops: gitopsSchema.default({ tool: 'argocd' }),
  providers: z.array(providerSchema).min(1, { error: m('must list at least one provider', 'Add a provider.') }),
  credentials: z.array(credentialSchema).default([]),
});

/** The validated spec, defaults applied. */
export type RekeySpec = z.output<typeof specObject>;
export type ProviderSpec = RekeySpec['providers'][number];
export type CredentialSpec = RekeySpec['credentials'][number];
export type ConsumerSpec = CredentialSpec['consumers'][number];
export type TargetSpec = CredentialSpec['targets'][number];

/**
 * The spec's shape. Cross-field rules (unique names, a consumer's namespace holds a target,
 * alias clashes, identity kinds per provider, …) live in the constructs, so a TypeScript app
 * gets every check rekey.yaml gets; `chartFromSpec` reports them with their rekey.yaml path.
 */
export const specSchema = specObject;

/** Where a spec came from, for error messages. */
export interface SpecSource {
  /** File name shown in errors, e.g. `rekey.yaml`. */
  readonly file: string;
}

/**
 * Parses and validates a spec from YAML text. Throws a `ValidationError` whose message is
 * one line naming the file, the field path, the value and the fix.
 */
export function parseSpec(text: string, source: SpecSource = { file: 'rekey.yaml' }): RekeySpec {
  return parseSpecDocument(text, source).spec;
}

/** A validated spec and the raw parsed YAML it came from (errors show raw values). */
export interface SpecDocument {
  readonly spec: RekeySpec;
  readonly raw: unknown;
  readonly file: string;
}

/** Parses and validates spec text, keeping the raw YAML for error messages (see parseSpec). */
export function parseSpecDocument(text: string, source: SpecSource = { file: 'rekey.yaml' }): SpecDocument {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    const detail = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ValidationError(
      `${source.file}${line ? ` line ${line}` : ''} is not valid YAML: got ${e.code} (${detail}). Fix the YAML syntax there.`,
      { code: 'SPEC_YAML' },
    );
  }
  const raw: unknown = yamlToJs(doc, source.file);
  return { spec: validateSpec(raw, source), raw, file: source.file };
}

/** Validates an already-parsed spec object (see parseSpec). */
export function validateSpec(raw: unknown, source: SpecSource = { file: 'rekey.yaml' }): RekeySpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError(`${source.file} must be a mapping: got ${show(raw)}. Start from \`rekey init\`.`, { code: 'SPEC_INVALID' });
  }
  const result = specSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = formatIssues(source.file, raw, result.error.issues, specObject);
  throw lines.length === 1 ? new ValidationError(lines[0]!, { code: 'SPEC_INVALID' }) : problemsError(source.file, lines, 'SPEC_INVALID');
}

/** Reads and validates a spec file. */
export function loadSpec(path: string, displayName?: string): RekeySpec {
  return loadSpecDocument(path, displayName).spec;
}

/** Reads and validates a spec file, keeping the raw YAML (see parseSpecDocument). */
export function loadSpecDocument(path: string, displayName?: string): SpecDocument {
  const file = displayName ?? path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ValidationError(`${file} cannot be read: got ${code ?? String(e)}. Create it with \`rekey init\`, or point --dir at the project folder.`, {
      code: 'SPEC_MISSING',
      cause: e,
    });
  }
  return parseSpecDocument(text, { file });
}

/** The JSON Schema of rekey.yaml, for editor completion (yaml-language-server). */
export function specJsonSchema(): Record<string, unknown> {
  const schema = withDocs(z.toJSONSchema(specObject, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://rekey.dev/schema/rekey.schema.json',
    title: 'rekey.yaml (rekey.dev/v1alpha1 RekeyConfig)',
    description: 'A rekey project: the storage providers, the credentials rekey rotates, where each is delivered and who reads it. Every field is described in lib/project/spec-docs.ts.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

/** Resolves a path from the spec (e.g. the certificate) relative to the spec's folder. */
export function resolveFrom(specDir: string, p: string): string {
  return isAbsolute(p) ? p : `${specDir}/${p}`;
}
