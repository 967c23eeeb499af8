import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ByteSource } from '../formats/byteSource';
import { ChunkedReader, RangeReadError } from './chunkedReader';
import { inflatingSource, inflatedBufferSource, storedSource } from './entrySource';

export interface ZipLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxCompressionRatio: number;
}

export const COMPRESSION_METHODS = { stored: 0, deflate: 8 } as const;
export type CompressionMethod = (typeof COMPRESSION_METHODS)[keyof typeof COMPRESSION_METHODS];

/** What the central directory says about one entry. Names are data, never paths on disk. */
export interface ZipEntryInfo {
  readonly name: string;
  readonly method: number;
  readonly encrypted: boolean;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

/** The package as a whole cannot be read; nothing of it may be served. */
export class DamagedZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DamagedZipError';
  }
}

/** Deflated entries this small are read through the reader's shared chunks and inflated at once. */
const SMALL_DEFLATED_BYTES = 1024 * 1024;
const SMALL_INFLATED_BYTES = 16 * 1024 * 1024;

/** Entries smaller than this are exempt from the ratio limit: tiny files compress absurdly well. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * The most compressed bytes a deflated entry of `size` bytes may plausibly take. zlib and the
 * writers built on it add a few bytes a stored block to data that does not compress; the
 * .NET Framework before 4.5 wrote a dynamic block header of about 100 bytes even for a few bytes
 * and could grow data that was already compressed. Twice the size and 1 KiB more leaves every such
 * writer far inside, while a header declaring megabytes for a small file is refused.
 */
function maxDeflatedBytes(size: number): number {
  return 2 * size + 1024;
}

/**
 * Why a deflated entry's declared sizes cannot be right ("declares ..."), or undefined. Stored
 * entries need no rule here: yauzl refuses a stored entry whose sizes differ as it reads the
 * central directory, and the package is damaged.
 */
export function implausibleCompressedSize(
  entry: Pick<ZipEntryInfo, 'method' | 'compressedSize' | 'size'>,
): string | undefined {
  if (entry.method !== COMPRESSION_METHODS.deflate) return undefined;
  const most = maxDeflatedBytes(entry.size);
  return entry.compressedSize > most
    ? `declares ${entry.compressedSize} compressed bytes for ${entry.size} bytes of data, more than deflate ever takes (at most ${most} here)`
    : undefined;
}

/**
 * Longer names are not served: the location of an entry, its name included, is one property of a
 * key row, and a table property holds 32K characters. Real tools stay far below (PATH_MAX is 4,096).
 */
export const MAX_ENTRY_NAME_CHARS = 4_096;
const QUOTED_NAME_CHARS = 60;

/** An entry's name for a message: a hostile name of 60,000 characters must not fill the document. */
function quoted(name: string): string {
  return name.length <= QUOTED_NAME_CHARS
    ? `"${name}"`
    : `"${name.slice(0, QUOTED_NAME_CHARS)}..."`;
}

/** Why an entry cannot be served, or undefined when it can. */
export function entryProblem(entry: ZipEntryInfo, limits: ZipLimits): string | undefined {
  const name = quoted(entry.name);
  if (entry.name.length > MAX_ENTRY_NAME_CHARS) {
    return `entry ${name} has a name of ${entry.name.length.toLocaleString('en')} characters, over the limit of ${MAX_ENTRY_NAME_CHARS.toLocaleString('en')}`;
  }
  if (entry.encrypted) return `entry ${name} is encrypted`;
  if (entry.method !== COMPRESSION_METHODS.stored && entry.method !== COMPRESSION_METHODS.deflate) {
    return `entry ${name} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`;
  }
  const implausible = implausibleCompressedSize(entry);
  if (implausible) return `entry ${name} ${implausible}`;
  if (entry.size > limits.maxEntryBytes) {
    return `entry ${name} is ${entry.size} bytes, over the limit of ${limits.maxEntryBytes}`;
  }
  if (
    entry.size > RATIO_FLOOR_BYTES &&
    entry.size > entry.compressedSize * limits.maxCompressionRatio
  ) {
    return `entry ${name} expands ${entry.compressedSize} bytes into ${entry.size}, over the compression ratio limit of ${limits.maxCompressionRatio}`;
  }
  return undefined;
}

function isDirectory(name: string): boolean {
  return name.endsWith('/');
}

/**
 * Entries must lie one after another inside the blob. Overlapping entries are the trick behind
 * the worst zip bombs and never occur in a package written by a real tool.
 */
function checkLayout(
  entries: readonly ZipEntryInfo[],
  raw: ReadonlyMap<ZipEntryInfo, number>,
  size: number,
) {
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let previous: { entry: ZipEntryInfo; end: number } | undefined;
  for (const entry of byOffset) {
    // 30 bytes of local header and the name: the least an entry can occupy before its data.
    const end = entry.localHeaderOffset + 30 + (raw.get(entry) ?? 0) + entry.compressedSize;
    if (end > size) {
      throw new DamagedZipError(
        `entry "${entry.name}" claims bytes ${entry.localHeaderOffset}-${end}, beyond the end of the ${size}-byte package`,
      );
    }
    if (previous && entry.localHeaderOffset < previous.end) {
      throw new DamagedZipError(`entries "${previous.entry.name}" and "${entry.name}" overlap`);
    }
    previous = { entry, end };
  }
}

