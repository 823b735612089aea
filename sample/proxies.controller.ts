import { Controller, Get, Inject, Param } from '@nestjs/common';
import { DownloadFile, XSendfile } from 'nestjs-downloadview';
import { join } from 'node:path';
import { mediaRoot } from './media.js';
import { SAMPLE_STORAGES, type SampleStorages } from './storages.js';

/** django-downloadview's nginx demo: X-Accel-Redirect by module rule and by decorator. */
@Controller('nginx')
export class NginxController {
  constructor(@Inject(SAMPLE_STORAGES) private readonly storages: SampleStorages) {}

  @Get('optimized-by-middleware')
  optimizedByMiddleware(): DownloadFile {
    return this.storages.nginx.download('hello-world.txt');
  }

  @Get('optimized-by-decorator')
  @XSendfile({
    sourceUrl: '/media/nginx/',
    destinationDir: '/nginx-optimized-by-decorator/',
    backend: 'nginx',
    buffering: false,
    charset: 'utf-8',
  })
  optimizedByDecorator(): DownloadFile {
    return this.storages.nginx.download('hello-world.txt');
  }

  @Get('files/:name')
  file(@Param('name') name: string): DownloadFile {
    return this.storages.nginx.download(name);
  }

  /** nginx throttles this one (X-Accel-Limit-Rate: 256 KiB/s). */
  @Get('slow/:name')
  @XSendfile({
    sourceUrl: '/media/nginx/',
    destinationDir: '/nginx-optimized-by-middleware/',
    backend: 'nginx',
    limitRate: 262144,
  })
  slow(@Param('name') name: string): DownloadFile {
    return this.storages.nginx.download(name);
  }
}

/** django-downloadview's apache demo: mod_xsendfile by module rule and by decorator. */
@Controller('apache')
export class ApacheController {
  constructor(@Inject(SAMPLE_STORAGES) private readonly storages: SampleStorages) {}

  @Get('optimized-by-middleware')
  optimizedByMiddleware(): DownloadFile {
    return this.storages.apache.download('hello-world.txt');
  }

  @Get('optimized-by-decorator')
  @XSendfile({
    sourceUrl: '/media/apache/',
    destinationDir: join(mediaRoot(), 'apache-optimized-by-decorator'),
    backend: 'apache',
  })
  optimizedByDecorator(): DownloadFile {
    return this.storages.apache.download('hello-world.txt');
  }

  @Get('files/:name')
  file(@Param('name') name: string): DownloadFile {
    return this.storages.apache.download(name);
  }
}
