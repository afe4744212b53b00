import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ALIAS_PRESETS } from '../core/alias-set.js';
import { ValidationError } from '../core/errors.js';

/**
 * The spec, `rekey.yaml` (`apiVersion: rekey.dev/v1alpha1`, `kind: RekeyConfig`).
 *
 * Validated by zod (strict objects: unknown fields are errors); the JSON Schema in
 * `schema/rekey.schema.json` is generated from the same definition (`npm run schema`).
 * Every error is one line: `<file> <field path> <what is wrong>: got <value>. <fix>`.
 */

export const SPEC_API_VERSION = 'rekey.dev/v1alpha1';
export const SPEC_KIND = 'RekeyConfig';

/** Separates "what is wrong" from "how to fix" inside a schema message. */
const FIX = '\n';
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
});

const policySchema = z.strictObject({
  name: z
    .string()
    .min(1, { error: m('must not be empty', 'Name the policy, e.g. ingest-rw.') })
    .max(128, { error: m('must be at most 128 characters', 'Shorten the policy name.') })
    .regex(/^[A-Za-z0-9+=,.@_-]+$/, { error: m('is not a valid policy name', 'Use letters, digits and +=,.@_-.') }),
  document: z.record(z.string(), z.unknown(), {
    error: m('must be an IAM policy document (a mapping)', 'Give Version and Statement as in an AWS IAM policy.'),
  }),
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

const deliverySchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('sealed'), scope: enumOf(SEALING_SCOPES, 'scope').default('strict') }),
    z.strictObject({ kind: z.literal('plain'), acknowledgeInsecure: z.boolean().default(false) }),
  ],
  { error: m('must be sealed or plain', 'Set delivery.kind: sealed (or plain for a local cluster).') },
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
    })
    .optional(),
  rotator: z.strictObject({ namespace: namespaceName.default('rekey-system') }).default({ namespace: 'rekey-system' }),
  providers: z.array(providerSchema).min(1, { error: m('must list at least one provider', 'Add a provider.') }),
  credentials: z.array(credentialSchema).default([]),
});

/** The validated spec, defaults applied. */
export type RekeySpec = z.output<typeof specObject>;
export type ProviderSpec = RekeySpec['providers'][number];
export type CredentialSpec = RekeySpec['credentials'][number];
export type ConsumerSpec = CredentialSpec['consumers'][number];
export type TargetSpec = CredentialSpec['targets'][number];

