/**
 * Test support: schema validation of rendered Kubernetes manifests, and `kubectl kustomize`.
 *
 * `validateManifests(docs)` checks every object against the schema of its apiVersion/kind:
 * - core kinds: the `kubernetes-models` validators (the Kubernetes OpenAPI schema, compiled with ajv);
 * - SealedSecret, Flux Kustomization, Argo CD Application: their `@kubernetes-models/*` validator
 *   AND ajv over the upstream CRD (test/fixtures/crds, byte-identical copies of ../shared/crds) —
 *   the packages lag upstream (argo-cd models are v2.14, the CRD is v3.5.1; flux-cd models are
 *   kustomize-controller v1.2, the CRD is v1.9.4) and never reject unknown fields;
 * - ExternalSecret (external-secrets.io/v1) and PushSecret (v1alpha1): ajv over the upstream CRD
 *   (v2.9.0): `@kubernetes-models/external-secrets` 0.5.2 is generated from v0.8.1 and has no v1;
 * - SecretProviderClass: ajv over the upstream CRD (no validator package exists);
 * - Argo Rollouts `Rollout` (argoproj.io/v1alpha1): ajv over a minimal hand-written structural
 *   schema (no CRD copy here): shape of the fields rekey touches, not the whole Rollout API.
 * Anything else is a problem `no validator for <apiVersion>/<kind>`, so nothing slips through.
 *
 * Core kinds are also checked for unknown fields at any depth (the kubernetes-models validators accept
 * them): the known fields come from kubernetes-models' own declaration files (`.d.ts`), read with the
 * TypeScript parser, so the field list is the same Kubernetes API version as the validators.
 *
 * On top of the schemas, every object gets the API server's metadata checks that schemas miss:
 * `metadata.name` present and a DNS-1123 subdomain (a DNS label for Namespace and Service; Jobs at most
 * 63 characters, CronJobs at most 52), `metadata.namespace` a DNS label, labels valid (key and value
 * syntax), annotations string-valued, no unknown ObjectMeta field, and no unknown top-level field.
 *
 * CRD schemas are made strict the way the API server's field validation (`kubectl apply`'s default
 * `--validate=strict`) treats them: an object schema with `properties` rejects unknown fields unless it
 * says `x-kubernetes-preserve-unknown-fields` or has `additionalProperties`.
 *
 * Known gaps (not checked): CEL rules (`x-kubernetes-validations`) of the CRDs, list-map key uniqueness
 * (`x-kubernetes-list-map-keys`), and API-server semantics beyond the schema (e.g. immutable fields).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ts from 'typescript';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { SealedSecret } from '@kubernetes-models/sealed-secrets/bitnami.com/v1alpha1/SealedSecret';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** Where the byte-identical upstream CRD copies live. */
export const CRD_DIR = join(process.cwd(), 'test', 'fixtures', 'crds');

type Obj = Record<string, unknown>;
/** A kubernetes-models class: constructed from the object, `validate()` throws with ajv `errors`. */
type ModelClass = new (data: never) => { validate(): void };

interface KindSpec {
  /** The `@kubernetes-models` / `kubernetes-models` class, when there is one. */
  readonly model?: ModelClass;
  /** An upstream CRD file in CRD_DIR to validate against with ajv. */
  readonly crd?: string;
  /** A hand-written schema (used only where no CRD copy exists). */
  readonly schema?: object;
  /**
   * The kubernetes-models declaration file of a core kind (relative to the package), whose interface
   * graph lists every known field: used to reject unknown fields at any depth.
   */
  readonly types?: string;
  /** Cluster-scoped (no namespace). */
  readonly clusterScoped?: boolean;
  /** Max length of metadata.name, when tighter than 253. */
  readonly maxName?: number;
  /** metadata.name must be a DNS-1123 label rather than a subdomain. */
  readonly dnsLabelName?: boolean;
}

/**
 * Minimal structural schema for Argo Rollouts' Rollout: the fields rekey reads or patches
 * (pod template metadata, containers' env/envFrom/volumes, strategy), not the whole API.
 */
