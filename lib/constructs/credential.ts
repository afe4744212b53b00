import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { jsonObject } from './json-object.js';
import { Construct, type IConstruct } from 'constructs';
import { AliasSet } from '../core/alias-set.js';
import { checksumAnnotation, consumerChecksum } from '../core/checksum.js';
import { FieldError, ValidationError, type Problem } from '../core/errors.js';
import type { ConsumerModel, CredentialModel } from '../core/model.js';
import { renderPlan, type PlanTargetKey, type RotationPlanInput } from '../core/plan.js';
import type { LedgerEntry, LedgerTarget } from '../project/ledger.js';
import type { PolicySpec } from '../providers/provider.js';
import type { TargetRef } from './deliveries/delivery-kind.js';
import { Delivery } from './deliveries/delivery.js';
import { renderPushSecret } from './deliveries/push-secret.js';
import { Stage } from './gitops/stage.js';
import { JOB_HASH_LENGTH, JOB_NAME_MAX, jobName, renderRotationJob, type RotationStep } from './rotation/job.js';
import { renderRbac } from './rotation/rbac.js';
import { Provider } from './provider.js';
import { RekeyChart } from './rekey-chart.js';
import { RotationPolicy } from './rotation-policy.js';
import { Workload, type IWorkload } from './workload.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

/**
 * How a consumer reads its target Secret. Give exactly one of `env`, `envFrom`, `file`.
 *
 * For a workload of this app (`Workload.of`, or a cdk8s-plus/L1 workload passed directly),
 * rekey wires the read into the workload when it does not read the Secret yet, and checks it
 * when it does (same Secret, same keys, same prefix, same mount path).
 */
export interface ConsumerOptions {
  /**
   * Reads these Secret keys into environment variables. Restarted on rotation.
   * A list names the keys (wired as variables of the same name); a mapping names
   * `{ ENV_VAR: 'secret-key' }`.
   */
  readonly env?: readonly string[] | Readonly<Record<string, string>>;
  /** Reads every key through `envFrom`, with an optional prefix. Restarted on rotation. */
  readonly envFrom?: { readonly prefix?: string };
  /** Mounts the Secret as files, re-read at request time: needs no restart, gets no checksum. */
  readonly file?: { readonly mountPath: string };
  /** The target Secret it reads. @default - the credential's only target in the workload's namespace */
  readonly secretName?: string;
  /** The container that reads it (workloads of this app). @default - the pod's only container */
  readonly container?: string;
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
  /** The target it reads (resolved at synthesis: targets may be added after `consumedBy`). */
  readonly target: TargetOptions;
  readonly mode: 'env' | 'envFrom' | 'file';
  /** Keys read (env), or the prefix (envFrom), or the mount path (file). */
  readonly detail: string;
  /** Checksum annotation value, when the credential was rotated and the mode needs a restart. */
  readonly checksum?: string;
}

interface Binding {
  readonly workload: IWorkload;
  readonly options: ConsumerOptions;
  readonly mode: 'env' | 'envFrom' | 'file';
  /** env: variable → Secret key. */
  readonly env?: Readonly<Record<string, string>>;
  readonly prefix?: string;
  readonly mountPath?: string;
  /** Resolved at synthesis. */
  target?: TargetOptions;
  checksum?: string;
}

/**
 * One access-key/secret-key pair with an identity at a provider, delivered to targets and
 * read by consumers. Must be defined inside a `RekeyChart`, which holds the ledger.
 *
 * Validates its props eagerly; renders lazily at synthesis (so the order of `addTarget` and
 * `consumedBy` calls does not matter): once the ledger has an entry for it, every target
 * Secret in the chosen delivery with all alias keys, the rotator's staging Secret and plan
 * ConfigMap (named after the generation), and the checksum annotation on every consumer's
 * pod template.
 */
export class Credential extends Construct {
  /** True for a Credential. */
  public static isCredential(x: unknown): x is Credential {
    return x instanceof Credential;
  }

  public readonly name: string;
  public readonly provider: Provider;
  public readonly identity: IdentityOptions;
  public readonly policy?: PolicySpec;
  public readonly aliases: readonly AliasSet[];
  public readonly extraKeys: Readonly<Record<string, string>>;
  public readonly delivery: Delivery;
  public readonly rotationPolicy: RotationPolicy;

  private readonly chart: RekeyChart;
  private readonly _targets: TargetOptions[] = [];
  private readonly _bindings: Binding[] = [];
  private readonly keyNames: string[] = [];
  private rendered = false;

