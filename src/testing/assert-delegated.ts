import { AssertionError } from 'node:assert';
import { parse as parseDisposition } from 'content-disposition';
import {
  apacheBackend,
  BUILT_IN_BACKENDS,
  lighttpd2Backend,
  lighttpdBackend,
  lighttpdLegacyBackend,
  nginxBackend,
  type DownloadBackend,
} from '../backends/index.js';

/** Anything with a status and headers: a supertest response, a fetch Response, an http.IncomingMessage. */
export interface ResponseLike {
  status?: number;
  statusCode?: number;
  headers: Record<string, unknown> | Headers;
}

export interface DelegationExpectation {
  /** The file name the client is offered (from Content-Disposition). */
  basename?: string;
  contentType?: string;
  /** The value of the delegation header (decoded the way the backend's server decodes it). */
  filePath?: string;
}

function headerOf(response: ResponseLike, name: string): string | undefined {
  const headers = response.headers;
  const value = headers instanceof Headers ? headers.get(name) : headers[name.toLowerCase()];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return Array.isArray(value) ? value.join(', ') : undefined;
}

function filenameOf(disposition: string | undefined): string | undefined {
  if (!disposition) return undefined;
  try {
    return parseDisposition(disposition).parameters.filename;
  } catch {
    return undefined;
  }
}

/**
 * Checks that a response hands a download over to a proxy through `header`, and that its
 * file name, content type and delegated path are the expected ones. Throws an AssertionError
 * listing every expected vs actual value that differs.
 */
export function assertDelegated(
  response: ResponseLike,
  header: string,
  expected: DelegationExpectation,
  decode: (value: string) => string,
): void {
  const status = response.status ?? response.statusCode;
  const raw = headerOf(response, header);
  const problems: string[] = [];
  if (raw === undefined) problems.push(`${header}: expected a value, got none (not a delegated response)`);
  if (status !== 200 && status !== 206) problems.push(`status: expected 200, got ${status}`);
  const actual = {
    filePath: raw === undefined ? undefined : decode(raw),
    basename: filenameOf(headerOf(response, 'content-disposition')),
    contentType: headerOf(response, 'content-type'),
  };
  for (const key of ['basename', 'contentType', 'filePath'] as const) {
    if (expected[key] !== undefined && expected[key] !== actual[key]) {
      problems.push(`${key}: expected ${JSON.stringify(expected[key])}, got ${JSON.stringify(actual[key])}`);
    }
  }
  if (problems.length) {
    throw new AssertionError({
      message: `Not the expected ${header} response:\n  ${problems.join('\n  ')}`,
      actual,
      expected,
      operator: 'assertDelegated',
    });
  }
}

/** Asserts a delegation through `backend`'s header, read back as its server reads it. */
function assertThrough(backend: DownloadBackend, response: ResponseLike, expected: DelegationExpectation): void {
  assertDelegated(response, backend.header, expected, backend.readHeader ?? ((value) => value));
}

/** lighttpd's `X-Sendfile` (URL-decoded, as lighttpd reads it). */
export function assertXSendfile(response: ResponseLike, expected: DelegationExpectation = {}): void {
  assertThrough(lighttpdBackend, response, expected);
}

/** apache mod_xsendfile's `X-Sendfile` (raw UTF-8 bytes, as mod_xsendfile reads it). */
export function assertApacheXSendfile(response: ResponseLike, expected: DelegationExpectation = {}): void {
  assertThrough(apacheBackend, response, expected);
}

/** nginx's `X-Accel-Redirect` (a URI, decoded). */
export function assertXAccelRedirect(response: ResponseLike, expected: DelegationExpectation = {}): void {
  assertThrough(nginxBackend, response, expected);
}

/** lighttpd's legacy `X-LIGHTTPD-send-file`. */
export function assertXLighttpdSendfile(response: ResponseLike, expected: DelegationExpectation = {}): void {
  assertThrough(lighttpdLegacyBackend, response, expected);
}

/** lighttpd's `X-Sendfile2` (`<url-encoded path> <start>-<end>`): `filePath` is the decoded path. */
export function assertXSendfile2(response: ResponseLike, expected: DelegationExpectation = {}): void {
  assertThrough(lighttpd2Backend, response, expected);
}

/** Asserts by backend name (any built-in one but `redirect`), for the matcher and for code that switches backends. */
export function assertDelegatedDownload(
  response: ResponseLike,
  expected: DelegationExpectation & { backend?: string },
): void {
  const { backend = 'lighttpd', ...rest } = expected;
  const found = BUILT_IN_BACKENDS.get(backend);
  if (!found || found.destinationKind === 'url') {
    throw new TypeError(`assertDelegatedDownload: unknown backend "${backend}"`);
  }
  assertThrough(found, response, rest);
}
