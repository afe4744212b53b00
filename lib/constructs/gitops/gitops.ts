import { ApiObject } from 'cdk8s';
import { FieldError } from '../../core/errors.js';
import { setStage, type Stage } from './stage.js';

/** Where Argo CD finds dist/, for the rendered Application (dist/argocd/application.yaml). */
export interface ArgoCdApplicationOptions {
  /** Git repository URL. */
  readonly repoURL: string;
  /** Folder of dist/ in the repository. @default 'dist' */
  readonly path?: string;
  /** Branch, tag or commit. @default 'HEAD' */
  readonly targetRevision?: string;
  /** Application name. @default 'rekey' */
  readonly name?: string;
  /** Namespace of Argo CD. @default 'argocd' */
  readonly namespace?: string;
  /** Argo CD project. @default 'default' */
  readonly project?: string;
  /** Destination cluster API URL. @default 'https://kubernetes.default.svc' */
  readonly server?: string;
}

/** Options of `GitOps.argoCd`. */
export interface ArgoCdOptions {
  /** Render an Application for dist/ into dist/argocd/application.yaml. @default - none rendered */
  readonly application?: ArgoCdApplicationOptions;
}

/** Options of `GitOps.flux`. */
export interface FluxOptions {
  /** Prefix of the stage Kustomization names (`<name>-rotator`, …). @default 'rekey' */
  readonly name?: string;
  /** Namespace of the Kustomization objects. @default 'flux-system' */
  readonly namespace?: string;
  /** The GitRepository holding dist/. @default 'flux-system' (the bootstrap repository) */
  readonly sourceName?: string;
  /** Folder of dist/ in the repository. @default './dist' */
  readonly path?: string;
  /** Reconcile interval. @default '10m' */
  readonly interval?: string;
  /** Health-check timeout of the stages without a Job (rotator, targets, workloads). @default '10m' */
  readonly timeout?: string;
}

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * How the GitOps tool orders a rotation's objects: a closed set. `argoCd()` (sync waves),
 * `flux()` (stage folders and Kustomizations chained with dependsOn), `plain()` (stage
 * folders and a README with the kubectl apply-and-wait order). The stages: see `Stage`.
 *
 * Decisions (facts: GITOPS-FACTS.md):
 * - Argo CD: the retire Job is in the last wave and no later-wave object is added, so the
 *   sync ends when retire is created (§1 "the last wave is not waited on"). A retire waits
 *   overlapSeconds plus every consumer's roll (up to its deadline, an hour by default);
 *   keeping the sync Running that long would block every other change of the app —
 *   including `rekey revoke` and `rekey retry`. A failed retire still shows: the Job turns
 *   Degraded and so does the app's health; the old key stays valid.
 * - Argo CD prune: no `Prune=false` on the Jobs. With it the app stays OutOfSync forever
 *   and old Jobs pile up; without it the next rotation's sync prunes the previous
 *   generation's Jobs first (reverse waves), killing a retire that still waits — the next
 *   generation's steps read the previous rotation record and finish its duties (DESIGN,
 *   "An unfinished previous rotation"). A Job's name never repeats (generation, attempt and
 *   template hash), so a later sync never re-creates a pruned Job of the same generation.
 *   No `PruneLast`: it would keep the old retire running next to the new activate.
 * - Flux: `prune: true` and no `kustomize.toolkit.fluxcd.io/prune: disabled`, for the same
 *   reasons; no `force` (a changed template renames the Job instead of hitting the
 *   immutable-field error).
 * - Server-side apply only on the bundle ConfigMap (Argo CD annotation); Flux always
 *   applies server-side; plain mode's README uses `kubectl apply --server-side`.
 */
export class GitOps {
  /** Argo CD: sync-wave annotations; optionally the Application for dist/. */
  public static argoCd(options: ArgoCdOptions = {}): GitOps {
    const a = options.application;
    if (a) {
      const fail = (field: string, what: string, value: unknown, fix: string): never => {
        throw new FieldError('GitOps.argoCd', { field: ['application', field], what, value, fix });
      };
      if (!/^(https?:\/\/|ssh:\/\/|git@)\S+$/.test(a.repoURL ?? '')) fail('repoURL', 'must be a git URL', a.repoURL, 'Give e.g. https://github.com/example/platform.git.');
      for (const [k, v] of [['name', a.name], ['namespace', a.namespace]] as const) {
        if (v !== undefined && !DNS_LABEL.test(v)) fail(k, 'must be a lowercase DNS label', v, "Use lowercase letters, digits and '-'.");
      }
      if (a.path !== undefined && (a.path.startsWith('/') || a.path.includes('..'))) fail('path', 'must be a relative folder of the repository', a.path, 'Give e.g. dist or clusters/prod/dist.');
    }
    return new GitOps('argocd', options, {});
  }

  /** Flux: dist/stages/<n>-<stage>/ folders and dist/flux/kustomizations.yaml chaining them. */
  public static flux(options: FluxOptions = {}): GitOps {
    const fail = (field: string, what: string, value: unknown, fix: string): never => {
      throw new FieldError('GitOps.flux', { field: [field], what, value, fix });
    };
    for (const [k, v] of [['name', options.name], ['namespace', options.namespace], ['sourceName', options.sourceName]] as const) {
      if (v !== undefined && (!DNS_LABEL.test(v) || v.length > 40)) fail(k, 'must be a lowercase DNS label of at most 40 characters', v, "Use lowercase letters, digits and '-'.");
    }
    for (const [k, v] of [['interval', options.interval], ['timeout', options.timeout]] as const) {
      if (v !== undefined && !DURATION.test(v)) fail(k, 'must be a Go duration', v, 'Give e.g. 10m or 1h30m.');
    }
    return new GitOps('flux', {}, options);
  }

  /** Plain kubectl: dist/stages/<n>-<stage>/ folders and dist/README.md with the order. */
  public static plain(): GitOps {
    return new GitOps('plain', {}, {});
  }

  private constructor(
    /** `argocd`, `flux` or `plain`. */
    public readonly tool: 'argocd' | 'flux' | 'plain',
    /** Argo CD options. */
    public readonly argoCdOptions: ArgoCdOptions,
    /** Flux options. */
    public readonly fluxOptions: FluxOptions,
  ) {}

  /** True when objects are written into stage folders (flux, plain) rather than one file per chart. */
  public get staged(): boolean {
    return this.tool !== 'argocd';
  }

  /** Puts an object into a stage: Argo CD gets the sync-wave annotation, the others its folder. @internal */
  public _place(obj: ApiObject, stage: Stage): void {
    setStage(obj, stage);
    if (this.tool === 'argocd') obj.metadata.addAnnotation('argocd.argoproj.io/sync-wave', String(stage.wave));
  }
}
