import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { compileOptions } from './config/compile-options.js';
import type { DownloadModuleOptions } from './download.interfaces.js';
import { ConfigurableDownloadModule, DOWNLOAD_MODULE_OPTIONS } from './download.module-definition.js';
import { COMPILED_DOWNLOAD_OPTIONS } from './download.constants.js';
import { DownloadInterceptor } from './interceptors/download.interceptor.js';

/**
 * Registers a global interceptor that hands file downloads over to the reverse proxy
 * (`DownloadModule.forRoot({ backend, rules })` or `forRootAsync({ useFactory, inject })`).
 */
@Module({
  // DiscoveryModule: the interceptor checks every route's @XSendfile() rule at startup.
  imports: [DiscoveryModule],
  providers: [
    {
      provide: COMPILED_DOWNLOAD_OPTIONS,
      // Validated once, at startup: an invalid rule stops the app with the rule and field named.
      useFactory: (options: DownloadModuleOptions) => compileOptions(options),
      inject: [DOWNLOAD_MODULE_OPTIONS],
    },
    DownloadInterceptor,
    { provide: APP_INTERCEPTOR, useExisting: DownloadInterceptor },
  ],
  exports: [COMPILED_DOWNLOAD_OPTIONS, DownloadInterceptor],
})
export class DownloadModule extends ConfigurableDownloadModule {}
