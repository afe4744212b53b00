/** Time for the rotator: every wait reads `now` and sleeps through `sleep`, both injectable, so tests never depend on machine speed. */

/** Sleeps `ms` milliseconds of the context's clock. */
export type Sleep = (ms: number) => Promise<void>;

/** The system sleep (setTimeout). */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Exponential backoff: `initial`, doubling, capped at `max`. */
export function backoff(attempt: number, initialMs = 500, maxMs = 8000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
}

/** RFC 3339 with milliseconds (what the record stores). */
export function iso(d: Date): string {
  return d.toISOString();
}
