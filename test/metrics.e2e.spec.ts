import 'reflect-metadata';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import { metrics as globalMetrics, type Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DownloadArchive,
  DownloadModule,
  FileSystemStorage,
  ProxyLinkAuthController,
  ProxyLinkSigner,
  SignatureRequired,
  UrlSigner,
  XSendfile,
  type DownloadModuleOptions,
} from 'nestjs-downloadview';
import { downloadMetrics } from 'nestjs-downloadview/otel';
import { S3Storage } from 'nestjs-downloadview/s3';
import { S3Client } from '@aws-sdk/client-s3';
import { createTestApp } from './support/platform.js';
import { startS3, type RunningS3 } from './support/s3.js';
import { fetchBytes, freePort, writeBinaryFile } from './support/servers.js';

// The module's OpenTelemetry instruments, read through the metrics SDK's in-memory exporter: each
// counted exactly, for files the proxy sends (the delegation header is enough to count one) and
// files Node sends, whole or left by a client mid-download on a real socket.
const dir = mkdtempSync(join(tmpdir(), 'downloadview-metrics-'));
const SMALL = 300_000;
writeBinaryFile(join(dir, 'small.bin'), SMALL, 3);
// Larger than what the sockets' buffers hold: a client that leaves after its first bytes leaves mid-body.
const BIG = 32 * 1024 * 1024;
writeBinaryFile(join(dir, 'big.bin'), BIG, 4);
const files = new FileSystemStorage({ location: dir, baseUrl: '/media/' });
const uploads = new FileSystemStorage({ location: join(dir, 'uploads'), maxBytes: 10 });
const signer = new UrlSigner({ secret: 'metrics-secret-0123456789', expiresIn: 60 });
const links = new ProxyLinkSigner({
  storage: files,
  baseUrl: '/links/',
  keys: [{ id: 'k1', secret: 'metrics-link-secret-0123456789abcdef' }],
});
let s3: RunningS3;
let bucket: S3Storage;

@Controller()
class FilesController {
  @Get('proxy/:name')
  delegated(@Param('name') name: string) {
    return files.download(name);
  }

  @Get('nginx/:name')
  @XSendfile({ sourceUrl: '/media/', destinationDir: '/internal/', backend: 'nginx' })
  nginx(@Param('name') name: string) {
    return files.download(name);
  }

  @Get('node/:name')
  @XSendfile(false)
  node(@Param('name') name: string) {
    return files.download(name);
  }

  @Get('signed/:name')
  @XSendfile(false)
  @SignatureRequired(signer)
  signed(@Param('name') name: string) {
    return files.download(name);
  }

  @Get('zip')
  zip() {
    return DownloadArchive.from(files, ['small.bin'], { name: 'one.zip' });
  }

  @Get('bucket/:name')
  object(@Param('name') name: string) {
    return bucket.download(name);
  }
}

type Point = { attributes: Attributes; value: number | { count: number; sum?: number } };

