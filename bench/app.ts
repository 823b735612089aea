import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Res,
  StreamableFile,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Response as ExpressResponse } from 'express';
import express from 'express';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DownloadModule,
  FileSystemStorage,
  ProxyLinkSigner,
  XSendfile,
  type DownloadModuleOptions,
  type DownloadRule,
} from 'nestjs-downloadview';
import { S3Storage } from 'nestjs-downloadview/s3';

/**
 * The apps the benchmark compares, one per process (BENCH_APP):
 * - `module`: Nest + DownloadModule (delegates /file/:name; /json is a plain route)
 * - `module-fastify`: the same on Nest's Fastify platform
 * - `module-nginx`: the same with the nginx backend (X-Accel-Redirect to the internal /protected/)
 * - `module-off`: the same with `mode: 'off'` (Node serves /file/:name with full HTTP semantics)
 * - `module-decorated`: DownloadModule with `scope: 'decorated'` (only @XSendfile() routes, here
 *   /decorated/:name and /node/:name, run its interceptor). The benches' one-process app: its
 *   /node/:name (the module's Node path), /stream/:name and /sendfile/:name are the Node-served
 *   alternatives side by side in one process, and only the first runs the module's code.
 * - `identity`: Nest + an identity global interceptor (the floor of any global interceptor)
 * - `bare`: Nest without any interceptor; `bare-fastify` the same on Fastify, with @fastify/static
 *   registered (`serve: false`) for /sendfile/:name
 * - `express`: Express `res.sendFile` (and /json)
 * - `s3-nginx`, `s3-redirect`, `s3-off`: objects in a bucket (S3_ENDPOINT, bucket `bench`) at /s3/:name,
 *   delegated to nginx, redirected to a signed URL, or streamed by Node (bench/s3.mjs)
 * A `-fastify` suffix runs a Nest kind on Nest's Fastify platform (`module-off-fastify`…).
 * Every Nest variant also has /stream/:name, a plain StreamableFile that no rule matches, and
 * /manual/:name, which writes X-Sendfile by hand on the raw response: the least any Nest route can
 * do to delegate (Express platform only), and /sendfile/:name, what Nest users write by hand today:
 * `@Res() res.sendFile(path)` on Express, `@Res() reply.sendFile(name)` (@fastify/static) on Fastify.
 * Every variant with the module also has /node/:name, `@XSendfile({ mode: 'off' })`: the module's
 * Node path (the rule matches, Node serves the DownloadFile with full HTTP semantics), whatever the
 * app's mode and scope.
 * With BENCH_STATS_PORT, a plain HTTP server on that port (outside Nest, same process) answers
 * /stats with the process's RSS, CPU time and event-loop delay since the last /stats?reset.
 */
const root = process.env.BENCH_ROOT!;
const port = Number(process.env.PORT);
const storage = new FileSystemStorage({ location: root, baseUrl: '/media/' });
/** Links a proxy checks by itself (bench/links.mjs measures what issuing one costs the app). */
const links = new ProxyLinkSigner({
  storage,
  baseUrl: '/links/',
  keys: [{ id: 'bench', secret: 'bench-secret-0123456789abcdefghijklmnopqrs' }],
});
const objects = process.env.S3_ENDPOINT
  ? new S3Storage({
      client: new S3Client({
        endpoint: process.env.S3_ENDPOINT,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      bucket: 'bench',
      baseUrl: '/objects/',
      checkExists: process.env.S3_CHECK_EXISTS !== '0',
    })
  : undefined;

@Controller()
class BenchController {
  @Get('json')
  json() {
    return { ok: true };
  }

  @Get('file/:name')
  file(@Param('name') name: string) {
    return storage.download(name);
  }

  @Get('s3/:name')
  object(@Param('name') name: string) {
    return objects!.download(name);
  }

  /** X-Sendfile written by hand: the name joined to the root (no existence or symlink check). */
  @Get('manual/:name')
  manual(@Param('name') name: string, @Res() res: ServerResponse | FastifyReply) {
    if ('raw' in res) {
      void res
        .headers({
          'X-Sendfile': storage.path(name),
          'Content-Type': 'application/octet-stream',
          'Content-Length': '0',
        })
        .send();
      return;
    }
    res.setHeader('X-Sendfile', storage.path(name));
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', '0');
    res.end();
  }

  @Get('stream/:name')
  stream(@Param('name') name: string) {
    return new StreamableFile(createReadStream(storage.path(name)));
  }

  @Get('sendfile/:name')
  sendFile(@Param('name') name: string, @Res() res: ExpressResponse | FastifyReply) {
    if ('raw' in res) void res.sendFile(name);
    else res.sendFile(storage.path(name));
  }
}

/** Only in apps with the module: an @XSendfile() route needs the module's interceptor. */
@Controller()
class DecoratedController {
  @Get('decorated/:name')
  @XSendfile()
  decorated(@Param('name') name: string) {
    return storage.download(name);
  }

  /** A link nginx or lighttpd checks by itself, as an app hands it out: a JSON answer. */
  @Get('link/:name')
  link(@Param('name') name: string) {
    return { url: links.url(name) };
  }

  /** The module's Node path: the rule matches, the route's mode says Node serves it. */
  @Get('node/:name')
  @XSendfile({ mode: 'off' })
  node(@Param('name') name: string) {
    return storage.download(name);
  }
}

@Injectable()
class IdentityInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    return next.handle();
  }
}

