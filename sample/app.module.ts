import { Module, type DynamicModule } from '@nestjs/common';
import { join } from 'node:path';
import { DownloadModule, type DownloadModuleOptions } from 'nestjs-downloadview';
import { DownloadsController } from './downloads.controller.js';
import { mediaRoot } from './media.js';
import { createStorages, SAMPLE_STORAGES } from './storages.js';

/** The rules of the sample: the public media URL and the private folder, both under the docroot. */
export function sampleDownloadOptions(root: string): DownloadModuleOptions {
  return {
    backend: 'lighttpd',
    rules: [
      { sourceUrl: '/media/lighttpd/', destinationDir: join(root, 'lighttpd') },
      { sourceDir: join(root, 'private'), destinationDir: join(root, 'private') },
    ],
  };
}

@Module({})
export class AppModule {
  /** The sample app over a media folder, with module options that tests may override. */
  static forRoot(root = mediaRoot(), overrides: Partial<DownloadModuleOptions> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [DownloadModule.forRoot({ ...sampleDownloadOptions(root), ...overrides })],
      controllers: [DownloadsController],
      providers: [{ provide: SAMPLE_STORAGES, useValue: createStorages(root) }],
    };
  }
}
