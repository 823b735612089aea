import type { FileIdentity } from './file-identity.js';

/**
 * A file at a remote HTTP(S) URL: nginx fetches it through an internal proxy location when a
 * `sourceUrl` rule matches (django-downloadview's "HTTP files with nginx"); otherwise Node fetches
 * it and streams it through.
 */
export class RemoteSource {
  readonly kind = 'remote';
  readonly identity: FileIdentity;

  constructor(readonly url: string) {
    this.identity = { url };
  }

  /**
   * The remote body as a web stream. The fetch starts only when the stream is first read (Nest
   * reads it when it sends), and stops when the client goes away (the stream is cancelled).
   */
  body(): ReadableStream<Uint8Array> {
    let upstream: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const url = this.url;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!upstream) {
          const answer = await fetch(url);
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
  }
}
