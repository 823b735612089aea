import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DownloadModuleOptions } from './download.interfaces.js';

export const {
  ConfigurableModuleClass: ConfigurableDownloadModule,
  MODULE_OPTIONS_TOKEN: DOWNLOAD_MODULE_OPTIONS,
  OPTIONS_TYPE: DOWNLOAD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DOWNLOAD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DownloadModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
