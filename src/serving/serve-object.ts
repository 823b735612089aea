import { Readable } from 'node:stream';
import type { DownloadFile } from '../files/download-file.js';
import type { ObjectReadRequest, ObjectSource } from '../files/object-source.js';
import { destroyOnClose, rawResponse } from './destroy-on-close.js';
import { emptyBody, header } from './serve-download.js';
import { downloadResponse } from './web-response.js';

interface RequestLike {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * An object in a bucket that no proxy took: Node reads it from the store with the client's `Range`
 * and conditions and passes the store's answer on (200/206/304/412/416, HEAD without a body), with
 * the app's Content-Type and Content-Disposition. A client that leaves aborts the read.
 */
export async function serveObject(
  file: DownloadFile,
  object: ObjectSource,
  request: RequestLike,
  response: unknown,
): Promise<Response> {
  const controller = new AbortController();
  const raw = rawResponse(response);
  raw.once?.('close', () => controller.abort());
  const read: ObjectReadRequest = {
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    range: header(request, 'range'),
    ifNoneMatch: header(request, 'if-none-match'),
    ifModifiedSince: header(request, 'if-modified-since'),
    ifMatch: header(request, 'if-match'),
    ifUnmodifiedSince: header(request, 'if-unmodified-since'),
    ifRange: header(request, 'if-range'),
    signal: controller.signal,
  };
  const result = await object.read(read);
  const headers = new Headers(result.headers);
  if (result.status === 200 || result.status === 206) {
    headers.set('Content-Type', file.contentType);
    headers.set('Content-Disposition', file.disposition);
  }
  // HEAD: an empty stream, not null, so that every adapter keeps the Content-Length.
  let body: ReadableStream | null = read.method === 'HEAD' && result.status < 300 ? emptyBody() : null;
  if (result.body) {
    if (read.method === 'HEAD') {
      result.body.destroy();
    } else {
      destroyOnClose(response, result.body);
      body = Readable.toWeb(result.body) as ReadableStream;
    }
  }
  return downloadResponse(body, { status: result.status, headers });
}
