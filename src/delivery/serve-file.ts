import { Logger } from '@nestjs/common';
import etag from 'etag';
import { Readable } from 'node:stream';
import type { DownloadFile } from '../files/download-file.js';
import { fileErrorToHttp } from '../http/file-errors.js';
import { answerConditionalGet, type ConditionalAnswer, type ConditionalRequest } from '../http/conditional-get.js';
import { rawResponse } from '../platform/platform.js';
import { downloadResponse } from '../platform/web-response.js';
import type { DiskSource } from '../sources/disk.source.js';
import type { MemorySource } from '../sources/memory.source.js';

const logger = new Logger('DownloadFile');

/**
 * The body of a HEAD answer: empty, but a stream rather than null, so that every adapter keeps
 * the Content-Length (Nest's Fastify adapter resets it to 0 for a Response without a body).
 */
export const emptyBody = () => new ReadableStream({ start: (controller) => controller.close() });

/** The answer as a web `Response`: its headers, the file's content headers with a body, HEAD's empty body. */
export function answerResponse(
  answer: ConditionalAnswer,
  file: DownloadFile,
  body: () => ReadableStream | null,
): Response {
  const headers = answer.withContent
    ? { 'Content-Type': file.contentType, 'Content-Disposition': file.disposition, ...answer.headers }
    : answer.headers;
  const content = !answer.withContent ? null : answer.head ? emptyBody() : body();
  return downloadResponse(content, { status: answer.status, headers });
}

/**
 * Serves a file on disk or in memory from Node the way a static file server does: a weak ETag from
 * size + mtime (or the content) and Last-Modified, then HTTP semantics (http/conditional-get.ts);
 * HEAD never opens the file.
 *
 * A plain GET of the whole file returns the DownloadFile itself (Nest pipes the file stream: the
 * fastest path) after `setHeader` adds the validators; every other answer is a web `Response`,
 * sent with its own status (natively by NestJS ≥ 12.4, see platform/web-response.ts for earlier).
 */
export async function serveFile(
  file: DownloadFile,
  source: DiskSource | MemorySource,
  request: ConditionalRequest,
  setHeader: (name: string, value: string) => void,
): Promise<DownloadFile | Response> {
  const onDisk = source.kind === 'disk';
  const stats = onDisk ? (source.knownStats ?? (await source.loadStats())) : undefined;
  const answer = answerConditionalGet(request, {
    size: stats?.size ?? (source as MemorySource).buffer.length,
    etag: etag(stats ?? (source as MemorySource).buffer, { weak: true }),
    lastModified: stats?.mtime.toUTCString(),
  });
  if (answer.status === 200 && !answer.head) {
    if (onDisk) await file.openForSending();
    for (const name of ['Accept-Ranges', 'ETag', 'Last-Modified']) {
      if (answer.headers[name]) setHeader(name, answer.headers[name]);
    }
    file.setErrorHandler(answerStreamError);
    return file;
  }
  // Answered by a Response: the file itself is never sent, so it must never open its descriptor.
  file.release();
  const range = answer.withContent && !answer.head ? answer.range : undefined;
  const slice = range && onDisk ? await source.open(range) : undefined;
  return answerResponse(answer, file, () =>
    slice ? (Readable.toWeb(slice) as ReadableStream) : (source as MemorySource).slice(range!.start, range!.end),
  );
}

/**
 * A file that fails while Nest streams it: before any byte, the status and body Nest's exception
 * layer would give the same error when opening it (fileErrorToHttp), without the path; after, the
 * socket is destroyed so the client cannot take a truncated file for a whole one.
 */
function answerStreamError(err: Error, response: unknown): void {
  const res = rawResponse(response);
  const code = (err as NodeJS.ErrnoException).code;
  logger.error(`Download failed while streaming: ${code ?? err.message}`);
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answer = fileErrorToHttp(err);
  for (const name of ['Content-Length', 'Content-Disposition', 'ETag', 'Last-Modified', 'Accept-Ranges']) {
    res.removeHeader(name);
  }
  res.statusCode = answer.getStatus();
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(answer.getResponse()));
}
