/**
 * The model: the typed, versioned description of a project's credentials that a rekey app
 * emits (`RekeyApp` writes it when `REKEY_MODEL_OUT` names a file). Every command that needs
 * the model (`rotate`, `status`, `check`, `revoke`, `adopt`) reads this, whether the
 * credentials were declared in rekey.yaml, in TypeScript, or both. Identifiers only: never a
 * secret.
 */
import { ValidationError } from './errors.js';

export const MODEL_API_VERSION = 'rekey.dev/v1alpha1';
export const MODEL_KIND = 'RekeyModel';

/** Where a credential was declared: a construct path, and the rekey.yaml location when it came from there. */
export interface ModelSource {
  /** Construct path, e.g. `rekey/uploads`. */
  readonly constructPath: string;
  /** `rekey.yaml credentials[2]` when the credential came from the spec. */
  readonly spec?: string;
}

export interface ProviderModel {
  readonly name: string;
  readonly kind: 'rustfs' | 'minio' | 'ceph-rgw' | 'aws-iam' | 'external';
  readonly endpoint: string | null;
  readonly region: string;
  readonly namespace: string | null;
  readonly port: number | null;
  readonly podSelector: Readonly<Record<string, string>>;
  readonly adminCredential: { readonly secretName: string; readonly accessKeyKey: string; readonly secretKeyKey: string } | null;
}

export interface AliasModel {
  readonly name: string;
  readonly accessKey?: string;
  readonly secretKey?: string;
  /** The key holding an AWS shared-credentials file, and its profile. */
  readonly credentialsFile?: string;
  readonly profile?: string;
}

export interface ConsumerModel {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'Rollout';
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  /** The target Secret it reads. */
  readonly secretName: string;
  readonly mode: 'env' | 'envFrom' | 'file';
  /** Keys read (env), the prefix (envFrom, '' for none) or the mount path (file). */
  readonly keys?: readonly string[];
  readonly prefix?: string;
  readonly mountPath?: string;
  /** A StatefulSet with updateStrategy OnDelete. */
  readonly onDelete: boolean;
  /** Rendered by this app (annotated directly) or elsewhere (patched through a Kustomize Component). */
  readonly renderedHere: boolean;
  readonly component: string | null;
}

export interface CredentialModel {
  readonly name: string;
  readonly source: ModelSource;
  readonly provider: ProviderModel;
  readonly identity: { readonly kind: 'serviceAccount' | 'user' | 'alternatingUsers' | 'root'; readonly name: string; readonly users?: readonly [string, string] };
  readonly policy: { readonly name: string; readonly document: Readonly<Record<string, unknown>> } | null;
  readonly aliases: readonly AliasModel[];
  /** Every key of the target Secrets (aliases, then extra keys). */
  readonly secretKeys: readonly string[];
  readonly extraKeys: Readonly<Record<string, string>>;
  readonly delivery: {
    readonly kind: 'sealed' | 'plain' | 'external' | 'csi';
    readonly scope?: 'strict' | 'namespace-wide' | 'cluster-wide';
    /** Store-held deliveries (external, csi): the store and remote key the targets pull from (references only). */
    readonly remote?: {
      /** `acceptsPush: false` marks a store declared read-only (absent: it accepts the PushSecret). */
      readonly store: { readonly kind: 'SecretStore' | 'ClusterSecretStore'; readonly name: string; readonly acceptsPush?: boolean };
      readonly remoteKey: string;
      readonly properties: { readonly accessKeyId: string; readonly secretAccessKey: string };
    };
  };
  readonly targets: readonly { readonly namespace: string; readonly secretName: string }[];
  readonly consumers: readonly ConsumerModel[];
  readonly rotationPolicy: { readonly mode: 'Manual' | 'TimeBased'; readonly intervalDays: number | null; readonly overlapSeconds: number };
  readonly rotatorNamespace: string;
  /** The sealing certificate (path relative to the project) and its pinned fingerprint; null without sealed delivery. */
  readonly sealing: { readonly certificate: string | null; readonly fingerprint: string } | null;
}

export interface RekeyModel {
  readonly apiVersion: typeof MODEL_API_VERSION;
  readonly kind: typeof MODEL_KIND;
  /** Credentials of every RekeyChart of the app, in definition order. */
  readonly credentials: readonly CredentialModel[];
}

/**
 * Checks a model read back from an app (another rekey version may have written it).
 * @param where names the app in errors, e.g. "the app `npx tsx main.ts`"
 */
export function parseModel(raw: unknown, where: string): RekeyModel {
  const m = raw as Partial<RekeyModel> | null;
  if (m === null || typeof m !== 'object' || m.kind !== MODEL_KIND) {
    throw new ValidationError(`${where} emitted no rekey model: got ${JSON.stringify((m as { kind?: unknown } | null)?.kind ?? null)}. Build the app with RekeyApp (not cdk8s App) and call app.synth().`, { code: 'MODEL_MISSING' });
  }
  if (m.apiVersion !== MODEL_API_VERSION) {
    throw new ValidationError(`${where} emitted a model of another rekey version: got ${JSON.stringify(m.apiVersion)}. Use the same cdk8s-rekey version in the app and on the command line.`, { code: 'MODEL_VERSION' });
  }
  if (!Array.isArray(m.credentials)) {
    throw new ValidationError(`${where} emitted a model without credentials: got ${JSON.stringify(m.credentials)}. Report this: the app and the CLI disagree.`, { code: 'MODEL_INVALID' });
  }
  return m as RekeyModel;
}
