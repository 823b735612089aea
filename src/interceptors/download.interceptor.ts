import {
  Inject,
  Injectable,
  Logger,
  StreamableFile,
  type BeforeApplicationShutdown,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { mergeMap, type Observable } from 'rxjs';
import type { CompiledOptions } from '../config/compile-options.js';
import { decide } from '../decision/decide.js';
import { describeHeaders, describeRequest, ruleName } from '../decision/decision-log.js';
import { buildRoutePlan, type RoutePlan } from '../decision/route-plan.js';
import { delegate } from '../delivery/delegate.js';
import { DownloadDrain } from '../delivery/download-drain.js';
import { serveFromNode } from '../delivery/serve-from-node.js';
import { COMPILED_DOWNLOAD_OPTIONS, XSENDFILE_METADATA } from '../download.constants.js';
import type { XSendfileOptions } from '../download.interfaces.js';
import { DownloadFile } from '../files/download-file.js';
import { sourceOf } from '../files/source-of.js';
import { observeDownloads, stopObservingDownloads } from '../metrics/current-observer.js';
import { deliveryOf } from '../metrics/delivery.js';
import type { DownloadObserver } from '../metrics/download-observer.js';
import { headerSetter, routeOf, type IncomingRequest } from '../platform/platform.js';
import { sendDownloadResponsesOnOlderNest } from '../platform/web-response.js';

/**
 * The module's Nest glue. For each `StreamableFile` a route returns: the route's plan (its rules,
 * worked out once per handler), then `decide()` (the proxy or Node, and why), then the delivery —
 * the proxy's header (delivery/delegate.ts) or Node's answer (delivery/serve-from-node.ts), counted
 * by the drain at shutdown, and reported to the `metrics` observer when there is one. Any other value
 * passes through untouched.
 */
@Injectable()
export class DownloadInterceptor
  implements NestInterceptor, OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  readonly #plans = new WeakMap<Function, RoutePlan>();
  readonly #drain = new DownloadDrain();
  /** Set when the decision log is on (`debug`): one debug line per file response. */
  readonly #log?: Logger;
  /** The `metrics` option: without it, no event is even built. */
  readonly #metrics?: DownloadObserver;

  constructor(
    @Inject(COMPILED_DOWNLOAD_OPTIONS) private readonly options: CompiledOptions,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {
    if (options.debug) this.#log = new Logger('DownloadModule');
    this.#metrics = options.metrics;
  }

  /**
   * Shutdown (`app.close()`, or SIGTERM with `app.enableShutdownHooks()`): the downloads Node is
   * sending get `shutdownGracePeriod` to finish, new file requests a 503; then the rest is closed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.#drain.drain(this.options.shutdownGracePeriod, new Logger('DownloadModule'));
  }

  onModuleInit(): void {
    sendDownloadResponsesOnOlderNest(this.adapterHost.httpAdapter);
    this.#planEveryRoute();
    // Storages and signature guards are made outside Nest: they report to this one.
    if (this.#metrics) observeDownloads(this.#metrics);
  }

  /** Storages and guards stop reporting here; this app's own downloads still do, to their end. */
  onApplicationShutdown(): void {
    if (this.#metrics) stopObservingDownloads(this.#metrics);
  }

  /**
   * Works out every controller method's plan now, so that an invalid `@XSendfile()` rule stops the
   * app at startup, naming the route and the field, like an invalid module rule does.
   */
  #planEveryRoute(): void {
    for (const { instance, metatype } of this.discovery.getControllers()) {
      if (!instance || typeof metatype !== 'function') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        this.#planOf(prototype[name], metatype);
      }
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    // A route that answers anything but a file pays for one instanceof check. Node's answers
    // come as promises (the file is stat-ed and opened off the event loop): merged here, so that a
    // 404 reaches the interceptors around this one as an error, not as a value.
    return (next.handle() as Observable<unknown>).pipe(
      mergeMap((value) => {
        if (!(value instanceof StreamableFile)) return [value];
        const answer = this.#respond(value, context);
        return answer instanceof Promise ? answer : [answer];
      }),
    );
  }

  #planOf(handler: Function, controller: Function): RoutePlan {
    let plan = this.#plans.get(handler);
    if (!plan) {
      const metadata = this.reflector.getAllAndOverride<XSendfileOptions | true | undefined>(XSENDFILE_METADATA, [
        handler,
        controller,
      ]);
      plan = buildRoutePlan(metadata, this.options, `@XSendfile on ${controller.name}.${handler.name}`);
      this.#plans.set(handler, plan);
    }
    return plan;
  }

  #respond(file: StreamableFile, context: ExecutionContext): unknown {
    const http = context.switchToHttp();
    const request = http.getRequest<IncomingRequest>();
    const response = http.getResponse<unknown>();
    const source = sourceOf(file);
    const plan = this.#planOf(context.getHandler(), context.getClass());
    const decision = decide(source, plan, request, this.options);
    const setHeader = headerSetter(response, this.adapterHost.httpAdapter);
    if (decision.delegate) {
      this.#log?.debug(
        `${describeRequest(request, nameOf(file, source))} delegated to ${decision.backend.name} by ${ruleName(decision.rule)}: ${describeHeaders(decision.delegation)}`,
      );
      this.#metrics?.response({
        delivery: deliveryOf(decision.backend),
        status: decision.delegation.status ?? 200,
        route: routeOf(request),
      });
      return delegate(file, source!, decision.delegation, setHeader);
    }
    this.#log?.debug(`${describeRequest(request, nameOf(file, source))} served by Node: ${decision.reason}`);
    const delivery = source?.kind === 'archive' ? 'archive' : 'node';
    if (this.#drain.draining) {
      this.#metrics?.response({ delivery, status: 503, route: routeOf(request) });
      return this.#drain.refuse(file);
    }
    this.#drain.track(response, this.#metrics, this.#metrics && { delivery, route: routeOf(request) });
    return serveFromNode(file, source, request, response, setHeader);
  }
}

/** The name the decision log shows: a DownloadFile's, or the path a plain stream reads. */
function nameOf(file: StreamableFile, source: ReturnType<typeof sourceOf>): string | undefined {
  return file instanceof DownloadFile ? file.name : source?.identity?.path;
}
