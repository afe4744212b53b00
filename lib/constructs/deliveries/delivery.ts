import { FieldError } from '../../core/errors.js';
import { SealingScope, type SealingScopeName } from '../../core/sealing-scope.js';
import type { DeliveryKind } from './delivery-kind.js';
import { plainDelivery } from './plain.js';
import { sealedDelivery } from './sealed.js';

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

/** How a target Secret reaches the cluster: one closed set, one interface (`DeliveryKind`) behind it. */
export class Delivery {
  /** A Bitnami SealedSecret, sealed offline with the controller's public certificate. */
  public static sealed(options: SealedDeliveryOptions = {}): Delivery {
    const scope = options.scope ?? 'strict';
    if (!SealingScope.ALL.some((s) => s.name === scope)) {
      throw new FieldError('Delivery.sealed', {
        field: ['scope'],
        what: 'must be one of strict, namespace-wide, cluster-wide',
        value: scope,
        fix: 'Set scope to one of strict, namespace-wide, cluster-wide.',
      });
    }
    return new Delivery(sealedDelivery(scope));
  }

  /** A plain Secret with the value in git. Local clusters only; prints a loud warning at synth. */
  public static plain(options: PlainDeliveryOptions): Delivery {
    if (options?.acknowledgeInsecure !== true) {
      throw new FieldError('Delivery.plain', {
        field: ['acknowledgeInsecure'],
        what: 'must be true for plain delivery (the secret is stored in git in clear)',
        value: options?.acknowledgeInsecure,
        fix: 'Set acknowledgeInsecure: true for a local cluster, or use kind: sealed.',
      });
    }
    return new Delivery(plainDelivery());
  }

  /** `sealed` or `plain`. */
  public readonly kind: DeliveryKind['kind'];
  /** The sealing scope (sealed only). */
  public readonly scope?: SealingScopeName;
  /** @internal The implementation; credentials render through it. */
  public readonly _impl: DeliveryKind;

  private constructor(impl: DeliveryKind) {
    this._impl = impl;
    this.kind = impl.kind;
    this.scope = impl.scope;
  }
}
