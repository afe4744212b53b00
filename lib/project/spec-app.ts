import { basename, dirname, join } from 'node:path';
import type { Construct } from 'constructs';
import { AliasSet } from '../core/alias-set.js';
import { Credential } from '../constructs/credential.js';
import { Delivery } from '../constructs/deliveries/delivery.js';
import { Ledger } from './ledger.js';
import { Provider } from '../constructs/provider.js';
import { RekeyChart, type RekeyChartProps } from '../constructs/rekey-chart.js';
import { RotationPolicy } from '../constructs/rotation-policy.js';
import { loadSpec, type RekeySpec } from './spec.js';
import { Workload } from '../constructs/workload.js';

/** A loaded project: the spec, its ledger and where they live. */
export interface RekeyProject {
  readonly spec: RekeySpec;
  readonly ledger: Ledger;
  /** Folder of the spec file (relative paths in the spec resolve from here). */
  readonly dir: string;
  readonly specPath: string;
  readonly ledgerPath: string;
}

/** Options of `loadProject`. */
export interface LoadProjectOptions {
  /** The spec file. @default 'rekey.yaml' (or $REKEY_SPEC) */
  readonly specPath?: string;
  /** The ledger file. @default - rekey.ledger.yaml beside the spec (or $REKEY_LEDGER) */
  readonly ledgerPath?: string;
}

/** Reads and validates rekey.yaml and rekey.ledger.yaml. */
export function loadProject(options: LoadProjectOptions = {}): RekeyProject {
  const specPath = options.specPath ?? process.env.REKEY_SPEC ?? 'rekey.yaml';
  const dir = dirname(specPath);
  const ledgerPath = options.ledgerPath ?? process.env.REKEY_LEDGER ?? join(dir, 'rekey.ledger.yaml');
  const spec = loadSpec(specPath, basename(specPath));
  const ledger = Ledger.load(ledgerPath, 'rekey.ledger.yaml');
  return { spec, ledger, dir, specPath, ledgerPath };
}

/** Reads rekey.yaml and rekey.ledger.yaml from a project folder. */
export function loadProjectIn(dir: string, ledgerPath = join(dir, 'rekey.ledger.yaml')): RekeyProject {
  return loadProject({ specPath: join(dir, 'rekey.yaml'), ledgerPath });
}

/** Options of `RekeyChart.fromSpec`-style construction. */
export interface SpecChartOptions extends Omit<RekeyChartProps, 'ledger' | 'certificateFingerprint' | 'rotatorNamespace'> {
  readonly spec: RekeySpec;
  readonly ledger: Ledger;
}

/** The constructs a spec defines, by name, for wiring more consumers from TypeScript. */
export interface SpecChart {
  readonly chart: RekeyChart;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly credentials: ReadonlyMap<string, Credential>;
}

/**
 * Builds a RekeyChart from a validated spec: providers, credentials, targets, and the
 * spec's consumers (workloads rendered elsewhere, patched through Kustomize Components).
 */
export function chartFromSpec(scope: Construct, id: string, options: SpecChartOptions): SpecChart {
  const { spec, ledger, ...rest } = options;
  const chart = new RekeyChart(scope, id, {
    ...rest,
    ledger,
    certificateFingerprint: spec.sealing?.fingerprint,
    rotatorNamespace: spec.rotator.namespace,
  });
  const providers = new Map<string, Provider>();
  for (const p of spec.providers) {
    providers.set(
      p.name,
      new Provider(chart, `provider-${p.name}`, {
        name: p.name,
        kind: p.kind,
        endpoint: p.endpoint,
        region: p.region,
        namespace: p.namespace,
        podSelector: p.podSelector,
        port: p.port,
        adminCredential: p.adminCredential,
      }),
    );
  }
  const credentials = new Map<string, Credential>();
  for (const c of spec.credentials) {
    const cred = new Credential(chart, c.name, {
      name: c.name,
      provider: providers.get(c.provider)!,
      identity: c.identity.users ? { ...c.identity, users: [c.identity.users[0], c.identity.users[1]] } : c.identity,
      policy: c.policy,
      aliases: c.aliases.map((a) => (typeof a === 'string' ? AliasSet.preset(a) : AliasSet.custom(a.accessKey, a.secretKey))),
      extraKeys: c.extraKeys,
      delivery: c.delivery.kind === 'sealed' ? Delivery.sealed({ scope: c.delivery.scope }) : Delivery.plain({ acknowledgeInsecure: c.delivery.acknowledgeInsecure }),
      targets: c.targets,
      rotationPolicy:
        c.rotationPolicy.mode === 'TimeBased'
          ? RotationPolicy.timeBased({ intervalDays: c.rotationPolicy.intervalDays, overlapSeconds: c.rotationPolicy.overlapSeconds })
          : RotationPolicy.manual({ overlapSeconds: c.rotationPolicy.overlapSeconds }),
    });
    for (const w of c.consumers) {
      cred.consumedBy(Workload.fromName(w.kind, w.name, { namespace: w.namespace, updateStrategy: w.updateStrategy, component: w.component }), {
        env: w.env,
        envFrom: w.envFrom,
        file: w.file,
        secretName: w.secretName,
      });
    }
    credentials.set(c.name, cred);
  }
  return { chart, providers, credentials };
}
