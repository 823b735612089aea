import 'reflect-metadata';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { parse } from 'content-disposition';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import {
  DownloadModule,
  FileSystemStorage,
  NginxSecureLinkSigner,
  ProxyLinkSigner,
  SignatureRequired,
  SignedFileSystemStorage,
  type ProxyLinkKey,
} from 'nestjs-downloadview';
import { createTestApp } from './support/platform.js';
import { startSampleApp, type SampleApp } from './support/sample-app.js';
import { fetchBytes, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';
import {
  startLinkCaddy,
  startLinkLighttpd,
  startLinkNginx,
  startLinkNginxMd5,
  type LinkProxyOptions,
} from './support/signed-links.js';

// Links that the proxy checks by itself (docs/proxy-links.md), through the sample's configurations
// run verbatim (sample/nginx-signed-links.conf + signed-links.js, lighttpd-signed-links.conf + .lua,
// signed-links.Caddyfile), each in front of the sample app.

const CURRENT: ProxyLinkKey = { id: 'k2026b', secret: 'current-secret-0123456789abcdefghijklmnop' };
const PREVIOUS: ProxyLinkKey = { id: 'k2026a', secret: 'previous-secret-0123456789abcdefghijklmno' };
const RETIRED: ProxyLinkKey = { id: 'k2025z', secret: 'retired-secret-0123456789abcdefghijklmnopq' };

const ODD_NAMES = [
  'with space.txt',
  'été – ünïcode.txt',
  '100%.txt',
  '100%41.txt',
  'a#b.txt',
  'q?x=1.txt',
  "it's (1).txt",
  'sub dir/日本語.bin',
];

interface AppTraffic {
  requests: string[];
  bytes(): number;
}

/** Every request the app receives, and every byte its sockets write. */
function watch(server: Server): AppTraffic {
  const requests: string[] = [];
  const open = new Set<Socket>();
  let closedBytes = 0;
  server.on('request', (req: { url?: string }) => requests.push(req.url ?? ''));
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      closedBytes += socket.bytesWritten;
    });
  });
  return { requests, bytes: () => closedBytes + [...open].reduce((sum, s) => sum + s.bytesWritten, 0) };
}

const proxies: [string, (options: LinkProxyOptions) => Promise<RunningServer>, boolean][] = [
  ['nginx + njs', startLinkNginx, false],
  ['lighttpd + mod_magnet', startLinkLighttpd, false],
  ['caddy + forward_auth to the app', startLinkCaddy, true],
];

let sample: SampleApp;
let traffic: AppTraffic;
let appPort: number;
let folder: string;
/** The app's signer (current key first, previous still valid), and the one from before the rollover. */
let signer: ProxyLinkSigner;
let beforeRollover: ProxyLinkSigner;
let retired: ProxyLinkSigner;

beforeAll(async () => {
  process.env.SAMPLE_LINK_KEYS = [CURRENT, PREVIOUS].map((k) => `${k.id}:${k.secret}`).join(' ');
  sample = await startSampleApp();
  folder = join(sample.root, 'links');
  mkdirSync(join(folder, 'sub dir'), { recursive: true });
  writeBinaryFile(join(folder, 'random-1MiB.bin'), 1024 * 1024);
  ODD_NAMES.forEach((name, i) => writeBinaryFile(join(folder, name), 10_000 + i, i + 2));
  writeBinaryFile(join(folder, 'other.bin'), 5000, 99);
  await sample.app.listen(0, '127.0.0.1');
  const server = sample.app.getHttpServer() as Server;
  appPort = (server.address() as { port: number }).port;
  traffic = watch(server);
  const storage = new FileSystemStorage({ location: folder });
  signer = new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: [CURRENT, PREVIOUS] });
  beforeRollover = new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: [PREVIOUS] });
  retired = new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: [RETIRED] });
});
afterAll(async () => {
  await sample?.close();
  delete process.env.SAMPLE_LINK_KEYS;
});

const onDisk = (name: string) => readFileSync(join(folder, name));

