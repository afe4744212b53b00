import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiObject, App, Chart, Names, Yaml, YamlOutputType, type AppProps } from 'cdk8s';
import { ExitCode, FieldError, RekeyError } from '../core/errors.js';
import { MODEL_API_VERSION, MODEL_KIND, type RekeyModel } from '../core/model.js';
import { stageFolders, type StagedObject } from '../constructs/gitops/layout.js';
import { plainReadme } from '../constructs/gitops/plain.js';
import { stageOf } from '../constructs/gitops/stage.js';
import { LEDGER_CONTEXT, RekeyChart } from '../constructs/rekey-chart.js';
import { ROTATOR_BUNDLE_CONTEXT, type RotatorBundleSource } from '../constructs/rotation/bundle.js';
import { Ledger } from './ledger.js';
import { ROTATOR_BUNDLE_KEY, ROTATOR_BUNDLE_MOUNT, ROTATOR_BUNDLE_PATH, ROTATOR_UNPACK_SCRIPT, rotatorBundle } from './rotator-bundle.js';

/** The project's rotator bundle, as RekeyApp hands it to every RekeyChart (built on first use). */
export const PROJECT_ROTATOR_BUNDLE: RotatorBundleSource = Object.freeze({
  load: rotatorBundle,
  unpackScript: ROTATOR_UNPACK_SCRIPT,
  key: ROTATOR_BUNDLE_KEY,
  mountPath: ROTATOR_BUNDLE_MOUNT,
  path: ROTATOR_BUNDLE_PATH,
});

/** Set by the rekey CLI: where the app writes its model (a JSON file). */
export const MODEL_OUT_ENV = 'REKEY_MODEL_OUT';
/** Set by the rekey CLI when it needs only the model: the app writes no manifests. */
export const MODEL_ONLY_ENV = 'REKEY_MODEL_ONLY';
/** Set by the rekey CLI: the ledger the app renders (a rotation renders a new one before it is committed). */
export const LEDGER_ENV = 'REKEY_LEDGER';

/** Props of `RekeyApp`. */
export interface RekeyAppProps extends AppProps {
  /**
   * The ledger every RekeyChart of the app renders from.
   * @default - loaded from $REKEY_LEDGER (set by the rekey CLI) or ./rekey.ledger.yaml; a missing file is an empty ledger
   */
  readonly ledger?: Ledger;
  /** The rotator bundle the rotation Jobs run. @default - the project's (`rotatorBundle()`, built or read on first use) */
  readonly rotatorBundle?: RotatorBundleSource;
}

/**
 * The cdk8s App of a rekey project. Loads the project's ledger for its RekeyCharts, writes
 * each RekeyChart's extra files (Kustomize Components, the access report) beside the
 * manifests, and writes the model — the typed description of every credential — that the
 * rekey CLI reads for `rotate`, `status` and `check`, so a credential declared only in
 * TypeScript rotates like one declared in rekey.yaml.
 */
export class RekeyApp extends App {
  public readonly ledger: Ledger;

  public constructor(props: RekeyAppProps = {}) {
    super(props);
    this.ledger = props.ledger ?? Ledger.load(process.env[LEDGER_ENV] ?? 'rekey.ledger.yaml', 'rekey.ledger.yaml');
    this.node.setContext(LEDGER_CONTEXT, this.ledger);
    this.node.setContext(ROTATOR_BUNDLE_CONTEXT, props.rotatorBundle ?? PROJECT_ROTATOR_BUNDLE);
  }

  /** The typed description of every credential of every RekeyChart of this app. */
  public model(): RekeyModel {
    const charts = this.node.findAll().filter((c): c is RekeyChart => RekeyChart.isRekeyChart(c));
    const credentials = charts.flatMap((c) => c.toModel());
    const seen = new Map<string, string>();
    for (const c of credentials) {
      const other = seen.get(c.name);
      if (other !== undefined) {
        throw new FieldError(c.source.constructPath, { field: ['name'], what: `is a duplicate credential name (also ${other})`, value: c.name, fix: 'Give every credential a unique name across the app.' });
      }
      seen.set(c.name, c.source.constructPath);
    }
    return { apiVersion: MODEL_API_VERSION, kind: MODEL_KIND, credentials };
  }

