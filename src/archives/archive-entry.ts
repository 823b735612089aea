import etag from 'etag';
import { PassThrough, type Readable } from 'node:stream';
import type { DiskSource } from '../sources/disk.source.js';
import type { MemorySource } from '../sources/memory.source.js';
import type { ObjectFileSource } from '../sources/object.source.js';
import type { RemoteSource } from '../sources/remote.source.js';

/** How much of an entry on disk is read at a time. */
const ENTRY_CHUNK = 128 * 1024;

/** The sources a file of an archive may have (an archive in an archive is not one of them). */
export type EntrySource = DiskSource | MemorySource | ObjectFileSource | RemoteSource;

/** One file of an archive: its name in the archive, and what yazl needs to add it without reading it. */
export interface ArchiveEntry {
  /** The name in the archive (safe and unique, see entry-names.ts). */
  readonly name: string;
  /** Its size, known before the archive starts: a stored archive's length is exact. */
  readonly size: number;
  readonly modifiedAt: Date;
  /** What says the bytes are the same (size and mtime, the store's ETag, the content's tag). */
  readonly validator: string;
  /** Opens the bytes when the archive reaches this entry; `signal` aborts an object's read. */
  open(signal: AbortSignal): Promise<Readable>;
}

/**
 * What an archive needs of a file's source, asked up front: a file on disk is stat'ed (a missing
 * one is a 404 now, not a truncated archive later), an object in a bucket stat'ed unless its
 * storage already did; a file in memory is there. A remote file has no size before it is fetched.
 */
export async function archiveEntry(source: EntrySource, name: string, createdAt: Date): Promise<ArchiveEntry> {
  switch (source.kind) {
    case 'disk': {
      const stats = source.stats;
      return {
        name,
        size: stats.size,
        modifiedAt: stats.mtime,
        validator: etag(stats),
        // 128 KiB at a time, not the 256 KiB of a single file: an archive's bytes go through yazl's
        // streams too, and a hundred slow clients each hold what their entry read last.
        open: () => source.open(undefined, ENTRY_CHUNK),
      };
    }
    case 'memory': {
      const { buffer } = source;
      return {
        name,
        size: buffer.length,
        modifiedAt: createdAt,
        validator: etag(buffer),
        open: () => Promise.resolve(new PassThrough().end(buffer)),
      };
    }
    case 'object': {
      const object = source.object;
      if (!object) throw new TypeError('DownloadArchive: an object in a bucket without its reader (see S3Storage)');
      const stat = await object.stat();
      return {
        name,
        size: stat.size,
        modifiedAt: stat.modifiedAt ?? createdAt,
        validator: stat.etag ?? `${stat.size}-${stat.modifiedAt?.getTime()}`,
        // The version stat'ed, or an ObjectChangedError: never a mix of two versions in one entry.
        open: (signal) => object.read(undefined, signal, stat.etag),
      };
    }
    default:
      throw new TypeError(
        `DownloadArchive: a ${source.kind} file cannot be an entry (files on disk, in memory and in a bucket can)`,
      );
  }
}
