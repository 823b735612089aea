import { apacheBackend } from './apache.backend.js';
import { caddyBackend } from './caddy.backend.js';
import type { DownloadBackend } from './download-backend.interface.js';
import { lighttpdLegacyBackend } from './lighttpd-legacy.backend.js';
import { lighttpdBackend } from './lighttpd.backend.js';
import { lighttpd2Backend } from './lighttpd2.backend.js';
import { nginxBackend } from './nginx.backend.js';
import { redirectBackend } from './redirect.backend.js';

export * from './download-backend.interface.js';

/** The backends selectable by name. */
export const BUILT_IN_BACKENDS: ReadonlyMap<string, DownloadBackend> = new Map(
  [
    lighttpdBackend,
    lighttpd2Backend,
    lighttpdLegacyBackend,
    nginxBackend,
    apacheBackend,
    caddyBackend,
    redirectBackend,
  ].map((backend) => [backend.name, backend]),
);

export {
  apacheBackend,
  caddyBackend,
  lighttpdBackend,
  lighttpd2Backend,
  lighttpdLegacyBackend,
  nginxBackend,
  redirectBackend,
};
