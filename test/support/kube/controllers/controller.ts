/** What every simulated controller implements: one synchronous reconcile pass per tick. */
import type { FakeClock } from '../clock.js';
import type { Registry } from '../registry.js';

export interface ControllerContext {
  readonly registry: Registry;
  readonly clock: FakeClock;
}

export interface Controller {
  readonly name: string;
  /** One reconcile pass over everything this controller owns. */
  step(ctx: ControllerContext): void;
  /** Promises of outside work still running (e.g. async pod runners); settle() waits for them. */
  pending?(): Promise<unknown>[];
}