  public constructor(scope: Construct, id: string, props: CredentialProps) {
    super(scope, id);
    this.chart = RekeyChart.of(this);
    this.name = props.name ?? id;
    this.provider = props.provider;
    this.identity = props.identity;
    this.policy = props.policy;
    this.delivery = props.delivery;
    this.rotationPolicy = props.rotationPolicy ?? RotationPolicy.manual();
    this.extraKeys = { ...(props.extraKeys ?? {}) };
    this.aliases = [...(props.aliases ?? [])];

    if (!DNS_LABEL.test(this.name)) {
      this.fail(['name'], 'must be a lowercase DNS label', this.name, "Use lowercase letters, digits and '-', starting and ending with a letter or digit.");
    }
    if (this.name.length > 40) {
      this.fail(['name'], 'must be at most 40 characters', this.name, 'Shorten the credential name: rekey derives object names from it.');
    }
    this.checkIdentity();
    if (this.aliases.length === 0) {
      this.fail(['aliases'], 'must list at least one alias set', this.aliases, 'Add e.g. AliasSet.generic().');
    }
    // Every Secret key name must be unique across alias sets and extra keys.
    const owner = new Map<string, string>();
    const claim = (key: string, by: string, field: (string | number)[], value: unknown) => {
      const prev = owner.get(key);
      if (prev !== undefined) {
        this.fail(field, `key "${key}" clashes with ${prev}`, value, 'Give every alias and extra key a distinct Secret key name.');
      }
      owner.set(key, by);
      this.keyNames.push(key);
    };
    this.aliases.forEach((a, j) => {
      for (const k of a.keys()) claim(k, a.custom ? `aliases[${j}]` : `alias set ${a.name}`, ['aliases', j], a.custom ? { accessKey: a.accessKey, secretKey: a.secretKey } : a.name);
    });
    for (const [k, v] of Object.entries(this.extraKeys)) {
      if (!SECRET_KEY.test(k)) this.fail(['extraKeys', k], 'is not a valid Secret key name', k, "Use letters, digits, '-', '_' and '.'.");
      claim(k, 'extraKeys', ['extraKeys', k], v);
    }

    this.checkCsi();
    const keyProblem = this.delivery._impl.keyProblem?.(this.keyNames, this.extraKeys);
    if (keyProblem) this.fail(['delivery', ...keyProblem.field], keyProblem.what, keyProblem.value, keyProblem.fix);
    this.checkDelivery();

    this.chart._register(this);
    this.checkJobNames();
    for (const t of props.targets ?? []) this.addTarget(t);
  }

  /** The rotation steps rendered for a ledger entry: revoke+deliver for `rekey revoke`, else activate, deliver and (with a previous key) retire. */
  public static stepsOf(entry: LedgerEntry): RotationStep[] {
    if (entry.revoke) return ['revoke', 'deliver'];
    // a previous key: one known offline (previous rekey-drawn or adopted), or, for a key drawn in
    // the cluster, the one generation - 1 activated (the rotator reads it from its rotation record)
    const retires = entry.previousAccessKeyId !== undefined || (entry.keySource === 'providerDrawn' && entry.generation > 1);
    return retires ? ['activate', 'deliver', 'retire'] : ['activate', 'deliver'];
  }

  /** Every rotation Job name must fit 63 characters: fail here (with the rekey.yaml path) rather than truncate. */
  private checkJobNames(): void {
    const entry = this.entry;
    if (!entry) return;
    for (const step of Credential.stepsOf(entry)) {
      const name = jobName(this.name, entry.generation, step, entry.attempts?.[step] ?? 1, 'x'.repeat(JOB_HASH_LENGTH));
      if (name.length > JOB_NAME_MAX) {
        const max = this.name.length - (name.length - JOB_NAME_MAX);
        this.fail(
          ['name'],
          `is too long for its rotation Job names (rekey-<name>-g<generation>-<step>[-a<attempt>]-<${JOB_HASH_LENGTH}-hex hash>, at most ${JOB_NAME_MAX} characters)`,
          this.name,
          `Shorten it to at most ${max} characters: the ${step} Job of generation ${entry.generation} would have ${name.length}.`,
        );
      }
    }
  }

  /** Targets added so far. */
  public get targets(): readonly TargetOptions[] {
    return [...this._targets];
  }

  /** Consumers bound so far, with their targets resolved. */
  public get consumers(): readonly ConsumerBinding[] {
    return this._bindings.map((b) => this.toConsumerBinding(b));
  }

  /** Every key name of the target Secrets (aliases and extra keys). */
  public get secretKeys(): string[] {
    return [...this.keyNames];
  }

