import { mkdirSync, writeFileSync, type Stats } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { DownloadFile, statForDownload, type DownloadFileOptions } from '../files/download-file.js';
import { encodePathSegments } from '../backends/encoding.js';
import { realRoot, resolveInside, statInside } from './path-safety.js';
import { fileNotFound } from '../files/file-errors.js';

export interface FileSystemStorageOptions {
  /** Directory the files live in. */
  location: string;
  /** Public URL prefix of the files, e.g. `/media/` (what `sourceUrl` rules match). */
  baseUrl?: string;
  /** Serve files through symlinks that point outside `location`. Default false. */
  allowSymlinksOutside?: boolean;
}

/**
 * Files below a directory, each with a path and a public URL — like Django's FileSystemStorage.
 * Names come from clients, so every method refuses names that leave `location`.
 */
export class FileSystemStorage {
  readonly location: string;
  readonly baseUrl: string;
  readonly #realLocation: string;
  readonly #allowSymlinksOutside: boolean;

  constructor(options: FileSystemStorageOptions) {
    if (!options || typeof options.location !== 'string' || options.location === '') {
      throw new TypeError('FileSystemStorage: "location" is required');
    }
    this.location = resolve(options.location);
    const baseUrl = options.baseUrl ?? '/';
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.#realLocation = realRoot(this.location);
    this.#allowSymlinksOutside = options.allowSymlinksOutside ?? false;
  }

  /** Absolute path of a file. */
  path(name: string): string {
    return resolveInside(this.location, name);
  }

  /** Public URL of a file (`baseUrl` + percent-encoded name, normalised: `a/./b` is `a/b`). */
  url(name: string): string {
    return this.#urlOf(this.path(name));
  }

  #urlOf(path: string): string {
    return this.baseUrl + encodePathSegments(relative(this.location, path).split(sep).join('/'));
  }

  exists(name: string): boolean {
    try {
      return this.#stat(resolveInside(this.location, name)).isFile();
    } catch {
      return false;
    }
  }

  /** A DownloadFile for a name. A missing file is a 404, a name that leaves `location` a 400. */
  download(name: string, options: DownloadFileOptions = {}): DownloadFile {
    const path = resolveInside(this.location, name);
    return DownloadFile.onDisk(path, this.#stat(path), this.#urlOf(path), options);
  }

  async save(name: string, data: string | Uint8Array): Promise<string> {
    const path = this.path(name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
    return name;
  }

  /** Synchronous `save()`, for fixtures and start-up code. */
  saveSync(name: string, data: string | Uint8Array): string {
    const path = this.path(name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    return name;
  }

  /** The file's stats: a 404 when it is missing, not a file, or a symlink out of `location`. */
  #stat(path: string): Stats {
    if (this.#allowSymlinksOutside) return statForDownload(path);
    const stats = statInside(this.location, this.#realLocation, path);
    if (!stats.isFile()) throw fileNotFound();
    return stats;
  }
}
