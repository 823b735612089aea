import { open, openSync, ReadStream, realpathSync, stat, statSync, type Stats } from 'node:fs';
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

/**
 * What a slow client's download reads at a time: the streams' default. Each chunk is written to the
 * socket in one go when the client has drained the last; with many slow clients, 256 KiB writes add
 * up within one turn of the event loop, and the app's other routes wait behind them (bench: JSON
 * p99 1.5× that beside plain streams, 100 clients at 1 MiB/s; docs/benchmarks-slow-one-process.md).
 */
const SLOW_CLIENT_CHUNK = 64 * 1024;

/** A client that held its download back longer than this is slow; one that keeps up drains in far less. */
const SLOW_CLIENT_PAUSE_MS = 10;

// @types/node declares no constructor for fs.ReadStream, which `createReadStream` calls with these.
const FileStream = ReadStream as unknown as new (path: string, options: object) => ReadStream;

/**
 * A file's read stream that reads `highWaterMark` at a time while its client keeps up, and
 * SLOW_CLIENT_CHUNK from when the client has held it back (`pipe()` pauses it until the socket
 * drains) for longer than SLOW_CLIENT_PAUSE_MS, to the end. (The size `_read()` is asked is advisory
 * for any Readable; Node's file stream reads what it is given. No library adapts it.)
 */
class FileReadStream extends FileStream {
  #pausedAt?: number;
  #slowClient = false;

  constructor(path: string, options: object) {
    super(path, options);
    this.on('pause', () => (this.#pausedAt = performance.now()));
    this.on('resume', () => {
      if (this.#pausedAt !== undefined && performance.now() - this.#pausedAt > SLOW_CLIENT_PAUSE_MS) {
        this.#slowClient = true;
      }
    });
  }

  override _read(size: number): void {
    super._read(this.#slowClient ? Math.min(size, SLOW_CLIENT_CHUNK) : size);
  }
}

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
    const stream = new FileReadStream(this.path, { fd, ...range, highWaterMark: chunkSize });
    // Whoever sends the stream reports its errors (Nest's handler, see serve-file.ts); until then,
    // an error must not go unhandled and end the process.
    stream.on('error', () => {});
    return stream;
  }
}
