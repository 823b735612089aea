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
 */
export function proxyWillConsume(request: IncomingLike, backend: DownloadBackend, trusted: BlockList): boolean {
  const announced = request.headers[SENDFILE_TYPE_HEADER];
  if (typeof announced !== 'string' || announced.trim().toLowerCase() !== backend.header.toLowerCase()) {
    return false;
  }
  let address = (request.raw ?? request).socket?.remoteAddress;
  if (!address) return false;
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
  if (address.startsWith('::ffff:') && address.includes('.')) address = address.slice(7);
  return trusted.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}
