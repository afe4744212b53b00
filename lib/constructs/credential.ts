import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct, type IConstruct } from 'constructs';
import { SealedSecret } from '../../imports/bitnami.com.js';
import { AliasSet } from '../core/alias-set.js';
import { checksumAnnotation, consumerChecksum } from '../core/checksum.js';
import { Delivery } from './deliveries/delivery.js';
import { ValidationError } from '../core/errors.js';
import type { LedgerEntry, LedgerTarget } from '../project/ledger.js';
import { Provider } from './provider.js';
import type { PolicySpec } from '../providers/provider.js';
import { RekeyChart } from './rekey-chart.js';
import { RotationPolicy } from './rotation-policy.js';
import { sealingScopeAnnotations } from '../project/seal.js';
import { Workload, type IWorkload } from './workload.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** The identity a credential has at the provider. */
export interface IdentityOptions {
  /** `serviceAccount`, `user`, `alternatingUsers` or `root`. */
  readonly kind: 'serviceAccount' | 'user' | 'alternatingUsers' | 'root';
  /** User name, parent user (serviceAccount) or base name (alternatingUsers). */
  readonly name: string;
  /** The two users of `alternatingUsers`. @default - `<name>-a` and `<name>-b` */
  readonly users?: readonly [string, string];
}

/** Where a credential is delivered: one Secret in one namespace. */
export interface TargetOptions {
  readonly namespace: string;
  readonly secretName: string;
}

/** How a consumer reads its target Secret. Give exactly one of `env`, `envFrom`, `file`. */
export interface ConsumerOptions {
  /** Reads these Secret keys into environment variables. Restarted on rotation. */
  readonly env?: readonly string[];
  /** Reads every key through `envFrom`, with an optional prefix. Restarted on rotation. */
  readonly envFrom?: { readonly prefix?: string };
  /** Mounts the Secret as files, re-read at request time: needs no restart, gets no checksum. */
  readonly file?: { readonly mountPath: string };
  /** The target Secret it reads. @default - the credential's only target in the workload's namespace */
  readonly secretName?: string;
}

/** Props of `Credential`. */
export interface CredentialProps {
  /** Credential name (object names, annotations, ledger key). @default - the construct id */
  readonly name?: string;
  /** The provider holding the key. */
  readonly provider: Provider;
  /** The identity at the provider. */
  readonly identity: IdentityOptions;
  /** Least-privilege policy for the identity. @default - none: the provider's defaults apply */
  readonly policy?: PolicySpec;
  /** Key names written for the pair; at least one set. */
  readonly aliases: readonly AliasSet[];
  /** Static, non-secret keys added to every target (e.g. `endpoint`, `region`). @default - none */
  readonly extraKeys?: Readonly<Record<string, string>>;
  /** How targets reach the cluster. */
  readonly delivery: Delivery;
  /** Targets; more can be added with `addTarget`. @default - none */
  readonly targets?: readonly TargetOptions[];
  /** When it is rotated and how long the old key overlaps. @default RotationPolicy.manual() */
  readonly rotationPolicy?: RotationPolicy;
}

/** One consumer of a credential, as recorded for reports, patches and the rotation plan. */
export interface ConsumerBinding {
  readonly workload: IWorkload;
  readonly target: TargetOptions;
  readonly mode: 'env' | 'envFrom' | 'file';
  /** Keys read (env), or the prefix (envFrom), or the mount path (file). */
  readonly detail: string;
  /** Checksum annotation value, when the credential was rotated and the mode needs a restart. */
  readonly checksum?: string;
}

/**
 * One access-key/secret-key pair with an identity at a provider, delivered to targets and
 * read by consumers. Must be defined inside a `RekeyChart`, which holds the ledger.
 *
 * Renders (once the ledger has an entry for it): every target Secret in the chosen
 * delivery with all alias keys, the rotator's staging Secret and plan ConfigMap (named
 * after the generation), and the checksum annotation on every consumer's pod template.
 */
export class Credential extends Construct {
  public readonly name: string;
  public readonly provider: Provider;
  public readonly identity: IdentityOptions;
  public readonly policy?: PolicySpec;
  public readonly aliases: readonly AliasSet[];
  public readonly extraKeys: Readonly<Record<string, string>>;
  public readonly delivery: Delivery;
  public readonly rotationPolicy: RotationPolicy;
  /** The ledger entry (undefined until the first `rekey rotate`). */
  public readonly entry?: LedgerEntry;

