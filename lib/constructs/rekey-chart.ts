import { Chart, type ChartProps } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import { FieldError, ValidationError } from '../core/errors.js';
import type { CredentialModel } from '../core/model.js';
import type { LedgerEntry } from '../project/ledger.js';
import type { Credential } from './credential.js';
import { accessReport } from './reports/access-report.js';
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
}

/** Props of `RekeyChart`. */
export interface RekeyChartProps extends ChartProps {
  /**
   * The ledger: generations, key IDs and sealed values.
   * @default - the project's ledger, as `RekeyApp` loads it (rekey.ledger.yaml); empty outside a RekeyApp
   */
  readonly ledger?: ILedger;
  /** The sealing certificate. @default - none: sealed delivery is refused */
  readonly sealing?: SealingOptions;
  /** Namespace of the rotation Jobs, their staging Secrets and plans. @default 'rekey-system' */
  readonly rotatorNamespace?: string;
  /** Where warnings go (plain delivery, credentials never rotated). @default - stderr */
  readonly warn?: (message: string) => void;
}

const MARKER = Symbol.for('rekey.RekeyChart');
/** The construct context key under which `RekeyApp` hands its ledger to every RekeyChart. */
export const LEDGER_CONTEXT = 'rekey:ledger';
const EMPTY_LEDGER: ILedger = { get: () => undefined };

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
  private readonly _credentials: Credential[] = [];
  private readonly warnedPlain = new Set<string>();
  private readonly warn: (message: string) => void;
  private readonly specLocations = new WeakMap<Credential, string>();

  public constructor(scope: Construct, id: string, props: RekeyChartProps = {}) {
    super(scope, id, props);
    Object.defineProperty(this, MARKER, { value: true });
    this.ledger = props.ledger ?? (this.node.tryGetContext(LEDGER_CONTEXT) as ILedger | undefined) ?? EMPTY_LEDGER;
    this.sealing = props.sealing;
    this.rotatorNamespace = props.rotatorNamespace ?? 'rekey-system';
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
    if (!this.ledger.get(c.name)) {
      this.warn(`rekey: credential ${c.name} has never been rotated: nothing is rendered for it yet. Run \`rekey rotate ${c.name}\`.`);
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
    return files;
  }

  /** Renders every credential of this chart (once). Runs as a construct validation, i.e. before any chart is synthesized. @internal */
  public _render(): void {
    for (const c of this._credentials) c._render();
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
