import 'reflect-metadata';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DownloadModule, runHealthcheck, type DownloadModuleOptions } from 'nestjs-downloadview';
import { S3Storage } from 'nestjs-downloadview/s3';
import { startNginx } from './support/nginx.js';
import { createTestApp } from './support/platform.js';
import { startS3, type RunningS3, seededBytes } from './support/s3.js';
import { fetchBytes, freePort, sha256, type RunningServer } from './support/servers.js';

// Objects in a real S3-protocol server that checks SigV4 signatures (@20minutes/s3rver, in its own
// process), served three ways: by the real nginx from the private bucket, by a redirect to a signed
// URL, and by Node. Every body is compared with what was stored.
const BUCKET = 'private-media';
const MiB = 1024 * 1024;
let s3: RunningS3;
let storage: S3Storage;
const stored = new Map<string, Buffer>();

const bytes = seededBytes;

/** The same bucket without the HeadObject in download() (checkExists: false), and what it sends. */
let unchecked: S3Storage;
const commandsSent: string[] = [];

@Controller()
class ObjectsController {
  @Get('s3/:name')
  file(@Param('name') name: string) {
    return storage.download(name);
  }

  @Get('s3-unchecked/:name')
  unchecked(@Param('name') name: string) {
    return unchecked.download(name);
  }
}

async function appWith(options: DownloadModuleOptions): Promise<{ app: INestApplication; base: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot(options)],
    controllers: [ObjectsController],
  }).compile();
  const app = await createTestApp(moduleRef);
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

/** sample/nginx-s3.conf's internal location, pointed at this test's S3 server. */
function sampleS3Locations(endpoint: string): string {
  const conf = readFileSync(join('sample', 'nginx-s3.conf'), 'utf8');
  const block = /# --- s3-internal: begin[^\n]*\n([\s\S]*?)# --- s3-internal: end/.exec(conf)![1];
  return block.replace('proxy_pass http://127.0.0.1:9000/;', `proxy_pass ${endpoint}/;`);
}

const ODD_NAMES = ['with space.bin', 'été – ünïcode.txt', '100%.txt', 'a#b.txt', 'q?x=1.txt', "it's (1).txt"];

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  storage = new S3Storage({ client: s3.client(), bucket: BUCKET, prefix: 'uploads/', baseUrl: '/files/' });
  const counted = s3.client();
  const send = counted.send.bind(counted) as (command: object, options?: object) => Promise<unknown>;
  counted.send = ((command: object, options?: object) => {
    commandsSent.push(command.constructor.name);
    return send(command, options);
  }) as typeof counted.send;
  unchecked = new S3Storage({
    client: counted,
    bucket: BUCKET,
    prefix: 'uploads/',
    baseUrl: '/files/',
    checkExists: false,
  });
  const objects: [string, Buffer][] = [
    ['one.bin', bytes(MiB, 1)],
    ['big.bin', bytes(64 * MiB, 2)],
    ...ODD_NAMES.map((name, i): [string, Buffer] => [name, bytes(10_000 + i, 10 + i)]),
  ];
  for (const [name, data] of objects) {
    // Streams go up in parts (@aws-sdk/lib-storage): 64 MiB is a multipart upload.
    expect(await storage.save(name, Readable.from([data.subarray(0, 1000), data.subarray(1000)]))).toBe(name);
    stored.set(name, data);
  }
}, 120_000);
afterAll(async () => {
  await s3?.stop();
});

