import { SetMetadata } from '@nestjs/common';
import { XSENDFILE_METADATA } from '../download.constants.js';
import type { XSendfileOptions } from '../download.interfaces.js';

/**
 * On a controller method or class:
 * - `@XSendfile({ sourceUrl | sourceDir, destinationDir, backend?, mode?, … })` adds a rule tried
 *   before the module's rules for this route;
 * - `@XSendfile({ backend?, mode? })` changes backend or mode of the module's rules for this route;
 * - `@XSendfile()` marks the route for conversion with the module's rules (for `scope: 'decorated'`);
 * - `@XSendfile(false)` turns conversion off for this route (Node serves the files).
 */
export const XSendfile = (options?: XSendfileOptions) =>
  SetMetadata(XSENDFILE_METADATA, options === undefined ? true : options);