const ROLLOUT_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    status: { type: 'object' },
    spec: {
      type: 'object',
      required: ['strategy'],
      properties: {
        replicas: { type: 'integer', minimum: 0 },
        selector: { type: 'object' },
        workloadRef: { type: 'object', required: ['kind', 'name'] },
        template: {
          type: 'object',
          properties: {
            metadata: {
              type: 'object',
              properties: {
                labels: { type: 'object', additionalProperties: { type: 'string' } },
                annotations: { type: 'object', additionalProperties: { type: 'string' } },
              },
            },
            spec: {
              type: 'object',
              required: ['containers'],
              properties: {
                containers: {
                  type: 'array',
                  minItems: 1,
                  items: {
                    type: 'object',
                    required: ['name'],
                    properties: {
                      name: { type: 'string' },
                      env: { type: 'array', items: { type: 'object', required: ['name'] } },
                      envFrom: { type: 'array', items: { type: 'object' } },
                      volumeMounts: { type: 'array', items: { type: 'object', required: ['name', 'mountPath'] } },
                    },
                  },
                },
                volumes: { type: 'array', items: { type: 'object', required: ['name'] } },
              },
            },
          },
        },
        strategy: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: { canary: { type: 'object' }, blueGreen: { type: 'object', required: ['activeService'] } },
        },
      },
      // a Rollout has either its own template (with a selector) or a workloadRef
      oneOf: [{ required: ['template', 'selector'] }, { required: ['workloadRef'] }],
    },
  },
};

/** The kinds rekey renders, keyed `apiVersion/kind`. */
const KINDS: Readonly<Record<string, KindSpec>> = {
  'v1/Secret': { model: Secret as ModelClass, types: 'v1/Secret' },
  'v1/ConfigMap': { model: ConfigMap as ModelClass, types: 'v1/ConfigMap' },
  'v1/ServiceAccount': { model: ServiceAccount as ModelClass, types: 'v1/ServiceAccount' },
  'v1/Namespace': { model: Namespace as ModelClass, types: 'v1/Namespace', clusterScoped: true, dnsLabelName: true, maxName: 63 },
  'v1/Service': { model: Service as ModelClass, types: 'v1/Service', dnsLabelName: true, maxName: 63 },
  'rbac.authorization.k8s.io/v1/Role': { model: Role as ModelClass, types: 'rbac.authorization.k8s.io/v1/Role' },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    model: ClusterRole as ModelClass,
    types: 'rbac.authorization.k8s.io/v1/ClusterRole',
    clusterScoped: true,
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding as ModelClass, types: 'rbac.authorization.k8s.io/v1/RoleBinding' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: ClusterRoleBinding as ModelClass,
    types: 'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    clusterScoped: true,
  },
  // a Job's name goes into its pods' `job-name` label: at most 63 characters
  'batch/v1/Job': { model: Job as ModelClass, types: 'batch/v1/Job', maxName: 63 },
  // a CronJob appends an 11-character suffix to make Job names: at most 52 characters
  'batch/v1/CronJob': { model: CronJob as ModelClass, types: 'batch/v1/CronJob', maxName: 52 },
  'apps/v1/Deployment': { model: Deployment as ModelClass, types: 'apps/v1/Deployment' },
  'apps/v1/StatefulSet': { model: StatefulSet as ModelClass, types: 'apps/v1/StatefulSet' },
  'apps/v1/DaemonSet': { model: DaemonSet as ModelClass, types: 'apps/v1/DaemonSet' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy as ModelClass, types: 'networking.k8s.io/v1/NetworkPolicy' },
  'bitnami.com/v1alpha1/SealedSecret': { model: SealedSecret as ModelClass, crd: 'bitnami.com_sealedsecrets.yaml' },
  'external-secrets.io/v1/ExternalSecret': { crd: 'external-secrets.io_externalsecrets.yaml' },
  'external-secrets.io/v1alpha1/PushSecret': { crd: 'external-secrets.io_pushsecrets.yaml' },
  'secrets-store.csi.x-k8s.io/v1/SecretProviderClass': { crd: 'secrets-store.csi.x-k8s.io_secretproviderclasses.yaml' },
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': {
    model: Kustomization as ModelClass,
    crd: 'kustomize.toolkit.fluxcd.io_kustomizations.yaml',
  },
  'argoproj.io/v1alpha1/Application': { model: Application as ModelClass, crd: 'argoproj.io_applications.yaml' },
  'argoproj.io/v1alpha1/Rollout': { schema: ROLLOUT_SCHEMA },
};

