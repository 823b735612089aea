import 'reflect-metadata';
import { Controller, Get, Module, NotFoundException, Param, StreamableFile } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createReadStream, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { DownloadArchive, DownloadModule, FileSystemStorage } from 'nestjs-downloadview';

/**
 * The app of `npm run bench:archives`: /archive/:set sends the files of one folder of BENCH_ROOT as
 * a zip (DownloadArchive, stored entries, served by Node), /stream/:name one file as a plain
 * StreamableFile (what the archive's throughput is compared with). BENCH_STATS_PORT answers this
 * process's RSS and its peak since the last `?reset` (sampled every 50 ms).
 */
const root = process.env.BENCH_ROOT!;
const port = Number(process.env.PORT ?? 3000);
const storage = new FileSystemStorage({ location: root });
// The names of each folder, listed once: the bench measures the archive, not a directory listing.
const sets = new Map(
  readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => [
      entry.name,
      readdirSync(join(root, entry.name))
        .sort()
        .map((name) => `${entry.name}/${name}`),
    ]),
);

@Controller()
class ArchivesController {
  @Get('archive/:set')
  archive(@Param('set') set: string) {
    const names = sets.get(set);
    if (!names) throw new NotFoundException();
    return DownloadArchive.from(storage, names, { name: `${set}.zip` });
  }

  @Get('stream/:name')
  stream(@Param('name') name: string) {
    return new StreamableFile(createReadStream(storage.path(name)));
  }
}

@Module({
  imports: [
    DownloadModule.forRoot({ mode: 'off', rules: [{ sourceDir: root, destinationDir: root, backend: 'lighttpd' }] }),
  ],
  controllers: [ArchivesController],
})
class ArchivesBenchModule {}

function serveStats(statsPort: number): void {
  let peakRss = process.memoryUsage.rss();
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50).unref();
  createServer((req, res) => {
    const rss = process.memoryUsage.rss();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ rss, peakRss: Math.max(peakRss, rss) }));
    if (req.url?.includes('reset')) peakRss = rss;
  }).listen(statsPort, '127.0.0.1');
}

async function main(): Promise<void> {
  if (process.env.BENCH_STATS_PORT) serveStats(Number(process.env.BENCH_STATS_PORT));
  const app = await NestFactory.create(ArchivesBenchModule, { logger: ['error'] });
  await app.listen(port, '127.0.0.1');
}

void main();