/** Cross-field rules, reported with the path of the offending field. */
const specSchema = specObject.superRefine((spec, ctx) => {
  const issue = (path: (string | number)[], what: string, fix: string) => ctx.addIssue({ code: 'custom', path, message: m(what, fix) });

  const providers = new Map<string, ProviderSpec>();
  spec.providers.forEach((p, i) => {
    if (providers.has(p.name)) {
      issue(['providers', i, 'name'], 'is a duplicate provider name', 'Give every provider a unique name.');
    }
    providers.set(p.name, p);
    if (p.kind !== 'external' && p.kind !== 'aws-iam') {
      if (!p.endpoint) issue(['providers', i, 'endpoint'], `is required for kind ${p.kind}`, 'Give the endpoint URL.');
      if (!p.adminCredential) issue(['providers', i, 'adminCredential'], `is required for kind ${p.kind}`, 'Name the Secret holding the admin key pair.');
      if (!p.namespace) issue(['providers', i, 'namespace'], `is required for kind ${p.kind}`, "Give the provider pods' namespace.");
      if (!p.podSelector || Object.keys(p.podSelector).length === 0) {
        issue(['providers', i, 'podSelector'], `is required for kind ${p.kind}`, "Give the provider pods' labels, e.g. app.kubernetes.io/name: rustfs.");
      }
    }
  });

  const seenCredentials = new Set<string>();
  spec.credentials.forEach((c, i) => {
    const at = (...rest: (string | number)[]) => ['credentials', i, ...rest];
    if (seenCredentials.has(c.name)) issue(at('name'), 'is a duplicate credential name', 'Give every credential a unique name.');
    seenCredentials.add(c.name);

    const provider = providers.get(c.provider);
    if (!provider) {
      issue(at('provider'), 'names no provider', `Use one of: ${[...providers.keys()].join(', ')}.`);
    } else {
      if (c.identity.kind === 'root' && provider.kind === 'minio') {
        issue(at('identity', 'kind'), 'root rotation is refused for minio', 'MinIO fixes its root user at first start; rotate a serviceAccount or user instead.');
      } else if (c.identity.kind === 'root' && provider.kind !== 'rustfs' && provider.kind !== 'external') {
        issue(at('identity', 'kind'), `root rotation is not possible for ${provider.kind}`, 'Use kind user or alternatingUsers.');
      }
      if (c.identity.kind === 'serviceAccount' && !['rustfs', 'minio', 'external'].includes(provider.kind)) {
        issue(at('identity', 'kind'), `serviceAccount is not an identity kind of ${provider.kind}`, 'Use kind user (several keys on one user) or alternatingUsers.');
      }
      if (provider.kind === 'aws-iam') {
        issue(at('provider'), 'aws-iam keys are drawn by IAM inside the cluster and cannot be sealed into git', 'Use a rustfs, minio or ceph-rgw provider; external delivery for aws-iam is not available in this release.');
      }
      if (provider.kind === 'external' && c.delivery.kind === 'sealed') {
        // allowed: someone else rotates at the provider; rekey still draws and delivers.
      }
    }
    if (c.identity.users && c.identity.kind !== 'alternatingUsers') {
      issue(at('identity', 'users'), `only applies to kind alternatingUsers`, 'Remove users, or set kind: alternatingUsers.');
    }
    if (c.identity.users && c.identity.users[0] === c.identity.users[1]) {
      issue(at('identity', 'users'), 'must name two different users', 'Give two distinct user names.');
    }

    if (c.delivery.kind === 'plain' && !c.delivery.acknowledgeInsecure) {
      issue(at('delivery', 'acknowledgeInsecure'), 'must be true for plain delivery (the secret is stored in git in clear)', 'Set acknowledgeInsecure: true for a local cluster, or use kind: sealed.');
    }
    if (c.delivery.kind === 'sealed' && !spec.sealing) {
      issue(['sealing'], `is required: credential ${c.name} uses sealed delivery`, 'Add sealing: {certificate: <kubeseal --fetch-cert file>, fingerprint: SHA256:...}.');
    }

    // Alias clash: every key name of the target Secret must be unique.
    const keyOwner = new Map<string, string>();
    const claim = (key: string, owner: string, path: (string | number)[]) => {
      const prev = keyOwner.get(key);
      if (prev !== undefined) {
        issue(path, `key "${key}" clashes with ${prev}`, 'Give every alias and extra key a distinct Secret key name.');
      } else keyOwner.set(key, owner);
    };
    c.aliases.forEach((a, j) => {
      const keys = typeof a === 'string' ? ALIAS_PRESETS[a]!.keys() : [a.accessKey, a.secretKey];
      const label = typeof a === 'string' ? `alias set ${a}` : `aliases[${j}]`;
      for (const k of keys) claim(k, label, at('aliases', j));
    });
    for (const k of Object.keys(c.extraKeys)) claim(k, 'extraKeys', at('extraKeys', k));

    const targetKeys = new Set<string>();
    c.targets.forEach((t, j) => {
      const key = `${t.namespace}/${t.secretName}`;
      if (targetKeys.has(key)) issue(at('targets', j), `is a duplicate target ${key}`, 'List every namespace/secretName once.');
      targetKeys.add(key);
      if (t.namespace === spec.rotator.namespace && t.secretName.startsWith('rekey-')) {
        issue(at('targets', j, 'secretName'), "must not start with 'rekey-' in the rotator's namespace", 'Pick another Secret name: rekey- names are reserved there.');
      }
    });

    const consumerKeys = new Set<string>();
    c.consumers.forEach((w, j) => {
      const wkey = `${w.kind}/${w.namespace}/${w.name}`;
      if (consumerKeys.has(wkey)) issue(at('consumers', j), `is a duplicate consumer ${wkey}`, 'List every workload once.');
      consumerKeys.add(wkey);
      const modes = [w.env, w.envFrom, w.file].filter((x) => x !== undefined).length;
      if (modes !== 1) {
        issue(at('consumers', j), 'must read the Secret in exactly one way', 'Give exactly one of env, envFrom or file.');
      }
      const inNs = c.targets.filter((t) => t.namespace === w.namespace);
      if (w.secretName !== undefined) {
        if (!inNs.some((t) => t.secretName === w.secretName)) {
          issue(at('consumers', j, 'secretName'), `names no target of credential ${c.name} in namespace ${w.namespace}`, `Add a target {namespace: ${w.namespace}, secretName: ${w.secretName}}, or fix the name.`);
        }
      } else if (inNs.length === 0) {
        issue(at('consumers', j, 'namespace'), `has no target of credential ${c.name}`, `Add a target in namespace ${w.namespace}: a Secret is only readable from its own namespace.`);
      } else if (inNs.length > 1) {
        issue(at('consumers', j, 'secretName'), `is required: namespace ${w.namespace} has ${inNs.length} targets`, `Set secretName to one of ${inNs.map((t) => t.secretName).join(', ')}.`);
      }
      w.env?.forEach((k, n) => {
        if (!keyOwner.has(k)) {
          issue(at('consumers', j, 'env', n), `names a key the Secret does not have`, `Use one of ${[...keyOwner.keys()].join(', ')}.`);
        }
      });
      if (w.updateStrategy !== undefined && w.kind !== 'StatefulSet') {
        issue(at('consumers', j, 'updateStrategy'), 'only applies to StatefulSets', 'Remove updateStrategy.');
      }
    });
  });
});

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
  const raw: unknown = doc.toJS();
  return validateSpec(raw, source);
}

