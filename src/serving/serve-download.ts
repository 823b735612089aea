import { Logger } from '@nestjs/common';
import etag from 'etag';
import fresh from 'fresh';
import { Readable } from 'node:stream';
import rangeParser from 'range-parser';
import type { DownloadFile } from '../files/download-file.js';
import { fileErrorToHttp } from '../files/file-errors.js';
import { rawResponse } from './destroy-on-close.js';
import { downloadResponse } from './web-response.js';

/** The request as far as serving needs it (Express and Fastify requests both fit). */
export interface ServedRequest {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}

const logger = new Logger('DownloadFile');

export function header(request: ServedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Validators computed once per file: a weak ETag from size + mtime (or content), Last-Modified. */
function validators(file: DownloadFile): { etag: string; lastModified?: string } {
  const lastModified = file.modifiedAt?.toUTCString();
  return { etag: etag(file.buffer ?? file.stats!, { weak: true }), lastModified };
}

/**
 * `If-Match` / `If-Unmodified-Since` (RFC 9110 §13.1.1, 13.1.4). jshttp has no module for these
 * (`send` inlines them), so they are here, following send's logic.
 */
function preconditionFailed(request: ServedRequest, tag: string, lastModified?: string): boolean {
  const ifMatch = header(request, 'if-match');
  if (ifMatch) {
    const opaque = (value: string) => value.replace(/^W\//, '');
    return ifMatch.trim() !== '*' && !ifMatch.split(',').some((t) => opaque(t.trim()) === opaque(tag));
  }
  const ifUnmodifiedSince = Date.parse(header(request, 'if-unmodified-since') ?? '');
  return !Number.isNaN(ifUnmodifiedSince) && lastModified !== undefined && Date.parse(lastModified) > ifUnmodifiedSince;
}

/** `If-Range`, as `send` (Express) does it: an entity tag must match, a date must not be older. */
function isRangeFresh(request: ServedRequest, tag: string, lastModified?: string): boolean {
  const ifRange = header(request, 'if-range');
  if (!ifRange) return true;
  if (ifRange.includes('"')) return ifRange.includes(tag.replace(/^W\//, ''));
  return lastModified !== undefined && Date.parse(lastModified) <= Date.parse(ifRange);
}

function body(file: DownloadFile, start: number, end: number): ReadableStream | null {
  if (file.buffer) return new Blob([new Uint8Array(file.buffer.subarray(start, end + 1))]).stream();
  return Readable.toWeb(file.openForSending({ start, end })) as ReadableStream;
}

/**
 * The body of a HEAD answer: empty, but a stream rather than null, so that every adapter keeps
 * the Content-Length (Nest's Fastify adapter resets it to 0 for a Response without a body).
 */
export const emptyBody = () => new ReadableStream({ start: (controller) => controller.close() });

/**
 * Serves a DownloadFile from Node the way a static file server does: validators, conditional
 * requests (304/412), single byte ranges (206/416), HEAD without opening the file.
 *
 * A plain GET of the whole file returns the DownloadFile itself (Nest pipes the file stream: the
 * fastest path) after `setHeader` adds the validators; every other answer is a web `Response`,
 * sent with its own status (natively by NestJS ≥ 12.4, see web-response.ts for earlier versions).
 */
export function serveDownload(
  file: DownloadFile,
  request: ServedRequest,
  setHeader: (name: string, value: string) => void,
): DownloadFile | Response {
  const answer = answerFor(file, request, setHeader);
  // Answered by a Response: the file itself is never sent, so it must never open its descriptor.
  if (answer !== file) file.release();
  return answer;
}

function answerFor(
  file: DownloadFile,
  request: ServedRequest,
  setHeader: (name: string, value: string) => void,
): DownloadFile | Response {
  const size = file.size ?? 0;
  const { etag: tag, lastModified } = validators(file);
  const headers: Record<string, string> = {
    'Content-Type': file.contentType,
    'Content-Disposition': file.disposition,
    'Accept-Ranges': 'bytes',
    ETag: tag,
  };
  if (lastModified) headers['Last-Modified'] = lastModified;
  const method = request.method ?? 'GET';
  const isHead = method === 'HEAD';

  if (preconditionFailed(request, tag, lastModified)) {
    return downloadResponse(null, { status: 412, headers: { ETag: tag } });
  }
  const reqHeaders = {
    'if-none-match': header(request, 'if-none-match'),
    'if-modified-since': header(request, 'if-modified-since'),
    'cache-control': header(request, 'cache-control'),
  };
  if (
    (reqHeaders['if-none-match'] || reqHeaders['if-modified-since']) &&
    fresh(reqHeaders, { etag: tag, 'last-modified': lastModified })
  ) {
    const { 'Content-Type': _t, 'Content-Disposition': _d, ...validatorHeaders } = headers;
    return downloadResponse(null, { status: 304, headers: validatorHeaders });
  }

  const rangeHeader = header(request, 'range');
  if (rangeHeader && isRangeFresh(request, tag, lastModified)) {
    const ranges = rangeParser(size, rangeHeader, { combine: true });
    if (ranges === -1) {
      return downloadResponse(null, {
        status: 416,
        headers: { 'Content-Range': `bytes */${size}`, 'Accept-Ranges': 'bytes' },
      });
    }
    // Several ranges would need multipart/byteranges; like Express's send, serve the whole file.
    if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
      const { start, end } = ranges[0];
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      headers['Content-Length'] = String(end - start + 1);
      return downloadResponse(isHead ? emptyBody() : body(file, start, end), { status: 206, headers });
    }
  }

  if (isHead) {
    headers['Content-Length'] = String(size);
    return downloadResponse(emptyBody(), { status: 200, headers });
  }
  if (file.path) file.openForSending();
  return whole(file, tag, lastModified, setHeader);
}

/** The whole file, sent by Nest as the StreamableFile it is (the fastest path). */
function whole(
  file: DownloadFile,
  tag: string,
  lastModified: string | undefined,
  setHeader: (name: string, value: string) => void,
): DownloadFile {
  setHeader('Accept-Ranges', 'bytes');
  setHeader('ETag', tag);
  if (lastModified) setHeader('Last-Modified', lastModified);
  file.setErrorHandler(answerStreamError);
  return file;
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
  const status = answer.getStatus();
  for (const name of ['Content-Length', 'Content-Disposition', 'ETag', 'Last-Modified', 'Accept-Ranges']) {
    res.removeHeader(name);
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(answer.getResponse()));
}
