import { ByteSource } from '../../shared/formats/byteSource';

export interface CountingSource extends ByteSource {
  /** Bytes read so far. */
  readonly bytes: number;
  readonly reads: number;
}

/** Wraps a source to count what a parser reads through it: parsers must read headers, not files. */
export function counting(source: ByteSource): CountingSource {
  let bytes = 0;
  let reads = 0;
  return {
    size: source.size,
    get bytes() {
      return bytes;
    },
    get reads() {
      return reads;
    },
    read(offset, length) {
      bytes += length;
      reads += 1;
      return source.read(offset, length);
    },
  };
}