  private readonly chart: RekeyChart;
  private readonly _targets: TargetOptions[] = [];
  private readonly _consumers: ConsumerBinding[] = [];
  private readonly keyNames: Set<string>;

  public constructor(scope: Construct, id: string, props: CredentialProps) {
    super(scope, id);
    this.chart = RekeyChart.of(this);
    this.name = props.name ?? id;
    const where = `Credential ${this.name}`;
    if (!DNS_LABEL.test(this.name) || this.name.length > 40) {
      throw new ValidationError(`${where} name must be a lowercase DNS label of at most 40 characters: got ${JSON.stringify(this.name)}. Use lowercase letters, digits and '-'.`);
    }
    this.provider = props.provider;
    this.identity = props.identity;
    this.policy = props.policy;
    this.delivery = props.delivery;
    this.rotationPolicy = props.rotationPolicy ?? RotationPolicy.manual();
    this.extraKeys = { ...(props.extraKeys ?? {}) };
    if (props.identity.kind === 'root' && props.provider.kind === 'minio') {
      throw new ValidationError(`${where} identity.kind root is refused for minio: got root. MinIO fixes its root user at first start; rotate a serviceAccount or user instead.`);
    }
    if (!props.aliases || props.aliases.length === 0) {
      throw new ValidationError(`${where} aliases must list at least one alias set: got ${JSON.stringify(props.aliases ?? [])}. Add e.g. AliasSet.generic().`);
    }
    this.aliases = [...props.aliases];

    // Every Secret key name must be unique across alias sets and extra keys.
    this.keyNames = new Set();
    const owner = new Map<string, string>();
    const claim = (key: string, by: string) => {
      if (owner.has(key)) {
        throw new ValidationError(`${where} aliases key ${JSON.stringify(key)} of ${by} clashes with ${owner.get(key)}: got two aliases with one key name. Give every alias and extra key a distinct name.`);
      }
      owner.set(key, by);
      this.keyNames.add(key);
    };
    for (const a of this.aliases) for (const k of a.keys()) claim(k, `alias set ${a.name}`);
    for (const k of Object.keys(this.extraKeys)) {
      if (!SECRET_KEY.test(k)) throw new ValidationError(`${where} extraKeys has an invalid Secret key name: got ${JSON.stringify(k)}. Use letters, digits, '-', '_' and '.'.`);
      claim(k, 'extraKeys');
    }

    this.entry = this.chart.ledger.get(this.name);
    if (this.entry) this.checkEntry(this.entry);
    this.chart._register(this);

    if (this.entry) this.renderRotatorObjects(this.entry);
    for (const t of props.targets ?? []) this.addTarget(t);
  }

  /** Targets added so far. */
  public get targets(): readonly TargetOptions[] {
    return [...this._targets];
  }

  /** Consumers bound so far. */
  public get consumers(): readonly ConsumerBinding[] {
    return [...this._consumers];
  }

  /** Every key name of the target Secrets (aliases and extra keys). */
  public get secretKeys(): string[] {
    return [...this.keyNames];
  }

  /** Adds a target Secret. */
  public addTarget(target: TargetOptions): void {
    const where = `Credential ${this.name} target`;
    if (!DNS_LABEL.test(target.namespace)) {
      throw new ValidationError(`${where} namespace is not a DNS label: got ${JSON.stringify(target.namespace)}. Use lowercase letters, digits and '-'.`);
    }
    if (!SECRET_NAME.test(target.secretName)) {
      throw new ValidationError(`${where} secretName is not a DNS subdomain: got ${JSON.stringify(target.secretName)}. Use lowercase letters, digits, '-' and '.'.`);
    }
    if (this._targets.some((t) => t.namespace === target.namespace && t.secretName === target.secretName)) {
      throw new ValidationError(`${where} is a duplicate: got ${target.namespace}/${target.secretName}. List every target once.`);
    }
    const t = { namespace: target.namespace, secretName: target.secretName };
    this._targets.push(t);
    if (this.entry) this.renderTarget(t, this.entry);
  }

