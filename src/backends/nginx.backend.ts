import type { BackendRuleOptions } from './download-backend.interface.js';
import type { DownloadBackend } from './download-backend.interface.js';
import { decodePathSegments, encodePathSegments } from '../paths/path-encoding.js';

function accelOptions(options: BackendRuleOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.charset !== undefined) headers['X-Accel-Charset'] = options.charset;
  if (options.buffering !== undefined) {
    headers['X-Accel-Buffering'] = options.buffering === true || options.buffering === 'yes' ? 'yes' : 'no';
  }
  if (options.expires !== undefined) headers['X-Accel-Expires'] = String(options.expires);
  if (options.limitRate !== undefined) headers['X-Accel-Limit-Rate'] = String(options.limitRate);
  return headers;
}

/**
 * nginx: `X-Accel-Redirect: <internal URI>`, plus the X-Accel-* options of the rule. An object in a
 * bucket goes to `<destinationDir><its signed URL's path and query>` (as signed, not re-encoded):
 * the internal location `proxy_pass`es that to the bucket's endpoint (sample/nginx-s3.conf).
 */
export const nginxBackend: DownloadBackend = {
  name: 'nginx',
  header: 'X-Accel-Redirect',
  destinationKind: 'uri',
  delegate: ({ destination, destinationDir, signedUrl, options }) => {
    let target = encodePathSegments(destination);
    if (signedUrl) {
      const { pathname, search } = new URL(signedUrl);
      target = (destinationDir ?? '/') + pathname.slice(1) + search;
    }
    return { headers: { 'X-Accel-Redirect': target, ...accelOptions(options) } };
  },
  readHeader: decodePathSegments,
};
