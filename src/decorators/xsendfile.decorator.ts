import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { XSENDFILE_METADATA } from '../download.constants.js';
import type { XSendfileOptions } from '../download.interfaces.js';
import { RouteDownloadInterceptor } from '../interceptors/route-download.interceptor.js';

/**
 * On a controller method or class:
 * - `@XSendfile({ sourceUrl | sourceDir, destinationDir, backend?, mode?, … })` adds a rule tried
 *   before the module's rules for this route;
 * - `@XSendfile({ backend?, mode? })` changes backend or mode of the module's rules for this route;
 * - `@XSendfile()` marks the route for conversion with the module's rules (for `scope: 'decorated'`,
 *   where the module installs no global interceptor: the decorator binds it to the route);
 * - `@XSendfile(false)` turns conversion off for this route (Node serves the files).
 */
export const XSendfile = (options?: XSendfileOptions) =>
  options === false
    ? SetMetadata(XSENDFILE_METADATA, false)
    : applyDecorators(
        SetMetadata(XSENDFILE_METADATA, options === undefined ? true : options),
        UseInterceptors(RouteDownloadInterceptor),
      );
