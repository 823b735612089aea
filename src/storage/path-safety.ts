import { BadRequestException } from '@nestjs/common';
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
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
 * Joins a client-supplied name to a root, refusing names that leave it: a 400 for a malformed name,
 * a 404 for a symlink that points outside (the client learns nothing about what lies there).
 * The error never carries the root or the resolved path.
 */
export function resolveInside(root: string, name: string, realRoot: string, allowSymlinksOutside: boolean): string {
  const reason = unsafeNameReason(name);
  if (reason) throw new BadRequestException(`Invalid file name: it ${reason}`);
  const path = resolve(root, name);
  if (!isInside(root, path)) throw new BadRequestException('Invalid file name: it leaves its directory');
  if (!allowSymlinksOutside) {
    let real: string;
    try {
      real = realpathSync.native(path);
    } catch (error) {
      throw fileErrorToHttp(error);
    }
    // Outside the root through a symlink: answered as if it were not there.
    if (!isInside(realRoot, real)) throw fileNotFound();
  }
  return path;
}

/** The real path of a root directory, resolved once (the root itself may be a symlink). */
export function realRoot(root: string): string {
  try {
    return realpathSync.native(root);
  } catch {
    return root;
  }
}
