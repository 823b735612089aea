import { Controller, Get, Query } from '@nestjs/common';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DownloadArchive, FileSystemStorage } from 'nestjs-downloadview';
import { mediaRoot } from './media.js';

/** Many files, one download: the whole media folder as a zip, streamed by Node as it is built. */
@Controller('archives')
export class ArchivesController {
  readonly #media = new FileSystemStorage({ location: mediaRoot() });

  /** `/archives/media` (entries stored: exact Content-Length), `/archives/media?compress=1` (deflated, chunked). */
  @Get('media')
  media(@Query('compress') compress?: string): Promise<DownloadArchive> {
    return DownloadArchive.from(this.#media, filesBelow(this.#media.location), {
      name: 'media.zip',
      compress: compress === '1',
    });
  }
}

/** Every regular file below `root`, by its name relative to it (symlinks left out). */
function filesBelow(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}
