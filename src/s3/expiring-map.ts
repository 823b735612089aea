interface Entry<V> {
  value: V;
  /** Valid from this time (ms)… */
  from: number;
  /** …until just before this one. */
  until: number;
}

/**
 * A `Map` whose entries are valid for a while and which holds at most `maxEntries` of them: what
 * S3Storage's caches are built on, so that no number of distinct names grows them unbounded, and
 * memory follows the names in use, not every name ever seen.
 *
 * A `Map` iterates in insertion order, and the entries of one cache all live about as long, so
 * the first entries are the oldest and the closest to their end: storing one forgets the first
 * entries past their time, then, past the bound, the oldest, which have the least left to give.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, Entry<V>>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key` if `now` is within its time (a clock set back since is outside it). */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.from && now < entry.until) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Stores `key` (nothing when `maxEntries` is 0) as the newest entry. */
  set(key: string, value: V, from: number, until: number, now: number): void {
    if (this.maxEntries <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, from, until });
    for (const [first, entry] of this.#entries) {
      const current = now >= entry.from && now < entry.until;
      if (current && this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(first);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