/** An opened package: its file entries and the two reads the indexer needs. */
export class PackageZip {
  private readonly dataOffsets = new Map<ZipEntryInfo, Promise<number>>();

  private constructor(
    private readonly reader: ChunkedReader,
    private readonly zipfile: yauzl.ZipFile,
    private readonly raw: ReadonlyMap<ZipEntryInfo, yauzl.Entry>,
    readonly entries: readonly ZipEntryInfo[],
  ) {}

  static async open(reader: ChunkedReader, size: number, limits: ZipLimits): Promise<PackageZip> {
    let zipfile: yauzl.ZipFile;
    try {
      zipfile = await yauzl.fromRandomAccessReaderPromise(reader, size, {
        lazyEntries: true,
        autoClose: false,
        // Names are decoded below without yauzl's path checks: a name like "../x" is data here.
        decodeStrings: false,
        validateEntrySizes: true,
      });
    } catch (error) {
      if (error instanceof RangeReadError) throw error;
      throw new DamagedZipError(`not a readable zip: ${(error as Error).message}`);
    }
    if (zipfile.entryCount > limits.maxEntries) {
      zipfile.close();
      throw new DamagedZipError(
        `the package has ${zipfile.entryCount} entries, over the limit of ${limits.maxEntries}`,
      );
    }
    const raw = new Map<ZipEntryInfo, yauzl.Entry>();
    const nameLengths = new Map<ZipEntryInfo, number>();
    try {
      await new Promise<void>((resolve, reject) => {
        zipfile.on('error', reject);
        zipfile.on('end', resolve);
        zipfile.on('entry', (entry: yauzl.Entry) => {
          const info: ZipEntryInfo = {
            name: yauzl.getFileNameLowLevel(
              entry.generalPurposeBitFlag,
              entry.fileNameRaw,
              entry.extraFields,
              false,
            ),
            method: entry.compressionMethod,
            encrypted: entry.isEncrypted(),
            compressedSize: entry.compressedSize,
            size: entry.uncompressedSize,
            crc32: entry.crc32,
            localHeaderOffset: entry.relativeOffsetOfLocalHeader,
          };
          raw.set(info, entry);
          nameLengths.set(info, entry.fileNameLength);
          zipfile.readEntry();
        });
        zipfile.readEntry();
      });
    } catch (error) {
      zipfile.close();
      if (error instanceof RangeReadError) throw error;
      throw new DamagedZipError(`the central directory is damaged: ${(error as Error).message}`);
    }
    const all = [...raw.keys()];
    checkLayout(all, nameLengths, size);
    return new PackageZip(
      reader,
      zipfile,
      raw,
      all.filter((entry) => !isDirectory(entry.name)),
    );
  }

  /** Where the entry's data starts: read from its local header, once, at index time. */
  dataOffset(entry: ZipEntryInfo): Promise<number> {
    let offset = this.dataOffsets.get(entry);
    if (!offset) {
      offset = this.zipfile
        .readLocalFileHeaderPromise(this.yauzlEntry(entry), { minimal: true })
        .then((header) => header.fileDataStart);
      this.dataOffsets.set(entry, offset);
    }
    return offset;
  }

  /**
   * Random access to an entry's uncompressed bytes, for key generators: stored entries read
   * straight from the package, small deflated ones are inflated in memory once, large deflated
   * ones inflate forward on demand. The caller has checked entryProblem.
   */
  async entrySource(entry: ZipEntryInfo): Promise<ByteSource> {
    if (entry.method === COMPRESSION_METHODS.stored) {
      return storedSource(this.reader, await this.dataOffset(entry), entry.size);
    }
    if (entry.compressedSize <= SMALL_DEFLATED_BYTES && entry.size <= SMALL_INFLATED_BYTES) {
      return inflatedBufferSource(await this.rawData(entry), entry.size);
    }
    return inflatingSource(entry.size, () => this.entryStream(entry));
  }

  /**
   * A small entry's data as the zip holds it (deflated or stored), read through the reader's
   * shared chunks: neighbouring entries cost no further request.
   */
  async rawData(entry: ZipEntryInfo): Promise<Buffer> {
    const data = Buffer.alloc(entry.compressedSize);
    await this.reader.readInto(data, 0, data.length, await this.dataOffset(entry));
    return data;
  }

  /** The entry's uncompressed bytes as one stream. */
  entryStream(entry: ZipEntryInfo): Promise<Readable> {
    return this.zipfile.openReadStreamPromise(this.yauzlEntry(entry));
  }

  /** A small entry's bytes as a stream (symbol_index.json), refusing anything over maxBytes. */
  openSmallEntry(entry: ZipEntryInfo, maxBytes: number): Promise<Readable> {
    if (entry.size > maxBytes) {
      return Promise.reject(
        new Error(`"${entry.name}" is ${entry.size} bytes, over the limit of ${maxBytes}`),
      );
    }
    return this.entryStream(entry);
  }

  /** Reads a small entry whole (a .nuspec), refusing anything over maxBytes. */
  async readSmallEntry(entry: ZipEntryInfo, maxBytes: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.openSmallEntry(entry, maxBytes)) {
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  close(): void {
    this.zipfile.close();
  }

  private yauzlEntry(entry: ZipEntryInfo): yauzl.Entry {
    const found = this.raw.get(entry);
    if (!found) throw new Error(`"${entry.name}" is not an entry of this package`);
    return found;
  }
}
