import { ValidationError } from '../../core/errors.js';
import type { SealingScopeName } from '../../project/seal.js';

/** Options of `Delivery.sealed`. */
export interface SealedDeliveryOptions {
  /**
   * The SealedSecret scope: `strict` binds the ciphertext to the target's namespace and
   * name, `namespace-wide` to its namespace, `cluster-wide` to nothing.
   * @default 'strict'
   */
  readonly scope?: SealingScopeName;
}

/** Options of `Delivery.plain`. */
export interface PlainDeliveryOptions {
  /**
   * Must be `true`: the secret is stored in clear in git (the ledger and dist/). Local
   * clusters only.
   */
  readonly acknowledgeInsecure: boolean;
}

/** How a target Secret reaches the cluster. */
export class Delivery {
  /** A Bitnami SealedSecret, sealed offline with the controller's public certificate. */
  public static sealed(options: SealedDeliveryOptions = {}): Delivery {
    const scope = options.scope ?? 'strict';
    if (!['strict', 'namespace-wide', 'cluster-wide'].includes(scope)) {
      throw new ValidationError(`Delivery.sealed scope is not a sealing scope: got ${JSON.stringify(scope)}. Use strict, namespace-wide or cluster-wide.`);
    }
    return new Delivery('sealed', scope);
  }

  /** A plain Secret with the value in git. Local clusters only; prints a loud warning at synth. */
  public static plain(options: PlainDeliveryOptions): Delivery {
    if (options?.acknowledgeInsecure !== true) {
      throw new ValidationError(
        `Delivery.plain acknowledgeInsecure must be true (the secret is stored in git in clear): got ${JSON.stringify(options?.acknowledgeInsecure)}. Pass {acknowledgeInsecure: true} for a local cluster, or use Delivery.sealed().`,
      );
    }
    return new Delivery('plain', undefined);
  }

  private constructor(
    /** `sealed` or `plain`. */
    public readonly kind: 'sealed' | 'plain',
    /** The sealing scope (sealed only). */
    public readonly scope: SealingScopeName | undefined,
  ) {}
}
