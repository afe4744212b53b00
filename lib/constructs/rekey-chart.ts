import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { FieldError, ValidationError } from '../core/errors.js';
import type { CredentialModel } from '../core/model.js';
import type { LedgerEntry } from '../project/ledger.js';
import type { Credential } from './credential.js';
import { argoCdApplication } from './gitops/argocd.js';
import { fluxKustomizations, type StageTimeouts } from './gitops/flux.js';
import { GitOps } from './gitops/gitops.js';
import { Stage } from './gitops/stage.js';
import { accessReport } from './reports/access-report.js';
import { loadBundle, renderBundleConfigMap, ROTATOR_BUNDLE_CONTEXT, type RotatorBundleSource } from './rotation/bundle.js';
import { renderRotatorNamespace } from './rotation/namespace.js';
import { renderProviderPolicy, renderRotatorPolicy } from './rotation/network-policy.js';
import { chartFail, resolveRotatorOptions, type RotatorOptions, type RotatorSettings } from './rotation/rotator-options.js';
import type { Provider } from './provider.js';
import { kustomizeComponents } from './reports/components.js';

/** The ledger as the constructs read it: entries by credential name (see `Ledger` in the project layer). */
export interface ILedger {
  get(credential: string): LedgerEntry | undefined;
}

/** The sealed-secrets controller's certificate the ledger's values are sealed with. */
export interface SealingOptions {
  /** SHA-256 fingerprint (`SHA256:...`, as `rekey fingerprint` prints it) the sealed values must match. */
  readonly fingerprint: string;
  /**
   * Path of the certificate (`kubeseal --fetch-cert > cert.pem`), relative to the project
   * folder: `rekey rotate` seals new values with it.
   * @default - none: `rekey rotate` refuses sealed credentials of this chart
   */
  readonly certificate?: string;
  /**
   * Fingerprints of the controller's earlier certificates that are still trusted. The
   * sealed-secrets controller renews its sealing key every 30 days and keeps the old keys for
   * decryption, so values sealed with an earlier certificate still unseal: a ledger entry
   * sealed for one of these stays valid (synthesis and `rekey check` accept it) until the
   * credential's next rotation, which seals with the current certificate only. Remove a
   * fingerprint once `rekey status` shows no credential sealed for it.
   * @default - none: every sealed value must match `fingerprint`
   */
  readonly previousFingerprints?: readonly string[];
}

/** The form of a sealing certificate fingerprint (`SHA256:` and 43 base64 characters). */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** Props of `RekeyChart`. */
export interface RekeyChartProps extends ChartProps {
  /**
   * The ledger: generations, key IDs and sealed values.
   * @default - the project's ledger, as `RekeyApp` loads it (rekey.ledger.yaml); empty outside a RekeyApp
   */
  readonly ledger?: ILedger;
  /** The sealing certificate. @default - none: sealed delivery is refused */
  readonly sealing?: SealingOptions;
  /**
   * Namespace of the rotation Jobs, their staging Secrets and plans (shorthand for `rotator.namespace`).
   * @default 'rekey-system'
   */
  readonly rotatorNamespace?: string;
  /** How the rotation Jobs run. @default - see RotatorOptions */
  readonly rotator?: RotatorOptions;
  /** How the GitOps tool orders a rotation. @default GitOps.argoCd() */
  readonly gitops?: GitOps;
  /**
   * The rotator bundle the stock-image Jobs run.
   * @default - the one RekeyApp provides; required to render rotation Jobs unless rotator.image is set
   */
  readonly rotatorBundle?: RotatorBundleSource;
  /** Where warnings go (plain delivery, credentials never rotated). @default - stderr */
  readonly warn?: (message: string) => void;
}

const MARKER = Symbol.for('rekey.RekeyChart');
/** The construct context key under which `RekeyApp` hands its ledger to every RekeyChart. */
export const LEDGER_CONTEXT = 'rekey:ledger';
const EMPTY_LEDGER: ILedger = { get: () => undefined };

/** How many credentials never rotated get a warning line of their own; the rest share one line. */
export const NEVER_ROTATED_LINES = 5;

/**
 * The chart that holds rekey's credentials. Everything rekey renders into Kubernetes
 * objects lands in it; `extraFiles()` gives the files beside the manifests (Kustomize
 * Components for workloads rendered elsewhere, the access report). Credentials render
 * lazily, during the validation cdk8s runs before synthesizing any chart, so consumers in
 * other charts get their annotations whatever the order of charts.
 */
