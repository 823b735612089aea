import type { BlockList } from 'node:net';
import type { DownloadBackend } from '../backends/index.js';
import { SENDFILE_TYPE_HEADER } from '../download.constants.js';
import { remoteAddress, type IncomingRequest } from '../platform/platform.js';

/**
 * `auto` mode: a proxy consumes the backend's header when it says so with `X-Sendfile-Type`
 * (the Rack::Sendfile convention) and the request comes from a trusted proxy address. Both are
 * needed: a client can send the header itself, but not from the proxy's address.
 * Returns `undefined` when the proxy will consume the header, else why not (for the decision log).
 */
export function whyProxyWillNotConsume(
  request: IncomingRequest,
  backend: DownloadBackend,
  trusted: BlockList,
): string | undefined {
  const announced = request.headers[SENDFILE_TYPE_HEADER];
  if (typeof announced !== 'string') {
    return `mode auto: the request has no X-Sendfile-Type header (no proxy announced ${backend.header})`;
  }
  if (announced.trim().toLowerCase() !== backend.header.toLowerCase()) {
    return `mode auto: X-Sendfile-Type is ${JSON.stringify(announced)}, backend ${backend.name} sends ${backend.header}`;
  }
  const address = remoteAddress(request);
  if (!address) return 'mode auto: the client address is unknown';
  if (trusted.check(address, address.includes(':') ? 'ipv6' : 'ipv4')) return undefined;
  return `mode auto: X-Sendfile-Type came from ${address}, which is not in trustedProxies`;
}
