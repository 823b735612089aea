import { BadRequestException, Controller, Get, Param, ParseIntPipe, Query, type Type } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileSystemStorage, ProxyLinkAuthController, ProxyLinkSigner, type ProxyLinkKey } from 'nestjs-downloadview';

/**
 * The keys of the sample's links, "id:secret id:secret" in SAMPLE_LINK_KEYS (the same as in the
 * proxy's configuration: sample/nginx-signed-links.conf, lighttpd-signed-links.lua); the first signs.
 * The default is a demo key: never use it for real files.
 */
export function sampleLinkKeys(): ProxyLinkKey[] {
  const text = process.env.SAMPLE_LINK_KEYS ?? 'demo:sample-demo-key-not-secret-0123456789abcdef';
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => ({ id: pair.slice(0, pair.indexOf(':')), secret: pair.slice(pair.indexOf(':') + 1) }));
}

/** Links to the files of `<media>/links`, which the proxies serve under `/links/` by themselves. */
export function sampleLinkSigner(root: string): ProxyLinkSigner {
  mkdirSync(join(root, 'links'), { recursive: true });
  const storage = new FileSystemStorage({ location: join(root, 'links') });
  return new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: sampleLinkKeys(), expiresIn: 600 });
}

/**
 * `GET /signed-links/<name>?filename=…&expiresIn=…` hands out a link (in JSON) that the proxy checks
 * and serves by itself; `GET /proxy-links/verify` checks one for caddy's `forward_auth`.
 */
export function signedLinksControllers(signer: ProxyLinkSigner): Type[] {
  @Controller('signed-links')
  class SignedLinksController {
    @Get(':name')
    issue(
      @Param('name') name: string,
      @Query('filename') filename?: string,
      @Query('expiresIn', new ParseIntPipe({ optional: true })) expiresIn?: number,
    ): { url: string } {
      try {
        return { url: signer.url(name, { filename, expiresIn }) };
      } catch (error) {
        // A bad filename or expiresIn; the storage's own refusals (400, 404) pass as they are.
        throw error instanceof TypeError ? new BadRequestException(error.message) : error;
      }
    }
  }
  return [SignedLinksController, ProxyLinkAuthController(signer)];
}
