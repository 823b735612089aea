import type { Readable } from 'node:stream';
import { DownloadFile } from '../files/download-file.js';
import { ArchiveSource } from '../sources/archive.source.js';
import { archiveEntry, type ArchiveEntry, type EntrySource } from './archive-entry.js';
import { EntryNames } from './entry-names.js';

export interface DownloadArchiveOptions {
  /** The name the client saves the archive as. Default: `archive.zip`. */
  name?: string;
  /** `Content-Disposition: attachment` (default) or, with `false`, `inline`. */
  attachment?: boolean;
  /**
   * Deflate the entries. Default `false`: entries are stored, so the archive's length is exact and
   * sent as `Content-Length`; deflated, it is sent chunked.
   */
  compress?: boolean;
}

export interface DownloadArchiveFromOptions extends DownloadArchiveOptions {
  /** The entries' names in the archive, by the storage name (a function) or in the order of `names`. Default: the storage name. */
  entryNames?: readonly string[] | ((name: string, index: number) => string);
}

/** A file for an archive, with the name it takes there (default: the file's download name). */
export interface ArchiveFile {
  file: DownloadFile | Promise<DownloadFile>;
  name?: string;
}

/** What `from()` needs of a storage: `FileSystemStorage`, `SignedFileSystemStorage` and `S3Storage` fit. */
export interface ArchivableStorage {
  download(name: string): DownloadFile | Promise<DownloadFile>;
}

/** How many objects' sizes are asked of a bucket at once. */
const CONCURRENT_CHECKS = 16;

/**
 * Several files as one zip download, built by Node as it is sent, never held whole in memory or on
 * disk. Return it from a route as a `DownloadFile`. Every entry is checked when the archive is made
 * (a missing file is a 404, an entry name that cannot be made safe a 400, before any byte), then
 * opened only when the archive reaches it and closed right after; a client that leaves stops it all.
 */
export class DownloadArchive extends DownloadFile {
  declare readonly source: ArchiveSource;
  #released = false;

  private constructor(source: ArchiveSource, options: DownloadArchiveOptions) {
    super(
      source,
      { name: options.name, attachment: options.attachment, contentType: 'application/zip' },
      'archive.zip',
    );
  }

  /** The files `names` of a storage, each under its storage name unless `entryNames` says otherwise. */
  static async from(
    storage: ArchivableStorage,
    names: readonly string[],
    options: DownloadArchiveFromOptions = {},
  ): Promise<DownloadArchive> {
    const { entryNames } = options;
    const entryName = (name: string, index: number) =>
      typeof entryNames === 'function' ? entryNames(name, index) : (entryNames?.[index] ?? name);
    const files = await mapBounded(names, async (name, index) => ({
      file: await storage.download(name),
      name: entryName(name, index),
    }));
    return DownloadArchive.of(files, options);
  }

  /**
   * DownloadFiles from any storage (or promises of them, as `S3Storage.download()` gives), or made
   * in memory, each under its download name, or under `name` with `{ file, name }`.
   */
  static async of(
    files: readonly (DownloadFile | Promise<DownloadFile> | ArchiveFile)[],
    options: DownloadArchiveOptions = {},
  ): Promise<DownloadArchive> {
    const items = files.map((item) =>
      item instanceof DownloadFile || item instanceof Promise ? { file: item, name: undefined } : item,
    );
    // Only the first failure is the answer: the promises given are never left rejected unhandled.
    for (const { file } of items) if (file instanceof Promise) file.catch(() => {});
    const resolved = await mapBounded(items, async ({ file, name }) => {
      const resolvedFile = await file;
      return { file: resolvedFile, name: name ?? resolvedFile.name };
    });
    const names = new EntryNames();
    const named = resolved.map(({ file, name }) => ({ file, name: names.take(name) }));
    const createdAt = new Date();
    const entries: ArchiveEntry[] = await mapBounded(named, ({ file, name }) =>
      // An archive's own source is not an EntrySource: archiveEntry() refuses it, naming its kind.
      archiveEntry(file.source as EntrySource, name, createdAt),
    );
    return new DownloadArchive(new ArchiveSource(entries, options.compress ?? false), options);
  }

  /** How many files the archive holds. */
  get entryCount(): number {
    return this.source.entries.length;
  }

  /** The archive's exact length; undefined when its entries are deflated. */
  override get size(): number | undefined {
    return this.source.size;
  }

  override get etag(): string {
    return this.source.etag;
  }

  /** The archive's bytes; entries are opened as the archive reaches them. After `release()`, nothing is opened. */
  override getStream(): Readable {
    if (this.#released) this.source.zip.close();
    return this.#released ? this.source.zip.output : this.source.zip.start();
  }

  /** Tells the archive it will not be sent: it never opens an entry. */
  override release(): void {
    this.#released = true;
    this.source.zip.close();
  }
}

/** `map` over `items` with at most CONCURRENT_CHECKS calls pending (objects are stat'ed), results in order. */
async function mapBounded<T, R>(items: readonly T[], map: (item: T, index: number) => R | Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await map(items[index], index);
      } catch (error) {
        next = items.length; // the first failure is the answer: check nothing more
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_CHECKS, items.length) }, worker));
  return results;
}
