import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { ByteSource, checkRange, FormatError } from '../formats/byteSource';
import { ChunkedReader } from './chunkedReader';

/** A stored entry: reads go straight to the package at the entry's data offset. */
export function storedSource(reader: ChunkedReader, dataOffset: number, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      const buffer = Buffer.alloc(length);
      await reader.readInto(buffer, 0, length, dataOffset + offset);
      return buffer;
    },
  };
}

/** A small deflated entry, inflated whole; a stream that disagrees with the declared size is refused. */
export function inflatedBufferSource(compressed: Buffer, size: number): ByteSource {
  let bytes: Buffer;
  try {
    bytes = inflateRawSync(compressed, { maxOutputLength: size + 1 });
  } catch (error) {
    throw new FormatError(`the entry does not inflate: ${(error as Error).message}`);
  }
  if (bytes.length !== size) {
    throw new FormatError(
      `the entry inflates to ${bytes.length} bytes, not the ${size} its header declares`,
    );
  }
  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** The first bytes are kept: parsers come back to their headers, and that must not cost a restart. */
const HEAD_BYTES = 64 * 1024;
/** Each restart inflates the entry again from its start, so a parser gets only a few. */
const MAX_RESTARTS = 8;

/**
 * A large deflated entry: a deflate stream can only be read forward, so reads inflate forward
 * from where the last one stopped, and a read behind that point starts the stream again. Memory
 * stays bounded: only the head and the current chunk are held.
 */
export function inflatingSource(size: number, open: () => Promise<Readable>): ByteSource {
  let head: Buffer = Buffer.alloc(0);
  let stream: Readable | undefined;
  let iterator: AsyncIterator<Buffer> | undefined;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;
  let restarts = -1;

  const restart = async () => {
    stream?.destroy();
    restarts += 1;
    if (restarts > MAX_RESTARTS) {
      throw new FormatError(
        `reading this compressed entry needs more than ${MAX_RESTARTS} passes over it`,
      );
    }
    stream = await open();
    iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    chunk = Buffer.alloc(0);
    chunkStart = 0;
  };

  const advance = async () => {
    if (!iterator) await restart();
    const next = await (iterator as AsyncIterator<Buffer>).next();
    if (next.done) throw new FormatError('the entry ended before its declared size');
    chunkStart += chunk.length;
    chunk = next.value;
    if (chunkStart < HEAD_BYTES && head.length === chunkStart) {
      head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - chunkStart)]);
    }
  };

  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      if (offset + length <= head.length) return head.subarray(offset, offset + length);
      if (!iterator || offset < chunkStart) await restart();
      const out = Buffer.alloc(length);
      let filled = 0;
      while (filled < length) {
        const at = offset + filled;
        if (at >= chunkStart + chunk.length) {
          await advance();
          continue;
        }
        const from = at - chunkStart;
        const take = Math.min(chunk.length - from, length - filled);
        chunk.copy(out, filled, from, from + take);
        filled += take;
      }
      return out;
    },
  };
}
