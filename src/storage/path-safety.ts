import { BadRequestException, HttpException } from '@nestjs/common';
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { hasControlCharacters } from '../backends/encoding.js';
import { fileErrorToHttp, fileNotFound } from '../files/file-errors.js';

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

/** Whether `child` (absolute, normalised) is `root` itself or lies below it. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
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

/**
 * Stats `path` (below `root`, whose real path is `realRoot`), refusing a symlink that leads out of
 * the root with a 404: the client learns nothing about what lies there. It lstats each component
 * below the root and falls back to `realpath` only when one of them is a symlink, so a file in a
 * plain folder costs as many syscalls as it is deep below the root: `realpath` alone would lstat
 * every component from `/`, and a `stat` would follow. (Node has no "resolve beneath" call.)
 */
export function statInside(root: string, realRoot: string, path: string): Stats {
  const parts = relative(root, path).split(sep);
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
