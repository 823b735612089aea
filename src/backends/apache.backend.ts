import type { DownloadBackend } from './download-backend.interface.js';
import { asRawBytes, fromRawBytes, hasControlCharacters } from '../paths/path-encoding.js';

/**
 * apache2 + mod_xsendfile: `X-Sendfile: <absolute path>`. mod_xsendfile does not URL-decode, so the
 * path's UTF-8 bytes go out as they are (Node writes a latin1 string byte for byte).
 */
export const apacheBackend: DownloadBackend = {
  name: 'apache',
  header: 'X-Sendfile',
  destinationKind: 'path',
  // A raw CR/LF would split the header: such a name is left to Node.
  delegate: ({ destination }) =>
    hasControlCharacters(destination) ? undefined : { headers: { 'X-Sendfile': asRawBytes(destination) } },
  readHeader: fromRawBytes,
};
