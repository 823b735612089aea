import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { copyFileSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { DownloadModuleOptions } from 'nestjs-downloadview';
import { createTestApp } from './support/platform.js';
import { sharedMediaRoot } from './support/sample-app.js';
import {
  startSampleApache,
  startSampleCaddy,
  startSampleLighttpd,
  startSampleNginx,
  type SampleProxy,
  type SampleProxyOptions,
} from './support/sample-proxies.js';
import { fetchBytes, writeBinaryFile } from './support/servers.js';

// The sample's proxy configurations log each delegated download with the app's X-Request-Id and
// whether it went out whole: run verbatim (but for ports and folders) in front of the sample app.
// Far more than the socket buffers hold (about 4 MiB leave the proxy before it sees the cut).
const SIZE = 16 * 1024 * 1024;
const CUT_AFTER = 256 * 1024;
const FILE = 'large.bin';

/** What a proxy's log line says about one download. */
interface Logged {
  status: number;
  /** Body bytes that went out. */
  bytes: number;
  complete: boolean;
}

/** The app's log lines (the sample's request-id middleware logs at debug level). */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (message: unknown) => void this.lines.push(String(message));
  error = (message: unknown) => void this.lines.push(String(message));
  warn = (message: unknown) => void this.lines.push(String(message));
  debug = (message: unknown) => void this.lines.push(String(message));
  verbose = (message: unknown) => void this.lines.push(String(message));
}

interface Case {
  proxy: string;
  start: (options: SampleProxyOptions) => Promise<SampleProxy>;
  /** The sample's media folder the route sends from, and the route. */
  folder: string;
  route: string;
  overrides?: Partial<DownloadModuleOptions>;
  /** The proxy's record of the download with this request id, once written. */
  find(proxy: SampleProxy, requestId: string): Logged | undefined;
}

/** The text log line of the request with this id (the sample's formats end with `request_id=<id>`). */
const lineOf = (proxy: SampleProxy, requestId: string) =>
  proxy.accessLines().find((line) => line.endsWith(` request_id=${requestId}`));

const CASES: Case[] = [
  {
    proxy: 'nginx',
    start: startSampleNginx,
    folder: 'nginx',
    route: '/nginx/files/',
    find(proxy, requestId) {
      const m = /" (\d{3}) bytes=(\d+) completion=(\w+) request_id=/.exec(lineOf(proxy, requestId) ?? '');
      return m ? { status: Number(m[1]), bytes: Number(m[2]), complete: m[3] === 'complete' } : undefined;
    },
  },
  {
    proxy: 'lighttpd',
    start: startSampleLighttpd,
    folder: 'lighttpd',
    route: '/lighttpd/files/',
    find(proxy, requestId) {
      const m = /" (\d{3}) bytes=(\d+) connection=([X+-]) request_id=/.exec(lineOf(proxy, requestId) ?? '');
      return m ? { status: Number(m[1]), bytes: Number(m[2]), complete: m[3] !== 'X' } : undefined;
    },
  },
  {
    proxy: 'caddy',
    start: startSampleCaddy,
    folder: 'lighttpd',
    route: '/lighttpd/files/',
    // The sample's caddy rule: the lighttpd folder, relative to caddy's root.
    overrides: { backend: 'caddy', rules: [{ sourceUrl: '/media/lighttpd/', destinationDir: '/lighttpd/' }] },
    find(proxy, requestId) {
      type Entry = { status: number; size: number; resp_headers: Record<string, string[] | undefined> };
      const entry = proxy
        .accessLines()
        .map((line) => JSON.parse(line) as Entry)
        .find((e) => e.resp_headers['X-Request-Id']?.[0] === requestId);
      if (!entry) return undefined;
      const length = Number(entry.resp_headers['Content-Length']?.[0]);
      return { status: entry.status, bytes: entry.size, complete: entry.size === length };
    },
  },
  {
    proxy: 'apache',
    start: startSampleApache,
    folder: 'apache',
    route: '/apache/files/',
    // %B is the response's size even when cut: the bytes that went out are %O, headers included.
    find(proxy, requestId) {
      const m = /" (\d{3}) bytes=(\d+) sent=(\d+) connection=([X+-]) request_id=/.exec(lineOf(proxy, requestId) ?? '');
      if (!m) return undefined;
      const complete = m[4] !== 'X';
      return { status: Number(m[1]), bytes: complete ? Number(m[2]) : Number(m[3]), complete };
    },
  },
];

