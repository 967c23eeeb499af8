import { createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { BlobClient } from '@azure/storage-blob';
import yauzl from 'yauzl';

export interface RangeSource {
  /** Streams bytes [start, end) of the blob as it was when indexing began. */
  stream(start: number, end: number): Promise<Readable>;
}

/**
 * The storage behind the reader failed (as opposed to the zip being malformed): the package is
 * not to blame, and the indexing run should be retried rather than the package marked damaged.
 */
export class RangeReadError extends Error {
  constructor(override readonly cause: unknown) {
    super(`reading the package failed: ${(cause as Error).message ?? String(cause)}`);
    this.name = 'RangeReadError';
  }
}

async function openRange(source: RangeSource, start: number, end: number): Promise<Readable> {
  try {
    return await source.stream(start, end);
  } catch (error) {
    throw new RangeReadError(error);
  }
}

/** A file on disk, for the CLI. */
export function fileRangeSource(path: string): RangeSource {
  return {
    async stream(start, end) {
      return end > start ? createReadStream(path, { start, end: end - 1 }) : Readable.from([]);
    },
  };
}

/** A blob pinned to one ETag: if it is replaced mid-read, reads fail instead of mixing versions. */
export function blobRangeSource(blob: BlobClient, etag: string): RangeSource {
  return {
    async stream(start, end) {
      const response = await blob.download(start, end - start, { conditions: { ifMatch: etag } });
      const body = response.readableStreamBody;
      if (!body) throw new Error(`blob ${blob.name} returned no body for bytes ${start}-${end}`);
      return body as Readable;
    },
  };
}

async function readAll(stream: Readable, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    total += buffer.length;
  }
  if (total !== expected)
    throw new RangeReadError(new Error(`expected ${expected} bytes, got ${total}`));
  return Buffer.concat(chunks, total);
}

/**
 * yauzl's random-access reader over the ranged reads of a RangeSource (a blob, a file). Small reads (headers, the central
 * directory) are served from whole chunks aligned to the end of the blob, where the central
 * directory lives: the first read brings the end-of-central-directory record and the tail of the
 * directory in one request, and thousands of small reads share a few requests. Large reads (entry
 * data) stream straight from the blob and never pass through the cache.
 */
export class ChunkedReader extends yauzl.RandomAccessReader {
  private readonly chunks = new Map<number, Promise<Buffer>>();
  /** Number of ranged reads issued, for tests and benchmarks. */
  requests = 0;

  constructor(
    private readonly source: RangeSource,
    readonly size: number,
    private readonly chunkBytes: number,
    private readonly maxCachedChunks = 64,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    if (end - start <= this.chunkBytes) {
      // yauzl streams small entries (symbol_index.json) too; the cache may already hold them.
      const buffer = Buffer.alloc(end - start);
      this.readInto(buffer, 0, buffer.length, start).then(
        () => out.end(buffer),
        (error: Error) => out.destroy(error),
      );
      return out;
    }
    this.requests += 1;
    openRange(this.source, start, end).then(
      (body) => body.on('error', (error) => out.destroy(new RangeReadError(error))).pipe(out),
      (error: Error) => out.destroy(error),
    );
    return out;
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    this.readInto(buffer, offset, length, position).then(
      () => callback(null),
      (error: Error) => callback(error),
    );
  }

  async readInto(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    if (position < 0 || position + length > this.size) {
      throw new Error(
        `read of ${length} bytes at ${position} is outside the ${this.size}-byte blob`,
      );
    }
    if (length > this.chunkBytes * 2) {
      this.requests += 1;
      const data = await readAll(await openRange(this.source, position, position + length), length);
      data.copy(buffer, offset);
      return;
    }
    let done = 0;
    while (done < length) {
      const at = position + done;
      const index = this.chunkIndex(at);
      const [chunkStart] = this.chunkBounds(index);
      const chunk = await this.chunk(index);
      const from = at - chunkStart;
      const take = Math.min(chunk.length - from, length - done);
      chunk.copy(buffer, offset + done, from, from + take);
      done += take;
    }
  }

  /** Chunk 0 ends at the end of the blob; chunk i covers the chunkBytes before chunk i-1. */
  private chunkIndex(position: number): number {
    return Math.floor((this.size - 1 - position) / this.chunkBytes);
  }

  private chunkBounds(index: number): [number, number] {
    const end = this.size - index * this.chunkBytes;
    return [Math.max(0, end - this.chunkBytes), end];
  }

  private chunk(index: number): Promise<Buffer> {
    const cached = this.chunks.get(index);
    if (cached) {
      // Map order is insertion order: re-inserting marks the chunk as recently used.
      this.chunks.delete(index);
      this.chunks.set(index, cached);
      return cached;
    }
    const [start, end] = this.chunkBounds(index);
    this.requests += 1;
    const pending = openRange(this.source, start, end).then((body) => readAll(body, end - start));
    pending.catch(() => this.chunks.delete(index));
    this.chunks.set(index, pending);
    while (this.chunks.size > this.maxCachedChunks) {
      const oldest = this.chunks.keys().next().value as number;
      this.chunks.delete(oldest);
    }
    return pending;
  }
}
