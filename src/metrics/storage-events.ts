import { HttpException } from '@nestjs/common';
import { downloadObserver } from './current-observer.js';

/** The status an error answers with (an HttpException's), or 500 for anything else. */
const statusOf = (error: unknown) => (error instanceof HttpException ? error.getStatus() : 500);

/** Reports a storage's failed read (404, 403, 502…) and returns the error, for `throw`. */
export function storageFailed<E>(storage: string, error: E): E {
  downloadObserver()?.storageError({ storage, status: statusOf(error) });
  return error;
}

/** Reports how a `save()` ended: stored (no error), or refused with the error's status. */
export function uploadEnded(storage: string, error?: unknown): void {
  downloadObserver()?.upload(error === undefined ? { storage } : { storage, refusedWith: statusOf(error) });
}
