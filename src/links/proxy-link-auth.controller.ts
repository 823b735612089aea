import { Controller, Get, Headers, Req, Res, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { downloadObserver } from '../metrics/current-observer.js';
import { routeOf, type IncomingRequest } from '../platform/platform.js';
import type { ProxyLinkSigner } from './proxy-link-signer.js';

/** The response headers that carry a good link's Content-Disposition and Cache-Control to the proxy. */
export const PROXY_LINK_DISPOSITION_HEADER = 'X-Link-Disposition';
export const PROXY_LINK_CACHE_CONTROL_HEADER = 'X-Link-Cache-Control';

/**
 * A controller with one route, `GET <path>` (default `proxy-links/verify`), for proxies that cannot
 * compute an HMAC (caddy 2.6: `forward_auth`, sample/signed-links.Caddyfile): it checks the link in
 * `X-Forwarded-Uri` and answers with no body: 200 with `X-Link-Disposition` and
 * `X-Link-Cache-Control` for the proxy to copy onto the file it then sends itself, 403 for a bad
 * link, 410 for an expired one. No byte of the file goes through Node.
 */
export function ProxyLinkAuthController(signer: ProxyLinkSigner, path = 'proxy-links/verify'): Type {
  @Controller()
  class ProxyLinkAuth {
    constructor(readonly adapterHost: HttpAdapterHost) {}

    @Get(path)
    verify(
      @Headers('x-forwarded-uri') uri: string | undefined,
      @Req() request: IncomingRequest,
      @Res() response: unknown,
    ): void {
      const adapter = this.adapterHost.httpAdapter;
      const result = signer.check(uri ?? '');
      if (result.status !== 200) {
        downloadObserver()?.signatureRefused({
          reason: !/[?&]sig=/.test(uri ?? '') ? 'missing' : result.status === 410 ? 'expired' : 'invalid',
          link: 'proxy-link',
          route: routeOf(request),
        });
      }
      adapter.setHeader(response, 'Cache-Control', result.status === 200 ? 'private, no-store' : result.cacheControl);
      if (result.status === 200) {
        adapter.setHeader(response, PROXY_LINK_DISPOSITION_HEADER, result.contentDisposition);
        adapter.setHeader(response, PROXY_LINK_CACHE_CONTROL_HEADER, result.cacheControl);
      }
      adapter.reply(response, undefined, result.status);
    }
  }
  return ProxyLinkAuth;
}
