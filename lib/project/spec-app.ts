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
  /** Runs `body`; a FieldError it throws is re-told at `base` + its field in rekey.yaml. */
  let chart: RekeyChart | undefined;
  const at = <T>(base: FieldPath, body: () => T): T => {
    try {
      return body();
    } catch (e) {
      // A chart-wide problem (sealing) is at the top of rekey.yaml, not under the credential.
      if (e instanceof FieldError) throw located(e.subject !== undefined && e.subject === chart ? [...e.problem.field] : [...base, ...e.problem.field], e);
      throw e;
    }
  };

  const gitopsOf = (sp: RekeySpec): GitOps => {
    const g = sp.gitops;
    const wrong = (field: string, tool: string) =>
      located(['gitops', field], new FieldError(file, { field: [], what: `only applies to tool ${tool}`, value: g[field as 'flux'], fix: `Remove gitops.${field}, or set gitops.tool: ${tool}.` }));
    if (g.application && g.tool !== 'argocd') throw wrong('application', 'argocd');
    if (g.flux && g.tool !== 'flux') throw wrong('flux', 'flux');
    if (g.tool === 'flux') return at(['gitops', 'flux'], () => GitOps.flux(g.flux));
    return at(['gitops'], () => (g.tool === 'plain' ? GitOps.plain() : GitOps.argoCd(g.application ? { application: g.application } : {})));
  };
  chart = at([], () => new RekeyChart(scope, id, {
    ...rest,
    ...(ledger ? { ledger } : {}),
    ...(spec.sealing ? { sealing: { fingerprint: spec.sealing.fingerprint, certificate: spec.sealing.certificate } } : {}),
    rotator: {
      namespace: spec.rotator.namespace,
      createNamespace: spec.rotator.createNamespace,
      image: spec.rotator.image,
      apiServer: spec.rotator.apiServer,
      backoffLimit: spec.rotator.backoffLimit,
      jobGraceSeconds: spec.rotator.jobGraceSeconds,
      deadlines: spec.rotator.deadlines,
    },
    gitops: gitopsOf(spec),
  }));
  const providersScope = new Construct(chart!, 'providers');
  const providers = new Map<string, Provider>();
  spec.providers.forEach((p, i) => {
    if (providers.has(p.name)) {
      throw located(['providers', i, 'name'], new FieldError(file, { field: [], what: 'is a duplicate provider name', value: p.name, fix: 'Give every provider a unique name.' }));
    }
    providers.set(p.name, at(['providers', i], () => new Provider(providersScope, p.name, {
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
    })));
  });

  const credentials = new Map<string, Credential>();
  spec.credentials.forEach((c, i) => {
    const base = ['credentials', i] as const;
    if (chart!.node.tryFindChild(c.name)) {
      throw located([...base, 'name'], new FieldError(file, { field: [], what: 'is a duplicate credential name', value: c.name, fix: 'Give every credential a unique name.' }));
    }
    const provider = providers.get(c.provider);
    if (!provider) {
      throw located([...base, 'provider'], new FieldError(file, { field: [], what: 'names no provider', value: c.provider, fix: `Use one of: ${[...providers.keys()].join(', ')}.` }));
    }
    const delivery = at([...base, 'delivery'], () => deliveryOf(c.delivery));
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
    chart!._setSpecLocation(cred, `${file} ${formatPath(base)}`);
    const consumerIndex = new Map<string, number>();
    c.consumers.forEach((w, j) => {
      const cbase = [...base, 'consumers', j];
      consumerIndex.set(`consumer ${w.kind} ${w.namespace}/${w.name}`, j);
      const workload = at(cbase, () => Workload.fromName(w.kind, w.name, { namespace: w.namespace, updateStrategy: w.updateStrategy, component: w.component }));
      at(cbase, () => cred.consumedBy(workload, { env: w.env, envFrom: w.envFrom, file: w.file, secretName: w.secretName }));
    });
    // Problems only the complete set of targets shows, with the consumer's rekey.yaml path.
    try {
      cred._checkConsumers();
    } catch (e) {
      const consumer = e instanceof FieldError ? (e.subject as { consumer?: string } | undefined)?.consumer : undefined;
      const j = consumer === undefined ? undefined : consumerIndex.get(consumer);
      if (e instanceof FieldError && j !== undefined) throw located([...base, 'consumers', j, ...e.problem.field], e);
      throw e;
    }
    credentials.set(c.name, cred);
  });
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
