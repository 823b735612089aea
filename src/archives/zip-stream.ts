import type { Readable } from 'node:stream';
import { ZipFile, type ReadStreamOptions } from 'yazl';
import { onceClosed } from '../platform/platform.js';
import type { ArchiveEntry } from './archive-entry.js';
import { useNativeCrc32ForYazl } from './native-crc32.js';

useNativeCrc32ForYazl();

/** Regular file, rw-r--r--: what unzip gives the extracted files. */
const FILE_MODE = 0o100644;

/**
 * A zip of `entries`, built by yazl as it is read: each entry is opened only when the archive
 * reaches it (`addReadStreamLazy`) and none before `start()`, so an archive answered with HEAD or a
 * 304 never opens a file. yazl pipes each entry into its output (backpressure from the client
 * reaches the disk or the bucket) and adds ZIP64 records where sizes or the entry count need them.
 */
export class ZipStream {
  /** The archive's exact length; undefined when entries are deflated (yazl cannot know it before). */
  readonly size?: number;
  readonly #zip = new ZipFile();
  readonly #controller = new AbortController();
  readonly #started: Promise<void>;
  #start!: () => void;
  /** The entry being read, the only one open at any time. */
  #current?: Readable;
  #failed = false;
  /** Told when an entry fails mid-archive (a read error, a size that changed, an object replaced). */
  onError: (error: Error) => void = () => {};

  constructor(entries: readonly ArchiveEntry[], compress: boolean) {
    this.#started = new Promise((resolve) => (this.#start = resolve));
    this.#zip.on('error', (error: Error) => this.#fail(error));
    // Whoever sends the output reports its errors; until then, one must not go unhandled.
    this.output.on('error', () => {});
    // Destroyed before its end (Nest's adapters do so when the client leaves, with or without this
    // module's interceptor): the entry being read is closed too, which pipe() alone would leave open.
    this.output.once('close', () => {
      if (!this.output.readableEnded) this.close();
    });
    this.#closeWithWhatItIsPipedTo();
    for (const entry of entries) {
      const options: Partial<ReadStreamOptions> = {
        size: entry.size,
        mtime: entry.modifiedAt,
        mode: FILE_MODE,
        compress,
      };
      this.#zip.addReadStreamLazy(entry.name, options, (done) => {
        this.#open(entry).then(
          (stream) => done(null, stream),
          (error: Error) => this.#fail(error),
        );
      });
    }
    let size = -1;
    // Called at once: every entry's size is known (yazl gives -1 when entries are deflated).
    // forceZip64Format: yazl 3.3's size counts ZIP64 end records once the central directory passes
    // 64 KiB (about 900 entries), where its writer adds them only past 4 GiB or 65,535 entries: the
    // Content-Length would promise 76 bytes more than are sent, and the client would wait for them.
    // With the records always written, both agree; every unzip tool reads them.
    (this.#zip.end as (options: object, sizeKnown: (size: number) => void) => void)(
      { forceZip64Format: true },
      (total) => (size = total),
    );
    if (size >= 0) this.size = size;
  }

  /** The archive's bytes: nothing is opened before the first read. */
  get output(): Readable {
    return this.#zip.outputStream as Readable;
  }

  /**
   * Some adapters pipe a StreamableFile and never destroy it when the client leaves (NestJS 12.0's
   * Express adapter, without this module in the way): pipe() then only unpipes, and the archive
   * would wait, its entry open, for good. Whatever the output is piped into closing first closes it.
   * (Through platform's onceClosed: one shared 'close' listener per response.)
   */
  #closeWithWhatItIsPipedTo(): void {
    const output = this.output;
    const pipe = output.pipe.bind(output);
    output.pipe = <T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
      onceClosed(destination, () => {
        if (!output.readableEnded) output.destroy();
      });
      return pipe(destination, options);
    };
  }

  /** Lets entries be opened (the body is about to be sent). */
  start(): Readable {
    this.#start();
    return this.output;
  }

  /** Stops everything (the client left, or the archive is not sent): the open entry is closed. */
  close(error?: Error): void {
    this.#controller.abort();
    this.#current?.destroy();
    this.#current = undefined;
    if (!this.output.readableEnded) this.output.destroy(error);
  }

  async #open(entry: ArchiveEntry): Promise<Readable> {
    await this.#started;
    const signal = this.#controller.signal;
    signal.throwIfAborted();
    const stream = await entry.open(signal);
    if (signal.aborted) {
      stream.destroy();
      signal.throwIfAborted();
    }
    // yazl pipes the entry but leaves its errors to whoever made it.
    stream.on('error', (error) => this.#fail(error));
    stream.once('close', () => {
      if (this.#current === stream) this.#current = undefined;
    });
    this.#current = stream;
    return stream;
  }

  /** An entry failed: after an abort, expected; otherwise the archive cannot be whole. */
  #fail(error: Error): void {
    if (this.#failed || this.#controller.signal.aborted) return;
    this.#failed = true;
    // The output fails too, so that whoever sends it cuts the connection: a client must never take
    // a truncated archive for a whole one.
    this.close(error);
    this.onError(error);
  }
}
