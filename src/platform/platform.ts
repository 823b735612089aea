import type { AbstractHttpAdapter } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ConditionalRequest } from '../http/conditional-get.js';

/**
 * Where Express and Fastify differ, for this module: the request and response it is handed, how
 * to reach the Node objects under them, and how to set a header. Everything else works on these.
 */

/** The request as this module reads it: Express's, or Fastify's (whose Node request is `raw`). */
export interface IncomingRequest extends ConditionalRequest {
  url?: string;
  /** Express: the URL as the client sent it (`url` is relative to a mounted router). */
  originalUrl?: string;
  socket?: { remoteAddress?: string };
  raw?: { url?: string; socket?: { remoteAddress?: string } };
  /** Express: the matched route, and the path the router it is on is mounted at. */
  route?: { path?: unknown };
  baseUrl?: string;
  /** Fastify: the matched route. */
  routeOptions?: { url?: string };
}

/** The route's path pattern (`/files/:name`) as the platform matched it, never the URL; undefined when unknown. */
export function routeOf(request: IncomingRequest): string | undefined {
  const fastify = request.routeOptions?.url;
  if (fastify !== undefined) return fastify;
  const path = request.route?.path;
  return typeof path === 'string' ? (request.baseUrl ?? '') + path : undefined;
}

/** The URL (path and query) as the client sent it, on Express and on Fastify. */
export function requestUrl(request: IncomingRequest): string {
  return request.originalUrl ?? request.raw?.url ?? request.url ?? '';
}

/** The client's address as the socket saw it (an IPv4 client on a dual-stack socket without `::ffff:`). */
export function remoteAddress(request: IncomingRequest): string | undefined {
  const address = (request.raw ?? request).socket?.remoteAddress;
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The Node response under a platform's response: Fastify's `reply.raw`, or Express's `res` itself. */
export function rawResponse(response: unknown): ServerResponse {
  return ((response as { raw?: unknown }).raw ?? response) as ServerResponse;
}

/**
 * Sets headers as given: Node's own `setHeader` where the response is a Node response (Express,
 * whose `res.set()` would add a charset to a Content-Type the file chose), else the adapter's
 * (Fastify's reply, whose headers it sends itself).
 */
export function headerSetter(
  response: unknown,
  adapter: AbstractHttpAdapter | undefined,
): (name: string, value: string) => void {
  const native = response as { setHeader?: (name: string, value: string) => void };
  if (typeof native.setHeader === 'function') return (name, value) => native.setHeader!(name, value);
  return (name, value) => {
    adapter?.setHeader(response, name, value);
  };
}

/** What this module runs when a response closes, by response: one 'close' listener each. */
const closeListeners = new WeakMap<object, (() => void)[]>();

/**
 * Calls `listener` once when the response closes (finished, or the client left); at once if it
 * already has. All of them share one 'close' listener per response: Node warns past 10 on one
 * emitter, and a streamed reply takes up to 9 before this module adds any (on Node 20 each
 * `finished()` of Nest, of its Fastify adapter and of Fastify adds two, `pipe()` one).
 */
export function onceClosed(response: unknown, listener: () => void): void {
  const raw: Partial<ServerResponse> = rawResponse(response);
  if (typeof raw.once !== 'function') return;
  if (raw.destroyed) return listener();
  let listeners = closeListeners.get(raw);
  if (!listeners) {
    const all: (() => void)[] = [];
    closeListeners.set(raw, (listeners = all));
    raw.once('close', () => {
      closeListeners.delete(raw);
      for (const run of all) run();
    });
  }
  listeners.push(listener);
}

/**
 * Destroys `stream` (closing its file) when the response closes before the stream has ended: a
 * client that left mid-body. `pipe()` leaves its source open then, and some adapters (NestJS 12.0's
 * Express adapter, for one) pipe without watching for it; where the adapter does watch, destroying
 * twice is harmless.
 */
export function destroyOnClose(response: unknown, stream: Readable): void {
  onceClosed(response, () => {
    if (!stream.readableEnded) stream.destroy();
  });
}