  /** The ledger entry (undefined until the first `rekey rotate`). */
  public get entry(): LedgerEntry | undefined {
    return this.chart.ledger.get(this.name);
  }

  /** Adds a target Secret. */
  public addTarget(target: TargetOptions): void {
    const j = this._targets.length;
    if (!DNS_LABEL.test(target.namespace)) {
      this.fail(['targets', j, 'namespace'], 'must be a lowercase DNS label', target.namespace, "Use lowercase letters, digits and '-', starting and ending with a letter or digit.");
    }
    if (!SECRET_NAME.test(target.secretName)) {
      this.fail(['targets', j, 'secretName'], 'must be a lowercase DNS subdomain', target.secretName, "Use lowercase letters, digits, '-' and '.'.");
    }
    const key = `${target.namespace}/${target.secretName}`;
    if (this._targets.some((t) => `${t.namespace}/${t.secretName}` === key)) {
      this.fail(['targets', j], `is a duplicate target ${key}`, target, 'List every namespace/secretName once.');
    }
    if (target.namespace === this.chart.rotatorNamespace && target.secretName.startsWith('rekey-')) {
      this.fail(['targets', j, 'secretName'], "must not start with 'rekey-' in the rotator's namespace", target.secretName, 'Pick another Secret name: rekey- names are reserved there.');
    }
    this._targets.push({ namespace: target.namespace, secretName: target.secretName });
  }

  /**
   * Declares that a workload reads this credential. Workloads of this app get the read wired
   * in (or checked) and the checksum annotation on their pod template; workloads rendered
   * elsewhere (`Workload.fromName`) get a Kustomize patch under dist/components.
   * The target is resolved at synthesis, so targets may be added afterwards.
   */
  public consumedBy(workload: IWorkload | IConstruct, options: ConsumerOptions): void {
    const w: IWorkload = isWorkload(workload) ? workload : Workload.of(workload);
    const subject = `consumer ${w.kind} ${w.namespace}/${w.name}`;
    const modes = (['env', 'envFrom', 'file'] as const).filter((m) => options[m] !== undefined);
    if (modes.length !== 1) {
      this.failConsumer(subject, [], 'must read the Secret in exactly one way', options, 'Give exactly one of env, envFrom or file.');
    }
    const mode = modes[0]!;
    if (this._bindings.some((b) => b.workload.kind === w.kind && b.workload.namespace === w.namespace && b.workload.name === w.name)) {
      this.failConsumer(subject, [], `is a duplicate consumer ${w.kind}/${w.namespace}/${w.name}`, options, 'List every workload once.');
    }
    let env: Record<string, string> | undefined;
    let prefix: string | undefined;
    let mountPath: string | undefined;
    if (mode === 'env') {
      const given = options.env!;
      env = Array.isArray(given) ? Object.fromEntries((given as readonly string[]).map((k) => [k, k])) : { ...(given as Record<string, string>) };
      const keys = Object.values(env);
      if (keys.length === 0) this.failConsumer(subject, ['env'], 'must list at least one key', [], 'List the Secret keys the workload reads.');
      keys.forEach((k, n) => {
        if (!this.keyNames.includes(k)) {
          this.failConsumer(subject, ['env', Array.isArray(given) ? n : Object.keys(env!)[n]!], 'names a key the Secret does not have', k, `Use one of ${this.keyNames.join(', ')}.`);
        }
      });
      if (this.delivery._impl.csi?.secretRotationEnabled === false) this.failCsiRotationOff(subject, 'env', given);
    } else if (mode === 'envFrom') {
      prefix = options.envFrom!.prefix ?? '';
      if (prefix !== '' && !ENV_PREFIX.test(prefix)) {
        this.failConsumer(subject, ['envFrom', 'prefix'], 'is not a valid environment variable prefix', prefix, "Use letters, digits and '_'.");
      }
      if (this.delivery._impl.csi?.secretRotationEnabled === false) this.failCsiRotationOff(subject, 'envFrom', options.envFrom);
    } else {
      mountPath = options.file!.mountPath;
      if (!mountPath.startsWith('/')) this.failConsumer(subject, ['file', 'mountPath'], 'must be an absolute path', mountPath, 'Start mountPath with /.');
    }
    this._bindings.push({ workload: w, options, mode, env, prefix, mountPath });
    // Targets present now: resolve at once, so an error names the call that caused it.
    if (this._targets.some((t) => t.namespace === w.namespace)) this.problemsOfBinding(this._bindings[this._bindings.length - 1]!, true);
  }

