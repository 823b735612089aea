import type { StreamableFile } from '@nestjs/common';
import { ReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { DiskSource } from '../sources/disk.source.js';
import type { DownloadSource } from '../sources/download-source.js';
import { DownloadFile } from './download-file.js';

/**
 * The source of a file response: a DownloadFile's own, or, for a plain `StreamableFile` over
 * `createReadStream(path)` of a whole file, that file on disk (not stat'ed until a rule needs it).
 * Any other StreamableFile (a buffer, a slice, another stream) has none: Nest sends it as it is.
 */
export function sourceOf(file: StreamableFile): DownloadSource | undefined {
  if (file instanceof DownloadFile) return file.source;
  const stream = file.getStream();
  if (!(stream instanceof ReadStream) || typeof stream.path !== 'string') return undefined;
  const { start, end } = stream as ReadStream & { start?: number; end?: number };
  if ((start ?? 0) !== 0 || (end !== undefined && end !== Infinity)) return undefined;
  return new DiskSource(resolve(stream.path));
}
