import {
  Injectable,
  Logger,
  Module,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Gives every response an `X-Request-Id` and logs it with the request's outcome. The proxy in front
 * keeps that header through the hand-off and writes it in its access log (sample/nginx.conf,
 * lighttpd.conf, Caddyfile, apache.conf), so a download in the proxy's log can be found from this
 * line, and whether the proxy sent it whole read from that one.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  private readonly logger = new Logger('RequestId');

  // Raw Node objects: Nest hands these to middleware on Express and on Fastify alike.
  use(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: () => void): void {
    const id = randomUUID();
    res.setHeader('X-Request-Id', id);
    // The path only: a signed URL's signature (its query) stays out of the log.
    const path = (req.originalUrl ?? req.url ?? '').split('?', 1)[0];
    // 'finish': the app has handed its answer over (for a delegated download, the empty one the proxy
    // reads); whether the file itself went out whole is in the proxy's log.
    res.once('finish', () => {
      const delegatedTo = ['X-Sendfile', 'X-Accel-Redirect'].find((header) => res.hasHeader(header));
      const how = delegatedTo ? `delegated (${delegatedTo})` : 'answered by Node';
      this.logger.debug(`${req.method} ${path} ${res.statusCode} ${how} request_id=${id}`);
    });
    next();
  }
}

/** Import it beside the app's module to give every route a request id. */
@Module({ providers: [RequestIdMiddleware] })
export class RequestIdModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // '{*path}': every path, the root included (Nest 11+ route syntax).
    consumer.apply(RequestIdMiddleware).forRoutes('{*path}');
  }
}
