import { ValidationError } from './errors.js';

/** The annotation that marks a sealed secret namespace-wide (`sealedsecrets.bitnami.com/namespace-wide: "true"`). */
export const SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION = 'sealedsecrets.bitnami.com/namespace-wide';
/** The annotation that marks a sealed secret cluster-wide (`sealedsecrets.bitnami.com/cluster-wide: "true"`). */
export const SEALED_SECRET_CLUSTER_WIDE_ANNOTATION = 'sealedsecrets.bitnami.com/cluster-wide';

/** The names kubeseal's `--scope` accepts. */
export type SealingScopeName = 'strict' | 'namespace-wide' | 'cluster-wide';

/**
 * Where a sealed value may be unsealed: the closed set of kubeseal's `--scope` values.
 * The scope decides the OAEP label, so a value sealed for one scope opens only in that scope.
 */
export class SealingScope {
  /** Bound to one namespace and one Secret name (kubeseal's default). Label `<namespace>/<name>`. */
  public static readonly STRICT = new SealingScope('strict');
  /** Any Secret name within one namespace. Label `<namespace>`. */
  public static readonly NAMESPACE_WIDE = new SealingScope('namespace-wide');
  /** Any namespace and name. Empty label. */
  public static readonly CLUSTER_WIDE = new SealingScope('cluster-wide');

  /** Every scope, in kubeseal's order. */
  public static readonly ALL: readonly SealingScope[] = [SealingScope.STRICT, SealingScope.NAMESPACE_WIDE, SealingScope.CLUSTER_WIDE];

  /**
   * The scope named `name` (kubeseal's `--scope` spelling).
   * @param where names the input in the error message, e.g. `rekey.yaml credentials[0].delivery.scope`
   */
  public static of(name: string, where = 'sealing scope'): SealingScope {
    const found = SealingScope.ALL.find((s) => s.name === name);
    if (!found) {
      throw new ValidationError(
        `${where} must be one of strict, namespace-wide, cluster-wide: got ${JSON.stringify(name)}. Use one of the three kubeseal scopes.`,
        { code: 'SEALING_SCOPE_INVALID' },
      );
    }
    return found;
  }

  /** The scope a SealedSecret's `spec.template.metadata.annotations` declare (as the controller reads them). */
  public static fromAnnotations(annotations: Readonly<Record<string, string>> | undefined): SealingScope {
    if (annotations?.[SEALED_SECRET_CLUSTER_WIDE_ANNOTATION] === 'true') return SealingScope.CLUSTER_WIDE;
    if (annotations?.[SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION] === 'true') return SealingScope.NAMESPACE_WIDE;
    return SealingScope.STRICT;
  }

  private constructor(public readonly name: SealingScopeName) {}

  /** The RSA-OAEP label for a Secret `namespace/name` in this scope (upstream `EncryptionLabel`). */
  public label(namespace: string, name: string): Buffer {
    switch (this.name) {
      case 'cluster-wide':
        return Buffer.alloc(0);
      case 'namespace-wide':
        return Buffer.from(namespace, 'utf8');
      case 'strict':
        return Buffer.from(`${namespace}/${name}`, 'utf8');
    }
  }

  /**
   * The annotations a SealedSecret (and its `spec.template.metadata`) carries for this scope,
   * as kubeseal's `UpdateScopeAnnotations` sets them: none for strict.
   */
  public annotations(): Record<string, string> {
    switch (this.name) {
      case 'cluster-wide':
        return { [SEALED_SECRET_CLUSTER_WIDE_ANNOTATION]: 'true' };
      case 'namespace-wide':
        return { [SEALED_SECRET_NAMESPACE_WIDE_ANNOTATION]: 'true' };
      case 'strict':
        return {};
    }
  }

  public toString(): string {
    return this.name;
  }

  public toJSON(): string {
    return this.name;
  }
}

/** The scope annotations for `scope` (see {@link SealingScope.annotations}). */
export function sealingScopeAnnotations(scope: SealingScope | SealingScopeName): Record<string, string> {
  return toScope(scope).annotations();
}

/** A scope from its name, or itself. */
export function toScope(scope: SealingScope | SealingScopeName): SealingScope {
  return scope instanceof SealingScope ? scope : SealingScope.of(scope);
}
