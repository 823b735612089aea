import type { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { StreamableFile } from '@nestjs/common';
import { closeUnsent } from '../files/download-file.js';
import type { DownloadObserver, NodeDownloadStart } from '../metrics/download-observer.js';
import { watchNodeDownload } from '../metrics/node-download.js';
import { onceClosed, rawResponse } from '../platform/platform.js';
import { downloadResponse } from '../platform/web-response.js';

const downloads = (count: number) => (count === 1 ? '1 download' : `${count} downloads`);

/** What a client is told while the app drains: come back in a moment (another instance will answer). */
const RETRY_AFTER_SECONDS = '5';

/**
 * The downloads Node is sending, and a bounded drain of them at shutdown. An orchestrator gives a
 * stopping app a grace period (Kubernetes: 30 s, then SIGKILL); Nest's shutdown hooks would wait for
 * every response in flight with no bound, so slow downloads would be cut by the SIGKILL anyway, and
 * uncounted. Here: for `gracePeriod` ms the downloads in flight may finish while new file requests
 * get a 503 with Retry-After; what still runs then is closed, and counted in the log. Delegated
 * downloads are not here: the proxy holds them, and a restart of the app does not touch them.
 *
 * It is also where metrics see Node's downloads begin and end (the active count is this set's), on
 * the same 'close' listener.
 */
export class DownloadDrain {
  readonly #inFlight = new Set<ServerResponse>();
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  /** Counts a response Node is about to send a file on, until it closes; and reports it to `observer`. */
  track(response: unknown, observer?: DownloadObserver, download?: NodeDownloadStart): void {
    const raw = rawResponse(response);
    if (typeof raw.once !== 'function' || raw.writableFinished || raw.destroyed) return;
    this.#inFlight.add(raw);
    const ended = observer && download ? watchNodeDownload(raw, download, observer) : undefined;
    onceClosed(raw, () => {
      this.#inFlight.delete(raw);
      ended?.();
    });
  }

  /** The answer to a file request that comes in while draining: 503, Retry-After, nothing opened. */
  refuse(file: StreamableFile): Response {
    closeUnsent(file);
    return downloadResponse(null, {
      status: 503,
      headers: { 'Retry-After': RETRY_AFTER_SECONDS, 'Cache-Control': 'no-store', Connection: 'close' },
    });
  }

  /** Lets the downloads in flight finish for up to `gracePeriod` ms, then closes what remains. */
  async drain(gracePeriod: number, logger: Logger): Promise<void> {
    this.#draining = true;
    if (this.#inFlight.size === 0) return;
    logger.log(`shutting down: ${downloads(this.#inFlight.size)} in flight, waiting up to ${gracePeriod} ms for them`);
    const deadline = Date.now() + gracePeriod;
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))));
    }
    const cut = this.#inFlight.size;
    if (cut === 0) {
      logger.log('shutting down: every download in flight finished');
      return;
    }
    for (const response of this.#inFlight) response.destroy();
    this.#inFlight.clear();
    logger.warn(`shutting down: closed ${downloads(cut)} still running after the ${gracePeriod} ms grace period`);
  }
}
