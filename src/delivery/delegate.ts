import type { StreamableFile } from '@nestjs/common';
import { basename } from 'node:path';
import type { DelegationHeaders } from '../backends/index.js';
import { buildContentDisposition, guessContentType } from '../files/content-headers.js';
import { closeUnsent, DownloadFile } from '../files/download-file.js';
import { downloadResponse } from '../platform/web-response.js';
import type { DownloadSource } from '../sources/download-source.js';

/** The file's Content-Type and Content-Disposition: a DownloadFile's own, a plain StreamableFile's or guessed. */
function contentHeaders(file: StreamableFile, source: DownloadSource): { type: string; disposition: string } {
  if (file instanceof DownloadFile) return { type: file.contentType, disposition: file.disposition };
  const name = basename(source.identity?.path ?? 'download');
  const given = file.options.disposition ?? buildContentDisposition(name, true);
  return {
    type: file.options.type ?? guessContentType(name),
    disposition: Array.isArray(given) ? given.join(', ') : given,
  };
}

/**
 * Hands the file to the proxy: the file is never opened (a plain stream is closed now), and the
 * answer is the backend's header with the file's Content-Type and Content-Disposition and no body.
 * Returns `undefined` for a 200 (Nest sends the headers set here and an empty body, its cheapest
 * reply; `null` would be serialised as JSON by Fastify for a JSON file), else a `Response` with the
 * backend's status (a 206 of X-Sendfile2, the redirect's 302).
 */
export function delegate(
  file: StreamableFile,
  source: DownloadSource,
  { headers, status }: DelegationHeaders,
  setHeader: (name: string, value: string) => void,
): Response | undefined {
  const { type, disposition } = contentHeaders(file, source);
  closeUnsent(file);
  if (status && status !== 200) {
    const answer = new Headers(headers);
    // A redirect carries no file: the signed URL it names gives the content headers.
    if (status < 300 || status >= 400) {
      answer.set('Content-Type', type);
      answer.set('Content-Disposition', disposition);
    }
    return downloadResponse(null, { status, headers: answer });
  }
  for (const name in headers) setHeader(name, headers[name]);
  setHeader('Content-Type', type);
  setHeader('Content-Disposition', disposition);
  setHeader('Content-Length', '0');
  return undefined;
}
