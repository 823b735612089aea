import { StreamableFile } from '@nestjs/common';
import type { Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { DiskSource, statForDownload } from '../sources/disk.source.js';
import type { DownloadSource } from '../sources/download-source.js';
import { MemorySource } from '../sources/memory.source.js';
import { ObjectFileSource, type ObjectSource, type ObjectStat } from '../sources/object.source.js';
import { RemoteSource } from '../sources/remote.source.js';
import { buildContentDisposition, guessContentType } from './content-headers.js';

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

/**
 * Something every StreamableFile accepts, standing in for the stream until it is needed: a
 * DownloadFile opens its file only when Nest sends it (see getStream()), so a response the proxy
 * serves never opens it at all.
 */
const DEFERRED_STREAM = { pipe() {}, on() {} } as unknown as Readable;

/**
 * The body of a file that will not be sent: Nest asks every unsent StreamableFile for its stream
 * to destroy it, after each delegated download. A bare Readable that ends at once costs a third of
 * `Readable.from([])` (an async-iterator wrapper) to make and destroy.
 */
class EmptyStream extends Readable {
  override _read(): void {
    this.push(null);
  }
}

/**
 * A file to download, with a name, a content type and a source (`source.kind`): a file on disk, a
 * file in memory (never delegated), a remote URL (for nginx), or an object in a bucket (a storage's
 * `download()`). It is a StreamableFile, so Nest sends it as one wherever this module is not in the way.
 */
export class DownloadFile extends StreamableFile {
  /** Where the bytes come from. */
  readonly source: DownloadSource;
  /** The name the client saves the file as. */
  readonly name: string;
  readonly contentType: string;
  readonly attachment: boolean;
  #disposition?: string;
  #stream?: Readable;
  #released = false;
  #opened = false;
  #opening = false;

  protected constructor(source: DownloadSource, options: DownloadFileOptions, fallbackName: string) {
    super((source.kind === 'memory' ? source.buffer : DEFERRED_STREAM) as Readable);
    this.source = source;
    this.name = options.name ?? fallbackName;
    this.attachment = options.inline ? false : (options.attachment ?? true);
    this.contentType = options.contentType ?? guessContentType(this.name);
    if (source.kind === 'memory') this.#stream = super.getStream();
  }

  /** A file on disk. A missing file is a `NotFoundException` (404). */
  static fromPath(path: string, options: DownloadFileOptions = {}): DownloadFile {
    const absolute = resolve(path);
    return DownloadFile.onDisk(absolute, statForDownload(absolute), undefined, options);
  }

  /** @internal A file on disk already checked by a storage. */
  static onDisk(path: string, stats: Stats, url: string | undefined, options: DownloadFileOptions = {}): DownloadFile {
    return new DownloadFile(new DiskSource(path, url, stats), options, basename(path));
  }

  /** A virtual file held in memory. It is always served by Node, never by the proxy. */
  static fromBuffer(
    content: Buffer | Uint8Array | string,
    options: DownloadFileOptions & { name: string },
  ): DownloadFile {
    const buffer = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    return new DownloadFile(new MemorySource(buffer), options, options.name);
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
    return new DownloadFile(new RemoteSource(parsed.href), options, name);
  }

  /**
   * @internal An object in a bucket, as a storage makes it: `url` is its public URL (what rules
   * match), `name` the download name, `known` what the store said of it; `withObject()` then gives
   * it its signed URL and reader.
   */
  static forObject(info: { url: string; name: string; known?: ObjectStat }, options: DownloadFileOptions = {}) {
    return new DownloadFile(new ObjectFileSource(info.url, info.known), options, info.name);
  }

  /** @internal Attaches an object's signed URL and reader (once). */
  withObject(object: ObjectSource): this {
    if (this.source.kind !== 'object') throw new Error('DownloadFile.withObject: not an object in a bucket');
    this.source.attach(object);
    return this;
  }

  /** Absolute path on disk, for files on disk. */
  get path(): string | undefined {
    return this.source.kind === 'disk' ? this.source.path : undefined;
  }

  /** Public URL (a storage's `baseUrl` + name, or a remote file's URL), matched against `sourceUrl` rules. */
  get url(): string | undefined {
    return this.source.identity?.url;
  }

  /** For remote files: where nginx fetches the file from. */
  get remoteUrl(): string | undefined {
    return this.source.kind === 'remote' ? this.source.url : undefined;
  }

  /** Content of a virtual file. */
  get buffer(): Buffer | undefined {
    return this.source.kind === 'memory' ? this.source.buffer : undefined;
  }

  /** The file's stats when it was checked (files on disk). */
  get stats(): Stats | undefined {
    return this.source.kind === 'disk' ? this.source.knownStats : undefined;
  }

  get size(): number | undefined {
    const { source } = this;
    if (source.kind === 'memory') return source.buffer.length;
    return source.kind === 'disk' ? source.knownStats?.size : source.kind === 'object' ? source.known?.size : undefined;
  }

  get modifiedAt(): Date | undefined {
    const { source } = this;
    return source.kind === 'disk'
      ? source.knownStats?.mtime
      : source.kind === 'object'
        ? source.known?.modifiedAt
        : undefined;
  }

  /** The object store's ETag, for objects in a bucket. */
  get etag(): string | undefined {
    return this.source.kind === 'object' ? this.source.known?.etag : undefined;
  }

  /** For an object in a bucket: its signed URL and reader (see S3Storage). */
  get object(): ObjectSource | undefined {
    return this.source.kind === 'object' ? this.source.object : undefined;
  }

  /** Whether this file lives in memory (never delegated to a proxy). */
  get isVirtual(): boolean {
    return this.source.kind === 'memory';
  }

  /** The Content-Disposition header for this file (built once). */
  get disposition(): string {
    return (this.#disposition ??= buildContentDisposition(this.name, this.attachment));
  }

  /** Opens the file (once) when Nest sends it; after `release()`, an empty stream instead. */
  override getStream(): Readable {
    // Asked while openForSending() waits for the descriptor: Nest releasing a file it will not send
    // (its client left). It gets an empty stream, and the descriptor is closed once it comes.
    if (!this.#stream && this.#opening) this.#released = true;
    if (!this.#stream) {
      this.#opened = !this.#released && this.source.kind === 'disk';
      this.#stream = this.#opened ? (this.source as DiskSource).openSync() : new EmptyStream();
    }
    return this.#stream;
  }

  /** Whether the file on disk has been opened (a delegated download never is). */
  get opened(): boolean {
    return this.#opened;
  }

  /**
   * @internal Opens the whole file now, when Node is about to send it: a file that vanished since it
   * was checked is a 404 through Nest's exception layer rather than a stream error mid-reply.
   */
  async openForSending(): Promise<Readable> {
    this.#opening = true;
    let stream: Readable;
    try {
      stream = await (this.source as DiskSource).open();
    } finally {
      this.#opening = false;
    }
    if (this.#released) {
      stream.destroy(); // released meanwhile (the client left): nothing holds the descriptor
      return this.getStream();
    }
    this.#opened = true;
    this.#stream = stream;
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
