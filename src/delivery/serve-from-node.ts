import type { StreamableFile } from '@nestjs/common';
import type { DownloadArchive } from '../archives/download-archive.js';
import { DownloadFile } from '../files/download-file.js';
import type { ConditionalRequest } from '../http/conditional-get.js';
import { destroyOnClose } from '../platform/platform.js';
import { downloadResponse } from '../platform/web-response.js';
import type { DownloadSource } from '../sources/download-source.js';
import { serveArchive } from './serve-archive.js';
import { serveFile } from './serve-file.js';
import { serveObject } from './serve-object.js';

/**
 * Node sends the file, by its source's kind: files on disk and in memory, and objects in a bucket,
 * with full HTTP semantics; a remote file streamed through; a plain StreamableFile as Nest sends it.
 */
export function serveFromNode(
  file: StreamableFile,
  source: DownloadSource | undefined,
  request: ConditionalRequest,
  response: unknown,
  setHeader: (name: string, value: string) => void,
): unknown {
  if (!(file instanceof DownloadFile) || !source) return file;
  switch (source.kind) {
    case 'disk':
    case 'memory':
      return serveFile(file, source, request, setHeader).then((answer) => {
        if (answer === file && file.opened) destroyOnClose(response, file.getStream());
        return answer;
      });
    case 'object':
      return serveObject(file, source.object!, request, response);
    case 'remote':
      return downloadResponse(source.body(), {
        status: 200,
        headers: { 'Content-Type': file.contentType, 'Content-Disposition': file.disposition },
      });
    case 'archive':
      return serveArchive(file as DownloadArchive, source, request, response, setHeader);
  }
}
