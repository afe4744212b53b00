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
    const due = this.#sleepers.filter((x) => x.until <= this.#ms).sort((a, b) => a.until - b.until);
    this.#sleepers = this.#sleepers.filter((x) => x.until > this.#ms);
    for (const x of due) x.resolve();
  }

  #sleepers: { until: number; resolve: () => void }[] = [];

  /**
   * Resolves once the fake clock has advanced `ms` from now — woken inside `advance()`, so a
   * sleeper runs before anything else can tick again (no polling of the clock).
   */
  public sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#sleepers.push({ until: this.#ms + ms, resolve }));
  }

  /** Sleepers waiting on the fake clock. */
  public get sleepers(): number {
    return this.#sleepers.length;
  }

  /** Wakes every sleeper (the fake is closing). */
  public wakeAll(): void {
    const all = this.#sleepers;
    this.#sleepers = [];
    for (const x of all) x.resolve();
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
