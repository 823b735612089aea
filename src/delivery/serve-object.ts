import { Readable } from 'node:stream';
import type { DownloadFile } from '../files/download-file.js';
import { answerConditionalGet, type ConditionalRequest } from '../http/conditional-get.js';
import { destroyOnClose, onceClosed } from '../platform/platform.js';
import { ObjectChangedError, type ObjectSource, type ObjectStat } from '../sources/object.source.js';
import { answerResponse } from './serve-file.js';

/**
 * An object in a bucket that no proxy took: the same HTTP semantics as a file on disk
 * (http/conditional-get.ts) on what the store says of it, then Node reads the bytes it must send
 * (the whole object or one range) from the store and streams them. A client that leaves aborts
 * the read. An object replaced between the two is stat'ed afresh and read again, once.
 */
export async function serveObject(
  file: DownloadFile,
  object: ObjectSource,
  request: ConditionalRequest,
  response: unknown,
): Promise<Response> {
  const controller = new AbortController();
  onceClosed(response, () => controller.abort());
  try {
    return await answer(file, object, await object.stat(), request, response, controller.signal);
  } catch (error) {
    if (!(error instanceof ObjectChangedError)) throw error;
    return answer(file, object, await object.stat(true), request, response, controller.signal);
  }
}

async function answer(
  file: DownloadFile,
  object: ObjectSource,
  stat: ObjectStat,
  request: ConditionalRequest,
  response: unknown,
  signal: AbortSignal,
): Promise<Response> {
  const answer = answerConditionalGet(request, {
    size: stat.size,
    etag: stat.etag,
    lastModified: stat.modifiedAt?.toUTCString(),
  });
  let body: ReadableStream | null = null;
  if (answer.withContent && !answer.head) {
    const stream = await object.read(answer.range, signal, stat.etag);
    destroyOnClose(response, stream);
    body = Readable.toWeb(stream) as ReadableStream;
  }
  return answerResponse(answer, file, () => body);
}