describe.each(proxies)('links checked by %s', (_name, start, asksApp) => {
  let proxy: RunningServer;
  let base: string;
  beforeAll(async () => {
    proxy = await start({ appPort, root: sample.root, keys: [CURRENT, PREVIOUS] });
    base = `http://127.0.0.1:${proxy.port}`;
  });
  afterAll(() => proxy?.stop());

  /** A GET through the proxy, with what reached the app meanwhile. */
  async function get(link: string, headers: Record<string, string> = {}) {
    const [requests, bytes] = [traffic.requests.length, traffic.bytes()];
    const res = await fetchBytes(base + link, { headers });
    return { ...res, appRequests: traffic.requests.slice(requests), appBytes: traffic.bytes() - bytes };
  }

  function expectRefused(res: Awaited<ReturnType<typeof get>>, status: 403 | 410 | 404) {
    expect([res.status, res.headers.get('cache-control')]).toEqual([status, 'private, no-store']);
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(res.body.length).toBeLessThan(1000);
  }

  it('a link issued by the app (through the proxy) brings the file, its name and a max-age within its life', async () => {
    const issued = await fetchBytes(
      `${base}/signed-links/random-1MiB.bin?filename=${encodeURIComponent('Rapport été.bin')}`,
    );
    expect(issued.status).toBe(200);
    const { url } = JSON.parse(issued.body.toString()) as { url: string };
    expect(url).toMatch(/^\/links\/random-1MiB\.bin\?exp=\d+&kid=k2026b&cd=[\w-]+&sig=[\w-]{43}$/);
    // What is left of the link's life when it is asked for: the proxy checks it later still, and
    // the max-age it gives must not reach past the link (a cache may keep the file that long).
    const lifeLeft = Number(new URL(url, 'http://x').searchParams.get('exp')) - Date.now() / 1000;
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(onDisk('random-1MiB.bin')));
    // filename* with the exact name, filename with its ASCII fallback (as the app's own downloads).
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="Rapport ete.bin"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.bin`,
    );
    expect(parse(res.headers.get('content-disposition')!).parameters.filename).toBe('Rapport été.bin');
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(0);
    expect(maxAge).toBeLessThanOrEqual(lifeLeft); // within the sample's expiresIn (600 s)
    // No byte of the file through Node: caddy asks the app once, and gets no body.
    expect(res.appRequests.map((u) => u.split('?')[0])).toEqual(asksApp ? ['/proxy-links/verify'] : []);
    expect(res.appBytes).toBeLessThan(2000);
  });

  it('names with spaces, %, #, ?, non-ASCII and quotes, in a sub-folder too, arrive byte for byte under their own name', async () => {
    for (const name of ODD_NAMES) {
      const link = signer.url(name);
      const res = await get(link);
      expect([name, res.status]).toEqual([name, 200]);
      expect(sha256(res.body)).toBe(sha256(onDisk(name)));
      expect(parse(res.headers.get('content-disposition')!).parameters.filename).toBe(name.split('/').pop());
      expect(res.appBytes).toBeLessThan(2000);
    }
  });

  it('the app issues no link for a missing file (404), a name out of the folder (400) or a bad expiry (400)', async () => {
    // lighttpd removes the dot segment of an encoded ../ itself before the app sees it: then no route (404).
    for (const [path, statuses] of [
      ['/signed-links/missing.bin', [404]],
      ['/signed-links/..%2Fnginx%2Fhello-world.txt', [400, 404]],
      ['/signed-links/other.bin?expiresIn=-5', [400]],
      ['/signed-links/other.bin?expiresIn=soon', [400]],
    ] as const) {
      const res = await fetchBytes(base + path);
      expect([path, (statuses as readonly number[]).includes(res.status)]).toEqual([path, true]);
      expect(res.body.toString()).not.toContain('sig=');
    }
  });

  it('a Range request on a link is the right 206 slice', async () => {
    const res = await get(signer.url('random-1MiB.bin'), { Range: 'bytes=1000-1999' });
    expect(res.status).toBe(206);
    expect(sha256(res.body)).toBe(sha256(onDisk('random-1MiB.bin').subarray(1000, 2000)));
  });

  it('a wrong, missing, repeated or edited signature is a 403', async () => {
    const link = signer.url('other.bin');
    const sig = /sig=([\w-]+)/.exec(link)![1];
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    const expires = Number(/exp=(\d+)/.exec(link)![1]);
    const refused = [
      link.replace(sig, flipped),
      link.replace(`&sig=${sig}`, ''),
      link.split('?')[0],
      `${link}&sig=${sig}`,
      // The expiry cannot be extended, nor the download name changed.
      link.replace(`exp=${expires}`, `exp=${expires + 86400}`),
      link.replace(/cd=[\w-]+/, `cd=${Buffer.from('attachment; filename=evil.exe').toString('base64url')}`),
      // An unknown key, and one no longer configured.
      link.replace('kid=k2026b', 'kid=nope'),
      retired.url('other.bin'),
    ];
    for (const url of refused) expectRefused(await get(url), 403);
  });

  it('a link for one file never opens another', async () => {
    const link = signer.url('other.bin');
    const query = link.slice(link.indexOf('?'));
    for (const path of [
      '/links/random-1MiB.bin',
      '/links/other.bin/',
      '/links/OTHER.bin',
      '/links/sub%20dir/../random-1MiB.bin',
      '/links/%2e%2e/links/random-1MiB.bin',
    ]) {
      const res = await get(path + query);
      expect([path, [400, 403, 404].includes(res.status)]).toEqual([path, true]);
      expect(res.body.length).toBeLessThan(1000);
    }
    // The same path spelt differently is the same file, which the link does open.
    const res = await get(`/links/%6Fther.bin${query}`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(onDisk('other.bin')));
  });

  it('an expired link is a 410, never cached', async () => {
    const link = signer.url('other.bin', { expiresIn: 60, now: Date.now() - 3600_000 });
    expectRefused(await get(link), 410);
  });

  it('a link signed with the previous key still works during the rollover', async () => {
    const link = beforeRollover.url('other.bin');
    expect(link).toContain('kid=k2026a');
    const res = await get(link);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(onDisk('other.bin')));
  });

  it('a link to a file removed since is a 404 that no one caches', async () => {
    writeBinaryFile(join(folder, 'gone.bin'), 100, 7);
    const link = signer.url('gone.bin');
    rmSync(join(folder, 'gone.bin'));
    expectRefused(await get(link), 404);
  });

  if (asksApp) {
    it("headers a client sends cannot stand in for the app's answer", async () => {
      const forged = { 'X-Link-Disposition': 'attachment; filename=evil.exe', 'X-Link-Cache-Control': 'public' };
      const good = await get(signer.url('other.bin'), forged);
      expect(good.status).toBe(200);
      expect(good.headers.get('content-disposition')).toBe('attachment; filename=other.bin');
      expect(good.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expectRefused(await get('/links/other.bin?exp=1&kid=k2026b&cd=&sig=' + 'A'.repeat(43), forged), 403);
    });
  }
});

describe("links checked by nginx's built-in secure_link (MD5, the weaker variant without njs)", () => {
  const SECRET = 'md5-secret-0123456789abcdefghijklmnopqrstu';
  let proxy: RunningServer;
  let base: string;
  let md5: NginxSecureLinkSigner;
  beforeAll(async () => {
    proxy = await startLinkNginxMd5({ appPort, root: sample.root, secret: SECRET });
    base = `http://127.0.0.1:${proxy.port}`;
    md5 = new NginxSecureLinkSigner({
      storage: new FileSystemStorage({ location: folder }),
      baseUrl: '/md5-links/',
      secret: SECRET,
    });
  });
  afterAll(() => proxy?.stop());

  it('a good link brings the file byte for byte under its own name, revalidated, without asking the app', async () => {
    for (const name of ['random-1MiB.bin', ...ODD_NAMES]) {
      const requests = traffic.requests.length;
      const res = await fetchBytes(base + md5.url(name));
      expect([name, res.status]).toEqual([name, 200]);
      expect(sha256(res.body)).toBe(sha256(onDisk(name)));
      expect(parse(res.headers.get('content-disposition')!).parameters.filename).toBe(name.split('/').pop());
      expect(res.headers.get('cache-control')).toBe('private, max-age=0');
      expect(traffic.requests.length).toBe(requests);
    }
  });

  it('403 for a wrong token, another file, another name or a later expiry; 410 once expired; never cached', async () => {
    const link = md5.url('other.bin');
    const token = /md5=([\w-]+)/.exec(link)![1];
    const expires = Number(/expires=(\d+)/.exec(link)![1]);
    const refused: [string, number][] = [
      [link.replace(token, token.slice(0, 5) + (token[5] === 'A' ? 'B' : 'A') + token.slice(6)), 403],
      [link.replace('/other.bin', '/random-1MiB.bin'), 403],
      [link.replace('dn=other.bin', 'dn=evil.exe'), 403],
      [link.replace(`expires=${expires}`, `expires=${expires + 86400}`), 403],
      [link.split('?')[0], 403],
      [md5.url('other.bin', { expiresIn: 60, now: Date.now() - 3600_000 }), 410],
    ];
    for (const [url, status] of refused) {
      const res = await fetchBytes(base + url);
      expect([url, res.status, res.headers.get('cache-control')]).toEqual([url, status, 'private, no-store']);
      expect(res.headers.get('content-disposition')).toBeNull();
    }
  });
});

