import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { App, type AppProps } from 'cdk8s';
import { ExitCode, FieldError, RekeyError } from '../core/errors.js';
import { MODEL_API_VERSION, MODEL_KIND, type RekeyModel } from '../core/model.js';
import { LEDGER_CONTEXT, RekeyChart } from '../constructs/rekey-chart.js';
import { Ledger } from './ledger.js';

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

/** The line prefix a rekey error inside an app carries, so the CLI can show it as its own. */
export const APP_ERROR_PREFIX = 'rekey: error: ';

/**
 * Runs a cdk8s app body: a rekey error is printed as one line (`rekey: error: ...`) and the
 * process exits with its code; anything else is an internal error (exit 3) with its stack.
 */
export function runApp(body: () => void): void {
  try {
    body();
  } catch (e) {
    if (e instanceof RekeyError) {
      process.stderr.write(`${APP_ERROR_PREFIX}${e.message}\n`);
      process.exit(e.exitCode);
    }
    process.stderr.write(`rekey: internal error (please report it): ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(ExitCode.INTERNAL);
  }
}