  /**
   * The consumer problems that only the complete set of targets can show (no target in the
   * consumer's namespace, an unknown or ambiguous secretName). Thrown at synthesis; the spec
   * loader also calls it to report them with their rekey.yaml path.
   * @internal
   */
  public _checkConsumers(): void {
    for (const b of this._bindings) this.problemsOfBinding(b, true);
  }

  /** Renders this credential's objects. Called once, at synthesis. @internal */
  public _render(): void {
    if (this.rendered) return;
    this.rendered = true;
    this._checkConsumers();
    const entry = this.entry;
    const impl = this.delivery._impl;
    const remote = impl.remote;
    if (entry) this.checkEntry(entry);

    // Checksums first (a consumer's chart may synthesize before this one).
    for (const b of this._bindings) {
      const t = b.target!;
      if (entry && this.needsRestart(b.mode)) {
        b.checksum = consumerChecksum({
          credential: this.name,
          generation: entry.generation,
          accessKeyId: entry.accessKeyId,
          material: impl.material(t, this.ledgerTarget(t, entry)),
        });
      }
      if (b.workload.renderedHere) {
        const csi = impl.csi;
        b.workload.bindSecret?.({
          secretName: t.secretName,
          mode: b.mode,
          env: b.env,
          prefix: b.prefix,
          mountPath: b.mountPath,
          container: b.options.container,
          where: `${this.node.path} consumer`,
          ...(csi ? { csiSecretProviderClass: csi.secretProviderClass(t) } : {}),
        });
        if (b.checksum) b.workload.annotatePodTemplate(checksumAnnotation(this.name), b.checksum);
        if (b.workload.apiObject) this.chart.gitops._place(b.workload.apiObject, Stage.WORKLOADS);
      }
    }
    if (!entry) return;

    const ns = this.chart.rotatorNamespace;
    const base = `rekey-${this.name}-g${entry.generation}`;
    const labels = { ...this.labels(), 'rekey.dev/generation': String(entry.generation) };
    const annotations = this.annotations(entry);
    if (entry.staging.secretName !== `${base}-staging` || entry.staging.namespace !== ns) {
      throw this.ledgerError(entry, 'staging', `was sealed for ${entry.staging.namespace}/${entry.staging.secretName}, expected ${ns}/${base}-staging`, entry.staging.secretName, `Run \`rekey rotate ${this.name}\` (the rotator namespace changed).`);
    }
    if (impl.kind === 'sealed' && !entry.staging.sealed) {
      throw this.ledgerError(entry, 'staging', 'has no sealed values', undefined, `Run \`rekey rotate ${this.name}\`.`);
    }
    const gitops = this.chart.gitops;
    const placeAll = (scope: Construct, stage: Stage) => {
      for (const o of scope.node.findAll()) if (ApiObject.isApiObject(o)) gitops._place(o, stage);
    };
    const rotatorScope = new Construct(this, 'rotator');
    // A store-held pair is obtained in the cluster: the activate Job writes the staging Secret.
    if (!remote) impl.renderStaging(rotatorScope, { credential: this.name, entry, name: `${base}-staging`, namespace: ns, labels, annotations });
    const planText = renderPlan(this.plan(entry), `${this.node.path} plan`);
    jsonObject<k8s.KubeConfigMapProps>(rotatorScope, 'plan', k8s.KubeConfigMap.GVK, {
      metadata: { name: `${base}-plan`, namespace: ns, labels, annotations },
      data: { 'plan.json': planText },
    });
    const admin = this.provider.adminCredential?.secretName;
    const serviceAccount = `rekey-${this.name}-rotator`;
    renderRbac(new Construct(rotatorScope, 'rbac'), {
      credential: this.name,
      rotatorNamespace: ns,
      serviceAccount,
      rotatorSecrets: [`${base}-staging`, ...(admin ? [admin] : [])],
      ...(remote ? { writableStagingSecret: `${base}-staging` } : {}),
      ...(impl.refreshTarget ? { refreshTarget: impl.refreshTarget } : {}),
      planConfigMap: `${base}-plan`,
      recordConfigMap: `rekey-${this.name}-status`,
      lease: `rekey-${this.name}`,
      targets: this._targets,
      consumers: this._bindings.map((b) => ({ kind: b.workload.kind, namespace: b.workload.namespace, name: b.workload.name, deletesPods: b.workload.onDelete && this.needsRestart(b.mode) })),
      labels: this.labels(),
    });
    placeAll(rotatorScope, Stage.ROTATOR);

    const settings = this.chart.rotator;
    const d = settings.deadlines;
    const grace = settings.jobGraceSeconds;
    const deadline: Record<RotationStep, number> = {
      activate: d.activateSeconds + d.verifySeconds + grace,
      deliver: d.deliverSeconds + grace,
      retire: d.retireSeconds + this.rotationPolicy.overlapSeconds + d.kubeletRefreshSeconds + (impl.csi?.rotationPollIntervalSeconds ?? 0) + 2 * d.verifySeconds + grace,
      revoke: d.activateSeconds + 2 * d.verifySeconds + grace,
    };
    const stageOfStep: Record<RotationStep, Stage> = { activate: Stage.ACTIVATE, revoke: Stage.ACTIVATE, deliver: Stage.DELIVER, retire: Stage.RETIRE };
    const bundle = this.chart._bundleForJobs();
    const jobsScope = new Construct(this, 'jobs');
    for (const step of Credential.stepsOf(entry)) {
      const { job } = renderRotationJob(jobsScope, {
        credential: this.name,
        generation: entry.generation,
        step,
        attempt: entry.attempts?.[step] ?? 1,
        namespace: ns,
        serviceAccount,
        planConfigMap: `${base}-plan`,
        // a store-held pair's staging Secret does not exist before activate writes it: never mounted
        ...((step === 'activate' || step === 'revoke') && !remote ? { stagingSecret: `${base}-staging` } : {}),
        ...(step !== 'deliver' && admin ? { adminSecret: admin } : {}),
        settings,
        ...(bundle ? { bundle } : {}),
        activeDeadlineSeconds: deadline[step],
        labels,
        annotations,
      });
      gitops._place(job, stageOfStep[step]);
    }

    if (remote) {
      const push = renderPushSecret(new Construct(this, 'push'), {
        name: `${base}-push`,
        namespace: ns,
        stagingSecret: `${base}-staging`,
        remote,
        labels,
        annotations,
      });
      gitops._place(push, Stage.PUSH);
    }

    const targetsScope = new Construct(this, 'targets');
    for (const t of this._targets) {
      const nsScope = (targetsScope.node.tryFindChild(t.namespace) as Construct | undefined) ?? new Construct(targetsScope, t.namespace);
      const record = this.ledgerTarget(t, entry);
      impl.renderTarget(new Construct(nsScope, t.secretName), {
        credential: this.name,
        target: t,
        entry,
        record,
        aliases: this.aliases,
        extraKeys: this.extraKeys,
        labels: this.labels(),
        annotations: this.annotations(entry),
        warnPlain: () => this.chart._warnPlain(this.name),
      });
    }
    placeAll(targetsScope, Stage.TARGETS);
  }

