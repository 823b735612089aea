import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openUpForApache, startApache } from './support/apache.js';
import { startCaddy } from './support/caddy.js';
import { startNginx } from './support/nginx.js';
import { startSampleApp, type SampleApp } from './support/sample-app.js';
import { fetchBytes, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';

const MiB = 1024 * 1024;
const oddName = `rapport "été" l'an 100%41; #1 ?x=y.bin`;

/** Starts the sample app with `overrides`, seeds test files, and a proxy in front of it. */
async function chain(
  overrides: object,
  folder: string,
  proxy: (appPort: number, root: string) => Promise<RunningServer>,
) {
  const sample = await startSampleApp(overrides);
  writeBinaryFile(join(sample.root, folder, 'random-1MiB.bin'), MiB);
  writeBinaryFile(join(sample.root, folder, oddName), 100_000, 5);
  await sample.app.listen(0, '127.0.0.1');
  const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
  const server = await proxy(appPort, sample.root);
  return { sample, server, base: `http://127.0.0.1:${server.port}` };
}

function expectSameBytes(body: Buffer, path: string) {
  expect(body.length).toBe(readFileSync(path).length);
  expect(sha256(body)).toBe(sha256(readFileSync(path)));
}

describe('end to end through nginx (X-Accel-Redirect)', () => {
  let sample: SampleApp;
  let nginx: RunningServer;
  let base: string;
  beforeAll(async () => {
    ({
      sample,
      server: nginx,
      base,
    } = await chain({}, 'nginx', (appPort, root) =>
      startNginx({
        appPort,
        internal: {
          '/nginx-optimized-by-middleware/': join(root, 'nginx'),
          '/nginx-optimized-by-decorator/': join(root, 'nginx'),
        },
      }),
    ));
  });
  afterAll(async () => {
    await nginx?.stop();
    await sample?.close();
  });

  it.each(['optimized-by-middleware', 'optimized-by-decorator'])('%s: nginx sends the file', async (route) => {
    const res = await fetchBytes(`${base}/nginx/${route}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('Hello world!\n');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=hello-world.txt');
    expect(res.headers.get('x-accel-redirect')).toBeNull();
  });

  it('the decorator options reach nginx (X-Accel-Buffering: no, X-Accel-Charset) and nginx eats them', async () => {
    const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    const direct = await fetchBytes(`http://127.0.0.1:${appPort}/nginx/optimized-by-decorator`);
    expect(direct.headers.get('x-accel-buffering')).toBe('no');
    expect(direct.headers.get('x-accel-charset')).toBe('utf-8');
    const res = await fetchBytes(`${base}/nginx/optimized-by-decorator`);
    expect(res.headers.get('x-accel-buffering')).toBeNull();
    expect(res.body.toString()).toBe('Hello world!\n');
  });

  it('a 1 MiB binary and a file with an awkward name arrive byte for byte', async () => {
    for (const name of ['random-1MiB.bin', oddName]) {
      const res = await fetchBytes(`${base}/nginx/files/${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expectSameBytes(res.body, join(sample.root, 'nginx', name));
      expect(res.headers.get('x-accel-redirect')).toBeNull();
    }
  });

  it('a Range request through nginx is the right 206 slice', async () => {
    const res = await fetchBytes(`${base}/nginx/files/random-1MiB.bin`, { headers: { Range: 'bytes=4096-8191' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 4096-8191/${MiB}`);
    expect(sha256(res.body)).toBe(
      sha256(readFileSync(join(sample.root, 'nginx', 'random-1MiB.bin')).subarray(4096, 8192)),
    );
  });

  it('limitRate visibly slows a download (256 KiB/s: 1 MiB takes well over a second)', async () => {
    const started = Date.now();
    const res = await fetchBytes(`${base}/nginx/slow/random-1MiB.bin`);
    const elapsed = Date.now() - started;
    expectSameBytes(res.body, join(sample.root, 'nginx', 'random-1MiB.bin'));
    expect(elapsed).toBeGreaterThan(1500);
    const fast = Date.now();
    await fetchBytes(`${base}/nginx/files/random-1MiB.bin`);
    expect(Date.now() - fast).toBeLessThan(elapsed / 2);
  });
});

describe('end to end through apache2 + mod_xsendfile', () => {
  let sample: SampleApp;
  let apache: RunningServer;
  let base: string;
  beforeAll(async () => {
    ({
      sample,
      server: apache,
      base,
    } = await chain({}, 'apache', (appPort, root) => {
      openUpForApache(root);
      return startApache({ appPort, paths: [join(root, 'apache'), join(root, 'apache-optimized-by-decorator')] });
    }));
  });
  afterAll(async () => {
    await apache?.stop();
    await sample?.close();
  });

  it.each(['optimized-by-middleware', 'optimized-by-decorator'])('%s: apache sends the file', async (route) => {
    const res = await fetchBytes(`${base}/apache/${route}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('Hello world!\n');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=hello-world.txt');
    expect(res.headers.get('x-sendfile')).toBeNull();
    expect(res.headers.get('etag')).toBeNull();
  });

  it('a 1 MiB binary and a file with an awkward name arrive byte for byte', async () => {
    for (const name of ['random-1MiB.bin', oddName]) {
      const res = await fetchBytes(`${base}/apache/files/${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expectSameBytes(res.body, join(sample.root, 'apache', name));
    }
  });

  it('a Range request through apache is the right 206 slice', async () => {
    const res = await fetchBytes(`${base}/apache/files/random-1MiB.bin`, { headers: { Range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(sha256(res.body)).toBe(
      sha256(readFileSync(join(sample.root, 'apache', 'random-1MiB.bin')).subarray(0, 100)),
    );
  });
});

describe('end to end through caddy (reverse_proxy + handle_response)', () => {
  let sample: SampleApp;
  let caddy: RunningServer;
  let base: string;
  // Switching backend is the only change: the lighttpd sample's rule, with backend 'caddy'.
  const overrides = { backend: 'caddy', rules: [{ sourceUrl: '/media/lighttpd/', destinationDir: '/lighttpd/' }] };
  beforeAll(async () => {
    ({
      sample,
      server: caddy,
      base,
    } = await chain(overrides, 'lighttpd', (appPort, root) => startCaddy({ appPort, root })));
  });
  afterAll(async () => {
    await caddy?.stop();
    await sample?.close();
  });

  it('caddy sends the file with the app headers', async () => {
    const res = await fetchBytes(`${base}/lighttpd/optimized-by-middleware`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('Hello world!\n');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=hello-world.txt');
    expect(res.headers.get('x-accel-redirect')).toBeNull();
  });

  it('a 1 MiB binary and a file with an awkward name arrive byte for byte', async () => {
    for (const name of ['random-1MiB.bin', oddName]) {
      const res = await fetchBytes(`${base}/lighttpd/files/${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expectSameBytes(res.body, join(sample.root, 'lighttpd', name));
    }
  });

  it("a name with '?' (which Caddy's rewrite cannot take) is served by Node through caddy", async () => {
    const direct = await fetchBytes(
      `http://127.0.0.1:${(sample.app.getHttpServer().address() as { port: number }).port}/lighttpd/files/${encodeURIComponent(oddName)}`,
    );
    expect(direct.headers.get('x-accel-redirect')).toBeNull();
    expectSameBytes(direct.body, join(sample.root, 'lighttpd', oddName));
  });

  it('a non-ASCII name with # and spaces is sent by caddy', async () => {
    writeBinaryFile(join(sample.root, 'lighttpd', 'été #1.bin'), 50_000, 9);
    const direct = await fetchBytes(
      `http://127.0.0.1:${(sample.app.getHttpServer().address() as { port: number }).port}/lighttpd/files/${encodeURIComponent('été #1.bin')}`,
    );
    expect(direct.headers.get('x-accel-redirect')).not.toBeNull();
    const res = await fetchBytes(`${base}/lighttpd/files/${encodeURIComponent('été #1.bin')}`);
    expect(res.status).toBe(200);
    expectSameBytes(res.body, join(sample.root, 'lighttpd', 'été #1.bin'));
  });

  it('a Range request through caddy is the right 206 slice', async () => {
    const res = await fetchBytes(`${base}/lighttpd/files/random-1MiB.bin`, { headers: { Range: 'bytes=10-19' } });
    expect(res.status).toBe(206);
    expect(sha256(res.body)).toBe(
      sha256(readFileSync(join(sample.root, 'lighttpd', 'random-1MiB.bin')).subarray(10, 20)),
    );
  });
});

describe('end to end through nginx: remote files (DownloadFile.fromUrl)', () => {
  let upstream: import('node:http').Server;
  let sample: SampleApp;
  let nginx: RunningServer;
  let base: string;
  let remoteBytes: Buffer;

  beforeAll(async () => {
    const { createServer } = await import('node:http');
    const { Controller, Get } = await import('@nestjs/common');
    const { DownloadFile } = await import('nestjs-downloadview');
    const { freePort } = await import('./support/servers.js');
    const remotePort = await freePort();
    remoteBytes = Buffer.alloc(300_000, 'remote!');
    // The "remote" file server (on loopback): it counts what it serves.
    upstream = createServer((req, res) => {
      if (req.url !== '/bucket/report%201.bin') return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': remoteBytes.length });
      res.end(remoteBytes);
    });
    await new Promise<void>((resolve) => upstream.listen(remotePort, '127.0.0.1', resolve));
    const remoteUrl = `http://127.0.0.1:${remotePort}/bucket/report%201.bin`;

    @Controller('remote')
    class RemoteController {
      @Get()
      remote() {
        return DownloadFile.fromUrl(remoteUrl);
      }
    }
    sample = await startSampleApp(
      { rules: [{ sourceUrl: `http://127.0.0.1:${remotePort}/`, destinationDir: '/proxied/', backend: 'nginx' }] },
      [RemoteController],
    );
    await sample.app.listen(0, '127.0.0.1');
    const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    nginx = await startNginx({ appPort, internal: { '/proxied/': `http://127.0.0.1:${remotePort}/` } });
    base = `http://127.0.0.1:${nginx.port}`;
  });
  afterAll(async () => {
    await nginx?.stop();
    await sample?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('the app names the remote file, nginx fetches and sends it', async () => {
    const appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    const direct = await fetchBytes(`http://127.0.0.1:${appPort}/remote`);
    expect(direct.headers.get('x-accel-redirect')).toBe('/proxied/bucket/report%201.bin');
    expect(direct.body.length).toBe(0);
    const res = await fetchBytes(`${base}/remote`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(remoteBytes));
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="report 1.bin"');
    expect(res.headers.get('x-accel-redirect')).toBeNull();
  });
});