export class RekeyChart extends Chart {
  /** True for a RekeyChart (Chart overrides `instanceof` to match every chart). */
  public static isRekeyChart(x: unknown): x is RekeyChart {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[MARKER] === true;
  }

  /** The RekeyChart enclosing a construct. */
  public static of(c: IConstruct): RekeyChart {
    for (let cur: IConstruct | undefined = c; cur; cur = cur.node.scope) {
      if (RekeyChart.isRekeyChart(cur)) return cur;
    }
    throw new ValidationError(`${c.node.path} is not inside a RekeyChart: got ${c.node.scope?.constructor.name ?? 'no scope'}. Create credentials in a RekeyChart (it holds the ledger).`);
  }

  public readonly ledger: ILedger;
  public readonly sealing?: SealingOptions;
  public readonly rotatorNamespace: string;
  /** The rotator settings, defaults applied. */
  public readonly rotator: RotatorSettings;
  /** The GitOps ordering. */
  public readonly gitops: GitOps;
  private readonly bundleSource?: RotatorBundleSource;
  private infraRendered = false;
  private noticedPrevious = false;
  private noticedNeverRotated = false;
  private readonly _credentials: Credential[] = [];
  private readonly warnedPlain = new Set<string>();
  private readonly warn: (message: string) => void;
  private readonly specLocations = new WeakMap<Credential, string>();

  public constructor(scope: Construct, id: string, props: RekeyChartProps = {}) {
    super(scope, id, props);
    Object.defineProperty(this, MARKER, { value: true });
    this.ledger = props.ledger ?? (this.node.tryGetContext(LEDGER_CONTEXT) as ILedger | undefined) ?? EMPTY_LEDGER;
    this.sealing = props.sealing;
    const fail = chartFail(this.node.path, this);
    checkPreviousFingerprints(props.sealing, fail);
    if (props.rotatorNamespace !== undefined && props.rotator?.namespace !== undefined && props.rotatorNamespace !== props.rotator.namespace) {
      fail(['rotatorNamespace'], 'contradicts rotator.namespace', props.rotatorNamespace, 'Give the namespace once, as rotator.namespace.');
    }
    this.rotator = resolveRotatorOptions({ ...props.rotator, namespace: props.rotator?.namespace ?? props.rotatorNamespace }, fail);
    this.rotatorNamespace = this.rotator.namespace;
    this.gitops = props.gitops ?? GitOps.argoCd();
    this.bundleSource = props.rotatorBundle ?? (this.node.tryGetContext(ROTATOR_BUNDLE_CONTEXT) as RotatorBundleSource | undefined);
    this.warn = props.warn ?? ((m) => process.stderr.write(m + '\n'));
    this.node.addValidation({
      validate: () => {
        this._render();
        return [];
      },
    });
  }

  /** Credentials defined in this chart, in definition order. */
  public get credentials(): readonly Credential[] {
    return [...this._credentials];
  }

  /** @internal */
  public _register(c: Credential): void {
    if (this._credentials.some((x) => x.name === c.name)) {
      throw new FieldError(c.node.path, { field: ['name'], what: 'is a duplicate credential name', value: c.name, fix: 'Give every credential a unique name.' }, { subject: c });
    }
    const problem = c.delivery._impl.chartProblem(this.sealing?.fingerprint);
    if (problem) {
      throw new FieldError(this.node.path, {
        field: ['sealing'],
        what: `is required: credential ${c.name} uses sealed delivery`,
        value: undefined,
        fix: 'Add sealing: {certificate: <kubeseal --fetch-cert file>, fingerprint: SHA256:...}.',
      }, { subject: this });
    }
    if (this.ledger.get(c.name) && !this.rotator.apiServer) {
      throw new FieldError(this.node.path, {
        field: ['rotator', 'apiServer'],
        what: `is required to render the rotation Jobs of credential ${c.name}`,
        value: undefined,
        fix: 'Add rotator.apiServer: {cidr: <API server endpoint, kubectl get endpoints kubernetes -n default>, port: 6443}: rotation pods may reach only DNS, the provider and the API server.',
      }, { subject: this });
    }
    this._credentials.push(c);
  }

  /** @internal */
  public _warnPlain(credential: string): void {
    if (this.warnedPlain.has(credential)) return;
    this.warnedPlain.add(credential);
    this.warn(
      `rekey: WARNING: credential ${credential} uses PLAIN delivery: its secret is stored in clear in git (rekey.ledger.yaml and dist/). Use only for a local cluster.`,
    );
  }

