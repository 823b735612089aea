import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  InternalServerErrorException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';

/** A file that is not there (or not a file): the same answer as one outside the storage's root. */
export function fileNotFound(): NotFoundException {
  return new NotFoundException('File not found');
}

/**
 * What a failed filesystem call on a download means to the client, the same whether it fails when
 * the file is checked, opened or read. Running out of descriptors is a 503 rather than a 404, which
 * a proxy or browser could cache as "gone". The message never carries the path.
 */
export function fileErrorToHttp(error: unknown): HttpException {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return fileNotFound();
    case 'EACCES':
    case 'EPERM':
      return new ForbiddenException('File not readable');
    case 'EMFILE':
    case 'ENFILE':
      return new ServiceUnavailableException('Too many open files, try again later');
    default:
      return new InternalServerErrorException('File could not be read');
  }
}

/** The errno codes of a failed write, as HTTP: what the client (or the app) can do about it. */
const WRITE_ERRORS: Record<string, () => HttpException> = {
  ENOSPC: insufficientStorage,
  EDQUOT: insufficientStorage,
  EACCES: () => new ForbiddenException('File not writable'),
  EPERM: () => new ForbiddenException('File not writable'),
  EROFS: () => new ForbiddenException('File not writable'),
  EMFILE: () => new ServiceUnavailableException('Too many open files, try again later'),
  ENFILE: () => new ServiceUnavailableException('Too many open files, try again later'),
  ENAMETOOLONG: () => new BadRequestException('Invalid file name: it is too long'),
  ENOTDIR: () => new ConflictException('Invalid file name: a part of it is a file, not a directory'),
  EISDIR: () => new ConflictException('Invalid file name: it names a directory'),
  EEXIST: () => new ConflictException('A file with that name exists'),
  // O_NOFOLLOW met a symlink where the file was to be created.
  ELOOP: () => new ForbiddenException('Invalid file name: it is a symlink'),
};

function insufficientStorage(): HttpException {
  return new HttpException('Insufficient storage', HttpStatus.INSUFFICIENT_STORAGE);
}

/**
 * What a failed save means to the client: a full disk is a 507, a read-only or forbidden folder a
 * 403, no descriptors left a 503. An HttpException (a refused name, a body too large) and an error
 * that did not come from the filesystem (the upload's own stream failing) pass through unchanged.
 * The message never carries the path.
 */
export function writeErrorToHttp(error: unknown): unknown {
  if (error instanceof HttpException) return error;
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  const mapped = code ? WRITE_ERRORS[code] : undefined;
  if (mapped) return mapped();
  return syscall ? new InternalServerErrorException('File could not be written') : error;
}
