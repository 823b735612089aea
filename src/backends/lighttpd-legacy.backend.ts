import type { DownloadBackend } from './download-backend.interface.js';
import { decodePathSegments, encodePathSegments } from '../paths/path-encoding.js';

/**
 * lighttpd before 1.4.40 understood only `X-LIGHTTPD-send-file`; current versions still honour it,
 * but for FastCGI backends only (not mod_proxy).
 */
export const lighttpdLegacyBackend: DownloadBackend = {
  name: 'lighttpd-legacy',
  header: 'X-LIGHTTPD-send-file',
  destinationKind: 'path',
  delegate: ({ destination }) => ({
    headers: { 'X-LIGHTTPD-send-file': encodePathSegments(destination) },
  }),
  readHeader: decodePathSegments,
};
