import { Logger } from '@nestjs/common';
import type { DownloadArchive } from '../archives/download-archive.js';
import { answerConditionalGet, type ConditionalRequest } from '../http/conditional-get.js';
import { onceClosed, rawResponse } from '../platform/platform.js';
import { downloadResponse } from '../platform/web-response.js';
import type { ArchiveSource } from '../sources/archive.source.js';
import { emptyBody } from './serve-file.js';

const logger = new Logger('DownloadArchive');

/** Headers every answer about an archive carries, besides its validators and length. */
const ARCHIVE_HEADERS = {
  // Its bytes are made as they are sent: ranges would mean building it again up to the range.
  'Accept-Ranges': 'none',
  // nginx in front passes it on as Node sends it, rather than buffering it (whole) to disk.
  'X-Accel-Buffering': 'no',
};

/**
 * Serves an archive from Node: its entity tag (If-None-Match gives a 304, If-Match a 412) and, for
 * stored entries, its exact length (HEAD answers with it and opens nothing) through the same HTTP
 * semantics as any file (http/conditional-get.ts), ranges aside. A GET returns the archive itself,
 * which Nest streams; a client that leaves closes the entry being read, and an entry that fails
 * mid-archive cuts the connection, so a truncated archive is never taken for a whole one.
 */
export function serveArchive(
  archive: DownloadArchive,
  source: ArchiveSource,
  request: ConditionalRequest,
  response: unknown,
  setHeader: (name: string, value: string) => void,
): DownloadArchive | Response {
  const headersOfRequest = { ...request.headers, range: undefined, 'if-range': undefined };
  const answer = answerConditionalGet(
    { method: request.method, headers: headersOfRequest },
    { size: source.size ?? 0, etag: source.etag },
  );
  const headers: Record<string, string> = { ...answer.headers, ...ARCHIVE_HEADERS };
  if (source.size === undefined) delete headers['Content-Length'];

  if (answer.status === 200 && !answer.head) {
    for (const [name, value] of Object.entries(headers)) {
      if (name !== 'Content-Length') setHeader(name, value);
    }
    onceClosed(response, () => source.zip.close());
    source.zip.onError = (error) => {
      logger.error(`Archive failed while streaming: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
      rawResponse(response).destroy();
    };
    archive.setErrorHandler(cutConnection);
    return archive;
  }
  // Answered without the archive's bytes: it never opens an entry.
  archive.release();
  const content = { 'Content-Type': archive.contentType, 'Content-Disposition': archive.disposition };
  return downloadResponse(answer.withContent ? emptyBody() : null, {
    status: answer.status,
    headers: answer.withContent ? { ...content, ...headers } : headers,
  });
}

/** Nest's handler for a stream that fails once the reply has begun would end it cleanly: cut it instead. */
function cutConnection(_error: Error, response: unknown): void {
  const res = rawResponse(response);
  if (!res.destroyed) res.destroy();
}
