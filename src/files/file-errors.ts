import {
  ForbiddenException,
  HttpException,
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