  /**
   * Files beside the manifests, relative to the output folder:
   * `components/<name>/kustomization.yaml` for workloads rendered elsewhere, and `ACCESS.md`.
   */
  public extraFiles(): Map<string, string> {
    this._render();
    const files = new Map<string, string>();
    for (const [rel, content] of kustomizeComponents(this._credentials)) files.set(rel, content);
    files.set('ACCESS.md', accessReport(this._credentials));
    if (this.gitops.tool === 'argocd' && this.gitops.argoCdOptions.application) {
      files.set('argocd/application.yaml', argoCdApplication(this.gitops.argoCdOptions.application));
    }
    if (this.gitops.tool === 'flux') files.set('flux/kustomizations.yaml', fluxKustomizations(this.gitops.fluxOptions, this.stageTimeouts()));
    return files;
  }

  /** Health-check timeouts of the stages, in seconds: the longest Job of each stage. */
  public stageTimeouts(): StageTimeouts {
    const d = this.rotator.deadlines;
    const g = this.rotator.jobGraceSeconds;
    const overlap = Math.max(0, ...this._credentials.map((c) => c.rotationPolicy.overlapSeconds));
    return {
      activate: Math.max(d.activateSeconds + d.verifySeconds, d.activateSeconds + 2 * d.verifySeconds) + g,
      deliver: d.deliverSeconds + g,
      retire: d.retireSeconds + overlap + d.kubeletRefreshSeconds + 2 * d.verifySeconds + g,
    };
  }

  /** The bundle for the Jobs, or undefined when rotator.image carries it. @internal */
  public _bundleForJobs(): { source: RotatorBundleSource; sha256: string } | undefined {
    if (this.rotator.image) return undefined;
    const bundle = loadBundle(this.bundleSource, this.node.path);
    return { source: this.bundleSource!, sha256: bundle.sha256 };
  }

  /** The namespace, the bundle ConfigMap and the NetworkPolicies: once per chart. */
  private renderInfra(): void {
    if (this.infraRendered) return;
    this.infraRendered = true;
    const rotated = this._credentials.filter((c) => c.entry);
    const providers: Provider[] = [];
    // a provider gets its policy once one of its credentials renders (like everything else rekey renders)
    for (const c of rotated) if (!providers.includes(c.provider)) providers.push(c.provider);
    const scope = new Construct(this, 'rotator');
    const labels = { 'app.kubernetes.io/managed-by': 'rekey' };
    if (rotated.length) {
      if (this.rotator.createNamespace) renderRotatorNamespace(scope, this.rotatorNamespace, labels);
      if (!this.rotator.image) {
        const bundle = loadBundle(this.bundleSource, this.node.path);
        const annotations: Record<string, string> = this.gitops.tool === 'argocd' ? { 'argocd.argoproj.io/sync-options': 'ServerSideApply=true' } : {};
        renderBundleConfigMap(scope, this.rotatorNamespace, this.bundleSource!, bundle, labels, annotations);
      }
      const called = rotated.map((c) => c.provider).filter((p) => p.namespace && p.port && Object.keys(p.podSelector).length);
      renderRotatorPolicy(scope, {
        namespace: this.rotatorNamespace,
        providers: called.map((p) => ({ namespace: p.namespace!, podSelector: p.podSelector, port: p.port! })),
        external: rotated.map((c) => c.provider.egress).filter((e) => e !== undefined),
        apiServer: this.rotator.apiServer!,
        labels,
      });
    }
    const providersScope = new Construct(scope, 'providers');
    for (const p of providers) {
      if (!p.namespace || !p.port || Object.keys(p.podSelector).length === 0) continue;
      if (!p.networkPolicy.enabled) {
        this.warn(`rekey: WARNING: provider ${p.name} has networkPolicy.enabled: false: any pod in the cluster can reach its storage port. Enable it unless another policy protects ${p.namespace}.`);
        continue;
      }
      const clients = this._credentials.filter((c) => c.provider === p).flatMap((c) => c.targets.map((t) => t.namespace));
      renderProviderPolicy(new Construct(providersScope, p.name), {
        provider: p.name,
        namespace: p.namespace,
        podSelector: p.podSelector,
        port: p.port,
        clientNamespaces: [...clients, ...p.networkPolicy.allowFrom],
        rotatorNamespace: this.rotatorNamespace,
        labels,
      });
    }
    for (const o of scope.node.findAll()) if (ApiObject.isApiObject(o)) this.gitops._place(o, Stage.ROTATOR);
  }

