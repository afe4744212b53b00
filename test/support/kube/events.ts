/** Test helper: a log of observed events that a test can await, bounded by a generous deadline. */

export class EventLog<T> {
  readonly #items: T[] = [];
  readonly #waiters = new Set<() => void>();

  public get items(): readonly T[] {
    return this.#items;
  }

  public push(item: T): void {
    this.#items.push(item);
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Resolves once `predicate(items)` holds (checked now and after each push). The deadline only
   * bounds a wait that would otherwise hang; it never decides the outcome of a healthy test.
   */
  public waitFor(predicate: (items: readonly T[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (predicate(this.#items)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this.#items)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: got ${JSON.stringify(this.#items)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}