/**
 * `module-metrics-api`: the module with `metrics: downloadMetrics()` and no OpenTelemetry SDK (the
 * API's no-op meter); `module-metrics-sdk`: the same with the metrics SDK and a Prometheus exporter
 * (BENCH_PROMETHEUS_PORT). Loaded only for those kinds: the other apps never load OpenTelemetry.
 */
async function metricsFor(kind: string): Promise<DownloadModuleOptions['metrics']> {
  if (!kind.startsWith('module-metrics')) return undefined;
  const { downloadMetrics } = await import('nestjs-downloadview/otel');
  if (kind === 'module-metrics-sdk') {
    const { metrics } = await import('@opentelemetry/api');
    const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    const exporter = new PrometheusExporter({ host: '127.0.0.1', port: Number(process.env.BENCH_PROMETHEUS_PORT) });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
  }
  return downloadMetrics();
}

function moduleFor(kind: string, metrics?: DownloadModuleOptions['metrics']) {
  const mode = kind.startsWith('module-off') || kind === 's3-off' ? ('off' as const) : ('always' as const);
  const rules: Record<string, DownloadRule> = {
    'module-nginx': { sourceUrl: '/media/', destinationDir: '/protected/', backend: 'nginx' },
    's3-nginx': { sourceUrl: '/objects/', destinationDir: '/s3-internal/', backend: 'nginx' },
    's3-off': { sourceUrl: '/objects/', destinationDir: '/s3-internal/', backend: 'nginx' },
    's3-redirect': { sourceUrl: '/objects/', backend: 'redirect' },
  };
  const rule = rules[kind] ?? { sourceUrl: '/media/', destinationDir: root };
  const scope = kind.startsWith('module-decorated') ? ('decorated' as const) : ('global' as const);
  const withModule = kind.startsWith('module') || kind.startsWith('s3');
  const imports = withModule ? [DownloadModule.forRoot({ mode, scope, rules: [rule], metrics })] : [];
  const providers = kind === 'identity' ? [{ provide: APP_INTERCEPTOR, useClass: IdentityInterceptor }] : [];
  @Module({ imports, providers, controllers: withModule ? [BenchController, DecoratedController] : [BenchController] })
  class BenchModule {}
  return BenchModule;
}

/**
 * RSS, CPU and event-loop delay of this process, for the slow-client and memory benchmarks
 * (bench/slow.mjs, bench/memory.mjs). `?reset` starts CPU, delay and peak RSS afresh; `?gc` (in a
 * process started with `node --expose-gc`) runs full collections first, so that RSS and heap are
 * what live objects hold rather than garbage not yet collected.
 */
/** Requests the app's HTTP server received (bench/links.mjs: none for a link the proxy checks). */
let requests = 0;

function serveStats(statsPort: number): void {
  // The histogram holds the time between its timer's ticks: what a tick was late by is that less 10 ms.
  const resolution = 10;
  const delay = monitorEventLoopDelay({ resolution });
  delay.enable();
  let cpu = process.cpuUsage();
  let peakRss = process.memoryUsage.rss();
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100).unref();
  const collect = async (): Promise<boolean> => {
    if (typeof globalThis.gc !== 'function') return false;
    // Between collections, a turn of the loop: finalizers and closed handles let go of more.
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return true;
  };
  const answer = async (query: URLSearchParams): Promise<string> => {
    const collected = query.has('gc') && (await collect());
    const used = process.cpuUsage(cpu);
    const memory = process.memoryUsage();
    const stats = {
      requests,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      collected,
      peakRss,
      cpuSeconds: (used.user + used.system) / 1e6,
      loopDelayP50: Math.max(0, delay.percentile(50) / 1e6 - resolution),
      loopDelayP99: Math.max(0, delay.percentile(99) / 1e6 - resolution),
      loopDelayMax: Math.max(0, delay.max / 1e6 - resolution),
    };
    if (query.has('reset')) {
      delay.reset();
      cpu = process.cpuUsage();
      peakRss = process.memoryUsage.rss();
    }
    return JSON.stringify(stats);
  };
  createServer((req, res) => {
    void answer(new URL(req.url ?? '/', 'http://stats').searchParams).then((body) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(body);
    });
  }).listen(statsPort, '127.0.0.1');
}

async function main(): Promise<void> {
  const kind = process.env.BENCH_APP ?? 'module';
  if (process.env.BENCH_STATS_PORT) serveStats(Number(process.env.BENCH_STATS_PORT));
  if (kind === 'express') {
    const app = express();
    app.get('/json', (_req, res) => res.json({ ok: true }));
    app.get('/file/:name', (req, res) => res.sendFile(join(root, req.params.name)));
    app.listen(port, '127.0.0.1');
    return;
  }
  if (kind.endsWith('-fastify')) {
    const app = await NestFactory.create<NestFastifyApplication>(moduleFor(kind), new FastifyAdapter(), {
      logger: false,
    });
    await app.register(fastifyStatic, { root, serve: false });
    await app.listen(port, '127.0.0.1');
    return;
  }
  const app = await NestFactory.create(moduleFor(kind, await metricsFor(kind)), { logger: false });
  await app.listen(port, '127.0.0.1');
  if (process.env.BENCH_STATS_PORT) (app.getHttpServer() as Server).on('request', () => requests++);
}

void main();