  /**
   * Declares that a workload reads this credential. Workloads of this app get the checksum
   * annotation on their pod template; workloads rendered elsewhere (`Workload.fromName`)
   * get a Kustomize patch under dist/components.
   */
  public consumedBy(workload: IWorkload | IConstruct, options: ConsumerOptions): ConsumerBinding {
    const w: IWorkload = isWorkload(workload) ? workload : Workload.of(workload);
    const where = `Credential ${this.name} consumer ${w.kind} ${w.namespace}/${w.name}`;
    const modes = (['env', 'envFrom', 'file'] as const).filter((m) => options[m] !== undefined);
    if (modes.length !== 1) {
      throw new ValidationError(`${where} must read the Secret in exactly one way: got ${modes.length ? modes.join(', ') : 'none'}. Give exactly one of env, envFrom or file.`);
    }
    const mode = modes[0]!;
    if (this._consumers.some((c) => c.workload.kind === w.kind && c.workload.namespace === w.namespace && c.workload.name === w.name)) {
      throw new ValidationError(`${where} is bound twice: got a second consumedBy. Bind every workload once.`);
    }
    const inNs = this._targets.filter((t) => t.namespace === w.namespace);
    let target: TargetOptions | undefined;
    if (options.secretName !== undefined) {
      target = inNs.find((t) => t.secretName === options.secretName);
      if (!target) {
        throw new ValidationError(`${where} secretName names no target of credential ${this.name} in namespace ${w.namespace}: got ${JSON.stringify(options.secretName)}. Add the target first, or fix the name.`);
      }
    } else if (inNs.length === 1) {
      target = inNs[0]!;
    } else if (inNs.length === 0) {
      throw new ValidationError(`${where} has no target in its namespace: got namespace ${w.namespace}. Add a target in ${w.namespace}: a Secret is only readable from its own namespace.`);
    } else {
      throw new ValidationError(`${where} secretName is required: got ${inNs.length} targets in ${w.namespace}. Set secretName to one of ${inNs.map((t) => t.secretName).join(', ')}.`);
    }
    let detail = '';
    if (mode === 'env') {
      const keys = options.env!;
      if (keys.length === 0) throw new ValidationError(`${where} env must list at least one key: got []. List the Secret keys the workload reads.`);
      for (const k of keys) {
        if (!this.keyNames.has(k)) {
          throw new ValidationError(`${where} env names a key the Secret does not have: got ${JSON.stringify(k)}. Use one of ${[...this.keyNames].join(', ')}.`);
        }
      }
      detail = keys.join(', ');
    } else if (mode === 'envFrom') {
      const prefix = options.envFrom!.prefix ?? '';
      if (prefix !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) {
        throw new ValidationError(`${where} envFrom.prefix is not a valid environment variable prefix: got ${JSON.stringify(prefix)}. Use letters, digits and '_'.`);
      }
      detail = prefix ? `prefix ${prefix}` : 'all keys';
    } else {
      const mountPath = options.file!.mountPath;
      if (!mountPath.startsWith('/')) {
        throw new ValidationError(`${where} file.mountPath must be an absolute path: got ${JSON.stringify(mountPath)}. Start it with /.`);
      }
      detail = mountPath;
    }
    let checksum: string | undefined;
    if (this.entry && mode !== 'file') {
      checksum = consumerChecksum({
        credential: this.name,
        generation: this.entry.generation,
        accessKeyId: this.entry.accessKeyId,
        material: this.materialOf(target),
      });
      if (w.renderedHere) w.annotatePodTemplate(checksumAnnotation(this.name), checksum);
    }
    const binding: ConsumerBinding = { workload: w, target, mode, detail, checksum };
    this._consumers.push(binding);
    return binding;
  }

  /** The ledger record of a target (sealed material), or an error saying to rotate. */
  private ledgerTarget(t: TargetOptions, entry: LedgerEntry): LedgerTarget {
    const rec = entry.targets.find((x) => x.namespace === t.namespace && x.secretName === t.secretName);
    const fix = `Run \`rekey rotate ${this.name}\` to seal key material for it.`;
    if (!rec) {
      throw new ValidationError(`rekey.ledger.yaml credentials.${this.name}.targets has no entry for target ${t.namespace}/${t.secretName}: got ${entry.targets.map((x) => `${x.namespace}/${x.secretName}`).join(', ') || 'none'}. ${fix}`, { code: 'LEDGER_STALE' });
    }
    if (this.delivery.kind === 'sealed') {
      if (!rec.sealed) {
        throw new ValidationError(`rekey.ledger.yaml credentials.${this.name}.targets ${t.namespace}/${t.secretName} has no sealed values: got nothing. ${fix}`, { code: 'LEDGER_STALE' });
      }
      if (rec.scope !== this.delivery.scope) {
        throw new ValidationError(`rekey.ledger.yaml credentials.${this.name}.targets ${t.namespace}/${t.secretName} was sealed for scope ${rec.scope}, the spec says ${this.delivery.scope}: got ${JSON.stringify(rec.scope)}. ${fix}`, { code: 'LEDGER_STALE' });
      }
      if (this.aliases.some((a) => a.credentialsFile) && !rec.sealed.credentialsFile) {
        throw new ValidationError(`rekey.ledger.yaml credentials.${this.name}.targets ${t.namespace}/${t.secretName} has no sealed credentials file for the aws-credentials-file alias: got nothing. ${fix}`, { code: 'LEDGER_STALE' });
      }
    }
    return rec;
  }