/** Waits for what `read` returns (lighttpd writes its log in batches, up to about 4 s late). */
async function eventually<T>(read: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A client that reads the headers and `limit` bytes of the body, then drops the connection: its
 * request id, from the response's headers.
 */
function downloadPart(port: number, path: string, limit: number): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0 || received.length - end - 4 < limit) return;
      socket.destroy();
      const head = received.subarray(0, end).toString('latin1');
      resolve({
        status: Number(head.split(' ')[1]),
        requestId: /^x-request-id: *(\S+)/im.exec(head)?.[1] ?? '',
      });
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`the response ended before ${limit} bytes`)));
  });
}

/** The sample app with its request-id middleware, listening on loopback, and its port. */
async function startApp(root: string, logger: LoggerService, overrides?: Partial<DownloadModuleOptions>) {
  const { AppModule } = await import('../sample/app.module.js');
  const { RequestIdModule } = await import('../sample/request-id.middleware.js');
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(root, overrides), RequestIdModule],
  }).compile();
  const app = await createTestApp(moduleRef);
  app.useLogger(logger);
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

const logger = new CapturingLogger();
const apps: INestApplication[] = [];
const proxies = new Map<Case, SampleProxy>();

// Every app and proxy up front, the proxies side by side: the suite stays short on both platforms.
beforeAll(async () => {
  const root = sharedMediaRoot();
  const { seedMedia } = await import('../sample/media.js');
  seedMedia(root);
  const seed = join(root, FILE);
  writeBinaryFile(seed, SIZE);
  for (const folder of new Set(CASES.map((c) => c.folder))) copyFileSync(seed, join(root, folder, FILE));
  // The default app for the rules the sample ships, another where caddy takes the lighttpd rule.
  const appPorts = new Map<Partial<DownloadModuleOptions> | undefined, number>();
  for (const overrides of new Set(CASES.map((c) => c.overrides))) {
    const { app, port } = await startApp(root, logger, overrides);
    apps.push(app);
    appPorts.set(overrides, port);
  }
  await Promise.all(
    CASES.map(async (c) => proxies.set(c, await c.start({ appPort: appPorts.get(c.overrides)!, root }))),
  );
});
afterAll(async () => {
  await Promise.all([...proxies.values()].map((proxy) => proxy.stop()));
  await Promise.all(apps.map((app) => app.close()));
});

describe.each(CASES)('access log of $proxy (the sample configuration)', (c) => {
  const url = (proxy: SampleProxy) => `http://127.0.0.1:${proxy.port}${c.route}${FILE}`;

  it('logs a whole download as complete, with its size and the request id the app set and logged, and no query', async () => {
    const proxy = proxies.get(c)!;
    // A query such as a signed URL's: its value must stay out of the proxy's log and the app's.
    const res = await fetchBytes(`${url(proxy)}?X-Signature=secret-${c.proxy}-value`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(SIZE);
    expect(res.body.equals(readFileSync(join(sharedMediaRoot(), c.folder, FILE)))).toBe(true);
    const requestId = res.headers.get('x-request-id') ?? '';
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(new RegExp(` delegated \\(.+\\) request_id=${requestId}$`)),
    );
    const logged = await eventually(() => c.find(proxy, requestId), `${c.proxy} log line for ${requestId}`);
    expect(logged).toEqual({ status: 200, bytes: SIZE, complete: true });
    expect(proxy.accessLines().join('\n')).toContain(`${c.route}${FILE}`);
    expect([...proxy.accessLines(), ...logger.lines].join('\n')).not.toContain(`secret-${c.proxy}-value`);
  });

  it('logs a download the client cut as incomplete, with fewer bytes', async () => {
    const proxy = proxies.get(c)!;
    const { status, requestId } = await downloadPart(proxy.port, `${c.route}${FILE}`, CUT_AFTER);
    expect(status).toBe(200);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logger.lines).toContainEqual(expect.stringContaining(`request_id=${requestId}`));
    const logged = await eventually(() => c.find(proxy, requestId), `${c.proxy} log line for ${requestId}`);
    expect(logged.status).toBe(200);
    expect(logged.complete).toBe(false);
    expect(logged.bytes).toBeGreaterThanOrEqual(CUT_AFTER);
    expect(logged.bytes).toBeLessThan(SIZE);
  });
});
