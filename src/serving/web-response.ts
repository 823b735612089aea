import { StreamableFile } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

/**
 * NestJS 12 sends a web `Response` returned by an interceptor as the whole answer (status, headers,
 * body); NestJS 11 serialises it as JSON (`{}`).
 */
export const NEST_SENDS_WEB_RESPONSES = (() => {
  try {
    const { version } = createRequire(import.meta.url)('@nestjs/core/package.json') as { version: string };
    return Number(version.split('.')[0]) >= 12;
  } catch {
    return true;
  }
})();

/** The Responses this module made, which alone it sends itself on NestJS 11. */
const ownResponses = new WeakSet<Response>();
const taughtAdapters = new WeakSet<object>();

/** A web `Response` for an answer other than "the whole file, 200" (304, 206, 416, HEAD, remote…). */
export function downloadResponse(body: BodyInit | null, init: ResponseInit): Response {
  const response = new Response(body, init);
  if (!NEST_SENDS_WEB_RESPONSES) ownResponses.add(response);
  return response;
}

/**
 * On NestJS 11, teaches the app's HTTP adapter what NestJS 12 does natively, for this module's
 * Responses only: set their headers, then send their body through the adapter's own
 * `StreamableFile` path (backpressure, client aborts, HEAD) with their status. Nest has no public
 * hook that lets an interceptor choose the status (its router re-applies the route's own), hence
 * this small wrapper on the adapter instance; every other reply goes through untouched.
 */
export function sendDownloadResponsesOnNest11(adapter: AbstractHttpAdapter | undefined): void {
  if (NEST_SENDS_WEB_RESPONSES || !adapter || taughtAdapters.has(adapter)) return;
  taughtAdapters.add(adapter);
  const reply = adapter.reply.bind(adapter);
  adapter.reply = (response: unknown, body: unknown, statusCode?: number) => {
    if (!(body instanceof Response) || !ownResponses.has(body)) return reply(response, body, statusCode);
    body.headers.forEach((value, name) => adapter.setHeader(response, name, value));
    const stream = body.body ? Readable.fromWeb(body.body as import('node:stream/web').ReadableStream) : undefined;
    return reply(response, stream ? new StreamableFile(stream) : undefined, body.status);
  };
}