  /** The typed description of this credential, for the model every command reads. */
  public toModel(): CredentialModel {
    this._checkConsumers();
    const p = this.provider;
    return {
      name: this.name,
      source: { constructPath: this.node.path, ...(this.chart._specLocation(this) ? { spec: this.chart._specLocation(this) } : {}) },
      provider: {
        name: p.name,
        kind: p.kind,
        endpoint: p.endpoint ?? null,
        region: p.region,
        namespace: p.namespace ?? null,
        port: p.port ?? null,
        podSelector: { ...p.podSelector },
        adminCredential: p.adminCredential ? { ...p.adminCredential } : null,
      },
      identity: { kind: this.identity.kind, name: this.identity.name, ...(this.identity.users ? { users: [this.identity.users[0], this.identity.users[1]] as const } : {}) },
      policy: this.policy ? { name: this.policy.name, document: this.policy.document } : null,
      aliases: this.aliases.map((a) => ({ name: a.name, ...(a.credentialsFile ? { credentialsFile: a.credentialsFile, profile: a.profile } : { accessKey: a.accessKey, secretKey: a.secretKey }) })),
      secretKeys: [...this.keyNames],
      extraKeys: { ...this.extraKeys },
      delivery: {
        kind: this.delivery.kind,
        ...(this.delivery.scope ? { scope: this.delivery.scope } : {}),
        ...(this.delivery.remote ? { remote: this.delivery.remote } : {}),
      },
      targets: this._targets.map((t) => ({ ...t })),
      consumers: this._bindings.map((b): ConsumerModel => ({
        kind: b.workload.kind,
        apiVersion: b.workload.apiVersion,
        namespace: b.workload.namespace,
        name: b.workload.name,
        secretName: b.target!.secretName,
        mode: b.mode,
        ...(b.env ? { keys: Object.values(b.env) } : {}),
        ...(b.prefix !== undefined ? { prefix: b.prefix } : {}),
        ...(b.mountPath !== undefined ? { mountPath: b.mountPath } : {}),
        onDelete: b.workload.onDelete,
        renderedHere: b.workload.renderedHere,
        component: b.workload.component ?? null,
      })),
      rotationPolicy: { mode: this.rotationPolicy.mode, intervalDays: this.rotationPolicy.intervalDays ?? null, overlapSeconds: this.rotationPolicy.overlapSeconds },
      rotatorNamespace: this.chart.rotatorNamespace,
      sealing: this.chart.sealing
        ? { certificate: this.chart.sealing.certificate ?? null, fingerprint: this.chart.sealing.fingerprint, previousFingerprints: [...(this.chart.sealing.previousFingerprints ?? [])] }
        : null,
    };
  }