/** The `apiVersion/kind` keys validateManifests knows. */
export const VALIDATED_KINDS: readonly string[] = Object.keys(KINDS);

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Validates every rendered object. Returns one line per problem (empty when all are valid):
 * `<apiVersion>/<kind> <namespace>/<name>: <JSON pointer> <what is wrong>`.
 */
export function validateManifests(docs: readonly unknown[]): string[] {
  const problems: string[] = [];
  docs.forEach((doc, index) => {
    for (const p of validateOne(doc, index)) if (!problems.includes(p)) problems.push(p);
  });
  return problems;
}

/** Parses a multi-document YAML stream (e.g. `kustomizeBuild` output or a dist/ file), skipping empty documents. */
export function parseManifests(yamlText: string): unknown[] {
  return parseAllDocuments(yamlText)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`YAML is not valid: got ${d.errors[0].message}. Fix the renderer.`);
      return d.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

/**
 * Runs `kubectl kustomize <dir>` (offline) and returns the YAML it prints.
 * Throws with kubectl's stderr when the build fails.
 */
export function kustomizeBuild(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string | Buffer; status?: number | null; code?: string };
    if (e.code === 'ENOENT') {
      throw new Error('kubectl kustomize cannot run: got kubectl not found on PATH. Install kubectl (v1.32 ships kustomize v5.5).');
    }
    const stderr = String(e.stderr ?? '').trim();
    throw new Error(`kubectl kustomize ${dir} failed (exit ${e.status ?? 'unknown'}): ${stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateOne(doc: unknown, index: number): string[] {
  if (!isObj(doc)) return [`document ${index}: must be an object: got ${Array.isArray(doc) ? 'an array' : JSON.stringify(doc)}`];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
    return [`document ${index}: apiVersion and kind must be non-empty strings: got ${JSON.stringify(apiVersion)}/${JSON.stringify(kind)}`];
  }
  const key = `${apiVersion}/${kind}`;
  const meta = isObj(doc.metadata) ? doc.metadata : undefined;
  const ref = `${key} ${refName(meta)}`;
  const spec = KINDS[key];
  if (!spec) return [`${ref}: no validator for ${key}`];

  const problems: string[] = [];
  const add = (path: string, message: string): void => {
    problems.push(`${ref}: ${path || '/'} ${message}`);
  };
  const addAjv = (e: ErrorObject): void => {
    if (e.keyword === 'additionalProperties') {
      add(`${e.instancePath}/${escapePointer(String((e.params as { additionalProperty?: unknown }).additionalProperty))}`, 'is an unknown field');
    } else {
      add(e.instancePath, describe(e));
    }
  };
  checkMetadata(doc, spec, add);
  if (spec.types) {
    const root = join(MODELS_DIR, `${spec.types}.d.ts`);
    walkKnownFields(doc, { kind: 'ref', file: root, name: firstInterfaceName(root) }, '', add);
  }
  if (spec.model) {
    try {
      new spec.model(doc as never).validate();
    } catch (err) {
      const errors = (err as { errors?: ErrorObject[] }).errors;
      if (!Array.isArray(errors)) throw err;
      for (const e of errors) addAjv(e);
    }
  }
  if (spec.crd) {
    const v = crdValidator(spec.crd, apiVersion, kind);
    if (typeof v === 'string') add('/apiVersion', v);
    else if (!v(doc)) for (const e of v.errors ?? []) addAjv(e);
  }
  if (spec.schema) {
    const v = handValidator(key, spec.schema);
    if (!v(doc)) for (const e of v.errors ?? []) addAjv(e);
  }
  return problems;
}

function refName(meta: Obj | undefined): string {
  const name = typeof meta?.name === 'string' ? meta.name : '<no name>';
  return typeof meta?.namespace === 'string' ? `${meta.namespace}/${name}` : name;
}

function checkMetadata(doc: Obj, spec: KindSpec, add: (path: string, message: string) => void): void {
  const meta = doc.metadata;
  if (!isObj(meta)) {
    add('/metadata', 'must be an object with a name');
    return;
  }
  for (const field of Object.keys(meta)) if (!OBJECT_META_FIELDS.has(field)) add(`/metadata/${escapePointer(field)}`, 'is an unknown field');
  const { name, namespace, labels, annotations } = meta;
  if (typeof name !== 'string' || name === '') {
    add('/metadata/name', 'must be a non-empty string');
  } else {
    const max = spec.maxName ?? 253;
    const pattern = spec.dnsLabelName ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
    if (!pattern.test(name)) add('/metadata/name', `must be a DNS-1123 ${spec.dnsLabelName ? 'label' : 'subdomain'}: got ${JSON.stringify(name)}`);
    if (name.length > max) add('/metadata/name', `must be at most ${max} characters: got ${name.length}`);
  }
  if (namespace !== undefined) {
    if (spec.clusterScoped) {
      add('/metadata/namespace', `must not be set on a cluster-scoped kind: got ${JSON.stringify(namespace)}. Render it without a namespace`);
    }
    else if (typeof namespace !== 'string' || !DNS1123_LABEL.test(namespace) || namespace.length > 63) {
      add('/metadata/namespace', `must be a DNS-1123 label: got ${JSON.stringify(namespace)}`);
    }
  }
  if (labels !== undefined) {
    if (!isObj(labels)) add('/metadata/labels', 'must be a map of strings');
    else {
      for (const [k, v] of Object.entries(labels)) {
        const where = `/metadata/labels/${escapePointer(k)}`;
        if (!validQualifiedKey(k)) add(where, 'has an invalid label key');
        if (typeof v !== 'string') add(where, 'must be string');
        else if (v.length > 63 || !LABEL_VALUE.test(v)) add(where, `is not a valid label value: got ${JSON.stringify(v)}`);
      }
    }
  }
  if (annotations !== undefined) {
    if (!isObj(annotations)) add('/metadata/annotations', 'must be a map of strings');
    else {
      for (const [k, v] of Object.entries(annotations)) {
        const where = `/metadata/annotations/${escapePointer(k)}`;
        if (!validQualifiedKey(k)) add(where, 'has an invalid annotation key');
        if (typeof v !== 'string') add(where, 'must be string');
      }
    }
  }
}

/** `[prefix/]name`: prefix a DNS-1123 subdomain (<= 253), name a qualified name (<= 63). */
function validQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME.test(name);
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** One ajv error as a sentence (the kubernetes-models validators carry no `message`). */
function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `must have required property ${String(p.missingProperty)}`;
    case 'type':
      return `must be ${String(p.type)}`;
    case 'enum':
      return `must be one of ${JSON.stringify(p.allowedValues)}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'format':
      return `must match format "${String(p.format)}"`;
    case 'pattern':
      return `must match pattern "${String(p.pattern)}"`;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return `must have ${e.keyword.startsWith('min') ? 'at least' : 'at most'} ${String(p.limit)} ${e.keyword.endsWith('Length') ? 'characters' : e.keyword.endsWith('Items') ? 'items' : 'properties'}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'oneOf':
      return 'must match exactly one schema in oneOf';
    case 'anyOf':
      return 'must match a schema in anyOf';
    default:
      return e.message ?? `fails ${e.keyword} ${JSON.stringify(p)}`;
  }
}

// ---- ajv over CRDs ----------------------------------------------------------------------------

let ajvInstance: Ajv | undefined;
function ajv(): Ajv {
  if (!ajvInstance) {
    ajvInstance = new Ajv({
      allErrors: true,
      strict: false, // CRD schemas carry x-kubernetes-* and description keywords
      formats: {
        int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
        int64: { type: 'number', validate: (n: number) => Number.isSafeInteger(n) },
        byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
        'date-time': /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
      },
    });
    for (const k of [
      'x-kubernetes-preserve-unknown-fields',
      'x-kubernetes-int-or-string',
      'x-kubernetes-embedded-resource',
      'x-kubernetes-list-type',
      'x-kubernetes-list-map-keys',
      'x-kubernetes-map-type',
      'x-kubernetes-validations',
    ]) {
      ajvInstance.addKeyword(k);
    }
  }
  return ajvInstance;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  deprecated?: boolean;
  schema?: { openAPIV3Schema?: object };
}

const crdCache = new Map<string, ValidateFunction | string>();

/** An ajv validator for `apiVersion` of the CRD in `file`, or a problem text when that version is not usable. */
function crdValidator(file: string, apiVersion: string, kind: string): ValidateFunction | string {
  const cacheKey = `${file}#${apiVersion}`;
  const cached = crdCache.get(cacheKey);
  if (cached) return cached;
  const crd = parseYaml(readFileSync(join(CRD_DIR, file), 'utf8')) as {
    spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
  };
  const [group, version] = apiVersion.split('/');
  let result: ValidateFunction | string;
  const v = crd.spec.versions.find((x) => x.name === version);
  if (group !== crd.spec.group || crd.spec.names.kind !== kind || !v?.schema?.openAPIV3Schema) {
    result = `is not a version of ${crd.spec.names.kind} in ${file}`;
  } else if (v.served === false) {
    result = `must be a served version: got ${apiVersion}, which ${file} no longer serves`;
  } else if (v.deprecated === true) {
    result = `must not be a deprecated version: got ${apiVersion}; use the storage version of ${file}`;
  } else {
    result = ajv().compile(strictify(v.schema.openAPIV3Schema) as object);
  }
  crdCache.set(cacheKey, result);
  return result;
}

