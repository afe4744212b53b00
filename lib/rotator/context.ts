import type { RotationPlan } from '../core/plan.js';
import type { Logger } from '../core/log.js';
import type { ProviderClient } from '../providers/provider.js';
import type { Sleep } from './clock.js';
import type { KubeSide } from './kube/api.js';
import type { HeldLease } from './kube/lease.js';

/** The rotation steps, in the order a rotation runs them (`revoke` is the panic path). */
export const STEP_NAMES = ['activate', 'deliver', 'retire', 'revoke'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Reads a mounted file (admin Secret, staging Secret, CA bundle). */
export type ReadMounted = (path: string) => Promise<Buffer>;

/** Builds the provider client for the plan (injectable for tests). */
export type ProviderFactory = (ctx: StepContext) => Promise<ProviderClient | null>;

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
  /** Sleeps on the context's clock. @default - setTimeout */
  readonly sleep?: Sleep;
  /** The Kubernetes side. @default - built from the in-cluster service account (or KUBECONFIG) */
  readonly kube?: KubeSide;
  /** Reads mounted files. @default - node:fs readFile */
  readonly readMounted?: ReadMounted;
  /** Builds the provider client. @default - from plan.provider and the mounted admin Secret */
  readonly provider?: ProviderFactory;
  /** This rotator's identity (the Lease holder). @default - env REKEY_POD_NAME (the Job sets it from metadata.name), POD_NAME, HOSTNAME, or `rotator-<pid>` */
  readonly holder?: string;
  /** Set by the guard: the credential's Lease while the step runs. */
  lease?: HeldLease;
  /**
   * Test hook: called at every named step boundary (before/after each provider call and each
   * Kubernetes write). Throwing from it simulates a crash at that point. @default - nothing
   */
  readonly boundary?: (point: string) => void | Promise<void>;
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
