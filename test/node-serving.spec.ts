import 'reflect-metadata';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DownloadFile, DownloadModule, XSendfile, type DownloadModuleOptions } from 'nestjs-downloadview';
import { assertXSendfile } from 'nestjs-downloadview/testing';
import { writeBinaryFile } from './support/servers.js';
import { createTestApp } from './support/platform.js';

const dir = mkdtempSync(join(tmpdir(), 'downloadview-serve-'));
const big = join(dir, 'big.bin');
writeBinaryFile(big, 4 * 1024 * 1024);
const bigBytes = readFileSync(big);
writeFileSync(join(dir, 'hello.txt'), 'Hello world!\n');
const served: DownloadFile[] = [];
let failMidway = false;

@Controller()
class ServeController {
  @Get('big')
  big() {
    const file = DownloadFile.fromPath(big);
    served.push(file);
    if (failMidway) {
      // A disk error after the first chunk has gone out
      const original = file.getStream.bind(file);
      file.getStream = () => {
        const stream = original();
        stream.once('data', () =>
          setImmediate(() => stream.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }))),
        );
        return stream;
      };
    }
    return file;
  }

  @Get('hello')
  hello() {
    return DownloadFile.fromPath(join(dir, 'hello.txt'));
  }

  @Get('vanishing')
  vanishing() {
    const path = join(dir, `vanishing-${Date.now()}.txt`);
    writeFileSync(path, 'soon gone');
    const file = DownloadFile.fromPath(path);
    unlinkSync(path);
    return file;
  }

  @Get('virtual')
  virtual() {
    return DownloadFile.fromBuffer('0123456789', { name: 'digits.txt' });
  }

  @Get('route-off')
  @XSendfile({ mode: 'off' })
  routeOff() {
    return DownloadFile.fromPath(join(dir, 'hello.txt'));
  }
}

async function appWith(options: DownloadModuleOptions): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot(options)],
    controllers: [ServeController],
  }).compile();
  return createTestApp(moduleRef);
}
const rule = { sourceDir: dir, destinationDir: '/srv/files' };
const fdCount = () => readdirSync('/proc/self/fd').length;

