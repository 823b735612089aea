import { StreamableFile } from '@nestjs/common';
import { createReadStream, openSync, statSync, type Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { buildContentDisposition, guessContentType } from './content-headers.js';
import { fileErrorToHttp, fileNotFound } from './file-errors.js';
import type { ObjectSource } from './object-source.js';

export interface DownloadFileOptions {
  /** The name the client saves the file as. Default: the file's own base name. */
  name?: string;
  /** `Content-Disposition: attachment` (default) or, with `false`, `inline`. */
  attachment?: boolean;
  /** Shorthand for `attachment: false`. */
  inline?: boolean;
  /** Default: guessed from the name with mime-types. */
  contentType?: string;
}

interface FileSource {
  path?: string;
  url?: string;
  remoteUrl?: string;
  buffer?: Buffer;
  stats?: Stats;
  /** An object in a bucket (S3Storage): what it knows of it from HeadObject. */
  object?: { size?: number; modifiedAt?: Date; etag?: string };
}

/**
 * Something every StreamableFile accepts, standing in for the stream until it is needed: a
 * DownloadFile opens its file only when Nest sends it (see getStream()), so a response the proxy
 * serves never opens it at all.
 */
const DEFERRED_STREAM = { pipe() {}, on() {} } as unknown as Readable;

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
 * A file to download: a file on disk (with a path, and a public URL when it comes from a storage),
 * a remote file (URL only, for nginx), or a virtual in-memory file, which is never delegated.
 * It is a StreamableFile, so Nest sends it as one wherever this module is not in the way.
 */
export class DownloadFile extends StreamableFile {
  /** The name the client saves the file as. */
  readonly name: string;
  /** Absolute path on disk, for files on disk. */
  readonly path?: string;
  /** Public URL (a storage's `baseUrl` + name), matched against `sourceUrl` rules. */
  readonly url?: string;
  /** For remote files: where nginx fetches the file from. */
  readonly remoteUrl?: string;
  readonly size?: number;
  readonly modifiedAt?: Date;
  /** The file's stats when it was checked (files on disk). */
  readonly stats?: Stats;
  readonly contentType: string;
  readonly attachment: boolean;
  /** Content of a virtual file. */
  readonly buffer?: Buffer;
  /** The object store's ETag, for objects in a bucket. */
  readonly etag?: string;
  #object?: ObjectSource;
  #stream?: Readable;
  #released = false;
  #opened = false;

  protected constructor(source: FileSource, options: DownloadFileOptions, fallbackName: string) {
    super((source.buffer ?? DEFERRED_STREAM) as Readable);
    this.path = source.path;
    this.url = source.url;
    this.remoteUrl = source.remoteUrl;
    this.buffer = source.buffer;
    this.size = source.buffer?.length ?? source.stats?.size ?? source.object?.size;
    this.modifiedAt = source.stats?.mtime ?? source.object?.modifiedAt;
    this.etag = source.object?.etag;
    this.stats = source.stats;
    this.name = options.name ?? fallbackName;
    this.attachment = options.inline ? false : (options.attachment ?? true);
    this.contentType = options.contentType ?? guessContentType(this.name);
    if (source.buffer) this.#stream = super.getStream();
  }

  /** A file on disk. A missing file is a `NotFoundException` (404). */
  static fromPath(path: string, options: DownloadFileOptions = {}): DownloadFile {
    const absolute = resolve(path);
    return DownloadFile.onDisk(absolute, statForDownload(absolute), undefined, options);
  }

  /** @internal A file on disk already checked by a storage. */
  static onDisk(path: string, stats: Stats, url: string | undefined, options: DownloadFileOptions = {}): DownloadFile {
    return new DownloadFile({ path, stats, url }, options, basename(path));
  }

  /** A virtual file held in memory. It is always served by Node, never by the proxy. */
  static fromBuffer(
    content: Buffer | Uint8Array | string,
    options: DownloadFileOptions & { name: string },
  ): DownloadFile {
    const buffer = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    return new DownloadFile({ buffer }, options, options.name);
  }

  /**
   * A file at a remote HTTP(S) URL, which nginx fetches through an internal proxy location
   * (django-downloadview's "HTTP files with nginx"). Match it with a `sourceUrl` rule.
   */
  static fromUrl(url: string, options: DownloadFileOptions = {}): DownloadFile {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`DownloadFile.fromUrl takes an http(s) URL, got ${parsed.protocol}`);
    }
    const name = decodeURIComponent(parsed.pathname.split('/').pop() || 'download');
    return new DownloadFile({ url: parsed.href, remoteUrl: parsed.href }, options, name);
  }

  /**
   * @internal An object in a bucket, as S3Storage makes it: `url` is its public URL (what rules
   * match), `name` the download name; `withObject()` then gives it its signed URL and reader.
   */
  static forObject(
    info: { url: string; name: string; size?: number; modifiedAt?: Date; etag?: string },
    options: DownloadFileOptions = {},
  ): DownloadFile {
    return new DownloadFile({ url: info.url, object: info }, options, info.name);
  }

  /** @internal Attaches an object's signed URL and reader (once). */
  withObject(source: ObjectSource): this {
    if (this.#object) throw new Error('DownloadFile.withObject: the object is already set');
    this.#object = source;
    return this;
  }

  /** For an object in a bucket: its signed URL and reader (see S3Storage). */
  get object(): ObjectSource | undefined {
    return this.#object;
  }

  /** Whether this file lives in memory (never delegated to a proxy). */
  get isVirtual(): boolean {
    return this.buffer !== undefined;
  }

  /** The Content-Disposition header for this file. */
  get disposition(): string {
    return buildContentDisposition(this.name, this.attachment);
  }

  /** Opens the file (once) when Nest sends it; after `release()`, an empty stream instead. */
  override getStream(): Readable {
    if (!this.#stream) {
      this.#opened = !this.#released && this.path !== undefined;
      this.#stream = this.#opened ? this.#readStream() : Readable.from([]);
    }
    return this.#stream;
  }

  /** Whether the file on disk has been opened (a delegated download never is). */
  get opened(): boolean {
    return this.#opened;
  }

  /**
   * Opens the file now, when Node is about to send it (the whole file, or `start`–`end`): a file
   * that vanished or became unreadable since it was checked is a 404 / 403 (see fileErrorToHttp)
   * here, through Nest's exception layer on any platform, rather than a stream error once the reply
   * has begun.
   * Without a range, the file's own stream is opened; with one, a new stream is returned.
   */
  openForSending(range?: { start: number; end: number }): Readable {
    let fd: number;
    try {
      fd = openSync(this.path!, 'r');
    } catch (error) {
      throw fileErrorToHttp(error);
    }
    const stream = this.#readStream({ fd, ...range });
    if (!range) {
      this.#opened = true;
      this.#stream = stream;
    }
    return stream;
  }

  #readStream(options?: { fd: number; start?: number; end?: number }): Readable {
    const stream = createReadStream(this.path!, options);
    // Whoever sends the stream reports its errors (Nest's handler, see serve-download.ts); until
    // then, an error must not go unhandled and end the process.
    stream.on('error', () => {});
    return stream;
  }

  /** Tells the file it will not be sent (a proxy serves it), so it never opens a descriptor. */
  release(): void {
    this.#released = true;
    this.#stream?.destroy();
  }

  override getHeaders() {
    return { type: this.contentType, disposition: this.disposition, length: this.size };
  }
}

/**
 * Closes a StreamableFile that will not be sent (a proxy serves it, or the app refuses it): a
 * DownloadFile is released before it opens anything; a plain stream is destroyed, closing its file.
 */
export function closeUnsent(file: StreamableFile): void {
  if (file instanceof DownloadFile) file.release();
  else file.getStream().destroy();
}
