import type { Readable } from 'node:stream';
import type { FileIdentity } from './file-identity.js';

/** What an object store says of an object: its size and validators. */
export interface ObjectStat {
  size: number;
  modifiedAt?: Date;
  /** The store's (strong) entity tag, quoted as the store gives it. */
  etag?: string;
}

/**
 * How a storage hands an object in a bucket to a `DownloadFile` (see `S3Storage`): a short-lived
 * signed URL, for a proxy or the client, and what Node needs to send it itself. Errors are
 * HttpExceptions that name no bucket, key or endpoint.
 */
export interface ObjectSource {
  /** The signed URL (it answers with the file's Content-Type and Content-Disposition). */
  readonly signedUrl: string;
  /** The object's size and validators: a 404 when it is missing. `fresh` skips any cached answer. */
  stat(fresh?: boolean): Promise<ObjectStat>;
  /**
   * The object's bytes (`start`–`end` inclusive, or all of it), of the version tagged `etag` when
   * given: an object replaced since it was stat'ed is an `ObjectChangedError`, never a mix of two
   * versions. Aborted with `signal` when the client goes away.
   */
  read(range: { start: number; end: number } | undefined, signal: AbortSignal, etag?: string): Promise<Readable>;
}

/** The object changed between `stat()` and `read()`: Node stats it afresh and reads again. */
export class ObjectChangedError extends Error {
  constructor() {
    super('The object changed while it was being read');
  }
}

/**
 * An object in a bucket as a download: rules match its public URL; nginx fetches it by its signed
 * URL, `redirect` sends the client there, and Node reads it through the storage.
 */
export class ObjectFileSource {
  readonly kind = 'object';
  readonly identity: FileIdentity;
  #object?: ObjectSource;

  /** `known`: what the storage already knows of the object (HeadObject), when it asked. */
  constructor(
    readonly url: string,
    readonly known?: ObjectStat,
  ) {
    this.identity = { url };
  }

  get object(): ObjectSource | undefined {
    return this.#object;
  }

  /** Attaches the storage's signed URL and reader (once). */
  attach(object: ObjectSource): void {
    if (this.#object) throw new Error('DownloadFile.withObject: the object is already set');
    this.#object = object;
  }
}
