import type { DownloadFile } from '../files/download-file.js';
import { downloadResponse } from './web-response.js';

/**
 * A remote file no proxy rule took: Node fetches it and streams it through. The fetch starts only
 * when Nest reads the body, and stops when the client goes away.
 */
export function serveRemote(file: DownloadFile): Response {
  let upstream: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!upstream) {
        const answer = await fetch(file.remoteUrl!);
        if (!answer.ok || !answer.body) {
          controller.error(new Error(`upstream answered ${answer.status}`));
          return;
        }
        upstream = answer.body.getReader();
      }
      const { done, value } = await upstream.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => upstream?.cancel(reason),
  });
  return downloadResponse(body, {
    status: 200,
    headers: { 'Content-Type': file.contentType, 'Content-Disposition': file.disposition },
  });
}