const handCache = new Map<string, ValidateFunction>();
function handValidator(key: string, schema: object): ValidateFunction {
  let v = handCache.get(key);
  if (!v) {
    v = ajv().compile(schema);
    handCache.set(key, v);
  }
  return v;
}

/**
 * A copy of a structural schema where every object schema with `properties` rejects unknown fields,
 * unless it preserves them (`x-kubernetes-preserve-unknown-fields`) or says what extra fields are.
 */
function strictify(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictify);
  if (!isObj(schema)) return schema;
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    // `properties` and `patternProperties` map names to schemas: recurse into each value, not the map
    if ((k === 'properties' || k === 'patternProperties') && isObj(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, strictify(s)]));
    } else if (k !== 'description') {
      out[k] = strictify(v);
    }
  }
  if (isObj(out.properties) && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

// ---- unknown fields in core kinds, from kubernetes-models' declaration files -------------------

/** The kubernetes-models package (first-party core types). */
const MODELS_DIR = join(process.cwd(), 'node_modules', 'kubernetes-models');

/** A field's type, as far as unknown-field checking needs it. */
type FieldType =
  | { readonly kind: 'ref'; readonly file: string; readonly name: string }
  | { readonly kind: 'array'; readonly item: FieldType }
  | { readonly kind: 'map'; readonly value: FieldType }
  | { readonly kind: 'leaf' };

interface ParsedFile {
  readonly source: ts.SourceFile;
  /** imported name -> declaration file */
  readonly imports: Map<string, string>;
}

const parsedFiles = new Map<string, ParsedFile>();
/** `file#interface` -> its fields, or undefined when it has none (open object or a type alias) */
const interfaceFields = new Map<string, Map<string, FieldType> | undefined>();

function parseFile(file: string): ParsedFile {
  let parsed = parsedFiles.get(file);
  if (!parsed) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
    const imports = new Map<string, string>();
    for (const st of source.statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      const target = resolveDeclaration(file, st.moduleSpecifier.text);
      const bindings = st.importClause?.namedBindings;
      if (target && bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) imports.set(el.name.text, target);
    }
    parsed = { source, imports };
    parsedFiles.set(file, parsed);
  }
  return parsed;
}

