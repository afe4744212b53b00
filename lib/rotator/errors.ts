import { ExitCode, RekeyError } from '../core/errors.js';
import type { StepName } from './context.js';

/**
 * Exit codes of the rotator process (a rotation Job's container).
 * A Job succeeds only on `OK`; every other code fails it, and Argo CD stops at it.
 */
export enum RotatorExitCode {
  /** The step's post-condition holds (it acted, or found the work already done). */
  OK = ExitCode.OK,
  /** Bad input: arguments, an unreadable or invalid plan. Nothing was changed. */
  INVALID_INPUT = ExitCode.BAD_INPUT,
  /** The step failed, is not available, or the rotator hit a bug; the old key stays valid. The log line names what blocked it. */
  STEP_FAILED = ExitCode.INTERNAL,
}

/** Stable codes of rotation errors. */
export type RotationErrorCode =
  | 'STEP_NOT_IMPLEMENTED'
  | 'STEP_FAILED'
  | 'DEADLINE_EXCEEDED'
  | 'LEASE_HELD'
  | 'LEASE_LOST'
  | 'KUBE_ERROR'
  | 'RECORD_INVALID'
  | 'EVIDENCE_MISSING'
  | 'KEY_MISMATCH'
  | 'UNSUPPORTED';

/**
 * A rotation step failed. Logged once, at the top, as one JSON line; never a secret.
 *
 * The message is `rotator <step> for credential <name> generation <N>: <what is wrong>: got <value>. <how to fix>`.
 */
export class RotationError extends RekeyError {
  public readonly step: StepName;
  public readonly credential: string;
  public readonly generation: number;
  /** The access-key ID concerned (never a secret); null when none is known yet. */
  public readonly keyId: string | null;

  public constructor(props: {
    readonly code: RotationErrorCode;
    readonly step: StepName;
    readonly credential: string;
    readonly generation: number;
    readonly keyId: string | null;
    /** `<what is wrong>: got <value>. <how to fix>` */
    readonly message: string;
    readonly cause?: unknown;
  }) {
    super(props.code, `rotator ${props.step} for credential ${props.credential} generation ${props.generation}: ${props.message}`, {
      exitCode: ExitCode.INTERNAL,
      cause: props.cause,
    });
    this.step = props.step;
    this.credential = props.credential;
    this.generation = props.generation;
    this.keyId = props.keyId;
  }
}

/** A RotationError for the context's step, credential and generation. */
export function rotationError(
  ctx: { readonly step: StepName; readonly plan: { readonly credential: string; readonly generation: number; readonly accessKeyId: string | null } },
  code: RotationErrorCode,
  message: string,
  options: { readonly keyId?: string | null; readonly cause?: unknown } = {},
): RotationError {
  return new RotationError({
    code,
    step: ctx.step,
    credential: ctx.plan.credential,
    generation: ctx.plan.generation,
    keyId: options.keyId === undefined ? ctx.plan.accessKeyId : options.keyId,
    message,
    cause: options.cause,
  });
}
