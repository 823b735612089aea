import {
  Inject,
  Injectable,
  StreamableFile,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { ReadStream, realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { map, type Observable } from 'rxjs';
import type { CompiledOptions } from '../config/compile-options.js';
import { COMPILED_DOWNLOAD_OPTIONS, XSENDFILE_METADATA } from '../download.constants.js';
import type { XSendfileOptions } from '../download.interfaces.js';
import { buildContentDisposition, guessContentType } from '../files/content-headers.js';
import { DownloadFile, statForDownload } from '../files/download-file.js';
import { matchRule, type FileIdentity, type RuleMatch } from '../matching/match-rule.js';
import { serveDownload } from '../serving/serve-download.js';
import { destroyOnClose } from '../serving/destroy-on-close.js';
import { serveRemote } from '../serving/serve-remote.js';
import { downloadResponse, sendDownloadResponsesOnOlderNest } from '../serving/web-response.js';
import { isInside } from '../storage/path-safety.js';
import { proxyWillConsume, type IncomingLike } from './proxy-detection.js';
import { buildRoutePlan, type RoutePlan } from './route-plan.js';

const NOT_DELEGATED = Symbol('not delegated');

/** The file a plain `StreamableFile` reads, when it reads a whole file from a path. */
function plainFileIdentity(file: StreamableFile): FileIdentity | undefined {
  const stream = file.getStream();
  if (!(stream instanceof ReadStream) || typeof stream.path !== 'string') return undefined;
  const { start, end } = stream as ReadStream & { start?: number; end?: number };
  if ((start ?? 0) !== 0 || (end !== undefined && end !== Infinity)) return undefined;
  return { path: resolve(stream.path) };
}

/**
 * Turns `StreamableFile` responses into proxy delegations (empty body + the backend's header) when a
 * rule matches, and serves the other `DownloadFile`s from Node with full HTTP semantics.
 */
@Injectable()
export class DownloadInterceptor implements NestInterceptor, OnModuleInit {
  readonly #plans = new WeakMap<Function, RoutePlan>();

  constructor(
    @Inject(COMPILED_DOWNLOAD_OPTIONS) private readonly options: CompiledOptions,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    sendDownloadResponsesOnOlderNest(this.adapterHost.httpAdapter);
    this.#planEveryRoute();
  }

  /**
   * Works out every controller method's plan now, so that an invalid `@XSendfile()` rule stops the
   * app at startup, naming the route and the field, like an invalid module rule does.
   */
  #planEveryRoute(): void {
    for (const { instance, metatype } of this.discovery.getControllers()) {
      if (!instance || typeof metatype !== 'function') continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        this.#planOf(prototype[name], metatype as Function);
      }
    }
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    // A route that answers anything but a file pays for one instanceof check.
    return next.handle().pipe(
      map((value) => (value instanceof StreamableFile ? this.#respond(value, this.#planFor(context), context) : value)),
    );
  }

  #planFor(context: ExecutionContext): RoutePlan {
    return this.#planOf(context.getHandler(), context.getClass());
  }

  #planOf(handler: Function, controller: Function): RoutePlan {
    let plan = this.#plans.get(handler);
    if (!plan) {
      const metadata = this.reflector.getAllAndOverride<XSendfileOptions | true | undefined>(XSENDFILE_METADATA, [handler, controller]);
      plan = buildRoutePlan(metadata, this.options, `@XSendfile on ${controller.name}.${handler.name}`);
      this.#plans.set(handler, plan);
    }
    return plan;
  }

  #respond(file: StreamableFile, plan: RoutePlan, context: ExecutionContext): unknown {
    const http = context.switchToHttp();
    const request = http.getRequest<IncomingLike & { method?: string }>();
    const response = http.getResponse();
    const isDownloadFile = file instanceof DownloadFile;
    if (plan.convert && !(isDownloadFile && file.isVirtual)) {
      const identity = isDownloadFile ? { url: file.url, path: file.path } : plainFileIdentity(file);
      const match = identity && matchRule(plan.rules, identity);
      if (match && this.#shouldDelegate(match, request)) {
        const delegated = this.#delegate(file, identity, match, request, response);
        if (delegated !== NOT_DELEGATED) return delegated;
      }
    }
    if (!isDownloadFile) return file;
    if (file.remoteUrl && !file.path) return serveRemote(file);
    const answer = serveDownload(file, request, this.#headerSetter(response));
    if (answer === file && file.opened) destroyOnClose(response, file.getStream());
    return answer;
  }

  #shouldDelegate(match: RuleMatch, request: IncomingLike): boolean {
    const { mode, backend } = match.rule as RuleMatch['rule'] & { mode: string };
    if (mode === 'always') return true;
    return mode === 'auto' && proxyWillConsume(request, backend, this.options.trustedProxies);
  }

  /**
   * The proxy's answer: `undefined` (Nest sends the headers set here and an empty body, its
   * cheapest reply; `null` would be serialised as JSON by Fastify for a JSON file), a `Response` for
   * another status, or NOT_DELEGATED when the proxy cannot serve it.
   */
  #delegate(file: StreamableFile, identity: FileIdentity, match: RuleMatch, request: IncomingLike, response: unknown): Response | undefined | typeof NOT_DELEGATED {
    const isDownloadFile = file instanceof DownloadFile;
    // Matched by path: the real path must lie below sourceDir too, or a symlink would let the
    // proxy serve a file outside it. This also turns a missing file into a 404.
    let size = isDownloadFile ? file.size : undefined;
    if (match.rule.sourceDir && identity.path && (!isDownloadFile || !file.url || !match.rule.sourceUrl)) {
      if (!isDownloadFile) size = statForDownload(identity.path).size;
      if (!this.options.allowSymlinksOutside && !isInside(match.rule.sourceDir, realpathSync.native(identity.path) + '/')) {
        return NOT_DELEGATED;
      }
    }
    const range = request.headers.range;
    const delegation = match.rule.backend.delegate({
      destination: match.destination,
      range: typeof range === 'string' ? range : undefined,
      conditionalRange: request.headers['if-range'] !== undefined,
      size,
      options: match.rule.backendOptions,
    });
    if (!delegation) return NOT_DELEGATED;

    const type = isDownloadFile ? file.contentType : (file.options.type ?? guessContentType(basename(identity.path ?? '')));
    const disposition = isDownloadFile
      ? file.disposition
      : (file.options.disposition ?? buildContentDisposition(basename(identity.path ?? 'download'), true));
    // The proxy serves the bytes: the file is never opened, a plain stream is closed now.
    if (isDownloadFile) file.release();
    else file.getStream().destroy();

    if (delegation.status && delegation.status !== 200) {
      const headers = new Headers(delegation.headers);
      headers.set('Content-Type', type);
      headers.set('Content-Disposition', Array.isArray(disposition) ? disposition.join(', ') : disposition);
      return downloadResponse(null, { status: delegation.status, headers });
    }
    const setHeader = this.#headerSetter(response);
    for (const name in delegation.headers) setHeader(name, delegation.headers[name]);
    setHeader('Content-Type', type);
    setHeader('Content-Disposition', Array.isArray(disposition) ? disposition.join(', ') : disposition);
    setHeader('Content-Length', '0');
    return undefined;
  }

  /**
   * Sets headers as given: Node's own `setHeader` where the response is a Node response (Express,
   * whose `res.set()` would add a charset to a Content-Type the file chose), else the adapter's.
   */
  #headerSetter(response: unknown): (name: string, value: string) => void {
    const native = response as { setHeader?: (name: string, value: string) => void };
    if (typeof native.setHeader === 'function') return (name, value) => native.setHeader!(name, value);
    return (name, value) => this.adapterHost.httpAdapter.setHeader(response, name, value);
  }
}
