import { apacheBackend } from './apache.backend.js';
import { caddyBackend } from './caddy.backend.js';
import type { DownloadBackend } from './download-backend.interface.js';
import { lighttpdLegacyBackend } from './lighttpd-legacy.backend.js';
import { lighttpdBackend } from './lighttpd.backend.js';
import { lighttpd2Backend } from './lighttpd2.backend.js';
import { nginxBackend } from './nginx.backend.js';
import { redirectBackend } from './redirect.backend.js';

export * from './download-backend.interface.js';

/**
 * The built-in backend whose header a response carries, and that header's value (the first in
 * the order below; a redirect's `Location` is no delegation header for this purpose).
 */
export function findDelegation(
  header: (name: string) => string | null | undefined,
): { backend: DownloadBackend; value: string } | undefined {
  for (const backend of BUILT_IN_BACKENDS.values()) {
    if (backend.destinationKind === 'url') continue;
    const value = header(backend.header);
    if (typeof value === 'string') return { backend, value };
  }
  return undefined;
}

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
