import { ValidationError } from '../core/errors.js';

/** Options shared by both rotation modes. */
export interface RotationPolicyOptions {
  /**
   * How long the old key stays valid after the new one is activated, in seconds, before
   * the retire step revokes it (it also waits for every consumer to run the new key).
   * @default 300
   */
  readonly overlapSeconds?: number;
}

/** Options of `RotationPolicy.timeBased`. */
export interface TimeBasedRotationOptions extends RotationPolicyOptions {
  /** Days between rotations; at least 7. `rekey rotate --due` rotates credentials past it. */
  readonly intervalDays: number;
}

/** When a credential is rotated. */
export class RotationPolicy {
  /** Rotated only on demand (`rekey rotate <credential>`). */
  public static manual(options: RotationPolicyOptions = {}): RotationPolicy {
    return new RotationPolicy('Manual', undefined, checkOverlap(options.overlapSeconds));
  }

  /** Due every `intervalDays` days. */
  public static timeBased(options: TimeBasedRotationOptions): RotationPolicy {
    const d = options.intervalDays;
    if (!Number.isInteger(d) || d < 7) {
      throw new ValidationError(`RotationPolicy.timeBased intervalDays must be a whole number of at least 7: got ${JSON.stringify(d)}. Set intervalDays: 7 or more, or use RotationPolicy.manual().`);
    }
    return new RotationPolicy('TimeBased', d, checkOverlap(options.overlapSeconds));
  }

  private constructor(
    public readonly mode: 'Manual' | 'TimeBased',
    /** Days between rotations (TimeBased). */
    public readonly intervalDays: number | undefined,
    public readonly overlapSeconds: number,
  ) {}

  /** When the next rotation is due after `rotatedAt`, or undefined for Manual. */
  public dueAt(rotatedAt: Date): Date | undefined {
    return this.intervalDays === undefined ? undefined : new Date(rotatedAt.getTime() + this.intervalDays * 86_400_000);
  }
}

function checkOverlap(v: number | undefined): number {
  const s = v ?? 300;
  if (!Number.isInteger(s) || s < 0) {
    throw new ValidationError(`RotationPolicy overlapSeconds must be a whole number of at least 0: got ${JSON.stringify(v)}. Set overlapSeconds: 0 or more.`);
  }
  return s;
}
