import 'reflect-metadata';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { DownloadHealthIndicator, runHealthcheck } from 'nestjs-downloadview/health';
import { startLighttpd, type LighttpdOptions } from './support/lighttpd.js';
import { cliCommand, startSampleApp, type SampleApp } from './support/sample-app.js';
import { writeBinaryFile, type RunningServer } from './support/servers.js';
import { createTestApp } from './support/platform.js';

const run = promisify(execFile);

describe('healthcheck against a real lighttpd', () => {
  let sample: SampleApp;
  let appPort: number;
  const servers: RunningServer[] = [];
  const route = '/lighttpd/files/health.bin';
  let file: string;

  beforeAll(async () => {
    // The CLI is tested as installed: dist/cli/main.js (`npm test` builds first).
    sample = await startSampleApp();
    file = join(sample.root, 'lighttpd', 'health.bin');
    writeBinaryFile(file, 200_000, 11);
    await sample.app.listen(0, '127.0.0.1');
    appPort = (sample.app.getHttpServer().address() as { port: number }).port;
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await sample?.close();
  });

  async function proxy(options: Partial<LighttpdOptions> = {}) {
    const server = await startLighttpd({ appPort, docroots: [sample.root], ...options });
    servers.push(server);
    return `http://127.0.0.1:${server.port}${route}`;
  }
  const app = (path = route) => `http://127.0.0.1:${appPort}${path}`;
  const cli = async (...args: string[]) => {
    try {
      const [command, ...prefix] = cliCommand();
      const { stdout } = await run(command, [...prefix, 'healthcheck', ...args]);
      return { code: 0, stdout };
    } catch (error) {
      const e = error as { code: number; stdout: string };
      return { code: e.code, stdout: e.stdout };
    }
  };

  it('a working setup passes all four steps (CLI exit 0)', async () => {
    const result = await cli('--app', app(), '--proxy', await proxy(), '--file', file);
    expect(result.stdout).toMatch(/^PASS 1\. storage: .* exists and is readable \(200000 bytes\)$/m);
    expect(result.stdout).toMatch(/^PASS 2\. app → proxy: the app answered 200 with x-sendfile: /m);
    expect(result.stdout).toMatch(/^PASS 3\. proxy → storage: the proxy sent 200000 bytes, identical to the file$/m);
    expect(result.stdout).toMatch(/^PASS 4\. full chain/m);
    expect(result.code).toBe(0);
  });

  it('a proxy without x-sendfile enabled fails step 3 with the fix (CLI exit 1)', async () => {
    const result = await cli('--app', app(), '--proxy', await proxy({ xSendfile: false }), '--file', file);
    expect(result.stdout).toMatch(
      /^FAIL 3\. proxy → storage: .*lighttpd did not consume x-sendfile: enable "x-sendfile" => "enable" in proxy.server/m,
    );
    expect(result.stdout).toMatch(/^FAIL 4\. full chain/m);
    expect(result.code).toBe(1);
  });

  it('a wrong docroot fails step 3 (403 from lighttpd)', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'downloadview-elsewhere-'));
    const steps = await runHealthcheck({ app: app(), proxy: await proxy({ docroots: [elsewhere] }), file });
    expect(steps.map((s) => s.ok)).toEqual([true, true, false, false]);
    expect(steps[2].detail).toMatch(/outside its allowed folders \(lighttpd x-sendfile-docroot/);
  });

  it('a missing file fails steps 1 and 2', async () => {
    const missing = join(sample.root, 'lighttpd', 'missing.bin');
    const proxyUrl = (await proxy()).replace(route, '/lighttpd/files/missing.bin');
    const steps = await runHealthcheck({ app: app('/lighttpd/files/missing.bin'), proxy: proxyUrl, file: missing });
    expect(steps[0]).toMatchObject({ ok: false, detail: expect.stringMatching(/the file does not exist/) });
    expect(steps[1]).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/answered 404 without a delegation header/),
    });
    expect(steps.every((s) => !s.ok)).toBe(true);
  });

  it('DownloadHealthIndicator reports up and down through @nestjs/terminus', async () => {
    const good = await proxy();
    const broken = await proxy({ xSendfile: false });
    @Controller('health')
    class HealthController {
      constructor(
        private readonly health: HealthCheckService,
        private readonly download: DownloadHealthIndicator,
      ) {}
      @Get('good')
      @HealthCheck()
      good() {
        return this.health.check([() => this.download.isHealthy('download', { app: app(), proxy: good, file })]);
      }
      @Get('broken')
      @HealthCheck()
      broken() {
        return this.health.check([() => this.download.isHealthy('download', { app: app(), proxy: broken, file })]);
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule],
      controllers: [HealthController],
      providers: [DownloadHealthIndicator],
    }).compile();
    const health = await createTestApp(moduleRef);
    const up = await request(health.getHttpServer()).get('/health/good');
    expect(up.status).toBe(200);
    expect(up.body.info.download.status).toBe('up');
    const down = await request(health.getHttpServer()).get('/health/broken');
    expect(down.status).toBe(503);
    expect(down.body.error.download.status).toBe('down');
    expect(JSON.stringify(down.body.error.download.steps)).toContain('did not consume');
    await health.close();
  });

  it('the CLI explains its usage', async () => {
    const result = await cli('--app', app());
    expect(result.code).toBe(2);
  });
});
