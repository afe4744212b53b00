import { join } from 'node:path';
import { Construct } from 'constructs';
import { AliasSet } from '../core/alias-set.js';
import { FieldError, formatPath, show, ValidationError, valueAt, type FieldPath } from '../core/errors.js';
import { Credential } from '../constructs/credential.js';
import { Delivery, type RemoteProperties } from '../constructs/deliveries/delivery.js';
import { GitOps } from '../constructs/gitops/gitops.js';
import { Provider } from '../constructs/provider.js';
import { RekeyChart, type ILedger, type RekeyChartProps } from '../constructs/rekey-chart.js';
import { RotationPolicy } from '../constructs/rotation-policy.js';
import { Workload } from '../constructs/workload.js';
import { Ledger } from './ledger.js';
import { loadSpecDocument, type CredentialSpec, type RekeySpec, type SpecDocument } from './spec.js';
import { SpecProblems } from './spec-problems.js';

/** Set by the rekey CLI: the spec file the app reads. */
export const SPEC_ENV = 'REKEY_SPEC';

/** A loaded project: the spec, its ledger and where they live. */
export interface RekeyProject {
  readonly spec: RekeySpec;
  readonly ledger: Ledger;
  /** Folder of the spec file (relative paths in the spec resolve from here). */
  readonly dir: string;
  readonly specPath: string;
  readonly ledgerPath: string;
}

/** Options of `chartFromSpec`. */
export interface SpecChartOptions extends Omit<RekeyChartProps, 'ledger' | 'sealing' | 'rotatorNamespace'> {
  readonly spec: RekeySpec;
  /** The raw parsed YAML, so errors show the values as written. @default - the validated spec */
  readonly raw?: unknown;
  /** The file name errors name. @default 'rekey.yaml' */
  readonly file?: string;
  /** @default - the app's ledger (see RekeyApp) */
  readonly ledger?: ILedger;
}

/** The constructs a spec defines, by name, for wiring more consumers from TypeScript. */
export class SpecChart {
  public constructor(
    public readonly chart: RekeyChart,
    public readonly providers: ReadonlyMap<string, Provider>,
    public readonly credentials: ReadonlyMap<string, Credential>,
    private readonly file: string,
  ) {}

  /** The credential `name` of the spec; an error naming both places when the spec lacks it. */
  public credential(name: string): Credential {
    const c = this.credentials.get(name);
    if (!c) {
      throw new ValidationError(
        `${this.file} credentials has no credential ${JSON.stringify(name)}, which the app binds with SpecChart.credential(): got ${[...this.credentials.keys()].join(', ') || 'none'}. Define ${name} in ${this.file}, or fix the name in the app.`,
        { code: 'APP_SPEC_MISMATCH' },
      );
    }
    return c;
  }
}

/**
 * Reads rekey.yaml (`$REKEY_SPEC` when the rekey CLI runs the app, else ./rekey.yaml) and
 * builds its RekeyChart.
 */
export function loadSpecChart(scope: Construct, id: string, options: { readonly specPath?: string; readonly warn?: (m: string) => void } = {}): SpecChart {
  const path = options.specPath ?? process.env[SPEC_ENV] ?? 'rekey.yaml';
  const doc = loadSpecDocument(path, 'rekey.yaml');
  return chartFromSpecDocument(scope, id, doc, options.warn);
}

/** Builds the RekeyChart of an already loaded spec document. */
export function chartFromSpecDocument(scope: Construct, id: string, doc: SpecDocument, warn?: (m: string) => void): SpecChart {
  return chartFromSpec(scope, id, { spec: doc.spec, raw: doc.raw, file: doc.file, warn });
}

/**
 * Builds a RekeyChart from a validated spec: providers, credentials, targets, and the
 * spec's consumers (workloads rendered elsewhere, patched through Kustomize Components).
 * Every rule the constructs enforce is reported with its rekey.yaml file and field path.
 */
