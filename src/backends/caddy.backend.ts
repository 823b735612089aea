import type { DownloadBackend } from './download-backend.interface.js';
import { encodePathSegments } from './encoding.js';

/**
 * Caddy has no X-Sendfile module; its `reverse_proxy` + `handle_response` reads a header of our
 * choosing and serves that file with `file_server` (see sample/Caddyfile). The header carries the
 * path relative to the Caddy `root`, percent-encoded (Caddy's `rewrite` parses it as a URI).
 */
export const caddyBackend: DownloadBackend = {
  name: 'caddy',
  header: 'X-Accel-Redirect',
  destinationKind: 'uri',
  delegate: ({ destination }) => ({
    headers: { 'X-Accel-Redirect': encodePathSegments(destination) },
  }),
};
