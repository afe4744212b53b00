import type { RotationPlan } from '../core/plan.js';
import type { Logger } from '../core/log.js';

/** The rotation steps, in the order a rotation runs them (`revoke` is the panic path). */
export const STEP_NAMES = ['activate', 'deliver', 'retire', 'revoke'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** What every step receives. */
export interface StepContext {
  readonly step: StepName;
  /** The validated plan of this generation. */
  readonly plan: RotationPlan;
  /** One JSON line per event; key IDs and names only. */
  readonly logger: Logger;
  /** The clock (injected in tests). */
  readonly now: () => Date;
  /** The process environment (in-cluster API address, overrides), read-only. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What a step reports when its post-condition holds. Evidence is identifiers, times and counts only. */
export interface StepResult {
  /** `done`: the step acted; `alreadyDone`: it found its post-condition already true. */
  readonly outcome: 'done' | 'alreadyDone';
  readonly evidence: Readonly<Record<string, string | number | boolean | null>>;
}

/** One rotation step. Every step observes first and acts only when its post-condition does not hold. */
export type Step = (ctx: StepContext) => Promise<StepResult>;

/** The dispatch table: one step per name, one signature. */
export type StepTable = Readonly<Record<StepName, Step>>;

/** The guard's answer: go on with the step, or stop with exit 0 because there is nothing to do. */
export type GuardResult = { readonly proceed: true } | { readonly proceed: false; readonly reason: string };

/** Runs before every step. */
export type Guard = (ctx: StepContext) => Promise<GuardResult>;
