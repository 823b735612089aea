import type { DownloadBackend } from './download-backend.interface.js';
import { asRawBytes, fromRawBytes, hasControlCharacters } from '../paths/path-encoding.js';

/**
 * Caddy has no X-Sendfile module; its `reverse_proxy` + `handle_response` reads a header of our
 * choosing and serves that file with `file_server` (see sample/Caddyfile). Caddy 2.6's `rewrite`
 * takes the value raw — no percent-decoding, UTF-8 bytes as they are — and splits a query off at
 * `?` (seen against Debian's caddy 2.6.2). So the path goes out as raw bytes, and a name holding `?`
 * or a control character, which the header cannot carry, is left to Node.
 */
export const caddyBackend: DownloadBackend = {
  name: 'caddy',
  header: 'X-Accel-Redirect',
  destinationKind: 'uri',
  delegate: ({ destination }) =>
    destination.includes('?') || hasControlCharacters(destination)
      ? undefined
      : { headers: { 'X-Accel-Redirect': asRawBytes(destination) } },
  readHeader: fromRawBytes,
};
