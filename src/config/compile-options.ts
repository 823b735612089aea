import { Logger } from '@nestjs/common';
import { BlockList, isIP } from 'node:net';
import { isAbsolute, resolve, sep } from 'node:path';
import { BUILT_IN_BACKENDS, type DownloadBackend } from '../backends/index.js';
import type { DownloadObserver } from '../metrics/download-observer.js';
import { hasControlCharacters } from '../paths/path-encoding.js';
import type {
  BackendOption,
  BackendRuleOptions,
  DownloadMode,
  DownloadModuleOptions,
  DownloadRule,
  XSendfileOptions,
} from '../download.interfaces.js';
import { DownloadConfigError } from './download-config.error.js';

/** A rule checked and normalised once at startup, so matching is plain prefix comparison. */
export interface CompiledRule {
  readonly index: number | 'route';
  /** With a trailing `/` when the source named a directory. */
  readonly sourceUrl?: string;
  /** Resolved, with a trailing separator. */
  readonly sourceDir?: string;
  /** With a trailing `/`. */
  readonly destinationDir: string;
  readonly backend: DownloadBackend;
  readonly mode?: DownloadMode;
  readonly backendOptions: BackendRuleOptions;
}

export interface CompiledOptions {
  readonly rules: readonly CompiledRule[];
  readonly backend: DownloadBackend;
  readonly scope: 'global' | 'decorated';
  /** The configured mode; `envMode` wins over it and over rule and route modes. */
  readonly mode: DownloadMode;
  readonly envMode?: DownloadMode;
  readonly trustedProxies: BlockList;
  readonly allowSymlinksOutside: boolean;
  /** Log why each file response was or was not delegated (`debug` option or `DOWNLOADVIEW_DEBUG`). */
  readonly debug: boolean;
  /** Milliseconds the downloads Node sends may take to finish once the app shuts down. */
  readonly shutdownGracePeriod: number;
  /** What the module reports its file responses to; none by default. */
  readonly metrics?: DownloadObserver;
}

const MODULE_KEYS = [
  'backend',
  'rules',
  'scope',
  'mode',
  'trustedProxies',
  'allowSymlinksOutside',
  'debug',
  'shutdownGracePeriod',
  'metrics',
];
/** What a `metrics` observer must implement. */
const OBSERVER_METHODS = [
  'response',
  'nodeStarted',
  'nodeEnded',
  'signatureRefused',
  'storageError',
  'upload',
] as const;
/** Below Kubernetes' default 30 s terminationGracePeriodSeconds, leaving time for the rest of close(). */
const DEFAULT_SHUTDOWN_GRACE_PERIOD = 25_000;
const RULE_KEYS = [
  'sourceUrl',
  'sourceDir',
  'destinationDir',
  'backend',
  'mode',
  'charset',
  'buffering',
  'expires',
  'limitRate',
];
const MODES: readonly DownloadMode[] = ['always', 'auto', 'off'];
const logger = new Logger('DownloadModule');