describe('the S3 server checks signatures (what makes these tests mean something)', () => {
  it('accepts the signed URL a storage makes, refuses it tampered, expired, or signed with a wrong secret', async () => {
    const file = await storage.download('one.bin');
    const signed = file.object!.signedUrl;
    expect((await fetchBytes(signed)).status).toBe(200);
    const tampered = new URL(signed);
    const signature = tampered.searchParams.get('X-Amz-Signature')!;
    tampered.searchParams.set('X-Amz-Signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
    expect((await fetchBytes(tampered.href)).status).toBe(403);
    const otherKey = new URL(signed);
    otherKey.pathname = otherKey.pathname.replace('one.bin', 'big.bin');
    expect((await fetchBytes(otherKey.href)).status).toBe(403);

    const wrongSecret = await getSignedUrl(
      s3.client({ accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' }),
      new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/one.bin' }),
      { expiresIn: 60 },
    );
    expect((await fetchBytes(wrongSecret)).status).toBe(403);

    const shortLived = new S3Storage({ client: s3.client(), bucket: BUCKET, prefix: 'uploads/', presignExpiresIn: 1 });
    const expiring = (await shortLived.download('one.bin')).object!.signedUrl;
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetchBytes(expiring)).status).toBe(403);
  });
});

describe('signed URLs', () => {
  it("are the SDK's own getSignedUrl() URLs, byte for byte, path-style and virtual-hosted", async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const awsClient = new S3Client({
      region: 'eu-west-3',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    });
    const aws = new S3Storage({ client: awsClient, bucket: 'my-bucket' });
    const date = new Date('2026-11-30T12:00:00Z');
    for (const signer of [storage.signedUrls, aws.signedUrls]) {
      for (const key of ['a.bin', 'dir/été – x.txt', "100% #1 ?x=y it's (1)*!.txt", 'a+b=c&d;e,f@g$h~i.txt']) {
        const disposition = `attachment; filename="x"; filename*=UTF-8''${encodeURIComponent(key)}`;
        const fast = await signer.sign(key, 'text/plain; charset=utf-8', disposition, 60, date);
        expect(fast).toBe(await signer.reference(key, 'text/plain; charset=utf-8', disposition, 60, date));
      }
    }
    expect(new URL(await aws.signedUrls.sign('k', 'a', 'b', 60, date)).host).toBe(
      'my-bucket.s3.eu-west-3.amazonaws.com',
    );
    awsClient.destroy();
  });
});