/** `./EnvVar.js` or `@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta` -> the `.d.ts` file. */
function resolveDeclaration(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return join(dirname(fromFile), specifier.replace(/\.js$/, '.d.ts'));
  const parts = specifier.split('/');
  const pkgLen = specifier.startsWith('@') ? 2 : 1;
  const pkg = parts.slice(0, pkgLen).join('/');
  const sub = parts.slice(pkgLen).join('/');
  if (!sub) return undefined; // package roots (e.g. @kubernetes-models/base) hold no field types
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg, `${sub}.d.ts`);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function firstInterfaceName(file: string): string {
  const decl = parseFile(file).source.statements.find(ts.isInterfaceDeclaration);
  if (!decl) throw new Error(`${file} declares no interface: got a kubernetes-models layout this helper does not know. Update test/support/validate.ts.`);
  return decl.name.text;
}

/** The fields of interface `name` declared in (or re-exported under an alias by) `file`. */
function fieldsOf(file: string, name: string): Map<string, FieldType> | undefined {
  const key = `${file}#${name}`;
  if (interfaceFields.has(key)) return interfaceFields.get(key);
  interfaceFields.set(key, undefined); // guards recursive types while resolving
  const { source } = parseFile(file);
  // `export type { IEnvVar as IIoK8sApiCoreV1EnvVar }`: imports use the long alias, the interface the short name
  const iface = source.statements.find(ts.isInterfaceDeclaration);
  let fields: Map<string, FieldType> | undefined;
  if (iface && iface.members.some(ts.isPropertySignature)) {
    fields = new Map();
    for (const m of iface.members) {
      if (!ts.isPropertySignature(m) || !m.type) continue;
      const prop = ts.isStringLiteral(m.name) || ts.isIdentifier(m.name) ? m.name.text : undefined;
      if (prop !== undefined) fields.set(prop, typeOf(file, m.type));
    }
  }
  interfaceFields.set(key, fields);
  return fields;
}

