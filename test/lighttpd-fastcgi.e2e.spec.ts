import type { Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFastCgiGateway } from 'nestjs-downloadview/fastcgi';
import { startLighttpdFastCgi } from './support/lighttpd-fastcgi.js';
import { startSampleApp, type SampleApp } from './support/sample-app.js';
import { fetchBytes, freePort, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';

const MiB = 1024 * 1024;
const oddName = 'rapport été 100%41, #1 ?x=y.bin';

describe.each(['lighttpd2', 'lighttpd-legacy'])('end to end through lighttpd + FastCGI (%s)', (backend) => {
  let sample: SampleApp;
  let gateway: Server;
  let lighttpd: RunningServer;
  let base: string;
  let appBase: string;
  const onDisk = (name: string) => readFileSync(join(sample.root, 'lighttpd', name));

  beforeAll(async () => {
    sample = await startSampleApp({ backend });
    writeBinaryFile(join(sample.root, 'lighttpd', 'random-1MiB.bin'), MiB);
    writeBinaryFile(join(sample.root, 'lighttpd', oddName), 100_000, 4);
    await sample.app.listen(0, '127.0.0.1');
    appBase = `http://127.0.0.1:${(sample.app.getHttpServer().address() as { port: number }).port}`;
    const fastcgiPort = await freePort();
    gateway = createFastCgiGateway({ target: appBase });
    await new Promise<void>((resolve) => gateway.listen(fastcgiPort, '127.0.0.1', resolve));
    lighttpd = await startLighttpdFastCgi({ fastcgiPort, docroots: [sample.root] });
    base = `http://127.0.0.1:${lighttpd.port}`;
  });
  afterAll(async () => {
    await lighttpd?.stop();
    await new Promise((resolve) => gateway?.close(resolve));
    await sample?.close();
  });

  it('serves whole files byte for byte, with the app headers and no internal header', async () => {
    for (const name of ['random-1MiB.bin', oddName]) {
      const direct = await fetchBytes(`${appBase}/lighttpd/files/${encodeURIComponent(name)}`);
      expect(direct.body.length).toBe(0); // Node sent only the header
      const res = await fetchBytes(`${base}/lighttpd/files/${encodeURIComponent(name)}`);
      expect(res.status).toBe(200);
      expect(sha256(res.body)).toBe(sha256(onDisk(name)));
      expect(res.headers.get('content-disposition')).toContain('attachment');
      expect(res.headers.get('x-sendfile2')).toBeNull();
      expect(res.headers.get('x-lighttpd-send-file')).toBeNull();
    }
  });

  if (backend === 'lighttpd2') {
    it('a Range request: the app names the slice in X-Sendfile2 and lighttpd sends exactly it', async () => {
      const direct = await fetchBytes(`${appBase}/lighttpd/files/random-1MiB.bin`, {
        headers: { Range: 'bytes=1000-2999' },
      });
      expect(direct.status).toBe(206);
      expect(direct.headers.get('x-sendfile2')).toMatch(/random-1MiB\.bin 1000-2999$/);
      const res = await fetchBytes(`${base}/lighttpd/files/random-1MiB.bin`, { headers: { Range: 'bytes=1000-2999' } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 1000-2999/${MiB}`);
      expect(sha256(res.body)).toBe(sha256(onDisk('random-1MiB.bin').subarray(1000, 3000)));
    });

    it('a suffix range of a file with an awkward name', async () => {
      const res = await fetchBytes(`${base}/lighttpd/files/${encodeURIComponent(oddName)}`, {
        headers: { Range: 'bytes=-500' },
      });
      expect(res.status).toBe(206);
      expect(sha256(res.body)).toBe(sha256(onDisk(oddName).subarray(-500)));
    });

    it('an unsatisfiable range is answered 416 by Node', async () => {
      const res = await fetchBytes(`${base}/lighttpd/files/random-1MiB.bin`, {
        headers: { Range: `bytes=${2 * MiB}-` },
      });
      expect(res.status).toBe(416);
    });
  }
});