/** Validates an already-parsed spec object (see parseSpec). */
export function validateSpec(raw: unknown, source: SpecSource = { file: 'rekey.yaml' }): RekeySpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError(`${source.file} must be a mapping: got ${show(raw)}. Start from the example rekey.yaml.`, { code: 'SPEC_INVALID' });
  }
  const result = specSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ValidationError(formatIssue(source.file, raw, result.error.issues), { code: 'SPEC_INVALID' });
}

/** Reads and validates a spec file. */
export function loadSpec(path: string, displayName?: string): RekeySpec {
  const file = displayName ?? path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ValidationError(`${file} cannot be read: got ${code ?? String(e)}. Create it (see the example rekey.yaml) or point --dir at the project folder.`, {
      code: 'SPEC_MISSING',
      cause: e,
    });
  }
  return parseSpec(text, { file });
}

/** The JSON Schema of rekey.yaml, for editor completion (yaml-language-server). */
export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(specObject, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://rekey.dev/schema/rekey.schema.json',
    title: 'rekey.yaml (rekey.dev/v1alpha1 RekeyConfig)',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

function formatIssue(file: string, raw: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0]!;
  const path = [...first.path];
  let what: string;
  let fix: string;
  let value: unknown;
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0]!;
    const known = knownKeys(path);
    what = `has unknown field "${key}"`;
    value = key;
    fix = `Remove it or fix its spelling${known.length ? ` (known fields: ${known.join(', ')})` : ''}.`;
    return `${file} ${formatPath(path) || '(top level)'} ${what}: got ${JSON.stringify(value)}. ${fix}`;
  }
  value = valueAt(raw, path);
  let message = first.message;
  if (first.code === 'invalid_key') {
    // a record key failed its schema: report the key itself
    message = first.issues[0]?.message ?? message;
    value = String(path[path.length - 1] ?? '');
  }
  const field = String([...path].reverse().find((p) => typeof p === 'string') ?? 'it');
  let [w, f] = message.includes(FIX) ? message.split(FIX) : [message.replace(/^Invalid input: /, ''), `Fix ${field} (see schema/rekey.schema.json).`];
  if (first.code === 'invalid_type' && !message.includes(FIX)) {
    w = `must be ${article(first.expected)}`;
    f = `Give ${field} as ${article(first.expected)} (see schema/rekey.schema.json).`;
  }
  what = w!;
  fix = f!;
  if (value === undefined && first.code === 'invalid_type') {
    what = 'is required';
    fix = `Add ${field} (see schema/rekey.schema.json).`;
  }
  const extra = issues.length > 1 ? ` (${issues.length - 1} more problem${issues.length > 2 ? 's' : ''} after this one)` : '';
  return `${file} ${formatPath(path) || '(top level)'} ${what}: got ${show(value)}. ${fix}${extra}`;
}

const KNOWN: Record<string, string[]> = {
  '': Object.keys(specObject.shape),
  providers: Object.keys(providerSchema.shape),
  credentials: Object.keys(credentialSchema.shape),
  'credentials.identity': Object.keys(identitySchema.shape),
  'credentials.targets': Object.keys(targetSchema.shape),
  'credentials.consumers': Object.keys(consumerSchema.shape),
  'credentials.policy': Object.keys(policySchema.shape),
  'providers.adminCredential': Object.keys(adminCredential.shape),
};

function knownKeys(path: readonly (string | number | symbol)[]): string[] {
  const shapeKey = path.filter((p) => typeof p === 'string').join('.');
  return KNOWN[shapeKey] ?? [];
}

/** The value at a path inside parsed YAML, or undefined. */
export function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p as string | number];
  }
  return cur;
}

/** `credentials[2].rotationPolicy.intervalDays`; keys that are not identifiers as `["a b"]`. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (!/^[A-Za-z_][-A-Za-z0-9_.]*$/.test(String(p))) out += `[${JSON.stringify(String(p))}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function article(expected: string): string {
  const names: Record<string, string> = { array: 'a list', object: 'a mapping', record: 'a mapping', string: 'a string', number: 'a number', boolean: 'true or false', int: 'a whole number' };
  return names[expected] ?? expected;
}

/** A short, single-line rendering of a value for error messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s = JSON.stringify(value);
  if (s === undefined) s = String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Resolves a path from the spec (e.g. the certificate) relative to the spec's folder. */
export function resolveFrom(specDir: string, p: string): string {
  return isAbsolute(p) ? p : `${specDir}/${p}`;
}
