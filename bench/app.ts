import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  Res,
  StreamableFile,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ServerResponse } from 'node:http';
import express from 'express';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { DownloadModule, FileSystemStorage } from 'nestjs-downloadview';

/**
 * The apps the benchmark compares, one per process (BENCH_APP):
 * - `module`: Nest + DownloadModule (delegates /file/:name; /json is a plain route)
 * - `module-fastify`: the same on Nest's Fastify platform
 * - `module-nginx`: the same with the nginx backend (X-Accel-Redirect to the internal /protected/)
 * - `module-off`: the same with `mode: 'off'` (Node serves /file/:name with full HTTP semantics)
 * - `identity`: Nest + an identity global interceptor (the floor of any global interceptor)
 * - `bare`: Nest without any interceptor
 * - `express`: Express `res.sendFile` (and /json)
 * Every Nest variant also has /stream/:name, a plain StreamableFile that no rule matches, and
 * /manual/:name, which writes X-Sendfile by hand on the raw response: the least any Nest route can
 * do to delegate (Express platform only).
 */
const root = process.env.BENCH_ROOT!;
const port = Number(process.env.PORT);
const storage = new FileSystemStorage({ location: root, baseUrl: '/media/' });

@Controller()
class BenchController {
  @Get('json')
  json() {
    return { ok: true };
  }

  @Get('file/:name')
  file(@Param('name') name: string) {
    return storage.download(name);
  }

  @Get('manual/:name')
  manual(@Param('name') name: string, @Res() res: ServerResponse) {
    res.setHeader('X-Sendfile', storage.path(name));
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', '0');
    res.end();
  }

  @Get('stream/:name')
  stream(@Param('name') name: string) {
    return new StreamableFile(createReadStream(storage.path(name)));
  }
}

@Injectable()
class IdentityInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    return next.handle();
  }
}

function moduleFor(kind: string) {
  const mode = kind === 'module-off' ? ('off' as const) : ('always' as const);
  const rule =
    kind === 'module-nginx'
      ? { sourceUrl: '/media/', destinationDir: '/protected/', backend: 'nginx' as const }
      : { sourceUrl: '/media/', destinationDir: root };
  const imports = kind.startsWith('module') ? [DownloadModule.forRoot({ mode, rules: [rule] })] : [];
  const providers = kind === 'identity' ? [{ provide: APP_INTERCEPTOR, useClass: IdentityInterceptor }] : [];
  @Module({ imports, providers, controllers: [BenchController] })
  class BenchModule {}
  return BenchModule;
}

async function main(): Promise<void> {
  const kind = process.env.BENCH_APP ?? 'module';
  if (kind === 'express') {
    const app = express();
    app.get('/json', (_req, res) => res.json({ ok: true }));
    app.get('/file/:name', (req, res) => res.sendFile(join(root, req.params.name)));
    app.listen(port, '127.0.0.1');
    return;
  }
  const app = kind.endsWith('-fastify')
    ? await NestFactory.create(moduleFor(kind), new FastifyAdapter(), { logger: false })
    : await NestFactory.create(moduleFor(kind), { logger: false });
  await app.listen(port, '127.0.0.1');
}

void main();
