import type { DownloadFile, DownloadFileOptions } from '../files/download-file.js';
import type { OnConflict, SaveData } from './atomic-write.js';

/** Per-call options of `save()`; they override the storage's own. */
export interface SaveOptions {
  /** When the name is taken. Default: the storage's, `'rename'` unless set. */
  onConflict?: OnConflict;
  /** A body that grows past this many bytes is refused with a 413 while streaming. */
  maxBytes?: number;
}

/**
 * What every storage offers (`FileSystemStorage`, `SignedFileSystemStorage`, `S3Storage`): files
 * by name, each with a public URL that rules match by `sourceUrl`. Names come from clients: every
 * method refuses one that leaves the storage (400). A controller may return `download()`'s result
 * as it is, promise or not.
 */
export interface Storage {
  /** The file, ready to return from a route: a 404 when it is missing. */
  download(name: string, options?: DownloadFileOptions): DownloadFile | Promise<DownloadFile>;
  exists(name: string): boolean | Promise<boolean>;
  /** The public URL of a name (`baseUrl` + the percent-encoded name). */
  url(name: string): string;
  /** Stores `data` and resolves with the name it was stored under. */
  save(name: string, data: SaveData, options?: SaveOptions): Promise<string>;
  /** Removes a file: true when it was there. */
  delete(name: string): Promise<boolean>;
}
