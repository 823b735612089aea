import { Controller, Get, HttpCode, Inject, Param, Put, Req } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { DownloadFile } from 'nestjs-downloadview';
import { SAMPLE_STORAGES, type SampleStorages } from './storages.js';

/**
 * Uploads straight to disk, then downloads through the proxy: `curl -T report.pdf
 * http://127.0.0.1:8080/uploads/report.pdf`. The body streams into a temporary file that is renamed
 * into place, so a download never sees half of it; a taken name gets a free one, which the answer
 * gives. (A real app puts a guard on this route.)
 */
@Controller('uploads')
export class UploadsController {
  constructor(@Inject(SAMPLE_STORAGES) private readonly storages: SampleStorages) {}

  @Put(':name')
  @HttpCode(201)
  async upload(@Param('name') name: string, @Req() request: IncomingMessage & { raw?: IncomingMessage }) {
    // Fastify wraps Node's request; Express is Node's request.
    const stored = await this.storages.uploads.save(name, request.raw ?? request);
    return { name: stored, url: `/uploads/${encodeURIComponent(stored)}` };
  }

  /** Matched by the `sourceUrl` rule of /media/lighttpd/: lighttpd sends it. */
  @Get(':name')
  download(@Param('name') name: string): DownloadFile {
    return this.storages.uploads.download(name);
  }
}
