import { PayloadTooLargeException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { basename, dirname, extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { ConflictException, ForbiddenException } from '@nestjs/common';

/** What `save()` takes: text, bytes, a stream (an upload, a request), or any async iterable of bytes. */
export type SaveData = string | Uint8Array | Readable | AsyncIterable<Uint8Array | string>;

/**
 * What `save()` does when the name is taken: `rename` (the default, as Django's storages do) keeps
 * the existing file and stores the new one under a free name (`name_a1B2c3D.ext`), which it
 * returns; `overwrite` replaces it atomically; `error` refuses with a 409.
 */
export type OnConflict = 'overwrite' | 'rename' | 'error';
export const ON_CONFLICT: readonly OnConflict[] = ['overwrite', 'rename', 'error'];

// O_EXCL: a fresh file, never one that was there; O_NOFOLLOW: never through a symlink.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A temporary file in the target's own folder (so the final rename is atomic), hidden by its dot. */
export function temporaryPath(dir: string): string {
  return join(dir, `.downloadview-${randomBytes(8).toString('hex')}.tmp`);
}

/** Django's get_alternative_name: `stem_XXXXXXX.ext`, the stem shortened to keep within 255 bytes. */
export function alternativeName(name: string): string {
  const bytes = randomBytes(7);
  const suffix = '_' + Array.from(bytes, (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
  const ext = extname(name);
  const stem = Array.from(name.slice(0, name.length - ext.length));
  while (stem.length > 0 && Buffer.byteLength(stem.join('') + suffix + ext) > 255) stem.pop();
  return stem.join('') + suffix + ext;
}

export function tooLarge(maxBytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(`File too large: the limit is ${maxBytes} bytes`);
}

export function asBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/** Opens the temporary file; `sync` for saveSync(). */
export function openTemporary(path: string): number {
  return openSync(path, CREATE_FLAGS, 0o666);
}

export function openTemporaryAsync(path: string): Promise<FileHandle> {
  return open(path, CREATE_FLAGS, 0o666);
}

/** Writes text or bytes whole, synchronously (saveSync). */
export function writeBytesSync(fd: number, data: string | Uint8Array, maxBytes: number): void {
  const bytes = asBytes(data);
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
  fsyncSync(fd);
}

/**
 * Streams `data` into the file, refusing it (413) as soon as it grows past `maxBytes`, then
 * flushes it to disk. An HTTP request is left undestroyed on a 413 so that the client gets the
 * answer (Node discards the rest of its body); any other stream is destroyed, closing its file.
 */
export async function writeAll(handle: FileHandle, data: SaveData, maxBytes: number): Promise<void> {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const bytes = asBytes(data);
    if (bytes.length > maxBytes) throw tooLarge(maxBytes);
    await handle.writeFile(bytes);
  } else {
    const chunks =
      data instanceof Readable ? data.iterator({ destroyOnReturn: !(data instanceof IncomingMessage) }) : data;
    let total = 0;
    for await (const chunk of chunks as AsyncIterable<Uint8Array | string>) {
      const bytes = asBytes(chunk);
      total += bytes.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      for (let offset = 0; offset < bytes.length;) offset += (await handle.write(bytes, offset)).bytesWritten;
    }
  }
  await handle.sync();
}

/**
 * Puts the written temporary file in place under `target` or, with `rename`, a free name beside it,
 * and returns the path used. `link()` fails if the name exists (atomic, never replacing a file or
 * following a symlink); `rename()` replaces a file atomically, so a download running meanwhile
 * reads the old file or the new one, never a part of either. The temporary file is gone after.
 */
export function commitTemporary(temp: string, target: string, onConflict: OnConflict): string {
  if (onConflict === 'overwrite') {
    let existing;
    try {
      existing = lstatSync(target);
    } catch {
      /* a new name */
    }
    if (existing?.isSymbolicLink()) throw new ForbiddenException('Invalid file name: it is a symlink');
    if (existing?.isDirectory()) throw new ConflictException('Invalid file name: it names a directory');
    renameSync(temp, target);
    return target;
  }
  try {
    for (let attempt = 0; ; attempt++) {
      const candidate = attempt === 0 ? target : join(dirname(target), alternativeName(basename(target)));
      try {
        linkSync(temp, candidate);
        return candidate;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || onConflict === 'error' || attempt >= 100) throw error;
      }
    }
  } finally {
    removeQuietly(temp);
  }
}

/** Removes a temporary file, if it is there. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* never created, or already gone */
  }
}

/** Flushes a folder, so that the rename survives a crash (what careful databases do). */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
