import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { join } from 'node:path';
import { DownloadHealthIndicator } from 'nestjs-downloadview/health';
import { mediaRoot } from './media.js';

/**
 * `GET /health`: the four X-Sendfile checks on the demo file, the app hit directly and through
 * lighttpd (`npm run sample` puts lighttpd on :8080 when it is installed; SAMPLE_PROXY_URL overrides it).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly download: DownloadHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    const route = '/lighttpd/optimized-by-middleware';
    return this.health.check([
      () =>
        this.download.isHealthy('download', {
          app: `http://127.0.0.1:${process.env.PORT ?? 3000}${route}`,
          proxy: `${process.env.SAMPLE_PROXY_URL ?? 'http://127.0.0.1:8080'}${route}`,
          file: join(mediaRoot(), 'lighttpd', 'hello-world.txt'),
          timeout: 3000,
        }),
    ]);
  }
}
