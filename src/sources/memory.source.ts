/** A virtual file held in memory: Node always serves it (no proxy can read it), so rules never see it. */
export class MemorySource {
  readonly kind = 'memory';
  readonly identity = undefined;

  constructor(readonly buffer: Buffer) {}

  /** Bytes `start`–`end` (inclusive), as a web stream. */
  slice(start: number, end: number): ReadableStream {
    return new Blob([new Uint8Array(this.buffer.subarray(start, end + 1))]).stream();
  }
}
