import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { join } from 'node:path';
import { DownloadModule, type DownloadModuleOptions } from 'nestjs-downloadview';
import { ApacheController, NginxController } from './proxies.controller.js';
import { DownloadsController } from './downloads.controller.js';
import { HealthController } from './health.controller.js';
import { UploadsController } from './uploads.controller.js';
import { ArchivesController } from './archives.controller.js';
import { TerminusModule } from '@nestjs/terminus';
import { DownloadHealthIndicator } from 'nestjs-downloadview/health';
import { mediaRoot } from './media.js';
import { createStorages, SAMPLE_STORAGES } from './storages.js';
import { sampleLinkSigner, signedLinksControllers } from './signed-links.controller.js';
import { RequestIdModule } from './request-id.middleware.js';

/** The rules of the sample: the public media URL and the private folder, both under the docroot. */
export function sampleDownloadOptions(root: string): DownloadModuleOptions {
  return {
    backend: 'lighttpd',
    rules: [
      { sourceUrl: '/media/lighttpd/', destinationDir: join(root, 'lighttpd') },
      { sourceDir: join(root, 'private'), destinationDir: join(root, 'private') },
      // nginx serves /nginx-optimized-by-middleware/ from the nginx folder (sample/nginx.conf)
      { sourceUrl: '/media/nginx/', destinationDir: '/nginx-optimized-by-middleware/', backend: 'nginx' },
      { sourceUrl: '/media/apache/', destinationDir: join(root, 'apache'), backend: 'apache' },
    ],
  };
}

@Module({})
export class AppModule {
  /** The sample app over a media folder, with module options that tests may override. */
  static forRoot(
    root = mediaRoot(),
    overrides: Partial<DownloadModuleOptions> = {},
    controllers: Type[] = [],
  ): DynamicModule {
    return {
      module: AppModule,
      // RequestIdModule: an X-Request-Id on every answer, which the proxies write in their access logs.
      imports: [
        DownloadModule.forRoot({ ...sampleDownloadOptions(root), ...overrides }),
        TerminusModule,
        RequestIdModule,
      ],
      controllers: [
        DownloadsController,
        NginxController,
        ApacheController,
        HealthController,
        UploadsController,
        ArchivesController,
        ...signedLinksControllers(sampleLinkSigner(root)),
        ...controllers,
      ],
      providers: [{ provide: SAMPLE_STORAGES, useValue: createStorages(root) }, DownloadHealthIndicator],
    };
  }
}