/** Levenshtein distance, for "did you mean" hints on unknown keys (too small to need a package). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function rejectUnknownKeys(value: object, known: string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const closest = known.reduce((best, k) => (distance(key, k) < distance(key, best) ? k : best));
    const close = distance(key, closest) <= 3 || key.startsWith(closest) || closest.startsWith(key);
    const hint = close ? ` (did you mean "${closest}"?)` : '';
    throw new DownloadConfigError(where, key, `is not a known option${hint}`);
  }
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

export function resolveBackend(
  option: BackendOption | undefined,
  where: string,
  fallback?: DownloadBackend,
): DownloadBackend {
  if (option === undefined) {
    if (fallback) return fallback;
    option = 'lighttpd';
  }
  if (isString(option)) {
    const backend = BUILT_IN_BACKENDS.get(option);
    if (!backend) {
      throw new DownloadConfigError(
        where,
        'backend',
        `names an unknown backend "${option}" (known: ${[...BUILT_IN_BACKENDS.keys()].join(', ')})`,
      );
    }
    return backend;
  }
  if (
    typeof option !== 'object' ||
    option === null ||
    !isString(option.name) ||
    !isString(option.header) ||
    typeof option.delegate !== 'function'
  ) {
    throw new DownloadConfigError(
      where,
      'backend',
      'must be a backend name or an object with name, header and delegate()',
    );
  }
  return option;
}

function checkMode(mode: unknown, where: string): DownloadMode | undefined {
  if (mode !== undefined && !MODES.includes(mode as DownloadMode)) {
    throw new DownloadConfigError(where, 'mode', `must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
  return mode as DownloadMode | undefined;
}

function checkNoControlCharacters(value: string, where: string, field: string): void {
  if (hasControlCharacters(value)) {
    throw new DownloadConfigError(where, field, 'must not contain control characters');
  }
}

function withTrailing(value: string, separator: string): string {
  return value.endsWith(separator) ? value : value + separator;
}

function checkBackendOptions(rule: DownloadRule, where: string): BackendRuleOptions {
  const { charset, buffering, expires, limitRate } = rule;
  if (charset !== undefined && (!isString(charset) || !/^[A-Za-z0-9._-]+$/.test(charset))) {
    throw new DownloadConfigError(where, 'charset', 'must be a charset name such as "utf-8"');
  }
  if (buffering !== undefined && ![true, false, 'yes', 'no'].includes(buffering)) {
    throw new DownloadConfigError(where, 'buffering', 'must be true, false, "yes" or "no"');
  }
  for (const [field, value] of [
    ['expires', expires],
    ['limitRate', limitRate],
  ] as const) {
    if (value !== undefined && value !== 'off' && !(Number.isInteger(value) && value >= 0)) {
      throw new DownloadConfigError(where, field, 'must be a non-negative integer or "off"');
    }
  }
  return { charset, buffering, expires, limitRate };
}

/** Checks one rule and normalises it. `where` names it in errors ("rules[1]", "@XSendfile on X.y"). */
export function compileRule(
  rule: DownloadRule,
  index: number | 'route',
  where: string,
  defaultBackend: DownloadBackend,
  defaultMode?: DownloadMode,
): CompiledRule {
  if (typeof rule !== 'object' || rule === null) {
    throw new DownloadConfigError(where, 'rule', 'must be an object');
  }
  rejectUnknownKeys(rule, RULE_KEYS, where);
  const backend = resolveBackend(rule.backend, where, defaultBackend);
  const { sourceUrl, sourceDir, destinationDir } = rule;
  if (sourceUrl === undefined && sourceDir === undefined) {
    throw new DownloadConfigError(
      where,
      'sourceUrl',
      'or "sourceDir" is required (a rule must say which files it matches)',
    );
  }
  if (sourceUrl !== undefined && (!isString(sourceUrl) || sourceUrl === '')) {
    throw new DownloadConfigError(where, 'sourceUrl', 'must be a non-empty string such as "/media/"');
  }
  if (sourceDir !== undefined && (!isString(sourceDir) || !isAbsolute(sourceDir))) {
    throw new DownloadConfigError(
      where,
      'sourceDir',
      `must be an absolute directory, got ${JSON.stringify(sourceDir)}`,
    );
  }
  // A `url` backend (redirect) may have none: an object's signed URL is where it sends clients.
  const optional = backend.destinationKind === 'url' && destinationDir === undefined;
  if (!optional && (!isString(destinationDir) || destinationDir === '')) {
    throw new DownloadConfigError(where, 'destinationDir', 'is required');
  }
  const destination = optional ? '' : (destinationDir as string);
  const absolute =
    destination.startsWith('/') || (backend.destinationKind === 'url' && /^https?:\/\/[^/]+/.test(destination));
  if (!optional && !absolute) {
    const kind = {
      path: 'an absolute directory',
      uri: 'an absolute URI path',
      url: 'an http(s) URL or an absolute path',
    }[backend.destinationKind];
    throw new DownloadConfigError(
      where,
      'destinationDir',
      `must be ${kind} for backend "${backend.name}", got ${JSON.stringify(destinationDir)}`,
    );
  }
  checkNoControlCharacters(destination, where, 'destinationDir');
  if (sourceUrl !== undefined) checkNoControlCharacters(sourceUrl, where, 'sourceUrl');
  return {
    index,
    sourceUrl,
    sourceDir: sourceDir === undefined ? undefined : withTrailing(resolve(sourceDir), sep),
    destinationDir: optional ? '' : withTrailing(destination, '/'),
    backend,
    mode: checkMode(rule.mode, where) ?? defaultMode,
    backendOptions: checkBackendOptions(rule, where),
  };
}

/** The trusted proxy list as a BlockList (node:net): addresses and CIDR blocks, IPv4 and IPv6. */
function compileTrustedProxies(list: string[] | undefined): BlockList {
  const blocks = new BlockList();
  const entries = list ?? ['127.0.0.0/8', '::1/128'];
  if (!Array.isArray(entries)) {
    throw new DownloadConfigError(
      'DownloadModule options',
      'trustedProxies',
      'must be an array of addresses or CIDR blocks',
    );
  }
  entries.forEach((entry, i) => {
    const [address, prefix] = isString(entry) ? entry.split('/') : [];
    const family = address ? isIP(address) : 0;
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (!family || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))) {
      throw new DownloadConfigError(
        'DownloadModule options',
        `trustedProxies[${i}]`,
        `must be an IP address or CIDR block, got ${JSON.stringify(entry)}`,
      );
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) blocks.addAddress(address, type);
    else blocks.addSubnet(address, bits, type);
  });
  return blocks;
}