  private checkEntry(entry: LedgerEntry): void {
    const at = `rekey.ledger.yaml credentials.${this.name}`;
    const fix = `Run \`rekey rotate ${this.name}\` to rotate it under the new settings.`;
    if (entry.provider !== this.provider.name) {
      throw new ValidationError(`${at}.provider was rotated at provider ${entry.provider}, the spec says ${this.provider.name}: got ${JSON.stringify(entry.provider)}. ${fix}`, { code: 'LEDGER_STALE' });
    }
    if (entry.delivery !== this.delivery.kind) {
      throw new ValidationError(`${at}.delivery was ${entry.delivery}, the spec says ${this.delivery.kind}: got ${JSON.stringify(entry.delivery)}. ${fix}`, { code: 'LEDGER_STALE' });
    }
    if (this.delivery.kind === 'sealed' && entry.certificateFingerprint !== this.chart.certificateFingerprint) {
      throw new ValidationError(`${at}.certificateFingerprint does not match the spec's sealing certificate ${this.chart.certificateFingerprint ?? '(none)'}: got ${JSON.stringify(entry.certificateFingerprint)}. ${fix}`, { code: 'LEDGER_STALE' });
    }
    const profile = this.aliases.find((a) => a.credentialsFile)?.profile;
    if (profile !== undefined && entry.credentialsFileProfile !== profile) {
      throw new ValidationError(`${at}.credentialsFileProfile does not match the aws-credentials-file alias profile ${profile}: got ${JSON.stringify(entry.credentialsFileProfile)}. ${fix}`, { code: 'LEDGER_STALE' });
    }
  }

  /** What a target delivers, for the checksum: ciphertexts (sealed) or a marker (plain). */
  private materialOf(t: TargetOptions): Record<string, string> {
    const entry = this.entry!;
    if (this.delivery.kind === 'plain') return { target: `${t.namespace}/${t.secretName}`, delivery: 'plain' };
    const sealed = this.ledgerTarget(t, entry).sealed!;
    return { ...sealed, target: `${t.namespace}/${t.secretName}` };
  }

