import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { ExpiringMap } from './expiring-map.js';

/** What a download uses of a HeadObject answer: the object's size and validators. */
export type ObjectHead = Pick<HeadObjectCommandOutput, '$metadata' | 'ContentLength' | 'LastModified' | 'ETag'>;

/**
 * What HeadObject said of each key for `ttl` ms from when it was asked, for at most `maxEntries`
 * keys (the oldest answers go first), so that a hot object is asked about once per `ttl`, not at
 * every download.
 *
 * - Only an object that is there is kept. "Missing" is never cached: an object uploaded by another
 *   instance of the app (or by anything else) must be downloadable at once, and a missing object
 *   stays a 404 because the bucket is asked every time. A download delegated on a cached answer
 *   after the object went away behind the storage's back is still a 404: nginx (sample/nginx-s3.conf)
 *   or Node's GetObject gets the bucket's.
 * - Errors (denied, unreachable…) are never cached either.
 * - Callers asking for the same key while a HeadObject is on its way share it.
 * - `invalidate()` (after every write through the storage) forgets the key, and an answer then
 *   still on its way is not kept: it may predate the write.
 *
 * The age is measured on `Date.now()`; an answer from the future (the clock was set back) is stale.
 */
export class HeadCache {
  readonly #answers: ExpiringMap<ObjectHead>;
  readonly #asking = new Map<string, Promise<ObjectHead>>();

  constructor(
    readonly ttl: number,
    maxEntries: number,
  ) {
    this.#answers = new ExpiringMap(maxEntries);
  }

  /** How many answers are kept now (never more than `maxEntries`). */
  get size(): number {
    return this.#answers.size;
  }

  /** The answer for `key` if younger than `ttl`, else the one on its way, else what `send()` gets. */
  get(key: string, send: () => Promise<ObjectHead>): Promise<ObjectHead> {
    const head = this.#answers.get(key, Date.now());
    if (head) return Promise.resolve(head);
    return this.#asking.get(key) ?? this.ask(key, send);
  }

  /**
   * Asks now (`send()`), whatever is kept or on its way: callers that come meanwhile share this
   * answer, and it replaces what was kept (an older question still on its way is then not kept).
   */
  ask(key: string, send: () => Promise<ObjectHead>): Promise<ObjectHead> {
    const askedAt = Date.now();
    const asking: Promise<ObjectHead> = send().then(
      (head) => {
        if (this.#asking.get(key) === asking) {
          this.#asking.delete(key);
          this.#answers.set(key, head, askedAt, askedAt + this.ttl, Date.now());
        }
        return head;
      },
      (error: unknown) => {
        // Missing now, or unknown: an answer kept from before (exists() asks afresh) no longer holds.
        if (this.#asking.get(key) === asking) this.invalidate(key);
        throw error;
      },
    );
    this.#asking.set(key, asking);
    return asking;
  }

  /** Forgets `key`: the next `get()` asks the bucket. */
  invalidate(key: string): void {
    this.#answers.delete(key);
    this.#asking.delete(key);
  }
}