  /** The rotation plan the rotator Jobs read (a `RotationPlan`, validated by `renderPlan`): identifiers and consumers, no secret. */
  public plan(entry: LedgerEntry): RotationPlanInput {
    const p = this.provider;
    const id = this.identity;
    const attempts = Object.values(entry.attempts ?? {});
    return {
      apiVersion: 'rekey.dev/v1alpha1',
      kind: 'RotationPlan',
      credential: this.name,
      generation: entry.generation,
      attempt: Math.max(1, ...attempts),
      provider: {
        name: p.name,
        kind: p.kind,
        endpoint: p.endpoint ?? null,
        region: p.region,
        adminSecret: p.adminCredential ? { name: p.adminCredential.secretName, accessKeyKey: p.adminCredential.accessKeyKey, secretKeyKey: p.adminCredential.secretKeyKey } : null,
        caBundle: null,
      },
      identity: {
        kind: id.kind,
        name: id.name,
        users: id.kind === 'alternatingUsers' ? [id.users?.[0] ?? `${id.name}-a`, id.users?.[1] ?? `${id.name}-b`] : null,
      },
      policy: this.policy ? { name: this.policy.name, document: this.policy.document as Record<string, unknown> } : null,
      keySource: this.delivery.remote ? { kind: 'providerDrawn' } : { kind: p.kind === 'external' ? 'ownerSupplied' : 'rekeyDrawn' },
      accessKeyId: entry.accessKeyId,
      previousAccessKeyId: entry.previousAccessKeyId ?? null,
      rotatorNamespace: this.chart.rotatorNamespace,
      stagingSecret: `rekey-${this.name}-g${entry.generation}-staging`,
      recordConfigMap: `rekey-${this.name}-status`,
      leaseName: `rekey-${this.name}`,
      targets: this._targets.map((t) => {
        const csi = this.delivery._impl.csi;
        return {
          namespace: t.namespace,
          secretName: t.secretName,
          delivery: this.delivery.kind,
          keys: this.targetKeys(),
          csi: csi ? { secretProviderClass: csi.secretProviderClass(t), rotationPollIntervalSeconds: csi.rotationPollIntervalSeconds, secretRotationEnabled: csi.secretRotationEnabled } : null,
        };
      }),
      consumers: this._bindings.map((b) => ({
        kind: b.workload.kind,
        apiVersion: b.workload.apiVersion,
        namespace: b.workload.namespace,
        name: b.workload.name,
        mode: b.mode,
        secretName: b.target!.secretName,
        updateStrategy: b.workload.kind === 'StatefulSet' ? (b.workload.onDelete ? 'OnDelete' : 'RollingUpdate') : b.workload.kind === 'DaemonSet' ? 'RollingUpdate' : null,
        checksum: b.checksum ?? null,
        replacePodsOnDelete: b.workload.onDelete && this.needsRestart(b.mode),
      })),
      overlapSeconds: this.rotationPolicy.overlapSeconds,
      deadlines: { ...this.chart.rotator.deadlines },
      lease: { ...this.chart.rotator.lease },
    };
  }

  /** A csi delivery mounts store objects as they are: no static extra keys, no rendered INI file. */
  private checkCsi(): void {
    if (!this.delivery._impl.csi) return;
    if (Object.keys(this.extraKeys).length > 0) {
      this.fail(
        ['extraKeys'],
        'cannot be delivered by csi (the driver syncs only objects mounted from the store into the Secret)',
        this.extraKeys,
        'Remove extraKeys and give the workloads these values another way (a ConfigMap), or use delivery sealed or external.',
      );
    }
    const j = this.aliases.findIndex((a) => a.credentialsFile);
    if (j >= 0) {
      this.fail(
        ['aliases', j],
        'cannot be delivered by csi (CSI providers mount store values as they are; none renders an AWS credentials INI file)',
        this.aliases[j]!.name,
        'Use the aws alias set (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or delivery external.',
      );
    }
  }

