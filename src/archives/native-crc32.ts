import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

/**
 * yazl computes every entry's CRC-32 with `buffer-crc32`, a table loop in JavaScript: on this
 * project's bench it held a 1 GiB archive of 1,000 files to 0.33× the speed of Node sending the same
 * bytes as one file (docs/benchmarks-archives.md). Node has the same function natively (`zlib.crc32`,
 * Node ≥ 20.15 and 22.2), about six times faster: 1.18× with it. yazl offers no way to pass it one, so
 * the `unsigned()` of the very `buffer-crc32` yazl loads is replaced by it, with the same arguments and
 * results (every archive test checks the CRCs with unzip and Python). To drop once yazl uses Node's.
 */
export function useNativeCrc32ForYazl(): void {
  const fromYazl = createRequire(createRequire(import.meta.url).resolve('yazl'));
  const bufferCrc32 = fromYazl('buffer-crc32') as { unsigned: (input: unknown, previous?: unknown) => number };
  if (typeof crc32 !== 'function' || (bufferCrc32.unsigned as { native?: true }).native) return;
  const unsigned = (input: unknown, previous?: unknown): number => {
    const data =
      typeof input === 'number' ? Buffer.alloc(input) : typeof input === 'string' ? Buffer.from(input) : input;
    const start = Buffer.isBuffer(previous) ? previous.readUInt32BE(0) : ~~(previous as number) >>> 0;
    return crc32(data as Uint8Array, start);
  };
  bufferCrc32.unsigned = Object.assign(unsigned, { native: true as const });
}
