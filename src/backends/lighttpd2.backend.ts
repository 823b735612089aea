import rangeParser from 'range-parser';
import type { DelegationHeaders, DownloadBackend } from './download-backend.interface.js';
import { encodePathSegments } from '../paths/path-encoding.js';

/** The path an `X-Sendfile2` value names (decoded), without its byte ranges. */
export function xSendfile2Path(value: string): string {
  return decodeURIComponent(value.replace(/ \d+-\d+(, .*)?$/, ''));
}

/**
 * lighttpd's `X-Sendfile2: <url-encoded path> <start>-<end>`: lighttpd sends only that slice, so a
 * `Range` request is answered by the proxy without Node reading a byte (django-downloadview does not
 * support it). The app sets the 206 status and `Content-Range`. lighttpd 1.4 honours it for FastCGI
 * backends only (see `createFastCgiGateway`). A file of unknown or zero size, an unsatisfiable range
 * (416) or a conditional range is left to Node; several ranges get the whole file, as Express does.
 */
export const lighttpd2Backend: DownloadBackend = {
  name: 'lighttpd2',
  header: 'X-Sendfile2',
  destinationKind: 'path',
  delegate: ({ destination, range, size, conditionalRange }): DelegationHeaders | undefined => {
    if (!size) return undefined;
    const path = encodePathSegments(destination);
    if (range && !conditionalRange) {
      const ranges = rangeParser(size, range, { combine: true });
      if (ranges === -1) return undefined;
      if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
        const { start, end } = ranges[0];
        return {
          status: 206,
          headers: { 'X-Sendfile2': `${path} ${start}-${end}`, 'Content-Range': `bytes ${start}-${end}/${size}` },
        };
      }
    }
    return { headers: { 'X-Sendfile2': `${path} 0-${size - 1}` } };
  },
  readHeader: xSendfile2Path,
};
