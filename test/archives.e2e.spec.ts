import 'reflect-metadata';
import { Controller, Get, Logger, type INestApplication } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DownloadArchive, DownloadFile, DownloadModule, FileSystemStorage } from 'nestjs-downloadview';
import { startLighttpd } from './support/lighttpd.js';
import { startNginx } from './support/nginx.js';
import { createTestApp } from './support/platform.js';
import { startSampleApp } from './support/sample-app.js';
import { fetchBytes, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';
import { abortAfterFirstBytes, listZip, settles, unzipInto, unzipTest } from './support/zip-tools.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'downloadview-archives-'));
const media = join(dir, 'media');
const work = join(dir, 'work');
mkdirSync(join(media, 'data', 'nested'), { recursive: true });
mkdirSync(join(media, 'big'));
mkdirSync(work);
writeFileSync(join(media, 'report.txt'), 'Quarterly report\n');
writeFileSync(join(media, 'empty.txt'), '');
writeBinaryFile(join(media, 'data', 'random-1MiB.bin'), MiB, 3);
writeBinaryFile(join(media, 'data', 'nested', 'été 2026 ✓.bin'), 300_000, 4);
for (let i = 0; i < 4; i++) writeBinaryFile(join(media, 'big', `part-${i}.bin`), 2 * MiB, 10 + i);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const storage = new FileSystemStorage({ location: media, baseUrl: '/media/' });
const diskNames = ['report.txt', 'empty.txt', 'data/random-1MiB.bin', 'data/nested/été 2026 ✓.bin'];
const hostileNames = [
  '../x',
  '/etc/passwd',
  'a\\b',
  'evil\r\nname.txt',
  'nul\0byte.txt',
  '..\\..\\windows.txt',
  'C:/boot.ini',
  './../../../tmp/escape',
  'dir/../../up',
];

@Controller('zip')
class ArchivesController {
  @Get('disk')
  disk() {
    return DownloadArchive.from(storage, diskNames, { name: 'files été.zip' });
  }

  @Get('mixed')
  mixed() {
    return DownloadArchive.of(
      [
        storage.download('report.txt'),
        { file: storage.download('data/random-1MiB.bin'), name: 'copies/random.bin' },
        { file: DownloadFile.fromBuffer('made in memory\n', { name: 'memory.txt' }), name: 'copies/Random.bin' },
        DownloadFile.fromBuffer('second\n', { name: 'report.txt' }),
      ],
      { name: 'mixed.zip' },
    );
  }

  @Get('hostile')
  hostile() {
    return DownloadArchive.from(
      storage,
      hostileNames.map(() => 'report.txt'),
      { entryNames: hostileNames },
    );
  }

  @Get('unsafe')
  unsafe() {
    return DownloadArchive.from(storage, ['report.txt', 'empty.txt'], { entryNames: ['ok.txt', '/../.'] });
  }

  @Get('missing')
  missing() {
    return DownloadArchive.from(storage, ['report.txt', 'no/such/file.txt']);
  }

  @Get('deflated')
  deflated() {
    return DownloadArchive.from(storage, diskNames, { name: 'deflated.zip', compress: true });
  }

  /** 1,000 entries: a central directory past 64 KiB (yazl once counted ZIP64 records for it). */
  @Get('thousand')
  thousand() {
    return DownloadArchive.of(
      Array.from({ length: 1000 }, (_, i) => ({
        file: DownloadFile.fromBuffer(`entry ${i}\n`, { name: 'entry.txt' }),
        name: `folder/entry-${String(i).padStart(4, '0')}.txt`,
      })),
      { name: 'thousand.zip' },
    );
  }

  @Get('big')
  big() {
    return DownloadArchive.from(
      storage,
      [0, 1, 2, 3].map((i) => `big/part-${i}.bin`),
      { name: 'big.zip' },
    );
  }

  @Get('shrinking')
  async shrinking() {
    const name = `shrinking-${Date.now()}.bin`;
    writeBinaryFile(join(media, name), 4 * MiB, 7);
    const archive = await DownloadArchive.from(storage, ['report.txt', name]);
    truncateSync(join(media, name), MiB); // after the check, before it is read: its size is now wrong
    return archive;
  }
}

/** The archive at `path` on the app (or a proxy), saved to a file for the real tools. */
async function download(base: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetchBytes(`${base}${path}`, { headers });
  const file = join(work, `${sha256(path + Math.random())}.zip`);
  writeFileSync(file, res.body);
  return { ...res, file };
}

/** What the archive should hold: each source's bytes under its entry name. */
function expected(entries: [string, Buffer | string][]) {
  return entries.map(([name, bytes]) => ({ name, size: Buffer.from(bytes).length, sha256: sha256(bytes) }));
}
const source = (name: string) => readFileSync(join(media, name));

/** The descriptors this process holds on files below the media folder. */
function openMediaFiles(): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(media)) open.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return open;
}

