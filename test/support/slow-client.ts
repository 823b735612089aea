import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface SlowDownload {
  /** Resolves when the first bytes arrived: the download is in flight. */
  started: Promise<void>;
  /** Resolves when it ended: whole (`complete`) or cut, with how much arrived and its SHA-256. */
  done: Promise<{ complete: boolean; received: number; sha256: string }>;
  /** Reads faster or slower from now on (Infinity: as fast as the bytes come). */
  setRate(bytesPerTick: number): void;
  /** The bytes read so far. */
  received(): number;
}

/**
 * A client that reads a download `bytesPerTick` every 10 ms (or as fast as it comes), on its own
 * connection: what a slow client looks like to a server. It stops by itself when the answer ends.
 */
export function slowDownload(port: number, path: string, size: number, bytesPerTick: number): SlowDownload {
  let received = 0;
  let rate = bytesPerTick;
  let response: IncomingMessage | undefined;
  // Hashed as it arrives: many clients holding whole files would hold gigabytes.
  const hash = createHash('sha256');
  const take = (chunk: Buffer) => {
    hash.update(chunk);
    received += chunk.length;
  };
  const flow = () => {
    if (!response || rate !== Infinity) return;
    response.on('data', take);
    response.resume();
  };
  const done = new Promise<{ complete: boolean; received: number; sha256: string }>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      response = res;
      if (rate === Infinity) flow();
      else res.pause();
      // read(n) with n at most what is buffered: exactly `rate` bytes a tick, whatever size the chunks
      // arrive in (a plain read() takes a whole buffered chunk, up to the server's 256 KiB).
      const timer = setInterval(() => {
        if (rate === Infinity) return;
        for (let taken = 0; taken < rate && res.readableLength > 0;) {
          const chunk = res.read(Math.min(rate - taken, res.readableLength)) as Buffer | null;
          if (!chunk) break;
          take(chunk);
          taken += chunk.length;
        }
        if (res.readableLength === 0) res.read(0); // asks the socket for more
      }, 10);
      let finished = false;
      const finish = () => {
        if (finished) return; // 'end', then 'close'
        finished = true;
        clearInterval(timer);
        resolve({ complete: received === size && res.complete, received, sha256: hash.digest('hex') });
      };
      res.once('end', finish);
      res.once('close', finish);
    });
    req.on('error', () => resolve({ complete: false, received, sha256: '' }));
    req.end();
  });
  const started = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (received > 0) {
        clearInterval(check);
        resolve();
      }
    }, 5);
    void done.then(() => {
      clearInterval(check);
      resolve();
    });
  });
  return {
    done,
    started,
    setRate(bytesPerTick: number) {
      rate = bytesPerTick;
      flow();
    },
    received: () => received,
  };
}
