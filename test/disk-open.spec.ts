import { NotFoundException } from '@nestjs/common';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { DownloadFile } from '../src/files/download-file.js';
import { DiskSource } from '../src/sources/disk.source.js';

// Node's path opens the file off the event loop (DiskSource.open, DownloadFile.openForSending):
// what a client gets when the file vanished meanwhile, and which descriptor is left open when Nest
// lets go of a file (its client left) before the descriptor came.

const dir = mkdtempSync(join(tmpdir(), 'downloadview-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** How many of this process's descriptors name `path`. */
const descriptorsOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // closed meanwhile (readdir's own descriptor)
    }
  }).length;

describe('opening a file on disk for Node to send', () => {
  it('reads the file, or the slice asked for, and closes its descriptor at the end', async () => {
    const path = join(dir, 'digits.txt');
    writeFileSync(path, '0123456789');
    const source = new DiskSource(path);
    expect((await source.loadStats()).size).toBe(10);
    const chunks: Buffer[] = [];
    const stream = await source.open({ start: 2, end: 5 });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await finished(stream);
    expect(Buffer.concat(chunks).toString()).toBe('2345');
    expect(await descriptorsOnceSettled(path)).toBe(0);
  });

  it('a file that vanished since it was checked is a 404, for its stats and for opening it', async () => {
    const path = join(dir, 'gone.txt');
    writeFileSync(path, 'x');
    const file = DownloadFile.fromPath(path);
    unlinkSync(path);
    await expect(new DiskSource(path).loadStats()).rejects.toBeInstanceOf(NotFoundException);
    await expect(file.openForSending()).rejects.toBeInstanceOf(NotFoundException);
    expect(file.opened).toBe(false);
  });

  it('a file Nest lets go of while its descriptor is on the way is closed once it comes, never sent', async () => {
    const path = join(dir, 'left.txt');
    writeFileSync(path, 'hello');
    const file = DownloadFile.fromPath(path);
    const opening = file.openForSending();
    // What Nest does with a StreamableFile it will not send (destroyUnsentBody): its client left.
    const given = file.getStream();
    given.destroy();
    const opened = await opening;
    expect(file.opened).toBe(false);
    expect(opened).toBe(given);
    expect(await descriptorsOnceSettled(path)).toBe(0);
  });

  it('a released file (the proxy sends it) opens nothing; its stream ends at once, empty, if read', async () => {
    const path = join(dir, 'delegated.txt');
    writeFileSync(path, 'hello');
    const file = DownloadFile.fromPath(path);
    file.release();
    const chunks: Buffer[] = [];
    const stream = file.getStream();
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await finished(stream);
    expect(Buffer.concat(chunks).length).toBe(0);
    expect(file.opened).toBe(false);
    expect(descriptorsOn(path)).toBe(0);
    // What Nest then does with it (destroyUnsentBody): harmless.
    file.getStream().destroy();
    expect(file.getStream()).toBe(stream);
  });

  it('reads 256 KiB at a time for a client that keeps up, 64 KiB once the client holds the download back', async () => {
    const path = join(dir, 'mebibyte.bin');
    const bytes = randomBytes(1 << 20);
    writeFileSync(path, bytes);
    const source = new DiskSource(path);
    const read = async (destination: Writable, chunks: Buffer[]) => {
      const stream = await source.open();
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      await pipeline(stream, destination);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      return chunks.map((chunk) => chunk.length / 1024);
    };
    const fast = await read(new Writable({ write: (_chunk, _encoding, done) => done() }), []);
    expect(fast).toEqual([256, 256, 256, 256]);
    // A slow client: every write takes 20 ms, and pipeline() pauses the file while one is pending.
    const slowWrite = new Writable({ highWaterMark: 1, write: (_chunk, _encoding, done) => setTimeout(done, 20) });
    const slow = await read(slowWrite, []);
    expect(slow[0]).toBe(256);
    expect(slow.slice(-8)).toEqual(Array(8).fill(64));
  });
});

/** descriptorsOn(), once a descriptor being closed had time to close (a thread-pool round trip). */
async function descriptorsOnceSettled(path: string): Promise<number> {
  for (let i = 0; i < 100 && descriptorsOn(path) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return descriptorsOn(path);
}
