import { BadRequestException, ConflictException, ForbiddenException, HttpException } from '@nestjs/common';
import { lstatSync, mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { hasControlCharacters } from '../paths/path-encoding.js';
import { fileErrorToHttp, fileNotFound } from '../http/file-errors.js';

/**
 * Why a name is refused, or undefined when it is a plain relative name. Checked on the name as
 * given (after any URL decoding by the router), before it is joined to a root.
 */
export function unsafeNameReason(name: string): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is empty';
  if (hasControlCharacters(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash';
  if (isAbsolute(name) || name.startsWith('/')) return 'is absolute';
  if (name.split('/').some((segment) => segment === '..')) return 'leaves its directory (..)';
  if (name.length > 4096) return 'is too long';
  if (name !== name.normalize('NFC') && /[\u2024\u2025\uFE52\uFF0E]/.test(name)) {
    return 'contains dot look-alikes';
  }
  return undefined;
}

/**
 * Whether `child` is `root` itself or lies below it. Both are absolute and normalised (what
 * `resolve()` and `realpath` give, with or without a trailing separator), so a prefix that ends at
 * a separator tells what `relative()` would, without its cost on every download.
 */
export function isInside(root: string, child: string): boolean {
  const base = root.length > 1 && root.endsWith(sep) ? root.slice(0, -1) : root;
  if (child === base || child === base + sep) return true;
  return child.startsWith(base === sep ? base : base + sep);
}

/** The part of `path` (inside `root`, as `resolveInside()` gives it) below `root`: '' for the root itself. */
export function below(root: string, path: string): string {
  if (path === root) return '';
  return path.slice(root.endsWith(sep) ? root.length : root.length + 1);
}

/**
 * Joins a client-supplied name to a root, refusing names that leave it (a 400 for a malformed
 * name). The error never carries the root or the resolved path.
 */
export function resolveInside(root: string, name: string): string {
  const reason = unsafeNameReason(name);
  if (reason) throw new BadRequestException(`Invalid file name: it ${reason}`);
  const path = resolve(root, name);
  if (!isInside(root, path)) throw new BadRequestException('Invalid file name: it leaves its directory');
  return path;
}

/** `resolveInside()` for a file to write or remove: the root itself (`.`, `a/..`) is no file name. */
export function resolveFileInside(root: string, name: string): string {
  const path = resolveInside(root, name);
  if (path === root) throw new BadRequestException("Invalid file name: it names the storage's own folder");
  return path;
}

/**
 * Stats `path` (below `root`, whose real path is `realRoot`), refusing a symlink that leads out of
 * the root with a 404: the client learns nothing about what lies there. It lstats each component
 * below the root and falls back to `realpath` only when one of them is a symlink, so a file in a
 * plain folder costs as many syscalls as it is deep below the root: `realpath` alone would lstat
 * every component from `/`, and a `stat` would follow. (Node has no "resolve beneath" call.)
 */
export function statInside(root: string, realRoot: string, path: string): Stats {
  const parts = below(root, path).split(sep);
  let current = root;
  try {
    for (let i = 0; ; i++) {
      current = join(current, parts[i]);
      const stats = lstatSync(current);
      if (stats.isSymbolicLink()) break;
      if (i === parts.length - 1) return stats;
    }
    // A symlink on the way: where it really leads decides.
    if (!isInside(realRoot, realpathSync.native(path))) throw fileNotFound();
    return statSync(path);
  } catch (error) {
    throw error instanceof HttpException ? error : fileErrorToHttp(error);
  }
}

/** The real path of a root directory, resolved once (the root itself may be a symlink). */
export function realRoot(root: string): string {
  try {
    return realpathSync.native(root);
  } catch {
    return root;
  }
}

function symlinkRefused(): ForbiddenException {
  return new ForbiddenException('Invalid file name: it leads out of the storage through a symlink');
}

/** Whether `path` (a symlink) really leads below `realRoot`; a dangling or looping link does not. */
function linkStaysInside(realRoot: string, path: string): boolean {
  try {
    return isInside(realRoot, realpathSync.native(path));
  } catch {
    return false;
  }
}

/**
 * The folder a file at `path` (below `root`) is written into or removed from, checked the way
 * reads are: each component below the root is lstat-ed, and a symlink on the way must really lead
 * below the root (unless `allowSymlinksOutside`), so nothing is ever created or removed outside it.
 * With `create`, missing folders are made one at a time, each only after its parent was checked;
 * without it, a missing folder gives `undefined` (nothing there to remove).
 * Node has no openat()/mkdirat(), so a folder swapped for a symlink between this check and the
 * write is caught only by the final realpath check: keep other writers out of the root.
 */
export function parentInside(
  root: string,
  realRoot: string,
  path: string,
  options: { create: boolean; allowSymlinksOutside: boolean },
): string | undefined {
  const parts = relative(root, path).split(sep).slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    let stats: Stats;
    try {
      stats = lstatSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (!options.create) return undefined;
      try {
        mkdirSync(current);
      } catch (mkdirError) {
        if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirError; // made meanwhile
      }
      stats = lstatSync(current);
    }
    if (stats.isSymbolicLink()) {
      if (!options.allowSymlinksOutside && !linkStaysInside(realRoot, current)) throw symlinkRefused();
      stats = statSync(current);
    }
    if (!stats.isDirectory()) throw new ConflictException('Invalid file name: a part of it is a file, not a directory');
  }
  const parent = dirname(path);
  if (!options.allowSymlinksOutside && !isInside(realRoot, realpathSync.native(parent))) throw symlinkRefused();
  return parent;
}
