import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { runHealthcheck, type HealthcheckOptions } from './healthcheck.js';

/**
 * `@nestjs/terminus` indicator running the same four checks as `npx nestjs-downloadview healthcheck`:
 * `() => this.download.isHealthy('download', { app, proxy, file })` in a `@HealthCheck()` route.
 * Import it from `nestjs-downloadview/health` (it needs `@nestjs/terminus`).
 */
@Injectable()
export class DownloadHealthIndicator {
  constructor(private readonly healthIndicatorService: HealthIndicatorService) {}

  async isHealthy<const Key extends string>(key: Key, options: HealthcheckOptions) {
    const indicator = this.healthIndicatorService.check(key);
    const steps = await runHealthcheck(options);
    const data = { steps: steps.map((s) => ({ step: s.name, ok: s.ok, detail: s.detail })) };
    return steps.every((s) => s.ok) ? indicator.up(data) : indicator.down(data);
  }
}