/** Warns about a rule that can never match because an earlier one catches all its files. */
function warnAboutShadowedRules(rules: CompiledRule[]): void {
  rules.forEach((rule, i) => {
    const earlier = rules
      .slice(0, i)
      .find(
        (other) =>
          (rule.sourceUrl === undefined ||
            (other.sourceUrl !== undefined && rule.sourceUrl.startsWith(other.sourceUrl))) &&
          (rule.sourceDir === undefined ||
            (other.sourceDir !== undefined && rule.sourceDir.startsWith(other.sourceDir))),
      );
    if (earlier) {
      logger.warn(
        `rules[${i}] overlaps rules[${earlier.index}], which comes first and matches all its files: rules[${i}] is never used`,
      );
    }
  });
}

/** The environment variable `DOWNLOADVIEW_MODE`, which overrides the configured mode. */
export function modeFromEnvironment(): DownloadMode | undefined {
  return checkMode(process.env.DOWNLOADVIEW_MODE || undefined, 'environment variable DOWNLOADVIEW_MODE');
}

/** The environment variable `DOWNLOADVIEW_DEBUG` (`1`/`true`), which turns the decision log on. */
function debugFromEnvironment(): boolean {
  return ['1', 'true', 'yes'].includes((process.env.DOWNLOADVIEW_DEBUG ?? '').toLowerCase());
}

/** Validates the module options (failing with the rule and field named) and prepares them. */
export function compileOptions(options: DownloadModuleOptions): CompiledOptions {
  const where = 'DownloadModule options';
  if (typeof options !== 'object' || options === null) {
    throw new DownloadConfigError(where, 'options', 'must be an object');
  }
  // ConfigurableModuleBuilder adds `isGlobal` and the like; they are not ours to check.
  const ours = Object.fromEntries(Object.entries(options).filter(([key]) => !['isGlobal'].includes(key)));
  rejectUnknownKeys(ours, MODULE_KEYS, where);
  const backend = resolveBackend(options.backend, where);
  if (options.rules !== undefined && !Array.isArray(options.rules)) {
    throw new DownloadConfigError(where, 'rules', 'must be an array');
  }
  if (options.scope !== undefined && options.scope !== 'global' && options.scope !== 'decorated') {
    throw new DownloadConfigError(
      where,
      'scope',
      `must be "global" or "decorated", got ${JSON.stringify(options.scope)}`,
    );
  }
  if (options.allowSymlinksOutside !== undefined && typeof options.allowSymlinksOutside !== 'boolean') {
    throw new DownloadConfigError(where, 'allowSymlinksOutside', 'must be a boolean');
  }
  const grace = options.shutdownGracePeriod;
  if (grace !== undefined && !(Number.isSafeInteger(grace) && grace >= 0)) {
    throw new DownloadConfigError(
      where,
      'shutdownGracePeriod',
      `must be a whole number of milliseconds, got ${JSON.stringify(grace)}`,
    );
  }
  if (options.debug !== undefined && typeof options.debug !== 'boolean') {
    throw new DownloadConfigError(where, 'debug', 'must be a boolean');
  }
  const { metrics } = options;
  const missing = OBSERVER_METHODS.filter(
    (name) => typeof (metrics as Partial<DownloadObserver>)?.[name] !== 'function',
  );
  if (metrics !== undefined && missing.length > 0) {
    throw new DownloadConfigError(
      where,
      'metrics',
      `must be a DownloadObserver, such as downloadMetrics() of nestjs-downloadview/otel (missing: ${missing.join(', ')})`,
    );
  }
  const mode = checkMode(options.mode, where) ?? 'always';
  const rules = (options.rules ?? []).map((rule, i) => compileRule(rule, i, `rules[${i}]`, backend));
  warnAboutShadowedRules(rules);
  return {
    rules,
    backend,
    scope: options.scope ?? 'global',
    mode,
    envMode: modeFromEnvironment(),
    trustedProxies: compileTrustedProxies(options.trustedProxies),
    allowSymlinksOutside: options.allowSymlinksOutside ?? false,
    debug: options.debug ?? debugFromEnvironment(),
    shutdownGracePeriod: grace ?? DEFAULT_SHUTDOWN_GRACE_PERIOD,
    metrics,
  };
}

/**
 * A route's `@XSendfile()` argument as a rule. Without `sourceUrl`/`sourceDir`/`destinationDir` it
 * only adjusts the module rules (backend, mode) for that route, so it compiles to no rule.
 */
export function compileRouteRule(
  options: XSendfileOptions,
  where: string,
  defaults: CompiledOptions,
): CompiledRule | undefined {
  if (!options) return undefined;
  if (options.sourceUrl === undefined && options.sourceDir === undefined && options.destinationDir === undefined) {
    rejectUnknownKeys(options, RULE_KEYS, where);
    return undefined;
  }
  return compileRule(options, 'route', where, defaults.backend);
}
