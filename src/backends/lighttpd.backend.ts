import type { DownloadBackend } from './download-backend.interface.js';
import { decodePathSegments, encodePathSegments } from '../paths/path-encoding.js';

/** lighttpd ≥ 1.4.40 (mod_proxy, mod_fastcgi): `X-Sendfile`, which lighttpd URL-decodes. */
export const lighttpdBackend: DownloadBackend = {
  name: 'lighttpd',
  header: 'X-Sendfile',
  destinationKind: 'path',
  delegate: ({ destination }) => ({ headers: { 'X-Sendfile': encodePathSegments(destination) } }),
  readHeader: decodePathSegments,
};
