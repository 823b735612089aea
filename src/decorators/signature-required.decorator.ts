// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- on-headers ships no types: its declaration must reach every compilation of this file (the README examples too), not only this tsconfig's
/// <reference path="../types/on-headers.d.ts" />
import { ForbiddenException, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import onHeaders from 'on-headers';
import { downloadObserver } from '../metrics/current-observer.js';
import { rawResponse, requestUrl, routeOf, type IncomingRequest } from '../platform/platform.js';
import { SIGNATURE_PARAMETER, UrlSigner } from '../signing/url-signer.js';

/** Verifies the `X-Signature` of the request's own URL path. */
export class SignatureGuard implements CanActivate {
  constructor(private readonly signer: UrlSigner) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<IncomingRequest>();
    const [path, query = ''] = requestUrl(request).split('?', 2);
    const values = new URLSearchParams(query).getAll(SIGNATURE_PARAMETER);
    // Two signatures is someone guessing which one is checked.
    const problem = values.length > 1 ? 'malformed' : this.signer.check(path, values[0]);
    const response = rawResponse(http.getResponse());
    if (problem) {
      downloadObserver()?.signatureRefused({
        reason: problem === 'missing' || problem === 'expired' ? problem : 'invalid',
        link: 'signed-url',
        route: routeOf(request),
      });
      response.setHeader('Cache-Control', 'private, no-store');
      throw new ForbiddenException(`Signature ${problem}`);
    }
    // A cache may keep the answer while the URL is valid, and no longer (Rails issues 54637, 51284).
    const expires = Number(values[0].split('.', 1)[0]);
    cacheUntil(response, Math.max(0, expires - Math.ceil(Date.now() / 1000))); // whole seconds left, rounded down
    return true;
  }
}

/**
 * `Cache-Control: private, max-age=<seconds>` on the answer, unless it turns out to be an error
 * (a file gone since the URL was signed: 404), which gets `private, no-store`. The status is known
 * only when the head is written: jshttp's `on-headers` runs the check then, also over headers that
 * Fastify passes to writeHead() itself. A header set later (the redirect backend's) replaces it.
 */
function cacheUntil(response: ServerResponse, seconds: number): void {
  response.setHeader('Cache-Control', `private, max-age=${seconds}`);
  onHeaders(response, function (this: ServerResponse) {
    if (this.statusCode >= 400) this.setHeader('Cache-Control', 'private, no-store');
  });
}

/**
 * Answers 403 unless the request URL carries a valid, unexpired `X-Signature` made by the storage
 * (or signer) given — django-downloadview's `signature_required`. The answer may be cached
 * (`private`) until the URL expires, never longer; a refusal or an error never.
 */
export function SignatureRequired(source: UrlSigner | { signer: UrlSigner }): MethodDecorator & ClassDecorator {
  const signer = source instanceof UrlSigner ? source : source.signer;
  return UseGuards(new SignatureGuard(signer));
}
