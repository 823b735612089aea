import type { INestApplication, NestMiddleware } from '@nestjs/common';
import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DownloadModuleOptions } from 'nestjs-downloadview';
import { createTestApp } from './support/platform.js';
import {
  startSampleApache,
  startSampleCaddy,
  startSampleLighttpd,
  startSampleNginx,
  type SampleProxy,
  type SampleProxyOptions,
} from './support/sample-proxies.js';
import { fetchBytes, writeBinaryFile } from './support/servers.js';

// An app with `enableCors()` and security headers of its own, behind each of the sample's proxy
// configurations (run verbatim but for ports and folders): a delegated download must reach a page
// of another origin with the headers the app meant it to have. nginx keeps only a few of the app's
// headers on X-Accel-Redirect and caddy copies only those it is told to: the sample configurations
// give the rest back.
const ORIGIN = 'https://app.example';
const FILE = 'handoff.bin';
const SIZE = 300_000;
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
};

/** Security headers on every answer, as an app sets them (helmet or by hand). */
class SecurityHeadersMiddleware implements NestMiddleware {
  use(_req: unknown, res: ServerResponse, next: () => void): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    next();
  }
}

@Module({})
class SecurityHeadersModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SecurityHeadersMiddleware).forRoutes('{*path}');
  }
}

interface Case {
  proxy: string;
  start: (options: SampleProxyOptions) => Promise<SampleProxy>;
  folder: string;
  route: string;
  overrides?: Partial<DownloadModuleOptions>;
}

const CASES: Case[] = [
  { proxy: 'nginx', start: startSampleNginx, folder: 'nginx', route: '/nginx/files/' },
  { proxy: 'lighttpd', start: startSampleLighttpd, folder: 'lighttpd', route: '/lighttpd/files/' },
  {
    proxy: 'caddy',
    start: startSampleCaddy,
    folder: 'lighttpd',
    route: '/lighttpd/files/',
    overrides: { backend: 'caddy', rules: [{ sourceUrl: '/media/lighttpd/', destinationDir: '/lighttpd/' }] },
  },
  { proxy: 'apache', start: startSampleApache, folder: 'apache', route: '/apache/files/' },
];

const root = mkdtempSync(join(tmpdir(), 'downloadview-handoff-'));
const apps: INestApplication[] = [];
const proxies = new Map<Case, SampleProxy>();
const appPorts = new Map<Partial<DownloadModuleOptions> | undefined, number>();
/** The headers compared: the app's CORS answer and its security headers. */
const KEPT = [
  'access-control-allow-origin',
  'access-control-expose-headers',
  'vary',
  'x-content-type-options',
  'content-security-policy',
];

async function startApp(overrides?: Partial<DownloadModuleOptions>): Promise<number> {
  const { AppModule } = await import('../sample/app.module.js');
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(root, overrides), SecurityHeadersModule],
  }).compile();
  const app = await createTestApp(moduleRef, (nest) =>
    nest.enableCors({ origin: ORIGIN, exposedHeaders: ['Content-Disposition'] }),
  );
  await app.listen(0, '127.0.0.1');
  apps.push(app);
  return (app.getHttpServer().address() as { port: number }).port;
}

beforeAll(async () => {
  const { seedMedia } = await import('../sample/media.js');
  seedMedia(root);
  for (const folder of new Set(CASES.map((c) => c.folder))) writeBinaryFile(join(root, folder, FILE), SIZE, 9);
  for (const overrides of new Set(CASES.map((c) => c.overrides))) appPorts.set(overrides, await startApp(overrides));
  await Promise.all(
    CASES.map(async (c) => proxies.set(c, await c.start({ appPort: appPorts.get(c.overrides)!, root }))),
  );
});
afterAll(async () => {
  await Promise.all([...proxies.values()].map((proxy) => proxy.stop()));
  await Promise.all(apps.map((app) => app.close()));
  rmSync(root, { recursive: true, force: true });
});

describe.each(CASES)('the app headers through $proxy (the sample configuration)', (c) => {
  const url = () => `http://127.0.0.1:${proxies.get(c)!.port}${c.route}${FILE}`;

  it('a CORS preflight from another origin is allowed', async () => {
    const res = await fetchBytes(url(), {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('a delegated download from another origin arrives whole, with the headers the app gave it, once each', async () => {
    const res = await fetchBytes(url(), { headers: { Origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.body.equals(readFileSync(join(root, c.folder, FILE)))).toBe(true);
    // What the app answers itself (no proxy announced: Node sends the file), header by header.
    const direct = await fetchBytes(`http://127.0.0.1:${appPorts.get(c.overrides)!}${c.route}${FILE}`, {
      headers: { Origin: ORIGIN },
    });
    expect(direct.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(direct.headers.get('x-content-type-options')).toBe(SECURITY_HEADERS['X-Content-Type-Options']);
    expect(direct.headers.get('content-security-policy')).toBe(SECURITY_HEADERS['Content-Security-Policy']);
    // The same through the proxy, once each: a header both kept and given back would be doubled,
    // and a browser refuses an Access-Control-Allow-Origin that holds two values.
    const headers = (answer: typeof res) => Object.fromEntries(KEPT.map((name) => [name, answer.headers.get(name)]));
    expect(headers(res)).toEqual(headers(direct));
    expect(res.headers.get('content-disposition')).toContain(FILE);
  });
});
