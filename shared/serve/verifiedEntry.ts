import { Transform, TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { EntryLocation } from '../index/location';
import { crcMismatch } from '../zip/entryBytes';

/**
 * An entry whose bytes are not what its package's central directory says: more or fewer than its
 * size, or another CRC-32. Streams fail with it once their headers are gone, so whoever consumes
 * the answer (the failure log, telemetry) can tell it from a client that hung up.
 */
export class DamagedEntryError extends Error {
  constructor(
    readonly location: Pick<EntryLocation, 'blob' | 'entry'>,
    readonly why: string,
  ) {
    super(`the file "${location.entry}" is damaged inside package "${location.blob}": ${why}`);
    this.name = 'DamagedEntryError';
  }
}

/**
 * Passes a whole entry's bytes on while checking them against the central directory: the stream
 * fails (the client sees the response break off, never a clean end) as soon as it runs past the
 * declared size, and at its end when it is short or its CRC-32 differs. The last chunk is held
 * back until the check is done, so a client never receives the whole of a wrong file.
 */
export function verifiedEntry(
  location: Pick<EntryLocation, 'blob' | 'entry' | 'size' | 'crc32'>,
): Transform {
  let seen = 0;
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > location.size) {
        callback(
          new DamagedEntryError(location, `it runs past its declared ${location.size} bytes`),
        );
        return;
      }
      crc = crc32(chunk, crc);
      if (seen < location.size) {
        callback(null, chunk);
        return;
      }
      callback(
        crc === location.crc32 >>> 0
          ? null
          : new DamagedEntryError(location, crcMismatch(location.crc32, crc)),
        crc === location.crc32 >>> 0 ? chunk : undefined,
      );
    },
    flush(callback: TransformCallback) {
      callback(
        seen === location.size
          ? null
          : new DamagedEntryError(
              location,
              `it ends after ${seen} of its declared ${location.size} bytes`,
            ),
      );
    },
  });
}
