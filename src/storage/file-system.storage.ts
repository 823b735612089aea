import { ConflictException } from '@nestjs/common';
import type { SaveOptions, Storage } from './storage.interface.js';

export type { SaveOptions };
import { closeSync, lstatSync, mkdirSync, unlinkSync, type Stats } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { DownloadFile, type DownloadFileOptions } from '../files/download-file.js';
import { statForDownload } from '../sources/disk.source.js';
import { encodePathSegments } from '../paths/path-encoding.js';
import { below, parentInside, realRoot, resolveFileInside, resolveInside, statInside } from './path-safety.js';
import { fileNotFound, writeErrorToHttp } from '../http/file-errors.js';
import { storageFailed, uploadEnded } from '../metrics/storage-events.js';
import {
  commitTemporary,
  ON_CONFLICT,
  openTemporary,
  openTemporaryAsync,
  removeQuietly,
  syncDirectory,
  temporaryPath,
  writeAll,
  writeBytesSync,
  type OnConflict,
  type SaveData,
} from './atomic-write.js';

export interface FileSystemStorageOptions {
  /** Directory the files live in. */
  location: string;
  /** Public URL prefix of the files, e.g. `/media/` (what `sourceUrl` rules match). */
  baseUrl?: string;
  /** Serve and save files through symlinks that point outside `location`. Default false. */
  allowSymlinksOutside?: boolean;
  /** What `save()` does when the name is taken. Default `'rename'` (a free name, as Django does). */
  onConflict?: OnConflict;
  /** The largest body `save()` accepts, in bytes (413 past it). Default: no limit. */
  maxBytes?: number;
}

function checkSaveOptions(options: SaveOptions, where: string): void {
  if (options.onConflict !== undefined && !ON_CONFLICT.includes(options.onConflict)) {
    throw new TypeError(
      `${where}: "onConflict" must be one of ${ON_CONFLICT.join(', ')}, got ${JSON.stringify(options.onConflict)}`,
    );
  }
  if (options.maxBytes !== undefined && !(Number.isSafeInteger(options.maxBytes) && options.maxBytes >= 0)) {
    throw new TypeError(`${where}: "maxBytes" must be a non-negative integer, got ${JSON.stringify(options.maxBytes)}`);
  }
}

/**
 * Files below a directory, each with a path and a public URL — like Django's FileSystemStorage.
 * Names come from clients, so every method refuses names that leave `location`.
 */
export class FileSystemStorage implements Storage {
  readonly location: string;
  readonly baseUrl: string;
  #realLocation: string;
  #rootMade = false;
  readonly #allowSymlinksOutside: boolean;
  readonly #onConflict: OnConflict;
  readonly #maxBytes: number;

  constructor(options: FileSystemStorageOptions) {
    if (!options || typeof options.location !== 'string' || options.location === '') {
      throw new TypeError('FileSystemStorage: "location" is required');
    }
    this.location = resolve(options.location);
    const baseUrl = options.baseUrl ?? '/';
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.#realLocation = realRoot(this.location);
    this.#allowSymlinksOutside = options.allowSymlinksOutside ?? false;
    checkSaveOptions(options, 'FileSystemStorage');
    this.#onConflict = options.onConflict ?? 'rename';
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
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
    return this.baseUrl + encodePathSegments(below(this.location, path).split(sep).join('/'));
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
    let stats: Stats;
    try {
      stats = this.#stat(path);
    } catch (error) {
      throw storageFailed('filesystem', error);
    }
    return DownloadFile.onDisk(path, stats, this.#urlOf(path), options);
  }

  /**
   * Stores `data` (text, bytes, a stream such as an upload or a request) under `name`, and resolves
   * with the name it was stored under (another one with `onConflict: 'rename'`, the default, when
   * the name is taken). The bytes go to a temporary file beside the target, are flushed, and are
   * renamed into place: a download running meanwhile gets the old file or the new one, whole.
   * Refused: a name that leaves the storage (400), a symlink on the way out of it or at the name
   * (403), a taken name with `onConflict: 'error'` (409), a body past `maxBytes` (413), a full disk
   * (507). Nothing is left behind when it fails.
   */
  async save(name: string, data: SaveData, options: SaveOptions = {}): Promise<string> {
    try {
      const stored = await this.#save(name, data, options);
      uploadEnded('filesystem');
      return stored;
    } catch (error) {
      uploadEnded('filesystem', error);
      throw error;
    }
  }

  async #save(name: string, data: SaveData, options: SaveOptions): Promise<string> {
    const { temp, target, onConflict, maxBytes } = this.#prepareSave(name, options);
    let handle: Awaited<ReturnType<typeof openTemporaryAsync>> | undefined;
    try {
      handle = await openTemporaryAsync(temp);
      await writeAll(handle, data, maxBytes);
      await handle.close();
      handle = undefined;
      return this.#commit(temp, target, onConflict);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      removeQuietly(temp);
      throw writeErrorToHttp(error);
    }
  }

