import 'reflect-metadata';
import { Logger, Module, type DynamicModule, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { findLighttpd, FrontProxyShutdown, startLighttpd, type FrontProxy } from './front-proxy.js';
import { mediaRoot, REPORT_PDF, seedMedia } from './media.js';
import { MetricsController, sampleMetrics } from './metrics.js';

const DEMO_ROUTE = '/lighttpd/optimized-by-middleware';
/** A file whose name is not ASCII (sample/media.ts writes it). */
const REPORT_ROUTE = `/lighttpd/files/${encodeURIComponent(REPORT_PDF)}`;

/** One request of the demo, printed as the newcomer would see it with curl. */
async function show(label: string, url: string, headers: Record<string, string> = {}): Promise<void> {
  console.log(`  ${label}`);
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  const sendfile = res.headers.get('x-sendfile');
  console.log(
    `    GET ${url} -> ${res.status}, ${body.length} bytes ${JSON.stringify(body.toString('utf8').slice(0, 40))}` +
      (sendfile ? `, X-Sendfile: ${sendfile}` : ''),
  );
}

/** The sample app, and what stops its lighttpd after it. */
@Module({})
class SampleMain {
  static forRoot(app: DynamicModule): DynamicModule {
    return { module: SampleMain, imports: [app], providers: [FrontProxyShutdown] };
  }
}

/** SAMPLE_PLATFORM=fastify: the same app on Nest's Fastify platform. */
async function onFastify(module: DynamicModule, logger: LogLevel[]): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger });
  // PUT /uploads/:name reads the raw request: Fastify must leave any body unparsed.
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser('*', (_request, _payload, done) => done(null));
  return app;
}

/**
 * Without shutdown hooks the process ends at once on a signal, as such an app does; lighttpd runs
 * on its own and is told to finish what it sends first.
 */
function stopWithoutHooks(proxy: FrontProxy): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void proxy.stop();
      process.kill(process.pid, signal);
    });
  }
}

async function bootstrap(): Promise<void> {
  const root = mediaRoot();
  seedMedia(root);
  // mode 'auto': a request that lighttpd announces (X-Sendfile-Type) is delegated, any other one is
  // served by Node, so the sample downloads real files with or without a proxy in front.
  // debug: the decision log says why each file was or was not delegated (DOWNLOADVIEW_DEBUG=0: off).
  // shutdownGracePeriod: on Ctrl-C or SIGTERM, what Node is sending may finish for that long.
  // metrics: OpenTelemetry instruments, scraped by Prometheus on GET /metrics (sample/metrics.ts).
  const options = {
    mode: 'auto' as const,
    debug: process.env.DOWNLOADVIEW_DEBUG !== '0',
    shutdownGracePeriod: Number(process.env.SAMPLE_SHUTDOWN_GRACE_MS ?? 25_000),
    metrics: sampleMetrics(),
  };
  const logger: LogLevel[] = ['fatal', 'error', 'warn', 'debug']; // the decision log, without the route map
  const module = SampleMain.forRoot(AppModule.forRoot(root, options, [MetricsController]));
  const app =
    process.env.SAMPLE_PLATFORM === 'fastify'
      ? await onFastify(module, logger)
      : await NestFactory.create(module, { logger });
  // Shutdown hooks run the module's bounded drain on Ctrl-C / SIGTERM (SAMPLE_SHUTDOWN_HOOKS=0: not,
  // as in an app that forgot them: the process then ends at once, cutting what Node was sending).
  const shutdownHooks = process.env.SAMPLE_SHUTDOWN_HOOKS !== '0';
  if (shutdownHooks) app.enableShutdownHooks(['SIGINT', 'SIGTERM', 'SIGHUP']);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  const appUrl = `http://127.0.0.1:${port}`;

  let proxy: FrontProxy | undefined;
  let why = 'SAMPLE_LIGHTTPD=off';
  const lighttpd = process.env.SAMPLE_LIGHTTPD === 'off' ? undefined : findLighttpd();
  if (lighttpd) {
    try {
      proxy = await startLighttpd(lighttpd, {
        port: Number(process.env.PROXY_PORT ?? 8080),
        appPort: port,
        media: root,
      });
      // After the app's drain, lighttpd stops gracefully: the downloads it sends are not cut.
      app.get(FrontProxyShutdown).proxy = proxy;
      if (!shutdownHooks) stopWithoutHooks(proxy);
      // Any other end (a crash): stop it at once rather than leave it running.
      process.on('exit', () => proxy?.kill());
    } catch (error) {
      why = (error as Error).message;
    }
  } else if (process.env.SAMPLE_LIGHTTPD !== 'off') {
    why = 'lighttpd is not installed (sudo apt-get install -y lighttpd, then npm run sample again)';
  }

  console.log(`\nnestjs-downloadview sample (media folder: ${root})`);
  if (proxy) {
    console.log(
      `lighttpd (pid ${proxy.pid}) is in front of the app on ${proxy.url}: it sends the files the app names in X-Sendfile.\n`,
    );
    await show(
      'through lighttpd: the app answers with X-Sendfile and no body, lighttpd sends the file',
      `${proxy.url}${DEMO_ROUTE}`,
    );
    await show(
      'what the app tells lighttpd (the request lighttpd makes, with X-Sendfile-Type)',
      `${appUrl}${DEMO_ROUTE}`,
      { 'X-Sendfile-Type': 'X-Sendfile' },
    );
    await show('straight to the app: no proxy announced itself, so Node sends the file', `${appUrl}${DEMO_ROUTE}`);
  } else {
    console.log(`No proxy in front (${why}): Node sends every file itself (mode 'auto').\n`);
    await show('straight to the app: Node sends the file', `${appUrl}${DEMO_ROUTE}`);
  }
  const base = proxy?.url ?? appUrl;
  console.log(
    `\nTry:\n  curl -i ${base}${DEMO_ROUTE}\n  curl -i ${base}/lighttpd/files/hello-world.txt\n  curl -i -H 'Range: bytes=0-4' ${base}/lighttpd/by-path` +
      `\n  curl -OJ ${base}${REPORT_ROUTE}   # saved as "report ete.pdf"; wget --content-disposition: "report été.pdf"` +
      `\n  curl -T README.md ${base}/uploads/readme.md   # upload; then GET the url it answers` +
      `\n  curl ${appUrl}/metrics   # what the proxy and Node sent, for Prometheus` +
      `\nCtrl-C stops the sample${proxy ? ', then lighttpd once it has sent the downloads in flight' : ''}.`,
  );
}

bootstrap().catch((error: unknown) => {
  new Logger('sample').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
