import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** The Node response under a platform's response: Fastify's `reply.raw`, or Express's `res` itself. */
export function rawResponse(response: unknown): ServerResponse {
  return ((response as { raw?: unknown }).raw ?? response) as ServerResponse;
}

/**
 * Destroys `stream` (closing its file) when the response closes before the stream has ended: a
 * client that left mid-body. `pipe()` leaves its source open then, and some adapters (NestJS 12.0's
 * Express adapter, for one) pipe without watching for it; where the adapter does watch, destroying
 * twice is harmless. One listener per Node-served download.
 */
export function destroyOnClose(response: unknown, stream: Readable): void {
  const raw: Partial<ServerResponse> = rawResponse(response);
  if (typeof raw.once !== 'function') return;
  const destroy = () => {
    if (!stream.readableEnded) stream.destroy();
  };
  if (raw.destroyed) destroy();
  else raw.once('close', destroy);
}
