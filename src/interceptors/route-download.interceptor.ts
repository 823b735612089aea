import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { GLOBAL_DOWNLOAD_INTERCEPTOR } from '../download.constants.js';
import { DownloadInterceptor } from './download.interceptor.js';

/**
 * What `@XSendfile()` binds to its route. With `DownloadModule.forRoot({ scope: 'decorated' })` no
 * global interceptor is installed at all, so the routes that return no file pay nothing; the
 * decorated ones run the module's interceptor through this one. Where the global interceptor is
 * installed, it has done the work already, and this passes through.
 */
@Injectable()
export class RouteDownloadInterceptor implements NestInterceptor {
  constructor(
    // Optional, so that an app without DownloadModule gets the error below rather than Nest's
    // generic "can't resolve dependencies".
    @Optional() private readonly download?: DownloadInterceptor,
    @Optional() @Inject(GLOBAL_DOWNLOAD_INTERCEPTOR) private readonly globallyInstalled?: boolean,
  ) {
    if (!download) {
      throw new Error(
        '@XSendfile() needs DownloadModule: add DownloadModule.forRoot({ backend, rules }) (or forRootAsync) to the imports of your root module',
      );
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return this.globallyInstalled ? next.handle() : this.download!.intercept(context, next);
  }
}
