/** The fake cluster's clock: every timestamp the fake writes comes from here, never from the machine. */

export class FakeClock {
  #ms: number;

  /** @param start @default 2026-01-01T00:00:00Z */
  public constructor(start: Date = new Date('2026-01-01T00:00:00Z')) {
    this.#ms = start.getTime();
  }

  public now(): Date {
    return new Date(this.#ms);
  }

  public nowMs(): number {
    return this.#ms;
  }

  public advance(seconds: number): void {
    this.#ms += seconds * 1000;
  }

  /** metav1.Time wire form: RFC 3339, whole seconds (`2026-01-01T00:00:05Z`). */
  public time(offsetSeconds = 0): string {
    return rfc3339(this.#ms + offsetSeconds * 1000);
  }

  /** metav1.MicroTime wire form: exactly 6 fractional digits. */
  public microTime(): string {
    return new Date(this.#ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Parses a metav1.Time / MicroTime string to epoch milliseconds. */
export function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}