  /**
   * Writes the model when the rekey CLI asked for it; then, unless only the model was asked
   * for, the manifests and every RekeyChart's extra files.
   */
  public override synth(): void {
    const out = process.env[MODEL_OUT_ENV];
    if (out) writeFileSync(out, JSON.stringify(this.model()) + '\n');
    if (process.env[MODEL_ONLY_ENV] === '1') return;
    const rekeyCharts = this.charts.filter((c): c is RekeyChart => RekeyChart.isRekeyChart(c));
    const tools = [...new Set(rekeyCharts.map((c) => c.gitops.tool))];
    if (tools.length > 1) {
      throw new FieldError(rekeyCharts[1]!.node.path, { field: ['gitops'], what: `differs from the app's other RekeyCharts (${tools.join(', ')})`, value: rekeyCharts[1]!.gitops.tool, fix: 'Use one GitOps tool per app: dist/ is synced as a whole.' });
    }
    const write = (rel: string, content: string) => {
      const file = join(this.outdir, rel);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    };
    if (tools[0] === 'flux' || tools[0] === 'plain') {
      // stage folders instead of one file per chart
      mkdirSync(this.outdir, { recursive: true });
      for (const c of this.node.findAll()) {
        const errors = c.node.validate();
        if (errors.length) throw new Error(`Validation failed with the following errors:\n  [${c.node.path}] ${errors.join('\n  ')}`);
      }
      const staged: StagedObject[] = [];
      for (const chart of this.charts) {
        for (const o of chart.node.findAll()) {
          if (ApiObject.isApiObject(o) && Chart.of(o) === chart) staged.push({ stage: stageOf(o), object: o.toJson() as Record<string, unknown> });
        }
      }
      const names = rekeyCharts.flatMap((c) => c.credentials.map((cred) => cred.name));
      // each stage's objects framed per credential, like the chart file of argocd mode
      for (const [rel, content] of stageFolders(staged, (docs) => markCredentialDocs(docs.map((d) => Yaml.stringify(d)), names))) write(rel, content);
      if (tools[0] === 'plain') {
        const previous = new Map(
          rekeyCharts.flatMap((chart) =>
            chart.credentials
              .filter((c) => (c.entry?.generation ?? 0) > 1)
              .map((c) => [c.name, `kubectl -n ${chart.rotatorNamespace} delete job -l rekey.dev/credential=${c.name},rekey.dev/generation=${c.entry!.generation - 1}`] as const),
          ),
        );
        write('README.md', plainReadme(staged, names, previous));
      }
    } else if (this.yamlOutputType === YamlOutputType.FILE_PER_CHART && !this.hasInferredChartDependencies()) {
      // What cdk8s's own synth writes for FILE_PER_CHART (`chart.toJson()` validates the app and
      // orders the objects as it does), each RekeyChart's YAML framed in memory rather than
      // written, read back and written again: at a thousand credentials that was 25 MiB twice.
      mkdirSync(this.outdir, { recursive: true });
      for (const chart of this.charts) {
        const objects = Object.values(chart.toJson());
        // Yaml.stringify(...objects) is each object's own stringify joined with '---\n'
        const text = RekeyChart.isRekeyChart(chart)
          ? markCredentialDocs(objects.map((o) => Yaml.stringify(o)), chart.credentials.map((c) => c.name))
          : Yaml.stringify(...objects);
        writeFileSync(join(this.outdir, `${Names.toDnsLabel(chart)}${this.outputFileExtension}`), text);
      }
    } else {
      super.synth();
      if (this.yamlOutputType === YamlOutputType.FILE_PER_CHART) {
        // charts with inferred dependencies: cdk8s numbers the files in chart order
        this.charts.forEach((chart, i) => {
          if (!RekeyChart.isRekeyChart(chart)) return;
          const file = join(this.outdir, `${String(i).padStart(4, '0')}-${Names.toDnsLabel(chart)}${this.outputFileExtension}`);
          writeFileSync(file, markCredentials(readFileSync(file, 'utf8'), chart.credentials.map((c) => c.name)));
        });
      }
    }
    for (const chart of rekeyCharts) for (const [rel, content] of chart.extraFiles()) write(rel, content);
  }