describe("served by nginx from the private bucket (backend 'nginx', sample/nginx-s3.conf)", () => {
  let app: INestApplication;
  let nginx: RunningServer;
  let base: string;

  beforeAll(async () => {
    const started = await appWith({
      rules: [{ sourceUrl: '/files/', destinationDir: '/s3-internal/', backend: 'nginx' }],
    });
    app = started.app;
    const appPort = Number(new URL(started.base).port);
    nginx = await startNginx({ appPort, internal: {}, extra: sampleS3Locations(s3.endpoint) });
    base = `http://127.0.0.1:${nginx.port}`;
  });
  afterAll(async () => {
    await nginx?.stop();
    await app?.close();
  });

  it.each(['one.bin', 'big.bin', ...ODD_NAMES])(
    "%s: the bytes, with the app's headers and nothing of the bucket",
    async (name) => {
      const res = await fetchBytes(`${base}/s3/${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expect(sha256(res.body)).toBe(sha256(stored.get(name)!));
      const file = await storage.download(name);
      expect(res.headers.get('content-type')).toBe(file.contentType);
      expect(res.headers.get('content-disposition')).toBe(file.disposition);
      const everything = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      for (const secret of [BUCKET, 'X-Amz', 'x-amz', String(s3.port), 's3-internal'])
        expect(everything).not.toContain(secret);
    },
    60_000,
  );

  it('checkExists: false sends no HeadObject; nginx answers a missing object with its own 404', async () => {
    commandsSent.length = 0;
    const res = await fetchBytes(`${base}/s3-unchecked/one.bin`);
    expect(sha256(res.body)).toBe(sha256(stored.get('one.bin')!));
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=one.bin');
    const missing = await fetchBytes(`${base}/s3-unchecked/nope.bin`);
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).not.toContain(BUCKET);
    expect(missing.body.toString()).toContain('nginx');
    expect(commandsSent).toEqual([]);
  });

  it('a range is a 206 slice from the bucket, through nginx', async () => {
    const res = await fetchBytes(`${base}/s3/big.bin`, { headers: { Range: 'bytes=1048576-2097151' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1048576-2097151/${64 * MiB}`);
    expect(sha256(res.body)).toBe(sha256(stored.get('big.bin')!.subarray(MiB, 2 * MiB)));
  });

  it('the app answers with X-Accel-Redirect to the signed path, never shown to the client', async () => {
    const direct = await fetchBytes(
      `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/s3/one.bin`,
    );
    const target = direct.headers.get('x-accel-redirect')!;
    expect(target).toMatch(new RegExp(`^/s3-internal/${BUCKET}/uploads/one\\.bin\\?.*X-Amz-Signature=`));
    expect(target).toContain('response-content-disposition=');
    expect(direct.body.length).toBe(0);
  });

  it('the healthcheck checks the bucket and the chain nginx → bucket', async () => {
    const appUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/s3/one.bin`;
    const steps = await runHealthcheck({
      app: appUrl,
      proxy: `${base}/s3/one.bin`,
      object: { storage, name: 'one.bin' },
    });
    expect(steps.map((step) => [step.name, step.ok])).toEqual([
      ['storage', true],
      ['app → proxy', true],
      ['proxy → storage', true],
      ['full chain', true],
    ]);
    expect(steps[2].detail).toBe(`the proxy sent ${MiB} bytes, identical to the object`);

    const missing = await runHealthcheck({
      app: appUrl,
      proxy: `${base}/s3/one.bin`,
      object: { storage, name: 'gone.bin' },
    });
    expect(missing[0]).toMatchObject({ ok: false, detail: 'gone.bin: File not found' });

    // nginx pointed at the wrong endpoint: the bucket step passes, the chain does not.
    const broken = await startNginx({
      appPort: Number(new URL(appUrl).port),
      internal: {},
      extra: sampleS3Locations(`http://127.0.0.1:${await freePort()}`), // nothing listens there
    });
    try {
      const steps2 = await runHealthcheck({
        app: appUrl,
        proxy: `http://127.0.0.1:${broken.port}/s3/one.bin`,
        object: { storage, name: 'one.bin' },
      });
      expect(steps2.map((step) => step.ok)).toEqual([true, true, false, false]);
      expect(steps2[2].detail).toMatch(/^the proxy answered 502: nginx could not fetch the object from the bucket/);
    } finally {
      await broken.stop();
    }
  });

  it("a missing object is the app's 404, naming nothing", async () => {
    const res = await fetchBytes(`${base}/s3/nope.bin`);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain(BUCKET);
  });

  it("a bucket error is nginx's own page, never the bucket's XML", async () => {
    // The object went away between the app's check and nginx's fetch: nginx's 404, not S3's XML.
    await storage.save('vanishing.txt', 'soon gone');
    const { client } = { client: s3.client() };
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const appPort = (app.getHttpServer().address() as { port: number }).port;
    const answer = await fetchBytes(`http://127.0.0.1:${appPort}/s3/vanishing.txt`);
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'uploads/vanishing.txt' }));
    const viaNginx = await fetchBytes(`${base}${answer.headers.get('x-accel-redirect')!}`);
    expect(viaNginx.status).toBe(404); // internal: a client cannot ask for it
    expect(viaNginx.body.toString()).not.toContain(BUCKET);
  });
});

describe("redirected to a signed URL (backend 'redirect')", () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await appWith({ rules: [{ sourceUrl: '/files/', backend: 'redirect' }] }));
  });
  afterAll(() => app?.close());

  it("302 to a short-lived signed URL, never cached; the client gets the bytes and the app's headers", async () => {
    for (const name of ['one.bin', 'été – ünïcode.txt', 'q?x=1.txt']) {
      const res = await fetchBytes(`${base}/s3/${encodeURIComponent(name)}`);
      expect(res.status).toBe(302);
      expect(res.headers.get('cache-control')).toBe('private, no-store');
      expect(res.headers.get('content-disposition')).toBeNull();
      const location = new URL(res.headers.get('location')!);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('60');
      const followed = await fetch(`${base}/s3/${encodeURIComponent(name)}`); // follows the redirect
      const body = Buffer.from(await followed.arrayBuffer());
      expect(sha256(body)).toBe(sha256(stored.get(name)!));
      const file = await storage.download(name);
      expect(followed.headers.get('content-disposition')).toBe(file.disposition);
      expect(followed.headers.get('content-type')).toBe(file.contentType);
    }
  });

  it('a file on disk with no CDN destinationDir is served by Node instead', async () => {
    const res = await fetchBytes(`${base}/s3/nope.bin`);
    expect(res.status).toBe(404);
  });
});