  /** `save()` for text or bytes, synchronously (fixtures, start-up code). */
  saveSync(name: string, data: string | Uint8Array, options: SaveOptions = {}): string {
    try {
      const stored = this.#saveSync(name, data, options);
      uploadEnded('filesystem');
      return stored;
    } catch (error) {
      uploadEnded('filesystem', error);
      throw error;
    }
  }

  #saveSync(name: string, data: string | Uint8Array, options: SaveOptions): string {
    const { temp, target, onConflict, maxBytes } = this.#prepareSave(name, options);
    let fd: number | undefined;
    try {
      fd = openTemporary(temp);
      writeBytesSync(fd, data, maxBytes);
      closeSync(fd);
      fd = undefined;
      return this.#commit(temp, target, onConflict);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      removeQuietly(temp);
      throw writeErrorToHttp(error);
    }
  }

  /**
   * Removes a file: true when it was there, false when it was not. The same rules as `save()`: a
   * name that leaves the storage is a 400, a symlinked folder leading out of it a 403; a symlink at
   * the name is removed itself, never what it points to; a folder is a 409.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a refusal rejects, as save()'s does
  async delete(name: string): Promise<boolean> {
    return this.deleteSync(name);
  }

  /** `delete()`, synchronously. */
  deleteSync(name: string): boolean {
    const path = resolveFileInside(this.location, name);
    try {
      const parent = parentInside(this.location, this.#realLocation, path, {
        create: false,
        allowSymlinksOutside: this.#allowSymlinksOutside,
      });
      if (parent === undefined) return false;
      if (lstatSync(path).isDirectory()) throw new ConflictException('Invalid file name: it names a directory');
      unlinkSync(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw writeErrorToHttp(error);
    }
  }

  /** Checks the name and options and makes the folders below the root; nothing is written yet. */
  #prepareSave(
    name: string,
    options: SaveOptions,
  ): { temp: string; target: string; onConflict: OnConflict; maxBytes: number } {
    checkSaveOptions(options, 'save()');
    const target = resolveFileInside(this.location, name);
    try {
      this.#ensureRoot();
      const parent = parentInside(this.location, this.#realLocation, target, {
        create: true,
        allowSymlinksOutside: this.#allowSymlinksOutside,
      })!;
      return {
        temp: temporaryPath(parent),
        target,
        onConflict: options.onConflict ?? this.#onConflict,
        maxBytes: options.maxBytes ?? this.#maxBytes,
      };
    } catch (error) {
      throw writeErrorToHttp(error);
    }
  }

  /** Moves the written file into place and returns the name it got. */
  #commit(temp: string, target: string, onConflict: OnConflict): string {
    const stored = commitTemporary(temp, target, onConflict);
    syncDirectory(resolve(stored, '..'));
    return relative(this.location, stored).split(sep).join('/');
  }

  /** The root is created on the first save (as Django's storage does), then its real path known. */
  #ensureRoot(): void {
    if (this.#rootMade) return;
    mkdirSync(this.location, { recursive: true });
    this.#realLocation = realRoot(this.location);
    this.#rootMade = true;
  }

  /** The file's stats: a 404 when it is missing, not a file, or a symlink out of `location`. */
  #stat(path: string): Stats {
    if (this.#allowSymlinksOutside) return statForDownload(path);
    const stats = statInside(this.location, this.#realLocation, path);
    if (!stats.isFile()) throw fileNotFound();
    return stats;
  }
}