  /**
   * True when cdk8s infers dependencies between charts (a chart nested in another, or a construct
   * depending on one in another chart): it then numbers the files (`0000-<chart>.k8s.yaml`), and
   * synth leaves the writing to it.
   */
  private hasInferredChartDependencies(): boolean {
    for (const c of this.node.findAll()) {
      if (Chart.isChart(c) && c.node.children.some((x) => Chart.isChart(x))) return true;
      if (c === this || c.node.dependencies.length === 0) continue;
      const chart = Chart.of(c);
      if (c.node.dependencies.some((d) => Chart.of(d) !== chart)) return true;
    }
    return false;
  }
}

/** A credential's objects carry this label in `metadata.labels` (4 spaces deep in the YAML cdk8s writes). */
const CREDENTIAL_LABEL = /^ {4}rekey\.dev\/credential: (\S+)$/m;

/**
 * Frames each credential's objects in a chart's YAML with comment lines
 * (`# --- credential <name> ---` … `# --- end of credential <name> ---`), and gives every
 * credential not rendered yet (never rotated) its own pair of lines at its place in the spec's
 * order. A credential's first rotation then replaces its own placeholder line instead of
 * inserting its objects between two neighbours: two pull requests that each rotate a different
 * new credential change lines with an unchanged line between them, and git merges them.
 * Comments only: the objects, and what any YAML reader gets, are unchanged.
 */
export function markCredentials(text: string, names: readonly string[]): string {
  return markCredentialDocs(text.split(/^---\n/m), names);
}

/** {@link markCredentials} of a chart's documents, each as `Yaml.stringify` writes it alone. */
function markCredentialDocs(docs: readonly string[], names: readonly string[]): string {
  const order = new Map(names.map((n, i) => [n, i] as const));
  const credentialOf = (doc: string) => {
    const name = CREDENTIAL_LABEL.exec(doc.slice(0, doc.indexOf('\nspec:') >>> 0))?.[1];
    return name !== undefined && order.has(name) ? name : undefined;
  };
  let next = 0; // names[0..next) have been placed
  const out: string[] = [];
  let open: string | undefined;
  const placeholdersBefore = (limit: number) => {
    for (; next < limit; next++) out.push(`# --- credential ${names[next]}: never rotated ---\n# --- end of credential ${names[next]} ---\n`);
  };
  docs.forEach((doc, i) => {
    const c = credentialOf(doc);
    if (open !== undefined && c !== open) {
      out.push(`# --- end of credential ${open} ---\n`);
      open = undefined;
    }
    if (c !== undefined && c !== open && order.get(c)! >= next) {
      placeholdersBefore(order.get(c)!);
      next = order.get(c)! + 1;
      open = c;
      // every credential's section starts with its own document marker, even at the top of the file:
      // whatever order branches fill placeholders in, the merged file is what a fresh render writes
      out.push(`---\n# --- credential ${c} ---\n`, doc);
      return;
    }
    if (c === undefined && next < names.length && i > 0) placeholdersBefore(names.length);
    out.push(i > 0 ? '---\n' : '', doc);
  });
  if (open !== undefined) out.push(`# --- end of credential ${open} ---\n`);
  placeholdersBefore(names.length);
  return out.join('');
}

/** The line prefix a rekey error inside an app carries, so the CLI can show it as its own. */
export const APP_ERROR_PREFIX = 'rekey: error: ';

/**
 * Runs a cdk8s app body: a rekey error is printed as one line per problem (`rekey: error: ...`) and the
 * process exits with its code; anything else is an internal error (exit 3) with its stack.
 */
export function runApp(body: () => void): void {
  try {
    body();
  } catch (e) {
    if (e instanceof RekeyError) {
      process.stderr.write(e.message.split('\n').map((line) => `${APP_ERROR_PREFIX}${line}\n`).join(''));
      process.exit(e.exitCode);
    }
    process.stderr.write(`rekey: internal error (please report it): ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(ExitCode.INTERNAL);
  }
}
