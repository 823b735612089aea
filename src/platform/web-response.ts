import { StreamableFile } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { destroyOnClose } from './platform.js';

/** The version of the `@nestjs/core` the app runs (its package.json is exported only since 12.4). */
function nestCoreVersion(): string | undefined {
  try {
    for (
      let dir = dirname(createRequire(import.meta.url).resolve('@nestjs/core'));
      dir !== dirname(dir);
      dir = dirname(dir)
    ) {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (name === '@nestjs/core') return version;
    }
  } catch {
    // Not resolvable from here (a bundled app): decided below.
  }
  return undefined;
}

/**
 * NestJS 12.4 and later send a web `Response` returned by an interceptor as the whole answer
 * (status, headers, body); NestJS 11 and 12.0–12.3 serialise it as JSON (`{}`). When the version
 * cannot be read, the adapter is taught anyway: where Nest sends Responses itself, its router turns
 * them into a StreamableFile before the adapter's `reply()` sees them, so the lesson is never used.
 */
export const NEST_SENDS_WEB_RESPONSES = (() => {
  const [major, minor] = (nestCoreVersion() ?? '0.0').split('.').map(Number);
  return major > 12 || (major === 12 && minor >= 4);
})();

/** The Responses this module made, which alone it sends itself on NestJS before 12.4. */
const ownResponses = new WeakSet<Response>();
const taughtAdapters = new WeakSet<object>();

/** A web `Response` for an answer other than "the whole file, 200" (304, 206, 416, HEAD, remote…). */
export function downloadResponse(body: BodyInit | null, init: ResponseInit): Response {
  const response = new Response(body, init);
  if (!NEST_SENDS_WEB_RESPONSES) ownResponses.add(response);
  return response;
}

/**
 * On NestJS before 12.4, teaches the app's HTTP adapter what later versions do natively, for this
 * module's Responses only: set their headers, then send their body through the adapter's own
 * `StreamableFile` path (backpressure, client aborts, HEAD) with their status. Nest has no public
 * hook that lets an interceptor choose the status (its router re-applies the route's own), hence
 * this small wrapper on the adapter instance; every other reply goes through untouched.
 */
export function sendDownloadResponsesOnOlderNest(adapter: AbstractHttpAdapter | undefined): void {
  if (NEST_SENDS_WEB_RESPONSES || !adapter || taughtAdapters.has(adapter)) return;
  taughtAdapters.add(adapter);
  const reply = adapter.reply.bind(adapter) as (response: unknown, body: unknown, statusCode?: number) => unknown;
  adapter.reply = (response: unknown, body: unknown, statusCode?: number) => {
    if (!(body instanceof Response) || !ownResponses.has(body)) return reply(response, body, statusCode);
    body.headers.forEach((value, name) => {
      adapter.setHeader(response, name, value);
    });
    const stream = body.body ? Readable.fromWeb(body.body as import('node:stream/web').ReadableStream) : undefined;
    if (stream) destroyOnClose(response, stream);
    return reply(response, stream ? new StreamableFile(stream) : undefined, body.status);
  };
}
