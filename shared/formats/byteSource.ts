import { open } from 'node:fs/promises';

/**
 * Random access to the bytes of one file: a zip entry, a file on disk, bytes in memory. Key
 * generators read headers through it and never ask for the whole file.
 */
export interface ByteSource {
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Rejects with a FormatError when the range runs past the end
   * of the file: to a parser, that is a truncated or lying header.
   */
  read(offset: number, length: number): Promise<Buffer>;
}

/** Input that is not (or not entirely) the format it claims to be. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

export function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(`invalid read of ${length} bytes at ${offset}`);
  }
  if (offset + length > size) {
    throw new FormatError(
      `read of ${length} bytes at ${offset} runs past the end of the ${size}-byte file`,
    );
  }
}

export function bufferSource(bytes: Buffer): ByteSource {
  return {
    size: bytes.length,
    async read(offset, length) {
      checkRange(bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A file on disk, for the CLI; the caller closes it. */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0)
          throw new FormatError(`file ended at ${offset + done} of ${size} bytes`);
        done += bytesRead;
      }
      return buffer;
    },
    close: () => handle.close(),
  };
}

/**
 * A file on disk that opens it for each read: key generators make a handful of reads, and a folder
 * of thousands of files must not hold thousands of descriptors.
 */
export function pathSource(path: string, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        if (bytesRead !== length) throw new FormatError(`${path} changed while it was read`);
        return buffer;
      } finally {
        await handle.close();
      }
    },
  };
}
