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
import { S3Client } from '@aws-sdk/client-s3';
import { DownloadModule, FileSystemStorage, type DownloadRule } from 'nestjs-downloadview';
import { S3Storage } from 'nestjs-downloadview/s3';

/**
 * The apps the benchmark compares, one per process (BENCH_APP):
 * - `module`: Nest + DownloadModule (delegates /file/:name; /json is a plain route)
 * - `module-fastify`: the same on Nest's Fastify platform
 * - `module-nginx`: the same with the nginx backend (X-Accel-Redirect to the internal /protected/)
 * - `module-off`: the same with `mode: 'off'` (Node serves /file/:name with full HTTP semantics)
 * - `identity`: Nest + an identity global interceptor (the floor of any global interceptor)
 * - `bare`: Nest without any interceptor
 * - `express`: Express `res.sendFile` (and /json)
 * - `s3-nginx`, `s3-redirect`, `s3-off`: objects in a bucket (S3_ENDPOINT, bucket `bench`) at /s3/:name,
 *   delegated to nginx, redirected to a signed URL, or streamed by Node (bench/s3.mjs)
 * Every Nest variant also has /stream/:name, a plain StreamableFile that no rule matches, and
 * /manual/:name, which writes X-Sendfile by hand on the raw response: the least any Nest route can
 * do to delegate (Express platform only).
 */
const root = process.env.BENCH_ROOT!;
const port = Number(process.env.PORT);
const storage = new FileSystemStorage({ location: root, baseUrl: '/media/' });
const objects = process.env.S3_ENDPOINT
  ? new S3Storage({
      client: new S3Client({
        endpoint: process.env.S3_ENDPOINT,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      bucket: 'bench',
      baseUrl: '/objects/',
      checkExists: process.env.S3_CHECK_EXISTS !== '0',
    })
  : undefined;

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

  @Get('s3/:name')
  object(@Param('name') name: string) {
    return objects!.download(name);
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
  const mode = kind === 'module-off' || kind === 's3-off' ? ('off' as const) : ('always' as const);
  const rules: Record<string, DownloadRule> = {
    'module-nginx': { sourceUrl: '/media/', destinationDir: '/protected/', backend: 'nginx' },
    's3-nginx': { sourceUrl: '/objects/', destinationDir: '/s3-internal/', backend: 'nginx' },
    's3-off': { sourceUrl: '/objects/', destinationDir: '/s3-internal/', backend: 'nginx' },
    's3-redirect': { sourceUrl: '/objects/', backend: 'redirect' },
  };
  const rule = rules[kind] ?? { sourceUrl: '/media/', destinationDir: root };
  const imports =
    kind.startsWith('module') || kind.startsWith('s3') ? [DownloadModule.forRoot({ mode, rules: [rule] })] : [];
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
