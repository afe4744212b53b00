import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { App, Chart, type AppProps, type ChartProps } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import { stringify } from 'yaml';
import type { ConsumerBinding, Credential } from './credential.js';
import { ValidationError } from '../core/errors.js';
import { Ledger } from '../project/ledger.js';
import { checksumAnnotation } from '../core/checksum.js';
import { podTemplatePath } from './workload.js';

/** Props of `RekeyChart`. */
export interface RekeyChartProps extends ChartProps {
  /** The ledger: generations, key IDs and sealed values. @default Ledger.empty() */
  readonly ledger?: Ledger;
  /**
   * SHA-256 fingerprint (`SHA256:...`) of the sealing certificate the ledger's values must
   * have been sealed with. @default - none: sealed delivery is refused
   */
  readonly certificateFingerprint?: string;
  /** Namespace of the rotation Jobs, their staging Secrets and plans. @default 'rekey-system' */
  readonly rotatorNamespace?: string;
  /** Where warnings go (plain delivery, credentials never rotated). @default - stderr */
  readonly warn?: (message: string) => void;
}

const MARKER = Symbol.for('rekey.RekeyChart');

/**
 * The chart that holds rekey's credentials. Everything rekey renders into Kubernetes
 * objects lands in it; `extraFiles()` gives the files beside the manifests (Kustomize
 * Components for workloads rendered elsewhere, the access report).
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

  public readonly ledger: Ledger;
  public readonly certificateFingerprint?: string;
  public readonly rotatorNamespace: string;
  private readonly _credentials: Credential[] = [];
  private readonly warnedPlain = new Set<string>();
  private readonly warn: (message: string) => void;

  public constructor(scope: Construct, id: string, props: RekeyChartProps = {}) {
    super(scope, id, props);
    Object.defineProperty(this, MARKER, { value: true });
    this.ledger = props.ledger ?? Ledger.empty();
    this.certificateFingerprint = props.certificateFingerprint;
    this.rotatorNamespace = props.rotatorNamespace ?? 'rekey-system';
    this.warn = props.warn ?? ((m) => process.stderr.write(m + '\n'));
  }

  /** Credentials defined in this chart, in definition order. */
  public get credentials(): readonly Credential[] {
    return [...this._credentials];
  }

  /** @internal */
  public _register(c: Credential): void {
    if (this._credentials.some((x) => x.name === c.name)) {
      throw new ValidationError(`Credential ${c.name} is defined twice: got a second credential named ${JSON.stringify(c.name)}. Give every credential a unique name.`);
    }
    if (c.delivery.kind === 'sealed' && !this.certificateFingerprint) {
      throw new ValidationError(`Credential ${c.name} uses sealed delivery but the RekeyChart has no certificateFingerprint: got nothing. Set sealing.certificate and sealing.fingerprint.`);
    }
    if (!c.entry) {
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
    const files = new Map<string, string>();
    const byComponent = new Map<string, ConsumerBinding[]>();
    for (const c of this._credentials) {
      for (const b of c.consumers) {
        if (b.workload.renderedHere || !b.checksum) continue;
        const comp = b.workload.component ?? b.workload.namespace;
        byComponent.set(comp, [...(byComponent.get(comp) ?? []), b]);
      }
    }
    for (const comp of [...byComponent.keys()].sort()) {
      files.set(`components/${comp}/kustomization.yaml`, componentYaml(this.credentialsOf(), byComponent.get(comp)!));
    }
    files.set('ACCESS.md', this.accessReport());
    return files;
  }

  private credentialsOf(): Map<ConsumerBinding, string> {
    const m = new Map<ConsumerBinding, string>();
    for (const c of this._credentials) for (const b of c.consumers) m.set(b, c.name);
    return m;
  }

  /** The access report: which workload reads which credential, through which Secret and keys. */
  public accessReport(): string {
    const lines: string[] = [
      '# Access report',
      '',
      'Generated by rekey from the spec and the ledger. Which workload reads which credential, through which Secret',
      'and keys, with which provider identity and policy. Secrets are never shown; key IDs are not secret.',
      '',
      '## Credentials',
      '',
      '| credential | provider | identity | policy | delivery | generation | access key ID | rotated at | rotation |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ];
    const creds = [...this._credentials].sort((a, b) => a.name.localeCompare(b.name));
    for (const c of creds) {
      const e = c.entry;
      const rotation = c.rotationPolicy.mode === 'TimeBased' ? `every ${c.rotationPolicy.intervalDays} days` : 'manual';
      lines.push(
        `| ${c.name} | ${c.provider.name} (${c.provider.kind}) | ${c.identity.kind} ${c.identity.name} | ${c.policy?.name ?? '-'} | ${c.delivery.kind}${c.delivery.scope ? ` (${c.delivery.scope})` : ''} | ${e?.generation ?? 'never rotated'} | ${e?.accessKeyId ?? '-'} | ${e?.rotatedAt ?? '-'} | ${rotation}, overlap ${c.rotationPolicy.overlapSeconds}s |`,
      );
    }
    lines.push('', '## Consumers', '', '| workload | namespace | credential | Secret | reads | restart on rotation |', '| --- | --- | --- | --- | --- | --- |');
    const rows: string[] = [];
    for (const c of creds) {
      for (const b of c.consumers) {
        const how = b.mode === 'env' ? `env: ${b.detail}` : b.mode === 'envFrom' ? `envFrom (${b.detail})` : `file at ${b.detail}`;
        let restart: string;
        if (b.mode === 'file') restart = 'none: files are re-read';
        else if (b.workload.onDelete) restart = '**OnDelete StatefulSet: the rotation Job replaces its pods**';
        else restart = b.workload.renderedHere ? 'checksum annotation' : `checksum patch in components/${b.workload.component ?? b.workload.namespace}`;
        rows.push(`| ${b.workload.kind}/${b.workload.name} | ${b.workload.namespace} | ${c.name} | ${b.target.secretName} | ${how} | ${restart} |`);
      }
    }
    lines.push(...rows.sort());
    const onDelete = creds.flatMap((c) => c.consumers.filter((b) => b.workload.onDelete && b.mode !== 'file').map((b) => `${b.workload.namespace}/${b.workload.name} (${c.name})`));
    if (onDelete.length) {
      lines.push('', '## Flagged: StatefulSets with updateStrategy OnDelete', '', 'A new checksum does not restart them; the rotation Job deletes their stale pods one at a time, highest ordinal first.', '');
      for (const s of onDelete.sort()) lines.push(`- ${s}`);
    }
    const plain = creds.filter((c) => c.delivery.kind === 'plain').map((c) => c.name);
    if (plain.length) {
      lines.push('', '## WARNING: plain delivery', '', `Stored in clear in git: ${plain.join(', ')}. Local clusters only.`);
    }
    return lines.join('\n') + '\n';
  }
}

function componentYaml(credOf: Map<ConsumerBinding, string>, bindings: ConsumerBinding[]): string {
  // One patch per workload, carrying every credential's checksum it consumes.
  const byWorkload = new Map<string, { b: ConsumerBinding; annotations: Record<string, string> }>();
  for (const b of bindings) {
    const key = `${b.workload.kind}/${b.workload.namespace}/${b.workload.name}`;
    const cur = byWorkload.get(key) ?? { b, annotations: {} };
    cur.annotations[checksumAnnotation(credOf.get(b)!)] = b.checksum!;
    byWorkload.set(key, cur);
  }
  const patches = [...byWorkload.keys()].sort().map((k) => {
    const { b, annotations } = byWorkload.get(k)!;
    const w = b.workload;
    const sorted = Object.fromEntries(Object.keys(annotations).sort().map((a) => [a, annotations[a]]));
    let inner: Record<string, unknown> = { metadata: { annotations: sorted } };
    for (const p of [...podTemplatePath(w.kind)].reverse()) inner = { [p]: inner };
    const patch = { apiVersion: w.apiVersion, kind: w.kind, metadata: { name: w.name, namespace: w.namespace }, ...inner };
    const [group, version] = w.apiVersion.includes('/') ? w.apiVersion.split('/') : ['', w.apiVersion];
    return {
      target: { ...(group ? { group } : {}), version, kind: w.kind, name: w.name, namespace: w.namespace },
      patch: stringify(patch, { lineWidth: 0 }),
    };
  });
  const doc = { apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component', patches };
  return '# Generated by rekey: checksum annotations for workloads rendered elsewhere.\n# Include it from the owning kustomization: components: [<path to this folder>]\n' + stringify(doc, { lineWidth: 0 });
}

/** An App that also writes each RekeyChart's extra files (components, access report). */
export class RekeyApp extends App {
  public constructor(props: AppProps = {}) {
    super(props);
  }

  public override synth(): void {
    super.synth();
    for (const chart of this.charts) {
      if (!RekeyChart.isRekeyChart(chart)) continue;
      for (const [rel, content] of chart.extraFiles()) {
        const file = join(this.outdir, rel);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
  }
}