function typeOf(file: string, node: ts.TypeNode): FieldType {
  if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
    const ref = node.typeName.text;
    if (ref === 'Array' && node.typeArguments?.length === 1) return { kind: 'array', item: typeOf(file, node.typeArguments[0]) };
    const target = parseFile(file).imports.get(ref);
    return target ? { kind: 'ref', file: target, name: ref } : { kind: 'leaf' };
  }
  if (ts.isArrayTypeNode(node)) return { kind: 'array', item: typeOf(file, node.elementType) };
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index?.type) return { kind: 'map', value: typeOf(file, index.type) };
  }
  return { kind: 'leaf' };
}

/** Reports every field of `value` that its declared type does not have, at any depth. */
function walkKnownFields(value: unknown, type: FieldType, path: string, add: (path: string, message: string) => void): void {
  switch (type.kind) {
    case 'leaf':
      return;
    case 'array':
      if (Array.isArray(value)) value.forEach((v, i) => walkKnownFields(v, type.item, `${path}/${i}`, add));
      return;
    case 'map':
      if (isObj(value)) for (const [k, v] of Object.entries(value)) walkKnownFields(v, type.value, `${path}/${escapePointer(k)}`, add);
      return;
    case 'ref': {
      if (!isObj(value)) return; // wrong types are the schema validators' to report
      const fields = fieldsOf(type.file, type.name);
      if (!fields) return;
      for (const [k, v] of Object.entries(value)) {
        const ft = fields.get(k);
        if (ft) walkKnownFields(v, ft, `${path}/${escapePointer(k)}`, add);
        else add(`${path}/${escapePointer(k)}`, 'is an unknown field');
      }
    }
  }
}
