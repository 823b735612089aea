/**
 * A `Map` that holds at most `maxEntries` keys, forgetting the least recently used first: a `Map`
 * iterates in insertion order, so a read moves its key to the end and the first key is the coldest.
 * What S3Storage's caches are built on, so that no number of distinct names grows them unbounded.
 */
export class BoundedMap<V> {
  readonly #entries = new Map<string, V>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key`, now the most recently used. */
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  /** Stores `key`, forgetting the least recently used keys past the bound (nothing when it is 0). */
  set(key: string, value: V): void {
    if (this.maxEntries <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
