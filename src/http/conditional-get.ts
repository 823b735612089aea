import fresh from 'fresh';
import rangeParser from 'range-parser';

/** The request as HTTP semantics need it (Express, Fastify and Node requests all fit). */
export interface ConditionalRequest {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** What a file's validators are, whatever its source: its size, entity tag and modification date. */
export interface Validators {
  size: number;
  etag?: string;
  /** An HTTP date (`toUTCString()`, whole seconds). */
  lastModified?: string;
}

/**
 * The answer HTTP semantics give to a GET or HEAD of a file: its status, its headers (validators,
 * `Accept-Ranges`, `Content-Length`, `Content-Range`; the caller adds Content-Type and
 * Content-Disposition where `withContent`), and for 200/206 the bytes to send (`range` absent: all).
 */
export interface ConditionalAnswer {
  status: 200 | 206 | 304 | 412 | 416;
  headers: Record<string, string>;
  /** 200 and 206 carry the file's content headers, and a body unless `head`. */
  withContent: boolean;
  head: boolean;
  range?: { start: number; end: number };
}

export function requestHeader(request: ConditionalRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Entity tags compared as jshttp's `send` (Express's `res.sendFile`) does: a `W/` prefix is ignored. */
const opaque = (tag: string) => tag.replace(/^W\//, '');

/**
 * `If-Match` / `If-Unmodified-Since` (RFC 9110 §13.1.1, 13.1.4). jshttp has no module for these
 * (`send` inlines them), so they are here, following send's logic.
 */
function preconditionFailed(request: ConditionalRequest, { etag, lastModified }: Validators): boolean {
  const ifMatch = requestHeader(request, 'if-match');
  if (ifMatch) {
    if (ifMatch.trim() === '*') return false;
    return !etag || !ifMatch.split(',').some((tag) => opaque(tag.trim()) === opaque(etag));
  }
  const ifUnmodifiedSince = Date.parse(requestHeader(request, 'if-unmodified-since') ?? '');
  return !Number.isNaN(ifUnmodifiedSince) && lastModified !== undefined && Date.parse(lastModified) > ifUnmodifiedSince;
}

/** `If-Range`, as `send` does it: an entity tag must match, a date must not be older than the file. */
function isRangeFresh(request: ConditionalRequest, { etag, lastModified }: Validators): boolean {
  const ifRange = requestHeader(request, 'if-range');
  if (!ifRange) return true;
  if (ifRange.includes('"')) return etag !== undefined && ifRange.includes(opaque(etag));
  return lastModified !== undefined && Date.parse(lastModified) <= Date.parse(ifRange);
}

/**
 * RFC 9110 for a GET or HEAD of one file, in the order RFC 9110 §13.2.2 gives: `If-Match` /
 * `If-Unmodified-Since` (412), `If-None-Match` / `If-Modified-Since` (304, with `fresh`), then a
 * single byte range (206, 416 when unsatisfiable, with `range-parser`; `If-Range` that fails, or
 * several ranges, give the whole file, as Express does). Files on disk, in memory and in a bucket
 * all go through here.
 */
export function answerConditionalGet(request: ConditionalRequest, validators: Validators): ConditionalAnswer {
  const { size, etag, lastModified } = validators;
  const head = request.method === 'HEAD';
  const tags: Record<string, string> = {};
  if (etag) tags.ETag = etag;
  if (lastModified) tags['Last-Modified'] = lastModified;

  if (preconditionFailed(request, validators)) {
    return { status: 412, headers: tags, withContent: false, head };
  }
  // No `cache-control` for `fresh`: its `no-cache` asks caches to revalidate with the origin, and
  // this is the origin (RFC 9111 §5.2.1.4); fetch() adds it to every conditional request.
  const conditions = {
    'if-none-match': requestHeader(request, 'if-none-match'),
    'if-modified-since': requestHeader(request, 'if-modified-since'),
  };
  if (
    (conditions['if-none-match'] || conditions['if-modified-since']) &&
    fresh(conditions, { etag, 'last-modified': lastModified })
  ) {
    return { status: 304, headers: { 'Accept-Ranges': 'bytes', ...tags }, withContent: false, head };
  }

  const headers: Record<string, string> = { 'Accept-Ranges': 'bytes', ...tags };
  const range = requestHeader(request, 'range');
  if (range && isRangeFresh(request, validators)) {
    const ranges = rangeParser(size, range, { combine: true });
    if (ranges === -1) {
      return {
        status: 416,
        headers: { 'Content-Range': `bytes */${size}`, 'Accept-Ranges': 'bytes' },
        withContent: false,
        head,
      };
    }
    // Several ranges would need multipart/byteranges; like Express's send, serve the whole file.
    if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
      const { start, end } = ranges[0];
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      headers['Content-Length'] = String(end - start + 1);
      return { status: 206, headers, withContent: true, head, range: { start, end } };
    }
  }
  headers['Content-Length'] = String(size);
  return { status: 200, headers, withContent: true, head };
}
