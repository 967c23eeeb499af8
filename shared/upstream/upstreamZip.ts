import { crc32 } from 'node:zlib';
import { SYMBOL_INDEX_NAME } from '../index/symbolIndex';

/**
 * The zip a file fetched from an upstream is stored in, written as the file streams through:
 * the file as a stored entry (so that ranges can be served from it) whose CRC and size follow
 * its data in a data descriptor, then a symbol_index.json mapping the key to it, then the
 * central directory. Below 4 GiB in all, so no Zip64 (SYMFEED_UPSTREAM_MAX_BYTES keeps it so).
 */
const UTF8_NAMES = 0x0800;
const DATA_DESCRIPTOR = 0x0008;
const VERSION = 20;

interface Written {
  readonly name: Buffer;
  readonly flags: number;
  readonly crc: number;
  readonly size: number;
  readonly offset: number;
}

/** 1980-01-01, the earliest DOS date: the time is in the package's blob, not in its zip. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

function localHeader(name: Buffer, flags: number, crc: number, size: number): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(VERSION, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt16LE(0, 8);
  header.writeUInt16LE(DOS_TIME, 10);
  header.writeUInt16LE(DOS_DATE, 12);
  header.writeUInt32LE(crc, 14);
  header.writeUInt32LE(size, 18);
  header.writeUInt32LE(size, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(0, 28);
  return Buffer.concat([header, name]);
}

function centralHeader(entry: Written): Buffer {
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(VERSION, 4);
  header.writeUInt16LE(VERSION, 6);
  header.writeUInt16LE(entry.flags, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt16LE(DOS_TIME, 12);
  header.writeUInt16LE(DOS_DATE, 14);
  header.writeUInt32LE(entry.crc, 16);
  header.writeUInt32LE(entry.size, 20);
  header.writeUInt32LE(entry.size, 24);
  header.writeUInt16LE(entry.name.length, 28);
  header.writeUInt32LE(entry.offset, 42);
  return Buffer.concat([header, entry.name]);
}

export class UpstreamZip {
  private readonly name: Buffer;
  private crc = 0;
  private fileSize = 0;

  /** `entry`: the file's name in the zip; `clientKey`: the key symbol_index.json maps to it. */
  constructor(
    readonly entry: string,
    private readonly clientKey: string,
  ) {
    this.name = Buffer.from(entry, 'utf8');
  }

  /** Where the file's bytes start: right after the first local header. */
  get dataOffset(): number {
    return 30 + this.name.length;
  }

  get fileCrc32(): number {
    return this.crc;
  }

  /** The file's bytes so far. */
  get size(): number {
    return this.fileSize;
  }

  start(): Buffer {
    return localHeader(this.name, UTF8_NAMES | DATA_DESCRIPTOR, 0, 0);
  }

  /** The file's bytes pass through here on their way into the zip. */
  add(chunk: Buffer): Buffer {
    this.crc = crc32(chunk, this.crc);
    this.fileSize += chunk.length;
    return chunk;
  }

  /** Everything after the file's bytes. */
  finish(): Buffer {
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(this.crc, 4);
    descriptor.writeUInt32LE(this.fileSize, 8);
    descriptor.writeUInt32LE(this.fileSize, 12);
    const file: Written = {
      name: this.name,
      flags: UTF8_NAMES | DATA_DESCRIPTOR,
      crc: this.crc,
      size: this.fileSize,
      offset: 0,
    };
    const indexData = Buffer.from(
      JSON.stringify([{ clientKey: this.clientKey, blobPath: this.entry }]),
      'utf8',
    );
    const index: Written = {
      name: Buffer.from(SYMBOL_INDEX_NAME, 'utf8'),
      flags: UTF8_NAMES,
      crc: crc32(indexData),
      size: indexData.length,
      offset: this.dataOffset + this.fileSize + descriptor.length,
    };
    const indexEntry = Buffer.concat([
      localHeader(index.name, index.flags, index.crc, index.size),
      indexData,
    ]);
    const directory = Buffer.concat([centralHeader(file), centralHeader(index)]);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(2, 8);
    end.writeUInt16LE(2, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(index.offset + indexEntry.length, 16);
    return Buffer.concat([descriptor, indexEntry, directory, end]);
  }
}
