import { Module, type DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { compileOptions } from './config/compile-options.js';
import type { DownloadModuleOptions } from './download.interfaces.js';
import {
  ConfigurableDownloadModule,
  DOWNLOAD_ASYNC_OPTIONS_TYPE,
  DOWNLOAD_MODULE_OPTIONS,
  DOWNLOAD_OPTIONS_TYPE,
} from './download.module-definition.js';
import { COMPILED_DOWNLOAD_OPTIONS, GLOBAL_DOWNLOAD_INTERCEPTOR } from './download.constants.js';
import { DownloadInterceptor } from './interceptors/download.interceptor.js';

/** The module, with its interceptor installed globally or, for `scope: 'decorated'`, not at all. */
function withInterceptor(module: DynamicModule, global: boolean): DynamicModule {
  return {
    ...module,
    providers: [
      ...(module.providers ?? []),
      { provide: GLOBAL_DOWNLOAD_INTERCEPTOR, useValue: global },
      ...(global ? [{ provide: APP_INTERCEPTOR, useExisting: DownloadInterceptor }] : []),
    ],
  };
}

/**
 * Hands file downloads over to the reverse proxy (`DownloadModule.forRoot({ backend, rules })` or
 * `forRootAsync({ useFactory, inject })`) through a global interceptor; with
 * `forRoot({ scope: 'decorated' })`, through the `@XSendfile()` routes' own interceptor only.
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
  ],
  exports: [COMPILED_DOWNLOAD_OPTIONS, DownloadInterceptor, GLOBAL_DOWNLOAD_INTERCEPTOR],
})
export class DownloadModule extends ConfigurableDownloadModule {
  static override forRoot(options: typeof DOWNLOAD_OPTIONS_TYPE): DynamicModule {
    return withInterceptor(super.forRoot(options), options.scope !== 'decorated');
  }

  /** The options come later: the interceptor is installed globally (decorated routes still only, if so configured). */
  static override forRootAsync(options: typeof DOWNLOAD_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withInterceptor(super.forRootAsync(options), true);
  }
}
