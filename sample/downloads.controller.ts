import { Controller, Get, Inject, Param, StreamableFile } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { DownloadFile, XSendfile } from 'nestjs-downloadview';
import { mediaRoot } from './media.js';
import { SAMPLE_STORAGES, type SampleStorages } from './storages.js';

/** The routes of django-downloadview's lighttpd demo, and the other ways a file can be returned. */
@Controller('lighttpd')
export class DownloadsController {
  constructor(@Inject(SAMPLE_STORAGES) private readonly storages: SampleStorages) {}

  /** Matched by the module's `sourceUrl` rule. */
  @Get('optimized-by-middleware')
  optimizedByMiddleware(): DownloadFile {
    return this.storages.lighttpd.download('hello-world.txt');
  }

  /** No module rule matches `/media/decorated/`: the route's own rule does. */
  @Get('optimized-by-decorator')
  @XSendfile({ sourceUrl: '/media/decorated/', destinationDir: join(mediaRoot(), 'decorated') })
  optimizedByDecorator(): DownloadFile {
    return this.storages.decorated.download('hello-world.txt');
  }

  /** Any file of the lighttpd storage, e.g. `/lighttpd/files/report%20%C3%A9t%C3%A9.pdf`. */
  @Get('files/:name')
  file(@Param('name') name: string): DownloadFile {
    return this.storages.lighttpd.download(name);
  }

  /** A file by path, matched by the module's `sourceDir` rule. */
  @Get('by-path')
  byPath(): DownloadFile {
    return DownloadFile.fromPath(this.storages.private.path('hello-world.txt'));
  }

  /** What an existing controller returns, untouched: captured by the `sourceDir` rule too. */
  @Get('plain-stream')
  plainStream(): StreamableFile {
    return new StreamableFile(createReadStream(this.storages.private.path('hello-world.txt')));
  }

  /** In memory: never delegated, Node serves it. */
  @Get('virtual')
  virtual(): DownloadFile {
    return DownloadFile.fromBuffer('Hello virtual world!\n', { name: 'hello-virtual.txt' });
  }

  /** No rule covers this storage: Node serves it. */
  @Get('unmatched')
  unmatched(): DownloadFile {
    return this.storages.unmatched.download('hello-world.txt');
  }

  /** Conversion turned off for this route. */
  @Get('not-optimized')
  @XSendfile(false)
  notOptimized(): DownloadFile {
    return this.storages.lighttpd.download('hello-world.txt');
  }
}