/** An app whose module reports to its own MeterProvider, read through an in-memory exporter. */
async function appWithMetrics(options: DownloadModuleOptions = {}, { global = false } = {}) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported when the test asks (forceFlush), never by the hour-long timer.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  // `global`: the provider is registered as the global one only after the module's options are made.
  const metrics = global ? downloadMetrics() : downloadMetrics({ meterProvider });
  if (global) globalMetrics.setGlobalMeterProvider(meterProvider);
  const moduleRef = await Test.createTestingModule({
    imports: [
      DownloadModule.forRoot({
        rules: [{ sourceUrl: '/media/', destinationDir: '/srv/media/' }],
        metrics,
        ...options,
      }),
    ],
    controllers: [FilesController, ProxyLinkAuthController(links)],
  }).compile();
  const app: INestApplication = await createTestApp(moduleRef);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;

  /** Every data point of one instrument, as the SDK last exported them. */
  const points = async (name: string): Promise<Point[]> => {
    exporter.reset();
    await reader.forceFlush();
    const metric = exporter
      .getMetrics()
      .at(-1)
      ?.scopeMetrics.flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
    if (!metric) return [];
    return metric.dataPoints.map(({ attributes, value }) => ({
      attributes,
      value:
        metric.dataPointType === DataPointType.HISTOGRAM
          ? { count: (value as { count: number }).count }
          : (value as number),
    }));
  };
  /** Node's downloads have all ended (their responses closed): what they report is final. */
  const settled = async () => {
    for (;;) {
      const active = await points('downloadview.node.active');
      if (active.every((p) => p.value === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  let closed: Promise<void> | undefined;
  /** Stops the app (once: a test may stop it before the end); the meter provider stays readable. */
  const stop = () => (closed ??= app.close());
  const close = async () => {
    await stop();
    if (global) globalMetrics.disable();
    await meterProvider.shutdown();
  };
  return { stop, base, points, settled, close };
}

/** Points in a stable order, for exact comparison. */
const sorted = (points: Point[]) => {
  const key = (point: Point) => JSON.stringify(Object.entries(point.attributes).sort());
  return [...points].sort((a, b) => key(a).localeCompare(key(b)));
};

beforeAll(async () => {
  s3 = await startS3(['metrics']);
  bucket = new S3Storage({ client: s3.client(), bucket: 'metrics', baseUrl: '/objects/' });
});
afterAll(() => s3.stop());

describe('download metrics through @opentelemetry/api', () => {
  it('counts the files the proxy sends by delivery, and those Node sends whole (files, a zip): bytes, completed, duration', async () => {
    const { base, points, settled, close } = await appWithMetrics();
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetchBytes(`${base}/proxy/small.bin`);
        expect(res.headers.get('x-sendfile')).toBe('/srv/media/small.bin');
      }
      expect((await fetchBytes(`${base}/nginx/small.bin`)).headers.get('x-accel-redirect')).toBe('/internal/small.bin');
      // Three whole files on keep-alive connections, one range, one conditional GET (no body).
      for (let i = 0; i < 3; i++) expect((await fetchBytes(`${base}/node/small.bin`)).body.length).toBe(SMALL);
      const ranged = await fetchBytes(`${base}/node/small.bin`, { headers: { range: 'bytes=100-199' } });
      expect(ranged.status).toBe(206);
      const etag = ranged.headers.get('etag')!;
      expect((await fetchBytes(`${base}/node/small.bin`, { headers: { 'if-none-match': etag } })).status).toBe(304);
      // A zip Node builds as it sends it.
      const zip = await fetchBytes(`${base}/zip`);
      expect(zip.body.length).toBe(Number(zip.headers.get('content-length')));
      expect(zip.body.length).toBeGreaterThan(SMALL);
      await settled();
      const archive = { 'downloadview.delivery': 'archive', 'http.route': '/zip' };
      const archived = { ...archive, 'downloadview.status_class': '2xx' };

      const node = { 'downloadview.delivery': 'node', 'http.route': '/node/:name' };
      expect(sorted(await points('downloadview.responses'))).toEqual(
        sorted([
          {
            attributes: {
              'downloadview.delivery': 'x-sendfile',
              'downloadview.status_class': '2xx',
              'http.route': '/proxy/:name',
            },
            value: 2,
          },
          {
            attributes: {
              'downloadview.delivery': 'x-accel-redirect',
              'downloadview.status_class': '2xx',
              'http.route': '/nginx/:name',
            },
            value: 1,
          },
          { attributes: { ...node, 'downloadview.status_class': '2xx' }, value: 4 },
          { attributes: { ...node, 'downloadview.status_class': '3xx' }, value: 1 },
          { attributes: archived, value: 1 },
        ]),
      );
      expect(sorted(await points('downloadview.node.bytes_sent'))).toEqual(
        sorted([
          { attributes: { ...node, 'downloadview.status_class': '2xx' }, value: 3 * SMALL + 100 },
          { attributes: { ...node, 'downloadview.status_class': '3xx' }, value: 0 },
          { attributes: archived, value: zip.body.length },
        ]),
      );
      expect(sorted(await points('downloadview.node.completed'))).toEqual(
        sorted([
          { attributes: { ...node, 'downloadview.status_class': '2xx' }, value: 4 },
          { attributes: { ...node, 'downloadview.status_class': '3xx' }, value: 1 },
          { attributes: archived, value: 1 },
        ]),
      );
      expect(await points('downloadview.node.cut')).toEqual([]);
      expect(sorted(await points('downloadview.node.active'))).toEqual(
        sorted([
          { attributes: node, value: 0 },
          { attributes: archive, value: 0 },
        ]),
      );
      expect(sorted(await points('downloadview.node.duration'))).toEqual(
        sorted([
          {
            attributes: { ...node, 'downloadview.status_class': '2xx', 'downloadview.outcome': 'completed' },
            value: { count: 4 },
          },
          {
            attributes: { ...node, 'downloadview.status_class': '3xx', 'downloadview.outcome': 'completed' },
            value: { count: 1 },
          },
          { attributes: { ...archived, 'downloadview.outcome': 'completed' }, value: { count: 1 } },
        ]),
      );
    } finally {
      await close();
    }
  });

  it('takes the global MeterProvider when given none, even one registered after the module was defined', async () => {
    const { base, points, close } = await appWithMetrics({}, { global: true });
    try {
      expect((await fetchBytes(`${base}/proxy/small.bin`)).headers.get('x-sendfile')).toBe('/srv/media/small.bin');
      expect(await points('downloadview.responses')).toEqual([
        {
          attributes: {
            'downloadview.delivery': 'x-sendfile',
            'downloadview.status_class': '2xx',
            'http.route': '/proxy/:name',
          },
          value: 1,
        },
      ]);
    } finally {
      await close();
    }
  });

  it('counts a download the client leaves mid-body as cut, with the bytes Node wrote until then', async () => {
    const { base, points, settled, close } = await appWithMetrics();
    try {
      const received = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${base}/node/big.bin`, { agent: false }, (res) => {
          res.once('data', (chunk: Buffer) => {
            req.destroy();
            resolve(chunk.length);
          });
        });
        req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
        req.end();
      });
      expect(received).toBeGreaterThan(0);
      // While it runs, it is active: the same count the shutdown drain waits for.
      await settled();
      const node = { 'downloadview.delivery': 'node', 'http.route': '/node/:name' };
      const ended = { ...node, 'downloadview.status_class': '2xx' };
      expect(await points('downloadview.node.cut')).toEqual([{ attributes: ended, value: 1 }]);
      expect(await points('downloadview.node.completed')).toEqual([]);
      expect(await points('downloadview.responses')).toEqual([{ attributes: ended, value: 1 }]);
      const [sent] = await points('downloadview.node.bytes_sent');
      expect(sent.attributes).toEqual(ended);
      expect(sent.value).toBeGreaterThanOrEqual(received);
      expect(sent.value).toBeLessThan(BIG);
      expect(await points('downloadview.node.duration')).toEqual([
        { attributes: { ...ended, 'downloadview.outcome': 'cut' }, value: { count: 1 } },
      ]);
    } finally {
      await close();
    }
  });

  it('counts the downloads in flight as active until they end, and those cut by the shutdown drain', async () => {
    const { stop, base, points, settled, close } = await appWithMetrics({ shutdownGracePeriod: 200 });
    const node = { 'downloadview.delivery': 'node', 'http.route': '/node/:name' };
    const sockets: { destroy(): void }[] = [];
    // Two clients that read their first bytes and then nothing: Node is still sending at shutdown.
    await Promise.all(
      [1, 2].map(
        () =>
          new Promise<void>((resolve) => {
            const req = httpRequest(`${base}/node/big.bin`, { agent: false }, (res) => {
              res.once('data', () => {
                res.pause();
                resolve();
              });
            });
            req.on('error', () => undefined);
            sockets.push(req);
            req.end();
          }),
      ),
    );
    try {
      expect(await points('downloadview.node.active')).toEqual([{ attributes: node, value: 2 }]);
      // The drain closes them after its grace period; their responses report as they close.
      await stop();
      await settled();
      const ended = { ...node, 'downloadview.status_class': '2xx' };
      expect(await points('downloadview.node.active')).toEqual([{ attributes: node, value: 0 }]);
      expect(await points('downloadview.node.cut')).toEqual([{ attributes: ended, value: 2 }]);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await close();
    }
  });

  it('counts signature refusals by reason, for signed URLs and proxy links', async () => {
    const { base, points, close } = await appWithMetrics();
    try {
      const signed = signer.sign('/signed/small.bin');
      const [expires, mac] = decodeURIComponent(signed.split('X-Signature=')[1]).split('.');
      const answers = await Promise.all(
        [
          '/signed/small.bin',
          '/signed/small.bin?X-Signature=nonsense',
          `/signed/small.bin?X-Signature=${Number(expires) + 1}.${mac}`,
          signer.sign('/signed/small.bin', Date.now() - 3_600_000),
          signer.sign('/signed/small.bin', Date.now() - 3_600_000),
          signed,
        ].map(async (url) => (await fetchBytes(base + url)).status),
      );
      expect(answers).toEqual([403, 403, 403, 403, 403, 200]);
      const link = links.url('small.bin');
      const expired = links.url('small.bin', { now: Date.now() - 7_200_000 });
      const verify = (uri: string) =>
        fetchBytes(`${base}/proxy-links/verify`, { headers: { 'x-forwarded-uri': uri } }).then((r) => r.status);
      expect(
        await Promise.all([link, expired, '/links/small.bin', link.replace(/sig=./, 'sig=A')].map(verify)),
      ).toEqual([200, 410, 403, 403]);

      const url = { 'downloadview.signature.link': 'signed-url', 'http.route': '/signed/:name' };
      const proxy = { 'downloadview.signature.link': 'proxy-link', 'http.route': '/proxy-links/verify' };
      expect(sorted(await points('downloadview.signature.refused'))).toEqual(
        sorted([
          { attributes: { ...url, 'downloadview.signature.reason': 'missing' }, value: 1 },
          { attributes: { ...url, 'downloadview.signature.reason': 'invalid' }, value: 2 },
          { attributes: { ...url, 'downloadview.signature.reason': 'expired' }, value: 2 },
          { attributes: { ...proxy, 'downloadview.signature.reason': 'expired' }, value: 1 },
          { attributes: { ...proxy, 'downloadview.signature.reason': 'missing' }, value: 1 },
          { attributes: { ...proxy, 'downloadview.signature.reason': 'invalid' }, value: 1 },
        ]),
      );
    } finally {
      await close();
    }
  });

  it('counts storage errors by storage and status: a missing file, a missing object, an unreachable bucket', async () => {
    const { base, points, close } = await appWithMetrics();
    const port = await freePort();
    try {
      expect((await fetchBytes(`${base}/node/missing.bin`)).status).toBe(404);
      expect((await fetchBytes(`${base}/proxy/missing.bin`)).status).toBe(404);
      expect((await fetchBytes(`${base}/bucket/missing.bin`)).status).toBe(404);
      // A name refused before any storage is asked (400) is the client's error, not the storage's.
      expect((await fetchBytes(`${base}/node/..%2Fsecret`)).status).toBe(400);
      // An SDK client pointed at a loopback port nobody listens on.
      const nowhere = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        maxAttempts: 1,
      });
      try {
        bucket = new S3Storage({ client: nowhere, bucket: 'metrics', baseUrl: '/objects/' });
        expect((await fetchBytes(`${base}/bucket/any.bin`)).status).toBe(502);
      } finally {
        nowhere.destroy();
        bucket = new S3Storage({ client: s3.client(), bucket: 'metrics', baseUrl: '/objects/' });
      }
      expect(sorted(await points('downloadview.storage.errors'))).toEqual(
        sorted([
          { attributes: { 'downloadview.storage': 'filesystem', 'error.type': '404' }, value: 2 },
          { attributes: { 'downloadview.storage': 's3', 'error.type': '404' }, value: 1 },
          { attributes: { 'downloadview.storage': 's3', 'error.type': '502' }, value: 1 },
        ]),
      );
      // None of them was a file response.
      expect(await points('downloadview.responses')).toEqual([]);
    } finally {
      await close();
    }
  });

  it('counts uploads saved and refused, by status', async () => {
    const { points, close } = await appWithMetrics();
    try {
      await expect(uploads.save('a.txt', 'hello')).resolves.toBe('a.txt');
      await expect(uploads.save('b.txt', Buffer.alloc(11))).rejects.toMatchObject({ status: 413 });
      await expect(uploads.save('a.txt', 'again', { onConflict: 'error' })).rejects.toMatchObject({ status: 409 });
      await expect(uploads.save('../out.txt', 'x')).rejects.toMatchObject({ status: 400 });
      expect(uploads.saveSync('c.txt', 'sync')).toBe('c.txt');
      await expect(bucket.save('up.txt', 'to the bucket')).resolves.toBe('up.txt');
      expect(sorted(await points('downloadview.uploads'))).toEqual(
        sorted([
          { attributes: { 'downloadview.storage': 'filesystem', 'downloadview.outcome': 'saved' }, value: 2 },
          {
            attributes: {
              'downloadview.storage': 'filesystem',
              'downloadview.outcome': 'refused',
              'error.type': '413',
            },
            value: 1,
          },
          {
            attributes: {
              'downloadview.storage': 'filesystem',
              'downloadview.outcome': 'refused',
              'error.type': '409',
            },
            value: 1,
          },
          {
            attributes: {
              'downloadview.storage': 'filesystem',
              'downloadview.outcome': 'refused',
              'error.type': '400',
            },
            value: 1,
          },
          { attributes: { 'downloadview.storage': 's3', 'downloadview.outcome': 'saved' }, value: 1 },
        ]),
      );
    } finally {
      await close();
    }
  });

  it('reports nothing once the app has stopped, and refuses a metrics option that is no observer', async () => {
    const { stop, points, close } = await appWithMetrics();
    try {
      await stop();
      await uploads.save('after.txt', 'x');
      expect(await points('downloadview.uploads')).toEqual([]);
    } finally {
      await close();
    }
    await expect(
      Test.createTestingModule({ imports: [DownloadModule.forRoot({ metrics: {} as never })] }).compile(),
    ).rejects.toThrow(
      'DownloadModule options: "metrics" must be a DownloadObserver, such as downloadMetrics() of nestjs-downloadview/otel (missing: response, nodeStarted, nodeEnded, signatureRefused, storageError, upload)',
    );
  });
});
