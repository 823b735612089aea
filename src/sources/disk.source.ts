import { createReadStream, open, openSync, realpathSync, stat, statSync, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileErrorToHttp, fileNotFound } from '../http/file-errors.js';
import type { FileIdentity } from './file-identity.js';

/** Stats a file for download: a missing path, or one that is not a regular file, is a 404. */
export function statForDownload(path: string): Stats {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw fileErrorToHttp(error);
  }
  if (!stats.isFile()) throw fileNotFound();
  return stats;
}

/**
 * How much Node reads from a file at a time: 256 KiB rather than the streams' 64 KiB. Each chunk
 * costs a read and a socket write: on this project's bench, a quarter less of Node's CPU per 1 MiB
 * download (docs/benchmarks.md). The price: a slow client's download holds up to 256 KiB of its
 * file in memory rather than 64 KiB.
 */
const READ_CHUNK = 256 * 1024;

/** statForDownload() off the event loop: Node's own path asks the filesystem in the thread pool. */
function statForDownloadAsync(path: string): Promise<Stats> {
  return new Promise((resolve, reject) =>
    stat(path, (error, stats) => {
      if (error) reject(fileErrorToHttp(error));
      else if (!stats.isFile()) reject(fileNotFound());
      else resolve(stats);
    }),
  );
}

/**
 * A file on disk: a proxy reads it by its path, Node with a read stream. What the decision needs of
 * it (its size, its real path) is asked of the filesystem once, and only when a rule needs it.
 */
export class DiskSource {
  readonly kind = 'disk';
  readonly identity: FileIdentity;
  #stats?: Stats;
  #realPath?: string;

  /** `path` is absolute; `stats` when the file was checked already (a storage, `fromPath`). */
  constructor(
    readonly path: string,
    readonly url?: string,
    stats?: Stats,
  ) {
    this.identity = { path, url };
    this.#stats = stats;
  }

  /** The file's stats (checked once): a missing file is a 404. */
  get stats(): Stats {
    return (this.#stats ??= statForDownload(this.path));
  }

  /** Stats taken so far, without asking the filesystem. */
  get knownStats(): Stats | undefined {
    return this.#stats;
  }

  /** The path with every symlink resolved (once), to keep a proxy inside a rule's `sourceDir`. */
  realPath(): string {
    return (this.#realPath ??= realpathSync.native(this.path));
  }

  /** The file's stats, asked (once) off the event loop: a missing file is a 404. */
  async loadStats(): Promise<Stats> {
    return (this.#stats ??= await statForDownloadAsync(this.path));
  }

  /**
   * Opens the file for Node to send (the whole file, or `start`–`end`), off the event loop: a file
   * that vanished or became unreadable since it was checked is a 404 / 403 here (fileErrorToHttp),
   * through Nest's exception layer on any platform, rather than a stream error once the reply has
   * begun. (A callback `open`, not `fs.promises`: a stream over a FileHandle reads through a
   * promise per chunk, a stream over a descriptor does not.) `chunkSize`: how much is read at a time.
   */
  open(range?: { start: number; end: number }, chunkSize = READ_CHUNK): Promise<Readable> {
    return new Promise((resolve, reject) =>
      open(this.path, 'r', (error, fd) =>
        error ? reject(fileErrorToHttp(error)) : resolve(this.#streamOf(fd, range, chunkSize)),
      ),
    );
  }

  /** open(), at once: for Nest sending a DownloadFile by itself (no module in the way). */
  openSync(range?: { start: number; end: number }): Readable {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      throw fileErrorToHttp(error);
    }
    return this.#streamOf(fd, range, READ_CHUNK);
  }

  #streamOf(fd: number, range: { start: number; end: number } | undefined, chunkSize: number): Readable {
    const stream = createReadStream(this.path, { fd, ...range, highWaterMark: chunkSize });
    // Whoever sends the stream reports its errors (Nest's handler, see serve-file.ts); until then,
    // an error must not go unhandled and end the process.
    stream.on('error', () => {});
    return stream;
  }
}
