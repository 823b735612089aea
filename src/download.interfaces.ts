import type { BackendRuleOptions, DownloadBackend } from './backends/download-backend.interface.js';
import type { DownloadObserver } from './metrics/download-observer.js';

export type { BackendRuleOptions };

/**
 * When a matching rule is turned into a proxy header.
 * - `always`: whenever a rule matches (django-downloadview's behaviour).
 * - `auto`: only when a trusted proxy announces, with `X-Sendfile-Type`, that it consumes the header.
 * - `off`: never; Node serves every file itself.
 */
export type DownloadMode = 'always' | 'auto' | 'off';

/** A backend by name (`'lighttpd'`, `'nginx'`, …) or a custom implementation. */
export type BackendOption = string | DownloadBackend;

/** One optimisation rule: which files (by public URL or path) the proxy serves, and from where. */
export interface DownloadRule extends BackendRuleOptions {
  /** Prefix of the file's public URL, e.g. `/media/`. */
  sourceUrl?: string;
  /** Absolute directory the file's path must lie in. */
  sourceDir?: string;
  /**
   * Where the proxy finds the same files: a directory (lighttpd, apache) or an internal URI (nginx).
   * Required, except with `backend: 'redirect'`, where it is a CDN's URL, or absent for objects in
   * a bucket (their signed URL is where clients go). Checked at startup.
   */
  destinationDir?: string;
  /** Overrides the module's backend for this rule. */
  backend?: BackendOption;
  /** Overrides the module's mode for this rule. */
  mode?: DownloadMode;
}

export interface DownloadModuleOptions {
  /** Default backend for rules that name none. Default `'lighttpd'`. */
  backend?: BackendOption;
  /** Tried in order; the first match wins. */
  rules?: DownloadRule[];
  /** `global` (default): every route is converted; `decorated`: only routes with `@XSendfile()`. */
  scope?: 'global' | 'decorated';
  /** Default `'always'`; the environment variable `DOWNLOADVIEW_MODE` overrides it. */
  mode?: DownloadMode;
  /** Addresses or CIDR blocks whose `X-Sendfile-Type` is believed in `auto` mode. Default: loopback. */
  trustedProxies?: string[];
  /** Let storages and rules follow symlinks whose target lies outside their root. Default false. */
  allowSymlinksOutside?: boolean;
  /**
   * Log, at Nest's `debug` level (context `DownloadModule`), why each file response was delegated
   * (backend, rule, header) or served by Node (no rule matched, mode, proxy not announced…). Default
   * false; `DOWNLOADVIEW_DEBUG=1` turns it on without a code change.
   */
  debug?: boolean;
  /**
   * When the app shuts down (`app.close()`, or SIGTERM with `app.enableShutdownHooks()`), how long
   * the downloads Node is sending may take to finish, in milliseconds; meanwhile new file requests
   * get a 503 with `Retry-After`, and what still runs at the end is closed and counted in the log.
   * Default 25,000: below Kubernetes' 30 s grace period. Delegated downloads are the proxy's.
   */
  shutdownGracePeriod?: number;
  /**
   * Where the module reports what it hands out (responses by delivery, Node's downloads completed
   * and cut, signature refusals, storage errors, uploads): `downloadMetrics()` from
   * `nestjs-downloadview/otel` for OpenTelemetry instruments, or your own `DownloadObserver`.
   * Default: none, and nothing is measured.
   */
  metrics?: DownloadObserver;
}

/** What `@XSendfile()` takes: a route rule (its `destinationDir` optional when only `mode`/`backend` change), or false. */
export type XSendfileOptions = Partial<DownloadRule> | false | undefined;