  /**
   * Whether a consumer must be restarted to read a new pair: env/envFrom always; file consumers
   * only of a csi delivery whose driver never refreshes mounts (secretRotationEnabled false).
   */
  private needsRestart(mode: Binding['mode']): boolean {
    return mode !== 'file' || this.delivery._impl.csi?.secretRotationEnabled === false;
  }

  /** The keys every target Secret holds, in the order they are rendered: alias keys, then extra keys. */
  private targetKeys(): PlanTargetKey[] {
    return [
      ...this.aliases.flatMap((a): PlanTargetKey[] =>
        a.credentialsFile ? [{ name: a.credentialsFile, holds: 'credentialsFile' }] : [{ name: a.accessKey!, holds: 'accessKeyId' }, { name: a.secretKey!, holds: 'secretAccessKey' }],
      ),
      ...Object.keys(this.extraKeys).map((name): PlanTargetKey => ({ name, holds: 'extra' })),
    ];
  }

  private checkIdentity(): void {
    const kind = this.provider.kind;
    const id = this.identity;
    if (id.kind === 'root' && kind === 'minio') {
      this.fail(['identity', 'kind'], 'root rotation is refused for minio', id.kind, 'MinIO fixes its root user at first start; rotate a serviceAccount or user instead.');
    }
    if (id.kind === 'root' && kind !== 'rustfs' && kind !== 'external') {
      this.fail(['identity', 'kind'], `root rotation is not possible for ${kind}`, id.kind, 'Use kind user or alternatingUsers.');
    }
    if (id.kind === 'serviceAccount' && !['rustfs', 'minio', 'external'].includes(kind)) {
      this.fail(['identity', 'kind'], `serviceAccount is not an identity kind of ${kind}`, id.kind, 'Use kind user (several keys on one user) or alternatingUsers.');
    }
    if (id.users && id.kind !== 'alternatingUsers') {
      this.fail(['identity', 'users'], 'only applies to kind alternatingUsers', id.users, 'Remove users, or set kind: alternatingUsers.');
    }
    if (id.users && id.users[0] === id.users[1]) {
      this.fail(['identity', 'users'], 'must name two different users', id.users, 'Give two distinct user names.');
    }
  }

  /** The delivery against the provider: keys obtained in the cluster need a store-held delivery whose store accepts a PushSecret. */
  private checkDelivery(): void {
    const kind = this.provider.kind;
    const remote = this.delivery.remote;
    if (kind === 'aws-iam' && !remote) {
      this.fail(
        ['delivery', 'kind'],
        'cannot deliver aws-iam keys: IAM draws them inside the cluster, so they can never be sealed or written into git',
        this.delivery.kind,
        'Use delivery kind external (an ExternalSecret fed by a PushSecret) or csi.',
      );
    }
    if (remote && remote.store.acceptsPush === false && kind !== 'external') {
      this.fail(
        ['delivery', 'store', 'acceptsPush'],
        `is false, but ${kind} keys are obtained in the cluster and pushed to ${remote.store.kind} ${remote.store.name} by a PushSecret`,
        false,
        'Use a store that accepts writes (Vault, AWS Secrets Manager, the Kubernetes provider, … with write access) and set acceptsPush: true.',
      );
    }
  }

  /** Resolves a binding's target; throws the first problem. */
  private problemsOfBinding(b: Binding, resolve: boolean): void {
    const w = b.workload;
    const subject = `consumer ${w.kind} ${w.namespace}/${w.name}`;
    const inNs = this._targets.filter((t) => t.namespace === w.namespace);
    const secretName = b.options.secretName;
    let target: TargetOptions | undefined;
    if (secretName !== undefined) {
      target = inNs.find((t) => t.secretName === secretName);
      if (!target) {
        this.failConsumer(subject, ['secretName'], `names no target of credential ${this.name} in namespace ${w.namespace}`, secretName, `Add a target {namespace: ${w.namespace}, secretName: ${secretName}}, or fix the name.`);
      }
    } else if (inNs.length === 0) {
      this.failConsumer(subject, ['namespace'], `has no target of credential ${this.name}`, w.namespace, `Add a target in namespace ${w.namespace}: a Secret is only readable from its own namespace.`);
    } else if (inNs.length > 1) {
      this.failConsumer(subject, ['secretName'], `is required: namespace ${w.namespace} has ${inNs.length} targets`, undefined, `Set secretName to one of ${inNs.map((t) => t.secretName).join(', ')}.`);
    } else {
      target = inNs[0]!;
    }
    if (resolve) b.target = target;
  }

