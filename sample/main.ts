import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { mediaRoot, seedMedia } from './media.js';

async function bootstrap(): Promise<void> {
  const root = mediaRoot();
  seedMedia(root);
  const app = await NestFactory.create(AppModule.forRoot(root));
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`sample app on http://127.0.0.1:${port}/lighttpd/optimized-by-middleware (media: ${root})`);
  console.log('put lighttpd in front of it with: lighttpd -D -f sample/lighttpd.conf (see README)');
}

void bootstrap();
