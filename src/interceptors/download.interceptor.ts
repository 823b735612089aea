import {
  Inject,
  Injectable,
  Logger,
  StreamableFile,
  type BeforeApplicationShutdown,
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
import { closeUnsent, DownloadFile, statForDownload } from '../files/download-file.js';
import { matchRule, type FileIdentity, type RuleMatch } from '../matching/match-rule.js';
import { serveDownload } from '../serving/serve-download.js';
import { destroyOnClose } from '../serving/destroy-on-close.js';
import { serveRemote } from '../serving/serve-remote.js';
import { serveObject } from '../serving/serve-object.js';
import { DownloadDrain } from '../serving/download-drain.js';
import { downloadResponse, sendDownloadResponsesOnOlderNest } from '../serving/web-response.js';
import { isInside } from '../storage/path-safety.js';
import { whyProxyWillNotConsume, type IncomingLike } from './proxy-detection.js';
import { describeHeaders, describeRequest, noRuleMatched, ruleName } from './decision-log.js';
import { buildRoutePlan, type RoutePlan } from './route-plan.js';

// Why a file is served by Node: the decision log's words, also the hot path's "not delegated" mark.
const NOT_CONVERTED = 'conversion is off for this route (@XSendfile(false), or scope "decorated" and no @XSendfile())';
const VIRTUAL = 'a virtual file (in memory) is never delegated';
const NOT_A_FILE =
  'not a file on disk (a StreamableFile over something other than createReadStream(path) of a whole file)';
const NO_RULE = 'no rule matched';
const SYMLINK_OUT = "its real path leaves the rule's sourceDir (a symlink; see allowSymlinksOutside)";

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
export class DownloadInterceptor implements NestInterceptor, OnModuleInit, BeforeApplicationShutdown {
  readonly #plans = new WeakMap<Function, RoutePlan>();
  readonly #drain = new DownloadDrain();
  /** Set when the decision log is on (`debug`): one debug line per file response. */
  readonly #log?: Logger;

  constructor(
    @Inject(COMPILED_DOWNLOAD_OPTIONS) private readonly options: CompiledOptions,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {
    if (options.debug) this.#log = new Logger('DownloadModule');
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
    // A route that answers anything but a file pays for one instanceof check.
    return (next.handle() as Observable<unknown>).pipe(
      map((value) => (value instanceof StreamableFile ? this.#respond(value, this.#planFor(context), context) : value)),
    );
  }

  #planFor(context: ExecutionContext): RoutePlan {
    return this.#planOf(context.getHandler(), context.getClass());
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

  #respond(file: StreamableFile, plan: RoutePlan, context: ExecutionContext): unknown {
    const http = context.switchToHttp();
    const request = http.getRequest<IncomingLike & { method?: string; url?: string }>();
    const response = http.getResponse<unknown>();
    const isDownloadFile = file instanceof DownloadFile;
    let notDelegated: string;
    if (!plan.convert) {
      notDelegated = NOT_CONVERTED;
    } else if (isDownloadFile && file.isVirtual) {
      notDelegated = VIRTUAL;
    } else {
      const identity = isDownloadFile ? { url: file.url, path: file.path } : plainFileIdentity(file);
      const match = identity && matchRule(plan.rules, identity);
      if (!identity) {
        notDelegated = NOT_A_FILE;
      } else if (!match) {
        notDelegated = this.#log ? noRuleMatched(plan.rules, identity) : NO_RULE;
      } else {
        const refused = this.#whyNotDelegate(match, request);
        const delegated = refused ?? this.#delegate(file, identity, match, request, response);
        if (typeof delegated !== 'string') return delegated;
        notDelegated = delegated;
      }
    }
    this.#log?.debug(`${describeRequest(request, file)} served by Node: ${notDelegated}`);
    if (this.#drain.draining) return this.#drain.refuse(file);
    this.#drain.track(response);
    if (!isDownloadFile) return file;
    if (file.object) return serveObject(file, file.object, request, response);
    if (file.remoteUrl && !file.path) return serveRemote(file);
    const answer = serveDownload(file, request, this.#headerSetter(response));
    if (answer === file && file.opened) destroyOnClose(response, file.getStream());
    return answer;
  }

  /** Why a matching rule does not delegate for this request (its mode), or undefined when it does. */
  #whyNotDelegate(match: RuleMatch, request: IncomingLike): string | undefined {
    const { mode, backend } = match.rule as RuleMatch['rule'] & { mode: string };
    if (mode === 'always') return undefined;
    if (mode === 'off')
      return this.options.envMode === 'off' ? 'mode off (DOWNLOADVIEW_MODE)' : `mode off (${ruleName(match.rule)})`;
    return whyProxyWillNotConsume(request, backend, this.options.trustedProxies);
  }

  /**
   * The proxy's answer: `undefined` (Nest sends the headers set here and an empty body, its
   * cheapest reply; `null` would be serialised as JSON by Fastify for a JSON file), a `Response` for
   * another status, or why the proxy cannot serve it (a string).
   */
  #delegate(
    file: StreamableFile,
    identity: FileIdentity,
    match: RuleMatch,
    request: IncomingLike & { method?: string; url?: string },
    response: unknown,
  ): Response | undefined | string {
    const isDownloadFile = file instanceof DownloadFile;
    // Matched by path: the real path must lie below sourceDir too, or a symlink would let the
    // proxy serve a file outside it. This also turns a missing file into a 404.
    let size = isDownloadFile ? file.size : undefined;
    if (match.rule.sourceDir && identity.path && (!isDownloadFile || !file.url || !match.rule.sourceUrl)) {
      if (!isDownloadFile) size = statForDownload(identity.path).size;
      if (
        !this.options.allowSymlinksOutside &&
        !isInside(match.rule.sourceDir, realpathSync.native(identity.path) + '/')
      ) {
        return SYMLINK_OUT;
      }
    }
    const range = request.headers.range;
    const object = isDownloadFile ? file.object : undefined;
    if (object && match.rule.backend.destinationKind === 'path') {
      return `an object in a bucket has no path on disk for backend ${match.rule.backend.name} (use nginx or redirect)`;
    }
    const delegation = match.rule.backend.delegate({
      destination: match.destination,
      destinationDir: match.rule.destinationDir,
      signedUrl: object?.signedUrl,
      range: typeof range === 'string' ? range : undefined,
      conditionalRange: request.headers['if-range'] !== undefined,
      size,
      options: match.rule.backendOptions,
    });
    if (!delegation)
      return `backend ${match.rule.backend.name} cannot carry this name or request (${ruleName(match.rule)})`;
    this.#log?.debug(
      `${describeRequest(request, file)} delegated to ${match.rule.backend.name} by ${ruleName(match.rule)}: ${describeHeaders(delegation)}`,
    );

    const type = isDownloadFile
      ? file.contentType
      : (file.options.type ?? guessContentType(basename(identity.path ?? '')));
    const given = isDownloadFile
      ? file.disposition
      : (file.options.disposition ?? buildContentDisposition(basename(identity.path ?? 'download'), true));
    const disposition = Array.isArray(given) ? given.join(', ') : given;
    // The proxy serves the bytes: the file is never opened, a plain stream is closed now.
    closeUnsent(file);

    if (delegation.status && delegation.status !== 200) {
      const headers = new Headers(delegation.headers);
      // A redirect carries no file: its headers are the signed URL's to give.
      if (delegation.status < 300 || delegation.status >= 400) {
        headers.set('Content-Type', type);
        headers.set('Content-Disposition', disposition);
      }
      return downloadResponse(null, { status: delegation.status, headers });
    }
    const setHeader = this.#headerSetter(response);
    for (const name in delegation.headers) setHeader(name, delegation.headers[name]);
    setHeader('Content-Type', type);
    setHeader('Content-Disposition', disposition);
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
    return (name, value) => {
      this.adapterHost.httpAdapter.setHeader(response, name, value);
    };
  }
}