  private toConsumerBinding(b: Binding): ConsumerBinding {
    if (!b.target) this.problemsOfBinding(b, true);
    const detail = b.mode === 'env' ? Object.values(b.env!).join(', ') : b.mode === 'envFrom' ? (b.prefix ? `prefix ${b.prefix}` : 'all keys') : b.mountPath!;
    return { workload: b.workload, target: b.target!, mode: b.mode, detail, checksum: b.checksum };
  }

  /** The ledger record of a target, checked against the delivery, or an error saying to rotate. */
  private ledgerTarget(t: TargetRef, entry: LedgerEntry): LedgerTarget {
    const rec = entry.targets.find((x) => x.namespace === t.namespace && x.secretName === t.secretName);
    const fix = `Run \`rekey rotate ${this.name}\` to seal key material for it.`;
    if (!rec) {
      throw this.ledgerError(entry, 'targets', `has no entry for target ${t.namespace}/${t.secretName}`, entry.targets.map((x) => `${x.namespace}/${x.secretName}`).join(', ') || 'none', fix, true);
    }
    const m = this.delivery._impl.recordMismatch(rec, this.aliases);
    if (m) throw this.ledgerError(entry, m.field, m.what, m.value, fix);
    return rec;
  }

  private checkEntry(entry: LedgerEntry): void {
    const fix = `Run \`rekey rotate ${this.name}\` to rotate it under the new settings.`;
    if (entry.provider !== this.provider.name) {
      throw this.ledgerError(entry, 'provider', `was rotated at provider ${entry.provider}, the spec says ${this.provider.name}`, entry.provider, fix);
    }
    if (entry.delivery !== this.delivery.kind) {
      throw this.ledgerError(entry, 'delivery', `was ${entry.delivery}, the spec says ${this.delivery.kind}`, entry.delivery, fix);
    }
    const m = this.delivery._impl.entryMismatch(entry, this.chart.sealing?.fingerprint, this.chart.sealing?.previousFingerprints ?? []);
    if (m) throw this.ledgerError(entry, m.field, m.what, m.value, m.otherFix ? `${fix.replace(/\.$/, '')}, or ${m.otherFix}.` : fix);
    const profile = this.aliases.find((a) => a.credentialsFile)?.profile;
    if (profile !== undefined && entry.credentialsFileProfile !== profile) {
      throw this.ledgerError(entry, 'credentialsFileProfile', `does not match the aws-credentials-file alias profile ${profile}`, entry.credentialsFileProfile, fix);
    }
  }

  /** `rekey.ledger.yaml credentials.<name>.<field> <what>: got <value>. <fix>` (exit 1, LEDGER_STALE). */
  private ledgerError(_entry: LedgerEntry, field: string, what: string, value: unknown, fix: string, raw = false): ValidationError {
    const shown = raw ? String(value) : value === undefined ? 'nothing' : JSON.stringify(value);
    return new ValidationError(`rekey.ledger.yaml credentials.${this.name}.${field} ${what}: got ${shown}. ${fix}`, { code: 'LEDGER_STALE' });
  }

  private labels(): Record<string, string> {
    return { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': this.name };
  }

  private annotations(entry: LedgerEntry): Record<string, string> {
    // a key drawn in the cluster has no ID yet: the rotation record carries it
    return { 'rekey.dev/generation': String(entry.generation), ...(entry.accessKeyId !== null ? { 'rekey.dev/access-key-id': entry.accessKeyId } : {}) };
  }

  private fail(field: (string | number)[], what: string, value: unknown, fix: string): never {
    throw new FieldError(this.node.path, { field, what, value, fix }, { subject: this });
  }

  private failCsiRotationOff(subject: string, field: 'env' | 'envFrom', value: unknown): never {
    this.failConsumer(
      subject,
      [field],
      'cannot read a csi credential whose delivery says secretRotationEnabled: false (the synced Secret then flips between old and new pairs until every old pod is gone)',
      value,
      'Run the driver with --enable-secret-rotation=true and set secretRotationEnabled: true, or read the credential as a file.',
    );
  }

  private failConsumer(consumer: string, field: (string | number)[], what: string, value: unknown, fix: string): never {
    const problem: Problem = { field, what, value, fix };
    throw new FieldError(`${this.node.path} ${consumer}`, problem, { subject: { credential: this, consumer } });
  }
}

function isWorkload(x: unknown): x is IWorkload {
  return typeof x === 'object' && x !== null && 'renderedHere' in x && 'annotatePodTemplate' in x && !(x instanceof ApiObject);
}
