import { create as contentDisposition } from 'content-disposition';
import { contentType as mimeContentType } from 'mime-types';

/**
 * The Content-Type for a file name: mime-types' guess (`text/*` with `; charset=utf-8`),
 * else `application/octet-stream`.
 */
export function guessContentType(name: string): string {
  return mimeContentType(name) || 'application/octet-stream';
}

/** An RFC 6266 Content-Disposition: ASCII `filename` fallback plus `filename*` in UTF-8. */
export function buildContentDisposition(name: string, attachment: boolean): string {
  return contentDisposition(name, { type: attachment ? 'attachment' : 'inline' });
}
