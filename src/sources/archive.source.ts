import { createHash } from 'node:crypto';
import type { ArchiveEntry } from '../archives/archive-entry.js';
import { ZipStream } from '../archives/zip-stream.js';

/**
 * A zip archive of several files, built by Node as it is sent (see archives/): no proxy can take
 * it, so rules never see it. Its length is exact when its entries are stored, and its entity tag
 * comes from its entries' names and validators, known before any of them is read.
 */
export class ArchiveSource {
  readonly kind = 'archive';
  readonly identity = undefined;
  readonly zip: ZipStream;
  /** A weak tag: the same entries give the same tag, though not always the same bytes (mtimes). */
  readonly etag: string;

  constructor(
    readonly entries: readonly ArchiveEntry[],
    readonly compress: boolean,
  ) {
    this.zip = new ZipStream(entries, compress);
    const hash = createHash('sha256').update(compress ? 'deflate' : 'store');
    for (const { name, validator } of entries) hash.update(`\0${name}\0${validator}`);
    this.etag = `W/"${hash.digest('base64url').slice(0, 27)}"`;
  }

  /** The archive's exact length; undefined when its entries are deflated. */
  get size(): number | undefined {
    return this.zip.size;
  }

  /** Why Node serves it, with what it holds: the decision log's words. */
  get reason(): string {
    const size = this.size === undefined ? 'deflated, length unknown' : `${this.size} bytes`;
    return `an archive of ${this.entries.length} entries (${size}), built as it is sent: never delegated`;
  }
}