  /** Renders every credential of this chart (once). Runs as a construct validation, i.e. before any chart is synthesized. @internal */
  public _render(): void {
    this.renderInfra();
    for (const c of this._credentials) c._render();
    this.noticeNeverRotated();
    this.noticePreviousCertificates();
  }

  /**
   * One line per credential never rotated (nothing is rendered for it yet), up to
   * {@link NEVER_ROTATED_LINES}; beyond that one more line counting and naming the rest, so
   * the first rotation in a large project does not print a line per credential.
   */
  private noticeNeverRotated(): void {
    if (this.noticedNeverRotated) return;
    this.noticedNeverRotated = true;
    const names = this._credentials.filter((c) => !this.ledger.get(c.name)).map((c) => c.name);
    for (const name of names.slice(0, NEVER_ROTATED_LINES)) {
      this.warn(`rekey: credential ${name} has never been rotated: nothing is rendered for it yet. Run \`rekey rotate ${name}\`.`);
    }
    const rest = names.slice(NEVER_ROTATED_LINES);
    if (rest.length > 0) {
      const shown = rest.slice(0, NEVER_ROTATED_LINES);
      this.warn(
        `rekey: ${rest.length} more ${rest.length === 1 ? 'credential has' : 'credentials have'} never been rotated: ${shown.join(', ')}${rest.length > shown.length ? `, … (\`rekey status\` lists them all)` : ''}. Run \`rekey rotate <credential>\` for each.`,
      );
    }
  }

  /** One line naming the credentials still sealed for a trusted previous certificate (they move at their next rotation), one naming trusted fingerprints no credential uses. */
  private noticePreviousCertificates(): void {
    if (this.noticedPrevious) return;
    this.noticedPrevious = true;
    const previous = this.sealing?.previousFingerprints ?? [];
    const names = this._credentials.filter((c) => c.entry?.certificateFingerprint !== undefined && previous.includes(c.entry.certificateFingerprint)).map((c) => c.name);
    const unused = previous.filter((fp) => !this._credentials.some((c) => c.entry?.certificateFingerprint === fp));
    if (unused.length > 0) {
      this.warn(`rekey: sealing.previousFingerprints ${unused.join(', ')} ${unused.length === 1 ? 'is' : 'are'} used by no credential any more: remove ${unused.length === 1 ? 'it' : 'them'}.`);
    }
    if (names.length === 0) return;
    this.warn(
      `rekey: ${names.length === 1 ? 'credential' : 'credentials'} ${names.sort().join(', ')} ${names.length === 1 ? 'is' : 'are'} sealed for a previous certificate (sealing.previousFingerprints): ` +
        `still valid, ${names.length === 1 ? 'it moves' : 'each moves'} to the current certificate ${this.sealing!.fingerprint} at its next rotation (\`rekey status\` shows each credential's certificate).`,
    );
  }

  /** Where a credential came from in rekey.yaml, if it did. @internal */
  public _specLocation(c: Credential): string | undefined {
    return this.specLocations.get(c);
  }

  /** Records that a credential came from rekey.yaml. @internal */
  public _setSpecLocation(c: Credential, location: string): void {
    this.specLocations.set(c, location);
  }

  /** The typed description of this chart's credentials. */
  public toModel(): CredentialModel[] {
    return this._credentials.map((c) => c.toModel());
  }
}

/** Each previous fingerprint well-formed, listed once, and not the current one. */
function checkPreviousFingerprints(sealing: SealingOptions | undefined, fail: ReturnType<typeof chartFail>): void {
  const previous = sealing?.previousFingerprints ?? [];
  previous.forEach((fp, i) => {
    const field = ['sealing', 'previousFingerprints', i];
    if (typeof fp !== 'string' || !FINGERPRINT.test(fp)) {
      fail(field, 'must be a SHA-256 fingerprint like SHA256:<43 base64 characters>', fp, 'Copy the fingerprint the ledger recorded (certificateFingerprint) for the earlier certificate.');
    }
    if (fp === sealing!.fingerprint) {
      fail(field, 'is the current sealing fingerprint', fp, 'Remove it from previousFingerprints: values sealed with the current certificate are always valid.');
    }
    if (previous.indexOf(fp) !== i) fail(field, 'is listed twice', fp, 'List every previous fingerprint once.');
  });
}
