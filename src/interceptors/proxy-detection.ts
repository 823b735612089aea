import type { BlockList } from 'node:net';
import type { DownloadBackend } from '../backends/index.js';
import { SENDFILE_TYPE_HEADER } from '../download.constants.js';

export interface IncomingLike {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
  raw?: { socket?: { remoteAddress?: string } };
}

/**
 * `auto` mode: a proxy consumes the backend's header when it says so with `X-Sendfile-Type`
 * (the Rack::Sendfile convention) and the request comes from a trusted proxy address. Both are
 * needed: a client can send the header itself, but not from the proxy's address.
 * Returns `undefined` when the proxy will consume the header, else why not (for the decision log).
 */
export function whyProxyWillNotConsume(
  request: IncomingLike,
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
  let address = (request.raw ?? request).socket?.remoteAddress;
  if (!address) return 'mode auto: the client address is unknown';
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
  if (address.startsWith('::ffff:') && address.includes('.')) address = address.slice(7);
  if (trusted.check(address, address.includes(':') ? 'ipv6' : 'ipv4')) return undefined;
  return `mode auto: X-Sendfile-Type came from ${address}, which is not in trustedProxies`;
}
