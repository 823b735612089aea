import type { Readable } from 'node:stream';

/** The request headers Node passes on when it reads an object for a client. */
export interface ObjectReadRequest {
  method: 'GET' | 'HEAD';
  range?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifMatch?: string;
  ifUnmodifiedSince?: string;
  ifRange?: string;
  /** Aborted when the client goes away: the read stops. */
  signal: AbortSignal;
}

/** What the object store answered: its status (200/206/304/412/416), headers and body. */
export interface ObjectReadResult {
  status: number;
  headers: Record<string, string>;
  body?: Readable;
}

/**
 * An object in a bucket, as a `DownloadFile` holds it (see `S3Storage`): a short-lived signed URL
 * for a proxy or the client, and a reader for when Node sends it itself. Errors are HttpExceptions
 * that name no bucket, key or endpoint.
 */
export interface ObjectSource {
  /** The signed URL (it answers with the file's Content-Type and Content-Disposition). */
  readonly signedUrl: string;
  read(request: ObjectReadRequest): Promise<ObjectReadResult>;
}