describe("the app's own signed URLs (SignedFileSystemStorage + @SignatureRequired): cached no longer than they live", () => {
  const location = () => join(folder, 'app-signed');
  let app: INestApplication;
  let appBase: string;
  let storage: SignedFileSystemStorage;
  let cdn: SignedFileSystemStorage;
  beforeAll(async () => {
    mkdirSync(location(), { recursive: true });
    writeBinaryFile(join(location(), 'served by node.bin'), 50_000, 11);
    storage = new SignedFileSystemStorage({
      location: location(),
      baseUrl: '/own/',
      secret: CURRENT.secret,
      expiresIn: 120,
    });
    cdn = new SignedFileSystemStorage({
      location: location(),
      baseUrl: '/cdn/',
      secret: CURRENT.secret,
      expiresIn: 120,
    });
    @Controller()
    class OwnController {
      @Get('own/:name')
      @SignatureRequired(storage)
      own(@Param('name') name: string) {
        return storage.download(name);
      }

      @Get('cdn/:name')
      @SignatureRequired(cdn)
      cdn(@Param('name') name: string) {
        return cdn.download(name);
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        DownloadModule.forRoot({
          rules: [{ sourceUrl: '/cdn/', destinationDir: 'https://cdn.example.com/files/', backend: 'redirect' }],
        }),
      ],
      controllers: [OwnController],
    }).compile();
    app = await createTestApp(moduleRef);
    await app.listen(0, '127.0.0.1');
    appBase = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as { port: number }).port}`;
  });
  afterAll(() => app?.close());

  it('a file Node serves: private, max-age within the URL’s life', async () => {
    const res = await fetchBytes(appBase + storage.url('served by node.bin'));
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(readFileSync(join(location(), 'served by node.bin'))));
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(0);
    expect(maxAge).toBeLessThanOrEqual(120);
  });

  it('a refused signature, a file gone since it was signed, and a redirect: private, no-store', async () => {
    const url = storage.url('served by node.bin');
    const refused = await fetchBytes(appBase + url.replace(/X-Signature=\d+/, 'X-Signature=1'));
    expect([refused.status, refused.headers.get('cache-control')]).toEqual([403, 'private, no-store']);
    const gone = await fetchBytes(appBase + storage.url('never there.bin'));
    expect([gone.status, gone.headers.get('cache-control')]).toEqual([404, 'private, no-store']);
    const redirect = await fetchBytes(appBase + cdn.url('served by node.bin'));
    expect([redirect.status, redirect.headers.get('cache-control')]).toEqual([302, 'private, no-store']);
    expect(redirect.headers.get('location')).toBe('https://cdn.example.com/files/served%20by%20node.bin');
  });
});