describe('Node serves a DownloadFile itself (no rule, mode off, virtual)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  beforeAll(async () => {
    app = await appWith({ rules: [rule], mode: 'off' });
    await app.listen(0, '127.0.0.1');
    http = request(app.getHttpServer());
  });
  afterAll(() => app.close());

  it('a full GET has Content-Length, Accept-Ranges, Last-Modified and a weak ETag', async () => {
    const res = await http
      .get('/big')
      .buffer(true)
      .parse((r, cb) => {
        const c: Buffer[] = [];
        r.on('data', (d: Buffer) => c.push(d));
        r.on('end', () => cb(null, Buffer.concat(c)));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(bigBytes.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(new Date(res.headers['last-modified']).getTime()).not.toBeNaN();
    expect(res.headers.etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(Buffer.compare(res.body, bigBytes)).toBe(0);
  });

  it('Range gives 206 with Content-Range and exactly that slice', async () => {
    const res = await http
      .get('/big')
      .set('Range', 'bytes=100-199')
      .buffer(true)
      .parse((r, cb) => {
        const c: Buffer[] = [];
        r.on('data', (d: Buffer) => c.push(d));
        r.on('end', () => cb(null, Buffer.concat(c)));
      });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 100-199/${bigBytes.length}`);
    expect(res.headers['content-length']).toBe('100');
    expect(Buffer.compare(res.body, bigBytes.subarray(100, 200))).toBe(0);
  });

  it('a suffix range gives the last bytes', async () => {
    const res = await http.get('/hello').set('Range', 'bytes=-6');
    expect(res.status).toBe(206);
    expect(res.text).toBe('world!\n'.slice(-6));
    expect(res.headers['content-range']).toBe('bytes 7-12/13');
  });

  it('an unsatisfiable range is a 416 with Content-Range: bytes */size', async () => {
    const res = await http.get('/hello').set('Range', 'bytes=500-600');
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */13');
  });

  it('If-Range with the current ETag gives the range, with an old one the whole file', async () => {
    const { headers } = await http.get('/hello');
    const fresh = await http.get('/hello').set('Range', 'bytes=0-4').set('If-Range', headers.etag);
    expect(fresh.status).toBe(206);
    expect(fresh.text).toBe('Hello');
    const stale = await http.get('/hello').set('Range', 'bytes=0-4').set('If-Range', 'W/"0-stale"');
    expect(stale.status).toBe(200);
    expect(stale.text).toBe('Hello world!\n');
  });

  it('If-None-Match and If-Modified-Since give 304 with no body', async () => {
    const { headers } = await http.get('/hello');
    const byTag = await http.get('/hello').set('If-None-Match', headers.etag);
    expect(byTag.status).toBe(304);
    expect(byTag.text ?? '').toBe('');
    const byDate = await http.get('/hello').set('If-Modified-Since', headers['last-modified']);
    expect(byDate.status).toBe(304);
    const changed = await http.get('/hello').set('If-None-Match', 'W/"other"');
    expect(changed.status).toBe(200);
  });

  it('If-Match with another ETag is a 412', async () => {
    const res = await http.get('/hello').set('If-Match', '"other"');
    expect(res.status).toBe(412);
  });

  it('HEAD gives the headers, no body, and opens no file', async () => {
    served.length = 0;
    const res = await http.head('/big');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(bigBytes.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers.etag).toMatch(/^W\//);
    expect(served).toHaveLength(1);
    expect(served[0].opened).toBe(false);
  });

  it('virtual files have Content-Length, Content-Type, Content-Disposition and ranges', async () => {
    const res = await http.get('/virtual');
    expect(res.text).toBe('0123456789');
    expect(res.headers['content-length']).toBe('10');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename=digits.txt');
    const range = await http.get('/virtual').set('Range', 'bytes=2-4');
    expect(range.status).toBe(206);
    expect(range.text).toBe('234');
  });

  it('a file that vanished after it was checked is a 404, not a 500', async () => {
    const res = await http.get('/vanishing');
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(dir);
  });

  it('a read error mid-body destroys the socket, and the app keeps serving', async () => {
    failMidway = true;
    const address = app.getHttpServer().address();
    const outcome = await new Promise<{ received: number; complete: boolean }>((resolve) => {
      httpGet({ host: '127.0.0.1', port: address.port, path: '/big' }, (res) => {
        let received = 0;
        res.on('data', (d: Buffer) => (received += d.length));
        res.on('close', () => resolve({ received, complete: res.complete }));
      });
    }).finally(() => (failMidway = false));
    expect(outcome.complete).toBe(false);
    expect(outcome.received).toBeLessThan(bigBytes.length);
    expect((await http.get('/hello')).text).toBe('Hello world!\n');
  });

  it('1,000 downloads aborted mid-body (full and ranged) leave no descriptor open', async () => {
    const { port } = app.getHttpServer().address();
    // Every other one asks for a range, which Node answers through a web Response stream.
    let n = 0;
    const abortOne = () =>
      new Promise<void>((resolve) => {
        const headers = n++ % 2 ? { Range: 'bytes=10-' } : {};
        const req = httpGet({ host: '127.0.0.1', port, path: '/big', agent: false, headers }, (res) => {
          res.once('data', () => req.destroy());
        });
        req.on('close', () => resolve());
        req.on('error', () => resolve());
      });
    await abortOne();
    const before = fdCount();
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, abortOne));
    // The server notices each close on its next turn.
    for (let i = 0; i < 50 && fdCount() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fdCount()).toBeLessThanOrEqual(before);
  }, 60_000);
});

describe('mode', () => {
  afterEach(() => delete process.env.DOWNLOADVIEW_MODE);

  it("'always' converts whatever the request says", async () => {
    const app = await appWith({ rules: [rule] });
    assertXSendfile(await request(app.getHttpServer()).get('/hello'), { filePath: '/srv/files/hello.txt' });
    await app.close();
  });

  it("'auto' converts only when a trusted proxy announces X-Sendfile", async () => {
    const app = await appWith({ rules: [rule], mode: 'auto' });
    const http = request(app.getHttpServer());
    assertXSendfile(await http.get('/hello').set('X-Sendfile-Type', 'X-Sendfile'), {
      filePath: '/srv/files/hello.txt',
    });
    const plain = await http.get('/hello');
    expect(plain.headers['x-sendfile']).toBeUndefined();
    expect(plain.text).toBe('Hello world!\n');
    const otherHeader = await http.get('/hello').set('X-Sendfile-Type', 'X-Accel-Redirect');
    expect(otherHeader.headers['x-sendfile']).toBeUndefined();
    await app.close();
  });

  it("'auto' ignores X-Sendfile-Type from an address that is not a trusted proxy", async () => {
    const app = await appWith({ rules: [rule], mode: 'auto', trustedProxies: ['10.1.2.3', '192.168.0.0/16'] });
    const res = await request(app.getHttpServer()).get('/hello').set('X-Sendfile-Type', 'X-Sendfile');
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.text).toBe('Hello world!\n');
    await app.close();
  });

  it("'off' never converts", async () => {
    const app = await appWith({ rules: [rule], mode: 'off' });
    const res = await request(app.getHttpServer()).get('/hello');
    expect(res.headers['x-sendfile']).toBeUndefined();
    await app.close();
  });

  it('DOWNLOADVIEW_MODE overrides the configured mode', async () => {
    process.env.DOWNLOADVIEW_MODE = 'off';
    const app = await appWith({ rules: [rule], mode: 'always' });
    const res = await request(app.getHttpServer()).get('/hello');
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.text).toBe('Hello world!\n');
    await app.close();
  });

  it('an invalid DOWNLOADVIEW_MODE fails at startup', async () => {
    process.env.DOWNLOADVIEW_MODE = 'maybe';
    await expect(appWith({ rules: [rule] })).rejects.toThrow(
      /DOWNLOADVIEW_MODE: "mode" must be one of always, auto, off/,
    );
  });

  it('a rule and a route can set their own mode', async () => {
    const app = await appWith({ rules: [{ ...rule, mode: 'off' }] });
    expect((await request(app.getHttpServer()).get('/hello')).headers['x-sendfile']).toBeUndefined();
    await app.close();
    const app2 = await appWith({ rules: [rule] });
    expect((await request(app2.getHttpServer()).get('/route-off')).headers['x-sendfile']).toBeUndefined();
    assertXSendfile(await request(app2.getHttpServer()).get('/hello'), {});
    await app2.close();
  });
});
