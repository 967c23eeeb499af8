import { Readable } from 'node:stream';
import { ChunkedReader, RangeSource } from '../../shared/zip/chunkedReader';

/** A RangeSource over bytes in memory, counting requests like the blob-backed one. */
export function memorySource(bytes: Buffer): RangeSource {
  return {
    async stream(start, end) {
      return Readable.from([bytes.subarray(start, end)]);
    },
  };
}

export function memoryReader(bytes: Buffer, chunkBytes = 64 * 1024): ChunkedReader {
  return new ChunkedReader(memorySource(bytes), bytes.length, chunkBytes);
}