let app: INestApplication;
let base: string;
let appPort: number;
beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot({ debug: true })],
    controllers: [ArchivesController],
  }).compile();
  app = await createTestApp(moduleRef);
  await app.listen(0, '127.0.0.1');
  appPort = (app.getHttpServer().address() as { port: number }).port;
  base = `http://127.0.0.1:${appPort}`;
});
afterAll(() => app?.close());

describe('an archive from a FileSystemStorage, entries stored', () => {
  it('is a zip that unzip -t and Python read whole: names, sizes and SHA-256 of every entry', async () => {
    const res = await download(base, '/zip/disk');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="files ete.zip"; filename*=UTF-8''files%20%C3%A9t%C3%A9.zip`,
    );
    expect(res.headers.get('content-length')).toBe(String(res.body.length));
    expect(res.headers.get('accept-ranges')).toBe('none');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('etag')).toMatch(/^W\/"[\w-]+"$/);
    expect(await unzipTest(res.file)).toContain('No errors detected');
    const listed = await listZip(res.file);
    expect(listed.map(({ name, size, sha256 }) => ({ name, size, sha256 }))).toEqual(
      expected(diskNames.map((name) => [name, source(name)])),
    );
    for (const entry of listed) {
      expect(entry.method).toBe(0); // stored
      expect(entry.flags & 0x800).toBe(0x800); // UTF-8 name
    }
  });

  it('is the same archive, byte for byte, on every GET of unchanged files', async () => {
    const [first, second] = [await download(base, '/zip/disk'), await download(base, '/zip/disk')];
    expect(sha256(first.body)).toBe(sha256(second.body));
    expect(first.headers.get('etag')).toBe(second.headers.get('etag'));
  });

  it('HEAD gives the exact length and the ETag, without a body; If-None-Match a 304; If-Match another tag a 412', async () => {
    const full = await fetchBytes(`${base}/zip/disk`);
    const etag = full.headers.get('etag')!;
    const head = await fetchBytes(`${base}/zip/disk`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(full.body.length));
    expect(head.headers.get('content-type')).toBe('application/zip');
    expect(head.headers.get('etag')).toBe(etag);
    expect(head.body.length).toBe(0);
    const notModified = await fetchBytes(`${base}/zip/disk`, { headers: { 'If-None-Match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    const changed = await fetchBytes(`${base}/zip/disk`, { headers: { 'If-None-Match': 'W/"other"' } });
    expect(changed.status).toBe(200);
    expect(sha256(changed.body)).toBe(sha256(full.body));
    const failed = await fetchBytes(`${base}/zip/disk`, { headers: { 'If-Match': '"other"' } });
    expect(failed.status).toBe(412);
  });

  it('ignores Range (Accept-Ranges: none): the whole archive, 200', async () => {
    const full = await fetchBytes(`${base}/zip/disk`);
    const ranged = await fetchBytes(`${base}/zip/disk`, { headers: { Range: 'bytes=0-99' } });
    expect(ranged.status).toBe(200);
    expect(sha256(ranged.body)).toBe(sha256(full.body));
  });

  it('an entry that does not exist is a 404 before any byte, naming no path', async () => {
    const res = await fetchBytes(`${base}/zip/missing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.toString()).not.toContain(media);
    expect(res.body.toString()).not.toContain('no/such');
  });

  it('an entry name that cannot be made safe is a 400 before any byte', async () => {
    const res = await fetchBytes(`${base}/zip/unsafe`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('an entry whose size changed while the archive streams cuts the connection: never a short archive taken as whole', async () => {
    const res = await fetch(`${base}/zip/shrinking`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    const later = await fetchBytes(`${base}/zip/disk`); // the app carries on
    expect(later.status).toBe(200);
  });
});

describe('entries from anywhere, and their names', () => {
  it('mixes files on disk and in memory; names that would collide on extraction are renamed', async () => {
    const res = await download(base, '/zip/mixed');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(res.body.length));
    expect(await unzipTest(res.file)).toContain('No errors detected');
    expect((await listZip(res.file)).map(({ name, size, sha256 }) => ({ name, size, sha256 }))).toEqual(
      expected([
        ['report.txt', source('report.txt')],
        ['copies/random.bin', source('data/random-1MiB.bin')],
        ['copies/Random (2).bin', 'made in memory\n'],
        ['report (2).txt', 'second\n'],
      ]),
    );
  });

  it('hostile names (.., absolute, backslashes, CR/LF, NUL, drives) never extract outside the target folder', async () => {
    const res = await download(base, '/zip/hostile');
    expect(res.status).toBe(200);
    const names = (await listZip(res.file)).map((entry) => entry.name);
    expect(names).toEqual([
      'x',
      'etc/passwd',
      'a/b',
      'evil__name.txt',
      'nul_byte.txt',
      'windows.txt',
      'boot.ini',
      'tmp/escape',
      'dir/up',
    ]);
    const jail = mkdtempSync(join(work, 'jail-'));
    const target = join(jail, 'out');
    mkdirSync(target);
    await unzipInto(res.file, target);
    expect(readdirSync(jail)).toEqual(['out']);
    const extracted = (readdirSync(target, { recursive: true }) as string[])
      .map((name) => join(target, name))
      .filter((path) => statSync(path).isFile());
    expect(extracted).toHaveLength(hostileNames.length);
    for (const path of extracted) {
      expect(relative(target, realpathSync(path)).startsWith('..')).toBe(false);
      expect(readFileSync(path, 'utf8')).toBe('Quarterly report\n');
    }
  });
});

describe('many entries', () => {
  it('1,000 entries (a central directory past 64 KiB): exactly Content-Length bytes, and unzip reads every entry', async () => {
    const res = await download(base, '/zip/thousand');
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(readFileSync(res.file).length);
    expect(await unzipTest(res.file)).toContain('No errors detected');
    const listed = await listZip(res.file);
    expect(listed).toHaveLength(1000);
    expect(listed[999]).toMatchObject({ name: 'folder/entry-0999.txt', size: 'entry 999\n'.length });
  });
});

describe('deflated entries', () => {
  it('are sent chunked, without Content-Length, and read whole by unzip and Python', async () => {
    const res = await download(base, '/zip/deflated');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(await unzipTest(res.file)).toContain('No errors detected');
    const listed = await listZip(res.file);
    expect(listed.map(({ name, size, sha256 }) => ({ name, size, sha256 }))).toEqual(
      expected(diskNames.map((name) => [name, source(name)])),
    );
    expect(listed.every((entry) => entry.method === 8)).toBe(true);
    const head = await fetchBytes(`${base}/zip/deflated`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBeNull();
  });
});

describe('clients that leave', () => {
  it('1,000 downloads aborted after their first bytes leave no file open', async () => {
    expect(openMediaFiles()).toEqual([]);
    for (let round = 0; round < 100; round++) {
      await Promise.all(Array.from({ length: 10 }, () => abortAfterFirstBytes(`${base}/zip/big`)));
    }
    await settles(() => openMediaFiles().length === 0);
    expect(openMediaFiles()).toEqual([]);
    const whole = await download(base, '/zip/big');
    expect(await unzipTest(whole.file)).toContain('No errors detected');
    expect(openMediaFiles()).toEqual([]);
  });

  it('HEAD and 304 open no entry at all', async () => {
    const { headers } = await fetchBytes(`${base}/zip/big`, { method: 'HEAD' });
    await fetchBytes(`${base}/zip/big`, { headers: { 'If-None-Match': headers.get('etag')! } });
    expect(openMediaFiles()).toEqual([]);
  });
});

describe('without the module (Nest sends the archive as any StreamableFile)', () => {
  it('is still exact, whole, and closes its entries when clients leave', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ArchivesController] }).compile();
    const plain = await createTestApp(moduleRef);
    try {
      await plain.listen(0, '127.0.0.1');
      const plainBase = `http://127.0.0.1:${(plain.getHttpServer().address() as { port: number }).port}`;
      const res = await download(plainBase, '/zip/big');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/zip');
      expect(res.headers.get('content-length')).toBe(String(res.body.length));
      expect(await unzipTest(res.file)).toContain('No errors detected');
      for (let round = 0; round < 10; round++) {
        await Promise.all(Array.from({ length: 10 }, () => abortAfterFirstBytes(`${plainBase}/zip/big`)));
      }
      await settles(() => openMediaFiles().length === 0);
      expect(openMediaFiles()).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});

describe('the decision log', () => {
  it('says an archive is served by Node, with its entry count and size', async () => {
    const lines: string[] = [];
    jest.spyOn(Logger.prototype, 'debug').mockImplementation((message: unknown) => void lines.push(String(message)));
    try {
      const res = await fetchBytes(`${base}/zip/disk`);
      expect(lines).toEqual([
        `GET /zip/disk: "files été.zip" served by Node: an archive of 4 entries (${res.body.length} bytes), built as it is sent: never delegated`,
      ]);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

describe('the sample', () => {
  it('/archives/media zips the media folder: every file, by its name below the folder, byte for byte', async () => {
    const sample = await startSampleApp();
    try {
      await sample.app.listen(0, '127.0.0.1');
      const port = (sample.app.getHttpServer().address() as { port: number }).port;
      const names = readdirSync(sample.root, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(sample.root, join(entry.parentPath, entry.name)))
        .sort();
      expect(names.length).toBeGreaterThan(3);
      for (const compress of ['0', '1']) {
        const res = await download(`http://127.0.0.1:${port}`, `/archives/media?compress=${compress}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-disposition')).toBe('attachment; filename=media.zip');
        expect(await unzipTest(res.file)).toContain('No errors detected');
        expect((await listZip(res.file)).map(({ name, sha256 }) => ({ name, sha256 }))).toEqual(
          names.map((name) => ({ name, sha256: sha256(readFileSync(join(sample.root, name))) })),
        );
      }
    } finally {
      await sample.close();
    }
  });
});

describe.each([
  // lighttpd streams every response as it comes (server.stream-response-body = 2) and passes the header on.
  ['lighttpd', (port: number) => startLighttpd({ appPort: port, docroots: [media] }), 'no'],
  // nginx reads X-Accel-Buffering: no, streams the archive rather than buffering it, and drops the header.
  ['nginx', (port: number) => startNginx({ appPort: port, internal: {} }), null],
])('through %s in front (Node sends the archive)', (_name, start, accelBuffering) => {
  let proxy: RunningServer;
  beforeAll(async () => {
    proxy = await start(appPort);
  });
  afterAll(() => proxy?.stop());

  it('arrives byte for byte as Node sent it, with its length, and unzips whole', async () => {
    const direct = await fetchBytes(`${base}/zip/big`);
    const res = await download(`http://127.0.0.1:${proxy.port}`, '/zip/big');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(direct.body.length));
    expect(res.headers.get('x-accel-buffering')).toBe(accelBuffering);
    expect(sha256(res.body)).toBe(sha256(direct.body));
    expect(await unzipTest(res.file)).toContain('No errors detected');
    expect((await listZip(res.file)).map(({ name, sha256 }) => ({ name, sha256 }))).toEqual(
      [0, 1, 2, 3].map((i) => ({ name: `big/part-${i}.bin`, sha256: sha256(source(`big/part-${i}.bin`)) })),
    );
  });

  it('HEAD and If-None-Match pass through', async () => {
    const head = await fetchBytes(`http://127.0.0.1:${proxy.port}/zip/disk`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const etag = head.headers.get('etag')!;
    const res = await fetchBytes(`http://127.0.0.1:${proxy.port}/zip/disk`, { headers: { 'If-None-Match': etag } });
    expect(res.status).toBe(304);
  });
});
