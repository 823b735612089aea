import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';

export interface FastCgiGatewayOptions {
  /** The Nest app's HTTP address, e.g. `http://127.0.0.1:3000`. */
  target: string;
}

/**
 * A FastCGI server that relays each request to the app over HTTP and its answer back unchanged.
 *
 * lighttpd 1.4 honours `X-Sendfile2` and `X-LIGHTTPD-send-file` only from FastCGI backends, not
 * from mod_proxy. Nest's HTTP adapters need real `http` request/response objects, so rather than
 * serving Nest over FastCGI directly, this gateway (built on the `node-fastcgi` package, an optional
 * peer dependency) sits between lighttpd's mod_fastcgi and the app: only headers cross it for a
 * delegated download, since lighttpd reads the file itself.
 *
 * `createFastCgiGateway({ target }).listen(9000, '127.0.0.1')`
 */
export function createFastCgiGateway(options: FastCgiGatewayOptions): Server {
  const target = new URL(options.target);
  const fcgi = createRequire(import.meta.url)('node-fastcgi') as {
    createServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server;
  };
  return fcgi.createServer((req, res) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: req.headers.host ?? target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end('Bad gateway');
    });
    req.pipe(upstream);
  });
}