export function chartFromSpec(scope: Construct, id: string, options: SpecChartOptions): SpecChart {
  const { spec, raw = spec, file = 'rekey.yaml', ledger, ...rest } = options;
  const located = (path: FieldPath, e: FieldError): ValidationError =>
    new ValidationError(`${file} ${formatPath(path) || '(top level)'} ${e.problem.what}: got ${show(valueAt(raw, path))}. ${e.problem.fix}`, { code: e.code, cause: e });
  // Every problem is collected (one line each, up to a cap) where the rest can still be checked:
  // per provider, per credential and per consumer. A chart-wide problem is reported once.
  const problems = new SpecProblems(file);
  let chart: RekeyChart | undefined;
  /** Runs `body`; a FieldError it throws is re-told at `base` + its field in rekey.yaml and collected. */
  const at = <T>(base: FieldPath, body: () => T): T | undefined => {
    try {
      return body();
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      // A chart-wide problem (sealing) is at the top of rekey.yaml, not under the credential.
      const chartWide = e.subject !== undefined && e.subject === chart;
      const path = chartWide ? [...e.problem.field] : [...base, ...e.problem.field];
      problems.add(located(path, e), chartWide ? `chart ${formatPath(path)}` : undefined);
      return undefined;
    }
  };
  const report = (path: FieldPath, what: string, value: unknown, fix: string) => problems.add(located(path, new FieldError(file, { field: [], what, value, fix })));

  const gitopsOf = (sp: RekeySpec): GitOps | undefined => {
    const g = sp.gitops;
    const wrong = (field: string, tool: string) => report(['gitops', field], `only applies to tool ${tool}`, g[field as 'flux'], `Remove gitops.${field}, or set gitops.tool: ${tool}.`);
    if (g.application && g.tool !== 'argocd') wrong('application', 'argocd');
    if (g.flux && g.tool !== 'flux') wrong('flux', 'flux');
    if (g.tool === 'flux') return at(['gitops', 'flux'], () => GitOps.flux(g.flux));
    return at(['gitops'], () => (g.tool === 'plain' ? GitOps.plain() : GitOps.argoCd(g.application ? { application: g.application } : {})));
  };
  const gitops = gitopsOf(spec);
  chart = at([], () => new RekeyChart(scope, id, {
    ...rest,
    ...(ledger ? { ledger } : {}),
    ...(spec.sealing ? { sealing: { fingerprint: spec.sealing.fingerprint, certificate: spec.sealing.certificate, previousFingerprints: spec.sealing.previousFingerprints } } : {}),
    rotator: {
      namespace: spec.rotator.namespace,
      createNamespace: spec.rotator.createNamespace,
      image: spec.rotator.image,
      apiServer: spec.rotator.apiServer,
      backoffLimit: spec.rotator.backoffLimit,
      jobGraceSeconds: spec.rotator.jobGraceSeconds,
      deadlines: spec.rotator.deadlines,
    },
    ...(gitops ? { gitops } : {}),
  }));
  // without the chart nothing else can be checked: report what was found so far
  if (!chart) problems.throwIfAny();
  const providersScope = new Construct(chart!, 'providers');
  const providers = new Map<string, Provider>();
  /** Providers that have a problem of their own: their credentials are checked once it is fixed. */
  const brokenProviders = new Set<string>();
  spec.providers.forEach((p, i) => {
    if (providers.has(p.name) || brokenProviders.has(p.name)) {
      report(['providers', i, 'name'], 'is a duplicate provider name', p.name, 'Give every provider a unique name.');
      return;
    }
    const provider = at(['providers', i], () => new Provider(providersScope, p.name, {
      name: p.name,
      kind: p.kind,
      endpoint: p.endpoint,
      region: p.region,
      namespace: p.namespace,
      podSelector: p.podSelector,
      port: p.port,
      adminCredential: p.adminCredential,
      networkPolicy: p.networkPolicy,
      egress: p.egress,
    }));
    if (provider) providers.set(p.name, provider);
    else brokenProviders.add(p.name);
  });

  const credentials = new Map<string, Credential>();
  spec.credentials.forEach((c, i) => {
    const base = ['credentials', i] as const;
    if (chart!.node.tryFindChild(c.name)) {
      report([...base, 'name'], 'is a duplicate credential name', c.name, 'Give every credential a unique name.');
      return;
    }
    const provider = providers.get(c.provider);
    if (!provider) {
      if (!brokenProviders.has(c.provider)) report([...base, 'provider'], 'names no provider', c.provider, `Use one of: ${[...providers.keys(), ...brokenProviders].join(', ')}.`);
      return;
    }
    const delivery = at([...base, 'delivery'], () => deliveryOf(c.delivery));
    if (!delivery) return;
    const cred = at(base, () => new Credential(chart!, c.name, {
      name: c.name,
      provider,
      identity: c.identity.users ? { ...c.identity, users: [c.identity.users[0], c.identity.users[1]] } : c.identity,
      policy: c.policy,
      aliases: c.aliases.map((a) => (typeof a === 'string' ? AliasSet.preset(a) : AliasSet.custom(a.accessKey, a.secretKey))),
      extraKeys: c.extraKeys,
      delivery,
      targets: c.targets,
      rotationPolicy:
        c.rotationPolicy.mode === 'TimeBased'
          ? RotationPolicy.timeBased({ intervalDays: c.rotationPolicy.intervalDays, overlapSeconds: c.rotationPolicy.overlapSeconds })
          : RotationPolicy.manual({ overlapSeconds: c.rotationPolicy.overlapSeconds }),
    }));
    if (!cred) return;
    chart!._setSpecLocation(cred, `${file} ${formatPath(base)}`);
    const consumerIndex = new Map<string, number>();
    /** Each consumer's problem, reported in the order of rekey.yaml once all are known. */
    const consumerProblems = new Map<number, ValidationError>();
    const consumerAt = (j: number, body: () => unknown) => {
      try {
        return body();
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        if (!consumerProblems.has(j)) consumerProblems.set(j, located([...base, 'consumers', j, ...e.problem.field], e));
        return undefined;
      }
    };
    c.consumers.forEach((w, j) => {
      consumerIndex.set(`consumer ${w.kind} ${w.namespace}/${w.name}`, j);
      const workload = consumerAt(j, () => Workload.fromName(w.kind, w.name, { namespace: w.namespace, updateStrategy: w.updateStrategy, component: w.component })) as ReturnType<typeof Workload.fromName> | undefined;
      if (workload) consumerAt(j, () => cred.consumedBy(workload, { env: w.env, envFrom: w.envFrom, file: w.file, secretName: w.secretName }));
    });
    // Problems only the complete set of targets shows, with the consumer's rekey.yaml path.
    try {
      cred._checkConsumers();
    } catch (e) {
      const consumer = e instanceof FieldError ? (e.subject as { consumer?: string } | undefined)?.consumer : undefined;
      const j = consumer === undefined ? undefined : consumerIndex.get(consumer);
      if (!(e instanceof FieldError) || j === undefined) throw e;
      if (!consumerProblems.has(j)) consumerProblems.set(j, located([...base, 'consumers', j, ...e.problem.field], e));
    }
    for (const j of [...consumerProblems.keys()].sort((a, b) => a - b)) problems.add(consumerProblems.get(j)!);
    credentials.set(c.name, cred);
  });
  problems.throwIfAny();
  return new SpecChart(chart!, providers, credentials, file);
}

/** The Delivery of a credential's `delivery` field. */
function deliveryOf(d: CredentialSpec['delivery']): Delivery {
  switch (d.kind) {
    case 'sealed':
      return Delivery.sealed({ scope: d.scope });
    case 'plain':
      return Delivery.plain({ acknowledgeInsecure: d.acknowledgeInsecure });
    case 'external':
      // half a properties pair is refused by Delivery.external, with its own message
      return Delivery.external({ store: d.store, remoteKey: d.remoteKey, properties: d.properties as RemoteProperties | undefined, templateData: d.templateData });
    case 'csi':
      return Delivery.csi({
        provider: d.provider,
        parameters: d.parameters,
        store: d.store,
        remoteKey: d.remoteKey,
        ...(d.properties ? { properties: d.properties } : {}),
        ...(d.objectPath !== undefined ? { objectPath: d.objectPath } : {}),
        rotationPollIntervalSeconds: d.rotationPollIntervalSeconds,
        secretRotationEnabled: d.secretRotationEnabled,
      });
  }
}

/** rekey.ledger.yaml beside a spec. */
export function ledgerPathIn(dir: string): string {
  return join(dir, 'rekey.ledger.yaml');
}
