/** What encodeURIComponent leaves as it is, and the slashes kept between segments. */
const UNRESERVED_PATH = /^[A-Za-z0-9\-_.!~*'()/]*$/;

/**
 * Percent-encodes each segment of a `/`-separated path, keeping the slashes. lighttpd URL-decodes
 * X-Sendfile and nginx reads X-Accel-Redirect as a URI, so `%`, `#`, `?`, spaces and non-ASCII must
 * go out encoded. No library does exactly this (encodeURI leaves `#`/`?`, encodeURIComponent
 * encodes `/`), hence this one line.
 */
export function encodePathSegments(path: string): string {
  // Most names need no escape at all: checked first, as this runs twice per download.
  if (UNRESERVED_PATH.test(path)) return path;
  // toWellFormed(): encodeURIComponent throws on a lone surrogate (matching refuses those anyway).
  return path.toWellFormed().split('/').map(encodeURIComponent).join('/');
}

/** True when a decoded path holds a character no proxy header may carry (control characters). */
export function hasControlCharacters(value: string): boolean {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return /[\u0000-\u001f\u007f]/.test(value);
}

/** Reads back what `encodePathSegments` wrote, as lighttpd and nginx decode it. */
export function decodePathSegments(value: string): string {
  return decodeURIComponent(value);
}

/**
 * A path sent as raw UTF-8 bytes in a header (apache's mod_xsendfile, caddy): Node writes a header
 * string byte for byte as latin1, so a path goes out as its UTF-8 bytes spelt in latin1.
 */
export function asRawBytes(path: string): string {
  return Buffer.from(path, 'utf8').toString('latin1');
}

/** Reads back what `asRawBytes` wrote. */
export function fromRawBytes(value: string): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}