  private labels(): Record<string, string> {
    return { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': this.name };
  }

  private annotations(entry: LedgerEntry): Record<string, string> {
    return { 'rekey.dev/generation': String(entry.generation), 'rekey.dev/access-key-id': entry.accessKeyId };
  }

  private renderTarget(t: TargetOptions, entry: LedgerEntry): void {
    const id = `target-${t.namespace}-${t.secretName}`;
    const labels = this.labels();
    const annotations = this.annotations(entry);
    const rec = this.ledgerTarget(t, entry);
    if (this.delivery.kind === 'plain') {
      this.chart._warnPlain(this.name);
      const data: Record<string, string> = {};
      const secret = entry.plainSecretAccessKey!;
      for (const a of this.aliases) {
        if (a.credentialsFile) data[a.credentialsFile] = b64(credentialsIni(a.profile!, entry.accessKeyId, secret));
        else {
          data[a.accessKey!] = b64(entry.accessKeyId);
          data[a.secretKey!] = b64(secret);
        }
      }
      for (const [k, v] of Object.entries(this.extraKeys)) data[k] = b64(v);
      new k8s.KubeSecret(this, id, {
        metadata: {
          name: t.secretName,
          namespace: t.namespace,
          labels,
          annotations: { ...annotations, 'rekey.dev/warning': 'plain delivery: this secret is stored in git in clear; local clusters only' },
        },
        type: 'Opaque',
        data: sortKeys(data),
      });
      return;
    }
    const sealed = rec.sealed!;
    const encryptedData: Record<string, string> = {};
    for (const a of this.aliases) {
      if (a.credentialsFile) encryptedData[a.credentialsFile] = sealed.credentialsFile!;
      else {
        encryptedData[a.accessKey!] = sealed.accessKeyId;
        encryptedData[a.secretKey!] = sealed.secretAccessKey;
      }
    }
    const scopeAnnotations = sealingScopeAnnotations(this.delivery.scope!);
    new SealedSecret(this, id, {
      metadata: { name: t.secretName, namespace: t.namespace, labels, annotations: { ...annotations, ...scopeAnnotations } },
      spec: {
        encryptedData: sortKeys(encryptedData),
        template: {
          type: 'Opaque',
          metadata: { name: t.secretName, namespace: t.namespace, labels, annotations: { ...annotations, ...scopeAnnotations } },
          ...(Object.keys(this.extraKeys).length ? { data: sortKeys({ ...this.extraKeys }) } : {}),
        },
      },
    });
  }

  /** The rotator's staging Secret (the new pair, for the activate Job) and the plan ConfigMap. */
  private renderRotatorObjects(entry: LedgerEntry): void {
    const ns = this.chart.rotatorNamespace;
    const base = `rekey-${this.name}-g${entry.generation}`;
    const labels = { ...this.labels(), 'rekey.dev/generation': String(entry.generation) };
    const annotations = this.annotations(entry);
    if (entry.staging.secretName !== `${base}-staging` || entry.staging.namespace !== ns) {
      throw new ValidationError(`rekey.ledger.yaml credentials.${this.name}.staging was sealed for ${entry.staging.namespace}/${entry.staging.secretName}, expected ${ns}/${base}-staging: got ${JSON.stringify(entry.staging.secretName)}. Run \`rekey rotate ${this.name}\` (the rotator namespace changed).`, { code: 'LEDGER_STALE' });
    }
    if (this.delivery.kind === 'plain') {
      new k8s.KubeSecret(this, 'staging', {
        metadata: { name: `${base}-staging`, namespace: ns, labels, annotations },
        type: 'Opaque',
        data: { 'access-key': b64(entry.accessKeyId), 'secret-key': b64(entry.plainSecretAccessKey!) },
      });
    } else {
      const s = entry.staging.sealed;
      if (!s) throw new ValidationError(`rekey.ledger.yaml credentials.${this.name}.staging has no sealed values: got nothing. Run \`rekey rotate ${this.name}\`.`, { code: 'LEDGER_STALE' });
      new SealedSecret(this, 'staging', {
        metadata: { name: `${base}-staging`, namespace: ns, labels, annotations },
        spec: {
          encryptedData: { 'access-key': s.accessKeyId, 'secret-key': s.secretAccessKey },
          template: { type: 'Opaque', metadata: { name: `${base}-staging`, namespace: ns, labels, annotations } },
        },
      });
    }
    new k8s.KubeConfigMap(this, 'plan', {
      metadata: { name: `${base}-plan`, namespace: ns, labels, annotations },
      data: { 'plan.json': Lazy.any({ produce: () => JSON.stringify(this.plan(entry), null, 2) + '\n' }) },
    });
  }

  /** The rotation plan the rotator Jobs read: identifiers and consumers, no secret. */
  public plan(entry: LedgerEntry): Record<string, unknown> {
    return {
      credential: this.name,
      generation: entry.generation,
      provider: { name: this.provider.name, kind: this.provider.kind, endpoint: this.provider.endpoint ?? null, region: this.provider.region },
      identity: this.identity,
      policy: this.policy ?? null,
      accessKeyId: entry.accessKeyId,
      previousAccessKeyId: entry.previousAccessKeyId ?? null,
      overlapSeconds: this.rotationPolicy.overlapSeconds,
      stagingSecret: `rekey-${this.name}-g${entry.generation}-staging`,
      targets: this._targets.map((t) => `${t.namespace}/${t.secretName}`),
      consumers: this._consumers.map((c) => ({
        kind: c.workload.kind,
        namespace: c.workload.namespace,
        name: c.workload.name,
        mode: c.mode,
        checksum: c.checksum ?? null,
        replacePodsOnDelete: c.workload.onDelete && c.mode !== 'file',
      })),
    };
  }
}

function isWorkload(x: unknown): x is IWorkload {
  return typeof x === 'object' && x !== null && 'renderedHere' in x && 'annotatePodTemplate' in x && !(x instanceof ApiObject);
}

/** An AWS shared-credentials file for one profile. */
export function credentialsIni(profile: string, accessKeyId: string, secret: string): string {
  return `[${profile}]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secret}\n`;
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}
