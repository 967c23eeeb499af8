import { Readable } from 'node:stream';
import { BlobRangeReader, RangeSource } from '../../shared/zip/blobRangeReader';

/** A RangeSource over bytes in memory, counting requests like the blob-backed one. */
export function memorySource(bytes: Buffer): RangeSource {
  return {
    async stream(start, end) {
      return Readable.from([bytes.subarray(start, end)]);
    },
  };
}

export function memoryReader(bytes: Buffer, chunkBytes = 64 * 1024): BlobRangeReader {
  return new BlobRangeReader(memorySource(bytes), bytes.length, chunkBytes);
}
