import type { DownloadBackend } from '../backends/index.js';
import type { Delivery } from './download-observer.js';

/**
 * How a backend hands a file over, as metrics name it: its header, except where the header says
 * less than the name (caddy sends `X-Accel-Redirect` as nginx does; a redirect is a `Location`).
 */
export function deliveryOf(backend: DownloadBackend): Delivery {
  return backend.name === 'caddy' || backend.name === 'redirect' ? backend.name : backend.header.toLowerCase();
}
