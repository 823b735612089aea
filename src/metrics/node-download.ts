import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { DownloadObserver, NodeDownloadStart } from './download-observer.js';

/** The head Node wrote for a response (ServerResponse keeps it as text once sent; Latin-1: one byte a character). */
type WithHead = ServerResponse & { _header?: string | null };

/**
 * Reports a download Node starts sending now, and returns what reports its end (the drain calls it
 * from the response's one 'close' listener). Its bytes are what the connection took during the
 * response, less the head: nothing else is written to it meanwhile, as HTTP/1.1 answers one request
 * of a connection at a time.
 */
export function watchNodeDownload(
  response: ServerResponse,
  download: NodeDownloadStart,
  observer: DownloadObserver,
): () => void {
  // Kept now: Node detaches the socket from a response that finished, before 'close'. (A response
  // that waits for its turn on a kept-alive connection has none yet: its request's is the same.)
  const socket: Socket | null = response.socket ?? response.req?.socket ?? null;
  const bytesBefore = socket?.bytesWritten ?? 0;
  // Read when the response is all written: its 'close' may come only once the next response of the
  // connection has begun. A response cut short never finishes: its connection is gone, read at close.
  let bytesAtFinish: number | undefined;
  response.once('finish', () => (bytesAtFinish = socket?.bytesWritten));
  const started = performance.now();
  observer.nodeStarted(download);
  return () => {
    const head = (response as WithHead)._header;
    const bytesAfter = bytesAtFinish ?? socket?.bytesWritten ?? bytesBefore;
    const written = bytesAfter - bytesBefore - (head ? head.length : 0);
    const status = response.statusCode;
    const completed = response.writableFinished;
    observer.response({ delivery: download.delivery, status, route: download.route });
    observer.nodeEnded({
      ...download,
      status,
      completed,
      bytes: Math.max(0, written),
      seconds: (performance.now() - started) / 1000,
    });
  };
}
