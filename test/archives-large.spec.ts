import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadArchive, DownloadFile, DownloadModule, FileSystemStorage } from 'nestjs-downloadview';
import { createTestApp } from './support/platform.js';
import { sha256 } from './support/servers.js';
import { listZip, unzipTest } from './support/zip-tools.js';

// ZIP64, for real: an archive of 70,000 entries, and one with an entry past 4 GiB (a sparse file,
// so the disk holds a few blocks of it; the client saves the archive sparse too). Read back by
// unzip -t and Python's zipfile. Express, from src only: this suite moves 4 GiB through loopback.
const GiB = 1024 ** 3;
const ENTRIES = 70_000;
const HUGE = 4 * GiB + 12_345;
const dir = mkdtempSync(join(tmpdir(), 'downloadview-zip64-'));
const storage = new FileSystemStorage({ location: dir });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `size` bytes: zeros but for a few marks, so its hash says where each byte went. */
function writeSparseFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    for (const offset of [0, GiB, 2 * GiB + 7, 4 * GiB - 3, size - 100]) {
      writeSync(fd, Buffer.from(`mark at ${offset}\n`), 0, undefined, offset);
    }
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
writeSparseFile(join(dir, 'huge.bin'), HUGE);

const small = (i: number) => `entry number ${i}\n`.repeat(i % 3);

@Controller('zip')
class LargeArchivesController {
  @Get('many')
  many() {
    return DownloadArchive.of(
      Array.from({ length: ENTRIES }, (_, i) => ({
        file: DownloadFile.fromBuffer(small(i), { name: 'x.txt' }),
        name: `folder-${i % 100}/file-${i}.txt`,
      })),
      { name: 'many.zip' },
    );
  }

  @Get('huge')
  huge() {
    return DownloadArchive.of([
      storage.download('huge.bin'),
      DownloadFile.fromBuffer('after\n', { name: 'after.txt' }),
    ]);
  }
}

const ZEROS = Buffer.alloc(1024 * 1024);
const isZeros = (chunk: Buffer) => chunk.length <= ZEROS.length && chunk.equals(ZEROS.subarray(0, chunk.length));

/**
 * Saves the body at `url` to `path` as `cp --sparse` would: chunks of zeros are skipped, not written.
 * Resolves with the length received, the headers, the time to the first byte and the app's peak RSS.
 */
function saveSparse(url: string, path: string) {
  return new Promise<{ length: number; headers: Record<string, unknown>; firstByteMs: number; peakRss: number }>(
    (resolve, reject) => {
      const fd = openSync(path, 'w');
      const started = performance.now();
      let firstByteMs = -1;
      let length = 0;
      let peakRss = 0;
      httpGet(url, (res) => {
        res.on('data', (chunk: Buffer) => {
          if (firstByteMs < 0) firstByteMs = performance.now() - started;
          if (!isZeros(chunk)) writeSync(fd, chunk, 0, chunk.length, length);
          length += chunk.length;
          if (length % (64 * 1024 * 1024) < chunk.length) peakRss = Math.max(peakRss, process.memoryUsage.rss());
        });
        res.on('end', () => {
          ftruncateSync(fd, length);
          closeSync(fd);
          resolve({ length, headers: res.headers, firstByteMs, peakRss });
        });
        res.on('error', reject);
      }).on('error', reject);
    },
  );
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Whether the zip at `path` ends with ZIP64 end-of-central-directory records (signatures 06064b50, 07064b50). */
function hasZip64End(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const tail = Buffer.alloc(Math.min(size, 22 + 20 + 56));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])) && tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
  } finally {
    closeSync(fd);
  }
}

let app: INestApplication;
let base: string;
beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot({})],
    controllers: [LargeArchivesController],
  }).compile();
  app = await createTestApp(moduleRef);
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
});
afterAll(() => app?.close());

describe('ZIP64', () => {
  // Its memory is measured by npm run bench:archives, in an app process of its own: here the client
  // shares the Jest worker, whose RSS says more about the worker's other suites than about the archive.
  it('an entry past 4 GiB, then one after it: whole, with the exact length', async () => {
    const path = join(dir, 'huge.zip');
    const res = await saveSparse(`${base}/zip/huge`, path);
    expect(res.headers['content-length']).toBe(String(res.length));
    expect(res.length).toBeGreaterThan(HUGE);
    expect(hasZip64End(path)).toBe(true);
    expect(await unzipTest(path)).toContain('No errors detected');
    expect((await listZip(path)).map(({ name, size, sha256 }) => ({ name, size, sha256 }))).toEqual([
      { name: 'huge.bin', size: HUGE, sha256: await fileSha256(join(dir, 'huge.bin')) },
      { name: 'after.txt', size: 6, sha256: sha256('after\n') },
    ]);
  }, 600_000);
  it(`${ENTRIES.toLocaleString('en')} entries: all of them, by name and hash, with the exact length`, async () => {
    const path = join(dir, 'many.zip');
    const res = await saveSparse(`${base}/zip/many`, path);
    expect(res.headers['content-length']).toBe(String(res.length));
    expect(hasZip64End(path)).toBe(true);
    expect(await unzipTest(path)).toContain('No errors detected');
    const listed = await listZip(path);
    expect(listed).toHaveLength(ENTRIES);
    listed.forEach((entry, i) => {
      expect(entry.name).toBe(`folder-${i % 100}/file-${i}.txt`);
      expect(entry.sha256).toBe(sha256(small(i)));
    });
    // yazl's entry pump is quadratic in the entry count (thejoshwolfe/yazl PR #91): 20 s here alone,
    // minutes on a busy CI machine.
  }, 900_000);
});