describe('served by Node (no rule, or mode off): GetObject streamed, HTTP semantics from S3', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await appWith({
      mode: 'off',
      rules: [{ sourceUrl: '/files/', destinationDir: '/s3-internal/', backend: 'nginx' }],
    }));
  });
  afterAll(() => app?.close());

  it.each(['one.bin', 'big.bin', ...ODD_NAMES])(
    "%s: the bytes, with the app's headers",
    async (name) => {
      const res = await fetchBytes(`${base}/s3/${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expect(sha256(res.body)).toBe(sha256(stored.get(name)!));
      expect(res.headers.get('content-length')).toBe(String(stored.get(name)!.length));
      const file = await storage.download(name);
      expect(res.headers.get('content-type')).toBe(file.contentType);
      expect(res.headers.get('content-disposition')).toBe(file.disposition);
      expect(res.headers.get('x-accel-redirect')).toBeNull();
    },
    60_000,
  );

  it('Range → 206, If-None-Match → 304, If-Match → 412, unsatisfiable → 416, If-Range that fails → 200', async () => {
    const big = stored.get('big.bin')!;
    const ranged = await fetchBytes(`${base}/s3/big.bin`, { headers: { Range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${big.length}`);
    expect(ranged.body.equals(big.subarray(100, 200))).toBe(true);

    const etag = ranged.headers.get('etag')!;
    expect(etag).toMatch(/^"/);
    const notModified = await fetchBytes(`${base}/s3/big.bin`, { headers: { 'If-None-Match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect((await fetchBytes(`${base}/s3/big.bin`, { headers: { 'If-Match': '"nope"' } })).status).toBe(412);
    expect((await fetchBytes(`${base}/s3/one.bin`, { headers: { 'If-Match': etag.replace('"', '"x') } })).status).toBe(
      412,
    );
    const lastModified = ranged.headers.get('last-modified')!;
    const before = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await fetchBytes(`${base}/s3/big.bin`, { headers: { 'If-Unmodified-Since': before } })).status).toBe(412);
    expect((await fetchBytes(`${base}/s3/big.bin`, { headers: { 'If-Modified-Since': lastModified } })).status).toBe(
      304,
    );
    const matching = await fetchBytes(`${base}/s3/big.bin`, { headers: { 'If-Match': etag, Range: 'bytes=0-0' } });
    expect(matching.status).toBe(206);
    const unsatisfiable = await fetchBytes(`${base}/s3/one.bin`, { headers: { Range: `bytes=${2 * MiB}-` } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${MiB}`);
    const stale = await fetchBytes(`${base}/s3/one.bin`, { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(stored.get('one.bin')!)).toBe(true);
    const fresh = await fetchBytes(`${base}/s3/one.bin`, {
      headers: { Range: 'bytes=0-9', 'If-Range': (await storage.download('one.bin')).etag! },
    });
    expect(fresh.status).toBe(206);
  });

  it('checkExists: false asks the bucket when Node serves: the bytes, ranges, and a 404 for a missing key', async () => {
    commandsSent.length = 0;
    const res = await fetchBytes(`${base}/s3-unchecked/one.bin`, { headers: { Range: 'bytes=10-19' } });
    expect(res.status).toBe(206);
    expect(res.body.equals(stored.get('one.bin')!.subarray(10, 20))).toBe(true);
    expect(commandsSent).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
    const missing = await fetchBytes(`${base}/s3-unchecked/nope.bin`);
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).not.toContain(BUCKET);
  });

  it('HEAD: the length and validators, no body', async () => {
    const res = await fetchBytes(`${base}/s3/one.bin`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(MiB));
    expect(res.headers.get('etag')).toMatch(/^"/);
    expect(res.body.length).toBe(0);
  });

  it('a missing key is a 404, a name that leaves the prefix a 400, neither naming the bucket', async () => {
    for (const [path, status] of [
      ['nope.bin', 404],
      ['..%2Fsecret', 400],
      ['a%5Cb', 400],
      ['%00', 400],
    ] as const) {
      const res = await fetchBytes(`${base}/s3/${path}`);
      expect(res.status).toBe(status);
      expect(res.body.toString()).not.toContain(BUCKET);
    }
  });

  it('1,000 downloads the client leaves mid-body leave no descriptor or socket behind', async () => {
    const descriptors = () => readdirSync('/proc/self/fd').length;
    const { port } = new URL(base);
    const abortOne = () =>
      new Promise<void>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/s3/big.bin' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.end();
      });
    await abortOne();
    const before = descriptors();
    for (let i = 0; i < 1000; i += 20) await Promise.all(Array.from({ length: 20 }, abortOne));
    let after = descriptors();
    for (let i = 0; i < 100 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = descriptors();
    }
    expect(after).toBeLessThanOrEqual(before);
    // And the app still serves whole files afterwards.
    expect(sha256((await fetchBytes(`${base}/s3/one.bin`)).body)).toBe(sha256(stored.get('one.bin')!));
  }, 120_000);
});

describe('when the bucket cannot be reached', () => {
  it('is a 502 that names no bucket or endpoint', async () => {
    const gone = await startS3([BUCKET]);
    const unreachable = new S3Storage({ client: gone.client(), bucket: BUCKET });
    await gone.stop();
    const previous = storage;
    storage = unreachable;
    const { app, base } = await appWith({});
    try {
      const res = await fetchBytes(`${base}/s3/one.bin`);
      expect(res.status).toBe(502);
      expect(res.body.toString()).not.toContain(BUCKET);
      expect(res.body.toString()).not.toContain(String(gone.port));
    } finally {
      storage = previous;
      await app.close();
    }
  });
});

describe('S3Storage', () => {
  it('refuses keys with control characters, .. or empty segments, or a leading slash', async () => {
    for (const name of ['../x', 'a/../b', '/abs', 'a//b', 'a/./b', 'a\nb', '']) {
      expect(() => storage.key(name)).toThrow(/Invalid file name/);
      await expect(storage.save(name, 'x')).rejects.toThrow(/Invalid file name/);
    }
    expect(storage.key('a/b c.txt')).toBe('uploads/a/b c.txt');
    expect(storage.url('a/b c#1.txt')).toBe('/files/a/b%20c%231.txt');
  });

  it('exists, delete, and a 413 past maxBytes while a stream goes up', async () => {
    await storage.save('tmp.txt', 'x');
    expect(await storage.exists('tmp.txt')).toBe(true);
    expect(await storage.delete('tmp.txt')).toBe(true);
    expect(await storage.exists('tmp.txt')).toBe(false);
    expect(await storage.delete('tmp.txt')).toBe(false);
    await expect(
      storage.save('limited.bin', Readable.from([bytes(6 * MiB, 3)]), { maxBytes: MiB }),
    ).rejects.toMatchObject({ status: 413 });
    expect(await storage.exists('limited.bin')).toBe(false);
  });

  it('checks its options', () => {
    expect(() => new S3Storage({ client: s3.client(), bucket: '' })).toThrow(/"bucket" is required/);
    expect(() => new S3Storage({ client: {} as never, bucket: 'b' })).toThrow(/"client" must be an S3Client/);
    expect(() => new S3Storage({ client: s3.client(), bucket: 'b', presignExpiresIn: 0 })).toThrow(/presignExpiresIn/);
  });
});
