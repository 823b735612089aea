import 'reflect-metadata';
import { S3Client } from '@aws-sdk/client-s3';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadArchive, DownloadFile, DownloadModule, FileSystemStorage } from 'nestjs-downloadview';
import { S3Storage } from 'nestjs-downloadview/s3';
import { S3RVER_CREDENTIALS, seededBytes, startS3, type RunningS3 } from './support/s3.js';
import { fetchBytes, sha256 } from './support/servers.js';
import { abortAfterFirstBytes, listZip, settles, unzipTest } from './support/zip-tools.js';

// Archives of objects in a real S3-protocol server (s3rver, in its own process), alone and mixed
// with files on disk and in memory, on Express and on Fastify (this suite needs the AWS SDK, which
// the packed apps do not install: it runs from src, both platforms here).
const BUCKET = 'archives';
const MiB = 1024 * 1024;
const objects = new Map<string, Buffer>([
  ['reports/q1.bin', seededBytes(3 * MiB, 1)],
  ['reports/q2 été.bin', seededBytes(200_000, 2)],
  ['empty.txt', Buffer.alloc(0)],
]);
const dir = mkdtempSync(join(tmpdir(), 'downloadview-archives-s3-'));
writeFileSync(join(dir, 'local.txt'), 'on disk\n');
const disk = new FileSystemStorage({ location: dir });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let s3: RunningS3;
/** Checks each object when it is named (HeadObject), as S3Storage does by default. */
let storage: S3Storage;
/** Checks nothing when named: the archive asks the bucket itself, up front. */
let unchecked: S3Storage;
let client: S3Client;

@Controller('zip')
class ObjectArchivesController {
  @Get('objects')
  objects() {
    return DownloadArchive.from(storage, [...objects.keys()], { name: 'objects.zip' });
  }

  @Get('mixed')
  mixed() {
    return DownloadArchive.of([
      unchecked.download('reports/q1.bin'),
      disk.download('local.txt'),
      { file: DownloadFile.fromBuffer('in memory\n', { name: 'memory.txt' }), name: 'notes/memory.txt' },
    ]);
  }

  @Get('missing')
  missing() {
    return DownloadArchive.from(unchecked, ['reports/q1.bin', 'reports/none.bin']);
  }

  /** Two downloads that fail: the first failure answers, the other is never an unhandled rejection. */
  @Get('missing-twice')
  missingTwice() {
    return DownloadArchive.of([
      storage.download('reports/none.bin'),
      storage.download('reports/neither.bin'),
      unchecked.download('reports/q1.bin'),
    ]);
  }

  @Get('replaced')
  async replaced() {
    const name = `replaced-${Date.now()}.bin`;
    await storage.save(name, seededBytes(2 * MiB, 5));
    const archive = await DownloadArchive.from(storage, [name]);
    await storage.save(name, seededBytes(2 * MiB, 6)); // a new version, after the check
    return archive;
  }
}

/** An app on `platform` with the controller above. */
async function appOn(platform: 'express' | 'fastify'): Promise<{ app: INestApplication; base: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot({})],
    controllers: [ObjectArchivesController],
  }).compile();
  const options = { logger: false as const };
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), options)
      : moduleRef.createNestApplication(options);
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

/** This process's TCP connections to the S3 server: an object read left open holds one. */
function connectionsToS3(): number {
  const sockets = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const found = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (found) sockets.add(found[1]);
    } catch {
      // closed meanwhile
    }
  }
  const port = s3.port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // remote address, state 01 (ESTABLISHED), inode
      if (fields[2]?.endsWith(`:${port}`) && fields[3] === '01' && sockets.has(fields[9])) count++;
    }
  }
  return count;
}

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  // No keep-alive: a connection is open only while a request is, so an open one is a read left behind.
  client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
  storage = new S3Storage({ client, bucket: BUCKET, baseUrl: '/files/' });
  unchecked = new S3Storage({ client, bucket: BUCKET, baseUrl: '/files/', checkExists: false });
  for (const [name, data] of objects) await storage.save(name, data);
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

describe.each(['express', 'fastify'] as const)('archives of objects in a bucket, on %s', (platform) => {
  let app: INestApplication;
  let base: string;
  const work = mkdtempSync(join(dir, `${platform}-`));
  beforeAll(async () => {
    ({ app, base } = await appOn(platform));
  });
  afterAll(() => app?.close());

  async function download(path: string) {
    const res = await fetchBytes(`${base}${path}`);
    const file = join(work, `${sha256(path + Math.random())}.zip`);
    writeFileSync(file, res.body);
    return { ...res, file };
  }

  it('every object arrives whole, with the exact Content-Length, read by unzip -t and Python', async () => {
    const res = await download('/zip/objects');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(res.body.length));
    expect(await unzipTest(res.file)).toContain('No errors detected');
    expect((await listZip(res.file)).map(({ name, size, sha256 }) => ({ name, size, sha256 }))).toEqual(
      [...objects].map(([name, data]) => ({ name, size: data.length, sha256: sha256(data) })),
    );
    const head = await fetchBytes(`${base}/zip/objects`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(res.body.length));
    const etag = head.headers.get('etag')!;
    expect((await fetchBytes(`${base}/zip/objects`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
  });

  it('objects, files on disk and in memory in one archive', async () => {
    const res = await download('/zip/mixed');
    expect(res.status).toBe(200);
    expect(await unzipTest(res.file)).toContain('No errors detected');
    expect((await listZip(res.file)).map(({ name, sha256 }) => ({ name, sha256 }))).toEqual([
      { name: 'q1.bin', sha256: sha256(objects.get('reports/q1.bin')!) },
      { name: 'local.txt', sha256: sha256('on disk\n') },
      { name: 'notes/memory.txt', sha256: sha256('in memory\n') },
    ]);
  });

  it('a missing object is a 404 before any byte, naming no bucket or key', async () => {
    const res = await fetchBytes(`${base}/zip/missing`);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain(BUCKET);
    expect(res.body.toString()).not.toContain('none.bin');
    expect((await fetchBytes(`${base}/zip/missing-twice`)).status).toBe(404);
  });

  it('an object replaced after the check cuts the connection rather than mixing two versions', async () => {
    const res = await fetch(`${base}/zip/replaced`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('1,000 downloads aborted after their first bytes leave no object read open', async () => {
    for (let round = 0; round < 100; round++) {
      await Promise.all(Array.from({ length: 10 }, () => abortAfterFirstBytes(`${base}/zip/objects`)));
    }
    await settles(() => connectionsToS3() === 0);
    expect(connectionsToS3()).toBe(0);
    const whole = await download('/zip/objects');
    expect(await unzipTest(whole.file)).toContain('No errors detected');
  });
});
