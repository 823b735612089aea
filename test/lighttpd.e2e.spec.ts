import type { INestApplication } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { FileSystemStorage } from 'nestjs-downloadview';
import { join } from 'node:path';
import { startLighttpd } from './support/lighttpd.js';
import { startSampleApp, type SampleApp } from './support/sample-app.js';
import { fetchBytes, fileSha256, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';

// Through a real lighttpd (Debian's package): the client must get the file's exact bytes.
describe('end to end through lighttpd (X-Sendfile)', () => {
  let sample: SampleApp;
  let app: INestApplication;
  let lighttpd: RunningServer;
  let base: string;
  const binaryName = 'random-1MiB.bin';
  const oddName = `rapport "été" l'an 100%41; #1 ?x=y.bin`;

  beforeAll(async () => {
    sample = await startSampleApp();
    app = sample.app;
    writeBinaryFile(join(sample.root, 'lighttpd', binaryName), 1024 * 1024);
    writeBinaryFile(join(sample.root, 'lighttpd', oddName), 200_000, 7);
    await app.listen(0, '127.0.0.1');
    const appPort = (app.getHttpServer().address() as { port: number }).port;
    lighttpd = await startLighttpd({ appPort, docroots: [sample.root] });
    base = `http://127.0.0.1:${lighttpd.port}`;
  });
  afterAll(async () => {
    await lighttpd?.stop();
    await sample?.close();
  });

  it('serves a 1 MiB binary file byte for byte, with the app headers and no X-Sendfile', async () => {
    const res = await fetchBytes(`${base}/lighttpd/files/${binaryName}`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(1024 * 1024);
    expect(sha256(res.body)).toBe(fileSha256(join(sample.root, 'lighttpd', binaryName)));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename=${binaryName}`);
    expect(res.headers.get('x-sendfile')).toBeNull();
  });

  it('serves a file whose name has non-ASCII, %, #, ? and spaces', async () => {
    const res = await fetchBytes(`${base}/lighttpd/files/${encodeURIComponent(oddName)}`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(fileSha256(join(sample.root, 'lighttpd', oddName)));
    expect(res.headers.get('content-disposition')).toContain(
      `filename*=UTF-8''${encodeURIComponent(oddName).replace(/'/g, '%27')}`,
    );
    expect(res.headers.get('x-sendfile')).toBeNull();
  });

  it.each([
    ['optimized-by-middleware', 'lighttpd'],
    ['optimized-by-decorator', 'decorated'],
    ['by-path', 'private'],
    ['plain-stream', 'private'],
  ])('%s: the proxy sends the file', async (route, dir) => {
    const res = await fetchBytes(`${base}/lighttpd/${route}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(readFileSync(join(sample.root, dir, 'hello-world.txt'), 'utf8'));
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=hello-world.txt');
    expect(res.headers.get('x-sendfile')).toBeNull();
  });

  it('the virtual and unmatched routes come from Node intact', async () => {
    const virtual = await fetchBytes(`${base}/lighttpd/virtual`);
    expect(virtual.body.toString()).toBe('Hello virtual world!\n');
    expect(virtual.headers.get('content-disposition')).toBe('attachment; filename=hello-virtual.txt');
    const unmatched = await fetchBytes(`${base}/lighttpd/unmatched`);
    expect(unmatched.body.toString()).toBe('Hello world!\n');
    expect(unmatched.headers.get('x-sendfile')).toBeNull();
  });

  it('lighttpd serves ranges of a delegated file', async () => {
    const res = await fetchBytes(`${base}/lighttpd/files/${binaryName}`, { headers: { Range: 'bytes=1000-1999' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1000-1999/${1024 * 1024}`);
    expect(sha256(res.body)).toBe(sha256(readFileSync(join(sample.root, 'lighttpd', binaryName)).subarray(1000, 2000)));
  });

  it('a missing file is a 404 from the app', async () => {
    const res = await fetchBytes(`${base}/lighttpd/files/nope.bin`);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain(sample.root);
  });
});

describe("end to end through lighttpd, mode 'auto'", () => {
  let sample: SampleApp;
  let lighttpd: RunningServer;
  let appBase: string;
  let proxyBase: string;
  const name = 'auto-2MiB.bin';

  beforeAll(async () => {
    sample = await startSampleApp({ mode: 'auto' });
    writeBinaryFile(join(sample.root, 'lighttpd', name), 2 * 1024 * 1024, 3);
    await sample.app.listen(0, '127.0.0.1');
    const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    lighttpd = await startLighttpd({ appPort, docroots: [sample.root], announce: true });
    appBase = `http://127.0.0.1:${appPort}`;
    proxyBase = `http://127.0.0.1:${lighttpd.port}`;
  });
  afterAll(async () => {
    await lighttpd?.stop();
    await sample?.close();
  });
  const onDisk = () => readFileSync(join(sample.root, 'lighttpd', name));

  it('through lighttpd (which announces X-Sendfile) the proxy serves the bytes', async () => {
    const res = await fetchBytes(`${proxyBase}/lighttpd/files/${name}`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(onDisk()));
    expect(res.headers.get('x-sendfile')).toBeNull();
    // lighttpd's own strong ETag, not Node's weak one: lighttpd read the file.
    expect(res.headers.get('etag')).not.toMatch(/^W\//);
  });

  it('hit directly (no proxy), Node serves the whole file and never sends X-Sendfile', async () => {
    const res = await fetchBytes(`${appBase}/lighttpd/files/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sendfile')).toBeNull();
    expect(res.headers.get('etag')).toMatch(/^W\//);
    expect(sha256(res.body)).toBe(sha256(onDisk()));
  });

  it('hit directly, ranges are served by Node as 206 slices', async () => {
    const res = await fetchBytes(`${appBase}/lighttpd/files/${name}`, { headers: { Range: 'bytes=65536-131071' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 65536-131071/${2 * 1024 * 1024}`);
    expect(sha256(res.body)).toBe(sha256(onDisk().subarray(65536, 131072)));
    expect(res.headers.get('x-sendfile')).toBeNull();
  });

  it('through lighttpd, a range of a delegated file is a 206 slice', async () => {
    const res = await fetchBytes(`${proxyBase}/lighttpd/files/${name}`, { headers: { Range: 'bytes=-1000' } });
    expect(res.status).toBe(206);
    expect(sha256(res.body)).toBe(sha256(onDisk().subarray(-1000)));
  });
});

describe('uploads through lighttpd, then downloads through lighttpd (the sample PUT /uploads/:name)', () => {
  let sample: SampleApp;
  let lighttpd: RunningServer;
  let appBase: string;
  let proxyBase: string;
  const uploads = () => join(sample.root, 'lighttpd', 'uploads');

  const MAX_UPLOAD_BYTES = 1024 * 1024 + 1000;

  beforeAll(async () => {
    process.env.SAMPLE_MAX_UPLOAD_BYTES = String(MAX_UPLOAD_BYTES);
    sample = await startSampleApp();
    delete process.env.SAMPLE_MAX_UPLOAD_BYTES;
    await sample.app.listen(0, '127.0.0.1');
    const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    lighttpd = await startLighttpd({ appPort, docroots: [sample.root] });
    appBase = `http://127.0.0.1:${appPort}`;
    proxyBase = `http://127.0.0.1:${lighttpd.port}`;
  });
  afterAll(async () => {
    await lighttpd?.stop();
    await sample?.close();
  });

  const put = (base: string, name: string, body: Buffer) =>
    fetchBytes(`${base}/uploads/${encodeURIComponent(name)}`, {
      method: 'PUT',
      body: new Uint8Array(body),
      headers: { 'Content-Type': 'application/octet-stream' },
    });

  it('stores an upload byte for byte, and lighttpd sends it back; the same name again gets a free one', async () => {
    const source = join(sample.root, 'upload-source.bin');
    writeBinaryFile(source, 1024 * 1024, 11);
    const bytes = readFileSync(source);
    const name = 'rapport été #1.bin';
    const first = await put(proxyBase, name, bytes);
    expect(first.status).toBe(201);
    expect(JSON.parse(first.body.toString())).toEqual({ name, url: `/uploads/${encodeURIComponent(name)}` });

    const down = await fetchBytes(`${proxyBase}/uploads/${encodeURIComponent(name)}`);
    expect(down.status).toBe(200);
    expect(sha256(down.body)).toBe(sha256(bytes));
    expect(down.headers.get('x-sendfile')).toBeNull();
    // The app delegated it: hit directly, it answers with the header and no body.
    const direct = await fetchBytes(`${appBase}/uploads/${encodeURIComponent(name)}`);
    expect(direct.headers.get('x-sendfile')).toBe(join(uploads(), name).replace(/[^/]+$/, encodeURIComponent));
    expect(direct.body.length).toBe(0);

    const other = Buffer.from('a second file under the same name\n');
    const second = JSON.parse((await put(proxyBase, name, other)).body.toString());
    expect(second.name).toMatch(/^rapport été #1_[A-Za-z0-9]{7}\.bin$/);
    expect((await fetchBytes(`${proxyBase}${second.url}`)).body.equals(other)).toBe(true);
    expect(sha256((await fetchBytes(`${proxyBase}/uploads/${encodeURIComponent(name)}`)).body)).toBe(sha256(bytes));
  });

  it('refuses an upload past the limit with a 413 and keeps nothing of it', async () => {
    for (const base of [appBase, proxyBase]) {
      const res = await put(base, 'too-big.bin', Buffer.alloc(MAX_UPLOAD_BYTES + 1));
      expect(res.status).toBe(413);
    }
    expect(readdirSync(uploads()).filter((f) => f.startsWith('too-big') || f.includes('.downloadview-'))).toEqual([]);
  }, 30_000);

  it('refuses a name that leaves the folder, through lighttpd too', async () => {
    // The app refuses it (400); lighttpd normalises such a path first, and no route is left (404).
    for (const [base, statuses] of [
      [appBase, [400]],
      [proxyBase, [400, 404]],
    ] as const) {
      const escaped = await fetchBytes(`${base}/uploads/..%2F..%2Fescape.txt`, { method: 'PUT', body: 'x' });
      expect(statuses).toContain(escaped.status);
      expect(escaped.body.toString()).not.toContain(sample.root);
    }
    expect(existsSync(join(sample.root, 'escape.txt'))).toBe(false);
    expect(existsSync(join(sample.root, 'lighttpd', 'escape.txt'))).toBe(false);
  });

  it('a file replaced while lighttpd sends it is received whole, old or new, never a mix', async () => {
    const size = 1024 * 1024;
    const versions = [Buffer.alloc(size, 'a'), Buffer.alloc(size, 'b')];
    const hashes = versions.map(sha256);
    const storage = new FileSystemStorage({ location: uploads() });
    await storage.save('replaced.bin', versions[0], { onConflict: 'overwrite' });
    let writing = true;
    const writer = (async () => {
      for (let i = 1; writing; i++) await storage.save('replaced.bin', versions[i % 2], { onConflict: 'overwrite' });
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await fetchBytes(`${proxyBase}/uploads/replaced.bin`);
      expect(res.status).toBe(200);
      expect(hashes).toContain(sha256(res.body));
      seen.add(sha256(res.body));
    }
    writing = false;
    await writer;
    expect(seen.size).toBeGreaterThan(0);
  }, 30_000);
});

describe('the sample /health route (terminus + DownloadHealthIndicator) through lighttpd', () => {
  it('is up behind a working lighttpd', async () => {
    const sample = await startSampleApp();
    await sample.app.listen(0, '127.0.0.1');
    const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    const lighttpd = await startLighttpd({ appPort, docroots: [sample.root] });
    process.env.PORT = String(appPort);
    process.env.SAMPLE_PROXY_URL = `http://127.0.0.1:${lighttpd.port}`;
    try {
      const res = await fetchBytes(`http://127.0.0.1:${lighttpd.port}/health`);
      const body = JSON.parse(res.body.toString());
      expect(body.status).toBe('ok');
      expect(body.info.download.steps.map((s: { ok: boolean }) => s.ok)).toEqual([true, true, true, true]);
    } finally {
      delete process.env.PORT;
      delete process.env.SAMPLE_PROXY_URL;
      await lighttpd.stop();
      await sample.close();
    }
  });
});
